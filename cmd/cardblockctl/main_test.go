package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/cardstore/pgtest"
)

// cli runs the program as an operator would, against url.
func cli(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return url
		}
		return ""
	}
	err := run(t.Context(), args, getenv, &out, &errOut)
	return out.String() + errOut.String(), err
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bank.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func openStore(t *testing.T, url string) (*cardstore.Postgres, *pgxpool.Pool) {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return cardstore.NewPostgres(pool), pool
}

func countRows(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const header = "customer_ref,full_name,phone_e164,email,national_id,card_last4,card_brand,card_kind,card_status\n"

// good is a valid file: a customer with two cards (NIE, no email) and one
// with a blocked card and no national id.
const good = header +
	"c-1,Núria Soler Vidal,+34655000111,,Y1234567X,1111,Visa,debit,active\n" +
	"c-1,Núria Soler Vidal,+34655000111,,Y1234567X,2222,mastercard,Credit,active\n" +
	"c-2,Pedro Gil Ramos,+34655000222,pedro@example.com,,3333,Visa,debit,blocked\n"

func TestImport(t *testing.T) {
	url := pgtest.URL(t)
	out, err := cli(t, url, "import", writeFile(t, good))
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if !strings.Contains(out, "imported 2 customers and 3 cards") {
		t.Errorf("output %q", out)
	}
	store, _ := openStore(t, url)
	ctx := t.Context()
	nuria, err := store.CustomerByNationalID(ctx, "Y1234567X")
	if err != nil || nuria.PhoneE164 != "+34655000111" || nuria.Email != "" || nuria.Ref != "c-1" {
		t.Fatalf("imported customer %+v, %v", nuria, err)
	}
	cards, err := store.CardsEndingIn(ctx, nuria.ID, "2222")
	if err != nil || len(cards) != 1 || cards[0].Brand != cardstore.BrandMastercard || cards[0].Kind != cardstore.KindCredit {
		t.Errorf("imported card %+v, %v", cards, err)
	}
	pedro, err := store.CustomerByPhone(ctx, "+34655000222")
	if err != nil {
		t.Fatal(err)
	}
	cards, err = store.CardsEndingIn(ctx, pedro.ID, "3333")
	if err != nil || cards[0].Status != cardstore.StatusBlocked || cards[0].BlockedAt.IsZero() {
		t.Errorf("imported blocked card %+v, %v", cards, err)
	}

	// The same file again clashes with what it imported and adds nothing.
	_, err = cli(t, url, "import", writeFile(t, good))
	if !errors.Is(err, cardstore.ErrConflict) || !strings.Contains(err.Error(), "line 2: customer_ref already exists") {
		t.Errorf("second import: %v", err)
	}
}

func TestImportRejectsBadFiles(t *testing.T) {
	url := pgtest.URL(t)
	if out, err := cli(t, url, "seed"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	_, pool := openStore(t, url)
	const ok1 = "c-1,Núria Soler Vidal,+34655000111,,Y1234567X,1111,Visa,debit,active\n"
	const pan = "4111111111111111"
	tests := []struct {
		name string
		file string
		want string // "line N: reason" or part of it
	}{
		{"empty file", "", "line 1: empty file"},
		{"wrong header", "ref,name\n" + ok1, "line 1: the header must be exactly"},
		{"header only", header, "line 2: no rows"},
		{"missing field", header + ok1 + "c-2,Pedro Gil,+34655000222,,,3333,Visa,debit\n", "line 3: expected 9 fields"},
		{"bad quotes", header + ok1 + "c-2,\"Pedro \"Gil\",+34655000222,,,3333,Visa,debit,active\n", "line 3: malformed quotes"},
		{"phone without plus", header + ok1 + "c-2,Pedro Gil,655000222,,,3333,Visa,debit,active\n", "line 3: phone_e164 is not an E.164 number"},
		{"phone too long", header + ok1 + "c-2,Pedro Gil,+3465500022233334,,,3333,Visa,debit,active\n", "line 3: phone_e164"},
		{"DNI with wrong letter", header + ok1 + "c-2,Pedro Gil,+34655000222,,12345678A,3333,Visa,debit,active\n", "line 3: national_id is not a valid DNI/NIE"},
		{"NIE with wrong letter", header + ok1 + "c-2,Pedro Gil,+34655000222,,X1234567T,3333,Visa,debit,active\n", "line 3: national_id is not a valid DNI/NIE"},
		{"national id with a dash", header + ok1 + "c-2,Pedro Gil,+34655000222,,12345678-Z,3333,Visa,debit,active\n", "line 3: national_id"},
		{"three digits", header + ok1 + "c-2,Pedro Gil,+34655000222,,,333,Visa,debit,active\n", "line 3: card_last4 must be exactly four digits"},
		{"letters in last four", header + ok1 + "c-2,Pedro Gil,+34655000222,,,33a3,Visa,debit,active\n", "line 3: card_last4 must be exactly four digits"},
		{"full card number in last four", header + ok1 + "c-2,Pedro Gil,+34655000222,,," + pan + ",Visa,debit,active\n", "line 3: card_last4 looks like a full card number"},
		{"card number with spaces", header + ok1 + "c-2,Pedro Gil,+34655000222,,,4111 1111 1111 1111,Visa,debit,active\n", "line 3: card_last4 looks like a full card number"},
		{"card number in the name", header + ok1 + "c-2,Pedro " + pan + ",+34655000222,,,3333,Visa,debit,active\n", "line 3: full_name looks like a full card number"},
		{"unknown brand", header + ok1 + "c-2,Pedro Gil,+34655000222,,,3333,Amex,debit,active\n", "line 3: card_brand must be Visa or Mastercard"},
		{"unknown kind", header + ok1 + "c-2,Pedro Gil,+34655000222,,,3333,Visa,prepaid,active\n", "line 3: card_kind"},
		{"unknown status", header + ok1 + "c-2,Pedro Gil,+34655000222,,,3333,Visa,debit,lost\n", "line 3: card_status"},
		{"bad email", header + ok1 + "c-2,Pedro Gil,+34655000222,pedro.example.com,,3333,Visa,debit,active\n", "line 3: email"},
		{"empty name", header + ok1 + "c-2,,+34655000222,,,3333,Visa,debit,active\n", "line 3: full_name"},
		{"customer repeated with other details", header + ok1 + "c-1,Núria Soler,+34655000111,,Y1234567X,2222,Visa,debit,active\n", "line 3: customer_ref repeated with different customer details than on line 2"},
		{"two customers, one phone", header + ok1 + "c-2,Pedro Gil,+34655000111,,,3333,Visa,debit,active\n", "line 3: phone_e164 already belongs to the customer on line 2"},
		{"two customers, one DNI", header + ok1 + "c-2,Pedro Gil,+34655000222,,Y1234567X,3333,Visa,debit,active\n", "line 3: national_id already belongs to the customer on line 2"},
		{"phone already in the database", header + ok1 + "c-2,Pedro Gil,+34600111222,,,3333,Visa,debit,active\n", "line 3: phone_e164 already belongs to a customer in the database"},
		{"DNI already in the database", header + ok1 + "c-2,Pedro Gil,+34655000222,,12345678Z,3333,Visa,debit,active\n", "line 3: national_id already belongs to a customer in the database"},
		{"ref already in the database", header + ok1 + "demo-1,Pedro Gil,+34655000222,,,3333,Visa,debit,active\n", "line 3: customer_ref already exists in the database"},
		{"bad row far down", header + ok1 + strings.Repeat("c-1,Núria Soler Vidal,+34655000111,,Y1234567X,1111,Visa,debit,active\n", 50) + "c-9,X,+1,,,1111,Visa,debit,active\n", "line 53: phone_e164"},
		{"quoted field over two lines", header + ok1 + "c-2,\"Pedro\nGil\",+34655000222,,,333,Visa,debit,active\n", "line 3: card_last4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := cli(t, url, "import", writeFile(t, tt.file))
			if !errors.Is(err, cardstore.ErrConflict) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an ErrConflict containing %q\n%s", err, tt.want, out)
			}
			if strings.Contains(err.Error(), pan) || strings.Contains(err.Error(), "4111 1111") || strings.Contains(err.Error(), "655000") {
				t.Errorf("the error repeats the file's data: %v", err)
			}
			if !strings.Contains(err.Error(), "nothing imported") {
				t.Errorf("the error does not say the file was rejected whole: %v", err)
			}
			// All or nothing: only the seeded demo bank is there.
			if n := countRows(t, pool, "customers"); n != 4 {
				t.Errorf("%d customers after a rejected import, want the demo's 4", n)
			}
			if n := countRows(t, pool, "cards"); n != 7 {
				t.Errorf("%d cards after a rejected import, want the demo's 7", n)
			}
		})
	}
}

func TestImportHundredThousandRows(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	url := pgtest.URL(t)
	path := filepath.Join(t.TempDir(), "big.csv")
	start := time.Now()
	if out, err := cli(t, url, "gen-bank", "-n", "100000", "-o", path); err != nil {
		t.Fatalf("gen-bank: %v\n%s", err, out)
	}
	t.Logf("generated 100,000 rows in %v", time.Since(start).Round(time.Millisecond))
	if _, err := cli(t, url, "migrate"); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	out, err := cli(t, url, "import", path)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	t.Logf("imported 100,000 customers and cards in %v (%s)", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
	_, pool := openStore(t, url)
	if n := countRows(t, pool, "cards"); n != 100000 {
		t.Errorf("%d cards, want 100000", n)
	}
	// The synthetic bank and the demo bank live side by side (benchmarks use both).
	if out, err := cli(t, url, "seed"); err != nil {
		t.Errorf("seed after a synthetic import: %v\n%s", err, out)
	}
}

func TestGenBankIsValid(t *testing.T) {
	var buf bytes.Buffer
	if err := writeSyntheticBank(&buf, 3000); err != nil {
		t.Fatal(err)
	}
	rows, err := readBankCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3000 {
		t.Fatalf("%d rows", len(rows))
	}
	if err := cardstore.ValidateImport(rows); err != nil {
		t.Fatalf("generated file is invalid: %v", err)
	}
	bank, err := cardstore.LoadDemoBank()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range bank.Customers {
		for _, r := range rows {
			if r.PhoneE164 == c.PhoneE164 || (c.NationalID != "" && r.NationalID == c.NationalID) {
				t.Fatalf("generated row on line %d clashes with the demo bank", r.Line)
			}
		}
	}
}

func TestMigrateSeedAndOutbox(t *testing.T) {
	url := pgtest.URL(t)
	for _, args := range [][]string{{"migrate"}, {"migrate"}, {"seed"}, {"seed"}} {
		if out, err := cli(t, url, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	store, pool := openStore(t, url)
	if n := countRows(t, pool, "customers"); n != 4 {
		t.Errorf("%d customers after seeding twice, want 4", n)
	}
	ctx := t.Context()
	now := time.Now()
	e, err := store.EnqueueTicket(ctx, cardstore.TicketRequest{Kind: cardstore.TicketHandoff, IdempotencyKey: "handoff:CA-1", ConversationKey: "CA-1", Channel: "phone", RequestedAt: now}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.MarkDead(ctx, e.ID, "freshdesk: 400 invalid requester", now); err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(e.ID, 10)

	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr error
	}{
		{"list dead", []string{"outbox", "list", "-state", "dead"}, "freshdesk: 400 invalid requester", nil},
		{"stats", []string{"outbox", "stats"}, "dead 1", nil},
		{"retry", []string{"outbox", "retry", id}, "is pending again", nil},
		{"list pending", []string{"outbox", "list", "-state", "pending"}, "handoff", nil},
		{"retry a row that is not dead", []string{"outbox", "retry", id}, "", cardstore.ErrConflict},
		{"retry unknown row", []string{"outbox", "retry", "987654"}, "", cardstore.ErrNotFound},
		{"retry without id", []string{"outbox", "retry"}, "", errUsage},
		{"unknown state", []string{"outbox", "list", "-state", "lost"}, "", cardstore.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := cli(t, url, tt.args...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(out, tt.want) {
				t.Errorf("got %q, %v; want %q", out, err, tt.want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
	}{
		{"no command", nil, "postgres://x@127.0.0.1/x"},
		{"unknown command", []string{"explode"}, "postgres://x@127.0.0.1/x"},
		{"no database", []string{"migrate"}, ""},
		{"bad database URL", []string{"migrate"}, "postgres://user:s3cret@[::1"},
		{"gen-bank too many", []string{"gen-bank", "-n", "2000000"}, ""},
		{"import without file", []string{"import"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, func(string) string { return tt.env }, &out, &out)
			if !errors.Is(err, errUsage) {
				t.Errorf("got %v, want a usage error", err)
			}
			if strings.Contains(err.Error()+out.String(), "s3cret") {
				t.Errorf("the password leaked: %v %s", err, out.String())
			}
		})
	}
}
