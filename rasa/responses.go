package rasa

import (
	"encoding/json"
	"sort"
)

// Button is a quick-reply button.
type Button struct {
	Title   string `json:"title"`
	Payload string `json:"payload"`
}

// Message is one entry of "responses". Response names a domain template that
// Rasa renders itself (Rasa 3 reads only "response", not the legacy
// "template"). Rasa renders it against the slots as they were before this
// call's events apply, so values the template needs go in Vars: each becomes
// an extra top-level key, i.e. a template variable.
type Message struct {
	Response string
	Text     string
	Buttons  []Button
	Custom   map[string]any
	Vars     map[string]any
}

// reservedKeys are the keys Message owns; Vars cannot override them.
var reservedKeys = map[string]bool{
	"response": true, "text": true, "buttons": true, "custom": true, "template": true,
}

// MarshalJSON writes "response", "text", "buttons" and "custom" only when set,
// then every Vars key in sorted order (keys that clash with those, or with the
// legacy "template", are ignored).
func (m Message) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 64)
	b = append(b, '{')
	first := true
	field := func(key string, v any) error {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, key)
		b = append(b, ':')
		var err error
		b, err = appendValue(b, v)
		return err
	}
	if m.Response != "" {
		_ = field("response", m.Response)
	}
	if m.Text != "" {
		_ = field("text", m.Text)
	}
	if len(m.Buttons) > 0 {
		if err := field("buttons", m.Buttons); err != nil {
			return nil, err
		}
	}
	if m.Custom != nil {
		if err := field("custom", m.Custom); err != nil {
			return nil, err
		}
	}
	if len(m.Vars) > 0 {
		keys := make([]string, 0, len(m.Vars))
		for k := range m.Vars {
			if !reservedKeys[k] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := field(k, m.Vars[k]); err != nil {
				return nil, err
			}
		}
	}
	return append(b, '}'), nil
}

// Utter names a domain response with its template variables.
func Utter(name string, vars map[string]any) Message { return Message{Response: name, Vars: vars} }

// Text is a pre-rendered text message. Prefer Utter: e2e `utter:` steps only
// match responses Rasa rendered.
func Text(text string) Message { return Message{Text: text} }

// WithButtons is a text message with buttons.
func WithButtons(text string, buttons ...Button) Message {
	return Message{Text: text, Buttons: buttons}
}

// Custom is a channel-specific JSON payload.
func Custom(payload map[string]any) Message {
	if payload == nil {
		payload = map[string]any{}
	}
	return Message{Custom: payload}
}

// Result is what an action returns: events applied to the tracker (after the
// responses' bot messages) and messages to utter.
type Result struct {
	Events    []Event
	Responses []Message
}

// MarshalJSON writes {"events":[...],"responses":[...]}, never null arrays.
func (r Result) MarshalJSON() ([]byte, error) {
	return r.appendJSON(make([]byte, 0, 256))
}

func (r Result) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"events":[`...)
	for i, e := range r.Events {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = e.appendJSON(b); err != nil {
			return nil, err
		}
	}
	b = append(b, `],"responses":[`...)
	for i, m := range r.Responses {
		if i > 0 {
			b = append(b, ',')
		}
		enc, err := m.MarshalJSON()
		if err != nil {
			return nil, err
		}
		b = append(b, enc...)
	}
	return append(b, "]}"...), nil
}

// compile-time checks that the wire types marshal themselves.
var (
	_ json.Marshaler = Event{}
	_ json.Marshaler = Message{}
	_ json.Marshaler = Result{}
)
