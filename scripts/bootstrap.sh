#!/usr/bin/env sh
# One entry point for a fresh machine that has only Node.js and npm.
#   sh scripts/bootstrap.sh start   install Bun (if missing) + dependencies, then run the daemon (offline model)
#   sh scripts/bootstrap.sh test    install Bun (if missing) + dependencies, then lint, typecheck, tests, quick bench
set -eu
cd "$(dirname "$0")/.."

BUN_VERSION=$(node -p "require('./package.json').packageManager.replace(/^bun@/, '')")
BUN_SERIES=${BUN_VERSION%.*} # any patch release of the pinned major.minor will do (as scripts/check-bun.ts)

bun_ok() { command -v bun >/dev/null 2>&1 && case "$(bun --version)" in "$BUN_SERIES".*) true ;; *) false ;; esac; }

if ! bun_ok; then
  # A project-local install first (no root, no PATH changes); a global one if that fails.
  echo "bootstrap: installing bun@$BUN_VERSION from the npm registry into .tools/" >&2
  if npm install --no-save --prefix .tools "bun@$BUN_VERSION" >&2 && [ -x .tools/node_modules/.bin/bun ]; then
    PATH="$PWD/.tools/node_modules/.bin:$PATH"
    export PATH
  else
    npm install -g "bun@$BUN_VERSION" >&2
  fi
  bun_ok || { echo "bootstrap: bun $BUN_SERIES.x is still not on PATH" >&2; exit 1; }
fi
bun install --frozen-lockfile >&2

# The next step after a fresh install: the `dispatch` command (bin/dispatch finds this Bun itself).
echo "bootstrap: to get the dispatch command, run: export PATH=\"$PWD/bin:\$PATH\"  (add it to your shell profile)" >&2

# The browser end-to-end test needs Chromium (Debian's package; tests never download a browser).
# Best effort, only where we may install system packages; without it that one test is skipped.
if [ "${1:-}" = "test" ] && [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "bootstrap: installing chromium for the browser test (apt-get)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 ||
    echo "bootstrap: could not install chromium; the browser test will be skipped" >&2
fi

# The relay tests need a real redis-server (Debian's package; run-tests.ts starts it on a free loopback
# port). Same rule as Chromium: installed only where we may, else those tests are skipped.
if [ "${1:-}" = "test" ] && ! command -v redis-server >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "bootstrap: installing redis-server for the relay tests (apt-get)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2 ||
    echo "bootstrap: could not install redis-server; the relay tests will be skipped" >&2
fi

case "${1:-}" in
  start) shift; exec bun apps/cli/src/main.ts serve "$@" ;;
  test) exec bun scripts/run-tests.ts ;;
  *) echo "usage: sh scripts/bootstrap.sh start|test" >&2; exit 2 ;;
esac
