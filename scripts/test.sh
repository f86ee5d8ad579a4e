#!/usr/bin/env bash
# Every test: native cargo tests of the workspace, the wasm build, and the
# Miniflare suite against the built worker. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh
echo "== cargo test (native: handlers, proto-gateway, tools)"
# handlers/schema: the config validator CLI and the committed-schema check.
cargo test --workspace --exclude exoedge --features handlers/schema
echo "== wasm build"
scripts/build-worker.sh
echo "== miniflare suite (tests/*.test.mjs)"
node --test --test-concurrency=1 tests/
