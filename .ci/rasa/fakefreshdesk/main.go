// Command fakefreshdesk is the stand-in Freshdesk API of the Rasa end-to-end
// run (.ci/rasa/e2e.sh). Standard library only.
//
//	POST /api/v2/tickets            201 {"id": N, ...} + Location, N = 1, 2, ...
//	                                503 when the requester is "down" (-down)
//	POST /api/v2/tickets/{id}/notes 201 {"id": N, ...}
//	GET  /api/v2/tickets            200 [] (reconciliation finds nothing)
//
// Every call needs basic auth "<-key>:X", like Freshdesk (401 otherwise).
// -down lists requesters whose tickets fail: a ticket is refused when its
// unique_external_id, email or phone is in the list. Each request is logged
// as one line on stdout ("fakefreshdesk: POST /api/v2/tickets 201 id=3 ...")
// so that the runner can tell which tickets a test case produced.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
)

type fake struct {
	key  string
	down map[string]bool
	mux  *http.ServeMux
	mu   sync.Mutex
	next int64
}

func (f *fake) logf(format string, args ...any) {
	fmt.Printf("fakefreshdesk: "+format+"\n", args...)
}

func (f *fake) newID() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	return f.next
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if user, pass, ok := r.BasicAuth(); !ok || user != f.key || pass != "X" {
		f.logf("%s %s 401", r.Method, r.URL.Path)
		reply(w, http.StatusUnauthorized, map[string]any{"code": "invalid_credentials", "message": "You have to be logged in to perform this action."})
		return
	}
	f.mux.ServeHTTP(w, r)
}

func (f *fake) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /api/v2/tickets", func(w http.ResponseWriter, r *http.Request) {
		f.logf("GET %s 200 query=%q", r.URL.Path, r.URL.RawQuery)
		reply(w, http.StatusOK, []any{})
	})
	m.HandleFunc("POST /api/v2/tickets", func(w http.ResponseWriter, r *http.Request) {
		var t struct {
			UniqueExternalID string   `json:"unique_external_id"`
			Email            string   `json:"email"`
			Phone            string   `json:"phone"`
			Subject          string   `json:"subject"`
			Tags             []string `json:"tags"`
		}
		if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
			f.logf("POST %s 400 bad json", r.URL.Path)
			reply(w, http.StatusBadRequest, map[string]any{"description": "Validation failed", "errors": []any{}})
			return
		}
		who := fmt.Sprintf("external_id=%q subject=%q", t.UniqueExternalID, t.Subject)
		if f.down[t.UniqueExternalID] || f.down[t.Email] || f.down[t.Phone] {
			f.logf("POST %s 503 %s", r.URL.Path, who)
			reply(w, http.StatusServiceUnavailable, map[string]any{"message": "Service Unavailable"})
			return
		}
		id := f.newID()
		f.logf("POST %s 201 id=%d %s", r.URL.Path, id, who)
		w.Header().Set("Location", fmt.Sprintf("http://%s/api/v2/tickets/%d", r.Host, id))
		reply(w, http.StatusCreated, map[string]any{"id": id, "subject": t.Subject, "tags": t.Tags, "status": 2})
	})
	m.HandleFunc("POST /api/v2/tickets/{id}/notes", func(w http.ResponseWriter, r *http.Request) {
		id := f.newID()
		f.logf("POST %s 201 note=%d", r.URL.Path, id)
		reply(w, http.StatusCreated, map[string]any{"id": id, "private": true})
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.logf("%s %s 404", r.Method, r.URL.Path)
		reply(w, http.StatusNotFound, map[string]any{"message": "not found"})
	})
	return m
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	addrFile := flag.String("addr-file", "", "write the actual listen address to this file once listening")
	key := flag.String("key", "test-key", "API key expected as the basic-auth user name (password X)")
	down := flag.String("down", "", "comma-separated unique_external_ids, emails or phones whose tickets get 503")
	flag.Parse()

	f := &fake{key: *key, down: map[string]bool{}}
	f.mux = f.routes()
	for _, d := range strings.Split(*down, ",") {
		if d = strings.TrimSpace(d); d != "" {
			f.down[d] = true
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(tmp, *addrFile); err != nil {
			log.Fatal(err)
		}
	}
	f.logf("listening on %s (down: %s)", ln.Addr(), *down)
	log.Fatal(http.Serve(ln, f))
}
