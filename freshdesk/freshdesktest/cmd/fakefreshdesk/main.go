// Command fakefreshdesk serves package freshdesktest's fake Freshdesk API v2
// on a port, for scripts (bench/chaos) that run the real action server
// against it.
//
//	fakefreshdesk -addr 127.0.0.1:8091 -key KEY [-fail-mode 429 -fail-for 60s [-retry-after 3s]]
//
// The failure window starts when the server does; POST /_window?mode=M&for=D
// starts another one later. GET /_stats answers the counters as JSON and
// GET /_tickets lists the tickets held. Modes: 429 (rate_limited), 500
// (fail_500, after creating), slow (after creating, past the client's
// deadline), reset, 403 (forbidden), 400 (invalid), 502 (proxy_502), mix
// (rotates 429, 500, slow, reset). The first line on stdout is
// "listening http://HOST:PORT"; SIGINT or SIGTERM stops it and prints the
// final counters.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sctbnk/cardblock/freshdesk/freshdesktest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fakefreshdesk:", err)
		os.Exit(2)
	}
}

// aliases are the short names the flags accept for freshdesktest's modes.
var aliases = map[string]string{
	"429": freshdesktest.ModeRateLimited, "500": freshdesktest.ModeFail500, "403": freshdesktest.ModeForbidden,
	"400": freshdesktest.ModeInvalid, "502": freshdesktest.ModeProxy502, "timeout": freshdesktest.ModeSlow,
	"none": freshdesktest.ModeNormal, "normal": freshdesktest.ModeNormal,
}

func parseMode(s string) (string, error) {
	if m, ok := aliases[s]; ok {
		return m, nil
	}
	if slices.Contains(freshdesktest.Modes(), s) {
		return s, nil
	}
	return "", fmt.Errorf("unknown mode %q (429, 500, slow, reset, 403, 400, 502, mix, or %s)", s, strings.Join(freshdesktest.Modes()[1:], ", "))
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fakefreshdesk", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	key := fs.String("key", os.Getenv("FRESHDESK_API_KEY"), "API key to accept (default $FRESHDESK_API_KEY)")
	failMode := fs.String("fail-mode", "", "failure mode of the window that starts with the server")
	failFor := fs.Duration("fail-for", 0, "length of that window")
	retryAfter := fs.Duration("retry-after", 0, "Retry-After of 429s in the window (0: the time left)")
	mode := fs.String("mode", "", "failure mode of every request outside windows")
	slowDelay := fs.Duration("slow-delay", 30*time.Second, "how long the slow mode stalls after creating")
	latency := fs.Duration("latency", 0, "delay of every API answer (a created ticket is stored first)")
	fields := fs.String("custom-fields", "cf_block_reference", "comma-separated ticket custom fields the portal has")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key == "" {
		return errors.New("-key is required")
	}
	wm, err := parseMode(*failMode)
	if err != nil {
		return err
	}
	am, err := parseMode(*mode)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	s := freshdesktest.NewServer(freshdesktest.Config{
		APIKey:       *key,
		Listener:     ln,
		SlowDelay:    *slowDelay,
		Latency:      *latency,
		CustomFields: strings.Split(*fields, ","),
	})
	s.SetMode(am)
	if wm != freshdesktest.ModeNormal && *failFor > 0 {
		s.FailFor(wm, *failFor, *retryAfter)
	}
	fmt.Fprintln(stdout, "listening", s.URL)
	<-ctx.Done()
	st := s.Stats()
	s.Close()
	b, _ := json.Marshal(st)
	fmt.Fprintln(stdout, "final stats", string(b))
	return nil
}
