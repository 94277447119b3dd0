#!/usr/bin/env bash
# Installs what the dashboard's browser tests need, idempotently: Debian's chromium at /usr/bin/chromium
# (playwright-core drives it; no browser is downloaded), and builds dist/: the page's script (dist/ui)
# and the server the process tests start (test/server-process.ts builds it again only when src/ is
# newer), once, before the test files run two at a time.
set -euo pipefail
RUN_DIR=${CU_TEST_RUN_DIR:-/run/container-updater-test}
mkdir -p "$RUN_DIR"
log() { echo "test-browser: $*" >&2; }
fail() { echo "test-browser: $*" >&2; exit 1; }
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

if [[ ! -x /usr/bin/chromium ]]; then
  apt_install chromium
fi
/usr/bin/chromium --version >&2 || fail "/usr/bin/chromium does not run"
cd "$(dirname "$0")/.." && npm run --silent build
