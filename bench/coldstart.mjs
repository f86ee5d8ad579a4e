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
const once = (config, urlPath) => coldStartMs(path.join(root, "bench/workerd", config), PORT, urlPath);
const first = (config, urlPath) => firstRequestMs(path.join(root, "bench/workerd", config), PORT, PROBE, urlPath);
const ratio = (a, b) => Math.round((median(a) / median(b)) * 100) / 100;

/** `time` on exoedge (Connect, then `?fallback=1`) and hello-world, alternating, `reps` times: the series, medians and ratios. */
async function series(time) {
  const ms = { exoedge: [], exoedge_fallback: [], hello_rs: [] };
  for (let i = 0; i < reps; i++) {
    ms.exoedge.push(await time("exoedge-only.capnp", URL_PATH));
    ms.exoedge_fallback.push(await time("exoedge-only.capnp", `${URL_PATH}&fallback=1`));
    ms.hello_rs.push(await time("hello-only.capnp", URL_PATH));
  }
  return {
    exoedge_ms: ms.exoedge.map(r),
    hello_rs_ms: ms.hello_rs.map(r),
    exoedge_fallback_ms: ms.exoedge_fallback.map(r),
    exoedge_median_ms: r(median(ms.exoedge)),
    exoedge_fallback_median_ms: r(median(ms.exoedge_fallback)),
    hello_rs_median_ms: r(median(ms.hello_rs)),
    ratio: ratio(ms.exoedge, ms.hello_rs),
    fallback_ratio: ratio(ms.exoedge_fallback, ms.hello_rs),
  };
}

const spawned = await series(once);
console.log(JSON.stringify({ reps, ...spawned, first: await series(first) }));
