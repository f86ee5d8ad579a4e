// A V8 CPU profile of a worker under load, over workerd's inspector:
// shares of samples by function, self and inclusive (BENCHMARKS.md,
// "Per request"). A build with names makes the wasm frames readable.
//   EXOEDGE_KEEP_NAMES=1 scripts/build-worker.sh --out-dir /tmp/names
//   workerd serve <config using /tmp/names> --inspector-addr=127.0.0.1:9229 &
//   wrk -t1 -c1 -d8s <url> & node bench/profile.mjs 9229 5
// The attached inspector inflates console.log (it forwards every line).
import { createRequire } from "node:module";
const require = createRequire(new URL("../package.json", import.meta.url));
const WebSocket = require("ws");
const [port, secs] = [process.argv[2], Number(process.argv[3] ?? 5)];
const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const target = list.find((t) => t.webSocketDebuggerUrl) ?? list[0];
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((r) => ws.on("open", r));
let id = 0; const pending = new Map();
ws.on("message", (m) => { const j = JSON.parse(m); if (j.id && pending.has(j.id)) { pending.get(j.id)(j); pending.delete(j.id); } });
const call = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });
await call("Profiler.enable");
await call("Profiler.setSamplingInterval", { interval: 100 });
await call("Profiler.start");
await new Promise((r) => setTimeout(r, secs * 1000));
const { result } = await call("Profiler.stop");
const nodes = new Map(result.profile.nodes.map((n) => [n.id, n]));
const self = new Map();
for (const s of result.profile.samples) { const n = nodes.get(s); const k = n.callFrame.functionName || `(${n.callFrame.url.split("/").pop()})`; self.set(k, (self.get(k) ?? 0) + 1); }
const total = result.profile.samples.length;
// inclusive: walk parents
const parent = new Map(); for (const n of result.profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
for (const s of result.profile.samples) { const seen = new Set(); for (let x = s; x !== undefined; x = parent.get(x)) { const k = nodes.get(x).callFrame.functionName || "(anon)"; if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + 1); } } }
console.log("samples", total);
console.log("-- self");
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((100 * v / total).toFixed(1).padStart(5), k.slice(0, 120));
console.log("-- inclusive");
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log((100 * v / total).toFixed(1).padStart(5), k.slice(0, 120));
ws.close();
