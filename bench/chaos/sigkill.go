package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// sigkill: the server is killed with SIGKILL in the middle of a burst of
// blocks (and of their tickets' deliveries), then started again.
func sigkill(ctx context.Context, o options) (*result, error) {
	res := newResult("sigkill", "the action server SIGKILLed in the middle of a burst of blocks")
	res.Injected = fmt.Sprintf("SIGKILL to the action server process when the %d-th block was acknowledged, with blocks and ticket deliveries in flight; "+
		"then the same binary started again on the same address and database", o.killAfter)
	res.How = fmt.Sprintf("%d conversations verified first; then %d callers send action_block_card back to back, and 8 other callers "+
		"send each acknowledged block's action_create_ticket (delivery to Freshdesk within 2 s); the callers stop when the server dies. "+
		"After the restart the outbox is polled (SQL) until no row is pending or uncertain, at most %s", o.burst, o.conc, o.drainLimit)
	res.PG = pgVersion(ctx, o.dbURL)
	bank, err := readBank(o.bankFile, o.offset, o.burst)
	if err != nil {
		return res, err
	}
	srv, err := startServer(ctx, o, "", "sigkill-1")
	if err != nil {
		return res, err
	}
	defer func() {
		if srv.alive() {
			srv.kill()
		}
	}()
	res.Setup = fmt.Sprintf("FRESHDESK_TIMEOUT=%s (outbox lease 3× = %s), HEALTH_INTERVAL=%s", o.fdTimeout, 3*o.fdTimeout, o.health)
	res.Setup += fakeSetup(o)
	client := newClient(o.conc + 2)
	runID := time.Now().Unix()
	callID := func(i int) string { return fmt.Sprintf("CA-chaos-c-%d-%d", runID, i) }

	// Verify every conversation first (not part of the fault).
	{
		var wg sync.WaitGroup
		var bad atomic.Int64
		jobs := make(chan int)
		for range 8 {
			wg.Go(func() {
				for i := range jobs {
					if r := act(ctx, client, srv.base, actVerify, bank[i], callID(i)); r.Response != uttConfirm {
						bad.Add(1)
					}
				}
			})
		}
		for i := range bank {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		if bad.Load() > 0 {
			return res, fmt.Errorf("%d verifications failed before the burst", bad.Load())
		}
	}

	rec := &recorder{}
	var acks atomic.Int64
	var killed atomic.Bool
	var killAt time.Time
	var killOnce sync.Once
	var mu sync.Mutex
	var acked []string
	kill := func() {
		killOnce.Do(func() {
			killed.Store(true)
			killAt = time.Now()
			_ = srv.cmd.Process.Signal(syscall.SIGKILL)
		})
	}
	// Blocks back to back on o.conc connections; each acknowledged block's
	// action_create_ticket goes to 8 other callers, so that at the kill both
	// block transactions and ticket deliveries are in flight.
	var wg, twg sync.WaitGroup
	jobs := make(chan int)
	ticketJobs := make(chan int, len(bank))
	burstStart := time.Now()
	for range 8 {
		twg.Go(func() {
			for i := range ticketJobs {
				if !killed.Load() {
					rec.add(act(ctx, client, srv.base, actTicket, bank[i], callID(i)))
				}
			}
		})
	}
	for range o.conc {
		wg.Go(func() {
			for i := range jobs {
				r := act(ctx, client, srv.base, actBlock, bank[i], callID(i))
				rec.add(r)
				if r.Status == 200 && r.Response == uttBlocked && r.Ref != "" {
					mu.Lock()
					acked = append(acked, r.Ref)
					mu.Unlock()
					if acks.Add(1) == int64(o.killAfter) {
						kill()
					}
					ticketJobs <- i
				}
			}
		})
	}
	sent := 0
	for i := range bank {
		if killed.Load() {
			break
		}
		jobs <- i
		sent++
	}
	close(jobs)
	wg.Wait()
	close(ticketJobs)
	twg.Wait()
	kill() // had the burst ended before kill-after acknowledgements
	<-srv.exited
	recs := rec.all()

	blocks := filter(recs, func(r record) bool { return r.Action == actBlock })
	inFlight := filter(blocks, func(r record) bool { return r.Start.Before(killAt) && !r.end().Before(killAt) })
	afterKill := filter(recs, func(r record) bool { return !r.Start.Before(killAt) })
	rowsAtKill, err := outboxRows(ctx, o.dbURL)
	if err != nil {
		return res, err
	}
	inflightRows := len(filter2(rowsAtKill, func(r outboxRow) bool { return r.State == "uncertain" && r.LastError == "delivery in flight" }))
	statsAtKill, _ := fake{o.fdURL}.stats()

	restartAt := time.Now()
	srv2, err := startServer(ctx, o, srv.addr, "sigkill-2")
	if err != nil {
		return res, err
	}
	defer func() {
		if srv2.alive() {
			_ = srv2.stop()
		}
	}()
	upAfter := time.Since(restartAt)
	drainedAt, states, drainErr := waitDrained(ctx, o.dbURL, 1, o.drainLimit)
	time.Sleep(2 * time.Second)
	fd := fake{o.fdURL}
	st, err := fd.stats()
	if err != nil {
		return res, err
	}
	tickets, err := fd.tickets()
	if err != nil {
		return res, err
	}
	rows, err := outboxRows(ctx, o.dbURL)
	if err != nil {
		return res, err
	}
	d := compareDelivery(rows, tickets)
	cons, err := checkConsistency(ctx, o.dbURL)
	if err != nil {
		return res, err
	}
	found, missing, err := ackedInDB(ctx, o.dbURL, acked)
	if err != nil {
		return res, err
	}

	res.count("conversations verified / blocks sent before the kill", fmt.Sprintf("%d / %d", len(bank), sent))
	res.count("block replies by outcome", sortedKeys(tally(blocks, outcome)))
	res.count("action_create_ticket replies by outcome", sortedKeys(tally(filter(recs, func(r record) bool { return r.Action == actTicket }), outcome)))
	res.count("blocks acknowledged (200 utter_card_blocked)", len(acked))
	res.count("SIGKILL sent after the burst started", killAt.Sub(burstStart))
	res.count("requests in flight at the SIGKILL (no reply) — blocks / all", fmt.Sprintf("%d / %d", len(inFlight), len(filter(recs, func(r record) bool {
		return r.Start.Before(killAt) && !r.end().Before(killAt)
	}))))
	res.count("requests started after the SIGKILL", len(afterKill))
	res.count("outbox at the SIGKILL", sortedKeys(outboxStates(rowsAtKill)))
	res.count(`…rows left "uncertain: delivery in flight" (POST on the wire when killed)`, inflightRows)
	res.count("tickets in the fake at the SIGKILL", statsAtKill.Tickets)
	res.count("restarted server up (health + PostgreSQL) after", upAfter)
	if drainErr == nil {
		res.count("drain time: restart → outbox empty", drainedAt.Sub(restartAt))
	} else {
		res.count("drain", drainErr.Error())
	}
	res.count("outbox after the drain", sortedKeys(states))
	res.count("block rows in the database (blocked cards / audit rows / outbox rows)", fmt.Sprintf("%d / %d / %d", cons.BlockedCards, cons.AuditRows, cons.BlockOutboxRows))
	res.count("tickets in the fake / ticket POSTs / list requests", fmt.Sprintf("%d / %d / %d", st.Tickets, st.TicketPOSTs, st.ListRequests))
	res.count("duplicate tickets (per marker / per reference)", fmt.Sprintf("%d / %d", st.Duplicates, st.DuplicateReferences))
	res.count("outbox rows without a ticket (missing)", d.Missing)
	res.count("reconciled deliveries after the restart (log lines)", logCount(srv2.logPath, `"result":"reconciled"`))

	if late := len(rows) - len(rowsAtKill); late > 0 {
		res.note("%d blocks were committed by PostgreSQL after the process was gone (their COMMIT was already sent, so the backend finished it): "+
			"they were never acknowledged, and they are whole — card, audit row and outbox row — and delivered once like the others", late)
	}
	res.check("the kill landed mid-burst", len(acked) >= o.killAfter && sent < len(bank),
		"%d acknowledged before the kill; %d of %d customers sent", len(acked), sent, len(bank))
	res.check("every acknowledged block is in the database after the restart", found == len(acked) && len(acked) > 0,
		"%d of %d acknowledged references found blocked with their audit row; missing: %v", found, len(acked), missing)
	res.check("no block is half-written", cons.ok(), "%s", cons)
	res.check("the restarted server's worker drains the outbox", drainErr == nil, "%s", errOr(drainErr, "drained in "+fmtDur(drainedAt.Sub(restartAt))))
	res.check("every outbox row delivered exactly once (0 duplicates, 0 missing)", d.ok() && st.Duplicates == 0 && st.DuplicateReferences == 0, "%s", d)
	if err := srv2.stop(); err != nil {
		res.check("the restarted server stops cleanly (SIGTERM)", false, "%v", err)
	}
	return res, nil
}

func filter2(rows []outboxRow, keep func(outboxRow) bool) []outboxRow {
	var out []outboxRow
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}
