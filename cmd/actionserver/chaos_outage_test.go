package main

import (
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sctbnk/cardblock/cardstore/pgtest"
)

// TestChaosOutageMidBurstLeavesNoHalfBlock cuts PostgreSQL (as the server
// sees it: refused connections, every open one reset) in the middle of a
// burst of blocks. Every caller gets a 200 — the block or the Spanish
// hand-off, never an error; no block is half-written; and once the database
// is back the same conversations' blocks go through, those that had been
// committed without their reply answering "already blocked" with the same
// reference and no second ticket.
func TestChaosOutageMidBurstLeavesNoHalfBlock(t *testing.T) {
	const n, cutAfter = 40, 8
	dbURL := pgtest.URL(t)
	bank := chaosBank(t, dbURL, n)
	u, _ := url.Parse(dbURL)
	gate := newGate(t, u.Host)
	viaGate := *u
	viaGate.Host = gate.addr
	s := startServer(t, map[string]string{"DATABASE_URL": viaGate.String(), "HEALTH_INTERVAL": "100ms"})
	waitFor(t, "dependency_up 1", func() bool { return metricValue(t, s.base, `dependency_up{dependency="postgres"}`) == "1" })
	callID := func(i int) string { return fmt.Sprintf("CA-chaos-outage-%d", i) }
	verifyAll(t, s.base, bank, callID)

	var acks atomic.Int64
	var cut sync.Once
	replies := make([]chaosReply, n)
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				replies[i] = chaosAct(s.base, "action_block_card", bank[i], callID(i))
				if replies[i].response == "utter_card_blocked" && acks.Add(1) == cutAfter {
					cut.Do(gate.down)
				}
			}
		})
	}
	for i := range bank {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	cut.Do(gate.down) // the burst may have ended first: then the cut is after it

	var acked []string
	handoffs := 0
	for i, r := range replies {
		switch {
		case r.status != 200:
			t.Errorf("block %d: status %d (%v), want 200", i, r.status, r.err)
		case r.response == "utter_card_blocked":
			acked = append(acked, r.ref)
		case r.response == "utter_service_unavailable":
			handoffs++
		default:
			t.Errorf("block %d answered %q", i, r.response)
		}
	}
	t.Logf("burst of %d blocks, database cut after %d acknowledgements: %d blocked, %d hand-offs", n, cutAfter, len(acked), handoffs)

	gate.up(gate.addr)
	waitFor(t, "dependency_up 1 again", func() bool { return metricValue(t, s.base, `dependency_up{dependency="postgres"}`) == "1" })
	ackedBlocked(t, dbURL, acked)
	committed := blockConsistency(t, dbURL)

	// The callers who heard the hand-off try again in the same conversation.
	already := 0
	for i, r := range replies {
		if r.response == "utter_card_blocked" {
			continue
		}
		again := chaosAct(s.base, "action_block_card", bank[i], callID(i))
		switch again.response {
		case "utter_card_blocked":
		case "utter_card_already_blocked":
			already++ // committed, but the reply was lost with the connection
		default:
			t.Errorf("block %d after recovery: %d %q", i, again.status, again.response)
		}
	}
	if got := blockConsistency(t, dbURL); got != n {
		t.Errorf("%d cards blocked after the retries, want %d", got, n)
	}
	// A statement whose connection was cut can still commit on the server a
	// moment later, so retries may find more committed blocks than counted
	// just after the outage — never fewer.
	if already < committed-len(acked) {
		t.Errorf("%d retries said already blocked, but %d blocks had been committed without an acknowledgement", already, committed-len(acked))
	}
}
