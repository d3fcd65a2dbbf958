package actions

import (
	"context"
	"errors"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/rasa"
)

// blockCard is action_block_card. The card to block comes from the
// conversation's server-side verification, never from the tracker: a slot
// such as card_verified=true can be injected by anyone who can talk to Rasa.
type blockCard struct{ d Deps }

func (*blockCard) Name() string { return ActionBlockCard }

func (a *blockCard) Run(ctx context.Context, req *rasa.Request) (rasa.Result, error) {
	t := &req.Tracker
	c := identifyCaller(req)
	now := a.d.Now()

	v, err := a.d.Store.Verification(ctx, c.ConversationKey, now)
	if errors.Is(err, cardstore.ErrNotFound) {
		// A 200 with a Spanish refusal: a 400 would be a Rasa rejection and
		// the caller would hear nothing.
		logOutcome(ctx, ActionBlockCard, "refused_unverified")
		return rasa.Result{
			Events:    []rasa.Event{rasa.SlotSet(SlotCardBlocked, false)},
			Responses: []rasa.Message{rasa.Utter(UtterBlockRefused, nil)},
		}, nil
	}
	if err != nil {
		return unavailable(ctx, ActionBlockCard, err), nil
	}

	reason := normaliseReason(slotOrEmpty(t, SlotBlockReason))
	if reason == "" {
		reason = cardstore.ReasonOther
	}
	blockType := cardstore.BlockPermanent
	if reason == cardstore.ReasonLost && normaliseBlockType(slotOrEmpty(t, SlotBlockType)) == cardstore.BlockTemporary {
		blockType = cardstore.BlockTemporary
	}
	res, err := a.d.Store.BlockCard(ctx, cardstore.BlockRequest{
		ConversationKey: c.ConversationKey,
		CardID:          v.CardID,
		Reason:          reason,
		BlockType:       blockType,
		Channel:         "phone",
		CallID:          c.CallID,
		RequestedAt:     now,
		Ticket: cardstore.TicketRequest{
			Kind:            cardstore.TicketBlock,
			ConversationKey: c.ConversationKey,
			Reason:          reason,
			BlockType:       blockType,
			Channel:         "phone",
			CallID:          c.CallID,
			RequestedAt:     now,
		},
	})
	if err != nil {
		return unavailable(ctx, ActionBlockCard, err), nil
	}

	ref := res.Block.Reference
	if ref == "" {
		ref = res.Card.BlockReference
	}
	events := []rasa.Event{rasa.SlotSet(SlotCardBlocked, true), rasa.SlotSet(SlotBlockReference, nilIfEmpty(ref))}
	if res.AlreadyBlocked {
		card := res.Card
		card.BlockReference = ref
		if !res.Block.BlockedAt.IsZero() {
			card.BlockedAt = res.Block.BlockedAt
		}
		logOutcome(ctx, ActionBlockCard, "already_blocked")
		return rasa.Result{Events: events, Responses: []rasa.Message{alreadyBlockedMessage(card)}}, nil
	}
	a.d.Metrics.block(reason)
	logOutcome(ctx, ActionBlockCard, "blocked")
	return rasa.Result{Events: events, Responses: []rasa.Message{rasa.Utter(UtterCardBlocked, map[string]any{
		VarCardSpoken:      spokenDigits(res.Card.Last4),
		VarBlockReference:  ref,
		VarReferenceSpoken: spokenReference(ref),
		VarBlockTypeSpoken: spokenBlockType(blockType),
	})}}, nil
}
