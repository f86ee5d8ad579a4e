#!/usr/bin/env bash
# proto-gateway under load (BENCHMARKS.md): bench/run.sh runs it as its
# section 5; alone:
#
#   cargo build --profile gateway -p proto-gateway -p loadgen
#   GW_ONLY="edge-5k local-5k 2x-edge-max 2x-local-max" bench/gateway.sh
#
# Every run starts fresh gateways (a new outbox each) in front of loadgen's
# in-process sink, which plays the edge (it answers batch POSTs per event as
# the worker's /events does, at once: what is measured is the gateway).
#   durable-* / tmpfs-*: one gateway, local-outbox mode, outbox on disk or on
#     /dev/shm (fsync is a no-op there);
#   local-5k / edge-5k: one gateway at 5,000 events/s, acknowledging after
#     the local fsync vs once the edge stored the event (edge-store mode);
#   2x-*-max: two replicas flat out, loadgen spreading its connections over
#     both (as a TCP load balancer does); accepted/s vs delivered/s;
#   outage: the sink down for a while, then back.
# Env: OUT (results dir), GW_BIN, LOADGEN, GW_SECS, OUTAGE_DOWN, OUTAGE_DRAIN,
# GW_ONLY (space-separated run names; default: all), GW_REPLICA_THREADS
# (runtime threads per replica in the 2x edge-store runs; default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
GW_BIN=${GW_BIN:-$ROOT/target/gateway/proto-gateway}
LOADGEN=${LOADGEN:-$ROOT/target/gateway/loadgen}
GW_SECS=${GW_SECS:-10}
OUTAGE_DOWN=${OUTAGE_DOWN:-60}
OUTAGE_DRAIN=${OUTAGE_DRAIN:-150}
GW_ONLY=${GW_ONLY:-}
mkdir -p "$OUT"
[ -f "$OUT/machine.txt" ] || { echo "nproc=$(nproc)"; echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"; echo "gateway_profile=$(basename "$(dirname "$GW_BIN")")"; } > "$OUT/machine.txt"

GW_GRPC=(127.0.0.1:50161 127.0.0.1:50162)
GW_ADMIN=(127.0.0.1:19464 127.0.0.1:19465)
SINK=127.0.0.1:18800
GW_PIDS=()
GW_WORKERS=""
cleanup() {
  for p in "${GW_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  rm -rf "/dev/shm/exoedge-bench-$$"
}
trap cleanup EXIT

log() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }
wanted() { [ -z "$GW_ONLY" ] || [[ " $GW_ONLY " == *" $1 "* ]]; }

gw_start() { # $1 = durable | tmpfs, $2 = run name, $3 = replica mode, $4 = replica index (0, 1)
  local store dir="$OUT/gw-$2" i=${4:-0}
  if [ "$1" = durable ]; then store="$dir/outbox-$i.sqlite3"; else store="/dev/shm/exoedge-bench-$$/$2/outbox-$i.sqlite3"; fi
  mkdir -p "$dir" "$(dirname "$store")"
  cat > "$dir/gateway-$i.toml" <<TOML
[grpc]
listen = "${GW_GRPC[$i]}"
[admin]
listen = "${GW_ADMIN[$i]}"
[store]
path = "$store"
[forward]
url = "http://$SINK/events"
[replica]
mode = "$3"
TOML
  env ${GW_WORKERS:+TOKIO_WORKER_THREADS=$GW_WORKERS} "$GW_BIN" --config "$dir/gateway-$i.toml" > "$dir/gateway-$i.log" 2>&1 &
  GW_PIDS+=("$!")
  for _ in $(seq 100); do curl -sf -o /dev/null "http://${GW_ADMIN[$i]}/healthz" && return 0; sleep 0.1; done
  echo "proto-gateway did not start; see $dir/gateway-$i.log" >&2
  exit 1
}
gw_stop_all() {
  for p in "${GW_PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${GW_PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  GW_PIDS=()
}
gw_run() { # $1 = durable | tmpfs, $2 = run name, $3 = replica mode, $4 = replicas (1, 2), rest = loadgen run args
  local store=$1 name=$2 mode=$3 n=$4; shift 4
  wanted "$name" || return 0
  local grpc=${GW_GRPC[0]}
  # Two edge-store replicas on one 2-core machine: one runtime thread each
  # (tokio reads TOKIO_WORKER_THREADS), as each would have its own
  # machine's cores in production. Measured (4 A/B runs, gateway CPU per
  # event): edge-store 36-38 us with one thread vs 39-43 us with a thread
  # per core (fewer wake-ups and context switches between runtime threads);
  # local-outbox the other way round (64 vs 55-60 us: its SQLite writer
  # thread wants the second core), so it keeps the default.
  GW_WORKERS=""
  [ "$n" = 2 ] && [ "$mode" = edge-store ] && GW_WORKERS=${GW_REPLICA_THREADS:-1}
  gw_start "$store" "$name" "$mode" 0
  if [ "$n" = 2 ]; then gw_start "$store" "$name" "$mode" 1; grpc="${GW_GRPC[0]},${GW_GRPC[1]}"; fi
  "$LOADGEN" run --grpc "$grpc" --sink "$SINK" --label "$name" --prefix "$name" "$@" > "$OUT/gw-$name/result.json" 2> "$OUT/gw-$name/loadgen.log"
  for i in $(seq 0 $((n - 1))); do
    curl -s "http://${GW_ADMIN[$i]}/metrics" > "$OUT/gw-$name/metrics-$i.txt" || true
  done
  gw_stop_all
  GW_WORKERS=""
  echo "$name: $(cat "$OUT/gw-$name/result.json")" >&2
}

log "proto-gateway: ack at the edge vs after the local fsync, 5,000 events/s, same run"
gw_run durable local-5k local-outbox 1 --rate 5000 --duration "$GW_SECS"
gw_run durable edge-5k edge-store 1 --rate 5000 --duration "$GW_SECS"
log "proto-gateway: two replicas flat out (accepted/s vs delivered/s)"
gw_run durable 2x-local-max local-outbox 2 --rate 0 --concurrency 512 --duration "$GW_SECS"
gw_run durable 2x-edge-max edge-store 2 --rate 0 --concurrency 512 --duration "$GW_SECS"

log "proto-gateway: durable outbox vs outbox on tmpfs, same load, same run"
gw_run durable durable-5k local-outbox 1 --rate 5000 --duration "$GW_SECS"
gw_run tmpfs tmpfs-5k local-outbox 1 --rate 5000 --duration "$GW_SECS"
gw_run durable durable-max local-outbox 1 --rate 0 --concurrency 256 --duration "$GW_SECS"
gw_run tmpfs tmpfs-max local-outbox 1 --rate 0 --concurrency 256 --duration "$GW_SECS"
gw_run durable durable-20k local-outbox 1 --rate 20000 --concurrency 4096 --duration "$GW_SECS"
# The gateway logs at info by default; the same flat-out load with warn
# shows what logging costs.
PROTO_GATEWAY_LOG=warn gw_run durable durable-max-logwarn local-outbox 1 --rate 0 --concurrency 256 --duration "$GW_SECS"

if wanted outage; then
  log "proto-gateway: sink down ${OUTAGE_DOWN}s, then back"
  gw_start durable outage local-outbox 0
  "$LOADGEN" outage --grpc "${GW_GRPC[0]}" --sink "$SINK" --admin "${GW_ADMIN[0]}" --label outage --prefix outage \
    --rate 1000 --before 5 --down "$OUTAGE_DOWN" --drain-timeout "$OUTAGE_DRAIN" > "$OUT/gw-outage/result.json" 2> "$OUT/gw-outage/loadgen.log"
  gw_stop_all
  echo "outage: $(cat "$OUT/gw-outage/result.json")" >&2
fi
