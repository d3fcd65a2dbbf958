package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fdWindow: the fake Freshdesk fails every request (429 with Retry-After,
// 500 after creating, a stall past the client's deadline after creating, a
// connection reset after creating — rotated) for o.window while o.blocks
// blocks arrive; then the outbox must drain to exactly one ticket per block.
func fdWindow(ctx context.Context, o options) (*result, error) {
	res := newResult("fd-window", fmt.Sprintf("Freshdesk failing for %s while %d blocks arrive", o.window, o.blocks))
	res.Injected = fmt.Sprintf("the fake Freshdesk answers every request in mode %q for %s (POST /_window): ", o.windowMode, o.window) +
		"rotating 429 with Retry-After " + o.retryAfter.String() + ", 500 after creating the ticket, " +
		"a stall after creating past the client's deadline (timeout), and a TCP reset after creating; list requests drawing a " +
		"create-only failure are served, so reconciliation can work in the window"
	res.How = fmt.Sprintf("%d calls (action_verify_last4 → action_block_card → action_create_ticket, each a different card) paced evenly over the first %s of the window by %d callers; "+
		"then the outbox is polled (SQL) until no row is pending or uncertain, at most %s", o.blocks, o.window*5/6, o.conc, o.drainLimit)
	res.PG = pgVersion(ctx, o.dbURL)
	bank, err := readBank(o.bankFile, o.offset, o.blocks)
	if err != nil {
		return res, err
	}
	srv, err := startServer(ctx, o, "", "fd-window")
	if err != nil {
		return res, err
	}
	defer func() {
		if srv.alive() {
			_ = srv.stop()
		}
	}()
	res.Setup = fmt.Sprintf("FRESHDESK_TIMEOUT=%s, FRESHDESK_REFERENCE_FIELD=cf_block_reference, worker defaults (poll 1 s, batch 10, backoff 2 s doubling to 10 min, jittered)", o.fdTimeout)
	res.Setup += fakeSetup(o)
	fd := fake{o.fdURL}
	client := newClient(o.conc + 2)
	rec := &recorder{}
	flow := callFlow{client: client, base: func() string { return srv.base }, rec: rec, ticket: true}
	runID := time.Now().Unix()

	if err := fd.window(o.windowMode, o.window, o.retryAfter); err != nil {
		return res, err
	}
	windowStart := time.Now()
	windowEnd := windowStart.Add(o.window)
	pace := o.window * 5 / 6 / time.Duration(o.blocks)
	var acked []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range o.conc {
		wg.Go(func() {
			for i := range jobs {
				b, _ := flow.run(ctx, bank[i], fmt.Sprintf("CA-chaos-b-%d-%d", runID, i))
				if b.Response == uttBlocked && b.Ref != "" {
					mu.Lock()
					acked = append(acked, b.Ref)
					mu.Unlock()
				}
			}
		})
	}
	t := time.NewTicker(pace)
dispatch:
	for i := range bank {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break dispatch
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			break dispatch
		}
	}
	t.Stop()
	close(jobs)
	wg.Wait()
	lastBlock := time.Now()
	if d := time.Until(windowEnd); d > 0 {
		time.Sleep(d)
	}
	duringWindow, _ := fd.stats()
	outboxAtEnd, _ := outboxRows(ctx, o.dbURL)

	drainedAt, states, drainErr := waitDrained(ctx, o.dbURL, o.blocks, o.drainLimit)
	time.Sleep(2 * time.Second) // let any straggling request land before counting
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
	recs := rec.all()
	maxLat, _ := maxLatency(recs)
	ticketReplies := tally(filter(recs, func(r record) bool { return r.Action == actTicket }), outcome)

	res.count("calls / blocks acknowledged (200 utter_card_blocked)", fmt.Sprintf("%d / %d", len(bank), len(acked)))
	res.count("replies by outcome", sortedKeys(tally(recs, outcome)))
	res.count("action_create_ticket replies (created = delivered within its 2 s)", sortedKeys(ticketReplies))
	res.count("max latency of any call", maxLat)
	res.count("last block acknowledged, after the window opened", lastBlock.Sub(windowStart))
	res.count("failures injected by the fake in the window", sortedKeys(duringWindow.Injected))
	res.count("outbox when the window closed", sortedKeys(outboxStates(outboxAtEnd)))
	res.count("ticket POSTs / list requests / all API requests (whole run)", fmt.Sprintf("%d / %d / %d", st.TicketPOSTs, st.ListRequests, st.Requests))
	res.count("failures injected in total", sortedKeys(st.Injected))
	if drainErr == nil {
		res.count("drain time: window closed → outbox empty", drainedAt.Sub(windowEnd))
		res.count("drain time: first block → outbox empty", drainedAt.Sub(windowStart))
	} else {
		res.count("drain", drainErr.Error())
	}
	if st.LastTicketAt != nil {
		res.count("last ticket stored, after the window closed", st.LastTicketAt.Sub(windowEnd))
	}
	res.count("outbox after the drain", sortedKeys(states))
	attempts := map[string]int{}
	for _, r := range rows {
		attempts[fmt.Sprintf("%02d", r.Attempts)]++
	}
	res.count("outbox rows by attempts", sortedKeys(attempts))
	res.count("tickets in the fake / distinct references / distinct markers", fmt.Sprintf("%d / %d / %d", st.Tickets, st.References, st.Markers))
	res.count("duplicate tickets (per marker / per reference)", fmt.Sprintf("%d / %d", st.Duplicates, st.DuplicateReferences))
	res.count("dead letters (SQL)", states["dead"])
	ctlStats := ""
	if o.ctlBin != "" {
		cmd := exec.CommandContext(ctx, o.ctlBin, "-database-url", o.dbURL, "outbox", "stats")
		out, err := cmd.CombinedOutput()
		ctlStats = strings.Join(strings.Fields(strings.ReplaceAll(string(out), "\n", "; ")), " ")
		if err != nil {
			ctlStats += " (" + err.Error() + ")"
		}
		res.count("cardblockctl outbox stats", ctlStats)
	}

	injected := 0
	for _, n := range duringWindow.Injected {
		injected += n
	}
	res.check("the fault was injected", injected > 0, "%d failures answered in the window: %s", injected, sortedKeys(duringWindow.Injected))
	res.check(fmt.Sprintf("all %d blocks acknowledged while Freshdesk fails", o.blocks), len(acked) == o.blocks, "%d acknowledged", len(acked))
	res.check("the outbox drains", drainErr == nil, "%v", errOr(drainErr, "drained "+fmtDur(drainedAt.Sub(windowEnd))+" after the window closed"))
	res.check(fmt.Sprintf("exactly %d tickets in Freshdesk, 0 duplicates", o.blocks),
		st.Tickets == o.blocks && st.Duplicates == 0 && st.DuplicateReferences == 0 && st.References == o.blocks,
		"%d tickets, %d distinct references, %d duplicates by marker, %d by reference", st.Tickets, st.References, st.Duplicates, st.DuplicateReferences)
	ctlDead := -1
	if m := regexp.MustCompile(`\bdead (\d+)`).FindStringSubmatch(ctlStats); m != nil {
		ctlDead, _ = strconv.Atoi(m[1])
	}
	res.check("0 dead letters", states["dead"] == 0 && d.Dead == 0 && (o.ctlBin == "" || ctlDead == 0),
		"SQL: %d dead rows; cardblockctl outbox stats: %s", states["dead"], ctlStats)
	res.check("every outbox row delivered exactly once, to the ticket it names", d.ok(), "%s", d)
	if err := srv.stop(); err != nil {
		res.check("the server stops cleanly afterwards (SIGTERM)", false, "%v", err)
	}
	return res, nil
}

func errOr(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}
