// Package bankfile reads the synthetic bank files that `cardblockctl gen-bank`
// writes, for the load generator and the fault-injection driver.
package bankfile

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
)

// Customer is a bank-file customer with an active card.
type Customer struct{ Phone, Last4 string }

// Read returns up to n distinct customers with an active card, skipping the
// first offset of them; fewer when the file runs out.
func Read(file string, offset, n int) ([]Customer, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	var out []Customer
	seen := map[string]bool{}
	skipped := 0
	for len(out) < n {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		phone := rec[col["phone_e164"]]
		if seen[phone] || rec[col["card_status"]] != "active" {
			continue
		}
		seen[phone] = true
		if skipped < offset {
			skipped++
			continue
		}
		out = append(out, Customer{phone, rec[col["card_last4"]]})
	}
	return out, nil
}
