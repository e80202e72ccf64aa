package main

import (
	"encoding/json"
	"net"
	"net/http"
	"sort"
)

// The request counter (-stats-addr): a plain HTTP server on its own port,
// outside every simulated server's API, that says how many requests the
// simulated PVE (and PBS, with -pbs) answered, so that a benchmark can count
// what a Terraform run cost. It is no part of PVE: real servers have no
// such counter, and the PVE API paths stay exactly as PVE serves them.
//
//	GET  /requests        {"pve": {"total": N, "requests": {"GET /nodes": n, ...}}, "pbs": {...}}
//	POST /requests/reset  sets every count to zero

// counter is a simulated server whose requests are counted.
type counter interface {
	Requests() map[string]int
	ResetRequests()
}

// requestCounts is one server's entry of GET /requests.
type requestCounts struct {
	Total    int            `json:"total"`
	Requests map[string]int `json:"requests"`
}

// statsHandler serves the counts of servers by name ("pve", "pbs").
func statsHandler(servers map[string]counter) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /requests", func(w http.ResponseWriter, _ *http.Request) {
		out := map[string]requestCounts{}
		for name, s := range servers {
			c := requestCounts{Requests: s.Requests()}
			for _, n := range c.Requests {
				c.Total += n
			}
			out[name] = c
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("POST /requests/reset", func(w http.ResponseWriter, _ *http.Request) {
		names := make([]string, 0, len(servers))
		for name, s := range servers {
			s.ResetRequests()
			names = append(names, name)
		}
		sort.Strings(names)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string][]string{"reset": names})
	})
	return mux
}

// serveStats starts the request counter on addr and returns its base URL
// and a function that stops it.
func serveStats(addr string, servers map[string]counter) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: statsHandler(servers)}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}
