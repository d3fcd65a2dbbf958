package rasa

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// Event is one event returned to Rasa. It serialises exactly as Rasa's event
// schema reads it: "event" first, then "timestamp" (a number or null, never a
// string), then the event's own keys. Rasa validates the whole list against a
// oneOf schema and drops every event and response of the call if one item is
// wrong (protocol reference §2.1), so only the constructors below create events.
type Event struct {
	name   string
	ts     float64
	hasTS  bool
	fields []eventField
}

type eventField struct {
	key   string
	value any
}

func newEvent(name string, fields ...eventField) Event {
	return Event{name: name, fields: fields}
}

func kv(key string, value any) eventField { return eventField{key, value} }

// Name is the event type as Rasa spells it ("slot", "followup", ...).
func (e Event) Name() string { return e.name }

// Get returns the value of one of the event's own keys (e.g. "name" and
// "value" of a slot event); it is meant for tests of actions.
func (e Event) Get(key string) (any, bool) {
	for _, f := range e.fields {
		if f.key == key {
			return f.value, true
		}
	}
	return nil, false
}

// WithTimestamp returns a copy of the event stamped with t (Unix seconds).
// Without it Rasa stamps the event itself when it applies it.
func (e Event) WithTimestamp(t time.Time) Event {
	if t.IsZero() {
		e.hasTS = false
		return e
	}
	e.ts = float64(t.Unix()) + float64(t.Nanosecond())/1e9
	e.hasTS = true
	return e
}

// MarshalJSON writes the event in Rasa's wire form. It fails only when a
// caller-supplied value cannot be marshalled (e.g. a NaN float).
func (e Event) MarshalJSON() ([]byte, error) {
	return e.appendJSON(make([]byte, 0, 64+32*len(e.fields)))
}

func (e Event) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"event":`...)
	b = appendString(b, e.name)
	b = append(b, `,"timestamp":`...)
	if e.hasTS {
		b = strconv.AppendFloat(b, e.ts, 'f', -1, 64)
	} else {
		b = append(b, "null"...)
	}
	for _, f := range e.fields {
		b = append(b, ',')
		b = appendString(b, f.key)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, f.value); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD and
// U+2028/U+2029 are escaped, as encoding/json does; HTML characters are left
// alone since Rasa is not a browser.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// nullIfEmpty sends JSON null for an empty optional string.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// isoWithOffset is what Rasa parses with dateutil: ISO-8601, explicit offset.
const isoWithOffset = "2006-01-02T15:04:05.999999-07:00"

// SlotSet sets slot name to value; a nil value clears it ("value": null).
// Rasa's schema requires both keys even when the value is null.
func SlotSet(name string, value any) Event {
	return newEvent("slot", kv("name", name), kv("value", value))
}

// AllSlotsReset resets every slot to its initial value.
func AllSlotsReset() Event { return newEvent("reset_slots") }

// ReminderScheduled schedules intent to be triggered at the given time. An
// empty name lets Rasa generate one; nil entities are sent as null.
func ReminderScheduled(intent string, at time.Time, entities []map[string]any, name string, killOnUserMsg bool) Event {
	return newEvent("reminder",
		kv("intent", intent),
		kv("entities", entitiesOrNull(entities)),
		kv("date_time", at.Format(isoWithOffset)),
		kv("name", nullIfEmpty(name)),
		kv("kill_on_user_msg", killOnUserMsg),
	)
}

// ReminderCancelled cancels reminders matching every non-empty criterion;
// all empty cancels every reminder of the conversation.
func ReminderCancelled(name, intent string, entities []map[string]any) Event {
	return newEvent("cancel_reminder",
		kv("name", nullIfEmpty(name)),
		kv("intent", nullIfEmpty(intent)),
		kv("entities", entitiesOrNull(entities)),
	)
}

func entitiesOrNull(entities []map[string]any) any {
	if entities == nil {
		return nil
	}
	return entities
}

// ConversationPaused stops predictions until ConversationResumed.
func ConversationPaused() Event { return newEvent("pause") }

// ConversationResumed restarts predictions.
func ConversationResumed() Event { return newEvent("resume") }

// Restarted wipes the conversation state.
func Restarted() Event { return newEvent("restart") }

// SessionStarted must be the first event a custom action_session_start returns.
func SessionStarted() Event { return newEvent("session_started") }

// SessionEnded ends the session (newer Rasa Pro only).
func SessionEnded() Event { return newEvent("session_ended") }

// FollowupAction forces the next action without prediction.
func FollowupAction(name string) Event { return newEvent("followup", kv("name", name)) }

// ActionExecuted logs an action as executed (e.g. action_listen at the end of
// action_session_start).
func ActionExecuted(name string) Event { return newEvent("action", kv("name", name)) }

// ActionExecutionRejected marks an action (usually the active form) as rejected.
func ActionExecutionRejected(name string) Event {
	return newEvent("action_execution_rejected", kv("name", name))
}

// Loop activates the form or loop name; "" deactivates ("name": null).
func Loop(name string) Event { return newEvent("active_loop", kv("name", nullIfEmpty(name))) }

// LoopInterrupted marks the active loop as interrupted or not.
func LoopInterrupted(interrupted bool) Event {
	return newEvent("loop_interrupted", kv("is_interrupted", interrupted))
}

// UserUtteranceReverted undoes everything back to before the last user message.
func UserUtteranceReverted() Event { return newEvent("rewind") }

// ActionReverted undoes the last action and its effects.
func ActionReverted() Event { return newEvent("undo") }

// UserUttered injects a user turn. Rasa's schema requires parse_data to be an
// object, so nil is sent as {}; its entities need "entity" and "value".
func UserUttered(text string, parseData map[string]any, inputChannel string, metadata map[string]any) Event {
	if parseData == nil {
		parseData = map[string]any{}
	}
	return newEvent("user",
		kv("text", text),
		kv("parse_data", parseData),
		kv("input_channel", nullIfEmpty(inputChannel)),
		kv("metadata", mapOrNull(metadata)),
	)
}

// BotUttered adds a bot message to the history; prefer a response (Message)
// so that Rasa sends it to the channel.
func BotUttered(text string, data, metadata map[string]any) Event {
	return newEvent("bot",
		kv("text", text),
		kv("data", mapOrEmpty(data)),
		kv("metadata", mapOrEmpty(metadata)),
	)
}

// AgentUttered is the legacy "agent" message.
func AgentUttered(text string, data map[string]any) Event {
	return newEvent("agent", kv("text", text), kv("data", mapOrNull(data)))
}

// StoryExported asks Rasa to dump the story to path ("" → Rasa's default).
func StoryExported(path string) Event { return newEvent("export", kv("path", nullIfEmpty(path))) }

// EntitiesAdded adds entities ({"entity", "value", ...}) to the latest message.
func EntitiesAdded(entities []map[string]any) Event {
	if entities == nil {
		entities = []map[string]any{}
	}
	return newEvent("entities", kv("entities", entities))
}

// UserFeaturization tells Rasa whether to featurise the user's text or intent.
func UserFeaturization(useText bool) Event {
	return newEvent("user_featurization", kv("use_text_for_featurization", useText))
}

func mapOrNull(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

func mapOrEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
