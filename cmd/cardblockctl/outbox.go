package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sctbnk/cardblock/cardstore"
)

func (a *app) outbox(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: outbox needs list, retry or stats", errUsage)
	}
	switch args[0] {
	case "list":
		fs := flag.NewFlagSet("outbox list", flag.ContinueOnError)
		fs.SetOutput(a.stderr)
		state := fs.String("state", "", "only rows in this state: pending, uncertain, delivered or dead")
		limit := fs.Int("limit", 50, "at most this many rows, newest first")
		if err := fs.Parse(args[1:]); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return a.withDatabase(ctx, func(_ *pgxpool.Pool, store *cardstore.Postgres) error {
			rows, err := store.ListOutbox(ctx, *state, *limit)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tKIND\tATTEMPTS\tNEXT ATTEMPT\tFRESHDESK\tCONVERSATION\tLAST ERROR")
			for _, e := range rows {
				ticket := "-"
				if e.FreshdeskTicketID != 0 {
					ticket = strconv.FormatInt(e.FreshdeskTicketID, 10)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", e.ID, e.State, e.Ticket.Kind, e.Attempts,
					e.NextAttemptAt.Format(time.RFC3339), ticket, e.ConversationKey, e.LastError)
			}
			return tw.Flush()
		})
	case "retry":
		if len(args) != 2 {
			return fmt.Errorf("%w: outbox retry takes one row id", errUsage)
		}
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%w: outbox retry: the id must be a positive number", errUsage)
		}
		return a.withDatabase(ctx, func(_ *pgxpool.Pool, store *cardstore.Postgres) error {
			if err := store.RetryDead(ctx, id, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "outbox row %d is pending again\n", id)
			return nil
		})
	case "stats":
		return a.withDatabase(ctx, func(_ *pgxpool.Pool, store *cardstore.Postgres) error {
			s, err := store.OutboxStats(ctx, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "pending %d\noldest pending age %v\ndead %d\n", s.Pending, s.OldestPendingAge.Round(time.Second), s.Dead)
			return nil
		})
	}
	return fmt.Errorf("%w: unknown outbox command %q", errUsage, args[0])
}
