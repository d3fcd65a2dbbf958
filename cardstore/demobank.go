package cardstore

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"time"
)

// demoBankJSON is the demo bank of the design (§5): the embedded default's
// data and the tests' fixture. The people are fictional.
//
//go:embed demobank.json
var demoBankJSON []byte

// DemoBank is a small bank: customers, their cards and the audit rows of the
// cards that are already blocked. IDs are the demo's own; PostgreSQL assigns
// its own when the bank is seeded.
type DemoBank struct {
	Customers []Customer
	Cards     []Card
	Blocks    []Block
}

type demoFile struct {
	Customers []struct {
		ID         int64  `json:"id"`
		Ref        string `json:"ref"`
		FullName   string `json:"full_name"`
		PhoneE164  string `json:"phone_e164"`
		Email      string `json:"email"`
		NationalID string `json:"national_id"`
		Cards      []struct {
			ID     int64  `json:"id"`
			Last4  string `json:"last4"`
			Brand  string `json:"brand"`
			Kind   string `json:"kind"`
			Status string `json:"status"`
			Block  *struct {
				Reference       string    `json:"reference"`
				Reason          string    `json:"reason"`
				BlockType       string    `json:"block_type"`
				Channel         string    `json:"channel"`
				ConversationKey string    `json:"conversation_key"`
				CallID          string    `json:"call_id"`
				RequestedAt     time.Time `json:"requested_at"`
				BlockedAt       time.Time `json:"blocked_at"`
			} `json:"block"`
		} `json:"cards"`
	} `json:"customers"`
}

// LoadDemoBank decodes and checks the embedded demo bank. Every call returns
// a fresh copy, so callers may change what they get.
func LoadDemoBank() (DemoBank, error) {
	var f demoFile
	if err := json.Unmarshal(demoBankJSON, &f); err != nil {
		return DemoBank{}, fmt.Errorf("demo bank: %w", err)
	}
	var bank DemoBank
	for _, c := range f.Customers {
		cust := Customer{ID: c.ID, Ref: c.Ref, FullName: c.FullName, PhoneE164: c.PhoneE164, Email: c.Email, NationalID: c.NationalID}
		if !ValidPhoneE164(cust.PhoneE164) || (cust.NationalID != "" && !ValidNationalID(cust.NationalID)) {
			return DemoBank{}, fmt.Errorf("demo bank: customer %d: invalid phone or national id", c.ID)
		}
		bank.Customers = append(bank.Customers, cust)
		for _, k := range c.Cards {
			card := Card{ID: k.ID, CustomerID: c.ID, Last4: k.Last4, Brand: k.Brand, Kind: k.Kind, Status: k.Status}
			if !ValidLast4(card.Last4) || !isOneOf(card.Status, StatusActive, StatusBlocked, StatusCancelled) {
				return DemoBank{}, fmt.Errorf("demo bank: card %d: invalid last four or status", k.ID)
			}
			if b := k.Block; b != nil {
				card.BlockedAt = dbTime(b.BlockedAt)
				card.BlockReason = b.Reason
				card.BlockReference = b.Reference
				bank.Blocks = append(bank.Blocks, Block{
					Reference: b.Reference, CardID: k.ID, CustomerID: c.ID, ConversationKey: b.ConversationKey,
					Reason: b.Reason, BlockType: b.BlockType, Channel: b.Channel, CallID: b.CallID,
					RequestedAt: dbTime(b.RequestedAt), BlockedAt: dbTime(b.BlockedAt),
				})
			}
			if (card.Status == StatusBlocked) != (k.Block != nil) {
				return DemoBank{}, fmt.Errorf("demo bank: card %d: a blocked card needs its block and only it", k.ID)
			}
			bank.Cards = append(bank.Cards, card)
		}
	}
	return bank, nil
}
