package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// children are the processes this program started; stopChildren kills the
// ones still running when it exits (run.sh's trap covers a crash of this
// program through the pid file and Pdeathsig).
var (
	childMu  sync.Mutex
	children = map[*exec.Cmd]bool{}
)

func execCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

func stopChildren() {
	childMu.Lock()
	defer childMu.Unlock()
	for c := range children {
		if c.Process != nil && c.ProcessState == nil {
			_ = c.Process.Kill()
		}
	}
}

// serverProc is one action server process.
type serverProc struct {
	cmd     *exec.Cmd
	addr    string
	base    string
	logPath string
	exited  chan struct{}
	waitErr error
}

// freeAddr returns a 127.0.0.1 address nothing listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// serverEnv is the server's environment: Freshdesk through the fake with a
// short deadline, dependencies checked every o.health, logs at info.
func serverEnv(o options, addr string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"ACTIONS_ADDR=" + addr,
		"DATABASE_URL=" + o.dbURL,
		"FRESHDESK_API_URL=" + o.fdURL,
		"FRESHDESK_API_KEY=" + o.fdKey,
		"FRESHDESK_EXTERNAL_ID_KEY=chaos-external-id-key-0123456789",
		"FRESHDESK_REFERENCE_FIELD=cf_block_reference",
		"FRESHDESK_TIMEOUT=" + o.fdTimeout.String(),
		"HEALTH_INTERVAL=" + o.health.String(),
		"LOG_LEVEL=info",
	}
	return env
}

// startServer starts the server binary on addr ("" = a free port) and waits
// until /health answers and PostgreSQL is reported up.
func startServer(ctx context.Context, o options, addr, tag string) (*serverProc, error) {
	if addr == "" {
		var err error
		if addr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(o.outDir, "server-"+tag+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := execCommand(context.WithoutCancel(ctx), o.serverBin)
	cmd.Env = serverEnv(o, addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &serverProc{cmd: cmd, addr: addr, base: "http://" + addr, logPath: logPath, exited: make(chan struct{})}
	childMu.Lock()
	children[cmd] = true
	childMu.Unlock()
	writePid(o, cmd.Process.Pid)
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if v, err := s.metric("dependency_up", `dependency="postgres"`); err == nil && v == 1 {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("server exited at start-up (%v); see %s", s.waitErr, logPath)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("server not up with PostgreSQL within 20 s; see %s", logPath)
		}
	}
}

// writePid records a child's pid for run.sh's trap.
func writePid(o options, pid int) {
	f, err := os.OpenFile(filepath.Join(o.outDir, "pids"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintln(f, pid)
	f.Close()
}

func (s *serverProc) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *serverProc) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop sends SIGTERM (graceful drain) and waits, then SIGKILL after 30 s.
func (s *serverProc) stop() error {
	if !s.alive() {
		return fmt.Errorf("server had already exited: %v", s.waitErr)
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.waitErr
	case <-time.After(30 * time.Second):
		s.kill()
		return fmt.Errorf("server did not stop within 30 s of SIGTERM")
	}
}

var probeClient = &http.Client{Timeout: 3 * time.Second}

// status is the HTTP status of GET path (0 when there was no answer).
func (s *serverProc) status(path string) int {
	resp, err := probeClient.Get(s.base + path)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// metric reads one sample of /metrics: name{labels} (labels as written, or
// "" for none).
func (s *serverProc) metric(name, labels string) (float64, error) {
	resp, err := probeClient.Get(s.base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	want := name
	if labels != "" {
		want += "{" + labels + "}"
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, want+" ") {
			return strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, want+" ")), 64)
		}
	}
	return 0, fmt.Errorf("%s not in /metrics", want)
}

// logCount counts the server log lines containing every one of subs.
func logCount(path string, subs ...string) int {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		all := true
		for _, s := range subs {
			if !strings.Contains(line, s) {
				all = false
				break
			}
		}
		if all {
			n++
		}
	}
	return n
}
