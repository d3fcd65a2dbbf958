package rasa

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Config configures NewHandler.
type Config struct {
	Actions []Action
	// Token, when set, is required on /webhook and /actions as the query
	// parameter "token" (what Rasa's endpoints.yml `token:` sends) or as
	// "Authorization: Bearer <token>".
	Token string
	// MaxBodyBytes limits the body after decompression; 0 → 16 MiB.
	MaxBodyBytes int64
	// ActionTimeout is the deadline put on the action's context; 0 → 10s.
	ActionTimeout time.Duration
	Logger        zerolog.Logger
	// Metrics from NewMetrics; nil → unregistered metrics.
	Metrics *Metrics
	// Gatherer is served on GET /metrics; nil → no /metrics route.
	Gatherer prometheus.Gatherer
	// Ready answers GET /ready; nil → always ready.
	Ready func() bool
}

const (
	defaultMaxBody = 16 << 20
	defaultTimeout = 10 * time.Second
	stateKey       = "rasa.call"
)

type server struct {
	actions     map[string]Action
	actionsJSON []byte
	hasToken    bool
	tokenHash   [32]byte
	maxBody     int64
	timeout     time.Duration
	log         zerolog.Logger
	metrics     *Metrics
	ready       func() bool
	pools       pools
}

// callState carries what the access log and the metrics need from a handler.
type callState struct {
	webhook bool
	action  string // registered action name, else ""
	outcome string
}

// NewHandler builds the action server's HTTP handler. It returns an error
// when an action is nil or two actions share a name (including "").
func NewHandler(cfg Config) (http.Handler, error) {
	s := &server{
		pools:   pools{large: make(chan struct{}, maxLargeBodies)},
		actions: make(map[string]Action, len(cfg.Actions)),
		maxBody: cfg.MaxBodyBytes,
		timeout: cfg.ActionTimeout,
		log:     cfg.Logger,
		metrics: cfg.Metrics,
		ready:   cfg.Ready,
	}
	if s.maxBody <= 0 {
		s.maxBody = defaultMaxBody
	}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(nil)
	}
	if cfg.Token != "" {
		s.hasToken = true
		s.tokenHash = sha256.Sum256([]byte(cfg.Token))
	}
	list := []byte{'['}
	for i, a := range cfg.Actions {
		if a == nil {
			return nil, fmt.Errorf("rasa: action #%d is nil", i)
		}
		name := a.Name()
		if name == "" {
			return nil, fmt.Errorf("rasa: action #%d has an empty name", i)
		}
		if _, dup := s.actions[name]; dup {
			return nil, fmt.Errorf("rasa: action %q registered twice", name)
		}
		s.actions[name] = a
		s.metrics.precreate(name)
		if i > 0 {
			list = append(list, ',')
		}
		list = append(list, `{"name":`...)
		list = appendString(list, name)
		list = append(list, '}')
	}
	s.actionsJSON = append(list, ']')
	return s.routes(cfg.Gatherer), nil
}

func (s *server) routes(gatherer prometheus.Gatherer) http.Handler {
	// Release mode silences gin's debug output; gin.New has no default
	// logger or recovery, ours are below.
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// Rasa posts to the configured URL verbatim; a redirect would lose the body.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.Use(s.observe)

	protected := r.Group("/", s.auth)
	protected.POST("/webhook", s.webhook)
	protected.POST("/webhook/", s.webhook)
	protected.GET("/actions", s.listActions)

	r.GET("/health", func(c *gin.Context) { writeJSON(c, http.StatusOK, []byte(`{"status":"ok"}`)) })
	r.GET("/ready", s.readiness)
	if gatherer != nil {
		r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
	}
	r.NoRoute(func(c *gin.Context) { writeError(c, http.StatusNotFound, "not found", "") })
	r.NoMethod(func(c *gin.Context) { writeError(c, http.StatusMethodNotAllowed, "method not allowed", "") })
	return r
}

// observe assigns the request id, puts the request logger into the context,
// recovers panics outside actions, and writes the access log and metrics.
func (s *server) observe(c *gin.Context) {
	start := time.Now()
	id := requestID(c.GetHeader("X-Request-ID"))
	c.Header("X-Request-ID", id)
	log := s.log.With().Str("request_id", id).Logger()
	c.Request = c.Request.WithContext(log.WithContext(c.Request.Context()))
	st := &callState{}
	c.Set(stateKey, st)

	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.Error().Str("panic", fmt.Sprint(p)).Bytes("stack", debug.Stack()).Msg("handler panic")
			st.outcome = OutcomeError
			if !c.Writer.Written() {
				writeError(c, http.StatusInternalServerError, "internal error", st.action)
			}
		}
		elapsed := time.Since(start)
		status := c.Writer.Status()
		// Only calls that reached the webhook route count as action requests.
		st.webhook = c.Request.Method == http.MethodPost && strings.HasPrefix(c.FullPath(), "/webhook")
		ev := log.Info()
		if status >= 500 {
			ev = log.Warn()
		}
		ev = ev.Str("method", c.Request.Method).
			Str("path", truncate(c.Request.URL.Path, 256)).
			Str("query", maskQuery(c.Request.URL.RawQuery)).
			Int("status", status).
			Float64("duration_ms", float64(elapsed.Microseconds())/1000)
		if st.action != "" {
			ev = ev.Str("action", st.action)
		}
		if st.outcome != "" {
			ev = ev.Str("outcome", st.outcome)
		}
		ev.Msg("request")
		if st.webhook {
			label := st.action
			if label == "" {
				label = unknownActionLabel
			}
			outcome := st.outcome
			if outcome == "" {
				outcome = OutcomeError
			}
			s.metrics.observe(label, outcome, elapsed.Seconds())
		}
	}()
	c.Next()
}

func callOf(c *gin.Context) *callState {
	if v, ok := c.Get(stateKey); ok {
		return v.(*callState)
	}
	return &callState{}
}

func (s *server) auth(c *gin.Context) {
	if !s.hasToken || s.tokenOK(c.Request) {
		return
	}
	callOf(c).outcome = OutcomeUnauthorized
	writeError(c, http.StatusUnauthorized, "missing or invalid token", "")
	c.Abort()
}

// tokenOK compares hashes so that neither content nor length of the token
// leaks through timing.
func (s *server) tokenOK(r *http.Request) bool {
	if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		if s.tokenMatches(strings.TrimSpace(auth[7:])) {
			return true
		}
	}
	if r.URL.RawQuery == "" {
		return false
	}
	for _, v := range r.URL.Query()["token"] {
		if s.tokenMatches(v) {
			return true
		}
	}
	return false
}

func (s *server) tokenMatches(got string) bool {
	h := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(h[:], s.tokenHash[:]) == 1
}

func (s *server) listActions(c *gin.Context) { writeJSON(c, http.StatusOK, s.actionsJSON) }

func (s *server) readiness(c *gin.Context) {
	if s.ready == nil || s.ready() {
		writeJSON(c, http.StatusOK, []byte(`{"status":"ready"}`))
		return
	}
	writeJSON(c, http.StatusServiceUnavailable, []byte(`{"status":"draining"}`))
}

func (s *server) webhook(c *gin.Context) {
	st := callOf(c)
	body, release, cerr := s.pools.readBody(c.Writer, c.Request, s.maxBody)
	defer release()
	if cerr != nil {
		st.outcome = cerr.outcome
		writeError(c, cerr.status, cerr.msg, "")
		return
	}
	req := new(Request)
	if err := decodeRequest(body, req); err != nil {
		st.outcome = OutcomeBadRequest
		writeError(c, http.StatusBadRequest, err.Error(), "")
		return
	}
	a, ok := s.actions[req.NextAction]
	if !ok {
		st.outcome = OutcomeUnknownAction
		writeError(c, http.StatusNotFound,
			"No registered action found for name '"+truncate(req.NextAction, 200)+"'.", truncate(req.NextAction, 200))
		return
	}
	st.action = a.Name()

	ctx, cancel := context.WithTimeout(c.Request.Context(), s.timeout)
	defer cancel()
	res, err := runAction(ctx, a, req)
	if err == nil {
		out := s.pools.getScratch()
		var b []byte
		if b, err = res.appendJSON((*out)[:0]); err == nil {
			st.outcome = OutcomeOK
			writeJSON(c, http.StatusOK, b)
			s.pools.putScratch(out, b)
			return
		}
		err = fmt.Errorf("serialising the result: %w", err)
	}
	if re, ok := asReject(err); ok {
		st.outcome = OutcomeRejected
		writeError(c, http.StatusBadRequest, re.Reason, st.action)
		return
	}
	st.outcome = OutcomeError
	ev := zerolog.Ctx(ctx).Error().Str("action", st.action).Err(err)
	var pe *panicError
	if errors.As(err, &pe) {
		ev = ev.Bytes("stack", pe.stack)
	}
	ev.Msg("action failed")
	writeError(c, http.StatusInternalServerError, "internal error", st.action)
}

// panicError is a recovered panic of an action.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

func runAction(ctx context.Context, a Action, req *Request) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return a.Run(ctx, req)
}

func writeJSON(c *gin.Context, status int, body []byte) {
	c.Data(status, "application/json", body)
}

// writeError answers {"error": msg} plus "action_name" when known: Rasa
// requires action_name in a 400 to treat it as a rejection.
func writeError(c *gin.Context, status int, msg, action string) {
	b := make([]byte, 0, 64+len(msg)+len(action))
	b = append(b, `{"error":`...)
	b = appendString(b, msg)
	if action != "" {
		b = append(b, `,"action_name":`...)
		b = appendString(b, action)
	}
	b = append(b, '}')
	writeJSON(c, status, b)
}

// requestID keeps a caller's X-Request-ID when it is short and plain,
// otherwise makes a new one.
func requestID(in string) string {
	if validRequestID(in) {
		return in
	}
	var raw [16]byte
	a, b := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		raw[i] = byte(a >> (8 * i))
		raw[8+i] = byte(b >> (8 * i))
	}
	return hex.EncodeToString(raw[:])
}

func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '_' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// maskQuery hides the value of every parameter whose name mentions "token".
// maskQuery logs only the parameter names: values may be a token, or card
// and phone digits percent-encoded past the redaction layer. Rasa itself
// sends no query parameter but the token.
func maskQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		key, _, _ := strings.Cut(p, "=")
		if len(key) > 32 || strings.ContainsFunc(key, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-' || r == '.')
		}) {
			key = "?" // a key is no place for data either: only plain names are logged
		}
		parts[i] = key + "=***"
	}
	return truncate(strings.Join(parts, "&"), 512)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
