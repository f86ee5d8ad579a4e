#!/usr/bin/env bash
# The worker half of the benchmarks alone (BENCHMARKS.md, "Edge: before and
# after"): exoedge as built in build/, optionally an earlier build next to
# it, the hello-world Rust worker and the hand-written JS worker, all on one
# workerd, under wrk at 1 and 50 connections; then cold start of each.
#
#   scripts/build-worker.sh                  # the build to measure (build/)
#   EXOEDGE_BEFORE=/path/to/old/build bench/edge.sh
#
# EXOEDGE_BEFORE is a directory with an index.js and index_bg.wasm (a copy
# of build/ from another commit); EXOEDGE_OTHERS="name=dir ..." adds more.
# EDGE_VARS_<name>="K=V,..." gives that worker extra vars (e.g.
# EXOEDGE_OTHERS="quiet=build" EDGE_VARS_quiet="CALLBACK_LOG=off": the same
# build without its log line); EDGE_WORKERD_LOG=/dev/null sends workerd's
# output (the workers' logs) nowhere instead of to a file. Ports are picked free at start. Results go
# to bench/results/edge-<UTC time>/ (summary.md). Needs wrk
# (`apt-get install -y wrk`). Takes about 3 minutes (EDGE_SECS, EDGE_ROUNDS,
# EDGE_COLD_REPS shorten it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${EDGE_SECS:-4}
ROUNDS=${EDGE_ROUNDS:-2}
COLD_REPS=${EDGE_COLD_REPS:-7}
OUT=$ROOT/bench/results/edge-$(date -u +%Y%m%dT%H%M%SZ)
STAGE=$OUT/stage
mkdir -p "$OUT/wrk" "$STAGE"
# shellcheck source=bench/workerd/one-worker.sh
source bench/workerd/one-worker.sh
TOKEN=$BENCH_TOKEN QUERY=$BENCH_QUERY
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

# The hello-world Rust worker, built once with the same toolchain.
if [ ! -f bench/hello-rs/build/index_bg.wasm ]; then
  (
    cd bench/hello-rs
    [ -f "$ROOT/scripts/.wasm-env" ] || "$ROOT/scripts/setup.sh"
    # shellcheck disable=SC1091
    source "$ROOT/scripts/.wasm-env"
    export PATH="$HOME/.cargo/bin:$PATH"
    [ -z "${RUSTC_BOOTSTRAP:-}" ] || export PATH="/usr/bin:$PATH"
    CARGO_TARGET_DIR="$ROOT/target/bench-wasm" worker-build --release
  ) > "$OUT/build-hello-rs.log" 2>&1
fi

# Everything workerd serves, copied side by side (capnp embeds are relative).
cp build/index.js build/index_bg.wasm "$STAGE/" && mkdir -p "$STAGE/after" && mv "$STAGE/index.js" "$STAGE/index_bg.wasm" "$STAGE/after/"
mkdir -p "$STAGE/hello" "$STAGE/js"
cp bench/hello-rs/build/index.js bench/hello-rs/build/index_bg.wasm "$STAGE/hello/"
cp bench/js-worker/index.js bench/js-worker/connect.json "$STAGE/js/"
cp bench/workerd/kv.js "$STAGE/"
NAMES=()
# More builds to compare: EXOEDGE_OTHERS="name=dir ..." (names: lower-case letters).
for pair in ${EXOEDGE_BEFORE:+before=$EXOEDGE_BEFORE} ${EXOEDGE_OTHERS:-}; do
  n=${pair%%=*} d=${pair#*=}
  mkdir -p "$STAGE/$n" && cp "$d/index.js" "$d/index_bg.wasm" "$STAGE/$n/"
  NAMES+=("$n")
done
NAMES+=(after)

exoedge_worker() { # $1 = dir
  local extra="" vars="EDGE_VARS_$1" kv
  IFS=, read -ra kv <<< "${!vars:-}"
  for pair in "${kv[@]}"; do extra+="    (name = \"${pair%%=*}\", text = \"${pair#*=}\"),"$'\n'; done
  cat <<CAPNP
(
  modules = [
    (name = "index.js", esModule = embed "$1/index.js"),
    (name = "index_bg.wasm", wasm = embed "$1/index_bg.wasm"),
  ],
  compatibilityDate = "2026-04-01",
  bindings = [
    (name = "CONFIG", kvNamespace = "kv"),
    (name = "STATE", kvNamespace = "kv"),
$(objects_of "$1")    (name = "EXOEDGE_TOKENS", text = "$TOKEN"),
    (name = "KV_BUDGET_MS", text = "150"),
$extra  ],
$(own_objects_of "$1"))
CAPNP
}
# A whole-worker build (the backend, or a build from before the split)
# exports its Durable Object classes and binds them itself. The callback
# worker's Durable Objects and BACKEND are another script's, which no
# benchmarked request calls: not bound here (bench/workerd/exoedge-worker.capnp
# says why); the Connect answer check below would catch a request that did.
whole() { grep -q "as RoutingState" "$STAGE/$1/index.js"; }
objects_of() {
  if whole "$1"; then echo '    (name = "ROUTING_STATE", durableObjectNamespace = "RoutingState"),'; fi
}
own_objects_of() {
  whole "$1" || return 0
  cat <<CAPNP
  durableObjectNamespaces = [
    (className = "RoutingState", uniqueKey = "exoedge-bench-routing-state-$1", enableSql = true),
  ],
  durableObjectStorage = (inMemory = void),
CAPNP
}
declare -A PORT
SERVICES="" SOCKETS="" WORKERS=""
for n in "${NAMES[@]}"; do
  PORT[$n]=$(free_port)
  SERVICES+="    (name = \"$n\", worker = .w${n^}),"$'\n'
  SOCKETS+="    (name = \"$n\", address = \"127.0.0.1:${PORT[$n]}\", http = (), service = \"$n\"),"$'\n'
  WORKERS+="const w${n^} :Workerd.Worker = $(exoedge_worker "$n");"$'\n'
done
PORT[hello-rs]=$(free_port); PORT[js]=$(free_port)
cat > "$STAGE/bench.capnp" <<CAPNP
@0xe3b1c4d5a6f70819;
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
$SERVICES    (name = "hello-rs", worker = .helloRs),
    (name = "js", worker = .js),
    (name = "kv", worker = .kv),
  ],
  sockets = [
$SOCKETS    (name = "hello-rs", address = "127.0.0.1:${PORT[hello-rs]}", http = (), service = "hello-rs"),
    (name = "js", address = "127.0.0.1:${PORT[js]}", http = (), service = "js"),
  ],
);
$WORKERS
const helloRs :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "hello/index.js"),
    (name = "index_bg.wasm", wasm = embed "hello/index_bg.wasm"),
  ],
  compatibilityDate = "2026-04-01",
);
const js :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "js/index.js"),
    (name = "connect.json", json = embed "js/connect.json"),
  ],
  compatibilityDate = "2026-04-01",
);
const kv :Workerd.Worker = (
  modules = [ (name = "kv.js", esModule = embed "kv.js") ],
  compatibilityDate = "2026-04-01",
);
CAPNP

{
  echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cores=$(nproc)"
  echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "workerd=$(node_modules/.bin/workerd --version 2>/dev/null | head -1)"
  echo "git=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+dirty')"
} > "$OUT/machine.txt"
for n in "${NAMES[@]}"; do
  echo "size_$n raw=$(wc -c < "$STAGE/$n/index_bg.wasm") gzip6=$(( $(gzip -6 -c "$STAGE/$n/index_bg.wasm" | wc -c) + $(gzip -6 -c "$STAGE/$n/index.js" | wc -c) ))" >> "$OUT/machine.txt"
done

node_modules/.bin/workerd serve "$STAGE/bench.capnp" > "${EDGE_WORKERD_LOG:-$OUT/workerd.log}" 2>&1 &
WORKERD_PID=$!
trap 'kill $WORKERD_PID 2>/dev/null || true' EXIT
declare -A URLS=(
  [hello-rs]="http://127.0.0.1:${PORT[hello-rs]}/t/$TOKEN/exotel/connect?$QUERY"
  [js]="http://127.0.0.1:${PORT[js]}/t/$TOKEN/exotel/connect?$QUERY"
)
ORDER=(hello-rs js)
for n in "${NAMES[@]}"; do
  for r in connect gather greeting; do
    URLS[$n-$r]="http://127.0.0.1:${PORT[$n]}/t/$TOKEN/exotel/$r?$QUERY"
    ORDER+=("$n-$r")
  done
done
for name in "${ORDER[@]}"; do
  wait_answers "${URLS[$name]}"
  curl -sf "${URLS[$name]}" > "$OUT/answer-$name.txt"
done
for n in "${NAMES[@]}"; do
  cmp -s "$OUT/answer-$n-connect.txt" bench/js-worker/connect.json || echo "WARNING: $n's Connect answer differs from bench/js-worker/connect.json" | tee -a "$OUT/machine.txt" >&2
done
for name in "${ORDER[@]}"; do wrk -t1 -c10 -d1s "${URLS[$name]}" > /dev/null; done   # warm every isolate
for c in 1 50; do
  threads=$(( c < 2 ? 1 : 2 ))
  for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 0 ]; then seq_names=$(printf '%s\n' "${ORDER[@]}" | tac); else seq_names=$(printf '%s\n' "${ORDER[@]}"); fi
    for name in $seq_names; do
      wrk -t"$threads" -c"$c" -d"${SECS}s" --latency "${URLS[$name]}" > "$OUT/wrk/c$c-$name-r$round.txt" 2>&1
      printf '%s c=%s r=%s: %s\n' "$name" "$c" "$round" "$(grep Requests/sec "$OUT/wrk/c$c-$name-r$round.txt")" >&2
    done
  done
done
kill "$WORKERD_PID"; wait "$WORKERD_PID" 2>/dev/null || true

# Cold start: a fresh workerd serving one worker, spawn to first 200.
for n in "${NAMES[@]}" hello; do
  p=$(free_port)
  if [ "$n" = hello ]; then w=".helloRs"; else w=".w${n^}"; fi
  sed -e '/^const config /,/^);/d' "$STAGE/bench.capnp" > "$STAGE/cold-$n.capnp"
  cat >> "$STAGE/cold-$n.capnp" <<CAPNP
const config :Workerd.Config = (
  services = [ (name = "w", worker = $w), (name = "kv", worker = .kv) ],
  sockets = [ (name = "http", address = "127.0.0.1:$p", http = (), service = "w") ],
);
CAPNP
  echo "$n $p $STAGE/cold-$n.capnp"
done > "$STAGE/cold.txt"
node bench/edge-cold.mjs "$STAGE/cold.txt" "$COLD_REPS" "/t/$TOKEN/exotel/connect?CallSid=cold&CallFrom=09876543210&CallTo=08047115777" > "$OUT/coldstart.json"
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
node bench/edge-summary.mjs "$OUT" | tee "$OUT/summary.md"
echo "results: $OUT" >&2
