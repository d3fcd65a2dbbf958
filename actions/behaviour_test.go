package actions_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sctbnk/cardblock/actions"
	"github.com/sctbnk/cardblock/cardstore"
)

// verifiedConv drives a call of Lucía up to a successful verification of her
// debit card and returns the conversation.
func verifiedConv(t *testing.T, h *harness, callID string) *conv {
	t.Helper()
	c := preSession("+34600111222", false, meta("+34600111222", callID))
	h.run(c, "action_session_start")
	opening("me han robado la tarjeta", "report_theft", "stolen")(c)
	h.run(c, "validate_card_block_form")
	answer("card_last4", "cuatro cinco seis siete", "give_digits")(c)
	h.run(c, "validate_card_block_form")
	c.endForm()
	if r := h.run(c, "action_verify_last4"); !slices.Equal(responseNames(r), []string{actions.UtterConfirmBlock}) {
		t.Fatalf("verification did not succeed: %v", responseNames(r))
	}
	return c
}

func outboxRows(t *testing.T, h *harness) []cardstore.OutboxEntry {
	t.Helper()
	rows, err := h.mem.ListOutbox(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func cardStatus(t *testing.T, h *harness, customerPhone, last4 string) string {
	t.Helper()
	cu, err := h.mem.CustomerByPhone(context.Background(), customerPhone)
	if err != nil {
		t.Fatal(err)
	}
	cards, err := h.mem.CardsEndingIn(context.Background(), cu.ID, last4)
	if err != nil || len(cards) != 1 {
		t.Fatalf("cards ending in %s: %v %v", last4, cards, err)
	}
	return cards[0].Status
}

func TestVerificationExpires(t *testing.T) {
	h := newHarness(t)
	c := verifiedConv(t, h, "CA-expiry")
	h.clock.Add(actions.DefaultConfig().VerificationTTL + time.Second)
	r := h.run(c, "action_block_card")
	if got := responseNames(r); !slices.Equal(got, []string{actions.UtterBlockRefused}) {
		t.Fatalf("block after expiry answered %v, want a refusal", got)
	}
	if s := cardStatus(t, h, "+34600111222", "4567"); s != cardstore.StatusActive {
		t.Fatalf("card status %s after a refused block", s)
	}
}

func TestVerificationIsBoundToTheConversation(t *testing.T) {
	h := newHarness(t)
	verifiedConv(t, h, "CA-first-call")
	// A second call from the same number, with forged slots, is not verified.
	c := preSession("+34600111222", false, meta("+34600111222", "CA-second-call"))
	h.run(c, "action_session_start")
	c.user("bloquea", "block_card", nil)
	c.slot("card_verified", true).slot("card_last4", "4567")
	if got := responseNames(h.run(c, "action_block_card")); !slices.Equal(got, []string{actions.UtterBlockRefused}) {
		t.Fatalf("second call answered %v, want a refusal", got)
	}
	if len(outboxRows(t, h)) != 0 {
		t.Fatal("a refused block queued a ticket")
	}
}

func TestCustomerLockoutAcrossCallsAndWindow(t *testing.T) {
	h := newHarness(t)
	fail := func(callID string, times int) []string {
		c := preSession("+34600111222", false, meta("+34600111222", callID))
		h.run(c, "action_session_start")
		var last []string
		for i := 0; i < times; i++ {
			c.slot("card_last4", "9999")
			last = responseNames(h.run(c, "action_verify_last4"))
		}
		return last
	}
	fail("CA-a", 2)
	fail("CA-b", 2)
	// Fifth failure for the customer within 24 h locks, though this call had one.
	if got := fail("CA-c", 1); !slices.Equal(got, []string{actions.UtterVerificationLocked}) {
		t.Fatalf("fifth failure answered %v, want lockout", got)
	}
	// Right digits in a new call are still refused while the window lasts.
	h.clock.Add(time.Hour)
	c := preSession("+34600111222", false, meta("+34600111222", "CA-d"))
	h.run(c, "action_session_start")
	c.slot("card_last4", "4567")
	if got := responseNames(h.run(c, "action_verify_last4")); !slices.Equal(got, []string{actions.UtterVerificationLocked}) {
		t.Fatalf("locked customer answered %v", got)
	}
	// After the window the customer can verify again.
	h.clock.Add(24 * time.Hour)
	c = preSession("+34600111222", false, meta("+34600111222", "CA-e"))
	h.run(c, "action_session_start")
	c.slot("card_last4", "4567")
	if got := responseNames(h.run(c, "action_verify_last4")); !slices.Equal(got, []string{actions.UtterConfirmBlock}) {
		t.Fatalf("after the window answered %v, want verification", got)
	}
}

func TestConcurrentBlocksOfOneConversation(t *testing.T) {
	h := newHarness(t)
	c := verifiedConv(t, h, "CA-concurrent")
	body := c.request("action_block_card")
	var wg sync.WaitGroup
	refs := make(chan any, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, r, raw := h.call(body)
			if status != http.StatusOK {
				t.Errorf("status %d: %s", status, raw)
				return
			}
			refs <- slotEvents(r)["block_reference"]
		}()
	}
	wg.Wait()
	close(refs)
	var first any
	for ref := range refs {
		if first == nil {
			first = ref
		}
		if ref != first || ref == nil {
			t.Fatalf("references differ: %v vs %v", ref, first)
		}
	}
	if n := len(outboxRows(t, h)); n != 1 {
		t.Fatalf("%d outbox rows, want 1", n)
	}
}

// unavailableStore is the bank's database during an outage: every call fails
// the way cardstore reports an unreachable database.
type unavailableStore struct{ actions.Store }

var errOutage = errors.New("dial tcp 10.0.0.5:5432: connect: connection refused: " + cardstore.ErrUnavailable.Error())

func (unavailableStore) CustomerByPhone(context.Context, string) (cardstore.Customer, error) {
	return cardstore.Customer{}, errors.Join(cardstore.ErrUnavailable, errOutage)
}
func (unavailableStore) Verification(context.Context, string, time.Time) (cardstore.Verification, error) {
	return cardstore.Verification{}, errors.Join(cardstore.ErrUnavailable, errOutage)
}
func (unavailableStore) TicketForConversation(context.Context, string) (cardstore.OutboxEntry, error) {
	return cardstore.OutboxEntry{}, errors.Join(cardstore.ErrUnavailable, errOutage)
}

func TestStoreOutageIsASpanishHandoff(t *testing.T) {
	h := newHarness(t, withStore(func(s actions.Store) actions.Store { return unavailableStore{s} }))
	c := preSession("+34600111222", false, meta("+34600111222", "CA-outage"))
	h.run(c, "action_session_start")
	opening("me han robado la tarjeta", "report_theft", "stolen")(c)
	r := h.run(c, "validate_card_block_form")
	if got := responseNames(r); !slices.Equal(got, []string{actions.UtterServiceUnavailable}) {
		t.Fatalf("validate during outage answered %v", got)
	}
	c.slot("card_last4", "4567")
	for _, a := range []string{"action_verify_last4", "action_block_card", "action_create_ticket"} {
		if got := responseNames(h.run(c, a)); !slices.Equal(got, []string{actions.UtterServiceUnavailable}) {
			t.Errorf("%s during outage answered %v", a, got)
		}
	}
}

// deliverer is Freshdesk answering at once with ticket 4242.
type deliverer struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (d *deliverer) DeliverNow(ctx context.Context, outboxID int64) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if _, ok := ctx.Deadline(); !ok {
		return 0, errors.New("delivery without a deadline")
	}
	if d.err != nil {
		return 0, d.err
	}
	return 4242, nil
}

func TestCreateTicketDeliversNowOrQueues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		want   string
		status string
	}{
		{"delivered", nil, actions.UtterTicketCreated, "created"},
		{"freshdesk down", errors.New("freshdesk: 503"), actions.UtterTicketQueued, "queued"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &deliverer{err: tc.err}
			h := newHarness(t, withDeliverer(d))
			c := verifiedConv(t, h, "CA-ticket-"+tc.status)
			h.run(c, "action_block_card")
			r := h.run(c, "action_create_ticket")
			if got := responseNames(r); !slices.Equal(got, []string{tc.want}) {
				t.Fatalf("answered %v, want %s", got, tc.want)
			}
			if s := slotEvents(r)["ticket_status"]; s != tc.status {
				t.Fatalf("ticket_status %v, want %s", s, tc.status)
			}
			if tc.err == nil && r.Responses[0]["ticket_id"] != "4 2 4 2" {
				t.Fatalf("ticket number not read out: %v", r.Responses[0])
			}
			if n := len(outboxRows(t, h)); n != 1 {
				t.Fatalf("%d outbox rows, want 1", n)
			}
		})
	}
}

// TestBadInputChangesNothing sends every kind of malformed call with the real
// actions behind the handler: each gets a JSON 4xx, and the bank is untouched.
func TestBadInputChangesNothing(t *testing.T) {
	h := newHarness(t)
	c := verifiedConv(t, h, "CA-bad-input")
	good := c.request("action_block_card")

	var bomb bytes.Buffer
	zw := zlib.NewWriter(&bomb)
	zw.Write(good[:len(good)-1])
	zw.Write(bytes.Repeat([]byte(" "), 17<<20)) // inflates past the 16 MiB limit
	zw.Close()

	tests := []struct {
		name     string
		body     []byte
		encoding string
		status   int
	}{
		{"empty body", nil, "", 400},
		{"truncated json", good[:len(good)/2], "", 400},
		{"wrong types", []byte(`{"next_action":"action_block_card","sender_id":5,"tracker":"x"}`), "", 400},
		{"unknown action", []byte(`{"next_action":"action_drop_tables","sender_id":"x","tracker":{}}`), "", 404},
		{"20 MiB body", append(append([]byte(`{"next_action":"action_block_card","x":"`), bytes.Repeat([]byte("a"), 20<<20)...), []byte(`"}`)...), "", 413},
		{"deflate bomb", bomb.Bytes(), "deflate", 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			rec := httptest.NewRecorder()
			h.handler.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
			}
			var reason map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &reason); err != nil || reason["error"] == nil {
				t.Fatalf("no JSON reason: %s", rec.Body.String())
			}
		})
	}
	if s := cardStatus(t, h, "+34600111222", "4567"); s != cardstore.StatusActive {
		t.Fatalf("card is %s after bad input", s)
	}
	if n := len(outboxRows(t, h)); n != 0 {
		t.Fatalf("%d outbox rows after bad input", n)
	}
}

// TestLogsNeverCarryPersonalData runs a call in which the caller reads out a
// full card number, a phone number and a DNI, with debug logging on.
func TestLogsNeverCarryPersonalData(t *testing.T) {
	h := newHarness(t)
	c := preSession("+34699000111", false, meta("+34699000111", "CA-logs"))
	h.run(c, "action_session_start")
	opening("me han robado la tarjeta mi número es el 600 111 222", "report_theft", "stolen")(c)
	h.run(c, "validate_card_block_form")
	answer("national_id", "mi dni es 12345678Z", "give_digits")(c)
	h.run(c, "validate_card_block_form")
	answer("card_last4", "4111 1111 1111 1111", "give_digits")(c)
	h.run(c, "validate_card_block_form")
	answer("card_last4", "4567", "give_digits")(c)
	h.run(c, "validate_card_block_form")
	c.endForm()
	h.run(c, "action_verify_last4")
	c.user("sí", "affirm", nil)
	h.run(c, "action_block_card")
	h.run(c, "action_create_ticket")

	logs := h.logs.String()
	if !strings.Contains(logs, "action_block_card") {
		t.Fatalf("the conversation was not logged at all:\n%s", logs)
	}
	for _, secret := range []string{"4111", "1111 1111", "600111222", "600 111 222", "699000111", "12345678Z", "12345678", "4567", "CA-logs"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

// TestRepliesStayInCatalogue checks every golden reply against catalogue.go:
// only listed responses with their listed variables, only listed slots with
// allowed categorical values.
func TestRepliesStayInCatalogue(t *testing.T) {
	responses := map[string][]string{}
	for _, r := range actions.Responses() {
		responses[r.Name] = r.Vars
	}
	slots := map[string]actions.SlotSpec{}
	for _, s := range actions.Slots() {
		slots[s.Name] = s
	}
	files, _ := filepath.Glob("testdata/golden/*/*/*.response.json")
	if len(files) == 0 {
		t.Fatal("no golden replies found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r replyJSON
		if err := json.Unmarshal(b, &r); err != nil {
			continue // error replies
		}
		for _, m := range r.Responses {
			name, _ := m["response"].(string)
			vars, ok := responses[name]
			if !ok {
				t.Errorf("%s: response %q is not in the catalogue", f, name)
			}
			for k := range m {
				if k != "response" && !slices.Contains(vars, k) {
					t.Errorf("%s: %s carries %q, not a catalogue variable", f, name, k)
				}
			}
			for _, v := range vars {
				if _, ok := m[v]; !ok {
					t.Errorf("%s: %s lacks variable %q", f, name, v)
				}
			}
		}
		for _, e := range r.Events {
			if e["event"] != "slot" || e["name"] == "requested_slot" {
				continue
			}
			spec, ok := slots[e["name"].(string)]
			if !ok {
				t.Errorf("%s: slot %v is not in the catalogue", f, e["name"])
				continue
			}
			if v, isStr := e["value"].(string); isStr && spec.Type == actions.TypeCategorical && !slices.Contains(spec.Values, v) {
				t.Errorf("%s: %s = %q is not an allowed value", f, spec.Name, v)
			}
		}
	}
}

// TestJunkDigitsAreNotGuesses: values the validator would never let through
// (wrong types, "None", a full card number) are refused without counting
// towards the customer's lockout.
func TestJunkDigitsAreNotGuesses(t *testing.T) {
	h := newHarness(t)
	for i, junk := range []any{true, map[string]any{}, "None", "4000123455005500", 12.5, "abc"} {
		c := preSession("+34600111222", false, meta("+34600111222", fmt.Sprintf("CA-junk-%d", i)))
		h.run(c, "action_session_start")
		c.slot("card_last4", junk)
		r := h.run(c, "action_verify_last4")
		if got := responseNames(r); !slices.Equal(got, []string{actions.UtterVerificationFailed}) {
			t.Fatalf("%v answered %v", junk, got)
		}
		if _, counted := slotEvents(r)["verification_attempts"]; counted {
			t.Fatalf("%v counted as a guess", junk)
		}
	}
	c := preSession("+34600111222", false, meta("+34600111222", "CA-junk-real"))
	h.run(c, "action_session_start")
	c.slot("card_last4", "4567")
	if got := responseNames(h.run(c, "action_verify_last4")); !slices.Equal(got, []string{actions.UtterConfirmBlock}) {
		t.Fatalf("the real caller was locked out by junk: %v", got)
	}
}
