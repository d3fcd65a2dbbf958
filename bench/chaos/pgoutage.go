package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// sample is one look at the server from outside while the load runs.
type sample struct {
	At     time.Time
	Health int
	Ready  int
	PgUp   float64 // dependency_up{dependency="postgres"}; -1 when unreadable
	Alive  bool
}

func monitor(ctx context.Context, s *serverProc, every time.Duration) (stop func() []sample) {
	var mu sync.Mutex
	var out []sample
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			sm := sample{At: time.Now(), Health: s.status("/health"), Ready: s.status("/ready"), PgUp: -1, Alive: s.alive()}
			if v, err := s.metric("dependency_up", `dependency="postgres"`); err == nil {
				sm.PgUp = v
			}
			mu.Lock()
			out = append(out, sm)
			mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() []sample {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return out
	}
}

// pgOutage: PostgreSQL is stopped (pg_ctl stop -m fast) for o.outage under
// steady load of whole calls, then started again.
func pgOutage(ctx context.Context, o options) (*result, error) {
	res := newResult("pg-outage", fmt.Sprintf("PostgreSQL stopped for %s under steady load", o.outage))
	res.Injected = fmt.Sprintf("PostgreSQL cluster stopped with `pg_ctl stop -m fast` (sessions terminated, port closed) for %s, then `pg_ctl start`", o.outage)
	res.How = fmt.Sprintf("%d concurrent callers start %.0f calls/s (action_session_start → action_verify_last4 → action_block_card → action_create_ticket, "+
		"each on a different card; a call stops at the first unexpected reply, as Rasa would hand off), plus a stream of blocks for "+
		"conversations verified before the fault (one every 400 ms from 2 s before the stop); %s of load before the fault, %s after PostgreSQL is back. "+
		"/health, /ready and /metrics are polled every 250 ms.", o.conc, o.rate, o.warmup, o.after)
	res.PG = pgVersion(ctx, o.dbURL)

	totalCalls := int(o.rate*(o.warmup+o.outage+o.after+10*time.Second).Seconds()) + 50
	const preVerified = 100
	bank, err := readBank(o.bankFile, o.offset, totalCalls+preVerified)
	if err != nil {
		return res, err
	}
	calls, prepared := bank[:totalCalls], bank[totalCalls:]

	srv, err := startServer(ctx, o, "", "pg-outage")
	if err != nil {
		return res, err
	}
	defer func() {
		if srv.alive() {
			_ = srv.stop()
		}
	}()
	res.Setup = fmt.Sprintf("HEALTH_INTERVAL=%s, FRESHDESK_TIMEOUT=%s, request deadline %s (the server's action timeout)", o.health, o.fdTimeout, o.deadline)
	res.Setup += fakeSetup(o)

	client := newClient(o.conc + 4)
	rec := &recorder{}
	base := func() string { return srv.base }
	runID := time.Now().Unix()

	// Conversations verified before the fault; their blocks arrive during it.
	for i, c := range prepared {
		r := act(ctx, client, srv.base, actVerify, c, fmt.Sprintf("CA-chaos-a-%d-p%d", runID, i))
		if r.Response != uttConfirm {
			return res, fmt.Errorf("preparing verified conversations: %s", outcome(r))
		}
	}

	stopMon := monitor(ctx, srv, 250*time.Millisecond)
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	flow := callFlow{client: client, base: base, rec: rec, session: true, ticket: true}
	var acked sync.Map // block reference → true
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range o.conc {
		wg.Go(func() {
			for i := range jobs {
				// A call under way when the load stops is finished, not cut.
				if b, ok := flow.run(ctx, calls[i], fmt.Sprintf("CA-chaos-a-%d-%d", runID, i)); ok && b.Response == uttBlocked && b.Ref != "" {
					acked.Store(b.Ref, true)
				}
			}
		})
	}
	wg.Go(func() { // dispatcher
		defer close(jobs)
		t := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
		defer t.Stop()
		for i := range calls {
			select {
			case <-loadCtx.Done():
				return
			case <-t.C:
			}
			select {
			case jobs <- i:
			case <-loadCtx.Done():
				return
			}
		}
	})
	startBlocks := make(chan struct{})
	wg.Go(func() { // blocks of conversations verified before the fault
		select {
		case <-startBlocks:
		case <-loadCtx.Done():
			return
		}
		t := time.NewTicker(400 * time.Millisecond)
		defer t.Stop()
		for i, c := range prepared {
			callID := fmt.Sprintf("CA-chaos-a-%d-p%d", runID, i)
			r := act(ctx, client, srv.base, actBlock, c, callID)
			rec.add(r)
			if r.Response == uttBlocked && r.Ref != "" {
				acked.Store(r.Ref, true)
				rec.add(act(ctx, client, srv.base, actTicket, c, callID))
			}
			select {
			case <-loadCtx.Done():
				return
			case <-t.C:
			}
		}
	})

	sleep := func(d time.Duration) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	}
	if err := sleep(o.warmup - 2*time.Second); err != nil {
		return res, err
	}
	close(startBlocks)
	if err := sleep(2 * time.Second); err != nil {
		return res, err
	}
	stopIssued := time.Now()
	if err := shell(ctx, o.pgStop); err != nil {
		return res, err
	}
	stopDone := time.Now()
	if err := sleep(o.outage - time.Since(stopDone)); err != nil {
		return res, err
	}
	startIssued := time.Now()
	if err := shell(ctx, o.pgStart); err != nil {
		return res, err
	}
	startDone := time.Now()
	if err := sleep(o.after); err != nil {
		return res, err
	}
	stopLoad()
	wg.Wait()
	samples := stopMon()
	alive := srv.alive()

	// --- what the callers saw
	recs := rec.all()
	rel := func(t time.Time) time.Duration { return t.Sub(stopIssued) }
	var during, after, dbDuring []record
	for _, r := range recs {
		switch {
		case !r.Start.Before(stopDone) && r.Start.Before(startIssued):
			during = append(during, r)
			if r.Action != actSessionStart {
				dbDuring = append(dbDuring, r)
			}
		case !r.Start.Before(startDone):
			after = append(after, r)
		}
	}
	bad := 0 // non-200 or no answer, at any time
	for _, r := range recs {
		if r.Status != 200 {
			bad++
			if bad <= 5 {
				res.note("%s at +%s: %s %s", r.Action, fmtDur(rel(r.Start)), outcome(r), r.Err)
			}
		}
	}
	handoffs := 0
	for _, r := range dbDuring {
		if r.Status == 200 && r.Response == uttUnavailable {
			handoffs++
		}
	}
	blocksDuring := tally(filter(during, func(r record) bool { return r.Action == actBlock }), outcome)
	var firstBlock, lastHandoff record
	for _, r := range after {
		if r.Action == actBlock && r.Response == uttBlocked && (firstBlock.Start.IsZero() || r.end().Before(firstBlock.end())) {
			firstBlock = r
		}
		if r.Response == uttUnavailable && r.Start.After(lastHandoff.Start) {
			lastHandoff = r
		}
	}
	maxLat, maxRec := maxLatency(recs)
	maxDuring, _ := maxLatency(filter(recs, func(r record) bool { return !r.end().Before(stopIssued) && r.Start.Before(startDone) }))
	over := len(filter(recs, func(r record) bool { return r.Latency > o.deadline }))

	// --- what the server said about itself
	readyBad, healthBad, deadSamples := 0, 0, 0
	for _, s := range samples {
		if s.Ready != 200 {
			readyBad++
		}
		if s.Health != 200 {
			healthBad++
		}
		if !s.Alive {
			deadSamples++
		}
	}
	// dependency_up must read 0 once the monitor has had two intervals
	// (plus its 2 s ping timeout) to notice, until PostgreSQL is back.
	settle := stopDone.Add(2*o.health + 2*time.Second)
	var upInOutage, zeroInOutage, unreadable int
	var firstZero, firstOneAfter time.Time
	for _, s := range samples {
		if s.PgUp == 0 && firstZero.IsZero() && s.At.After(stopIssued) {
			firstZero = s.At
		}
		if s.PgUp == 1 && firstOneAfter.IsZero() && s.At.After(startDone) {
			firstOneAfter = s.At
		}
		if s.At.After(settle) && s.At.Before(startIssued) {
			switch s.PgUp {
			case 0:
				zeroInOutage++
			case 1:
				upInOutage++
			default:
				unreadable++
			}
		}
	}

	res.count("requests (all actions)", len(recs))
	res.count("replies by outcome (whole run)", sortedKeys(tally(recs, outcome)))
	res.count("non-200 replies or transport errors (whole run)", bad)
	res.count("PostgreSQL down (pg_ctl stop issued → pg_ctl start returned)", startDone.Sub(stopIssued))
	res.count("pg_ctl stop -m fast took", stopDone.Sub(stopIssued))
	res.count("pg_ctl start took", startDone.Sub(startIssued))
	res.count("requests started during the outage", len(during))
	res.count("…of which touch the database (verify/block/ticket)", len(dbDuring))
	res.count("…answered 200 utter_service_unavailable (Spanish hand-off)", handoffs)
	res.count("…replies by outcome", sortedKeys(tally(during, outcome)))
	res.count("blocks attempted during the outage, by outcome", sortedKeys(blocksDuring))
	when := fmtDur(rel(maxRec.Start)) + " after the stop"
	if rel(maxRec.Start) < 0 {
		when = fmtDur(-rel(maxRec.Start)) + " before the stop"
	}
	res.count("max latency, whole run", fmt.Sprintf("%s (%s, started %s)", fmtDur(maxLat), maxRec.Action, when))
	res.count("max latency of requests overlapping the outage", maxDuring)
	res.count("p99 latency, whole run", percentile(recs, 0.99))
	res.count("p99 latency during the outage", percentile(during, 0.99))
	res.count(fmt.Sprintf("requests over the %s deadline", o.deadline), over)
	res.count("monitor samples (every 250 ms)", len(samples))
	res.count("/ready samples not 200", readyBad)
	res.count("/health samples not 200", healthBad)
	if !firstZero.IsZero() {
		res.count("dependency_up{postgres} first read 0 after the stop", firstZero.Sub(stopIssued))
	}
	res.count("dependency_up{postgres} samples in the settled outage: 0 / 1 / unreadable", fmt.Sprintf("%d / %d / %d", zeroInOutage, upInOutage, unreadable))
	if !firstOneAfter.IsZero() {
		res.count("dependency_up{postgres} back to 1 after pg_ctl start returned", firstOneAfter.Sub(startDone))
	}
	recovery := time.Duration(math.MaxInt64)
	if !firstBlock.Start.IsZero() {
		recovery = firstBlock.end().Sub(startDone)
		res.count("first successful block after PostgreSQL is back (from pg_ctl start returning)", recovery)
		res.count("…from pg_ctl start being issued", firstBlock.end().Sub(startIssued))
	}
	if !lastHandoff.Start.IsZero() {
		res.count("last hand-off reply after PostgreSQL is back: request started at", "+"+fmtDur(lastHandoff.Start.Sub(startDone)))
	} else {
		res.count("hand-off replies to requests started after PostgreSQL is back", 0)
	}
	var refs []string
	acked.Range(func(k, _ any) bool { refs = append(refs, k.(string)); return true })
	res.count("blocks acknowledged (200 utter_card_blocked)", len(refs))
	unexpected := logCount(srv.logPath, `"unexpected":true`)
	res.count(`server log lines "card store unavailable" / of which "unexpected":true`,
		fmt.Sprintf("%d / %d", logCount(srv.logPath, "card store unavailable"), unexpected))

	res.check("the server stays up", alive && deadSamples == 0 && healthBad == 0,
		"process alive at the end: %v; /health not 200 in %d of %d samples", alive, healthBad, len(samples))
	res.check("/ready stays 200 during the outage", readyBad == 0, "%d of %d samples not 200", readyBad, len(samples))
	res.check("callers get the Spanish hand-off during the outage", len(dbDuring) > 0 && handoffs == len(dbDuring) && bad == 0,
		"%d of %d database-touching requests answered 200 utter_service_unavailable; %d non-200/transport errors in the whole run",
		handoffs, len(dbDuring), bad)
	res.check(`dependency_up{dependency="postgres"} is 0 during the outage`, zeroInOutage > 0 && upInOutage == 0 && unreadable == 0,
		"%d samples 0, %d samples 1, %d unreadable after it settled (stop + 2×HEALTH_INTERVAL + 2 s)", zeroInOutage, upInOutage, unreadable)
	res.check(fmt.Sprintf("no request takes longer than its deadline (%s)", o.deadline), over == 0 && maxLat <= o.deadline,
		"max %s; %d over", fmtDur(maxLat), over)
	res.check(fmt.Sprintf("full service within %s of PostgreSQL coming back", o.recoveryMax),
		recovery <= o.recoveryMax && (lastHandoff.Start.IsZero() || lastHandoff.Start.Sub(startDone) <= o.recoveryMax),
		"first successful block %s after pg_ctl start returned; last hand-off to a request started %s after",
		fmtDurMax(recovery), fmtDurOrNone(lastHandoff.Start, startDone))

	cons, err := checkConsistency(ctx, o.dbURL)
	if err != nil {
		return res, err
	}
	res.check("no block is half-written", cons.ok(), "%s", cons)
	found, missing, err := ackedInDB(ctx, o.dbURL, refs)
	if err != nil {
		return res, err
	}
	res.check("every acknowledged block is in the database", len(refs) > 0 && found == len(refs),
		"%d of %d acknowledged references found blocked with their audit row; missing: %v", found, len(refs), missing)
	if unexpected > 0 {
		res.note("%d hand-offs were logged with \"unexpected\":true: the store returned an error that is not cardstore.ErrUnavailable during the outage (see %s)", unexpected, srv.logPath)
	}
	if err := srv.stop(); err != nil {
		res.check("the server stops cleanly afterwards (SIGTERM)", false, "%v", err)
	}
	return res, nil
}

func filter(recs []record, keep func(record) bool) []record {
	var out []record
	for _, r := range recs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func fmtDurMax(d time.Duration) string {
	if d == time.Duration(math.MaxInt64) {
		return "never"
	}
	return fmtDur(d)
}

func fmtDurOrNone(t, from time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return fmtDur(t.Sub(from))
}
