package freshdesk

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reason says why a call failed, in words the outbox worker acts on. The
// values double as the label of freshdesk_api_failures_total.
type Reason string

// Failure reasons. Every *APIError carries exactly one, and each reason maps
// to exactly one of Retryable, Uncertain or Permanent.
const (
	// ReasonClient: Freshdesk refused the request (400, 404, 405, 406, 409,
	// 415, an unexpected 3xx) or it was refused before sending. Permanent.
	ReasonClient Reason = "client"
	// ReasonAuth: 401 or 403, a bad or rotated key or a role without rights.
	ReasonAuth Reason = "auth"
	// ReasonRateLimited: 429; Freshdesk did not process the request.
	ReasonRateLimited Reason = "rate_limited"
	// ReasonServer: 5xx, or a success status with an unreadable body. The
	// request reached Freshdesk, so a POST may have taken effect.
	ReasonServer Reason = "server"
	// ReasonTimeout: no usable answer after the request may have reached
	// Freshdesk: deadline, cancellation, connection reset, truncated body.
	ReasonTimeout Reason = "timeout"
	// ReasonNetwork: the request provably never left: no connection was
	// obtained (connection refused, DNS failure, TLS failure, dial timeout).
	ReasonNetwork Reason = "network"
)

func allReasons() []Reason {
	return []Reason{ReasonClient, ReasonAuth, ReasonRateLimited, ReasonServer, ReasonTimeout, ReasonNetwork}
}

// FieldError is one entry of a validation error's "errors" array.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Code    string `json:"code"`
}

// RateLimit is what Freshdesk's X-RateLimit-* headers said. Known is false
// when the response carried none of them (or there was no response).
type RateLimit struct {
	Total              int
	Remaining          int
	UsedCurrentRequest int
	Known              bool
}

// APIError is the error the Client returns for every failed call (the one
// exception, ErrListTruncated, comes with usable results). Every string in
// it has the API key removed.
type APIError struct {
	Operation string // create_ticket, list_tickets, add_note
	Status    int    // HTTP status; 0 when no response arrived
	Reason    Reason
	// Code and Message come from either body shape Freshdesk uses: the flat
	// {"code","message"} object, or the validation object, whose
	// "description" becomes Message and whose "errors" become Fields.
	Code       string
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration // from Retry-After; 0 when absent
	RateLimit  RateLimit
	// Sent is true once a connection to Freshdesk was obtained: from then on
	// some or all of the request may have been processed.
	Sent bool

	cause error // sanitised: never holds the key
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("freshdesk ")
	b.WriteString(e.Operation)
	b.WriteString(": ")
	switch {
	case e.Status != 0:
		fmt.Fprintf(&b, "HTTP %d (%s)", e.Status, e.Reason)
	case e.Reason == ReasonClient:
		b.WriteString("rejected before sending")
	case e.Sent:
		fmt.Fprintf(&b, "%s after the request was sent", e.Reason)
	default:
		fmt.Fprintf(&b, "%s, request not sent", e.Reason)
	}
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(" [")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s", f.Field, f.Code)
		if i == len(e.Fields)-1 {
			b.WriteString("]")
		}
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Unwrap exposes context.DeadlineExceeded / context.Canceled when they were
// the cause, and otherwise a redacted copy of the transport error.
func (e *APIError) Unwrap() error { return e.cause }

// Retryable reports that the request was provably not processed (429, or it
// never left), so sending the same body again cannot duplicate a ticket.
// Wait RetryAfter first when it is set.
func (e *APIError) Retryable() bool {
	return e.Reason == ReasonRateLimited || e.Reason == ReasonNetwork
}

// Uncertain reports that the request reached Freshdesk but its outcome is
// unknown (timeout, reset, 5xx): a ticket may exist. Reconcile through
// ListTickets before sending again.
func (e *APIError) Uncertain() bool {
	return e.Reason == ReasonTimeout || e.Reason == ReasonServer
}

// Permanent reports a refusal that repeating will not fix (4xx other than
// 429, including 401/403): dead-letter it.
func (e *APIError) Permanent() bool {
	return e.Reason == ReasonClient || e.Reason == ReasonAuth
}

// reasonForStatus classifies an HTTP status that is not a success.
func reasonForStatus(status int) Reason {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ReasonAuth
	case status == http.StatusTooManyRequests:
		return ReasonRateLimited
	case status >= 500:
		return ReasonServer
	default:
		// 3xx lands here too: redirects are not followed (a redirected POST
		// is a misconfigured base URL, not something to replay elsewhere).
		return ReasonClient
	}
}

// errorBody covers both error shapes Freshdesk sends.
type errorBody struct {
	Description string       `json:"description"`
	Errors      []FieldError `json:"errors"`
	Code        string       `json:"code"`
	Message     string       `json:"message"`
}

// decodeErrorBody fills Code, Message and Fields. Proxies in front of
// Freshdesk answer 502/504 with HTML, so an undecodable body is not an error.
func (e *APIError) decodeErrorBody(body []byte, redact func(string) string) {
	var eb errorBody
	if len(body) == 0 || json.Unmarshal(body, &eb) != nil {
		return
	}
	e.Code = redact(eb.Code)
	e.Message = redact(eb.Message)
	if e.Message == "" {
		e.Message = redact(eb.Description)
	}
	for _, f := range eb.Errors {
		e.Fields = append(e.Fields, FieldError{
			Field:   redact(f.Field),
			Message: redact(f.Message),
			Code:    redact(f.Code),
		})
	}
	if e.Code == "" && len(e.Fields) == 1 {
		e.Code = e.Fields[0].Code
	}
}

// parseRateLimit reads the X-RateLimit-* headers (Header.Get is
// case-insensitive, which matters: Freshdesk's docs spell them two ways).
func parseRateLimit(h http.Header) RateLimit {
	var rl RateLimit
	read := func(name string, dst *int) {
		if v, err := strconv.Atoi(strings.TrimSpace(h.Get(name))); err == nil {
			*dst = v
			rl.Known = true
		}
	}
	read("X-RateLimit-Total", &rl.Total)
	read("X-RateLimit-Remaining", &rl.Remaining)
	read("X-RateLimit-Used-CurrentRequest", &rl.UsedCurrentRequest)
	return rl
}

// parseRetryAfter accepts delta-seconds (what Freshdesk sends) and, per
// RFC 9110, an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// ErrListTruncated is returned by ListTickets together with the tickets it
// did fetch when more pages remained than the query allowed. Narrow
// UpdatedSince rather than paging further: Freshdesk rejects deep pages.
var ErrListTruncated = errors.New("freshdesk: ticket list truncated at the page limit")
