package rasa

import (
	"encoding/json"
)

// Request is one action call (Rasa → server).
//
// Domain is never decoded: Rasa Pro omits it by default (it sends only
// DomainDigest and expects a 449 from servers that need it), and this server
// never needs it, so it is kept raw and DomainDigest is ignored.
type Request struct {
	NextAction   string          `json:"next_action"`
	SenderID     string          `json:"sender_id"`
	Tracker      Tracker         `json:"tracker"`
	Domain       json.RawMessage `json:"domain,omitempty"`
	DomainDigest string          `json:"domain_digest,omitempty"`
	Version      string          `json:"version,omitempty"`
}

// Tracker is the conversation state Rasa sends with every call. Fields that
// actions rarely read (events, stack) stay raw JSON and are decoded lazily by
// the view methods. Every field tolerates JSON null.
type Tracker struct {
	SenderID           string                     `json:"sender_id"`
	Slots              map[string]json.RawMessage `json:"slots"`
	LatestMessage      *LatestMessage             `json:"latest_message"`
	Events             json.RawMessage            `json:"events"`
	ActiveLoop         ActiveLoop                 `json:"active_loop"`
	LatestActionName   string                     `json:"latest_action_name"`
	LatestInputChannel string                     `json:"latest_input_channel"`
	FollowupAction     string                     `json:"followup_action"`
	Paused             bool                       `json:"paused"`
	LatestEventTime    float64                    `json:"latest_event_time"`
	// Stack is the CALM dialogue stack (Rasa Pro ≥ 3.7 only), kept raw.
	Stack json.RawMessage `json:"stack,omitempty"`
	// UserID is sent by the newest Rasa Pro only.
	UserID string `json:"user_id,omitempty"`
}

// LatestMessage is the parse data of the latest user message. Rasa Pro sends
// null before the first message; Rasa OSS sends intent {} and text null.
type LatestMessage struct {
	Text      string         `json:"text"`
	Intent    Intent         `json:"intent"`
	Entities  []Entity       `json:"entities"`
	Metadata  map[string]any `json:"metadata"`
	MessageID string         `json:"message_id"`
}

// Intent is the top intent of a message.
type Intent struct {
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
}

// Entity is one extracted entity. Value is kept raw because extractors put
// strings, numbers or objects (Duckling) there.
type Entity struct {
	Entity     string          `json:"entity"`
	Value      json.RawMessage `json:"value"`
	Role       string          `json:"role,omitempty"`
	Group      string          `json:"group,omitempty"`
	Extractor  string          `json:"extractor,omitempty"`
	Start      int             `json:"start"`
	End        int             `json:"end"`
	Confidence float64         `json:"confidence,omitempty"`
}

// ActiveLoop is the active form, if any ({} when none).
type ActiveLoop struct {
	Name          string `json:"name"`
	IsInterrupted bool   `json:"is_interrupted"`
	Rejected      bool   `json:"rejected"`
}

// entityWire tolerates what different extractors send: DIET reports
// confidence_entity, others confidence; positions may arrive as floats.
type entityWire struct {
	Entity           string          `json:"entity"`
	Value            json.RawMessage `json:"value"`
	Role             string          `json:"role"`
	Group            string          `json:"group"`
	Extractor        string          `json:"extractor"`
	Start            float64         `json:"start"`
	End              float64         `json:"end"`
	Confidence       *float64        `json:"confidence"`
	ConfidenceEntity *float64        `json:"confidence_entity"`
}

// UnmarshalJSON decodes an entity tolerantly (see entityWire).
func (e *Entity) UnmarshalJSON(data []byte) error {
	var w entityWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*e = w.entity()
	return nil
}

// UnmarshalJSON decodes the message with the package's own decoder (see
// decode.go), so a Request decoded through encoding/json gets the same result.
func (m *LatestMessage) UnmarshalJSON(data []byte) error {
	d := decoder{b: data, i: skipSpace(data, 0)}
	if d.i == len(data) {
		return errUnexpectedEnd
	}
	if data[d.i] != '{' {
		// encoding/json handles null itself; anything else is a type error.
		return &typeError{"latest_message"}
	}
	var w messageWire
	if err := d.message(&w, 1, "latest_message"); err != nil {
		return err
	}
	*m = *w.message()
	return nil
}

func (w *entityWire) entity() Entity {
	e := Entity{
		Entity:    w.Entity,
		Value:     w.Value,
		Role:      w.Role,
		Group:     w.Group,
		Extractor: w.Extractor,
		Start:     clampInt(w.Start),
		End:       clampInt(w.End),
	}
	if string(e.Value) == "null" {
		e.Value = nil
	}
	switch {
	case w.Confidence != nil:
		e.Confidence = *w.Confidence
	case w.ConfidenceEntity != nil:
		e.Confidence = *w.ConfidenceEntity
	}
	return e
}

func clampInt(f float64) int {
	const maxInt = int(^uint(0) >> 1)
	switch {
	case f != f:
		return 0
	case f >= float64(maxInt):
		return maxInt
	case f <= -float64(maxInt):
		return -maxInt
	}
	return int(f)
}

// StringValue returns the entity value as text: a string as is, a number as
// its decimal text. Null, "None", "" and objects give ok=false.
func (e Entity) StringValue() (string, bool) {
	return rawString(e.Value)
}
