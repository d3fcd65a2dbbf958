package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/kelseyhightower/envconfig"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/sctbnk/cardblock/actions"
	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/freshdesk"
	"github.com/sctbnk/cardblock/rasa"
	"github.com/sctbnk/cardblock/redact"
)

// run wires the server and serves until ctx is cancelled, then drains the
// requests in flight and returns. It is what main and the end-to-end test call.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)
	log.Info().Fields(cfg.logFields()).Msg("effective configuration")

	reg := prometheus.NewRegistry()
	m := newMetrics(reg)

	store, pool, err := openStore(cfg, log)
	if err != nil {
		return err
	}
	if pool != nil {
		defer pool.Close()
	}
	// Background work is owned here and stopped before run returns.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	defer func() { stopBG(); wg.Wait() }()
	wg.Go(func() { monitorDependencies(bg, store, pool, log, m, cfg.HealthInterval) })

	deliverer, err := startOutbox(bg, &wg, cfg, store, log, m)
	if err != nil {
		return err
	}
	if cfg.ActionServerToken == "" {
		log.Warn().Msg("ACTION_SERVER_TOKEN is not set: /webhook accepts calls from anyone who can reach this port")
	}

	acfg := actions.DefaultConfig()
	acfg.VerifyMaxAttempts = cfg.VerifyMaxAttempts
	acfg.VerifyCustomerMaxFailures = cfg.VerifyCustomerMaxFailures
	acfg.VerifyWindow = cfg.VerifyWindow

	var draining atomic.Bool
	handler, err := rasa.NewHandler(rasa.Config{
		Actions:      actions.New(actions.Deps{Store: store, Deliverer: deliverer, Metrics: m.actions, Config: acfg}),
		Token:        cfg.ActionServerToken,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Logger:       log,
		Metrics:      m.rasa,
		Gatherer:     reg,
		Ready:        func() bool { return !draining.Load() },
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       60 * time.Second, // a 16 MiB tracker over a slow link
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second, // longer than Rasa's keep-alive
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Msg("listening")

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Fail readiness first so the pod leaves the Service, then drain.
	draining.Store(true)
	log.Info().Dur("timeout", cfg.ShutdownTimeout).Msg("shutting down: draining requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info().Msg("stopped")
	return nil
}

// store is what the server needs of a card store: the actions' methods, the
// outbox worker's and a health check.
type store interface {
	actions.Store
	freshdesk.OutboxStore
	Ping(ctx context.Context) error
}

// openStore returns the card store: PostgreSQL when DATABASE_URL is set,
// else the embedded demo bank in memory. An unreachable database is not a
// start-up failure: the actions answer with a Spanish hand-off until it is
// back, and the dependency monitor applies the migrations when it can.
func openStore(cfg config, log zerolog.Logger) (store, *pgxpool.Pool, error) {
	if cfg.DatabaseURL == "" {
		bank, err := cardstore.LoadDemoBank()
		if err != nil {
			return nil, nil, err
		}
		log.Warn().Msg("DATABASE_URL is not set: using the EMBEDDED DEMO BANK in memory; blocks are lost on restart and nothing reaches the bank's systems")
		return cardstore.NewMemory(bank), nil, nil
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, nil, errors.New("DATABASE_URL is not a valid PostgreSQL URL") // the parse error may quote the password
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 || pcfg.ConnConfig.ConnectTimeout > 3*time.Second {
		// During an outage a request must fail fast into the hand-off reply,
		// well inside Twilio's 15 s budget.
		pcfg.ConnConfig.ConnectTimeout = 2 * time.Second
	}
	if !strings.Contains(cfg.DatabaseURL, "pool_max_conns") {
		pcfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		return nil, nil, errors.New("DATABASE_URL: cannot create the connection pool")
	}
	log.Info().Msg("card store: PostgreSQL")
	return cardstore.NewPostgres(pool), pool, nil
}

// monitorDependencies keeps dependency_up current and, for PostgreSQL,
// applies the embedded migrations once the database answers (under an
// advisory lock, so replicas may start together). It returns when ctx ends.
func monitorDependencies(ctx context.Context, s store, pool *pgxpool.Pool, log zerolog.Logger, m *metrics, every time.Duration) {
	if pool == nil {
		return
	}
	migrated, up := false, -1.0
	check := func() {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		err := s.Ping(pctx)
		if err == nil && !migrated {
			mctx, mcancel := context.WithTimeout(ctx, 30*time.Second)
			err = cardstore.Migrate(mctx, pool)
			mcancel()
			if err == nil {
				migrated = true
				log.Info().Msg("database migrations applied")
			}
		}
		now := 0.0
		if err == nil {
			now = 1
		}
		if now != up {
			if err != nil {
				log.Error().Err(err).Msg("PostgreSQL unavailable: callers are handed to an agent")
			} else if up == 0 {
				log.Info().Msg("PostgreSQL is back")
			}
			up = now
			m.dependency.WithLabelValues("postgres").Set(now)
		}
	}
	check()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			check()
		}
	}
}

func newLogger(cfg config, stdout io.Writer) zerolog.Logger {
	var out io.Writer = redact.Writer(stdout)
	if cfg.LogFormat == "console" {
		out = zerolog.ConsoleWriter{Out: out, TimeFormat: time.RFC3339}
	}
	level, _ := zerolog.ParseLevel(cfg.LogLevel)
	return zerolog.New(out).Level(level).With().Timestamp().Str("service", "actionserver").Logger()
}

// startOutbox starts this replica's outbox worker, which delivers queued
// tickets to Freshdesk, and returns it as the actions' Deliverer. Without
// Freshdesk configured, tickets stay queued and only the backlog gauges are
// kept up to date.
func startOutbox(ctx context.Context, wg *sync.WaitGroup, cfg config, s store, log zerolog.Logger, m *metrics) (actions.Deliverer, error) {
	if cfg.FreshdeskAPIURL == "" {
		log.Warn().Msg("FRESHDESK_API_URL is not set: tickets stay queued in the outbox until Freshdesk is configured")
		wg.Go(func() { watchBacklog(ctx, s, m.outbox, cfg.HealthInterval) })
		return nil, nil
	}
	client, err := freshdesk.New(freshdesk.Config{
		BaseURL:        cfg.FreshdeskAPIURL,
		APIKey:         cfg.FreshdeskAPIKey,
		Timeout:        cfg.FreshdeskTimeout,
		ReferenceField: cfg.FreshdeskReferenceField,
		ExternalIDKey:  []byte(cfg.FreshdeskExternalIDKey),
		Logger:         log,
	}, m.freshdesk)
	if err != nil {
		return nil, err
	}
	up := m.dependency.WithLabelValues("freshdesk")
	up.Set(1)
	w := freshdesk.NewWorker(s, client, freshdesk.WorkerConfig{
		Health: func(ok bool) {
			if ok {
				up.Set(1)
			} else {
				up.Set(0)
			}
		},
	}, m.outbox, log)
	wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			log.Error().Err(err).Msg("outbox worker stopped")
		}
	})
	log.Info().Msg("outbox worker started")
	return w, nil
}

// watchBacklog refreshes the outbox gauges when no worker does.
func watchBacklog(ctx context.Context, s store, om *freshdesk.OutboxMetrics, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if st, err := s.OutboxStats(ctx, time.Now()); err == nil {
			om.ObserveStats(st)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// metrics are every metric the server registers (design §9), on one
// injected registry.
type metrics struct {
	rasa       *rasa.Metrics
	actions    *actions.Metrics
	freshdesk  *freshdesk.Metrics
	outbox     *freshdesk.OutboxMetrics
	dependency *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &metrics{
		rasa:      rasa.NewMetrics(reg),
		actions:   actions.NewMetrics(reg),
		freshdesk: freshdesk.NewMetrics(reg),
		outbox:    freshdesk.NewOutboxMetrics(reg),
		dependency: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dependency_up",
			Help: "1 when the dependency answered its last check, 0 otherwise.",
		}, []string{"dependency"}),
	}
	reg.MustRegister(m.dependency)
	return m
}

// healthcheck asks the local server's /health; it is the container health
// check of an image that has no shell tools.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	_, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/health answered %d", resp.StatusCode)
	}
	return nil
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "actionserver: SCTBNK's Rasa custom-action server. Flags: -healthcheck, -help. Environment:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if err := envconfig.Usagef("", &config{}, tw, "{{range .}}{{usage_key .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}"); err != nil {
		fmt.Fprintln(w, strings.TrimSpace(err.Error()))
	}
	tw.Flush()
}
