# exoedge as built by scripts/build-worker.sh, with the bindings wrangler.toml
# declares that the benchmarked routes touch: KV CONFIG and STATE (an
# in-memory KV service, empty, so the embedded config serves), the
# RoutingState Durable Object (in memory), the callback token.
@0xc4f1d3a2b5e6f708;
using Workerd = import "/workerd/workerd.capnp";

const worker :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "../../build/index.js"),
    (name = "index_bg.wasm", wasm = embed "../../build/index_bg.wasm"),
  ],
  compatibilityDate = "2026-04-01",
  bindings = [
    (name = "CONFIG", kvNamespace = "kv"),
    (name = "STATE", kvNamespace = "kv"),
    (name = "ROUTING_STATE", durableObjectNamespace = "RoutingState"),
    (name = "EXOEDGE_TOKENS", text = "bench-token-0123456789abcdef"),
    (name = "KV_BUDGET_MS", text = "150"),
  ],
  durableObjectNamespaces = [
    (className = "RoutingState", uniqueKey = "exoedge-bench-routing-state", enableSql = true),
  ],
  durableObjectStorage = (inMemory = void),
);

const kv :Workerd.Worker = (
  modules = [ (name = "kv.js", esModule = embed "kv.js") ],
  compatibilityDate = "2026-04-01",
);
