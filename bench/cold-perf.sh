#!/usr/bin/env bash
# Where a cold start's time goes inside workerd, by what the first request
# was doing (BENCHMARKS.md, "The callback log line, and where a cold
# start's wasm work goes"): Linux `perf` samples a fresh workerd from spawn
# to the first 200, N times, on a build with names and V8's perf map
# (--perf-basic-prof), then bench/cold-perf.mjs sums the samples
#   - by phase: V8 compiling wasm lazily (Liftoff), compiling JS, validating
#     the module, running code, starting the isolate, the kernel, ...;
#   - by owner: the innermost exoedge function on the stack among
#     config::parse, CallParams::from_query, handle_connect, respond, the
#     router, ... (so "config::parse: compile 5 ms" is V8 compiling the code
#     the config decode calls for the first time).
#
#   bench/cold-perf.sh [runs]           # Connect; PERF_PATH=/healthz for another path
#
# Needs perf (`apt-get install -y linux-perf`). perf's sampling (20 kHz,
# call graphs) and the perf map slow workerd down: compare phases and
# owners with each other and with the hello-world's, not with
# bench/edge.sh's milliseconds. Results go to bench/results/perf-<UTC time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-6}
TOKEN=bench-token-0123456789abcdef
URL_PATH=${PERF_PATH:-/t/$TOKEN/exotel/connect?CallSid=cold&CallFrom=09876543210&CallTo=08047115777}
command -v perf > /dev/null || { echo "perf is missing: apt-get install -y linux-perf" >&2; exit 1; }
OUT=$ROOT/bench/results/perf-$(date -u +%Y%m%dT%H%M%SZ)
STAGE=$OUT/stage
mkdir -p "$STAGE"
WORKERD=$(readlink -f node_modules/.bin/workerd)
# The npm shim may be a script; perf wants the binary.
[ "$(head -c 4 "$WORKERD" | tr -d '\0')" = $'\x7fELF' ] || WORKERD=$(find node_modules/@cloudflare -path '*bin/workerd' -type f | head -1)

EXOEDGE_KEEP_NAMES=1 scripts/build-worker.sh --out-dir "$STAGE/names" > "$OUT/build-names.log" 2>&1
cp bench/workerd/kv.js "$STAGE/"
# shellcheck source=bench/workerd/one-worker.sh
source bench/workerd/one-worker.sh
# $1 name, $2 dir (under the stage) with index.js + index_bg.wasm, $3 worker fields
stage() {
  local port
  port=$(free_port)
  one_worker_capnp "$STAGE/$1.capnp" "$port" \
    "(name = \"index.js\", esModule = embed \"$2/index.js\"), (name = \"index_bg.wasm\", wasm = embed \"$2/index_bg.wasm\")" \
    "$3" 'v8Flags = ["--perf-basic-prof"],'
  echo "$port"
}
mkdir -p "$STAGE/hello"
cp bench/hello-rs/build/index.js bench/hello-rs/build/index_bg.wasm "$STAGE/hello/"
EXO_PORT=$(stage exoedge names "$(connect_bindings)")
HELLO_PORT=$(stage hello hello '')

# $1 name, $2 port, $3 path
record() {
  for i in $(seq "$RUNS"); do
    # In $OUT: V8's perf flags also write isolate-*.log files to the working directory.
    (cd "$OUT" && exec perf record -q -F 20000 -g -o "$OUT/$1-$i.data" -- "$WORKERD" serve "$STAGE/$1.capnp") > /dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 2000); do curl -sf -o /dev/null "http://127.0.0.1:$2$3" && break; sleep 0.002; done
    sleep 0.05
    kill -INT "$pid"
    wait "$pid" || true
  done
}
echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ) loadavg=$(cut -d' ' -f1-3 /proc/loadavg) git=$(git rev-parse --short HEAD) path=${URL_PATH%%\?*}" > "$OUT/machine.txt"
record exoedge "$EXO_PORT" "$URL_PATH"
record hello "$HELLO_PORT" /
node bench/cold-perf.mjs "$OUT" exoedge hello | tee "$OUT/summary.md"
rm -f /tmp/perf-*.map "$OUT"/*.data.old "$OUT"/isolate-*.log
rm -rf "$STAGE"
echo "results: $OUT" >&2
