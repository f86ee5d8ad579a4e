// Whole call scenarios through the real worker with KV and the routing
// Durable Object: IVR menu, strategies, re-fetch state, sticky agents,
// caller lists, hours and personalised greetings with a slow origin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startWorker } from "./support/worker.mjs";

const EXAMPLE = JSON.parse(readFileSync(new URL("../config/example.json", import.meta.url)));

// The example config, made independent of the clock: the main line is open
// around the clock, and 08047115778 is closed around the clock.
function config() {
  const c = structuredClone(EXAMPLE);
  const always = Object.fromEntries(["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, ["00:00-24:00"]]));
  c.lines["+918047115777"].hours = { timezone: "Asia/Kolkata", weekly: always };
  c.lines["08047115778"].hours = { weekly: {} };
  c.lines["+918047115777"].personalize.lookup.timeout_ms = 300;
  return c;
}

let origin = { delayMs: 0, calls: 0, body: { name: "Asha", order_id: "4521", eta: "tomorrow" } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let w;
before(async () => {
  w = await startWorker({
    kv: { "config.json": JSON.stringify(config()) },
    miniflare: {
      // The customer's CRM, faked: answers after origin.delayMs.
      outboundService: async (req) => {
        origin.calls++;
        await sleep(origin.delayMs);
        assert.match(new URL(req.url).pathname, /^\/callers\/%2B91/);
        return new Response(JSON.stringify(origin.body), { headers: { "content-type": "application/json" } });
      },
    },
  });
});
after(async () => { await w?.close(); });

const MAIN = "CallTo=08047115777";
const connect = async (q) => {
  const r = await w.call(`/exotel/connect?${q}`);
  const text = await r.text();
  return { status: r.status, body: r.status === 200 ? JSON.parse(text) : JSON.parse(text) };
};

test("IVR: digits pick the group; round-robin is fair across calls", async () => {
  const first = [];
  for (let i = 0; i < 6; i++) {
    const r = await connect(`CallSid=rr${i}&${MAIN}&CallFrom=09900112233&digits=%221%22`);
    assert.equal(r.status, 200);
    assert.equal(r.body.fetch_after_attempt, true);
    assert.equal(r.body.max_ringing_duration, 20);
    assert.equal(r.body.destination.numbers.length, 1);
    first.push(r.body.destination.numbers[0]);
  }
  const counts = first.reduce((m, n) => ({ ...m, [n]: (m[n] ?? 0) + 1 }), {});
  assert.deepEqual(Object.values(counts), [2, 2, 2], JSON.stringify(counts));
});

test("fetch_after_attempt: concurrent re-fetches for one CallSid get different agents", async () => {
  const q = `CallSid=refetch1&${MAIN}&CallFrom=09900112234&digits=%221%22`;
  const [a, b, c] = await Promise.all([connect(q), connect(q), connect(q)]);
  const got = [a, b, c].map((r) => r.body.destination.numbers.join(","));
  assert.equal(new Set(got).size, 3, `three different sets: ${got}`);
  // Then the overflow (the line's own number), then nothing more to dial.
  const d = await connect(q);
  assert.deepEqual(d.body.destination.numbers, ["+919812345678"]);
  assert.equal(d.body.fetch_after_attempt, false);
  const e = await connect(q);
  assert.equal(e.status, 403);
  assert.match(e.body.error, /already offered/);
});

test("a re-fetch's Legs count as tried even for a new CallSid", async () => {
  const r = await connect(`CallSid=legs1&${MAIN}&digits=%221%22&DialCallStatus=no-answer&Legs%5B0%5D%5BNumber%5D=09800000001&Legs%5B1%5D%5BNumber%5D=09800000002&Legs%5B2%5D%5BNumber%5D=09800000003`);
  assert.deepEqual(r.body.destination.numbers, ["+919812345678"], "only the overflow is left");
});

test("sticky: the agent who answered this caller is tried first next time", async () => {
  const caller = "09900112299";
  const before = await connect(`CallSid=st1&${MAIN}&CallFrom=${caller}&digits=%222%22`);
  assert.deepEqual(before.body.destination.numbers, ["+919800000011"]);
  const pop = await w.call(`/exotel/popup?CallSid=st1&From=${caller}&DialWhomNumber=09800000013&Status=busy&EventType=Answered`);
  assert.equal(pop.status, 200);
  // the popup's lesson is stored after the answer (waitUntil)
  let rec;
  for (let i = 0; i < 20 && !rec; i++) { rec = await w.state.get("sticky:+919900112299"); if (!rec) await sleep(25); }
  assert.ok(rec, "sticky record stored");
  const after = await connect(`CallSid=st2&${MAIN}&CallFrom=${caller}&digits=%222%22`);
  assert.deepEqual(after.body.destination.numbers, ["+919800000013"]);
});

test("VIP callers ring the priority group in parallel, skipping the menu", async () => {
  const r = await connect(`CallSid=vip1&${MAIN}&CallFrom=%2B919888888888&digits=%221%22`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.parallel_ringing, { activate: true, max_parallel_attempts: 3 });
  assert.equal(r.body.destination.numbers.length, 3);
});

test("blocked callers: Connect and dial-whom dial nobody, passthru takes the else branch", async () => {
  const c = await connect(`CallSid=bl1&${MAIN}&CallFrom=9999999999`);
  assert.equal(c.status, 403);
  const d = await w.call(`/exotel/dialwhom?CallSid=bl1&${MAIN}&CallFrom=09999999999`);
  assert.equal(d.status, 403);
  const p = await w.call(`/exotel/passthru?CallSid=bl1&${MAIN}&CallFrom=09999999999`);
  assert.equal(p.status, 302);
});

test("a closed line with no closed variant dials nobody", async () => {
  const r = await connect("CallSid=cl1&CallTo=08047115778&CallFrom=09900112233");
  assert.equal(r.status, 403);
  assert.match(r.body.error, /closed/);
});

test("dial-whom answers the routed agents as text", async () => {
  const r = await w.call(`/exotel/dialwhom?CallSid=dw1&${MAIN}&CallFrom=09900112233&digits=%222%22`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "text/plain");
  assert.equal(await r.text(), "+919800000011");
});

test("personalised greeting from the origin, cached per caller", async () => {
  origin = { ...origin, delayMs: 0, calls: 0 };
  const r = await w.call(`/exotel/greeting?CallSid=g1&${MAIN}&CallFrom=09900112201`);
  assert.equal(await r.text(), "Hello Asha, your order 4521 ships tomorrow.");
  const again = await w.call(`/exotel/greeting?CallSid=g2&${MAIN}&CallFrom=09900112201`);
  assert.equal(await again.text(), "Hello Asha, your order 4521 ships tomorrow.");
  assert.equal(origin.calls, 1, "second greeting served from cache");
});

test("a KV caller record wins over the origin's fields", async () => {
  await w.state.put("caller:+919900112202", JSON.stringify({ name: "Ravi" }));
  origin = { ...origin, delayMs: 0 };
  const r = await w.call(`/exotel/greeting?CallSid=g3&${MAIN}&CallFrom=09900112202`);
  assert.equal(await r.text(), "Hello Ravi, your order 4521 ships tomorrow.");
});

test("a hanging origin gives the static greeting within the budget", async () => {
  origin = { ...origin, delayMs: 4000 };
  const t0 = Date.now();
  const r = await w.call(`/exotel/greeting?CallSid=g4&${MAIN}&CallFrom=09900112203`);
  const ms = Date.now() - t0;
  assert.equal(r.status, 200);
  assert.equal(await r.text(), "Thanks for calling Super Kart.");
  assert.ok(ms < 1500, `answered in ${ms} ms with a 300 ms origin budget`);
  origin = { ...origin, delayMs: 0 };
});

test("the agent playback is personalised too", async () => {
  const r = await w.call(`/exotel/playback?CallSid=p1&${MAIN}&CallFrom=09900112201`);
  const j = await r.json();
  assert.equal(j.start_call_playback.value, "Customer Asha, order 4521.");
  assert.equal(j.start_call_playback.playback_to, "callee");
});

test("HEAD changes no routing state: the GET after it gets the first agent", async () => {
  const q = `CallSid=head1&${MAIN}&CallFrom=09900112235&digits=%222%22`;
  const h = await w.call(`/exotel/connect?${q}`, { method: "HEAD", headers: { "accept-encoding": "identity" } });
  assert.equal(h.status, 200);
  const g = await w.call(`/exotel/connect?${q}`, { headers: { "accept-encoding": "identity" } });
  const body = await g.text();
  assert.deepEqual(JSON.parse(body).destination.numbers, ["+919800000011"]);
  assert.equal(h.headers.get("content-length"), g.headers.get("content-length"));
});
