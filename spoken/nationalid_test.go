package spoken

import (
	"errors"
	"testing"
)

// Valid ids used below (letter = TRWAGMYFPDXBNJZSQVHLCKE[n mod 23]):
// 12345678Z and 87654321X (DNI), X1234567L, Y1234567X, Z1234567R (NIE),
// 00000000T, 00000002W and 23456789D (control letters that are also words).
var nationalIDCases = []struct {
	name, in, want string
	err            error
}{
	// DNI.
	{"DNI written", "12345678Z", "12345678Z", nil},
	{"DNI lower case", "12345678z", "12345678Z", nil},
	{"DNI dash", "12345678-Z", "12345678Z", nil},
	{"DNI dots and space", "12.345.678 z", "12345678Z", nil},
	{"DNI dots and dash", "12.345.678-Z", "12345678Z", nil},
	{"DNI spaced groups", "12 345 678 Z", "12345678Z", nil},
	{"DNI doce then digits, zeta", "doce tres cuatro cinco seis siete ocho zeta", "12345678Z", nil},
	{"DNI digit words, bare letter", "uno dos tres cuatro cinco seis siete ocho Z", "12345678Z", nil},
	{"DNI pairs", "doce treinta y cuatro cincuenta y seis setenta y ocho, zeta", "12345678Z", nil},
	{"DNI whole number", "doce millones trescientos cuarenta y cinco mil seiscientos setenta y ocho, zeta", "12345678Z", nil},
	{"DNI lead-in", "mi DNI es el 12345678Z", "12345678Z", nil},
	{"DNI count lead-in", "los ocho números son doce tres cuatro cinco seis siete ocho y la letra zeta", "12345678Z", nil},
	{"DNI letter spelled with a city", "doce tres cuatro cinco seis siete ocho, zeta de Zaragoza", "12345678Z", nil},
	{"DNI y before the letter", "doce tres cuatro cinco seis siete ocho y zeta", "12345678Z", nil},
	{"DNI ceta spelling", "doce tres cuatro cinco seis siete ocho ceta", "12345678Z", nil},
	{"DNI trailing thanks", "12345678Z, gracias", "12345678Z", nil},
	{"DNI after a conjunction y", "sí, y 12345678Z", "12345678Z", nil},
	{"DNI with a leading zero after y", "y 01234567L", "01234567L", nil},
	{"DNI 87654321X in pairs", "ochenta y siete sesenta y cinco cuarenta y tres veintiuno equis", "87654321X", nil},
	{"DNI 87654321X written", "87654321X", "87654321X", nil},
	{"DNI leading zeros, letter te", "cero cero cero cero cero cero cero cero te", "00000000T", nil},
	{"DNI letter de", "veintitrés cuarenta y cinco sesenta y siete ochenta y nueve de", "23456789D", nil},
	{"DNI uve doble", "cero cero cero cero cero cero cero dos uve doble", "00000002W", nil},
	{"DNI doble uve", "cero cero cero cero cero cero cero dos, doble uve", "00000002W", nil},
	{"DNI letter ene", "cero cero cero cero cero cero doce ene", "00000012N", nil},
	{"DNI upper case words", "DOCE TRES CUATRO CINCO SEIS SIETE OCHO ZETA", "12345678Z", nil},

	// NIE.
	{"NIE written", "X1234567L", "X1234567L", nil},
	{"NIE lower case dashes", "x-1234567-l", "X1234567L", nil},
	{"NIE spoken", "equis uno dos tres cuatro cinco seis siete ele", "X1234567L", nil},
	{"NIE spoken with pauses", "equis, uno dos tres cuatro cinco seis siete, ele", "X1234567L", nil},
	{"NIE lead-in", "mi NIE es equis doce treinta y cuatro cincuenta y seis siete ele", "X1234567L", nil},
	{"NIE i griega", "i griega uno dos tres cuatro cinco seis siete equis", "Y1234567X", nil},
	{"NIE after a count", "mi NIE tiene siete números: equis uno dos tres cuatro cinco seis siete ele", "X1234567L", nil},
	{"NIE y griega", "y griega 1234567 X", "Y1234567X", nil},
	{"NIE ye", "ye uno dos tres cuatro cinco seis siete equis", "Y1234567X", nil},
	{"NIE Y written", "Y1234567X", "Y1234567X", nil},
	{"NIE Y spaced", "Y 1234567 X", "Y1234567X", nil},
	{"NIE zeta", "zeta uno dos tres cuatro cinco seis siete erre", "Z1234567R", nil},
	{"NIE Z written", "Z1234567R", "Z1234567R", nil},
	{"NIE old eight-digit form", "X01234567L", "X1234567L", nil},

	// Refusals.
	{"wrong DNI letter", "12345678A", "", ErrChecksum},
	{"wrong DNI letter spoken", "doce tres cuatro cinco seis siete ocho be", "", ErrChecksum},
	{"wrong DNI letter ambiguous word", "doce tres cuatro cinco seis siete ocho a", "", ErrChecksum},
	{"wrong NIE letter", "X1234567M", "", ErrChecksum},
	{"NIE prefix changes the letter", "Y1234567L", "", ErrChecksum},
	{"letter outside the alphabet", "12345678Ñ", "", ErrChecksum},
	{"decomposed eñe is not ene", "cero cero cero cero cero cero doce en\u0303e", "", ErrChecksum},
	{"letter I", "12345678 i", "", ErrChecksum},
	{"seven digits without prefix", "1234567Z", "", ErrNationalID},
	{"nine digits", "123456789Z", "", ErrNationalID},
	{"no letter", "12345678", "", ErrNationalID},
	{"letter first", "zeta 12345678", "", ErrNationalID},
	{"prefix not X Y Z", "W1234567L", "", ErrNationalID},
	{"NIE with eight digits", "X12345678L", "", ErrNationalID},
	{"old form only for X", "Z01234567R", "", ErrNationalID},
	{"word between prefix and digits", "equis es uno dos tres cuatro cinco seis siete ele", "", ErrNationalID},
	{"ambiguous letter then words", "12345678 te lo repito", "", ErrNationalID},
	{"letter in the middle", "doce tres ce cuatro cinco seis siete ocho", "", ErrNationalID},
	{"no digits", "no lo sé", "", ErrNationalID},
	{"empty", "", "", ErrNationalID},
	{"card number", "4111 1111 1111 1111", "", ErrCardNumber},
	{"card number spoken", "cuatro uno uno uno uno uno uno uno uno uno uno uno uno uno uno uno zeta", "", ErrCardNumber},
}

func TestNationalID(t *testing.T) {
	for _, tc := range nationalIDCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NationalID(tc.in)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("NationalID(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestNationalIDIdempotent(t *testing.T) {
	for _, tc := range nationalIDCases {
		if tc.err != nil {
			continue
		}
		if got, err := NationalID(tc.want); got != tc.want || err != nil {
			t.Errorf("%s: NationalID(%q) = %q, %v", tc.name, tc.want, got, err)
		}
	}
}

func BenchmarkNationalID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = NationalID("doce tres cuatro cinco seis siete ocho zeta")
	}
}
