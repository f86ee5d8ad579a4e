#!/usr/bin/env bash
# Cold starts only, several workers side by side: for a quick "does this
# change buy anything" without bench/edge.sh's wrk rounds. Each spec is
# "name|build dir|vars|path":
#
#   bench/cold-compare.sh 15 \
#     "hello|bench/hello-rs/build||/" \
#     "before|/tmp/before||" \
#     "after|build||" \
#     "loud|build|CALLBACK_LOG=on|" \
#     "healthz|build||/healthz"
#
# vars is "K=V,K=V" (extra text bindings); an empty path is the Connect
# bench/edge.sh measures. Every exoedge worker gets the bindings a Connect
# uses (CONFIG and STATE on the in-memory KV service, the bench token), as
# bench/edge.sh and bench/cold-parts.sh give it; the hello-world
# (bench/hello-rs/build) gets none. Same measurement as bench/edge.sh's cold
# start (bench/edge-cold.mjs: a fresh workerd per start, time to the first
# 200, the workers alternating); the median of each and its ratio to a
# worker named `hello`, if there is one. Prints to stdout; keeps nothing.
# COLD_FIRST=1 times only the first request, once workerd is up with the
# isolate started (bench/cold.mjs, firstRequestMs), instead of spawn to 200.
# COLD_KV_CONFIG=<file> puts that config document in KV (the CONFIG
# namespace's config.json) from the start, as a deployment that keeps its
# config in KV has it; by default KV is empty and the embedded config serves.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:?usage: bench/cold-compare.sh <reps> "name|dir|vars|path" ...}
shift
TOKEN=bench-token-0123456789abcdef
CONNECT="/t/$TOKEN/exotel/connect?CallSid=cold&CallFrom=09876543210&CallTo=08047115777"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp bench/workerd/kv.js "$STAGE/"
kv_fields=""
if [ -n "${COLD_KV_CONFIG:-}" ]; then
  node -e 'const fs=require("fs"); fs.writeFileSync(process.argv[2], JSON.stringify({"config.json": fs.readFileSync(process.argv[1], "utf8")}))' \
    "$COLD_KV_CONFIG" "$STAGE/seed.json"
  kv_fields='bindings = [ (name = "SEED", text = embed "seed.json") ],'
fi
# shellcheck source=bench/workerd/one-worker.sh
source bench/workerd/one-worker.sh
: > "$STAGE/list.txt"
for spec in "$@"; do
  IFS='|' read -r name dir vars path <<< "$spec"
  mkdir -p "$STAGE/$name"
  cp "$dir/index.js" "$dir/index_bg.wasm" "$STAGE/$name/"
  bindings=""
  if [ "$dir" != bench/hello-rs/build ]; then
    extra=""
    IFS=',' read -ra kvs <<< "$vars"
    for kv in "${kvs[@]}"; do
      [ -n "$kv" ] && extra="$extra (name = \"${kv%%=*}\", text = \"${kv#*=}\"),"
    done
    bindings=$(connect_bindings "$extra")
  fi
  port=$(free_port)
  probe=""
  [ "${COLD_FIRST:-0}" != 1 ] || probe=$(free_port)
  one_worker_capnp "$STAGE/$name.capnp" "$port" \
    "(name = \"index.js\", esModule = embed \"$name/index.js\"), (name = \"index_bg.wasm\", wasm = embed \"$name/index_bg.wasm\")" \
    "$bindings" "" "$probe" "$kv_fields"
  echo "$name $port $STAGE/$name.capnp ${path:-$CONNECT} $probe" >> "$STAGE/list.txt"
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg), $REPS cold starts each, git $(git rev-parse --short HEAD)$([ "${COLD_FIRST:-0}" != 1 ] || echo ', first request only')${COLD_KV_CONFIG:+, config in KV}"
node bench/edge-cold.mjs "$STAGE/list.txt" "$REPS" "$CONNECT" | node -e '
const o = JSON.parse(require("fs").readFileSync(0, "utf8"));
const h = o.hello?.median_ms;
for (const [k, v] of Object.entries(o))
  console.log(`${k.padEnd(12)} ${String(v.median_ms).padStart(6)} ms ${h ? (v.median_ms / h).toFixed(2) + "× hello" : ""}   (${v.ms.join(", ")})`);'
