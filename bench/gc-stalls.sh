#!/usr/bin/env bash
# Which GC each stalled request falls in (BENCHMARKS.md, "Issue 16"): one
# worker alone on a workerd started with V8's `--trace-gc`, timed request by
# request on one connection (bench/gc-stalls.mjs).
#
#   bench/gc-stalls.sh build [secs]     # a build dir (index.js + index_bg.wasm)
#   bench/gc-stalls.sh js [secs]        # the hand-written JS worker
#   bench/gc-stalls.sh minimal [secs]   # a worker that only answers new Response("ok")
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/workerd/one-worker.sh
source bench/workerd/one-worker.sh
WHAT=${1:?usage: bench/gc-stalls.sh <build dir | js> [secs]} SECS=${2:-10}
STAGE=$(mktemp -d)
WORKERD_PID=""
trap '[ -z "$WORKERD_PID" ] || kill "$WORKERD_PID" 2>/dev/null || true; rm -rf "$STAGE"' EXIT
cp bench/workerd/kv.js "$STAGE/"
PORT=$(free_port)
if [ "$WHAT" = minimal ]; then
  # The least a worker can do per request: what stays is the runtime's.
  echo 'export default { fetch() { return new Response("ok"); } };' > "$STAGE/index.js"
  one_worker_capnp "$STAGE/c.capnp" "$PORT" '(name = "index.js", esModule = embed "index.js")' '' 'v8Flags = ["--trace-gc"],'
elif [ "$WHAT" = js ]; then
  cp bench/js-worker/index.js bench/js-worker/connect.json "$STAGE/"
  one_worker_capnp "$STAGE/c.capnp" "$PORT" '(name = "index.js", esModule = embed "index.js"), (name = "connect.json", json = embed "connect.json")' '' 'v8Flags = ["--trace-gc"],'
else
  cp "$WHAT/index.js" "$WHAT/index_bg.wasm" "$STAGE/"
  one_worker_capnp "$STAGE/c.capnp" "$PORT" '(name = "index.js", esModule = embed "index.js"), (name = "index_bg.wasm", wasm = embed "index_bg.wasm")' "$(connect_bindings)" 'v8Flags = ["--trace-gc"],'
fi
# Unbuffered: V8 prints its GC lines with stdio, which a kill would lose.
START=$(date +%s%3N)
stdbuf -o0 -e0 node_modules/.bin/workerd serve "$STAGE/c.capnp" > "$STAGE/gc.log" 2>&1 &
WORKERD_PID=$!
URL="http://127.0.0.1:$PORT/t/$BENCH_TOKEN/exotel/connect?$BENCH_QUERY"
wait_answers "$URL"
node bench/gc-stalls.mjs "$URL" "$SECS" "$START" "$STAGE/gc.log"
# GC_LOG=path keeps V8's trace for a closer look (heap sizes over time).
[ -z "${GC_LOG:-}" ] || cp "$STAGE/gc.log" "$GC_LOG"
