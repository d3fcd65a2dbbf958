package spoken

import "testing"

func TestLooksLikeCardNumber(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     bool
	}{
		{"spaced", "4111 1111 1111 1111", true},
		{"solid", "4111111111111111", true},
		{"dashed", "4111-1111-1111-1111", true},
		{"dotted", "4111.1111.1111.1111", true},
		{"spaced dashes", "4111 - 1111 - 1111 - 1111", true},
		{"no-break spaces", "4111\u00a01111\u00a01111\u00a01111", true},
		{"thirteen digits", "4222222222222", true},
		{"nineteen digits", "6011111111111111117", true},
		{"longer run contains one", "4111 1111 1111 1111 1227", true},
		{"in a log line", "mi tarjeta es 4111 1111 1111 1111, teléfono +34612345678", true},
		{"glued to letters", "pan=4111111111111111&x", true},
		{"twelve digits", "4111 1111 1111", false},
		{"last four", "4567", false},
		{"phone number", "+34600111222", false},
		{"spanish phone with spaces", "+34 600 111 222", false},
		{"date and time", "2026-11-20 09:14", false},
		{"commas are not group separators", "4111, 1111, 1111, 1111", false},
		{"slashes are not group separators", "4111/1111/1111/1111", false},
		{"wide gap", "4111    1111 1111 1111", false},
		{"spoken", "cuatro uno uno uno", false},
		{"full-width digits", "４１１１１１１１１１１１１１１１", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LooksLikeCardNumber(tc.in); got != tc.want {
				t.Errorf("LooksLikeCardNumber(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func BenchmarkLooksLikeCardNumber(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = LooksLikeCardNumber("mi tarjeta termina en 4567, teléfono +34612345678")
	}
}
