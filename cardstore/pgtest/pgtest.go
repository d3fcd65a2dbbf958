// Package pgtest gives each test a fresh, empty PostgreSQL database, created
// on the server named by TEST_DATABASE_URL (scripts/with-postgres.sh starts
// one and sets it) and dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL names the variable holding the test server's URL (a superuser, or a
// role allowed to create databases).
const EnvURL = "TEST_DATABASE_URL"

// URL creates a fresh database and returns its URL. Without TEST_DATABASE_URL
// the test is skipped, except under CI (CI=true) where PostgreSQL missing is
// a failure, not a skip.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: PostgreSQL missing under CI is a failure, not a skip (run through scripts/with-postgres.sh)", EnvURL)
		}
		t.Skipf("%s is not set; run through scripts/with-postgres.sh to include the PostgreSQL tests", EnvURL)
	}
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", EnvURL, err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "test_" + hex.EncodeToString(b[:])

	admin := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	// template0 and no WAL-logged copy: the fastest way to an empty database.
	if err := admin("CREATE DATABASE " + name + " TEMPLATE template0 STRATEGY file_copy"); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	return withDatabase(base, name)
}

// New creates a fresh database and returns a pool connected to it, closed
// when the test ends (before the database is dropped).
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := URL(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("pgtest: parse url: %v", err)
	}
	// Enough connections for the concurrency tests (the server allows ~200).
	cfg.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// withDatabase points a connection string, URL or keyword/value form, at
// another database.
func withDatabase(conn, name string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		if u, err := url.Parse(conn); err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	return conn + " dbname=" + name // a later keyword wins
}
