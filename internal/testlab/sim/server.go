// Package sim holds what every simulated server of the lab (the PVE nodes,
// the PBS and the Redfish BMCs) is made of: the HTTP/1.1-over-TLS server,
// the lab's CA and certificates, fault injection, the path tree the API
// routers are built on, request counters, random IDs and endpoint helpers.
// It knows nothing of the servers it serves.
package sim

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The lab serves HTTP/1.1 itself rather than through net/http's server,
// because pveproxy puts its error messages into the status line
// ("HTTP/1.1 400 Parameter verification failed.", "HTTP/1.1 401 No ticket"),
// which net/http cannot send, and because faults need to drop connections.

// Limits and timeouts of the connection loop, after pveproxy's.
const (
	keepAliveRequests = 100 // requests served on one connection before it is closed
	// IdleTimeout is how long a connection may wait for its next request
	// unless Server.IdleTimeout says otherwise.
	IdleTimeout = 60 * time.Second
	// RequestTimeout is how long reading one request or writing its answer may take.
	RequestTimeout = 30 * time.Second
	gzipThreshold  = 1024 // pveproxy compresses bodies larger than this
)

// Response is what the lab answers to one request.
type Response struct {
	Status int
	Reason string // status line text; only its first line is sent
	CType  string // Content-Type; "" sends none
	Body   []byte
	Delay  time.Duration // hold the answer back this long (unauthorized calls)
	// Headers are more header lines (PBS's writer sends them)
	Headers [][2]string
	Drop    bool // reset the connection without answering
}

// Server is a minimal HTTP/1.1 over TLS server.
type Server struct {
	ln      net.Listener
	tlsConf *tls.Config
	handle  func(req *http.Request) *Response
	// Write writes an answer (WriteResponse unless set otherwise);
	// KeepErrors keeps the connection open after an error status (hyper
	// does, pveproxy does not). Set them before Serve.
	Write      func(w *bufio.Writer, req *http.Request, resp *Response, keep bool)
	KeepErrors bool
	// IdleTimeout closes a connection that waits this long for its next
	// request (0: the package's IdleTimeout).
	IdleTimeout time.Duration
	done        chan struct{}
	wg          sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// NewServer returns a server that answers the connections accepted on ln
// with handle, over TLS with conf. It serves once Serve is called.
func NewServer(ln net.Listener, conf *tls.Config, handle func(*http.Request) *Response) *Server {
	return &Server{
		ln:      ln,
		tlsConf: conf,
		handle:  handle,
		Write:   WriteResponse,
		done:    make(chan struct{}),
		conns:   map[net.Conn]struct{}{},
	}
}

// Serve accepts connections until the listener is closed.
func (s *Server) Serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-s.done:
				return
			case <-time.After(10 * time.Millisecond): // transient accept error
				continue
			}
		}
		if !s.track(c) {
			_ = c.Close()
			return
		}
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Close stops accepting, closes all connections and waits for their handlers.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	err := s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) serveConn(raw net.Conn) {
	defer s.wg.Done()
	defer s.untrack(raw)
	defer raw.Close()

	conn := tls.Server(raw, s.tlsConf)
	br := bufio.NewReader(conn)
	bw := bufio.NewWriter(conn)
	idle := s.IdleTimeout
	if idle == 0 {
		idle = IdleTimeout
	}
	for n := 1; ; n++ {
		_ = conn.SetReadDeadline(time.Now().Add(idle))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_ = conn.SetReadDeadline(time.Now().Add(RequestTimeout))
		req.RemoteAddr = raw.RemoteAddr().String()

		resp := s.handle(req)
		if resp.Drop {
			if tcp, ok := raw.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0) // close with RST, like a crashed worker
			}
			return
		}
		if resp.Delay > 0 {
			select {
			case <-time.After(resp.Delay):
			case <-s.done:
				return
			}
		}
		keep := keepAlive(req) && (resp.Status < 400 || s.KeepErrors) && n < keepAliveRequests && drained(req.Body)
		_ = conn.SetWriteDeadline(time.Now().Add(RequestTimeout))
		s.Write(bw, req, resp, keep)
		if bw.Flush() != nil || !keep {
			return
		}
	}
}

// keepAlive reports whether the client wants the connection kept open.
func keepAlive(req *http.Request) bool {
	if c := req.Header.Get("Connection"); c != "" {
		return !strings.Contains(strings.ToLower(c), "close")
	}
	return req.ProtoAtLeast(1, 1)
}

// drained reports whether the request body has been read completely, so
// that the next request on the connection can be parsed.
func drained(body io.ReadCloser) bool {
	if body == nil || body == http.NoBody {
		return true
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(body, 1))
	return n == 0
}

// WriteResponse writes resp with the headers pveproxy sends.
func WriteResponse(w *bufio.Writer, req *http.Request, resp *Response, keep bool) {
	reason := resp.Reason
	if reason == "" {
		reason = http.StatusText(resp.Status)
	}
	reason, _, _ = strings.Cut(reason, "\n")
	body := resp.Body
	gzipped := false
	if len(body) > gzipThreshold && strings.Contains(req.Header.Get("Accept-Encoding"), "gzip") {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body, gzipped = buf.Bytes(), true
	}
	date := time.Now().UTC().Format(http.TimeFormat)
	fmt.Fprintf(w, "HTTP/%d.%d %d %s\r\n", req.ProtoMajor, req.ProtoMinor, resp.Status, reason)
	fmt.Fprintf(w, "Cache-Control: max-age=0\r\n")
	if keep {
		fmt.Fprintf(w, "Connection: Keep-Alive\r\n")
	} else {
		fmt.Fprintf(w, "Connection: close\r\n")
	}
	fmt.Fprintf(w, "Date: %s\r\nPragma: no-cache\r\nServer: pve-api-daemon/3.0\r\n", date)
	if gzipped {
		fmt.Fprintf(w, "Content-Encoding: gzip\r\n")
	}
	fmt.Fprintf(w, "Content-Length: %d\r\n", len(body))
	if resp.CType != "" {
		fmt.Fprintf(w, "Content-Type: %s\r\n", resp.CType)
	}
	fmt.Fprintf(w, "Expires: %s\r\n\r\n", date)
	_, _ = w.Write(body)
}
