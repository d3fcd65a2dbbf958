package freshdesktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

const key = "fake-key-0123456789"

func newServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.APIKey = key
	s := NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

func ticketBody(marker, ref, extID, email string) []byte {
	b, _ := json.Marshal(map[string]any{
		"name": "Lucía", "phone": "+34600111222", "unique_external_id": extID, "email": email,
		"subject": "Bloqueo", "description": "<p>x</p>", "status": 2, "priority": 4, "source": 3,
		"tags": []string{"voicebot", ref, marker}, "custom_fields": map[string]string{"cf_block_reference": ref},
	})
	return b
}

func do(t *testing.T, client *http.Client, method, u string, body []byte) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(key, "X")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestCreateListAndCounters(t *testing.T) {
	s := newServer(t, Config{})
	c := &http.Client{Timeout: 5 * time.Second}
	for i, tc := range []struct{ marker, ref, ext, email string }{
		{"vb-1", "BLK-AAAAAA", "cust-1", "a@example.com"},
		{"vb-2", "BLK-BBBBBB", "cust-2", ""},
		{"vb-2", "BLK-BBBBBB", "cust-2", ""}, // the same outbox row twice: a duplicate
	} {
		resp, _, err := do(t, c, http.MethodPost, s.URL+"/api/v2/tickets", ticketBody(tc.marker, tc.ref, tc.ext, tc.email))
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create %d: %v %v", i, resp, err)
		}
		if loc := resp.Header.Get("Location"); loc != s.URL+"/api/v2/tickets/"+strconv.Itoa(1001+i) {
			t.Errorf("Location = %q", loc)
		}
	}
	st := s.Stats()
	if st.Tickets != 3 || st.TicketPOSTs != 3 || st.Markers != 2 || st.Duplicates != 1 || st.References != 2 || st.DuplicateReferences != 1 {
		t.Errorf("stats = %+v", st)
	}
	if got := s.TicketsByReference(); got["BLK-BBBBBB"] != 2 || got["BLK-AAAAAA"] != 1 {
		t.Errorf("by reference = %v", got)
	}
	if got := s.TicketsByMarker(); got["vb-2"] != 2 {
		t.Errorf("by marker = %v", got)
	}

	list := func(q url.Values) int {
		resp, b, err := do(t, c, http.MethodGet, s.URL+"/api/v2/tickets?"+q.Encode(), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("list %v: %v %v %s", q, resp, err, b)
		}
		var out []map[string]any
		_ = json.Unmarshal(b, &out)
		return len(out)
	}
	since := s.Now().Add(-time.Minute).Format(time.RFC3339)
	future := s.Now().Add(time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		q    url.Values
		want int
	}{
		{url.Values{"unique_external_id": {"cust-2"}, "updated_since": {since}}, 2},
		{url.Values{"email": {"A@example.com"}}, 1},
		{url.Values{"unique_external_id": {"cust-1"}, "updated_since": {future}}, 0},
		{url.Values{}, 3},
	} {
		if got := list(tc.q); got != tc.want {
			t.Errorf("list %v = %d tickets, want %d", tc.q, got, tc.want)
		}
	}

	resp, _, _ := do(t, c, http.MethodPost, s.URL+"/api/v2/tickets/1001/notes", []byte(`{"body":"<p>nota</p>"}`))
	if resp.StatusCode != http.StatusCreated || len(s.Notes()) != 1 || !s.Notes()[0].Private {
		t.Errorf("note: %d %+v", resp.StatusCode, s.Notes())
	}
	resp, _, _ = do(t, c, http.MethodPost, s.URL+"/api/v2/tickets/999/notes", []byte(`{"body":"x"}`))
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("note on a missing ticket: %d", resp.StatusCode)
	}
}

func TestAuthAndValidation(t *testing.T) {
	s := newServer(t, Config{})
	resp, err := http.Post(s.URL+"/api/v2/tickets", "application/json", bytes.NewReader(ticketBody("vb-1", "BLK-AAAAAA", "c", "")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no credentials: %d", resp.StatusCode)
	}
	c := &http.Client{}
	resp, b, _ := do(t, c, http.MethodPost, s.URL+"/api/v2/tickets", []byte(`{"subject":"x","priorty":1}`))
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(b, []byte("invalid_field")) {
		t.Errorf("unknown field: %d %s", resp.StatusCode, b)
	}
	resp, b, _ = do(t, c, http.MethodPost, s.URL+"/api/v2/tickets", []byte(`{}{}`))
	if resp.StatusCode != http.StatusBadRequest || len(s.InvalidBodies()) != 1 {
		t.Errorf("two objects: %d %s", resp.StatusCode, b)
	}
	if len(s.Tickets()) != 0 {
		t.Errorf("tickets stored from refused requests: %d", len(s.Tickets()))
	}
}

func TestModes(t *testing.T) {
	for _, tc := range []struct {
		mode       string
		status     int // 0: no response (reset, or the client's deadline)
		stored     int
		retryAfter string
	}{
		{ModeForbidden, 403, 0, ""},
		{ModeRateLimited, 429, 0, "34"},
		{ModeFail500, 500, 1, ""},
		{ModeSlow, 0, 1, ""},
		{ModeReset, 0, 1, ""},
		{ModeProxy502, 502, 0, ""},
		{ModeInvalid, 400, 0, ""},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			s := newServer(t, Config{SlowDelay: 5 * time.Second})
			s.SetMode(tc.mode)
			c := &http.Client{Timeout: 300 * time.Millisecond}
			resp, _, err := do(t, c, http.MethodPost, s.URL+"/api/v2/tickets", ticketBody("vb-1", "BLK-AAAAAA", "c", ""))
			status := 0
			if err == nil {
				status = resp.StatusCode
				if got := resp.Header.Get("Retry-After"); got != tc.retryAfter {
					t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
				}
			}
			if status != tc.status {
				t.Errorf("status = %d (%v), want %d", status, err, tc.status)
			}
			if n := len(s.Tickets()); n != tc.stored {
				t.Errorf("stored %d, want %d", n, tc.stored)
			}
			if s.Injected()[tc.mode] != 1 {
				t.Errorf("injected = %v", s.Injected())
			}
			// Create-only failures leave the list endpoint working.
			resp, _, err = do(t, c, http.MethodGet, s.URL+"/api/v2/tickets", nil)
			wantList := 200
			if !createOnly(tc.mode) {
				wantList = tc.status
			}
			if err != nil || resp.StatusCode != wantList {
				t.Errorf("list under %s: %v %v, want %d", tc.mode, resp, err, wantList)
			}
		})
	}
}

func TestScriptAndHold(t *testing.T) {
	s := newServer(t, Config{})
	s.ScriptCreates(ModeFail500)
	h := s.HoldNextCreate(t)
	c := &http.Client{Timeout: 5 * time.Second}
	resp, _, _ := do(t, c, http.MethodPost, s.URL+"/api/v2/tickets", ticketBody("vb-1", "BLK-AAAAAA", "c", ""))
	if resp.StatusCode != 500 {
		t.Fatalf("scripted 500: %d", resp.StatusCode)
	}
	done := make(chan int, 1)
	go func() {
		resp, _, err := do(t, c, http.MethodPost, s.URL+"/api/v2/tickets", ticketBody("vb-2", "BLK-BBBBBB", "c", ""))
		if err != nil {
			done <- -1
			return
		}
		done <- resp.StatusCode
	}()
	<-h.Arrived
	if n := len(s.Tickets()); n != 1 {
		t.Errorf("held ticket stored before release: %d tickets", n)
	}
	h.Release()
	if id := <-h.Stored; id != 1002 {
		t.Errorf("held ticket id %d", id)
	}
	if code := <-done; code != 201 {
		t.Errorf("held POST answered %d", code)
	}
}

func TestFailureWindow(t *testing.T) {
	s := newServer(t, Config{})
	c := &http.Client{Timeout: 200 * time.Millisecond}
	post := func(marker string) (int, string) {
		resp, _, err := do(t, c, http.MethodPost, s.URL+"/api/v2/tickets", ticketBody(marker, "BLK-AAAAAA", "c", ""))
		if err != nil { // reset, or our deadline while the fake stalls
			return 0, ""
		}
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}

	s.RateLimitFor(3 * time.Second)
	if code, ra := post("vb-1"); code != 429 || ra != "3" {
		t.Errorf("rate-limit window: %d Retry-After %q, want 429 and the seconds left (3)", code, ra)
	}
	s.FailFor(ModeRateLimited, time.Hour, 2*time.Second)
	if code, ra := post("vb-1"); code != 429 || ra != "2" {
		t.Errorf("window with retry_after: %d %q", code, ra)
	}

	// Mix rotates 429, 500, slow, reset; then the window ends.
	s.FailFor(ModeMix, time.Hour, time.Second)
	var codes []int
	for i := range MixModes {
		code, _ := post("vb-mix-" + strconv.Itoa(i))
		codes = append(codes, code)
	}
	if want := []int{429, 500, 0, 0}; !equal(codes, want) {
		t.Errorf("mix answered %v, want %v", codes, want)
	}
	inj := s.Injected()
	for _, m := range MixModes {
		if inj[m] == 0 {
			t.Errorf("mode %s not injected: %v", m, inj)
		}
	}
	// A scripted mode waits for the window to end.
	s.ScriptCreates(ModeFail500)
	s.FailUntil(ModeNormal, time.Time{}, 0)
	if code, _ := post("vb-after"); code != 500 {
		t.Errorf("script after the window: %d", code)
	}
	if code, _ := post("vb-after-2"); code != 201 {
		t.Errorf("after the window: %d", code)
	}
	st := s.Stats()
	if st.Tickets != 5 || (st.Window != nil && st.Window.Active) { // 500, slow, reset, scripted 500, normal
		t.Errorf("stats after the window: %+v", st)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestControlRoutes(t *testing.T) {
	s := newServer(t, Config{})
	resp, err := http.Post(s.URL+"/_window?mode=mix&for=1m&retry_after=3s", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if resp.StatusCode != 200 || st.Window == nil || st.Window.Mode != ModeMix || !st.Window.Active || st.Window.RetryAfter != "3s" {
		t.Fatalf("/_window: %d %+v", resp.StatusCode, st.Window)
	}
	resp, _ = http.Post(s.URL+"/_window?mode=bogus&for=1m", "", nil)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("unknown mode: %d", resp.StatusCode)
	}
	resp, _ = http.Post(s.URL+"/_window?mode=&for=0s", "", nil)
	resp.Body.Close()
	c := &http.Client{}
	if resp, _, _ := do(t, c, http.MethodPost, s.URL+"/api/v2/tickets", ticketBody("vb-1", "BLK-AAAAAA", "c", "")); resp.StatusCode != 201 {
		t.Errorf("after for=0: %d", resp.StatusCode)
	}
	resp, _ = http.Get(s.URL + "/_tickets")
	var tickets []TicketInfo
	_ = json.NewDecoder(resp.Body).Decode(&tickets)
	resp.Body.Close()
	if len(tickets) != 1 || tickets[0].Marker != "vb-1" || tickets[0].Reference != "BLK-AAAAAA" {
		t.Errorf("/_tickets = %+v", tickets)
	}
	resp, _ = http.Get(s.URL + "/_stats")
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Tickets != 1 || st.Requests != 1 {
		t.Errorf("/_stats = %+v (control routes must not count as API requests)", st)
	}
}
