// The one log line per applet callback: on by default (what `wrangler tail`
// shows, numbers masked), off with CALLBACK_LOG=off (BENCHMARKS.md: it is a
// measurable share of a callback's CPU when the D1 trace is the record).
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

test("each callback logs one line, numbers masked, by default", async () => {
  const log = await logOf({});
  for (const route of ["connect", "gather", "greeting"]) {
    assert.match(log, new RegExp(`${route} call=log1 from=\\*+2233 to=\\*+5777 -> 200`));
  }
  assert.ok(!log.includes("09900112233"), "the caller's number is masked");
});

test("CALLBACK_LOG=off: callbacks are answered the same, without the line", async () => {
  for (const off of ["off", "OFF", "false"]) {
    const log = await logOf({ CALLBACK_LOG: off });
    assert.ok(!/call=log1/.test(log), `CALLBACK_LOG=${off} still logged:\n${log}`);
  }
});
