package cardstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/sctbnk/cardblock/actions"
	"github.com/sctbnk/cardblock/cardstore"
)

// Both stores satisfy what the actions call.
var (
	_ actions.Store = (*cardstore.Memory)(nil)
	_ actions.Store = (*cardstore.Postgres)(nil)
	_ Store         = (*cardstore.Memory)(nil)
	_ Store         = (*cardstore.Postgres)(nil)
)

// Store is everything the contract covers: the actions' methods, the outbox
// the Freshdesk worker and the CLI use, and the audit listing.
type Store interface {
	actions.Store
	Ping(ctx context.Context) error
	BlocksForCard(ctx context.Context, cardID int64) ([]cardstore.Block, error)
	ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]cardstore.OutboxEntry, error)
	ClaimByID(ctx context.Context, id int64, now time.Time, lease time.Duration) (cardstore.OutboxEntry, error)
	MarkDelivered(ctx context.Context, id, freshdeskTicketID int64, now time.Time) error
	MarkAttemptFailed(ctx context.Context, id int64, state string, next time.Time, lastError string, now time.Time) error
	MarkDead(ctx context.Context, id int64, lastError string, now time.Time) error
	OutboxByID(ctx context.Context, id int64) (cardstore.OutboxEntry, error)
	OutboxByKey(ctx context.Context, key string) (cardstore.OutboxEntry, error)
	ListOutbox(ctx context.Context, state string, limit int) ([]cardstore.OutboxEntry, error)
	RetryDead(ctx context.Context, id int64, now time.Time) error
	OutboxStats(ctx context.Context, now time.Time) (cardstore.OutboxStats, error)
}

func TestMemoryContract(t *testing.T) {
	runContract(t, func(t *testing.T) Store { return cardstore.NewMemory(testBank(t)) })
}

// Phones of the fixture (design §5) and of the extra test customer.
const (
	phoneLucia   = "+34600111222"
	phoneJordi   = "+34611222333"
	phoneMaria   = "+34622333444"
	phoneCarlos  = "+525512345678"
	phoneUnknown = "+34699000111"
	phoneHidden  = "+266696687"
	phoneTest    = "+34633444555" // testBank's extra customer, with a cancelled card
)

// testBank is the demo bank plus one customer whose only card is cancelled,
// a status the demo bank does not have.
func testBank(t testing.TB) cardstore.DemoBank {
	t.Helper()
	bank, err := cardstore.LoadDemoBank()
	if err != nil {
		t.Fatal(err)
	}
	bank.Customers = append(bank.Customers, cardstore.Customer{ID: 100, Ref: "test-100", FullName: "Ana Prueba Cancelada", PhoneE164: phoneTest})
	bank.Cards = append(bank.Cards, cardstore.Card{ID: 100, CustomerID: 100, Last4: "9999", Brand: cardstore.BrandVisa, Kind: cardstore.KindDebit, Status: cardstore.StatusCancelled})
	return bank
}

// t0 is the contract's clock: every method that needs a time gets one.
var t0 = time.Date(2027, 3, 14, 10, 30, 0, 123456000, time.UTC)

func runContract(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("Lookups", func(t *testing.T) { testLookups(t, newStore(t)) })
	t.Run("Verification", func(t *testing.T) { testVerification(t, newStore(t)) })
	t.Run("Failures", func(t *testing.T) { testFailures(t, newStore(t)) })
	t.Run("BlockCard", func(t *testing.T) { testBlockCard(t, newStore(t)) })
	t.Run("BlockCardRejects", func(t *testing.T) { testBlockCardRejects(t, newStore(t)) })
	t.Run("ConcurrentBlocks", func(t *testing.T) { testConcurrentBlocks(t, newStore) })
	t.Run("EnqueueTicket", func(t *testing.T) { testEnqueueTicket(t, newStore(t)) })
	t.Run("ClaimDue", func(t *testing.T) { testClaimDue(t, newStore(t)) })
	t.Run("ConcurrentClaims", func(t *testing.T) { testConcurrentClaims(t, newStore(t)) })
	t.Run("OutboxTransitions", func(t *testing.T) { testOutboxTransitions(t, newStore(t)) })
	t.Run("ListAndStats", func(t *testing.T) { testListAndStats(t, newStore(t)) })
}

// fixture finds the ids a store gave the demo bank (PostgreSQL assigns its own).
type fixture struct {
	s   Store
	ctx context.Context
}

func (f fixture) customer(t *testing.T, phone string) cardstore.Customer {
	t.Helper()
	c, err := f.s.CustomerByPhone(f.ctx, phone)
	if err != nil {
		t.Fatalf("fixture customer: %v", err)
	}
	return c
}

func (f fixture) card(t *testing.T, phone, last4, kind string) cardstore.Card {
	t.Helper()
	cards, err := f.s.CardsEndingIn(f.ctx, f.customer(t, phone).ID, last4)
	if err != nil {
		t.Fatalf("fixture card: %v", err)
	}
	for _, c := range cards {
		if c.Kind == kind {
			return c
		}
	}
	t.Fatalf("fixture card: no %s card", kind)
	return cardstore.Card{}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil && err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func testLookups(t *testing.T, s Store) {
	ctx := t.Context()
	f := fixture{s, ctx}
	t.Run("CustomerByPhone", func(t *testing.T) {
		tests := []struct {
			name, phone string
			want        cardstore.Customer
			err         error
		}{
			{"customer with every field", phoneLucia, cardstore.Customer{Ref: "demo-1", FullName: "Lucía Martín Gómez", PhoneE164: phoneLucia, Email: "lucia.martin@example.com", NationalID: "12345678Z"}, nil},
			{"customer without email", phoneJordi, cardstore.Customer{Ref: "demo-2", FullName: "Jordi Puig Ferrer", PhoneE164: phoneJordi, NationalID: "X1234567L"}, nil},
			{"customer without national id", phoneCarlos, cardstore.Customer{Ref: "demo-4", FullName: "Carlos Ruiz Hernández", PhoneE164: phoneCarlos, Email: "carlos.ruiz@example.com"}, nil},
			{"unknown caller", phoneUnknown, cardstore.Customer{}, cardstore.ErrNotFound},
			{"withheld number", phoneHidden, cardstore.Customer{}, cardstore.ErrNotFound},
			{"empty", "", cardstore.Customer{}, cardstore.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.CustomerByPhone(ctx, tt.phone)
				wantErr(t, err, tt.err)
				if tt.err == nil {
					if got.ID == 0 {
						t.Error("customer without id")
					}
					got.ID = 0
					if got != tt.want {
						t.Errorf("got %+v, want %+v", got, tt.want)
					}
				}
			})
		}
	})
	t.Run("CustomerByNationalID", func(t *testing.T) {
		tests := []struct {
			name, id, wantPhone string
			err                 error
		}{
			{"DNI", "12345678Z", phoneLucia, nil},
			{"NIE", "X1234567L", phoneJordi, nil},
			{"lower case", "x1234567l", phoneJordi, nil},
			{"DNI of another customer", "87654321X", phoneMaria, nil},
			{"unknown", "00000000T", "", cardstore.ErrNotFound},
			{"empty", "", "", cardstore.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.CustomerByNationalID(ctx, tt.id)
				wantErr(t, err, tt.err)
				if tt.err == nil && got.PhoneE164 != tt.wantPhone {
					t.Errorf("got customer %d, want the one of the fixture", got.ID)
				}
			})
		}
	})
	t.Run("CardsEndingIn", func(t *testing.T) {
		type card struct{ brand, kind, status string }
		blockedAt := time.Date(2026, 11, 20, 8, 14, 0, 0, time.UTC) // 09:14 in Madrid
		tests := []struct {
			name       string
			customerID int64
			last4      string
			want       []card
			err        error
		}{
			{"one active card", f.customer(t, phoneLucia).ID, "4567", []card{{"Visa", "debit", "active"}}, nil},
			{"two cards sharing the last four", f.customer(t, phoneJordi).ID, "1234", []card{{"Mastercard", "debit", "active"}, {"Visa", "credit", "active"}}, nil},
			{"blocked card", f.customer(t, phoneMaria).ID, "0007", []card{{"Visa", "debit", "blocked"}}, nil},
			{"cancelled card", f.customer(t, phoneTest).ID, "9999", []card{{"Visa", "debit", "cancelled"}}, nil},
			{"another customer's digits", f.customer(t, phoneLucia).ID, "1234", nil, cardstore.ErrNotFound},
			{"unknown customer", 987654, "4567", nil, cardstore.ErrNotFound},
			{"not four digits", f.customer(t, phoneLucia).ID, "456", nil, cardstore.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.CardsEndingIn(ctx, tt.customerID, tt.last4)
				wantErr(t, err, tt.err)
				if len(got) != len(tt.want) {
					t.Fatalf("got %d cards, want %d", len(got), len(tt.want))
				}
				for i, c := range got {
					if (card{c.Brand, c.Kind, c.Status}) != tt.want[i] || c.Last4 != tt.last4 || c.CustomerID != tt.customerID || c.ID == 0 {
						t.Errorf("card %d = %+v, want %+v", i, c, tt.want[i])
					}
					if c.Status == cardstore.StatusBlocked {
						if c.BlockReference != "BLK-DEMO07" || c.BlockReason != cardstore.ReasonLost || !c.BlockedAt.Equal(blockedAt) {
							t.Errorf("blocked card = %+v", c)
						}
					} else if !c.BlockedAt.IsZero() || c.BlockReason != "" || c.BlockReference != "" {
						t.Errorf("never-blocked card has block data: %+v", c)
					}
				}
			})
		}
	})
	t.Run("BlockByReference", func(t *testing.T) {
		b, err := s.BlockByReference(ctx, "BLK-DEMO07")
		wantErr(t, err, nil)
		card := f.card(t, phoneMaria, "0007", cardstore.KindDebit)
		at := time.Date(2026, 11, 20, 8, 14, 0, 0, time.UTC)
		if b.CardID != card.ID || b.CustomerID != card.CustomerID || b.Reason != cardstore.ReasonLost ||
			!b.BlockedAt.Equal(at) || !b.RequestedAt.Equal(at) || b.Channel != "phone" {
			t.Errorf("demo block = %+v", b)
		}
		_, err = s.BlockByReference(ctx, "BLK-NOPE22")
		wantErr(t, err, cardstore.ErrNotFound)
	})
	t.Run("Ping", func(t *testing.T) { wantErr(t, s.Ping(ctx), nil) })
}

func testVerification(t *testing.T, s Store) {
	ctx := t.Context()
	f := fixture{s, ctx}
	lucia := f.customer(t, phoneLucia)
	debit := f.card(t, phoneLucia, "4567", cardstore.KindDebit)
	credit := f.card(t, phoneLucia, "0912", cardstore.KindCredit)
	jordis := f.card(t, phoneJordi, "1234", cardstore.KindDebit)

	v := cardstore.Verification{ConversationKey: "CA-verify", CustomerID: lucia.ID, CardID: debit.ID, VerifiedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	wantErr(t, s.SaveVerification(ctx, v), nil)

	tests := []struct {
		name, key string
		now       time.Time
		wantCard  int64
		err       error
	}{
		{"just verified", "CA-verify", t0, debit.ID, nil},
		{"a microsecond before expiry", "CA-verify", t0.Add(10*time.Minute - time.Microsecond), debit.ID, nil},
		{"at expiry", "CA-verify", t0.Add(10 * time.Minute), 0, cardstore.ErrNotFound},
		{"after expiry", "CA-verify", t0.Add(time.Hour), 0, cardstore.ErrNotFound},
		{"another conversation", "CA-other", t0, 0, cardstore.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Verification(ctx, tt.key, tt.now)
			wantErr(t, err, tt.err)
			if tt.err != nil {
				return
			}
			if got.CardID != tt.wantCard || got.CustomerID != lucia.ID || got.ConversationKey != tt.key ||
				!got.VerifiedAt.Equal(v.VerifiedAt.Truncate(time.Microsecond)) || !got.ExpiresAt.Equal(v.ExpiresAt.Truncate(time.Microsecond)) {
				t.Errorf("got %+v", got)
			}
		})
	}

	t.Run("replaced", func(t *testing.T) {
		w := v
		w.CardID, w.VerifiedAt, w.ExpiresAt = credit.ID, t0.Add(time.Minute), t0.Add(20*time.Minute)
		wantErr(t, s.SaveVerification(ctx, w), nil)
		got, err := s.Verification(ctx, v.ConversationKey, t0.Add(15*time.Minute))
		wantErr(t, err, nil)
		if got.CardID != credit.ID {
			t.Errorf("card %d, want the replacement %d", got.CardID, credit.ID)
		}
	})

	t.Run("rejected", func(t *testing.T) {
		bad := []struct {
			name   string
			change func(*cardstore.Verification)
		}{
			{"card of another customer", func(v *cardstore.Verification) { v.CardID = jordis.ID }},
			{"unknown card", func(v *cardstore.Verification) { v.CardID = 987654 }},
			{"unknown customer", func(v *cardstore.Verification) { v.CustomerID = 987654 }},
			{"expiry before verification", func(v *cardstore.Verification) { v.ExpiresAt = v.VerifiedAt.Add(-time.Second) }},
			{"empty conversation key", func(v *cardstore.Verification) { v.ConversationKey = "" }},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				w := v
				w.ConversationKey = "CA-rejected"
				tt.change(&w)
				wantErr(t, s.SaveVerification(ctx, w), cardstore.ErrConflict)
				_, err := s.Verification(ctx, "CA-rejected", t0)
				wantErr(t, err, cardstore.ErrNotFound)
			})
		}
	})
}

func testFailures(t *testing.T, s Store) {
	ctx := t.Context()
	f := fixture{s, ctx}
	lucia := f.customer(t, phoneLucia).ID
	jordi := f.customer(t, phoneJordi).ID
	window := t0.Add(-24 * time.Hour)

	// Steps run in order: each one records a failure and checks the counts.
	steps := []struct {
		name     string
		failure  cardstore.Failure
		since    time.Time
		want     cardstore.FailureCounts
		checkKey string // FailureCounts of this conversation after the step
	}{
		{"old failure outside the window", cardstore.Failure{ConversationKey: "CA-old", CustomerID: lucia, At: t0.Add(-25 * time.Hour)}, window, cardstore.FailureCounts{Conversation: 1, Customer: 0}, ""},
		{"first in conversation A", cardstore.Failure{ConversationKey: "CA-a", CustomerID: lucia, At: t0}, window, cardstore.FailureCounts{Conversation: 1, Customer: 1}, ""},
		{"second in conversation A", cardstore.Failure{ConversationKey: "CA-a", CustomerID: lucia, At: t0.Add(time.Minute)}, window, cardstore.FailureCounts{Conversation: 2, Customer: 2}, ""},
		{"a wider window counts the old one", cardstore.Failure{ConversationKey: "CA-a", CustomerID: lucia, At: t0.Add(2 * time.Minute)}, t0.Add(-48 * time.Hour), cardstore.FailureCounts{Conversation: 3, Customer: 4}, ""},
		{"failure exactly at since counts", cardstore.Failure{ConversationKey: "CA-b", CustomerID: lucia, At: window}, window, cardstore.FailureCounts{Conversation: 1, Customer: 4}, ""},
		{"another customer is counted apart", cardstore.Failure{ConversationKey: "CA-c", CustomerID: jordi, At: t0}, window, cardstore.FailureCounts{Conversation: 1, Customer: 1}, ""},
		{"unknown caller counts per conversation only", cardstore.Failure{ConversationKey: "CA-anon", At: t0}, window, cardstore.FailureCounts{Conversation: 1, Customer: 0}, ""},
		{"unknown caller again", cardstore.Failure{ConversationKey: "CA-anon", At: t0.Add(time.Second)}, window, cardstore.FailureCounts{Conversation: 2, Customer: 0}, ""},
	}
	for _, st := range steps {
		got, err := s.RecordFailure(ctx, st.failure, st.since)
		wantErr(t, err, nil)
		if got != st.want {
			t.Errorf("%s: counts %+v, want %+v", st.name, got, st.want)
		}
	}

	reads := []struct {
		name     string
		key      string
		customer int64
		want     cardstore.FailureCounts
	}{
		{"conversation A and its customer", "CA-a", lucia, cardstore.FailureCounts{Conversation: 3, Customer: 4}},
		{"unknown caller", "CA-anon", 0, cardstore.FailureCounts{Conversation: 2}},
		{"fresh conversation of a known customer", "CA-new", lucia, cardstore.FailureCounts{Customer: 4}},
		{"nothing recorded", "CA-none", f.customer(t, phoneCarlos).ID, cardstore.FailureCounts{}},
	}
	for _, tt := range reads {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.FailureCounts(ctx, tt.key, tt.customer, window)
			wantErr(t, err, nil)
			if got != tt.want {
				t.Errorf("counts %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("rejected", func(t *testing.T) {
		bad := []struct {
			name string
			f    cardstore.Failure
		}{
			{"unknown customer", cardstore.Failure{ConversationKey: "CA-x", CustomerID: 987654, At: t0}},
			{"empty conversation key", cardstore.Failure{CustomerID: lucia, At: t0}},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.RecordFailure(ctx, tt.f, window)
				wantErr(t, err, cardstore.ErrConflict)
			})
		}
		got, err := s.FailureCounts(ctx, "CA-x", 0, window)
		wantErr(t, err, nil)
		if got.Conversation != 0 {
			t.Errorf("a rejected failure was counted: %+v", got)
		}
	})
}

var referenceRE = regexp.MustCompile(`^BLK-[234679ACDEFGHJKMNPQRTUVWXYZ]{6}$`)

// blockRequest is what action_block_card sends for a card of a customer.
func blockRequest(conv string, c cardstore.Customer, card cardstore.Card) cardstore.BlockRequest {
	return cardstore.BlockRequest{
		ConversationKey: conv, CardID: card.ID, Reason: cardstore.ReasonStolen, BlockType: cardstore.BlockPermanent,
		Channel: "phone", CallID: conv, RequestedAt: t0,
		Ticket: cardstore.TicketRequest{
			Kind: cardstore.TicketBlock, ConversationKey: conv, CustomerID: c.ID, CustomerName: c.FullName,
			Email: c.Email, Phone: c.PhoneE164, CardLast4: card.Last4, CardKind: card.Kind, CardBrand: card.Brand,
			Reason: cardstore.ReasonStolen, BlockType: cardstore.BlockPermanent, Channel: "phone", CallID: conv, RequestedAt: t0,
		},
	}
}

// sameTicket compares tickets by their JSON, the form in which they are stored.
func sameTicket(t *testing.T, got, want cardstore.TicketRequest) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("ticket\n got %s\nwant %s", g, w)
	}
}

func outboxCount(t *testing.T, s Store) int {
	t.Helper()
	rows, err := s.ListOutbox(t.Context(), "", 10000)
	wantErr(t, err, nil)
	return len(rows)
}

func testBlockCard(t *testing.T, s Store) {
	ctx := t.Context()
	f := fixture{s, ctx}
	lucia := f.customer(t, phoneLucia)
	debit := f.card(t, phoneLucia, "4567", cardstore.KindDebit)

	req := blockRequest("CA-block-1", lucia, debit)
	res, err := s.BlockCard(ctx, req)
	wantErr(t, err, nil)
	ref := res.Block.Reference
	if res.AlreadyBlocked || !referenceRE.MatchString(ref) || res.OutboxID == 0 {
		t.Fatalf("result %+v", res)
	}
	if c := res.Card; c.ID != debit.ID || c.Status != cardstore.StatusBlocked || c.BlockReference != ref || c.BlockReason != cardstore.ReasonStolen || c.BlockedAt.IsZero() {
		t.Errorf("card in result %+v", c)
	}
	wantBlock := cardstore.Block{
		Reference: ref, CardID: debit.ID, CustomerID: lucia.ID, ConversationKey: req.ConversationKey, Reason: req.Reason,
		BlockType: req.BlockType, Channel: "phone", CallID: req.CallID, RequestedAt: t0.Truncate(time.Microsecond), BlockedAt: res.Block.BlockedAt,
	}
	if !equalBlock(res.Block, wantBlock) {
		t.Errorf("block %+v, want %+v", res.Block, wantBlock)
	}

	t.Run("card is blocked", func(t *testing.T) {
		c := f.card(t, phoneLucia, "4567", cardstore.KindDebit)
		if c.Status != cardstore.StatusBlocked || c.BlockReference != ref || !c.BlockedAt.Equal(res.Block.BlockedAt) {
			t.Errorf("stored card %+v", c)
		}
		other := f.card(t, phoneLucia, "0912", cardstore.KindCredit)
		if other.Status != cardstore.StatusActive {
			t.Errorf("the customer's other card changed: %+v", other)
		}
	})
	t.Run("one audit row", func(t *testing.T) {
		blocks, err := s.BlocksForCard(ctx, debit.ID)
		wantErr(t, err, nil)
		if len(blocks) != 1 || !equalBlock(blocks[0], res.Block) {
			t.Errorf("audit rows %+v", blocks)
		}
		b, err := s.BlockByReference(ctx, ref)
		wantErr(t, err, nil)
		if !equalBlock(b, res.Block) {
			t.Errorf("BlockByReference %+v", b)
		}
	})
	t.Run("one outbox row", func(t *testing.T) {
		if n := outboxCount(t, s); n != 1 {
			t.Fatalf("%d outbox rows, want 1", n)
		}
		e, err := s.OutboxByKey(ctx, "block:"+ref)
		wantErr(t, err, nil)
		if e.ID != res.OutboxID || e.State != cardstore.OutboxPending || e.Attempts != 0 || e.ConversationKey != req.ConversationKey ||
			!e.NextAttemptAt.Equal(res.Block.BlockedAt) || !e.CreatedAt.Equal(res.Block.BlockedAt) || e.FreshdeskTicketID != 0 || e.LastError != "" {
			t.Errorf("outbox row %+v", e)
		}
		want := req.Ticket
		want.BlockReference, want.IdempotencyKey = ref, "block:"+ref
		// The store names the holder and the card from the rows it locked.
		want.CustomerID, want.CustomerName, want.Email, want.Phone = debit.CustomerID, "Lucía Martín Gómez", "lucia.martin@example.com", "+34600111222"
		want.CardLast4, want.CardKind, want.CardBrand = debit.Last4, debit.Kind, debit.Brand
		sameTicket(t, e.Ticket, want)
		byConv, err := s.TicketForConversation(ctx, req.ConversationKey)
		wantErr(t, err, nil)
		if byConv.ID != e.ID {
			t.Errorf("TicketForConversation = row %d, want %d", byConv.ID, e.ID)
		}
	})
	t.Run("again in the same conversation", func(t *testing.T) {
		again, err := s.BlockCard(ctx, req)
		wantErr(t, err, nil)
		if !again.AlreadyBlocked || again.OutboxID != 0 || !equalBlock(again.Block, res.Block) || again.Card.BlockReference != ref {
			t.Errorf("second block %+v", again)
		}
	})
	t.Run("again from another conversation", func(t *testing.T) {
		again, err := s.BlockCard(ctx, blockRequest("CA-block-2", lucia, debit))
		wantErr(t, err, nil)
		if !again.AlreadyBlocked || again.Block.Reference != ref || again.Block.ConversationKey != req.ConversationKey {
			t.Errorf("block from another conversation %+v", again)
		}
		if _, err := s.TicketForConversation(ctx, "CA-block-2"); !errors.Is(err, cardstore.ErrNotFound) {
			t.Errorf("a second ticket was queued: %v", err)
		}
	})
	t.Run("card blocked before the store existed", func(t *testing.T) {
		maria := f.customer(t, phoneMaria)
		old := f.card(t, phoneMaria, "0007", cardstore.KindDebit)
		got, err := s.BlockCard(ctx, blockRequest("CA-block-3", maria, old))
		wantErr(t, err, nil)
		at := time.Date(2026, 11, 20, 8, 14, 0, 0, time.UTC)
		if !got.AlreadyBlocked || got.OutboxID != 0 || got.Block.Reference != "BLK-DEMO07" || !got.Block.BlockedAt.Equal(at) ||
			got.Card.Status != cardstore.StatusBlocked || got.Card.BlockReference != "BLK-DEMO07" {
			t.Errorf("demo block %+v", got)
		}
		if blocks, _ := s.BlocksForCard(ctx, old.ID); len(blocks) != 1 {
			t.Errorf("%d audit rows for the demo card, want 1", len(blocks))
		}
	})
	if n := outboxCount(t, s); n != 1 {
		t.Errorf("%d outbox rows at the end, want 1", n)
	}
}

func equalBlock(a, b cardstore.Block) bool {
	return a.RequestedAt.Equal(b.RequestedAt) && a.BlockedAt.Equal(b.BlockedAt) &&
		fmt.Sprint(a.Reference, a.CardID, a.CustomerID, a.ConversationKey, a.Reason, a.BlockType, a.Channel, a.CallID) ==
			fmt.Sprint(b.Reference, b.CardID, b.CustomerID, b.ConversationKey, b.Reason, b.BlockType, b.Channel, b.CallID)
}

func testBlockCardRejects(t *testing.T, s Store) {
	ctx := t.Context()
	f := fixture{s, ctx}
	lucia := f.customer(t, phoneLucia)
	debit := f.card(t, phoneLucia, "4567", cardstore.KindDebit)
	test := f.customer(t, phoneTest)
	cancelled := f.card(t, phoneTest, "9999", cardstore.KindDebit)

	tests := []struct {
		name string
		req  cardstore.BlockRequest
		err  error
	}{
		{"cancelled card", blockRequest("CA-r1", test, cancelled), cardstore.ErrConflict},
		{"unknown card", blockRequest("CA-r2", lucia, cardstore.Card{ID: 987654, Last4: "4567"}), cardstore.ErrNotFound},
		{"unknown reason", func() cardstore.BlockRequest { r := blockRequest("CA-r3", lucia, debit); r.Reason = "bored"; return r }(), cardstore.ErrConflict},
		{"unknown block type", func() cardstore.BlockRequest {
			r := blockRequest("CA-r4", lucia, debit)
			r.BlockType = "forever"
			return r
		}(), cardstore.ErrConflict},
		{"no conversation", func() cardstore.BlockRequest { r := blockRequest("", lucia, debit); return r }(), cardstore.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.BlockCard(ctx, tt.req)
			wantErr(t, err, tt.err)
		})
	}
	if c := f.card(t, phoneLucia, "4567", cardstore.KindDebit); c.Status != cardstore.StatusActive {
		t.Errorf("a rejected request changed the card: %+v", c)
	}
	if c := f.card(t, phoneTest, "9999", cardstore.KindDebit); c.Status != cardstore.StatusCancelled {
		t.Errorf("the cancelled card changed: %+v", c)
	}
	if n := outboxCount(t, s); n != 0 {
		t.Errorf("%d outbox rows after rejected blocks, want 0", n)
	}
}

func testConcurrentBlocks(t *testing.T, newStore func(t *testing.T) Store) {
	const callers = 50
	tests := []struct {
		name string
		conv func(i int) string
	}{
		{"same card from many conversations", func(i int) string { return fmt.Sprintf("CA-race-%d", i) }},
		{"same conversation retried", func(int) string { return "CA-race" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			f := fixture{s, ctx}
			jordi := f.customer(t, phoneJordi)
			card := f.card(t, phoneJordi, "1234", cardstore.KindCredit)

			// Warm up: open the pool's connections first, or connecting
			// staggers the callers so much that they barely overlap.
			var warm sync.WaitGroup
			for range callers {
				warm.Go(func() { _, _ = s.CardsEndingIn(ctx, jordi.ID, "1234") })
			}
			warm.Wait()

			results := make([]cardstore.BlockResult, callers)
			errs := make([]error, callers)
			var start, done sync.WaitGroup
			start.Add(1)
			for i := range callers {
				done.Go(func() {
					start.Wait()
					results[i], errs[i] = s.BlockCard(ctx, blockRequest(tt.conv(i), jordi, card))
				})
			}
			start.Done()
			done.Wait()

			fresh := 0
			for i := range callers {
				wantErr(t, errs[i], nil)
				if !results[i].AlreadyBlocked {
					fresh++
				}
				if results[i].Block.Reference != results[0].Block.Reference || results[i].Card.BlockReference != results[0].Block.Reference {
					t.Errorf("caller %d got reference %q, caller 0 %q", i, results[i].Block.Reference, results[0].Block.Reference)
				}
			}
			if fresh != 1 {
				t.Errorf("%d callers blocked the card, want exactly 1", fresh)
			}
			blocks, err := s.BlocksForCard(ctx, card.ID)
			wantErr(t, err, nil)
			if len(blocks) != 1 {
				t.Errorf("%d audit rows, want 1", len(blocks))
			}
			if n := outboxCount(t, s); n != 1 {
				t.Errorf("%d outbox rows, want 1", n)
			}
		})
	}
}

func ticket(kind, key, conv string) cardstore.TicketRequest {
	return cardstore.TicketRequest{Kind: kind, IdempotencyKey: key, ConversationKey: conv, Channel: "phone", Reason: cardstore.ReasonLost, RequestedAt: t0}
}

func testEnqueueTicket(t *testing.T, s Store) {
	ctx := t.Context()
	first, err := s.EnqueueTicket(ctx, ticket(cardstore.TicketHandoff, "handoff:CA-q", "CA-q"), t0)
	wantErr(t, err, nil)
	if first.ID == 0 || first.State != cardstore.OutboxPending || first.Attempts != 0 || !first.NextAttemptAt.Equal(t0.Truncate(time.Microsecond)) ||
		!first.CreatedAt.Equal(first.NextAttemptAt) || !first.UpdatedAt.Equal(first.NextAttemptAt) || first.IdempotencyKey != "handoff:CA-q" {
		t.Errorf("first row %+v", first)
	}
	sameTicket(t, first.Ticket, ticket(cardstore.TicketHandoff, "handoff:CA-q", "CA-q"))

	t.Run("same key returns the first row", func(t *testing.T) {
		later := ticket(cardstore.TicketHandoff, "handoff:CA-q", "CA-q")
		later.RequestedAt = t0.Add(time.Minute)
		again, err := s.EnqueueTicket(ctx, later, t0.Add(time.Minute))
		wantErr(t, err, nil)
		if again.ID != first.ID || !again.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("second call gave %+v, want row %d", again, first.ID)
		}
		sameTicket(t, again.Ticket, first.Ticket)
	})
	t.Run("concurrent callers share one row", func(t *testing.T) {
		ids := make([]int64, 20)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				e, err := s.EnqueueTicket(ctx, ticket(cardstore.TicketHandoff, "handoff:CA-many", "CA-many"), t0)
				if err != nil {
					t.Errorf("caller %d: %v", i, err)
				}
				ids[i] = e.ID
			})
		}
		wg.Wait()
		for i := range ids {
			if ids[i] != ids[0] || ids[i] == 0 {
				t.Fatalf("callers got rows %v", ids)
			}
		}
	})
	t.Run("rejected", func(t *testing.T) {
		tests := []struct {
			name string
			t    cardstore.TicketRequest
		}{
			{"key of another conversation", ticket(cardstore.TicketHandoff, "handoff:CA-q", "CA-elsewhere")},
			{"key of another kind", ticket(cardstore.TicketFollowUp, "handoff:CA-q", "CA-q")},
			{"no key", ticket(cardstore.TicketHandoff, "", "CA-q")},
			{"no conversation", ticket(cardstore.TicketHandoff, "handoff:x", "")},
			{"unknown kind", ticket("complaint", "complaint:CA-q", "CA-q")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.EnqueueTicket(ctx, tt.t, t0)
				wantErr(t, err, cardstore.ErrConflict)
			})
		}
	})
	t.Run("TicketForConversation returns the newest", func(t *testing.T) {
		newer, err := s.EnqueueTicket(ctx, ticket(cardstore.TicketFollowUp, "followup:CA-q", "CA-q"), t0.Add(time.Minute))
		wantErr(t, err, nil)
		got, err := s.TicketForConversation(ctx, "CA-q")
		wantErr(t, err, nil)
		if got.ID != newer.ID || got.Ticket.Kind != cardstore.TicketFollowUp {
			t.Errorf("got row %d (%s), want %d", got.ID, got.Ticket.Kind, newer.ID)
		}
		_, err = s.TicketForConversation(ctx, "CA-none")
		wantErr(t, err, cardstore.ErrNotFound)
	})
	t.Run("lookups", func(t *testing.T) {
		got, err := s.OutboxByID(ctx, first.ID)
		wantErr(t, err, nil)
		if got.IdempotencyKey != first.IdempotencyKey {
			t.Errorf("OutboxByID %+v", got)
		}
		_, err = s.OutboxByID(ctx, 987654)
		wantErr(t, err, cardstore.ErrNotFound)
		_, err = s.OutboxByKey(ctx, "handoff:none")
		wantErr(t, err, cardstore.ErrNotFound)
	})
}

// queue enqueues n handoff tickets, one a second from at, and returns their ids.
func queue(t *testing.T, s Store, prefix string, n int, at time.Time) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		key := fmt.Sprintf("%s-%02d", prefix, i)
		e, err := s.EnqueueTicket(t.Context(), ticket(cardstore.TicketHandoff, "handoff:"+key, key), at.Add(time.Duration(i)*time.Second))
		wantErr(t, err, nil)
		ids = append(ids, e.ID)
	}
	return ids
}

func claimedIDs(es []cardstore.OutboxEntry) []int64 {
	ids := []int64{}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

func testClaimDue(t *testing.T, s Store) {
	ctx := t.Context()
	ids := queue(t, s, "CA-due", 4, t0) // due at t0, t0+1s, t0+2s, t0+3s
	lease := time.Minute
	now := t0.Add(2 * time.Second)

	steps := []struct {
		name  string
		now   time.Time
		limit int
		want  []int64
	}{
		{"oldest due first, up to the limit", now, 2, ids[:2]},
		{"leased rows are skipped", now, 10, ids[2:3]},
		{"nothing left due", now, 10, nil},
		{"a later row becomes due", t0.Add(3 * time.Second), 10, ids[3:4]},
		{"leases expire", now.Add(lease), 10, ids[:3]},
	}
	for _, st := range steps {
		got, err := s.ClaimDue(ctx, st.now, st.limit, lease)
		wantErr(t, err, nil)
		if fmt.Sprint(claimedIDs(got)) != fmt.Sprint(append([]int64{}, st.want...)) {
			t.Fatalf("%s: claimed %v, want %v", st.name, claimedIDs(got), st.want)
		}
		for _, e := range got {
			if !e.NextAttemptAt.Equal(st.now.Add(lease).Truncate(time.Microsecond)) || !e.UpdatedAt.Equal(st.now.Truncate(time.Microsecond)) {
				t.Errorf("%s: row %d leased until %v", st.name, e.ID, e.NextAttemptAt)
			}
		}
	}
	e, err := s.OutboxByID(ctx, ids[0])
	wantErr(t, err, nil)
	if e.Attempts != 2 {
		t.Errorf("row claimed twice has %d attempts", e.Attempts)
	}
}

func testConcurrentClaims(t *testing.T, s Store) {
	ctx := t.Context()
	ids := queue(t, s, "CA-par", 40, t0)
	now := t0.Add(time.Hour)
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				got, err := s.ClaimDue(ctx, now, 3, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, e := range got {
					seen[e.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != len(ids) {
		t.Errorf("%d rows claimed, want %d", len(seen), len(ids))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("row %d claimed %d times", id, n)
		}
	}
}

func testOutboxTransitions(t *testing.T, s Store) {
	ctx := t.Context()
	lease := time.Minute
	// Each case queues one row, drives it with `do` and checks the result.
	tests := []struct {
		name  string
		do    func(id int64) error
		err   error
		check func(t *testing.T, e cardstore.OutboxEntry)
	}{
		{"claim one row", func(id int64) error { _, err := s.ClaimByID(ctx, id, t0, lease); return err }, nil,
			func(t *testing.T, e cardstore.OutboxEntry) {
				if e.Attempts != 1 || !e.NextAttemptAt.Equal(t0.Add(lease)) {
					t.Errorf("claimed row %+v", e)
				}
			}},
		{"claim a leased row", func(id int64) error {
			if _, err := s.ClaimByID(ctx, id, t0, lease); err != nil {
				return err
			}
			_, err := s.ClaimByID(ctx, id, t0.Add(time.Second), lease)
			return err
		}, cardstore.ErrConflict, nil},
		{"claim a row not yet due", func(id int64) error { _, err := s.ClaimByID(ctx, id, t0.Add(-time.Second), lease); return err }, cardstore.ErrConflict, nil},
		{"claim unknown row", func(int64) error { _, err := s.ClaimByID(ctx, 987654, t0, lease); return err }, cardstore.ErrNotFound, nil},
		{"deliver", func(id int64) error { return s.MarkDelivered(ctx, id, 4242, t0.Add(time.Second)) }, nil,
			func(t *testing.T, e cardstore.OutboxEntry) {
				if e.State != cardstore.OutboxDelivered || e.FreshdeskTicketID != 4242 || !e.UpdatedAt.Equal(t0.Add(time.Second)) {
					t.Errorf("delivered row %+v", e)
				}
			}},
		{"deliver twice", func(id int64) error {
			if err := s.MarkDelivered(ctx, id, 4242, t0); err != nil {
				return err
			}
			return s.MarkDelivered(ctx, id, 4243, t0)
		}, cardstore.ErrConflict, func(t *testing.T, e cardstore.OutboxEntry) {
			if e.FreshdeskTicketID != 4242 {
				t.Errorf("ticket id overwritten: %d", e.FreshdeskTicketID)
			}
		}},
		{"claim a delivered row", func(id int64) error {
			if err := s.MarkDelivered(ctx, id, 4242, t0); err != nil {
				return err
			}
			_, err := s.ClaimByID(ctx, id, t0, lease)
			return err
		}, cardstore.ErrConflict, nil},
		{"deliver unknown row", func(int64) error { return s.MarkDelivered(ctx, 987654, 1, t0) }, cardstore.ErrNotFound, nil},
		{"failed attempt, uncertain", func(id int64) error {
			return s.MarkAttemptFailed(ctx, id, cardstore.OutboxUncertain, t0.Add(time.Hour), "freshdesk: timeout after body sent", t0.Add(time.Second))
		}, nil, func(t *testing.T, e cardstore.OutboxEntry) {
			if e.State != cardstore.OutboxUncertain || !e.NextAttemptAt.Equal(t0.Add(time.Hour)) || e.LastError != "freshdesk: timeout after body sent" {
				t.Errorf("failed row %+v", e)
			}
		}},
		{"failed attempt back to pending", func(id int64) error {
			return s.MarkAttemptFailed(ctx, id, cardstore.OutboxPending, t0.Add(time.Minute), "freshdesk: 503", t0)
		}, nil, func(t *testing.T, e cardstore.OutboxEntry) {
			if e.State != cardstore.OutboxPending || e.LastError != "freshdesk: 503" {
				t.Errorf("failed row %+v", e)
			}
		}},
		{"failed attempt to a final state", func(id int64) error {
			return s.MarkAttemptFailed(ctx, id, cardstore.OutboxDead, t0, "x", t0)
		}, cardstore.ErrConflict, nil},
		{"failed attempt on a delivered row", func(id int64) error {
			if err := s.MarkDelivered(ctx, id, 7, t0); err != nil {
				return err
			}
			return s.MarkAttemptFailed(ctx, id, cardstore.OutboxPending, t0, "x", t0)
		}, cardstore.ErrConflict, nil},
		{"dead then retried", func(id int64) error {
			if _, err := s.ClaimByID(ctx, id, t0, lease); err != nil {
				return err
			}
			if err := s.MarkDead(ctx, id, "freshdesk: 400 validation", t0); err != nil {
				return err
			}
			return s.RetryDead(ctx, id, t0.Add(time.Hour))
		}, nil, func(t *testing.T, e cardstore.OutboxEntry) {
			if e.State != cardstore.OutboxPending || e.Attempts != 0 || !e.NextAttemptAt.Equal(t0.Add(time.Hour)) || e.LastError != "freshdesk: 400 validation" {
				t.Errorf("retried row %+v", e)
			}
		}},
		{"dead twice", func(id int64) error {
			if err := s.MarkDead(ctx, id, "x", t0); err != nil {
				return err
			}
			return s.MarkDead(ctx, id, "y", t0)
		}, cardstore.ErrConflict, nil},
		{"retry a row that is not dead", func(id int64) error { return s.RetryDead(ctx, id, t0) }, cardstore.ErrConflict, nil},
		{"retry unknown row", func(int64) error { return s.RetryDead(ctx, 987654, t0) }, cardstore.ErrNotFound, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := queue(t, s, fmt.Sprintf("CA-tr%02d", i), 1, t0)[0]
			wantErr(t, tt.do(id), tt.err)
			if tt.check != nil {
				e, err := s.OutboxByID(ctx, id)
				wantErr(t, err, nil)
				tt.check(t, e)
			}
		})
	}
}

func testListAndStats(t *testing.T, s Store) {
	ctx := t.Context()
	stats, err := s.OutboxStats(ctx, t0)
	wantErr(t, err, nil)
	if stats != (cardstore.OutboxStats{}) {
		t.Errorf("empty outbox stats %+v", stats)
	}
	ids := queue(t, s, "CA-list", 5, t0) // created t0 … t0+4s
	wantErr(t, s.MarkDelivered(ctx, ids[0], 11, t0), nil)
	wantErr(t, s.MarkAttemptFailed(ctx, ids[1], cardstore.OutboxUncertain, t0.Add(time.Hour), "timeout", t0), nil)
	wantErr(t, s.MarkDead(ctx, ids[2], "400", t0), nil)

	tests := []struct {
		name  string
		state string
		limit int
		want  []int64
		err   error
	}{
		{"all, newest first", "", 0, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}, nil},
		{"limited", "", 2, []int64{ids[4], ids[3]}, nil},
		{"pending", cardstore.OutboxPending, 10, []int64{ids[4], ids[3]}, nil},
		{"uncertain", cardstore.OutboxUncertain, 10, []int64{ids[1]}, nil},
		{"delivered", cardstore.OutboxDelivered, 10, []int64{ids[0]}, nil},
		{"dead", cardstore.OutboxDead, 10, []int64{ids[2]}, nil},
		{"unknown state", "lost", 10, nil, cardstore.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListOutbox(ctx, tt.state, tt.limit)
			wantErr(t, err, tt.err)
			if tt.err == nil && fmt.Sprint(claimedIDs(got)) != fmt.Sprint(tt.want) {
				t.Errorf("listed %v, want %v", claimedIDs(got), tt.want)
			}
		})
	}

	stats, err = s.OutboxStats(ctx, t0.Add(time.Minute))
	wantErr(t, err, nil)
	// Oldest undelivered is ids[1] (uncertain), created at t0+1s.
	want := cardstore.OutboxStats{Pending: 3, OldestPendingAge: time.Minute - time.Second, Dead: 1}
	if stats != want {
		t.Errorf("stats %+v, want %+v", stats, want)
	}
}
