// A panic inside the worker (issue 6): the request that panics gets a 5xx
// (Exotel then takes the applet's Fallback URL), and the next request is
// served normally, because worker-build's shim marks the instance broken on
// the wasm trap and re-instantiates it before the next call.
//
// Production code has no way to panic on demand, so this runs a second
// build, build-test/, made with the `test-panic` cargo feature (scripts/test.sh:
// `scripts/build-worker.sh --out-dir build-test . --features test-panic`),
// which adds one thing: `/__test/panic` panics. The default build is checked
// not to have it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { startWorker } from "./support/worker.mjs";
import { startFaulty } from "./support/faults.mjs";

const TEST_BUILD = new URL("../build-test/index.js", import.meta.url);
const Q = "CallSid=p1&CallFrom=09900112233&CallTo=08047115777&Direction=incoming";
const skip = existsSync(TEST_BUILD) ? false : "build-test/ missing: scripts/test.sh builds it with --features test-panic";

test("the production build has no panic hook", async () => {
  const w = await startWorker();
  try {
    const r = await w.fetch("/__test/panic");
    assert.equal(r.status, 404);
    await r.arrayBuffer();
  } finally { await w.close(); }
});

test("after a panic the next request is served; repeatedly", { skip }, async () => {
  const w = await startFaulty({ buildDir: "build-test" });
  try {
    const ok = await w.call(`/exotel/connect?${Q}`);
    assert.equal(ok.status, 200);
    const want = await ok.json();
    for (let i = 0; i < 5; i++) {
      const p = await w.fetch("/__test/panic");
      assert.ok(p.status >= 500, `the panicking request gets a 5xx, got ${p.status}`);
      await p.arrayBuffer();
      const t0 = Date.now();
      const next = await w.call(`/exotel/connect?${Q}&CallSid=p${i}`);
      assert.equal(next.status, 200, `request after panic ${i + 1}`);
      assert.deepEqual(await next.json(), want);
      const h = await w.fetch("/healthz");
      assert.equal(h.status, 200);
      await h.arrayBuffer();
      console.log(`panic ${i + 1}: next request answered in ${Date.now() - t0} ms (includes re-instantiation)`);
    }
  } finally { await w.close(); }
});

test("a panic among concurrent calls: the rest of the burst and everything after is served", { skip }, async () => {
  const w = await startFaulty({ buildDir: "build-test" });
  try {
    const burst = [];
    for (let i = 0; i < 40; i++) {
      burst.push(i === 20 ? w.fetch("/__test/panic") : w.call(`/exotel/greeting?${Q}&CallSid=b${i}`));
    }
    const statuses = await Promise.all(burst.map(async (p) => { const r = await p; await r.arrayBuffer(); return r.status; }));
    const failed = statuses.filter((s, i) => i !== 20 && s !== 200).length;
    console.log(`burst of 39 calls + 1 panic: ${failed} calls failed alongside the panic`);
    assert.ok(statuses[20] >= 500);
    // Afterwards every call is served.
    for (let i = 0; i < 20; i++) {
      const r = await w.call(`/exotel/greeting?${Q}&CallSid=a${i}`);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
  } finally { await w.close(); }
});

// scripts/build-worker.sh strips the wasm's names section (smaller, faster
// cold start): the panic's message and its file:line must still reach the
// log, since they live in the data section, not in the names.
test("a panic's message reaches the log of the stripped build", { skip }, async () => {
  let log = "";
  const collect = (stream) => stream.on("data", (chunk) => (log += chunk));
  const w = await startFaulty({ buildDir: "build-test", shared: { handleRuntimeStdio: (out, err) => { collect(out); collect(err); } } });
  try {
    const p = await w.fetch("/__test/panic");
    assert.ok(p.status >= 500);
    await p.arrayBuffer();
    for (let i = 0; i < 50 && !log.includes("panic injected"); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(log, /panicked at src\/lib\.rs:\d+:\d+:\s+panic injected by the test-panic feature/);
  } finally { await w.close(); }
});
