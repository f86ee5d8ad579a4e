# The hello-world Rust worker alone on 127.0.0.1:18711 (cold start, next to exoedge-only.capnp).
using Workerd = import "/workerd/workerd.capnp";
using Bench = import "bench.capnp";

const config :Workerd.Config = (
  services = [ (name = "hello-rs", worker = Bench.helloRs) ],
  sockets = [ (name = "http", address = "127.0.0.1:18711", http = (), service = "hello-rs") ],
);
