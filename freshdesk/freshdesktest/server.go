// Package freshdesktest is a fake Freshdesk API v2 for tests, in the manner
// of net/http/httptest: NewServer starts it on a local port and its URL goes
// where the real https://<account>.freshdesk.com would.
//
// It serves the parts of the API the freshdesk package uses — creating a
// ticket, listing tickets (unique_external_id, email, requester_id,
// updated_since, paging) and adding a note — with Freshdesk's validation,
// Basic auth with the API key as user name, and X-Ratelimit-* headers. It
// also says no the ways the real one does, on demand:
//
//   - SetMode makes every following request fail one way;
//   - ScriptCreates makes the next ticket POSTs fail, one mode each;
//   - FailFor / FailUntil fail every request for a window of real time
//     ("429 until T"), and ModeMix rotates several failures in that window;
//   - HoldNextCreate parks one POST until the test releases it.
//
// Counters tell a test or a script what Freshdesk ended up holding: tickets
// per outbox marker tag and per block reference, duplicates, POSTs, and the
// failures injected. GET /_stats serves them as JSON, GET /_tickets lists the
// stored tickets and POST /_window sets a failure window; these control
// routes need no credentials and are not counted as API requests.
//
// The package does not import package freshdesk, so that package's own tests
// can use it; the few names they share (the marker tag prefix, the error body
// shape) are copied here and pinned by a test over there.
package freshdesktest

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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Failure modes. A mode set with SetMode, a window or a script applies to a
// request after the credentials were accepted. Modes that Freshdesk could
// only produce after storing the ticket (Fail500, Slow, Reset, Hold) affect
// POST /api/v2/tickets only; other requests are served normally under them.
const (
	ModeNormal      = ""
	ModeForbidden   = "forbidden"    // 403 access_denied, flat body
	ModeRateLimited = "rate_limited" // 429 with Retry-After (Config.RetryAfter, or the window's)
	ModeFail500     = "fail_500"     // creates the ticket, then answers 500
	ModeSlow        = "slow"         // creates the ticket, then stalls for Config.SlowDelay (past the client's deadline)
	ModeReset       = "reset"        // creates the ticket, then drops the connection without a response
	ModeProxy502    = "proxy_502"    // an HTML 502 from a proxy; nothing is created
	ModeInvalid     = "invalid"      // 400 validation failure; nothing is created
	ModeEcho        = "echo"         // a 400 whose message echoes the credentials
	ModeHold        = "hold"         // script only (HoldNextCreate): waits for the test, then creates the ticket
	ModeMix         = "mix"          // windows only: rotates MixModes, one request each
)

// MixModes are the failures ModeMix rotates through, in order: the ways a
// Freshdesk that is overloaded or restarting answers.
var MixModes = []string{ModeRateLimited, ModeFail500, ModeSlow, ModeReset}

// Modes lists every mode a window or SetMode accepts.
func Modes() []string {
	return []string{ModeNormal, ModeForbidden, ModeRateLimited, ModeFail500, ModeSlow, ModeReset,
		ModeProxy502, ModeInvalid, ModeEcho, ModeMix}
}

// MarkerPrefix starts the tag that makes a ticket unique to one outbox row
// (freshdesk's marker tag). Tickets are counted per such tag.
const MarkerPrefix = "vb-"

// referenceRE is a block reference as cardstore writes them.
var referenceRE = regexp.MustCompile(`^BLK-[0-9A-Z]{6}$`)

// Config configures a Server. The zero value is usable apart from APIKey.
type Config struct {
	// APIKey is the agent key the fake accepts as Basic-auth user name.
	APIKey string
	// CustomFields are the portal's ticket custom fields [cf_block_reference].
	CustomFields []string
	// Listener, if set, is where the server listens [a fresh 127.0.0.1 port].
	Listener net.Listener
	// Now stamps tickets and bounds the default list window [time.Now in
	// whole seconds, UTC]. Tests that compare times pass a frozen clock.
	Now func() time.Time
	// RetryAfter is the Retry-After of ModeRateLimited outside windows [34s].
	RetryAfter time.Duration
	// SlowDelay is how long ModeSlow stalls after storing the ticket [10s].
	SlowDelay time.Duration
	// Latency delays every API answer, as the network and Freshdesk do: a
	// created ticket is stored first, then the answer waits [0].
	Latency time.Duration
	// RateLimitTotal is X-Ratelimit-Total; Remaining counts down from it and
	// starts again every minute [400].
	RateLimitTotal int
}

// Ticket is a ticket the fake holds.
type Ticket struct {
	ID                        int64
	Name, Email, Phone, ExtID string
	Subject, Description      string
	Status, Priority, Source  int
	Tags                      []string
	CustomFields              map[string]string
	CreatedAt, UpdatedAt      time.Time
}

// Marker is the ticket's outbox marker tag, or "".
func (t Ticket) Marker() string { return MarkerOf(t.Tags) }

// Reference is the block reference the ticket carries in a custom field or
// a tag, or "".
func (t Ticket) Reference() string {
	for _, v := range t.CustomFields {
		if referenceRE.MatchString(strings.ToUpper(v)) {
			return strings.ToUpper(v)
		}
	}
	for _, tag := range t.Tags {
		if referenceRE.MatchString(strings.ToUpper(tag)) {
			return strings.ToUpper(tag)
		}
	}
	return ""
}

// MarkerOf returns the first tag starting with MarkerPrefix, or "".
func MarkerOf(tags []string) string {
	for _, t := range tags {
		if strings.HasPrefix(t, MarkerPrefix) {
			return t
		}
	}
	return ""
}

// Note is a conversation note the fake holds.
type Note struct {
	ID       int64
	TicketID int64
	Body     string
	Private  bool
}

// Request is one API request the fake received (control routes excluded).
type Request struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         []byte
}

// FieldError is one entry of a Freshdesk 400's "errors" array.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Code    string `json:"code"`
}

// Hold is one parked POST /api/v2/tickets (HoldNextCreate). Arrived is
// closed when the POST reaches the fake; after Release the ticket is stored,
// whether or not the client is still waiting, and its id is sent on Stored.
type Hold struct {
	Arrived <-chan struct{}
	Stored  <-chan int64

	arrived chan struct{}
	release chan struct{}
	stored  chan int64
	once    sync.Once
}

// Release lets the held POST go on. It may be called more than once.
func (h *Hold) Release() { h.once.Do(func() { close(h.release) }) }

// Server is a running fake Freshdesk.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port, with no trailing slash.
	URL string
	// APIKey is the key the fake accepts.
	APIKey string

	srv          *httptest.Server
	customFields map[string]bool
	now          func() time.Time
	retryAfter   time.Duration
	slowDelay    time.Duration
	latency      time.Duration
	rateTotal    int

	mu           sync.Mutex
	mode         string
	nextID       int64
	nextNote     int64
	remaining    int
	windowStart  time.Time // start of the current rate-limit minute
	tickets      []Ticket
	notes        []Note
	requests     []Request
	badBodies    []string
	script       []string
	holds        []*Hold // scripted, not yet arrived
	allHolds     []*Hold // every hold, released by Close
	window       window
	mixNext      int
	injected     map[string]int
	lastTicketAt time.Time // real time the newest ticket was stored
}

// window is a failure window: every request fails with mode until until.
type window struct {
	mode       string
	until      time.Time
	retryAfter time.Duration // 0: the time left in the window
	started    time.Time
}

// modeKey carries the mode a request was admitted under to the handler, so
// that a scripted mode applies to exactly one request.
type modeKey struct{}

// NewServer starts a fake Freshdesk. Close it when done.
func NewServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.Start()
	return s
}

// NewUnstartedServer returns a fake that Start serves.
func NewUnstartedServer(cfg Config) *Server {
	s := &Server{
		APIKey:       cfg.APIKey,
		customFields: map[string]bool{},
		now:          cfg.Now,
		retryAfter:   cfg.RetryAfter,
		slowDelay:    cfg.SlowDelay,
		latency:      cfg.Latency,
		rateTotal:    cfg.RateLimitTotal,
		nextID:       1001,
		nextNote:     5001,
		injected:     map[string]int{},
	}
	fields := cfg.CustomFields
	if fields == nil {
		fields = []string{"cf_block_reference"}
	}
	for _, f := range fields {
		s.customFields[f] = true
	}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC().Truncate(time.Second) }
	}
	if s.retryAfter <= 0 {
		s.retryAfter = 34 * time.Second
	}
	if s.slowDelay <= 0 {
		s.slowDelay = 10 * time.Second
	}
	if s.rateTotal <= 0 {
		s.rateTotal = 400
	}
	s.remaining = s.rateTotal
	s.windowStart = time.Now()

	api := http.NewServeMux()
	api.HandleFunc("POST /api/v2/tickets", s.createTicket)
	api.HandleFunc("GET /api/v2/tickets", s.listTickets)
	api.HandleFunc("POST /api/v2/tickets/{id}/notes", s.addNote)
	root := http.NewServeMux()
	root.Handle("/", s.gate(api))
	root.HandleFunc("GET /_stats", s.serveStats)
	root.HandleFunc("GET /_tickets", s.serveTickets)
	root.HandleFunc("POST /_window", s.serveWindow)
	s.srv = httptest.NewUnstartedServer(root)
	if cfg.Listener != nil {
		_ = s.srv.Listener.Close()
		s.srv.Listener = cfg.Listener
	}
	return s
}

// Start serves the fake and sets URL.
func (s *Server) Start() {
	s.srv.Start()
	s.URL = s.srv.URL
}

// Close releases held requests, stops the server and waits for the requests
// in flight.
func (s *Server) Close() {
	s.mu.Lock()
	holds := slices.Clone(s.allHolds)
	s.mu.Unlock()
	for _, h := range holds {
		h.Release()
	}
	s.srv.Close()
}

// Now is the fake's clock, the time it stamps tickets with.
func (s *Server) Now() time.Time { return s.now() }

// SetMode makes every following request fail with mode (ModeNormal: none).
func (s *Server) SetMode(mode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = mode
}

// Mode is the mode SetMode set.
func (s *Server) Mode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// ScriptCreates queues modes for the next POSTs to /api/v2/tickets, one
// each, before the SetMode mode applies again.
func (s *Server) ScriptCreates(modes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, modes...)
}

// HoldNextCreate scripts a ModeHold POST. The hold is released when c (a
// *testing.T) cleans up at the latest, or when the server closes.
func (s *Server) HoldNextCreate(c interface{ Cleanup(func()) }) *Hold {
	h := &Hold{arrived: make(chan struct{}), release: make(chan struct{}), stored: make(chan int64, 1)}
	h.Arrived, h.Stored = h.arrived, h.stored
	if c != nil {
		c.Cleanup(h.Release)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds = append(s.holds, h)
	s.allHolds = append(s.allHolds, h)
	s.script = append(s.script, ModeHold)
	return h
}

// FailUntil answers every API request with mode until the real time until
// (scripts and SetMode wait meanwhile). A 429 in the window carries
// Retry-After retryAfter, or the time left in the window when retryAfter is
// 0, rounded up to whole seconds, as Freshdesk's per-minute limit does.
// ModeMix rotates MixModes. A zero until ends the window.
func (s *Server) FailUntil(mode string, until time.Time, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.window = window{mode: mode, until: until, retryAfter: retryAfter, started: time.Now()}
}

// FailFor is FailUntil(mode, now+d, retryAfter).
func (s *Server) FailFor(mode string, d, retryAfter time.Duration) {
	s.FailUntil(mode, time.Now().Add(d), retryAfter)
}

// RateLimitFor answers every request with 429 for d of real time, with
// Retry-After saying how many seconds remain.
func (s *Server) RateLimitFor(d time.Duration) { s.FailFor(ModeRateLimited, d, 0) }

// RateLimitedCount is the number of 429s answered by rate-limit windows and
// ModeRateLimited.
func (s *Server) RateLimitedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.injected[ModeRateLimited]
}

// Injected counts the failures answered, per mode (ModeMix counts under the
// mode it chose).
func (s *Server) Injected() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.injected))
	for k, v := range s.injected {
		out[k] = v
	}
	return out
}

// Count is the number of API requests with this method and path.
func (s *Server) Count(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// LastRequest is the latest API request (the zero Request before any).
func (s *Server) LastRequest() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return Request{}
	}
	return s.requests[len(s.requests)-1]
}

// Requests are the API requests received, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Tickets are the tickets held, in creation order.
func (s *Server) Tickets() []Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tickets)
}

// Notes are the notes held, in creation order.
func (s *Server) Notes() []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.notes)
}

// InvalidBodies are the bodies that were not exactly one JSON object.
func (s *Server) InvalidBodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.badBodies)
}

// Seed stores a ticket as if it had been created earlier; ID is assigned,
// and a zero UpdatedAt takes CreatedAt.
func (s *Server) Seed(t Ticket) Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.ID = s.nextID
	s.nextID++
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	s.tickets = append(s.tickets, t)
	return t
}

// CreatesByMarker groups the bodies of every POST /api/v2/tickets by the
// marker tag they carry ("" for a body without one or not JSON), whether or
// not a ticket was stored.
func (s *Server) CreatesByMarker() map[string][][]byte {
	out := map[string][][]byte{}
	for _, r := range s.Requests() {
		if r.Method != http.MethodPost || r.Path != "/api/v2/tickets" {
			continue
		}
		var body struct {
			Tags []string `json:"tags"`
		}
		_ = json.Unmarshal(r.Body, &body)
		m := MarkerOf(body.Tags)
		out[m] = append(out[m], r.Body)
	}
	return out
}

// TicketsByMarker counts the stored tickets per marker tag ("" for none).
func (s *Server) TicketsByMarker() map[string]int {
	out := map[string]int{}
	for _, tk := range s.Tickets() {
		out[tk.Marker()]++
	}
	return out
}

// TicketsByReference counts the stored tickets per block reference ("" for
// tickets without one, e.g. hand-offs).
func (s *Server) TicketsByReference() map[string]int {
	out := map[string]int{}
	for _, tk := range s.Tickets() {
		out[tk.Reference()]++
	}
	return out
}

// gate does what every Freshdesk endpoint does before routing: rate-limit
// headers, Basic auth with the key as user name, the Accept check, and
// account-wide failures.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		isCreate := r.Method == http.MethodPost && r.URL.Path == "/api/v2/tickets"

		s.mu.Lock()
		s.requests = append(s.requests, Request{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), body})
		if time.Since(s.windowStart) >= time.Minute {
			s.windowStart, s.remaining = time.Now(), s.rateTotal
		}
		s.remaining--
		remaining := s.remaining
		mode, retryAfter := s.mode, s.retryAfter
		if left := time.Until(s.window.until); left > 0 {
			mode = s.window.mode
			if mode == ModeMix {
				mode = MixModes[s.mixNext%len(MixModes)]
				s.mixNext++
			}
			retryAfter = left
			if s.window.retryAfter > 0 {
				retryAfter = min(s.window.retryAfter, left)
			}
		} else if isCreate && len(s.script) > 0 {
			mode, s.script = s.script[0], s.script[1:]
		}
		authorised := false
		if user, _, ok := r.BasicAuth(); ok && user == s.APIKey {
			authorised = true
		}
		if authorised && mode != ModeNormal && mode != ModeHold && (isCreate || !createOnly(mode)) {
			s.injected[mode]++
		}
		s.mu.Unlock()

		// The docs spell these "X-Ratelimit-…"; the client must not care.
		w.Header()["X-Ratelimit-Total"] = []string{strconv.Itoa(s.rateTotal)}
		w.Header()["X-Ratelimit-Remaining"] = []string{strconv.Itoa(remaining)}
		w.Header()["X-Ratelimit-Used-Currentrequest"] = []string{"1"}

		if !authorised {
			writeJSON(w, http.StatusUnauthorized, map[string]string{
				"code": "invalid_credentials", "message": "You have to be logged in to perform this action.",
			})
			return
		}
		if a := r.Header.Get("Accept"); a != "" && a != "application/json" && a != "*/*" {
			writeJSON(w, http.StatusNotAcceptable, map[string]string{"code": "invalid_accept_header", "message": "Accept header not supported"})
			return
		}
		switch mode {
		case ModeForbidden:
			writeJSON(w, http.StatusForbidden, map[string]string{
				"code": "access_denied", "message": "You are not authorized to perform this action.",
			})
			return
		case ModeRateLimited:
			w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case ModeProxy502:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
			return
		case ModeInvalid:
			writeValidation(w, "Validation failed", FieldError{Field: "requester_id", Message: "There is no contact matching the given requester_id", Code: "invalid_value"})
			return
		case ModeEcho:
			writeValidation(w, "Validation failed for "+s.APIKey, FieldError{
				Field: "auth " + r.Header.Get("Authorization"), Message: "key " + s.APIKey, Code: "invalid_value",
			})
			return
		}
		if s.latency > 0 && !isCreate {
			s.wait(r.Context(), s.latency)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), modeKey{}, mode)))
	})
}

// wait sleeps for d or until ctx ends.
func (s *Server) wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// createOnly reports whether mode only affects ticket creation.
func createOnly(mode string) bool {
	switch mode {
	case ModeFail500, ModeSlow, ModeReset, ModeHold:
		return true
	}
	return false
}

// decodeOne enforces what Freshdesk's parser does: a JSON content type and
// exactly one JSON object.
func (s *Server) decodeOne(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
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
		s.mu.Lock()
		s.badBodies = append(s.badBodies, string(body))
		s.mu.Unlock()
		writeValidation(w, "Validation failed", FieldError{Field: "", Message: "Invalid JSON", Code: "invalid_json"})
		return nil, false
	}
	return obj, true
}

var documentedTicketFields = []string{
	"name", "requester_id", "email", "facebook_id", "phone", "twitter_id", "unique_external_id",
	"subject", "type", "status", "priority", "description", "responder_id", "attachments", "cc_emails",
	"custom_fields", "due_by", "email_config_id", "fr_due_by", "group_id", "parent_id", "product_id",
	"source", "tags", "company_id", "internal_agent_id", "internal_group_id", "lookup_parameter",
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	obj, ok := s.decodeOne(w, r)
	if !ok {
		return
	}
	for k := range obj {
		if !slices.Contains(documentedTicketFields, k) {
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
		if !s.customFields[k] {
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

	mode, _ := r.Context().Value(modeKey{}).(string)
	var hold *Hold
	if mode == ModeHold {
		s.mu.Lock()
		if len(s.holds) > 0 {
			hold, s.holds = s.holds[0], s.holds[1:]
		}
		s.mu.Unlock()
		if hold != nil {
			close(hold.arrived)
			<-hold.release
		}
	}

	s.mu.Lock()
	now := s.now()
	tk := Ticket{
		ID: s.nextID, Name: in.Name, Email: in.Email, Phone: in.Phone, ExtID: in.UniqueExternalID,
		Subject: in.Subject, Description: in.Description, Status: in.Status, Priority: in.Priority,
		Source: in.Source, Tags: in.Tags, CustomFields: in.CustomFields, CreatedAt: now, UpdatedAt: now,
	}
	s.nextID++
	s.tickets = append(s.tickets, tk)
	s.lastTicketAt = time.Now()
	s.mu.Unlock()
	if hold != nil {
		hold.stored <- tk.ID
	}
	if s.latency > 0 {
		s.wait(r.Context(), s.latency)
	}

	switch mode {
	case ModeFail500:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"code": "internal_error", "message": "We're sorry, but something went wrong."})
		return
	case ModeReset:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST, not FIN: the connection is reset
			}
			_ = conn.Close()
		}
		return
	case ModeSlow:
		select {
		case <-r.Context().Done():
			return
		case <-time.After(s.slowDelay):
		}
	}
	w.Header().Set("Location", s.URL+"/api/v2/tickets/"+strconv.FormatInt(tk.ID, 10))
	writeJSON(w, http.StatusCreated, ticketJSON(tk))
}

func ticketJSON(tk Ticket) map[string]any {
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

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
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
	since := s.now().AddDate(0, 0, -30)
	useUpdated := false
	if v := q.Get("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeValidation(w, "Validation failed", FieldError{"updated_since", "It should be in the 'valid date' format", "invalid_date"})
			return
		}
		since, useUpdated = t, true
	}

	var match []Ticket
	for _, tk := range s.Tickets() {
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
	slices.SortStableFunc(match, func(a, b Ticket) int {
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
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.URL, next.RequestURI()))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	exists := slices.ContainsFunc(s.Tickets(), func(tk Ticket) bool { return tk.ID == id })
	if err != nil || !exists {
		w.WriteHeader(http.StatusNotFound) // Freshdesk's 404 has no body
		return
	}
	obj, ok := s.decodeOne(w, r)
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
	s.mu.Lock()
	n := Note{ID: s.nextNote, TicketID: id, Body: in.Body, Private: private}
	s.nextNote++
	s.notes = append(s.notes, n)
	s.mu.Unlock()
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
