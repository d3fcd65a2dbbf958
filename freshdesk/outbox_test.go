package freshdesk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/cardstore/pgtest"
	"github.com/sctbnk/cardblock/freshdesk/freshdesktest"
)

// Both stores must do for the worker.
var (
	_ OutboxStore = (*cardstore.Memory)(nil)
	_ OutboxStore = (*cardstore.Postgres)(nil)
)

// testClock is the worker's and the store's clock; only the test moves it,
// so backoff decisions never depend on how fast the machine is.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// outboxTestStore is a store the tests can also queue tickets in.
type outboxTestStore interface {
	OutboxStore
	EnqueueTicket(ctx context.Context, t cardstore.TicketRequest, now time.Time) (cardstore.OutboxEntry, error)
}

type storeKind struct {
	name string
	open func(t *testing.T, now func() time.Time) outboxTestStore
}

func storeKinds() []storeKind {
	return []storeKind{
		{name: "memory", open: func(t *testing.T, now func() time.Time) outboxTestStore {
			return cardstore.NewMemory(cardstore.DemoBank{}, cardstore.WithClock(now))
		}},
		{name: "postgres", open: func(t *testing.T, now func() time.Time) outboxTestStore {
			return cardstore.NewPostgres(migratedPool(t, pgtest.New(t)), cardstore.WithClock(now))
		}},
	}
}

func migratedPool(t *testing.T, pool *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	if err := cardstore.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return pool
}

// forEachStore runs test against the memory store and PostgreSQL.
func forEachStore(t *testing.T, test func(t *testing.T, kind storeKind)) {
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) { test(t, kind) })
	}
}

type healthLog struct {
	mu    sync.Mutex
	calls []bool
}

func (h *healthLog) record(up bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, up)
}

// last is the latest report; ok is false when none was made.
func (h *healthLog) last() (up, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.calls) == 0 {
		return false, false
	}
	return h.calls[len(h.calls)-1], true
}

// outboxEnv is a worker on a real store, with the real client talking to
// the fake Freshdesk.
type outboxEnv struct {
	fake   *freshdesktest.Server // nil until started, for the connection-refused case
	client *Client
	store  outboxTestStore
	clock  *testClock
	reg    *prometheus.Registry
	worker *Worker
	logs   *syncBuffer
	health *healthLog
	cfg    WorkerConfig
}

type envSetup struct {
	baseURL    string // set: no fake is started, the client goes there
	clientEdit []func(*Config)
	workerEdit func(*WorkerConfig)
}

func newOutboxEnv(t *testing.T, kind storeKind, setup envSetup) *outboxEnv {
	t.Helper()
	env := &outboxEnv{health: &healthLog{}}
	base := setup.baseURL
	if base == "" {
		env.fake = newFakeFreshdesk(t, testKey)
		base = env.fake.URL
	}
	// The fake stamps tickets with the real time it started at; the store's
	// rows are stamped by the test clock, which starts no earlier.
	env.clock = &testClock{now: time.Now().UTC().Truncate(time.Second)}
	env.store = kind.open(t, env.clock.Now)
	ce := newTestClient(t, base, setup.clientEdit...)
	env.client, env.reg, env.logs = ce.client, ce.reg, ce.logs
	env.cfg = WorkerConfig{
		PollInterval: 10 * time.Millisecond,
		Batch:        10,
		Lease:        10 * time.Second,
		BaseBackoff:  2 * time.Second,
		MaxBackoff:   10 * time.Minute,
		AuthPause:    5 * time.Minute,
		Now:          env.clock.Now,
		Rand:         func() float64 { return 0.5 },
		Health:       env.health.record,
	}
	if setup.workerEdit != nil {
		setup.workerEdit(&env.cfg)
	}
	env.worker = NewWorker(env.store, env.client, env.cfg, NewOutboxMetrics(env.reg), zerolog.New(env.logs))
	return env
}

// newWorker is another replica (or the same one after a restart) on the
// same store: its own client and metrics, the same fake and clock.
func (env *outboxEnv) newWorker(t *testing.T) *Worker {
	t.Helper()
	ce := newTestClient(t, env.fake.URL)
	return NewWorker(env.store, ce.client, env.cfg, NewOutboxMetrics(ce.reg), zerolog.New(env.logs))
}

func (env *outboxEnv) enqueue(t *testing.T, req cardstore.TicketRequest) int64 {
	t.Helper()
	e, err := env.store.EnqueueTicket(t.Context(), req, env.clock.Now())
	if err != nil {
		t.Fatalf("EnqueueTicket: %v", err)
	}
	return e.ID
}

// poll runs one claim-and-deliver cycle of the worker, as Run does.
func (env *outboxEnv) poll(t *testing.T) {
	t.Helper()
	env.worker.poll(t.Context())
}

func (env *outboxEnv) row(t *testing.T, id int64) cardstore.OutboxEntry {
	t.Helper()
	e, err := env.store.OutboxByID(t.Context(), id)
	if err != nil {
		t.Fatalf("OutboxByID(%d): %v", id, err)
	}
	return e
}

func (env *outboxEnv) deliveries(t *testing.T, result string) float64 {
	t.Helper()
	return metricValue(t, env.reg, "ticket_outbox_deliveries_total", map[string]string{"result": result})
}

func (env *outboxEnv) posts() int {
	if env.fake == nil {
		return 0
	}
	return env.fake.Count(http.MethodPost, "/api/v2/tickets")
}

func wantState(t *testing.T, e cardstore.OutboxEntry, state string) {
	t.Helper()
	if e.State != state {
		t.Fatalf("row %d is %s (last error %q), want %s", e.ID, e.State, e.LastError, state)
	}
}

// checkOneTicketEach asserts that Freshdesk holds exactly one ticket per
// delivered row, that the row names it, that no ticket is a duplicate, and
// that every POST for a row sent the same single JSON object.
func checkOneTicketEach(t *testing.T, env *outboxEnv, ids ...int64) {
	t.Helper()
	byMarker := env.fake.TicketsByMarker()
	creates := env.fake.CreatesByMarker()
	stored := map[int64]string{}
	for _, tk := range env.fake.Tickets() {
		stored[tk.ID] = markerTag(tk.Tags)
	}
	for _, id := range ids {
		e := env.row(t, id)
		m := marker(e.IdempotencyKey)
		if n := byMarker[m]; n != 1 {
			t.Errorf("row %d: %d tickets in Freshdesk, want exactly 1", id, n)
		}
		wantState(t, e, cardstore.OutboxDelivered)
		if stored[e.FreshdeskTicketID] != m {
			t.Errorf("row %d names ticket %d, which is not its ticket", id, e.FreshdeskTicketID)
		}
		bodies := creates[m]
		for i, b := range bodies {
			if !bytes.Equal(b, bodies[0]) {
				t.Errorf("row %d: POST %d body differs from the first:\n%s\n%s", id, i+1, b, bodies[0])
			}
		}
	}
	for m, n := range byMarker {
		if n > 1 {
			t.Errorf("marker %s: %d tickets (duplicates)", m, n)
		}
	}
	if bad := env.fake.InvalidBodies(); len(bad) != 0 {
		t.Errorf("bodies that were not exactly one JSON object: %q", bad)
	}
}

// checkNoPersonalData asserts that logs and last errors hold no secret and
// nothing that identifies the caller or the card.
func checkNoPersonalData(t *testing.T, env *outboxEnv, ids ...int64) {
	t.Helper()
	req := stolenCardRequest()
	logs := env.logs.String()
	assertNoKey(t, "logs", logs)
	for _, id := range ids {
		e := env.row(t, id)
		assertNoKey(t, "last_error", e.LastError)
		for _, s := range []string{req.Phone, req.Email, req.CustomerName, req.CardLast4} {
			if strings.Contains(e.LastError, s) {
				t.Errorf("last_error of row %d contains %q: %s", id, s, e.LastError)
			}
		}
	}
	for _, s := range []string{req.Phone, req.Email, req.CustomerName, "****" + req.CardLast4} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q", s)
		}
	}
}

// blockRequest is the n-th block of a test: its own reference, key,
// conversation and requester (a phone-only customer, found by external id).
func blockRequest(n int) cardstore.TicketRequest {
	r := stolenCardRequest()
	r.BlockReference = fmt.Sprintf("BLK-T%05d", n)
	r.IdempotencyKey = "block:" + r.BlockReference
	r.ConversationKey = fmt.Sprintf("CA%032d", n)
	r.CallID = r.ConversationKey
	return r
}

func followUpRequest(block cardstore.TicketRequest) cardstore.TicketRequest {
	r := block
	r.Kind = cardstore.TicketFollowUp
	r.ConversationKey = block.ConversationKey + "-2"
	r.CallID = r.ConversationKey
	r.IdempotencyKey = "followup:" + r.ConversationKey + ":" + block.BlockReference
	r.RequestedAt = block.RequestedAt.Add(time.Hour)
	return r
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second): // a guard against hanging, not a timing assertion
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// freePort returns an address on which nothing listens: connecting to it is
// refused until something does.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestWorkerFailureModes(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) envSetup
		run   func(t *testing.T, env *outboxEnv, id int64)
		// wantTicket is false when no ticket may exist at the end.
		noTicket bool
	}{
		{
			name: "429 with Retry-After, then success",
			run: func(t *testing.T, env *outboxEnv, id int64) {
				env.fake.ScriptCreates(freshdesktest.ModeRateLimited)
				start := env.clock.Now()
				env.poll(t)
				e := env.row(t, id)
				wantState(t, e, cardstore.OutboxPending)
				if e.NextAttemptAt.Before(start.Add(34 * time.Second)) {
					t.Fatalf("next attempt at %s, before Retry-After (34s after %s)", e.NextAttemptAt, start)
				}
				if !strings.Contains(e.LastError, "429") {
					t.Errorf("last_error = %q, want the 429", e.LastError)
				}

				env.clock.Advance(33 * time.Second)
				env.poll(t)
				if _, err := env.worker.DeliverNow(t.Context(), id); !errors.Is(err, ErrQueued) {
					t.Errorf("DeliverNow during Retry-After: %v, want ErrQueued", err)
				}
				if n := env.posts(); n != 1 {
					t.Fatalf("POSTs before Retry-After passed = %d, want 1", n)
				}

				env.clock.Advance(time.Second)
				env.poll(t)
				if n := env.posts(); n != 2 {
					t.Errorf("POSTs = %d, want 2", n)
				}
				if env.deliveries(t, resultRetry) != 1 || env.deliveries(t, resultDelivered) != 1 {
					t.Errorf("deliveries retry/delivered = %v/%v, want 1/1",
						env.deliveries(t, resultRetry), env.deliveries(t, resultDelivered))
				}
			},
		},
		{
			name: "500 after the ticket was created",
			run: func(t *testing.T, env *outboxEnv, id int64) {
				env.fake.ScriptCreates(freshdesktest.ModeFail500)
				env.poll(t)
				e := env.row(t, id)
				wantState(t, e, cardstore.OutboxUncertain)
				if e.LastError != "create_ticket HTTP 500 (server) internal_error" {
					t.Errorf("last_error = %q", e.LastError)
				}
				env.clock.Advance(2 * time.Second)
				env.poll(t)
				checkReconciled(t, env)
			},
		},
		{
			name: "response slower than the client deadline, after the ticket was created",
			setup: func(t *testing.T) envSetup {
				return envSetup{clientEdit: []func(*Config){func(c *Config) { c.Timeout = 300 * time.Millisecond }}}
			},
			run: func(t *testing.T, env *outboxEnv, id int64) {
				env.fake.ScriptCreates(freshdesktest.ModeSlow)
				env.poll(t)
				wantState(t, env.row(t, id), cardstore.OutboxUncertain)
				env.clock.Advance(2 * time.Second)
				env.poll(t)
				checkReconciled(t, env)
			},
		},
		{
			name: "reconciliation's list call fails: the row waits, nothing is posted",
			run: func(t *testing.T, env *outboxEnv, id int64) {
				env.fake.ScriptCreates(freshdesktest.ModeFail500)
				env.poll(t)
				for _, step := range []struct{ mode, lastError string }{
					{freshdesktest.ModeProxy502, "list_tickets HTTP 502 (server)"},
					{freshdesktest.ModeRateLimited, "list_tickets HTTP 429 (rate_limited), retry after 34s"},
				} {
					env.fake.SetMode(step.mode)
					env.clock.Advance(time.Minute)
					env.poll(t)
					e := env.row(t, id)
					wantState(t, e, cardstore.OutboxUncertain)
					if e.LastError != step.lastError {
						t.Errorf("last_error = %q, want %q", e.LastError, step.lastError)
					}
					if n := env.posts(); n != 1 {
						t.Fatalf("POSTs = %d after a failed reconciliation, want 1", n)
					}
				}
				env.fake.SetMode(freshdesktest.ModeNormal)
				env.clock.Advance(time.Minute)
				env.poll(t)
				if env.deliveries(t, resultReconciled) != 1 {
					t.Errorf("deliveries{reconciled} = %v, want 1", env.deliveries(t, resultReconciled))
				}
			},
		},
		{
			name: "connection dropped after the ticket was created",
			run: func(t *testing.T, env *outboxEnv, id int64) {
				env.fake.ScriptCreates(freshdesktest.ModeReset)
				env.poll(t)
				wantState(t, env.row(t, id), cardstore.OutboxUncertain)
				env.clock.Advance(2 * time.Second)
				env.poll(t)
				checkReconciled(t, env)
			},
		},
		{
			name: "connection refused, then recovery",
			setup: func(t *testing.T) envSetup {
				return envSetup{baseURL: "http://" + freePort(t)}
			},
			run: func(t *testing.T, env *outboxEnv, id int64) {
				env.poll(t)
				e := env.row(t, id)
				wantState(t, e, cardstore.OutboxPending)
				if e.LastError != "create_ticket (network)" {
					t.Errorf("last_error = %q", e.LastError)
				}
				if up, ok := env.health.last(); !ok || up {
					t.Errorf("health = %v (reported %v), want down", up, ok)
				}

				ln, err := net.Listen("tcp", strings.TrimPrefix(env.client.rest.BaseURL, "http://"))
				if err != nil {
					t.Fatalf("listen again on the refused address: %v", err)
				}
				env.fake = newFakeFreshdeskOn(t, testKey, ln)
				env.clock.Advance(2 * time.Second)
				env.poll(t)
				if up, _ := env.health.last(); !up {
					t.Errorf("health still down after a delivery")
				}
				if n := env.posts(); n != 1 {
					t.Errorf("POSTs = %d, want 1", n)
				}
			},
		},
		{
			name: "400 validation: dead letter",
			setup: func(t *testing.T) envSetup {
				return envSetup{clientEdit: []func(*Config){func(c *Config) { c.ReferenceField = "cf_not_in_portal" }}}
			},
			noTicket: true,
			run: func(t *testing.T, env *outboxEnv, id int64) {
				env.poll(t)
				e := env.row(t, id)
				wantState(t, e, cardstore.OutboxDead)
				if e.LastError != "create_ticket HTTP 400 (client) invalid_field [cf_not_in_portal invalid_field]" {
					t.Errorf("last_error = %q", e.LastError)
				}
				if v := metricValue(t, env.reg, "ticket_outbox_dead_total", nil); v != 1 {
					t.Errorf("ticket_outbox_dead_total = %v, want 1", v)
				}
				if env.deliveries(t, resultDead) != 1 {
					t.Errorf("deliveries{dead} = %v, want 1", env.deliveries(t, resultDead))
				}
				logs := env.logs.String()
				if !strings.Contains(logs, `"code":"invalid_field"`) || !strings.Contains(logs, "cf_not_in_portal") {
					t.Errorf("the dead letter's log line lacks Freshdesk's code and field: %s", logs)
				}
				if strings.Contains(logs, "Unexpected/invalid field") {
					t.Errorf("logs carry Freshdesk's message, which can quote the request")
				}
				// Dead is final: no further attempt without an operator.
				env.clock.Advance(time.Hour)
				env.poll(t)
				if n := env.posts(); n != 1 {
					t.Errorf("POSTs = %d, want 1", n)
				}
			},
		},
		{
			name: "flat 403: paused, not dead",
			run: func(t *testing.T, env *outboxEnv, id int64) {
				second := env.enqueue(t, blockRequest(2))
				env.fake.SetMode(freshdesktest.ModeForbidden)
				start := env.clock.Now()
				env.poll(t)
				e := env.row(t, id)
				wantState(t, e, cardstore.OutboxPending)
				if e.NextAttemptAt.Before(start.Add(5 * time.Minute)) {
					t.Errorf("next attempt at %s, want the 5m pause", e.NextAttemptAt)
				}
				if !strings.HasPrefix(e.LastError, "paused: create_ticket HTTP 403 (auth) access_denied") {
					t.Errorf("last_error = %q", e.LastError)
				}
				if env.deliveries(t, resultPaused) < 1 || env.deliveries(t, resultDead) != 0 {
					t.Errorf("deliveries paused/dead = %v/%v", env.deliveries(t, resultPaused), env.deliveries(t, resultDead))
				}
				if v := metricValue(t, env.reg, "freshdesk_api_failures_total", map[string]string{"reason": "auth"}); v < 1 {
					t.Errorf(`freshdesk_api_failures_total{reason="auth"} = %v`, v)
				}
				if v := metricValue(t, env.reg, "ticket_outbox_dead_total", nil); v != 0 {
					t.Errorf("ticket_outbox_dead_total = %v, want 0", v)
				}
				if up, ok := env.health.last(); !ok || up {
					t.Errorf("health = %v (reported %v), want down", up, ok)
				}

				// While paused nothing is sent, by the worker or by DeliverNow.
				before := len(env.fake.Requests())
				env.clock.Advance(time.Minute)
				env.poll(t)
				if _, err := env.worker.DeliverNow(t.Context(), second); !errors.Is(err, ErrQueued) {
					t.Errorf("DeliverNow while paused: %v, want ErrQueued", err)
				}
				if n := len(env.fake.Requests()); n != before {
					t.Errorf("%d requests while paused", n-before)
				}

				env.fake.SetMode(freshdesktest.ModeNormal) // the key was fixed
				env.clock.Advance(4 * time.Minute)
				env.poll(t) // one row probes
				env.poll(t) // then the rest
				checkOneTicketEach(t, env, second)
				if up, _ := env.health.last(); !up {
					t.Errorf("health still down after a delivery")
				}
			},
		},
		{
			name: "follow-up: a note on the block's ticket",
			run: func(t *testing.T, env *outboxEnv, id int64) {
				env.poll(t)
				block := env.row(t, id)
				wantState(t, block, cardstore.OutboxDelivered)

				fu := env.enqueue(t, followUpRequest(blockRequest(1)))
				env.poll(t)
				e := env.row(t, fu)
				wantState(t, e, cardstore.OutboxDelivered)
				notes := env.fake.Notes()
				if len(notes) != 1 || notes[0].TicketID != block.FreshdeskTicketID || !notes[0].Private {
					t.Fatalf("notes = %+v, want one private note on ticket %d", notes, block.FreshdeskTicketID)
				}
				if e.FreshdeskTicketID != block.FreshdeskTicketID {
					t.Errorf("follow-up row names ticket %d, want %d", e.FreshdeskTicketID, block.FreshdeskTicketID)
				}
				if n := len(env.fake.Tickets()); n != 1 {
					t.Errorf("tickets = %d, want 1", n)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, kind storeKind) {
				var setup envSetup
				if tt.setup != nil {
					setup = tt.setup(t)
				}
				env := newOutboxEnv(t, kind, setup)
				id := env.enqueue(t, blockRequest(1))
				tt.run(t, env, id)
				if tt.noTicket {
					if n := len(env.fake.Tickets()); n != 0 {
						t.Errorf("tickets = %d, want 0", n)
					}
				} else {
					checkOneTicketEach(t, env, id)
				}
				checkNoPersonalData(t, env, id)
			})
		})
	}
}

// checkReconciled asserts that the ambiguous POST's ticket was found through
// the list endpoint, with updated_since, and not posted again.
func checkReconciled(t *testing.T, env *outboxEnv) {
	t.Helper()
	if n := env.posts(); n != 1 {
		t.Errorf("POSTs = %d, want 1 (no retry after an ambiguous answer)", n)
	}
	if env.deliveries(t, resultReconciled) != 1 || env.deliveries(t, resultUncertain) != 1 {
		t.Errorf("deliveries reconciled/uncertain = %v/%v, want 1/1",
			env.deliveries(t, resultReconciled), env.deliveries(t, resultUncertain))
	}
	lists := 0
	for _, r := range env.fake.Requests() {
		if r.Method == http.MethodGet && r.Path == "/api/v2/tickets" {
			lists++
			if r.Query.Get("updated_since") == "" {
				t.Errorf("list call without updated_since: %v", r.Query)
			}
		}
	}
	if lists == 0 {
		t.Errorf("no list call: the row was not reconciled")
	}
}

func TestFollowUpFallbacks(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		t.Run("waits while the block's ticket is queued", func(t *testing.T) {
			env := newOutboxEnv(t, kind, envSetup{})
			blockReq := blockRequest(1)
			block := env.enqueue(t, blockReq)
			fu := env.enqueue(t, followUpRequest(blockReq))
			env.fake.ScriptCreates(freshdesktest.ModeRateLimited)
			env.poll(t)
			wantState(t, env.row(t, fu), cardstore.OutboxPending)
			if n := len(env.fake.Notes()); n != 0 {
				t.Fatalf("notes = %d before the block's ticket exists", n)
			}
			for i := 0; i < 10 && env.row(t, fu).State != cardstore.OutboxDelivered; i++ {
				env.clock.Advance(40 * time.Second)
				env.poll(t)
			}
			checkOneTicketEach(t, env, block)
			notes := env.fake.Notes()
			if len(notes) != 1 || notes[0].TicketID != env.row(t, block).FreshdeskTicketID {
				t.Errorf("notes = %+v, want one on the block's ticket", notes)
			}
			if n := len(env.fake.Tickets()); n != 1 {
				t.Errorf("tickets = %d, want 1", n)
			}
		})

		t.Run("block dead: a ticket of its own, an ambiguous POST reconciled", func(t *testing.T) {
			env := newOutboxEnv(t, kind, envSetup{})
			blockReq := blockRequest(1)
			block := env.enqueue(t, blockReq)
			if _, err := env.store.ClaimByID(t.Context(), block, env.clock.Now(), time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := env.store.MarkDead(t.Context(), block, "create_ticket HTTP 400 (client)", env.clock.Now()); err != nil {
				t.Fatal(err)
			}
			fu := env.enqueue(t, followUpRequest(blockReq))
			env.fake.ScriptCreates(freshdesktest.ModeFail500)
			env.poll(t)
			wantState(t, env.row(t, fu), cardstore.OutboxUncertain)
			env.clock.Advance(time.Minute)
			env.poll(t)
			checkOneTicketEach(t, env, fu)
			if n := len(env.fake.Notes()); n != 0 {
				t.Errorf("notes = %d: the follow-up's own ticket got a note", n)
			}
			tk := env.fake.Tickets()[0]
			if !strings.HasPrefix(tk.Subject, "Seguimiento de la incidencia") {
				t.Errorf("subject = %q, want a follow-up ticket", tk.Subject)
			}
		})

		t.Run("block outside the outbox: a note on the ticket found by reference", func(t *testing.T) {
			env := newOutboxEnv(t, kind, envSetup{})
			blockReq := blockRequest(1)
			ext := BuildTicket(blockReq, env.client.BuildOptions()).UniqueExternalID
			env.fake.Seed(freshdesktest.Ticket{
				ExtID: ext, Email: blockReq.Email, Subject: "Bloqueo de tarjeta (atendido por un agente)",
				CustomFields: map[string]string{"cf_block_reference": blockReq.BlockReference},
				CreatedAt:    env.fake.Now().Add(-48 * time.Hour), UpdatedAt: env.fake.Now().Add(-47 * time.Hour),
			})
			seeded := env.fake.Tickets()[0].ID
			fu := env.enqueue(t, followUpRequest(blockReq))
			env.poll(t)
			e := env.row(t, fu)
			wantState(t, e, cardstore.OutboxDelivered)
			notes := env.fake.Notes()
			if len(notes) != 1 || notes[0].TicketID != seeded || e.FreshdeskTicketID != seeded {
				t.Errorf("notes = %+v, row names %d, want one note on %d", notes, e.FreshdeskTicketID, seeded)
			}
			if n := env.posts(); n != 0 {
				t.Errorf("POSTs = %d, want 0", n)
			}
		})
	})
}

func TestWorkerKilledMidDelivery(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		env := newOutboxEnv(t, kind, envSetup{})
		id := env.enqueue(t, blockRequest(1))
		hold := env.fake.HoldNextCreate(t)

		ctx, cancel := context.WithCancel(t.Context())
		stopped := make(chan error, 1)
		go func() { stopped <- env.worker.Run(ctx) }()
		recv(t, hold.Arrived, "the POST to reach Freshdesk")

		// Were the process killed now, the row would already say "uncertain".
		e := env.row(t, id)
		if e.State != cardstore.OutboxUncertain || e.LastError != inFlight {
			t.Errorf("row during the POST: %s %q, want uncertain %q", e.State, e.LastError, inFlight)
		}
		cancel()
		if err := recv(t, stopped, "Run to return"); err != nil {
			t.Errorf("Run = %v, want nil after cancellation", err)
		}
		wantState(t, env.row(t, id), cardstore.OutboxUncertain)

		// Freshdesk finishes the request nobody is waiting for any more.
		hold.Release()
		created := recv(t, hold.Stored, "the held ticket to be stored")

		restarted := env.newWorker(t)
		env.clock.Advance(time.Hour)
		restarted.poll(t.Context())
		if got := env.row(t, id).FreshdeskTicketID; got != created {
			t.Errorf("row names ticket %d, want %d (the one the killed worker created)", got, created)
		}
		if n := env.posts(); n != 1 {
			t.Errorf("POSTs = %d, want 1", n)
		}
		checkOneTicketEach(t, env, id)
	})
}

func TestDeliverNow(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		t.Run("delivers within the deadline", func(t *testing.T) {
			env := newOutboxEnv(t, kind, envSetup{})
			id := env.enqueue(t, blockRequest(1))
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			got, err := env.worker.DeliverNow(ctx, id)
			if err != nil {
				t.Fatalf("DeliverNow: %v", err)
			}
			if got != env.fake.Tickets()[0].ID {
				t.Errorf("DeliverNow = %d, want %d", got, env.fake.Tickets()[0].ID)
			}
			// Again (Rasa replays actions): the same id, nothing sent.
			again, err := env.worker.DeliverNow(ctx, id)
			if err != nil || again != got {
				t.Errorf("second DeliverNow = %d, %v; want %d", again, err, got)
			}
			checkOneTicketEach(t, env, id)
			if n := env.posts(); n != 1 {
				t.Errorf("POSTs = %d, want 1", n)
			}
		})

		t.Run("slow Freshdesk: queued, then reconciled by the worker", func(t *testing.T) {
			env := newOutboxEnv(t, kind, envSetup{})
			id := env.enqueue(t, blockRequest(1))
			hold := env.fake.HoldNextCreate(t)
			const deadline = 300 * time.Millisecond
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			start := time.Now()
			_, err := env.worker.DeliverNow(ctx, id)
			elapsed := time.Since(start)
			if !errors.Is(err, ErrQueued) {
				t.Fatalf("DeliverNow = %v, want ErrQueued", err)
			}
			if elapsed > deadline+time.Second { // Freshdesk holds it for as long as the test wants
				t.Errorf("DeliverNow took %s with a %s deadline", elapsed, deadline)
			}
			wantState(t, env.row(t, id), cardstore.OutboxUncertain)

			env.poll(t) // not due yet: the request may still be processed
			hold.Release()
			created := recv(t, hold.Stored, "the held ticket to be stored")
			env.clock.Advance(time.Minute)
			env.poll(t)
			if got := env.row(t, id).FreshdeskTicketID; got != created {
				t.Errorf("row names ticket %d, want %d", got, created)
			}
			checkOneTicketEach(t, env, id)
			if n := env.posts(); n != 1 {
				t.Errorf("POSTs = %d, want 1", n)
			}
		})

		t.Run("row in flight at another worker", func(t *testing.T) {
			env := newOutboxEnv(t, kind, envSetup{})
			id := env.enqueue(t, blockRequest(1))
			hold := env.fake.HoldNextCreate(t)
			polled := make(chan struct{})
			go func() {
				defer close(polled)
				env.worker.poll(context.WithoutCancel(t.Context()))
			}()
			recv(t, hold.Arrived, "the worker's POST")

			type result struct {
				id  int64
				err error
			}
			done := make(chan result, 1)
			other := env.newWorker(t)
			go func() {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				got, err := other.DeliverNow(ctx, id)
				done <- result{got, err}
			}()
			hold.Release()
			created := recv(t, hold.Stored, "the held ticket to be stored")
			r := recv(t, done, "DeliverNow")
			if r.err != nil || r.id != created {
				t.Errorf("DeliverNow = %d, %v; want %d", r.id, r.err, created)
			}
			recv(t, polled, "the worker's poll")
			checkOneTicketEach(t, env, id)
		})

		t.Run("unknown row", func(t *testing.T) {
			env := newOutboxEnv(t, kind, envSetup{})
			if _, err := env.worker.DeliverNow(t.Context(), 999); !errors.Is(err, cardstore.ErrNotFound) {
				t.Errorf("DeliverNow(999) = %v, want ErrNotFound", err)
			}
		})
	})
}

func TestOutboxMetrics(t *testing.T) {
	env := newOutboxEnv(t, storeKinds()[0], envSetup{})
	for _, r := range allResults() {
		if v := env.deliveries(t, r); v != 0 {
			t.Errorf("deliveries{%s} = %v before any delivery, want a pre-created 0", r, v)
		}
	}
	if n := len(findMetrics(t, env.reg, "ticket_outbox_deliveries_total")); n != len(allResults()) {
		t.Errorf("deliveries_total has %d series, want %d", n, len(allResults()))
	}
	ids := []int64{env.enqueue(t, blockRequest(1)), env.enqueue(t, blockRequest(2)), env.enqueue(t, blockRequest(3))}
	env.clock.Advance(90 * time.Second)
	env.fake.SetMode(freshdesktest.ModeForbidden)
	env.poll(t)
	if v := gaugeValue(t, env.reg, "ticket_outbox_pending"); v != 3 {
		t.Errorf("ticket_outbox_pending = %v, want 3", v)
	}
	if v := gaugeValue(t, env.reg, "ticket_outbox_oldest_pending_age_seconds"); v != 90 {
		t.Errorf("ticket_outbox_oldest_pending_age_seconds = %v, want 90", v)
	}
	env.fake.SetMode(freshdesktest.ModeNormal)
	env.clock.Advance(5 * time.Minute)
	env.poll(t)
	env.poll(t)
	checkOneTicketEach(t, env, ids...)
	if v := gaugeValue(t, env.reg, "ticket_outbox_pending"); v != 0 {
		t.Errorf("ticket_outbox_pending = %v after delivery, want 0", v)
	}
	if v := gaugeValue(t, env.reg, "ticket_outbox_oldest_pending_age_seconds"); v != 0 {
		t.Errorf("ticket_outbox_oldest_pending_age_seconds = %v after delivery, want 0", v)
	}
	if v := env.deliveries(t, resultDelivered); v != 3 {
		t.Errorf("deliveries{delivered} = %v, want 3", v)
	}
	h := findMetrics(t, env.reg, "ticket_outbox_delivery_duration_seconds")
	if len(h) != 1 || h[0].GetHistogram().GetSampleCount() != 6 { // three paused, three delivered
		t.Errorf("delivery duration samples = %v, want 6", h)
	}
	for _, mf := range []string{"ticket_outbox_pending", "ticket_outbox_deliveries_total", "ticket_outbox_dead_total"} {
		for _, m := range findMetrics(t, env.reg, mf) {
			for _, l := range m.GetLabel() {
				if l.GetName() != "result" {
					t.Errorf("%s has label %s", mf, l.GetName())
				}
			}
		}
	}
}

func TestBackoff(t *testing.T) {
	w := NewWorker(cardstore.NewMemory(cardstore.DemoBank{}), newTestClient(t, "https://sctbnk.freshdesk.com").client,
		WorkerConfig{BaseBackoff: 2 * time.Second, MaxBackoff: 10 * time.Minute, Rand: func() float64 { return 0 }},
		nil, zerolog.Nop())
	tests := []struct {
		attempts int
		want     time.Duration // with Rand 0: half the exponential step
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {9, 256 * time.Second},
		{10, 5 * time.Minute}, {1000, 5 * time.Minute},
	}
	for _, tt := range tests {
		if got := w.backoff(tt.attempts); got != tt.want {
			t.Errorf("backoff(%d) = %s, want %s", tt.attempts, got, tt.want)
		}
	}
	w.cfg.Rand = func() float64 { return 0.999999 }
	if got := w.backoff(1000); got > 10*time.Minute || got < 9*time.Minute {
		t.Errorf("backoff(1000) with maximal jitter = %s, want just under 10m", got)
	}
	if w.cfg.Lease < 2*w.client.timeout {
		t.Errorf("Lease %s is shorter than twice the client timeout %s", w.cfg.Lease, w.client.timeout)
	}
}

// TestConcurrentWorkers runs three replicas, each with its own pool and
// client, on one database while Freshdesk fails some creates ambiguously.
func TestConcurrentWorkers(t *testing.T) {
	url := pgtest.URL(t)
	newPool := func() *pgxpool.Pool {
		pool, err := pgxpool.New(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
	queue := cardstore.NewPostgres(migratedPool(t, newPool()))
	fake := newFakeFreshdesk(t, testKey)
	// Ambiguous failures make some rows go through reconciliation, possibly
	// at another worker than the one that posted.
	fake.ScriptCreates(freshdesktest.ModeNormal, freshdesktest.ModeFail500, freshdesktest.ModeNormal, freshdesktest.ModeReset, freshdesktest.ModeFail500, freshdesktest.ModeNormal, freshdesktest.ModeSlow, freshdesktest.ModeFail500)

	const n = 100
	ids := make([]int64, 0, n)
	for i := range n {
		req := blockRequest(i + 1)
		req.CustomerID = int64(i + 1) // a requester each, as in real life
		e, err := queue.EnqueueTicket(t.Context(), req, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	delivered := make([]*prometheus.Registry, 3)
	for i := range 3 {
		ce := newTestClient(t, fake.URL, func(c *Config) { c.Timeout = 500 * time.Millisecond })
		delivered[i] = ce.reg
		w := NewWorker(cardstore.NewPostgres(newPool()), ce.client, WorkerConfig{
			PollInterval: 5 * time.Millisecond, Batch: 10, Lease: 5 * time.Second,
			BaseBackoff: 20 * time.Millisecond, ReconcileDelay: 50 * time.Millisecond,
		}, NewOutboxMetrics(ce.reg), zerolog.Nop())
		wg.Go(func() {
			if err := w.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second) // a guard, not a timing assertion
	for {
		s, err := queue.OutboxStats(t.Context(), time.Now())
		if err == nil && s.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			wg.Wait()
			t.Fatalf("outbox not drained: %+v, %v", s, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()

	byMarker := fake.TicketsByMarker()
	creates := fake.CreatesByMarker()
	for _, id := range ids {
		e, err := queue.OutboxByID(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		m := marker(e.IdempotencyKey)
		if e.State != cardstore.OutboxDelivered || byMarker[m] != 1 || len(creates[m]) != 1 {
			t.Errorf("row %d: %s, %d tickets, %d POSTs; want delivered, 1, 1", id, e.State, byMarker[m], len(creates[m]))
		}
	}
	if got := len(fake.Tickets()); got != n {
		t.Errorf("tickets = %d, want %d", got, n)
	}
	var shares []float64
	for _, reg := range delivered {
		shares = append(shares, metricValue(t, reg, "ticket_outbox_deliveries_total", map[string]string{"result": resultDelivered})+
			metricValue(t, reg, "ticket_outbox_deliveries_total", map[string]string{"result": resultReconciled}))
	}
	t.Logf("deliveries per worker: %v", shares)
}
