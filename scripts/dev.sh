#!/usr/bin/env bash
# Set up (first run only) and run the clinic site locally: http://127.0.0.1:5000
# Needs python3 (3.11+) and Node.js 20+; no AWS account. Extra arguments go to
# `python -m localdev` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
exec .venv/bin/python -m localdev "$@"
