package rasa

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestSlotGetters(t *testing.T) {
	type want struct {
		str    string
		strOK  bool
		b      bool
		bOK    bool
		f      float64
		fOK    bool
		hasMap bool
	}
	tests := []struct {
		name string
		raw  string // "" = slot missing
		want want
	}{
		{"missing", "", want{}},
		{"null", `null`, want{}},
		{"None string", `"None"`, want{}},
		{"null string", `"null"`, want{}},
		{"empty string", `""`, want{}},
		{"plain string", `"4567"`, want{str: "4567", strOK: true, f: 4567, fOK: true}},
		{"text", `"cuatro cinco seis siete"`, want{str: "cuatro cinco seis siete", strOK: true}},
		{"escaped text", `"s\u00ed"`, want{str: "sí", strOK: true}},
		{"integer", `4567`, want{str: "4567", strOK: true, f: 4567, fOK: true}},
		{"leading-zero digits kept as text", `"0123"`, want{str: "0123", strOK: true, f: 123, fOK: true}},
		{"float with zero fraction", `4567.0`, want{str: "4567", strOK: true, f: 4567, fOK: true}},
		{"float", `2.5`, want{str: "2.5", strOK: true, f: 2.5, fOK: true}},
		{"exponent", `1e21`, want{str: "1000000000000000000000", strOK: true, f: 1e21, fOK: true}},
		{"small exponent", `1.5E-7`, want{str: "0.00000015", strOK: true, f: 1.5e-7, fOK: true}},
		{"big integer keeps digits", `12345678901234567890123`, want{str: "12345678901234567890123", strOK: true, f: 12345678901234567890123, fOK: true}},
		{"negative", `-3`, want{str: "-3", strOK: true, f: -3, fOK: true}},
		{"one", `1`, want{str: "1", strOK: true, b: true, bOK: true, f: 1, fOK: true}},
		{"zero", `0`, want{str: "0", strOK: true, b: false, bOK: true, f: 0, fOK: true}},
		{"one point zero", `1.0`, want{str: "1", strOK: true, b: true, bOK: true, f: 1, fOK: true}},
		{"true", `true`, want{b: true, bOK: true}},
		{"false", `false`, want{b: false, bOK: true}},
		{"True string", `"True"`, want{str: "True", strOK: true, b: true, bOK: true}},
		{"true string", `"true"`, want{str: "true", strOK: true, b: true, bOK: true}},
		{"False string", `"False"`, want{str: "False", strOK: true, b: false, bOK: true}},
		{"yes string", `"sí"`, want{str: "sí", strOK: true}},
		{"numeric string with spaces", `" 12 "`, want{str: " 12 ", strOK: true, f: 12, fOK: true}},
		{"signed decimal string", `"+2.50"`, want{str: "+2.50", strOK: true, f: 2.5, fOK: true}},
		{"dot only string", `"."`, want{str: ".", strOK: true}},
		{"NaN string", `"NaN"`, want{str: "NaN", strOK: true}},
		{"Infinity string", `"Infinity"`, want{str: "Infinity", strOK: true}},
		{"hex string", `"0x10"`, want{str: "0x10", strOK: true}},
		{"empty object", `{}`, want{hasMap: true}},
		{"object", `{"call_sid":"CA1"}`, want{hasMap: true}},
		{"array", `["a"]`, want{}},
		{"number two is not bool", `2`, want{str: "2", strOK: true, f: 2, fOK: true}},
		{"garbage raw", `nul`, want{}},
		{"bad number raw", `01`, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &Tracker{Slots: map[string]json.RawMessage{"other": json.RawMessage(`"x"`)}}
			if tt.raw != "" {
				tr.Slots["s"] = json.RawMessage(tt.raw)
			}
			var got want
			got.str, got.strOK = tr.SlotString("s")
			got.b, got.bOK = tr.SlotBool("s")
			got.f, got.fOK = tr.SlotFloat("s")
			got.hasMap = tr.SlotMap("s") != nil
			if got != tt.want {
				t.Errorf("raw %s:\n got %+v\nwant %+v", tt.raw, got, tt.want)
			}
			ev := SlotEvent{Name: "s", Value: json.RawMessage(tt.raw)}
			if s, ok := ev.String(); s != tt.want.str || ok != tt.want.strOK {
				t.Errorf("SlotEvent.String() = %q, %v", s, ok)
			}
		})
	}
}

func TestNilAndEmptyTracker(t *testing.T) {
	for name, tr := range map[string]*Tracker{"nil": nil, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			if _, ok := tr.SlotString("x"); ok {
				t.Error("SlotString ok")
			}
			if tr.LatestText() != "" || tr.LatestIntent() != "" || tr.LatestEntities() != nil || tr.LatestMetadata() != nil {
				t.Error("latest message accessors not empty")
			}
			if tr.ActiveLoopName() != "" || tr.RequestedSlot() != "" || tr.SessionStartedMetadata() != nil {
				t.Error("loop/requested/session accessors not empty")
			}
			if c, err := tr.SlotCandidates(); c != nil || err != nil {
				t.Errorf("SlotCandidates = %v, %v", c, err)
			}
			if _, ok := tr.LatestSessionStart(); ok {
				t.Error("LatestSessionStart ok")
			}
			if l, err := tr.EventLog(); l != nil || err != nil {
				t.Errorf("EventLog = %v, %v", l, err)
			}
			if _, ok := tr.EntityValue("x"); ok {
				t.Error("EntityValue ok")
			}
		})
	}
}

func TestLatestMessageViews(t *testing.T) {
	tests := []struct {
		name     string
		tracker  string
		text     string
		intent   string
		entities []Entity
		meta     map[string]any
	}{
		{"pro before first message", `{"latest_message": null}`, "", "", nil, nil},
		{"oss before first message", `{"latest_message": {"intent": {}, "entities": [], "text": null, "message_id": null, "metadata": {}}}`, "", "", []Entity{}, map[string]any{}},
		{"intent null", `{"latest_message": {"intent": null, "text": "hola", "entities": null, "metadata": null}}`, "hola", "", nil, nil},
		{"full", `{"latest_message": {"intent": {"name": "inform_card_digits", "confidence": 0.97},
			"entities": [{"entity": "card_digits", "start": 4, "end": 27, "confidence_entity": 0.998, "value": "cuatro cinco", "extractor": "DIETClassifier"},
			             {"entity": "number", "start": 4.0, "end": 10, "value": 4, "confidence": 1.0, "extractor": "DucklingEntityExtractor", "role": null}],
			"text": "sí, cuatro cinco", "metadata": {"call_sid": "CA1", "n": 3}}}`,
			"sí, cuatro cinco", "inform_card_digits",
			[]Entity{
				{Entity: "card_digits", Value: json.RawMessage(`"cuatro cinco"`), Extractor: "DIETClassifier", Start: 4, End: 27, Confidence: 0.998},
				{Entity: "number", Value: json.RawMessage(`4`), Extractor: "DucklingEntityExtractor", Start: 4, End: 10, Confidence: 1},
			},
			map[string]any{"call_sid": "CA1", "n": 3.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Tracker
			if err := json.Unmarshal([]byte(tt.tracker), &tr); err != nil {
				t.Fatal(err)
			}
			if tr.LatestText() != tt.text || tr.LatestIntent() != tt.intent {
				t.Errorf("text/intent = %q/%q", tr.LatestText(), tr.LatestIntent())
			}
			if !reflect.DeepEqual(tr.LatestEntities(), tt.entities) {
				t.Errorf("entities = %#v", tr.LatestEntities())
			}
			if !reflect.DeepEqual(tr.LatestMetadata(), tt.meta) {
				t.Errorf("metadata = %#v", tr.LatestMetadata())
			}
		})
	}
}

func TestEntityValue(t *testing.T) {
	tr := &Tracker{LatestMessage: &LatestMessage{Entities: []Entity{
		{Entity: "number", Value: json.RawMessage(`4567`)},
		{Entity: "card_kind", Value: json.RawMessage(`"debit"`)},
		{Entity: "card_kind", Value: json.RawMessage(`"credit"`)},
		{Entity: "time", Value: json.RawMessage(`{"from": "2025-01-01"}`)},
		{Entity: "empty", Value: nil},
	}}}
	tests := []struct {
		entity string
		want   string
		ok     bool
	}{
		{"number", "4567", true},
		{"card_kind", "debit", true},
		{"time", "", false},
		{"empty", "", false},
		{"absent", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.entity, func(t *testing.T) {
			got, ok := tr.EntityValue(tt.entity)
			if got != tt.want || ok != tt.ok {
				t.Errorf("EntityValue(%q) = %q, %v", tt.entity, got, ok)
			}
		})
	}
}

func TestMetadataString(t *testing.T) {
	m := map[string]any{"call_sid": "CA1", "n": 3.0, "nil": nil}
	for key, want := range map[string]string{"call_sid": "CA1", "n": "", "nil": "", "absent": ""} {
		if got := MetadataString(m, key); got != want {
			t.Errorf("MetadataString(%q) = %q", key, got)
		}
	}
	if MetadataString(nil, "x") != "" {
		t.Error("nil map")
	}
}

func TestSessionStartedMetadataAndRequestedSlot(t *testing.T) {
	req, err := DecodeRequest(readFixture(t, "oss36_validate_form.json"))
	if err != nil {
		t.Fatal(err)
	}
	md := req.Tracker.SessionStartedMetadata()
	if MetadataString(md, "call_sid") != "CA5f3e0c1d2b4a69870f1e2d3c4b5a6978" {
		t.Errorf("session_started_metadata = %v", md)
	}
	if req.Tracker.RequestedSlot() != "card_last4" || req.Tracker.ActiveLoopName() != "card_block_form" {
		t.Errorf("requested slot %q, loop %q", req.Tracker.RequestedSlot(), req.Tracker.ActiveLoopName())
	}
}
