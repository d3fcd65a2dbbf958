package freshdesktest

import (
	"net/http"
	"slices"
	"time"
)

// Stats is what the fake holds and has seen, for scripts (GET /_stats).
type Stats struct {
	Tickets      int `json:"tickets"`       // stored tickets
	Notes        int `json:"notes"`         // stored notes
	Requests     int `json:"requests"`      // API requests, every endpoint and outcome
	TicketPOSTs  int `json:"ticket_posts"`  // POST /api/v2/tickets
	NotePOSTs    int `json:"note_posts"`    // POST /api/v2/tickets/{id}/notes
	ListRequests int `json:"list_requests"` // GET /api/v2/tickets
	InvalidJSON  int `json:"invalid_json"`  // bodies that were not exactly one JSON object

	// Markers is the number of distinct outbox marker tags among the stored
	// tickets; Duplicates the tickets beyond the first for one marker (an
	// outbox row delivered twice); Unmarked the tickets without a marker.
	Markers    int `json:"markers"`
	Duplicates int `json:"duplicates"`
	Unmarked   int `json:"unmarked"`
	// References is the number of distinct block references among the
	// stored tickets; DuplicateReferences the tickets beyond the first for
	// one reference.
	References          int `json:"references"`
	DuplicateReferences int `json:"duplicate_references"`

	// Injected counts the failures answered, per mode.
	Injected map[string]int `json:"injected"`
	// Mode is the SetMode mode; Window the current failure window, if any.
	Mode   string      `json:"mode"`
	Window *WindowInfo `json:"window,omitempty"`
	// Latency is Config.Latency.
	Latency string `json:"latency"`

	// LastTicketAt is when the newest ticket was stored (real time), so a
	// script can measure how long a backlog took to drain.
	LastTicketAt *time.Time `json:"last_ticket_at,omitempty"`
}

// WindowInfo describes a failure window.
type WindowInfo struct {
	Mode       string    `json:"mode"`
	Started    time.Time `json:"started"`
	Until      time.Time `json:"until"`
	RetryAfter string    `json:"retry_after,omitempty"`
	Active     bool      `json:"active"`
}

// TicketInfo is one stored ticket as GET /_tickets lists it.
type TicketInfo struct {
	ID        int64     `json:"id"`
	Marker    string    `json:"marker,omitempty"`
	Reference string    `json:"reference,omitempty"`
	Subject   string    `json:"subject"`
	Priority  int       `json:"priority"`
	CreatedAt time.Time `json:"created_at"`
}

// Stats counts what the fake holds and has seen.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{
		Tickets:     len(s.tickets),
		Notes:       len(s.notes),
		Requests:    len(s.requests),
		InvalidJSON: len(s.badBodies),
		Injected:    map[string]int{},
		Mode:        s.mode,
		Latency:     s.latency.String(),
	}
	for k, v := range s.injected {
		st.Injected[k] = v
	}
	if !s.window.until.IsZero() {
		wi := &WindowInfo{Mode: s.window.mode, Started: s.window.started, Until: s.window.until, Active: time.Now().Before(s.window.until)}
		if s.window.retryAfter > 0 {
			wi.RetryAfter = s.window.retryAfter.String()
		}
		st.Window = wi
	}
	if !s.lastTicketAt.IsZero() {
		at := s.lastTicketAt
		st.LastTicketAt = &at
	}
	for _, r := range s.requests {
		switch {
		case r.Method == http.MethodPost && r.Path == "/api/v2/tickets":
			st.TicketPOSTs++
		case r.Method == http.MethodGet && r.Path == "/api/v2/tickets":
			st.ListRequests++
		case r.Method == http.MethodPost:
			st.NotePOSTs++
		}
	}
	tickets := slices.Clone(s.tickets)
	s.mu.Unlock()

	markers, refs := map[string]int{}, map[string]int{}
	for _, tk := range tickets {
		if m := tk.Marker(); m != "" {
			markers[m]++
		} else {
			st.Unmarked++
		}
		if ref := tk.Reference(); ref != "" {
			refs[ref]++
		}
	}
	st.Markers, st.References = len(markers), len(refs)
	for _, n := range markers {
		st.Duplicates += n - 1
	}
	for _, n := range refs {
		st.DuplicateReferences += n - 1
	}
	return st
}

func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) serveTickets(w http.ResponseWriter, _ *http.Request) {
	tickets := s.Tickets()
	out := make([]TicketInfo, 0, len(tickets))
	for _, tk := range tickets {
		out = append(out, TicketInfo{ID: tk.ID, Marker: tk.Marker(), Reference: tk.Reference(),
			Subject: tk.Subject, Priority: tk.Priority, CreatedAt: tk.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

// serveWindow sets a failure window: POST /_window?mode=M&for=60s[&retry_after=3s].
// for=0 ends the current window.
func (s *Server) serveWindow(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	mode := q.Get("mode")
	if !slices.Contains(Modes(), mode) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unknown mode", "modes": Modes()})
		return
	}
	d, err := time.ParseDuration(q.Get("for"))
	if err != nil || d < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "for must be a duration such as 60s"})
		return
	}
	var retryAfter time.Duration
	if v := q.Get("retry_after"); v != "" {
		if retryAfter, err = time.ParseDuration(v); err != nil || retryAfter < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "retry_after must be a duration such as 3s"})
			return
		}
	}
	if d == 0 {
		s.FailUntil(ModeNormal, time.Time{}, 0)
	} else {
		s.FailFor(mode, d, retryAfter)
	}
	writeJSON(w, http.StatusOK, s.Stats())
}
