package actions_test

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"
)

// longConv builds a call whose tracker holds about n events before the
// validation of the caller's last four digits: a withheld-number sender id
// accumulates every earlier call's events (design §10).
func longConv(n int) *conv {
	c := newConv("+34600111222", false, meta("+34600111222", "CA-bench"))
	for len(c.events) < n-8 {
		c.user("me han robado la tarjeta", "report_theft", nil)
		c.action("utter_ask_card_last4", "RulePolicy")
		c.add(map[string]any{"event": "bot", "text": "¿Cuáles son los cuatro últimos dígitos?", "data": map[string]any{}, "metadata": map[string]any{"utter_action": "utter_ask_card_last4"}})
		c.action("action_listen", "RulePolicy")
	}
	c.user("cuatro cinco seis siete", "give_digits", nil)
	c.formTurn("card_last4", [2]any{"block_reason", "stolen"}, [2]any{"card_last4", "cuatro cinco seis siete"})
	return c
}

// BenchmarkWebhookValidate measures a whole /webhook call of
// validate_card_block_form (decode, tracker view, spoken digits, store
// lookup, reply) through the real handler and demo bank.
func BenchmarkWebhookValidate(b *testing.B) {
	for _, n := range []int{50, 2000} {
		for _, deflate := range []bool{false, true} {
			name := fmt.Sprintf("events=%d", n)
			if deflate {
				name += "/deflate"
			}
			b.Run(name, func(b *testing.B) {
				h := newHarness(b, withLogLevel(zerolog.WarnLevel))
				var compact bytes.Buffer
				if err := json.Compact(&compact, longConv(n).request("validate_card_block_form")); err != nil {
					b.Fatal(err)
				}
				body := compact.Bytes()
				if deflate {
					var buf bytes.Buffer
					zw := zlib.NewWriter(&buf)
					zw.Write(body)
					zw.Close()
					body = buf.Bytes()
				}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					if deflate {
						req.Header.Set("Content-Encoding", "deflate")
					}
					rec := httptest.NewRecorder()
					h.handler.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
					}
				}
			})
		}
	}
}
