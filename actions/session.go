package actions

import (
	"context"

	"github.com/sctbnk/cardblock/rasa"
)

// sessionStart replaces Rasa's default action_session_start: it copies the
// call's id and number from the session metadata into slots (later turns of a
// Twilio call carry no metadata) and never carries verification over.
type sessionStart struct{}

func (sessionStart) Name() string { return ActionSessionStart }

func (sessionStart) Run(ctx context.Context, req *rasa.Request) (rasa.Result, error) {
	meta := req.Tracker.SessionStartedMetadata()
	events := []rasa.Event{rasa.SessionStarted()}
	if id := rasa.MetadataString(meta, "call_id"); id != "" {
		events = append(events, rasa.SlotSet(SlotCallID, id))
	}
	if n := rasa.MetadataString(meta, "user_phone"); e164.MatchString(n) {
		events = append(events, rasa.SlotSet(SlotCallerNumber, n))
	}
	events = append(events, rasa.ActionExecuted("action_listen"))
	logOutcome(ctx, ActionSessionStart, "started")
	return rasa.Result{Events: events}, nil
}
