package freshdesk

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Freshdesk ticket enums (API v2).
const (
	StatusOpen = 2

	PriorityLow    = 1
	PriorityMedium = 2
	PriorityHigh   = 3
	PriorityUrgent = 4

	SourcePhone = 3
)

// Ticket is the body of POST /api/v2/tickets. Only documented fields exist
// here (Freshdesk answers 400 invalid_field to anything else), and the field
// order is fixed, so one Ticket always encodes to the same bytes.
type Ticket struct {
	Name             string            `json:"name,omitempty"`
	Email            string            `json:"email,omitempty"`
	Phone            string            `json:"phone,omitempty"`
	UniqueExternalID string            `json:"unique_external_id,omitempty"`
	Subject          string            `json:"subject"`
	Description      string            `json:"description"`
	Status           int               `json:"status"`
	Priority         int               `json:"priority"`
	Source           int               `json:"source"`
	Tags             []string          `json:"tags,omitempty"`
	CustomFields     map[string]string `json:"custom_fields,omitempty"`
}

// Created is a ticket Freshdesk accepted.
type Created struct {
	ID        int64
	Location  string
	RateLimit RateLimit
}

// CreateTicket sends exactly one POST /api/v2/tickets. It never retries: on
// failure the *APIError says whether a retry is safe (Retryable), whether
// the ticket may exist (Uncertain: reconcile with ListTickets first) or
// whether to give up (Permanent).
func (c *Client) CreateTicket(ctx context.Context, t Ticket) (Created, error) {
	body, err := encodeJSON(t)
	if err != nil {
		return Created{}, &APIError{Operation: opCreateTicket, Reason: ReasonClient, Message: "encode ticket", cause: err}
	}
	out, err := c.do(ctx, request{op: opCreateTicket, method: http.MethodPost, path: "/api/v2/tickets", body: body})
	if err != nil {
		return Created{}, err
	}
	var created struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal(out.body, &created) // a missing id falls back to Location
	loc := out.header.Get("Location")
	if created.ID <= 0 {
		created.ID = idFromLocation(loc)
	}
	if created.ID <= 0 {
		return Created{}, c.badBody(opCreateTicket, out, "no ticket id")
	}
	return Created{ID: created.ID, Location: loc, RateLimit: out.rateLimit}, nil
}

func idFromLocation(loc string) int64 {
	u, err := url.Parse(loc)
	if err != nil {
		return 0
	}
	id, err := strconv.ParseInt(path.Base(u.Path), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// List limits. Freshdesk refuses per_page above 100 and pages beyond 300
// (failure log #7); a reconciler that needs more should narrow UpdatedSince.
const (
	maxPerPage      = 100
	defaultMaxPages = 3
	maxPages        = 10
)

// ListQuery selects a requester's tickets for reconciliation. Exactly one
// of UniqueExternalID, Email and RequesterID must be set.
type ListQuery struct {
	UniqueExternalID string
	Email            string
	RequesterID      int64
	// UpdatedSince is required: without it Freshdesk silently returns only
	// the last 30 days (failure log #8).
	UpdatedSince time.Time
	PerPage      int // 1..100; 0 means 100
	MaxPages     int // 1..10; 0 means 3
}

// TicketSummary is a ticket as the list endpoint returns it.
type TicketSummary struct {
	ID      int64    `json:"id"`
	Subject string   `json:"subject"`
	Tags    []string `json:"tags"`
	// CustomFields values are whatever JSON Freshdesk returns (often null).
	CustomFields map[string]any `json:"custom_fields"`
	CreatedAt    time.Time      `json:"created_at"`
}

// ListTickets returns the requester's tickets updated since q.UpdatedSince,
// newest first. An invalid query is an *APIError with ReasonClient and no
// request is made. When more pages remain than q.MaxPages allows it returns
// the tickets read so far together with ErrListTruncated.
func (c *Client) ListTickets(ctx context.Context, q ListQuery) ([]TicketSummary, error) {
	params, pages, err := q.values()
	if err != nil {
		return nil, err
	}
	var all []TicketSummary
	for page := 1; ; page++ {
		params.Set("page", strconv.Itoa(page))
		out, err := c.do(ctx, request{op: opListTickets, method: http.MethodGet, path: "/api/v2/tickets", query: params})
		if err != nil {
			return nil, err
		}
		var got []TicketSummary
		if err := json.Unmarshal(out.body, &got); err != nil {
			return nil, c.badBody(opListTickets, out, "not a ticket list")
		}
		all = append(all, got...)
		if !hasNextPage(out.header, len(got), params) {
			return all, nil
		}
		if page >= pages {
			return all, ErrListTruncated
		}
	}
}

func (q ListQuery) values() (url.Values, int, error) {
	invalid := func(msg string) (url.Values, int, error) {
		return nil, 0, &APIError{Operation: opListTickets, Reason: ReasonClient, Code: "invalid_query", Message: msg}
	}
	v := url.Values{}
	filters := 0
	if q.UniqueExternalID != "" {
		v.Set("unique_external_id", q.UniqueExternalID)
		filters++
	}
	if q.Email != "" {
		v.Set("email", q.Email)
		filters++
	}
	if q.RequesterID > 0 {
		v.Set("requester_id", strconv.FormatInt(q.RequesterID, 10))
		filters++
	}
	if filters != 1 {
		return invalid("exactly one of unique_external_id, email, requester_id is required")
	}
	if q.UpdatedSince.IsZero() {
		return invalid("updated_since is required")
	}
	perPage, pages := q.PerPage, q.MaxPages
	if perPage <= 0 || perPage > maxPerPage {
		perPage = maxPerPage
	}
	if pages <= 0 {
		pages = defaultMaxPages
	}
	pages = min(pages, maxPages)
	v.Set("updated_since", q.UpdatedSince.UTC().Format("2006-01-02T15:04:05Z"))
	v.Set("order_by", "created_at")
	v.Set("order_type", "desc")
	v.Set("per_page", strconv.Itoa(perPage))
	return v, pages, nil
}

// hasNextPage trusts the Link header Freshdesk sends on every page but the
// last; without one, a full page means there may be more.
func hasNextPage(h http.Header, n int, params url.Values) bool {
	links := h.Values("Link")
	if len(links) == 0 {
		return strconv.Itoa(n) == params.Get("per_page")
	}
	for _, l := range links {
		if strings.Contains(l, `rel="next"`) {
			return true
		}
	}
	return false
}

// Matches reports whether s is the ticket that t created: it carries t's
// outbox marker tag, or t's block reference in a custom field. Freshdesk's
// documented list response omits tags, so configure a ReferenceField.
func (s TicketSummary) Matches(t Ticket) bool {
	if m := markerTag(t.Tags); m != "" && s.HasTag(m) {
		return true
	}
	for field, want := range t.CustomFields {
		if got, ok := s.CustomFields[field].(string); ok && want != "" && strings.EqualFold(got, want) {
			return true
		}
	}
	return false
}

// HasTag compares case-insensitively: Freshdesk may normalise tag case.
func (s TicketSummary) HasTag(tag string) bool {
	for _, t := range s.Tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

// HasReference reports whether s carries the block reference ref as a tag
// or in any custom field: the ticket a follow-up note belongs on.
func (s TicketSummary) HasReference(ref string) bool {
	if ref == "" {
		return false
	}
	if s.HasTag(ref) {
		return true
	}
	for _, v := range s.CustomFields {
		if got, ok := v.(string); ok && strings.EqualFold(got, ref) {
			return true
		}
	}
	return false
}

// ReconcileQueries lists where a ticket built from t can be found. A ticket
// lands on the contact Freshdesk matches first, which for a known email may
// be a contact without our external id, so both are searched.
func (t Ticket) ReconcileQueries(since time.Time) []ListQuery {
	var qs []ListQuery
	if t.Email != "" {
		qs = append(qs, ListQuery{Email: t.Email, UpdatedSince: since})
	}
	if t.UniqueExternalID != "" {
		qs = append(qs, ListQuery{UniqueExternalID: t.UniqueExternalID, UpdatedSince: since})
	}
	return qs
}

// Note is a conversation note. The zero value is private: a public note
// would be visible to the customer, so Public must be asked for.
type Note struct {
	Body   string // HTML
	Public bool
}

type noteBody struct {
	Body    string `json:"body"`
	Private bool   `json:"private"`
}

// AddNote sends exactly one POST /api/v2/tickets/{id}/notes and returns the
// note id. Failures are *APIError, classified as for CreateTicket.
func (c *Client) AddNote(ctx context.Context, ticketID int64, n Note) (int64, error) {
	if ticketID <= 0 {
		return 0, &APIError{Operation: opAddNote, Reason: ReasonClient, Code: "invalid_ticket_id", Message: "ticket id must be positive"}
	}
	body, err := encodeJSON(noteBody{Body: n.Body, Private: !n.Public})
	if err != nil {
		return 0, &APIError{Operation: opAddNote, Reason: ReasonClient, Message: "encode note", cause: err}
	}
	out, err := c.do(ctx, request{
		op:     opAddNote,
		method: http.MethodPost,
		path:   "/api/v2/tickets/" + strconv.FormatInt(ticketID, 10) + "/notes",
		body:   body,
	})
	if err != nil {
		return 0, err
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if json.Unmarshal(out.body, &created) != nil || created.ID <= 0 {
		return 0, c.badBody(opAddNote, out, "no note id")
	}
	return created.ID, nil
}

// encodeJSON encodes v without HTML escaping (the description is HTML and
// stays readable) and without the encoder's trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
