#!/usr/bin/env bash
# Runs a rasa command of the pinned Rasa Pro image on rasa-project/, with the
# licence from the environment and the action server on the host's 5055.
# Used by .github/workflows/ci-cd.yml; needs RASA_PRO_LICENSE and
# ACTION_SERVER_TOKEN (and REDIS_PASSWORD) in the environment.
set -euo pipefail
: "${RASA_PRO_LICENSE:?RASA_PRO_LICENSE must be set}"
cd "$(dirname "$0")/.."
exec docker run --rm --network host \
  --user "$(id -u):0" \
  -v "$PWD/rasa-project:/app" -w /app \
  -e RASA_PRO_LICENSE -e RASA_LICENSE="$RASA_PRO_LICENSE" \
  -e ACTION_SERVER_TOKEN \
  -e ACTION_ENDPOINT_URL=http://localhost:5055/webhook \
  -e REDIS_HOST=localhost -e REDIS_PORT=6379 -e REDIS_PASSWORD \
  -e RASA_TELEMETRY_ENABLED=false \
  "${RASA_PRO_BASE:-rasa/rasa-pro:3.14.29}" "$@"
