// Reads a wasm binary's sections, function body sizes and (when the names
// section is there) function names. Used by bench/wasm-sections.mjs and
// bench/lazy-compile.mjs.
import fs from "node:fs";

/**
 * @param {string} file a .wasm file
 * @returns {{ sections: [string, number][], bodies: number[], names: Map<number, string>, imports: number }}
 *   `bodies[i]` is the size of function `i + imports` (indices count imports first,
 *   as the names section and V8 do).
 */
export function readWasm(file) {
  const b = fs.readFileSync(file);
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
  return { sections, bodies, names, imports };
}
