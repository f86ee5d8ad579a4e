#!/usr/bin/env bash
# The main job: the worker on a local workerd (wrangler dev, embedded default
# config, 127.0.0.1:8787; the console at /console) plus proto-gateway.
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
npx wrangler d1 migrations apply TRACE --local </dev/null
npx wrangler dev --ip 127.0.0.1 --port 8787
