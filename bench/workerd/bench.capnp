# One workerd serving the three workers the edge benchmark compares
# (BENCHMARKS.md): exoedge as built (build/), the hello-world Rust floor
# (bench/hello-rs/build/) and the hand-written JS worker (bench/js-worker/).
# `node_modules/.bin/workerd serve bench/workerd/bench.capnp` (bench/run.sh).
#
# Each exoedge route the benchmark measures has an isolate of its own, like
# each of the other two workers: how long an isolate's GC pauses last grows
# with the requests it has served (V8 grows the young generation while the
# runtime's per-request objects survive scavenges; BENCHMARKS.md, "Issue
# 16"), so one isolate serving three routes in turn would be measured with
# three times the history of the workers it is compared with.
@0xd2a7e4b1c3f50619;
using Workerd = import "/workerd/workerd.capnp";
using Exoedge = import "exoedge-worker.capnp";

const config :Workerd.Config = (
  services = [
    (name = "exoedge", worker = Exoedge.worker),
    (name = "exoedge-gather", worker = Exoedge.worker),
    (name = "exoedge-greeting", worker = Exoedge.worker),
    (name = "hello-rs", worker = .helloRs),
    (name = "js", worker = .js),
    (name = "kv", worker = Exoedge.kv),
  ],
  sockets = [
    (name = "exoedge", address = "127.0.0.1:18701", http = (), service = "exoedge"),
    (name = "hello-rs", address = "127.0.0.1:18702", http = (), service = "hello-rs"),
    (name = "js", address = "127.0.0.1:18703", http = (), service = "js"),
    (name = "exoedge-gather", address = "127.0.0.1:18704", http = (), service = "exoedge-gather"),
    (name = "exoedge-greeting", address = "127.0.0.1:18705", http = (), service = "exoedge-greeting"),
  ],
);

const helloRs :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "../hello-rs/build/index.js"),
    (name = "index_bg.wasm", wasm = embed "../hello-rs/build/index_bg.wasm"),
  ],
  compatibilityDate = "2026-04-01",
);

const js :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "../js-worker/index.js"),
    (name = "connect.json", json = embed "../js-worker/connect.json"),
  ],
  compatibilityDate = "2026-04-01",
);
