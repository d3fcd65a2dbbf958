package actions_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden request/response files under testdata/golden")

// step is one action call of a scripted conversation: prep adds what the
// caller said and what Rasa did before the call; want and slots are the
// behaviour asserted in every mode, so -update cannot bless a wrong reply.
type step struct {
	action string
	prep   func(c *conv)
	want   []string       // response names, in order
	slots  map[string]any // slot events that must be in the reply ("*" = any non-null value)
	status int            // HTTP status; 0 = 200
}

type flow struct {
	name   string
	phone  string // session metadata user_phone ("" = none)
	callID string
	steps  []step
}

func meta(phone, callID string) map[string]any {
	if phone == "" && callID == "" {
		return nil
	}
	return map[string]any{"call_id": callID, "user_phone": phone, "bot_phone": "+34900123456", "direction": "inbound"}
}

func say(text, intent string, ents ...map[string]any) func(c *conv) {
	return func(c *conv) { c.user(text, intent, nil, ents...) }
}

func ent(name, value string) map[string]any {
	return map[string]any{"entity": name, "value": value, "start": 0, "end": len(value), "confidence_entity": 0.99, "extractor": "DIETClassifier"}
}

// answer is a caller's reply to the form's question about slot: the user
// turn plus the form turn with the raw text as the candidate (from_text).
func answer(slot, text, intent string) func(c *conv) {
	return func(c *conv) {
		c.user(text, intent, nil)
		c.formTurn(slot, [2]any{slot, text})
	}
}

func then(fs ...func(c *conv)) func(c *conv) {
	return func(c *conv) {
		for _, f := range fs {
			f(c)
		}
	}
}

// opening is the caller's first sentence, which activates the form with the
// reason extracted from the intent.
func opening(text, intent, reason string) func(c *conv) {
	return func(c *conv) {
		c.user(text, intent, nil)
		if reason == "" {
			c.formTurn("")
			return
		}
		c.formTurn("", [2]any{"block_reason", reason})
	}
}

func finishForm(c *conv) { c.endForm() }

var flows = []flow{
	{name: "stolen_happy_path", phone: "+34600111222", callID: "CA11111111111111111111111111111111", steps: []step{
		{action: "action_session_start", slots: map[string]any{"call_id": "*", "caller_number": "+34600111222"}},
		{action: "validate_card_block_form", prep: opening("me han robado la cartera con la tarjeta", "report_theft", "stolen"),
			slots: map[string]any{"block_reason": "stolen", "block_type": "permanent", "requested_slot": "card_last4"}},
		{action: "validate_card_block_form", prep: answer("card_last4", "termina en cuatro cinco seis siete", "give_digits"),
			slots: map[string]any{"card_last4": "4567", "requested_slot": nil}},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_confirm_block"},
			slots: map[string]any{"card_verified": true, "card_kind": "debit"}},
		{action: "action_block_card", prep: say("sí por favor", "affirm"), want: []string{"utter_card_blocked"},
			slots: map[string]any{"card_blocked": true, "block_reference": "*"}},
		{action: "action_create_ticket", want: []string{"utter_ticket_queued"}, slots: map[string]any{"ticket_status": "queued"}},
		{action: "action_create_ticket", want: []string{"utter_ticket_queued"}, slots: map[string]any{"ticket_status": "queued"}},
		{action: "action_block_card", want: []string{"utter_card_already_blocked"}, slots: map[string]any{"card_blocked": true}},
	}},
	{name: "lost_temporary", phone: "+34600111222", callID: "CA22222222222222222222222222222222", steps: []step{
		{action: "action_session_start"},
		{action: "validate_card_block_form", prep: opening("he perdido la tarjeta", "report_loss", "lost"),
			slots: map[string]any{"block_reason": "lost", "requested_slot": "card_last4"}},
		{action: "validate_card_block_form", prep: answer("card_last4", "cero nueve uno dos", "give_digits"),
			slots: map[string]any{"card_last4": "0912", "requested_slot": "block_type"}},
		{action: "validate_card_block_form", prep: then(say("sí puede que la encuentre", "affirm"), func(c *conv) { c.formTurn("block_type", [2]any{"block_type", "temporary"}) }),
			slots: map[string]any{"block_type": "temporary", "requested_slot": nil}},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_confirm_block"}, slots: map[string]any{"card_verified": true, "card_kind": "credit"}},
		{action: "action_block_card", prep: say("sí", "affirm"), want: []string{"utter_card_blocked"}, slots: map[string]any{"card_blocked": true}},
	}},
	{name: "unknown_caller_national_id", phone: "+34699000111", callID: "CA33333333333333333333333333333333", steps: []step{
		{action: "action_session_start"},
		{action: "validate_card_block_form", prep: opening("quiero bloquear mi tarjeta me han hecho cargos que no reconozco", "report_fraud", "fraud"),
			slots: map[string]any{"block_reason": "fraud", "requested_slot": "national_id"}},
		{action: "validate_card_block_form", prep: answer("national_id", "uno dos tres cuatro cinco seis siete ocho zeta", "give_digits"),
			slots: map[string]any{"national_id": "12345678Z", "requested_slot": "card_last4"}},
		{action: "validate_card_block_form", prep: answer("card_last4", "45 67", "give_digits"),
			slots: map[string]any{"card_last4": "4567", "requested_slot": nil}},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_confirm_block"}, slots: map[string]any{"card_verified": true}},
		{action: "action_block_card", prep: say("sí", "affirm"), want: []string{"utter_card_blocked"}, slots: map[string]any{"card_blocked": true}},
	}},
	{name: "withheld_number_wrong_national_id", phone: "+266696687", callID: "CA44444444444444444444444444444444", steps: []step{
		{action: "action_session_start"},
		{action: "validate_card_block_form", prep: opening("me han robado la tarjeta", "report_theft", "stolen"),
			slots: map[string]any{"requested_slot": "national_id"}},
		{action: "validate_card_block_form", prep: answer("national_id", "uno dos tres cuatro cinco seis siete ocho jota", "give_digits"),
			slots: map[string]any{"national_id": nil, "requested_slot": "national_id"}},
	}},
	{name: "two_cards_same_last4", phone: "+34611222333", callID: "CA55555555555555555555555555555555", steps: []step{
		{action: "action_session_start"},
		{action: "validate_card_block_form", prep: opening("me han robado la tarjeta", "report_theft", "stolen"), slots: map[string]any{"requested_slot": "card_last4"}},
		{action: "validate_card_block_form", prep: answer("card_last4", "uno dos tres cuatro", "give_digits"), slots: map[string]any{"card_last4": "1234"}},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_ask_card_kind"}, slots: map[string]any{"card_verified": false, "card_kind": nil}},
		{action: "action_verify_last4", prep: func(c *conv) {
			c.user("la de crédito", "inform_card_kind", nil, ent("card_kind", "credit"))
			c.slot("card_kind", "credit")
		}, want: []string{"utter_confirm_block"}, slots: map[string]any{"card_verified": true, "card_kind": "credit"}},
		{action: "action_block_card", prep: say("sí", "affirm"), want: []string{"utter_card_blocked"}},
	}},
	{name: "wrong_then_right", phone: "+34600111222", callID: "CA66666666666666666666666666666666", steps: []step{
		{action: "action_session_start"},
		{action: "validate_card_block_form", prep: opening("bloquear tarjeta por fraude", "report_fraud", "fraud")},
		{action: "validate_card_block_form", prep: answer("card_last4", "nueve nueve nueve nueve", "give_digits"), slots: map[string]any{"card_last4": "9999"}},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_verification_failed"},
			slots: map[string]any{"card_last4": nil, "verification_attempts": 1.0, "card_verified": false}},
		{action: "validate_card_block_form", prep: answer("card_last4", "cuarenta y cinco sesenta y siete", "give_digits"), slots: map[string]any{"card_last4": "4567", "requested_slot": nil}},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_confirm_block"}, slots: map[string]any{"card_verified": true, "verification_attempts": 1.0}},
	}},
	{name: "three_failures_lockout", phone: "+34600111222", callID: "CA77777777777777777777777777777777", steps: []step{
		{action: "action_session_start"},
		{action: "validate_card_block_form", prep: opening("me han robado", "report_theft", "stolen")},
		{action: "validate_card_block_form", prep: answer("card_last4", "1111", "give_digits")},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_verification_failed"}},
		{action: "validate_card_block_form", prep: answer("card_last4", "2222", "give_digits")},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_verification_failed"}, slots: map[string]any{"verification_attempts": 2.0}},
		{action: "validate_card_block_form", prep: answer("card_last4", "3333", "give_digits")},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_verification_locked"}, slots: map[string]any{"verification_locked": true, "verification_attempts": 3.0}},
		{action: "action_create_ticket", want: []string{"utter_ticket_queued"}, slots: map[string]any{"ticket_status": "queued"}},
		{action: "action_create_ticket", want: []string{"utter_ticket_queued"}},
		// Locked: even the right digits no longer verify.
		{action: "validate_card_block_form", prep: answer("card_last4", "4567", "give_digits")},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_verification_locked"}},
		{action: "action_block_card", want: []string{"utter_block_refused"}, slots: map[string]any{"card_blocked": false}},
	}},
	{name: "card_already_blocked", phone: "+34622333444", callID: "CA88888888888888888888888888888888", steps: []step{
		{action: "action_session_start"},
		{action: "validate_card_block_form", prep: opening("he perdido la tarjeta", "report_loss", "lost")},
		{action: "validate_card_block_form", prep: answer("card_last4", "cero cero cero siete", "give_digits"), slots: map[string]any{"card_last4": "0007", "requested_slot": "block_type"}},
		{action: "validate_card_block_form", prep: then(say("no creo", "deny"), func(c *conv) { c.formTurn("block_type", [2]any{"block_type", "permanent"}) }), slots: map[string]any{"block_type": "permanent"}},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_card_already_blocked"}, slots: map[string]any{"card_blocked": true, "block_reference": "BLK-DEMO07"}},
		{action: "action_block_card", want: []string{"utter_card_already_blocked"}, slots: map[string]any{"block_reference": "BLK-DEMO07"}},
		{action: "action_create_ticket", want: []string{"utter_no_ticket"}},
	}},
	{name: "injected_verification_slots", phone: "+34600111222", callID: "CA99999999999999999999999999999999", steps: []step{
		{action: "action_session_start"},
		{action: "action_block_card", prep: func(c *conv) {
			c.user("bloquea la tarjeta", "block_card", nil)
			c.slot("card_verified", true).slot("card_last4", "4567").slot("block_reason", "stolen")
		}, want: []string{"utter_block_refused"}, slots: map[string]any{"card_blocked": false}},
	}},
	{name: "full_card_number_refused", phone: "+34600111222", callID: "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", steps: []step{
		{action: "action_session_start"},
		{action: "validate_card_block_form", prep: opening("me han robado la tarjeta", "report_theft", "stolen")},
		{action: "validate_card_block_form", prep: answer("card_last4", "cuatro uno uno uno uno uno uno uno uno uno uno uno uno uno uno uno", "give_digits"),
			want: []string{"utter_card_number_refused"}, slots: map[string]any{"card_last4": nil, "requested_slot": "card_last4"}},
		{action: "validate_card_block_form", prep: answer("card_last4", "4111 1111 1111 1111", "give_digits"),
			want: []string{"utter_card_number_refused"}, slots: map[string]any{"card_last4": nil}},
	}},
	{name: "three_unusable_answers_handoff", phone: "+34600111222", callID: "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", steps: []step{
		{action: "action_session_start"},
		{action: "validate_card_block_form", prep: opening("me han robado la tarjeta", "report_theft", "stolen")},
		{action: "validate_card_block_form", prep: answer("card_last4", "no me acuerdo", "give_digits"), want: nil, slots: map[string]any{"card_last4": nil, "requested_slot": "card_last4"}},
		{action: "validate_card_block_form", prep: answer("card_last4", "cuatro cinco", "give_digits"), want: nil, slots: map[string]any{"card_last4": nil}},
		{action: "validate_card_block_form", prep: answer("card_last4", "quatro sinko says siete", "give_digits"), want: []string{"utter_handoff"}, slots: map[string]any{"requested_slot": nil}},
	}},
	{name: "reason_changed_mid_form", phone: "+34600111222", callID: "CAcccccccccccccccccccccccccccccccc", steps: []step{
		{action: "action_session_start"},
		{action: "validate_card_block_form", prep: opening("he perdido la tarjeta", "report_loss", "lost"), slots: map[string]any{"block_reason": "lost", "requested_slot": "card_last4"}},
		{action: "validate_card_block_form", prep: func(c *conv) {
			c.user("perdón en realidad me la han robado", "report_theft", nil)
			c.formTurn("card_last4", [2]any{"block_reason", "stolen"})
		}, slots: map[string]any{"block_reason": "stolen", "block_type": "permanent", "requested_slot": "card_last4"}},
	}},
	{name: "no_call_metadata_sender_phone", phone: "", callID: "", steps: []step{
		{action: "action_session_start", slots: map[string]any{}},
		{action: "validate_card_block_form", prep: opening("se me ha estropeado la tarjeta no funciona", "report_damage", "damaged"),
			slots: map[string]any{"block_reason": "damaged", "requested_slot": "card_last4"}},
		{action: "validate_card_block_form", prep: answer("card_last4", "cinco cinco cero cero", "give_digits")},
		{action: "action_verify_last4", prep: finishForm, want: []string{"utter_confirm_block"}},
		{action: "action_block_card", prep: say("vale", "affirm"), want: []string{"utter_card_blocked"}},
	}},
	{name: "unknown_action", steps: []step{{action: "action_transfer_money", status: 404}}},
}

// senderFor is the Rasa sender id of a flow: the twilio_voice channel uses
// the caller's number; the flow without metadata is a Mexican caller whose
// number is only the sender id.
func senderFor(f flow) string {
	if f.phone == "" {
		return "+525512345678"
	}
	return f.phone
}

var blockRef = regexp.MustCompile(`BLK-[0-9A-Z]{6}`)

// normaliseReply makes a reply comparable: references are random.
func normaliseReply(b []byte) []byte {
	b = blockRef.ReplaceAllFunc(b, func(m []byte) []byte {
		if string(m) == "BLK-DEMO07" {
			return m
		}
		return []byte("BLK-XXXXXX")
	})
	b = regexp.MustCompile(`B L K, [0-9A-Z ]{11}`).ReplaceAll(b, []byte("B L K, X X X X X X"))
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return b
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	return append(out, '\n')
}

// TestGoldenConversations replays every scripted conversation in the shapes
// Rasa Open Source 3.6 (with domain) and Rasa Pro (no domain, domain_digest,
// stack) send, comparing each reply with its golden file. With -update the
// requests are rebuilt from the scripts and the replies rewritten.
func TestGoldenConversations(t *testing.T) {
	for _, shape := range []string{"oss36", "pro"} {
		for _, f := range flows {
			t.Run(shape+"/"+f.name, func(t *testing.T) {
				h := newHarness(t)
				dir := filepath.Join("testdata", "golden", shape, f.name)
				c := newConv(senderFor(f), shape == "pro", meta(f.phone, f.callID))
				if f.steps[0].action == "action_session_start" {
					c = preSession(senderFor(f), shape == "pro", meta(f.phone, f.callID))
				}
				if *update {
					os.RemoveAll(dir)
					if err := os.MkdirAll(dir, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				for i, s := range f.steps {
					base := filepath.Join(dir, fmt.Sprintf("%02d_%s", i+1, s.action))
					if s.prep != nil {
						s.prep(c)
					}
					var body []byte
					if *update {
						body = c.request(s.action)
						writeFile(t, base+".request.json", body)
					} else {
						body = readFile(t, base+".request.json")
					}
					status, reply, raw := h.call(body)
					want := s.status
					if want == 0 {
						want = 200
					}
					if status != want {
						t.Fatalf("step %d %s: status %d, want %d: %s", i+1, s.action, status, want, raw)
					}
					got := normaliseReply(raw)
					if *update {
						writeFile(t, base+".response.json", got)
					} else if golden := readFile(t, base+".response.json"); !bytes.Equal(got, golden) {
						t.Errorf("step %d %s: reply differs from %s.response.json:\n got: %s\nwant: %s", i+1, s.action, base, got, golden)
					}
					checkStep(t, i+1, s, reply)
					if status == 200 {
						c.apply(s.action, reply)
					}
				}
			})
		}
	}
}

func checkStep(t *testing.T, n int, s step, reply replyJSON) {
	t.Helper()
	if s.status != 0 && s.status != 200 {
		return
	}
	if got := responseNames(reply); !slices.Equal(got, s.want) {
		t.Errorf("step %d %s: responses %v, want %v", n, s.action, got, s.want)
	}
	got := slotEvents(reply)
	keys := make([]string, 0, len(s.slots))
	for k := range s.slots {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		want := s.slots[k]
		v, ok := got[k]
		switch {
		case !ok:
			t.Errorf("step %d %s: slot %s not set (events: %v)", n, s.action, k, got)
		case want == "*":
			if v == nil {
				t.Errorf("step %d %s: slot %s is null, want a value", n, s.action, k)
			}
		case !reflect.DeepEqual(v, want):
			t.Errorf("step %d %s: slot %s = %#v, want %#v", n, s.action, k, v, want)
		}
	}
}

// preSession is the tracker Rasa sends to action_session_start: only the
// session metadata (Rasa sets the slot just before it runs the action).
func preSession(sender string, pro bool, m map[string]any) *conv {
	c := &conv{sender: sender, pro: pro, clock: 1764766800.0, slots: map[string]any{}, loop: map[string]any{}}
	for _, s := range domainSlots {
		c.slots[s] = nil
	}
	if m != nil {
		c.slot("session_started_metadata", m)
	}
	c.lastAct = "action_listen"
	return c
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./actions -run Golden -update to create it)", err)
	}
	return b
}

var _ = strings.Contains
