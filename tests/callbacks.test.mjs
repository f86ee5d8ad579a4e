// The applet callbacks, end to end through the built worker on workerd:
// contract, HEAD parity, auth, bad input, ?fallback=1, and KV config.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startWorker, TOKEN, TOKEN2 } from "./support/worker.mjs";

const DEFAULT = JSON.parse(readFileSync(new URL("../config/default.json", import.meta.url)));
const SUPPORT = "08047115777"; // the support line of config/default.json, national form
const Q = `CallSid=c0ffee&CallFrom=09900112233&CallTo=${SUPPORT}&Direction=incoming&Created=Wed%2C+27+Dec+2023+12%3A17%3A05&StartTime=2023-12-27+12%3A17%3A05&EndTime=1970-01-01+05%3A30%3A00&CallType=call-attempt&flow_id=7&tenant_id=15&From=09900112233&To=${SUPPORT}&CurrentTime=2023-12-27+12%3A17%3A26`;

// route -> [content type, body check]
const CONTRACT = {
  connect: ["application/json", (b) => {
    const j = JSON.parse(b);
    assert.ok(j.destination.numbers.length > 0);
    assert.ok(j.max_ringing_duration <= 60);
    assert.deepEqual(j, { ...DEFAULT.lines["+918047115777"].connect });
  }],
  dialwhom: ["text/plain", (b) => assert.equal(b, "+919812345678,+919812345679")],
  gather: ["application/json", (b) => {
    const j = JSON.parse(b);
    assert.equal(j.gather_prompt.text, DEFAULT.lines["+918047115777"].gather.gather_prompt.text);
    assert.equal(j.finish_on_key, "#");
  }],
  greeting: ["text/plain", (b) => assert.equal(b, "Thanks for calling support. Your call may be recorded.")],
  playback: ["application/json", (b) => {
    const j = JSON.parse(b);
    assert.equal(j.start_call_playback.playback_to, "both");
    assert.equal(j.end_call_playback.type, "text");
  }],
  passthru: ["text/plain", (b) => assert.equal(b, "ok")],
  popup: ["text/plain", (b) => assert.equal(b, "ok")],
};

let w;
before(async () => { w = await startWorker(); });
after(async () => { await w?.close(); });

const parity = (h) => ["content-type", "content-length", "cache-control"].map((k) => [k, h.get(k)]);

for (const [route, [ctype, check]] of Object.entries(CONTRACT)) {
  test(`${route}: GET answers the contract, HEAD the same headers with no body`, async () => {
    // identity: so the runtime does not gzip the GET (which drops its length)
    const headers = { "Exotel-Version": "1.0", "accept-encoding": "identity" };
    const get = await w.call(`/exotel/${route}?${Q}`, { headers });
    const body = await get.text();
    assert.equal(get.status, 200, body);
    assert.equal(get.headers.get("content-type"), ctype, "exact content type, no charset");
    check(body);
    const head = await w.call(`/exotel/${route}?${Q}`, { method: "HEAD", headers });
    assert.equal(head.status, 200);
    assert.deepEqual(parity(head.headers), parity(get.headers));
    assert.equal(await head.text(), "");
  });

  test(`${route}: wrong, partial or missing token gets a bare 401`, async () => {
    const attempts = [
      w.fetch(`/exotel/${route}?${Q}`),
      w.fetch(`/t/wrong-token-0123456789/exotel/${route}?${Q}`),
      w.fetch(`/t/${TOKEN.slice(0, -1)}/exotel/${route}?${Q}`),
      w.fetch(`/exotel/${route}?${Q}`, { headers: { authorization: "Basic " + btoa(`exotel:nope`) } }),
    ];
    for (const r of await Promise.all(attempts)) {
      assert.equal(r.status, 401);
      assert.deepEqual(await r.json(), { error: "unauthorized" });
    }
  });

  test(`${route}: ?fallback=1 gives the static safe answer with an empty KV`, async () => {
    const r = await w.call(`/exotel/${route}?fallback=1`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), ctype);
    assert.ok((await r.text()).length > 0);
  });
}

test("Basic credentials and a rotated second token both open", async () => {
  const basic = await w.fetch(`/exotel/connect?${Q}`, { headers: { authorization: "Basic " + btoa(`exotel:${TOKEN}`) } });
  assert.equal(basic.status, 200);
  const rotated = await w.fetch(`/t/${TOKEN2}/exotel/greeting?${Q}`);
  assert.equal(rotated.status, 200);
});

test("a query without CallSid is a clear 400", async () => {
  const r = await w.call("/exotel/connect?From=09900112233");
  assert.equal(r.status, 400);
  assert.match((await r.json()).error, /missing CallSid/);
});

test("malformed Legs is a clear 400", async () => {
  const r = await w.call("/exotel/passthru?CallSid=a&Legs=%5Bnot-json");
  assert.equal(r.status, 400);
  assert.match((await r.json()).error, /Legs/);
});

test("an oversized query string is 414", async () => {
  const r = await w.call(`/exotel/connect?CallSid=a&pad=${"x".repeat(17000)}`);
  assert.equal(r.status, 414);
});

test("unknown ExoPhone gets the default line, then the fallback parts", async () => {
  const g = await w.call("/exotel/greeting?CallSid=a&To=08000000000");
  assert.equal(await g.text(), DEFAULT.default_line.greeting.text);
  const c = await w.call("/exotel/connect?CallSid=a&To=08000000000");
  assert.deepEqual(await c.json(), { fetch_after_attempt: false, ...DEFAULT.fallback.connect });
});

test("passthru branches: 200 for ok, 302 for else, async always 200", async () => {
  const ok = await w.call(`/exotel/passthru?CallSid=a&To=${SUPPORT}&digits=%229900112233%22`);
  assert.equal(ok.status, 200);
  const busy = await w.call(`/exotel/passthru?CallSid=a&To=${SUPPORT}&DialCallStatus=busy`);
  assert.equal(busy.status, 302);
  const machine = await w.call(`/exotel/passthru?CallSid=a&To=${SUPPORT}&Legs%5B0%5D%5BAnsweredBy%5D=MACHINE`);
  assert.equal(machine.status, 302);
  const asyncMode = await w.call(`/exotel/passthru?mode=async&CallSid=a&To=${SUPPORT}&DialCallStatus=busy`);
  assert.equal(asyncMode.status, 200);
});

test("unknown routes are 404 and wrong methods 405", async () => {
  assert.equal((await w.call("/exotel/nope?CallSid=a")).status, 404);
  const r = await w.call(`/exotel/connect?${Q}`, { method: "POST", body: "x" });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get("allow"), "GET, HEAD");
  assert.equal((await w.call("/exotel/status", { method: "GET" })).status, 405);
});

test("healthz reports version and config source without a token", async () => {
  const r = await w.fetch("/healthz");
  assert.equal(r.status, 200);
  const j = await r.json();
  assert.equal(j.status, "ok");
  assert.match(j.version, /^\d+\.\d+\.\d+$/);
  assert.ok(["embedded", "kv"].includes(j.config_source));
});

// --- StatusCallback bodies ---------------------------------------------
const AMD_JSON = {
  CallSid: "f3dec10279a310e2831754a4ec841a5f", Status: "completed", EventType: "terminal",
  From: "08203612779", To: "08969916092",
  Legs: [{ OnCallDuration: "26", Status: "completed", AnsweredBy: "NA", AmdCause: "" },
         { OnCallDuration: "13", Status: "completed", AnsweredBy: "HUMAN", AmdCause: "HUMAN-080-880" }],
};

function multipart(fields, boundary = "----exotel1234") {
  const parts = Object.entries(fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  return { body: parts.join("") + `--${boundary}--\r\n`, type: `multipart/form-data; boundary=${boundary}` };
}

test("status: multipart/form-data, urlencoded and JSON are all accepted", async () => {
  const m = multipart({ CallSid: "abc", Status: "completed", RecordingUrl: "https://r.example/a.mp3", DateUpdated: "2012-08-17 12:32:57" });
  const r1 = await w.call("/exotel/status", { method: "POST", body: m.body, headers: { "content-type": m.type } });
  assert.equal(r1.status, 200, await r1.text());
  const r2 = await w.call("/exotel/status", { method: "POST", body: "CallSid=abc&Status=busy&Legs%5B0%5D%5BAnsweredBy%5D=NA", headers: { "content-type": "application/x-www-form-urlencoded" } });
  assert.equal(r2.status, 200, await r2.text());
  const r3 = await w.call("/exotel/status", { method: "POST", body: JSON.stringify(AMD_JSON), headers: { "content-type": "application/json" } });
  assert.equal(r3.status, 200, await r3.text());
});

test("status: bad bodies get clear 4xx", async () => {
  const bad = await w.call("/exotel/status", { method: "POST", body: "{nope", headers: { "content-type": "application/json" } });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /JSON/);
  const nosid = await w.call("/exotel/status", { method: "POST", body: "Status=completed", headers: { "content-type": "application/x-www-form-urlencoded" } });
  assert.equal(nosid.status, 400);
  const ctype = await w.call("/exotel/status", { method: "POST", body: "x", headers: { "content-type": "text/xml" } });
  assert.equal(ctype.status, 415);
  const big = await w.call("/exotel/status", { method: "POST", body: "x".repeat(70000), headers: { "content-type": "application/json" } });
  assert.equal(big.status, 413);
});

// --- config from KV ----------------------------------------------------
test("a valid config in KV overrides the embedded one", async () => {
  const cfg = structuredClone(DEFAULT);
  cfg.lines["+918047115777"].greeting = { text: "Hello from KV." };
  const k = await startWorker({ kv: { "config.json": JSON.stringify(cfg) } });
  try {
    const r = await k.call(`/exotel/greeting?${Q}`);
    assert.equal(await r.text(), "Hello from KV.");
    const h = await (await k.fetch("/healthz")).json();
    assert.equal(h.config_source, "kv");
  } finally { await k.close(); }
});

test("the embedded config answers exactly as the same document read from KV", async () => {
  // The embedded config is written out as Rust by build.rs (handlers/src/bake.rs)
  // instead of decoded at run time: every part of it must come out as the
  // decoder makes it from the same text.
  const k = await startWorker({ kv: { "config.json": readFileSync(new URL("../config/default.json", import.meta.url), "utf8") } });
  try {
    const other = "CallSid=c0ffee&CallFrom=09900112233&To=08000000000";
    const queries = [Q, other, `${Q}&fallback=1`, `${Q}&digits=%229900112233%22`, `${Q}&DialCallStatus=busy`];
    for (const route of ["connect", "dialwhom", "gather", "greeting", "playback", "passthru"]) {
      for (const q of queries) {
        const [a, b] = await Promise.all([w.call(`/exotel/${route}?${q}`), k.call(`/exotel/${route}?${q}`)]);
        const what = `${route}?${q}`;
        assert.equal(a.status, b.status, what);
        assert.equal(a.headers.get("content-type"), b.headers.get("content-type"), what);
        assert.equal(await a.text(), await b.text(), what);
      }
    }
    // Each side served from where it says (/healthz reports after a callback loaded the config).
    assert.equal((await (await k.fetch("/healthz")).json()).config_source, "kv");
    assert.equal((await (await w.fetch("/healthz")).json()).config_source, "embedded");
  } finally { await k.close(); }
});

test("a line's static answers are the same bytes on every call, in any script, beside answers made per call", async () => {
  // A config answer's body is made once and handed to the runtime as the
  // same string on every later call (src/http.rs, kept bodies); a menu's
  // numbers are made per call. Each must stay its own exact bytes, with
  // the UTF-8 length, however the two interleave.
  const cfg = structuredClone(DEFAULT);
  const line = cfg.lines["+918047115777"];
  line.greeting = { text: "नमस्ते! Thanks for calling — आपका स्वागत है." };
  line.gather.gather_prompt.text = "ऑर्डर नंबर डालें, then press #.";
  line.menu = { options: { "5": { numbers: ["+919700000005"] } } };
  const k = await startWorker({ kv: { "config.json": JSON.stringify(cfg) } });
  try {
    const headers = { "accept-encoding": "identity" };
    const expectBytes = async (r, ctype, want, what) => {
      const got = Buffer.from(await r.arrayBuffer());
      assert.equal(r.status, 200, what);
      assert.equal(r.headers.get("content-type"), ctype, what);
      assert.equal(r.headers.get("content-length"), String(Buffer.byteLength(want)), what);
      assert.ok(got.equals(Buffer.from(want)), `${what}:\n got  ${got}\n want ${want}`);
    };
    const gather = JSON.stringify(JSON.parse((await (await w.call(`/exotel/gather?${Q}`)).text())));
    const wantGather = JSON.stringify({ ...JSON.parse(gather), gather_prompt: { text: line.gather.gather_prompt.text } });
    for (let i = 0; i < 3; i++) {
      await expectBytes(await k.call(`/exotel/greeting?${Q}`, { headers }), "text/plain", line.greeting.text, `greeting #${i}`);
      const menu = await k.call(`/exotel/connect?${Q}&digits=%225%22`, { headers });
      assert.deepEqual(JSON.parse(await menu.text()).destination.numbers, ["+919700000005"], `menu connect #${i}`);
      const g = await k.call(`/exotel/gather?${Q}`, { headers });
      const text = Buffer.from(await g.clone().arrayBuffer()).toString("utf8");
      assert.equal(JSON.stringify(JSON.parse(text)), wantGather, `gather #${i}`);
      assert.equal(g.headers.get("content-length"), String(Buffer.byteLength(text)), `gather #${i}`);
      const plain = await k.call(`/exotel/connect?${Q}`, { headers });
      assert.deepEqual(JSON.parse(await plain.text()).destination.numbers, line.connect.destination.numbers, `line connect #${i}`);
      const head = await k.call(`/exotel/greeting?${Q}`, { method: "HEAD", headers });
      assert.equal(head.headers.get("content-length"), String(Buffer.byteLength(line.greeting.text)), `HEAD #${i}`);
    }
  } finally { await k.close(); }
});

test("a broken config in KV never takes the line down", async () => {
  const cfg = structuredClone(DEFAULT);
  cfg.lines["+918047115777"].connect.max_ringing_duration = 90;
  const k = await startWorker({ kv: { "config.json": JSON.stringify(cfg) } });
  try {
    const r = await k.call(`/exotel/connect?${Q}`);
    assert.equal(r.status, 200);
    assert.equal((await r.json()).max_ringing_duration, 30, "embedded default still serves");
    const h = await (await k.fetch("/healthz")).json();
    assert.equal(h.config_source, "embedded");
    assert.match(h.config_error, /lines\.\+918047115777\.connect\.max_ringing_duration/);
  } finally { await k.close(); }
});
