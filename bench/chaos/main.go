// Command chaos runs the fault-injection scenarios of `make chaos`
// (bench/chaos/run.sh) against the real action server binary, a real
// PostgreSQL cluster owned by the script and the fake Freshdesk
// (freshdesk/freshdesktest/cmd/fakefreshdesk), everything on 127.0.0.1:
//
//	chaos pg-outage   [flags]   PostgreSQL stopped for 20 s under steady load
//	chaos fd-window   [flags]   Freshdesk failing (429/500/timeouts) for 60 s while 200 blocks arrive
//	chaos sigkill     [flags]   the server SIGKILLed in the middle of a burst of blocks
//	chaos report -in DIR -o FILE   write docs/reliability.md from the scenarios' results
//
// Each scenario starts (and stops) its own action server process, prints its
// counts, writes DIR/<scenario>.json and exits 1 when a promise was broken.
// It is a test harness, not a benchmark: loops are bounded in count and time.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	stopChildren()
	if errors.Is(err, errBroken) {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
}

// errBroken: the scenario ran and at least one check failed.
var errBroken = errors.New("a promise was broken (see the failed checks)")

// options are the flags every scenario takes.
type options struct {
	serverBin string
	ctlBin    string
	dbURL     string
	fdURL     string
	fdKey     string
	bankFile  string
	offset    int
	outDir    string
	pgStop    string
	pgStart   string
	// scenario knobs
	outage      time.Duration
	warmup      time.Duration
	after       time.Duration
	rate        float64
	conc        int
	blocks      int
	window      time.Duration
	windowMode  string
	retryAfter  time.Duration
	killAfter   int
	burst       int
	drainLimit  time.Duration
	health      time.Duration
	fdTimeout   time.Duration
	deadline    time.Duration
	recoveryMax time.Duration
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: chaos pg-outage|fd-window|sigkill|report [flags]")
	}
	cmd, args := args[0], args[1:]
	if cmd == "report" {
		return report(args, stdout)
	}
	fs := flag.NewFlagSet("chaos "+cmd, flag.ContinueOnError)
	var o options
	fs.StringVar(&o.serverBin, "server", "", "actionserver binary")
	fs.StringVar(&o.ctlBin, "ctl", "", "cardblockctl binary (for `outbox stats`)")
	fs.StringVar(&o.dbURL, "db", "", "DATABASE_URL of this scenario's database (migrated and imported)")
	fs.StringVar(&o.fdURL, "fd", "", "fake Freshdesk base URL")
	fs.StringVar(&o.fdKey, "fd-key", "", "fake Freshdesk API key")
	fs.StringVar(&o.bankFile, "bank", "", "bank file imported into the database (cardblockctl gen-bank)")
	fs.IntVar(&o.offset, "offset", 0, "first customer of the bank file this scenario uses")
	fs.StringVar(&o.outDir, "out", ".", "directory for logs and the result JSON")
	fs.StringVar(&o.pgStop, "pg-stop", os.Getenv("CHAOS_PG_STOP"), "shell command that stops PostgreSQL")
	fs.StringVar(&o.pgStart, "pg-start", os.Getenv("CHAOS_PG_START"), "shell command that starts PostgreSQL")
	fs.DurationVar(&o.outage, "outage", 20*time.Second, "pg-outage: how long PostgreSQL stays down")
	fs.DurationVar(&o.warmup, "warmup", 8*time.Second, "pg-outage: steady load before the fault")
	fs.DurationVar(&o.after, "after", 15*time.Second, "pg-outage: load after PostgreSQL is back")
	fs.Float64Var(&o.rate, "rate", 15, "pg-outage: calls started per second (each call is up to 4 requests)")
	fs.IntVar(&o.conc, "c", 0, "concurrent callers [pg-outage 8, fd-window 8, sigkill 16]")
	fs.IntVar(&o.blocks, "blocks", 200, "fd-window: blocks arriving in the window")
	fs.DurationVar(&o.window, "window", 60*time.Second, "fd-window: length of the Freshdesk failure window")
	fs.StringVar(&o.windowMode, "mode", "mix", "fd-window: failure mode of the window")
	fs.DurationVar(&o.retryAfter, "retry-after", time.Second, "fd-window: Retry-After of the window's 429s")
	fs.IntVar(&o.burst, "burst", 600, "sigkill: conversations in the burst")
	fs.IntVar(&o.killAfter, "kill-after", 250, "sigkill: acknowledged blocks before the SIGKILL")
	fs.DurationVar(&o.drainLimit, "drain-limit", 8*time.Minute, "longest wait for the outbox to drain")
	fs.DurationVar(&o.health, "health-interval", time.Second, "HEALTH_INTERVAL of the server")
	fs.DurationVar(&o.fdTimeout, "fd-timeout", 2*time.Second, "FRESHDESK_TIMEOUT of the server")
	fs.DurationVar(&o.deadline, "deadline", 10*time.Second, "a request's deadline (the server's action timeout)")
	fs.DurationVar(&o.recoveryMax, "recovery-max", 5*time.Second, "pg-outage: promised time to full service")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.serverBin == "" || o.dbURL == "" || o.bankFile == "" || o.fdURL == "" || o.fdKey == "" {
		return errors.New("-server, -db, -bank, -fd and -fd-key are required")
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return err
	}
	var res *result
	var err error
	if o.conc <= 0 {
		o.conc = 8
		if cmd == "sigkill" {
			o.conc = 16
		}
	}
	switch cmd {
	case "pg-outage":
		if o.pgStop == "" || o.pgStart == "" {
			return errors.New("pg-outage needs -pg-stop and -pg-start (or CHAOS_PG_STOP/CHAOS_PG_START)")
		}
		res, err = pgOutage(ctx, o)
	case "fd-window":
		res, err = fdWindow(ctx, o)
	case "sigkill":
		res, err = sigkill(ctx, o)
	default:
		return fmt.Errorf("unknown scenario %q", cmd)
	}
	if res != nil {
		res.Ended = time.Now().UTC()
		res.print(stdout)
		b, _ := json.MarshalIndent(res, "", "  ")
		if werr := os.WriteFile(filepath.Join(o.outDir, cmd+".json"), b, 0o644); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return err
	}
	if !res.ok() {
		return errBroken
	}
	return nil
}

// result is what a scenario measured, in the order the report shows it.
type result struct {
	Scenario string    `json:"scenario"`
	Title    string    `json:"title"`
	Injected string    `json:"injected"`
	How      string    `json:"how"`
	Setup    string    `json:"setup"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
	Counts   []kv      `json:"counts"`
	Checks   []check   `json:"checks"`
	Notes    []string  `json:"notes,omitempty"`
	PG       string    `json:"postgres_version,omitempty"`
	// LoadAvg is the machine's 1-minute load average when the scenario
	// started: other work on the same cores skews the latencies.
	LoadAvg string `json:"load_average,omitempty"`
}

type kv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type check struct {
	Promise string `json:"promise"`
	OK      bool   `json:"ok"`
	Detail  string `json:"detail"`
}

func newResult(scenario, title string) *result {
	r := &result{Scenario: scenario, Title: title, Started: time.Now().UTC()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			r.LoadAvg = f[0]
		}
	}
	return r
}

func (r *result) count(name string, v any) {
	var s string
	switch x := v.(type) {
	case time.Duration:
		s = fmtDur(x)
	case float64:
		s = fmt.Sprintf("%.3f", x)
	default:
		s = fmt.Sprint(v)
	}
	r.Counts = append(r.Counts, kv{name, s})
}

func (r *result) check(promise string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, check{promise, ok, fmt.Sprintf(format, args...)})
}

func (r *result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *result) ok() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return len(r.Checks) > 0
}

func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "== %s: %s\n", r.Scenario, r.Title)
	fmt.Fprintf(w, "   injected: %s\n", r.Injected)
	for _, c := range r.Counts {
		fmt.Fprintf(w, "   %-58s %s\n", c.Name, c.Value)
	}
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "   [%s] %s — %s\n", mark, c.Promise, c.Detail)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "   note: %s\n", n)
	}
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDur(-d)
	}
	switch {
	case d < time.Millisecond:
		return d.String()
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

// shell runs a fault-injection command of the script (pg_ctl stop/start).
func shell(ctx context.Context, command string) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	out, err := execCommand(ctx, "bash", "-c", command).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", command, err, strings.TrimSpace(string(out)))
	}
	return nil
}
