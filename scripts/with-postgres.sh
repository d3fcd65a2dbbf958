#!/usr/bin/env bash
# Runs a command with TEST_DATABASE_URL pointing at a PostgreSQL server.
#
#   scripts/with-postgres.sh go test ./cardstore/...
#
# If TEST_DATABASE_URL is already set, the command just runs. Otherwise a
# throwaway cluster is created in a temporary directory, started on a free
# port of 127.0.0.1 (and a Unix socket in that directory) with durability
# switched off for speed, and removed when the command ends, however it ends.
# The command's exit status is kept.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
fi
if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
	exec "$@"
fi

for tool in initdb pg_ctl postgres; do
	command -v "$tool" >/dev/null || { echo "$0: $tool not found on PATH (install PostgreSQL 15)" >&2; exit 1; }
done

dir="$(mktemp -d "${TMPDIR:-/tmp}/pgtest.XXXXXX")"
# initdb refuses to run as root: as root, the cluster belongs to the postgres user.
as_pg=()
if [[ $EUID -eq 0 ]]; then
	chown postgres: "$dir"
	as_pg=(runuser -u postgres --)
fi

started=""
cleanup() {
	local status=$?
	if [[ -f "$dir/data/postmaster.pid" ]]; then
		(cd "$dir" && "${as_pg[@]}" pg_ctl -D "$dir/data" -m immediate -w stop >/dev/null 2>&1) || true
	fi
	rm -rf "$dir"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run the PostgreSQL tools from the cluster's directory: the postgres user may
# not be allowed into the caller's working directory.
(cd "$dir" && "${as_pg[@]}" initdb -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1) || {
	cat "$dir/initdb.log" >&2
	exit 1
}

# Tests trade durability for speed; benchmarks set PG_DURABLE=1 to measure
# with PostgreSQL's defaults (fsync and synchronous commit on).
durability="-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
if [[ "${PG_DURABLE:-}" == 1 ]]; then
	durability="-c shared_buffers=256MB"
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for _ in 1 2 3 4 5 6 7 8 9 10; do
	port=$((20000 + RANDOM % 40000))
	port_free "$port" || continue
	if (cd "$dir" && "${as_pg[@]}" pg_ctl -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
		-o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$dir'" \
		-o "$durability -c max_connections=200" \
		start >/dev/null); then
		started=yes
		break
	fi
	# Someone took the port between the check and the start: try another.
	tail -n 5 "$dir/postgres.log" >&2 || true
done
if [[ -z "$started" ]]; then
	echo "$0: could not start PostgreSQL" >&2
	exit 1
fi

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
status=0
"$@" || status=$?
exit "$status"
