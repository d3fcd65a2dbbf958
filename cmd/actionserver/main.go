// Command actionserver is SCTBNK's Rasa custom-action server: it identifies
// callers, verifies cards' last four digits, blocks cards and queues
// Freshdesk tickets. Configuration comes from the environment (see -help).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 {
		os.Exit(runFlag(ctx, os.Args[1], os.Getenv, os.Stdout))
	}
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "actionserver:", err)
		os.Exit(1)
	}
}

// runFlag handles the few command-line flags: -healthcheck for container
// health checks in an image without a shell or curl, and -help.
func runFlag(ctx context.Context, flag string, getenv func(string) string, stdout io.Writer) int {
	switch flag {
	case "-healthcheck", "--healthcheck":
		if err := healthcheck(ctx, getenv); err != nil {
			fmt.Fprintln(stdout, "unhealthy:", err)
			return 1
		}
		fmt.Fprintln(stdout, "ok")
		return 0
	case "-help", "--help", "-h":
		printUsage(stdout)
		return 0
	}
	fmt.Fprintf(stdout, "unknown flag %q (try -help)\n", flag)
	return 2
}
