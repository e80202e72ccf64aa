package pvesim

import (
	"context"
	"time"
)

// pvedaemon and pveproxy's proxy timeout.
//
// pveproxy runs no protected method itself: PVE::HTTPServer::rest_handler
// (pve-manager PVE/HTTPServer.pm) answers a method marked "protected" in
// the schema (most writes, and reads such as task status and the node's
// guest lists) with a proxy to localhost, and a method whose proxyto node
// is another node with a proxy to that node's pveproxy, which does the
// same there. PVE::APIServer::AnyEvent::proxy_request (pve-http-server)
// forwards with AnyEvent::HTTP and a 30 s inactivity timeout: pvedaemon
// answers only when its handler is done, so a handler (or a wait for a
// free pvedaemon worker) longer than 30 s makes pveproxy answer 596
// "Connection timed out", while the request goes on behind it: the
// handler keeps running, and a request still queued is accepted and run
// when a worker is free, its answer going nowhere.
//
// pvedaemon (pve-manager PVE/Service/pvedaemon.pm) runs 3 worker processes
// (max_workers => 3); each runs one handler at a time, blocking: a handler
// that waits 10 s for a config flock holds its worker that long. Requests
// beyond 3 wait in the queue of the listening socket. Workers a handler
// forks (fork_worker: the tasks) run beside them and hold no pvedaemon
// worker.

// pvedaemonWorkers is pvedaemon's max_workers.
const pvedaemonWorkers = 3

// DefaultProxyTimeout is pveproxy's timeout for calls it proxies
// (Options.ProxyTimeout).
const DefaultProxyTimeout = 30 * time.Second

// daemonWorker waits for a free pvedaemon worker of node and returns the
// function that frees it.
func (l *pveLab) daemonWorker(node string) func() {
	l.daemonMu.Lock()
	if l.daemons == nil {
		l.daemons = map[string]chan struct{}{}
	}
	sem := l.daemons[node]
	if sem == nil {
		sem = make(chan struct{}, pvedaemonWorkers)
		l.daemons[node] = sem
	}
	l.daemonMu.Unlock()
	sem <- struct{}{}
	return func() { <-sem }
}

type handlerResult struct {
	data any
	err  error
}

// dispatchHandler runs the handler of e for r where PVE runs it: in
// pveproxy of the node the client called (neither protected nor
// forwarded), or behind a proxy, in one of pvedaemon's workers of the node
// that runs it (protected) or in the pveproxy of another node (forwarded).
// Behind a proxy the client gets a 596 when the answer takes longer than
// the proxy timeout; the handler goes on.
func (p *PVE) dispatchHandler(e *endpoint, r *Request, forwarded bool) (any, error) {
	protected := e.schema != nil && e.schema.Protected
	if !protected && !forwarded {
		return p.callHandler(e.handler, r)
	}
	// the work goes on when pveproxy gives up, or the client goes away
	r.Context = context.WithoutCancel(r.Context)
	done := make(chan handlerResult, 1)
	go func() {
		if protected {
			defer p.lab.daemonWorker(r.LocalNode)()
		}
		data, err := p.callHandler(e.handler, r)
		done <- handlerResult{data, err}
	}()
	timer := time.NewTimer(p.lab.proxyTimeout)
	defer timer.Stop()
	select {
	case res := <-done:
		return res.data, res.err
	case <-timer.C:
		// AnyEvent::HTTP's pseudo status for the inactivity timeout, its
		// reason the errno text of ETIMEDOUT
		return nil, &proxyError{status: 596, reason: "Connection timed out"}
	}
}
