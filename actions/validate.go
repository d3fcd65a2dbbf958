package actions

import (
	"context"
	"errors"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/rasa"
	"github.com/sctbnk/cardblock/spoken"
)

// validateForm is validate_card_block_form. Rasa calls it on every turn of
// card_block_form with the extracted candidates as the trailing slot events;
// it normalises them, rejects what is unusable with a null (the form's own
// ask, which has a retry variation, then re-asks once: two prompts in a row
// sound broken on the phone) and chooses the next slot to ask.
type validateForm struct{ d Deps }

func (*validateForm) Name() string { return ActionValidateForm }

func (a *validateForm) Run(ctx context.Context, req *rasa.Request) (rasa.Result, error) {
	t := &req.Tracker
	candidates, err := t.SlotCandidates()
	if err != nil {
		return rasa.Result{}, rasa.Reject("tracker events are not readable")
	}

	var (
		events     []rasa.Event
		responses  []rasa.Message
		unusable   string // the slot whose candidate could not be used
		current    = map[string]string{}
		candidated = map[string]bool{}
	)
	for _, name := range []string{SlotBlockReason, SlotNationalID, SlotCardLast4, SlotBlockType, SlotCardKind} {
		if v, ok := t.SlotString(name); ok {
			current[name] = v
		}
	}
	for _, c := range candidates {
		raw, present := c.String()
		var value string
		switch c.Name {
		case SlotCardLast4:
			if present {
				d, err := spoken.Last4(raw)
				if errors.Is(err, spoken.ErrCardNumber) && len(responses) == 0 {
					// PCI: a full card number is refused and never echoed.
					responses = append(responses, rasa.Utter(UtterCardNumberRefused, nil))
				}
				value = d
			}
		case SlotNationalID:
			if present {
				value, _ = spoken.NationalID(raw)
			}
		case SlotBlockReason:
			value = normaliseReason(raw)
		case SlotCardKind:
			value = normaliseKind(raw)
		case SlotBlockType:
			value = normaliseBlockType(raw)
		default:
			continue // not ours: Rasa keeps it as extracted
		}
		candidated[c.Name] = true
		if value == "" {
			events = append(events, rasa.SlotSet(c.Name, nil))
			delete(current, c.Name)
			if present {
				unusable = c.Name
			}
			continue
		}
		current[c.Name] = value
		events = append(events, rasa.SlotSet(c.Name, value))
	}
	// Values already on the tracker are re-checked: slots can be injected.
	for name, v := range current {
		if !candidated[name] && !slotValueUsable(name, v) {
			events = append(events, rasa.SlotSet(name, nil))
			delete(current, name)
		}
	}

	if unusable != "" && a.unusableStreak(t, unusable) >= a.d.Config.MaxUnusableAnswers {
		logOutcome(ctx, ActionValidateForm, "handoff_unusable_answers")
		return handoff(events, UtterHandoff), nil
	}

	reason := current[SlotBlockReason]
	if reason != "" && reason != cardstore.ReasonLost && current[SlotBlockType] != cardstore.BlockPermanent {
		// Only a lost card may turn up again; every other reason is permanent.
		current[SlotBlockType] = cardstore.BlockPermanent
		events = append(events, rasa.SlotSet(SlotBlockType, cardstore.BlockPermanent))
	}

	next, err := a.nextSlot(ctx, req, current)
	if err != nil {
		res := unavailable(ctx, ActionValidateForm, err)
		return handoff(append(events, res.Events...), UtterServiceUnavailable), nil
	}
	if next == "" {
		events = append(events, rasa.SlotSet(SlotRequestedSlot, nil))
	} else {
		events = append(events, rasa.SlotSet(SlotRequestedSlot, next))
	}
	return rasa.Result{Events: events, Responses: responses}, nil
}

// nextSlot asks, in order: the reason, the DNI/NIE when the number does not
// identify a customer, the last four digits, and for a lost card whether the
// caller may find it. "" means the form is complete.
func (a *validateForm) nextSlot(ctx context.Context, req *rasa.Request, current map[string]string) (string, error) {
	if current[SlotBlockReason] == "" {
		return SlotBlockReason, nil
	}
	if current[SlotNationalID] == "" {
		known, err := a.callerKnown(ctx, req)
		if err != nil {
			return "", err
		}
		if !known {
			return SlotNationalID, nil
		}
	}
	if current[SlotCardLast4] == "" {
		return SlotCardLast4, nil
	}
	if current[SlotBlockReason] == cardstore.ReasonLost && current[SlotBlockType] == "" {
		return SlotBlockType, nil
	}
	return "", nil
}

func (a *validateForm) callerKnown(ctx context.Context, req *rasa.Request) (bool, error) {
	c := identifyCaller(req)
	if c.Number == "" {
		return false, nil
	}
	_, err := a.d.Store.CustomerByPhone(ctx, c.Number)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, cardstore.ErrNotFound):
		return false, nil
	}
	return false, err
}

// unusableStreak counts the caller's answers in a row, ending with the
// current one, that could not be used for slot. It is derived from the
// tracker (the server keeps no per-turn state): each user turn is matched to
// the slot that was being requested when it was said.
func (a *validateForm) unusableStreak(t *rasa.Tracker, slot string) int {
	log, err := t.EventLog()
	if err != nil {
		return 1
	}
	requested, streak := "", 0
	for _, e := range log {
		switch e.Event {
		case "slot":
			if e.Name == SlotRequestedSlot {
				requested, _ = rasa.SlotEvent{Name: e.Name, Value: e.Value}.String()
			}
		case "user":
			if requested != slot {
				continue
			}
			if slotValueUsable(slot, e.Text) {
				streak = 0
			} else {
				streak++
			}
		case "session_started", "restart":
			requested, streak = "", 0
		}
	}
	if streak == 0 {
		streak = 1 // the current answer was unusable even if its text was not logged
	}
	return streak
}

// slotValueUsable reports whether a caller's text or a slot value normalises.
func slotValueUsable(slot, v string) bool {
	switch slot {
	case SlotCardLast4:
		_, err := spoken.Last4(v)
		return err == nil
	case SlotNationalID:
		_, err := spoken.NationalID(v)
		return err == nil
	case SlotBlockReason:
		return normaliseReason(v) != ""
	case SlotCardKind:
		return normaliseKind(v) != ""
	case SlotBlockType:
		return normaliseBlockType(v) != ""
	}
	return true
}

// handoff ends the form and passes the call to an agent: the form is
// deactivated and Rasa listens, so no rule runs the verification next.
func handoff(events []rasa.Event, utter string) rasa.Result {
	events = append(events,
		rasa.SlotSet(SlotRequestedSlot, nil),
		rasa.Loop(""),
		rasa.FollowupAction("action_listen"),
	)
	return rasa.Result{Events: events, Responses: []rasa.Message{rasa.Utter(utter, nil)}}
}
