package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sctbnk/cardblock/cardstore/pgtest"
	"github.com/sctbnk/cardblock/freshdesk/freshdesktest"
)

const chaosFDKey = "chaos-fd-key"

// TestChaosFreshdeskWindowExactlyOnce: blocks arrive through the whole server
// while Freshdesk answers every request with a rotation of 429 (Retry-After),
// 500 after creating, a stall past the client's deadline after creating and a
// connection reset after creating. Every block is acknowledged at once, and
// when the window closes the outbox drains to exactly one ticket per block:
// no duplicate, no dead letter, every row naming its own ticket.
func TestChaosFreshdeskWindowExactlyOnce(t *testing.T) {
	const n = 24
	dbURL := pgtest.URL(t)
	bank := chaosBank(t, dbURL, n)
	fd := freshdesktest.NewServer(freshdesktest.Config{APIKey: chaosFDKey, SlowDelay: 3 * time.Second})
	t.Cleanup(fd.Close)
	s := startServer(t, map[string]string{
		"DATABASE_URL": dbURL, "HEALTH_INTERVAL": "100ms",
		"FRESHDESK_API_URL": fd.URL, "FRESHDESK_API_KEY": chaosFDKey, "FRESHDESK_EXTERNAL_ID_KEY": "chaos-external-id-0123456789",
		"FRESHDESK_REFERENCE_FIELD": "cf_block_reference", "FRESHDESK_TIMEOUT": "500ms",
	})
	waitFor(t, "dependency_up 1", func() bool { return metricValue(t, s.base, `dependency_up{dependency="postgres"}`) == "1" })
	callID := func(i int) string { return fmt.Sprintf("CA-chaos-fd-%d", i) }
	verifyAll(t, s.base, bank, callID)

	fd.FailFor(freshdesktest.ModeMix, time.Hour, time.Second) // closed below, once every failure has been served
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	blocks := make([]chaosReply, n)
	tickets := make([]chaosReply, n)
	for i, c := range bank {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			blocks[i] = chaosAct(s.base, "action_block_card", c, callID(i))
			tickets[i] = chaosAct(s.base, "action_create_ticket", c, callID(i))
		})
	}
	wg.Wait()
	var acked []string
	for i := range bank {
		if blocks[i].response != "utter_card_blocked" {
			t.Fatalf("block %d while Freshdesk fails: %d %q %v", i, blocks[i].status, blocks[i].response, blocks[i].err)
		}
		acked = append(acked, blocks[i].ref)
		// Queued, normally; created when the worker's earlier attempt had
		// stored the ticket and a list call that the window served found it.
		if r := tickets[i].response; r != "utter_ticket_queued" && r != "utter_ticket_created" {
			t.Errorf("ticket %d while Freshdesk fails: %d %q, want utter_ticket_queued (or _created)", i, tickets[i].status, r)
		}
	}
	waitFor(t, "every failure mode to be served", func() bool {
		inj := fd.Injected()
		for _, m := range freshdesktest.MixModes {
			if inj[m] == 0 {
				return false
			}
		}
		return true
	})
	fd.FailUntil(freshdesktest.ModeNormal, time.Time{}, 0)
	injected := fd.Injected()

	waitDrained(t, dbURL, 20*time.Second)
	ackedBlocked(t, dbURL, acked)
	blockConsistency(t, dbURL)
	st := fd.Stats()
	byRef := fd.TicketsByReference()
	rows := outboxByRef(t, dbURL)
	ticketOf := map[string]int64{}
	for _, tk := range fd.Tickets() {
		ticketOf[tk.Reference()] = tk.ID
	}
	for ref, row := range rows {
		if row.state != "delivered" {
			t.Errorf("outbox row %s is %s, want delivered", ref, row.state)
		}
		if byRef[ref] != 1 {
			t.Errorf("%s: %d tickets in Freshdesk, want 1", ref, byRef[ref])
		}
		if row.ticketID != ticketOf[ref] {
			t.Errorf("%s: row names ticket %d, Freshdesk holds %d", ref, row.ticketID, ticketOf[ref])
		}
	}
	if st.Tickets != n || len(rows) != n || st.Duplicates != 0 || st.DuplicateReferences != 0 {
		t.Errorf("%d tickets for %d outbox rows and %d blocks; %d duplicates by marker, %d by reference",
			st.Tickets, len(rows), n, st.Duplicates, st.DuplicateReferences)
	}
	t.Logf("%d blocks; failures served in the window: %v; %d ticket POSTs, %d list requests", n, injected, st.TicketPOSTs, st.ListRequests)
}
