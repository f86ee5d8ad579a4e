// The two workers (README, "Two workers"): the callback worker answers
// Exotel's callbacks and /healthz itself and hands every other route to the
// backend unchanged; deployed without its backend it still answers
// callbacks, and says clearly what is missing for the rest.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
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

test("the backend's trace rows follow KV's trace settings, not the embedded default's", async () => {
  const cfg = JSON.parse(readFileSync(new URL("../config/default.json", import.meta.url)));
  cfg.trace = { retention_days: 30, full_numbers: true };
  const w = await startWorker({ miniflare: { d1Databases: ["TRACE"] }, kv: { "config.json": JSON.stringify(cfg) } });
  try {
    const db = await migrate(w.mf);
    // Ten days old: inside KV's 30 days, outside the embedded default's 7.
    await db.prepare("INSERT INTO trace (call_sid, at_ms, kind, route, status, outcome) VALUES ('ten-days', ?1, 'callback', 'connect', 200, 'ok')")
      .bind(Date.now() - 10 * 86_400_000).run();
    // A StatusCallback, served by the backend, is the first request either isolate sees.
    const st = await w.call("/exotel/status", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "CallSid=st-1&Status=completed&EventType=terminal&From=09900112233&To=08047115777&ConversationDuration=42",
    });
    assert.equal(st.status, 200);
    await st.arrayBuffer();
    const rows = await waitRows(db, (rs) => rs.some((r) => r.call_sid === "st-1"));
    const row = rows.find((r) => r.call_sid === "st-1");
    assert.match(row.params, /09900112233/, "full_numbers: true in KV keeps the number");
    assert.ok(rows.some((r) => r.call_sid === "ten-days"), "KV's 30-day retention keeps a 10-day-old row");
  } finally {
    await w.close();
  }
});
