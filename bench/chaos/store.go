package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// db opens a short-lived connection for the checks (the scenarios' fault is
// never active while they run).
func db(ctx context.Context, dbURL string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return pgx.Connect(ctx, dbURL)
}

func pgVersion(ctx context.Context, dbURL string) string {
	conn, err := db(ctx, dbURL)
	if err != nil {
		return ""
	}
	defer conn.Close(ctx)
	var v string
	_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&v)
	return v
}

// consistency is what the database holds after a scenario: no block may be
// half-written (card, audit row and outbox row are one transaction).
type consistency struct {
	BlockedCards         int // cards with status blocked
	AuditRows            int // card_blocks rows
	BlockOutboxRows      int // ticket_outbox rows of kind block
	CardsWithoutOneAudit int // blocked cards without exactly one audit row for their reference
	CardsWithoutOneRow   int // blocked cards without exactly one outbox row for their reference
	AuditCardNotBlocked  int // audit rows whose card is not blocked with that reference
	OutboxWithoutAudit   int // block outbox rows without their audit row
}

func (c consistency) ok() bool {
	return c.CardsWithoutOneAudit == 0 && c.CardsWithoutOneRow == 0 && c.AuditCardNotBlocked == 0 &&
		c.OutboxWithoutAudit == 0 && c.BlockedCards == c.AuditRows && c.AuditRows == c.BlockOutboxRows
}

func (c consistency) String() string {
	return fmt.Sprintf("%d blocked cards, %d audit rows, %d block outbox rows; blocked cards without exactly one audit row: %d, "+
		"without exactly one outbox row: %d; audit rows whose card is not blocked with that reference: %d; outbox rows without audit row: %d",
		c.BlockedCards, c.AuditRows, c.BlockOutboxRows, c.CardsWithoutOneAudit, c.CardsWithoutOneRow, c.AuditCardNotBlocked, c.OutboxWithoutAudit)
}

const consistencySQL = `
SELECT
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
     (SELECT 1 FROM card_blocks b WHERE 'block:' || b.block_reference = o.idempotency_key))`

func checkConsistency(ctx context.Context, dbURL string) (consistency, error) {
	conn, err := db(ctx, dbURL)
	if err != nil {
		return consistency{}, err
	}
	defer conn.Close(ctx)
	var c consistency
	err = conn.QueryRow(ctx, consistencySQL).Scan(&c.BlockedCards, &c.AuditRows, &c.BlockOutboxRows,
		&c.CardsWithoutOneAudit, &c.CardsWithoutOneRow, &c.AuditCardNotBlocked, &c.OutboxWithoutAudit)
	return c, err
}

// ackedInDB counts the acknowledged block references that are in the audit
// with their card blocked under that reference.
func ackedInDB(ctx context.Context, dbURL string, refs []string) (found int, missing []string, err error) {
	conn, err := db(ctx, dbURL)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT r FROM unnest($1::text[]) AS r
		WHERE NOT EXISTS (SELECT 1 FROM card_blocks b JOIN cards c ON c.id = b.card_id
		                  WHERE b.block_reference = r AND c.status = 'blocked' AND c.block_reference = r)`, refs)
	if err != nil {
		return 0, nil, err
	}
	missing, err = pgx.CollectRows(rows, pgx.RowTo[string])
	return len(refs) - len(missing), missing, err
}

// outboxRow is one ticket_outbox row as the checks read it.
type outboxRow struct {
	ID        int64
	Key       string
	Kind      string
	State     string
	Attempts  int
	TicketID  int64
	LastError string
}

func (r outboxRow) reference() string { return strings.TrimPrefix(r.Key, "block:") }

func outboxRows(ctx context.Context, dbURL string) ([]outboxRow, error) {
	conn, err := db(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id, idempotency_key, kind, state, attempts, coalesce(freshdesk_ticket_id, 0), coalesce(last_error, '')
		FROM ticket_outbox ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (outboxRow, error) {
		var o outboxRow
		err := r.Scan(&o.ID, &o.Key, &o.Kind, &o.State, &o.Attempts, &o.TicketID, &o.LastError)
		return o, err
	})
}

func outboxStates(rows []outboxRow) map[string]int {
	out := map[string]int{}
	for _, r := range rows {
		out[r.State]++
	}
	return out
}

// waitDrained polls the outbox until no row is pending or uncertain (and at
// least want rows exist), at most limit. It returns when that happened.
func waitDrained(ctx context.Context, dbURL string, want int, limit time.Duration) (time.Time, map[string]int, error) {
	deadline := time.Now().Add(limit)
	for {
		rows, err := outboxRows(ctx, dbURL)
		if err == nil {
			st := outboxStates(rows)
			if st["pending"] == 0 && st["uncertain"] == 0 && len(rows) >= want {
				return time.Now(), st, nil
			}
			if time.Now().After(deadline) {
				return time.Time{}, st, fmt.Errorf("outbox not drained within %s: %s", limit, sortedKeys(st))
			}
		} else if time.Now().After(deadline) {
			return time.Time{}, nil, err
		}
		select {
		case <-ctx.Done():
			return time.Time{}, nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// fake is the fake Freshdesk's control API (freshdesktest).
type fake struct{ base string }

type fakeStats struct {
	Tickets             int            `json:"tickets"`
	Notes               int            `json:"notes"`
	Requests            int            `json:"requests"`
	TicketPOSTs         int            `json:"ticket_posts"`
	ListRequests        int            `json:"list_requests"`
	Markers             int            `json:"markers"`
	Duplicates          int            `json:"duplicates"`
	Unmarked            int            `json:"unmarked"`
	References          int            `json:"references"`
	DuplicateReferences int            `json:"duplicate_references"`
	Injected            map[string]int `json:"injected"`
	LastTicketAt        *time.Time     `json:"last_ticket_at"`
	Latency             string         `json:"latency"`
}

type fakeTicket struct {
	ID        int64  `json:"id"`
	Marker    string `json:"marker"`
	Reference string `json:"reference"`
}

func (f fake) get(path string, v any) error {
	resp, err := probeClient.Get(f.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (f fake) stats() (fakeStats, error) {
	var s fakeStats
	return s, f.get("/_stats", &s)
}

func (f fake) tickets() ([]fakeTicket, error) {
	var t []fakeTicket
	return t, f.get("/_tickets", &t)
}

func (f fake) window(mode string, d, retryAfter time.Duration) error {
	q := url.Values{"mode": {mode}, "for": {d.String()}, "retry_after": {retryAfter.String()}}
	resp, err := probeClient.Post(f.base+"/_window?"+q.Encode(), "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /_window: %d", resp.StatusCode)
	}
	return nil
}

// deliveryCheck compares the outbox with what the fake holds: every row
// delivered, exactly one ticket per row (by reference), the ticket the row
// names being that one, and no ticket without a row.
type deliveryCheck struct {
	Rows, Delivered, Dead, NotDelivered int
	Tickets, Duplicates, Missing        int
	WrongID, Orphans                    int
}

func (d deliveryCheck) ok() bool {
	return d.Rows > 0 && d.Delivered == d.Rows && d.Dead == 0 && d.Duplicates == 0 && d.Missing == 0 &&
		d.WrongID == 0 && d.Orphans == 0 && d.Tickets == d.Rows
}

func (d deliveryCheck) String() string {
	return fmt.Sprintf("%d outbox rows: %d delivered, %d dead, %d not delivered; %d tickets in Freshdesk: "+
		"%d duplicates, %d rows without a ticket, %d rows naming another ticket, %d tickets without a row",
		d.Rows, d.Delivered, d.Dead, d.NotDelivered, d.Tickets, d.Duplicates, d.Missing, d.WrongID, d.Orphans)
}

func compareDelivery(rows []outboxRow, tickets []fakeTicket) deliveryCheck {
	d := deliveryCheck{Rows: len(rows), Tickets: len(tickets)}
	byRef := map[string][]int64{}
	for _, t := range tickets {
		byRef[t.Reference] = append(byRef[t.Reference], t.ID)
	}
	refs := map[string]bool{}
	for _, r := range rows {
		switch r.State {
		case "delivered":
			d.Delivered++
		case "dead":
			d.Dead++
		default:
			d.NotDelivered++
		}
		ref := r.reference()
		refs[ref] = true
		ids := byRef[ref]
		switch {
		case len(ids) == 0:
			d.Missing++
		case len(ids) > 1:
			d.Duplicates += len(ids) - 1
		}
		if len(ids) >= 1 && r.State == "delivered" && r.TicketID != ids[0] {
			d.WrongID++
		}
	}
	for ref, ids := range byRef {
		if !refs[ref] {
			d.Orphans += len(ids)
		}
	}
	return d
}

// fakeSetup describes the fake Freshdesk for the report.
func fakeSetup(o options) string {
	st, err := fake{o.fdURL}.stats()
	if err != nil || st.Latency == "" || st.Latency == "0s" {
		return "; the fake Freshdesk answers at once"
	}
	return "; the fake Freshdesk answers after " + st.Latency + " (a created ticket is stored first)"
}
