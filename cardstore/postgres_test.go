package cardstore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/cardstore/pgtest"
)

// newPostgres returns a store on a fresh, migrated database holding testBank,
// and the pool behind it for the tests that look at rows directly.
func newPostgres(t *testing.T) (*cardstore.Postgres, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.New(t)
	if err := cardstore.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	p := cardstore.NewPostgres(pool)
	if err := p.Seed(t.Context(), testBank(t)); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return p, pool
}

func TestPostgresContract(t *testing.T) {
	runContract(t, func(t *testing.T) Store { p, _ := newPostgres(t); return p })
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestMigrateConcurrentReplicas(t *testing.T) {
	pool := pgtest.New(t)
	errs := make([]error, 6)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = cardstore.Migrate(t.Context(), pool) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	applied := count(t, pool, "SELECT count(*) FROM schema_migrations")
	if err := cardstore.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if again := count(t, pool, "SELECT count(*) FROM schema_migrations"); applied == 0 || again != applied {
		t.Errorf("schema_migrations has %d rows, then %d", applied, again)
	}
}

func TestSeedIsIdempotent(t *testing.T) {
	p, pool := newPostgres(t)
	if err := p.Seed(t.Context(), testBank(t)); err != nil {
		t.Fatalf("second seed: %v", err)
	}
	tests := []struct {
		table string
		want  int
	}{{"customers", 5}, {"cards", 8}, {"card_blocks", 1}, {"ticket_outbox", 0}}
	for _, tt := range tests {
		if n := count(t, pool, "SELECT count(*) FROM "+tt.table); n != tt.want {
			t.Errorf("%s: %d rows, want %d", tt.table, n, tt.want)
		}
	}

	// A new customer with a phone already taken: a conflict whose message
	// quotes neither the phone nor PostgreSQL's detail.
	bank := cardstore.DemoBank{Customers: []cardstore.Customer{{ID: 1, Ref: "other", FullName: "Otra Persona", PhoneE164: phoneLucia}}}
	err := p.Seed(t.Context(), bank)
	if !errors.Is(err, cardstore.ErrConflict) {
		t.Fatalf("duplicate phone: %v, want ErrConflict", err)
	}
	if strings.Contains(err.Error(), "600111222") {
		t.Errorf("error quotes the phone: %v", err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		t.Errorf("a pgconn error leaks out of the store: %v", err)
	}
}

// Rows written by other tools (or older code) may leave every nullable
// column NULL; the store must still read them.
func TestNullableColumnsLoad(t *testing.T) {
	p, pool := newPostgres(t)
	ctx := t.Context()
	var customerID, cardID, outboxID int64
	err := pool.QueryRow(ctx, `INSERT INTO customers (full_name, phone_e164) VALUES ('Sin Datos', '+34644555666') RETURNING id`).Scan(&customerID)
	if err == nil {
		err = pool.QueryRow(ctx, `INSERT INTO cards (customer_id, last4, brand, kind) VALUES ($1, '3141', 'Visa', 'credit') RETURNING id`, customerID).Scan(&cardID)
	}
	if err == nil {
		err = pool.QueryRow(ctx, `INSERT INTO ticket_outbox (idempotency_key, conversation_key, kind, payload, next_attempt_at, created_at, updated_at)
			VALUES ('handoff:null', 'CA-null', 'handoff', '{}', now(), now(), now()) RETURNING id`).Scan(&outboxID)
	}
	if err == nil {
		_, err = pool.Exec(ctx, `INSERT INTO verification_failures (conversation_key, at) VALUES ('CA-null', now())`)
	}
	if err != nil {
		t.Fatalf("insert rows with NULLs: %v", err)
	}

	t.Run("customer without ref, email or national id", func(t *testing.T) {
		c, err := p.CustomerByPhone(ctx, "+34644555666")
		if err != nil || c.ID != customerID || c.Email != "" || c.NationalID != "" || c.Ref != "" {
			t.Errorf("got %+v, %v", c, err)
		}
	})
	t.Run("card never blocked", func(t *testing.T) {
		cards, err := p.CardsEndingIn(ctx, customerID, "3141")
		if err != nil || len(cards) != 1 || cards[0].Status != cardstore.StatusActive || !cards[0].BlockedAt.IsZero() || cards[0].BlockReference != "" {
			t.Errorf("got %+v, %v", cards, err)
		}
	})
	t.Run("outbox row never attempted", func(t *testing.T) {
		e, err := p.OutboxByID(ctx, outboxID)
		if err != nil || e.FreshdeskTicketID != 0 || e.LastError != "" || e.Attempts != 0 || e.State != cardstore.OutboxPending {
			t.Errorf("got %+v, %v", e, err)
		}
	})
	t.Run("failure of an unknown caller", func(t *testing.T) {
		fc, err := p.FailureCounts(ctx, "CA-null", 0, time.Time{})
		if err != nil || fc != (cardstore.FailureCounts{Conversation: 1}) {
			t.Errorf("got %+v, %v", fc, err)
		}
	})
	t.Run("block without call id", func(t *testing.T) {
		c, _ := p.CustomerByPhone(ctx, phoneLucia)
		cards, _ := p.CardsEndingIn(ctx, c.ID, "4567")
		req := blockRequest("CA-nocall", c, cards[0])
		req.CallID = ""
		res, err := p.BlockCard(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, pool, "SELECT count(*) FROM card_blocks WHERE call_id IS NULL AND block_reference = $1", res.Block.Reference); n != 1 {
			t.Errorf("empty call id stored as %d NULL rows", n)
		}
		b, err := p.BlockByReference(ctx, res.Block.Reference)
		if err != nil || b.CallID != "" {
			t.Errorf("got %+v, %v", b, err)
		}
	})
}

// The schema refuses bad rows by itself, whatever code writes them.
func TestSchemaConstraints(t *testing.T) {
	_, pool := newPostgres(t)
	ctx := t.Context()
	lucia := `(SELECT id FROM customers WHERE phone_e164 = '+34600111222')`
	luciasCard := `(SELECT id FROM cards WHERE last4 = '4567')`
	jordisCard := `(SELECT id FROM cards WHERE last4 = '1234' AND kind = 'debit')`
	outbox := `INSERT INTO ticket_outbox (idempotency_key, conversation_key, kind, payload, state, next_attempt_at, created_at, updated_at, freshdesk_ticket_id) VALUES `
	tests := []struct {
		name, sql, code string
	}{
		{"last four not digits", `INSERT INTO cards (customer_id, last4, brand, kind) VALUES (` + lucia + `, '12a4', 'Visa', 'debit')`, "23514"},
		{"full card number in last four", `INSERT INTO cards (customer_id, last4, brand, kind) VALUES (` + lucia + `, '4111111111111111', 'Visa', 'debit')`, "22001"},
		{"unknown card status", `INSERT INTO cards (customer_id, last4, brand, kind, status) VALUES (` + lucia + `, '1111', 'Visa', 'debit', 'stolen')`, "23514"},
		{"unknown brand", `INSERT INTO cards (customer_id, last4, brand, kind) VALUES (` + lucia + `, '1111', 'Amex', 'debit')`, "23514"},
		{"blocked without time", `INSERT INTO cards (customer_id, last4, brand, kind, status) VALUES (` + lucia + `, '1111', 'Visa', 'debit', 'blocked')`, "23514"},
		{"card of unknown customer", `INSERT INTO cards (customer_id, last4, brand, kind) VALUES (987654, '1111', 'Visa', 'debit')`, "23503"},
		{"phone not E.164", `INSERT INTO customers (full_name, phone_e164) VALUES ('X', '600111999')`, "23514"},
		{"duplicate phone", `INSERT INTO customers (full_name, phone_e164) VALUES ('X', '+34600111222')`, "23505"},
		{"malformed national id", `INSERT INTO customers (full_name, phone_e164, national_id) VALUES ('X', '+34600111999', '1234')`, "23514"},
		{"duplicate national id", `INSERT INTO customers (full_name, phone_e164, national_id) VALUES ('X', '+34600111999', '12345678Z')`, "23505"},
		{"verification of another customer's card", `INSERT INTO verifications VALUES ('CA-x', ` + lucia + `, ` + jordisCard + `, now(), now() + interval '5 minutes')`, "23503"},
		{"verification expiring before it starts", `INSERT INTO verifications VALUES ('CA-x', ` + lucia + `, ` + luciasCard + `, now(), now() - interval '5 minutes')`, "23514"},
		{"failure of unknown customer", `INSERT INTO verification_failures (conversation_key, customer_id, at) VALUES ('CA-x', 987654, now())`, "23503"},
		{"duplicate block reference", `INSERT INTO card_blocks SELECT 'BLK-DEMO07', card_id, customer_id, 'CA-x', reason, block_type, channel, call_id, requested_at, blocked_at FROM card_blocks`, "23505"},
		{"malformed block reference", `INSERT INTO card_blocks SELECT 'BLOCK-1', card_id, customer_id, 'CA-x', reason, block_type, channel, call_id, requested_at, blocked_at FROM card_blocks`, "23514"},
		{"card pointing at a missing block", `UPDATE cards SET block_reference = 'BLK-NONE22' WHERE last4 = '4567'`, "23503"},
		{"unknown outbox state", outbox + `('k1', 'CA-x', 'block', '{}', 'lost', now(), now(), now(), NULL)`, "23514"},
		{"unknown ticket kind", outbox + `('k1', 'CA-x', 'complaint', '{}', 'pending', now(), now(), now(), NULL)`, "23514"},
		{"delivered without ticket id", outbox + `('k1', 'CA-x', 'block', '{}', 'delivered', now(), now(), now(), NULL)`, "23514"},
		{"duplicate idempotency key", outbox + `('k1', 'CA-x', 'block', '{}', 'pending', now(), now(), now(), NULL), ('k1', 'CA-y', 'block', '{}', 'pending', now(), now(), now(), NULL)`, "23505"},
		{"audit rows cannot change", `UPDATE card_blocks SET reason = 'other'`, "23001"},
		{"audit rows cannot be deleted", `DELETE FROM card_blocks`, "23001"},
		{"audit cannot be truncated", `TRUNCATE card_blocks CASCADE`, "23001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pool.Exec(ctx, tt.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != tt.code {
				t.Errorf("got %v, want SQLSTATE %s", err, tt.code)
			}
		})
	}
}

// hangingServer accepts connections and never answers, like a database
// behind a dead network path.
func hangingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestUnavailable(t *testing.T) {
	closedPort := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	open := func(t *testing.T, addr string) *cardstore.Postgres {
		p, err := cardstore.OpenPostgres(t.Context(), "postgres://postgres:secret@"+addr+"/x?sslmode=disable&connect_timeout=2")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	tests := []struct {
		name      string
		store     func(t *testing.T) *cardstore.Postgres
		timeout   time.Duration
		wantCtxDL bool
	}{
		{"connection refused", func(t *testing.T) *cardstore.Postgres { return open(t, closedPort(t)) }, 5 * time.Second, false},
		{"server never answers", func(t *testing.T) *cardstore.Postgres { return open(t, hangingServer(t)) }, 300 * time.Millisecond, true},
		{"pool closed", func(t *testing.T) *cardstore.Postgres { p, pool := newPostgres(t); pool.Close(); return p }, 5 * time.Second, false},
		{"pool exhausted", func(t *testing.T) *cardstore.Postgres {
			url := pgtest.URL(t)
			cfg, _ := pgxpool.ParseConfig(url)
			cfg.MaxConns = 1
			pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			held, err := pool.Acquire(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(held.Release)
			return cardstore.NewPostgres(pool)
		}, 200 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.store(t)
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			start := time.Now()
			_, err := p.CustomerByPhone(ctx, phoneLucia)
			if !errors.Is(err, cardstore.ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
			if tt.wantCtxDL && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v, want it to wrap the deadline", err)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "600111222") {
				t.Errorf("error leaks the password or the phone: %v", err)
			}
			if time.Since(start) > tt.timeout+2*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if err := p.Ping(ctx); !errors.Is(err, cardstore.ErrUnavailable) {
				t.Errorf("ping: %v", err)
			}
		})
	}
}

// A caller whose insert waits for another transaction holding the same key
// cannot see that row in its own statement's snapshot; it must still return it.
func TestEnqueueTicketWaitsForConcurrentInsert(t *testing.T) {
	p, pool := newPostgres(t)
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var firstID int64
	err = tx.QueryRow(ctx, `INSERT INTO ticket_outbox (idempotency_key, conversation_key, kind, payload, next_attempt_at, created_at, updated_at)
		VALUES ('handoff:CA-race', 'CA-race', 'handoff', '{"kind":"handoff","conversation_key":"CA-race"}', now(), now(), now()) RETURNING id`).Scan(&firstID)
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		e   cardstore.OutboxEntry
		err error
	}
	done := make(chan result, 1)
	go func() {
		e, err := p.EnqueueTicket(ctx, ticket(cardstore.TicketHandoff, "handoff:CA-race", "CA-race"), t0)
		done <- result{e, err}
	}()
	// Commit only once the caller is waiting on our row.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if count(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%ticket_outbox%'`) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the caller never waited for the lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.e.ID != firstID {
		t.Errorf("got row %d, %v; want the committed row %d", r.e.ID, r.err, firstID)
	}
}
