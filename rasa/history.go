package rasa

import (
	"encoding/json"
	"slices"
	"strconv"
)

// SlotEvent is one `slot` event found in tracker.events.
type SlotEvent struct {
	Name  string
	Value json.RawMessage
}

// String returns the value as text, with the same tolerance as Tracker.SlotString.
func (s SlotEvent) String() (string, bool) { return rawString(s.Value) }

// EventRecord is a light view of one tracker event. Name is the slot, action,
// loop or follow-up name; Text is the user or bot text. Value aliases the
// tracker's raw events and must not be modified.
type EventRecord struct {
	Event     string
	Timestamp float64
	Name      string
	Value     json.RawMessage
	Text      string
}

// eventHead reads only the fields of one event object that the walkers need.
type eventHead struct {
	kind      []byte // raw, quoted
	name      []byte
	value     []byte
	text      []byte
	timestamp []byte
}

func readHead(elem []byte, h *eventHead, full bool) error {
	*h = eventHead{}
	return eachField(elem, func(key, value []byte) bool {
		switch {
		case keyIs(key, "event"):
			h.kind = value
		case keyIs(key, "name"):
			h.name = value
		case keyIs(key, "value"):
			h.value = value
		case keyIs(key, "timestamp"):
			h.timestamp = value
		case full && keyIs(key, "text"):
			h.text = value
		}
		return true
	})
}

// walkEvents validates tracker.events and calls fn for every event object,
// oldest first; elements that are not objects are skipped, as Rasa does.
func (t *Tracker) walkEvents(full bool, fn func(h *eventHead)) error {
	if t == nil || len(trimRaw(t.Events)) == 0 {
		return nil
	}
	var h eventHead
	var ferr error
	err := eachElement(t.Events, func(elem []byte) bool {
		if elem[0] != '{' {
			return true
		}
		if ferr = readHead(elem, &h, full); ferr != nil {
			return false
		}
		fn(&h)
		return true
	})
	if err == nil {
		err = ferr
	}
	return err
}

// walkEventsBack calls fn for events from the newest backwards until fn
// returns false, with the raw "event" value (nil for non-objects); only the
// events visited are read.
func (t *Tracker) walkEventsBack(fn func(elem []byte, kind []byte) bool) error {
	if t == nil || len(trimRaw(t.Events)) == 0 {
		return nil
	}
	var ferr error
	err := eachElementReverse(t.Events, func(elem []byte) bool {
		if elem[0] != '{' {
			return fn(elem, nil)
		}
		var kind []byte
		// A repeated key takes its last value, as in Python's json (and
		// readHead): stopping at the first "event" would let a crafted
		// event read as a slot here and as something else elsewhere.
		ferr = eachField(elem, func(key, value []byte) bool {
			if keyIs(key, "event") {
				kind = value
			}
			return true
		})
		if ferr != nil {
			return false
		}
		return fn(elem, kind)
	})
	if err == nil {
		err = ferr
	}
	return err
}

// SlotCandidates returns the trailing run of `slot` events at the very end of
// tracker.events, in order. Rasa appends one such event per extracted value
// before calling validate_<form> or action_validate_slot_mappings (protocol
// reference §4.1), so these are the values to validate. Only the trailing
// events are read; it returns an error when they are not valid JSON.
func (t *Tracker) SlotCandidates() ([]SlotEvent, error) {
	var run []SlotEvent
	var h eventHead
	var herr error
	err := t.walkEventsBack(func(elem, kind []byte) bool {
		if !keyIs(kind, "slot") {
			return false
		}
		if herr = readHead(elem, &h, false); herr != nil {
			return false
		}
		name, _ := unquote(h.name)
		run = append(run, SlotEvent{Name: name, Value: json.RawMessage(h.value)})
		return true
	})
	if err == nil {
		err = herr
	}
	if err != nil {
		return nil, err
	}
	slices.Reverse(run)
	return run, nil
}

// LatestSessionStart returns the timestamp of the newest session_started
// event; ok is false when there is none (or tracker.events is malformed).
func (t *Tracker) LatestSessionStart() (float64, bool) {
	var ts float64
	found := false
	var herr error
	err := t.walkEventsBack(func(elem, kind []byte) bool {
		if !keyIs(kind, "session_started") {
			return true
		}
		var h eventHead
		if herr = readHead(elem, &h, false); herr == nil {
			ts, found = numberOrZero(h.timestamp), true
		}
		return false
	})
	if err != nil || herr != nil {
		return 0, false
	}
	return ts, found
}

// EventLog decodes every event into a light record, oldest first. It returns
// an error only when tracker.events is not a valid JSON array.
func (t *Tracker) EventLog() ([]EventRecord, error) {
	var out []EventRecord
	err := t.walkEvents(true, func(h *eventHead) {
		r := EventRecord{Timestamp: numberOrZero(h.timestamp)}
		r.Event, _ = unquote(h.kind)
		r.Name, _ = unquote(h.name)
		r.Text, _ = unquote(h.text)
		if len(h.value) > 0 {
			r.Value = json.RawMessage(h.value)
		}
		out = append(out, r)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func numberOrZero(raw []byte) float64 {
	if len(raw) == 0 || !(raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
		return 0
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0
	}
	return f
}
