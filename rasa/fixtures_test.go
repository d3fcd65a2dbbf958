package rasa

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// pythonJSON marshals v and escapes non-ASCII as \uXXXX, as Python's
// json.dumps (and therefore Rasa) does.
func pythonJSON(t testing.TB, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for len(raw) > 0 {
		r, size := utf8.DecodeRune(raw)
		switch {
		case r < utf8.RuneSelf:
			out.WriteByte(raw[0])
		case r > 0xFFFF:
			r1, r2 := 0xD800+((r-0x10000)>>10), 0xDC00+((r-0x10000)&0x3FF)
			fmt.Fprintf(&out, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
		raw = raw[size:]
	}
	return out.Bytes()
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var eventMeta = map[string]any{"model_id": "6a9f4c2b1d0e4a5b8c7d6e5f4a3b2c1d", "assistant_id": "sctbnk-cardblock"}

// rasaEvents generates n events shaped like a Rasa OSS 3.6 tracker of a
// card-block call: a session start, then turns of user message, slot
// extraction, form or action execution, bot utterance and action_listen. The
// tail is a form validation call: requested_slot, the form action and the
// extracted candidate slots.
func rasaEvents(n int) []map[string]any {
	ts := 1732543089.1123
	next := func() float64 { ts += 0.731; return ts }
	ev := make([]map[string]any, 0, n+8)
	add := func(e map[string]any) { e["timestamp"] = next(); ev = append(ev, e) }
	action := func(name, policy string) map[string]any {
		return map[string]any{"event": "action", "metadata": eventMeta, "name": name, "policy": policy,
			"confidence": 1.0, "action_text": nil, "hide_rule_turn": false}
	}
	add(action("action_session_start", ""))
	add(map[string]any{"event": "session_started", "metadata": eventMeta})
	add(map[string]any{"event": "slot", "name": "session_started_metadata",
		"value": map[string]any{"call_sid": "CA5f3e0c1d2b4a69870f1e2d3c4b5a6978", "from": "+34600000000"}})
	add(action("action_listen", ""))
	texts := []string{"he perdido la tarjeta", "sí, cuatro cinco seis siete", "la de débito", "sí, bloquéela por favor", "¿me lo repite?"}
	tail := 3
	for turn := 0; len(ev) < n-tail; turn++ {
		text := texts[turn%len(texts)]
		msgID := fmt.Sprintf("%032x", turn*7919+1)
		parse := map[string]any{
			"intent": map[string]any{"name": "inform_card_digits", "confidence": 0.9731},
			"entities": []any{map[string]any{"entity": "card_digits", "start": 4, "end": 27,
				"confidence_entity": 0.998, "value": "cuatro cinco seis siete", "extractor": "DIETClassifier"}},
			"text": text, "message_id": msgID,
			"metadata":       map[string]any{"call_sid": "CA5f3e0c1d2b4a69870f1e2d3c4b5a6978"},
			"intent_ranking": []any{map[string]any{"name": "inform_card_digits", "confidence": 0.9731}, map[string]any{"name": "affirm", "confidence": 0.0201}},
		}
		add(map[string]any{"event": "user", "metadata": map[string]any{"call_sid": "CA5f3e0c1d2b4a69870f1e2d3c4b5a6978"},
			"text": text, "parse_data": parse, "input_channel": "twilio_voice", "message_id": msgID})
		add(map[string]any{"event": "user_featurization", "metadata": eventMeta, "use_text_for_featurization": false})
		add(map[string]any{"event": "slot", "name": "card_last4", "value": "4567"})
		add(action("card_block_form", "RulePolicy"))
		add(map[string]any{"event": "slot", "name": "requested_slot", "value": "confirm_block"})
		add(map[string]any{"event": "bot", "metadata": map[string]any{"utter_action": "utter_confirm_block", "card_spoken": "4 5 6 7"},
			"text": "¿Confirma que bloqueamos la tarjeta terminada en 4 5 6 7?",
			"data": map[string]any{"elements": nil, "quick_replies": nil, "buttons": nil, "attachment": nil, "image": nil, "custom": nil}})
		add(action("action_listen", "RulePolicy"))
	}
	ev = ev[:max(n-tail, 0)]
	add(map[string]any{"event": "slot", "name": "requested_slot", "value": "card_last4"})
	add(action("card_block_form", "RulePolicy"))
	add(map[string]any{"event": "slot", "name": "card_last4", "value": "cuatro cinco seis siete"})
	return ev[:n]
}

// rasaRequestBody builds a webhook body with an n-event tracker, in the shape
// Rasa Pro sends (no domain) unless withDomain is set.
func rasaRequestBody(t testing.TB, action string, n int, withDomain bool) []byte {
	t.Helper()
	slots := map[string]any{
		"card_last4": "cuatro cinco seis siete", "block_reason": "lost", "card_kind": nil, "verified": false,
		"verification_attempts": 0.0, "confirm_block": nil, "block_reference": nil, "ticket_id": nil,
		"requested_slot": "card_last4", "caller_phone": "+34600000000",
		"session_started_metadata": map[string]any{"call_sid": "CA5f3e0c1d2b4a69870f1e2d3c4b5a6978", "from": "+34600000000"},
	}
	tracker := map[string]any{
		"sender_id": "CA5f3e0c1d2b4a69870f1e2d3c4b5a6978", "slots": slots,
		"latest_message": map[string]any{
			"intent":   map[string]any{"name": "inform_card_digits", "confidence": 0.9731},
			"entities": []any{map[string]any{"entity": "card_digits", "start": 4, "end": 27, "value": "cuatro cinco seis siete", "extractor": "DIETClassifier"}},
			"text":     "sí, cuatro cinco seis siete", "message_id": "9d2b0f7c6a6f4f6d8a0b8f3d2c1e4a57",
			"metadata": map[string]any{"call_sid": "CA5f3e0c1d2b4a69870f1e2d3c4b5a6978"},
		},
		"latest_event_time": 1732543112.4811568, "followup_action": nil, "paused": false,
		"events": rasaEvents(n), "latest_input_channel": "twilio_voice",
		"active_loop":        map[string]any{"name": "card_block_form", "is_interrupted": false, "rejected": false, "trigger_message": nil},
		"latest_action":      map[string]any{"action_name": "card_block_form"},
		"latest_action_name": "card_block_form",
	}
	body := map[string]any{"next_action": action, "sender_id": "CA5f3e0c1d2b4a69870f1e2d3c4b5a6978", "tracker": tracker, "version": "3.6.20"}
	if withDomain {
		var domain map[string]any
		var full map[string]any
		if err := json.Unmarshal(readFixture(t, "oss36_validate_form.json"), &full); err != nil {
			t.Fatal(err)
		}
		domain = full["domain"].(map[string]any)
		body["domain"] = domain
	} else {
		body["domain_digest"] = "5b1d5c7e9a2f4e3b8c6d0a1f2e3d4c5b"
	}
	return pythonJSON(t, body)
}
