package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/sctbnk/cardblock/actions"
	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/rasa"
)

// demoServer is the real action server's handler over the demo bank.
func demoServer(t *testing.T, token string) (*httptest.Server, *cardstore.Memory) {
	t.Helper()
	bank, err := cardstore.LoadDemoBank()
	if err != nil {
		t.Fatal(err)
	}
	mem := cardstore.NewMemory(bank)
	reg := prometheus.NewRegistry()
	h, err := rasa.NewHandler(rasa.Config{
		Actions: actions.New(actions.Deps{Store: mem, Metrics: actions.NewMetrics(reg)}),
		Token:   token, Logger: zerolog.Nop(), Metrics: rasa.NewMetrics(reg), Gatherer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, mem
}

func TestSmoke(t *testing.T) {
	srv, mem := demoServer(t, "smoke-token")
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		want    string
	}{
		{"read-only checks pass", []string{"smoke", "-token", "smoke-token", srv.URL}, false, "4 passed, 0 failed"},
		{"full run blocks the demo card", []string{"smoke", "-full", "-token", "smoke-token", srv.URL}, false, "5 passed, 0 failed"},
		{"full run again finds it blocked", []string{"smoke", "-full", "-token", "smoke-token", srv.URL}, false, "5 passed, 0 failed"},
		{"wrong token fails", []string{"smoke", "-token", "nope", srv.URL}, true, "FAIL GET /actions"},
		{"nothing listening fails", []string{"smoke", "http://127.0.0.1:1"}, true, "FAIL GET /health"},
		{"bad url is a usage error", []string{"smoke", "localhost:5055"}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, func(string) string { return "" }, &out, &errOut)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v\n%s", err, tc.wantErr, out.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, out.String())
			}
		})
	}
	// The read-only checks changed nothing; only -full queued one ticket.
	rows, err := mem.ListOutbox(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d outbox rows, want 1 (from the single real block)", len(rows))
	}
}
