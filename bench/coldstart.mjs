// Cold start: time from spawning a fresh workerd process to the first
// answered request, for exoedge and for the hello-world Rust worker,
// alternating, several times each. exoedge is measured twice: its first
// Connect as usual (reads KV through bench/workerd/kv.js, parses the config,
// decides) and with ?fallback=1 (loads the config the same way, as any first
// request does, but answers the line's static fallback). Both configs run
// the KV service beside the worker (hello-only.capnp says why).
// Then the same three again, timing only the first request once workerd is
// up, the isolate started (cold.mjs, firstRequestMs): what a caller waits
// for when the runtime started the isolate before the request arrived.
// Prints one JSON line.
//   node bench/coldstart.mjs [reps]
import path from "node:path";
import { fileURLToPath } from "node:url";
import { coldStartMs, firstRequestMs, median, round as r } from "./cold.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const reps = Number(process.argv[2] ?? 7);
const URL_PATH = "/t/bench-token-0123456789abcdef/exotel/connect?CallSid=cold&CallFrom=09876543210&CallTo=08047115777";
/** The ports bench/workerd/*-only.capnp listen on: the worker, the probe. */
const PORT = 18711;
const PROBE = 18712;
const once = (config, urlPath = URL_PATH) => coldStartMs(path.join(root, "bench/workerd", config), PORT, urlPath);
const first = (config, urlPath = URL_PATH) => firstRequestMs(path.join(root, "bench/workerd", config), PORT, PROBE, urlPath);

const out = { exoedge: [], exoedge_fallback: [], hello_rs: [] };
for (let i = 0; i < reps; i++) {
  out.exoedge.push(await once("exoedge-only.capnp"));
  out.exoedge_fallback.push(await once("exoedge-only.capnp", `${URL_PATH}&fallback=1`));
  out.hello_rs.push(await once("hello-only.capnp"));
}
const firsts = { exoedge: [], exoedge_fallback: [], hello_rs: [] };
for (let i = 0; i < reps; i++) {
  firsts.exoedge.push(await first("exoedge-only.capnp"));
  firsts.exoedge_fallback.push(await first("exoedge-only.capnp", `${URL_PATH}&fallback=1`));
  firsts.hello_rs.push(await first("hello-only.capnp"));
}
const ratio = (a, b) => Math.round((median(a) / median(b)) * 100) / 100;
console.log(
  JSON.stringify({
    reps,
    exoedge_ms: out.exoedge.map(r),
    hello_rs_ms: out.hello_rs.map(r),
    exoedge_fallback_ms: out.exoedge_fallback.map(r),
    exoedge_median_ms: r(median(out.exoedge)),
    exoedge_fallback_median_ms: r(median(out.exoedge_fallback)),
    hello_rs_median_ms: r(median(out.hello_rs)),
    ratio: ratio(out.exoedge, out.hello_rs),
    fallback_ratio: ratio(out.exoedge_fallback, out.hello_rs),
    first: {
      exoedge_ms: firsts.exoedge.map(r),
      exoedge_fallback_ms: firsts.exoedge_fallback.map(r),
      hello_rs_ms: firsts.hello_rs.map(r),
      exoedge_median_ms: r(median(firsts.exoedge)),
      exoedge_fallback_median_ms: r(median(firsts.exoedge_fallback)),
      hello_rs_median_ms: r(median(firsts.hello_rs)),
      ratio: ratio(firsts.exoedge, firsts.hello_rs),
      fallback_ratio: ratio(firsts.exoedge_fallback, firsts.hello_rs),
    },
  }),
);
