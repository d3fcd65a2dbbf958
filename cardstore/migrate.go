package cardstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The migrations are plain SQL files applied in name order, each in its own
// transaction, recorded in schema_migrations.
//
// Why a runner of our own rather than goose, golang-migrate or tern: those
// work through database/sql or a single *pgx.Conn, pull a dozen modules into
// go.mod, and still need care to hold the advisory lock on the session that
// migrates. We need forward-only SQL files from an embed.FS under
// pg_advisory_lock on a pgxpool connection, which is these ~70 lines.

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey is the advisory lock every replica takes before migrating
// ("cardstor" in ASCII), so replicas starting together apply each file once.
const migrateLockKey int64 = 0x63617264_73746f72

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	slices.Sort(names)
	var out []migration
	for _, name := range names {
		base := path.Base(name)
		prefix, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v <= 0 || (len(out) > 0 && out[len(out)-1].version >= v) {
			return nil, fmt.Errorf("migration %s: name must start with a unique increasing number", base)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", base, err)
		}
		out = append(out, migration{version: v, name: base, sql: string(body)})
	}
	return out, nil
}

// Migrate applies the embedded migrations that the database lacks. It holds
// a PostgreSQL advisory lock meanwhile, so several replicas may call it at
// once. It returns ErrUnavailable when the database cannot be reached.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	migrations, err := loadMigrations(migrationFS)
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return translate("migrate: connect", err)
	}
	defer conn.Release()

	// A session-level lock: it lives with this connection, so the unlock must
	// use the same one; if unlocking fails we close the connection instead.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return translate("migrate: lock", err)
	}
	defer func() {
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(unlockCtx, "SELECT pg_advisory_unlock($1)", migrateLockKey); err != nil {
			_ = conn.Conn().Close(unlockCtx) // a closed session drops its locks
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return translate("migrate: create schema_migrations", err)
	}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return translate("migrate: read applied versions", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return translate("migrate: read applied versions", err)
	}
	for _, m := range migrations {
		if slices.Contains(applied, m.version) {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: pgx uses the simple protocol, which runs a file
			// of several statements in one go.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return translate("migrate: apply "+m.name, err)
		}
	}
	return nil
}
