package freshdesk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/sctbnk/cardblock/cardstore"
)

// OutboxStore is what the outbox worker needs from the card store; both
// *cardstore.Memory and *cardstore.Postgres satisfy it. Methods return
// cardstore's sentinel errors.
type OutboxStore interface {
	ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]cardstore.OutboxEntry, error)
	ClaimByID(ctx context.Context, id int64, now time.Time, lease time.Duration) (cardstore.OutboxEntry, error)
	MarkDelivered(ctx context.Context, id, freshdeskTicketID int64, now time.Time) error
	MarkAttemptFailed(ctx context.Context, id int64, state string, next time.Time, lastError string, now time.Time) error
	MarkDead(ctx context.Context, id int64, lastError string, now time.Time) error
	OutboxByID(ctx context.Context, id int64) (cardstore.OutboxEntry, error)
	OutboxByKey(ctx context.Context, key string) (cardstore.OutboxEntry, error)
	OutboxStats(ctx context.Context, now time.Time) (cardstore.OutboxStats, error)
}

// ErrQueued is what DeliverNow wraps when the ticket was not delivered in
// time: the row stays in the outbox and the worker delivers it later (or it
// is in the dead letter queue, waiting for an operator).
var ErrQueued = errors.New("freshdesk: ticket not delivered now; it stays in the outbox")

// errReconcileIncomplete: the requester has more tickets than one list call
// may page through, and ours was not among those read. Creating again could
// duplicate it, so the row waits.
var errReconcileIncomplete = errors.New("reconcile: ticket list truncated before a match")

// Delivery results, the values of ticket_outbox_deliveries_total{result}.
const (
	resultDelivered  = "delivered"  // created now (or the note was added)
	resultReconciled = "reconciled" // an earlier ambiguous attempt had created it
	resultRetry      = "retry"      // not processed (429, no connection) or waiting: pending again
	resultUncertain  = "uncertain"  // may exist in Freshdesk: reconciled before the next attempt
	resultDead       = "dead"       // Freshdesk refused it: an operator must look
	resultPaused     = "paused"     // Freshdesk refused our credentials: the queue is paused
)

func allResults() []string {
	return []string{resultDelivered, resultReconciled, resultRetry, resultUncertain, resultDead, resultPaused}
}

// OutboxMetrics are the worker's collectors. No label carries an id, a phone
// or a reference.
type OutboxMetrics struct {
	pending    prometheus.Gauge
	oldestAge  prometheus.Gauge
	dead       prometheus.Counter
	deliveries *prometheus.CounterVec
	duration   prometheus.Histogram
}

// NewOutboxMetrics creates the collectors and registers them on reg; a nil
// reg leaves them unregistered. Registering twice on one registry panics.
func NewOutboxMetrics(reg prometheus.Registerer) *OutboxMetrics {
	m := &OutboxMetrics{
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ticket_outbox_pending",
			Help: "Outbox rows not yet delivered (pending or uncertain).",
		}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ticket_outbox_oldest_pending_age_seconds",
			Help: "Age of the oldest undelivered outbox row (0 when none).",
		}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ticket_outbox_dead_total",
			Help: "Outbox rows dead-lettered because Freshdesk refused them.",
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ticket_outbox_deliveries_total",
			Help: "Delivery attempts of outbox rows by result.",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ticket_outbox_delivery_duration_seconds",
			Help:    "Duration of one delivery attempt, reconciliation and bookkeeping included.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
	}
	for _, r := range allResults() {
		m.deliveries.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.pending, m.oldestAge, m.dead, m.deliveries, m.duration)
	}
	return m
}

// WorkerConfig tunes a Worker. Zero values take the defaults in brackets.
type WorkerConfig struct {
	// PollInterval is how often due rows are claimed [1s]. A full batch is
	// followed by another claim at once, so a backlog drains without waiting.
	PollInterval time.Duration
	// Batch is how many rows one claim takes and delivers concurrently [10].
	Batch int
	// Lease is how long a claimed row stays invisible to other workers [3×
	// the client timeout]; it is raised to at least 2× the client timeout.
	// An attempt is cut off well before its lease ends, so two workers never
	// hold one row.
	Lease time.Duration
	// BaseBackoff and MaxBackoff bound the exponential backoff between
	// attempts of a row [2s, 10m]; the wait is jittered between half and all
	// of it.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// ReconcileDelay is the least an uncertain row waits before the list
	// endpoint is asked, giving a request Freshdesk is still processing time
	// to show up [the client timeout].
	ReconcileDelay time.Duration
	// AuthPause is how long the queue stops after Freshdesk refuses the
	// credentials (401/403) [5m]; then one row probes whether it is fixed.
	AuthPause time.Duration
	// Now is the clock [time.Now].
	Now func() time.Time
	// Rand returns a number in [0, 1) for jitter; it must be safe for
	// concurrent use [math/rand/v2.Float64].
	Rand func() float64
	// Health, if set, is told when Freshdesk stops or starts answering
	// usefully: false when it refuses our credentials or cannot be reached,
	// true on the next success. Wire it to dependency_up{dependency="freshdesk"}.
	Health func(up bool)
}

const (
	// reconcileSkew widens the list window for clock skew between us and
	// Freshdesk: a ticket is never updated before we queued it.
	reconcileSkew = 5 * time.Minute
	// followUpLookback is how far back a follow-up looks for the incident's
	// ticket when the block did not go through this outbox (e.g. imported).
	followUpLookback = 90 * 24 * time.Hour
	// inFlight is the last_error a row carries while its POST is on the wire;
	// the row is already "uncertain", so a crash mid-POST is reconciled.
	inFlight = "delivery in flight"
	// awaitInterval is how often DeliverNow looks at a row another worker is
	// delivering.
	awaitInterval = 50 * time.Millisecond
)

// Worker delivers the ticket outbox to Freshdesk: one per replica; replicas
// coordinate through the store's leases. Every block or hand-off becomes
// exactly one ticket: a POST whose outcome is unknown is reconciled through
// the list endpoint before anything is sent again.
type Worker struct {
	store   OutboxStore
	client  *Client
	cfg     WorkerConfig
	metrics *OutboxMetrics
	log     zerolog.Logger
	// budget bounds one attempt from its claim; storeTimeout bounds each
	// bookkeeping write after it. Together they end before the lease does.
	budget       time.Duration
	storeTimeout time.Duration

	mu          sync.Mutex
	holdUntil   time.Time // Retry-After: the account is rate limited
	pausedUntil time.Time // credentials refused
	probing     bool      // after a pause: one row at a time until one works
	healthKnown bool
	healthUp    bool
	storeDown   bool
}

// NewWorker returns a worker; store and client must not be nil. A nil
// metrics means unregistered collectors.
func NewWorker(store OutboxStore, client *Client, cfg WorkerConfig, metrics *OutboxMetrics, log zerolog.Logger) *Worker {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 10
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 3 * client.timeout
	}
	cfg.Lease = max(cfg.Lease, 2*client.timeout)
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 2 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.BaseBackoff)
	if cfg.ReconcileDelay <= 0 {
		cfg.ReconcileDelay = client.timeout
	}
	if cfg.AuthPause <= 0 {
		cfg.AuthPause = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if metrics == nil {
		metrics = NewOutboxMetrics(nil)
	}
	w := &Worker{
		store:        store,
		client:       client,
		cfg:          cfg,
		metrics:      metrics,
		log:          log.With().Str("component", "ticket_outbox").Logger(),
		storeTimeout: min(5*time.Second, cfg.Lease/4),
	}
	w.budget = cfg.Lease - 2*w.storeTimeout
	if client.build.ReferenceField == "" {
		w.log.Warn().Msg("no Freshdesk reference custom field configured: reconciliation relies on tags, " +
			"which the list endpoint may not return, so an ambiguous POST can be repeated")
	}
	return w
}

// ObserveStats sets the backlog gauges. The worker calls it on every poll;
// a server without Freshdesk configured calls it itself, so that the queue
// of tickets waiting for configuration is visible too.
func (m *OutboxMetrics) ObserveStats(s cardstore.OutboxStats) {
	m.pending.Set(float64(s.Pending))
	m.oldestAge.Set(s.OldestPendingAge.Seconds())
}

// Run delivers due rows until ctx is cancelled, then returns nil. Calls in
// flight are abandoned at once; their rows are left uncertain (or leased)
// and a later attempt reconciles them, so nothing is lost or duplicated.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.PollInterval)
	defer t.Stop()
	for {
		if full := w.poll(ctx); full && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// poll claims one batch of due rows, delivers them concurrently (in turn,
// the last ones could outlive their lease) and refreshes the gauges. It
// reports whether the batch was full, i.e. more rows may be due.
func (w *Worker) poll(ctx context.Context) bool {
	full := w.claimAndDeliver(ctx)
	if s, err := w.store.OutboxStats(ctx, w.cfg.Now()); err == nil {
		w.metrics.ObserveStats(s)
	}
	return full
}

func (w *Worker) claimAndDeliver(ctx context.Context) bool {
	now := w.cfg.Now()
	limit, ok := w.claimLimit(now)
	if !ok {
		return false
	}
	rows, err := w.store.ClaimDue(ctx, now, limit, w.cfg.Lease)
	w.storeHealth(err)
	if err != nil {
		return false
	}
	var wg sync.WaitGroup
	for _, e := range rows {
		wg.Go(func() { w.deliver(ctx, e) })
	}
	wg.Wait()
	return len(rows) == limit
}

// claimLimit says how many rows may be claimed now: none while Freshdesk
// asked us to wait or refused our key, one while probing after a pause.
func (w *Worker) claimLimit(now time.Time) (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now.Before(w.holdUntil) || now.Before(w.pausedUntil) {
		return 0, false
	}
	if w.probing {
		return 1, true
	}
	return w.cfg.Batch, true
}

// storeHealth logs the start and the end of a store outage, not every poll.
func (w *Worker) storeHealth(err error) {
	w.mu.Lock()
	was := w.storeDown
	down := err != nil && !errors.Is(err, context.Canceled)
	w.storeDown = down
	w.mu.Unlock()
	switch {
	case down && !was:
		w.log.Error().Err(err).Msg("cannot claim outbox rows; tickets wait until the store answers")
	case was && !down:
		w.log.Info().Msg("claiming outbox rows again")
	}
}

// DeliverNow implements actions.Deliverer: it claims the row and delivers it
// within ctx's deadline. It returns the Freshdesk ticket id, or an error
// wrapping ErrQueued when the ticket stays queued (Freshdesk slow, down,
// rate limited, or the row is leased and not delivered before ctx ends),
// cardstore.ErrNotFound for an unknown row, or the store's error.
func (w *Worker) DeliverNow(ctx context.Context, outboxID int64) (int64, error) {
	now := w.cfg.Now()
	if _, ok := w.claimLimit(now); !ok {
		// Freshdesk asked us to wait; the row may be delivered already.
		return w.awaitOther(ctx, outboxID)
	}
	e, err := w.store.ClaimByID(ctx, outboxID, now, w.cfg.Lease)
	if errors.Is(err, cardstore.ErrConflict) {
		return w.awaitOther(ctx, outboxID)
	}
	if err != nil {
		return 0, fmt.Errorf("deliver outbox row %d: %w", outboxID, err)
	}
	o := w.deliver(ctx, e)
	if o.ticketID > 0 {
		return o.ticketID, nil
	}
	return 0, fmt.Errorf("outbox row %d: %s: %w", outboxID, o.result, ErrQueued)
}

// awaitOther handles a row DeliverNow could not claim: delivered already, or
// on the wire from another worker (then its outcome is worth waiting for
// until ctx ends), or backing off.
func (w *Worker) awaitOther(ctx context.Context, id int64) (int64, error) {
	for {
		e, err := w.store.OutboxByID(ctx, id)
		switch {
		case err != nil:
			return 0, fmt.Errorf("outbox row %d: %w: %w", id, ErrQueued, err)
		case e.State == cardstore.OutboxDelivered:
			return e.FreshdeskTicketID, nil
		case e.State != cardstore.OutboxUncertain || e.LastError != inFlight || !e.NextAttemptAt.After(w.cfg.Now()):
			// Backing off, or its worker died mid-POST (the lease ran out):
			// nobody will answer before ctx ends.
			return 0, fmt.Errorf("outbox row %d is %s: %w", id, e.State, ErrQueued)
		}
		t := time.NewTimer(awaitInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("outbox row %d is being delivered: %w", id, ErrQueued)
		case <-t.C:
		}
	}
}

// outcome is the end of one delivery attempt.
type outcome struct {
	result   string
	ticketID int64
}

// deliver makes one attempt at a claimed row and records its outcome.
func (w *Worker) deliver(ctx context.Context, e cardstore.OutboxEntry) outcome {
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, w.budget)
	defer cancel()
	var o outcome
	if e.Ticket.Kind == cardstore.TicketFollowUp {
		o = w.deliverFollowUp(actx, e)
	} else {
		o = w.deliverTicket(actx, e, BuildTicket(e.Ticket, w.client.build))
	}
	w.metrics.deliveries.WithLabelValues(o.result).Inc()
	w.metrics.duration.Observe(time.Since(start).Seconds())
	if o.ticketID > 0 {
		w.endProbe()
	}
	return o
}

// deliverTicket creates the ticket of a block or hand-off (or of a
// follow-up that has no ticket to go on), reconciling first when an earlier
// POST may have created it.
func (w *Worker) deliverTicket(ctx context.Context, e cardstore.OutboxEntry, tk Ticket) outcome {
	if e.State == cardstore.OutboxUncertain {
		id, err := w.reconcile(ctx, e, tk)
		if err != nil {
			return w.failed(ctx, e, err)
		}
		if id > 0 {
			return w.delivered(ctx, e, id, resultReconciled)
		}
	}
	return w.create(ctx, e, tk)
}

// create sends the POST. The row is marked uncertain first: if we die, or
// the store cannot be written, between the POST and recording its result,
// the next attempt reconciles instead of posting again.
func (w *Worker) create(ctx context.Context, e cardstore.OutboxEntry, tk Ticket) outcome {
	now := w.cfg.Now()
	if err := w.store.MarkAttemptFailed(ctx, e.ID, cardstore.OutboxUncertain, now.Add(w.cfg.Lease), inFlight, now); err != nil {
		// Nothing was sent; the lease expires and the row is claimed again.
		w.log.Warn().Err(err).Int64("outbox_id", e.ID).Msg("cannot mark the row in flight; not sending")
		return outcome{result: resultRetry}
	}
	created, err := w.client.CreateTicket(ctx, tk)
	if err != nil {
		return w.failed(ctx, e, err)
	}
	return w.delivered(ctx, e, created.ID, resultDelivered)
}

// reconcile looks for the ticket an earlier attempt may have created. It
// returns its id, 0 when there is none, or the list call's error.
func (w *Worker) reconcile(ctx context.Context, e cardstore.OutboxEntry, tk Ticket) (int64, error) {
	found, err := w.search(ctx, tk, e.CreatedAt.Add(-reconcileSkew), func(s TicketSummary) bool { return s.Matches(tk) })
	if err != nil || len(found) == 0 {
		return 0, err
	}
	if len(found) > 1 {
		w.log.Error().Int64("outbox_id", e.ID).Int("tickets", len(found)).
			Msg("Freshdesk already holds more than one ticket for this outbox row; keeping the oldest")
	}
	return found[0].ID, nil
}

// search lists the requester's tickets updated since since and returns
// those that match, oldest first. A truncated list without a match is an
// error: the match may be on a page we did not read.
func (w *Worker) search(ctx context.Context, tk Ticket, since time.Time, match func(TicketSummary) bool) ([]TicketSummary, error) {
	queries := tk.ReconcileQueries(since)
	if len(queries) == 0 {
		return nil, errors.New("reconcile: the ticket has no requester to list by")
	}
	var found []TicketSummary
	seen := map[int64]bool{}
	truncated := false
	for _, q := range queries {
		list, err := w.client.ListTickets(ctx, q)
		if errors.Is(err, ErrListTruncated) {
			truncated = true
		} else if err != nil {
			return nil, err
		}
		for _, s := range list {
			if match(s) && !seen[s.ID] {
				seen[s.ID] = true
				found = append(found, s)
			}
		}
	}
	if len(found) == 0 && truncated {
		return nil, errReconcileIncomplete
	}
	// Lists come newest first; the oldest match is the original.
	slices.SortFunc(found, func(a, b TicketSummary) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return found, nil
}

// deliverFollowUp adds a private note to the incident's ticket. The ticket
// is the block's own outbox delivery when there is one; while that is still
// on its way the follow-up waits; when it is dead or the block never went
// through the outbox, Freshdesk is searched by reference, and if no ticket
// exists the follow-up becomes a ticket of its own. Notes have no
// idempotency and cannot be reconciled, so a note whose POST was ambiguous
// is sent again: a repeated private note is preferred to a lost one.
func (w *Worker) deliverFollowUp(ctx context.Context, e cardstore.OutboxEntry) outcome {
	tk := BuildTicket(e.Ticket, w.client.build)
	ref := strings.TrimSpace(e.Ticket.BlockReference)
	if ref == "" {
		return w.deliverTicket(ctx, e, tk)
	}
	since := e.CreatedAt.Add(-followUpLookback)
	orig, err := w.store.OutboxByKey(ctx, "block:"+ref)
	switch {
	case err == nil && orig.State == cardstore.OutboxDelivered:
		return w.addNote(ctx, e, orig.FreshdeskTicketID)
	case err == nil && orig.State != cardstore.OutboxDead:
		return w.retryLater(ctx, e, "waiting for the block's ticket")
	case err == nil:
		since = orig.CreatedAt.Add(-reconcileSkew)
	case !errors.Is(err, cardstore.ErrNotFound):
		return w.failed(ctx, e, err)
	}
	// Our own follow-up ticket from an ambiguous earlier POST carries the
	// reference too; its subject tells it from the block's ticket.
	found, err := w.search(ctx, tk, since, func(s TicketSummary) bool { return s.HasReference(ref) })
	if err != nil {
		return w.failed(ctx, e, err)
	}
	for _, s := range found {
		if s.Subject == tk.Subject && s.Matches(tk) {
			return w.delivered(ctx, e, s.ID, resultReconciled)
		}
	}
	if len(found) > 0 {
		return w.addNote(ctx, e, found[0].ID)
	}
	return w.create(ctx, e, tk)
}

func (w *Worker) addNote(ctx context.Context, e cardstore.OutboxEntry, ticketID int64) outcome {
	if _, err := w.client.AddNote(ctx, ticketID, BuildNote(e.Ticket)); err != nil {
		return w.failed(ctx, e, err)
	}
	return w.delivered(ctx, e, ticketID, resultDelivered)
}

// bookkeeping is the context of a write that records an attempt's outcome:
// it must happen even when the attempt ran out of time or the worker is
// stopping, and it must end before the lease does.
func (w *Worker) bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), w.storeTimeout)
}

func (w *Worker) delivered(ctx context.Context, e cardstore.OutboxEntry, ticketID int64, result string) outcome {
	w.setHealth(true)
	bctx, cancel := w.bookkeeping(ctx)
	defer cancel()
	if err := w.store.MarkDelivered(bctx, e.ID, ticketID, w.cfg.Now()); err != nil {
		// The row is uncertain (or pending, for a note): the next attempt
		// finds this ticket instead of creating another.
		w.log.Error().Err(err).Int64("outbox_id", e.ID).Int64("ticket_id", ticketID).
			Msg("ticket delivered but the outbox row could not be marked; it will be reconciled")
	} else {
		w.log.Info().Int64("outbox_id", e.ID).Int64("ticket_id", ticketID).Str("kind", e.Ticket.Kind).
			Int("attempts", e.Attempts).Str("result", result).Msg("ticket delivered")
	}
	return outcome{result: result, ticketID: ticketID}
}

// retryLater puts the row back in its state (an uncertain row never becomes
// pending: a ticket it may have created can still appear) after a backoff.
func (w *Worker) retryLater(ctx context.Context, e cardstore.OutboxEntry, why string) outcome {
	w.reschedule(ctx, e, e.State, w.backoff(e.Attempts), why)
	return outcome{result: resultFor(e.State)}
}

func resultFor(state string) string {
	if state == cardstore.OutboxUncertain {
		return resultUncertain
	}
	return resultRetry
}

// failed records a failed attempt according to what the error says.
func (w *Worker) failed(ctx context.Context, e cardstore.OutboxEntry, err error) outcome {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		// A store error or an incomplete reconciliation: nothing was sent.
		w.log.Warn().Err(err).Int64("outbox_id", e.ID).Msg("delivery attempt failed before sending")
		return w.retryLater(ctx, e, err.Error())
	}
	why := describe(apiErr)
	now := w.cfg.Now()
	switch {
	case apiErr.Reason == ReasonAuth:
		return w.pause(ctx, e, apiErr, why, now)

	case apiErr.Permanent() && apiErr.Operation != opListTickets:
		w.dead(ctx, e, apiErr, why)
		return outcome{result: resultDead}

	case apiErr.Retryable():
		wait := w.backoff(e.Attempts)
		if apiErr.Reason == ReasonRateLimited && apiErr.RetryAfter > 0 {
			wait = max(wait, apiErr.RetryAfter)
			w.hold(now.Add(apiErr.RetryAfter))
		}
		if apiErr.Reason == ReasonNetwork && ctx.Err() == nil {
			// No connection, and not because we gave up: Freshdesk is unreachable.
			w.setHealth(false)
		}
		w.reschedule(ctx, e, e.State, wait, why)
		w.log.Info().Int64("outbox_id", e.ID).Str("reason", string(apiErr.Reason)).Int("attempts", e.Attempts).
			Dur("retry_in", wait).Msg("Freshdesk did not process the request; retrying later")
		return outcome{result: resultFor(e.State)}

	default:
		// An ambiguous POST makes the row uncertain: it is reconciled before
		// anything is sent again. A failed list call (even one Freshdesk
		// refuses, which is our bug) teaches nothing about the row, and
		// dead-lettering it could hide a ticket that exists.
		state := cardstore.OutboxUncertain
		if apiErr.Operation == opListTickets {
			state = e.State
		}
		if apiErr.Permanent() {
			w.log.Error().Int64("outbox_id", e.ID).Int("status", apiErr.Status).Str("code", apiErr.Code).
				Strs("fields", fieldNames(apiErr)).Msg("Freshdesk refused the reconciliation query")
		} else {
			w.log.Warn().Int64("outbox_id", e.ID).Str("operation", apiErr.Operation).Str("reason", string(apiErr.Reason)).
				Int("status", apiErr.Status).Int("attempts", e.Attempts).Msg("Freshdesk outcome unknown; reconciling before retrying")
		}
		wait := w.backoff(e.Attempts)
		if state == cardstore.OutboxUncertain {
			wait = max(wait, w.cfg.ReconcileDelay)
		}
		w.reschedule(ctx, e, state, wait, why)
		return outcome{result: resultFor(state)}
	}
}

// pause stops the queue after Freshdesk refused our credentials: retrying
// cannot help until someone fixes the key, and dead-lettering would bury
// every row queued meanwhile. The rows stay due after the pause.
func (w *Worker) pause(ctx context.Context, e cardstore.OutboxEntry, apiErr *APIError, why string, now time.Time) outcome {
	until := now.Add(w.cfg.AuthPause)
	w.mu.Lock()
	first := !now.Before(w.pausedUntil) // rows of one batch share a pause
	if until.After(w.pausedUntil) {
		w.pausedUntil = until
	}
	w.probing = true
	w.mu.Unlock()
	w.setHealth(false)
	if first {
		w.log.Error().Int("status", apiErr.Status).Str("code", apiErr.Code).Time("until", until).
			Msg("Freshdesk refused our credentials: ticket delivery paused; check FRESHDESK_API_KEY and the agent's role")
	}
	w.reschedule(ctx, e, e.State, w.cfg.AuthPause, "paused: "+why)
	return outcome{result: resultPaused}
}

func (w *Worker) dead(ctx context.Context, e cardstore.OutboxEntry, apiErr *APIError, why string) {
	bctx, cancel := w.bookkeeping(ctx)
	defer cancel()
	if err := w.store.MarkDead(bctx, e.ID, why, w.cfg.Now()); err != nil {
		w.log.Error().Err(err).Int64("outbox_id", e.ID).Msg("cannot dead-letter the outbox row")
		return
	}
	w.metrics.dead.Inc()
	// Code and field names only: messages and bodies may quote the caller.
	w.log.Error().Int64("outbox_id", e.ID).Str("kind", e.Ticket.Kind).Str("operation", apiErr.Operation).
		Int("status", apiErr.Status).Str("code", apiErr.Code).Strs("fields", fieldNames(apiErr)).
		Msg("Freshdesk refused the ticket: dead-lettered")
}

func (w *Worker) reschedule(ctx context.Context, e cardstore.OutboxEntry, state string, wait time.Duration, why string) {
	bctx, cancel := w.bookkeeping(ctx)
	defer cancel()
	now := w.cfg.Now()
	if err := w.store.MarkAttemptFailed(bctx, e.ID, state, now.Add(wait), why, now); err != nil {
		// The lease expires and the row is claimed again; if a POST went
		// out, the in-flight mark makes that attempt reconcile.
		w.log.Error().Err(err).Int64("outbox_id", e.ID).Msg("cannot record the failed attempt")
	}
}

// backoff is the jittered wait after a row's attempts-th attempt.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.cfg.BaseBackoff
	for i := 1; i < attempts && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxBackoff)
	half := d / 2
	return half + time.Duration(w.cfg.Rand()*float64(d-half))
}

// hold stops claiming until Retry-After has passed: the limit is per
// account, so every other request would be refused (and counted) too.
func (w *Worker) hold(until time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if until.After(w.holdUntil) {
		w.holdUntil = until
	}
}

func (w *Worker) endProbe() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.probing = false
}

func (w *Worker) setHealth(up bool) {
	w.mu.Lock()
	changed := !w.healthKnown || w.healthUp != up
	w.healthKnown, w.healthUp = true, up
	w.mu.Unlock()
	if changed && w.cfg.Health != nil {
		w.cfg.Health(up)
	}
}

// describe is an outbox row's last_error: operation, status, reason, code
// and field names. Freshdesk's messages are left out, since they can quote
// the request (a phone, a name).
func describe(e *APIError) string {
	var b strings.Builder
	b.WriteString(e.Operation)
	if e.Status != 0 {
		fmt.Fprintf(&b, " HTTP %d", e.Status)
	}
	fmt.Fprintf(&b, " (%s)", e.Reason)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if names := fieldNames(e); len(names) > 0 {
		b.WriteString(" [" + strings.Join(names, ", ") + "]")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	return b.String()
}

func fieldNames(e *APIError) []string {
	names := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		names = append(names, f.Field+" "+f.Code)
	}
	return names
}
