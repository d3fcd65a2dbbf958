package rasa

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDecodeOSS36Request(t *testing.T) {
	req, err := DecodeRequest(readFixture(t, "oss36_validate_form.json"))
	if err != nil {
		t.Fatal(err)
	}
	tr := &req.Tracker
	checks := []struct {
		name      string
		got, want any
	}{
		{"next_action", req.NextAction, "validate_card_block_form"},
		{"sender_id", req.SenderID, "CA5f3e0c1d2b4a69870f1e2d3c4b5a6978"},
		{"version", req.Version, "3.6.20"},
		{"domain kept raw", bytes.HasPrefix(req.Domain, []byte(`{"version": "3.1"`)), true},
		{"digest", req.DomainDigest, ""},
		{"tracker sender", tr.SenderID, req.SenderID},
		{"latest text", tr.LatestText(), "sí, los últimos números son cuatro cinco seis siete"},
		{"latest intent", tr.LatestIntent(), "inform_card_digits"},
		{"entity DIET confidence", tr.LatestEntities()[0].Confidence, 0.998},
		{"entity value", must(tr.EntityValue("card_digits")), "cuatro cinco seis siete"},
		{"duckling number", must(tr.EntityValue("number")), "4"},
		{"metadata", MetadataString(tr.LatestMetadata(), "call_sid"), "CA5f3e0c1d2b4a69870f1e2d3c4b5a6978"},
		{"message id", tr.LatestMessage.MessageID, "9d2b0f7c6a6f4f6d8a0b8f3d2c1e4a57"},
		{"active loop", tr.ActiveLoop, ActiveLoop{Name: "card_block_form"}},
		{"latest action", tr.LatestActionName, "card_block_form"},
		{"input channel", tr.LatestInputChannel, "twilio_voice"},
		{"followup null", tr.FollowupAction, ""},
		{"paused", tr.Paused, false},
		{"event time", tr.LatestEventTime, 1732543112.4811568},
		{"block reason", must(tr.SlotString("block_reason")), "lost"},
		{"verified", mustBool(tr.SlotBool("verified")), false},
		{"attempts", mustFloat(tr.SlotFloat("verification_attempts")), 0.0},
		{"card unset", ok(tr.SlotString("card_last4")), false},
		{"no stack in OSS", tr.Stack == nil, true},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	cands, err := tr.SlotCandidates()
	if err != nil || len(cands) != 1 || cands[0].Name != "card_last4" {
		t.Errorf("candidates = %s, %v", fmtSlots(cands), err)
	}
	if ts, ok := tr.LatestSessionStart(); !ok || ts != 1732543089.1131 {
		t.Errorf("session start = %v, %v", ts, ok)
	}
}

func TestDecodeProRequest(t *testing.T) {
	req, err := DecodeRequest(readFixture(t, "pro_first_call.json"))
	if err != nil {
		t.Fatal(err)
	}
	tr := &req.Tracker
	if req.NextAction != "action_session_start" || req.Domain != nil || req.DomainDigest == "" || req.Version != "3.14.0" {
		t.Errorf("request = %+v", req)
	}
	if tr.LatestMessage != nil || tr.LatestText() != "" || tr.LatestIntent() != "" {
		t.Errorf("latest message = %+v", tr.LatestMessage)
	}
	if tr.ActiveLoopName() != "" || tr.LatestEventTime != 0 || tr.UserID != "" {
		t.Errorf("tracker = %+v", tr)
	}
	if !bytes.HasPrefix(tr.Stack, []byte(`[{"frame_id":"K3F9QZ2M"`)) {
		t.Errorf("stack = %s", tr.Stack)
	}
	if c, err := tr.SlotCandidates(); c != nil || err != nil {
		t.Errorf("candidates = %v, %v", c, err)
	}
	if len(tr.Slots) != 7 || tr.SessionStartedMetadata() != nil {
		t.Errorf("slots = %v", tr.Slots)
	}
}

func must(s string, _ bool) string        { return s }
func mustBool(b bool, _ bool) bool        { return b }
func mustFloat(f float64, _ bool) float64 { return f }
func ok(_ string, ok bool) bool           { return ok }

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty", ``, "empty request body"},
		{"whitespace", " \n\t", "empty request body"},
		{"truncated", `{"next_action": "action_x", "tracker": {"events": [{"event": "us`, "truncated JSON body"},
		{"not json", `next_action=x`, "invalid JSON at offset 0"},
		{"trailing data", `{"next_action":"a"} {}`, "invalid JSON: data after the top-level value"},
		{"array", `[{"next_action":"a"}]`, "request body must be a JSON object"},
		{"string", `"a"`, "request body must be a JSON object"},
		{"null", `null`, "missing next_action"},
		{"missing next_action", `{"tracker": {}}`, "missing next_action"},
		{"empty next_action", `{"next_action": ""}`, "missing next_action"},
		{"next_action number", `{"next_action": 3}`, "field next_action has the wrong JSON type"},
		{"tracker number", `{"next_action": "a", "tracker": 5}`, "field tracker has the wrong JSON type"},
		{"slots list", `{"next_action": "a", "tracker": {"slots": []}}`, "field tracker.slots has the wrong JSON type"},
		{"paused string", `{"next_action": "a", "tracker": {"paused": "yes"}}`, "field tracker.paused has the wrong JSON type"},
		{"latest message text number", `{"next_action": "a", "tracker": {"latest_message": {"text": 5}}}`, "field tracker.latest_message.text has the wrong JSON type"},
		{"entity start string", `{"next_action": "a", "tracker": {"latest_message": {"entities": [{"start": "x"}]}}}`, "field tracker.latest_message.entities.start has the wrong JSON type"},
		{"NaN token", `{"next_action": "a", "tracker": {"slots": {"x": NaN}}}`, "invalid JSON at offset 48"},
		{"bad escape", `{"next_action": "a\x"}`, "invalid JSON at offset 18"},
		{"control char in string", "{\"next_action\": \"a\nb\"}", "invalid JSON at offset 18"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.body))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			var std Request
			if stdErr := json.Unmarshal([]byte(tt.body), &std); stdErr == nil && std.NextAction != "" {
				t.Errorf("encoding/json accepts this body")
			}
		})
	}
}

// Bodies on which the hand-written decoder must agree with encoding/json.
var decoderAgreementCases = []string{
	`{"next_action":"a"}`,
	`{"next_action":"a","tracker":null}`,
	`{"next_action":"a","tracker":{"slots":null,"events":null,"latest_message":null,"active_loop":null,"paused":null,"latest_event_time":null}}`,
	`{"next_action":"a","tracker":{"sender_id":"x"},"tracker":{"paused":true}}`,
	`{"next_action":"a","next_action":null}`,
	`{"Next_Action":"a","TRACKER":{"Slots":{"k":1},"ACTIVE_LOOP":{"NAME":"f"}}}`,
	`{"next_\u0061ction":"\u00e9\ud83d\ude00","tracker":{"sender_id":"\"\\\/\b\f\n\r\t"}}`,
	"{\"next_action\":\"\xff\xfe\",\"sender_id\":\"a\xc3\"}",
	`{"next_action":"a","tracker":{"slots":{"a":1,"a":2,"b":{"c":[1,2,{"d":null}]}}}}`,
	`{"next_action":"a","tracker":{"latest_message":{"entities":[{"entity":"e","value":null,"start":1.5}]}}}`,
	`{"next_action":"a","tracker":{"latest_event_time":1e400}}`,
	`{"next_action":"a","tracker":{"latest_event_time":-0.0,"events":[],"stack":[{}]}}`,
	`{"next_action":"a","domain":null,"domain_digest":null,"version":null}`,
	`{"next_action":"a","tracker":{"active_loop":{"name":"f","is_interrupted":true,"rejected":1}}}`,
	`{"next_action":"a","tracker":{"ſlots":{"x":1},"ſender_id":"K"}}`,
	` {"next_action" : "a" , "tracker" : { } } `,
	`{"next_action":"a",}`,
	`{"next_action":"a" "b":1}`,
	`{"next_action":"a","x":[1,2,]}`,
	`{"next_action":"a","x":01}`,
	`{"next_action":"a","x":-}`,
	`{"next_action":"a","x":1.}`,
	`{"next_action":"a","x":1e}`,
	`{"next_action":"a","x":tru}`,
	`{"next_action":"a","x":"\u12"}`,
	`{"next_action":"a","tracker":{"events":[` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `]}}`,
	`{"next_action":"a","x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
	`{"next_action":"a","x":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}`,
	`{"next_action":"a","x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
	`{"next_action":"a","tracker":{"x":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}}`,
	`{"next_action":"a","tracker":{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}}`,
}

// latest_message objects on which the hand-written decoder must agree with
// encoding/json decoding the same fields.
var messageAgreementCases = []string{
	`null`,
	`{}`,
	`{"intent": {}, "entities": [], "text": null, "message_id": null, "metadata": {}}`,
	`{"text":"hola","intent":{"name":"affirm","confidence":0.9},"entities":[{"entity":"e","value":"v","start":1,"end":2,"confidence_entity":0.5,"extractor":"DIET","role":null,"group":"g"}],"metadata":{"a":[1,{"b":null}]},"message_id":"m"}`,
	`{"intent":{"name":"a"},"intent":{"confidence":1}}`,
	`{"intent":null,"entities":null,"metadata":null,"text":null}`,
	`{"entities":[null,{"entity":"x"},null]}`,
	`{"entities":[{"entity":"a","role":"r"},{"entity":"b","role":"s"}],"entities":[{"entity":"c"}],"entities":[{},{}]}`,
	`{"entities":[{"entity":"a"}],"entities":[]}`,
	`{"entities":[{"confidence":1,"confidence":null,"confidence_entity":2}]}`,
	`{"metadata":{"a":1},"metadata":{"b":2}}`,
	`{"metadata":{"a":1},"metadata":null,"metadata":{"b":2}}`,
	`{"ENTITIES":[{"Entity":"x","VALUE":5,"Start":3.0}],"Text":"t","Message_Id":"m","InTent":{"NAME":"n"}}`,
	`{"entities":[{"start":1e400}]}`,
	`{"entities":[{"start":"1"}]}`,
	`{"entities":{}}`,
	`{"entities":[1]}`,
	`{"intent":"affirm"}`,
	`{"intent":{"confidence":"high"}}`,
	`{"metadata":[]}`,
	`{"metadata":{"n":1e400}}`,
	`{"text":5}`,
	`{"entities":[{"value":null},{"value":{"from":"2025"}}]}`,
	`[]`,
	`"x"`,
	`{"entities":[{"entity":"a"},]}`,
	`{"entities":[{"entity":"a"} {"entity":"b"}]}`,
}

// refLatestMessage decodes a latest_message with encoding/json: the
// semantics the hand-written decoder must reproduce.
func refLatestMessage(data []byte) (*LatestMessage, error) {
	var w *struct {
		Text      string         `json:"text"`
		Intent    Intent         `json:"intent"`
		Entities  []entityWire   `json:"entities"`
		Metadata  map[string]any `json:"metadata"`
		MessageID string         `json:"message_id"`
	}
	if err := json.Unmarshal(data, &w); err != nil || w == nil {
		return nil, err
	}
	wire := messageWire{text: w.Text, intent: w.Intent, entities: w.Entities, metadata: w.Metadata, messageID: w.MessageID}
	return wire.message(), nil
}

// handLatestMessage decodes a standalone latest_message the way the request
// decoder does.
func handLatestMessage(data []byte) (*LatestMessage, error) {
	// data is spliced into a request; it must be one JSON value on its own,
	// or `{},"":""` would add a sibling key and still parse.
	if !json.Valid(data) {
		return nil, errors.New("not a single JSON value")
	}
	var t Tracker
	body := append(append([]byte(`{"next_action":"a","tracker":{"latest_message":`), data...), "}}"...)
	var req Request
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	t = req.Tracker
	return t.LatestMessage, nil
}

func compareMessageDecoders(t *testing.T, data []byte) {
	t.Helper()
	mine, errMine := handLatestMessage(data)
	ref, errRef := refLatestMessage(data)
	if errRef == nil && !json.Valid(append(append([]byte(`{"m":`), data...), '}')) {
		errRef = errors.New("not a single JSON value")
	}
	if (errMine == nil) != (errRef == nil) {
		t.Fatalf("hand err %v, encoding/json err %v", errMine, errRef)
	}
	if errMine == nil && !reflect.DeepEqual(mine, ref) {
		t.Fatalf("latest_message decoders disagree:\n mine %+v\n  ref %+v", mine, ref)
	}
}

func TestLatestMessageDecoderAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range messageAgreementCases {
		t.Run(c, func(t *testing.T) { compareMessageDecoders(t, []byte(c)) })
	}
	// Through encoding/json, LatestMessage.UnmarshalJSON must give the same.
	for _, c := range messageAgreementCases {
		var viaStd struct {
			M *LatestMessage `json:"m"`
		}
		errStd := json.Unmarshal([]byte(`{"m":`+c+`}`), &viaStd)
		mine, errMine := handLatestMessage([]byte(c))
		if (errStd == nil) != (errMine == nil) || (errStd == nil && !reflect.DeepEqual(viaStd.M, mine)) {
			t.Errorf("%s: UnmarshalJSON %+v %v, decoder %+v %v", c, viaStd.M, errStd, mine, errMine)
		}
	}
}

func TestDecoderAgreesWithEncodingJSON(t *testing.T) {
	cases := append([]string{}, decoderAgreementCases...)
	cases = append(cases, string(readFixture(t, "oss36_validate_form.json")), string(readFixture(t, "pro_first_call.json")))
	for i, body := range cases {
		name := body
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			compareDecoders(t, []byte(body))
		})
		_ = i
	}
}

// compareDecoders checks that decodeRequest and json.Unmarshal agree on
// success and, when both succeed, on every field.
func compareDecoders(t *testing.T, body []byte) {
	t.Helper()
	var mine, std Request
	errMine := decodeRequest(body, &mine)
	errStd := json.Unmarshal(body, &std)
	if errStd == nil && std.NextAction == "" {
		errStd = errNoNextAction
	}
	if (errMine == nil) != (errStd == nil) {
		t.Fatalf("decodeRequest err %v, encoding/json err %v", errMine, errStd)
	}
	if errMine != nil {
		return
	}
	if !reflect.DeepEqual(mine, std) {
		t.Fatalf("decoders disagree:\n mine %+v\n  std %+v", mine, std)
	}
}

func TestDecodeDoesNotQuoteInput(t *testing.T) {
	secret := "4111111111111111"
	bodies := []string{
		`{"next_action": "a", "tracker": {"latest_message": {"text": "` + secret + `` + "\x01" + `"}}}`,
		`{"next_action": "a", "tracker": {"slots": {"` + secret + `": ` + secret + `x}}}`,
		`{"next_action": "a", "tracker": {"latest_message": {"metadata": 5, "text": "` + secret + `"}}}`,
		`{"next_action": ` + secret + `}`,
		`{"next_action": "a", "tracker": {"slots": ` + secret + `}}`,
	}
	for _, body := range bodies {
		_, err := DecodeRequest([]byte(body))
		if err == nil {
			t.Fatalf("no error for %s", body)
		}
		if strings.Contains(err.Error(), "4111") {
			t.Errorf("error quotes input: %v", err)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(readFixture(f, "oss36_validate_form.json"))
	f.Add(readFixture(f, "pro_first_call.json"))
	f.Add(rasaRequestBody(f, "validate_card_block_form", 6, false))
	for _, c := range decoderAgreementCases {
		if len(c) < 4096 {
			f.Add([]byte(c))
		}
	}
	for _, c := range messageAgreementCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		compareDecoders(t, body)
		compareMessageDecoders(t, body)
		req, err := DecodeRequest(body)
		if err != nil {
			return
		}
		exerciseTracker(&req.Tracker)
		// The raw events must also be safe to walk when they are not what Rasa sends.
		exerciseTracker(&Tracker{Events: json.RawMessage(body), Slots: map[string]json.RawMessage{"s": json.RawMessage(body)}})
	})
}

// exerciseTracker calls every view method; the fuzzer checks none panics and
// that the backward walk agrees with the forward one.
func exerciseTracker(tr *Tracker) {
	for name := range tr.Slots {
		tr.SlotString(name)
		tr.SlotBool(name)
		tr.SlotFloat(name)
		tr.SlotMap(name)
	}
	tr.LatestText()
	tr.LatestIntent()
	for _, e := range tr.LatestEntities() {
		e.StringValue()
		tr.EntityValue(e.Entity)
	}
	tr.LatestMetadata()
	tr.ActiveLoopName()
	tr.RequestedSlot()
	tr.SessionStartedMetadata()
	cands, err := tr.SlotCandidates()
	for _, c := range cands {
		c.String()
	}
	tr.LatestSessionStart()
	log, logErr := tr.EventLog()
	if err == nil && logErr == nil && json.Valid(tr.Events) {
		// Reference: the trailing run computed from the full forward walk.
		var elems []json.RawMessage
		if json.Unmarshal(tr.Events, &elems) == nil {
			var run []SlotEvent
			li := 0
			for _, e := range elems {
				if len(e) == 0 || e[0] != '{' {
					run = nil
					continue
				}
				r := log[li]
				li++
				if r.Event != "slot" {
					run = nil
					continue
				}
				run = append(run, SlotEvent{r.Name, r.Value})
			}
			if !reflect.DeepEqual(run, cands) {
				panic("backward and forward candidate walks disagree")
			}
		}
	}
}

// FuzzScanner checks the validating scanner against json.Valid and the
// backward array walk against the forward one.
func FuzzScanner(f *testing.F) {
	for _, c := range decoderAgreementCases {
		if len(c) < 4096 {
			f.Add([]byte(c))
		}
	}
	f.Add([]byte(`[{"event":"slot","name":"a","value":"\\\""},"x\\",[1,{"]":"["}],-0.5e+3,true,null]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, end, err := skipValue(b, 0)
		valid := err == nil && skipSpace(b, end) == len(b)
		if valid != json.Valid(b) {
			t.Fatalf("skipValue valid=%v, json.Valid=%v", valid, json.Valid(b))
		}
		var fwd, back [][]byte
		errF := eachElement(b, func(e []byte) bool { fwd = append(fwd, e); return true })
		errB := eachElementReverse(b, func(e []byte) bool { back = append(back, e); return true })
		if json.Valid(b) && errF == nil {
			slices.Reverse(back)
			if errB != nil || !reflect.DeepEqual(fwd, back) {
				t.Fatalf("walks disagree: %q vs %q (%v)", fwd, back, errB)
			}
		}
	})
}
