#!/usr/bin/env bash
# Builds a worker with worker-build, using the toolchain scripts/setup.sh
# found or installed, then strips the wasm's names section (BENCHMARKS.md,
# "Size"). Two workers come from the one crate (README, "Two workers"):
#   scripts/build-worker.sh            # the callback worker -> build/
#   scripts/build-worker.sh --backend  # the backend worker  -> build-backend/
# Other arguments go to worker-build, e.g.
#   scripts/build-worker.sh --out-dir build-test . --features test-panic,test-clock
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f scripts/.wasm-env ] || scripts/setup.sh
# shellcheck disable=SC1091
source scripts/.wasm-env
export PATH="$HOME/.cargo/bin:$PATH"
[ -z "${RUSTC_BOOTSTRAP:-}" ] || export PATH="/usr/bin:$PATH"
# The wasm build has its own target dir: a different compiler (Debian's) and
# target than the native tests, so sharing would only evict each other.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/wasm}"
# One build at a time per target dir: the two workers are the same crate,
# so both write the same .wasm that worker-build then reads (`wrangler dev`
# with both configs starts both builds at once).
mkdir -p "$CARGO_TARGET_DIR"
exec 9>"$CARGO_TARGET_DIR/.build-worker.lock"
flock 9

# `--backend`: the whole worker (every route, the Durable Object classes).
args=()
backend=0
for a in "$@"; do
  if [ "$a" = --backend ]; then backend=1; else args+=("$a"); fi
done
if [ "$backend" = 1 ]; then
  has_out=0 has_path=0
  for a in "${args[@]}"; do
    case "$a" in --out-dir | --out-dir=*) has_out=1 ;; .) has_path=1 ;; esac
  done
  [ "$has_out" = 1 ] || args=(--out-dir build-backend "${args[@]}")
  # Cargo's arguments follow the crate's path.
  [ "$has_path" = 1 ] || args+=(.)
  args+=(--features backend)
fi

# Where worker-build writes (`--out-dir build-test` for the test build).
out=build
for i in "${!args[@]}"; do
  case "${args[$i]}" in
    --out-dir) out=${args[$((i + 1))]} ;;
    --out-dir=*) out=${args[$i]#--out-dir=} ;;
  esac
done

# Unminified, so that scripts/plain-entry.mjs can find the shim's default
# export by name; it replaces the per-request Proxy with a plain handler
# object (same reset-after-trap checks) and minifies the result.
NO_MINIFY=1 worker-build --release "${args[@]}"
node scripts/plain-entry.mjs "$out/index.js"

# worker-build's wasm-opt pass (-Oz, Cargo.toml's wasm-pack metadata) always
# keeps the names section: function names for stack traces, ~190 KB raw,
# ~45 KB gzip, parsed on every cold start. A panic's message does not need
# it: console_error_panic_hook logs the message and its file:line, which live
# in the data section (tests/panic.test.mjs checks the log). Set
# EXOEDGE_KEEP_NAMES=1 to keep names for profiling or symbolicated traces.
if [ "${EXOEDGE_KEEP_NAMES:-0}" != 1 ]; then
  wasm="$out/index_bg.wasm"
  features=(--enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int
    --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling)
  "${WASM_OPT_BIN:-node_modules/.bin/wasm-opt}" "$wasm" "${features[@]}" --strip-debug --strip-producers -o "$wasm.stripped"
  mv "$wasm.stripped" "$wasm"
fi
