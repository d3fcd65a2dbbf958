package cardstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is the in-memory store: the embedded default when no database is
// configured, and the reference the PostgreSQL store is tested against. It
// is safe for concurrent use; one mutex serialises everything, which is
// plenty for a demo and makes BlockCard trivially atomic.
type Memory struct {
	now func() time.Time

	mu            sync.Mutex
	customers     map[int64]Customer
	byPhone       map[string]int64
	byNationalID  map[string]int64
	cards         map[int64]Card
	cardsByCust   map[int64][]int64 // card ids in id order
	verifications map[string]Verification
	convFailures  map[string]int
	custFailures  map[int64][]time.Time
	blocks        map[string]Block
	outbox        []OutboxEntry // outbox[i].ID == i+1
	outboxByKey   map[string]int64
}

// NewMemory returns a memory store holding bank (usually LoadDemoBank's).
// The store keeps its own copy.
func NewMemory(bank DemoBank, opts ...Option) *Memory {
	o := buildOptions(opts)
	m := &Memory{
		now:           o.now,
		customers:     make(map[int64]Customer),
		byPhone:       make(map[string]int64),
		byNationalID:  make(map[string]int64),
		cards:         make(map[int64]Card),
		cardsByCust:   make(map[int64][]int64),
		verifications: make(map[string]Verification),
		convFailures:  make(map[string]int),
		custFailures:  make(map[int64][]time.Time),
		blocks:        make(map[string]Block),
		outboxByKey:   make(map[string]int64),
	}
	for _, c := range bank.Customers {
		m.customers[c.ID] = c
		m.byPhone[c.PhoneE164] = c.ID
		if c.NationalID != "" {
			m.byNationalID[c.NationalID] = c.ID
		}
	}
	for _, k := range bank.Cards {
		k.BlockedAt = dbTime(k.BlockedAt)
		m.cards[k.ID] = k
		m.cardsByCust[k.CustomerID] = append(m.cardsByCust[k.CustomerID], k.ID)
	}
	for _, ids := range m.cardsByCust {
		slices.Sort(ids)
	}
	for _, b := range bank.Blocks {
		m.blocks[b.Reference] = b
	}
	return m
}

// Ping always succeeds: memory is always there.
func (m *Memory) Ping(ctx context.Context) error { return nil }

// CustomerByPhone finds the customer whose registered phone is phone (E.164).
// It returns ErrNotFound when there is none.
func (m *Memory) CustomerByPhone(ctx context.Context, phone string) (Customer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byPhone[phone]
	if !ok {
		return Customer{}, fmt.Errorf("customer by phone: %w", ErrNotFound)
	}
	return m.customers[id], nil
}

// CustomerByNationalID finds the customer by DNI/NIE (compared upper case).
// It returns ErrNotFound when there is none.
func (m *Memory) CustomerByNationalID(ctx context.Context, nationalID string) (Customer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byNationalID[strings.ToUpper(nationalID)]
	if !ok || nationalID == "" {
		return Customer{}, fmt.Errorf("customer by national id: %w", ErrNotFound)
	}
	return m.customers[id], nil
}

// CardsEndingIn lists the customer's cards of any status whose last four
// digits are last4, in id order. It returns ErrNotFound when none match.
func (m *Memory) CardsEndingIn(ctx context.Context, customerID int64, last4 string) ([]Card, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Card
	for _, id := range m.cardsByCust[customerID] {
		if c := m.cards[id]; c.Last4 == last4 {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cards ending in: %w", ErrNotFound)
	}
	return out, nil
}

// RecordFailure stores a failed verification and returns the conversation's
// failures (all time) and the customer's failures at or after since (0 for
// an unknown caller, CustomerID 0). It returns ErrConflict for an invalid
// failure or a customer that does not exist.
func (m *Memory) RecordFailure(ctx context.Context, f Failure, since time.Time) (FailureCounts, error) {
	if err := validFailure(f); err != nil {
		return FailureCounts{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.customers[f.CustomerID]; f.CustomerID != 0 && !ok {
		return FailureCounts{}, fmt.Errorf("record failure: unknown customer: %w", ErrConflict)
	}
	m.convFailures[f.ConversationKey]++
	if f.CustomerID != 0 {
		m.custFailures[f.CustomerID] = append(m.custFailures[f.CustomerID], dbTime(f.At))
	}
	return m.countsLocked(f.ConversationKey, f.CustomerID, since), nil
}

// FailureCounts returns the counts RecordFailure returns, recording nothing.
func (m *Memory) FailureCounts(ctx context.Context, conversationKey string, customerID int64, since time.Time) (FailureCounts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.countsLocked(conversationKey, customerID, since), nil
}

func (m *Memory) countsLocked(conversationKey string, customerID int64, since time.Time) FailureCounts {
	fc := FailureCounts{Conversation: m.convFailures[conversationKey]}
	if customerID != 0 {
		since = dbTime(since)
		for _, at := range m.custFailures[customerID] {
			if !at.Before(since) {
				fc.Customer++
			}
		}
	}
	return fc
}

// SaveVerification stores (or replaces) the conversation's verification. It
// returns ErrConflict when the verification is invalid or its card does not
// belong to its customer.
func (m *Memory) SaveVerification(ctx context.Context, v Verification) error {
	if err := validVerification(v); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.cards[v.CardID]; !ok || c.CustomerID != v.CustomerID {
		return fmt.Errorf("save verification: card not of customer: %w", ErrConflict)
	}
	v.VerifiedAt, v.ExpiresAt = dbTime(v.VerifiedAt), dbTime(v.ExpiresAt)
	m.verifications[v.ConversationKey] = v
	return nil
}

// Verification returns the conversation's verification if it has not
// expired at now; ErrNotFound otherwise.
func (m *Memory) Verification(ctx context.Context, conversationKey string, now time.Time) (Verification, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.verifications[conversationKey]
	if !ok || !v.ExpiresAt.After(dbTime(now)) {
		return Verification{}, fmt.Errorf("verification: %w", ErrNotFound)
	}
	return v, nil
}

// BlockCard blocks an active card, appends its audit row and queues its
// ticket, all at once. A blocked card is not blocked again: the result says
// AlreadyBlocked, carries the earlier block and queues nothing. It returns
// ErrNotFound for an unknown card and ErrConflict for a cancelled card or an
// invalid request.
func (m *Memory) BlockCard(ctx context.Context, req BlockRequest) (BlockResult, error) {
	if err := validBlockRequest(req); err != nil {
		return BlockResult{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	card, ok := m.cards[req.CardID]
	if !ok {
		return BlockResult{}, fmt.Errorf("block card: %w", ErrNotFound)
	}
	switch card.Status {
	case StatusCancelled:
		return BlockResult{}, fmt.Errorf("block card: card is cancelled: %w", ErrConflict)
	case StatusBlocked:
		return BlockResult{Block: m.earlierBlockLocked(card), Card: card, AlreadyBlocked: true}, nil
	}
	ref := NewBlockReference()
	for m.blocks[ref].Reference != "" {
		ref = NewBlockReference()
	}
	now := dbTime(m.now())
	b := Block{
		Reference: ref, CardID: card.ID, CustomerID: card.CustomerID, ConversationKey: req.ConversationKey,
		Reason: req.Reason, BlockType: req.BlockType, Channel: req.Channel, CallID: req.CallID,
		RequestedAt: dbTime(req.RequestedAt), BlockedAt: now,
	}
	ticket := withHolder(blockTicket(req, ref), card, m.customers[card.CustomerID])
	if err := validTicket(ticket); err != nil {
		return BlockResult{}, err
	}
	card.Status, card.BlockedAt, card.BlockReason, card.BlockReference = StatusBlocked, now, req.Reason, ref
	m.blocks[ref] = b
	m.cards[card.ID] = card
	e := m.enqueueLocked(ticket, now)
	return BlockResult{Block: b, Card: card, OutboxID: e.ID}, nil
}

// earlierBlockLocked is the audit row of a blocked card, or what the card
// itself says when the block predates the audit (e.g. an imported card).
func (m *Memory) earlierBlockLocked(card Card) Block {
	if b, ok := m.blocks[card.BlockReference]; ok {
		return b
	}
	return Block{CardID: card.ID, CustomerID: card.CustomerID, Reason: card.BlockReason, BlockedAt: card.BlockedAt}
}

// BlockByReference returns the audit row of a block, or ErrNotFound.
func (m *Memory) BlockByReference(ctx context.Context, reference string) (Block, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blocks[reference]
	if !ok {
		return Block{}, fmt.Errorf("block by reference: %w", ErrNotFound)
	}
	return b, nil
}

// BlocksForCard returns the audit rows of a card, oldest first (none is not
// an error).
func (m *Memory) BlocksForCard(ctx context.Context, cardID int64) ([]Block, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Block
	for _, b := range m.blocks {
		if b.CardID == cardID {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Block) int { return a.BlockedAt.Compare(b.BlockedAt) })
	return out, nil
}

// EnqueueTicket inserts a pending outbox row keyed by t.IdempotencyKey, due
// at now, or returns the existing row with that key. It returns ErrConflict
// for an invalid ticket or when the key already belongs to another
// conversation or kind.
func (m *Memory) EnqueueTicket(ctx context.Context, t TicketRequest, now time.Time) (OutboxEntry, error) {
	if err := validTicket(t); err != nil {
		return OutboxEntry{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.outboxByKey[t.IdempotencyKey]; ok {
		return sameTicketOwner(m.outbox[id-1], t)
	}
	return m.enqueueLocked(t, dbTime(now)), nil
}

// sameTicketOwner returns e unless the repeated request is for another
// conversation or kind, which means two callers share a key by mistake.
func sameTicketOwner(e OutboxEntry, t TicketRequest) (OutboxEntry, error) {
	if e.ConversationKey != t.ConversationKey || e.Ticket.Kind != t.Kind {
		return OutboxEntry{}, fmt.Errorf("enqueue ticket: key used by another conversation or kind: %w", ErrConflict)
	}
	return e, nil
}

func (m *Memory) enqueueLocked(t TicketRequest, now time.Time) OutboxEntry {
	e := OutboxEntry{
		ID: int64(len(m.outbox) + 1), IdempotencyKey: t.IdempotencyKey, ConversationKey: t.ConversationKey,
		Ticket: roundTrip(t), State: OutboxPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	}
	m.outbox = append(m.outbox, e)
	m.outboxByKey[t.IdempotencyKey] = e.ID
	return e
}

// roundTrip passes the ticket through JSON, as PostgreSQL's jsonb payload
// does, so both stores hand back identical tickets.
func roundTrip(t TicketRequest) TicketRequest {
	b, err := json.Marshal(t)
	if err != nil {
		return t // a TicketRequest always marshals
	}
	var out TicketRequest
	if err := json.Unmarshal(b, &out); err != nil {
		return t
	}
	return out
}

// TicketForConversation returns the newest outbox row of a conversation, or
// ErrNotFound.
func (m *Memory) TicketForConversation(ctx context.Context, conversationKey string) (OutboxEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.outbox) - 1; i >= 0; i-- {
		if m.outbox[i].ConversationKey == conversationKey {
			return m.outbox[i], nil
		}
	}
	return OutboxEntry{}, fmt.Errorf("ticket for conversation: %w", ErrNotFound)
}

// ClaimDue leases up to limit rows that are pending or uncertain and due at
// now, oldest first: each gets one more attempt and is not due again until
// now+lease, so another worker leaves it alone while it is in flight.
func (m *Memory) ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]OutboxEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now = dbTime(now)
	var out []OutboxEntry
	for i := range m.outbox {
		if len(out) >= limit {
			break
		}
		if e := &m.outbox[i]; claimable(*e, now) {
			m.leaseLocked(e, now, lease)
			out = append(out, *e)
		}
	}
	return out, nil
}

func claimable(e OutboxEntry, now time.Time) bool {
	return (e.State == OutboxPending || e.State == OutboxUncertain) && !e.NextAttemptAt.After(now)
}

func (m *Memory) leaseLocked(e *OutboxEntry, now time.Time, lease time.Duration) {
	e.Attempts++
	e.NextAttemptAt = dbTime(now.Add(lease))
	e.UpdatedAt = now
}

// ClaimByID leases one row as ClaimDue does. It returns ErrNotFound for an
// unknown id and ErrConflict when the row is delivered, dead or leased.
func (m *Memory) ClaimByID(ctx context.Context, id int64, now time.Time, lease time.Duration) (OutboxEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.rowLocked(id, "claim outbox row")
	if err != nil {
		return OutboxEntry{}, err
	}
	now = dbTime(now)
	if !claimable(*e, now) {
		return OutboxEntry{}, fmt.Errorf("claim outbox row: not due: %w", ErrConflict)
	}
	m.leaseLocked(e, now, lease)
	return *e, nil
}

func (m *Memory) rowLocked(id int64, op string) (*OutboxEntry, error) {
	if id < 1 || id > int64(len(m.outbox)) {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return &m.outbox[id-1], nil
}

// inFlightLocked returns the row if it is pending or uncertain; ErrNotFound
// or ErrConflict otherwise.
func (m *Memory) inFlightLocked(id int64, op string) (*OutboxEntry, error) {
	e, err := m.rowLocked(id, op)
	if err != nil {
		return nil, err
	}
	if e.State != OutboxPending && e.State != OutboxUncertain {
		return nil, fmt.Errorf("%s: row is %s: %w", op, e.State, ErrConflict)
	}
	return e, nil
}

// MarkDelivered records that the row became Freshdesk ticket
// freshdeskTicketID. It returns ErrNotFound for an unknown id and
// ErrConflict unless the row is pending or uncertain.
func (m *Memory) MarkDelivered(ctx context.Context, id, freshdeskTicketID int64, now time.Time) error {
	if freshdeskTicketID <= 0 {
		return fmt.Errorf("mark delivered: invalid ticket id: %w", ErrConflict)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.inFlightLocked(id, "mark delivered")
	if err != nil {
		return err
	}
	e.State, e.FreshdeskTicketID, e.UpdatedAt = OutboxDelivered, freshdeskTicketID, dbTime(now)
	return nil
}

// MarkAttemptFailed puts the row back in state (pending, or uncertain when
// Freshdesk may have created the ticket), due again at next. It returns
// ErrNotFound for an unknown id and ErrConflict for another state or a row
// that is not pending or uncertain.
func (m *Memory) MarkAttemptFailed(ctx context.Context, id int64, state string, next time.Time, lastError string, now time.Time) error {
	if state != OutboxPending && state != OutboxUncertain {
		return fmt.Errorf("mark attempt failed: invalid state: %w", ErrConflict)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.inFlightLocked(id, "mark attempt failed")
	if err != nil {
		return err
	}
	e.State, e.NextAttemptAt, e.LastError, e.UpdatedAt = state, dbTime(next), clipError(lastError), dbTime(now)
	return nil
}

// MarkDead gives up on the row until an operator retries it. It returns
// ErrNotFound for an unknown id and ErrConflict unless the row is pending or
// uncertain.
func (m *Memory) MarkDead(ctx context.Context, id int64, lastError string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.inFlightLocked(id, "mark dead")
	if err != nil {
		return err
	}
	e.State, e.LastError, e.UpdatedAt = OutboxDead, clipError(lastError), dbTime(now)
	return nil
}

// OutboxByID returns one outbox row, or ErrNotFound.
func (m *Memory) OutboxByID(ctx context.Context, id int64) (OutboxEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.rowLocked(id, "outbox by id")
	if err != nil {
		return OutboxEntry{}, err
	}
	return *e, nil
}

// OutboxByKey returns the outbox row with an idempotency key, or ErrNotFound.
func (m *Memory) OutboxByKey(ctx context.Context, key string) (OutboxEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.outboxByKey[key]
	if !ok {
		return OutboxEntry{}, fmt.Errorf("outbox by key: %w", ErrNotFound)
	}
	return m.outbox[id-1], nil
}

// ListOutbox returns up to limit rows (100 when limit <= 0) in state, or in
// any state when state is "", newest first. It returns ErrConflict for an
// unknown state.
func (m *Memory) ListOutbox(ctx context.Context, state string, limit int) ([]OutboxEntry, error) {
	if state != "" && !validOutboxState(state) {
		return nil, fmt.Errorf("list outbox: unknown state: %w", ErrConflict)
	}
	if limit <= 0 {
		limit = defaultListLimit
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []OutboxEntry
	for i := len(m.outbox) - 1; i >= 0 && len(out) < limit; i-- {
		if state == "" || m.outbox[i].State == state {
			out = append(out, m.outbox[i])
		}
	}
	return out, nil
}

// defaultListLimit is ListOutbox's page when the caller gives none.
const defaultListLimit = 100

// RetryDead makes a dead row pending and due at now, with a fresh attempt
// count so the worker's retry budget starts again. It returns ErrNotFound for
// an unknown id and ErrConflict unless the row is dead.
func (m *Memory) RetryDead(ctx context.Context, id int64, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.rowLocked(id, "retry dead row")
	if err != nil {
		return err
	}
	if e.State != OutboxDead {
		return fmt.Errorf("retry dead row: row is %s: %w", e.State, ErrConflict)
	}
	now = dbTime(now)
	e.State, e.Attempts, e.NextAttemptAt, e.UpdatedAt = OutboxPending, 0, now, now
	return nil
}

// OutboxStats counts undelivered and dead rows and measures the age of the
// oldest undelivered row at now.
func (m *Memory) OutboxStats(ctx context.Context, now time.Time) (OutboxStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s OutboxStats
	var oldest time.Time
	for _, e := range m.outbox {
		switch e.State {
		case OutboxPending, OutboxUncertain:
			s.Pending++
			if oldest.IsZero() || e.CreatedAt.Before(oldest) {
				oldest = e.CreatedAt
			}
		case OutboxDead:
			s.Dead++
		}
	}
	if !oldest.IsZero() {
		s.OldestPendingAge = max(0, dbTime(now).Sub(oldest))
	}
	return s, nil
}
