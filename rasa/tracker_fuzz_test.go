package rasa

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"
)

// FuzzTrackerView feeds the tracker view methods raw events and slot values
// directly, not only through a request that decodes (FuzzDecodeRequest): the
// lazy walkers (SlotCandidates, LatestSessionStart, EventLog) and the slot
// getters must not panic on any input, the backward walks must agree with
// the forward one, and the getters must agree with encoding/json.
func FuzzTrackerView(f *testing.F) {
	for _, name := range []string{"oss36_validate_form.json", "pro_first_call.json"} {
		req, err := DecodeRequest(readFixture(f, name))
		if err != nil {
			f.Fatal(err)
		}
		for _, v := range req.Tracker.Slots {
			f.Add([]byte(req.Tracker.Events), []byte(v))
		}
	}
	if req, err := DecodeRequest(rasaRequestBody(f, "validate_card_block_form", 6, false)); err == nil {
		f.Add([]byte(req.Tracker.Events), []byte(`"4567"`))
	}
	for _, events := range []string{
		``, `null`, `[]`, `{}`, `[null, 1, "x", [], {}]`,
		`[{"event":"session_started","timestamp":1764766800.25},{"event":"action","name":"action_listen"}]`,
		`[{"event":"user","text":"cuatro cinco","timestamp":1e3},{"event":"slot","name":"card_last4","value":"cuatro cinco"}]`,
		`[{"event":"slot","name":"requested_slot","value":null},{"event":"slot","name":"card_last4","value":4567}]`,
		`[{"timestamp":-0,"event":"session_started"},{"event":"session_started","timestamp":"7"}]`,
		`[{"ev\u0065nt":"slot","n\u0061me":"a\"b","value":{"k":[1,{"event":"user"}]}}]`,
		`[{"event":"slot","name":"a","value":"x"}, 5, {"event":"slot","name":"b","value":true}]`,
	} {
		for _, slot := range []string{`"4567"`, `4567`, `4.567e3`, `true`, `"True"`, `null`, `"None"`, `{"call_id":"CA1","user_phone":"+34600111222"}`, `[1]`, `"\u00e9"`} {
			f.Add([]byte(events), []byte(slot))
		}
	}
	f.Fuzz(func(t *testing.T, events, slot []byte) {
		tr := &Tracker{
			Events: json.RawMessage(events),
			Slots: map[string]json.RawMessage{
				"card_last4": slot, SlotRequestedSlot: slot, SlotSessionStartedMetadata: slot,
			},
		}
		exerciseTracker(tr) // no panics; backward candidate walk == forward walk

		if log, err := tr.EventLog(); err == nil && json.Valid(events) {
			want, found := 0.0, false
			for _, r := range log {
				if r.Event == "session_started" {
					want, found = r.Timestamp, true
				}
			}
			got, ok := tr.LatestSessionStart()
			if ok != found || (found && got != want && !(math.IsNaN(got) && math.IsNaN(want))) {
				t.Fatalf("LatestSessionStart = %v, %v; the forward log says %v, %v", got, ok, want, found)
			}
		}

		if !json.Valid(slot) {
			return
		}
		var v any
		if err := json.Unmarshal(slot, &v); err != nil {
			return
		}
		if s, ok := tr.SlotString("card_last4"); ok {
			switch x := v.(type) {
			case string:
				if s != x {
					t.Fatalf("SlotString = %q, encoding/json says %q", s, x)
				}
			case float64:
				if f, err := strconv.ParseFloat(s, 64); err != nil || f != x {
					t.Fatalf("SlotString = %q for the number %v", s, x)
				}
			default:
				t.Fatalf("SlotString = %q, ok for a %T", s, v)
			}
		}
		if m := tr.SessionStartedMetadata(); m != nil {
			if _, isObj := v.(map[string]any); !isObj {
				t.Fatalf("SessionStartedMetadata = %v for a %T", m, v)
			}
		}
		if f, ok := tr.SlotFloat("card_last4"); ok && !math.IsNaN(f) {
			if x, isNum := v.(float64); isNum && x != f {
				t.Fatalf("SlotFloat = %v, encoding/json says %v", f, x)
			}
		}
	})
}
