package rasa

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestEventJSON(t *testing.T) {
	madrid := time.FixedZone("CET", 3600)
	at := time.Date(2025, 11, 20, 9, 14, 3, 250000000, madrid)
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"slot string", SlotSet("card_last4", "4567"), `{"event":"slot","timestamp":null,"name":"card_last4","value":"4567"}`},
		{"slot nil clears", SlotSet("card_last4", nil), `{"event":"slot","timestamp":null,"name":"card_last4","value":null}`},
		{"slot number", SlotSet("verification_attempts", 2.0), `{"event":"slot","timestamp":null,"name":"verification_attempts","value":2}`},
		{"slot bool", SlotSet("verified", true), `{"event":"slot","timestamp":null,"name":"verified","value":true}`},
		{"slot raw", SlotSet("meta", json.RawMessage(`{"a": [1, 2]}`)), `{"event":"slot","timestamp":null,"name":"meta","value":{"a":[1,2]}}`},
		{"slot list", SlotSet("cards", []string{"debit", "credit"}), `{"event":"slot","timestamp":null,"name":"cards","value":["debit","credit"]}`},
		{"reset slots", AllSlotsReset(), `{"event":"reset_slots","timestamp":null}`},
		{"reminder", ReminderScheduled("EXTERNAL_callback", at, []map[string]any{{"entity": "ticket_id", "value": "42"}}, "callback_42", true),
			`{"event":"reminder","timestamp":null,"intent":"EXTERNAL_callback","entities":[{"entity":"ticket_id","value":"42"}],"date_time":"2025-11-20T09:14:03.25+01:00","name":"callback_42","kill_on_user_msg":true}`},
		{"reminder unnamed utc", ReminderScheduled("EXTERNAL_x", at.UTC().Truncate(time.Second), nil, "", false),
			`{"event":"reminder","timestamp":null,"intent":"EXTERNAL_x","entities":null,"date_time":"2025-11-20T08:14:03+00:00","name":null,"kill_on_user_msg":false}`},
		{"cancel reminder by name", ReminderCancelled("callback_42", "", nil), `{"event":"cancel_reminder","timestamp":null,"name":"callback_42","intent":null,"entities":null}`},
		{"cancel all reminders", ReminderCancelled("", "", nil), `{"event":"cancel_reminder","timestamp":null,"name":null,"intent":null,"entities":null}`},
		{"pause", ConversationPaused(), `{"event":"pause","timestamp":null}`},
		{"resume", ConversationResumed(), `{"event":"resume","timestamp":null}`},
		{"restart", Restarted(), `{"event":"restart","timestamp":null}`},
		{"session started", SessionStarted(), `{"event":"session_started","timestamp":null}`},
		{"session ended", SessionEnded(), `{"event":"session_ended","timestamp":null}`},
		{"followup", FollowupAction("action_block_card"), `{"event":"followup","timestamp":null,"name":"action_block_card"}`},
		{"action executed", ActionExecuted("action_listen"), `{"event":"action","timestamp":null,"name":"action_listen"}`},
		{"action rejected", ActionExecutionRejected("card_block_form"), `{"event":"action_execution_rejected","timestamp":null,"name":"card_block_form"}`},
		{"loop on", Loop("card_block_form"), `{"event":"active_loop","timestamp":null,"name":"card_block_form"}`},
		{"loop off", Loop(""), `{"event":"active_loop","timestamp":null,"name":null}`},
		{"loop interrupted", LoopInterrupted(true), `{"event":"loop_interrupted","timestamp":null,"is_interrupted":true}`},
		{"rewind", UserUtteranceReverted(), `{"event":"rewind","timestamp":null}`},
		{"undo", ActionReverted(), `{"event":"undo","timestamp":null}`},
		{"user", UserUttered("/affirm", map[string]any{"intent": map[string]any{"name": "affirm", "confidence": 1.0}, "entities": []any{}}, "twilio_voice", map[string]any{"call_sid": "CA1"}),
			`{"event":"user","timestamp":null,"text":"/affirm","parse_data":{"entities":[],"intent":{"confidence":1,"name":"affirm"}},"input_channel":"twilio_voice","metadata":{"call_sid":"CA1"}}`},
		{"user minimal", UserUttered("hola", nil, "", nil), `{"event":"user","timestamp":null,"text":"hola","parse_data":{},"input_channel":null,"metadata":null}`},
		{"bot", BotUttered("¿Algo más?", nil, nil), `{"event":"bot","timestamp":null,"text":"¿Algo más?","data":{},"metadata":{}}`},
		{"bot with data", BotUttered("x", map[string]any{"buttons": []Button{{Title: "Sí", Payload: "/affirm"}}}, map[string]any{"utter_action": "utter_x"}),
			`{"event":"bot","timestamp":null,"text":"x","data":{"buttons":[{"title":"Sí","payload":"/affirm"}]},"metadata":{"utter_action":"utter_x"}}`},
		{"agent", AgentUttered("hola", nil), `{"event":"agent","timestamp":null,"text":"hola","data":null}`},
		{"export", StoryExported("stories.yml"), `{"event":"export","timestamp":null,"path":"stories.yml"}`},
		{"export default", StoryExported(""), `{"event":"export","timestamp":null,"path":null}`},
		{"entities", EntitiesAdded([]map[string]any{{"entity": "card_kind", "value": "debit"}}), `{"event":"entities","timestamp":null,"entities":[{"entity":"card_kind","value":"debit"}]}`},
		{"entities none", EntitiesAdded(nil), `{"event":"entities","timestamp":null,"entities":[]}`},
		{"user featurization", UserFeaturization(false), `{"event":"user_featurization","timestamp":null,"use_text_for_featurization":false}`},
		{"timestamp", SlotSet("a", 1).WithTimestamp(time.Unix(1732543112, 481156800)), `{"event":"slot","timestamp":1732543112.4811568,"name":"a","value":1}`},
		{"zero timestamp is null", Restarted().WithTimestamp(time.Time{}), `{"event":"restart","timestamp":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
			direct, err := tt.ev.MarshalJSON()
			if err != nil || string(direct) != tt.want {
				t.Errorf("MarshalJSON = %s, %v", direct, err)
			}
		})
	}
}

// Every constructor must produce an event name from the catalogue, and every
// slot event must carry both name and value.
func TestEventNamesAreKnown(t *testing.T) {
	known := map[string]bool{
		"slot": true, "reset_slots": true, "reminder": true, "cancel_reminder": true, "pause": true, "resume": true,
		"restart": true, "session_started": true, "session_ended": true, "followup": true, "action": true,
		"action_execution_rejected": true, "active_loop": true, "loop_interrupted": true, "rewind": true, "undo": true,
		"user": true, "bot": true, "agent": true, "export": true, "entities": true, "user_featurization": true,
	}
	all := []Event{
		SlotSet("a", nil), AllSlotsReset(), ReminderScheduled("i", time.Now(), nil, "", true), ReminderCancelled("", "", nil),
		ConversationPaused(), ConversationResumed(), Restarted(), SessionStarted(), SessionEnded(), FollowupAction("a"),
		ActionExecuted("a"), ActionExecutionRejected("a"), Loop("a"), LoopInterrupted(false), UserUtteranceReverted(),
		ActionReverted(), UserUttered("", nil, "", nil), BotUttered("", nil, nil), AgentUttered("", nil),
		StoryExported(""), EntitiesAdded(nil), UserFeaturization(true),
	}
	if len(all) != len(known) {
		t.Fatalf("test covers %d constructors, catalogue has %d", len(all), len(known))
	}
	for _, ev := range all {
		var m map[string]any
		b, _ := json.Marshal(ev)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m["event"] != ev.Name() || !known[ev.Name()] {
			t.Errorf("event %q: unknown name or wrong \"event\" key in %s", ev.Name(), b)
		}
		if _, ok := m["timestamp"]; !ok {
			t.Errorf("%s: no timestamp key", b)
		}
	}
}

func TestEventGet(t *testing.T) {
	ev := SlotSet("card_last4", "4567")
	if v, ok := ev.Get("value"); !ok || v != "4567" {
		t.Errorf("Get(value) = %v, %v", v, ok)
	}
	if _, ok := ev.Get("nope"); ok {
		t.Error("Get(nope) found a value")
	}
}

func TestEventMarshalError(t *testing.T) {
	if _, err := json.Marshal(SlotSet("x", math.NaN())); err == nil {
		t.Error("NaN slot value marshalled without error")
	}
	if _, err := json.Marshal(Result{Events: []Event{SlotSet("x", make(chan int))}}); err == nil {
		t.Error("channel slot value marshalled without error")
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "hola", "¿Débito?", "a\"b\\c", "\x00\x01\x1f\n\r\t", "\xff\xfe", "a\xc3", "\u2028\u2029", "😀", "<&>"} {
		checkAppendString(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("¿Débito? \"x\" \\ \n \x00 \xff \u2028")
	f.Fuzz(checkAppendString)
}

// checkAppendString: the output is valid JSON that decodes to what
// encoding/json's own encoding of s decodes to.
func checkAppendString(t *testing.T, s string) {
	got := appendString(nil, s)
	if !json.Valid(got) {
		t.Fatalf("invalid JSON %q", got)
	}
	std, _ := json.Marshal(s)
	var a, b string
	json.Unmarshal(got, &a)
	json.Unmarshal(std, &b)
	if a != b {
		t.Fatalf("appendString(%q) decodes to %q, encoding/json to %q", s, a, b)
	}
}
