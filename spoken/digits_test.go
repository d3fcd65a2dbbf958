package spoken

import (
	"errors"
	"strings"
	"testing"
)

// last4Cases are transcripts as Twilio's recogniser returns them (design §6,
// reference §2.5 and failure log §4 #26–30). want is empty when err is set.
var last4Cases = []struct {
	name, in, want string
	err            error
}{
	// Written digits.
	{"plain", "4567", "4567", nil},
	{"trailing period", "4567.", "4567", nil},
	{"dot thousands separator", "4.567", "4567", nil},
	{"comma thousands separator", "4,567", "4567", nil},
	{"space thousands separator", "4 567", "4567", nil},
	{"pairs", "45 67", "4567", nil},
	{"spaced digits", "4 5 6 7", "4567", nil},
	{"dashed digits", "4-5-6-7", "4567", nil},
	{"keypad hash", "4567#", "4567", nil},
	{"keypad star and hash", "*4567#", "4567", nil},
	{"leading zero digits", "0456", "0456", nil},

	// Spoken digits.
	{"words", "cuatro cinco seis siete", "4567", nil},
	{"words upper case", "CUATRO CINCO SEIS SIETE", "4567", nil},
	{"words listed with y", "cuatro, cinco, seis y siete", "4567", nil},
	{"words with commas and period", "cuatro, cinco, seis, siete.", "4567", nil},
	{"pairs as words", "cuarenta y cinco sesenta y siete", "4567", nil},
	{"pairs as words with comma", "cuarenta y cinco, sesenta y siete", "4567", nil},
	{"digit words then pair", "cuatro cinco sesenta y siete", "4567", nil},
	{"written pair then spoken pair", "45 sesenta y siete", "4567", nil},
	{"whole number", "cuatro mil quinientos sesenta y siete", "4567", nil},
	{"whole number with written thousands", "4 mil quinientos sesenta y siete", "4567", nil},
	{"teens", "catorce cincuenta y seis", "1456", nil},
	{"veintitrés accented", "veintitrés diecisiete", "2317", nil},
	{"veintitres unaccented", "veintitres diecisiete", "2317", nil},
	{"leading zero words", "cero cuatro cinco seis", "0456", nil},
	{"mixed digits and words", "4 cinco 6 siete", "4567", nil},
	{"uno", "uno dos tres cuatro", "1234", nil},
	{"una before a number", "una dos tres cuatro", "1234", nil},
	{"un before a number", "un dos tres cuatro", "1234", nil},
	{"veintiún and treinta y uno", "veintiún treinta y uno", "2131", nil},
	{"treinta y una", "treinta y una cuarenta y dos", "3142", nil},
	{"hundreds chunk in context", "siete doscientos tres", "7203", nil},
	{"year-like reading", "mil novecientos noventa y tres", "1993", nil},
	{"tens without y", "cuarenta cinco sesenta siete", "4567", nil},
	{"diez y seis", "diez y seis cuarenta", "1640", nil},
	{"diez then unit lists", "diez cinco seis", "1056", nil},
	{"ciento y teen", "ciento quince nueve", "1159", nil},

	// Lead-ins and count words.
	{"termina en", "termina en cuatro cinco seis siete", "4567", nil},
	{"acaba en", "acaba en 4567", "4567", nil},
	{"la que acaba en pairs", "la terminada en cuarenta y cinco sesenta y siete", "4567", nil},
	{"los últimos cuatro son", "los últimos cuatro son cuatro cinco seis siete", "4567", nil},
	{"los ultimos cuatro unaccented", "los ultimos cuatro son 4567", "4567", nil},
	{"los cuatro últimos números son", "los cuatro últimos números son cuarenta y cinco sesenta y siete", "4567", nil},
	{"las cuatro últimas cifras", "las cuatro últimas cifras son cuatro cinco seis siete", "4567", nil},
	{"los últimos cuatro dígitos", "los últimos cuatro dígitos son 4567", "4567", nil},
	{"los últimos 4 written", "los últimos 4 son 4567", "4567", nil},
	{"los 4 últimos written", "los 4 últimos son cuatro cinco seis siete", "4567", nil},
	{"count then colon", "los últimos cuatro: cuatro cinco seis siete", "4567", nil},
	{"count without son", "los últimos cuatro cuatro cinco seis siete", "4567", nil},
	{"los últimos then a pause", "los últimos, cuatro cinco seis siete", "4567", nil},
	{"los últimos whole run", "los últimos 4567", "4567", nil},
	{"los últimos whole number", "los últimos cuatro mil quinientos sesenta y siete", "4567", nil},
	{"count after the digits", "cuatro cinco seis siete, son los cuatro últimos", "4567", nil},
	{"mi tarjeta termina en", "mi tarjeta de débito termina en el cuatro cinco seis siete", "4567", nil},
	{"o sea filler", "o sea, termina en cuatro cinco seis siete", "4567", nil},

	// Articles and other numbers that are not the card's.
	{"una tarjeta article", "tengo una tarjeta que termina en 4567", "4567", nil},
	{"un momento article", "un momento, cuatro cinco seis siete", "4567", nil},
	{"dos tarjetas count", "tengo dos tarjetas, la que termina en 4567", "4567", nil},
	{"hace dos días count", "la perdí hace dos días, termina en cuatro cinco seis siete", "4567", nil},
	{"mil gracias", "cuatro cinco seis siete mil gracias", "4567", nil},
	{"mil gracias after a pause", "cuatro cinco seis siete, mil gracias", "4567", nil},

	// Accents, spelling and punctuation.
	{"dieciséis accented", "dieciséis cuarenta y cinco", "1645", nil},
	{"dieciseis unaccented", "dieciseis cuarenta y cinco", "1645", nil},
	{"dieciséis decomposed accent", "diecise\u0301is cuarenta y cinco", "1645", nil},
	{"veintidós accented", "veintidós treinta y tres", "2233", nil},
	{"veintidos unaccented", "veintidos treinta y tres", "2233", nil},
	{"veintiséis accented", "veintiséis diez", "2610", nil},
	{"veintiseis unaccented", "veintiseis diez", "2610", nil},
	{"upper case accents", "VEINTITRÉS DIECISIETE", "2317", nil},
	{"question marks", "¿4567?", "4567", nil},
	{"exclamation marks", "¡cuatro cinco seis siete!", "4567", nil},
	{"semicolon and colon", "cuatro; cinco: seis siete", "4567", nil},
	{"quotes and parentheses", "«cuatro» (cinco) \"seis\" siete", "4567", nil},
	{"no-break spaces", "cuatro\u00a0cinco\u00a0seis\u00a0siete", "4567", nil},
	{"newlines", "cuatro\ncinco\r\nseis\tsiete", "4567", nil},
	{"sietecientos colloquial", "sietecientos ochenta y nueve tres", "7893", nil},

	// Decisions for ambiguous words, explained on TestLast4.
	{"mil alone is 1000", "mil", "1000", nil},
	{"dos mil is 2000", "dos mil", "2000", nil},
	{"dos mil cuatro", "dos mil cuatro", "2004", nil},
	{"cien then a unit is two chunks", "cien tres", "1003", nil},
	{"cien alone is three digits", "cien", "", ErrWrongLength},
	{"ciento tres is three digits", "ciento tres", "", ErrWrongLength},
	{"unit then hundreds concatenates", "cuatro quinientos", "4500", nil},
	{"o is not zero", "o cuatro cinco seis", "", ErrWrongLength},
	{"oh is not zero", "oh cuatro cinco seis", "", ErrWrongLength},
	{"o between digits is ignored", "cuatro cinco seis o siete", "4567", nil},
	{"count word without son is a count", "los últimos cuatro cinco seis siete", "", ErrWrongLength},
	{"cuatro mil is 4000", "cuatro mil", "4000", nil},

	// Refusals.
	{"three written digits", "4 5 6", "", ErrWrongLength},
	{"three spoken digits", "cuatro cinco seis", "", ErrWrongLength},
	{"five digits", "45678", "", ErrWrongLength},
	{"digits then hundreds is not four", "cuatro cinco quinientos", "", ErrWrongLength},
	{"English model garbage", "Quatro sinko says siete", "", ErrWrongLength},
	{"English number words", "four five six seven", "", ErrNoDigits},
	{"empty", "", "", ErrNoDigits},
	{"only punctuation", "¿?¡!...", "", ErrNoDigits},
	{"only lead-in", "termina en", "", ErrNoDigits},
	{"only a count", "los últimos cuatro", "", ErrNoDigits},
	{"full-width digits are not read", "４５６７", "", ErrNoDigits},
	{"written thousands then written digits", "4 mil 567", "", ErrWrongLength},
	{"PAN spaced", "4111 1111 1111 1111", "", ErrCardNumber},
	{"PAN solid", "4111111111111111", "", ErrCardNumber},
	{"PAN dashed", "4111-1111-1111-1111", "", ErrCardNumber},
	{"PAN with commas", "4111, 1111, 1111, 1111", "", ErrCardNumber},
	{"PAN in a sentence", "mi tarjeta es 4111 1111 1111 1111 y caduca el 12/27", "", ErrCardNumber},
	{"PAN thirteen digits", "4222222222222", "", ErrCardNumber},
	{"PAN nineteen digits", "6011 1111 1111 1111 117", "", ErrCardNumber},
	{"PAN spoken", "cuatro uno uno uno uno uno uno uno uno uno uno uno uno uno uno uno", "", ErrCardNumber},
	{"PAN spoken in pairs", "cuarenta y uno once once once once once once once", "", ErrCardNumber},
	{"twelve digits", "1234 5678 9012", "", ErrWrongLength},
	{"twenty spoken digits", strings.Repeat("uno ", 20), "", ErrWrongLength},

	// Failure log §4.
	{"#26 misheard tutu", "tutu", "", ErrNoDigits},
	{"#26 veintidós twice", "veintidós veintidós", "2222", nil},
	{"#27 doscientos tres joined", "doscientos tres nueve", "2039", nil},
	{"#27 mil novecientos noventa y tres", "mil novecientos noventa y tres", "1993", nil},
	{"#28 ciento veintitrés accented", "cuatro ciento veintitrés", "4123", nil},
	{"#28 ciento veintitres unaccented", "cuatro ciento veintitres", "4123", nil},
	{"#28 ciento veintidós", "ciento veintidós uno", "1221", nil},
	{"#28 ciento veintiséis", "ciento veintiséis uno", "1261", nil},
	{"#29 list is not a sum", "cuatro, cinco, seis y siete", "4567", nil},
	{"#29 list with hundreds rejected", "cuatro cinco quinientos", "", ErrWrongLength},
	{"#29 digits and hundreds rejected", "tres, cuatro, 500", "", ErrWrongLength},
	{"#30 spaced digits", "1 2 3 4", "1234", nil},
	{"#30 digit words", "uno dos tres cuatro", "1234", nil},
	{"#30 trailing period", "1234.", "1234", nil},
}

// TestLast4 covers every transcript shape of design §6 and reference §2.5.
//
// Decisions for ambiguous input, pinned by the cases above:
//   - "mil" is 1000, "dos mil" 2000, "mil novecientos noventa y tres" 1993.
//   - "cien" is a complete 100: "cien tres" is 100 then 3; "ciento tres" is 103.
//   - A word that cannot continue a Spanish cardinal starts a new chunk:
//     "cuatro quinientos" is 4 then 500 ("4500"), never 4×500 or 504.
//   - "o"/"oh" are never zero (Spanish callers say "cero"); like any unknown
//     word they are skipped, so "cuatro cinco seis o siete" reads 4567.
//   - Tens take a unit with or without "y" (recognisers drop it): "cuarenta
//     cinco" is 45. "diez" takes one only after "y" ("diez y seis" is 16).
//   - A lone 2…9 right after "últimos"/"últimas" is a count, so "los últimos
//     cuatro cinco seis siete" is 567 and is refused (asked again) rather
//     than guessed.
//   - English number words are not read: they mean the recogniser ran in
//     English (reference §2.4) and the caller must be asked again.
//   - Only ASCII digits are digits.
func TestLast4(t *testing.T) {
	for _, tc := range last4Cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Last4(tc.in)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("Last4(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestDigits(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            error
	}{
		{"doscientos tres is one chunk", "doscientos tres", "203", nil},
		{"cien", "cien", "100", nil},
		{"ciento tres", "ciento tres", "103", nil},
		{"cien mil", "cien mil", "100000", nil},
		{"mil mil is two chunks", "mil mil", "10001000", nil},
		{"multipliers must shrink", "mil millones", "10001000000", nil},
		{"un millón mil", "un millón mil", "1001000", nil},
		{"DNI as a whole number", "doce millones trescientos cuarenta y cinco mil seiscientos setenta y ocho", "12345678", nil},
		{"leading zeros kept", "0 0 7", "007", nil},
		{"cero cero siete", "cero cero siete", "007", nil},
		{"cero is never multiplied", "cero mil", "01000", nil},
		{"written zero is never multiplied", "05 mil", "051000", nil},
		{"long written run is never multiplied", "1234 mil", "12341000", nil},
		{"y after hundreds lists", "doscientos y tres", "2003", nil},
		{"dangling y", "cuarenta y", "40", nil},
		{"y before a teen lists", "cuarenta y doce", "4012", nil},
		{"y before mil lists", "cuarenta y mil", "401000", nil},
		{"letters are skipped", "12345678Z", "12345678", nil},
		{"PAN is returned, not refused", "4111 1111 1111 1111", "4111111111111111", nil},
		{"lone una is a number", "una", "1", nil},
		{"long written run", strings.Repeat("1234567890", 5), strings.Repeat("1234567890", 5), nil},
		{"long spoken run", strings.Repeat("uno dos ", 20), strings.Repeat("12", 20), nil},
		{"overlong word", strings.Repeat("a", 100) + " siete", "7", nil},
		{"overlong word of decomposed ñ", strings.Repeat("n\u0303", 30) + " siete", "7", nil},
		{"letter outside Spanish makes a word unknown", "çinco seis", "6", nil},
		{"stray accents are folded", "cuátro cínco", "45", nil},
		{"invalid UTF-8", "\xff\xfe cuatro \xc3", "4", nil},
		{"nothing", "hola buenas tardes", "", ErrNoDigits},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Digits(tc.in)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("Digits(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

// The validator re-checks slot values it normalised earlier, so a result
// must read back as itself.
func TestLast4Idempotent(t *testing.T) {
	for _, tc := range last4Cases {
		if tc.err != nil {
			continue
		}
		if got, err := Last4(tc.want); got != tc.want || err != nil {
			t.Errorf("%s: Last4(%q) = %q, %v", tc.name, tc.want, got, err)
		}
	}
}

func TestErrorsCarryNoDigits(t *testing.T) {
	for _, err := range []error{ErrNoDigits, ErrWrongLength, ErrCardNumber, ErrNationalID, ErrChecksum} {
		if strings.ContainsAny(err.Error(), "0123456789") {
			t.Errorf("%q contains a digit", err)
		}
	}
}

func TestLast4Allocations(t *testing.T) {
	for _, in := range []string{"cuarenta y cinco sesenta y siete", "termina en 4.567", "4111 1111 1111 1111"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = Last4(in) }); n > 1 {
			t.Errorf("Last4(%q) allocates %v times per call, want at most 1", in, n)
		}
	}
}

var benchTranscripts = []string{
	"4567",
	"termina en cuatro cinco seis siete",
	"los cuatro últimos números son cuarenta y cinco sesenta y siete",
	"cuatro mil quinientos sesenta y siete",
	"¿4.567?",
}

func BenchmarkLast4(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = Last4(benchTranscripts[i%len(benchTranscripts)])
	}
}
