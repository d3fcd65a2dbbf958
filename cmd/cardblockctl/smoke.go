package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// smoke checks a running deployment of the action server: /health, /ready,
// /actions and a conversation that changes nothing (an unknown caller whose
// verification fails and whose block is refused). With -full it also blocks
// a demo-bank card — for staging only, never against production data.
func (a *app) smoke(ctx context.Context, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	full := fs.Bool("full", false, "also block a demo-bank card (staging only)")
	token := fs.String("token", getenv("ACTION_SERVER_TOKEN"), "action server token (default $ACTION_SERVER_TOKEN)")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline of each request")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: smoke takes the server's base URL, e.g. http://localhost:5055", errUsage)
	}
	base, err := url.Parse(strings.TrimRight(fs.Arg(0), "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("%w: %q is not an http(s) URL", errUsage, fs.Arg(0))
	}
	s := &smoker{base: base.String(), token: *token, client: &http.Client{Timeout: *timeout}, out: a.stdout}

	checks := []struct {
		name string
		run  func(context.Context) error
	}{
		{"GET /health", s.health},
		{"GET /ready", s.ready},
		{"GET /actions", s.actions},
		{"unknown caller is refused", s.unknownCaller},
	}
	if *full {
		checks = append(checks, struct {
			name string
			run  func(context.Context) error
		}{"demo card is blocked", s.blockDemoCard})
	}
	failed := 0
	for _, c := range checks {
		if err := c.run(ctx); err != nil {
			failed++
			fmt.Fprintf(a.stdout, "FAIL %s: %v\n", c.name, err)
			continue
		}
		fmt.Fprintf(a.stdout, "ok   %s\n", c.name)
	}
	fmt.Fprintf(a.stdout, "%d passed, %d failed\n", len(checks)-failed, failed)
	if failed > 0 {
		return errors.New("smoke test failed")
	}
	return nil
}

type smoker struct {
	base   string
	token  string
	client *http.Client
	out    io.Writer
}

func (s *smoker) get(ctx context.Context, path string, auth bool) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if auth && s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

func (s *smoker) health(ctx context.Context) error {
	status, body, err := s.get(ctx, "/health", false)
	if err != nil {
		return err
	}
	if status != 200 || !bytes.Contains(body, []byte(`"ok"`)) {
		return fmt.Errorf("status %d", status)
	}
	return nil
}

func (s *smoker) ready(ctx context.Context) error {
	status, _, err := s.get(ctx, "/ready", false)
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("status %d", status)
	}
	return nil
}

func (s *smoker) actions(ctx context.Context) error {
	status, body, err := s.get(ctx, "/actions", true)
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("status %d (token?)", status)
	}
	var list []struct{ Name string }
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("not a JSON list: %v", err)
	}
	var names []string
	for _, a := range list {
		names = append(names, a.Name)
	}
	for _, want := range []string{"action_session_start", "validate_card_block_form", "action_verify_last4", "action_block_card", "action_create_ticket"} {
		if !slices.Contains(names, want) {
			return fmt.Errorf("%s is not served", want)
		}
	}
	return nil
}

// conversation is a minimal tracker that accumulates the server's slot events.
type conversation struct {
	sender string
	slots  map[string]any
	events []any
}

func newConversation(phone string) *conversation {
	var b [8]byte
	rand.Read(b[:])
	callID := "CA-smoke-" + hex.EncodeToString(b[:])
	return &conversation{
		sender: "smoke-" + hex.EncodeToString(b[:4]),
		slots:  map[string]any{"session_started_metadata": map[string]any{"call_id": callID, "user_phone": phone}},
	}
}

// call runs one action and returns the names of the responses it asked for.
func (s *smoker) call(ctx context.Context, c *conversation, action string) ([]string, error) {
	body, _ := json.Marshal(map[string]any{
		"next_action": action, "sender_id": c.sender, "version": "smoke",
		"tracker": map[string]any{"sender_id": c.sender, "slots": c.slots, "events": c.events, "latest_message": nil, "active_loop": map[string]any{}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/webhook", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s: status %d", action, resp.StatusCode)
	}
	var reply struct {
		Events    []map[string]any `json:"events"`
		Responses []map[string]any `json:"responses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		return nil, fmt.Errorf("%s: reply is not JSON: %v", action, err)
	}
	for _, e := range reply.Events {
		c.events = append(c.events, e)
		if e["event"] == "slot" {
			if name, ok := e["name"].(string); ok {
				c.slots[name] = e["value"]
			}
		}
	}
	var names []string
	for _, r := range reply.Responses {
		n, _ := r["response"].(string)
		names = append(names, n)
	}
	return names, nil
}

func expect(action string, got []string, want ...string) error {
	for _, w := range want {
		if slices.Equal(got, []string{w}) {
			return nil
		}
	}
	return fmt.Errorf("%s said %v, want one of %v", action, got, want)
}

// unknownCaller: a number that is no customer, no DNI, wrong digits. The
// server must ask for the DNI, refuse the verification and refuse to block.
func (s *smoker) unknownCaller(ctx context.Context) error {
	c := newConversation("+34699000111")
	if _, err := s.call(ctx, c, "action_session_start"); err != nil {
		return err
	}
	c.events = append(c.events, map[string]any{"event": "slot", "name": "block_reason", "value": "stolen"})
	if _, err := s.call(ctx, c, "validate_card_block_form"); err != nil {
		return err
	}
	if c.slots["requested_slot"] != "national_id" {
		return fmt.Errorf("the form asks %v, want national_id for an unknown caller", c.slots["requested_slot"])
	}
	c.slots["card_last4"] = "0000"
	got, err := s.call(ctx, c, "action_verify_last4")
	if err != nil {
		return err
	}
	if err := expect("action_verify_last4", got, "utter_verification_failed"); err != nil {
		return err
	}
	got, err = s.call(ctx, c, "action_block_card")
	if err != nil {
		return err
	}
	return expect("action_block_card", got, "utter_block_refused")
}

// blockDemoCard blocks Lucía's demo debit card (or finds it blocked).
func (s *smoker) blockDemoCard(ctx context.Context) error {
	c := newConversation("+34600111222")
	if _, err := s.call(ctx, c, "action_session_start"); err != nil {
		return err
	}
	c.slots["card_last4"], c.slots["block_reason"] = "4567", "stolen"
	got, err := s.call(ctx, c, "action_verify_last4")
	if err != nil {
		return err
	}
	if err := expect("action_verify_last4", got, "utter_confirm_block", "utter_card_already_blocked"); err != nil {
		return err
	}
	got, err = s.call(ctx, c, "action_block_card")
	if err != nil {
		return err
	}
	return expect("action_block_card", got, "utter_card_blocked", "utter_card_already_blocked")
}
