# exoedge's callback worker as built by scripts/build-worker.sh, with the
# bindings of callbacks/wrangler.toml the benchmarked callbacks use: KV
# CONFIG and STATE (an in-memory KV service, empty, so the embedded config
# serves) and the callback token. Not bound: the backend's Durable Objects
# and BACKEND service, which no benchmarked request calls (bench/edge.sh
# checks Connect's answer). Deployed, they are handles to another script,
# started only when called; workerd here would start that script's isolate
# with the process and time it in every cold start.
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
    (name = "EXOEDGE_TOKENS", text = "bench-token-0123456789abcdef"),
    (name = "KV_BUDGET_MS", text = "150"),
  ],
);


const kv :Workerd.Worker = (
  modules = [ (name = "kv.js", esModule = embed "kv.js") ],
  compatibilityDate = "2026-04-01",
);
