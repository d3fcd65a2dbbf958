package actions

import (
	"context"
	"errors"
	"strconv"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/rasa"
)

// createTicket is action_create_ticket. The ticket itself was queued in the
// outbox with the block (or is queued here for a hand-off after a lockout);
// this action only tries to deliver it now, with a short deadline, so the
// caller can hear the Freshdesk number. Calling it twice never queues twice.
type createTicket struct{ d Deps }

func (*createTicket) Name() string { return ActionCreateTicket }

func (a *createTicket) Run(ctx context.Context, req *rasa.Request) (rasa.Result, error) {
	c := identifyCaller(req)

	entry, err := a.d.Store.TicketForConversation(ctx, c.ConversationKey)
	if errors.Is(err, cardstore.ErrNotFound) {
		entry, err = a.handoffTicket(ctx, req, c)
		if errors.Is(err, cardstore.ErrNotFound) {
			logOutcome(ctx, ActionCreateTicket, "nothing_to_report")
			return rasa.Result{Responses: []rasa.Message{rasa.Utter(UtterNoTicket, nil)}}, nil
		}
	}
	if err != nil {
		return unavailable(ctx, ActionCreateTicket, err), nil
	}

	ticketID := entry.FreshdeskTicketID
	if entry.State != cardstore.OutboxDelivered && a.d.Deliverer != nil {
		dctx, cancel := context.WithTimeout(ctx, a.d.Config.DeliverTimeout)
		id, err := a.d.Deliverer.DeliverNow(dctx, entry.ID)
		cancel()
		if err == nil {
			ticketID = id
		}
	}
	if ticketID != 0 {
		id := strconv.FormatInt(ticketID, 10)
		logOutcome(ctx, ActionCreateTicket, "created")
		return rasa.Result{
			Events:    []rasa.Event{rasa.SlotSet(SlotTicketID, id), rasa.SlotSet(SlotTicketStatus, "created")},
			Responses: []rasa.Message{rasa.Utter(UtterTicketCreated, map[string]any{VarTicketID: spokenDigits(id)})},
		}, nil
	}
	logOutcome(ctx, ActionCreateTicket, "queued")
	return rasa.Result{
		Events:    []rasa.Event{rasa.SlotSet(SlotTicketID, nil), rasa.SlotSet(SlotTicketStatus, "queued")},
		Responses: []rasa.Message{rasa.Utter(UtterTicketQueued, nil)},
	}, nil
}

// handoffTicket queues the ticket that asks an agent to call back a caller
// whose verification was locked. The lock is read from the server's failure
// counters, not from the verification_locked slot. ErrNotFound when the
// conversation is not locked (nothing to report).
func (a *createTicket) handoffTicket(ctx context.Context, req *rasa.Request, c caller) (cardstore.OutboxEntry, error) {
	now := a.d.Now()
	customer, err := findCustomer(ctx, a.d.Store, c, &req.Tracker)
	if err != nil && !errors.Is(err, cardstore.ErrNotFound) {
		return cardstore.OutboxEntry{}, err
	}
	counts, err := a.d.Store.FailureCounts(ctx, c.ConversationKey, customer.ID, now.Add(-a.d.Config.VerifyWindow))
	if err != nil {
		return cardstore.OutboxEntry{}, err
	}
	v := verifyLast4{a.d}
	if !v.locked(counts, customer.ID) {
		return cardstore.OutboxEntry{}, cardstore.ErrNotFound
	}
	return a.d.Store.EnqueueTicket(ctx, cardstore.TicketRequest{
		Kind:            cardstore.TicketHandoff,
		IdempotencyKey:  "handoff:" + c.ConversationKey,
		ConversationKey: c.ConversationKey,
		CustomerID:      customer.ID,
		CustomerName:    customer.FullName,
		Email:           customer.Email,
		Phone:           firstNonEmpty(customer.PhoneE164, c.Number),
		Channel:         "phone",
		CallID:          c.CallID,
		RequestedAt:     now,
	}, now)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
