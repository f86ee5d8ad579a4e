// Cold start: time from spawning a fresh workerd process to the first
// answered request, for exoedge and for the hello-world Rust worker,
// alternating, several times each. exoedge is measured twice: its first
// Connect as usual (parses the config, reads KV through bench/workerd/kv.js,
// itself a cold worker here) and with ?fallback=1 (touches neither), which
// leaves the runtime start and the wasm's compile and instantiation.
// Prints one JSON line.
//   node bench/coldstart.mjs [reps]
import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const workerd = path.join(root, "node_modules/.bin/workerd");
const reps = Number(process.argv[2] ?? 7);
const URL_PATH = "/t/bench-token-0123456789abcdef/exotel/connect?CallSid=cold&CallFrom=09876543210&CallTo=08047115777";

function get(urlPath) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port: 18711, path: urlPath, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", () => resolve(0));
  });
}

async function once(config, urlPath = URL_PATH) {
  const t0 = process.hrtime.bigint();
  const child = spawn(workerd, ["serve", path.join(root, "bench/workerd", config)], { stdio: "ignore" });
  let exited = false;
  child.on("exit", () => (exited = true));
  try {
    for (;;) {
      if (exited) throw new Error(`workerd exited before answering (${config})`);
      const status = await get(urlPath);
      if (status === 200) return Number(process.hrtime.bigint() - t0) / 1e6;
      if (status !== 0) throw new Error(`${config}: status ${status}`);
      if (Number(process.hrtime.bigint() - t0) > 30e9) throw new Error(`${config}: no answer in 30 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => (exited ? r() : child.on("exit", r)));
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const out = { exoedge: [], exoedge_fallback: [], hello_rs: [] };
for (let i = 0; i < reps; i++) {
  out.exoedge.push(await once("exoedge-only.capnp"));
  out.exoedge_fallback.push(await once("exoedge-only.capnp", `${URL_PATH}&fallback=1`));
  out.hello_rs.push(await once("hello-only.capnp"));
}
const r = (x) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    reps,
    exoedge_ms: out.exoedge.map(r),
    hello_rs_ms: out.hello_rs.map(r),
    exoedge_fallback_ms: out.exoedge_fallback.map(r),
    exoedge_median_ms: r(median(out.exoedge)),
    exoedge_fallback_median_ms: r(median(out.exoedge_fallback)),
    hello_rs_median_ms: r(median(out.hello_rs)),
    ratio: Math.round((median(out.exoedge) / median(out.hello_rs)) * 100) / 100,
    fallback_ratio: Math.round((median(out.exoedge_fallback) / median(out.hello_rs)) * 100) / 100,
  }),
);
