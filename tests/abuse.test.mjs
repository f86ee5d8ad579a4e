// Hostile input against the built worker on workerd (issue 6): oversized
// queries and bodies, broken UTF-8 and percent-encoding, repeated and
// conflicting parameters, CR/LF aimed at response headers, credentials on
// every protected route, forged and replayed event deliveries (what
// events.test.mjs does not already cover), and a KV config that turns to
// garbage after a good one was loaded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import { Response } from "miniflare";
import { startWorker, TOKEN } from "./support/worker.mjs";

const DEFAULT = JSON.parse(readFileSync(new URL("../config/default.json", import.meta.url)));
const SUPPORT = "08047115777";
const Q = `CallSid=ab1&CallFrom=09900112233&CallTo=${SUPPORT}&Direction=incoming`;
const GET_ROUTES = ["connect", "dialwhom", "gather", "greeting", "playback", "passthru", "popup"];
const SECRET = `whsec_${Buffer.alloc(32, 5).toString("base64")}`;

// Headers Miniflare's own HTTP hop adds or rewrites (compression, framing);
// everything else on a response is ours and must be exactly what we set.
const TRANSPORT = new Set(["mf-content-encoding", "transfer-encoding", "content-length", "content-encoding", "connection"]);
const ours = (r) => [...r.headers.keys()].filter((k) => !TRANSPORT.has(k)).sort();
const OK_HEADERS = ["cache-control", "content-type"];
const DENIED_HEADERS = ["content-type", "www-authenticate"];

const exotelCalls = [];
let w;
const EVENTS_CONFIG = { ...DEFAULT, events: { greeting: { text: "Hello." } } };
// Events are stored in the EventLog Durable Objects (bound by startWorker as
// in wrangler.toml) and acted on by their alarms, after the reorder window:
// actions reach the fake Exotel asynchronously, so tests wait for them.
const EVENTS_SETTLE_MS = 1500;
async function settledCalls(n) {
  const end = Date.now() + 5000;
  while (exotelCalls.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, EVENTS_SETTLE_MS - 1000)); // room for an extra, wrong, action to show up
  return exotelCalls.length;
}
before(async () => {
  w = await startWorker({
    kv: { "config.json": JSON.stringify(EVENTS_CONFIG) },
    bindings: {
      EVENTS_WEBHOOK_SECRETS: SECRET,
      EXOTEL_API_KEY: "k",
      EXOTEL_API_TOKEN: "t",
      EXOTEL_ACCOUNT_SID: "acme1",
      EXOTEL_CPAAS_BASE: "http://exotel.fake",
    },
    miniflare: {
      outboundService: async (req) => {
        exotelCalls.push(new URL(req.url).pathname);
        return new Response(JSON.stringify({ http_code: 202, response: { data: {} } }), { status: 202, headers: { "content-type": "application/json" } });
      },
    },
  });
});
after(async () => { await w?.close(); });

const noServerError = (r, what) => assert.ok(r.status < 500, `${what}: got ${r.status}`);

test("oversized query strings: 414 on every GET route, and never a 5xx far past the limit", async () => {
  const pad = "x".repeat(17 * 1024);
  for (const route of GET_ROUTES) {
    const r = await w.call(`/exotel/${route}?${Q}&pad=${pad}`);
    assert.equal(r.status, 414, route);
    assert.match((await r.json()).error, /16384/);
    assert.deepEqual(ours(r), OK_HEADERS);
  }
  // 256 KiB: the runtime's own header limit answers before the worker (431);
  // Cloudflare's edge refuses such URLs with 414 in production.
  const r = await w.call(`/exotel/connect?${Q}&pad=${"y".repeat(256 * 1024)}`);
  assert.ok([414, 431].includes(r.status), `got ${r.status}`);
  await r.arrayBuffer();
});

test("oversized bodies: 413 on status (declared and streamed), push and events", async () => {
  const big = "CallSid=a&x=" + "b".repeat(70 * 1024);
  let r = await w.call("/exotel/status", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: big });
  assert.equal(r.status, 413);
  await r.arrayBuffer();
  // No content-length: a stream of chunks.
  const chunks = Array.from({ length: 40 }, () => new TextEncoder().encode("y".repeat(4096)));
  const stream = new ReadableStream({ pull(c) { const x = chunks.shift(); x ? c.enqueue(x) : c.close(); } });
  r = await w.call("/exotel/status", { method: "POST", headers: { "content-type": "application/json" }, body: stream, duplex: "half" });
  assert.equal(r.status, 413);
  await r.arrayBuffer();
  r = await w.call("/exotel/push", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ subscriberName: "bob", payload: "p".repeat(9000), payloadVersion: "1" }) });
  assert.equal(r.status, 413);
  await r.arrayBuffer();
  const ev = JSON.stringify({ event_sid: "big1", event_name: "leg_answered", data: { pad: "z".repeat(300 * 1024) } });
  r = await deliver(ev, { id: "big1" });
  assert.equal(r.status, 413);
  assert.equal(exotelCalls.length, 0);
});

test("invalid UTF-8 and broken percent-encoding never fail a call", async () => {
  const nasty = ["x=%zz", "y=%", "z=%FF%FE%C0%AF", "CustomField=%E2%82", "digits=%22%ED%A0%80%22", "%00=%00", "Legs%5B%FF%5D%5BNumber%5D=1", "=&&==&"];
  for (const route of GET_ROUTES) {
    const r = await w.call(`/exotel/${route}?${Q}&${nasty.join("&")}`);
    assert.equal(r.status, route === "passthru" ? 200 : 200, route);
    assert.deepEqual(ours(r), OK_HEADERS, route);
    await r.arrayBuffer();
  }
  // A CallSid that is not UTF-8 is still a CallSid (replaced characters): answered.
  const r = await w.call(`/exotel/connect?CallSid=%FF%FE&CallTo=${SUPPORT}`);
  assert.equal(r.status, 200);
  assert.deepEqual((await r.json()).destination, DEFAULT.lines["+918047115777"].connect.destination);
  // Bodies: raw 0xFF bytes in a form, in JSON, in a multipart part.
  const bodies = [
    ["application/x-www-form-urlencoded", Buffer.concat([Buffer.from("CallSid="), Buffer.from([0xff, 0xfe]), Buffer.from("&Status=busy")]), 200],
    ["application/json", Buffer.from([0x7b, 0xff, 0x7d]), 400],
    ["application/json", Buffer.concat([Buffer.from('{"CallSid":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), 400],
    ["multipart/form-data; boundary=zz", Buffer.concat([Buffer.from('--zz\r\nContent-Disposition: form-data; name="CallSid"\r\n\r\n'), Buffer.from([0xff]), Buffer.from("\r\n--zz--\r\n")]), 200],
    ["multipart/form-data; boundary=zz", Buffer.from("--zz\r\nnot a part"), 400],
    ["multipart/form-data", Buffer.from("CallSid=a"), 400],
  ];
  for (const [type, body, want] of bodies) {
    const s = await w.call("/exotel/status", { method: "POST", headers: { "content-type": type }, body });
    assert.equal(s.status, want, `${type}: ${body.toString("latin1").slice(0, 40)}`);
    await s.arrayBuffer();
  }
  // A token path segment that is not UTF-8: plain 401.
  const t = await w.fetch(`/t/%FF%FE%00/exotel/connect?${Q}`);
  assert.equal(t.status, 401);
  assert.deepEqual(await t.json(), { error: "unauthorized" });
});

test("repeated and conflicting parameters: the first one wins, consistently", async () => {
  const greet = async (q) => (await w.call(`/exotel/greeting?${q}`)).text();
  const support = "Thanks for calling support. Your call may be recorded.";
  const other = await greet("CallSid=a&CallTo=09999999999");
  assert.notEqual(other, support);
  assert.equal(await greet(`CallSid=a&CallTo=${SUPPORT}&CallTo=09999999999`), support);
  assert.equal(await greet(`CallSid=a&CallTo=09999999999&CallTo=${SUPPORT}`), other);
  // Two CallSids, CallTo vs To, Legs given as JSON and as brackets, 5000 repeats of one key.
  const q = [`CallSid=a&CallSid=b&CallTo=${SUPPORT}&To=09999999999`, "Legs=%5B%7B%22Number%22%3A%221%22%7D%5D&Legs%5B0%5D%5BNumber%5D=2", "k=v&".repeat(2000) + "CallFrom=1"];
  for (const route of GET_ROUTES) {
    const r = await w.call(`/exotel/${route}?${q.join("&")}`);
    assert.equal(r.status, 200, route);
    await r.arrayBuffer();
  }
  // 300 bracketed legs with huge indexes: bounded, answered.
  const legs = Array.from({ length: 300 }, (_, i) => `Legs%5B${i * 7919}%5D%5BNumber%5D=${i}`).join("&");
  const r = await w.call(`/exotel/connect?CallSid=a&CallTo=${SUPPORT}&${legs}`);
  assert.ok([200, 400].includes(r.status), `got ${r.status}`);
  await r.arrayBuffer();
});

test("CR/LF in request values never reaches a response header", async () => {
  const inj = encodeURIComponent("1\r\nSet-Cookie: pwned=1\r\nX-Evil: 1");
  const q = `CallSid=${inj}&CallFrom=${inj}&CallTo=${SUPPORT}&digits=%22${inj}%22&CustomField=${inj}&event=${inj}`;
  for (const route of GET_ROUTES) {
    for (const method of ["GET", "HEAD"]) {
      const r = await w.call(`/exotel/${route}?${q}`, { method });
      assert.ok([200, 302].includes(r.status), `${route} ${method}: ${r.status}`);
      assert.deepEqual(ours(r), OK_HEADERS, `${route} ${method}`);
      assert.equal(r.headers.get("set-cookie"), null);
      await r.arrayBuffer();
    }
  }
  // 405's Allow header is ours too; the method string cannot carry CR/LF.
  const m = await w.call(`/exotel/connect?${q}`, { method: "POST", body: "x" });
  assert.equal(m.status, 405);
  assert.deepEqual(ours(m), ["allow", "cache-control", "content-type"]);
  await m.arrayBuffer();
  // A status body with CR/LF everywhere.
  const s = await w.call("/exotel/status", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ CallSid: "a\r\nX-Evil: 1", Status: "busy\r\n", Legs: [{ AnsweredBy: "HUMAN\r\nX: y" }] }) });
  assert.equal(s.status, 200);
  assert.deepEqual(ours(s), OK_HEADERS);
});

test("CR/LF in config-derived text stays in the body", async () => {
  const cfg = structuredClone(DEFAULT);
  const line = cfg.lines["+918047115777"];
  line.name = "Support\r\nX-Evil: 1";
  line.greeting = { text: "Hello\r\nSet-Cookie: pwned=1\r\n\r\n<html>" };
  const k = await startWorker({ kv: { "config.json": JSON.stringify(cfg) } });
  try {
    const r = await k.call(`/exotel/greeting?${Q}`);
    assert.equal(r.status, 200);
    assert.deepEqual(ours(r), OK_HEADERS);
    assert.equal(r.headers.get("content-type"), "text/plain");
    // The greeting is one line of text (Exotel reads lines as audio URLs):
    // line breaks become spaces, and nothing leaks into headers.
    assert.equal(await r.text(), "Hello Set-Cookie: pwned=1 <html>");
    const h = await k.fetch("/healthz");
    assert.equal((await h.json()).config_source, "kv");
  } finally { await k.close(); }
});

test("every protected route: missing, wrong, partial or misplaced credentials get the same bare 401", async () => {
  const routes = [...GET_ROUTES.map((r) => [r, "GET"]), ["status", "POST"], ["push", "POST"]];
  const basic = (s) => ({ authorization: `Basic ${Buffer.from(s).toString("base64")}` });
  const attempts = (route) => [
    ["none", `/exotel/${route}`, {}],
    ["wrong path token", `/t/wrong-token-0123456789abcd/exotel/${route}`, {}],
    ["prefix of the token", `/t/${TOKEN.slice(0, 16)}/exotel/${route}`, {}],
    ["token plus a char", `/t/${TOKEN}x/exotel/${route}`, {}],
    ["token case-flipped", `/t/${TOKEN.toUpperCase()}/exotel/${route}`, {}],
    ["empty path token", `/t//exotel/${route}`, {}],
    ["basic wrong", `/exotel/${route}`, basic("exotel:nope-nope-nope-nope")],
    ["basic partial", `/exotel/${route}`, basic(`exotel:${TOKEN.slice(0, -2)}`)],
    ["basic no password", `/exotel/${route}`, basic("exotel")],
    ["basic token as user, wrong password", `/exotel/${route}`, basic(`${TOKEN}:wrong-password-0123`)],
    ["basic not base64", `/exotel/${route}`, { authorization: "Basic %%%%" }],
    ["bearer scheme", `/exotel/${route}`, { authorization: `Bearer ${TOKEN}` }],
    ["token in query", `/exotel/${route}?token=${TOKEN}`, {}],
    ["wrong path, right header", `/t/wrong-token-0123456789abcd/exotel/${route}`, basic(`exotel:${TOKEN}`)],
  ];
  for (const [route, method] of routes) {
    const bodies = new Set();
    for (const [what, p, headers] of attempts(route)) {
      const sep = p.includes("?") ? "&" : "?";
      const r = await w.fetch(method === "GET" ? `${p}${sep}${Q}` : p, { method, headers: { ...headers, "content-type": "application/json" }, ...(method === "POST" ? { body: '{"CallSid":"a"}' } : {}) });
      assert.equal(r.status, 401, `${route}: ${what}`);
      assert.deepEqual(ours(r), DENIED_HEADERS, `${route}: ${what}`);
      bodies.add(await r.text());
    }
    assert.deepEqual([...bodies], ['{"error":"unauthorized"}'], `${route}: one body for every failure`);
  }
  // The app API has its own credential; failures there are one body as well.
  for (const [p, method] of [["/v1/devices", "POST"], ["/v1/subscriber-token", "POST"]]) {
    const bodies = new Set();
    for (const headers of [{}, { authorization: "Bearer nope" }, { authorization: `Bearer ${TOKEN}` }, { authorization: "Bearer a.b.c" }, basic(`exotel:${TOKEN}`)]) {
      const r = await w.fetch(p, { method, headers, body: "{}" });
      assert.equal(r.status, 401, `${p} ${JSON.stringify(headers)}`);
      bodies.add(await r.text());
    }
    assert.equal(bodies.size, 1, `${p}: ${[...bodies]}`);
  }
});

// ---- /events: what events.test.mjs does not cover ------------------------
const now = () => Math.floor(Date.now() / 1000);
function sign(secret, id, ts, body) {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  return `v1,${crypto.createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64")}`;
}
async function deliver(body, { id, ts = now(), signature, headers = {} } = {}) {
  const h = {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(ts),
    "webhook-signature": signature ?? sign(SECRET, id, ts, body),
    ...headers,
  };
  for (const [k, v] of Object.entries(h)) if (v === undefined) delete h[k];
  const r = await w.fetch("/events", { method: "POST", headers: h, body });
  return { status: r.status, text: await r.text() };
}
const evBody = (id, name = "leg_answered") => JSON.stringify({ event_sid: id, event_name: name, data: { leg_sid: "L9", exophone: SUPPORT, direction: "inbound" } });

test("events: missing or malformed signature headers are a bare 401", async () => {
  const id = `forge-${Date.now()}`;
  const body = evBody(id);
  const ts = now();
  const good = sign(SECRET, id, ts, body);
  const forged = [
    { headers: { "webhook-id": undefined } },
    { headers: { "webhook-timestamp": undefined } },
    { headers: { "webhook-signature": undefined } },
    { ts: "not-a-number" },
    { ts: `${ts}.5` },
    { ts: "-1" },
    { ts: "99999999999999999999999" },
    { signature: good.replace("v1,", "v2,") },
    { signature: good.replace("v1,", "v1a,") },
    { signature: good.slice(0, -4) },
    { signature: "v1," },
    { signature: "v1,!!!!not base64!!!!" },
    { signature: `v1,${"A".repeat(44)} `.repeat(2000) },
    // A valid signature in another header, the real one garbage.
    { signature: "v1,AAAA", headers: { "svix-signature": good } },
    // Body changed after signing: a different event name, trailing space.
    { signature: good, body: evBody(id, "gather_success") },
    { signature: good, body: body + " " },
  ];
  for (const f of forged) {
    const r = await deliver(f.body ?? body, { id, ts: f.ts ?? ts, signature: f.signature, headers: f.headers });
    assert.equal(r.status, 401, JSON.stringify(f).slice(0, 120));
    assert.equal(r.text, '{"error":"unauthorized"}');
  }
  assert.equal(exotelCalls.length, 0, "nothing forged acted");
  // The id was not burned by any of the forgeries.
  assert.equal((await deliver(body, { id, ts, signature: good })).status, 200);
  assert.equal(await settledCalls(1), 1);
  exotelCalls.length = 0;
});

test("events: a captured delivery replayed under a new id is refused; the same id replayed in parallel acts once", async () => {
  const id = `cap-${Date.now()}`;
  const body = evBody(id);
  const ts = now();
  const sig = sign(SECRET, id, ts, body);
  assert.equal((await deliver(body, { id, ts, signature: sig })).status, 200);
  // An attacker cannot move the signature to a fresh webhook-id.
  const moved = await deliver(body, { id: `${id}-2`, ts, signature: sig });
  assert.equal(moved.status, 401);
  assert.equal(await settledCalls(1), 1, "the genuine delivery acted once");
  // A fresh event fired 8 times at once (a gateway retry storm): acts once.
  const id2 = `par-${Date.now()}`;
  const body2 = evBody(id2);
  const ts2 = now();
  const sig2 = sign(SECRET, id2, ts2, body2);
  exotelCalls.length = 0;
  const rs = await Promise.all(Array.from({ length: 8 }, () => deliver(body2, { id: id2, ts: ts2, signature: sig2 })));
  for (const r of rs) assert.ok([200, 409, 503].includes(r.status), `got ${r.status} ${r.text}`);
  assert.equal(await settledCalls(1), 1, `acted ${exotelCalls.length} times: ${rs.map((r) => r.status)}`);
  exotelCalls.length = 0;
});

// ---- a KV config that goes bad ---------------------------------------------
test("corrupted KV config: the last good KV config keeps serving after the TTL, /healthz shows the error", async () => {
  const good = structuredClone(DEFAULT);
  good.cache_ttl_seconds = 1;
  good.lines["+918047115777"].greeting = { text: "Good KV greeting." };
  const k = await startWorker({ kv: { "config.json": JSON.stringify(good) } });
  const greet = async () => { const r = await k.call(`/exotel/greeting?${Q}`); return [r.status, await r.text()]; };
  try {
    assert.deepEqual(await greet(), [200, "Good KV greeting."]);
    for (const garbage of ["{\"version\":1,\"fallback\":", "\u0000\u00ff garbage", "[]", JSON.stringify({ ...good, version: 2 }), ""]) {
      await k.kv.put("config.json", garbage);
      await new Promise((r) => setTimeout(r, 1200)); // past cache_ttl_seconds
      // The first request after the TTL serves the cached config and refreshes in the background.
      assert.deepEqual(await greet(), [200, "Good KV greeting."], `garbage ${JSON.stringify(garbage).slice(0, 30)}`);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await greet(), [200, "Good KV greeting."]);
      const h = await (await k.fetch("/healthz")).json();
      assert.equal(h.config_source, "kv", JSON.stringify(h));
      assert.ok(h.config_error, `healthz names the error: ${JSON.stringify(h)}`);
    }
    // And a fixed document is picked up again.
    good.lines["+918047115777"].greeting = { text: "Fixed." };
    await k.kv.put("config.json", JSON.stringify(good));
    await new Promise((r) => setTimeout(r, 1200));
    await greet();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await greet(), [200, "Fixed."]);
    assert.equal((await (await k.fetch("/healthz")).json()).config_error, undefined);
  } finally { await k.close(); }
});
