#!/usr/bin/env bash
# The main job: the two workers on a local workerd (wrangler dev, embedded
# default config, 127.0.0.1:8787; the console at /console) plus proto-gateway.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh
# The gateway has its own profile (unwinding, no fat LTO): docs/gateway.md.
cargo build --profile gateway -p proto-gateway
target/gateway/proto-gateway "$@" &
GW=$!
trap 'kill $GW 2>/dev/null || true' EXIT INT TERM
# The call trace's local D1 (docs/console.md): apply migrations/ (idempotent;
# </dev/null answers wrangler's confirmation prompt with its default, yes).
npx wrangler d1 migrations apply TRACE --local --persist-to .wrangler/state </dev/null
# Both workers in one local workerd (README, "Two workers"): the callback
# worker (callbacks/wrangler.toml) answers on 8787 and hands every other
# route to the backend (wrangler.toml) through its service binding.
npx wrangler dev -c callbacks/wrangler.toml -c wrangler.toml --ip 127.0.0.1 --port 8787 --persist-to .wrangler/state
