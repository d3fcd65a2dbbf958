package rasa

import (
	"encoding/json"
	"testing"
)

func TestMessageJSON(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		want string
	}{
		{"utter with vars", Utter("utter_card_blocked", map[string]any{"card_spoken": "4 5 6 7", "block_reference": "BLK-7F3K9Q"}),
			`{"response":"utter_card_blocked","block_reference":"BLK-7F3K9Q","card_spoken":"4 5 6 7"}`},
		{"utter no vars", Utter("utter_handoff", nil), `{"response":"utter_handoff"}`},
		{"reserved vars ignored", Utter("utter_x", map[string]any{"response": "utter_evil", "text": "t", "buttons": 1, "custom": 2, "template": "utter_y", "n": 3}),
			`{"response":"utter_x","n":3}`},
		{"text", Text("Un momento, por favor."), `{"text":"Un momento, por favor."}`},
		{"buttons", WithButtons("¿Débito o crédito?", Button{"Débito", "/inform{\"card_kind\":\"debit\"}"}, Button{"Crédito", "/inform"}),
			`{"text":"¿Débito o crédito?","buttons":[{"title":"Débito","payload":"/inform{\"card_kind\":\"debit\"}"},{"title":"Crédito","payload":"/inform"}]}`},
		{"custom", Custom(map[string]any{"twilio": map[string]any{"hangup": true}}), `{"custom":{"twilio":{"hangup":true}}}`},
		{"custom nil is empty object", Custom(nil), `{"custom":{}}`},
		{"empty", Message{}, `{}`},
		{"all fields", Message{Response: "utter_a", Text: "t", Buttons: []Button{{"a", "/a"}}, Custom: map[string]any{}, Vars: map[string]any{"v": nil}},
			`{"response":"utter_a","text":"t","buttons":[{"title":"a","payload":"/a"}],"custom":{},"v":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestResultJSON(t *testing.T) {
	tests := []struct {
		name string
		res  Result
		want string
	}{
		{"empty never null", Result{}, `{"events":[],"responses":[]}`},
		{"events and responses", Result{
			Events:    []Event{SlotSet("card_last4", "4567"), SlotSet("requested_slot", nil)},
			Responses: []Message{Utter("utter_confirm_block", map[string]any{"card_spoken": "4 5 6 7"})},
		}, `{"events":[{"event":"slot","timestamp":null,"name":"card_last4","value":"4567"},{"event":"slot","timestamp":null,"name":"requested_slot","value":null}],"responses":[{"response":"utter_confirm_block","card_spoken":"4 5 6 7"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.res)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
