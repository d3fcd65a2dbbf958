package rasa

// Slot names Rasa itself manages (domain built-ins).
const (
	SlotRequestedSlot          = "requested_slot"
	SlotSessionStartedMetadata = "session_started_metadata"
)

// SlotString returns a text slot. Missing, null, "None", "null" and "" give
// ok=false; a number gives its decimal text without exponent (4567 → "4567");
// bools, objects and arrays give ok=false.
func (t *Tracker) SlotString(name string) (string, bool) {
	if t == nil {
		return "", false
	}
	return rawString(t.Slots[name])
}

// SlotBool returns a bool slot: true/false, "true"/"True"/"false"/"False", or
// the numbers 1 and 0; anything else gives ok=false.
func (t *Tracker) SlotBool(name string) (value bool, ok bool) {
	if t == nil {
		return false, false
	}
	return rawBool(t.Slots[name])
}

// SlotFloat returns a float slot, also when Rasa holds it as a numeric string.
func (t *Tracker) SlotFloat(name string) (float64, bool) {
	if t == nil {
		return 0, false
	}
	return rawFloat(t.Slots[name])
}

// SlotMap returns an object slot (e.g. session_started_metadata), or nil.
func (t *Tracker) SlotMap(name string) map[string]any {
	if t == nil {
		return nil
	}
	return rawMap(t.Slots[name])
}

// LatestText is the text of the latest user message ("" before the first).
func (t *Tracker) LatestText() string {
	if t == nil || t.LatestMessage == nil {
		return ""
	}
	return t.LatestMessage.Text
}

// LatestIntent is the intent name of the latest user message, or "".
func (t *Tracker) LatestIntent() string {
	if t == nil || t.LatestMessage == nil {
		return ""
	}
	return t.LatestMessage.Intent.Name
}

// LatestEntities are the entities of the latest user message.
func (t *Tracker) LatestEntities() []Entity {
	if t == nil || t.LatestMessage == nil {
		return nil
	}
	return t.LatestMessage.Entities
}

// EntityValue returns the value of the first entity with that name in the
// latest message, as text (see Entity.StringValue).
func (t *Tracker) EntityValue(entity string) (string, bool) {
	for _, e := range t.LatestEntities() {
		if e.Entity == entity {
			return e.StringValue()
		}
	}
	return "", false
}

// LatestMetadata is the channel metadata of the latest user message, or nil.
func (t *Tracker) LatestMetadata() map[string]any {
	if t == nil || t.LatestMessage == nil {
		return nil
	}
	return t.LatestMessage.Metadata
}

// ActiveLoopName is the active form's name, or "".
func (t *Tracker) ActiveLoopName() string {
	if t == nil {
		return ""
	}
	return t.ActiveLoop.Name
}

// RequestedSlot is the slot the active form is asking for, or "".
func (t *Tracker) RequestedSlot() string {
	s, _ := t.SlotString(SlotRequestedSlot)
	return s
}

// SessionStartedMetadata is the channel metadata of the message that started
// the session. Rasa does not pass it to action_session_start any other way.
func (t *Tracker) SessionStartedMetadata() map[string]any {
	return t.SlotMap(SlotSessionStartedMetadata)
}
