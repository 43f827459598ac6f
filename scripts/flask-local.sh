#!/usr/bin/env bash
# Run a `flask --app webapp` command against the running local site (start it first with
# scripts/dev.sh), e.g.:  scripts/flask-local.sh create-staff reception@clinic.example
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .local/env ]; then
  echo "error: the local site has not been started yet: run scripts/dev.sh first" >&2
  exit 1
fi
source .local/env
exec .venv/bin/flask --app webapp "$@"
