package spoken

import (
	"errors"
	"testing"
)

// digitRun reports whether s contains n or more ASCII digits in a row: an
// error message with such a run could leak a caller's digits.
func digitRun(s string, n int) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			if run++; run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func FuzzLast4(f *testing.F) {
	for _, tc := range last4Cases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Last4(s)
		if got2, err2 := Last4(s); got2 != got || err2 != err {
			t.Fatalf("Last4(%q) not deterministic: %q, %v then %q, %v", s, got, err, got2, err2)
		}
		if LooksLikeCardNumber(s) && err != ErrCardNumber {
			t.Fatalf("Last4(%q) = %q, %v; a card number must give ErrCardNumber", s, got, err)
		}
		if err != nil {
			if got != "" {
				t.Fatalf("Last4(%q) = %q with error %v", s, got, err)
			}
			if !errors.Is(err, ErrNoDigits) && !errors.Is(err, ErrWrongLength) && !errors.Is(err, ErrCardNumber) {
				t.Fatalf("Last4(%q): unexpected error %v", s, err)
			}
			if digitRun(err.Error(), 4) {
				t.Fatalf("Last4(%q): error %q carries digits", s, err)
			}
			return
		}
		if len(got) != 4 || !digitsOnly(got) {
			t.Fatalf("Last4(%q) = %q, want four ASCII digits", s, got)
		}
		if d, _ := Digits(s); d != got {
			t.Fatalf("Last4(%q) = %q but Digits = %q", s, got, d)
		}
		if again, err := Last4(got); again != got || err != nil {
			t.Fatalf("Last4(%q) = %q, %v; not idempotent", got, again, err)
		}
	})
}

func FuzzNationalID(f *testing.F) {
	for _, tc := range nationalIDCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NationalID(s)
		if got2, err2 := NationalID(s); got2 != got || err2 != err {
			t.Fatalf("NationalID(%q) not deterministic: %q, %v then %q, %v", s, got, err, got2, err2)
		}
		if err != nil {
			if got != "" {
				t.Fatalf("NationalID(%q) = %q with error %v", s, got, err)
			}
			if !errors.Is(err, ErrNationalID) && !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrCardNumber) {
				t.Fatalf("NationalID(%q): unexpected error %v", s, err)
			}
			if digitRun(err.Error(), 4) {
				t.Fatalf("NationalID(%q): error %q carries digits", s, err)
			}
			return
		}
		if !validID(got) {
			t.Fatalf("NationalID(%q) = %q, not a valid DNI/NIE", s, got)
		}
		if again, err := NationalID(got); again != got || err != nil {
			t.Fatalf("NationalID(%q) = %q, %v; not idempotent", got, again, err)
		}
	})
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validID checks a result independently of the parser: shape and letter.
func validID(id string) bool {
	if len(id) != 9 {
		return false
	}
	num := id[:8]
	switch id[0] {
	case 'X':
		num = "0" + id[1:8]
	case 'Y':
		num = "1" + id[1:8]
	case 'Z':
		num = "2" + id[1:8]
	}
	if !digitsOnly(num) {
		return false
	}
	n := 0
	for i := 0; i < len(num); i++ {
		n = n*10 + int(num[i]-'0')
	}
	return id[8] == "TRWAGMYFPDXBNJZSQVHLCKE"[n%23]
}
