package cardstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Seed loads bank (usually LoadDemoBank's) into the database in one
// transaction. It is idempotent: customers are matched by Ref, and a customer
// already present is left as it is, cards included. IDs are the database's
// own. It returns ErrConflict when a new customer's phone or national id
// belongs to another customer, ErrUnavailable when the database cannot be
// reached.
func (p *Postgres) Seed(ctx context.Context, bank DemoBank) error {
	for _, c := range bank.Customers {
		if c.Ref == "" {
			return fmt.Errorf("seed: customer %d has no reference: %w", c.ID, ErrConflict)
		}
	}
	blocks := make(map[string]Block, len(bank.Blocks))
	for _, b := range bank.Blocks {
		blocks[b.Reference] = b
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for _, c := range bank.Customers {
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO customers (external_ref, full_name, phone_e164, email, national_id)
				VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''))
				ON CONFLICT (external_ref) DO NOTHING RETURNING id`,
				c.Ref, c.FullName, c.PhoneE164, c.Email, c.NationalID).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // seeded before
			}
			if err != nil {
				return err
			}
			for _, k := range bank.Cards {
				if k.CustomerID != c.ID {
					continue
				}
				if err := seedCard(ctx, tx, id, k, blocks); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return translate("seed", err)
}

// seedCard inserts a card and, for a blocked card, its audit row. The card
// and the audit row refer to each other, so the reference is set last.
func seedCard(ctx context.Context, tx pgx.Tx, customerID int64, k Card, blocks map[string]Block) error {
	var blockedAt *time.Time
	if !k.BlockedAt.IsZero() {
		blockedAt = &k.BlockedAt
	}
	var cardID int64
	err := tx.QueryRow(ctx, `INSERT INTO cards (customer_id, last4, brand, kind, status, blocked_at, block_reason)
		VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, '')) RETURNING id`,
		customerID, k.Last4, k.Brand, k.Kind, k.Status, blockedAt, k.BlockReason).Scan(&cardID)
	if err != nil {
		return err
	}
	b, ok := blocks[k.BlockReference]
	if k.BlockReference == "" || !ok {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO card_blocks (block_reference, card_id, customer_id, conversation_key, reason,
			block_type, channel, call_id, requested_at, blocked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9, $10)`,
		b.Reference, cardID, customerID, b.ConversationKey, b.Reason, b.BlockType, b.Channel, b.CallID, b.RequestedAt, b.BlockedAt); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE cards SET block_reference = $2 WHERE id = $1`, cardID, b.Reference)
	return err
}
