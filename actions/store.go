package actions

import (
	"context"
	"time"

	"github.com/sctbnk/cardblock/cardstore"
)

// Store is what the actions need from the card store. Both cardstore.Memory
// and cardstore.Postgres implement it; every method returns cardstore's
// sentinel errors (ErrNotFound, ErrConflict, ErrUnavailable), never a driver's.
type Store interface {
	// CustomerByPhone finds the customer whose registered phone is phone (E.164).
	CustomerByPhone(ctx context.Context, phone string) (cardstore.Customer, error)
	// CustomerByNationalID finds the customer by DNI/NIE (upper case, no separators).
	CustomerByNationalID(ctx context.Context, nationalID string) (cardstore.Customer, error)
	// CardsEndingIn lists the customer's cards (any status) whose last four are last4.
	CardsEndingIn(ctx context.Context, customerID int64, last4 string) ([]cardstore.Card, error)

	// RecordFailure stores a failed verification attempt and returns the
	// conversation's failures and the customer's failures since `since`.
	RecordFailure(ctx context.Context, f cardstore.Failure, since time.Time) (cardstore.FailureCounts, error)
	// FailureCounts returns the same counts without recording anything.
	FailureCounts(ctx context.Context, conversationKey string, customerID int64, since time.Time) (cardstore.FailureCounts, error)
	// SaveVerification stores (or replaces) the conversation's verification.
	SaveVerification(ctx context.Context, v cardstore.Verification) error
	// Verification returns the conversation's verification if it has not
	// expired at now; ErrNotFound otherwise.
	Verification(ctx context.Context, conversationKey string, now time.Time) (cardstore.Verification, error)

	// BlockCard blocks the card in one transaction with its audit row and its
	// ticket's outbox row. A card that is already blocked is not blocked again:
	// the result says AlreadyBlocked and carries the earlier block.
	BlockCard(ctx context.Context, req cardstore.BlockRequest) (cardstore.BlockResult, error)
	// BlockByReference returns the audit row of a block.
	BlockByReference(ctx context.Context, reference string) (cardstore.Block, error)

	// EnqueueTicket inserts an outbox row keyed by t.IdempotencyKey, or returns
	// the existing row with that key (so a repeated call queues nothing new).
	EnqueueTicket(ctx context.Context, t cardstore.TicketRequest, now time.Time) (cardstore.OutboxEntry, error)
	// TicketForConversation returns the newest outbox row of a conversation.
	TicketForConversation(ctx context.Context, conversationKey string) (cardstore.OutboxEntry, error)
}

// Deliverer tries to deliver one queued ticket right now. It returns the
// Freshdesk ticket id, or an error when the ticket stays queued (the outbox
// worker will deliver it later). nil means Freshdesk is not configured.
type Deliverer interface {
	DeliverNow(ctx context.Context, outboxID int64) (ticketID int64, err error)
}
