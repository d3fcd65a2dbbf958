package actions_test

import (
	"encoding/json"
	"fmt"
	"maps"
)

// conv builds trackers the way Rasa serialises them (EventVerbosity.ALL):
// a Rasa Open Source 3.6 request carries the domain, a Rasa Pro request
// carries only domain_digest plus the dialogue stack, and before the first
// user message Pro sends latest_message null.
type conv struct {
	sender  string
	pro     bool
	clock   float64
	events  []map[string]any
	slots   map[string]any
	latest  map[string]any
	loop    map[string]any
	lastAct string
	msgSeq  int
}

// domainSlots are the slots of rasa-project/domain.yml, all sent on every call.
var domainSlots = []string{
	"block_reason", "card_last4", "card_kind", "national_id", "card_verified", "verification_attempts",
	"verification_locked", "card_blocked", "block_reference", "ticket_id", "ticket_status", "call_id",
	"caller_number", "block_type", "requested_slot", "session_started_metadata",
}

// newConv starts a session as Rasa does for a call: action_session_start,
// session_started, the session metadata slot, action_listen.
func newConv(sender string, pro bool, meta map[string]any) *conv {
	c := &conv{sender: sender, pro: pro, clock: 1764766800.0, slots: map[string]any{}, loop: map[string]any{}}
	for _, s := range domainSlots {
		c.slots[s] = nil
	}
	c.action("action_session_start", "")
	c.add(map[string]any{"event": "session_started"})
	if meta != nil {
		c.slot("session_started_metadata", meta)
	}
	c.action("action_listen", "")
	return c
}

func (c *conv) tick() float64 { c.clock += 0.731; return c.clock }

func (c *conv) add(e map[string]any) {
	e["timestamp"] = c.tick()
	if _, ok := e["metadata"]; !ok {
		e["metadata"] = map[string]any{"model_id": "3f2a9c1e5b7d4e60a1b2c3d4e5f60718", "assistant_id": "sctbnk-card-block"}
	}
	c.events = append(c.events, e)
}

func (c *conv) action(name, policy string) *conv {
	var p any
	if policy != "" {
		p = policy
	}
	c.add(map[string]any{"event": "action", "name": name, "policy": p, "confidence": 1.0, "action_text": nil, "hide_rule_turn": false})
	c.lastAct = name
	return c
}

func (c *conv) slot(name string, value any) *conv {
	c.add(map[string]any{"event": "slot", "name": name, "value": value})
	c.slots[name] = value
	return c
}

// user adds a user turn the way the twilio_voice channel delivers it: the
// recognised speech as text, empty metadata after the first turn.
func (c *conv) user(text, intent string, meta map[string]any, entities ...map[string]any) *conv {
	c.msgSeq++
	if entities == nil {
		entities = []map[string]any{}
	}
	if meta == nil {
		meta = map[string]any{}
	}
	parse := map[string]any{
		"text":     text,
		"intent":   map[string]any{"name": intent, "confidence": 0.9731},
		"entities": entities,
		"intent_ranking": []any{
			map[string]any{"name": intent, "confidence": 0.9731},
			map[string]any{"name": "out_of_scope", "confidence": 0.0112},
		},
		"message_id": fmt.Sprintf("5e1f0c2a9b8d4c7e8f%06d", c.msgSeq),
		"metadata":   meta,
	}
	c.add(map[string]any{"event": "user", "text": text, "parse_data": parse, "input_channel": "twilio_voice",
		"message_id": parse["message_id"], "metadata": meta})
	c.add(map[string]any{"event": "user_featurization", "use_text_for_featurization": false})
	c.latest = parse
	c.lastAct = "action_listen"
	return c
}

// formTurn appends what Rasa adds before calling validate_<form>: the
// requested slot, the form action and one slot event per candidate.
func (c *conv) formTurn(requested string, candidates ...[2]any) *conv {
	if len(c.loop) == 0 {
		c.loop = map[string]any{"name": "card_block_form", "is_interrupted": false, "rejected": false, "trigger_message": c.latest}
	}
	c.slot("requested_slot", nilIfEmpty(requested))
	c.action("card_block_form", "RulePolicy")
	for _, cand := range candidates {
		c.slot(cand[0].(string), cand[1])
	}
	return c
}

// endForm records what the form does when it completes.
func (c *conv) endForm() *conv {
	c.add(map[string]any{"event": "active_loop", "name": nil})
	c.loop = map[string]any{}
	c.slot("requested_slot", nil)
	return c
}

// request serialises a call of next. It copies state so that c can go on.
func (c *conv) request(next string) []byte {
	var latest any = c.latest
	if c.latest == nil && !c.pro {
		latest = map[string]any{"intent": map[string]any{}, "entities": []any{}, "text": nil, "message_id": nil, "metadata": map[string]any{}}
	}
	tracker := map[string]any{
		"sender_id":            c.sender,
		"slots":                maps.Clone(c.slots),
		"latest_message":       latest,
		"latest_event_time":    c.clock,
		"followup_action":      nil,
		"paused":               false,
		"events":               append([]map[string]any(nil), c.events...),
		"latest_input_channel": "twilio_voice",
		"active_loop":          maps.Clone(c.loop),
		"latest_action":        map[string]any{"action_name": c.lastAct},
		"latest_action_name":   c.lastAct,
	}
	req := map[string]any{"next_action": next, "sender_id": c.sender, "tracker": tracker}
	if c.pro {
		tracker["stack"] = []any{}
		req["domain_digest"] = "9d1c62f1b0f04a4c9b57e1c1d2a3b4c5"
		req["version"] = "3.14.0"
	} else {
		req["domain"] = ossDomain
		req["version"] = "3.6.21"
	}
	b, err := json.MarshalIndent(req, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// apply records an action's reply as Rasa would: the action, then its
// events (responses become bot events, which the actions never read).
func (c *conv) apply(next string, resp replyJSON) *conv {
	c.action(next, "RulePolicy")
	for _, e := range resp.Events {
		switch e["event"] {
		case "slot":
			c.slot(e["name"].(string), e["value"])
		case "active_loop":
			c.add(map[string]any{"event": "active_loop", "name": e["name"]})
			if e["name"] == nil {
				c.loop = map[string]any{}
			}
		case "session_started", "action":
			c.add(maps.Clone(e))
		}
	}
	return c
}

type replyJSON struct {
	Events    []map[string]any `json:"events"`
	Responses []map[string]any `json:"responses"`
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ossDomain is a trimmed Domain.as_dict() as Rasa 3.6 sends it.
var ossDomain = map[string]any{
	"version":        "3.1",
	"config":         map[string]any{"store_entities_as_slots": true},
	"session_config": map[string]any{"session_expiration_time": 60, "carry_over_slots_to_new_session": false},
	"intents":        []any{"block_card", "report_theft", "report_loss", "report_fraud", "report_damage", "give_digits", "affirm", "deny", "talk_to_agent", "greet", "goodbye", "out_of_scope"},
	"entities":       []any{"last4", "block_reason", "card_kind"},
	"slots": map[string]any{
		"card_last4":   map[string]any{"type": "text", "initial_value": nil, "influence_conversation": true, "mappings": []any{map[string]any{"type": "from_text", "conditions": []any{map[string]any{"active_loop": "card_block_form", "requested_slot": "card_last4"}}}}},
		"block_reason": map[string]any{"type": "categorical", "values": []any{"lost", "stolen", "fraud", "damaged", "other"}, "influence_conversation": true, "mappings": []any{map[string]any{"type": "from_entity", "entity": "block_reason"}}},
	},
	"responses":   map[string]any{"utter_ask_card_last4": []any{map[string]any{"text": "¿Cuáles son los cuatro últimos dígitos de la tarjeta?"}}},
	"actions":     []any{"action_session_start", "validate_card_block_form", "action_verify_last4", "action_block_card", "action_create_ticket"},
	"forms":       map[string]any{"card_block_form": map[string]any{"required_slots": []any{"block_reason", "card_last4"}}},
	"e2e_actions": []any{},
}
