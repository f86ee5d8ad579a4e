// POST /events end to end through the built worker on workerd, with the
// real EventLog and DeadLetterIndex Durable Objects (SQLite-backed, alarms)
// and a fake Exotel API (Miniflare's outboundService intercepts the
// worker's fetch): Standard Webhooks signatures made here with node:crypto,
// single events and batches stored per EVENTS-CONTRACT.md, duplicates,
// rejected elements, 503 when the logs do not confirm, and then the
// asynchronous part: the alarm posting each leg's actions in order, the
// reorder window, 429/5xx retries, dead letters, retention, and the admin
// routes (auth, log, dead letters, replay).
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import { Miniflare, Response } from "miniflare";
import { startWorker, twoWorkers } from "./support/worker.mjs";

const SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const OLD_SECRET = `whsec_${Buffer.alloc(24, 9).toString("base64")}`;
const ADMIN = "admin-token-0123456789abcdef";
const API_KEY = "test-api-key";
const API_TOKEN = "test-api-token";
const ACCOUNT = "acme1";
const FAKE = "http://exotel.fake";
const DECL = '<?xml version="1.0" encoding="UTF-8"?>';

const DEFAULT = JSON.parse(readFileSync(new URL("../config/default.json", import.meta.url)));
const CONFIG = {
  ...DEFAULT,
  events: {
    greeting: { text: "Welcome to Acme & Co. Press 1 for sales, 2 for support." },
    retry_prompt: { text: "Sorry, please press 1 or 2." },
    gather: { num_digits: 1, timeout_in_sec: 10, finish_on_key: "#" },
    routes: { 1: "+919800000001", 2: "sip:alice" },
    max_retries: 1,
  },
};

// What the fake Exotel API saw, and how it answers next: a queue of
// statuses per leg (202 when empty), or `[status, {headers}]`.
let seen = [];
let answers = {};

async function fakeExotel(request) {
  const url = new URL(request.url);
  const leg = url.pathname.split("/")[5];
  seen.push({
    method: request.method,
    path: url.pathname,
    origin: url.origin,
    leg,
    at: Date.now(),
    auth: request.headers.get("authorization"),
    type: request.headers.get("content-type"),
    body: await request.text(),
  });
  const next = answers[leg]?.length ? answers[leg].shift() : 202;
  const [status, headers] = Array.isArray(next) ? next : [next, {}];
  const body = status === 429
    ? { http_code: 429, response: { error: { code: "RATE_LIMIT_EXCEEDED", message: "Rate limit exceeded." } } }
    : { http_code: status, response: { data: { leg_sid: leg } } };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

const BINDINGS = {
  EVENTS_WEBHOOK_SECRETS: `${OLD_SECRET}, ${SECRET}`,
  EXOEDGE_ADMIN_TOKENS: ADMIN,
  EXOTEL_API_KEY: API_KEY,
  EXOTEL_API_TOKEN: API_TOKEN,
  EXOTEL_ACCOUNT_SID: ACCOUNT,
  EXOTEL_CPAAS_BASE: FAKE,
  EVENTS_BACKOFF_MS: "20",
  EVENTS_ACTION_BUDGET_MS: "1500",
  EVENTS_REORDER_MS: "50",
  EVENTS_MAX_ATTEMPTS: "3",
};

let w;
before(async () => {
  w = await startWorker({
    kv: { "config.json": JSON.stringify(CONFIG) },
    bindings: BINDINGS,
    miniflare: { outboundService: fakeExotel },
  });
});
after(async () => { await w?.close(); });
beforeEach(() => { seen = []; answers = {}; });

const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let counter = 0;
const newId = () => `evt${process.pid}x${Date.now()}x${counter++}`;
const newLeg = () => `LEG${process.pid}x${counter++}`;

function sign(secret, id, ts, body) {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  return `v1,${crypto.createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64")}`;
}

function event(name, { param, data = {}, id = newId(), leg = "LEG1", at = "2026-01-19T08:02:35.123Z" } = {}) {
  return {
    event_sid: id,
    event_type: "leg_action_event",
    event_name: name,
    event_timestamp: at,
    action_sid: "act1",
    ...(param ? { action_custom_parameter: param } : {}),
    data: { leg_sid: leg, account_sid: "ignored-when-var-set", exophone: "08047115777", direction: "inbound", state: "connected", ...data },
  };
}

/** POSTs an event (or an array: a batch), signed unless told otherwise. */
async function deliver(ev, { ts = now(), secret = SECRET, signature, id, raw, worker = w } = {}) {
  const body = raw ?? JSON.stringify(ev);
  const wid = id ?? (Array.isArray(ev) ? `batch-test-${counter++}` : ev.event_sid);
  const headers = {
    "content-type": "application/json",
    "webhook-id": wid,
    "webhook-timestamp": String(ts),
    "webhook-signature": signature ?? sign(secret, wid, ts, body),
  };
  const res = await worker.fetch("/events", { method: "POST", headers, body });
  return { status: res.status, json: JSON.parse(await res.text()) };
}

const stored = (sid) => ({ status: "stored", results: [{ event_sid: sid, status: "stored" }] });

/** Waits until `check()` is truthy (polling), or fails after `ms`. */
async function until(check, ms = 5000, what = "condition") {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; seen ${JSON.stringify(seen.map((s) => [s.leg, s.body.slice(0, 80)]))}`);
    await sleep(25);
  }
}
const callsTo = (leg) => seen.filter((s) => s.leg === leg);
const waitCalls = (leg, n, ms) => until(() => callsTo(leg).length >= n && callsTo(leg), ms, `${n} action(s) on ${leg}`);

const admin = (p, init = {}, token = ADMIN) =>
  w.fetch(`/admin/events${p}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) } });
async function logOf(leg) {
  const r = await admin(`/log?leg=${leg}`);
  assert.equal(r.status, 200);
  return r.json();
}

const basic = `Basic ${Buffer.from(`${API_KEY}:${API_TOKEN}`).toString("base64")}`;

function expectAction(call, leg, exoml, param) {
  assert.equal(call.method, "POST");
  assert.equal(call.origin, FAKE);
  assert.equal(call.path, `/v2/accounts/${ACCOUNT}/legs/${leg}/actions`);
  assert.equal(call.auth, basic);
  assert.equal(call.type, "application/json");
  assert.deepEqual(JSON.parse(call.body), { action_custom_param: param, exoml: `${DECL}<Flow>${exoml}</Flow>` });
}

const GREETING = "<Say>Welcome to Acme &amp; Co. Press 1 for sales, 2 for support.</Say>";

test("a single event is stored, then its alarm says the greeting through the v2 actions API", async () => {
  const leg = newLeg();
  const ev = event("leg_answered", { leg, data: { answered_by: "HUMAN" } });
  const r = await deliver(ev);
  assert.deepEqual([r.status, r.json], [200, stored(ev.event_sid)]);
  const [call] = await waitCalls(leg, 1);
  expectAction(call, leg, GREETING, "exoedge:greeting:0");
  const log = await until(async () => { const l = await logOf(leg); return l.events[0]?.state === "applied" && l; });
  assert.equal(log.key, `leg:${leg}`);
  const [e] = log.events;
  assert.equal(e.event_sid, ev.event_sid);
  assert.equal(e.result, "ok");
  assert.equal(e.attempts, 1);
  assert.deepEqual(e.actions.map((a) => [a.verbs, a.custom_param, a.status, a.http_status, a.tries]), [["Say", "exoedge:greeting:0", "done", 202, 1]]);
  assert.deepEqual(e.event, ev);
});

test("the flow, one leg at a time: greeting done -> Gather; digits -> Dial; machine -> Hangup", async () => {
  const cases = [
    [event("say_completed", { param: "exoedge:greeting:0" }), '<Gather numDigits="1" timeoutInSec="10" finishOnKey="#"></Gather>', "exoedge:menu:0"],
    [event("gather_success", { param: "exoedge:menu:0", data: { digits: "\"1\"" } }), '<Dial contactUri="+919800000001" exophone="+918047115777" networkType="pstn"></Dial>', "exoedge:dial"],
    [event("gather_success", { param: "exoedge:menu:0", data: { digits: "2" } }), '<Dial contactUri="sip:alice" exophone="+918047115777" networkType="voip"></Dial>', "exoedge:dial"],
    [event("gather_success", { param: "exoedge:menu:0", data: { digits: "7" } }), "<Say>Sorry, please press 1 or 2.</Say>", "exoedge:greeting:1"],
    [event("leg_answered", { data: { answered_by: "MACHINE" } }), "<Hangup></Hangup>", "exoedge:amd"],
    [event("amd_result_success", { data: { answered_by: "MACHINE" } }), "<Hangup></Hangup>", "exoedge:amd"],
  ];
  const legs = [];
  for (const [ev, exoml, param] of cases) {
    const leg = newLeg();
    legs.push(leg);
    ev.data.leg_sid = leg;
    assert.equal((await deliver(ev)).status, 200);
    const [call] = await waitCalls(leg, 1);
    expectAction(call, leg, exoml, param);
  }
  await sleep(200);
  for (const leg of legs) assert.equal(callsTo(leg).length, 1, "one action per event");
});

test("events needing nothing are stored and applied without calling Exotel; unknown names are ignored", async () => {
  const leg = newLeg();
  const evs = [
    event("play_started", { leg, param: "exoedge:greeting:0" }),
    event("say_completed", { leg, param: "someone-elses-action" }),
    event("brand_new_event", { leg, param: "exoedge:menu:0" }),
  ];
  for (const ev of evs) assert.deepEqual((await deliver(ev)).json, stored(ev.event_sid));
  const log = await until(async () => { const l = await logOf(leg); return l.events.every((e) => e.state === "applied") && l.events.length === 3 && l; });
  assert.deepEqual(log.events.map((e) => e.result), ["ok", "ok", "ignored"]);
  assert.equal(callsTo(leg).length, 0);
});

test("camelCase protobuf JSON works as well", async () => {
  const id = newId();
  const leg = newLeg();
  const camel = { eventSid: id, eventName: "leg_answered", eventTimestamp: { seconds: "1768809755", nanos: 5 }, data: { legSid: leg, exophone: "08047115777" } };
  const r = await deliver(camel, { id });
  assert.deepEqual([r.status, r.json], [200, stored(id)]);
  const [call] = await waitCalls(leg, 1);
  expectAction(call, leg, GREETING, "exoedge:greeting:0");
});

test("bad signature: 401 with no detail, nothing stored or done", async () => {
  const leg = newLeg();
  const ev = event("leg_answered", { leg });
  const wrongKey = `whsec_${Buffer.alloc(32, 1).toString("base64")}`;
  const attempts = [
    await deliver(ev, { secret: wrongKey }),
    await deliver(ev, { signature: "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=" }),
    await deliver(ev, { signature: "" }),
    await deliver(ev, { signature: sign(SECRET, ev.event_sid, now(), "{}") }),
    await deliver(ev, { signature: sign(SECRET, "other", now(), JSON.stringify(ev)) }),
    await deliver([ev], { signature: sign(SECRET, "x", now(), JSON.stringify(ev)), id: "x" }),
  ];
  for (const r of attempts) assert.deepEqual([r.status, r.json], [401, { error: "unauthorized" }]);
  assert.deepEqual((await logOf(leg)).events, []);
  // The genuine delivery is stored and acts.
  assert.deepEqual((await deliver(ev)).json, stored(ev.event_sid));
  await waitCalls(leg, 1);
});

test("rotation: the old secret and a multi-signature header verify", async () => {
  const r1 = await deliver(event("play_started", { leg: newLeg() }), { secret: OLD_SECRET });
  assert.equal(r1.status, 200);
  const ev = event("play_started", { leg: newLeg() });
  const ts = now();
  const body = JSON.stringify(ev);
  const both = `v1,AAAA ${sign(`whsec_${Buffer.alloc(32, 3).toString("base64")}`, ev.event_sid, ts, body)} ${sign(SECRET, ev.event_sid, ts, body)}`;
  assert.equal((await deliver(ev, { ts, signature: both })).status, 200);
});

test("more than 4 v1 signatures (handlers::webhook::MAX_SIGNATURES): 401 unchecked, even with the right one among them", async () => {
  const ev = event("play_started", { leg: newLeg() });
  const ts = now();
  const good = sign(SECRET, ev.event_sid, ts, JSON.stringify(ev));
  const junk = (n) => Array(n).fill("v1,AAAA").join(" ");
  for (const n of [4, 2000]) {
    const r = await deliver(ev, { ts, signature: `${junk(n)} ${good}` });
    assert.deepEqual([r.status, r.json], [401, { error: "unauthorized" }], `${n} + 1 signatures`);
  }
  // Four, the right one last: stored. Other schemes' entries do not count.
  const r = await deliver(ev, { ts, signature: `v1a,AAAA v2,AAAA ${junk(3)} ${good}` });
  assert.deepEqual(r.json, stored(ev.event_sid));
});

test("stale or future timestamp: 401, even with a valid signature", async () => {
  for (const ts of [now() - 400, now() + 400]) {
    const r = await deliver(event("leg_answered", { leg: newLeg() }), { ts });
    assert.deepEqual([r.status, r.json], [401, { error: "unauthorized" }]);
  }
  assert.equal((await deliver(event("play_started", { leg: newLeg() }), { ts: now() - 240 })).status, 200);
  assert.equal((await deliver(event("play_started", { leg: newLeg() }), { ts: now() + 240 })).status, 200);
});

test("a repeated event_sid is a 200 duplicate and acts once, however it is re-sent", async () => {
  const leg = newLeg();
  const ev = event("leg_answered", { leg });
  assert.deepEqual((await deliver(ev)).json, stored(ev.event_sid));
  const dup = { status: "duplicate", results: [{ event_sid: ev.event_sid, status: "duplicate" }] };
  assert.deepEqual((await deliver(ev)).json, dup);
  assert.deepEqual((await deliver(ev, { ts: now() - 10 })).json, dup, "re-signed retry");
  // Inside a batch too.
  const r = await deliver([ev, event("play_started", { leg })]);
  assert.deepEqual(r.json.results.map((x) => x.status), ["duplicate", "stored"]);
  await waitCalls(leg, 1);
  await sleep(300);
  assert.equal(callsTo(leg).length, 1, "acted exactly once");
});

test("the same delivery fired 8 times at once is stored once and acts once", async () => {
  const leg = newLeg();
  const ev = event("leg_answered", { leg });
  const ts = now();
  const signature = sign(SECRET, ev.event_sid, ts, JSON.stringify(ev));
  const rs = await Promise.all(Array.from({ length: 8 }, () => deliver(ev, { ts, signature })));
  assert.deepEqual(rs.map((r) => r.status), Array(8).fill(200));
  assert.equal(rs.filter((r) => r.json.status === "stored").length, 1, JSON.stringify(rs.map((r) => r.json.status)));
  await waitCalls(leg, 1);
  await sleep(300);
  assert.equal(callsTo(leg).length, 1);
  assert.equal((await logOf(leg)).events.length, 1);
});

test("bad bodies (correctly signed): 400 for a single event, an empty or oversized array; elements rejected one by one", async () => {
  for (const raw of ["{not json", JSON.stringify({ event_name: "x" }), JSON.stringify({ event_sid: "", event_name: "x" }), "[]", "[1,", "42"]) {
    const r = await deliver(null, { id: newId(), raw });
    assert.equal(r.status, 400, raw);
    assert.equal(typeof r.json.error, "string");
  }
  const many = Array.from({ length: 501 }, () => event("play_started", { leg: "LEGMANY" }));
  const r = await deliver(many);
  assert.deepEqual([r.status, r.json], [400, { error: "a batch carries at most 500 events" }]);
  assert.deepEqual((await logOf("LEGMANY")).events, []);
});

test("a batch: stored per element in request order, duplicates in and across batches, rejected elements, one leg's actions in order", async () => {
  const [a, b] = [newLeg(), newLeg()];
  // Leg a: answered -> greeting; greeting done -> gather; digits -> dial, all in one array with leg b interleaved.
  const a1 = event("leg_answered", { leg: a, at: "2026-01-19T08:00:01Z" });
  const b1 = event("leg_answered", { leg: b, at: "2026-01-19T08:00:01Z", data: { answered_by: "MACHINE" } });
  const a2 = event("say_completed", { leg: a, param: "exoedge:greeting:0", at: "2026-01-19T08:00:02Z" });
  const a3 = event("gather_success", { leg: a, param: "exoedge:menu:0", data: { digits: "2" }, at: "2026-01-19T08:00:03Z" });
  const big = event("play_started", { leg: a, data: { pad: "\u0001".repeat(12000) } }); // 72 KB once JSON escapes it
  const batch = [a1, b1, { event_name: "no_sid" }, a2, a1, "text", big, { ...event("x"), event_sid: "bad\nsid" }, a3];
  const r = await deliver(batch);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.status, "stored");
  assert.deepEqual(r.json.results, [
    { event_sid: a1.event_sid, status: "stored" },
    { event_sid: b1.event_sid, status: "stored" },
    { status: "rejected", error: "event body is not an event object: missing field `event_sid` at line 1 column 23" },
    { event_sid: a2.event_sid, status: "stored" },
    { event_sid: a1.event_sid, status: "duplicate" },
    { status: "rejected", error: "an event must be a JSON object" },
    { event_sid: big.event_sid, status: "rejected", error: "event longer than 65536 bytes" },
    { event_sid: "bad\nsid", status: "rejected", error: "event_sid must be printable ASCII (it is sent as a header value)" },
    { event_sid: a3.event_sid, status: "stored" },
  ]);
  // Across batches: a second array with a known and a new event.
  const a4 = event("play_started", { leg: a, at: "2026-01-19T08:00:04Z" });
  const again = await deliver([a2, a4]);
  assert.deepEqual(again.json.results.map((x) => x.status), ["duplicate", "stored"]);
  const calls = await waitCalls(a, 3);
  assert.deepEqual(calls.map((c) => JSON.parse(c.body).action_custom_param), ["exoedge:greeting:0", "exoedge:menu:0", "exoedge:dial"]);
  expectAction(calls[2], a, '<Dial contactUri="sip:alice" exophone="+918047115777" networkType="voip"></Dial>', "exoedge:dial");
  const [hangup] = await waitCalls(b, 1);
  expectAction(hangup, b, "<Hangup></Hangup>", "exoedge:amd");
  const log = await until(async () => { const l = await logOf(a); return l.events.length === 4 && l.events.every((e) => e.state === "applied") && l; });
  assert.deepEqual(log.events.map((e) => e.event_sid), [a1, a2, a3, a4].map((e) => e.event_sid), "arrival order");
});

test("reorder window: an earlier-stamped event arriving later (another replica) is applied first", async () => {
  const leg = newLeg();
  const r = await startWorker({
    kv: { "config.json": JSON.stringify(CONFIG) },
    bindings: { ...BINDINGS, EVENTS_REORDER_MS: "600" },
    miniflare: { outboundService: fakeExotel },
  });
  try {
    // Exotel's order: answered (greeting) at :01, then greeting done (gather) at :02.
    const first = event("leg_answered", { leg, at: "2026-01-19T08:00:01.000Z" });
    const second = event("say_completed", { leg, param: "exoedge:greeting:0", at: "2026-01-19T08:00:02.000Z" });
    // Replica 2 delivers the later one first; replica 1's copy of the earlier one comes 250 ms after.
    assert.equal((await deliver(second, { worker: r })).status, 200);
    await sleep(250);
    assert.equal((await deliver(first, { worker: r })).status, 200);
    const calls = await waitCalls(leg, 2, 5000);
    assert.deepEqual(calls.map((c) => JSON.parse(c.body).action_custom_param), ["exoedge:greeting:0", "exoedge:menu:0"]);
    // Same timestamp: arrival order decides.
    const leg2 = newLeg();
    const x = event("leg_answered", { leg: leg2, at: "2026-01-19T08:00:05Z" });
    const y = event("say_completed", { leg: leg2, param: "exoedge:greeting:0", at: "2026-01-19T08:00:05Z" });
    await deliver([x, y], { worker: r });
    const c2 = await waitCalls(leg2, 2, 5000);
    assert.deepEqual(c2.map((c) => JSON.parse(c.body).action_custom_param), ["exoedge:greeting:0", "exoedge:menu:0"]);
  } finally { await r.close(); }
});

test("429 then 5xx then 202: retried after backoff (Retry-After honoured), and the leg's next event waits its turn", async () => {
  const leg = newLeg();
  answers[leg] = [[429, { "retry-after": "1" }], 503, 202];
  const first = event("leg_answered", { leg, at: "2026-01-19T08:00:01Z" });
  const second = event("say_completed", { leg, param: "exoedge:greeting:0", at: "2026-01-19T08:00:02Z" });
  await deliver([first, second]);
  const calls = await waitCalls(leg, 4, 6000);
  assert.deepEqual(calls.map((c) => JSON.parse(c.body).action_custom_param), ["exoedge:greeting:0", "exoedge:greeting:0", "exoedge:greeting:0", "exoedge:menu:0"]);
  assert.ok(calls[1].at - calls[0].at >= 900, `Retry-After: 1 waited ${calls[1].at - calls[0].at} ms`);
  const log = await until(async () => { const l = await logOf(leg); return l.events.every((e) => e.state === "applied") && l; });
  assert.deepEqual(log.events.map((e) => [e.attempts, e.actions[0].tries, e.actions[0].http_status]), [[3, 3, 202], [1, 1, 202]]);
});

test("Exotel refusing an action for good (400): applied as action_rejected, not retried", async () => {
  const leg = newLeg();
  answers[leg] = [400];
  await deliver(event("leg_answered", { leg }));
  const log = await until(async () => { const l = await logOf(leg); return l.events[0]?.state === "applied" && l; });
  assert.equal(log.events[0].result, "action_rejected");
  assert.equal(callsTo(leg).length, 1);
});

test("dead letters: after EVENTS_MAX_ATTEMPTS the event is dead, the leg moves on, and admins list and replay it", async () => {
  const [leg, other] = [newLeg(), newLeg()];
  answers[leg] = [500, 500, 500];
  answers[other] = [503, 503, 503];
  const t0 = Date.now();
  const doomed = event("leg_answered", { leg, at: "2026-01-19T08:00:01Z" });
  const next = event("say_completed", { leg, param: "exoedge:greeting:0", at: "2026-01-19T08:00:02Z" });
  const otherEv = event("leg_answered", { leg: other });
  await deliver([doomed, next, otherEv]);
  // Three tries of the greeting, then the gather of the next event.
  const calls = await waitCalls(leg, 4, 6000);
  assert.deepEqual(calls.map((c) => JSON.parse(c.body).action_custom_param), ["exoedge:greeting:0", "exoedge:greeting:0", "exoedge:greeting:0", "exoedge:menu:0"]);
  await waitCalls(other, 3, 6000);
  const log = await until(async () => { const l = await logOf(leg); return l.events.every((e) => e.state !== "pending") && l; });
  assert.deepEqual(log.events.map((e) => e.state), ["dead", "applied"]);
  assert.equal(log.events[0].error, "Exotel answered 500");
  assert.equal(log.events[0].attempts, 3);
  // The index lists both legs' dead letters in the time range (reported by the alarms).
  const dead = await until(async () => {
    const r = await admin(`/dead?from=${t0}&to=${Date.now() + 1000}`);
    const j = await r.json();
    const mine = j.dead.filter((d) => [leg, other].some((l) => d.key === `leg:${l}`));
    return mine.length === 2 && mine;
  }, 5000, "dead letters in the index");
  assert.deepEqual(dead.map((d) => [d.event_sid, d.event_name]).sort(), [[doomed.event_sid, "leg_answered"], [otherEv.event_sid, "leg_answered"]].sort());
  assert.equal((await admin(`/dead?from=${t0 - 60000}&to=${t0 - 1}`).then((r) => r.json())).dead.filter((d) => d.key === `leg:${leg}`).length, 0, "outside the range");

  // Replay by leg: Exotel accepts now; acted once more, no longer dead, gone from the index.
  seen = [];
  let r = await admin(`/replay?leg=${leg}`, { method: "POST" });
  assert.deepEqual([r.status, await r.json()], [200, { replayed: 1, keys: 1 }]);
  const [again] = await waitCalls(leg, 1);
  expectAction(again, leg, GREETING, "exoedge:greeting:0");
  await until(async () => (await logOf(leg)).events[0].state === "applied");
  // Replay by time range across keys: the other leg's dead letter.
  r = await admin(`/replay?from=${t0}&to=${Date.now()}`, { method: "POST" });
  const body = await r.json();
  assert.equal(r.status, 200);
  assert.ok(body.replayed >= 1, JSON.stringify(body));
  await waitCalls(other, 1);
  await until(async () => {
    const j = await (await admin(`/dead?from=${t0}`)).json();
    return !j.dead.some((d) => d.key === `leg:${leg}` || d.key === `leg:${other}`);
  }, 5000, "the index to forget replayed letters");
  // Nothing dead left to replay for the leg.
  r = await admin(`/replay?leg=${leg}`, { method: "POST" });
  assert.deepEqual(await r.json(), { replayed: 0, keys: 1 });
});

test("admin routes: no, wrong or too short a token sees nothing; bad requests are 400/405", async () => {
  const leg = newLeg();
  await deliver(event("play_started", { leg }));
  for (const token of [null, "wrong-token-0123456789abcdef", "short", ADMIN.slice(0, -1), `${ADMIN}x`]) {
    for (const [p, method] of [[`/log?leg=${leg}`, "GET"], ["/dead", "GET"], [`/replay?leg=${leg}`, "POST"], ["/nope", "GET"]]) {
      const r = await admin(p, { method }, token);
      assert.equal(r.status, 401, `${token} ${p}`);
      assert.equal(await r.text(), '{"error":"unauthorized"}');
    }
  }
  const basicAuth = await w.fetch(`/admin/events/log?leg=${leg}`, { headers: { authorization: `Basic ${Buffer.from(`x:${ADMIN}`).toString("base64")}` } });
  assert.equal(basicAuth.status, 401);
  await basicAuth.arrayBuffer();
  assert.equal((await admin("/log")).status, 400);
  assert.equal((await admin("/replay")).status, 405);
  assert.equal((await admin("/replay", { method: "POST" })).status, 400, "every key needs a time range");
  assert.equal((await admin("/dead?from=yesterday")).status, 400);
  assert.equal((await admin("/nope")).status, 404);
  const ok = await admin(`/log?leg=${leg}`);
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).events.length, 1);
});

test("retention: applied events are deleted after EVENTS_RETENTION_DAYS (here about 2 s)", async () => {
  const r = await startWorker({
    kv: { "config.json": JSON.stringify(CONFIG) },
    bindings: { ...BINDINGS, EVENTS_RETENTION_DAYS: "0.00002" },
    miniflare: { outboundService: fakeExotel },
  });
  try {
    const leg = newLeg();
    const ev = event("leg_answered", { leg });
    await deliver(ev, { worker: r });
    await waitCalls(leg, 1);
    const log = async () => (await (await r.fetch(`/admin/events/log?leg=${leg}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()).events;
    assert.equal((await log()).length, 1);
    await until(async () => (await log()).length === 0, 8000, "retention to delete the event");
    // Forgotten entirely: the same event_sid is new again.
    assert.equal((await deliver(ev, { worker: r })).json.status, "stored");
  } finally { await r.close(); }
});

test("503 unavailable when the event logs do not confirm; nothing acted", async () => {
  for (const mode of ["hang", "throw"]) {
    const r = await startBrokenLog(mode);
    try {
      const single = event("leg_answered", { leg: newLeg() });
      let res = await deliver(single, { worker: r });
      assert.deepEqual([res.status, res.json], [503, { status: "unavailable", results: [{ event_sid: single.event_sid, status: "unavailable" }] }]);
      res = await deliver([event("play_started", { leg: newLeg() }), 5], { worker: r });
      assert.equal(res.status, 503);
      assert.deepEqual(res.json.results.map((x) => x.status), ["unavailable", "rejected"]);
    } finally { await r.close(); }
  }
  assert.equal(seen.length, 0);
});

test("GET /events is 405; /t/<token>/events is 404", async () => {
  assert.equal((await w.fetch("/events")).status, 405);
  assert.equal((await w.fetch("/t/test-token-0123456789abcdef/events", { method: "POST", body: "{}" })).status, 404);
});

test("oversized bodies: 413 before any signature work, declared or streamed, single or batch", async () => {
  const big = JSON.stringify({ ...event("leg_answered"), data: { pad: "z".repeat(70 * 1024) } });
  const ts = now();
  const headers = { "content-type": "application/json", "webhook-id": "big", "webhook-timestamp": String(ts), "webhook-signature": "v1,AAAA" };
  let r = await w.fetch("/events", { method: "POST", headers, body: big });
  assert.equal(r.status, 413);
  await r.arrayBuffer();
  const chunks = Array.from({ length: 20 }, () => new TextEncoder().encode("y".repeat(4096)));
  const stream = new ReadableStream({ pull(c) { const x = chunks.shift(); x ? c.enqueue(x) : c.close(); } });
  r = await w.fetch("/events", { method: "POST", headers, body: stream, duplex: "half" });
  assert.equal(r.status, 413);
  await r.arrayBuffer();
  // An array over EVENTS_MAX_BATCH_BYTES (4 MiB).
  r = await w.fetch("/events", { method: "POST", headers, body: `[${" ".repeat(4 * 1024 * 1024)}]` });
  assert.equal(r.status, 413);
  await r.arrayBuffer();
  // An array of 60 KB events under 4 MiB is fine.
  const fat = Array.from({ length: 20 }, () => event("play_started", { leg: "LEGFAT", data: { pad: "f".repeat(60 * 1024) } }));
  const ok = await deliver(fat);
  assert.equal(ok.status, 200);
  assert.ok(ok.json.results.every((x) => x.status === "stored"));
});

// The worker with EVENT_LOG replaced by a namespace whose objects hang or
// throw (Miniflare wrapped binding; worker-rs reads a namespace by its
// constructor's name).
async function startBrokenLog(mode) {
  const broken = `
class DurableObjectNamespace {
  constructor(mode) { this.mode = mode; }
  idFromName(name) { return { name, toString: () => name }; }
  get(id) {
    const mode = this.mode;
    return { id, fetch: () => mode === "throw" ? Promise.reject(new Error("injected")) : new Promise(() => {}) };
  }
}
export default function (env) { return new DurableObjectNamespace(env.MODE); }`;
  const mf = new Miniflare({
    workers: [
      // The backend, which stores events, gets the broken namespace.
      ...twoWorkers({
        objects: { ROUTING_STATE: "RoutingState", USER_STATE: "UserState" },
        both: { bindings: { ...BINDINGS, EVENTS_STORE_BUDGET_MS: "300" }, outboundService: fakeExotel },
        backend: { wrappedBindings: { EVENT_LOG: { scriptName: "broken-log", bindings: { MODE: mode } } } },
      }),
      { name: "broken-log", modules: [{ type: "ESModule", path: "broken-log.mjs", contents: broken }] },
    ],
  });
  await mf.ready;
  return { fetch: (p, init) => mf.dispatchFetch(new URL(p, "http://exoedge.test").toString(), init), close: () => mf.dispose() };
}
