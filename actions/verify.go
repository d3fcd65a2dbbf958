package actions

import (
	"context"
	"errors"
	"time"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/rasa"
	"github.com/sctbnk/cardblock/spoken"
)

// verifyLast4 is action_verify_last4: it identifies the customer (by the
// caller's number, else by DNI/NIE), matches the last four digits against the
// customer's cards and, on a match, stores a server-side verification bound
// to the conversation. The caller is never told which element failed.
type verifyLast4 struct {
	d Deps
}

func (*verifyLast4) Name() string { return ActionVerifyLast4 }

func (a *verifyLast4) Run(ctx context.Context, req *rasa.Request) (rasa.Result, error) {
	t := &req.Tracker
	c := identifyCaller(req)
	now := a.d.Now()
	since := now.Add(-a.d.Config.VerifyWindow)

	customer, err := findCustomer(ctx, a.d.Store, c, t)
	if err != nil && !errors.Is(err, cardstore.ErrNotFound) {
		return a.unavailable(ctx, err), nil
	}
	counts, err := a.d.Store.FailureCounts(ctx, c.ConversationKey, customer.ID, since)
	if err != nil {
		return a.unavailable(ctx, err), nil
	}
	if a.locked(counts, customer.ID) {
		// Checked before matching: once locked, even the right digits do not help.
		return a.lockedReply(ctx, counts), nil
	}

	last4, err := spoken.Last4(slotOrEmpty(t, SlotCardLast4))
	if err != nil {
		// Not four digits: the validator never lets such a value through, so
		// this is an injected or broken tracker. It is refused without
		// counting as a guess, or anyone could lock a customer out with junk.
		logOutcome(ctx, ActionVerifyLast4, "no_digits")
		return rasa.Result{
			Events:    []rasa.Event{rasa.SlotSet(SlotCardVerified, false), rasa.SlotSet(SlotCardLast4, nil)},
			Responses: []rasa.Message{rasa.Utter(UtterVerificationFailed, nil)},
		}, nil
	}
	var cards []cardstore.Card
	if customer.ID != 0 {
		cards, err = a.d.Store.CardsEndingIn(ctx, customer.ID, last4)
		if err != nil && !errors.Is(err, cardstore.ErrNotFound) {
			a.d.Metrics.verification(resultUnavailable)
			return unavailable(ctx, ActionVerifyLast4, err, rasa.SlotSet(SlotCardVerified, false)), nil
		}
	}
	kind := normaliseKind(slotOrEmpty(t, SlotCardKind))
	active, blocked := splitByStatus(cards, kind)

	switch {
	case len(active) == 1:
		return a.verified(ctx, c, customer, active[0], counts, now)
	case len(active) > 1:
		// Two active cards end in the same digits: the digits did match, so
		// this is not a failure; the caller says which one.
		a.d.Metrics.verification(resultAmbiguous)
		logOutcome(ctx, ActionVerifyLast4, resultAmbiguous)
		return rasa.Result{
			Events: []rasa.Event{rasa.SlotSet(SlotCardVerified, false), rasa.SlotSet(SlotCardKind, nil)},
			Responses: []rasa.Message{rasa.Utter(UtterAskCardKind, map[string]any{
				VarCardSpoken: spokenDigits(last4),
			})},
		}, nil
	case len(blocked) > 0:
		return a.alreadyBlocked(ctx, c, customer, blocked[0], counts, now)
	}
	return a.failed(ctx, c, customer, since, now)
}

// unavailable is the hand-off reply when the bank's systems fail mid-check.
func (a *verifyLast4) unavailable(ctx context.Context, err error) rasa.Result {
	a.d.Metrics.verification(resultUnavailable)
	return unavailable(ctx, ActionVerifyLast4, err, rasa.SlotSet(SlotCardVerified, false))
}

func (a *verifyLast4) locked(counts cardstore.FailureCounts, customerID int64) bool {
	return counts.Conversation >= a.d.Config.VerifyMaxAttempts ||
		(customerID != 0 && counts.Customer >= a.d.Config.VerifyCustomerMaxFailures)
}

func (a *verifyLast4) lockedReply(ctx context.Context, counts cardstore.FailureCounts) rasa.Result {
	a.d.Metrics.verification(resultLocked)
	logOutcome(ctx, ActionVerifyLast4, resultLocked)
	return rasa.Result{
		Events: []rasa.Event{
			rasa.SlotSet(SlotVerificationAttempts, float64(counts.Conversation)),
			rasa.SlotSet(SlotVerificationLocked, true),
			rasa.SlotSet(SlotCardVerified, false),
		},
		Responses: []rasa.Message{rasa.Utter(UtterVerificationLocked, nil)},
	}
}

func (a *verifyLast4) verified(ctx context.Context, c caller, cu cardstore.Customer, card cardstore.Card, counts cardstore.FailureCounts, now time.Time) (rasa.Result, error) {
	return a.accept(ctx, c, cu, card, now, resultVerified, rasa.Result{
		Events: []rasa.Event{
			rasa.SlotSet(SlotCardVerified, true),
			rasa.SlotSet(SlotCardKind, card.Kind),
			rasa.SlotSet(SlotVerificationAttempts, float64(counts.Conversation)),
		},
		Responses: []rasa.Message{rasa.Utter(UtterConfirmBlock, map[string]any{
			VarCardSpoken:     spokenDigits(card.Last4),
			VarCardKindSpoken: spokenKind(card.Kind),
		})},
	})
}

// alreadyBlocked: the digits match a card that is blocked already. That is a
// successful verification (the block action will answer with the existing
// reference), not a failure.
func (a *verifyLast4) alreadyBlocked(ctx context.Context, c caller, cu cardstore.Customer, card cardstore.Card, counts cardstore.FailureCounts, now time.Time) (rasa.Result, error) {
	return a.accept(ctx, c, cu, card, now, resultAlreadyBlocked, rasa.Result{
		Events: []rasa.Event{
			rasa.SlotSet(SlotCardVerified, true),
			rasa.SlotSet(SlotCardKind, card.Kind),
			rasa.SlotSet(SlotCardBlocked, true),
			rasa.SlotSet(SlotBlockReference, nilIfEmpty(card.BlockReference)),
			rasa.SlotSet(SlotVerificationAttempts, float64(counts.Conversation)),
		},
		Responses: []rasa.Message{alreadyBlockedMessage(card)},
	})
}

// accept stores the conversation's verification of card and, once it is
// stored, gives the caller reply.
func (a *verifyLast4) accept(ctx context.Context, c caller, cu cardstore.Customer, card cardstore.Card, now time.Time, result string, reply rasa.Result) (rasa.Result, error) {
	if err := a.saveVerification(ctx, c, cu, card, now); err != nil {
		return a.unavailable(ctx, err), nil
	}
	a.d.Metrics.verification(result)
	logOutcome(ctx, ActionVerifyLast4, result)
	return reply, nil
}

func (a *verifyLast4) saveVerification(ctx context.Context, c caller, cu cardstore.Customer, card cardstore.Card, now time.Time) error {
	return a.d.Store.SaveVerification(ctx, cardstore.Verification{
		ConversationKey: c.ConversationKey,
		CustomerID:      cu.ID,
		CardID:          card.ID,
		VerifiedAt:      now,
		ExpiresAt:       now.Add(a.d.Config.VerificationTTL),
	})
}

func (a *verifyLast4) failed(ctx context.Context, c caller, cu cardstore.Customer, since, now time.Time) (rasa.Result, error) {
	counts, err := a.d.Store.RecordFailure(ctx, cardstore.Failure{ConversationKey: c.ConversationKey, CustomerID: cu.ID, At: now}, since)
	if err != nil {
		return a.unavailable(ctx, err), nil
	}
	if a.locked(counts, cu.ID) {
		res := a.lockedReply(ctx, counts)
		res.Events = append(res.Events, rasa.SlotSet(SlotCardLast4, nil))
		return res, nil
	}
	a.d.Metrics.verification(resultFailed)
	logOutcome(ctx, ActionVerifyLast4, resultFailed)
	return rasa.Result{
		Events: []rasa.Event{
			rasa.SlotSet(SlotVerificationAttempts, float64(counts.Conversation)),
			rasa.SlotSet(SlotCardVerified, false),
			rasa.SlotSet(SlotCardLast4, nil), // the rules reactivate the form, which asks again
		},
		Responses: []rasa.Message{rasa.Utter(UtterVerificationFailed, nil)},
	}, nil
}

// findCustomer identifies the caller: by phone number when it is known, else
// by the DNI/NIE the caller gave (its checksum is verified again here, since
// the slot could have been set by anyone). ErrNotFound when neither works.
func findCustomer(ctx context.Context, s Store, c caller, t *rasa.Tracker) (cardstore.Customer, error) {
	if c.Number != "" {
		cu, err := s.CustomerByPhone(ctx, c.Number)
		if !errors.Is(err, cardstore.ErrNotFound) {
			return cu, err
		}
	}
	id, err := spoken.NationalID(slotOrEmpty(t, SlotNationalID))
	if err != nil {
		return cardstore.Customer{}, cardstore.ErrNotFound
	}
	return s.CustomerByNationalID(ctx, id)
}

// splitByStatus separates active from blocked cards, keeping only the chosen
// kind when the caller named one.
func splitByStatus(cards []cardstore.Card, kind string) (active, blocked []cardstore.Card) {
	for _, c := range cards {
		if kind != "" && c.Kind != kind {
			continue
		}
		switch c.Status {
		case cardstore.StatusActive:
			active = append(active, c)
		case cardstore.StatusBlocked:
			blocked = append(blocked, c)
		}
	}
	return active, blocked
}

func alreadyBlockedMessage(card cardstore.Card) rasa.Message {
	return rasa.Utter(UtterCardAlreadyBlocked, map[string]any{
		VarCardSpoken:      spokenDigits(card.Last4),
		VarBlockReference:  card.BlockReference,
		VarReferenceSpoken: spokenReference(card.BlockReference),
		VarBlockedSince:    spokenDate(card.BlockedAt, madrid()),
	})
}

func slotOrEmpty(t *rasa.Tracker, name string) string {
	v, _ := t.SlotString(name)
	return v
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
