# Sourced by the cold-start scripts (bench/cold-parts.sh, cold-compare.sh,
# cold-perf.sh) and bench/edge.sh: a free port, and a workerd config that
# serves one worker beside the in-memory KV service (bench/workerd/kv.js,
# which the config's directory must hold), as every cold start is measured.

# A TCP port nothing listens on now.
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# The callback worker's bindings a Connect uses (bench/workerd/exoedge-worker.capnp
# says why the backend's are left out); $1: more binding entries.
connect_bindings() {
  echo "bindings = [ (name = \"CONFIG\", kvNamespace = \"kv\"), (name = \"STATE\", kvNamespace = \"kv\"),
    (name = \"EXOEDGE_TOKENS\", text = \"bench-token-0123456789abcdef\"), (name = \"KV_BUDGET_MS\", text = \"150\"), ${1:-} ],"
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
