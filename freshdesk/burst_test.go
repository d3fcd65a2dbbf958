package freshdesk

import (
	"context"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/cardstore/pgtest"
)

// TestOutboxBurst is a measurement, not a check of speed: 200 blocks queued
// at once while Freshdesk answers 429 (with Retry-After) for its first 30
// seconds, drained by two replicas with the default configuration. It takes
// about half a minute, so it only runs when asked:
//
//	OUTBOX_BURST=1 bash scripts/with-postgres.sh go test -count=1 -run TestOutboxBurst -v ./freshdesk/
func TestOutboxBurst(t *testing.T) {
	if os.Getenv("OUTBOX_BURST") == "" {
		t.Skip("set OUTBOX_BURST=1 to measure a 200-block burst against a rate-limited Freshdesk (~35 s)")
	}
	const (
		blocks  = 200
		workers = 2
		window  = 30 * time.Second
	)
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

	start := time.Now()
	fake.RateLimitFor(window)
	ids := make([]int64, 0, blocks)
	for i := range blocks {
		req := blockRequest(i + 1)
		req.CustomerID = int64(i + 1)
		e, err := queue.EnqueueTicket(t.Context(), req, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	queued := time.Since(start)

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	regs := make([]*prometheus.Registry, workers)
	for i := range workers {
		ce := newTestClient(t, fake.URL, func(c *Config) { c.Timeout = 0 }) // the production default, 10s
		regs[i] = ce.reg
		w := NewWorker(cardstore.NewPostgres(newPool()), ce.client, WorkerConfig{}, NewOutboxMetrics(ce.reg), zerolog.Nop())
		wg.Go(func() { _ = w.Run(ctx) })
	}
	for {
		s, err := queue.OutboxStats(t.Context(), time.Now())
		if err == nil && s.Pending == 0 {
			break
		}
		if time.Since(start) > 3*time.Minute { // a guard against hanging
			cancel()
			wg.Wait()
			t.Fatalf("not drained after 3 minutes: %+v, %v", s, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	drained := time.Since(start)
	cancel()
	wg.Wait()

	duplicates, missing := 0, 0
	byMarker := fake.TicketsByMarker()
	for _, id := range ids {
		e, err := queue.OutboxByID(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		switch n := byMarker[marker(e.IdempotencyKey)]; {
		case n == 0 || e.State != cardstore.OutboxDelivered:
			missing++
		case n > 1:
			duplicates += n - 1
		}
	}
	var perWorker []float64
	for _, reg := range regs {
		perWorker = append(perWorker, metricValue(t, reg, "ticket_outbox_deliveries_total", map[string]string{"result": resultDelivered}))
	}
	t.Logf("burst: %d blocks queued in %s; %d workers; Freshdesk rate-limited for %s", blocks, queued.Round(time.Millisecond), workers, window)
	t.Logf("tickets created: %d; duplicates: %d; missing: %d", len(fake.Tickets()), duplicates, missing)
	t.Logf("POSTs: %d, of which answered 429: %d; delivered per worker: %v",
		fake.Count(http.MethodPost, "/api/v2/tickets"), fake.RateLimitedCount(), perWorker)
	t.Logf("time to drain (from the first block queued): %s", drained.Round(time.Millisecond))
	if duplicates != 0 || missing != 0 || len(fake.Tickets()) != blocks {
		t.Errorf("want %d tickets, no duplicate, none missing", blocks)
	}
}
