// POST /events end to end through the built worker on workerd: Standard
// Webhooks signatures (signed here with node:crypto, independently of the
// Rust code), the 5-minute window, replays, unknown names, and the flow's
// leg actions arriving at a fake Exotel API (Miniflare's outboundService
// intercepts the worker's fetch) with Basic auth, including 429 backoff.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import { Response } from "miniflare";
import { startWorker } from "./support/worker.mjs";

const SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const OLD_SECRET = `whsec_${Buffer.alloc(24, 9).toString("base64")}`;
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

// What the fake Exotel API saw, and how it answers next (a queue of statuses; 202 when empty).
let seen = [];
let answers = [];

async function fakeExotel(request) {
  const url = new URL(request.url);
  seen.push({
    method: request.method,
    path: url.pathname,
    origin: url.origin,
    auth: request.headers.get("authorization"),
    type: request.headers.get("content-type"),
    body: await request.text(),
  });
  const status = answers.length ? answers.shift() : 202;
  const body = status === 429
    ? { http_code: 429, response: { error: { code: "RATE_LIMIT_EXCEEDED", message: "Rate limit exceeded." } } }
    : { http_code: status, response: { data: { leg_sid: url.pathname.split("/")[5] } } };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

const BINDINGS = {
  EVENTS_WEBHOOK_SECRETS: `${OLD_SECRET}, ${SECRET}`,
  EXOTEL_API_KEY: API_KEY,
  EXOTEL_API_TOKEN: API_TOKEN,
  EXOTEL_ACCOUNT_SID: ACCOUNT,
  EXOTEL_CPAAS_BASE: FAKE,
  EVENTS_BACKOFF_MS: "20",
  EVENTS_ACTION_BUDGET_MS: "1500",
};

// `w`: as deployed (replay guard: the EventsGuard Durable Object).
// `k`: the KV fallback (EVENTS_SEEN bound, no Durable Object).
let w, k;
before(async () => {
  w = await startWorker({
    kv: { "config.json": JSON.stringify(CONFIG) },
    durableObjects: { EVENTS_GUARD: "EventsGuard" },
    bindings: BINDINGS,
    miniflare: { outboundService: fakeExotel },
  });
  k = await startWorker({
    kv: { "config.json": JSON.stringify(CONFIG) },
    kvNamespaces: ["EVENTS_SEEN"],
    bindings: BINDINGS,
    miniflare: { outboundService: fakeExotel },
  });
});
after(async () => { await w?.close(); await k?.close(); });
beforeEach(() => { seen = []; answers = []; });

const now = () => Math.floor(Date.now() / 1000);
let counter = 0;
const newId = () => `evt${process.pid}x${Date.now()}x${counter++}`;

function sign(secret, id, ts, body) {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  return `v1,${crypto.createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64")}`;
}

function event(name, { param, data = {}, id = newId() } = {}) {
  return {
    event_sid: id,
    event_type: "leg_action_event",
    event_name: name,
    event_timestamp: "2026-01-19T08:02:35.123Z",
    action_sid: "act1",
    ...(param ? { action_custom_parameter: param } : {}),
    data: { leg_sid: "LEG1", account_sid: "ignored-when-var-set", exophone: "08047115777", direction: "inbound", state: "connected", ...data },
  };
}

/** POSTs an event, signed unless told otherwise. */
async function deliver(ev, { ts = now(), secret = SECRET, signature, id = ev.event_sid, raw, worker = w } = {}) {
  const body = raw ?? JSON.stringify(ev);
  const headers = {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(ts),
    "webhook-signature": signature ?? sign(secret, id, ts, body),
  };
  const res = await worker.fetch("/events", { method: "POST", headers, body });
  return { status: res.status, json: JSON.parse(await res.text()) };
}

const basic = `Basic ${Buffer.from(`${API_KEY}:${API_TOKEN}`).toString("base64")}`;

function expectOneAction(exoml, param) {
  assert.equal(seen.length, 1, JSON.stringify(seen));
  const [call] = seen;
  assert.equal(call.method, "POST");
  assert.equal(call.origin, FAKE);
  assert.equal(call.path, `/v2/accounts/${ACCOUNT}/legs/LEG1/actions`);
  assert.equal(call.auth, basic);
  assert.equal(call.type, "application/json");
  assert.deepEqual(JSON.parse(call.body), { action_custom_param: param, exoml: `${DECL}<Flow>${exoml}</Flow>` });
}

test("good signature: leg_answered says the greeting (escaped) through the v2 actions API", async () => {
  const r = await deliver(event("leg_answered", { data: { answered_by: "HUMAN" } }));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual(r.json, { status: "ok", event_name: "leg_answered", actions: 1 });
  expectOneAction("<Say>Welcome to Acme &amp; Co. Press 1 for sales, 2 for support.</Say>", "exoedge:greeting:0");
});

test("the flow: greeting done -> Gather; digits -> Dial the routed agent; machine -> Hangup", async () => {
  let r = await deliver(event("say_completed", { param: "exoedge:greeting:0" }));
  assert.equal(r.status, 200);
  expectOneAction('<Gather numDigits="1" timeoutInSec="10" finishOnKey="#"></Gather>', "exoedge:menu:0");

  seen = [];
  r = await deliver(event("gather_success", { param: "exoedge:menu:0", data: { digits: "\"1\"" } }));
  assert.equal(r.status, 200);
  expectOneAction('<Dial contactUri="+919800000001" exophone="+918047115777" networkType="pstn"></Dial>', "exoedge:dial");

  seen = [];
  r = await deliver(event("gather_success", { param: "exoedge:menu:0", data: { digits: "2" } }));
  expectOneAction('<Dial contactUri="sip:alice" exophone="+918047115777" networkType="voip"></Dial>', "exoedge:dial");

  seen = [];
  r = await deliver(event("gather_success", { param: "exoedge:menu:0", data: { digits: "7" } }));
  expectOneAction("<Say>Sorry, please press 1 or 2.</Say>", "exoedge:greeting:1");

  seen = [];
  r = await deliver(event("leg_answered", { data: { answered_by: "MACHINE" } }));
  expectOneAction("<Hangup></Hangup>", "exoedge:amd");

  seen = [];
  r = await deliver(event("amd_result_success", { data: { answered_by: "MACHINE" } }));
  expectOneAction("<Hangup></Hangup>", "exoedge:amd");
});

test("events needing nothing are acknowledged without calling Exotel", async () => {
  const r = await deliver(event("play_started", { param: "exoedge:greeting:0" }));
  assert.deepEqual([r.status, r.json], [200, { status: "ok", event_name: "play_started", actions: 0 }]);
  const other = await deliver(event("say_completed", { param: "someone-elses-action" }));
  assert.equal(other.status, 200);
  assert.equal(seen.length, 0);
});

test("camelCase protobuf JSON works as well", async () => {
  const id = newId();
  const camel = { eventSid: id, eventName: "leg_answered", eventTimestamp: { seconds: "1768809755", nanos: 5 }, data: { legSid: "LEG1", exophone: "08047115777" } };
  const r = await deliver(camel, { id });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  expectOneAction("<Say>Welcome to Acme &amp; Co. Press 1 for sales, 2 for support.</Say>", "exoedge:greeting:0");
});

test("bad signature: 401 with no detail, nothing done", async () => {
  const ev = event("leg_answered");
  const wrongKey = `whsec_${Buffer.alloc(32, 1).toString("base64")}`;
  const attempts = [
    await deliver(ev, { secret: wrongKey }),
    await deliver(ev, { signature: "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=" }),
    await deliver(ev, { signature: "" }),
    // Signed for another body.
    await deliver(ev, { signature: sign(SECRET, ev.event_sid, now(), "{}") }),
    // Signed for another id.
    await deliver(ev, { signature: sign(SECRET, "other", now(), JSON.stringify(ev)) }),
  ];
  for (const r of attempts) {
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { error: "unauthorized" });
  }
  assert.equal(seen.length, 0);
  // And the id was not burned: the genuine delivery still acts.
  const ok = await deliver(ev);
  assert.equal(ok.status, 200);
  assert.equal(seen.length, 1);
});

test("rotation: the old secret and a multi-signature header verify", async () => {
  const r1 = await deliver(event("play_started"), { secret: OLD_SECRET });
  assert.equal(r1.status, 200);
  const ev = event("play_started");
  const ts = now();
  const body = JSON.stringify(ev);
  const both = `v1,AAAA ${sign(`whsec_${Buffer.alloc(32, 3).toString("base64")}`, ev.event_sid, ts, body)} ${sign(SECRET, ev.event_sid, ts, body)}`;
  const r2 = await deliver(ev, { ts, signature: both });
  assert.equal(r2.status, 200);
});

test("stale or future timestamp: 401, even with a valid signature", async () => {
  for (const ts of [now() - 400, now() + 400]) {
    const r = await deliver(event("leg_answered"), { ts });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { error: "unauthorized" });
  }
  // Inside the window both ways is fine.
  assert.equal((await deliver(event("play_started"), { ts: now() - 240 })).status, 200);
  assert.equal((await deliver(event("play_started"), { ts: now() + 240 })).status, 200);
  assert.equal(seen.length, 0);
});

test("replay: the same webhook-id acts once; the repeat is a 200 duplicate", async () => {
  const ev = event("leg_answered");
  const first = await deliver(ev);
  assert.equal(first.status, 200);
  // A replay, and a retry re-signed with a fresh timestamp (what the gateway does).
  const again = await deliver(ev);
  const resigned = await deliver(ev, { ts: now() - 10 });
  for (const r of [again, resigned]) {
    assert.deepEqual([r.status, r.json], [200, { status: "duplicate", event_name: "leg_answered", actions: 0 }]);
  }
  assert.equal(seen.length, 1, "acted exactly once");
});

test("unknown event name: acknowledged and ignored", async () => {
  const r = await deliver(event("brand_new_event", { param: "exoedge:menu:0" }));
  assert.deepEqual([r.status, r.json], [200, { status: "ignored", event_name: "brand_new_event", actions: 0 }]);
  assert.equal(seen.length, 0);
});

test("bad JSON (correctly signed): 400", async () => {
  for (const raw of ["{not json", JSON.stringify({ event_name: "x" }), JSON.stringify({ event_sid: "", event_name: "x" })]) {
    const r = await deliver(null, { id: newId(), raw });
    assert.equal(r.status, 400, raw);
  }
  assert.equal(seen.length, 0);
});

test("429 then 202: the action is retried after a backoff and the event succeeds", async () => {
  answers = [429, 202];
  const r = await deliver(event("leg_answered"));
  assert.deepEqual([r.status, r.json], [200, { status: "ok", event_name: "leg_answered", actions: 1 }]);
  assert.equal(seen.length, 2);
  assert.equal(seen[0].body, seen[1].body, "the same action, again");
});

test("429 past the time budget: 503, and the gateway's retry is not taken for a replay", async () => {
  answers = Array(500).fill(429);
  const ev = event("leg_answered");
  const r = await deliver(ev);
  assert.equal(r.status, 503);
  assert.ok(seen.length >= 3, `backed off and retried (${seen.length} tries)`);
  answers = [];
  seen = [];
  const retry = await deliver(ev, { ts: now() });
  assert.deepEqual([retry.status, retry.json.status], [200, "ok"]);
  assert.equal(seen.length, 1);
});

test("Exotel refusing the action for good (400): acknowledged as action_rejected, not retried", async () => {
  answers = [400];
  const r = await deliver(event("leg_answered"));
  assert.deepEqual([r.status, r.json], [200, { status: "action_rejected", event_name: "leg_answered", actions: 0 }]);
  assert.equal(seen.length, 1);
});

test("GET /events is 405; /t/<token>/events is 404", async () => {
  assert.equal((await w.fetch("/events")).status, 405);
  assert.equal((await w.fetch("/t/test-token-0123456789abcdef/events", { method: "POST", body: "{}" })).status, 404);
});

test("the same delivery fired 8 times at once acts once (Durable Object guard)", async () => {
  const ev = event("leg_answered");
  const ts = now();
  const body = JSON.stringify(ev);
  const signature = sign(SECRET, ev.event_sid, ts, body);
  const rs = await Promise.all(Array.from({ length: 8 }, () => deliver(ev, { ts, signature })));
  assert.deepEqual(rs.map((r) => r.status), Array(8).fill(200));
  assert.equal(rs.filter((r) => r.json.status === "ok").length, 1, JSON.stringify(rs.map((r) => r.json.status)));
  assert.equal(seen.length, 1, `acted ${seen.length} times`);
});

test("KV fallback: replays act once, and a 503 releases the id for the retry", async () => {
  const ev = event("leg_answered");
  assert.equal((await deliver(ev, { worker: k })).status, 200);
  const again = await deliver(ev, { worker: k, ts: now() - 5 });
  assert.deepEqual([again.status, again.json.status], [200, "duplicate"]);
  assert.equal(seen.length, 1);
  seen = [];
  answers = Array(500).fill(503);
  const ev2 = event("leg_answered");
  assert.equal((await deliver(ev2, { worker: k })).status, 503);
  answers = [];
  seen = [];
  const retry = await deliver(ev2, { worker: k });
  assert.deepEqual([retry.status, retry.json.status], [200, "ok"]);
  assert.equal(seen.length, 1);
});

test("no replay store bound: 503, nothing done", async () => {
  const bare = await startWorker({ kv: { "config.json": JSON.stringify(CONFIG) }, bindings: BINDINGS, miniflare: { outboundService: fakeExotel } });
  try {
    const r = await deliver(event("leg_answered"), { worker: bare });
    assert.equal(r.status, 503);
    assert.equal(seen.length, 0);
  } finally { await bare.close(); }
});

test("oversized bodies: 413 before any signature work, declared or streamed", async () => {
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
  assert.equal(seen.length, 0);
});
