package rasa

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// The webhook body is decoded by hand. Profiles showed encoding/json spending
// ~95 µs on a 15 KB request, nearly all of it validating and copying
// tracker.events, which most actions never read. This decoder reads the body
// once: it validates every byte with the scanner in jsonscan.go, keeps events,
// stack and domain as sub-slices of the body (no copy) and decodes only the
// small fields. Its results match json.Unmarshal into Request field for field,
// including null handling, merging of duplicate keys and case-insensitive key
// matching; FuzzDecodeRequest checks that against encoding/json. Like
// encoding/json it rejects the NaN/Infinity tokens Python can emit for a
// float slot: such a body gets a 400, knowingly (no slot of ours is a float
// that could hold one).

// DecodeRequest parses a webhook body. The returned Request's raw fields
// alias body, which must not be modified afterwards. Error messages never
// quote the input (it may hold user text): they name an offset or a field.
func DecodeRequest(body []byte) (*Request, error) {
	req := new(Request)
	if err := decodeRequest(body, req); err != nil {
		return nil, err
	}
	return req, nil
}

var (
	errEmptyBody    = errors.New("empty request body")
	errTruncated    = errors.New("truncated JSON body")
	errNotObject    = errors.New("request body must be a JSON object")
	errNoNextAction = errors.New("missing next_action")
	errTrailing     = errors.New("invalid JSON: data after the top-level value")
)

// typeError names the field whose JSON type is wrong.
type typeError struct{ field string }

func (e *typeError) Error() string { return "field " + e.field + " has the wrong JSON type" }

func decodeRequest(body []byte, req *Request) error {
	d := decoder{b: body, i: skipSpace(body, 0)}
	if d.i == len(body) {
		return errEmptyBody
	}
	var err error
	switch body[d.i] {
	case '{':
		err = d.object(1, func(key []byte) error {
			switch matchKey(key, requestKeys) {
			case "next_action":
				return d.str(&req.NextAction, "next_action")
			case "sender_id":
				return d.str(&req.SenderID, "sender_id")
			case "tracker":
				return d.tracker(&req.Tracker)
			case "domain":
				return d.raw(&req.Domain, 1)
			case "domain_digest":
				return d.str(&req.DomainDigest, "domain_digest")
			case "version":
				return d.str(&req.Version, "version")
			}
			return d.skip(1)
		})
	case 'n':
		// null decodes to an empty request, as with encoding/json.
		_, d.i, err = skipValue(body, d.i)
	default:
		if _, _, err = skipValue(body, d.i); err == nil {
			err = errNotObject
		}
	}
	if err != nil {
		return describeDecodeError(err)
	}
	if skipSpace(body, d.i) != len(body) {
		return errTrailing
	}
	if req.NextAction == "" {
		return errNoNextAction
	}
	return nil
}

func describeDecodeError(err error) error {
	var se *syntaxError
	var te *typeError
	switch {
	case errors.Is(err, errUnexpectedEnd):
		return errTruncated
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at offset %d", se.Offset)
	case errors.As(err, &te), errors.Is(err, errNotObject):
		return err
	}
	return errors.New("invalid JSON body")
}

// decoder is a cursor over a JSON document; every method consumes exactly one
// value (validating it) and leaves i just after it.
type decoder struct {
	b []byte
	i int
}

// object walks the members of the object at i, calling fn with each raw key
// while i sits on the member's value; fn must consume that value. depth is
// the nesting depth of the object itself.
func (d *decoder) object(depth int, fn func(key []byte) error) error {
	b := d.b
	if depth > maxDepth {
		return syntaxErr(d.i, "nesting too deep")
	}
	d.i = skipSpace(b, d.i+1)
	if d.i < len(b) && b[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		if d.i >= len(b) {
			return errUnexpectedEnd
		}
		if b[d.i] != '"' {
			return syntaxErr(d.i, "expected object key")
		}
		ke, _, err := skipString(b, d.i)
		if err != nil {
			return err
		}
		key := b[d.i:ke]
		d.i = skipSpace(b, ke)
		if d.i >= len(b) {
			return errUnexpectedEnd
		}
		if b[d.i] != ':' {
			return syntaxErr(d.i, "expected ':' after object key")
		}
		d.i = skipSpace(b, d.i+1)
		if d.i >= len(b) {
			return errUnexpectedEnd
		}
		if err := fn(key); err != nil {
			return err
		}
		d.i = skipSpace(b, d.i)
		if d.i >= len(b) {
			return errUnexpectedEnd
		}
		switch b[d.i] {
		case ',':
			d.i = skipSpace(b, d.i+1)
		case '}':
			d.i++
			return nil
		default:
			return syntaxErr(d.i, "expected ',' or '}' in object")
		}
	}
}

// value consumes one value and returns it raw (a sub-slice of the body).
func (d *decoder) value(depth int) ([]byte, error) {
	s, e, err := skipValueAt(d.b, d.i, depth)
	if err != nil {
		return nil, err
	}
	d.i = e
	return d.b[s:e:e], nil
}

func (d *decoder) skip(depth int) error {
	_, err := d.value(depth)
	return err
}

func (d *decoder) raw(dst *json.RawMessage, depth int) error {
	v, err := d.value(depth)
	if err == nil {
		*dst = json.RawMessage(v)
	}
	return err
}

// str follows encoding/json: null leaves the field unchanged, other
// non-strings are a type error (reported after the value is validated).
func (d *decoder) str(dst *string, field string) error {
	v, err := d.value(1)
	if err != nil {
		return err
	}
	switch v[0] {
	case 'n':
		return nil
	case '"':
		*dst, _ = unquote(v)
		return nil
	}
	return &typeError{field}
}

func (d *decoder) boolean(dst *bool, field string) error {
	v, err := d.value(2)
	if err != nil {
		return err
	}
	switch v[0] {
	case 'n':
	case 't':
		*dst = true
	case 'f':
		*dst = false
	default:
		return &typeError{field}
	}
	return nil
}

func (d *decoder) float(dst *float64, field string) error {
	v, err := d.value(2)
	if err != nil {
		return err
	}
	if v[0] == 'n' {
		return nil
	}
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return &typeError{field}
	}
	f, perr := strconv.ParseFloat(string(v), 64)
	if perr != nil || math.IsInf(f, 0) {
		return &typeError{field}
	}
	*dst = f
	return nil
}

// Known keys; unknown spellings fall back to encoding/json's case-insensitive match.
var (
	requestKeys = []string{"next_action", "sender_id", "tracker", "domain", "domain_digest", "version"}
	trackerKeys = []string{"sender_id", "slots", "latest_message", "events", "active_loop", "latest_action_name",
		"latest_input_channel", "followup_action", "paused", "latest_event_time", "stack", "user_id"}
	loopKeys = []string{"name", "is_interrupted", "rejected"}
)

// objectStart reports whether the value at d.i is an object to walk. A null
// is skipped (false, nil), as encoding/json leaves the field alone; any other
// type is skipped and reported as field's type error.
func (d *decoder) objectStart(depth int, field string) (bool, error) {
	switch d.b[d.i] {
	case '{':
		return true, nil
	case 'n':
		return false, d.skip(depth)
	}
	if err := d.skip(depth); err != nil {
		return false, err
	}
	return false, &typeError{field}
}

func (d *decoder) tracker(t *Tracker) error {
	if ok, err := d.objectStart(1, "tracker"); !ok {
		return err
	}
	return d.object(2, func(key []byte) error {
		switch matchKey(key, trackerKeys) {
		case "sender_id":
			return d.str(&t.SenderID, "tracker.sender_id")
		case "latest_action_name":
			return d.str(&t.LatestActionName, "tracker.latest_action_name")
		case "latest_input_channel":
			return d.str(&t.LatestInputChannel, "tracker.latest_input_channel")
		case "followup_action":
			return d.str(&t.FollowupAction, "tracker.followup_action")
		case "user_id":
			return d.str(&t.UserID, "tracker.user_id")
		case "paused":
			return d.boolean(&t.Paused, "tracker.paused")
		case "latest_event_time":
			return d.float(&t.LatestEventTime, "tracker.latest_event_time")
		case "events":
			return d.raw(&t.Events, 2)
		case "stack":
			return d.raw(&t.Stack, 2)
		case "slots":
			return d.slots(t)
		case "active_loop":
			return d.activeLoop(&t.ActiveLoop)
		case "latest_message":
			return d.latestMessage(t)
		}
		return d.skip(2)
	})
}

func (d *decoder) slots(t *Tracker) error {
	if ok, err := d.objectStart(2, "tracker.slots"); !ok {
		if err == nil {
			t.Slots = nil
		}
		return err
	}
	if t.Slots == nil {
		t.Slots = make(map[string]json.RawMessage, 32)
	}
	return d.object(3, func(key []byte) error {
		v, err := d.value(3)
		if err != nil {
			return err
		}
		name, _ := unquote(key)
		t.Slots[name] = json.RawMessage(v)
		return nil
	})
}

func (d *decoder) activeLoop(l *ActiveLoop) error {
	if ok, err := d.objectStart(2, "tracker.active_loop"); !ok {
		return err
	}
	return d.object(3, func(key []byte) error {
		switch matchKey(key, loopKeys) {
		case "name":
			return d.str(&l.Name, "tracker.active_loop.name")
		case "is_interrupted":
			return d.boolean(&l.IsInterrupted, "tracker.active_loop.is_interrupted")
		case "rejected":
			return d.boolean(&l.Rejected, "tracker.active_loop.rejected")
		}
		return d.skip(3)
	})
}

func (d *decoder) latestMessage(t *Tracker) error {
	if ok, err := d.objectStart(2, "tracker.latest_message"); !ok {
		if err == nil {
			t.LatestMessage = nil
		}
		return err
	}
	var w messageWire
	if err := d.message(&w, 3, "tracker.latest_message"); err != nil {
		return err
	}
	t.LatestMessage = w.message()
	return nil
}

// messageWire is what a latest_message object decodes into before entities
// are converted; its fields follow encoding/json semantics exactly (null
// leaves a field unchanged, duplicate keys merge), so that a body decodes
// the same here as through json.Unmarshal.
type messageWire struct {
	text      string
	intent    Intent
	entities  []entityWire
	metadata  map[string]any
	messageID string
}

func (w *messageWire) message() *LatestMessage {
	m := &LatestMessage{Text: w.text, Intent: w.intent, Metadata: w.metadata, MessageID: w.messageID}
	if w.entities != nil {
		m.Entities = make([]Entity, len(w.entities))
		for i := range w.entities {
			m.Entities[i] = w.entities[i].entity()
		}
	}
	return m
}

var (
	messageKeys = []string{"text", "intent", "entities", "metadata", "message_id"}
	intentKeys  = []string{"name", "confidence"}
	entityKeys  = []string{"entity", "value", "role", "group", "extractor", "start", "end", "confidence", "confidence_entity"}
)

// message decodes the latest_message object at i (depth = its nesting depth).
func (d *decoder) message(w *messageWire, depth int, field string) error {
	return d.object(depth, func(key []byte) error {
		switch matchKey(key, messageKeys) {
		case "text":
			return d.str(&w.text, field+".text")
		case "message_id":
			return d.str(&w.messageID, field+".message_id")
		case "intent":
			return d.intent(&w.intent, depth+1, field+".intent")
		case "entities":
			return d.entities(w, depth+1, field+".entities")
		case "metadata":
			return d.metadata(&w.metadata, depth, field+".metadata")
		}
		return d.skip(depth)
	})
}

func (d *decoder) intent(in *Intent, depth int, field string) error {
	if ok, err := d.objectStart(depth-1, field); !ok {
		return err
	}
	return d.object(depth, func(key []byte) error {
		switch matchKey(key, intentKeys) {
		case "name":
			return d.str(&in.Name, field+".name")
		case "confidence":
			return d.float(&in.Confidence, field+".confidence")
		}
		return d.skip(depth)
	})
}

// entities mirrors encoding/json's slice decoding, which decodes into
// elements left by an earlier duplicate key instead of resetting them.
func (d *decoder) entities(w *messageWire, depth int, field string) error {
	b := d.b
	switch b[d.i] {
	case '[':
	case 'n':
		w.entities = nil
		return d.skip(depth - 1)
	default:
		if err := d.skip(depth - 1); err != nil {
			return err
		}
		return &typeError{field}
	}
	if depth > maxDepth {
		return syntaxErr(d.i, "nesting too deep")
	}
	d.i = skipSpace(b, d.i+1)
	n := 0
	if d.i < len(b) && b[d.i] == ']' {
		d.i++
	} else {
		for {
			if d.i >= len(b) {
				return errUnexpectedEnd
			}
			switch {
			case n < len(w.entities):
			case n < cap(w.entities):
				w.entities = w.entities[:n+1]
			default:
				w.entities = append(w.entities, entityWire{})
			}
			if err := d.entity(&w.entities[n], depth+1, field); err != nil {
				return err
			}
			n++
			d.i = skipSpace(b, d.i)
			if d.i >= len(b) {
				return errUnexpectedEnd
			}
			if b[d.i] == ']' {
				d.i++
				break
			}
			if b[d.i] != ',' {
				return syntaxErr(d.i, "expected ',' or ']' in array")
			}
			d.i = skipSpace(b, d.i+1)
		}
	}
	if n == 0 {
		w.entities = []entityWire{}
	} else {
		w.entities = w.entities[:n]
	}
	return nil
}

func (d *decoder) entity(e *entityWire, depth int, field string) error {
	if ok, err := d.objectStart(depth-1, field); !ok {
		return err
	}
	return d.object(depth, func(key []byte) error {
		switch k := matchKey(key, entityKeys); k {
		case "entity":
			return d.str(&e.Entity, field+".entity")
		case "role":
			return d.str(&e.Role, field+".role")
		case "group":
			return d.str(&e.Group, field+".group")
		case "extractor":
			return d.str(&e.Extractor, field+".extractor")
		case "value":
			return d.raw(&e.Value, depth)
		case "start":
			return d.float(&e.Start, field+".start")
		case "end":
			return d.float(&e.End, field+".end")
		case "confidence":
			return d.floatPtr(&e.Confidence, field+".confidence")
		case "confidence_entity":
			return d.floatPtr(&e.ConfidenceEntity, field+".confidence_entity")
		}
		return d.skip(depth)
	})
}

func (d *decoder) floatPtr(dst **float64, field string) error {
	if d.b[d.i] == 'n' {
		*dst = nil
		return d.skip(1)
	}
	var f float64
	if err := d.float(&f, field); err != nil {
		return err
	}
	*dst = &f
	return nil
}

// metadata is free-form channel data: encoding/json decodes it (into the
// existing map, as a duplicate key would).
func (d *decoder) metadata(dst *map[string]any, depth int, field string) error {
	v, err := d.value(depth)
	if err != nil {
		return err
	}
	switch v[0] {
	case 'n':
		*dst = nil
		return nil
	case '{':
		if err := json.Unmarshal(v, dst); err != nil {
			return &typeError{field}
		}
		return nil
	}
	return &typeError{field}
}

// matchKey returns the known key a raw JSON key selects, or "".
func matchKey(rawKey []byte, known []string) string {
	inner := rawKey[1 : len(rawKey)-1]
	for _, k := range known {
		if string(inner) == k {
			return k
		}
	}
	key, ok := unquote(rawKey)
	if !ok {
		return ""
	}
	folded := foldName(key)
	for _, k := range known {
		f, ok := foldedKeys[k]
		if !ok {
			f = foldName(k)
		}
		if folded == f {
			return k
		}
	}
	return ""
}

// foldedKeys caches foldName of every known key (read-only after init).
var foldedKeys = func() map[string]string {
	m := make(map[string]string)
	for _, list := range [][]string{requestKeys, trackerKeys, loopKeys, messageKeys, intentKeys, entityKeys} {
		for _, k := range list {
			m[k] = foldName(k)
		}
	}
	return m
}()

// foldName mirrors encoding/json's key folding (upper case of lower case, per rune).
func foldName(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b = append(b, byte(r))
			continue
		}
		b = utf8.AppendRune(b, unicode.ToUpper(unicode.ToLower(r)))
	}
	return string(b)
}

// safeFieldPath keeps a field path only if it looks like one of our own
// field names; anything else could come from the input.
func safeFieldPath(p string) string {
	if len(p) > 80 {
		return "(unnamed)"
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			return "(unnamed)"
		}
	}
	return p
}
