package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sctbnk/cardblock/cardstore/pgtest"
	"github.com/sctbnk/cardblock/freshdesk/freshdesktest"
)

// buildServer builds this command into a temporary directory: the SIGKILL
// test needs a process of its own to kill.
func buildServer(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "actionserver")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is the server binary running with env on addr.
type proc struct {
	cmd    *exec.Cmd
	base   string
	logs   *lineBuffer
	exited chan struct{}
}

func startBinary(t *testing.T, bin, addr string, env []string) *proc {
	t.Helper()
	p := &proc{base: "http://" + addr, logs: &lineBuffer{addrC: make(chan string, 1)}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append([]string{"ACTIONS_ADDR=" + addr, "PATH=" + os.Getenv("PATH")}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if metricOf(p.base, `dependency_up{dependency="postgres"}`) == "1" {
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("server exited at start-up:\n%s", p.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not up within 10 s:\n%s", p.logs.String())
		}
	}
}

// metricOf is metricValue without a test to fail: "" when unreadable.
func metricOf(base, series string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return v
		}
	}
	return ""
}

// TestChaosSIGKILLMidBurst kills the real server binary with SIGKILL while
// blocks are arriving and a ticket POST is on the wire (held by the fake
// Freshdesk, which stores the ticket only after the process is gone). After
// a restart, every acknowledged block is in the database, none is
// half-written, and the restarted worker delivers every outbox row exactly
// once — the held one by reconciliation, not by a second POST.
func TestChaosSIGKILLMidBurst(t *testing.T) {
	const n, killAfter = 60, 15
	dbURL := pgtest.URL(t)
	bin := buildServer(t)
	bank := chaosBank(t, dbURL, n)
	fd := freshdesktest.NewServer(freshdesktest.Config{APIKey: chaosFDKey, Latency: 20 * time.Millisecond})
	t.Cleanup(fd.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := []string{
		"DATABASE_URL=" + dbURL, "HEALTH_INTERVAL=100ms", "LOG_LEVEL=info",
		"FRESHDESK_API_URL=" + fd.URL, "FRESHDESK_API_KEY=" + chaosFDKey, "FRESHDESK_EXTERNAL_ID_KEY=chaos-external-id-0123456789",
		"FRESHDESK_REFERENCE_FIELD=cf_block_reference", "FRESHDESK_TIMEOUT=500ms",
	}
	p := startBinary(t, bin, addr, env)
	callID := func(i int) string { return fmt.Sprintf("CA-chaos-kill-%d", i) }
	verifyAll(t, p.base, bank, callID)

	hold := fd.HoldNextCreate(t) // the first ticket POST stays on the wire
	var acks atomic.Int64
	var killed atomic.Bool
	var mu sync.Mutex
	var acked []string
	enough := make(chan struct{})
	var enoughOnce sync.Once
	go func() {
		// Kill once the POST is held and killAfter blocks were acknowledged.
		<-hold.Arrived
		select {
		case <-enough:
		case <-time.After(5 * time.Second):
		}
		killed.Store(true) // first: a reply lost to the kill must not count as a failure
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}()
	var wg, twg sync.WaitGroup
	jobs, ticketJobs := make(chan int), make(chan int, n)
	for range 4 { // ticket callers: the first one's DeliverNow is the held POST
		twg.Go(func() {
			for i := range ticketJobs {
				if !killed.Load() {
					chaosAct(p.base, "action_create_ticket", bank[i], callID(i))
				}
			}
		})
	}
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				r := chaosAct(p.base, "action_block_card", bank[i], callID(i))
				if r.status == 200 && r.response == "utter_card_blocked" {
					mu.Lock()
					acked = append(acked, r.ref)
					mu.Unlock()
					if acks.Add(1) >= killAfter {
						enoughOnce.Do(func() { close(enough) })
					}
					ticketJobs <- i
				} else if !killed.Load() {
					t.Errorf("block %d before the kill: %d %q %v", i, r.status, r.response, r.err)
				}
			}
		})
	}
	for i := range bank {
		if killed.Load() {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(ticketJobs)
	twg.Wait()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not die: was the ticket POST never sent?")
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("server ended with %v, want killed by SIGKILL", p.cmd.ProcessState)
	}
	// Freshdesk finishes the POST nobody waits for any more.
	hold.Release()
	heldID := <-hold.Stored

	restarted := startBinary(t, bin, addr, env)
	waitDrained(t, dbURL, 20*time.Second)
	ackedBlocked(t, dbURL, acked)
	committed := blockConsistency(t, dbURL)
	rows := outboxByRef(t, dbURL)
	byRef := fd.TicketsByReference()
	st := fd.Stats()
	heldReconciled := false
	for ref, row := range rows {
		if row.state != "delivered" || byRef[ref] != 1 {
			t.Errorf("%s: outbox %s, %d tickets in Freshdesk; want delivered, 1", ref, row.state, byRef[ref])
		}
		if row.ticketID == heldID {
			heldReconciled = true
		}
	}
	if !heldReconciled {
		t.Errorf("no outbox row names the ticket stored after the kill (%d): it was posted again or lost", heldID)
	}
	if st.Tickets != len(rows) || st.Duplicates != 0 || st.DuplicateReferences != 0 {
		t.Errorf("%d tickets for %d outbox rows; %d duplicates by marker, %d by reference", st.Tickets, len(rows), st.Duplicates, st.DuplicateReferences)
	}
	if !strings.Contains(restarted.logs.String(), `"result":"reconciled"`) {
		t.Errorf("the restarted server logged no reconciled delivery:\n%s", restarted.logs.String())
	}
	t.Logf("%d blocks acknowledged before the SIGKILL, %d committed; %d tickets, %d POSTs", len(acked), committed, st.Tickets, st.TicketPOSTs)
	if err := restarted.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Error(err)
	}
	select {
	case <-restarted.exited:
	case <-time.After(20 * time.Second):
		t.Error("the restarted server did not stop on SIGTERM")
	}
}
