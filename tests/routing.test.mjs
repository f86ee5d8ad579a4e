// Whole call scenarios through the real worker with KV and the routing
// Durable Object: IVR menu, strategies, re-fetch state, sticky agents,
// caller lists, hours and personalised greetings with a slow origin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { existsSync } from "node:fs";
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
  // Issue 11: a 4-agent round-robin group; static dial-whom numbers on
  // lines closed around the clock; a closed part naming only a greeting.
  c.groups.rr4 = { strategy: "round_robin", agents: ["+919800000041", "+919800000042", "+919800000043", "+919800000044"], ring_seconds: 20 };
  c.lines["+918047115779"] = { agents: "rr4" };
  c.lines["+918047115780"] = { hours: { weekly: {} }, dialwhom: ["+919811111111"] };
  c.lines["+918047115781"] = { hours: { weekly: {} }, dialwhom: ["+919811111111"], closed: { dialwhom: ["+919822222222"] } };
  c.lines["+918047115782"] = {
    hours: { weekly: {} },
    menu: { options: { "1": { group: "sales" }, "2": { group: "support" } } },
    agents: "night",
    connect: { destination: { numbers: ["+919833333333"] } },
    closed: { greeting: { text: "We are closed; an agent may still pick up." } },
  };
  c.lines["+918047115783"] = { dialwhom: ["+919811111111"] };
  // Open around the clock except on 29 February 2020: tells a clock set by
  // `__test_now_ms` (test build only) from the real one.
  c.lines["+918047115784"] = { hours: { weekly: always, holidays: ["2020-02-29"] }, agents: "night" };
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

test("round-robin turns once per call: with one re-fetch per call, first offers spread over all 4 agents", async () => {
  const first = [];
  for (let i = 0; i < 8; i++) {
    const q = `CallSid=rr4-${i}&CallTo=08047115779&CallFrom=09900112240`;
    const a = await connect(q);
    assert.equal(a.status, 200);
    assert.equal(a.body.fetch_after_attempt, true);
    first.push(a.body.destination.numbers[0]);
    // HEAD before the re-fetch, as a monitor might: it takes no turn.
    const h = await w.call(`/exotel/connect?${q}`, { method: "HEAD" });
    assert.equal(h.status, 200);
    // Exotel's re-fetch after the first agent did not answer.
    const legs = `DialCallStatus=no-answer&Legs%5B0%5D%5BNumber%5D=${encodeURIComponent(a.body.destination.numbers[0])}`;
    const b = await connect(`${q}&${legs}`);
    assert.equal(b.status, 200);
    assert.notEqual(b.body.destination.numbers[0], a.body.destination.numbers[0], "a re-fetch offers the next agent");
  }
  const counts = first.reduce((m, n) => ({ ...m, [n]: (m[n] ?? 0) + 1 }), {});
  assert.deepEqual(Object.keys(counts).sort(), ["+919800000041", "+919800000042", "+919800000043", "+919800000044"], JSON.stringify(counts));
  assert.deepEqual(Object.values(counts), [2, 2, 2, 2], JSON.stringify(counts));
  // And the call after them starts where the counter stands: the first agent again.
  const next = await connect("CallSid=rr4-next&CallTo=08047115779&CallFrom=09900112240");
  assert.deepEqual(next.body.destination.numbers, [first[0]]);
});

test("HEAD on an exhausted call reports GET's 403 without changing anything", async () => {
  const q = `CallSid=head-ex&${MAIN}&CallFrom=09900112236&digits=%221%22`;
  const head = () => w.call(`/exotel/connect?${q}`, { method: "HEAD", headers: { "accept-encoding": "identity" } });
  // Every agent, then the overflow.
  for (let i = 0; i < 4; i++) assert.equal((await connect(q)).status, 200);
  const h = await head();
  assert.equal(h.status, 403, "HEAD says what GET would: every agent was already offered");
  assert.equal(await h.text(), "");
  const g = await w.call(`/exotel/connect?${q}`, { headers: { "accept-encoding": "identity" } });
  assert.equal(g.status, 403);
  const body = await g.text();
  assert.match(body, /already offered/);
  for (const k of ["content-type", "content-length"]) assert.equal(h.headers.get(k), g.headers.get(k), k);

  // Mid-call, HEADs use up nothing: the GET after three HEADs gets the next agent.
  const q2 = `CallSid=head-mid&${MAIN}&CallFrom=09900112237&digits=%221%22`;
  const a = await connect(q2);
  for (let i = 0; i < 3; i++) {
    const hh = await w.call(`/exotel/connect?${q2}`, { method: "HEAD" });
    assert.equal(hh.status, 200);
  }
  const b = await connect(q2);
  const c = await connect(q2);
  const d = await connect(q2);
  assert.equal(new Set([a, b, c].map((r) => r.body.destination.numbers[0])).size, 3, "three agents, none skipped");
  assert.deepEqual(d.body.destination.numbers, ["+919812345678"], "then the overflow");
});

test("static dial-whom numbers: blocked callers and closed lines are not dialled through", async () => {
  const dw = async (q) => { const r = await w.call(`/exotel/dialwhom?${q}`); return { status: r.status, text: await r.text() }; };
  const open = await dw("CallSid=dw2&CallTo=08047115783&CallFrom=09900112233");
  assert.deepEqual(open, { status: 200, text: "+919811111111" });
  const blocked = await dw("CallSid=dw3&CallTo=08047115783&CallFrom=09999999999");
  assert.equal(blocked.status, 403, "blocked caller");
  const closed = await dw("CallSid=dw4&CallTo=08047115780&CallFrom=09900112233");
  assert.equal(closed.status, 403, "closed, no closed part");
  assert.match(JSON.parse(closed.text).error, /closed/);
  const closedPart = await dw("CallSid=dw5&CallTo=08047115781&CallFrom=09900112233");
  assert.deepEqual(closedPart, { status: 200, text: "+919822222222" }, "what the closed part says");
  const head = await w.call("/exotel/dialwhom?CallSid=dw6&CallTo=08047115780&CallFrom=09900112233", { method: "HEAD" });
  assert.equal(head.status, 403, "HEAD agrees");
});

test("a closed part naming only a greeting keeps the line's menu and agents", async () => {
  const line = "CallTo=08047115782&CallFrom=09900112233";
  const support = await connect(`CallSid=cg1&${line}&digits=%222%22`);
  assert.equal(support.status, 200);
  assert.deepEqual(support.body.destination.numbers, ["+919800000011"], "menu 2 -> support");
  const agents = await connect(`CallSid=cg2&${line}`);
  assert.deepEqual(agents.body.destination.numbers, ["+919800000031", "+919800000032"], "the line's agents, not its connect number");
  const g = await w.call(`/exotel/greeting?CallSid=cg3&${line}`);
  assert.equal(await g.text(), "We are closed; an agent may still pick up.");
});

test("sticky learning from a real passthru after Connect (seed sample 1: Legs as a JSON string)", async () => {
  const caller = "09900112298";
  const legs = encodeURIComponent(JSON.stringify([{ Number: "09800000012", Type: "single", OnCallDuration: "8", CauseCode: "NORMAL_CLEARING" }]));
  const p = await w.call(`/exotel/passthru?CallSid=st3&CallFrom=${caller}&${MAIN}&CallStatus=completed&Direction=incoming&DialCallStatus=completed&CallType=completed&DialWhomNumber=09800000012&Legs=${legs}`);
  assert.equal(p.status, 200);
  let rec;
  for (let i = 0; i < 20 && !rec; i++) { rec = await w.state.get("sticky:+919900112298"); if (!rec) await sleep(25); }
  assert.ok(rec, "sticky record stored");
  const next = await connect(`CallSid=st4&${MAIN}&CallFrom=${caller}&digits=%222%22`);
  assert.deepEqual(next.body.destination.numbers, ["+919800000012"]);
});

test("a terminal StatusCallback (seed 195-240: no Number per leg) teaches nothing and is accepted", async () => {
  const body = { CallSid: "st5", EventType: "terminal", Status: "completed", From: "09900112297", To: "08047115777",
    Legs: [{ OnCallDuration: "26", Status: "completed", AnsweredBy: "NA" }, { OnCallDuration: "13", Status: "completed", AnsweredBy: "HUMAN" }] };
  const r = await w.call("/exotel/status", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  await sleep(100);
  assert.equal(await w.state.get("sticky:+919900112297"), null);
});

// Hours in daylight-saving zones at fixed instants: the test build
// (build-test/, `--features test-panic,test-clock`) reads the clock from
// `__test_now_ms`, and the offsets come from workerd's own Intl.
const TEST_BUILD = new URL("../build-test/index.js", import.meta.url);
const noTestBuild = existsSync(TEST_BUILD) ? false : "build-test/ missing: scripts/test.sh builds it with --features test-panic,test-clock";

test("the production build has no clock hook: __test_now_ms is ignored", async () => {
  const r = await connect(`CallSid=clock1&CallTo=08047115784&CallFrom=09900112233&__test_now_ms=${Date.parse("2020-02-29T06:30:00Z")}`);
  assert.equal(r.status, 200, "the real clock: not the holiday");
});

test("New York and London hours open and close at local time on both sides of a DST change", { skip: noTestBuild }, async () => {
  const c = config();
  c.lines["+918047115790"] = { hours: { timezone: "America/New_York", weekly: { mon: ["09:00-17:00"], sat: ["22:00-06:00"] } }, agents: "night" };
  c.lines["+918047115791"] = { hours: { timezone: "Europe/London", weekly: { mon: ["09:00-17:00"] }, holidays: ["2026-10-26"] }, agents: "night" };
  const { startFaulty } = await import("./support/faults.mjs");
  const tw = await startFaulty({ buildDir: "build-test", kv: { "config.json": JSON.stringify(c) } });
  try {
    const cases = [
      // New York, Monday 09:00: 14:00 UTC in EST, 13:00 UTC in EDT.
      ["08047115790", "2026-03-02T13:30:00Z", 403],
      ["08047115790", "2026-03-02T14:00:00Z", 200],
      ["08047115790", "2026-03-09T12:59:00Z", 403],
      ["08047115790", "2026-03-09T13:00:00Z", 200],
      ["08047115790", "2026-11-02T13:30:00Z", 403],
      ["08047115790", "2026-11-02T14:00:00Z", 200],
      // Saturday 22:00 EST spills over the spring change to Sunday 06:00 EDT (10:00 UTC).
      ["08047115790", "2026-03-08T09:59:00Z", 200],
      ["08047115790", "2026-03-08T10:00:00Z", 403],
      // London, Monday 09:00: 09:00 UTC in GMT, 08:00 UTC in BST; 26 October is a holiday.
      ["08047115791", "2026-03-23T08:30:00Z", 403],
      ["08047115791", "2026-03-23T09:00:00Z", 200],
      ["08047115791", "2026-03-30T07:59:00Z", 403],
      ["08047115791", "2026-03-30T08:00:00Z", 200],
      ["08047115791", "2026-10-26T10:00:00Z", 403],
      ["08047115791", "2026-11-02T09:00:00Z", 200],
    ];
    // The hook works in this build (the holiday line is closed at its date).
    cases.push(["08047115784", "2020-02-29T06:30:00Z", 403]);
    for (const [to, at, want] of cases) {
      const r = await tw.call(`/exotel/connect?CallSid=tz-${to}-${at}&CallTo=${to}&CallFrom=09900112233&__test_now_ms=${Date.parse(at)}`);
      await r.arrayBuffer();
      assert.equal(r.status, want, `${to} at ${at}`);
    }
  } finally { await tw.close(); }
});

test("a zone the runtime does not know is refused at load, with its path; the last good config serves", async () => {
  const c = config();
  c.lines["+918047115777"].hours.timezone = "America/Atlantis";
  const bad = await startWorker({ kv: { "config.json": JSON.stringify(c) } });
  try {
    const r = await bad.call(`/exotel/connect?CallSid=tz-bad&${MAIN}&CallFrom=09900112233`);
    assert.equal(r.status, 200, "the embedded config answers");
    await r.arrayBuffer();
    const h = await (await bad.fetch("/healthz")).json();
    assert.match(JSON.stringify(h), /lines\.\+918047115777\.hours\.timezone/);
    assert.match(JSON.stringify(h), /America\/Atlantis/);
  } finally { await bad.close(); }
});
