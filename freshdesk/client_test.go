package freshdesk

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/freshdesk/freshdesktest"
)

const testKey = "fdKey0Sup3rS3cr3t+Abc/123" // '+' and '/' so escaped forms differ

func testExternalIDKey() []byte { return []byte("0123456789abcdef-hmac-test-key") }

// keyForms are the shapes in which a key could leak.
func keyForms() []string {
	return []string{
		testKey,
		url.QueryEscape(testKey),
		url.PathEscape(testKey),
		base64.StdEncoding.EncodeToString([]byte(testKey + ":X")),
	}
}

func assertNoKey(t *testing.T, where, s string) {
	t.Helper()
	for _, k := range keyForms() {
		if strings.Contains(s, k) {
			t.Errorf("%s leaks the API key (%q): %s", where, k, s)
		}
	}
}

// syncBuffer collects log output written from the client's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testEnv struct {
	client *Client
	reg    *prometheus.Registry
	logs   *syncBuffer
}

func newTestClient(t *testing.T, baseURL string, edit ...func(*Config)) testEnv {
	t.Helper()
	logs := &syncBuffer{}
	cfg := Config{
		BaseURL:        baseURL,
		APIKey:         testKey,
		Timeout:        2 * time.Second,
		ReferenceField: "cf_block_reference",
		ExternalIDKey:  testExternalIDKey(),
		Logger:         zerolog.New(logs).Level(zerolog.TraceLevel),
	}
	for _, e := range edit {
		e(&cfg)
	}
	reg := prometheus.NewRegistry()
	c, err := New(cfg, NewMetrics(reg))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return testEnv{client: c, reg: reg, logs: logs}
}

// closedURL is a base URL where nothing listens: connection refused.
func closedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

func stolenCardRequest() cardstore.TicketRequest {
	return cardstore.TicketRequest{
		Kind:            cardstore.TicketBlock,
		IdempotencyKey:  "block:CA0123456789abcdef:card-1",
		ConversationKey: "CA0123456789abcdef",
		CustomerID:      1,
		CustomerName:    "Lucía Martín Gómez",
		Email:           "lucia.martin@example.com",
		Phone:           "+34600111222",
		CardLast4:       "4567",
		CardKind:        cardstore.KindDebit,
		CardBrand:       "Visa",
		BlockReference:  "BLK-7F3K9Q",
		Reason:          cardstore.ReasonStolen,
		BlockType:       cardstore.BlockPermanent,
		Channel:         "phone",
		CallID:          "CA0123456789abcdef",
		RequestedAt:     time.Date(2026, 12, 3, 13, 5, 0, 0, time.UTC),
	}
}

func validTicket(c *Client) Ticket {
	return BuildTicket(stolenCardRequest(), c.BuildOptions())
}

func TestNewValidatesConfig(t *testing.T) {
	base := func() Config {
		return Config{BaseURL: "https://sctbnk.freshdesk.com", APIKey: testKey, ExternalIDKey: testExternalIDKey()}
	}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"valid with trailing slash and reference field", func(c *Config) {
			c.BaseURL += "/"
			c.ReferenceField = "cf_block_reference"
		}, ""},
		{"missing key", func(c *Config) { c.APIKey = "" }, "APIKey is required"},
		{"key with a colon", func(c *Config) { c.APIKey = "abc:def" }, "colon"},
		{"missing base URL", func(c *Config) { c.BaseURL = "" }, "BaseURL is required"},
		{"not http", func(c *Config) { c.BaseURL = "ftp://sctbnk.freshdesk.com" }, "https URL"},
		{"no host", func(c *Config) { c.BaseURL = "https://" }, "no host"},
		{"credentials in the URL", func(c *Config) {
			c.BaseURL = "https://" + url.PathEscape(testKey) + ":X@sctbnk.freshdesk.com"
		}, "must not contain credentials"},
		{"unparseable URL holding the key", func(c *Config) { c.BaseURL = "https://sctbnk.freshdesk.com/%zz" + testKey }, "not a valid URL"},
		{"query in the URL", func(c *Config) { c.BaseURL += "?x=1" }, "query"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "negative"},
		{"short HMAC key", func(c *Config) { c.ExternalIDKey = []byte("short") }, "at least 16 bytes"},
		{"reference field that is not a custom field", func(c *Config) { c.ReferenceField = "reference" }, `"cf_"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.edit(&cfg)
			_, err := New(cfg, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want it to mention %q", err, tt.wantErr)
			}
			assertNoKey(t, "New error", err.Error())
		})
	}
}

func TestNewDoesNotModifyTheCallersHTTPClient(t *testing.T) {
	hc := &http.Client{}
	_, err := New(Config{BaseURL: "https://sctbnk.freshdesk.com", APIKey: testKey, ExternalIDKey: testExternalIDKey(), HTTPClient: hc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hc.Transport != nil || hc.CheckRedirect != nil {
		t.Fatal("New modified the caller's http.Client")
	}
}

func TestConfigStringMasksSecrets(t *testing.T) {
	cfg := Config{BaseURL: "https://sctbnk.freshdesk.com", APIKey: testKey, ExternalIDKey: testExternalIDKey()}
	for _, s := range []string{cfg.String(), fmtV(cfg)} {
		assertNoKey(t, "Config.String", s)
		if strings.Contains(s, string(testExternalIDKey())) {
			t.Errorf("Config.String leaks the HMAC key: %s", s)
		}
	}
}

func TestCreateTicket(t *testing.T) {
	fake := newFakeFreshdesk(t, testKey)
	env := newTestClient(t, fake.URL)
	ticket := validTicket(env.client)

	got, err := env.client.CreateTicket(context.Background(), ticket)
	if err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	if got.ID != 1001 || got.Location != fake.URL+"/api/v2/tickets/1001" {
		t.Errorf("Created = %+v, want id 1001 and its Location", got)
	}
	wantRL := RateLimit{Total: 400, Remaining: 399, UsedCurrentRequest: 1, Known: true}
	if got.RateLimit != wantRL {
		t.Errorf("RateLimit = %+v, want %+v", got.RateLimit, wantRL)
	}

	req := fake.LastRequest()
	if n := fake.Count(http.MethodPost, "/api/v2/tickets"); n != 1 {
		t.Errorf("POSTs = %d, want 1", n)
	}
	want, _ := encodeJSON(ticket)
	if !bytes.Equal(req.Body, want) {
		t.Errorf("body sent:\n%s\nwant exactly:\n%s", req.Body, want)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if a := req.Header.Get("Authorization"); a != "Basic "+base64.StdEncoding.EncodeToString([]byte(testKey+":X")) {
		t.Errorf("Authorization is not Basic key:X")
	}
	if len(fake.InvalidBodies()) != 0 {
		t.Errorf("fake saw bodies that were not one JSON object: %q", fake.InvalidBodies())
	}
	stored := fake.Tickets()[0]
	if stored.Source != SourcePhone || stored.Priority != PriorityUrgent || stored.CustomFields["cf_block_reference"] != "BLK-7F3K9Q" {
		t.Errorf("stored ticket = %+v", stored)
	}
	if v := gaugeValue(t, env.reg, "freshdesk_rate_limit_remaining"); v != 399 {
		t.Errorf("freshdesk_rate_limit_remaining = %v, want 399", v)
	}
}

// TestCreateTicketFailures is the heart of failure log #1–#6 and #9: each
// outcome is classified exactly once and no call ever sends a second POST.
func TestCreateTicketFailures(t *testing.T) {
	phoneOnly := func(c *Client) Ticket {
		tk := validTicket(c)
		tk.Email, tk.Name, tk.Phone = "", "", "+34699000111"
		return tk
	}
	tests := []struct {
		name       string
		mode       string
		edit       func(*Config)
		baseURL    func(f *freshdesktest.Server, t *testing.T) string
		ctx        func() (context.Context, context.CancelFunc)
		ticket     func(*Client) Ticket
		wantReason Reason
		wantStatus int
		wantCode   string
		wantMsg    string
		wantField  string
		wantRetry  time.Duration
		wantSent   bool
		wantPOSTs  int
		wantStored int // tickets that exist in Freshdesk afterwards
		wantIs     error
	}{
		{name: "401 wrong key", edit: func(c *Config) { c.APIKey = "rotated-key-0000" },
			wantReason: ReasonAuth, wantStatus: 401, wantCode: "invalid_credentials", wantSent: true, wantPOSTs: 1},
		{name: "403 flat body", mode: freshdesktest.ModeForbidden,
			wantReason: ReasonAuth, wantStatus: 403, wantCode: "access_denied",
			wantMsg: "You are not authorized to perform this action.", wantSent: true, wantPOSTs: 1},
		{name: "429 with Retry-After", mode: freshdesktest.ModeRateLimited,
			wantReason: ReasonRateLimited, wantStatus: 429, wantRetry: 34 * time.Second, wantSent: true, wantPOSTs: 1},
		{name: "400 unknown custom field", edit: func(c *Config) { c.ReferenceField = "cf_not_in_portal" },
			wantReason: ReasonClient, wantStatus: 400, wantCode: "invalid_field", wantMsg: "Validation failed",
			wantField: "cf_not_in_portal", wantSent: true, wantPOSTs: 1},
		{name: "400 phone without name", ticket: phoneOnly,
			wantReason: ReasonClient, wantStatus: 400, wantCode: "missing_field", wantField: "name", wantSent: true, wantPOSTs: 1},
		{name: "500 after the ticket was created", mode: freshdesktest.ModeFail500,
			wantReason: ReasonServer, wantStatus: 500, wantCode: "internal_error", wantSent: true, wantPOSTs: 1, wantStored: 1},
		{name: "502 HTML from a proxy", mode: freshdesktest.ModeProxy502,
			wantReason: ReasonServer, wantStatus: 502, wantSent: true, wantPOSTs: 1},
		{name: "deadline after the ticket was created", mode: freshdesktest.ModeSlow,
			edit:       func(c *Config) { c.Timeout = 300 * time.Millisecond },
			wantReason: ReasonTimeout, wantSent: true, wantPOSTs: 1, wantStored: 1, wantIs: context.DeadlineExceeded},
		{name: "connection dropped after the ticket was created", mode: freshdesktest.ModeReset,
			wantReason: ReasonTimeout, wantSent: true, wantPOSTs: 1, wantStored: 1},
		{name: "connection refused",
			baseURL:    func(_ *freshdesktest.Server, t *testing.T) string { return closedURL(t) },
			wantReason: ReasonNetwork},
		{name: "context expired before sending",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			},
			wantReason: ReasonNetwork, wantIs: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeFreshdesk(t, testKey)
			fake.SetMode(tt.mode)
			base := fake.URL
			if tt.baseURL != nil {
				base = tt.baseURL(fake, t)
			}
			edits := []func(*Config){}
			if tt.edit != nil {
				edits = append(edits, tt.edit)
			}
			env := newTestClient(t, base, edits...)
			ticket := validTicket(env.client)
			if tt.ticket != nil {
				ticket = tt.ticket(env.client)
			}
			ctx, cancel := context.WithCancel(context.Background())
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()

			_, err := env.client.CreateTicket(ctx, ticket)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("CreateTicket error = %v (%T), want *APIError", err, err)
			}
			if apiErr.Reason != tt.wantReason || apiErr.Status != tt.wantStatus || apiErr.Sent != tt.wantSent {
				t.Errorf("reason/status/sent = %s/%d/%v, want %s/%d/%v",
					apiErr.Reason, apiErr.Status, apiErr.Sent, tt.wantReason, tt.wantStatus, tt.wantSent)
			}
			if apiErr.Code != tt.wantCode {
				t.Errorf("Code = %q, want %q", apiErr.Code, tt.wantCode)
			}
			if tt.wantMsg != "" && apiErr.Message != tt.wantMsg {
				t.Errorf("Message = %q, want %q", apiErr.Message, tt.wantMsg)
			}
			if tt.wantField != "" && (len(apiErr.Fields) != 1 || apiErr.Fields[0].Field != tt.wantField) {
				t.Errorf("Fields = %+v, want one on %q", apiErr.Fields, tt.wantField)
			}
			if apiErr.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %s, want %s", apiErr.RetryAfter, tt.wantRetry)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(err, %v) = false", tt.wantIs)
			}
			if tt.wantStatus != 0 && !apiErr.RateLimit.Known {
				t.Errorf("RateLimit not surfaced on an error response")
			}
			checkExactlyOneClass(t, apiErr)
			if n := fake.Count(http.MethodPost, "/api/v2/tickets"); n != tt.wantPOSTs {
				t.Errorf("POSTs = %d, want %d (no hidden retries)", n, tt.wantPOSTs)
			}
			if n := len(fake.Tickets()); n != tt.wantStored {
				t.Errorf("tickets in Freshdesk = %d, want %d", n, tt.wantStored)
			}
			if len(fake.InvalidBodies()) != 0 {
				t.Errorf("bodies that were not one JSON object: %q", fake.InvalidBodies())
			}
			assertNoKey(t, "error", err.Error())
			assertNoKey(t, "logs", env.logs.String())
		})
	}
}

func checkExactlyOneClass(t *testing.T, e *APIError) {
	t.Helper()
	n := 0
	for _, b := range []bool{e.Retryable(), e.Uncertain(), e.Permanent()} {
		if b {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s: Retryable/Uncertain/Permanent = %v/%v/%v, want exactly one",
			e.Reason, e.Retryable(), e.Uncertain(), e.Permanent())
	}
}

func TestStatusClassification(t *testing.T) {
	tests := []struct {
		status int
		want   Reason
		class  string
	}{
		{302, ReasonClient, "permanent"},
		{400, ReasonClient, "permanent"},
		{401, ReasonAuth, "permanent"},
		{403, ReasonAuth, "permanent"},
		{404, ReasonClient, "permanent"},
		{405, ReasonClient, "permanent"},
		{406, ReasonClient, "permanent"},
		{409, ReasonClient, "permanent"},
		{415, ReasonClient, "permanent"},
		{429, ReasonRateLimited, "retryable"},
		{500, ReasonServer, "uncertain"},
		{502, ReasonServer, "uncertain"},
		{503, ReasonServer, "uncertain"},
		{504, ReasonServer, "uncertain"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "/elsewhere") // a 302 must not be followed
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			env := newTestClient(t, srv.URL)
			_, err := env.client.CreateTicket(context.Background(), validTicket(env.client))
			var e *APIError
			if !errors.As(err, &e) {
				t.Fatalf("err = %v", err)
			}
			if e.Reason != tt.want || e.Status != tt.status {
				t.Fatalf("reason %s status %d, want %s %d", e.Reason, e.Status, tt.want, tt.status)
			}
			var got string
			switch {
			case e.Retryable():
				got = "retryable"
			case e.Uncertain():
				got = "uncertain"
			case e.Permanent():
				got = "permanent"
			}
			if got != tt.class {
				t.Errorf("class = %q, want %q", got, tt.class)
			}
			checkExactlyOneClass(t, e)
		})
	}
	for _, r := range allReasons() {
		checkExactlyOneClass(t, &APIError{Reason: r})
	}
}

func TestErrorBodyShapes(t *testing.T) {
	redact := func(s string) string { return s }
	tests := []struct {
		name       string
		body       string
		wantCode   string
		wantMsg    string
		wantFields []FieldError
	}{
		{"validation", `{"description":"Validation failed","errors":[{"field":"priorty","message":"Unexpected/invalid field in request","code":"invalid_field"}]}`,
			"invalid_field", "Validation failed", []FieldError{{"priorty", "Unexpected/invalid field in request", "invalid_field"}}},
		{"validation with two fields", `{"description":"Validation failed","errors":[{"field":"name","message":"Mandatory attribute missing","code":"missing_field"},{"field":"status","message":"x","code":"invalid_value"}]}`,
			"", "Validation failed", []FieldError{{"name", "Mandatory attribute missing", "missing_field"}, {"status", "x", "invalid_value"}}},
		{"flat", `{"code":"access_denied","message":"You are not authorized to perform this action."}`,
			"access_denied", "You are not authorized to perform this action.", nil},
		{"html", `<html>502</html>`, "", "", nil},
		{"empty", ``, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e APIError
			e.decodeErrorBody([]byte(tt.body), redact)
			if e.Code != tt.wantCode || e.Message != tt.wantMsg || len(e.Fields) != len(tt.wantFields) {
				t.Fatalf("got code %q msg %q fields %+v", e.Code, e.Message, e.Fields)
			}
			for i := range tt.wantFields {
				if e.Fields[i] != tt.wantFields[i] {
					t.Errorf("field %d = %+v, want %+v", i, e.Fields[i], tt.wantFields[i])
				}
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 13, 5, 0, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Duration
	}{
		{"seconds", "34", 34 * time.Second},
		{"padded", " 34 ", 34 * time.Second},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"absent", "", 0},
		{"negative", "-5", 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.in, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestReconcileAfterUncertainCreate walks failure log #1: the ticket is
// created but the answer never arrives; the list endpoint finds it, so no
// second POST is needed.
func TestReconcileAfterUncertainCreate(t *testing.T) {
	fake := newFakeFreshdesk(t, testKey)
	env := newTestClient(t, fake.URL, func(c *Config) { c.Timeout = 300 * time.Millisecond })
	req := stolenCardRequest()
	req.Email = "" // phone-only requester: found through unique_external_id
	ticket := BuildTicket(req, env.client.BuildOptions())

	fake.SetMode(freshdesktest.ModeSlow)
	firstAttempt := time.Now()
	_, err := env.client.CreateTicket(context.Background(), ticket)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !apiErr.Uncertain() {
		t.Fatalf("CreateTicket = %v, want an uncertain error", err)
	}
	fake.SetMode(freshdesktest.ModeNormal)

	fake.Seed(freshdesktest.Ticket{ExtID: ticket.UniqueExternalID, Subject: "otra incidencia", CreatedAt: fake.Now().Add(-time.Hour)})
	var found []TicketSummary
	for _, q := range ticket.ReconcileQueries(firstAttempt.Add(-5 * time.Minute)) {
		list, err := env.client.ListTickets(context.Background(), q)
		if err != nil {
			t.Fatalf("ListTickets: %v", err)
		}
		for _, s := range list {
			if s.Matches(ticket) {
				found = append(found, s)
			}
		}
	}
	if len(found) != 1 || found[0].ID != fake.Tickets()[0].ID {
		t.Fatalf("reconciliation found %+v, want the one ticket the stalled POST created", found)
	}
	if n := fake.Count(http.MethodPost, "/api/v2/tickets"); n != 1 {
		t.Errorf("POSTs = %d, want 1", n)
	}
}

func TestListTickets(t *testing.T) {
	fake := newFakeFreshdesk(t, testKey)
	env := newTestClient(t, fake.URL)
	now := fake.Now()
	fake.Seed(freshdesktest.Ticket{ExtID: "sctbnk-customer-1", Subject: "old", CreatedAt: now.AddDate(0, 0, -40)})
	fake.Seed(freshdesktest.Ticket{ExtID: "sctbnk-customer-1", Subject: "recent", CreatedAt: now.AddDate(0, 0, -2),
		Tags: []string{"voicebot", "BLK-7F3K9Q"}, CustomFields: map[string]string{"cf_block_reference": "BLK-7F3K9Q"}})
	fake.Seed(freshdesktest.Ticket{ExtID: "sctbnk-customer-2", Subject: "someone else", CreatedAt: now.AddDate(0, 0, -1)})
	fake.Seed(freshdesktest.Ticket{Email: "lucia.martin@example.com", Subject: "by email", CreatedAt: now.AddDate(0, 0, -1)})

	tests := []struct {
		name  string
		query ListQuery
		want  []string
	}{
		{"older than the default 30 days", ListQuery{UniqueExternalID: "sctbnk-customer-1", UpdatedSince: now.AddDate(0, 0, -60)}, []string{"recent", "old"}},
		{"narrowed by updated_since", ListQuery{UniqueExternalID: "sctbnk-customer-1", UpdatedSince: now.AddDate(0, 0, -10)}, []string{"recent"}},
		{"by email", ListQuery{Email: "lucia.martin@example.com", UpdatedSince: now.AddDate(0, 0, -10)}, []string{"by email"}},
		{"by requester id", ListQuery{RequesterID: 77001003, UpdatedSince: now.AddDate(0, 0, -10)}, []string{"someone else"}},
		{"nothing", ListQuery{UniqueExternalID: "sctbnk-customer-9", UpdatedSince: now.AddDate(0, 0, -10)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := env.client.ListTickets(context.Background(), tt.query)
			if err != nil {
				t.Fatalf("ListTickets: %v", err)
			}
			var subjects []string
			for _, s := range got {
				subjects = append(subjects, s.Subject)
			}
			if strings.Join(subjects, ",") != strings.Join(tt.want, ",") {
				t.Errorf("subjects = %q, want %q", subjects, tt.want)
			}
			q := fake.LastRequest().Query
			if q.Get("updated_since") == "" || q.Get("order_by") != "created_at" || q.Get("per_page") != "100" {
				t.Errorf("query = %v: want updated_since, order_by=created_at, per_page=100", q)
			}
		})
	}

	got, _ := env.client.ListTickets(context.Background(), ListQuery{UniqueExternalID: "sctbnk-customer-1", UpdatedSince: now.AddDate(0, 0, -10)})
	s := got[0]
	if s.ID != 1002 || !s.HasTag("blk-7f3k9q") || !s.HasReference("BLK-7F3K9Q") || s.CreatedAt.IsZero() {
		t.Errorf("summary = %+v", s)
	}
	if s.CustomFields["cf_block_reference"] != "BLK-7F3K9Q" {
		t.Errorf("custom_fields = %v", s.CustomFields)
	}
}

func TestListTicketsPaging(t *testing.T) {
	tests := []struct {
		name          string
		tickets       int
		perPage       int
		maxPages      int
		wantN         int
		wantRequests  int
		wantTruncated bool
	}{
		{"one partial page", 42, 0, 0, 42, 1, false},
		{"all pages within the limit", 250, 100, 3, 250, 3, false},
		{"truncated at the limit", 250, 100, 2, 200, 2, true},
		{"default limit of three pages", 250, 50, 0, 150, 3, true},
		{"limit capped at ten pages", 250, 10, 50, 100, 10, true},
		{"per_page capped at 100", 150, 500, 1, 100, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeFreshdesk(t, testKey)
			env := newTestClient(t, fake.URL)
			for i := range tt.tickets {
				fake.Seed(freshdesktest.Ticket{ExtID: "sctbnk-caller-abc", CreatedAt: fake.Now().Add(-time.Duration(i) * time.Minute)})
			}
			got, err := env.client.ListTickets(context.Background(), ListQuery{
				UniqueExternalID: "sctbnk-caller-abc", UpdatedSince: fake.Now().AddDate(0, -1, 0),
				PerPage: tt.perPage, MaxPages: tt.maxPages,
			})
			if tt.wantTruncated != errors.Is(err, ErrListTruncated) || (!tt.wantTruncated && err != nil) {
				t.Fatalf("err = %v, want truncated=%v", err, tt.wantTruncated)
			}
			if len(got) != tt.wantN {
				t.Errorf("got %d tickets, want %d", len(got), tt.wantN)
			}
			if n := fake.Count(http.MethodGet, "/api/v2/tickets"); n != tt.wantRequests {
				t.Errorf("requests = %d, want %d", n, tt.wantRequests)
			}
			for _, r := range fake.Requests() {
				if r.Query.Get("updated_since") == "" {
					t.Errorf("a list request without updated_since: %v", r.Query)
				}
			}
		})
	}
}

func TestListTicketsRejectsBadQueries(t *testing.T) {
	fake := newFakeFreshdesk(t, testKey)
	env := newTestClient(t, fake.URL)
	since := time.Now().Add(-time.Hour)
	tests := []struct {
		name  string
		query ListQuery
	}{
		{"no requester", ListQuery{UpdatedSince: since}},
		{"two requesters", ListQuery{Email: "a@example.com", UniqueExternalID: "x", UpdatedSince: since}},
		{"no updated_since", ListQuery{UniqueExternalID: "sctbnk-customer-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.client.ListTickets(context.Background(), tt.query)
			var e *APIError
			if !errors.As(err, &e) || e.Reason != ReasonClient || e.Sent || !e.Permanent() {
				t.Fatalf("err = %v, want a permanent client error, not sent", err)
			}
		})
	}
	if len(fake.Requests()) != 0 {
		t.Errorf("invalid queries reached Freshdesk: %d requests", len(fake.Requests()))
	}
}

func TestAddNote(t *testing.T) {
	fake := newFakeFreshdesk(t, testKey)
	env := newTestClient(t, fake.URL)
	fake.Seed(freshdesktest.Ticket{ExtID: "sctbnk-customer-1", CreatedAt: fake.Now()})
	followUp := stolenCardRequest()
	followUp.Kind = cardstore.TicketFollowUp

	tests := []struct {
		name        string
		ticketID    int64
		note        Note
		wantPrivate bool
		wantReason  Reason
		wantStatus  int
	}{
		{name: "private by default", ticketID: 1001, note: BuildNote(followUp), wantPrivate: true},
		{name: "public only when asked", ticketID: 1001, note: Note{Body: "<p>Hola</p>", Public: true}},
		{name: "unknown ticket", ticketID: 999, note: Note{Body: "x"}, wantReason: ReasonClient, wantStatus: 404},
		{name: "empty body", ticketID: 1001, note: Note{}, wantReason: ReasonClient, wantStatus: 400},
		{name: "invalid id, not sent", ticketID: 0, note: Note{Body: "x"}, wantReason: ReasonClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.Notes())
			id, err := env.client.AddNote(context.Background(), tt.ticketID, tt.note)
			if tt.wantReason != "" {
				var e *APIError
				if !errors.As(err, &e) || e.Reason != tt.wantReason || e.Status != tt.wantStatus || !e.Permanent() {
					t.Fatalf("err = %v, want %s %d", err, tt.wantReason, tt.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatalf("AddNote: %v", err)
			}
			notes := fake.Notes()
			if len(notes) != before+1 {
				t.Fatalf("notes = %d, want %d", len(notes), before+1)
			}
			n := notes[len(notes)-1]
			if id != n.ID || n.TicketID != tt.ticketID || n.Private != tt.wantPrivate || n.Body != tt.note.Body {
				t.Errorf("note = %+v (id %d), want private=%v", n, id, tt.wantPrivate)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	fake := newFakeFreshdesk(t, testKey)
	env := newTestClient(t, fake.URL, func(c *Config) { c.Timeout = 300 * time.Millisecond })
	ctx := context.Background()
	ticket := validTicket(env.client)

	_, _ = env.client.CreateTicket(ctx, ticket)
	fake.SetMode(freshdesktest.ModeRateLimited)
	_, _ = env.client.CreateTicket(ctx, ticket)
	fake.SetMode(freshdesktest.ModeSlow)
	_, _ = env.client.CreateTicket(ctx, ticket)
	fake.SetMode(freshdesktest.ModeNormal)
	_, _ = env.client.ListTickets(ctx, ListQuery{UniqueExternalID: ticket.UniqueExternalID, UpdatedSince: fake.Now().Add(-time.Hour)})
	_, _ = env.client.AddNote(ctx, 1001, Note{Body: "x"})
	down := newTestClient(t, closedURL(t))
	_, _ = down.client.CreateTicket(ctx, ticket)

	wantCounters := []struct {
		metric string
		labels map[string]string
		want   float64
	}{
		{"freshdesk_api_requests_total", map[string]string{"operation": "create_ticket", "code": "201"}, 1},
		{"freshdesk_api_requests_total", map[string]string{"operation": "create_ticket", "code": "429"}, 1},
		{"freshdesk_api_requests_total", map[string]string{"operation": "create_ticket", "code": "timeout"}, 1},
		{"freshdesk_api_requests_total", map[string]string{"operation": "list_tickets", "code": "200"}, 1},
		{"freshdesk_api_requests_total", map[string]string{"operation": "add_note", "code": "201"}, 1},
		{"freshdesk_api_failures_total", map[string]string{"reason": "rate_limited"}, 1},
		{"freshdesk_api_failures_total", map[string]string{"reason": "timeout"}, 1},
		{"freshdesk_api_failures_total", map[string]string{"reason": "server"}, 0},
	}
	for _, w := range wantCounters {
		if got := metricValue(t, env.reg, w.metric, w.labels); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.metric, w.labels, got, w.want)
		}
	}
	if got := metricValue(t, down.reg, "freshdesk_api_requests_total", map[string]string{"operation": "create_ticket", "code": "network"}); got != 1 {
		t.Errorf("network requests = %v, want 1", got)
	}
	if got := metricValue(t, down.reg, "freshdesk_api_failures_total", map[string]string{"reason": "network"}); got != 1 {
		t.Errorf("network failures = %v, want 1", got)
	}
	if got := histogramCount(t, env.reg, "freshdesk_api_request_duration_seconds", "create_ticket"); got != 3 {
		t.Errorf("create_ticket durations observed = %d, want 3", got)
	}

	// No label value may carry an identifier or a secret.
	families, _ := env.reg.Gather()
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				v := lp.GetValue()
				assertNoKey(t, "metric label", v)
				if strings.Contains(v, "sctbnk-") || strings.Contains(v, "+34") || strings.Contains(v, "BLK-") || strings.Contains(v, "1001") {
					t.Errorf("metric %s has an identifying label %s=%q", mf.GetName(), lp.GetName(), v)
				}
			}
		}
	}
}

// TestAPIKeyNeverLeaks puts the key where transport errors and a careless
// server would echo it, and checks errors, logs and metrics.
func TestAPIKeyNeverLeaks(t *testing.T) {
	fake := newFakeFreshdesk(t, testKey)
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a client hang-up only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(stall.Close)
	escaped := url.PathEscape(testKey)
	tests := []struct {
		name    string
		baseURL func() string
		mode    string
	}{
		{"key in the URL path of a refused connection", func() string { return closedURL(t) + "/" + escaped }, ""},
		{"key in the URL path of a timed-out request", func() string { return stall.URL + "/" + escaped }, ""},
		{"server echoes the credentials", func() string { return fake.URL }, freshdesktest.ModeEcho},
		{"key in the path of a 404", func() string { return fake.URL + "/" + escaped }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.SetMode(tt.mode)
			defer fake.SetMode(freshdesktest.ModeNormal)
			env := newTestClient(t, tt.baseURL(), func(c *Config) { c.Timeout = 200 * time.Millisecond })
			ctx := context.Background()
			var errs []error
			_, err := env.client.CreateTicket(ctx, validTicket(env.client))
			errs = append(errs, err)
			_, err = env.client.ListTickets(ctx, ListQuery{Email: "lucia.martin@example.com", UpdatedSince: time.Now().Add(-time.Hour)})
			errs = append(errs, err)
			_, err = env.client.AddNote(ctx, 1001, Note{Body: "x"})
			errs = append(errs, err)
			for _, err := range errs {
				if err == nil {
					t.Fatal("expected an error")
				}
				assertNoKey(t, "err.Error()", err.Error())
				for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
					assertNoKey(t, "wrapped error", u.Error())
				}
				var e *APIError
				if errors.As(err, &e) {
					assertNoKey(t, "APIError fields", e.Code+e.Message+fmtV(e.Fields))
				}
			}
			assertNoKey(t, "logs", env.logs.String())
			families, _ := env.reg.Gather()
			assertNoKey(t, "metrics", fmtV(families))
		})
	}
}

// TestRedactorCoversTheLeakPaths checks the leak tests above are not vacuous:
// the unredacted messages would have contained the key.
func TestRedactorCoversTheLeakPaths(t *testing.T) {
	r := newRedactor(testKey)
	for _, k := range keyForms() {
		in := "Post \"http://127.0.0.1:1/" + k + "/api/v2/tickets\": dial tcp: connection refused"
		if out := r.Replace(in); strings.Contains(out, k) || !strings.Contains(out, redacted) {
			t.Errorf("redact(%q) = %q", in, out)
		}
	}
}

func fmtV(v any) string { return fmt.Sprintf("%+v", v) }

func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	for _, m := range findMetrics(t, reg, name) {
		if labelsMatch(m, labels) {
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	ms := findMetrics(t, reg, name)
	if len(ms) != 1 {
		t.Fatalf("%s: %d series", name, len(ms))
	}
	return ms[0].GetGauge().GetValue()
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name, op string) uint64 {
	t.Helper()
	for _, m := range findMetrics(t, reg, name) {
		if labelsMatch(m, map[string]string{"operation": op}) {
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func findMetrics(t *testing.T, reg *prometheus.Registry, name string) []*dto.Metric {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range families {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, lp := range m.GetLabel() {
		got[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return len(got) == len(want)
}
