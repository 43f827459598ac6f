# Sourced by dev.sh and test.sh: create .venv and node_modules when missing or stale.
set -euo pipefail

need() { command -v "$1" >/dev/null 2>&1 || { echo "error: $1 is required ($2)" >&2; exit 1; }; }
need python3 "Python 3.11 or newer"
need node "Node.js 20 or newer, for the local DynamoDB (dynalite)"
need npm "npm, comes with Node.js"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "error: Python 3.11 or newer is required" >&2; exit 1; }

stamp=.venv/.installed
if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ] \
   || [ requirements.txt -nt "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ]; then
  echo "==> Installing Python packages into .venv"
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt
  touch "$stamp"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> Installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The translations' compiled catalogs (.mo, not committed): the app reads them, never
# compiles them itself. Cheap, so done on every run (a changed .po is picked up).
.venv/bin/pybabel compile --directory webapp/translations >/dev/null
