package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sctbnk/cardblock/bench/bankfile"
)

// Names of the actions and of the replies the scenarios look for (design §4).
const (
	actSessionStart  = "action_session_start"
	actVerify        = "action_verify_last4"
	actBlock         = "action_block_card"
	actTicket        = "action_create_ticket"
	uttConfirm       = "utter_confirm_block"
	uttBlocked       = "utter_card_blocked"
	uttUnavailable   = "utter_service_unavailable"
	uttTicketCreated = "utter_ticket_created"
	uttTicketQueued  = "utter_ticket_queued"
)

type customer = bankfile.Customer

// readBank reads exactly n customers with an active card from a gen-bank
// file, skipping the first offset of them.
func readBank(file string, offset, n int) ([]customer, error) {
	out, err := bankfile.Read(file, offset, n)
	if err != nil {
		return nil, err
	}
	if len(out) < n {
		return nil, fmt.Errorf("bank file %s has %d usable customers after offset %d, need %d", file, len(out), offset, n)
	}
	return out, nil
}

// client is one HTTP client for all callers, with a timeout well past the
// requests' deadline so that an overrun is measured, not cut.
func newClient(conc int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: conc * 2, MaxConnsPerHost: conc * 2,
			DialContext: (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
		},
	}
}

// record is one action call as a caller saw it.
type record struct {
	Action   string
	CallID   string
	Start    time.Time
	Latency  time.Duration
	Status   int    // 0: no HTTP answer
	Response string // the first response's template name
	Err      string
	Ref      string // block_reference slot set by the reply
	TicketID string // ticket_id slot set by the reply
}

func (r record) end() time.Time { return r.Start.Add(r.Latency) }

// recorder collects records from concurrent callers.
type recorder struct {
	mu   sync.Mutex
	recs []record
}

func (rc *recorder) add(r record) {
	rc.mu.Lock()
	rc.recs = append(rc.recs, r)
	rc.mu.Unlock()
}

func (rc *recorder) all() []record {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.recs)
}

// callBody is a Rasa request for one action of call callID: the tracker
// carries what Rasa's tracker holds by then (session metadata, the card's
// last four, the reason), the conversation key being the call id.
func callBody(action string, c customer, callID string) []byte {
	b, _ := json.Marshal(map[string]any{
		"next_action": action, "sender_id": c.Phone, "version": "3.6.21",
		"tracker": map[string]any{
			"sender_id": c.Phone,
			"slots": map[string]any{"card_last4": c.Last4, "block_reason": "stolen",
				"session_started_metadata": map[string]any{"call_id": callID, "user_phone": c.Phone}},
			"events": []any{}, "latest_message": nil, "active_loop": map[string]any{},
			"latest_action_name": "action_listen",
		},
	})
	return b
}

// act posts one action call and records what came back.
func act(ctx context.Context, client *http.Client, base, action string, c customer, callID string) record {
	rec := record{Action: action, CallID: callID, Start: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhook", bytes.NewReader(callBody(action, c, callID)))
	if err != nil {
		rec.Err = err.Error()
		return rec
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		rec.Latency = time.Since(rec.Start)
		rec.Err = err.Error()
		return rec
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	rec.Latency = time.Since(rec.Start)
	rec.Status = resp.StatusCode
	if err != nil {
		rec.Err = err.Error()
		return rec
	}
	var reply struct {
		Events []struct {
			Event string `json:"event"`
			Name  string `json:"name"`
			Value any    `json:"value"`
		} `json:"events"`
		Responses []struct {
			Response string `json:"response"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		rec.Err = fmt.Sprintf("reply is not JSON: %.100s", body)
		return rec
	}
	if len(reply.Responses) > 0 {
		rec.Response = reply.Responses[0].Response
	}
	for _, e := range reply.Events {
		if e.Event != "slot" {
			continue
		}
		s, _ := e.Value.(string)
		switch e.Name {
		case "block_reference":
			rec.Ref = s
		case "ticket_id":
			rec.TicketID = s
		}
	}
	return rec
}

// callFlow is one phone call as Rasa would drive it: session start,
// verification, block, ticket; the call stops (hand-off) at the first
// reply that is not the expected one. It returns the block's record, if
// the call got that far.
type callFlow struct {
	client  *http.Client
	base    func() string
	rec     *recorder
	session bool // start with action_session_start
	ticket  bool // end with action_create_ticket
}

func (f callFlow) run(ctx context.Context, c customer, callID string) (block record, reached bool) {
	step := func(action string) record {
		r := act(ctx, f.client, f.base(), action, c, callID)
		f.rec.add(r)
		return r
	}
	if f.session {
		if r := step(actSessionStart); r.Status != 200 {
			return record{}, false
		}
	}
	if r := step(actVerify); r.Status != 200 || r.Response != uttConfirm {
		return record{}, false
	}
	block = step(actBlock)
	if block.Status != 200 || block.Response != uttBlocked || !f.ticket {
		return block, true
	}
	step(actTicket)
	return block, true
}

// tally counts records by a key.
func tally(recs []record, key func(record) string) map[string]int {
	out := map[string]int{}
	for _, r := range recs {
		out[key(r)]++
	}
	return out
}

// outcome is a record's short description: the reply's template, the
// status when it is not 200, or "transport error".
func outcome(r record) string {
	switch {
	case r.Status == 0:
		return "transport error"
	case r.Status != 200:
		return fmt.Sprintf("HTTP %d", r.Status)
	case r.Response == "" && r.Action == actSessionStart:
		return "session started"
	case r.Response == "":
		return "no response"
	}
	return r.Response
}

func maxLatency(recs []record) (time.Duration, record) {
	var m time.Duration
	var at record
	for _, r := range recs {
		if r.Latency > m {
			m, at = r.Latency, r
		}
	}
	return m, at
}

func percentile(recs []record, p float64) time.Duration {
	if len(recs) == 0 {
		return 0
	}
	l := make([]time.Duration, len(recs))
	for i, r := range recs {
		l[i] = r.Latency
	}
	slices.Sort(l)
	return l[int(p*float64(len(l)-1))]
}

// sortedKeys renders a tally as "k: n, k: n" in key order.
func sortedKeys(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d", k, m[k])
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}
