# SCTBNK card-block assistant. `make run` serves the action server on :5055
# with the embedded demo bank; `make test` runs every test (it starts a
# throwaway PostgreSQL unless TEST_DATABASE_URL is set).
GO      ?= go
BIN     ?= bin
PKGS    ?= ./...

.PHONY: run test build lint fmt

run:
	$(GO) run ./cmd/actionserver

test:
	bash scripts/with-postgres.sh $(GO) test -count=1 $(PKGS)

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/ ./cmd/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

# Rasa Open Source 3.6 venv (built once under ~/.cache/sctbnk-rasa, then reused).
# rasa-e2e: rasa-project/tests/e2e on a real Rasa with the real action server,
# a fresh demo bank per test case and a fake Freshdesk (.ci/rasa/e2e.sh).
.PHONY: rasa-install rasa-e2e

rasa-install:
	bash .ci/rasa/install.sh

rasa-e2e:
	GO=$(GO) bash .ci/rasa/e2e.sh

# bench: the Go server against rasa-sdk (bench/run.sh, ~25 min; QUICK=1 for a
# smoke run); writes docs/benchmarks.md and docs/benchmarks-throughput.png.
.PHONY: bench

bench:
	bash bench/run.sh

# Fault injection (issue 8): PostgreSQL stopped under load, Freshdesk failing
# while blocks arrive, the server SIGKILLed mid-burst, against the real
# binary; writes docs/reliability.md. About 3 minutes (bench/chaos/run.sh).
.PHONY: chaos
chaos:
	GO=$(GO) bash bench/chaos/run.sh

# Every fuzz target of the module, one after the other, FUZZTIME each; a
# failing target does not stop the others (the status says if any failed).
FUZZTIME ?= 5m
.PHONY: fuzz
fuzz:
	@failed=""; for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$target ($$pkg, $(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg || failed="$$failed $$target"; \
		done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed"; exit 1; fi
