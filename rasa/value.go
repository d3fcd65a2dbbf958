package rasa

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Python's str(None) leaks into slots set by careless actions and by some
// channels, so "None" and "null" are treated like a JSON null.
func isNullish(s string) bool {
	return s == "" || s == "None" || s == "null"
}

func trimRaw(raw []byte) []byte {
	return bytes.TrimSpace(raw)
}

// rawString converts a raw JSON value to text: strings as is, numbers as their
// decimal text without exponent; null-ish strings, bools, objects and arrays
// give ok=false.
func rawString(raw []byte) (string, bool) {
	raw = trimRaw(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || isNullish(s) {
			return "", false
		}
		return s, true
	case c == '-' || (c >= '0' && c <= '9'):
		return numberText(raw)
	}
	return "", false
}

// numberText renders a JSON number literal without exponent. Integers are
// returned verbatim so that long digit strings keep every digit.
func numberText(raw []byte) (string, bool) {
	if !validNumber(raw) {
		return "", false
	}
	if bytes.IndexAny(raw, ".eE") < 0 {
		return string(raw), true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// rawBool accepts JSON booleans, Python-style "True"/"False" strings and the
// numbers 1 and 0.
func rawBool(raw []byte) (bool, bool) {
	raw = trimRaw(raw)
	if len(raw) == 0 {
		return false, false
	}
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return false, false
		}
		switch s {
		case "true", "True":
			return true, true
		case "false", "False":
			return false, true
		}
	case c == '-' || (c >= '0' && c <= '9'):
		f, ok := rawFloat(raw)
		if ok && f == 1 {
			return true, true
		}
		if ok && f == 0 {
			return false, true
		}
	}
	return false, false
}

// rawFloat accepts a JSON number or a string holding a finite decimal number.
func rawFloat(raw []byte) (float64, bool) {
	raw = trimRaw(raw)
	if len(raw) == 0 {
		return 0, false
	}
	var text string
	switch c := raw[0]; {
	case c == '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, false
		}
		text = strings.TrimSpace(text)
		// Only plain decimals: strconv would also take "NaN", "Inf", hex and underscores.
		if !decimalText(text) {
			return 0, false
		}
	case c == '-' || (c >= '0' && c <= '9'):
		if !validNumber(raw) {
			return 0, false
		}
		text = string(raw)
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// rawMap decodes a JSON object; anything else gives nil.
func rawMap(raw []byte) map[string]any {
	raw = trimRaw(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	return m
}

// decimalText accepts [+-]digits[.digits][e[+-]digits], leading zeros allowed.
func decimalText(s string) bool {
	i, n := 0, len(s)
	if i < n && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < n && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < n && s[i] == '.' {
		i++
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == n
}

// validNumber reports whether b is exactly one JSON number literal.
func validNumber(b []byte) bool {
	end, ok := scanNumber(b, 0)
	return ok && end == len(b)
}

// scanNumber scans a JSON number starting at i and returns its end.
func scanNumber(b []byte, i int) (int, bool) {
	n := len(b)
	if i < n && b[i] == '-' {
		i++
	}
	if i >= n {
		return i, false
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < n && b[i] == '.' {
		i++
		start := i
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return i, false
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return i, false
		}
	}
	return i, true
}

// MetadataString returns m[key] when it is a string, else "".
func MetadataString(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}
