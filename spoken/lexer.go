package spoken

import (
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokSep            // punctuation or a symbol: a pause that ends a number phrase
	tokDigits         // a run of ASCII digits
	tokWord           // a word, looked up in vocabulary
)

type token struct {
	kind tokKind
	w    word   // tokWord: its meaning (zero value when unknown)
	text string // tokDigits: the digits, a slice of the transcript
}

// maxWord bounds the folded word buffer; every known word is far shorter.
const maxWord = 24

// lexer splits a transcript into tokens without allocating: digits are
// slices of the input and words are looked up from a fixed buffer.
type lexer struct {
	s   string
	pos int
	buf [maxWord]byte
}

func (l *lexer) next() token {
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		switch {
		case c >= '0' && c <= '9':
			start := l.pos
			for l.pos < len(l.s) && l.s[l.pos] >= '0' && l.s[l.pos] <= '9' {
				l.pos++
			}
			return token{kind: tokDigits, text: l.s[start:l.pos]}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.pos++
			continue
		}
		r, size := utf8.DecodeRuneInString(l.s[l.pos:])
		switch {
		case isWordRune(r):
			return l.word()
		case unicode.IsSpace(r), unicode.Is(unicode.Mn, r):
			l.pos += size
		default:
			// Collapse a run of punctuation into one pause.
			l.pos += size
			for l.pos < len(l.s) {
				r, size = utf8.DecodeRuneInString(l.s[l.pos:])
				if isWordRune(r) || r >= '0' && r <= '9' || unicode.IsSpace(r) || unicode.Is(unicode.Mn, r) {
					break
				}
				l.pos += size
			}
			return token{kind: tokSep}
		}
	}
	return token{kind: tokEOF}
}

func isWordRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80 && unicode.IsLetter(r)
}

// word reads letters (and combining marks, as in decomposed "dieciséis")
// into the folded buffer and looks the result up.
func (l *lexer) word() token {
	n := 0
	known := true // false once a letter outside Spanish's alphabet or an overlong word is seen
	for l.pos < len(l.s) {
		r, size := utf8.DecodeRuneInString(l.s[l.pos:])
		if r == 0x303 && n > 0 && l.buf[n-1] == 'n' {
			// Decomposed ñ: n followed by a combining tilde.
			if n+1 > maxWord {
				known = false
			} else {
				l.buf[n-1], l.buf[n] = 0xC3, 0xB1
				n++
			}
			l.pos += size
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			l.pos += size
			continue
		}
		if !isWordRune(r) {
			break
		}
		l.pos += size
		f, width := fold(r)
		if width == 0 {
			known = false
			continue
		}
		if n+width > maxWord {
			known = false
			continue
		}
		if width == 1 {
			l.buf[n] = f
		} else { // ñ
			l.buf[n], l.buf[n+1] = 0xC3, 0xB1
		}
		n += width
	}
	if !known {
		return token{kind: tokWord}
	}
	return token{kind: tokWord, w: vocabulary[string(l.buf[:n])]}
}

// fold maps a letter to lower-case ASCII without accents. It returns width
// 2 for ñ (written as its UTF-8 bytes) and 0 for letters Spanish does not use.
func fold(r rune) (byte, int) {
	switch {
	case r >= 'a' && r <= 'z':
		return byte(r), 1
	case r >= 'A' && r <= 'Z':
		return byte(r) + 'a' - 'A', 1
	}
	switch r {
	case 'á', 'à', 'â', 'ä', 'Á', 'À', 'Â', 'Ä':
		return 'a', 1
	case 'é', 'è', 'ê', 'ë', 'É', 'È', 'Ê', 'Ë':
		return 'e', 1
	case 'í', 'ì', 'î', 'ï', 'Í', 'Ì', 'Î', 'Ï':
		return 'i', 1
	case 'ó', 'ò', 'ô', 'ö', 'Ó', 'Ò', 'Ô', 'Ö':
		return 'o', 1
	case 'ú', 'ù', 'û', 'ü', 'Ú', 'Ù', 'Û', 'Ü':
		return 'u', 1
	case 'ñ', 'Ñ':
		return 0, 2
	}
	return 0, 0
}
