package spoken

// controlLetters is the official DNI/NIE control alphabet, indexed by the
// number modulo 23.
const controlLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// NationalID returns a checked Spanish DNI ("12345678Z") or NIE
// ("X1234567L"), upper case and without separators, from a transcript such
// as "doce tres cuatro cinco seis siete ocho zeta", "12.345.678-z" or
// "equis uno dos tres cuatro cinco seis siete ele". It returns
// ErrCardNumber for a full card number, ErrNationalID when the transcript
// is not shaped like a DNI or NIE (no digits, wrong count, no letter) and
// ErrChecksum when the control letter does not match the number.
func NationalID(transcript string) (string, error) {
	if LooksLikeCardNumber(transcript) {
		return "", ErrCardNumber
	}
	var r reader
	lx := lexer{s: transcript}
	var (
		prefix    byte // X, Y or Z said right before the digits
		prefixAmb bool // the prefix was a bare "y", which is usually "and"
		control   byte // first clear letter after the digits
		maybe     byte // an ambiguous letter ("y", "de", "te") after the digits
		inDigits  bool
	)
	prev, cur := token{kind: tokSep}, lx.next()
	for cur.kind != tokEOF && control == 0 {
		next := lx.next()
		letter, amb, pair := spelledLetter(cur, next)
		if pair {
			next = lx.next() // "i griega", "uve doble": two words, one letter
		}
		isNum := cur.kind == tokDigits || cur.kind == tokWord && cur.w.num != numNone
		switch {
		case !inDigits && letter != 0:
			prefix, prefixAmb = niePrefix(letter), amb
		case !inDigits && isNum:
			inDigits = true
			r.feed(prev, cur, next)
		case !inDigits && cur.kind != tokSep:
			prefix = 0 // a word between the letter and the digits: not a prefix
		case letter != 0 && !amb:
			if r.flush(false); len(r.digits()) > 0 {
				control = letter
				break
			}
			// Only a count so far ("tiene siete números: equis …"): start over.
			inDigits, prefix, prefixAmb = false, niePrefix(letter), false
		case letter != 0:
			maybe = letter
			r.feed(prev, cur, next) // a bare "y" still lists digits
		case inDigits:
			if cur.kind != tokSep {
				maybe = 0 // more digits or words: the ambiguous letter was a plain word
			}
			r.feed(prev, cur, next)
		}
		prev, cur = cur, next
	}
	r.flush(false)
	if control == 0 {
		control = maybe
	}
	return checkID(prefix, prefixAmb, r.digits(), control)
}

// niePrefix returns letter if an NIE may start with it, else 0.
func niePrefix(letter byte) byte {
	if letter == 'X' || letter == 'Y' || letter == 'Z' {
		return letter
	}
	return 0
}

// spelledLetter reads cur as a letter name or bare letter, joining the
// two-word names "i griega" (Y) and "uve doble"/"doble uve" (W); pair
// reports that next was part of it.
func spelledLetter(cur, next token) (letter byte, ambiguous, pair bool) {
	if cur.kind != tokWord {
		return 0, false, false
	}
	w := cur.w
	if next.kind == tokWord {
		switch {
		case w.flags&fLetterI != 0 && next.w.flags&fGriega != 0:
			return 'Y', false, true
		case w.flags&fLetterV != 0 && next.w.flags&fDoble != 0,
			w.flags&fDoble != 0 && next.w.flags&fLetterV != 0:
			return 'W', false, true
		}
	}
	return w.letter, w.flags&fAmbiguous != 0, false
}

// checkID validates the shape and the control letter and formats the id.
func checkID(prefix byte, prefixAmb bool, d []byte, control byte) (string, error) {
	n := len(d)
	if n >= minPAN && n <= maxPAN {
		return "", ErrCardNumber
	}
	if prefix != 0 && n == 8 {
		switch {
		case prefixAmb:
			prefix = 0 // "y 12345678 z": the "y" was "and"
		case prefix == 'X' && d[0] == '0':
			d = d[1:] // pre-2008 NIEs were X and eight digits, the first a zero
		}
	}
	want := 8
	if prefix != 0 {
		want = 7
	}
	if len(d) != want || control == 0 {
		return "", ErrNationalID
	}
	num := 0
	switch prefix { // the NIE letter stands for a leading digit
	case 'Y':
		num = 1
	case 'Z':
		num = 2
	}
	for _, c := range d {
		num = num*10 + int(c-'0')
	}
	if controlLetters[num%23] != control {
		return "", ErrChecksum
	}
	var out [9]byte
	i := 0
	if prefix != 0 {
		out[0] = prefix
		i = 1
	}
	i += copy(out[i:], d)
	out[i] = control
	return string(out[:i+1]), nil
}
