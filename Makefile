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
