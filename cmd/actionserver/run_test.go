package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineBuffer collects the server's log lines and announces the listen address.
type lineBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	addrC chan string
	once  sync.Once
}

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		var line struct {
			Msg  string `json:"message"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
			l.once.Do(func() { l.addrC <- line.Addr })
		}
	}
	return len(p), nil
}

func (l *lineBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

type server struct {
	base string
	logs *lineBuffer
	stop func() error
}

// startServer calls run on port 0 with env, waits for /health and returns a
// function that stops the server (SIGTERM-equivalent) and returns run's error.
func startServer(t *testing.T, env map[string]string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lineBuffer{addrC: make(chan string, 1)}
	getenv := func(k string) string {
		if k == "ACTIONS_ADDR" {
			if v, ok := env[k]; ok {
				return v
			}
			return "127.0.0.1:0"
		}
		return env[k]
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx, getenv, logs) }()
	var addr string
	select {
	case addr = <-logs.addrC:
	case err := <-done:
		cancel()
		t.Fatalf("run returned before listening: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("server did not start:\n%s", logs.String())
	}
	s := &server{base: "http://" + addr, logs: logs}
	var once sync.Once
	var runErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				t.Error("server did not stop")
			}
		})
		return runErr
	}
	t.Cleanup(func() { s.stop() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(s.base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health never answered 200: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

func (s *server) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(s.base+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: reply is not a JSON object: %s", path, raw)
	}
	return resp.StatusCode, out
}

// call is one Rasa action call with a tracker reduced to what Rasa always sends.
type call struct {
	events []map[string]any
	slots  map[string]any
	latest map[string]any
}

func (c *call) request(next string) map[string]any {
	return map[string]any{
		"next_action": next, "sender_id": "+34600111222", "version": "3.6.21",
		"tracker": map[string]any{
			"sender_id": "+34600111222", "slots": c.slots, "latest_message": c.latest, "events": c.events,
			"active_loop": map[string]any{}, "latest_action_name": "action_listen", "paused": false,
		},
	}
}

func (c *call) apply(reply map[string]any) {
	evs, _ := reply["events"].([]any)
	for _, e := range evs {
		m := e.(map[string]any)
		c.events = append(c.events, m)
		if m["event"] == "slot" {
			c.slots[m["name"].(string)] = m["value"]
		}
	}
}

func (c *call) user(text, intent string) {
	c.latest = map[string]any{"text": text, "intent": map[string]any{"name": intent, "confidence": 0.99}, "entities": []any{}, "metadata": map[string]any{}}
	c.events = append(c.events, map[string]any{"event": "user", "text": text, "parse_data": c.latest, "timestamp": 1764766900.5})
}

func (c *call) candidates(requested string, kv ...string) {
	c.events = append(c.events,
		map[string]any{"event": "slot", "name": "requested_slot", "value": nilIfEmpty(requested)},
		map[string]any{"event": "action", "name": "card_block_form"})
	for i := 0; i+1 < len(kv); i += 2 {
		c.events = append(c.events, map[string]any{"event": "slot", "name": kv[i], "value": kv[i+1]})
		c.slots[kv[i]] = kv[i+1]
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func responseName(t *testing.T, reply map[string]any) string {
	t.Helper()
	rs, _ := reply["responses"].([]any)
	if len(rs) != 1 {
		t.Fatalf("want exactly one response, got %v", reply["responses"])
	}
	name, _ := rs[0].(map[string]any)["response"].(string)
	return name
}

// TestRunWholeConversation drives a complete card-block call over HTTP
// against run on port 0 with the embedded demo bank, then stops it.
func TestRunWholeConversation(t *testing.T) {
	s := startServer(t, map[string]string{"ACTION_SERVER_TOKEN": "test-token-123"})

	resp, err := http.Get(s.base + "/actions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/actions without token: %d, want 401", resp.StatusCode)
	}
	resp, err = http.Get(s.base + "/actions?token=test-token-123")
	if err != nil {
		t.Fatal(err)
	}
	var names []map[string]string
	json.NewDecoder(resp.Body).Decode(&names)
	resp.Body.Close()
	if len(names) != 5 {
		t.Fatalf("/actions listed %v", names)
	}

	hook := "/webhook?token=test-token-123"
	c := &call{slots: map[string]any{"session_started_metadata": map[string]any{"call_id": "CA-run-1", "user_phone": "+34600111222"}}}
	status, reply := s.post(t, hook, c.request("action_session_start"))
	if status != 200 {
		t.Fatalf("session start: %d %v", status, reply)
	}
	c.apply(reply)

	c.user("me han robado la tarjeta", "report_theft")
	c.candidates("", "block_reason", "stolen")
	_, reply = s.post(t, hook, c.request("validate_card_block_form"))
	c.apply(reply)
	if c.slots["requested_slot"] != "card_last4" {
		t.Fatalf("form asks %v, want card_last4", c.slots["requested_slot"])
	}
	c.user("cuatro cinco seis siete", "give_digits")
	c.candidates("card_last4", "card_last4", "cuatro cinco seis siete")
	_, reply = s.post(t, hook, c.request("validate_card_block_form"))
	c.apply(reply)
	if c.slots["card_last4"] != "4567" {
		t.Fatalf("card_last4 = %v", c.slots["card_last4"])
	}

	for _, step := range []struct{ action, want string }{
		{"action_verify_last4", "utter_confirm_block"},
		{"action_block_card", "utter_card_blocked"},
		{"action_create_ticket", "utter_ticket_queued"},
		{"action_block_card", "utter_card_already_blocked"},
	} {
		status, reply = s.post(t, hook, c.request(step.action))
		if status != 200 {
			t.Fatalf("%s: %d %v", step.action, status, reply)
		}
		if got := responseName(t, reply); got != step.want {
			t.Fatalf("%s said %s, want %s", step.action, got, step.want)
		}
		c.apply(reply)
	}

	resp, err = http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`cards_blocked_total{reason="stolen"} 1`, `card_verifications_total{result="verified"} 1`, `actions_requests_total{action="action_block_card",outcome="ok"} 2`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	if err := s.stop(); err != nil {
		t.Fatalf("run returned %v", err)
	}
	logs := s.logs.String()
	for _, secret := range []string{"test-token-123", "600111222", "4567", "CA-run-1"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	for _, want := range []string{"effective configuration", "EMBEDDED DEMO BANK", "stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
}

// TestShutdownDrainsInFlight: a request in flight when shutdown begins still
// completes, /ready turns 503 while draining, and run returns nil.
func TestShutdownDrainsInFlight(t *testing.T) {
	s := startServer(t, nil)
	resp, err := http.Get(s.base + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/ready = %d before shutdown", resp.StatusCode)
	}
	// A slow upload: the body arrives in two halves around the shutdown.
	pr, pw := io.Pipe()
	result := make(chan int, 1)
	go func() {
		resp, err := http.Post(s.base+"/webhook", "application/json", pr)
		if err != nil {
			result <- -1
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	body, _ := json.Marshal((&call{slots: map[string]any{}}).request("action_session_start"))
	pw.Write(body[:10])
	time.Sleep(100 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	time.Sleep(100 * time.Millisecond)
	pw.Write(body[10:])
	pw.Close()
	if code := <-result; code != 200 {
		t.Fatalf("in-flight request got %d, want 200", code)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run returned %v", err)
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"LOG_FORMAT", "xml"}, {"VERIFY_WINDOW", "soon"}, {"VERIFY_MAX_ATTEMPTS", "0"}, {"MAX_BODY_BYTES", "10"},
		{"FRESHDESK_API_URL", "https://sctbnk.freshdesk.com"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			_, err := loadConfig(func(k string) string {
				if k == tc.key {
					return tc.value
				}
				return ""
			})
			if err == nil {
				t.Fatalf("%s=%s accepted", tc.key, tc.value)
			}
		})
	}
}

func TestConfigLogMasksSecrets(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "postgres://app:hunter2@db:5432/cards?password=hunter2", "ACTION_SERVER_TOKEN": "tok-secret", "FRESHDESK_API_KEY": "fd-secret", "FRESHDESK_API_URL": "https://x.freshdesk.com", "FRESHDESK_EXTERNAL_ID_KEY": "hmac-secret-0123456789"}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cfg.logFields())
	for _, secret := range []string{"hunter2", "tok-secret", "fd-secret", "hmac-secret"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("config log contains %q: %s", secret, b)
		}
	}
	if !strings.Contains(string(b), "db:5432/cards") {
		t.Errorf("database host lost: %s", b)
	}
}

// TestRunDeliversTicketsToFreshdesk: with Freshdesk configured, the block's
// ticket is delivered during action_create_ticket and the caller hears its
// number; calling the action again creates nothing new.
func TestRunDeliversTicketsToFreshdesk(t *testing.T) {
	var mu sync.Mutex
	var posts []map[string]any
	fd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "fd-key" || pass != "X" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost && r.URL.Path == "/api/v2/tickets" {
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			mu.Lock()
			posts = append(posts, body)
			id := 9000 + len(posts)
			mu.Unlock()
			w.Header().Set("Location", fmt.Sprintf("http://%s/api/v2/tickets/%d", r.Host, id))
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"id":%d,"subject":%q}`, id, body["subject"])
			return
		}
		w.Write([]byte(`[]`))
	}))
	defer fd.Close()

	s := startServer(t, map[string]string{
		"FRESHDESK_API_URL": fd.URL, "FRESHDESK_API_KEY": "fd-key", "FRESHDESK_EXTERNAL_ID_KEY": "0123456789abcdef0123",
	})
	c := &call{slots: map[string]any{"session_started_metadata": map[string]any{"call_id": "CA-fd-1", "user_phone": "+34600111222"}, "card_last4": "4567", "block_reason": "fraud"}}
	for _, step := range []struct{ action, want string }{
		{"action_verify_last4", "utter_confirm_block"},
		{"action_block_card", "utter_card_blocked"},
		{"action_create_ticket", "utter_ticket_created"},
		{"action_create_ticket", "utter_ticket_created"},
	} {
		_, reply := s.post(t, "/webhook", c.request(step.action))
		if got := responseName(t, reply); got != step.want {
			t.Fatalf("%s said %s, want %s", step.action, got, step.want)
		}
		c.apply(reply)
	}
	if c.slots["ticket_id"] != "9001" || c.slots["ticket_status"] != "created" {
		t.Fatalf("ticket slots: %v %v", c.slots["ticket_id"], c.slots["ticket_status"])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 1 {
		t.Fatalf("%d tickets created, want 1", len(posts))
	}
	if posts[0]["priority"] != 4.0 || posts[0]["source"] != 3.0 {
		t.Errorf("fraud ticket: priority %v source %v", posts[0]["priority"], posts[0]["source"])
	}
	if !strings.Contains(fmt.Sprint(posts[0]["description"]), "****4567") {
		t.Errorf("ticket lacks the masked card: %v", posts[0]["description"])
	}
	if strings.Contains(s.logs.String(), "fd-key") {
		t.Error("logs contain the Freshdesk key")
	}
}
