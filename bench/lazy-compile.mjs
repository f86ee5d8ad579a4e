// Which wasm functions V8 compiled, by name and size, from workerd's output
// under the V8 flag --trace-wasm-compilation-times (bench/cold-parts.sh
// with TRACE=1). V8 compiles wasm lazily, one function at its first call,
// so on a cold isolate this is the first request's compile work.
//   node bench/lazy-compile.mjs <wasm with names> <workerd output> [top]
import fs from "node:fs";
import { readWasm } from "./wasm-names.mjs";

const { names } = readWasm(process.argv[2]);
const top = Number(process.argv[4] ?? 30);
const rows = [];
for (const line of fs.readFileSync(process.argv[3], "utf8").split("\n")) {
  const m = /#(\d+) using \w+, took (\d+) μs and \d+ bytes; bodysize (\d+)/.exec(line);
  if (m) rows.push({ bytes: Number(m[3]), us: Number(m[2]), name: names.get(Number(m[1])) ?? `#${m[1]}` });
}
const sum = (k) => rows.reduce((a, r) => a + r[k], 0);
console.log(`${rows.length} functions compiled, ${sum("bytes")} body bytes, ${(sum("us") / 1000).toFixed(1)} ms as V8 timed them`);
const byCrate = {};
for (const r of rows) {
  const crate = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(r.name.replace(/^(?:[<&_ ]|mut |dyn )+/, ""))?.[1] ?? "?";
  byCrate[crate] = (byCrate[crate] ?? 0) + 1;
}
console.log("functions by crate:", Object.entries(byCrate).sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k, v]) => `${k} ${v}`).join(", "));
console.log("largest:");
for (const r of rows.sort((a, b) => b.bytes - a.bytes).slice(0, top)) console.log(`${String(r.bytes).padStart(7)} B ${String(r.us).padStart(6)} µs  ${r.name.slice(0, 140)}`);
