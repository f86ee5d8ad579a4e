#!/usr/bin/env bash
# Builds the worker to build/index.js + build/index_bg.wasm with worker-build,
# using the toolchain scripts/setup.sh found or installed.
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
exec worker-build --release "$@"
