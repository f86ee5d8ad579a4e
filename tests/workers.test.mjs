// The two workers (README, "Two workers"): the callback worker answers
// Exotel's callbacks and /healthz itself and hands every other route to the
// backend unchanged; deployed without its backend it still answers
// callbacks, and says clearly what is missing for the rest.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { startWorker, twoWorkers, TOKEN } from "./support/worker.mjs";
import { migrate, waitRows, ADMIN } from "./support/trace.mjs";

const Q = "CallSid=w1&CallFrom=09900112233&CallTo=08047115777&Direction=incoming";

test("every route answers through the callback worker as the backend answers it", async () => {
  const w = await startWorker({ bindings: { EXOEDGE_ADMIN_TOKENS: ADMIN }, miniflare: { d1Databases: ["TRACE"] } });
  try {
    const db = await migrate(w.mf);
    // A callback: answered by the callback worker.
    const c = await w.call(`/exotel/connect?${Q}`);
    assert.equal(c.status, 200);
    assert.equal(c.headers.get("content-type"), "application/json");
    assert.ok((await c.json()).destination.numbers.length > 0);
    // Forwarded: the backend's own statuses, headers and bodies come back as they are.
    const bad = await w.fetch("/admin/events/dead", { headers: { authorization: "Bearer not-the-token-0123456789" } });
    assert.equal(bad.status, 401);
    await bad.arrayBuffer();
    const wrong = await w.fetch("/events", { method: "GET" });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "POST");
    await wrong.arrayBuffer();
    // The callback worker's trace, in the backend's console: one database.
    await waitRows(db, (rows) => rows.some((r) => r.call_sid === "w1"));
    const page = await w.fetch("/console", { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /text\/html/);
    assert.match(await page.text(), /w1/);
  } finally {
    await w.close();
  }
});

test("without its backend the callback worker answers callbacks and a clear 503 for the rest", async () => {
  const [callbacks] = twoWorkers({ both: { bindings: { EXOEDGE_TOKENS: TOKEN } } });
  delete callbacks.serviceBindings;
  delete callbacks.durableObjects;
  const mf = new Miniflare(callbacks);
  try {
    const url = (p) => new URL(p, "http://exoedge.test").toString();
    const c = await mf.dispatchFetch(url(`/t/${TOKEN}/exotel/greeting?${Q}`));
    assert.equal(c.status, 200);
    assert.equal(await c.text(), "Thanks for calling support. Your call may be recorded.");
    const h = await mf.dispatchFetch(url("/healthz"));
    assert.equal(h.status, 200);
    assert.equal((await h.json()).status, "ok");
    for (const [p, init] of [["/events", { method: "POST", body: "[]" }], ["/console", {}], ["/login", { method: "POST", body: "{}" }]]) {
      const r = await mf.dispatchFetch(url(p), init);
      assert.equal(r.status, 503, p);
      assert.match((await r.json()).error, /served by the backend worker; bind it as BACKEND/, p);
    }
    // Unknown paths stay 404 without asking anyone.
    const none = await mf.dispatchFetch(url("/nope"));
    assert.equal(none.status, 404);
    await none.arrayBuffer();
  } finally {
    await mf.dispose();
  }
});
