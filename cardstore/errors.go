package cardstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

// translate turns a driver error into one of the package's sentinel errors,
// prefixed with op. It is the only place that looks at pgx's error types, and
// it never wraps them (%v, not %w), so no driver type escapes the package.
//
// PostgreSQL's messages and details can quote the offending values (a phone
// number, a national id); only the SQLSTATE code and the constraint name go
// into our errors.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		what := "sqlstate " + pgErr.Code
		if pgErr.ConstraintName != "" {
			what += " constraint " + pgErr.ConstraintName
		}
		switch pgErr.Code[:2] {
		case "23", "22": // integrity constraint violation; invalid data
			return fmt.Errorf("%s: %s: %w", op, what, ErrConflict)
		case "08", "53", "57", "58", "40": // connection, resources, shutdown, system, serialization/deadlock
			return fmt.Errorf("%s: %s: %w", op, what, ErrUnavailable)
		}
		return fmt.Errorf("%s: postgres %s", op, what)
	}
	if unreachable(err) {
		// Keep the context error visible so callers can tell a deadline apart.
		if ctxErr := contextError(err); ctxErr != nil {
			return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, ctxErr)
		}
		return fmt.Errorf("%s: %w: %v", op, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %v", op, err)
}

// unreachable reports whether err means the database could not be reached or
// answered in time: dial and network errors, a dropped connection, a pool
// that is closed or exhausted until the context expired.
func unreachable(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, puddle.ErrClosedPool), pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return true
	}
	return false
}

func contextError(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return context.Canceled
	}
	return nil
}

// isUniqueViolation reports whether err is a unique violation of one of the
// named constraints.
func isUniqueViolation(err error, constraints ...string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && slices.Contains(constraints, pgErr.ConstraintName)
}
