# Sourced by test.sh: the browser tests drive Debian's chromium through Playwright.
# Playwright's own browser download is never used (`playwright install` is not needed:
# the Python package ships its driver); the browser binary comes from apt.
set -euo pipefail

if [ ! -x /usr/bin/chromium ]; then
  echo "==> Installing chromium (for the browser tests)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq
    sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "error: chromium is missing and installing it needs root: apt-get install chromium" >&2
    exit 1
  fi
  [ -x /usr/bin/chromium ] || { echo "error: chromium did not install" >&2; exit 1; }
fi
