// Command loadgen is the project's load generator: it sends Rasa action
// calls to an action server on this machine and reports throughput and
// latency percentiles. It is a benchmark tool, not a test.
//
//	loadgen -mode fixed -body req.json [-deflate] -c 16 -duration 10s -warmup 2s URL
//	loadgen -mode block -csv bank.csv -n 20000 -c 16 URL
//
// In fixed mode every request posts the same body (e.g. a 50-event tracker).
// In block mode each customer of a bank file (cardblockctl gen-bank) is
// verified and then has its card blocked, so that every block hits a
// different card; only the blocks are measured.
package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sctbnk/cardblock/bench/bankfile"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type result struct {
	Mode        string  `json:"mode"`
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Errors      int64   `json:"errors"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"rps"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	P999ms      float64 `json:"p999_ms"`
	MaxMs       float64 `json:"max_ms"`
	BodyBytes   int     `json:"body_bytes,omitempty"`
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	mode := fs.String("mode", "fixed", "fixed or block")
	bodyFile := fs.String("body", "", "fixed mode: request body file")
	deflate := fs.Bool("deflate", false, "fixed mode: send the body zlib-compressed (Content-Encoding: deflate)")
	conc := fs.Int("c", 16, "concurrent connections")
	duration := fs.Duration("duration", 10*time.Second, "fixed mode: measured duration")
	warmup := fs.Duration("warmup", 2*time.Second, "fixed mode: unmeasured warm-up")
	csvFile := fs.String("csv", "", "block mode: bank file from cardblockctl gen-bank")
	n := fs.Int("n", 10000, "block mode: customers to block")
	token := fs.String("token", os.Getenv("ACTION_SERVER_TOKEN"), "action server token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: loadgen [flags] URL")
	}
	url := fs.Arg(0) + "/webhook"
	if *token != "" {
		url += "?token=" + *token
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: *conc * 2, MaxConnsPerHost: *conc * 2,
			DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		},
	}
	var res result
	var err error
	switch *mode {
	case "fixed":
		res, err = fixed(client, url, *bodyFile, *deflate, *conc, *warmup, *duration)
	case "block":
		res, err = blocks(client, url, *csvFile, *n, *conc)
	default:
		return fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	return enc.Encode(res)
}

func post(client *http.Client, url string, body []byte, deflate bool) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if deflate {
		req.Header.Set("Content-Encoding", "deflate")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func fixed(client *http.Client, url, file string, deflate bool, conc int, warmup, duration time.Duration) (result, error) {
	body, err := os.ReadFile(file)
	if err != nil {
		return result{}, err
	}
	if deflate {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	if status, b, err := post(client, url, body, deflate); err != nil || status != 200 {
		return result{}, fmt.Errorf("first request: %d %v %s", status, err, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), warmup+duration)
	defer cancel()
	start := time.Now()
	measureFrom := start.Add(warmup)
	var errs atomic.Int64
	lat := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				status, _, err := post(client, url, body, deflate)
				if err != nil || status != 200 {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				if t0.After(measureFrom) {
					lat[w] = append(lat[w], time.Since(t0))
				}
			}
		})
	}
	wg.Wait()
	r := summarise("fixed", conc, slices.Concat(lat...), time.Since(measureFrom))
	r.Errors, r.BodyBytes = errs.Load(), len(body)
	return r, nil
}

func summarise(mode string, conc int, all []time.Duration, elapsed time.Duration) result {
	slices.Sort(all)
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(p * float64(len(all)-1))
		return float64(all[i].Microseconds()) / 1000
	}
	r := result{Mode: mode, Concurrency: conc, Requests: len(all), Seconds: elapsed.Seconds()}
	r.RPS = float64(len(all)) / elapsed.Seconds()
	r.P50ms, r.P99ms, r.P999ms, r.MaxMs = q(0.50), q(0.99), q(0.999), q(1)
	return r
}

func callBody(next, phone, callID, last4 string) []byte {
	b, _ := json.Marshal(map[string]any{
		"next_action": next, "sender_id": phone, "version": "3.6.21",
		"tracker": map[string]any{
			"sender_id": phone,
			"slots": map[string]any{"card_last4": last4, "block_reason": "stolen",
				"session_started_metadata": map[string]any{"call_id": callID, "user_phone": phone}},
			"events": []any{}, "latest_message": nil, "active_loop": map[string]any{},
		},
	})
	return b
}

func blocks(client *http.Client, url, file string, n, conc int) (result, error) {
	bank, err := bankfile.Read(file, 0, n)
	if err != nil {
		return result{}, err
	}
	if len(bank) == 0 {
		return result{}, errors.New("no active customers in the bank file")
	}
	// Phase 1, not measured: every call verifies its customer's card.
	jobs := make(chan int)
	var errs atomic.Int64
	var firstErr atomic.Value
	work := func(fn func(i int)) {
		var wg sync.WaitGroup
		for w := 0; w < conc; w++ {
			wg.Go(func() {
				for i := range jobs {
					fn(i)
				}
			})
		}
		for i := range bank {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
	}
	callID := func(i int) string { return fmt.Sprintf("CA-bench-%d-%d", time.Now().Unix()/3600, i) }
	work(func(i int) {
		status, b, err := post(client, url, callBody("action_verify_last4", bank[i].Phone, callID(i), bank[i].Last4), false)
		if err != nil || status != 200 || !bytes.Contains(b, []byte("utter_confirm_block")) {
			errs.Add(1)
			firstErr.CompareAndSwap(nil, fmt.Sprintf("verify: %d %v %.200s", status, err, b))
		}
	})
	// Phase 2, measured: the blocks.
	jobs = make(chan int)
	lat := make([]time.Duration, len(bank))
	start := time.Now()
	work(func(i int) {
		t0 := time.Now()
		status, b, err := post(client, url, callBody("action_block_card", bank[i].Phone, callID(i), bank[i].Last4), false)
		lat[i] = time.Since(t0)
		if err != nil || status != 200 || !bytes.Contains(b, []byte("utter_card_blocked")) {
			errs.Add(1)
			firstErr.CompareAndSwap(nil, fmt.Sprintf("block: %d %v %.200s", status, err, b))
		}
	})
	r := summarise("block", conc, lat, time.Since(start))
	r.Errors = errs.Load()
	if v := firstErr.Load(); v != nil {
		fmt.Fprintln(os.Stderr, "first error:", v)
	}
	return r, nil
}
