# Sourced by the benchmark scripts (bench/run.sh, edge.sh, cpu.sh,
# gc-stalls.sh, new-connections.sh, the cold-start scripts): the token and
# the Exotel query the warm runs send, the five benchmarked URLs, waiting
# for a URL to answer, free ports, and a workerd config that serves one worker
# beside the in-memory KV service (bench/workerd/kv.js, which the config's
# directory must hold), as every cold start is measured.

# The callback token the benchmarked workers accept (EXOEDGE_TOKENS), and a
# realistic Exotel Connect query, the same in every warm run.
BENCH_TOKEN=bench-token-0123456789abcdef
BENCH_QUERY="CallSid=b6cf2a0e7c4d4e51a2f0c3d9e8f7a6b5&CallFrom=09876543210&CallTo=08047115777&Direction=incoming&Created=Wed%2C+13+May+2026+11%3A00%3A00&CurrentTime=2026-05-13+11%3A00%3A05&flow_id=4242"

# The five isolates bench/workerd/bench.capnp serves (bench/run.sh and
# new-connections.sh measure them), and the order of a round.
declare -gA BENCH_URLS=(
  [exoedge-connect]="http://127.0.0.1:18701/t/$BENCH_TOKEN/exotel/connect?$BENCH_QUERY"
  [exoedge-gather]="http://127.0.0.1:18704/t/$BENCH_TOKEN/exotel/gather?$BENCH_QUERY"
  [exoedge-greeting]="http://127.0.0.1:18705/t/$BENCH_TOKEN/exotel/greeting?$BENCH_QUERY"
  [hello-rs]="http://127.0.0.1:18702/t/$BENCH_TOKEN/exotel/connect?$BENCH_QUERY"
  [js]="http://127.0.0.1:18703/t/$BENCH_TOKEN/exotel/connect?$BENCH_QUERY"
)
# shellcheck disable=SC2034 # read by the scripts that source this file
BENCH_ORDER=(hello-rs js exoedge-connect exoedge-gather exoedge-greeting)

# wait_answers <url>: until <url> answers 2xx (a workerd just started), at
# most 10 s; the step after it finds out if it never did.
wait_answers() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; return 0; }

# ports_free <port>...: exits if any has a listener, which would be
# measured instead of the build (a leftover workerd or gateway).
ports_free() {
  for port in "$@"; do
    if ss -ltn "sport = :$port" 2>/dev/null | grep -q LISTEN; then
      echo "port $port is in use (a leftover workerd or gateway?); stop it first" >&2
      exit 1
    fi
  done
}

# A TCP port nothing listens on now.
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# The callback worker's bindings a Connect uses (bench/workerd/exoedge-worker.capnp
# says why the backend's are left out); $1: more binding entries.
connect_bindings() {
  echo "bindings = [ (name = \"CONFIG\", kvNamespace = \"kv\"), (name = \"STATE\", kvNamespace = \"kv\"),
    (name = \"EXOEDGE_TOKENS\", text = \"$BENCH_TOKEN\"), (name = \"KV_BUDGET_MS\", text = \"150\"), ${1:-} ],"
}

# one_worker_capnp <file> <port> <modules> [worker fields] [config fields] [probe port] [KV fields]:
# writes a config serving the worker of <modules> (capnp module entries,
# embeds relative to <file>) on 127.0.0.1:<port>; with a probe port, the KV
# service answers there too (bench/cold.mjs, firstRequestMs: "is workerd up");
# KV fields go to the KV service's worker (e.g. its SEED binding, kv.js).
one_worker_capnp() {
  local probe=""
  [ -z "${6:-}" ] || probe="(name = \"probe\", address = \"127.0.0.1:$6\", http = (), service = \"kv\"),"
  cat > "$1" <<CAPNP
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  ${5:-}
  services = [ (name = "w", worker = .w), (name = "kv", worker = .kv) ],
  sockets = [ (name = "http", address = "127.0.0.1:$2", http = (), service = "w"), $probe ],
);
const w :Workerd.Worker = (
  modules = [ $3 ],
  compatibilityDate = "2026-04-01",
  ${4:-}
);
const kv :Workerd.Worker = (
  modules = [ (name = "kv.js", esModule = embed "kv.js") ],
  compatibilityDate = "2026-04-01",
  ${7:-}
);
CAPNP
}
