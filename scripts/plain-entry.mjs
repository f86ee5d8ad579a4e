// Rewrites worker-build's glue so the worker's default export is a plain
// handler object instead of a Proxy around a WorkerEntrypoint class, then
// minifies it. Run by scripts/build-worker.sh on worker-build's unminified
// output (NO_MINIFY=1):
//
//   node scripts/plain-entry.mjs build/index.js
//
// Why: worker-build 0.8's shim exports `new Proxy(Entrypoint, hooks)`, so
// for every request the runtime constructs the class through the Proxy's
// `construct` trap, which builds a second Proxy (copying twelve hooks), and
// reading `fetch` off it builds a third Proxy around the method. That is
// JS work on every callback that a hand-written worker does not do: with
// the plain object, req/s went from 0.86-0.90x to 0.96-1.00x the JS worker
// at 1 connection and from 0.82-0.87x to 0.95-1.01x at 50, side by side
// (BENCHMARKS.md, "Issue 16", edge-20261129T153504Z).
//
// What stays the same: each handler still runs the shim's own
// `checkReinitialize()` first (a wasm instance that trapped, e.g. on a
// panic, is reset before the next request) and hands a thrown error to
// `handleMaybeCritical` (tests/panic.test.mjs proves both); the Durable
// Object classes keep worker-build's Proxy; the handlers call the same
// wasm-bindgen exports with the same (request, env, ctx) arguments the
// class passed as `this.env` and `this.ctx`. The script fails loudly when
// worker-build's output does not have the shape it expects, rather than
// shipping glue it did not understand.
import { readFileSync, writeFileSync } from "node:fs";
import { transformSync } from "esbuild";

const path = process.argv[2];
if (!path) {
  console.error("usage: node scripts/plain-entry.mjs <worker-build's index.js>");
  process.exit(2);
}
const source = readFileSync(path, "utf8");

function fail(what) {
  console.error(
    `scripts/plain-entry.mjs: ${path}: ${what}; worker-build's glue changed ` +
      "(is it unminified, NO_MINIFY=1?); update the script or drop the step",
  );
  process.exit(1);
}

const EXPORT = "var shim_default = new Proxy(Entrypoint, classProxyHooks);";
if (source.split(EXPORT).length !== 2) fail(`expected exactly one "${EXPORT}"`);
for (const helper of ["function checkReinitialize()", "function handleMaybeCritical(e)"]) {
  if (!source.includes(helper)) fail(`"${helper}" not found`);
}

// The handlers worker-build put on the class: `Entrypoint.prototype.fetch =
// function fetch2(arg) { return fetch.call(this, arg, this.env, this.ctx); };`
const HANDLER =
  /Entrypoint\.prototype\.(\w+) = function \w+\(arg\) \{\s*return (\w+)\.call\(this, arg, this\.env, this\.ctx\);\s*\};/g;
const handlers = [...source.matchAll(HANDLER)].map(([, name, target]) => ({ name, target }));
if (!handlers.some((h) => h.name === "fetch")) fail("no fetch handler on Entrypoint.prototype");

const methods = handlers.map(
  ({ name, target }) => `  ${name}(event, env, ctx) {
    checkReinitialize();
    try {
      return ${target}(event, env, ctx);
    } catch (e) {
      handleMaybeCritical(e);
      throw e;
    }
  }`,
);
const plain = `var shim_default = {\n${methods.join(",\n")}\n};`;

const { code } = transformSync(source.replace(EXPORT, plain), {
  format: "esm",
  minify: true,
  treeShaking: true,
});
writeFileSync(path, code);
