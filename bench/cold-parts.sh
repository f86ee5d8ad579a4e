#!/usr/bin/env bash
# Where a cold start's milliseconds go (BENCHMARKS.md, "Cold start: where
# it goes"): the same fresh-workerd-to-first-200 measurement as bench/edge.sh,
# on workers that each stop one step further into exoedge's start:
#
#   plain      a JS worker with no wasm (workerd's own start, the floor)
#   module     the same JS worker with exoedge's wasm in its bundle, never
#              instantiated (workerd decodes and validates every wasm module
#              of a bundle at start, imported or not)
#   instance   exoedge's glue imported: the wasm instantiated and started,
#              the request answered by JS
#   healthz    exoedge answering GET /healthz (parses the embedded config)
#   connect    exoedge answering a Connect (config from KV, the decision)
#   nokv       the same Connect without a CONFIG binding (the KV read's share)
#   hello      the hello-world Rust worker
#
#   scripts/build-worker.sh && bench/cold-parts.sh [reps]
#   TRACE=1 bench/cold-parts.sh     # also: which wasm functions V8 compiles
#                                   # for the first Connect (a build with names;
#                                   # TRACE_TOP=N lists the N largest, 30 by default)
#
# Results go to bench/results/cold-<UTC time>/ (cold.json, and trace.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REPS=${1:-11}
OUT=$ROOT/bench/results/cold-$(date -u +%Y%m%dT%H%M%SZ)
STAGE=$OUT/stage
mkdir -p "$STAGE"
TOKEN=bench-token-0123456789abcdef
CONNECT="/t/$TOKEN/exotel/connect?CallSid=cold&CallFrom=09876543210&CallTo=08047115777"
[ -f bench/hello-rs/build/index_bg.wasm ] || { echo "build bench/hello-rs first (bench/edge.sh or bench/run.sh does)" >&2; exit 1; }

cp build/index.js "$STAGE/exo.js"
cp build/index_bg.wasm "$STAGE/exo.wasm"
cp bench/hello-rs/build/index.js "$STAGE/hello.js"
cp bench/hello-rs/build/index_bg.wasm "$STAGE/hello.wasm"
cp bench/workerd/kv.js "$STAGE/"
cat > "$STAGE/plain.js" <<'JS'
export default { fetch() { return new Response("ok"); } };
JS
cat > "$STAGE/module.js" <<'JS'
import wasm from "./exo.wasm";
export default { fetch() { return new Response(wasm instanceof WebAssembly.Module ? "ok" : "?"); } };
JS
cat > "$STAGE/instance.js" <<'JS'
import * as exoedge from "./index.js";
export default { fetch() { return new Response(`ok ${Object.keys(exoedge).length}`); } };
JS

# shellcheck source=bench/workerd/one-worker.sh
source bench/workerd/one-worker.sh
BINDINGS=$(connect_bindings)
# $1 name, $2 modules, $3 worker fields, $4 extra config fields
config() {
  local port
  port=$(free_port)
  one_worker_capnp "$STAGE/$1.capnp" "$port" "$2" "${3:-}" "${4:-}"
  echo "$1 $port $STAGE/$1.capnp"
}
EXO='(name = "index.js", esModule = embed "exo.js"), (name = "index_bg.wasm", wasm = embed "exo.wasm")'
{
  config plain '(name = "plain.js", esModule = embed "plain.js")' ''
  config module '(name = "module.js", esModule = embed "module.js"), (name = "exo.wasm", wasm = embed "exo.wasm")' ''
  config instance "(name = \"instance.js\", esModule = embed \"instance.js\"), $EXO" ''
  config exoedge "$EXO" "$BINDINGS"
  config nokv "$EXO" "${BINDINGS/(name = \"CONFIG\", kvNamespace = \"kv\"),/}"
  config hello '(name = "index.js", esModule = embed "hello.js"), (name = "index_bg.wasm", wasm = embed "hello.wasm")' ''
} > "$STAGE/all.txt"

# Every worker but exoedge answers any path; exoedge is measured on both.
grep -v '^exoedge ' "$STAGE/all.txt" > "$STAGE/connect.txt"
grep '^exoedge ' "$STAGE/all.txt" | sed 's/^exoedge /connect /' >> "$STAGE/connect.txt"
grep '^exoedge ' "$STAGE/all.txt" | sed 's/^exoedge /healthz /' > "$STAGE/healthz.txt"
{
  echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ) loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "git=$(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
  echo "exoedge_wasm_raw=$(wc -c < build/index_bg.wasm)"
} > "$OUT/machine.txt"
node bench/edge-cold.mjs "$STAGE/connect.txt" "$REPS" "$CONNECT" > "$OUT/cold-connect.json"
node bench/edge-cold.mjs "$STAGE/healthz.txt" "$REPS" /healthz > "$OUT/cold-healthz.json"
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
node -e '
const [a, b] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
const all = { ...a, ...b };
const floor = all.plain.median_ms, hello = all.hello.median_ms;
console.log("| worker | median ms | over plain | ÷ hello |\n|---|---:|---:|---:|");
for (const k of ["plain", "module", "instance", "healthz", "nokv", "connect", "hello"])
  console.log(`| ${k} | ${all[k].median_ms} | ${(all[k].median_ms - floor).toFixed(1)} | ${(all[k].median_ms / hello).toFixed(2)} |`);
' "$OUT/cold-connect.json" "$OUT/cold-healthz.json" | tee "$OUT/summary.md"

if [ "${TRACE:-0}" = 1 ]; then
  # V8 compiles wasm lazily, function by function, on first call: list what
  # the first Connect compiles, by name (a build that keeps the names section).
  EXOEDGE_KEEP_NAMES=1 scripts/build-worker.sh --out-dir "$STAGE/names" > "$OUT/build-names.log" 2>&1
  cp "$STAGE/names/index.js" "$STAGE/exo.js"
  cp "$STAGE/names/index_bg.wasm" "$STAGE/exo.wasm"
  read -r _ port _ < <(grep '^exoedge ' "$STAGE/all.txt")
  sed -i 's|^  services = \[|  v8Flags = ["--trace-wasm-compilation-times"],\n  services = [|' "$STAGE/exoedge.capnp"
  node_modules/.bin/workerd serve "$STAGE/exoedge.capnp" > "$OUT/v8-trace.txt" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port$CONNECT" && break; sleep 0.05; done
  kill "$pid"
  node bench/lazy-compile.mjs "$STAGE/names/index_bg.wasm" "$OUT/v8-trace.txt" "${TRACE_TOP:-30}" | tee "$OUT/trace.txt"
fi
rm -rf "$STAGE"
echo "results: $OUT" >&2
