// Where a wasm binary's bytes go: section sizes, then code size per crate
// (from the names section worker-build keeps). Used by bench/run.sh.
//   node bench/wasm-sections.mjs build/index_bg.wasm
import fs from "node:fs";

const b = fs.readFileSync(process.argv[2]);
let o = 8;
const leb = () => {
  let r = 0, s = 0, x;
  do {
    x = b[o++];
    r += (x & 0x7f) * 2 ** s;
    s += 7;
  } while (x & 0x80);
  return r;
};
const SECTION = { 0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global", 7: "export", 9: "element", 10: "code", 11: "data", 12: "datacount", 13: "tag" };
let imports = 0;
const bodies = [], names = new Map(), sections = [];
while (o < b.length) {
  const id = b[o++], len = leb(), start = o;
  let label = SECTION[id] ?? `id${id}`;
  if (id === 2) {
    const n = leb();
    for (let i = 0; i < n; i++) {
      { const l1 = leb(); o += l1; } { const l2 = leb(); o += l2; }
      const kind = b[o++];
      if (kind === 0) { leb(); imports++; }
      else if (kind === 1) { o++; const f = b[o++]; leb(); if (f & 1) leb(); }
      else if (kind === 2) { const f = b[o++]; leb(); if (f & 1) leb(); }
      else if (kind === 3) o += 2;
      else if (kind === 4) { o++; leb(); }
    }
  } else if (id === 10) {
    const n = leb();
    for (let i = 0; i < n; i++) { const l = leb(); bodies.push(l); o += l; }
  } else if (id === 0) {
    const nl = leb();
    const name = b.subarray(o, o + nl).toString();
    o += nl;
    label = `custom:${name}`;
    if (name === "name") {
      while (o < start + len) {
        const sub = b[o++], sl = leb(), ss = o;
        if (sub === 1) {
          const n = leb();
          for (let i = 0; i < n; i++) { const idx = leb(), l = leb(); names.set(idx, b.subarray(o, o + l).toString()); o += l; }
        }
        o = ss + sl;
      }
    }
  }
  sections.push([label, len]);
  o = start + len;
}
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
