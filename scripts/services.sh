# Sourced by test.sh: make sure the services the tests talk to are there.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "error: need root to run: $*" >&2; return 1; fi; }

redis_answers() { .venv/bin/python - <<'PY'
import redis, sys
try:
    sys.exit(0 if redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping() else 1)
except redis.RedisError:
    sys.exit(1)
PY
}

if ! redis_answers; then
  if ! command -v redis-server >/dev/null; then
    echo "==> Installing redis-server"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  echo "==> Starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --logfile "$(mktemp -t redis-XXXX.log)"
  for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
  redis_answers || { echo "error: Redis did not start" >&2; exit 1; }
fi
