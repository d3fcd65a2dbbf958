#!/usr/bin/env bash
# Rasa end-to-end tests of the card-block assistant on a REAL Rasa Open Source
# 3.6 with the REAL Go action server (`make rasa-e2e`):
#
#   1. the Rasa venv (.ci/rasa/install.sh; built once, then reused);
#   2. the model: `rasa data validate` then `rasa train` of rasa-project/,
#      cached by a sha256 of config.yml, domain.yml, data/** and the venv as
#      $CACHE/models/<hash>.tar.gz (a cached model was validated when it was
#      trained: same inputs, same result, so validation is skipped then);
#   3. actionserver, cardblockctl and the fake Freshdesk, built once;
#   4. under scripts/with-postgres.sh (a throwaway PostgreSQL unless
#      TEST_DATABASE_URL is set), .ci/rasa/e2e_runner.py: fake Freshdesk, one
#      `rasa run`, and per test case a fresh database + action server on
#      :5055; see the runner's docstring for how cases are replayed.
#
# Output: one PASS/FAIL line per case, then "N passed, M failed" as the last
# line; exit status non-zero on any failure. Progress and TIMING lines go to
# stderr; logs of the last runs stay in $CACHE/e2e-logs/.
#
#   .ci/rasa/e2e.sh [-k NAME_PART] [--any-order] [TEST_FILE_OR_DIR ...]
#
# Env: RASA_CACHE_DIR (default ~/.cache/sctbnk-rasa), RASA_E2E_RASA_PORT
# (5005), RASA_E2E_ACTIONS_PORT (5055), GO (go), TEST_DATABASE_URL (use this
# PostgreSQL; its user must be allowed to CREATE DATABASE).
set -euo pipefail
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL=2
export SQLALCHEMY_SILENCE_UBER_WARNING=1

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PROJECT="$ROOT/rasa-project"
CACHE_DIR="${RASA_CACHE_DIR:-$HOME/.cache/sctbnk-rasa}"
GO="${GO:-go}"

log() { printf '[rasa-e2e] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s; }

tests=()
runner_args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	-k) [[ $# -ge 2 ]] || die "-k needs a value"; runner_args+=(-k "$2"); shift 2 ;;
	--any-order) runner_args+=(--any-order); shift ;;
	-h | --help) sed -n '2,26p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) tests+=("$1"); shift ;;
	esac
done
[[ ${#tests[@]} -gt 0 ]] || tests=("$PROJECT/tests/e2e")

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sctbnk-rasa-e2e.XXXXXX")"
mkdir -p "$CACHE_DIR/e2e-logs"
LOGS="$CACHE_DIR/e2e-logs/$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$LOGS"
# keep the logs of the last 5 runs
ls -1dt "$CACHE_DIR"/e2e-logs/*/ 2>/dev/null | tail -n +6 | xargs -r rm -rf

child=""
cleanup() {
	local status=$?
	# Interrupted while the runner runs: ask it to stop its processes (it
	# handles SIGTERM), then give it and with-postgres.sh time to clean up.
	if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
		[[ -f "$WORK/runner.pid" ]] && kill -TERM "$(cat "$WORK/runner.pid")" 2>/dev/null || true
		for _ in $(seq 1 60); do kill -0 "$child" 2>/dev/null || break; sleep 0.5; done
	fi
	# Processes the runner started (in their own sessions) and did not stop:
	# only happens if the runner itself was killed.
	if [[ -f "$WORK/pids" ]]; then
		while read -r pid; do
			[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null || true
		done <"$WORK/pids"
		sleep 1
		while read -r pid; do
			[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null || true
		done <"$WORK/pids"
	fi
	rm -rf "$WORK"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

total_start=$(now)

# 1. venv ---------------------------------------------------------------------
t=$(now)
venv_line="$(bash "$HERE/install.sh" | tail -n 1)"
[[ "$venv_line" == RASA_VENV=* ]] || die "install.sh did not print RASA_VENV=... (got: $venv_line)"
RASA_VENV="${venv_line#RASA_VENV=}"
PY="$RASA_VENV/bin/python"
RASA="$RASA_VENV/bin/rasa"
log "TIMING venv: $(($(now) - t))s ($RASA_VENV)"

# 2. model ----------------------------------------------------------------------
# The hash covers every training input plus the venv (its name is the hash of
# the locked requirements and the interpreter).
model_hash="$(
	cd "$PROJECT"
	{
		for f in config.yml domain.yml $(find data -type f | LC_ALL=C sort); do
			printf '%s\0' "$f"
			sha256sum <"$f"
		done
		basename "$RASA_VENV"
	} | sha256sum | cut -c1-24
)"
MODEL="$CACHE_DIR/models/$model_hash.tar.gz"
mkdir -p "$CACHE_DIR/models"
t=$(now)
if [[ -f "$MODEL" ]]; then
	log "TIMING train: 0s (cached model $MODEL; validated when it was trained)"
else
	exec 8>"$CACHE_DIR/train.lock"
	log "waiting for the training lock" && flock 8 # one training at a time on this machine
	if [[ -f "$MODEL" ]]; then
		log "TIMING train: $(($(now) - t))s (trained meanwhile by another run: $MODEL)"
	else
		v=$(now)
		log "rasa data validate (log: $LOGS/validate.log)"
		if ! (cd "$PROJECT" && "$RASA" data validate --max-history 5 \
			--config config.yml --domain domain.yml --data data) >"$LOGS/validate.log" 2>&1; then
			grep -E 'ERROR|Error|error' "$LOGS/validate.log" | grep -v 'DeprecationWarning' | tail -n 40 >&2 || tail -n 40 "$LOGS/validate.log" >&2
			die "rasa data validate reported errors (full log: $LOGS/validate.log)"
		fi
		# warnings are fine (e.g. responses only actions utter): count them
		sed -E 's/\x1b\[[0-9;]*m//g' "$LOGS/validate.log" | grep -E 'UserWarning: ' | sed -E 's/.*UserWarning: //' >"$WORK/validate-warnings" || true
		if [[ -s "$WORK/validate-warnings" ]]; then
			log "rasa data validate: $(wc -l <"$WORK/validate-warnings") warning(s), e.g.:"
			head -n 3 "$WORK/validate-warnings" | sed 's/^/[rasa-e2e]   /' >&2
		fi
		log "TIMING validate: $(($(now) - v))s"
		log "rasa train (log: $LOGS/train.log)"
		mkdir -p "$WORK/models"
		# RASA_CACHE_DIRECTORY: Rasa's training cache, outside the repository
		# and reused by the next training of the same venv.
		if ! (cd "$PROJECT" && RASA_CACHE_DIRECTORY="$CACHE_DIR/train-cache-$(basename "$RASA_VENV")" \
			"$RASA" train --skip-validation --config config.yml --domain domain.yml --data data \
			--out "$WORK/models" --fixed-model-name "$model_hash") >"$LOGS/train.log" 2>&1; then
			tail -n 40 "$LOGS/train.log" >&2
			die "rasa train failed (full log: $LOGS/train.log)"
		fi
		[[ -f "$WORK/models/$model_hash.tar.gz" ]] || die "rasa train wrote no $model_hash.tar.gz (log: $LOGS/train.log)"
		mv "$WORK/models/$model_hash.tar.gz" "$MODEL.tmp" && mv "$MODEL.tmp" "$MODEL"
		log "TIMING train: $(($(now) - t))s (validate + train; model $MODEL)"
		# keep the 5 newest models
		ls -1t "$CACHE_DIR"/models/*.tar.gz 2>/dev/null | tail -n +6 | xargs -r rm -f
	fi
	exec 8>&-
fi

# 3. binaries -------------------------------------------------------------------
t=$(now)
mkdir -p "$WORK/bin"
"$GO" build -o "$WORK/bin/" ./cmd/actionserver ./cmd/cardblockctl
# A directory starting with "." is not a valid import path: build the file.
"$GO" build -o "$WORK/bin/fakefreshdesk" "$HERE/fakefreshdesk/main.go"
log "TIMING go build: $(($(now) - t))s"

# 4. the run --------------------------------------------------------------------
command -v psql >/dev/null || die "psql not found (PostgreSQL client; the runner creates a database per test case)"
# The usual ports unless they are taken (a developer's `make run` on 5055, a
# local Rasa on 5005): the generated endpoints.yml follows whatever is chosen.
pick_port() {
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
		echo "$1"
		return
	fi
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
RASA_E2E_RASA_PORT=${RASA_E2E_RASA_PORT:-$(pick_port 5005)}
RASA_E2E_ACTIONS_PORT=${RASA_E2E_ACTIONS_PORT:-$(pick_port 5055)}
# The runner prints "TIMING total" itself: its summary must stay the last line.
export RASA_E2E_STARTED="$total_start"
# In the background so that INT/TERM reach the trap at once (bash runs traps
# only between foreground commands); the trap then stops the runner.
bash "$ROOT/scripts/with-postgres.sh" "$PY" "$HERE/e2e_runner.py" \
	--model "$MODEL" --bin-dir "$WORK/bin" --work "$WORK" --log-dir "$LOGS" \
	--rasa-port "$RASA_E2E_RASA_PORT" --actions-port "$RASA_E2E_ACTIONS_PORT" \
	${runner_args[@]+"${runner_args[@]}"} "${tests[@]}" </dev/null &
child=$!
status=0
wait "$child" || status=$?
child=""
exit "$status"
