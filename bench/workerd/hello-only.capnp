# The hello-world Rust worker alone on 127.0.0.1:18711 (cold start, next to
# exoedge-only.capnp). The in-memory KV service runs beside it, unused, as it
# runs beside exoedge: workerd starts every service's isolate with the
# process (≈ 3 ms here), and a KV binding in production is no isolate of
# ours, so both sides carry it and it cancels out of the ratio, as in
# bench/edge.sh's cold start.
using Workerd = import "/workerd/workerd.capnp";
using Bench = import "bench.capnp";
using Exoedge = import "exoedge-worker.capnp";

const config :Workerd.Config = (
  services = [ (name = "hello-rs", worker = Bench.helloRs), (name = "kv", worker = Exoedge.kv) ],
  sockets = [
    (name = "http", address = "127.0.0.1:18711", http = (), service = "hello-rs"),
    # The probe: answered by the KV service once workerd is up (bench/cold.mjs,
    # firstRequestMs, times only the first request after it).
    (name = "probe", address = "127.0.0.1:18712", http = (), service = "kv"),
  ],
);
