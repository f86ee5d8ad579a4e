#!/usr/bin/env bash
# Every test: native cargo tests of the workspace, the wasm builds (both
# workers), and the Miniflare suite against them. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh
# Guard rails first: quick, and they fail fast (README, "Changing the code").
echo "== rustfmt and clippy (warnings are errors; unwrap denied outside tests)"
cargo fmt --all --check
cargo clippy --workspace --exclude exoedge --all-targets --features handlers/schema -- -D warnings
# The worker only builds for wasm32; check both workers as they ship
# (README, "Two workers") and the callback worker as tests build it.
(
  # shellcheck source=/dev/null
  source scripts/.wasm-env
  cargo clippy -p exoedge --target wasm32-unknown-unknown -- -D warnings
  cargo clippy -p exoedge --target wasm32-unknown-unknown --features backend -- -D warnings
  cargo clippy -p exoedge --target wasm32-unknown-unknown --features test-panic,test-clock -- -D warnings
)
echo "== cargo test (native: handlers, proto-gateway, tools)"
# handlers/schema: the config validator CLI and the committed-schema check.
cargo test --workspace --exclude exoedge --features handlers/schema
# First the test build with the panic hook (tests/panic.test.mjs, RELIABILITY.md),
# so build/ is always the last one written and never carries the hook.
echo "== wasm build with the test-only test-panic and test-clock features (build-test/)"
scripts/build-worker.sh --out-dir build-test . --features test-panic,test-clock
echo "== wasm builds: the backend worker (build-backend/), the callback worker (build/)"
# One after the other: they share cargo's target directory.
scripts/build-worker.sh --backend
scripts/build-worker.sh
echo "== miniflare suite (tests/*.test.mjs)"
node --test --test-concurrency=1 tests/
# Reliability extras (RELIABILITY.md): EXOEDGE_SKIP_SOAK=1 / EXOEDGE_SKIP_FUZZ=1 skip them.
if [ "${EXOEDGE_SKIP_SOAK:-}" != 1 ]; then
  echo "== soak: gateway + worker under steady load"
  node tests/soak.mjs --seconds "${SOAK_SECONDS:-30}"
fi
if [ "${EXOEDGE_SKIP_FUZZ:-}" != 1 ]; then
  # Every handlers target; gateway_decode would compile the tonic/SQLite stack
  # a third time with fuzz flags, so it runs outside CI (RELIABILITY.md) while
  # the gateway's own tests send it garbage and oversized messages.
  echo "== fuzz: every handlers target briefly"
  FUZZ_SECONDS="${FUZZ_SECONDS:-10}" scripts/fuzz.sh params_query status_body config_json event_json exoml_roundtrip push_body
fi
