#!/usr/bin/env bash
# Fault injection against the real action server (issue 8): `make chaos`.
#
# Starts its own PostgreSQL cluster (initdb/pg_ctl, as the postgres user when
# run as root, since initdb refuses root) so that it can stop and start it,
# one database per scenario imported from `cardblockctl gen-bank`, a fake
# Freshdesk per scenario (freshdesk/freshdesktest/cmd/fakefreshdesk), and runs
# the scenarios of bench/chaos against the real actionserver binary:
#
#   pg-outage  PostgreSQL stopped for 20 s under steady load
#   fd-window  Freshdesk failing (429/500/timeout/reset) for 60 s while 200 blocks arrive
#   sigkill    the server SIGKILLed in the middle of a burst of blocks
#
# then writes docs/reliability.md from the measured values. Everything
# listens on 127.0.0.1; everything started here is stopped by the trap.
# Exit status: 0 when every promise was kept, 1 when one was broken, 2 when
# a scenario could not run.
#
#   CHAOS_SCENARIOS="pg-outage sigkill"   run a subset (the report marks the rest "not run")
#   CHAOS_KEEP=1                          keep the work directory (logs, results) for inspection
#   CHAOS_REPORT=path                     where to write the report [docs/reliability.md]
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
SCENARIOS=${CHAOS_SCENARIOS:-pg-outage fd-window sigkill}
REPORT=${CHAOS_REPORT:-docs/reliability.md}
BANK_N=${CHAOS_BANK_N:-2500}
FD_KEY=chaos-freshdesk-key-0123456789

for tool in initdb pg_ctl psql; do
	command -v "$tool" >/dev/null || { echo "$0: $tool not found on PATH (install PostgreSQL 15)" >&2; exit 2; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/chaos.XXXXXX")"
chmod 755 "$work"
mkdir -p "$work/bin" "$work/out" "$work/pg"
as_pg=()
if [[ $EUID -eq 0 ]]; then
	chown postgres: "$work/pg"
	as_pg=(runuser -u postgres --)
fi
pgdir="$work/pg"
started_pids=()

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	# Only processes still running one of our binaries: a pid of one that
	# already ended may belong to someone else by now.
	for pid in "${started_pids[@]}" $(cat "$work/out/pids" 2>/dev/null); do
		cmdline=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null || true)
		if [[ "$cmdline" == "$work/bin/"* ]]; then
			kill -9 "$pid" 2>/dev/null || true
		fi
	done
	if [[ -f "$pgdir/data/postmaster.pid" ]]; then
		(cd "$pgdir" && "${as_pg[@]}" pg_ctl -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1) || true
	fi
	if [[ "${CHAOS_KEEP:-}" == 1 ]]; then
		echo "chaos: work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "chaos: building" >&2
$GO build -o "$work/bin/" ./cmd/actionserver ./cmd/cardblockctl ./freshdesk/freshdesktest/cmd/fakefreshdesk ./bench/chaos

# --- PostgreSQL: a cluster of our own, durable (fsync on), on a free port.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
(cd "$pgdir" && "${as_pg[@]}" initdb -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$pgdir/initdb.log" 2>&1) || {
	cat "$pgdir/initdb.log" >&2
	exit 2
}
for _ in 1 2 3 4 5 6 7 8 9 10; do
	port=$((20000 + RANDOM % 40000))
	port_free "$port" && break
done
# In the configuration file, so that a plain `pg_ctl start` brings it back the same.
cat >>"$pgdir/data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$pgdir'
max_connections = 200
EOF
pg_start="cd '$pgdir' && ${as_pg[*]} pg_ctl -D '$pgdir/data' -l '$pgdir/postgres.log' -w -t 60 start >/dev/null"
pg_stop="cd '$pgdir' && ${as_pg[*]} pg_ctl -D '$pgdir/data' -m fast -w -t 60 stop >/dev/null"
bash -c "$pg_start" || { tail -n 20 "$pgdir/postgres.log" >&2; exit 2; }
export CHAOS_PG_START="$pg_start" CHAOS_PG_STOP="$pg_stop"
admin="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
echo "chaos: PostgreSQL $(psql "$admin" -Atc 'SHOW server_version') on 127.0.0.1:$port" >&2

"$work/bin/cardblockctl" gen-bank -n "$BANK_N" -o "$work/bank.csv" >/dev/null

# start_fake NAME: a fresh fake Freshdesk; sets fd_url and fd_pid.
start_fake() {
	local log="$work/out/fake-$1.log"
	: >"$log" # exists before the background job opens it, for awk below
	"$work/bin/fakefreshdesk" -addr 127.0.0.1:0 -key "$FD_KEY" -slow-delay 30s -latency "${CHAOS_FD_LATENCY:-150ms}" >"$log" 2>&1 &
	fd_pid=$!
	started_pids+=("$fd_pid")
	fd_url=""
	for _ in $(seq 50); do
		fd_url=$(awk '/^listening /{print $2; exit}' "$log" || true)
		[[ -n "$fd_url" ]] && return 0
		sleep 0.1
	done
	echo "chaos: the fake Freshdesk did not start" >&2
	cat "$log" >&2
	return 1
}

# new_db NAME: a migrated database holding the generated bank; sets db_url.
new_db() {
	psql "$admin" -qc "CREATE DATABASE chaos_$1" >/dev/null || return 1
	db_url="postgres://postgres@127.0.0.1:$port/chaos_$1?sslmode=disable"
	DATABASE_URL="$db_url" "$work/bin/cardblockctl" migrate >/dev/null || return 1
	DATABASE_URL="$db_url" "$work/bin/cardblockctl" import "$work/bank.csv" >/dev/null || return 1
}

overall=0
for scenario in $SCENARIOS; do
	name=${scenario//-/_}
	# A scenario that cannot be set up is reported as not run; the others go on.
	if ! new_db "$name" || ! start_fake "$scenario"; then
		echo "chaos: $scenario: setup failed" >&2
		overall=2
		continue
	fi
	echo "chaos: running $scenario" >&2
	status=0
	"$work/bin/chaos" "$scenario" -server "$work/bin/actionserver" -ctl "$work/bin/cardblockctl" \
		-db "$db_url" -fd "$fd_url" -fd-key "$FD_KEY" -bank "$work/bank.csv" -out "$work/out" &
	driver=$!
	started_pids+=("$driver")
	wait "$driver" || status=$?
	kill -TERM "$fd_pid" 2>/dev/null || true
	wait "$fd_pid" 2>/dev/null || true
	echo "   cardblockctl outbox stats: $(DATABASE_URL="$db_url" "$work/bin/cardblockctl" outbox stats | tr '\n' ';')"
	if [[ $status -ne 0 ]]; then
		echo "chaos: $scenario exited $status" >&2
		(( status > overall )) && overall=$status
	fi
done

"$work/bin/chaos" report -in "$work/out" -o "$REPORT"
exit "$overall"
