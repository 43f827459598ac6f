#!/usr/bin/env bash
# Set up (first run only) and run every check: ruff, then the whole pytest suite.
# Needs python3 (3.11+) and Node.js 20+. Installs and starts redis-server when no Redis
# answers on 127.0.0.1:6379 (via apt-get when run as root). Extra arguments go to pytest,
# e.g. `scripts/test.sh -m "not infra"` for the quick unit tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/services.sh
source scripts/browser.sh

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "==> pytest"
.venv/bin/python -m pytest "$@"
