// Failure injection against the built worker (issue 6): the CONFIG and
// STATE KV namespaces and the routing Durable Object throwing, rejecting or
// hanging, and the customer's caller API failing in every way we could think
// of. Each time the caller still gets an answer, within budget, from the
// fallbacks. (The panic test lives in panic.test.mjs: it needs its own build.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Response } from "miniflare";
import { startFaulty } from "./support/faults.mjs";

const DEFAULT = JSON.parse(readFileSync(new URL("../config/default.json", import.meta.url)));
const EXAMPLE = JSON.parse(readFileSync(new URL("../config/example.json", import.meta.url)));
const Q = "CallSid=f1&CallFrom=09900112233&CallTo=08047115777&Direction=incoming";
const ROUTES = ["connect", "dialwhom", "gather", "greeting", "playback", "passthru", "popup"];
// Exotel waits 5 s before it takes the Fallback URL; our budgets (KV 150 ms,
// Durable Object 300 ms, origin 300 ms here) must keep us far below that.
const BUDGET_MS = 1500;

// The example config, open around the clock, with a short origin budget.
function example() {
  const c = structuredClone(EXAMPLE);
  const always = Object.fromEntries(["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, ["00:00-24:00"]]));
  c.lines["+918047115777"].hours = { timezone: "Asia/Kolkata", weekly: always };
  c.lines["+918047115777"].personalize.lookup.timeout_ms = 300;
  return c;
}

async function timed(w, p) {
  const t0 = Date.now();
  const r = await w.call(p);
  const body = await r.text();
  return { status: r.status, body, ms: Date.now() - t0 };
}

for (const mode of ["throw", "reject", "hang"]) {
  test(`CONFIG KV that ${mode}s: the embedded config answers within budget, /healthz says why`, async () => {
    const w = await startFaulty({ config: mode });
    try {
      for (const route of ROUTES) {
        const r = await timed(w, `/exotel/${route}?${Q}`);
        assert.equal(r.status, 200, `${route}: ${r.body}`);
        assert.ok(r.ms < BUDGET_MS, `${route} took ${r.ms} ms`);
      }
      const c = await timed(w, `/exotel/connect?${Q}`);
      assert.deepEqual(JSON.parse(c.body).destination, DEFAULT.lines["+918047115777"].connect.destination);
      const h = await (await w.fetch("/healthz")).json();
      assert.equal(h.config_source, "embedded");
      assert.match(h.config_error, mode === "hang" ? /longer than 150 ms/ : /kv read failed/);
    } finally { await w.close(); }
  });

  test(`STATE KV and the routing Durable Object that ${mode}: every route still answers within budget`, async () => {
    let originCalls = 0;
    const w = await startFaulty({
      state: mode,
      routing: mode === "reject" ? "throw" : mode,
      kv: { "config.json": JSON.stringify(example()) },
      miniflare: {
        // The caller API is down too: refuses the connection.
        outboundService: () => { originCalls++; throw new Error("connection refused (injected)"); },
      },
    });
    try {
      for (const route of ROUTES) {
        const r = await timed(w, `/exotel/${route}?${Q}&digits=%221%22`);
        // Passthru's rules send a caller who pressed one digit to "else" (302).
        assert.equal(r.status, route === "passthru" ? 302 : 200, `${route}: ${r.body}`);
        assert.ok(r.ms < BUDGET_MS, `${route} took ${r.ms} ms`);
      }
      const g = await timed(w, `/exotel/greeting?${Q}`);
      assert.equal(g.body, "Thanks for calling Super Kart.", "the static greeting");
      // Connect still dials someone from the menu's group without its counters.
      const c = JSON.parse((await timed(w, `/exotel/connect?${Q}&digits=%221%22`)).body);
      assert.ok(c.destination.numbers.length > 0, JSON.stringify(c));
      assert.ok(originCalls > 0, "the origin was tried");
    } finally { await w.close(); }
  });
}

test("the caller API failing in every way: the static greeting, within budget", async () => {
  const behaviours = [
    ["500", () => new Response("boom", { status: 500 })],
    ["429", () => new Response("slow down", { status: 429, headers: { "retry-after": "3600" } })],
    ["not JSON", () => new Response("<html>", { headers: { "content-type": "application/json" } })],
    ["JSON array", () => Response.json([1, 2, 3])],
    ["huge body", () => new Response("x".repeat(8 * 1024 * 1024), { headers: { "content-type": "application/json" } })],
    ["throws", () => { throw new Error("reset by peer (injected)"); }],
    ["headers then a stalled body", () => new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('{"name":')); } }), { headers: { "content-type": "application/json" } })],
    ["hangs", () => new Promise(() => {})],
  ];
  let current = behaviours[0][1];
  const w = await startFaulty({ kv: { "config.json": JSON.stringify(example()) }, miniflare: { outboundService: (req) => current(req) } });
  try {
    let n = 0;
    for (const [what, fn] of behaviours) {
      current = fn;
      // A new caller each time, so nothing is served from the origin cache.
      const r = await timed(w, `/exotel/greeting?CallSid=o${n}&CallTo=08047115777&CallFrom=099001122${String(n++).padStart(2, "0")}`);
      assert.equal(r.status, 200, what);
      assert.equal(r.body, "Thanks for calling Super Kart.", what);
      assert.ok(r.ms < BUDGET_MS, `${what}: ${r.ms} ms`);
    }
    // CR/LF and markup in the origin's values stay inside the text body.
    current = () => Response.json({ name: "Asha\r\nSet-Cookie: x=1", order_id: "<b>42</b>", eta: "soon" });
    const r = await w.call(`/exotel/greeting?CallSid=o99&CallTo=08047115777&CallFrom=09900112299`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("set-cookie"), null);
    assert.doesNotMatch(await r.text(), /[\r\n]/);
  } finally { await w.close(); }
});
