// The one log line per applet callback: off by default (the runtime's own
// invocation log and the D1 trace record each callback; the line costs CPU on
// every one: BENCHMARKS.md, "The callback log line"), on with CALLBACK_LOG=on,
// numbers masked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./support/worker.mjs";

const Q = "CallSid=log1&CallFrom=09900112233&CallTo=08047115777&Direction=incoming";

async function logOf(bindings) {
  let log = "";
  const collect = (stream) => stream.on("data", (chunk) => (log += chunk));
  const w = await startWorker({ bindings, miniflare: { handleRuntimeStdio: (out, err) => { collect(out); collect(err); } } });
  try {
    for (const route of ["connect", "gather", "greeting"]) {
      const r = await w.call(`/exotel/${route}?${Q}`);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    const h = await w.fetch("/healthz");
    await h.arrayBuffer();
    // Runtime output arrives asynchronously; give it a moment.
    await new Promise((r) => setTimeout(r, 200));
    return log;
  } finally { await w.close(); }
}

test("CALLBACK_LOG=on: each callback logs one line, numbers masked", async () => {
  for (const on of ["on", "ON", "true"]) {
    const log = await logOf({ CALLBACK_LOG: on });
    for (const route of ["connect", "gather", "greeting"]) {
      assert.match(log, new RegExp(`${route} call=log1 from=\\*+2233 to=\\*+5777 -> 200`), `CALLBACK_LOG=${on}`);
    }
    assert.ok(!log.includes("09900112233"), "the caller's number is masked");
  }
});

test("by default, and with CALLBACK_LOG=off: callbacks are answered the same, without the line", async () => {
  for (const bindings of [{}, { CALLBACK_LOG: "off" }, { CALLBACK_LOG: "false" }]) {
    const log = await logOf(bindings);
    assert.ok(!/call=log1/.test(log), `${JSON.stringify(bindings)} still logged:\n${log}`);
  }
});
