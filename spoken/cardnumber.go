package spoken

// maxGap is how many separator characters may sit between two digit groups
// of one card number ("4111 - 1111" has three).
const maxGap = 3

// LooksLikeCardNumber reports whether s contains 13–19 digits in a row,
// allowing spaces, dots or dashes between groups ("4111 1111 1111 1111",
// "4111-1111-1111-1111"). A longer run counts too: it contains one, and a
// PAN followed by its expiry date must not slip past the redaction layer.
// Only ASCII digits are considered; there is no Luhn check, on purpose, so
// that a misheard digit still gets the number masked.
func LooksLikeCardNumber(s string) bool {
	run, gap := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			run++
			gap = 0
			if run >= minPAN {
				return true
			}
			continue
		case c == ' ' || c == '.' || c == '-' || c == '\t':
		case c == 0xC2 && i+1 < len(s) && s[i+1] == 0xA0: // no-break space
			i++
		default:
			run = 0
			continue
		}
		if run > 0 {
			gap++
			if gap > maxGap {
				run, gap = 0, 0
			}
		}
	}
	return false
}
