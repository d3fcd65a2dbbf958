// Command cardblockctl is the operators' tool for the card-block store:
//
//	cardblockctl [-database-url URL] COMMAND [ARGS]
//
//	migrate                      apply the embedded schema migrations
//	seed                         load the demo bank (idempotent)
//	import FILE.csv              add customers and cards from a CSV file, all or nothing
//	gen-bank [-n N] [-o FILE]    write a synthetic import file (benchmarks)
//	outbox list [-state S] [-limit N]
//	outbox retry ID              send a dead ticket again
//	outbox stats
//	smoke [-full] [-token T] URL  check a running action server
//
// DATABASE_URL is read from the environment unless -database-url is given.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sctbnk/cardblock/cardstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cardblockctl:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errUsage marks a command line we could not understand (exit status 2).
var errUsage = errors.New("usage error")

const usage = `usage: cardblockctl [-database-url URL] COMMAND [ARGS]

commands:
  migrate                          apply the embedded schema migrations
  seed                             load the demo bank (idempotent)
  import FILE.csv                  add customers and cards from a CSV file, all or nothing
  gen-bank [-n N] [-o FILE]        write a synthetic import file of N customers
  outbox list [-state S] [-limit N]
  outbox retry ID                  make a dead outbox row pending again
  outbox stats
  smoke [-full] [-token T] URL     check a running action server (-full blocks a demo card: staging only)

DATABASE_URL is read from the environment unless -database-url is given.
Import file header:
  ` + csvHeaderLine + `
`

// app is what every command gets: where to write and how to reach the database.
type app struct {
	databaseURL string
	stdout      io.Writer
	stderr      io.Writer
}

// run is the whole program; main only maps its error to an exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cardblockctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	a := &app{stdout: stdout, stderr: stderr}
	fs.StringVar(&a.databaseURL, "database-url", getenv("DATABASE_URL"), "PostgreSQL URL (default $DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: no command", errUsage)
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "migrate":
		return a.withDatabase(ctx, func(pool *pgxpool.Pool, _ *cardstore.Postgres) error {
			if err := cardstore.Migrate(ctx, pool); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "migrations applied")
			return nil
		})
	case "seed":
		return a.withSchema(ctx, func(store *cardstore.Postgres) error {
			bank, err := cardstore.LoadDemoBank()
			if err != nil {
				return err
			}
			if err := store.Seed(ctx, bank); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "demo bank seeded (%d customers)\n", len(bank.Customers))
			return nil
		})
	case "import":
		return a.importCSV(ctx, rest)
	case "gen-bank":
		return a.genBank(rest)
	case "outbox":
		return a.outbox(ctx, rest)
	case "smoke":
		return a.smoke(ctx, rest, getenv)
	case "help":
		fs.Usage()
		return nil
	}
	fs.Usage()
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// withDatabase opens a pool for one command and closes it afterwards.
func (a *app) withDatabase(ctx context.Context, f func(*pgxpool.Pool, *cardstore.Postgres) error) error {
	if a.databaseURL == "" {
		return fmt.Errorf("%w: set DATABASE_URL or -database-url", errUsage)
	}
	cfg, err := pgxpool.ParseConfig(a.databaseURL)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return fmt.Errorf("%w: invalid database URL", errUsage)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open database: %w", cardstore.ErrUnavailable)
	}
	defer pool.Close()
	return f(pool, cardstore.NewPostgres(pool))
}

// withSchema is withDatabase after applying any pending migration, so that a
// data command works on a new database too.
func (a *app) withSchema(ctx context.Context, f func(*cardstore.Postgres) error) error {
	return a.withDatabase(ctx, func(pool *pgxpool.Pool, store *cardstore.Postgres) error {
		if err := cardstore.Migrate(ctx, pool); err != nil {
			return err
		}
		return f(store)
	})
}
