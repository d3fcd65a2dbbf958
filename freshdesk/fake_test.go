package freshdesk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeFreshdesk behaves like the parts of Freshdesk API v2 the client uses,
// including the ways the real one says no. Its mode injects failures.
type fakeFreshdesk struct {
	srv          *httptest.Server
	apiKey       string
	customFields map[string]bool // the portal's ticket custom fields
	now          time.Time

	mu        sync.Mutex
	mode      string
	nextID    int64
	nextNote  int64
	remaining int
	tickets   []fakeTicket
	notes     []fakeNote
	requests  []fakeRequest
	badBodies []string // bodies that were not exactly one JSON object

	// createScript holds modes for the next POSTs to /api/v2/tickets, one
	// each, before mode applies again; holds serve the modeHold entries.
	createScript   []string
	holds          []*createHold
	rateLimitUntil time.Time // every request is a 429 until then
	rateLimited    int       // 429s answered because of rateLimitUntil
}

const (
	modeNormal      = ""
	modeForbidden   = "forbidden"    // 403, flat body
	modeRateLimited = "rate_limited" // 429 with Retry-After: 34
	modeFail500     = "fail_500"     // creates the ticket, then answers 500
	modeSlow        = "slow"         // creates the ticket, then stalls
	modeReset       = "reset"        // creates the ticket, then drops the connection
	modeProxy502    = "proxy_502"    // an HTML 502 from a proxy
	modeEcho        = "echo"         // a 400 whose message echoes the credentials
	modeHold        = "hold"         // waits for the test, then creates the ticket (client gone or not)
)

// fakeModeKey carries the mode a request was admitted under from gate to
// the handler, so a scripted mode applies to exactly one request.
type fakeModeKey struct{}

type fakeTicket struct {
	ID                        int64
	Name, Email, Phone, ExtID string
	Subject, Description      string
	Status, Priority, Source  int
	Tags                      []string
	CustomFields              map[string]string
	CreatedAt, UpdatedAt      time.Time
}

type fakeNote struct {
	ID       int64
	TicketID int64
	Body     string
	Private  bool
}

type fakeRequest struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         []byte
}

func newFakeFreshdesk(t *testing.T, apiKey string) *fakeFreshdesk {
	t.Helper()
	return newFakeFreshdeskOn(t, apiKey, nil)
}

// newFakeFreshdeskOn serves the fake on ln (nil: a fresh local port), so a
// test can point a client at an address before anything listens there.
func newFakeFreshdeskOn(t *testing.T, apiKey string, ln net.Listener) *fakeFreshdesk {
	t.Helper()
	f := &fakeFreshdesk{
		apiKey:       apiKey,
		customFields: map[string]bool{"cf_block_reference": true},
		now:          time.Now().UTC().Truncate(time.Second),
		nextID:       1001,
		nextNote:     5001,
		remaining:    400,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/tickets", f.createTicket)
	mux.HandleFunc("GET /api/v2/tickets", f.listTickets)
	mux.HandleFunc("POST /api/v2/tickets/{id}/notes", f.addNote)
	f.srv = httptest.NewUnstartedServer(f.gate(mux))
	if ln != nil {
		_ = f.srv.Listener.Close()
		f.srv.Listener = ln
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

// scriptCreates queues modes for the next POSTs to /api/v2/tickets.
func (f *fakeFreshdesk) scriptCreates(modes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.createScript = append(f.createScript, modes...)
}

// createHold lets a test hold one POST /api/v2/tickets: the fake signals
// arrived, waits for Release, then stores the ticket whether or not the
// client is still there and sends its id on stored.
type createHold struct {
	arrived chan struct{}
	release chan struct{}
	stored  chan int64
	once    sync.Once
}

func (h *createHold) Release() { h.once.Do(func() { close(h.release) }) }

// holdNextCreate scripts a modeHold POST. The hold is released when the test
// ends at the latest (before the server closes, which waits for handlers).
func (f *fakeFreshdesk) holdNextCreate(t *testing.T) *createHold {
	h := &createHold{arrived: make(chan struct{}), release: make(chan struct{}), stored: make(chan int64, 1)}
	t.Cleanup(h.Release)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holds = append(f.holds, h)
	f.createScript = append(f.createScript, modeHold)
	return h
}

// rateLimitFor answers every request with 429 for d of real time, with
// Retry-After saying how many seconds remain, as Freshdesk's minute window does.
func (f *fakeFreshdesk) rateLimitFor(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rateLimitUntil = time.Now().Add(d)
}

func (f *fakeFreshdesk) rateLimitedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rateLimited
}

// createsByMarker groups the bodies of every POST /api/v2/tickets by the
// outbox marker tag they carry ("" for a body without one or not JSON).
func (f *fakeFreshdesk) createsByMarker() map[string][][]byte {
	out := map[string][][]byte{}
	for _, r := range f.allRequests() {
		if r.Method != http.MethodPost || r.Path != "/api/v2/tickets" {
			continue
		}
		var body struct {
			Tags []string `json:"tags"`
		}
		_ = json.Unmarshal(r.Body, &body)
		m := markerTag(body.Tags)
		out[m] = append(out[m], r.Body)
	}
	return out
}

// ticketsByMarker counts the stored tickets per outbox marker tag.
func (f *fakeFreshdesk) ticketsByMarker() map[string]int {
	out := map[string]int{}
	for _, tk := range f.allTickets() {
		out[markerTag(tk.Tags)]++
	}
	return out
}

func (f *fakeFreshdesk) setMode(m string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = m
}

func (f *fakeFreshdesk) getMode() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mode
}

func (f *fakeFreshdesk) count(method, path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

func (f *fakeFreshdesk) lastRequest() fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

func (f *fakeFreshdesk) allNotes() []fakeNote {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.notes)
}

func (f *fakeFreshdesk) allRequests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeFreshdesk) invalidBodies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.badBodies)
}

func (f *fakeFreshdesk) allTickets() []fakeTicket {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tickets)
}

func (f *fakeFreshdesk) seed(t fakeTicket) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t.ID = f.nextID
	f.nextID++
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	f.tickets = append(f.tickets, t)
}

// gate does what every Freshdesk endpoint does before routing: rate-limit
// headers, Basic auth with the key as username, the Accept check, and
// account-wide failures.
func (f *fakeFreshdesk) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.requests = append(f.requests, fakeRequest{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), body})
		f.remaining--
		remaining := f.remaining
		mode := f.mode
		if r.Method == http.MethodPost && r.URL.Path == "/api/v2/tickets" && len(f.createScript) > 0 {
			mode, f.createScript = f.createScript[0], f.createScript[1:]
		}
		limitedFor := time.Until(f.rateLimitUntil)
		if limitedFor > 0 {
			f.rateLimited++
		}
		f.mu.Unlock()

		// The docs spell these "X-Ratelimit-…"; the client must not care.
		w.Header()["X-Ratelimit-Total"] = []string{"400"}
		w.Header()["X-Ratelimit-Remaining"] = []string{strconv.Itoa(remaining)}
		w.Header()["X-Ratelimit-Used-Currentrequest"] = []string{"1"}

		if user, _, ok := r.BasicAuth(); !ok || user != f.apiKey {
			writeJSON(w, http.StatusUnauthorized, map[string]string{
				"code": "invalid_credentials", "message": "You have to be logged in to perform this action.",
			})
			return
		}
		if a := r.Header.Get("Accept"); a != "" && a != "application/json" && a != "*/*" {
			writeJSON(w, http.StatusNotAcceptable, map[string]string{"code": "invalid_accept_header", "message": "Accept header not supported"})
			return
		}
		if limitedFor > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((limitedFor+time.Second-1)/time.Second)))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		switch mode {
		case modeForbidden:
			writeJSON(w, http.StatusForbidden, map[string]string{
				"code": "access_denied", "message": "You are not authorized to perform this action.",
			})
			return
		case modeRateLimited:
			w.Header().Set("Retry-After", "34")
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case modeProxy502:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
			return
		case modeEcho:
			writeValidation(w, "Validation failed for "+f.apiKey, FieldError{
				Field: "auth " + r.Header.Get("Authorization"), Message: "key " + f.apiKey, Code: "invalid_value",
			})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), fakeModeKey{}, mode)))
	})
}

// decodeOne enforces what Freshdesk's parser does: a JSON content type and
// exactly one JSON object (resty once wrote "{…}{…}", failure log #3).
func (f *fakeFreshdesk) decodeOne(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{
			"code": "invalid_content_type", "message": "Content-Type header should have application/json",
		})
		return nil, false
	}
	body, _ := io.ReadAll(r.Body)
	dec := json.NewDecoder(bytes.NewReader(body))
	var obj map[string]json.RawMessage
	err := dec.Decode(&obj)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = fmt.Errorf("trailing data after the object")
		}
	}
	if err != nil || obj == nil {
		f.mu.Lock()
		f.badBodies = append(f.badBodies, string(body))
		f.mu.Unlock()
		writeValidation(w, "Validation failed", FieldError{Field: "", Message: "Invalid JSON", Code: "invalid_json"})
		return nil, false
	}
	return obj, true
}

func (f *fakeFreshdesk) createTicket(w http.ResponseWriter, r *http.Request) {
	obj, ok := f.decodeOne(w, r)
	if !ok {
		return
	}
	documented := []string{
		"name", "requester_id", "email", "facebook_id", "phone", "twitter_id", "unique_external_id",
		"subject", "type", "status", "priority", "description", "responder_id", "attachments", "cc_emails",
		"custom_fields", "due_by", "email_config_id", "fr_due_by", "group_id", "parent_id", "product_id",
		"source", "tags", "company_id", "internal_agent_id", "internal_group_id", "lookup_parameter",
	}
	for k := range obj {
		if !slices.Contains(documented, k) {
			writeValidation(w, "Validation failed", FieldError{k, "Unexpected/invalid field in request", "invalid_field"})
			return
		}
	}
	var in struct {
		Name             string            `json:"name"`
		Email            string            `json:"email"`
		Phone            string            `json:"phone"`
		UniqueExternalID string            `json:"unique_external_id"`
		Subject          string            `json:"subject"`
		Description      string            `json:"description"`
		Status           int               `json:"status"`
		Priority         int               `json:"priority"`
		Source           int               `json:"source"`
		Tags             []string          `json:"tags"`
		CustomFields     map[string]string `json:"custom_fields"`
	}
	raw, _ := json.Marshal(obj)
	if err := json.Unmarshal(raw, &in); err != nil {
		writeValidation(w, "Validation failed", FieldError{"", err.Error(), "datatype_mismatch"})
		return
	}
	for k := range in.CustomFields {
		if !f.customFields[k] {
			writeValidation(w, "Validation failed", FieldError{k, "Unexpected/invalid field in request", "invalid_field"})
			return
		}
	}
	switch {
	case in.Email == "" && in.Phone == "" && in.UniqueExternalID == "":
		writeValidation(w, "Validation failed", FieldError{"requester_id",
			"Please fill at least 1 of requester_id, phone, email, twitter_id, facebook_id, unique_external_id fields", "missing_field"})
		return
	case in.Phone != "" && in.Email == "" && in.Name == "":
		writeValidation(w, "Validation failed", FieldError{"name", "Mandatory attribute missing", "missing_field"})
		return
	case in.Subject == "":
		writeValidation(w, "Validation failed", FieldError{"subject", "Mandatory attribute missing", "missing_field"})
		return
	case in.Description == "":
		writeValidation(w, "Validation failed", FieldError{"description", "Mandatory attribute missing", "missing_field"})
		return
	case in.Status < 2 || in.Status > 5:
		writeValidation(w, "Validation failed", FieldError{"status", "It should be one of these values: '2,3,4,5'", "invalid_value"})
		return
	case in.Priority < 1 || in.Priority > 4:
		writeValidation(w, "Validation failed", FieldError{"priority", "It should be one of these values: '1,2,3,4'", "invalid_value"})
		return
	case !slices.Contains([]int{1, 2, 3, 7, 9, 10}, in.Source):
		writeValidation(w, "Validation failed", FieldError{"source", "It should be one of these values: '1,2,3,7,9,10'", "invalid_value"})
		return
	}

	mode, _ := r.Context().Value(fakeModeKey{}).(string)
	var hold *createHold
	if mode == modeHold {
		f.mu.Lock()
		hold, f.holds = f.holds[0], f.holds[1:]
		f.mu.Unlock()
		close(hold.arrived)
		<-hold.release
	}

	f.mu.Lock()
	tk := fakeTicket{
		ID: f.nextID, Name: in.Name, Email: in.Email, Phone: in.Phone, ExtID: in.UniqueExternalID,
		Subject: in.Subject, Description: in.Description, Status: in.Status, Priority: in.Priority,
		Source: in.Source, Tags: in.Tags, CustomFields: in.CustomFields, CreatedAt: f.now, UpdatedAt: f.now,
	}
	f.nextID++
	f.tickets = append(f.tickets, tk)
	f.mu.Unlock()
	if hold != nil {
		hold.stored <- tk.ID
	}

	switch mode {
	case modeFail500:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"code": "internal_error", "message": "We're sorry, but something went wrong."})
		return
	case modeReset:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	case modeSlow:
		select {
		case <-r.Context().Done():
			return
		case <-time.After(10 * time.Second):
		}
	}
	w.Header().Set("Location", f.srv.URL+"/api/v2/tickets/"+strconv.FormatInt(tk.ID, 10))
	writeJSON(w, http.StatusCreated, ticketJSON(tk))
}

func ticketJSON(tk fakeTicket) map[string]any {
	cf := map[string]any{"cf_block_reference": nil} // Freshdesk returns null, not omitted
	for k, v := range tk.CustomFields {
		cf[k] = v
	}
	tags := tk.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": tk.ID, "subject": tk.Subject, "status": tk.Status, "priority": tk.Priority, "source": tk.Source,
		"tags": tags, "custom_fields": cf, "requester_id": 77000000 + tk.ID, "type": nil,
		"created_at": tk.CreatedAt.Format(time.RFC3339), "updated_at": tk.UpdatedAt.Format(time.RFC3339),
		"due_by": nil, "fr_due_by": nil,
	}
}

func (f *fakeFreshdesk) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage, page := 30, 1
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeValidation(w, "Validation failed", FieldError{"per_page", "It should be a Positive Integer less than or equal to 100", "invalid_value"})
			return
		}
		perPage = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 300 {
			writeValidation(w, "Validation failed", FieldError{"page", "It should be a Positive Integer less than or equal to 300", "invalid_value"})
			return
		}
		page = n
	}
	if ob := q.Get("order_by"); ob != "" && !slices.Contains([]string{"created_at", "due_by", "updated_at", "status"}, ob) {
		writeValidation(w, "Validation failed", FieldError{"order_by", "It should be one of these values: 'created_at,due_by,updated_at,status'", "invalid_value"})
		return
	}
	// Without updated_since Freshdesk silently returns the last 30 days only.
	since := f.now.AddDate(0, 0, -30)
	useUpdated := false
	if v := q.Get("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeValidation(w, "Validation failed", FieldError{"updated_since", "It should be in the 'valid date' format", "invalid_date"})
			return
		}
		since, useUpdated = t, true
	}

	var match []fakeTicket
	for _, tk := range f.allTickets() {
		switch {
		case q.Has("unique_external_id") && tk.ExtID != q.Get("unique_external_id"):
			continue
		case q.Has("email") && !strings.EqualFold(tk.Email, q.Get("email")):
			continue
		case q.Has("requester_id") && q.Get("requester_id") != strconv.FormatInt(77000000+tk.ID, 10):
			continue
		case useUpdated && tk.UpdatedAt.Before(since):
			continue
		case !useUpdated && tk.CreatedAt.Before(since):
			continue
		}
		match = append(match, tk)
	}
	slices.SortStableFunc(match, func(a, b fakeTicket) int {
		if q.Get("order_type") == "asc" {
			return a.CreatedAt.Compare(b.CreatedAt)
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	start := min((page-1)*perPage, len(match))
	end := min(start+perPage, len(match))
	out := make([]map[string]any, 0, end-start)
	for _, tk := range match[start:end] {
		out = append(out, ticketJSON(tk))
	}
	if end < len(match) {
		next := *r.URL
		nq := next.Query()
		nq.Set("page", strconv.Itoa(page+1))
		next.RawQuery = nq.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, f.srv.URL, next.RequestURI()))
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeFreshdesk) addNote(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	exists := slices.ContainsFunc(f.allTickets(), func(tk fakeTicket) bool { return tk.ID == id })
	if err != nil || !exists {
		w.WriteHeader(http.StatusNotFound) // Freshdesk's 404 has no body
		return
	}
	obj, ok := f.decodeOne(w, r)
	if !ok {
		return
	}
	for k := range obj {
		if !slices.Contains([]string{"body", "private", "incoming", "notify_emails", "user_id", "attachments"}, k) {
			writeValidation(w, "Validation failed", FieldError{k, "Unexpected/invalid field in request", "invalid_field"})
			return
		}
	}
	var in struct {
		Body    string `json:"body"`
		Private *bool  `json:"private"`
	}
	raw, _ := json.Marshal(obj)
	_ = json.Unmarshal(raw, &in)
	if in.Body == "" {
		writeValidation(w, "Validation failed", FieldError{"body", "Mandatory attribute missing", "missing_field"})
		return
	}
	private := in.Private == nil || *in.Private // Freshdesk's default is private
	f.mu.Lock()
	n := fakeNote{ID: f.nextNote, TicketID: id, Body: in.Body, Private: private}
	f.nextNote++
	f.notes = append(f.notes, n)
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"id": n.ID, "ticket_id": id, "body": n.Body, "private": n.Private})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeValidation(w http.ResponseWriter, description string, errs ...FieldError) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"description": description, "errors": errs})
}
