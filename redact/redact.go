// Package redact masks card numbers, phone numbers, Spanish national ids and
// credentials in free text. It is the second line of defence of the logs:
// the first is never logging user text or tracker contents at all (PCI DSS
// counts logs as storage).
package redact

import (
	"bytes"
	"io"
	"regexp"
)

var (
	// 9 or more digits, optionally with a leading + and single spaces, dots or
	// dashes between them: phone numbers and card numbers (13–19 digits).
	longNumber = regexp.MustCompile(`\+?\d(?:[ .\-]?\d){8,}`)
	// DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter), with the
	// separators people and recognisers put in them.
	nationalID = regexp.MustCompile(`(?i)\b(?:[XYZ][ .\-]?\d{7}|\d{1,2}\.?\d{3}\.?\d{3})[ .\-]?[A-Z]\b`)
	// Credentials written as key=value, key: value or "key":"value".
	credential = regexp.MustCompile(`(?i)((?:token|api[_-]?key|apikey|password|passwd|secret|authorization)"?\s*[=:]\s*"?)(?:Bearer\s+|Basic\s+)?[^\s"&,}]+`)
)

const mask = "[REDACTED]"

// String masks every card number, phone number, DNI/NIE and credential in s.
func String(s string) string {
	return string(Bytes([]byte(s)))
}

// Bytes is String for byte slices; it returns b itself when nothing matched.
func Bytes(b []byte) []byte {
	if !mayContainSecret(b) {
		return b
	}
	b = credential.ReplaceAll(b, []byte("${1}"+mask))
	b = nationalID.ReplaceAll(b, []byte(mask))
	return replaceStandalone(b, longNumber)
}

// replaceStandalone masks matches of re that are not glued to letters or
// digits, so that hex request ids and hashes keep their shape while numbers
// in text ("llame al 612345678", "+34612345678") are masked.
func replaceStandalone(b []byte, re *regexp.Regexp) []byte {
	locs := re.FindAllIndex(b, -1)
	if locs == nil {
		return b
	}
	out := make([]byte, 0, len(b))
	last := 0
	for _, l := range locs {
		if (l[0] > 0 && isAlnum(b[l[0]-1])) || (l[1] < len(b) && isAlnum(b[l[1]])) {
			continue
		}
		out = append(out, b[last:l[0]]...)
		out = append(out, mask...)
		last = l[1]
	}
	return append(out, b[last:]...)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// mayContainSecret is a cheap pre-check so that ordinary log lines skip the
// regular expressions: a line with fewer than 7 digits and no credential word
// cannot match any pattern.
func mayContainSecret(b []byte) bool {
	digits := 0
	for _, c := range b {
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	if digits >= 7 {
		return true
	}
	lower := bytes.ToLower(b)
	for _, w := range [][]byte{[]byte("token"), []byte("key"), []byte("passw"), []byte("secret"), []byte("authorization")} {
		if bytes.Contains(lower, w) {
			return true
		}
	}
	return false
}

// Writer wraps w so that every write (one log line for zerolog) is redacted.
func Writer(w io.Writer) io.Writer { return writer{w} }

type writer struct{ w io.Writer }

func (r writer) Write(p []byte) (int, error) {
	if _, err := r.w.Write(Bytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
