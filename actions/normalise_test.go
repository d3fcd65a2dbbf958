package actions

import "testing"

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Débito":          "debito",
		"CRÉDITO":         "credito",
		"Dañada":          "dañada",
		"Ña\u0303":        "ña",
		"  Tarjeta Rota ": "tarjeta rota",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormaliseReasonWithAndWithoutTilde(t *testing.T) {
	for _, in := range []string{"está dañada", "esta danada", "Dañado"} {
		if got := normaliseReason(in); got != "damaged" {
			t.Errorf("normaliseReason(%q) = %q, want damaged", in, got)
		}
	}
}
