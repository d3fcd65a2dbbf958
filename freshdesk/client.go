// Package freshdesk is SCTBNK's client for the Freshdesk API v2 (tickets and
// notes) and the builder that turns a cardstore.TicketRequest into the
// Spanish ticket the back office reads.
//
// Freshdesk has no idempotency key, so the client never retries by itself: a
// replayed POST after a timeout or a 5xx can open a second ticket. Every
// failure is an *APIError whose Reason tells the outbox worker whether to
// retry, reconcile first, or give up.
package freshdesk

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	_ "time/tzdata" // Europe/Madrid must resolve in distroless images too.

	"github.com/go-resty/resty/v2"
	"github.com/rs/zerolog"
)

const (
	defaultTimeout   = 10 * time.Second
	maxResponseBytes = 8 << 20
	userAgent        = "sctbnk-cardblock-freshdesk/1"
	redacted         = "[REDACTED]"
	// minExternalIDKey keeps unknown callers' external ids from being a
	// plain hash of a phone number, which anyone could reverse by brute force.
	minExternalIDKey = 16
)

// Config configures a Client.
type Config struct {
	// BaseURL is the helpdesk's API host, e.g. https://sctbnk.freshdesk.com.
	// It must not carry credentials, a query or a fragment.
	BaseURL string
	// APIKey is the integration agent's key (Basic auth username, password "X").
	APIKey string
	// Timeout bounds each HTTP request, on top of the caller's context.
	// Zero means 10s.
	Timeout time.Duration
	// HTTPClient is copied, never modified; nil means a fresh client.
	// Redirects are never followed.
	HTTPClient *http.Client
	// ReferenceField is the API name of a ticket custom field (e.g.
	// "cf_block_reference") that receives the block reference; optional.
	ReferenceField string
	// ExternalIDKey keys the HMAC that turns an unknown caller's number into
	// the contact's unique_external_id. At least 16 bytes; keep it stable,
	// or reconciliation cannot find earlier tickets of the same caller.
	ExternalIDKey []byte
	Logger        zerolog.Logger
}

// String masks the secrets, so printing a Config cannot leak them.
func (c Config) String() string {
	return fmt.Sprintf("freshdesk.Config{BaseURL:%q APIKey:%s Timeout:%s ReferenceField:%q ExternalIDKey:%s}",
		c.BaseURL, mask(c.APIKey != ""), c.Timeout, c.ReferenceField, mask(len(c.ExternalIDKey) > 0))
}

func mask(set bool) string {
	if set {
		return redacted
	}
	return "(unset)"
}

// Client talks to one Freshdesk account. It is safe for concurrent use.
type Client struct {
	rest    *resty.Client
	metrics *Metrics
	log     zerolog.Logger
	timeout time.Duration
	redact  *strings.Replacer
	build   BuildOptions
}

// New validates cfg and returns a Client. Errors never contain the key or
// the base URL (which might hold credentials by mistake). A nil metrics
// means unregistered collectors.
func New(cfg Config, metrics *Metrics) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("freshdesk: APIKey is required")
	}
	if strings.ContainsAny(cfg.APIKey, ": \t\r\n") {
		return nil, errors.New("freshdesk: APIKey contains a colon or whitespace")
	}
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("freshdesk: Timeout is negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if len(cfg.ExternalIDKey) < minExternalIDKey {
		return nil, fmt.Errorf("freshdesk: ExternalIDKey must be at least %d bytes", minExternalIDKey)
	}
	if cfg.ReferenceField != "" && !strings.HasPrefix(cfg.ReferenceField, "cf_") {
		// Freshdesk answers 400 invalid_field for anything that is not a
		// custom field's API name; fail at start-up instead of per ticket.
		return nil, errors.New(`freshdesk: ReferenceField must be a custom field API name starting with "cf_"`)
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}

	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient // resty sets a Transport on the client it gets
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	c := &Client{
		metrics: metrics,
		log:     cfg.Logger.With().Str("component", "freshdesk").Logger(),
		timeout: cfg.Timeout,
		redact:  newRedactor(cfg.APIKey),
		build: BuildOptions{
			ReferenceField: cfg.ReferenceField,
			ExternalIDKey:  append([]byte(nil), cfg.ExternalIDKey...),
		},
	}
	c.rest = resty.NewWithClient(&hc).
		SetBaseURL(base).
		SetBasicAuth(cfg.APIKey, "X").
		SetRetryCount(0). // see the package doc: retries duplicate tickets
		SetDisableWarn(true).
		SetLogger(restyLogger{log: c.log, redact: c.redact.Replace}).
		SetResponseBodyLimit(maxResponseBytes).
		SetHeader("Accept", "application/json").
		SetHeader("User-Agent", userAgent)

	if strings.HasPrefix(base, "http://") {
		c.log.Warn().Msg("Freshdesk base URL is plain HTTP: the real API refuses it and the key would travel in clear")
	}
	return c, nil
}

func parseBaseURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("freshdesk: BaseURL is required")
	}
	// url.Parse errors quote the input, which may hold a key: keep them out.
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("freshdesk: BaseURL is not a valid URL")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", errors.New("freshdesk: BaseURL must be an https URL")
	case u.Host == "":
		return "", errors.New("freshdesk: BaseURL has no host")
	case u.User != nil:
		return "", errors.New("freshdesk: BaseURL must not contain credentials; set APIKey")
	case u.RawQuery != "" || u.Fragment != "":
		return "", errors.New("freshdesk: BaseURL must not have a query or fragment")
	}
	return strings.TrimRight(raw, "/"), nil
}

// BuildOptions returns the options this client was configured with, for
// BuildTicket.
func (c *Client) BuildOptions() BuildOptions {
	o := c.build
	o.ExternalIDKey = append([]byte(nil), o.ExternalIDKey...)
	return o
}

// newRedactor removes the key in every form it could take in a message.
func newRedactor(key string) *strings.Replacer {
	forms := []string{
		base64.StdEncoding.EncodeToString([]byte(key + ":X")),
		base64.StdEncoding.EncodeToString([]byte(key)),
		url.QueryEscape(key),
		url.PathEscape(key),
		key,
	}
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, redacted)
	}
	return strings.NewReplacer(pairs...)
}

// request is one HTTP exchange.
type request struct {
	op     string
	method string
	path   string
	query  url.Values
	body   []byte // already-encoded JSON; nil for GET
}

// response is a successful (2xx) exchange.
type response struct {
	status    int
	header    http.Header
	body      []byte
	rateLimit RateLimit
}

// do performs exactly one HTTP request and turns any failure into an
// *APIError.
func (c *Client) do(ctx context.Context, r request) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// Once a connection exists, some of the request may reach Freshdesk;
	// before that, nothing can have, so a failure is safe to retry.
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { sent.Store(true) },
	})

	req := c.rest.R().SetContext(ctx)
	if r.query != nil {
		req.SetQueryParamsFromValues(r.query)
	}
	if r.body != nil {
		// Set explicitly: for a []byte body resty would sniff text/plain,
		// and Freshdesk answers 415.
		req.SetHeader("Content-Type", "application/json").SetBody(r.body)
	}

	start := time.Now()
	resp, err := req.Execute(r.method, r.path)
	elapsed := time.Since(start)

	var out response
	if resp != nil && resp.RawResponse != nil {
		out.status = resp.StatusCode()
		out.header = resp.Header()
		out.body = resp.Body()
	}
	out.rateLimit = parseRateLimit(out.header)
	if out.header.Get("X-RateLimit-Remaining") != "" && out.rateLimit.Known {
		c.metrics.rateLimitRemaining.Set(float64(out.rateLimit.Remaining))
	}

	var apiErr *APIError
	switch {
	case err != nil:
		apiErr = &APIError{
			Operation: r.op,
			Status:    out.status,
			Reason:    ReasonNetwork,
			RateLimit: out.rateLimit,
			Sent:      sent.Load() || out.status != 0,
			cause:     c.sanitize(err),
		}
		if apiErr.Sent {
			apiErr.Reason = ReasonTimeout
		}
	case out.status < 200 || out.status > 299:
		apiErr = c.statusError(r.op, out)
	}
	c.record(r.op, out.status, apiErr, elapsed, out.rateLimit)
	if apiErr != nil {
		return out, apiErr
	}
	return out, nil
}

// statusError builds the error for a non-2xx response.
func (c *Client) statusError(op string, out response) *APIError {
	e := &APIError{
		Operation: op,
		Status:    out.status,
		Reason:    reasonForStatus(out.status),
		RateLimit: out.rateLimit,
		Sent:      true,
	}
	e.decodeErrorBody(out.body, c.redact.Replace)
	// Freshdesk sends Retry-After with 429; a proxy may send it with 503.
	e.RetryAfter = parseRetryAfter(out.header.Get("Retry-After"), time.Now())
	return e
}

// badBody reports a 2xx whose body is unusable. The request was processed,
// so for a POST the outcome is unknown: ReasonServer makes it Uncertain.
func (c *Client) badBody(op string, out response, what string) *APIError {
	c.metrics.failures.WithLabelValues(string(ReasonServer)).Inc()
	return &APIError{
		Operation: op,
		Status:    out.status,
		Reason:    ReasonServer,
		Message:   "unusable success response: " + what,
		RateLimit: out.rateLimit,
		Sent:      true,
	}
}

func (c *Client) record(op string, status int, e *APIError, elapsed time.Duration, rl RateLimit) {
	code := strconv.Itoa(status)
	if e != nil && (e.Reason == ReasonTimeout || e.Reason == ReasonNetwork) {
		code = string(e.Reason)
	}
	c.metrics.requests.WithLabelValues(op, code).Inc()
	c.metrics.duration.WithLabelValues(op).Observe(elapsed.Seconds())
	if e != nil {
		c.metrics.failures.WithLabelValues(string(e.Reason)).Inc()
	}
	// Debug only: the caller decides whether a failure deserves a log line.
	ev := c.log.Debug().Str("operation", op).Str("code", code).Dur("duration", elapsed)
	if rl.Known {
		ev = ev.Int("rate_limit_remaining", rl.Remaining)
	}
	if e != nil {
		ev = ev.Str("reason", string(e.Reason)).Bool("sent", e.Sent)
	}
	ev.Msg("freshdesk request")
}

// sanitize keeps what callers may test with errors.Is and drops the rest of
// the transport error's structure, whose URL could contain the key.
func (c *Client) sanitize(err error) error {
	s := &sanitizedError{msg: c.redact.Replace(err.Error())}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		s.target = context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		s.target = context.Canceled
	}
	return s
}

type sanitizedError struct {
	msg    string
	target error
}

func (e *sanitizedError) Error() string { return e.msg }
func (e *sanitizedError) Unwrap() error { return e.target }

// restyLogger routes resty's own messages to zerolog, redacted.
type restyLogger struct {
	log    zerolog.Logger
	redact func(string) string
}

func (l restyLogger) Errorf(format string, v ...any) {
	l.log.Error().Msg(l.redact(fmt.Sprintf(format, v...)))
}

func (l restyLogger) Warnf(format string, v ...any) {
	l.log.Warn().Msg(l.redact(fmt.Sprintf(format, v...)))
}

func (l restyLogger) Debugf(format string, v ...any) {
	l.log.Debug().Msg(l.redact(fmt.Sprintf(format, v...)))
}
