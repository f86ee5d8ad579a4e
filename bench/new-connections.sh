#!/usr/bin/env bash
# Where wrk's timeouts at 50 connections come from (BENCHMARKS.md, "Issue
# 16"): every request timed at 50 connections, with no 2 s cut-off, on the
# five isolates bench/run.sh measures, in rounds that alternate between
#   A: connections opened as the round starts, their first requests timed
#      (what wrk does), and
#   B: every connection opened and answered once before the clock starts
#      (loadgen sequential --open-first).
# Prints, per mode, the rounds, the requests over 2 s (what wrk counts as
# timeouts) and how many of those were the first request on a connection.
#
#   bench/new-connections.sh [rounds]   # default 40 (20 of each), ~15 min
#
# Needs the builds bench/run.sh makes (build/, bench/hello-rs/build/).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/workerd/one-worker.sh
source bench/workerd/one-worker.sh
ROUNDS=${1:-40}
export CARGO_TARGET_DIR_NATIVE=${CARGO_TARGET_DIR_NATIVE:-$PWD/target/bench}
if grep -q '^\[profile.gateway\]' Cargo.toml; then PROFILE=gateway; else PROFILE=release; fi
CARGO_TARGET_DIR=$CARGO_TARGET_DIR_NATIVE cargo build -q --profile "$PROFILE" -p loadgen
LOADGEN=$CARGO_TARGET_DIR_NATIVE/$PROFILE/loadgen
ports_free 18701 18702 18703 18704 18705
OUT=bench/results/newconn-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
node_modules/.bin/workerd serve bench/workerd/bench.capnp > "$OUT/workerd.log" 2>&1 &
WORKERD_PID=$!
trap 'kill "$WORKERD_PID" 2>/dev/null || true' EXIT
for name in "${BENCH_ORDER[@]}"; do
  wait_answers "${BENCH_URLS[$name]}"
  wrk -t1 -c10 -d1s "${BENCH_URLS[$name]}" > /dev/null   # warm every isolate
done
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 0 ]; then mode=B; flags=(--open-first); else mode=A; flags=(); fi
  for name in "${BENCH_ORDER[@]}"; do
    "$LOADGEN" sequential --connections 50 --secs 4 "${flags[@]}" --label "$mode $name $round" \
      --url "${BENCH_URLS[$name]}" >> "$OUT/rounds.jsonl"
  done
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
for (const mode of ["A", "B"]) {
  const r = rows.filter((x) => x.label.startsWith(mode + " "));
  const sum = (f) => r.reduce((a, x) => a + f(x), 0);
  const hit = r.filter((x) => x.over_2s > 0).map((x) => `${x.label.slice(2)}: ${x.over_2s}`);
  console.log(`${mode === "A" ? "A, connections opened as the round starts" : "B, connections opened before"}: ` +
    `${r.length} rounds, ${sum((x) => x.requests)} requests, ${sum((x) => x.over_2s)} over 2 s ` +
    `(${sum((x) => x.over_2s_first_on_connection)} of them the first on its connection) in ${hit.length} rounds` +
    (hit.length ? ` (${hit.join(", ")})` : ""));
}' "$OUT/rounds.jsonl" | tee "$OUT/summary.txt"
