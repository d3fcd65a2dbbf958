package cardstore

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// ImportRow is one card of a customer, as read from an import file. A
// customer with several cards appears on several rows with the same
// CustomerRef and the same customer fields.
type ImportRow struct {
	Line        int // where the row starts in its file, for error messages
	CustomerRef string
	FullName    string
	PhoneE164   string
	Email       string // may be empty
	NationalID  string // may be empty
	Last4       string
	Brand       string
	Kind        string
	Status      string
}

// ImportError rejects an import because of one row. Reason never quotes the
// row's values (they are personal data, or worse, a card number).
type ImportError struct {
	Line   int
	Reason string
}

func (e *ImportError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Unwrap makes an ImportError an ErrConflict.
func (e *ImportError) Unwrap() error { return ErrConflict }

// ImportSummary counts what an import added.
type ImportSummary struct {
	Customers int
	Cards     int
}

// checkRow validates one row on its own. Columns that could carry a card
// number by mistake are checked for one first, so the reason can say so
// without repeating it.
func checkRow(r ImportRow) string {
	for _, f := range []struct{ name, value string }{
		{"card_last4", r.Last4}, {"customer_ref", r.CustomerRef}, {"full_name", r.FullName},
		{"email", r.Email}, {"national_id", r.NationalID},
	} {
		if LooksLikeCardNumber(f.value) {
			return f.name + " looks like a full card number; only the last four digits may be imported"
		}
	}
	switch {
	case !refPattern.MatchString(r.CustomerRef):
		return "customer_ref must be 1 to 64 letters, digits or . _ : -"
	case r.FullName == "" || utf8.RuneCountInString(r.FullName) > 200 || !utf8.ValidString(r.FullName):
		return "full_name must be 1 to 200 characters of UTF-8"
	case !ValidPhoneE164(r.PhoneE164):
		return "phone_e164 is not an E.164 number (+ and 7 to 15 digits)"
	case r.Email != "" && (len(r.Email) > 254 || strings.Count(r.Email, "@") != 1 || strings.HasPrefix(r.Email, "@") ||
		strings.HasSuffix(r.Email, "@") || strings.ContainsAny(r.Email, " \t\r\n")):
		return "email is not an address"
	case r.NationalID != "" && !ValidNationalID(r.NationalID):
		return "national_id is not a valid DNI/NIE (upper case, no separators, right check letter)"
	case !ValidLast4(r.Last4):
		return "card_last4 must be exactly four digits"
	case !isOneOf(r.Brand, BrandVisa, BrandMastercard):
		return "card_brand must be Visa or Mastercard"
	case !isOneOf(r.Kind, KindDebit, KindCredit):
		return "card_kind must be debit or credit"
	case !isOneOf(r.Status, StatusActive, StatusBlocked, StatusCancelled):
		return "card_status must be active, blocked or cancelled"
	}
	return ""
}

// ValidateImport checks every row and the rows against each other: a
// customer repeated on several rows must repeat the same details, and no two
// customers may share a phone or national id. It returns the first problem
// as an *ImportError (an ErrConflict), or nil.
func ValidateImport(rows []ImportRow) error {
	if len(rows) == 0 {
		return &ImportError{Line: 1, Reason: "no rows to import"}
	}
	type seen struct {
		line int
		row  ImportRow
	}
	byRef := make(map[string]seen, len(rows))
	phoneOwner := make(map[string]string, len(rows))
	idOwner := make(map[string]string, len(rows))
	for _, r := range rows {
		if reason := checkRow(r); reason != "" {
			return &ImportError{Line: r.Line, Reason: reason}
		}
		if first, ok := byRef[r.CustomerRef]; ok {
			f := first.row
			if f.FullName != r.FullName || f.PhoneE164 != r.PhoneE164 || f.Email != r.Email || f.NationalID != r.NationalID {
				return &ImportError{Line: r.Line, Reason: fmt.Sprintf("customer_ref repeated with different customer details than on line %d", first.line)}
			}
			continue
		}
		byRef[r.CustomerRef] = seen{r.Line, r}
		if owner, ok := phoneOwner[r.PhoneE164]; ok {
			return &ImportError{Line: r.Line, Reason: fmt.Sprintf("phone_e164 already belongs to the customer on line %d", byRef[owner].line)}
		}
		phoneOwner[r.PhoneE164] = r.CustomerRef
		if r.NationalID != "" {
			if owner, ok := idOwner[r.NationalID]; ok {
				return &ImportError{Line: r.Line, Reason: fmt.Sprintf("national_id already belongs to the customer on line %d", byRef[owner].line)}
			}
			idOwner[r.NationalID] = r.CustomerRef
		}
	}
	return nil
}

// ImportCustomers adds the customers and cards of rows, all or nothing, in
// one transaction: the rows are copied (COPY) into a temporary table, checked
// against the customers already stored, and inserted with two statements.
// Blocked cards are stored as blocked at the time of the import, with no
// audit row. It returns an *ImportError (ErrConflict) naming the first bad
// line, including a customer_ref, phone or national id already in the
// database, and ErrUnavailable when the database cannot be reached.
func (p *Postgres) ImportCustomers(ctx context.Context, rows []ImportRow) (ImportSummary, error) {
	if err := ValidateImport(rows); err != nil {
		return ImportSummary{}, err // an *ImportError says which line and why
	}
	var sum ImportSummary
	var rowErr *ImportError
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_rows (
			line int, customer_ref text, full_name text, phone_e164 text, email text, national_id text,
			last4 text, brand text, kind text, status text) ON COMMIT DROP`); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"import_rows"},
			[]string{"line", "customer_ref", "full_name", "phone_e164", "email", "national_id", "last4", "brand", "kind", "status"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := rows[i]
				return []any{int32(r.Line), r.CustomerRef, r.FullName, r.PhoneE164, r.Email, r.NationalID, r.Last4, r.Brand, r.Kind, r.Status}, nil
			}))
		if err != nil {
			return err
		}
		// Hash joins against the stored customers, one per unique column, so
		// the error can name the first clashing line.
		for _, clash := range []struct{ column, reason string }{
			{"external_ref", "customer_ref already exists in the database"},
			{"phone_e164", "phone_e164 already belongs to a customer in the database"},
			{"national_id", "national_id already belongs to a customer in the database"},
		} {
			src := clash.column
			if src == "external_ref" {
				src = "customer_ref"
			}
			var line *int32
			if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT min(r.line) FROM import_rows r JOIN customers c ON c.%s = r.%s`, clash.column, src)).Scan(&line); err != nil {
				return err
			}
			if line != nil {
				rowErr = &ImportError{Line: int(*line), Reason: clash.reason}
				return rowErr
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO customers (external_ref, full_name, phone_e164, email, national_id)
			SELECT DISTINCT ON (customer_ref) customer_ref, full_name, phone_e164, NULLIF(email, ''), NULLIF(national_id, '')
			FROM import_rows ORDER BY customer_ref, line`)
		if err != nil {
			return err
		}
		sum.Customers = int(tag.RowsAffected())
		tag, err = tx.Exec(ctx, `INSERT INTO cards (customer_id, last4, brand, kind, status, blocked_at)
			SELECT c.id, r.last4, r.brand, r.kind, r.status, CASE WHEN r.status = 'blocked' THEN now() END
			FROM import_rows r JOIN customers c ON c.external_ref = r.customer_ref ORDER BY r.line`)
		sum.Cards = int(tag.RowsAffected())
		return err
	})
	if rowErr != nil {
		return ImportSummary{}, rowErr
	}
	if err != nil {
		return ImportSummary{}, translate("import", err)
	}
	return sum, nil
}
