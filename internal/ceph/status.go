package ceph

import "context"

// Status is what "status" tells about the cluster.
type Status struct {
	FSID   string `json:"fsid"`
	Health struct {
		Status string `json:"status"`
		Checks map[string]struct {
			Severity string `json:"severity"`
			Summary  struct {
				Message string `json:"message"`
			} `json:"summary"`
		} `json:"checks"`
	} `json:"health"`
	QuorumNames []string `json:"quorum_names"`
	MonMap      struct {
		NumMons int `json:"num_mons"`
		// Mons is the monitor list of "mon dump", which PVE's status
		// carries instead of num_mons.
		Mons []struct {
			Name string `json:"name"`
		} `json:"mons"`
	} `json:"monmap"`
	OSDMap struct {
		NumOSDs   int `json:"num_osds"`
		NumUpOSDs int `json:"num_up_osds"`
		NumInOSDs int `json:"num_in_osds"`
	} `json:"osdmap"`
	PGMap struct {
		NumPGs     int   `json:"num_pgs"`
		NumPools   int   `json:"num_pools"`
		BytesUsed  int64 `json:"bytes_used"`
		BytesAvail int64 `json:"bytes_avail"`
		BytesTotal int64 `json:"bytes_total"`
	} `json:"pgmap"`
}

// Monitors is the number of monitors, from either form of the monitor map.
func (s *Status) Monitors() int {
	if s.MonMap.NumMons == 0 {
		return len(s.MonMap.Mons)
	}
	return s.MonMap.NumMons
}

// Status reads the cluster's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	if err := c.command(ctx, map[string]any{"prefix": "status"}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
