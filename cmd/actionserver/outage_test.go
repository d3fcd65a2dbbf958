package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/cardstore/pgtest"
)

// tcpGate forwards a local port to PostgreSQL and can be cut: while it is
// down, connecting is refused and every open connection is reset, which is
// what the server sees when the database stops.
type tcpGate struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newGate(t *testing.T, target string) *tcpGate {
	g := &tcpGate{t: t, target: target, conns: map[net.Conn]bool{}}
	g.up("127.0.0.1:0")
	t.Cleanup(g.down)
	return g
}

func (g *tcpGate) up(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		g.t.Fatal(err)
	}
	g.mu.Lock()
	g.ln, g.addr = ln, ln.Addr().String()
	g.mu.Unlock()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", g.target)
			if err != nil {
				c.Close()
				continue
			}
			g.mu.Lock()
			g.conns[c], g.conns[s] = true, true
			g.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

func (g *tcpGate) down() {
	g.mu.Lock()
	if g.ln != nil {
		g.ln.Close()
		g.ln = nil
	}
	for c := range g.conns {
		c.Close()
	}
	g.conns = map[net.Conn]bool{}
	g.mu.Unlock()
	g.wg.Wait()
}

func metricValue(t *testing.T, base, series string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimPrefix(line, series+" ")
		}
	}
	return ""
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDatabaseOutageAndRecovery stops PostgreSQL (as the server sees it)
// in the middle of a call: callers hear the Spanish hand-off, /ready stays
// 200, dependency_up drops to 0; when the database returns the same server
// process serves again.
func TestDatabaseOutageAndRecovery(t *testing.T) {
	dbURL := pgtest.URL(t)
	ctx := context.Background()
	// Seed the demo bank through the real store.
	seed, err := cardstore.OpenPostgres(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dbURL)
	gate := newGate(t, u.Host)
	viaGate := *u
	viaGate.Host = gate.addr

	s := startServer(t, map[string]string{"DATABASE_URL": viaGate.String(), "HEALTH_INTERVAL": "100ms"})
	waitFor(t, "dependency_up 1", func() bool { return metricValue(t, s.base, `dependency_up{dependency="postgres"}`) == "1" })
	bank, _ := cardstore.LoadDemoBank()
	if err := seed.Seed(ctx, bank); err != nil {
		t.Fatal(err)
	}
	seed.Close()

	c := &call{slots: map[string]any{"session_started_metadata": map[string]any{"call_id": "CA-outage", "user_phone": "+34600111222"}, "card_last4": "4567", "block_reason": "stolen"}}
	if _, reply := s.post(t, "/webhook", c.request("action_verify_last4")); responseName(t, reply) != "utter_confirm_block" {
		t.Fatalf("before the outage: %v", reply)
	}

	gate.down()
	start := time.Now()
	status, reply := s.post(t, "/webhook", c.request("action_block_card"))
	if status != 200 || responseName(t, reply) != "utter_service_unavailable" {
		t.Fatalf("during the outage: %d %v", status, reply)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("hand-off took %s", d)
	}
	resp, err := http.Get(s.base + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/ready = %d during the outage, want 200", resp.StatusCode)
	}
	waitFor(t, "dependency_up 0", func() bool { return metricValue(t, s.base, `dependency_up{dependency="postgres"}`) == "0" })

	gate.up(gate.addr)
	waitFor(t, "dependency_up 1 again", func() bool { return metricValue(t, s.base, `dependency_up{dependency="postgres"}`) == "1" })
	_, reply = s.post(t, "/webhook", c.request("action_block_card"))
	if got := responseName(t, reply); got != "utter_card_blocked" {
		t.Fatalf("after recovery: %s (%v)", got, reply)
	}
	if !strings.Contains(s.logs.String(), "PostgreSQL is back") {
		t.Error("recovery was not logged")
	}
}
