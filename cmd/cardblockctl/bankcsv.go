package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sctbnk/cardblock/cardstore"
)

// The import file: UTF-8 CSV, comma separated, this exact header, one row per
// card; a customer with several cards is repeated on several rows with the
// same customer_ref and the same customer details. email and national_id may
// be empty. card_last4 holds the last four digits only: a full card number is
// refused without being repeated.
const csvHeaderLine = "customer_ref,full_name,phone_e164,email,national_id,card_last4,card_brand,card_kind,card_status"

// csvFields is the number of columns in csvHeaderLine.
const csvFields = 9

// readBankCSV parses an import file into rows, normalising case where it is
// unambiguous (DNI letters, brand, kind, status). Structural problems come
// back as *cardstore.ImportError with their line; the rows' values are
// checked by cardstore.ValidateImport.
func readBankCSV(r io.Reader) ([]cardstore.ImportRow, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &cardstore.ImportError{Line: 1, Reason: "empty file: the header is missing"}
		}
		return nil, csvError(err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // spreadsheets write a BOM
	}
	if strings.Join(header, ",") != csvHeaderLine {
		return nil, &cardstore.ImportError{Line: 1, Reason: "the header must be exactly " + csvHeaderLine}
	}
	var rows []cardstore.ImportRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		f := func(i int) string { return strings.TrimSpace(rec[i]) }
		rows = append(rows, cardstore.ImportRow{
			Line:        line,
			CustomerRef: f(0),
			FullName:    f(1),
			PhoneE164:   f(2),
			Email:       f(3),
			NationalID:  strings.ToUpper(f(4)),
			Last4:       f(5),
			Brand:       canonical(f(6), cardstore.BrandVisa, cardstore.BrandMastercard),
			Kind:        strings.ToLower(f(7)),
			Status:      strings.ToLower(f(8)),
		})
	}
	if len(rows) == 0 {
		return nil, &cardstore.ImportError{Line: 2, Reason: "no rows after the header"}
	}
	return rows, nil
}

// canonical returns the value of known that s names, ignoring case, or s.
func canonical(s string, known ...string) string {
	for _, k := range known {
		if strings.EqualFold(s, k) {
			return k
		}
	}
	return s
}

// csvError reports a malformed record by line, without its content.
func csvError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("read file: %w", err)
	}
	reason := "malformed CSV"
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		reason = fmt.Sprintf("expected %d fields", csvFields)
	case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
		reason = "malformed quotes"
	}
	line := pe.StartLine
	if line == 0 {
		line = pe.Line
	}
	return &cardstore.ImportError{Line: line, Reason: reason}
}

func (a *app) importCSV(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: import takes one file", errUsage)
	}
	name := fs.Arg(0)
	file, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer file.Close()
	start := time.Now()
	rows, err := readBankCSV(file)
	if err == nil {
		err = cardstore.ValidateImport(rows) // before connecting: a bad file needs no database
	}
	if err != nil {
		return fmt.Errorf("import %s rejected, nothing imported: %w", name, err)
	}
	return a.withSchema(ctx, func(store *cardstore.Postgres) error {
		sum, err := store.ImportCustomers(ctx, rows)
		if err != nil {
			return fmt.Errorf("import %s rejected, nothing imported: %w", name, err)
		}
		fmt.Fprintf(a.stdout, "imported %d customers and %d cards from %s in %v\n", sum.Customers, sum.Cards, name, time.Since(start).Round(time.Millisecond))
		return nil
	})
}

// maxGenerated is how many customers gen-bank can number: their phones are
// +34609000000 to +34609999999, a range the demo bank does not use.
const maxGenerated = 1_000_000

func (a *app) genBank(args []string) error {
	fs := flag.NewFlagSet("gen-bank", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	n := fs.Int("n", 1000, "number of customers (one active card each)")
	out := fs.String("o", "", "output file (default standard output)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *n < 1 || *n > maxGenerated {
		return fmt.Errorf("%w: -n must be between 1 and %d", errUsage, maxGenerated)
	}
	if *out == "" {
		return writeBuffered(a.stdout, *n)
	}
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("gen-bank: %w", err)
	}
	if err := writeBuffered(f, *n); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("gen-bank: %w", err)
	}
	return nil
}

func writeBuffered(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := writeSyntheticBank(bw, n); err != nil {
		return fmt.Errorf("gen-bank: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gen-bank: %w", err)
	}
	return nil
}

// writeSyntheticBank writes n fictional customers with one active card each:
// valid DNIs (numbers from 20000000, clear of the demo bank's), Spanish
// mobile numbers +34609…, and last four digits spread over 0000–9999.
func writeSyntheticBank(w io.Writer, n int) error {
	const letters = "TRWAGMYFPDXBNJZSQVHLCKE"
	if _, err := fmt.Fprintln(w, csvHeaderLine); err != nil {
		return err
	}
	for i := range n {
		dni := 20_000_000 + i
		brand := cardstore.BrandVisa
		if i%3 == 0 {
			brand = cardstore.BrandMastercard
		}
		_, err := fmt.Fprintf(w, "gen-%07d,Cliente Sintético %d,+34609%06d,cliente%d@example.com,%08d%c,%04d,%s,debit,active\n",
			i, i, i, i, dni, letters[dni%23], (i*7919)%10000, brand)
		if err != nil {
			return err
		}
	}
	return nil
}
