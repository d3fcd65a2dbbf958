#!/usr/bin/env bash
# Benchmark of action_block_card over HTTP against PostgreSQL (issue 3):
# imports a generated bank of N customers with cardblockctl, starts the
# action server on it, verifies then blocks BLOCKS different cards at
# concurrency C, and prints the load generator's JSON result.
#
#   PG_DURABLE=1 bash scripts/with-postgres.sh bash bench/block.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000} BLOCKS=${BLOCKS:-20000} C=${C:-16}
: "${TEST_DATABASE_URL:?run under scripts/with-postgres.sh}"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/" ./cmd/actionserver ./cmd/cardblockctl ./bench/loadgen
db="${TEST_DATABASE_URL%/*}/bench_$$?sslmode=disable"
psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE bench_$$" >/dev/null
"$work/cardblockctl" gen-bank -n "$N" -o "$work/bank.csv" >/dev/null
start=$(date +%s.%N)
DATABASE_URL="$db" "$work/cardblockctl" migrate >/dev/null
DATABASE_URL="$db" "$work/cardblockctl" import "$work/bank.csv"
echo "import of $N customers: $(echo "$(date +%s.%N) - $start" | bc) s" >&2

port=$((20000 + RANDOM % 20000))
DATABASE_URL="$db" ACTIONS_ADDR="127.0.0.1:$port" LOG_LEVEL=warn "$work/actionserver" >"$work/server.log" 2>&1 &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
"$work/loadgen" -mode block -csv "$work/bank.csv" -n "$BLOCKS" -c "$C" "http://127.0.0.1:$port"
