package bankfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bank.csv")
	csv := "customer_ref,full_name,phone_e164,email,national_id,card_last4,card_brand,card_kind,card_status\n" +
		"c1,A,+34609000001,,,1111,visa,debit,active\n" +
		"c1,A,+34609000001,,,2222,visa,credit,active\n" +
		"c2,B,+34609000002,,,3333,visa,debit,blocked\n" +
		"c3,C,+34609000003,,,4444,visa,debit,active\n" +
		"c4,D,+34609000004,,,5555,visa,debit,active\n"
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(file, 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []Customer{{"+34609000003", "4444"}, {"+34609000004", "5555"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Read = %v, want %v", got, want)
	}
}
