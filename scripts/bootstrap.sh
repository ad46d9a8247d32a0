#!/usr/bin/env sh
# One entry point for a fresh machine that has only Node.js and npm.
#   sh scripts/bootstrap.sh start   install Bun (if missing) + dependencies, then run the daemon (offline model)
#   sh scripts/bootstrap.sh test    install Bun (if missing) + dependencies, then lint, typecheck, tests, quick bench
set -eu
cd "$(dirname "$0")/.."

BUN_VERSION=$(node -p "require('./package.json').packageManager.replace(/^bun@/, '')")

if ! command -v bun >/dev/null 2>&1 || [ "$(bun --version)" != "$BUN_VERSION" ]; then
  echo "bootstrap: installing bun@$BUN_VERSION with npm" >&2
  npm install -g "bun@$BUN_VERSION" >&2
fi
bun install --frozen-lockfile >&2

case "${1:-}" in
  start) shift; exec bun apps/cli/src/main.ts serve "$@" ;;
  test) exec bun scripts/run-tests.ts ;;
  *) echo "usage: sh scripts/bootstrap.sh start|test" >&2; exit 2 ;;
esac
