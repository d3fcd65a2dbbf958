#!/usr/bin/env bash
# Benchmarks of the Go action server against the official Python action
# server, rasa-sdk (issue 8), run by `make bench`. It reports; it asserts
# nothing. Everything runs on 127.0.0.1 (the servers side by side, measured
# one at a time), and the script stops everything it started, however it ends.
#
#   make bench                                  # full run: about 25 minutes
#   QUICK=1 make bench                          # smoke run: about 5 minutes
#   DURATION=10 WARMUP=3 CONCURRENCY="1 16 64" bash bench/run.sh
#
# What it does:
#  1. builds the Go server (as `make build`), bench/loadgen, bench/gen and
#     bench/startup; makes the rasa-sdk venv from bench/rasa_sdk/requirements.txt
#     (cached in $BENCH_CACHE/sdk-venv-<hash of requirements.txt>);
#  2. writes the request bodies (bench/gen) and checks that both servers give
#     the same replies (bench/rasa_sdk/parity.py, also against the goldens);
#  3. start-up time to the first healthy /health, STARTUP_RUNS times each;
#  4. loadgen against each server (Go; rasa-sdk with its default worker count;
#     rasa-sdk with one worker per core): validate_card_block_form on 50- and
#     2,000-event trackers, plain and deflate, and action_verify_last4, at each
#     concurrency, DURATION seconds after WARMUP; CPU and peak RSS from /proc.
#     The servers run side by side and take turns case by case;
#  5. payload scaling at concurrency 1 (SCALE_SIZES events);
#  6. action_block_card against a durable PostgreSQL (bench/block.sh);
#  7. writes docs/benchmarks.md and docs/benchmarks-throughput.png (bench/report.py);
#     the raw results stay in $BENCH_CACHE/last-run (bench/report.py --work
#     there rewrites the document without measuring again).
#
# Settings (environment): DURATION, WARMUP (seconds), CONCURRENCY,
# SCALE_DURATION, SCALE_WARMUP, SCALE_SIZES, STARTUP_RUNS, REPEATS (rounds of
# each load case; the report keeps the best), BLOCKS, BLOCK_BANK,
# BLOCK_C, SKIP_BLOCK=1, SDK_WORKERS_PER_CORE (default: nproc), BENCH_CACHE,
# DOC, PNG, PYTHON (the interpreter that makes the venv, python3).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [[ "${QUICK:-}" == 1 ]]; then
	: "${DURATION:=3}" "${WARMUP:=1}" "${CONCURRENCY:=1 16}" "${SCALE_DURATION:=2}" "${SCALE_WARMUP:=1}"
	: "${STARTUP_RUNS:=2}" "${REPEATS:=1}" "${BLOCKS:=500}" "${BLOCK_BANK:=2000}"
fi
DURATION=${DURATION:-10} WARMUP=${WARMUP:-3} CONCURRENCY=${CONCURRENCY:-1 16 64}
SCALE_DURATION=${SCALE_DURATION:-5} SCALE_WARMUP=${SCALE_WARMUP:-1}
SCALE_SIZES=${SCALE_SIZES:-50 200 1000 2000 5000 20000}
STARTUP_RUNS=${STARTUP_RUNS:-5} REPEATS=${REPEATS:-2}
BLOCKS=${BLOCKS:-10000} BLOCK_BANK=${BLOCK_BANK:-100000} BLOCK_C=${BLOCK_C:-16} SKIP_BLOCK=${SKIP_BLOCK:-0}
SDK_WORKERS_PER_CORE=${SDK_WORKERS_PER_CORE:-$(nproc)}
BENCH_CACHE=${BENCH_CACHE:-$HOME/.cache/sctbnk-bench}
DOC=${DOC:-docs/benchmarks.md} PNG=${PNG:-docs/benchmarks-throughput.png}
PYTHON=${PYTHON:-python3}
for v in DURATION WARMUP SCALE_DURATION SCALE_WARMUP STARTUP_RUNS REPEATS BLOCKS BLOCK_BANK BLOCK_C; do
	[[ ${!v} =~ ^[0-9]+$ ]] || { echo "run.sh: $v must be a whole number (seconds or a count)" >&2; exit 2; }
done

run_started=$(date +%s.%N)
work=$(mktemp -d "${TMPDIR:-/tmp}/sctbnk-bench.XXXXXX")
bin=$work/bin
servers=() # process group ids of the servers this script started
sampler=""

log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }

stop_group() { # pgid: SIGTERM to the group, SIGKILL after 10 s
	local g=$1 i
	kill -TERM -- "-$g" 2>/dev/null || return 0
	for ((i = 0; i < 200; i++)); do
		kill -0 -- "-$g" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL -- "-$g" 2>/dev/null || true
}

cleanup() {
	local status=$?
	local g
	for g in "${servers[@]}"; do stop_group "$g"; done
	[[ -n "$sampler" ]] && kill "$sampler" 2>/dev/null
	# Background jobs of this script (a loadgen or block.sh in flight).
	local j
	for j in $(jobs -p); do kill "$j" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [[ $status -ne 0 ]]; then
		log "failed (status $status); logs kept in $work"
	else
		rm -rf "$work"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p i
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + RANDOM % 30000))
		port_free "$p" && { echo "$p"; return; }
	done
	echo "run.sh: no free port" >&2
	return 1
}

# ---- 1. build ----
log "building"
mkdir -p "$bin"
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$bin/" ./cmd/actionserver
go build -o "$bin/" ./bench/loadgen ./bench/gen ./bench/startup

req=bench/rasa_sdk/requirements.txt
venv=$BENCH_CACHE/sdk-venv-$(sha256sum "$req" | cut -c1-16)
if [[ ! -f "$venv/.complete" ]]; then
	log "making the rasa-sdk venv $venv"
	rm -rf "$venv"
	mkdir -p "$BENCH_CACHE"
	"$PYTHON" -m venv "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
	touch "$venv/.complete"
fi
py=$venv/bin/python

# ---- machine and versions ----
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
jq -n \
	--arg date "$(date -u +%FT%TZ)" \
	--arg nproc "$(nproc)" \
	--arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
	--arg mem "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)" \
	--arg kernel "$(uname -sr)" \
	--arg go "$(go version | cut -d' ' -f3-)" \
	--arg python "$("$py" -c 'import platform; print(platform.python_implementation(), platform.python_version())')" \
	--arg sdk "$("$py" -c 'import importlib.metadata as m; print(m.version("rasa-sdk"))')" \
	--arg sanic "$("$py" -c 'import importlib.metadata as m; print(m.version("sanic"))')" \
	--arg uvloop "$("$py" -c 'import importlib.metadata as m; print(m.version("uvloop"))' 2>/dev/null || echo none)" \
	--arg postgres "$( (postgres --version || psql --version) 2>/dev/null | head -1)" \
	--arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	--arg dirty "$(git status --porcelain 2>/dev/null | grep -q . && echo yes || echo no)" \
	--arg load_start "$(loadavg)" \
	--arg duration "$DURATION" --arg warmup "$WARMUP" --arg concurrency "$CONCURRENCY" \
	--arg scale_duration "$SCALE_DURATION" --arg scale_warmup "$SCALE_WARMUP" \
	--arg startup_runs "$STARTUP_RUNS" --arg blocks "$BLOCKS" --arg block_bank "$BLOCK_BANK" --arg block_c "$BLOCK_C" \
	--arg sdk_workers_per_core "$SDK_WORKERS_PER_CORE" --arg quick "${QUICK:-0}" --arg repeats "$REPEATS" \
	'$ARGS.named' >"$work/meta.json"
log "load average at start: $(loadavg)"

# ---- 2. bodies and parity ----
"$bin/gen" -out "$work/bodies" -sizes "$(echo "$SCALE_SIZES 50 2000" | tr ' ' '\n' | sort -nu | paste -sd,)" >"$work/bodies.tsv"

# Server commands. Both listen on 127.0.0.1 only (rasa-sdk's Sanic binds to
# SANIC_HOST, 0.0.0.0 unless set). The Go server logs at warn, rasa-sdk at its
# default (INFO; it logs nothing per request).
go_cmd() { exec env ACTIONS_ADDR="127.0.0.1:$1" LOG_LEVEL=warn "$bin/actionserver"; }
sdk_cmd() { # port workers ("" = rasa-sdk's default)
	cd "$root/bench/rasa_sdk"
	if [[ -n "$2" ]]; then export ACTION_SERVER_SANIC_WORKERS=$2; else unset ACTION_SERVER_SANIC_WORKERS; fi
	SANIC_HOST=127.0.0.1 exec "$py" -m rasa_sdk --actions actions -p "$1"
}

# start_server name port: starts the server in a session of its own (its
# process group id, kept in $pgid and in servers, is its pid) and waits for
# /health.
start_server() {
	local name=$1 port=$2 g
	case $name in
	go) setsid bash -c "$(declare -f go_cmd); bin='$bin'; go_cmd $port" >"$work/$name.log" 2>&1 & ;;
	sdk-default) setsid bash -c "$(declare -f sdk_cmd); root='$root' py='$py'; sdk_cmd $port ''" >"$work/$name.log" 2>&1 & ;;
	sdk-percore) setsid bash -c "$(declare -f sdk_cmd); root='$root' py='$py'; sdk_cmd $port $SDK_WORKERS_PER_CORE" >"$work/$name.log" 2>&1 & ;;
	esac
	g=$!
	servers+=("$g")
	local i
	for ((i = 0; i < 1200; i++)); do
		curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && { pgid=$g; return 0; }
		kill -0 "$g" 2>/dev/null || break
		sleep 0.05
	done
	echo "run.sh: $name did not become healthy; log:" >&2
	tail -n 20 "$work/$name.log" >&2
	return 1
}

stop_server() {
	stop_group "$1"
	local keep=() g
	for g in "${servers[@]}"; do [[ $g == "$1" ]] || keep+=("$g"); done
	servers=("${keep[@]}")
}

group_pids() { ps -e -o pid=,pgid= | awk -v g="$1" '$2 == g {print $1}'; }
cpu_ticks() { # utime+stime of every process of the group
	local p s=0 t
	for p in $(group_pids "$1"); do
		t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || continue
		s=$((s + ${t:-0}))
	done
	echo "$s"
}
reset_peak_rss() { # Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM
	local p
	for p in $(group_pids "$1"); do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || echo no >"$work/hwm-not-reset"; done
}
peak_rss_kib() { # VmHWM summed over the group's processes
	local p s=0 v
	for p in $(group_pids "$1"); do
		v=$(awk '/^VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
nprocs() { group_pids "$1" | wc -l; }
cpu_pressure_us() { # PSI: total µs some task waited for a CPU (0 where PSI is off)
	awk '/^some/ {sub("total=", "", $5); print $5; f = 1} END {if (!f) print 0}' /proc/pressure/cpu 2>/dev/null || echo 0
}
machine_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
now() { date +%s.%N; }
hz=$(getconf CLK_TCK)

ports_go=$(free_port)
ports_sdk=$(free_port)
log "parity check"
start_server go "$ports_go"
g_go=$pgid
start_server sdk-default "$ports_sdk"
g_sdk=$pgid
(cd bench/rasa_sdk && "$py" -W ignore parity.py "$root/actions/testdata/golden/oss36" \
	--go "http://127.0.0.1:$ports_go" --sdk "http://127.0.0.1:$ports_sdk" \
	"$work"/bodies/validate_50.json "$work"/bodies/validate_2000.json "$work"/bodies/verify_50.json "$work"/bodies/verify_2000.json) \
	2>/dev/null >"$work/parity.txt" || echo "parity check failed to run" >>"$work/parity.txt"
cat "$work/parity.txt" >&2
stop_server "$g_sdk"
stop_server "$g_go"

# ---- 3. start-up ----
: >"$work/startup.jsonl"
for name in go sdk-default sdk-percore; do
	for ((i = 1; i <= STARTUP_RUNS; i++)); do
		out=""
		for try in 1 2 3; do # a start that fails (a port taken meanwhile) is retried
			port=$(free_port)
			case $name in
			go) out=$(ACTIONS_ADDR="127.0.0.1:$port" LOG_LEVEL=warn "$bin/startup" -log "$work/startup-$name-$i.log" -url "http://127.0.0.1:$port/health" -- "$bin/actionserver") || true ;;
			sdk-default) out=$(cd bench/rasa_sdk && env -u ACTION_SERVER_SANIC_WORKERS SANIC_HOST=127.0.0.1 "$bin/startup" -log "$work/startup-$name-$i.log" -url "http://127.0.0.1:$port/health" -- "$py" -m rasa_sdk --actions actions -p "$port") || true ;;
			sdk-percore) out=$(cd bench/rasa_sdk && ACTION_SERVER_SANIC_WORKERS=$SDK_WORKERS_PER_CORE SANIC_HOST=127.0.0.1 "$bin/startup" -log "$work/startup-$name-$i.log" -url "http://127.0.0.1:$port/health" -- "$py" -m rasa_sdk --actions actions -p "$port") || true ;;
			esac
			if [[ -n "$out" ]]; then break; fi
			log "start-up $name run $i failed (try $try): $(tail -n 3 "$work/startup-$name-$i.log" | tr '\n' ' ')"
		done
		if [[ -n "$out" ]]; then
			echo "$out" | jq -c --arg server "$name" '. + {server: $server}' >>"$work/startup.jsonl"
		fi
	done
	log "start-up $name: $(jq -r --arg s "$name" 'select(.server == $s) | .startup_ms' "$work/startup.jsonl" | paste -sd' ') ms"
done

# ---- 4. load ----
# run_case group url server body encoding c duration warmup section round
run_case() {
	local g=$1 url=$2 server=$3 body=$4 enc=$5 c=$6 d=$7 w=$8 section=$9 round=${10}
	local flags=() lg c0 c1 m0 m1 t0 t1 p0 p1 status=0
	[[ $enc == deflate ]] && flags=(-deflate)
	reset_peak_rss "$g"
	/usr/bin/time -f '%U %S' -o "$work/lg.time" \
		"$bin/loadgen" -mode fixed -body "$work/bodies/$body.json" "${flags[@]}" -c "$c" \
		-duration "${d}s" -warmup "${w}s" "$url" >"$work/lg.json" 2>"$work/lg.err" &
	lg=$!
	sleep "$w"
	c0=$(cpu_ticks "$g")
	read -r m0 m0t < <(machine_ticks)
	p0=$(cpu_pressure_us)
	t0=$(now)
	wait "$lg" || status=$?
	t1=$(now)
	c1=$(cpu_ticks "$g")
	read -r m1 m1t < <(machine_ticks)
	p1=$(cpu_pressure_us)
	if [[ $status -ne 0 || ! -s "$work/lg.json" ]]; then
		log "  $server $body $enc c=$c FAILED: $(tail -c 300 "$work/lg.err")"
		jq -nc --arg server "$server" --arg body "$body" --arg enc "$enc" --argjson c "$c" --arg section "$section" \
			--argjson round "$round" --arg error "$(tail -c 300 "$work/lg.err")" \
			'{server: $server, body: $body, enc: $enc, concurrency: $c, section: $section, round: $round, failed: $error}' >>"$work/results.jsonl"
		return 0
	fi
	jq -c --arg server "$server" --arg body "$body" --arg enc "$enc" --arg section "$section" --argjson round "$round" \
		--argjson cpu_pressure "$(echo "scale=3; ($p1 - $p0) / 10000 / ($t1 - $t0)" | bc)" \
		--argjson cpu_s "$(echo "scale=3; ($c1 - $c0) / $hz" | bc)" \
		--argjson wall_s "$(echo "$t1 - $t0" | bc)" \
		--argjson machine_busy "$(echo "scale=3; ($m1 - $m0) / ($m1t - $m0t + 0.0001) * $(nproc)" | bc)" \
		--argjson rss_kib "$(peak_rss_kib "$g")" --argjson procs "$(nprocs "$g")" \
		--arg lg_cpu "$(cat "$work/lg.time" | tail -1)" \
		'. + {server: $server, body: $body, enc: $enc, section: $section, round: $round, cpu_pressure_pct: $cpu_pressure,
		server_cpu_s: $cpu_s, window_s: $wall_s,
		machine_busy_cores: $machine_busy, peak_rss_kib: $rss_kib, server_processes: $procs,
		loadgen_cpu_s: ($lg_cpu | split(" ") | map(tonumber) | add)}' "$work/lg.json" >>"$work/results.jsonl"
	log "  $server $body $enc c=$c$( ((REPEATS > 1)) && echo " (round $round)"): $(jq -r '"\(.rps | floor) req/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, errors \(.errors)"' "$work/lg.json")"
}

# The three servers run side by side (idle when not measured) and every case
# is run on each in turn, the order rotating from case to case: the other
# jobs on a shared machine then weigh on all three alike, rather than on
# whichever server happened to be measured while they ran. They are started
# afresh for each request body, so that memory a server kept from a larger
# body does not count towards the next body's peak RSS.
: >"$work/results.jsonl"
: >"$work/loads.jsonl"
all_servers=(go sdk-default sdk-percore)
declare -A group url
restart_servers() {
	local server port
	for server in "${all_servers[@]}"; do
		if [[ -n "${group[$server]:-}" ]]; then stop_server "${group[$server]}"; fi
		port=$(free_port)
		start_server "$server" "$port"
		group[$server]=$pgid
		url[$server]="http://127.0.0.1:$port"
	done
}
jq -nc --arg server "load cases" --arg at start --arg load "$(loadavg)" '$ARGS.named' >>"$work/loads.jsonl"
log "load cases (load average $(loadavg))"
k=0
each_server() { # section body enc c duration warmup server... (REPEATS rounds)
	local section=$1 body=$2 enc=$3 c=$4 d=$5 w=$6 i n server r
	shift 6
	local list=("$@")
	n=${#list[@]}
	for ((r = 1; r <= REPEATS; r++)); do
		for ((i = 0; i < n; i++)); do
			server=${list[$(((i + k) % n))]}
			run_case "${group[$server]}" "${url[$server]}" "$server" "$body" "$enc" "$c" "$d" "$w" "$section" "$r"
		done
		k=$((k + 1))
	done
}
for body in validate_50 validate_2000; do
	restart_servers
	for enc in plain deflate; do
		for c in $CONCURRENCY; do
			each_server load "$body" "$enc" "$c" "$DURATION" "$WARMUP" "${all_servers[@]}"
		done
	done
done
restart_servers
for c in $CONCURRENCY; do
	each_server load verify_50 plain "$c" "$DURATION" "$WARMUP" "${all_servers[@]}"
done
jq -nc --arg server "load cases" --arg at end --arg load "$(loadavg)" '$ARGS.named' >>"$work/loads.jsonl"

# ---- 5. payload scaling (Go and rasa-sdk's default) ----
restart_servers
jq -nc --arg server "scaling" --arg at start --arg load "$(loadavg)" '$ARGS.named' >>"$work/loads.jsonl"
log "payload scaling (load average $(loadavg))"
for n in $SCALE_SIZES; do
	each_server scaling "validate_$n" plain 1 "$SCALE_DURATION" "$SCALE_WARMUP" go sdk-default
done
jq -nc --arg server "scaling" --arg at end --arg load "$(loadavg)" '$ARGS.named' >>"$work/loads.jsonl"
for server in "${all_servers[@]}"; do stop_server "${group[$server]}"; done

# ---- 6. action_block_card on PostgreSQL ----
: >"$work/block.json"
if [[ $SKIP_BLOCK != 1 ]]; then
	log "block benchmark: PostgreSQL (durable), bank of $BLOCK_BANK, $BLOCKS blocks at c=$BLOCK_C (load average $(loadavg))"
	jq -nc --arg server block --arg at start --arg load "$(loadavg)" '$ARGS.named' >>"$work/loads.jsonl"
	env -u TEST_DATABASE_URL PG_DURABLE=1 N="$BLOCK_BANK" BLOCKS="$BLOCKS" C="$BLOCK_C" \
		bash scripts/with-postgres.sh bash bench/block.sh >"$work/block.out" 2>"$work/block.err" &
	blockjob=$!
	# Samples the action server that block.sh starts (a descendant of blockjob):
	# its CPU (verify and block phases together) and its peak RSS.
	(
		for ((i = 0; i < 36000; i++)); do
			p=$(ps -e -o pid=,ppid=,comm= | awk -v root="$blockjob" '
				{ parent[$1] = $2; name[$1] = $3 }
				END { for (p in name) if (name[p] == "actionserver") { q = p
					while (q in parent && q != root && q > 1) q = parent[q]
					if (q == root) print p } }' | head -1)
			if [[ -n "$p" ]]; then
				t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
				h=$(awk '/^VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null)
				[[ -n "$t" && -n "$h" ]] && echo "$t $h" >"$work/block.sample"
			fi
			sleep 0.2
		done
	) &
	sampler=$!
	block_status=0
	wait "$blockjob" || block_status=$?
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	sampler=""
	jq -nc --arg server block --arg at end --arg load "$(loadavg)" '$ARGS.named' >>"$work/loads.jsonl"
	if [[ $block_status -eq 0 ]] && tail -1 "$work/block.out" | jq -e . >/dev/null 2>&1; then
		read -r bt bh <"$work/block.sample" 2>/dev/null || { bt=""; bh=""; }
		tail -1 "$work/block.out" | jq -c --arg imp "$(grep -o 'import of .*' "$work/block.err" | head -1)" \
			--arg ticks "${bt:-}" --arg hwm "${bh:-}" --argjson hz "$hz" --argjson blocks "$BLOCKS" --argjson bank "$BLOCK_BANK" \
			'. + {"import": $imp, bank: $bank, blocks: $blocks,
			server_cpu_s: (if $ticks == "" then null else ($ticks | tonumber) / $hz end),
			peak_rss_kib: (if $hwm == "" then null else ($hwm | tonumber) end)}' >"$work/block.json"
		log "  $(cat "$work/block.json")"
	else
		log "  block benchmark failed (status $block_status): $(tail -c 400 "$work/block.err")"
		jq -nc --arg error "$(tail -c 400 "$work/block.err")" '{failed: $error}' >"$work/block.json"
	fi
fi

# ---- 7. the report ----
run_s=$(echo "$(now) - $run_started" | bc)
jq --arg load_end "$(loadavg)" --argjson run_s "$run_s" '. + {load_end: $load_end, run_s: $run_s}' "$work/meta.json" >"$work/meta2.json"
mkdir -p "$(dirname "$DOC")" "$(dirname "$PNG")"
rm -rf "$BENCH_CACHE/last-run"
mkdir -p "$BENCH_CACHE/last-run"
cp "$work"/*.jsonl "$work"/meta2.json "$work"/parity.txt "$work"/bodies.tsv "$work"/block.json "$BENCH_CACHE/last-run/"
if [[ -f "$work/hwm-not-reset" ]]; then cp "$work/hwm-not-reset" "$BENCH_CACHE/last-run/"; fi
MPLBACKEND=Agg "$py" bench/report.py --work "$work" --doc "$DOC" --png "$PNG"
log "load average at end: $(loadavg); run took $(printf '%.0f' "$run_s") s; wrote $DOC and $PNG"
