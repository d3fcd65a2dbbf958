package cardstore_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/cardstore/pgtest"
)

// BenchmarkPostgresBlockCard measures BlockCard at concurrency 16, each call
// blocking a different active card (the target: ≥1,500 blocks/s with p99
// under 10 ms on 2 cores, PostgreSQL on the same machine). Run:
//
//	bash scripts/with-postgres.sh go test -run '^$' -bench PostgresBlockCard -benchtime 15000x ./cardstore/
type benchCard struct{ card, customer int64 }

func BenchmarkPostgresBlockCard(b *testing.B) {
	pool := pgtest.New(b)
	ctx := b.Context()
	if err := cardstore.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	// One customer and one active card per block; every call blocks a card
	// nobody blocked before.
	const benchCards = 60000
	_, err := pool.Exec(ctx, `INSERT INTO customers (full_name, phone_e164)
		SELECT 'Cliente ' || i, '+34609' || lpad(i::text, 6, '0') FROM generate_series(1, $1) i`, benchCards)
	if err == nil {
		_, err = pool.Exec(ctx, `INSERT INTO cards (customer_id, last4, brand, kind) SELECT id, lpad((id % 10000)::text, 4, '0'), 'Visa', 'debit' FROM customers ORDER BY id`)
	}
	if err == nil {
		_, err = pool.Exec(ctx, `VACUUM ANALYZE`)
	}
	if err != nil {
		b.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT id, customer_id FROM cards ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	var cards []benchCard
	for rows.Next() {
		var c benchCard
		if err := rows.Scan(&c.card, &c.customer); err != nil {
			b.Fatal(err)
		}
		cards = append(cards, c)
	}
	if rows.Err() != nil || len(cards) < benchCards {
		b.Fatalf("setup: %d cards, %v", len(cards), rows.Err())
	}
	store := cardstore.NewPostgres(pool)
	// Open and prepare 16 connections first: connecting is not what we measure.
	var warm sync.WaitGroup
	for range 16 {
		warm.Go(func() {
			for range 5 {
				_, _ = store.BlockCard(ctx, blockRequest("CA-warm", cardstore.Customer{}, cardstore.Card{ID: -1}))
			}
		})
	}
	warm.Wait()

	take := func(b *testing.B) []benchCard {
		if len(cards) < b.N {
			b.Fatalf("only %d unblocked cards left; use -benchtime with fewer iterations", len(cards))
		}
		mine := cards[:b.N]
		cards = cards[b.N:]
		return mine
	}
	b.Run("closed-loop", func(b *testing.B) { blockLoad(b, store, take(b), 0) })
	b.Run("paced-1500", func(b *testing.B) { blockLoad(b, store, take(b), 1500) })
}

// blockLoad blocks cards from 16 workers, as fast as they can (rate 0) or at
// rate blocks per second in total. A paced call's latency counts from when it
// was due, so a stall is not hidden by the calls it delays.
func blockLoad(b *testing.B, store *cardstore.Postgres, cards []benchCard, rate float64) {
	const workers = 16
	var next atomic.Int64
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(cards)) {
					return
				}
				due := time.Now()
				if rate > 0 {
					due = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					time.Sleep(time.Until(due))
				}
				c := cards[i]
				req := blockRequest(fmt.Sprintf("CA-bench-%d", c.card), cardstore.Customer{ID: c.customer, FullName: "Cliente"},
					cardstore.Card{ID: c.card, Last4: "0000", Kind: "debit", Brand: "Visa"})
				res, err := store.BlockCard(b.Context(), req)
				lat[i] = time.Since(due)
				if err != nil || res.AlreadyBlocked {
					b.Errorf("block: %v %+v", err, res)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "blocks/s")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}
