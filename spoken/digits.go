// Package spoken turns what a Spanish speech recogniser heard ("termina en
// cuarenta y cinco sesenta y siete", "4.567", "doce tres … zeta") into the
// digits, card last four or national id the caller meant.
//
// Every number phrase becomes a chunk of digits and chunks are joined as
// strings, so leading zeros survive and "cuatro cinco quinientos" stays
// "45500" instead of being summed. Errors never carry the caller's digits.
package spoken

import "errors"

var (
	// ErrNoDigits means nothing in the transcript reads as a number.
	ErrNoDigits = errors.New("spoken: no digits in transcript")
	// ErrWrongLength means digits were found, but not exactly four.
	ErrWrongLength = errors.New("spoken: not exactly four digits")
	// ErrCardNumber means a full card number (PAN) was read out: the answer
	// must be refused and the transcript never echoed, stored or logged.
	ErrCardNumber = errors.New("spoken: full card number read out")
	// ErrNationalID means the transcript is not shaped like a DNI or NIE.
	ErrNationalID = errors.New("spoken: not a DNI or NIE")
	// ErrChecksum means a DNI or NIE whose control letter does not match.
	ErrChecksum = errors.New("spoken: DNI or NIE control letter does not match")
)

// PAN lengths (ISO/IEC 7812): anything this long is a full card number.
const (
	minPAN = 13
	maxPAN = 19
)

// Digits returns every digit the transcript reads out, in order, as a
// string (leading zeros kept). It returns ErrNoDigits when there are none.
// Count words ("los cuatro últimos") and articles ("una tarjeta") are not
// digits. The result may be a full card number: callers must not log it.
func Digits(transcript string) (string, error) {
	var r reader
	r.read(transcript)
	d := r.digits()
	if len(d) == 0 {
		return "", ErrNoDigits
	}
	return string(d), nil
}

// Last4 returns exactly four digits ("4567", "0456"). It returns
// ErrCardNumber when the transcript holds a full card number (13–19 digits
// read out, or written in a row), ErrNoDigits when nothing reads as a
// number and ErrWrongLength for any other count.
func Last4(transcript string) (string, error) {
	if LooksLikeCardNumber(transcript) {
		return "", ErrCardNumber
	}
	var r reader
	r.read(transcript)
	d := r.digits()
	switch n := len(d); {
	case n == 0:
		return "", ErrNoDigits
	case n >= minPAN && n <= maxPAN:
		return "", ErrCardNumber
	case n != 4:
		return "", ErrWrongLength
	}
	return string(d), nil
}
