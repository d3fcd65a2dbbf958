package cardstore_test

import (
	"testing"

	"github.com/sctbnk/cardblock/cardstore"
)

func TestValidNationalID(t *testing.T) {
	tests := []struct {
		name, id string
		want     bool
	}{
		{"DNI", "12345678Z", true},
		{"DNI of the demo", "87654321X", true},
		{"NIE with X", "X1234567L", true},
		{"NIE with Y", "Y1234567X", true},
		{"NIE with Z", "Z1234567R", true},
		{"wrong letter", "12345678A", false},
		{"lower case", "12345678z", false},
		{"seven digits", "1234567Z", false},
		{"separator", "12345678-Z", false},
		{"NIE with another prefix", "A1234567L", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cardstore.ValidNationalID(tt.id); got != tt.want {
				t.Errorf("ValidNationalID = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidPhoneE164(t *testing.T) {
	tests := []struct {
		name, phone string
		want        bool
	}{
		{"Spanish mobile", "+34600111222", true},
		{"Mexican", "+525512345678", true},
		{"withheld placeholder", "+266696687", true},
		{"fifteen digits", "+123456789012345", true},
		{"sixteen digits", "+1234567890123456", false},
		{"no plus", "34600111222", false},
		{"leading zero", "+0600111222", false},
		{"spaces", "+34 600 111 222", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cardstore.ValidPhoneE164(tt.phone); got != tt.want {
				t.Errorf("ValidPhoneE164 = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLooksLikeCardNumber(t *testing.T) {
	tests := []struct {
		name, s string
		want    bool
	}{
		{"sixteen digits", "4111111111111111", true},
		{"thirteen digits", "4222222222222", true},
		{"grouped with spaces", "4111 1111 1111 1111", true},
		{"grouped with dashes", "4111-1111-1111-1111", true},
		{"last four", "1111", false},
		{"twelve digits", "411111111111", false},
		{"a name", "Lucía Martín", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cardstore.LooksLikeCardNumber(tt.s); got != tt.want {
				t.Errorf("LooksLikeCardNumber = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDemoBank(t *testing.T) {
	bank, err := cardstore.LoadDemoBank()
	if err != nil {
		t.Fatal(err)
	}
	if len(bank.Customers) != 4 || len(bank.Cards) != 7 || len(bank.Blocks) != 1 {
		t.Fatalf("demo bank has %d customers, %d cards, %d blocks", len(bank.Customers), len(bank.Cards), len(bank.Blocks))
	}
	again, _ := cardstore.LoadDemoBank()
	again.Customers[0].FullName = "changed"
	if fresh, _ := cardstore.LoadDemoBank(); fresh.Customers[0].FullName == "changed" {
		t.Error("LoadDemoBank shares its data between callers")
	}
}
