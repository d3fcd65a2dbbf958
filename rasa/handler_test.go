package rasa

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
)

// syncBuffer collects log lines written from server goroutines.
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

// lines returns the JSON log lines.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", l)
		}
		out = append(out, m)
	}
	return out
}

type testServer struct {
	h   http.Handler
	log *syncBuffer
	reg *prometheus.Registry
}

const testToken = "s3cret-t0ken"

// Actions used by the HTTP tests.
func testActions() []Action {
	return []Action{
		validateCardForm(),
		NewAction("action_reject", func(ctx context.Context, req *Request) (Result, error) {
			return Result{}, fmt.Errorf("wrapped: %w", Reject("nothing to validate"))
		}),
		NewAction("action_reject_value", func(ctx context.Context, req *Request) (Result, error) {
			return Result{}, RejectError{Reason: "by value"}
		}),
		NewAction("action_fail", func(ctx context.Context, req *Request) (Result, error) {
			return Result{}, errors.New("database exploded")
		}),
		NewAction("action_panic", func(ctx context.Context, req *Request) (Result, error) {
			var m map[string]int
			m["boom"]++
			return Result{}, nil
		}),
		NewAction("action_bad_result", func(ctx context.Context, req *Request) (Result, error) {
			return Result{Events: []Event{SlotSet("x", func() {})}}, nil
		}),
		NewAction("action_context", func(ctx context.Context, req *Request) (Result, error) {
			dl, ok := ctx.Deadline()
			zerolog.Ctx(ctx).Info().Msg("inside action")
			return Result{Responses: []Message{Custom(map[string]any{"has_deadline": ok, "within": time.Until(dl) <= 3*time.Second})}}, nil
		}),
	}
}

func newTestServer(t *testing.T, mutate func(*Config)) *testServer {
	t.Helper()
	ts := &testServer{log: &syncBuffer{}, reg: prometheus.NewRegistry()}
	cfg := Config{
		Actions:       testActions(),
		Token:         testToken,
		ActionTimeout: 3 * time.Second,
		Logger:        zerolog.New(ts.log),
		Metrics:       NewMetrics(ts.reg),
		Gatherer:      ts.reg,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.h = h
	return ts
}

func (ts *testServer) do(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	ts.h.ServeHTTP(w, req)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" && req.URL.Path != "/metrics" {
		t.Errorf("%s %s → %d with Content-Type %q", req.Method, req.URL, w.Code, ct)
	}
	return w
}

func webhookReq(body []byte, target string) *http.Request {
	if target == "" {
		target = "/webhook?token=" + testToken
	}
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func jsonBody(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", w.Body, err)
	}
	return m
}

func minimalBody(action string) []byte {
	return []byte(`{"next_action":"` + action + `","sender_id":"CA1","tracker":{"sender_id":"CA1","slots":{},"latest_message":null,"events":[],"active_loop":{}},"version":"3.14.0"}`)
}

func TestWebhookStatuses(t *testing.T) {
	ts := newTestServer(t, nil)
	valid := rasaRequestBody(t, "validate_card_block_form", 50, true)
	tests := []struct {
		name       string
		body       []byte
		wantStatus int
		wantError  string // substring; "" = success
		wantAction any    // action_name in the body, nil = absent
	}{
		{"ok", valid, 200, "", nil},
		{"unknown action", minimalBody("action_nope"), 404, "No registered action found for name 'action_nope'.", "action_nope"},
		{"rejection via Reject", minimalBody("action_reject"), 400, "nothing to validate", "action_reject"},
		{"rejection by value", minimalBody("action_reject_value"), 400, "by value", "action_reject_value"},
		{"action error", minimalBody("action_fail"), 500, "internal error", "action_fail"},
		{"action panic", minimalBody("action_panic"), 500, "internal error", "action_panic"},
		{"unserialisable result", minimalBody("action_bad_result"), 500, "internal error", "action_bad_result"},
		{"empty body", nil, 400, "empty request body", nil},
		{"truncated", valid[:len(valid)/2], 400, "truncated JSON body", nil},
		{"tracker is a number", []byte(`{"next_action":"validate_card_block_form","tracker":5}`), 400, "field tracker has the wrong JSON type", nil},
		{"next_action is a number", []byte(`{"next_action":3}`), 400, "field next_action has the wrong JSON type", nil},
		{"missing next_action", []byte(`{"sender_id":"x","tracker":{}}`), 400, "missing next_action", nil},
		{"array body", []byte(`[]`), 400, "request body must be a JSON object", nil},
		{"not JSON", []byte(`hola`), 400, "invalid JSON", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := ts.do(t, webhookReq(tt.body, ""))
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.wantStatus, w.Body)
			}
			m := jsonBody(t, w)
			if tt.wantError == "" {
				if _, ok := m["events"].([]any); !ok {
					t.Errorf("no events array: %s", w.Body)
				}
				if _, ok := m["responses"].([]any); !ok {
					t.Errorf("no responses array: %s", w.Body)
				}
				return
			}
			if e, _ := m["error"].(string); !strings.Contains(e, tt.wantError) {
				t.Errorf("error %q, want %q", e, tt.wantError)
			}
			if m["action_name"] != tt.wantAction {
				t.Errorf("action_name %v, want %v", m["action_name"], tt.wantAction)
			}
		})
	}
	// The server keeps serving after the panic.
	if w := ts.do(t, webhookReq(valid, "")); w.Code != 200 {
		t.Fatalf("after panic: %d", w.Code)
	}
}

func TestWebhookResultBody(t *testing.T) {
	ts := newTestServer(t, nil)
	w := ts.do(t, webhookReq(rasaRequestBody(t, "validate_card_block_form", 50, false), ""))
	want := `{"events":[{"event":"slot","timestamp":null,"name":"card_last4","value":"4567"}],"responses":[{"response":"utter_confirm_block","card_spoken":"4 5 6 7","reason":"lost"}]}`
	if w.Code != 200 || w.Body.String() != want {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

func TestActionErrorsLoggedOnce(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, action := range []string{"action_fail", "action_panic"} {
		ts.do(t, webhookReq(minimalBody(action), ""))
	}
	var errorsLogged []map[string]any
	for _, l := range ts.log.lines(t) {
		if l["level"] == "error" {
			errorsLogged = append(errorsLogged, l)
		}
	}
	if len(errorsLogged) != 2 {
		t.Fatalf("%d error lines, want one per failed call: %s", len(errorsLogged), ts.log)
	}
	if errorsLogged[0]["action"] != "action_fail" || errorsLogged[0]["request_id"] == nil {
		t.Errorf("error line = %v", errorsLogged[0])
	}
	if errorsLogged[1]["stack"] == nil {
		t.Errorf("panic line without stack: %v", errorsLogged[1])
	}
}

func TestBodyLimitsAndEncodings(t *testing.T) {
	ts := newTestServer(t, nil)
	small := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 512 << 10 })
	valid := rasaRequestBody(t, "validate_card_block_form", 50, true)

	compress := func(kind string, data []byte) []byte {
		var buf bytes.Buffer
		var w io.WriteCloser
		switch kind {
		case "zlib":
			w, _ = zlib.NewWriterLevel(&buf, zlib.BestCompression)
		case "raw":
			w, _ = flate.NewWriter(&buf, flate.BestCompression)
		case "gzip":
			w, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
		}
		w.Write(data)
		w.Close()
		return buf.Bytes()
	}
	// A 20 MiB body whose JSON is valid apart from its size.
	huge := append(append([]byte(`{"next_action":"validate_card_block_form","pad":"`), bytes.Repeat([]byte("a"), 20<<20)...), `"}`...)
	bomb := append(append([]byte(`{"next_action":"validate_card_block_form","pad":"`), make([]byte, 1<<20)...), `"}`...)
	smallBomb := compress("zlib", bomb)
	if len(smallBomb) > 1100 {
		t.Fatalf("bomb is %d bytes, want about 1 KiB", len(smallBomb))
	}

	tests := []struct {
		name       string
		srv        *testServer
		body       []byte
		encoding   string
		chunked    bool
		wantStatus int
	}{
		{"identity", ts, valid, "", false, 200},
		{"chunked", ts, valid, "", true, 200},
		{"zlib deflate (what Rasa sends)", ts, compress("zlib", valid), "deflate", true, 200},
		{"raw deflate", ts, compress("raw", valid), "deflate", false, 200},
		{"gzip", ts, compress("gzip", valid), "gzip", false, 200},
		{"encoding is case-insensitive", ts, compress("zlib", valid), " Deflate ", false, 200},
		{"identity encoding", ts, valid, "identity", false, 200},
		{"brotli unsupported", ts, valid, "br", false, 415},
		{"stacked encodings unsupported", ts, valid, "gzip, deflate", false, 415},
		{"corrupt deflate", ts, []byte("\x78\x9c not deflate at all"), "deflate", false, 400},
		{"corrupt gzip", ts, []byte("not gzip"), "gzip", false, 400},
		{"empty deflate", ts, nil, "deflate", false, 400},
		{"truncated zlib", ts, compress("zlib", valid)[:200], "deflate", false, 400},
		{"20 MiB body", ts, huge, "", false, 413},
		{"20 MiB chunked body", ts, huge, "", true, 413},
		{"20 MiB gzip body", ts, compress("gzip", huge), "gzip", false, 413},
		{"1 KiB deflate bomb", small, smallBomb, "deflate", false, 413},
		{"1 KiB deflate bomb, chunked", small, smallBomb, "deflate", true, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := webhookReq(tt.body, "")
			if tt.encoding != "" {
				r.Header.Set("Content-Encoding", tt.encoding)
			}
			if tt.chunked {
				r.ContentLength = -1
				r.Body = io.NopCloser(struct{ io.Reader }{bytes.NewReader(tt.body)})
			}
			w := tt.srv.do(t, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %.200s", w.Code, tt.wantStatus, w.Body)
			}
			if m := jsonBody(t, w); tt.wantStatus != 200 && m["error"] == nil {
				t.Errorf("no error key: %s", w.Body)
			}
		})
	}
}

// A body that inflates to 128 times the limit must be refused after reading
// about the limit.
func TestDeflateBombMemory(t *testing.T) {
	const limit = 1 << 20
	ts := newTestServer(t, func(c *Config) { c.MaxBodyBytes = limit })
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
	zw.Write([]byte(`{"next_action":"x","pad":"`))
	zeros := make([]byte, 1<<20)
	for range 128 {
		zw.Write(zeros)
	}
	zw.Close()
	bomb := buf.Bytes()
	t.Logf("%d compressed bytes inflate to %d MiB", len(bomb), 128)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := webhookReq(bomb, "")
	r.Header.Set("Content-Encoding", "deflate")
	w := ts.do(t, r)
	runtime.ReadMemStats(&after)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", w.Code)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*limit {
		t.Errorf("allocated %d bytes for a %d-byte limit", alloc, limit)
	}
}

func TestAuth(t *testing.T) {
	ts := newTestServer(t, nil)
	body := minimalBody("action_context")
	tests := []struct {
		name   string
		method string
		target string
		bearer string
		want   int
	}{
		{"query token", "POST", "/webhook?token=" + testToken, "", 200},
		{"bearer token", "POST", "/webhook", testToken, 200},
		{"escaped query token", "POST", "/webhook?token=s3cret%2Dt0ken", "", 200},
		{"wrong query token, right bearer", "POST", "/webhook?token=nope", testToken, 200},
		{"no token", "POST", "/webhook", "", 401},
		{"wrong token", "POST", "/webhook?token=s3cret-t0keN", "", 401},
		{"wrong bearer", "POST", "/webhook", "nope", 401},
		{"token prefix", "POST", "/webhook?token=s3cret", "", 401},
		{"empty token", "POST", "/webhook?token=", "", 401},
		{"actions needs token", "GET", "/actions", "", 401},
		{"actions with token", "GET", "/actions?token=" + testToken, "", 200},
		{"health is open", "GET", "/health", "", 200},
		{"ready is open", "GET", "/ready", "", 200},
		{"metrics is open", "GET", "/metrics", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *http.Request
			if tt.method == "POST" {
				r = webhookReq(body, tt.target)
			} else {
				r = httptest.NewRequest(tt.method, tt.target, nil)
			}
			if tt.bearer != "" {
				r.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			w := ts.do(t, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want == 401 {
				if m := jsonBody(t, w); m["error"] == nil {
					t.Errorf("401 body %s", w.Body)
				}
			}
		})
	}
	open := newTestServer(t, func(c *Config) { c.Token = "" })
	if w := open.do(t, webhookReq(body, "/webhook")); w.Code != 200 {
		t.Errorf("no token configured: %d", w.Code)
	}
}

func TestAccessLog(t *testing.T) {
	ts := newTestServer(t, nil)
	body := rasaRequestBody(t, "validate_card_block_form", 50, true)
	r := webhookReq(body, "/webhook?token="+testToken+"&x=1&Token=other-secret&access%5Ftoken=xyzzy-secret")
	r.Header.Set("X-Request-ID", "req-42.a_b")
	w := ts.do(t, r)
	if w.Code != 200 || w.Header().Get("X-Request-ID") != "req-42.a_b" {
		t.Fatalf("status %d, request id %q", w.Code, w.Header().Get("X-Request-ID"))
	}
	ts.do(t, webhookReq(minimalBody("action_unregistered_secret_name"), ""))

	out := ts.log.String()
	for _, leak := range []string{testToken, "other-secret", "xyzzy-secret", "cuatro", "4567", "+34600000000", "perdido", "action_unregistered_secret_name", "CA5f3e0c"} {
		if strings.Contains(out, leak) {
			t.Errorf("access log contains %q:\n%s", leak, out)
		}
	}
	lines := ts.log.lines(t)
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want one per request:\n%s", len(lines), out)
	}
	first := lines[0]
	want := map[string]any{
		"method": "POST", "path": "/webhook", "query": "token=***&x=***&Token=***&?=***",
		"status": 200.0, "action": "validate_card_block_form", "outcome": "ok", "request_id": "req-42.a_b",
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s = %v, want %v", k, first[k], v)
		}
	}
	if _, ok := first["duration_ms"].(float64); !ok {
		t.Error("no duration_ms")
	}
	second := lines[1]
	if _, ok := second["action"]; ok || second["outcome"] != "unknown_action" || second["status"] != 404.0 {
		t.Errorf("unknown action line = %v", second)
	}
}

func TestRequestIDAndLoggerInContext(t *testing.T) {
	ts := newTestServer(t, nil)
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"valid", "abc-DEF_1.2", true},
		{"absent", "", false},
		{"too long", strings.Repeat("a", 65), false},
		{"max length", strings.Repeat("a", 64), true},
		{"bad characters", "abc def", false},
		{"injection", "a\"}\n{", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := webhookReq(minimalBody("action_context"), "")
			if tt.in != "" {
				r.Header.Set("X-Request-ID", tt.in)
			}
			w := ts.do(t, r)
			got := w.Header().Get("X-Request-ID")
			if tt.keep && got != tt.in {
				t.Errorf("request id %q, want %q", got, tt.in)
			}
			if !tt.keep && (got == tt.in || !validRequestID(got)) {
				t.Errorf("request id %q not replaced by a fresh valid one", got)
			}
			var res struct {
				Responses []struct {
					Custom map[string]bool `json:"custom"`
				} `json:"responses"`
			}
			json.Unmarshal(w.Body.Bytes(), &res)
			if c := res.Responses[0].Custom; !c["has_deadline"] || !c["within"] {
				t.Errorf("action context deadline: %v", c)
			}
			found := false
			for _, l := range ts.log.lines(t) {
				if l["message"] == "inside action" && l["request_id"] == got {
					found = true
				}
			}
			if !found {
				t.Errorf("action's zerolog.Ctx logger lacks request_id %q", got)
			}
		})
	}
}

func TestOtherRoutes(t *testing.T) {
	draining := false
	ts := newTestServer(t, func(c *Config) { c.Ready = func() bool { return !draining } })
	tests := []struct {
		name, method, target string
		want                 int
		body                 string
	}{
		{"health", "GET", "/health", 200, `{"status":"ok"}`},
		{"ready", "GET", "/ready", 200, `{"status":"ready"}`},
		{"actions", "GET", "/actions?token=" + testToken, 200,
			`[{"name":"validate_card_block_form"},{"name":"action_reject"},{"name":"action_reject_value"},{"name":"action_fail"},{"name":"action_panic"},{"name":"action_bad_result"},{"name":"action_context"}]`},
		{"unknown route", "GET", "/nope", 404, `{"error":"not found"}`},
		{"webhook GET", "GET", "/webhook", 405, `{"error":"method not allowed"}`},
		{"health POST", "POST", "/health", 405, `{"error":"method not allowed"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := ts.do(t, httptest.NewRequest(tt.method, tt.target, nil))
			if w.Code != tt.want || w.Body.String() != tt.body {
				t.Errorf("%d %s, want %d %s", w.Code, w.Body, tt.want, tt.body)
			}
			if !validRequestID(w.Header().Get("X-Request-ID")) {
				t.Errorf("no request id on %s", tt.target)
			}
		})
	}
	draining = true
	if w := ts.do(t, httptest.NewRequest("GET", "/ready", nil)); w.Code != 503 || w.Body.String() != `{"status":"draining"}` {
		t.Errorf("draining: %d %s", w.Code, w.Body)
	}
	alwaysReady := newTestServer(t, func(c *Config) { c.Ready = nil; c.Gatherer = nil })
	if w := alwaysReady.do(t, httptest.NewRequest("GET", "/ready", nil)); w.Code != 200 {
		t.Errorf("nil Ready: %d", w.Code)
	}
	if w := alwaysReady.do(t, httptest.NewRequest("GET", "/metrics", nil)); w.Code != 404 || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("no gatherer: /metrics %d", w.Code)
	}
	if w := ts.do(t, webhookReq(minimalBody("action_context"), "/webhook/?token="+testToken)); w.Code != 200 {
		t.Errorf("trailing slash: %d", w.Code)
	}
	zeroLogger := newTestServer(t, func(c *Config) { c.Logger = zerolog.Logger{}; c.Metrics = nil })
	if w := zeroLogger.do(t, webhookReq(minimalBody("action_panic"), "")); w.Code != 500 {
		t.Errorf("zero logger, nil metrics: %d", w.Code)
	}
	empty := newTestServer(t, func(c *Config) { c.Actions = nil })
	if w := empty.do(t, httptest.NewRequest("GET", "/actions?token="+testToken, nil)); w.Body.String() != `[]` {
		t.Errorf("empty registry: %s", w.Body)
	}
}

func counter(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			return metricValue(m), true
		}
	}
	return 0, false
}

func metricValue(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return float64(m.GetHistogram().GetSampleCount())
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t, nil)
	// Pre-created series are visible before any call.
	if v, ok := counter(t, ts.reg, "actions_requests_total", map[string]string{"action": "action_fail", "outcome": "ok"}); !ok || v != 0 {
		t.Errorf("pre-created ok series: %v %v", v, ok)
	}
	calls := []struct {
		req *http.Request
	}{
		{webhookReq(rasaRequestBody(t, "validate_card_block_form", 10, false), "")},
		{webhookReq(minimalBody("action_reject"), "")},
		{webhookReq(minimalBody("action_fail"), "")},
		{webhookReq(minimalBody("action_panic"), "")},
		{webhookReq(minimalBody("no_such_action"), "")},
		{webhookReq([]byte(`{`), "")},
		{webhookReq(minimalBody("action_fail"), "/webhook")},
		{func() *http.Request {
			r := webhookReq(minimalBody("action_fail"), "")
			r.Header.Set("Content-Encoding", "br")
			return r
		}()},
		{func() *http.Request {
			r := webhookReq(bytes.Repeat([]byte("x"), 100), "")
			return r
		}()},
	}
	small := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 10; c.Metrics = NewMetrics(ts.reg) })
	for _, c := range calls {
		ts.do(t, c.req)
	}
	small.do(t, webhookReq(minimalBody("action_fail"), ""))
	ts.do(t, httptest.NewRequest("GET", "/health", nil))
	ts.do(t, webhookReq(minimalBody("action_fail"), "/webhooks?token="+testToken)) // not the webhook route

	want := []struct {
		action, outcome string
		n               float64
	}{
		{"validate_card_block_form", "ok", 1},
		{"action_reject", "rejected", 1},
		{"action_fail", "error", 1},
		{"action_panic", "error", 1},
		{"unknown", "unknown_action", 1},
		{"unknown", "bad_request", 2},
		{"unknown", "unauthorized", 1},
		{"unknown", "unsupported_encoding", 1},
		{"unknown", "too_large", 1},
	}
	for _, w := range want {
		v, ok := counter(t, ts.reg, "actions_requests_total", map[string]string{"action": w.action, "outcome": w.outcome})
		if !ok || v != w.n {
			t.Errorf("actions_requests_total{%s,%s} = %v (found %v), want %v", w.action, w.outcome, v, ok, w.n)
		}
	}
	if v, found := counter(t, ts.reg, "actions_requests_total", map[string]string{"action": "unknown", "outcome": "error"}); found {
		t.Errorf("a request outside the webhook route was counted: %v", v)
	}
	if v, _ := counter(t, ts.reg, "actions_request_duration_seconds", map[string]string{"action": "unknown"}); v != 6 {
		t.Errorf("duration samples for unknown = %v", v)
	}
	mfs, _ := ts.reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "action" && strings.Contains(lp.GetValue(), "no_such") {
					t.Errorf("unregistered action name used as a label")
				}
			}
		}
	}
	w := ts.do(t, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `actions_requests_total{action="action_reject",outcome="rejected"} 1`) {
		t.Errorf("/metrics: %d\n%s", w.Code, w.Body)
	}
}

func TestNewHandlerValidation(t *testing.T) {
	ok := func(ctx context.Context, req *Request) (Result, error) { return Result{}, nil }
	tests := []struct {
		name    string
		actions []Action
		wantErr bool
	}{
		{"distinct", []Action{NewAction("a", ok), NewAction("b", ok)}, false},
		{"none", nil, false},
		{"duplicate", []Action{NewAction("a", ok), NewAction("b", ok), NewAction("a", ok)}, true},
		{"empty name", []Action{NewAction("", ok)}, true},
		{"nil action", []Action{nil}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHandler(Config{Actions: tt.actions, Logger: zerolog.Nop()})
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// Two handlers in one process, each with its own registry, and one more
// sharing a registry: no duplicate-registration panic, no shared counters.
func TestSeparateHandlers(t *testing.T) {
	a := newTestServer(t, nil)
	b := newTestServer(t, nil)
	shared := newTestServer(t, func(c *Config) { c.Metrics = NewMetrics(a.reg) })
	a.do(t, webhookReq(minimalBody("action_reject"), ""))
	shared.do(t, webhookReq(minimalBody("action_reject"), ""))
	if v, _ := counter(t, a.reg, "actions_requests_total", map[string]string{"action": "action_reject", "outcome": "rejected"}); v != 2 {
		t.Errorf("registry a: %v", v)
	}
	if v, found := counter(t, b.reg, "actions_requests_total", map[string]string{"action": "action_reject", "outcome": "rejected"}); found && v != 0 {
		t.Errorf("registry b counted another handler's call: %v", v)
	}
	if NewMetrics(nil) == nil {
		t.Error("NewMetrics(nil) = nil")
	}
}

// A real server: keep-alive connections, chunked transfer encoding and
// concurrent callers, with the race detector when enabled.
func TestRealServerConcurrent(t *testing.T) {
	ts := newTestServer(t, nil)
	srv := httptest.NewServer(ts.h)
	defer srv.Close()
	body := rasaRequestBody(t, "validate_card_block_form", 50, false)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rd io.Reader = bytes.NewReader(body)
			if i%2 == 0 {
				rd = struct{ io.Reader }{rd} // unknown length → chunked
			}
			resp, err := http.Post(srv.URL+"/webhook?token="+testToken, "application/json", rd)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !bytes.Contains(b, []byte(`"card_last4"`)) {
				errs <- fmt.Errorf("status %d %s", resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMaskQueryHidesEncodedValues(t *testing.T) {
	for _, raw := range []string{"p=%2B34600111222", "c=4000%201234%205678%204562", "c=%34%30%30%30", "t=secret", "token%3Dsecret", "4111111111111111=x"} {
		got := maskQuery(raw)
		for _, leak := range []string{"34600111222", "4000", "%34", "secret", "4111"} {
			if strings.Contains(got, leak) {
				t.Errorf("maskQuery(%q) = %q leaks %q", raw, got, leak)
			}
		}
	}
}

// TestLargeBodiesTakeTurns: bodies over largeBody hold one of maxLargeBodies
// places while they are read and run, so concurrent 16 MiB trackers cannot add
// up past the container's memory; small bodies never wait.
func TestLargeBodiesTakeTurns(t *testing.T) {
	running := make(chan struct{}, 8)
	proceed := make(chan struct{})
	slow := NewAction("slow", func(ctx context.Context, req *Request) (Result, error) {
		running <- struct{}{}
		<-proceed
		return Result{}, nil
	})
	h, err := NewHandler(Config{Actions: []Action{slow}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	big := []byte(`{"next_action":"slow","sender_id":"x","tracker":{"events":[],"pad":"` + strings.Repeat("a", largeBody+10) + `"}}`)
	small := []byte(`{"next_action":"slow","sender_id":"x","tracker":{}}`)
	done := make(chan int, 8)
	send := func(body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body)))
		done <- rec.Code
	}
	for i := 0; i < maxLargeBodies+1; i++ {
		go send(big)
	}
	for i := 0; i < maxLargeBodies; i++ {
		<-running
	}
	go send(small)
	select {
	case <-running: // the small one is not held up by the waiting large one
	case <-time.After(5 * time.Second):
		t.Fatal("a small body waited behind large ones")
	}
	select {
	case <-running:
		t.Fatal("more large bodies in flight than allowed")
	case <-time.After(100 * time.Millisecond):
	}
	close(proceed)
	for i := 0; i < maxLargeBodies+2; i++ {
		if code := <-done; code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
}
