// Package cardstore holds the bank's customers and cards, the verification
// records and failure counters, the append-only block audit and the ticket
// outbox. It has two implementations with one behaviour: an in-memory store
// loaded with the embedded demo bank, and PostgreSQL (the store of record).
//
// No type here can hold a full card number, a CVV or a PIN: cards are known
// by an internal id and their last four digits only (PCI DSS 3.4.1).
package cardstore

import (
	"crypto/rand"
	"errors"
	"time"
)

// Errors every store returns; drivers' own errors never leave the package.
var (
	// ErrNotFound: no such customer, card, verification, block or outbox row.
	ErrNotFound = errors.New("cardstore: not found")
	// ErrConflict: the change contradicts the stored state (e.g. a duplicate key
	// with a different payload, or an outbox row that is not in the expected state).
	ErrConflict = errors.New("cardstore: conflict")
	// ErrUnavailable: the store cannot be reached right now; the caller should
	// degrade (hand the call to an agent) rather than fail.
	ErrUnavailable = errors.New("cardstore: unavailable")
)

// Card statuses, as stored.
const (
	StatusActive    = "active"
	StatusBlocked   = "blocked"
	StatusCancelled = "cancelled"
)

// Card kinds.
const (
	KindDebit  = "debit"
	KindCredit = "credit"
)

// Block reasons (the categorical values of the Rasa slot block_reason).
const (
	ReasonLost    = "lost"
	ReasonStolen  = "stolen"
	ReasonFraud   = "fraud"
	ReasonDamaged = "damaged"
	ReasonOther   = "other"
)

// Block types.
const (
	BlockTemporary = "temporary"
	BlockPermanent = "permanent"
)

// Customer is a bank customer. Email and NationalID may be empty.
type Customer struct {
	ID         int64
	FullName   string
	PhoneE164  string
	Email      string
	NationalID string
	// Ref is the core-banking reference the customer was imported with
	// (customer_ref in the import file); empty when unknown.
	Ref string
}

// Card is a payment card known only by its last four digits.
type Card struct {
	ID          int64
	CustomerID  int64
	Last4       string
	Brand       string // Visa, Mastercard
	Kind        string // KindDebit, KindCredit
	Status      string // StatusActive, StatusBlocked, StatusCancelled
	BlockedAt   time.Time
	BlockReason string
	// BlockReference is the reference of the block that blocked the card, if any.
	BlockReference string
}

// Verification is the server-side proof that, in one conversation, the caller
// named a card of the customer by its last four digits. A tracker slot is
// never such proof: slots can be injected by whoever talks to Rasa.
type Verification struct {
	ConversationKey string
	CustomerID      int64
	CardID          int64
	VerifiedAt      time.Time
	ExpiresAt       time.Time
}

// Failure is one failed verification attempt. CustomerID is 0 when the caller
// could not be identified at all.
type Failure struct {
	ConversationKey string
	CustomerID      int64
	At              time.Time
}

// FailureCounts are the failures of a conversation (all time) and of a
// customer (within the window asked for).
type FailureCounts struct {
	Conversation int
	Customer     int
}

// BlockRequest asks to block the card of a verification.
type BlockRequest struct {
	ConversationKey string
	CardID          int64
	Reason          string
	BlockType       string
	Channel         string // "phone"
	CallID          string
	// RequestedAt is when the caller asked: under RDL 19/2018 the customer's
	// liability ends at notification, so this is the legally relevant time.
	RequestedAt time.Time
	// Ticket is what the back office needs; it is queued in the outbox in the
	// same transaction as the block. The caller fills Kind, ConversationKey,
	// Reason, BlockType, Channel, CallID and RequestedAt; the store fills in
	// IdempotencyKey ("block:"+reference), BlockReference and the customer and
	// card fields (CustomerID, CustomerName, Email, Phone, CardLast4, CardKind,
	// CardBrand) from the rows it locked, so the action needs no extra reads.
	Ticket TicketRequest
}

// Block is a row of the append-only audit of blocks.
type Block struct {
	Reference       string
	CardID          int64
	CustomerID      int64
	ConversationKey string
	Reason          string
	BlockType       string
	Channel         string
	CallID          string
	RequestedAt     time.Time
	BlockedAt       time.Time
}

// BlockResult is the outcome of BlockCard. AlreadyBlocked is true when the card
// was blocked before this request (by this conversation or another one); then
// Block describes the earlier block when it is known, and no ticket is queued.
type BlockResult struct {
	Block          Block
	Card           Card
	AlreadyBlocked bool
	// OutboxID is the ticket queued with the block (0 when AlreadyBlocked).
	OutboxID int64
}

// Ticket kinds.
const (
	TicketBlock    = "block"    // a card was blocked
	TicketHandoff  = "handoff"  // verification locked: an agent must call back
	TicketFollowUp = "followup" // a further call about an incident already open
)

// TicketRequest is the business content of a back-office ticket. It is stored
// as the outbox payload; the Freshdesk client turns it into its wire shape at
// delivery time, so a retry always sends the same body.
type TicketRequest struct {
	Kind            string    `json:"kind"`
	IdempotencyKey  string    `json:"idempotency_key"`
	ConversationKey string    `json:"conversation_key"`
	CustomerID      int64     `json:"customer_id,omitempty"`
	CustomerName    string    `json:"customer_name,omitempty"`
	Email           string    `json:"email,omitempty"`
	Phone           string    `json:"phone,omitempty"`
	CardLast4       string    `json:"card_last4,omitempty"`
	CardKind        string    `json:"card_kind,omitempty"`
	CardBrand       string    `json:"card_brand,omitempty"`
	BlockReference  string    `json:"block_reference,omitempty"`
	Reason          string    `json:"reason,omitempty"`
	BlockType       string    `json:"block_type,omitempty"`
	Channel         string    `json:"channel"`
	CallID          string    `json:"call_id,omitempty"`
	RequestedAt     time.Time `json:"requested_at"`
}

// Outbox states.
const (
	OutboxPending   = "pending"
	OutboxUncertain = "uncertain"
	OutboxDelivered = "delivered"
	OutboxDead      = "dead"
)

// OutboxEntry is a queued ticket.
type OutboxEntry struct {
	ID                int64
	IdempotencyKey    string
	ConversationKey   string
	Ticket            TicketRequest
	State             string
	Attempts          int
	NextAttemptAt     time.Time
	FreshdeskTicketID int64
	LastError         string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// referenceAlphabet leaves out letters and digits that sound or look alike
// when read out on the phone (0/O, 1/I/L, 5/S, 8/B).
const referenceAlphabet = "234679ACDEFGHJKMNPQRTUVWXYZ"

// NewBlockReference returns a fresh reference such as "BLK-7F3K9Q".
func NewBlockReference() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux; a failure means a broken kernel.
	}
	out := []byte("BLK-")
	for _, c := range b {
		out = append(out, referenceAlphabet[int(c)%len(referenceAlphabet)])
	}
	return string(out)
}

// Card brands the bank issues.
const (
	BrandVisa       = "Visa"
	BrandMastercard = "Mastercard"
)

// OutboxStats summarises the outbox for metrics and health checks.
type OutboxStats struct {
	// Pending counts rows still to deliver (pending and uncertain).
	Pending int
	// OldestPendingAge is how long the oldest undelivered row has waited (0 when none).
	OldestPendingAge time.Duration
	// Dead counts rows that will not be retried without an operator.
	Dead int
}

// Option configures a store.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock sets the clock a store uses for the times its callers do not pass
// (the time a card is blocked). Tests use it; the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

func buildOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}
