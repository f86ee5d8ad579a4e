// Where a wasm binary's bytes go: section sizes, then code size per crate
// (from the names section worker-build keeps). Used by bench/run.sh.
//   node bench/wasm-sections.mjs build/index_bg.wasm
import { readWasm } from "./wasm-names.mjs";

const { sections, bodies, names, imports } = readWasm(process.argv[2]);
console.log("section sizes (bytes):");
for (const [l, n] of sections) console.log(`  ${String(n).padStart(9)}  ${l}`);
const total = bodies.reduce((a, x) => a + x, 0);
const byCrate = {};
bodies.forEach((size, i) => {
  const n = (names.get(i + imports) ?? "?").replace(/^(?:[<&_ ]|mut |dyn )+/, "");
  const k = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(n)?.[1] ?? "?";
  byCrate[k] = (byCrate[k] ?? 0) + size;
});
console.log(`code by crate (function bodies, ${total} bytes${names.size ? "" : "; no names section"}):`);
for (const [k, v] of Object.entries(byCrate).sort((a, c) => c[1] - a[1]).slice(0, 20)) {
  console.log(`  ${String(v).padStart(9)}  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}
