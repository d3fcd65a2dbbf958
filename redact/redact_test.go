package redact

import (
	"bytes"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		absent []string
		keep   []string
	}{
		{"card number with spaces", "mi tarjeta es 4111 1111 1111 1111, gracias", []string{"4111", "1111 1111"}, []string{"mi tarjeta es", "gracias"}},
		{"card number plain", `{"text":"4111111111111111"}`, []string{"4111111111111111"}, []string{`{"text":"`}},
		{"card number dashes", "4111-1111-1111-1111", []string{"4111-1111"}, nil},
		{"spanish mobile", "teléfono +34612345678", []string{"612345678", "+34"}, []string{"teléfono"}},
		{"spanish mobile spaced", "llámeme al 612 34 56 78", []string{"612 34 56 78"}, []string{"llámeme"}},
		{"mexican number", "+525512345678", []string{"5512345678"}, nil},
		{"dni", "mi dni es 12345678Z", []string{"12345678Z", "12345678"}, []string{"mi dni es"}},
		{"dni dotted", "12.345.678-Z", []string{"345.678"}, nil},
		{"nie", "nie X1234567L por favor", []string{"X1234567L", "1234567"}, []string{"por favor"}},
		{"token query", "GET /webhook?token=s3cr3t-value&x=1", []string{"s3cr3t-value"}, []string{"token=[REDACTED]", "&x=1"}},
		{"bearer header", `"authorization":"Bearer abc.def"`, []string{"abc.def"}, nil},
		{"api key", "FRESHDESK_API_KEY=abcd1234xyz", []string{"abcd1234xyz"}, nil},
		{"timestamp untouched", `{"time":"2026-12-03T13:10:00Z","duration_ms":0.42}`, nil, []string{"2026-12-03T13:10:00Z", "0.42"}},
		{"hex request id untouched", `"request_id":"042ca9f06592aa97f5fba123456789"`, nil, []string{"042ca9f06592aa97f5fba123456789"}},
		{"number glued to text is still masked", "tarjeta:4111111111111111.", []string{"4111111111111111"}, nil},
		{"last four alone untouched", "status 200 in 4567 ns", nil, []string{"200", "4567"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := String(tc.in)
			for _, a := range tc.absent {
				if strings.Contains(got, a) {
					t.Errorf("String(%q) = %q still contains %q", tc.in, got, a)
				}
			}
			for _, k := range tc.keep {
				if !strings.Contains(got, k) {
					t.Errorf("String(%q) = %q lost %q", tc.in, got, k)
				}
			}
		})
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := Writer(&buf)
	line := []byte(`{"msg":"caller said 4111 1111 1111 1111"}` + "\n")
	n, err := w.Write(line)
	if err != nil || n != len(line) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(line))
	}
	if strings.Contains(buf.String(), "4111") {
		t.Fatalf("writer leaked a card number: %s", buf.String())
	}
}

func BenchmarkBytesClean(b *testing.B) {
	line := []byte(`{"level":"info","request_id":"a1b2c3","method":"POST","path":"/webhook","status":200,"duration_ms":0.12,"time":"2026-12-03T13:10:00Z"}`)
	for b.Loop() {
		Bytes(line)
	}
}
