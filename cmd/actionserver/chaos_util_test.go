package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sctbnk/cardblock/cardstore"
)

// The chaos_*_test.go files are the quick versions of `make chaos`
// (bench/chaos): the same promises, on a few dozen cards, in seconds.

// chaosCustomer is one generated customer with one active debit card.
type chaosCustomer struct{ phone, last4 string }

// chaosBank migrates the database at dbURL and imports n customers.
func chaosBank(t *testing.T, dbURL string, n int) []chaosCustomer {
	t.Helper()
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := cardstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	rows := make([]cardstore.ImportRow, n)
	out := make([]chaosCustomer, n)
	for i := range n {
		out[i] = chaosCustomer{phone: fmt.Sprintf("+34608%06d", i), last4: fmt.Sprintf("%04d", (i*7919)%10000)}
		rows[i] = cardstore.ImportRow{Line: i + 2, CustomerRef: fmt.Sprintf("chaos-%d", i), FullName: fmt.Sprintf("Cliente Caos %d", i),
			PhoneE164: out[i].phone, Last4: out[i].last4, Brand: cardstore.BrandVisa, Kind: "debit", Status: "active"}
	}
	if _, err := cardstore.NewPostgres(pool).ImportCustomers(ctx, rows); err != nil {
		t.Fatal(err)
	}
	return out
}

// chaosReply is what one action call got back.
type chaosReply struct {
	status   int // 0: no HTTP answer
	response string
	ref      string
	err      error
}

var chaosClient = &http.Client{Timeout: 15 * time.Second}

func chaosAct(base, action string, c chaosCustomer, callID string) chaosReply {
	body, _ := json.Marshal(map[string]any{
		"next_action": action, "sender_id": c.phone, "version": "3.6.21",
		"tracker": map[string]any{
			"sender_id": c.phone,
			"slots": map[string]any{"card_last4": c.last4, "block_reason": "fraud",
				"session_started_metadata": map[string]any{"call_id": callID, "user_phone": c.phone}},
			"events": []any{}, "latest_message": nil, "active_loop": map[string]any{},
		},
	})
	resp, err := chaosClient.Post(base+"/webhook", "application/json", bytes.NewReader(body))
	if err != nil {
		return chaosReply{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	r := chaosReply{status: resp.StatusCode, err: err}
	var reply struct {
		Events []struct {
			Event, Name string
			Value       any
		} `json:"events"`
		Responses []struct {
			Response string `json:"response"`
		} `json:"responses"`
	}
	if json.Unmarshal(raw, &reply) == nil {
		if len(reply.Responses) > 0 {
			r.response = reply.Responses[0].Response
		}
		for _, e := range reply.Events {
			if e.Event == "slot" && e.Name == "block_reference" {
				r.ref, _ = e.Value.(string)
			}
		}
	}
	return r
}

// verifyAll verifies every customer's card in conversation callID(i).
func verifyAll(t *testing.T, base string, bank []chaosCustomer, callID func(int) string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, len(bank))
	sem := make(chan struct{}, 8)
	for i, c := range bank {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if r := chaosAct(base, "action_verify_last4", c, callID(i)); r.response != "utter_confirm_block" {
				errs <- fmt.Sprintf("verify %d: %d %q %v", i, r.status, r.response, r.err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// blockConsistency checks that no block is half-written: every blocked card
// has exactly one audit row and one outbox row under its reference, every
// audit row's card is blocked under it. It returns the number of blocked cards.
func blockConsistency(t *testing.T, dbURL string) int {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var blocked, audit, outbox, noAudit, noRow, auditNotBlocked, rowNoAudit int
	err = conn.QueryRow(ctx, `SELECT
	  (SELECT count(*) FROM cards WHERE status = 'blocked'),
	  (SELECT count(*) FROM card_blocks),
	  (SELECT count(*) FROM ticket_outbox WHERE kind = 'block'),
	  (SELECT count(*) FROM cards c WHERE c.status = 'blocked' AND
	     (SELECT count(*) FROM card_blocks b WHERE b.card_id = c.id AND b.block_reference = c.block_reference) <> 1),
	  (SELECT count(*) FROM cards c WHERE c.status = 'blocked' AND
	     (SELECT count(*) FROM ticket_outbox o WHERE o.idempotency_key = 'block:' || c.block_reference) <> 1),
	  (SELECT count(*) FROM card_blocks b JOIN cards c ON c.id = b.card_id
	     WHERE c.status <> 'blocked' OR c.block_reference IS DISTINCT FROM b.block_reference),
	  (SELECT count(*) FROM ticket_outbox o WHERE o.kind = 'block' AND NOT EXISTS
	     (SELECT 1 FROM card_blocks b WHERE 'block:' || b.block_reference = o.idempotency_key))`).
		Scan(&blocked, &audit, &outbox, &noAudit, &noRow, &auditNotBlocked, &rowNoAudit)
	if err != nil {
		t.Fatal(err)
	}
	if blocked != audit || audit != outbox || noAudit+noRow+auditNotBlocked+rowNoAudit != 0 {
		t.Errorf("half-written blocks: %d blocked cards, %d audit rows, %d block outbox rows; without one audit row %d, "+
			"without one outbox row %d, audit rows whose card is not blocked %d, outbox rows without audit %d",
			blocked, audit, outbox, noAudit, noRow, auditNotBlocked, rowNoAudit)
	}
	return blocked
}

// ackedBlocked fails the test unless every acknowledged reference is in the
// audit with its card blocked under it.
func ackedBlocked(t *testing.T, dbURL string, refs []string) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT r FROM unnest($1::text[]) AS r WHERE NOT EXISTS (
		SELECT 1 FROM card_blocks b JOIN cards c ON c.id = b.card_id
		WHERE b.block_reference = r AND c.status = 'blocked' AND c.block_reference = r)`, refs)
	if err != nil {
		t.Fatal(err)
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged blocks are not in the database: %v", len(missing), len(refs), missing)
	}
}

// outboxByRef returns the block outbox rows' state and Freshdesk ticket id
// by block reference.
type outboxState struct {
	state    string
	ticketID int64
}

func outboxByRef(t *testing.T, dbURL string) map[string]outboxState {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT substr(idempotency_key, 7), state, coalesce(freshdesk_ticket_id, 0)
		FROM ticket_outbox WHERE kind = 'block'`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]outboxState{}
	for rows.Next() {
		var ref string
		var s outboxState
		if err := rows.Scan(&ref, &s.state, &s.ticketID); err != nil {
			t.Fatal(err)
		}
		out[ref] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitDrained waits (at most limit) until no outbox row is pending or uncertain.
func waitDrained(t *testing.T, dbURL string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		states := map[string]int{}
		for _, s := range outboxByRef(t, dbURL) {
			states[s.state]++
		}
		if states["pending"] == 0 && states["uncertain"] == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not drained within %s: %v", limit, states)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
