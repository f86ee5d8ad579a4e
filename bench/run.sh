#!/usr/bin/env bash
# The whole benchmark suite in one command (BENCHMARKS.md):
#
#   bench/run.sh            # full run, about 8-9 minutes on 2 cores once built
#   BENCH_QUICK=1 bench/run.sh   # short smoke run of every part (~3 minutes)
#
# Builds what it needs (the worker, the hello-world Rust worker, proto-gateway
# and the load generator in release, the criterion benches), then runs:
#   1. size of the worker's wasm (raw and gzip) next to the hello-world's;
#   2. wrk against exoedge's /exotel/connect, /gather, /greeting (each route
#      on an isolate of its own, as each other worker is), the hello-world
#      Rust worker and the hand-written JS worker, all served by one workerd,
#      at 1, 50 and 200 connections, four rounds in alternating order;
#   3. cold start of a fresh workerd, exoedge vs hello-world, and the first
#      request alone once workerd is up (bench/coldstart.mjs);
#   4. criterion: parse + decide + serialise per callback (handlers/benches);
#   5. proto-gateway (bench/gateway.sh): ack at the edge vs after the local
#      fsync at 5,000 events/s; two replicas flat out; durable outbox vs
#      tmpfs; the sink down for 60 s and back;
#   6. bench/push-latency.mjs, when present.
# Results land in bench/results/<UTC time>/; the summary (summary.md) is
# printed at the end, ready to paste into BENCHMARKS.md.
#
# Needs wrk (`apt-get install -y wrk`; not installed by scripts/setup.sh,
# since the suite is not part of CI) and the wasm toolchain scripts/setup.sh
# prepares. Not run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=${BENCH_QUICK:-0}
OUT=$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT/wrk"
export CARGO_TARGET_DIR_NATIVE=${CARGO_TARGET_DIR_NATIVE:-$ROOT/target/bench}
# shellcheck source=bench/workerd/one-worker.sh
source bench/workerd/one-worker.sh

if [ "$QUICK" = 1 ]; then
  WRK_SECS=2; WRK_ROUNDS=1; COLD_REPS=3; CRIT_TIME=1; GW_SECS=3; OUTAGE_DOWN=10; OUTAGE_DRAIN=60
else
  WRK_SECS=4; WRK_ROUNDS=4; COLD_REPS=21; CRIT_TIME=3; GW_SECS=10; OUTAGE_DOWN=60; OUTAGE_DRAIN=150
fi

PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  rm -rf "/dev/shm/exoedge-bench-$$"
}
trap cleanup EXIT

log() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
# Every port the suite listens on must be free: a leftover server would be
# measured instead of this build.
ports_free 18701 18702 18703 18704 18705 18711 50161 19464 18800

# --- Machine and load, recorded with the results ----------------------------
{
  echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cores=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "mem_gb=$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)"
  echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "workerd=$(node_modules/.bin/workerd --version 2>/dev/null | head -1)"
  echo "wrk=$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "git=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+dirty')"
  echo "quick=$QUICK"
} > "$OUT/machine.txt"

# --- Builds -----------------------------------------------------------------
# proto-gateway is deployed with its own `gateway` profile (docs/gateway.md);
# the `release` profile is the wasm worker's (size first, fat LTO).
if grep -q '^\[profile.gateway\]' Cargo.toml; then GW_PROFILE=gateway; else GW_PROFILE=release; fi
echo "gateway_profile=$GW_PROFILE" >> "$OUT/machine.txt"
SECONDS=0
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  log "building the workers (scripts/build-worker.sh: the backend, then the callback worker)"
  scripts/build-worker.sh --backend > "$OUT/build-worker.log" 2>&1
  scripts/build-worker.sh >> "$OUT/build-worker.log" 2>&1

  log "building the hello-world Rust worker (same toolchain and profile)"
  (
    cd bench/hello-rs
    [ -f "$ROOT/scripts/.wasm-env" ] || "$ROOT/scripts/setup.sh"
    # shellcheck disable=SC1091
    source "$ROOT/scripts/.wasm-env"
    export PATH="$HOME/.cargo/bin:$PATH"
    [ -z "${RUSTC_BOOTSTRAP:-}" ] || export PATH="/usr/bin:$PATH"
    export CARGO_TARGET_DIR="$ROOT/target/bench-wasm"
    worker-build --release
  ) > "$OUT/build-hello-rs.log" 2>&1

  log "building proto-gateway and loadgen ($GW_PROFILE profile), criterion benches"
  CARGO_TARGET_DIR=$CARGO_TARGET_DIR_NATIVE cargo build --profile "$GW_PROFILE" -p proto-gateway -p loadgen > "$OUT/build-native.log" 2>&1
  CARGO_TARGET_DIR=$CARGO_TARGET_DIR_NATIVE cargo bench -p handlers --no-run >> "$OUT/build-native.log" 2>&1
fi
echo "build_s=$SECONDS" >> "$OUT/machine.txt"
SECONDS=0
GW_BIN=$CARGO_TARGET_DIR_NATIVE/$GW_PROFILE/proto-gateway
LOADGEN=$CARGO_TARGET_DIR_NATIVE/$GW_PROFILE/loadgen

# --- 1. Size ----------------------------------------------------------------
log "size"
size_line() {
  printf '%s raw=%s gzip6=%s gzip9=%s\n' "$1" "$(wc -c < "$2")" "$(gzip -6 -c "$2" | wc -c)" "$(gzip -9 -c "$2" | wc -c)"
}
{
  size_line exoedge build/index_bg.wasm
  size_line exoedge_js build/index.js
  # The backend (README, "Two workers"): not on a callback's path.
  [ ! -f build-backend/index_bg.wasm ] || size_line backend build-backend/index_bg.wasm
  [ ! -f build-backend/index.js ] || size_line backend_js build-backend/index.js
  size_line hello_rs bench/hello-rs/build/index_bg.wasm
  # What wasm-opt settings would give, applied to the same output: worker-build
  # runs `wasm-opt -O --debuginfo` (keeping the names section) by default.
  WASM_FEATURES=(--enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int
    --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling)
  node_modules/.bin/wasm-opt build/index_bg.wasm "${WASM_FEATURES[@]}" --strip-debug -o "$OUT/strip.wasm"
  size_line exoedge_strip_names "$OUT/strip.wasm"
  node_modules/.bin/wasm-opt build/index_bg.wasm "${WASM_FEATURES[@]}" -Oz --strip-debug -o "$OUT/oz-strip.wasm"
  size_line exoedge_oz_strip_names "$OUT/oz-strip.wasm"
  rm -f "$OUT/strip.wasm" "$OUT/oz-strip.wasm"
} > "$OUT/size.txt"
node bench/wasm-sections.mjs build/index_bg.wasm > "$OUT/wasm-sections.txt"
cat "$OUT/size.txt" >&2

# --- 2. Edge latency and throughput under wrk ---------------------------------
log "edge: one workerd serving exoedge, hello-rs and the JS worker"
# The Connect JSON the JS and hello-world workers send must be exoedge's.
node_modules/.bin/workerd serve bench/workerd/bench.capnp > "$OUT/workerd.log" 2>&1 &
PIDS+=($!)
WORKERD_PID=$!
for name in "${BENCH_ORDER[@]}"; do wait_answers "${BENCH_URLS[$name]}"; done
curl -sf "${BENCH_URLS[exoedge-connect]}" > "$OUT/connect-exoedge.json"
if ! cmp -s "$OUT/connect-exoedge.json" bench/js-worker/connect.json; then
  echo "WARNING: exoedge's Connect answer differs from bench/js-worker/connect.json (update it)" | tee -a "$OUT/machine.txt" >&2
fi
for name in "${BENCH_ORDER[@]}"; do wrk -t1 -c10 -d1s "${BENCH_URLS[$name]}" > /dev/null; done   # warm every isolate
for c in 1 50 200; do
  threads=$(( c < 2 ? 1 : 2 ))
  for round in $(seq "$WRK_ROUNDS"); do
    if [ $((round % 2)) = 0 ]; then seq_names=$(printf '%s\n' "${BENCH_ORDER[@]}" | tac); else seq_names=$(printf '%s\n' "${BENCH_ORDER[@]}"); fi
    for name in $seq_names; do
      wrk -t"$threads" -c"$c" -d"${WRK_SECS}s" --latency "${BENCH_URLS[$name]}" > "$OUT/wrk/c$c-$name-r$round.txt" 2>&1
      printf '%s c=%s r=%s: %s\n' "$name" "$c" "$round" "$(grep Requests/sec "$OUT/wrk/c$c-$name-r$round.txt")" >&2
    done
  done
done
# One connection again, every request timed by loadgen (no correction):
# wrk corrects for coordinated omission, which at one connection turns one
# stall of the machine (tens of ms, hitting every worker alike) into
# hundreds of samples, so its 1-connection p99 says which worker a stall
# happened to hit (BENCHMARKS.md, "Issue 16").
mkdir -p "$OUT/seq"
for round in $(seq "$WRK_ROUNDS"); do
  if [ $((round % 2)) = 0 ]; then seq_names=$(printf '%s\n' "${BENCH_ORDER[@]}" | tac); else seq_names=$(printf '%s\n' "${BENCH_ORDER[@]}"); fi
  for name in $seq_names; do
    "$LOADGEN" sequential --url "${BENCH_URLS[$name]}" --secs "$WRK_SECS" --label "$name" > "$OUT/seq/$name-r$round.json"
  done
done
kill "$WORKERD_PID"; wait "$WORKERD_PID" 2>/dev/null || true

# --- 3. Cold start -------------------------------------------------------------
log "cold start ($COLD_REPS repetitions each)"
node bench/coldstart.mjs "$COLD_REPS" > "$OUT/coldstart.json"
cat "$OUT/coldstart.json" >&2

# --- 4. criterion ----------------------------------------------------------------
log "criterion (handlers/benches/callbacks.rs)"
CARGO_TARGET_DIR=$CARGO_TARGET_DIR_NATIVE cargo bench -p handlers --bench callbacks -- \
  --warm-up-time 1 --measurement-time "$CRIT_TIME" --noplot > "$OUT/criterion.txt" 2>&1
grep -E '^[a-z_]+/[a-z_0-9]+|time:' "$OUT/criterion.txt" >&2 || true

# --- 5. proto-gateway (bench/gateway.sh, also runnable alone) -------------------
OUT=$OUT GW_BIN=$GW_BIN LOADGEN=$LOADGEN GW_SECS=$GW_SECS OUTAGE_DOWN=$OUTAGE_DOWN OUTAGE_DRAIN=$OUTAGE_DRAIN \
  bench/gateway.sh

# --- 6. Push relay latency (the push helper's script, if present) -------------------
if [ -f bench/push-latency.mjs ]; then
  log "push relay latency (bench/push-latency.mjs)"
  timeout 120 node bench/push-latency.mjs > "$OUT/push-latency.txt" 2>&1 || echo "push-latency.mjs failed (exit $?)" >> "$OUT/push-latency.txt"
fi

echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
echo "suite_s=$SECONDS" >> "$OUT/machine.txt"
node bench/summarize.mjs "$OUT" | tee "$OUT/summary.md"
echo "results: $OUT" >&2
