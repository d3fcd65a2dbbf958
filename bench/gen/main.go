// Command gen writes the request bodies of the benchmarks (bench/run.sh):
// Rasa Open Source 3.6 action calls of validate_card_block_form on trackers
// of about N events, and of action_verify_last4 after the form completed.
//
//	go run ./bench/gen -out DIR [-sizes 50,200,1000,2000,5000,20000]
//
// It writes DIR/validate_<N>.json and DIR/verify_<N>.json (verify only for
// 50 and 2000) and prints one line per file: name, events, bytes.
//
// The bodies are byte-for-byte what Rasa's aiohttp client sends: Python
// json.dumps with its default separators (", " and ": ") and ensure_ascii
// (non-ASCII as \uXXXX), keys in the order Rasa's as_dict/current_state put
// them ("event" first in every event). The conversation is the one of
// actions/bench_test.go's longConv: a withheld-number sender id that has
// accumulated earlier turns, then the caller says "cuatro cinco seis siete"
// and the form asks validate_card_block_form to check block_reason and
// card_last4. It is a benchmark tool, not a test.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf16"
)

func main() {
	out := flag.String("out", "", "directory to write the bodies to")
	sizes := flag.String("sizes", "50,200,1000,2000,5000,20000", "tracker sizes (events) of the validate bodies")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: gen -out DIR [-sizes 50,200,...]")
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 20 {
			fail(fmt.Errorf("bad size %q (at least 20)", s))
		}
		c := longConv(n)
		write(*out, fmt.Sprintf("validate_%d.json", n), len(c.events), c.request("validate_card_block_form"))
		if n == 50 || n == 2000 {
			v := longConv(n).completeForm()
			write(*out, fmt.Sprintf("verify_%d.json", n), len(v.events), v.request("action_verify_last4"))
		}
	}
}

func write(dir, name string, events int, body []byte) {
	if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
		fail(err)
	}
	fmt.Printf("%s\t%d\t%d\n", name, events, len(body))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

// ---- ordered JSON in Python's json.dumps style ----

type kv struct {
	k string
	v any
}

// obj is a JSON object whose keys keep their order, as a Python dict does.
type obj []kv

func (o obj) get(k string) any {
	for _, e := range o {
		if e.k == k {
			return e.v
		}
	}
	return nil
}

// set replaces k's value in place (a Python dict update keeps the position)
// or appends it.
func (o obj) set(k string, v any) obj {
	for i := range o {
		if o[i].k == k {
			o[i].v = v
			return o
		}
	}
	return append(o, kv{k, v})
}

func (o obj) clone() obj { return append(obj(nil), o...) }

func dumps(v any) []byte {
	var b bytes.Buffer
	encode(&b, v)
	return b.Bytes()
}

func encode(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int:
		b.WriteString(strconv.Itoa(v))
	case float64:
		b.WriteString(pyFloat(v))
	case string:
		pyString(b, v)
	case obj:
		b.WriteByte('{')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			pyString(b, e.k)
			b.WriteString(": ")
			encode(b, e.v)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			encode(b, e)
		}
		b.WriteByte(']')
	case []obj:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			encode(b, e)
		}
		b.WriteByte(']')
	default:
		panic(fmt.Sprintf("gen: cannot encode %T", v))
	}
}

// pyFloat is Python's repr of a float: the shortest digits that round-trip,
// always with a fraction or an exponent ("1.0", "1764766800.731", "1e-05").
func pyFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		panic("gen: non-finite float")
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		s := strconv.FormatFloat(f, 'e', -1, 64) // 1e-05 → "1e-05" as in Python
		return s
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// pyString writes s as json.dumps(ensure_ascii=True) does.
func pyString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (r >= 0x7f && r <= 0xffff):
			fmt.Fprintf(b, `\u%04x`, r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// ---- the conversation (after actions/conv_test.go) ----

// domainSlots are the slots of rasa-project/domain.yml, all sent on every call.
var domainSlots = []string{
	"block_reason", "card_last4", "card_kind", "national_id", "card_verified", "verification_attempts",
	"verification_locked", "card_blocked", "block_reference", "ticket_id", "ticket_status", "call_id",
	"caller_number", "block_type", "requested_slot", "session_started_metadata",
}

type conv struct {
	sender  string
	clock   float64
	events  []obj
	slots   obj
	latest  obj
	loop    obj
	lastAct string
	msgSeq  int
}

func eventMeta() obj {
	return obj{{"model_id", "3f2a9c1e5b7d4e60a1b2c3d4e5f60718"}, {"assistant_id", "sctbnk-card-block"}}
}

func newConv(sender string, meta obj) *conv {
	c := &conv{sender: sender, clock: 1764766800.0, loop: obj{}}
	for _, s := range domainSlots {
		c.slots = append(c.slots, kv{s, nil})
	}
	c.action("action_session_start", "")
	c.add("session_started", nil)
	if meta != nil {
		c.slot("session_started_metadata", meta)
	}
	c.action("action_listen", "")
	return c
}

func (c *conv) tick() float64 { c.clock += 0.731; return c.clock }

// add appends an event as Rasa's Event.as_dict orders it: event, timestamp,
// metadata (only when not empty), then the event's own fields; a later
// "metadata" field updates the earlier one in place.
func (c *conv) add(kind string, fields obj) {
	e := obj{{"event", kind}, {"timestamp", c.tick()}, {"metadata", eventMeta()}}
	for _, f := range fields {
		e = e.set(f.k, f.v)
	}
	c.events = append(c.events, e)
}

func (c *conv) action(name, policy string) {
	var p any
	if policy != "" {
		p = policy
	}
	c.add("action", obj{{"name", name}, {"policy", p}, {"confidence", 1.0}, {"action_text", nil}, {"hide_rule_turn", false}})
	c.lastAct = name
}

func (c *conv) slot(name string, value any) {
	c.add("slot", obj{{"name", name}, {"value", value}})
	c.slots = c.slots.set(name, value)
}

// user adds a twilio_voice user turn: the recognised speech as text, empty
// metadata after the first turn (so as_dict writes it last).
func (c *conv) user(text, intent string) {
	c.msgSeq++
	id := fmt.Sprintf("5e1f0c2a9b8d4c7e8f%06d", c.msgSeq)
	parse := obj{
		{"intent", obj{{"name", intent}, {"confidence", 0.9731}}},
		{"entities", []any{}},
		{"text", text},
		{"message_id", id},
		{"metadata", obj{}},
		{"intent_ranking", []any{
			obj{{"name", intent}, {"confidence", 0.9731}},
			obj{{"name", "out_of_scope"}, {"confidence", 0.0112}},
		}},
	}
	e := obj{{"event", "user"}, {"timestamp", c.tick()},
		{"text", text}, {"parse_data", parse}, {"input_channel", "twilio_voice"}, {"message_id", id}, {"metadata", obj{}}}
	c.events = append(c.events, e)
	c.add("user_featurization", obj{{"use_text_for_featurization", false}})
	c.latest = parse
	c.lastAct = "action_listen"
}

func (c *conv) bot(text, utter string) {
	c.add("bot", obj{{"text", text}, {"data", obj{
		{"elements", nil}, {"quick_replies", nil}, {"buttons", nil}, {"attachment", nil}, {"image", nil}, {"custom", nil},
	}}, {"metadata", obj{{"utter_action", utter}}}})
}

// formTurn appends what Rasa adds before calling validate_<form>: the
// requested slot, the form action and one slot event per candidate.
func (c *conv) formTurn(requested string, candidates ...kv) {
	if len(c.loop) == 0 {
		c.loop = obj{{"name", "card_block_form"}, {"is_interrupted", false}, {"rejected", false}, {"trigger_message", c.latest}}
	}
	var r any
	if requested != "" {
		r = requested
	}
	c.slot("requested_slot", r)
	c.action("card_block_form", "RulePolicy")
	for _, cand := range candidates {
		c.slot(cand.k, cand.v)
	}
}

// longConv builds a call whose tracker holds about n events before the
// validation of the caller's last four digits (actions/bench_test.go).
func longConv(n int) *conv {
	c := newConv("+34600111222", obj{{"call_id", "CA-bench"}, {"user_phone", "+34600111222"}, {"bot_phone", "+34900123456"}, {"direction", "inbound"}})
	for len(c.events) < n-8 {
		c.user("me han robado la tarjeta", "report_theft")
		c.action("utter_ask_card_last4", "RulePolicy")
		c.bot("¿Cuáles son los cuatro últimos dígitos?", "utter_ask_card_last4")
		c.action("action_listen", "RulePolicy")
	}
	c.user("cuatro cinco seis siete", "give_digits")
	c.formTurn("card_last4", kv{"block_reason", "stolen"}, kv{"card_last4", "cuatro cinco seis siete"})
	return c
}

// completeForm records the validation's reply and the end of the form, the
// state in which Rasa calls action_verify_last4.
func (c *conv) completeForm() *conv {
	c.action("validate_card_block_form", "RulePolicy")
	c.slot("block_reason", "stolen")
	c.slot("card_last4", "4567")
	c.slot("block_type", "permanent")
	c.slot("requested_slot", nil)
	c.add("active_loop", obj{{"name", nil}})
	c.loop = obj{}
	c.slot("requested_slot", nil)
	c.lastAct = "card_block_form"
	return c
}

// request serialises a call of next as Rasa 3.6's RemoteAction does.
func (c *conv) request(next string) []byte {
	tracker := obj{
		{"sender_id", c.sender},
		{"slots", c.slots.clone()},
		{"latest_message", c.latest.clone()},
		{"latest_event_time", c.clock},
		{"followup_action", nil},
		{"paused", false},
		{"events", append([]obj(nil), c.events...)},
		{"latest_input_channel", "twilio_voice"},
		{"active_loop", c.loop.clone()},
		{"latest_action", obj{{"action_name", c.lastAct}}},
		{"latest_action_name", c.lastAct},
	}
	return dumps(obj{
		{"next_action", next},
		{"sender_id", c.sender},
		{"tracker", tracker},
		{"version", "3.6.21"},
		{"domain", ossDomain},
	})
}

// ossDomain is a trimmed Domain.as_dict() as Rasa 3.6 sends it.
var ossDomain = obj{
	{"version", "3.1"},
	{"session_config", obj{{"session_expiration_time", 60}, {"carry_over_slots_to_new_session", false}}},
	{"intents", []any{"block_card", "report_theft", "report_loss", "report_fraud", "report_damage", "give_digits", "affirm", "deny", "talk_to_agent", "greet", "goodbye", "out_of_scope"}},
	{"entities", []any{"last4", "block_reason", "card_kind"}},
	{"slots", obj{
		{"card_last4", obj{{"type", "text"}, {"initial_value", nil}, {"influence_conversation", true}, {"mappings", []any{obj{{"type", "from_text"}, {"conditions", []any{obj{{"active_loop", "card_block_form"}, {"requested_slot", "card_last4"}}}}}}}}},
		{"block_reason", obj{{"type", "categorical"}, {"values", []any{"lost", "stolen", "fraud", "damaged", "other"}}, {"influence_conversation", true}, {"mappings", []any{obj{{"type", "from_entity"}, {"entity", "block_reason"}}}}}},
	}},
	{"responses", obj{{"utter_ask_card_last4", []any{obj{{"text", "¿Cuáles son los cuatro últimos dígitos de la tarjeta?"}}}}}},
	{"actions", []any{"action_session_start", "validate_card_block_form", "action_verify_last4", "action_block_card", "action_create_ticket"}},
	{"forms", obj{{"card_block_form", obj{{"required_slots", []any{"block_reason", "card_last4"}}}}}},
	{"e2e_actions", []any{}},
	{"config", obj{{"store_entities_as_slots", true}}},
}
