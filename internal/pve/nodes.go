package pve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Version is the answer of GET /version.
type Version struct {
	Version string `json:"version"` // e.g. "8.3.0"
	Release string `json:"release"` // e.g. "8.3"
	RepoID  string `json:"repoid"`  // e.g. "c1689ccb1065a83b"
}

// AtLeast reports whether the version is major.minor.patch or later; a
// version that does not parse is not. Each part counts by its leading
// digits ("9.1.12-1" is 9.1.12).
func (v *Version) AtLeast(major, minor, patch int) bool {
	fields := strings.SplitN(v.Version, ".", 3)
	if len(fields) != 3 {
		return false
	}
	want := [3]int{major, minor, patch}
	for i, f := range fields {
		end := strings.IndexFunc(f, func(r rune) bool { return r < '0' || r > '9' })
		if end >= 0 {
			f = f[:end]
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return false
		}
		if n != want[i] {
			return n > want[i]
		}
	}
	return true
}

// cachedVersion is Version, read once per client (a server is not
// upgraded in the middle of a run; an error is not kept).
func (c *Client) cachedVersion(ctx context.Context) (*Version, error) {
	c.versionMu.Lock()
	defer c.versionMu.Unlock()
	if c.version != nil {
		return c.version, nil
	}
	v, err := c.Version(ctx)
	if err != nil {
		return nil, err
	}
	c.version = v
	return v, nil
}

// Version reads the server's PVE version. It needs no privileges.
func (c *Client) Version(ctx context.Context) (*Version, error) {
	// Not go-proxmox's Client.Version: it decodes into a field shared by all
	// callers, which races.
	var v Version
	if err := c.Get(ctx, "/version", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// NodeListEntry is one node of GET /nodes.
type NodeListEntry struct {
	Node           string  `json:"node"`
	Status         string  `json:"status"` // "online", "offline" or "unknown"
	Level          string  `json:"level"`  // subscription level, "" without one
	ID             string  `json:"id"`     // "node/<name>"
	SSLFingerprint string  `json:"ssl_fingerprint"`
	CPU            float64 `json:"cpu"` // load, 0..1
	MaxCPU         int     `json:"maxcpu"`
	Mem            uint64  `json:"mem"`
	MaxMem         uint64  `json:"maxmem"`
	Disk           uint64  `json:"disk"`
	MaxDisk        uint64  `json:"maxdisk"`
	Uptime         uint64  `json:"uptime"` // seconds
}

// Nodes lists the cluster's nodes, sorted by name.
func (c *Client) Nodes(ctx context.Context) ([]NodeListEntry, error) {
	// go-proxmox's typed call decodes every field of /nodes correctly.
	ns, err := c.api.Nodes(ctx)
	if err != nil {
		return nil, unwrapURLError(err)
	}
	out := make([]NodeListEntry, 0, len(ns))
	for _, n := range ns {
		if n == nil {
			continue
		}
		out = append(out, NodeListEntry{
			Node:           n.Node,
			Status:         n.Status,
			Level:          n.Level,
			ID:             n.ID,
			SSLFingerprint: n.SSLFingerprint,
			CPU:            n.CPU,
			MaxCPU:         n.MaxCPU,
			Mem:            n.Mem,
			MaxMem:         n.MaxMem,
			Disk:           n.Disk,
			MaxDisk:        n.MaxDisk,
			Uptime:         n.Uptime,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out, nil
}

// NodeStatus is the state of one node, from GET /nodes/{node}/status.
type NodeStatus struct {
	CPUModel      string   // cpuinfo.model
	CPUs          int      // cpuinfo.cpus: logical CPUs
	Sockets       int      // cpuinfo.sockets
	Cores         int      // cpuinfo.cores: per socket
	MHz           string   // cpuinfo.mhz, e.g. "2194.842"
	CPU           float64  // cpu: load, 0..1
	MemoryTotal   uint64   // memory.total, bytes
	MemoryUsed    uint64   // memory.used
	MemoryFree    uint64   // memory.free
	SwapTotal     uint64   // swap.total
	SwapUsed      uint64   // swap.used
	RootFSTotal   uint64   // rootfs.total
	RootFSUsed    uint64   // rootfs.used
	KernelVersion string   // current-kernel.release, or kversion on PVE before 8
	PVEVersion    string   // pveversion, e.g. "pve-manager/8.3.0/c1689ccb1065a83b"
	Uptime        uint64   // seconds
	LoadAvg       []string // loadavg: 1, 5 and 15 minutes
	BootMode      string   // boot-info.mode: "efi" or "legacy-bios"; "" before PVE 8
}

// nodeStatusData is the data of GET /nodes/{node}/status.
type nodeStatusData struct {
	CPU     float64 `json:"cpu"`
	CPUInfo struct {
		Model   string     `json:"model"`
		CPUs    int        `json:"cpus"`
		Sockets int        `json:"sockets"`
		Cores   int        `json:"cores"`
		MHz     flexString `json:"mhz"`
	} `json:"cpuinfo"`
	Memory     usage        `json:"memory"`
	Swap       usage        `json:"swap"`
	RootFS     usage        `json:"rootfs"`
	KVersion   string       `json:"kversion"`
	PVEVersion string       `json:"pveversion"`
	Uptime     uint64       `json:"uptime"`
	LoadAvg    []flexString `json:"loadavg"`
	BootInfo   struct {
		Mode string `json:"mode"`
	} `json:"boot-info"`
	CurrentKernel struct {
		Release string `json:"release"`
	} `json:"current-kernel"`
}

type usage struct {
	Total uint64 `json:"total"`
	Used  uint64 `json:"used"`
	Free  uint64 `json:"free"`
}

// NodeStatus reads the state of a node. An unknown node is an error
// matching ErrNotFound.
func (c *Client) NodeStatus(ctx context.Context, node string) (*NodeStatus, error) {
	// go-proxmox's Node type lacks boot-info and current-kernel.
	var d nodeStatusData
	if err := c.Get(ctx, "/nodes/"+url.PathEscape(node)+"/status", nil, &d); err != nil {
		return nil, err
	}
	s := &NodeStatus{
		CPUModel:      d.CPUInfo.Model,
		CPUs:          d.CPUInfo.CPUs,
		Sockets:       d.CPUInfo.Sockets,
		Cores:         d.CPUInfo.Cores,
		MHz:           string(d.CPUInfo.MHz),
		CPU:           d.CPU,
		MemoryTotal:   d.Memory.Total,
		MemoryUsed:    d.Memory.Used,
		MemoryFree:    d.Memory.Free,
		SwapTotal:     d.Swap.Total,
		SwapUsed:      d.Swap.Used,
		RootFSTotal:   d.RootFS.Total,
		RootFSUsed:    d.RootFS.Used,
		KernelVersion: d.CurrentKernel.Release,
		PVEVersion:    d.PVEVersion,
		Uptime:        d.Uptime,
		BootMode:      d.BootInfo.Mode,
	}
	if s.KernelVersion == "" {
		s.KernelVersion = d.KVersion
	}
	for _, l := range d.LoadAvg {
		s.LoadAvg = append(s.LoadAvg, string(l))
	}
	return s, nil
}

// flexString decodes a JSON string or number as its text. PVE's Perl JSON
// encoder emits some numbers as strings and vice versa.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("expected a string or number, got %s", b)
	}
	*f = flexString(n)
	return nil
}

// int parses the text as an integer.
func (f flexString) int() (int, error) { return strconv.Atoi(string(f)) }

// WaitNodeOnline waits until /nodes reports node online. PVE takes a
// node's status there from the statistics its pvestatd broadcasts every
// 10 s (PVE::API2Tools::extract_node_stats): a node that has just joined a
// cluster reads "unknown" until its first broadcast reaches the cluster.
func (c *Client) WaitNodeOnline(ctx context.Context, node string) error {
	delay := 500 * time.Millisecond
	last := "not listed"
	for {
		nodes, err := c.Nodes(ctx)
		if err == nil {
			last = "not listed"
			for _, n := range nodes {
				if n.Node == node {
					if n.Status == "online" {
						return nil
					}
					last = n.Status
				}
			}
		} else if ctx.Err() == nil && !errors.Is(err, ErrTransient) && !IsUnreachable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s did not come online in /nodes (last status: %s): %w", node, last, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}
