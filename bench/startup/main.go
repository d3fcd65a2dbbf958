// Command startup measures how long a server takes from exec to its first
// healthy answer: it starts the command in a process group of its own,
// polls the health URL every millisecond, prints the time to the first 200
// as one JSON line, then stops the whole group (SIGTERM, then SIGKILL after
// 10 s). It is a benchmark tool, not a test.
//
//	startup -url http://127.0.0.1:PORT/health [-timeout 60s] [-log FILE] -- CMD [ARG...]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	url := flag.String("url", "", "health URL (on 127.0.0.1)")
	timeout := flag.Duration("timeout", 60*time.Second, "give up after this long")
	logFile := flag.String("log", "", "file for the server's output (default: discarded)")
	flag.Parse()
	if *url == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: startup -url URL [-timeout D] -- CMD [ARG...]")
		os.Exit(2)
	}
	var out *os.File
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "startup:", err)
			os.Exit(1)
		}
		defer f.Close()
		out = f
	}
	ms, err := measure(*url, *timeout, flag.Args(), out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]float64{"startup_ms": ms})
}

func measure(url string, timeout time.Duration, argv []string, out *os.File) (float64, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer stop(cmd)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := start.Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return float64(time.Since(start).Microseconds()) / 1000, nil
			}
		}
		select {
		case err := <-exited:
			exited <- err
			return 0, fmt.Errorf("server exited before it was healthy: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	return 0, errors.New("not healthy before the timeout")
}

// stop ends the process group it started: the server and any workers.
func stop(cmd *exec.Cmd) {
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	for i := 0; i < 1000; i++ {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
}
