package actions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/sctbnk/cardblock/actions"
	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/rasa"
	"github.com/sctbnk/cardblock/redact"
)

// testNow is the fixed clock of the action tests: 3 December 2026, 14:20 in Madrid.
var testNow = time.Date(2026, 12, 3, 13, 20, 0, 0, time.UTC)

// harness is the real HTTP handler over the real in-memory demo bank.
type harness struct {
	t       testing.TB
	store   actions.Store
	mem     *cardstore.Memory
	handler http.Handler
	logs    *syncBuffer
	reg     *prometheus.Registry
	clock   *clock
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type harnessConfig struct {
	deps  actions.Deps
	level zerolog.Level
}

type harnessOption func(*harnessConfig)

func withStore(wrap func(actions.Store) actions.Store) harnessOption {
	return func(c *harnessConfig) { c.deps.Store = wrap(c.deps.Store) }
}

func withDeliverer(dl actions.Deliverer) harnessOption {
	return func(c *harnessConfig) { c.deps.Deliverer = dl }
}

// withLogLevel sets the handler's log level (debug by default, so that the
// log tests see everything).
func withLogLevel(l zerolog.Level) harnessOption {
	return func(c *harnessConfig) { c.level = l }
}

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	bank, err := cardstore.LoadDemoBank()
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: testNow}
	mem := cardstore.NewMemory(bank, cardstore.WithClock(clk.Now))
	reg := prometheus.NewRegistry()
	hc := harnessConfig{deps: actions.Deps{Store: mem, Metrics: actions.NewMetrics(reg), Config: actions.DefaultConfig(), Now: clk.Now}, level: zerolog.DebugLevel}
	for _, o := range opts {
		o(&hc)
	}
	deps := hc.deps
	logs := &syncBuffer{}
	h, err := rasa.NewHandler(rasa.Config{
		Actions:  actions.New(deps),
		Logger:   zerolog.New(redact.Writer(logs)).Level(hc.level),
		Metrics:  rasa.NewMetrics(reg),
		Gatherer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, store: deps.Store, mem: mem, handler: h, logs: logs, reg: reg, clock: clk}
}

// call posts one webhook body and decodes the reply.
func (h *harness) call(body []byte) (int, replyJSON, []byte) {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	var r replyJSON
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			h.t.Fatalf("reply is not JSON: %v: %s", err, rec.Body.String())
		}
	}
	return rec.Code, r, rec.Body.Bytes()
}

// run calls next on c's tracker, expects a 200 and applies the reply to c.
func (h *harness) run(c *conv, next string) replyJSON {
	h.t.Helper()
	status, r, raw := h.call(c.request(next))
	if status != http.StatusOK {
		h.t.Fatalf("%s: status %d: %s", next, status, raw)
	}
	c.apply(next, r)
	return r
}

// responseNames lists the templates of a reply, in order.
func responseNames(r replyJSON) []string {
	var out []string
	for _, m := range r.Responses {
		name, _ := m["response"].(string)
		out = append(out, name)
	}
	return out
}

// slotEvents maps each slot the reply sets to its (last) value.
func slotEvents(r replyJSON) map[string]any {
	out := map[string]any{}
	for _, e := range r.Events {
		if e["event"] == "slot" {
			out[e["name"].(string)] = e["value"]
		}
	}
	return out
}

func ctxBG() context.Context { return context.Background() }
