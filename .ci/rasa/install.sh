#!/usr/bin/env bash
# Build (once) a venv with Rasa Open Source 3.6.21 + rasa-sdk 3.6.2 on CPython 3.11.
#
#   .ci/rasa/install.sh            -> progress on stderr, last stdout line:
#   RASA_VENV=/root/.cache/sctbnk-rasa/venv-<hash>
#
# The venv is keyed by a sha256 of requirements.txt, constraints.txt, this
# script and the interpreter version, under ${RASA_CACHE_DIR:-$HOME/.cache/sctbnk-rasa}.
# If it exists, is complete and `rasa --version` works, nothing is done.
# requirements.txt is a full hashed lock (regenerate with: python3 .ci/rasa/lock.py);
# it is installed with --no-deps --require-hashes, so no resolution happens here.
#
# Env: RASA_CACHE_DIR, RASA_PYTHON (default python3, must be CPython 3.11).
# Callers running rasa should also export RASA_TELEMETRY_ENABLED=false (rasa
# otherwise enables telemetry on first run and tries to reach a non-PyPI host).
set -euo pipefail
export RASA_TELEMETRY_ENABLED=false

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="${RASA_CACHE_DIR:-$HOME/.cache/sctbnk-rasa}"
PY="${RASA_PYTHON:-python3}"
REQS="$HERE/requirements.txt"

log() { printf '[rasa-install] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v "$PY" >/dev/null || die "interpreter '$PY' not found"
PYVER="$("$PY" -c 'import sys, platform; print(platform.python_implementation(), sys.version.split()[0], platform.machine())')"
case "$PYVER" in
  "CPython 3.11."*" x86_64") ;;
  *) die "need CPython 3.11 on x86_64 (the lock has cp311 manylinux wheels), got: $PYVER" ;;
esac

HASH="$({ cat "$REQS" "$HERE/constraints.txt" "${BASH_SOURCE[0]}"; echo "$PYVER"; } | sha256sum | cut -c1-16)"
VENV="$CACHE_DIR/venv-$HASH"
LOG_DIR="$CACHE_DIR/logs"
mkdir -p "$CACHE_DIR" "$LOG_DIR"

venv_ok() {
  [[ -f "$VENV/.complete" && -x "$VENV/bin/rasa" ]] &&
    TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/rasa" --version >/dev/null 2>&1
}

if venv_ok; then
  log "up to date: $VENV"
  echo "RASA_VENV=$VENV"
  exit 0
fi

# Serialise concurrent builds (e.g. parallel CI jobs) of the same cache dir.
exec 9>"$CACHE_DIR/.lock"
flock 9
if venv_ok; then  # built by someone else while we waited
  log "up to date: $VENV"
  echo "RASA_VENV=$VENV"
  exit 0
fi

# multidict 5.2.0 (sanic 21.12 needs <6) has no cp311 wheel: it is compiled.
if ! command -v cc >/dev/null; then
  [[ $(id -u) -eq 0 ]] || die "a C compiler is needed (apt-get install gcc libc6-dev)"
  log "installing gcc via apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -q --no-install-recommends gcc libc6-dev >>"$LOG_DIR/apt.log" 2>&1; }
  if ! apt_install; then
    apt-get update -q >>"$LOG_DIR/apt.log" 2>&1 || { cat "$LOG_DIR/apt.log" >&2; die "apt-get update failed"; }
    apt_install || { cat "$LOG_DIR/apt.log" >&2; die "apt-get install gcc failed"; }
  fi
fi
"$PY" - <<'EOF' || die "Python.h missing for $PY (Debian python: apt-get install python3-dev)"
import os, sysconfig
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
EOF

log "building $VENV (log: $LOG_DIR/venv-$HASH.log)"
PIPLOG="$LOG_DIR/venv-$HASH.log"
: >"$PIPLOG"
run_logged() {
  if ! "$@" >>"$PIPLOG" 2>&1; then
    log "FAILED: $*"
    cat "$PIPLOG" >&2
    die "see $PIPLOG"
  fi
}
rm -rf "$VENV"
run_logged "$PY" -m venv "$VENV"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
PIP=("$VENV/bin/python" -m pip install --no-deps --require-hashes --progress-bar off)
# 1) pinned build backend first, so the few sdists build with locked tools
#    (--no-build-isolation) instead of whatever setuptools is newest on PyPI.
BOOT="$VENV/bootstrap-requirements.txt"
awk '/^(setuptools|wheel)==/{print; getline; print}' "$REQS" >"$BOOT"
run_logged "${PIP[@]}" -r "$BOOT"
# 2) the full lock. --ignore-requires-python is needed for rasa/rasa-sdk
#    (Requires-Python <3.11); every other pin was resolved without it.
run_logged "${PIP[@]}" --ignore-requires-python --no-build-isolation -r "$REQS"

log "smoke test"
export TF_CPP_MIN_LOG_LEVEL=2
run_logged "$VENV/bin/python" -c "import rasa, tensorflow, rasa_sdk; print('imports ok', rasa.__version__, tensorflow.__version__, rasa_sdk.__version__)"
run_logged "$VENV/bin/rasa" --version
grep -E '^(imports ok|Rasa Version)' "$PIPLOG" >&2 || true
touch "$VENV/.complete"
log "done: $VENV"
echo "RASA_VENV=$VENV"
