package rasa

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestSlotCandidates(t *testing.T) {
	const (
		session  = `{"event": "action", "timestamp": 1.0, "name": "action_session_start", "policy": null, "confidence": 1.0}, {"event": "session_started", "timestamp": 1.1}, {"event": "action", "timestamp": 1.2, "name": "action_listen"}`
		userTurn = `{"event": "user", "timestamp": 2.0, "text": "he perdido la tarjeta \"visa\" \\ y {no} [sé]", "parse_data": {"intent": {"name": "block_card", "confidence": 0.99}, "entities": [{"entity": "block_reason", "value": "lost"}]}, "input_channel": "twilio_voice"}, {"event": "user_featurization", "timestamp": 2.01, "use_text_for_featurization": false}`
	)
	tests := []struct {
		name   string
		events string
		want   []SlotEvent
	}{
		{"form validation with two candidates", `[` + session + `,` + userTurn + `,
			{"event": "slot", "timestamp": 2.1, "name": "requested_slot", "value": "card_last4"},
			{"event": "action", "timestamp": 2.2, "name": "card_block_form", "policy": "RulePolicy"},
			{"event": "slot", "timestamp": 2.3, "name": "card_last4", "value": "cuatro cinco seis siete"},
			{"event": "slot", "timestamp": 2.3, "name": "block_reason", "value": null}]`,
			[]SlotEvent{{"card_last4", json.RawMessage(`"cuatro cinco seis siete"`)}, {"block_reason", json.RawMessage(`null`)}}},
		{"form resumed without candidates", `[` + session + `,` + userTurn + `,
			{"event": "slot", "timestamp": 2.1, "name": "requested_slot", "value": "card_last4"},
			{"event": "action", "timestamp": 2.2, "name": "card_block_form"}]`, nil},
		{"validate slot mappings: all trailing slots", `[` + session + `,` + userTurn + `,
			{"event": "slot", "name": "card_kind", "value": {"kind": "debit"}},{"event":"slot","name":"n","value":4567}]`,
			[]SlotEvent{{"card_kind", json.RawMessage(`{"kind": "debit"}`)}, {"n", json.RawMessage(`4567`)}}},
		{"non-slot event at the end", `[{"event": "slot", "name": "a", "value": 1}, {"event": "bot", "text": "hola", "data": {}}]`, nil},
		{"only slots", `[{"event":"slot","name":"a","value":1},{"event":"slot","name":"b","value":"x"}]`,
			[]SlotEvent{{"a", json.RawMessage(`1`)}, {"b", json.RawMessage(`"x"`)}}},
		{"event key not first", `[{"timestamp": 3, "name": "a", "value": [1, {"x": "]"}], "event": "slot"}]`,
			[]SlotEvent{{"a", json.RawMessage(`[1, {"x": "]"}]`)}}},
		{"escaped quotes and backslashes in values", `[{"event":"user","text":"a\\"},{"event":"slot","name":"q","value":"say \"hi\" \\"}]`,
			[]SlotEvent{{"q", json.RawMessage(`"say \"hi\" \\"`)}}},
		{"whitespace everywhere", " [ {\"event\" : \"slot\" , \"name\" : \"a\" , \"value\" : 1 } \n ] ", []SlotEvent{{"a", json.RawMessage(`1`)}}},
		{"empty list", `[]`, nil},
		{"null events", `null`, nil},
		{"non-object element at the end stops the run", `[{"event":"slot","name":"a","value":1}, 5]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &Tracker{Events: json.RawMessage(tt.events)}
			got, err := tr.SlotCandidates()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %s\nwant %s", fmtSlots(got), fmtSlots(tt.want))
			}
			if fwd := forwardCandidates(t, tr); !reflect.DeepEqual(fwd, got) {
				t.Errorf("forward walk disagrees: %s", fmtSlots(fwd))
			}
		})
	}
}

func TestSlotCandidatesMalformed(t *testing.T) {
	for name, events := range map[string]string{
		"not an array":    `{"event":"slot"}`,
		"string":          `"x"`,
		"truncated":       `[{"event":"slot","name":"a","value":1}`,
		"broken last":     `[{"event":"slot","name":"a","value":}]`,
		"missing comma":   `[{"event":"slot","name":"a","value":1} {"event":"slot","name":"b","value":2}]`,
		"leading comma":   `[,{"event":"slot","name":"a","value":1}]`,
		"unbalanced":      `[{"event":"slot","name":"a","value":1}}]`,
		"unterminated":    `["]`,
		"garbage between": `[{"event":"slot","name":"a","value":1} x ]`,
	} {
		t.Run(name, func(t *testing.T) {
			tr := &Tracker{Events: json.RawMessage(events)}
			if got, err := tr.SlotCandidates(); err == nil {
				t.Errorf("no error, got %s", fmtSlots(got))
			}
		})
	}
}

// forwardCandidates is the obvious implementation, used as a reference.
func forwardCandidates(t testing.TB, tr *Tracker) []SlotEvent {
	t.Helper()
	log, err := tr.EventLog()
	if err != nil {
		t.Fatal(err)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(tr.Events, &elems); err != nil {
		t.Fatal(err)
	}
	var run []SlotEvent
	li := 0
	for _, e := range elems {
		if len(e) == 0 || e[0] != '{' {
			run = nil
			continue
		}
		r := log[li]
		li++
		if r.Event != "slot" {
			run = nil
			continue
		}
		run = append(run, SlotEvent{r.Name, r.Value})
	}
	return run
}

func fmtSlots(s []SlotEvent) string {
	var b strings.Builder
	for _, e := range s {
		b.WriteString(e.Name + "=" + string(e.Value) + " ")
	}
	return "[" + b.String() + "]"
}

func TestSlotCandidatesGeneratedTracker(t *testing.T) {
	for _, n := range []int{5, 50, 2000} {
		req, err := DecodeRequest(rasaRequestBody(t, "validate_card_block_form", n, true))
		if err != nil {
			t.Fatal(err)
		}
		got, err := req.Tracker.SlotCandidates()
		if err != nil {
			t.Fatal(err)
		}
		want := []SlotEvent{{"card_last4", json.RawMessage(`"cuatro cinco seis siete"`)}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d events: got %s", n, fmtSlots(got))
		}
	}
}

func TestLatestSessionStart(t *testing.T) {
	tests := []struct {
		name   string
		events string
		want   float64
		ok     bool
	}{
		{"one session", `[{"event":"action","timestamp":1,"name":"action_session_start"},{"event":"session_started","timestamp":1732543089.1131},{"event":"user","timestamp":5,"text":"x"}]`, 1732543089.1131, true},
		{"newest of several", `[{"event":"session_started","timestamp":10},{"event":"user","timestamp":11},{"event":"session_started","timestamp":20.5},{"event":"action","timestamp":21,"name":"action_listen"}]`, 20.5, true},
		{"null timestamp", `[{"event":"session_started","timestamp":null}]`, 0, true},
		{"none", `[{"event":"user","timestamp":1}]`, 0, false},
		{"empty", `[]`, 0, false},
		{"malformed", `[{"event":"session_started","timestamp":1}`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &Tracker{Events: json.RawMessage(tt.events)}
			got, ok := tr.LatestSessionStart()
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %v, %v", got, ok)
			}
		})
	}
}

func TestEventLog(t *testing.T) {
	req, err := DecodeRequest(readFixture(t, "oss36_validate_form.json"))
	if err != nil {
		t.Fatal(err)
	}
	log, err := req.Tracker.EventLog()
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 17 {
		t.Fatalf("%d events", len(log))
	}
	first, user, last := log[0], log[4], log[16]
	if first.Event != "action" || first.Name != "action_session_start" || first.Timestamp != 1732543089.1123 {
		t.Errorf("first = %+v", first)
	}
	if user.Event != "user" || user.Text != "he perdido la tarjeta" {
		t.Errorf("user = %+v", user)
	}
	if last.Event != "slot" || last.Name != "card_last4" || string(last.Value) != `"cuatro cinco seis siete"` {
		t.Errorf("last = %+v", last)
	}
	bot := log[10]
	if bot.Event != "bot" || bot.Text != "¿Me dice los cuatro últimos números de la tarjeta?" {
		t.Errorf("bot = %+v", bot)
	}
	if _, err := (&Tracker{Events: json.RawMessage(`[{"event":`)}).EventLog(); err == nil {
		t.Error("malformed events: no error")
	}
}
