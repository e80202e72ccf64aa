package cephlab

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// Monitor commands go through librados, like PVE's (PVE::RADOS): one
// connection kept open by a small helper on Debian's python3-rados, which
// the ceph CLI runs on too. It reads one command per line and answers with
// librados' return code, output buffer and status string. Running the ceph
// CLI costs a Python start-up and a new connection per command; this costs
// a round trip to the monitor.

const radosHelperPy = `import base64, json, sys
import rados

def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()

c = rados.Rados(conffile=sys.argv[1], name="client.admin")
c.conf_set("client_mount_timeout", "30")
c.conf_set("rados_mon_op_timeout", "60")
try:
    c.connect()
except Exception as e:
    send({"ready": False, "error": str(e)})
    sys.exit(1)
send({"ready": True})
for line in sys.stdin:
    req = json.loads(line)
    try:
        ret, out, outs = c.mon_command(req["cmd"], b"")
    except Exception as e:
        ret, out, outs = -(getattr(e, "errno", None) or 5), b"", str(e)
    send({"ret": ret, "out": base64.b64encode(out).decode(), "outs": outs})
c.shutdown()
`

// radosClient is the running helper.
type radosClient struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	done   chan struct{}
	dead   error
}

type radosReply struct {
	Ready bool   `json:"ready"`
	Error string `json:"error"`
	Ret   int    `json:"ret"`
	Out   string `json:"out"`
	Outs  string `json:"outs"`
}

// startRados starts the helper for c and waits until it has connected to
// the monitor (which may still be starting).
func startRados(ctx context.Context, c *Cluster) (*radosClient, error) {
	script := c.path("rados-helper.py")
	if err := os.WriteFile(script, []byte(radosHelperPy), 0o644); err != nil {
		return nil, fmt.Errorf("cephlab: ceph: %w", err)
	}
	cmd := exec.Command(python, script, c.ConfPath())
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := os.Create(c.path("log", "rados-helper.err"))
	if err != nil {
		return nil, fmt.Errorf("cephlab: ceph: %w", err)
	}
	defer stderr.Close()
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("cephlab: ceph: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("cephlab: ceph: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cephlab: start librados helper: %w", err)
	}
	rc := &radosClient{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(rc.done)
	}()
	ready := make(chan error, 1)
	go func() {
		var r radosReply
		err := rc.read(&r)
		switch {
		case err != nil:
			ready <- err
		case !r.Ready:
			ready <- fmt.Errorf("cephlab: librados connect: %s", r.Error)
		default:
			ready <- nil
		}
	}()
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = fmt.Errorf("cephlab: librados connect: %w", ctx.Err())
	}
	if err != nil {
		rc.close()
		return nil, fmt.Errorf("%w; %s", err, tailFile(c.path("log", "rados-helper.err"), c.path("log", "mon.a.log")))
	}
	return rc, nil
}

func (rc *radosClient) read(r *radosReply) error {
	line, err := rc.stdout.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("cephlab: librados helper: %w", err)
	}
	if err := json.Unmarshal(line, r); err != nil {
		return fmt.Errorf("cephlab: librados helper: %w", err)
	}
	return nil
}

// monCommand sends one command and returns its output and status.
func (rc *radosClient) monCommand(cmd map[string]any) ([]byte, string, error) {
	js, err := json.Marshal(cmd)
	if err != nil {
		return nil, "", fmt.Errorf("cephlab: ceph command: %w", err)
	}
	req, _ := json.Marshal(map[string]string{"cmd": string(js)})
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.dead != nil {
		return nil, "", rc.dead
	}
	var r radosReply
	if _, err = rc.stdin.Write(append(req, '\n')); err == nil {
		err = rc.read(&r)
	}
	if err != nil {
		rc.dead = errors.Join(errClosed, err)
		return nil, "", rc.dead
	}
	out, err := base64.StdEncoding.DecodeString(r.Out)
	if err != nil {
		return nil, "", fmt.Errorf("cephlab: librados helper: %w", err)
	}
	if r.Ret < 0 {
		prefix, _ := cmd["prefix"].(string)
		return out, r.Outs, &CommandError{Command: prefix, Code: r.Ret, Status: strings.TrimRight(r.Outs, "\n")}
	}
	return out, r.Outs, nil
}

// close ends the helper: EOF on its input, then SIGKILL.
// A command waiting for its answer gets an error.
func (rc *radosClient) close() {
	_ = rc.stdin.Close()
	_ = rc.cmd.Process.Signal(syscall.SIGKILL)
	<-rc.done
	rc.mu.Lock()
	rc.dead = errClosed
	rc.mu.Unlock()
}
