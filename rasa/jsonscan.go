package rasa

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// A small validating JSON scanner. It never builds values: it finds where a
// value ends, walks the elements of an array and the fields of an object, so
// that tracker.events (hundreds of KB on long calls) can be searched without
// decoding it.

var errUnexpectedEnd = errors.New("unexpected end of JSON input")

// syntaxError reports malformed JSON at a byte offset; it never quotes input.
type syntaxError struct {
	Offset int
	msg    string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.msg)
}

func syntaxErr(off int, msg string) error { return &syntaxError{Offset: off, msg: msg} }

// maxDepth matches encoding/json's nesting limit.
const maxDepth = 10000

// strPlain marks bytes that need no attention inside a string.
var strPlain = func() (t [256]bool) {
	for i := 0x20; i < 256; i++ {
		t[i] = i != '"' && i != '\\'
	}
	return t
}()

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString scans the string starting at b[i] == '"' and returns the offset
// after its closing quote and whether it contains escapes.
func skipString(b []byte, i int) (int, bool, error) {
	i++
	escaped := false
	for {
		// Eight bytes at a time while none is a quote, a backslash or a control byte.
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			q := x ^ (swarLo * '"')
			s := x ^ (swarLo * '\\')
			m := ((q - swarLo) &^ q) | ((s - swarLo) &^ s) | ((x - swarLo*0x20) &^ x)
			if m&swarHi != 0 {
				break
			}
			i += 8
		}
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, escaped, errUnexpectedEnd
		}
		switch b[i] {
		case '"':
			return i + 1, escaped, nil
		case '\\':
			escaped = true
			if i+1 >= len(b) {
				return i, escaped, errUnexpectedEnd
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, escaped, errUnexpectedEnd
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return i, escaped, syntaxErr(i, "bad \\u escape")
					}
				}
				i += 6
			default:
				return i, escaped, syntaxErr(i, "bad escape in string")
			}
		default:
			if !strPlain[b[i]] {
				return i, escaped, syntaxErr(i, "control character in string")
			}
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) {
		if string(b[i:]) == lit[:len(b)-i] {
			return len(b), errUnexpectedEnd
		}
		return i, syntaxErr(i, "invalid literal")
	}
	if string(b[i:i+len(lit)]) != lit {
		return i, syntaxErr(i, "invalid literal")
	}
	return i + len(lit), nil
}

// objectKey scans `"key" :` at i (after optional space) and returns the offset after the colon.
func objectKey(b []byte, i int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, errUnexpectedEnd
	}
	if b[i] != '"' {
		return i, syntaxErr(i, "expected object key")
	}
	i, _, err := skipString(b, i)
	if err != nil {
		return i, err
	}
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, errUnexpectedEnd
	}
	if b[i] != ':' {
		return i, syntaxErr(i, "expected ':' after object key")
	}
	return i + 1, nil
}

// skipValue validates the JSON value that starts at the first non-space byte
// at or after i and returns its start and end offsets.
func skipValue(b []byte, i int) (start, end int, err error) {
	return skipValueAt(b, i, 0)
}

// skipValueAt is skipValue for a value nested in depth open containers, so
// that the nesting limit counts from the document root as encoding/json does.
func skipValueAt(b []byte, i, depth int) (start, end int, err error) {
	var stackBuf [32]byte
	stack := stackBuf[:0]
	i = skipSpace(b, i)
	start = i
	for {
		// A value is expected at i.
		i = skipSpace(b, i)
		if i >= len(b) {
			return start, i, errUnexpectedEnd
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if depth+len(stack) >= maxDepth {
				return start, i, syntaxErr(i, "nesting too deep")
			}
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			j := skipSpace(b, i+1)
			if j < len(b) && b[j] == closer {
				i = j + 1
				break
			}
			stack = append(stack, c)
			i = j
			if c == '{' {
				if i, err = objectKey(b, i); err != nil {
					return start, i, err
				}
			}
			continue
		case c == '"':
			if i, _, err = skipString(b, i); err != nil {
				return start, i, err
			}
		case c == 't':
			if i, err = skipLiteral(b, i, "true"); err != nil {
				return start, i, err
			}
		case c == 'f':
			if i, err = skipLiteral(b, i, "false"); err != nil {
				return start, i, err
			}
		case c == 'n':
			if i, err = skipLiteral(b, i, "null"); err != nil {
				return start, i, err
			}
		case c == '-' || (c >= '0' && c <= '9'):
			j, ok := scanNumber(b, i)
			if !ok {
				if j >= len(b) {
					return start, j, errUnexpectedEnd
				}
				return start, j, syntaxErr(j, "invalid number")
			}
			i = j
		default:
			return start, i, syntaxErr(i, "invalid character looking for a value")
		}
		// A value ended at i: close containers until one continues.
		for {
			if len(stack) == 0 {
				return start, i, nil
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return start, i, errUnexpectedEnd
			}
			top := stack[len(stack)-1]
			if b[i] == ',' {
				i++
				if top == '{' {
					if i, err = objectKey(b, i); err != nil {
						return start, i, err
					}
				}
				break
			}
			if (top == '{' && b[i] == '}') || (top == '[' && b[i] == ']') {
				i++
				stack = stack[:len(stack)-1]
				continue
			}
			if top == '{' {
				return start, i, syntaxErr(i, "expected ',' or '}' in object")
			}
			return start, i, syntaxErr(i, "expected ',' or ']' in array")
		}
	}
}

// eachElement calls fn with each element of the JSON array b (raw, trimmed).
// A null array has no elements. fn returning false stops the walk.
func eachElement(b []byte, fn func(elem []byte) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return errUnexpectedEnd
	}
	if string(trimRaw(b[i:])) == "null" {
		return nil
	}
	if b[i] != '[' {
		return errors.New("not a JSON array")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for {
		s, e, err := skipValue(b, i)
		if err != nil {
			return err
		}
		if !fn(b[s:e:e]) {
			return nil
		}
		i = skipSpace(b, e)
		if i >= len(b) {
			return errUnexpectedEnd
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return nil
		default:
			return syntaxErr(i, "expected ',' or ']' in array")
		}
	}
}

// eachField calls fn with the raw key (quotes included) and raw value of each
// member of the JSON object b. fn returning false stops the walk.
func eachField(b []byte, fn func(key, value []byte) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return errUnexpectedEnd
	}
	if b[i] != '{' {
		return errors.New("not a JSON object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		if i >= len(b) {
			return errUnexpectedEnd
		}
		if b[i] != '"' {
			return syntaxErr(i, "expected object key")
		}
		ke, _, err := skipString(b, i)
		if err != nil {
			return err
		}
		key := b[i:ke:ke]
		j, err := objectKey(b, i)
		if err != nil {
			return err
		}
		s, e, err := skipValue(b, j)
		if err != nil {
			return err
		}
		if !fn(key, b[s:e:e]) {
			return nil
		}
		i = skipSpace(b, e)
		if i >= len(b) {
			return errUnexpectedEnd
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return nil
		default:
			return syntaxErr(i, "expected ',' or '}' in object")
		}
	}
}

// keyIs compares a raw quoted key with a plain name, unescaping only if needed.
func keyIs(raw []byte, name string) bool {
	if len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name {
		return true
	}
	if len(raw) <= len(name)+2 {
		return false
	}
	for _, c := range raw {
		if c == '\\' {
			s, ok := unquote(raw)
			return ok && s == name
		}
	}
	return false
}

// unquote decodes a raw JSON string; null and other types give ok=false.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// eachElementReverse calls fn with the elements of the JSON array b from the
// last to the first, until fn returns false. Walking backwards lets form
// validation read the trailing events of a long tracker without scanning the
// rest. Boundaries are found by bracket counting, which needs valid JSON
// before the element (decoded trackers always are); every element handed to
// fn is first checked to be exactly one valid JSON value.
func eachElementReverse(b []byte, fn func(elem []byte) bool) error {
	b = trimRaw(b)
	if len(b) == 0 {
		return errUnexpectedEnd
	}
	if string(b) == "null" {
		return nil
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return errors.New("not a JSON array")
	}
	i := len(b) - 2
	afterComma := false
	for {
		for i >= 1 && isSpace(b[i]) {
			i--
		}
		if i < 1 {
			if afterComma {
				return syntaxErr(1, "expected array element")
			}
			return nil
		}
		elemEnd := i + 1
		depth := 0
		j := i
	scan:
		for ; j >= 1; j-- {
			switch b[j] {
			case '"':
				k, ok := openingQuote(b, j)
				if !ok {
					return syntaxErr(j, "unterminated string")
				}
				j = k
			case '}', ']':
				depth++
			case '{', '[':
				depth--
				if depth < 0 {
					return syntaxErr(j, "unbalanced brackets")
				}
			case ',':
				if depth == 0 {
					break scan
				}
			}
		}
		elem := trimRaw(b[j+1 : elemEnd])
		if _, e, err := skipValue(elem, 0); err != nil || e != len(elem) {
			return syntaxErr(j+1, "invalid array element")
		}
		if !fn(elem[:len(elem):len(elem)]) {
			return nil
		}
		if j < 1 {
			return nil
		}
		i = j - 1
		afterComma = true
	}
}

// openingQuote finds the quote that opens the string whose closing quote is
// at b[j]: the nearest earlier quote not escaped by an odd run of backslashes.
func openingQuote(b []byte, j int) (int, bool) {
	for k := j - 1; k >= 1; k-- {
		if b[k] != '"' {
			continue
		}
		n := 0
		for m := k - 1; m >= 0 && b[m] == '\\'; m-- {
			n++
		}
		if n%2 == 0 {
			return k, true
		}
	}
	return 0, false
}
