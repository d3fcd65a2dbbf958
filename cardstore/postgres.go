package cardstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the store of record. It is safe for concurrent use; every
// method is one statement or one batch (one round trip) unless its doc says
// otherwise, and each returns only the package's sentinel errors.
type Postgres struct {
	pool  *pgxpool.Pool
	now   func() time.Time
	owned bool // the pool was opened by OpenPostgres and is closed by Close
}

// NewPostgres returns a store on pool. The caller owns the pool; run Migrate
// first.
func NewPostgres(pool *pgxpool.Pool, opts ...Option) *Postgres {
	return &Postgres{pool: pool, now: buildOptions(opts).now}
}

// OpenPostgres opens a pool on url and returns a store that owns it (Close
// closes it). It does not wait for the database: a database that is down
// makes the methods return ErrUnavailable, not OpenPostgres fail. The error
// never quotes url, which may hold a password.
func OpenPostgres(ctx context.Context, url string, opts ...Option) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("open postgres: invalid database URL")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, translate("open postgres", err)
	}
	p := NewPostgres(pool, opts...)
	p.owned = true
	return p, nil
}

// Close closes the pool if OpenPostgres opened it.
func (p *Postgres) Close() {
	if p.owned {
		p.pool.Close()
	}
}

// Ping checks that the database answers. It returns ErrUnavailable otherwise.
func (p *Postgres) Ping(ctx context.Context) error {
	return translate("ping", p.pool.Ping(ctx))
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface{ Scan(dest ...any) error }

const customerColumns = `id, COALESCE(external_ref, ''), full_name, phone_e164, COALESCE(email, ''), COALESCE(national_id, '')`

func scanCustomer(row scanner) (Customer, error) {
	var c Customer
	err := row.Scan(&c.ID, &c.Ref, &c.FullName, &c.PhoneE164, &c.Email, &c.NationalID)
	return c, err
}

const cardColumns = `id, customer_id, last4, brand, kind, status, blocked_at, COALESCE(block_reason, ''), COALESCE(block_reference, '')`

func scanCard(row scanner) (Card, error) {
	var c Card
	var blockedAt *time.Time
	err := row.Scan(&c.ID, &c.CustomerID, &c.Last4, &c.Brand, &c.Kind, &c.Status, &blockedAt, &c.BlockReason, &c.BlockReference)
	if blockedAt != nil {
		c.BlockedAt = blockedAt.UTC()
	}
	return c, err
}

const blockColumns = `block_reference, card_id, customer_id, conversation_key, reason, block_type, channel, COALESCE(call_id, ''), requested_at, blocked_at`

func scanBlock(row scanner) (Block, error) {
	var b Block
	err := row.Scan(&b.Reference, &b.CardID, &b.CustomerID, &b.ConversationKey, &b.Reason, &b.BlockType, &b.Channel, &b.CallID, &b.RequestedAt, &b.BlockedAt)
	b.RequestedAt, b.BlockedAt = b.RequestedAt.UTC(), b.BlockedAt.UTC()
	return b, err
}

// outboxColumns lists the columns of an OutboxEntry, each prefixed (a table
// alias, where a query needs one).
func outboxColumns(prefix string) string {
	return strings.NewReplacer("$.", prefix).Replace(`$.id, $.idempotency_key, $.conversation_key, $.payload, $.state, $.attempts,
		$.next_attempt_at, COALESCE($.freshdesk_ticket_id, 0), COALESCE($.last_error, ''), $.created_at, $.updated_at`)
}

func scanOutbox(row scanner) (OutboxEntry, error) {
	var e OutboxEntry
	var payload []byte
	err := row.Scan(&e.ID, &e.IdempotencyKey, &e.ConversationKey, &payload, &e.State, &e.Attempts,
		&e.NextAttemptAt, &e.FreshdeskTicketID, &e.LastError, &e.CreatedAt, &e.UpdatedAt)
	if err != nil {
		return e, err
	}
	e.NextAttemptAt, e.CreatedAt, e.UpdatedAt = e.NextAttemptAt.UTC(), e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	if err := json.Unmarshal(payload, &e.Ticket); err != nil {
		return e, fmt.Errorf("outbox row %d: undecodable payload", e.ID)
	}
	return e, nil
}

// CustomerByPhone finds the customer whose registered phone is phone (E.164).
// It returns ErrNotFound when there is none, ErrUnavailable when the database
// cannot be reached.
func (p *Postgres) CustomerByPhone(ctx context.Context, phone string) (Customer, error) {
	c, err := scanCustomer(p.pool.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE phone_e164 = $1`, phone))
	return c, translate("customer by phone", err)
}

// CustomerByNationalID finds the customer by DNI/NIE (compared upper case).
// It returns ErrNotFound when there is none, ErrUnavailable when the database
// cannot be reached.
func (p *Postgres) CustomerByNationalID(ctx context.Context, nationalID string) (Customer, error) {
	if nationalID == "" {
		return Customer{}, fmt.Errorf("customer by national id: %w", ErrNotFound)
	}
	c, err := scanCustomer(p.pool.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE national_id = $1`, strings.ToUpper(nationalID)))
	return c, translate("customer by national id", err)
}

// CardsEndingIn lists the customer's cards of any status whose last four
// digits are last4, in id order. It returns ErrNotFound when none match,
// ErrUnavailable when the database cannot be reached.
func (p *Postgres) CardsEndingIn(ctx context.Context, customerID int64, last4 string) ([]Card, error) {
	if !ValidLast4(last4) {
		return nil, fmt.Errorf("cards ending in: %w", ErrNotFound)
	}
	rows, err := p.pool.Query(ctx, `SELECT `+cardColumns+` FROM cards WHERE customer_id = $1 AND last4 = $2 ORDER BY id`, customerID, last4)
	if err != nil {
		return nil, translate("cards ending in", err)
	}
	cards, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Card, error) { return scanCard(r) })
	if err != nil {
		return nil, translate("cards ending in", err)
	}
	if len(cards) == 0 {
		return nil, fmt.Errorf("cards ending in: %w", ErrNotFound)
	}
	return cards, nil
}

// countFailures counts a conversation's failures and a customer's failures
// at or after $3 (customer 0 matches nothing: unknown callers are stored NULL).
const countFailures = `SELECT
	(SELECT count(*) FROM verification_failures WHERE conversation_key = $1),
	(SELECT count(*) FROM verification_failures WHERE customer_id = $2 AND at >= $3)`

// RecordFailure stores a failed verification and returns the conversation's
// failures (all time) and the customer's failures at or after since (0 for an
// unknown caller, CustomerID 0). It returns ErrConflict for an invalid failure
// or an unknown customer, ErrUnavailable when the database cannot be reached.
func (p *Postgres) RecordFailure(ctx context.Context, f Failure, since time.Time) (FailureCounts, error) {
	if err := validFailure(f); err != nil {
		return FailureCounts{}, err
	}
	// One batch is one round trip and one implicit transaction; the count
	// sees the insert because it is a later statement.
	var b pgx.Batch
	b.Queue(`INSERT INTO verification_failures (conversation_key, customer_id, at) VALUES ($1, NULLIF($2::bigint, 0), $3)`,
		f.ConversationKey, f.CustomerID, f.At)
	var fc FailureCounts
	b.Queue(countFailures, f.ConversationKey, f.CustomerID, since).QueryRow(func(row pgx.Row) error {
		return row.Scan(&fc.Conversation, &fc.Customer)
	})
	return fc, translate("record failure", p.pool.SendBatch(ctx, &b).Close())
}

// FailureCounts returns the counts RecordFailure returns, recording nothing.
// It returns ErrUnavailable when the database cannot be reached.
func (p *Postgres) FailureCounts(ctx context.Context, conversationKey string, customerID int64, since time.Time) (FailureCounts, error) {
	var fc FailureCounts
	err := p.pool.QueryRow(ctx, countFailures, conversationKey, customerID, since).Scan(&fc.Conversation, &fc.Customer)
	return fc, translate("failure counts", err)
}

// SaveVerification stores (or replaces) the conversation's verification. It
// returns ErrConflict when the verification is invalid or its card does not
// belong to its customer, ErrUnavailable when the database cannot be reached.
func (p *Postgres) SaveVerification(ctx context.Context, v Verification) error {
	if err := validVerification(v); err != nil {
		return err
	}
	_, err := p.pool.Exec(ctx, `INSERT INTO verifications (conversation_key, customer_id, card_id, verified_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (conversation_key) DO UPDATE SET customer_id = EXCLUDED.customer_id, card_id = EXCLUDED.card_id,
			verified_at = EXCLUDED.verified_at, expires_at = EXCLUDED.expires_at`,
		v.ConversationKey, v.CustomerID, v.CardID, v.VerifiedAt, v.ExpiresAt)
	return translate("save verification", err)
}

// Verification returns the conversation's verification if it has not
// expired at now. It returns ErrNotFound otherwise, ErrUnavailable when the
// database cannot be reached.
func (p *Postgres) Verification(ctx context.Context, conversationKey string, now time.Time) (Verification, error) {
	var v Verification
	err := p.pool.QueryRow(ctx, `SELECT conversation_key, customer_id, card_id, verified_at, expires_at
		FROM verifications WHERE conversation_key = $1 AND expires_at > $2`, conversationKey, now).
		Scan(&v.ConversationKey, &v.CustomerID, &v.CardID, &v.VerifiedAt, &v.ExpiresAt)
	v.VerifiedAt, v.ExpiresAt = v.VerifiedAt.UTC(), v.ExpiresAt.UTC()
	return v, translate("verification", err)
}

// blockSQL blocks a card in one statement, so one round trip and one
// transaction: `target` locks the card row (FOR UPDATE); under READ COMMITTED
// a caller that waited for the lock sees the row as the winner left it, so
// only one caller finds it active. Only then do the audit insert, the card
// update and the outbox insert happen, all fed by the audit row.
const blockSQL = `WITH target AS (
	SELECT ` + cardColumns + ` FROM cards WHERE id = $1 FOR UPDATE
), audit AS (
	INSERT INTO card_blocks (block_reference, card_id, customer_id, conversation_key, reason, block_type, channel, call_id, requested_at, blocked_at)
	SELECT $2, id, customer_id, $3, $4, $5, $6, NULLIF($7, ''), $8, $9 FROM target WHERE status = 'active'
	RETURNING block_reference, card_id
), blocked AS (
	UPDATE cards SET status = 'blocked', blocked_at = $9, block_reason = $4, block_reference = audit.block_reference
	FROM audit WHERE cards.id = audit.card_id
	RETURNING cards.id
), queued AS (
	INSERT INTO ticket_outbox (idempotency_key, conversation_key, kind, payload, state, attempts, next_attempt_at, created_at, updated_at)
	SELECT 'block:' || audit.block_reference, $3, 'block',
		-- the ticket names the holder and the card from the rows just locked
		$10::jsonb || jsonb_strip_nulls(jsonb_build_object('customer_id', cu.id, 'customer_name', cu.full_name,
			'email', cu.email, 'phone', cu.phone_e164, 'card_last4', target.last4, 'card_kind', target.kind,
			'card_brand', target.brand)),
		'pending', 0, $9, $9, $9
	FROM audit JOIN target ON target.id = audit.card_id JOIN customers cu ON cu.id = target.customer_id
	RETURNING id
)
SELECT target.*, (SELECT id FROM queued), EXISTS (SELECT 1 FROM blocked) FROM target`

// BlockCard blocks an active card, appends its audit row and queues its
// ticket in one transaction under a row lock on the card. A blocked card is
// not blocked again: the result says AlreadyBlocked, carries the earlier
// block and queues nothing. It returns ErrNotFound for an unknown card,
// ErrConflict for a cancelled card or an invalid request, ErrUnavailable when
// the database cannot be reached.
func (p *Postgres) BlockCard(ctx context.Context, req BlockRequest) (BlockResult, error) {
	if err := validBlockRequest(req); err != nil {
		return BlockResult{}, err
	}
	now := dbTime(p.now())
	// A fresh reference can collide with an old one (27^6 values); the unique
	// key refuses it and we draw again.
	for attempt := 0; ; attempt++ {
		ref := NewBlockReference()
		payload, err := json.Marshal(blockTicket(req, ref))
		if err != nil {
			return BlockResult{}, fmt.Errorf("block card: encode ticket: %w", err)
		}
		var card Card
		var outboxID *int64
		var blocked bool
		var blockedAt *time.Time
		err = p.pool.QueryRow(ctx, blockSQL, req.CardID, ref, req.ConversationKey, req.Reason, req.BlockType,
			req.Channel, req.CallID, req.RequestedAt, now, payload).
			Scan(&card.ID, &card.CustomerID, &card.Last4, &card.Brand, &card.Kind, &card.Status, &blockedAt,
				&card.BlockReason, &card.BlockReference, &outboxID, &blocked)
		if isUniqueViolation(err, "card_blocks_pkey", "ticket_outbox_idempotency_key_key") && attempt < 3 {
			continue
		}
		if err := translate("block card", err); err != nil {
			return BlockResult{}, err
		}
		if blockedAt != nil {
			card.BlockedAt = blockedAt.UTC()
		}
		if blocked {
			if outboxID == nil { // both come from the audit row; a bug if they disagree
				return BlockResult{}, errors.New("block card: blocked without queuing a ticket")
			}
			card.Status, card.BlockedAt, card.BlockReason, card.BlockReference = StatusBlocked, now, req.Reason, ref
			return BlockResult{
				Block: Block{
					Reference: ref, CardID: card.ID, CustomerID: card.CustomerID, ConversationKey: req.ConversationKey,
					Reason: req.Reason, BlockType: req.BlockType, Channel: req.Channel, CallID: req.CallID,
					RequestedAt: dbTime(req.RequestedAt), BlockedAt: now,
				},
				Card:     card,
				OutboxID: *outboxID,
			}, nil
		}
		return p.alreadyBlocked(ctx, card)
	}
}

// alreadyBlocked describes a card that BlockCard found blocked or cancelled.
// It reads the audit row in a statement of its own: the row may have been
// committed after the block statement's snapshot was taken.
func (p *Postgres) alreadyBlocked(ctx context.Context, card Card) (BlockResult, error) {
	switch card.Status {
	case StatusCancelled:
		return BlockResult{}, fmt.Errorf("block card: card is cancelled: %w", ErrConflict)
	case StatusBlocked:
	default:
		return BlockResult{}, fmt.Errorf("block card: card in unexpected status %q", card.Status)
	}
	earlier := Block{CardID: card.ID, CustomerID: card.CustomerID, Reason: card.BlockReason, BlockedAt: card.BlockedAt}
	if card.BlockReference != "" {
		b, err := p.BlockByReference(ctx, card.BlockReference)
		if err != nil {
			return BlockResult{}, fmt.Errorf("block card: earlier block: %w", err)
		}
		earlier = b
	}
	return BlockResult{Block: earlier, Card: card, AlreadyBlocked: true}, nil
}

// BlockByReference returns the audit row of a block. It returns ErrNotFound
// when there is none, ErrUnavailable when the database cannot be reached.
func (p *Postgres) BlockByReference(ctx context.Context, reference string) (Block, error) {
	b, err := scanBlock(p.pool.QueryRow(ctx, `SELECT `+blockColumns+` FROM card_blocks WHERE block_reference = $1`, reference))
	return b, translate("block by reference", err)
}

// BlocksForCard returns the audit rows of a card, oldest first (none is not
// an error). It returns ErrUnavailable when the database cannot be reached.
func (p *Postgres) BlocksForCard(ctx context.Context, cardID int64) ([]Block, error) {
	rows, err := p.pool.Query(ctx, `SELECT `+blockColumns+` FROM card_blocks WHERE card_id = $1 ORDER BY blocked_at, block_reference`, cardID)
	if err != nil {
		return nil, translate("blocks for card", err)
	}
	blocks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Block, error) { return scanBlock(r) })
	return blocks, translate("blocks for card", err)
}

// enqueueSQL inserts a row or, when the key exists, returns the existing one.
const enqueueSQL = `WITH inserted AS (
	INSERT INTO ticket_outbox (idempotency_key, conversation_key, kind, payload, state, attempts, next_attempt_at, created_at, updated_at)
	VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5)
	ON CONFLICT (idempotency_key) DO NOTHING
	RETURNING ` + "%[1]s" + `
)
SELECT * FROM inserted
UNION ALL
SELECT ` + "%[1]s" + ` FROM ticket_outbox WHERE idempotency_key = $1 AND NOT EXISTS (SELECT 1 FROM inserted)`

// EnqueueTicket inserts a pending outbox row keyed by t.IdempotencyKey, due
// at now, or returns the existing row with that key. It returns ErrConflict
// for an invalid ticket or when the key already belongs to another
// conversation or kind, ErrUnavailable when the database cannot be reached.
func (p *Postgres) EnqueueTicket(ctx context.Context, t TicketRequest, now time.Time) (OutboxEntry, error) {
	if err := validTicket(t); err != nil {
		return OutboxEntry{}, err
	}
	payload, err := json.Marshal(t)
	if err != nil {
		return OutboxEntry{}, fmt.Errorf("enqueue ticket: encode: %w", err)
	}
	e, err := scanOutbox(p.pool.QueryRow(ctx, fmt.Sprintf(enqueueSQL, outboxColumns("")), t.IdempotencyKey, t.ConversationKey, t.Kind, payload, now))
	if errors.Is(err, pgx.ErrNoRows) {
		// A concurrent caller inserted the key after our snapshot: the
		// insert waited for it and did nothing, and our SELECT could not see
		// it. A new statement can.
		e, err = p.OutboxByKey(ctx, t.IdempotencyKey)
		if err != nil {
			return OutboxEntry{}, fmt.Errorf("enqueue ticket: %w", err)
		}
	} else if err != nil {
		return OutboxEntry{}, translate("enqueue ticket", err)
	}
	return sameTicketOwner(e, t)
}

// TicketForConversation returns the newest outbox row of a conversation. It
// returns ErrNotFound when there is none, ErrUnavailable when the database
// cannot be reached.
func (p *Postgres) TicketForConversation(ctx context.Context, conversationKey string) (OutboxEntry, error) {
	e, err := scanOutbox(p.pool.QueryRow(ctx, `SELECT `+outboxColumns("")+` FROM ticket_outbox
		WHERE conversation_key = $1 ORDER BY id DESC LIMIT 1`, conversationKey))
	return e, translate("ticket for conversation", err)
}

func (p *Postgres) collectOutbox(ctx context.Context, op, sql string, args ...any) ([]OutboxEntry, error) {
	rows, err := p.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, translate(op, err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OutboxEntry, error) { return scanOutbox(r) })
	return es, translate(op, err)
}

// ClaimDue leases up to limit rows that are pending or uncertain and due at
// now, oldest first: each gets one more attempt and is not due again until
// now+lease. Rows another worker is claiming right now are skipped (FOR UPDATE
// SKIP LOCKED), and the lease keeps them skipped while they are in flight. It
// returns ErrUnavailable when the database cannot be reached.
func (p *Postgres) ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]OutboxEntry, error) {
	es, err := p.collectOutbox(ctx, "claim due", `UPDATE ticket_outbox o
		SET attempts = o.attempts + 1, next_attempt_at = $2, updated_at = $1
		FROM (SELECT id FROM ticket_outbox
			WHERE state IN ('pending', 'uncertain') AND next_attempt_at <= $1
			ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) due
		WHERE o.id = due.id
		RETURNING `+outboxColumns("o."), now, now.Add(lease), max(limit, 0))
	slices.SortFunc(es, func(a, b OutboxEntry) int { return cmp.Compare(a.ID, b.ID) }) // RETURNING has no order
	return es, err
}

// ClaimByID leases one row as ClaimDue does. It returns ErrNotFound for an
// unknown id, ErrConflict when the row is delivered, dead or leased,
// ErrUnavailable when the database cannot be reached.
func (p *Postgres) ClaimByID(ctx context.Context, id int64, now time.Time, lease time.Duration) (OutboxEntry, error) {
	e, err := scanOutbox(p.pool.QueryRow(ctx, `UPDATE ticket_outbox
		SET attempts = attempts + 1, next_attempt_at = $3, updated_at = $2
		WHERE id = $1 AND state IN ('pending', 'uncertain') AND next_attempt_at <= $2
		RETURNING `+outboxColumns(""), id, now, now.Add(lease)))
	if errors.Is(err, pgx.ErrNoRows) {
		return OutboxEntry{}, p.whyNot(ctx, "claim outbox row", id)
	}
	return e, translate("claim outbox row", err)
}

// whyNot explains an outbox update that matched no row: ErrNotFound when the
// row does not exist, ErrConflict when it is in another state.
func (p *Postgres) whyNot(ctx context.Context, op string, id int64) error {
	var state string
	err := p.pool.QueryRow(ctx, `SELECT state FROM ticket_outbox WHERE id = $1`, id).Scan(&state)
	if err != nil {
		return translate(op, err)
	}
	return fmt.Errorf("%s: row is %s: %w", op, state, ErrConflict)
}

// transition runs an UPDATE of one outbox row guarded by its state.
func (p *Postgres) transition(ctx context.Context, op string, id int64, sql string, args ...any) error {
	tag, err := p.pool.Exec(ctx, sql, append([]any{id}, args...)...)
	if err != nil {
		return translate(op, err)
	}
	if tag.RowsAffected() == 0 {
		return p.whyNot(ctx, op, id)
	}
	return nil
}

// MarkDelivered records that the row became Freshdesk ticket
// freshdeskTicketID. It returns ErrNotFound for an unknown id, ErrConflict
// unless the row is pending or uncertain, ErrUnavailable when the database
// cannot be reached.
func (p *Postgres) MarkDelivered(ctx context.Context, id, freshdeskTicketID int64, now time.Time) error {
	if freshdeskTicketID <= 0 {
		return fmt.Errorf("mark delivered: invalid ticket id: %w", ErrConflict)
	}
	return p.transition(ctx, "mark delivered", id, `UPDATE ticket_outbox
		SET state = 'delivered', freshdesk_ticket_id = $2, updated_at = $3
		WHERE id = $1 AND state IN ('pending', 'uncertain')`, freshdeskTicketID, now)
}

// MarkAttemptFailed puts the row back in state (pending, or uncertain when
// Freshdesk may have created the ticket), due again at next, with lastError
// (which must hold no secret or card digits). It returns ErrNotFound for an
// unknown id, ErrConflict for another state or a row that is not pending or
// uncertain, ErrUnavailable when the database cannot be reached.
func (p *Postgres) MarkAttemptFailed(ctx context.Context, id int64, state string, next time.Time, lastError string, now time.Time) error {
	if state != OutboxPending && state != OutboxUncertain {
		return fmt.Errorf("mark attempt failed: invalid state: %w", ErrConflict)
	}
	return p.transition(ctx, "mark attempt failed", id, `UPDATE ticket_outbox
		SET state = $2, next_attempt_at = $3, last_error = $4, updated_at = $5
		WHERE id = $1 AND state IN ('pending', 'uncertain')`, state, next, clipError(lastError), now)
}

// MarkDead gives up on the row until an operator retries it. It returns
// ErrNotFound for an unknown id, ErrConflict unless the row is pending or
// uncertain, ErrUnavailable when the database cannot be reached.
func (p *Postgres) MarkDead(ctx context.Context, id int64, lastError string, now time.Time) error {
	return p.transition(ctx, "mark dead", id, `UPDATE ticket_outbox
		SET state = 'dead', last_error = $2, updated_at = $3
		WHERE id = $1 AND state IN ('pending', 'uncertain')`, clipError(lastError), now)
}

// RetryDead makes a dead row pending and due at now, with a fresh attempt
// count so the worker's retry budget starts again. It returns ErrNotFound for
// an unknown id, ErrConflict unless the row is dead, ErrUnavailable when the
// database cannot be reached.
func (p *Postgres) RetryDead(ctx context.Context, id int64, now time.Time) error {
	return p.transition(ctx, "retry dead row", id, `UPDATE ticket_outbox
		SET state = 'pending', attempts = 0, next_attempt_at = $2, updated_at = $2
		WHERE id = $1 AND state = 'dead'`, now)
}

// OutboxByID returns one outbox row. It returns ErrNotFound when there is
// none, ErrUnavailable when the database cannot be reached.
func (p *Postgres) OutboxByID(ctx context.Context, id int64) (OutboxEntry, error) {
	e, err := scanOutbox(p.pool.QueryRow(ctx, `SELECT `+outboxColumns("")+` FROM ticket_outbox WHERE id = $1`, id))
	return e, translate("outbox by id", err)
}

// OutboxByKey returns the outbox row with an idempotency key. It returns
// ErrNotFound when there is none, ErrUnavailable when the database cannot be
// reached.
func (p *Postgres) OutboxByKey(ctx context.Context, key string) (OutboxEntry, error) {
	e, err := scanOutbox(p.pool.QueryRow(ctx, `SELECT `+outboxColumns("")+` FROM ticket_outbox WHERE idempotency_key = $1`, key))
	return e, translate("outbox by key", err)
}

// ListOutbox returns up to limit rows (100 when limit <= 0) in state, or in
// any state when state is "", newest first. It returns ErrConflict for an
// unknown state, ErrUnavailable when the database cannot be reached.
func (p *Postgres) ListOutbox(ctx context.Context, state string, limit int) ([]OutboxEntry, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	switch {
	case state == "":
		return p.collectOutbox(ctx, "list outbox", `SELECT `+outboxColumns("")+` FROM ticket_outbox ORDER BY id DESC LIMIT $1`, limit)
	case validOutboxState(state):
		return p.collectOutbox(ctx, "list outbox", `SELECT `+outboxColumns("")+` FROM ticket_outbox
			WHERE state = $1 ORDER BY id DESC LIMIT $2`, state, limit)
	}
	return nil, fmt.Errorf("list outbox: unknown state: %w", ErrConflict)
}

// OutboxStats counts undelivered and dead rows and measures the age of the
// oldest undelivered row at now. It returns ErrUnavailable when the database
// cannot be reached.
func (p *Postgres) OutboxStats(ctx context.Context, now time.Time) (OutboxStats, error) {
	var s OutboxStats
	var oldest *time.Time
	// Separate subqueries so each uses its partial index.
	err := p.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM ticket_outbox WHERE state IN ('pending', 'uncertain')),
		(SELECT min(created_at) FROM ticket_outbox WHERE state IN ('pending', 'uncertain')),
		(SELECT count(*) FROM ticket_outbox WHERE state = 'dead')`).Scan(&s.Pending, &oldest, &s.Dead)
	if err != nil {
		return OutboxStats{}, translate("outbox stats", err)
	}
	if oldest != nil {
		s.OldestPendingAge = max(0, dbTime(now).Sub(*oldest))
	}
	return s, nil
}
