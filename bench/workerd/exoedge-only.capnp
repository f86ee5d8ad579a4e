# exoedge alone on 127.0.0.1:18711: the cold-start measurement starts a
# fresh workerd with this file and times the first answered request.
using Workerd = import "/workerd/workerd.capnp";
using Exoedge = import "exoedge-worker.capnp";

const config :Workerd.Config = (
  services = [
    (name = "exoedge", worker = Exoedge.worker),
    (name = "kv", worker = Exoedge.kv),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:18711", http = (), service = "exoedge"),
    # The probe: answered by the KV service once workerd is up (bench/cold.mjs,
    # firstRequestMs, times only the first request after it).
    (name = "probe", address = "127.0.0.1:18712", http = (), service = "kv"),
  ],
);
