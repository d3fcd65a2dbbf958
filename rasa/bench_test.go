package rasa

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// validateCardForm behaves like a typical form validator: it reads the
// candidates, a couple of slots and the latest intent, and answers with a
// slot event and a templated response.
func validateCardForm() Action {
	return NewAction("validate_card_block_form", func(ctx context.Context, req *Request) (Result, error) {
		cands, err := req.Tracker.SlotCandidates()
		if err != nil {
			return Result{}, err
		}
		reason, _ := req.Tracker.SlotString("block_reason")
		res := Result{}
		for _, c := range cands {
			if c.Name == "card_last4" {
				res.Events = append(res.Events, SlotSet("card_last4", "4567"))
			}
		}
		if req.Tracker.LatestIntent() != "" {
			res.Responses = append(res.Responses, Utter("utter_confirm_block", map[string]any{"card_spoken": "4 5 6 7", "reason": reason}))
		}
		return res, nil
	})
}

func BenchmarkWebhook(b *testing.B) {
	h, err := NewHandler(Config{
		Actions: []Action{validateCardForm()},
		Token:   "s3cret",
		Logger:  zerolog.New(io.Discard),
		Metrics: NewMetrics(prometheus.NewRegistry()),
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{50, 2000} {
		body := rasaRequestBody(b, "validate_card_block_form", n, false)
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			rd := bytes.NewReader(body)
			cpu := processCPU()
			for b.Loop() {
				rd.Reset(body)
				req := httptest.NewRequest(http.MethodPost, "/webhook?token=s3cret", rd)
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			// CPU time per call, GC included: 1e9 / this = calls per second per core.
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkDecode compares the hand-written decoder with encoding/json on the
// same request (decoding only).
func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{50, 2000} {
		body := rasaRequestBody(b, "validate_card_block_form", n, false)
		for _, dec := range []struct {
			name string
			fn   func([]byte, *Request) error
		}{
			{"hand", decodeRequest},
			{"encoding_json", func(b []byte, r *Request) error { return json.Unmarshal(b, r) }},
		} {
			b.Run(fmt.Sprintf("%s/events=%d", dec.name, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				cpu := processCPU()
				for b.Loop() {
					var r Request
					if err := dec.fn(body, &r); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
