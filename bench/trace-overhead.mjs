// p50/p99 of one callback with the call trace on (D1 bound, migrations
// applied) vs off (no TRACE binding), against the built worker in
// Miniflare's workerd on loopback ports (BENCHMARKS.md, "Call trace").
// Requests alternate between the two workers, one at a time, so drift in
// the machine's load hits both alike.
//
//   node bench/trace-overhead.mjs [requests per side, default 2000] [pause ms between requests, default 0]
//
// With no pause each request can land while the previous one's trace write
// (SQLite in the same workerd process, on the same cores) still runs; a
// pause of a few ms lets it finish, which separates what the answer itself
// pays from contention with the background write.
import http from "node:http";
import { startWorker, TOKEN } from "../tests/support/worker.mjs";
import { ADMIN, migrate, allRows } from "../tests/support/trace.mjs";

const N = Number(process.argv[2] ?? 2000);
const GAP_MS = Number(process.argv[3] ?? 0);
const WARMUP = 200;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(url) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    http.get(url, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve([res.statusCode, Number(process.hrtime.bigint() - t0) / 1e6]));
    }).on("error", reject);
  });
}

const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

const on = await startWorker({ bindings: { EXOEDGE_ADMIN_TOKENS: ADMIN }, miniflare: { host: "127.0.0.1", port: 0, d1Databases: ["TRACE"] } });
const db = await migrate(on.mf);
const off = await startWorker({ miniflare: { host: "127.0.0.1", port: 0 } });
const base = async (w) => `${(await w.mf.ready).toString().replace(/\/$/, "")}/t/${TOKEN}/exotel/connect?CallFrom=09900112233&CallTo=08047115777&CallSid=`;
const urls = { on: await base(on), off: await base(off) };
const times = { on: [], off: [] };
for (let i = 0; i < WARMUP + N; i++) {
  for (const side of i % 2 ? ["on", "off"] : ["off", "on"]) {
    const [status, ms] = await get(`${urls[side]}bench-${i % 500}`);
    if (status !== 200) throw new Error(`${side}: HTTP ${status}`);
    if (i >= WARMUP) times[side].push(ms);
    if (GAP_MS) await new Promise((r) => setTimeout(r, GAP_MS));
  }
}
await new Promise((r) => setTimeout(r, 1000));
const rows = (await allRows(db)).length;
const row = (side) => `| tracing ${side} | ${N} | ${pct(times[side], 50).toFixed(2)} | ${pct(times[side], 99).toFixed(2)} |`;
console.log("| worker | requests | p50 ms | p99 ms |\n|---|---|---|---|");
console.log(row("off"));
console.log(row("on"));
console.log(`\npause between requests: ${GAP_MS} ms; ratio on/off: p50 ${(pct(times.on, 50) / pct(times.off, 50)).toFixed(2)}, p99 ${(pct(times.on, 99) / pct(times.off, 99)).toFixed(2)}; rows stored: ${rows} (cap 200 per call over 500 call sids)`);
agent.destroy();
await on.close();
await off.close();
