// `?fallback=1` (Exotel's Fallback URL) through the built worker on workerd,
// with a KV config whose `fallback` part differs from the embedded
// default's in every field: each callback route answers exactly the bytes
// that part specifies (status, content type, body), and answering it reads
// no KV, takes no round-robin turn (Durable Object) and asks no origin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startWorker } from "./support/worker.mjs";

const DEFAULT = JSON.parse(readFileSync(new URL("../config/default.json", import.meta.url)));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const FALLBACK = {
  connect: {
    destination: { numbers: ["+919700000001", "+919700000002"] },
    record: true,
    max_ringing_duration: 25,
  },
  gather: {
    gather_prompt: { text: "Sorry, we have trouble. Press 1 for a callback, then hash." },
    max_input_digits: 1,
    finish_on_key: "#",
  },
  greeting: { text: "Sorry, we are having trouble. Please stay on the line." },
  playback: { start_call_playback: { playback_to: "both", type: "text", value: "Fallback playback." } },
  passthru: "else",
};

const AGENTS = ["+919800000071", "+919800000072", "+919800000073"];
/** A config with a round-robin line (Durable Object) and a personalised greeting (origin). */
function config(fallback) {
  return {
    version: 1,
    // Short, so a KV read would be due on every request after a second.
    cache_ttl_seconds: 1,
    groups: { rr: { strategy: "round_robin", agents: AGENTS, fetch_after_attempt: false } },
    lines: {
      "+918047115777": {
        agents: "rr",
        greeting: { text: "Line greeting." },
        personalize: {
          lookup: { origin: "https://crm.example.com/callers/{caller}", timeout_ms: 500, cache_seconds: 0 },
          greeting: "Hello {{name}}.",
        },
      },
    },
    fallback,
  };
}

// What each route must answer for FALLBACK, byte for byte: the config's
// fallback part in Exotel's answer format (Connect adds its default
// `fetch_after_attempt: false`; dial-whom answers the fallback Connect's
// numbers; passthru's `else` is a 302; popup has no config part).
const EXPECTED = {
  connect: [200, "application/json",
    '{"fetch_after_attempt":false,"destination":{"numbers":["+919700000001","+919700000002"]},"record":true,"max_ringing_duration":25}'],
  dialwhom: [200, "text/plain", "+919700000001,+919700000002"],
  gather: [200, "application/json",
    '{"gather_prompt":{"text":"Sorry, we have trouble. Press 1 for a callback, then hash."},"max_input_digits":1,"finish_on_key":"#"}'],
  greeting: [200, "text/plain", "Sorry, we are having trouble. Please stay on the line."],
  playback: [200, "application/json",
    '{"start_call_playback":{"playback_to":"both","type":"text","value":"Fallback playback."}}'],
  passthru: [302, "text/plain", "else"],
  popup: [200, "text/plain", "ok"],
};

let w;
const origin = { calls: 0 };
before(async () => {
  w = await startWorker({
    kv: { "config.json": JSON.stringify(config(FALLBACK)) },
    miniflare: {
      outboundService: async () => {
        origin.calls++;
        return new Response(JSON.stringify({ name: "Asha" }), { headers: { "content-type": "application/json" } });
      },
    },
  });
});
after(async () => { await w?.close(); });

const Q = (sid) => `CallSid=${sid}&CallFrom=09900112233&CallTo=08047115777&Direction=incoming`;
const firstAgent = async (sid) => {
  const r = await w.call(`/exotel/connect?${Q(sid)}`);
  assert.equal(r.status, 200);
  return (await r.json()).destination.numbers[0];
};

test("the test config's fallback differs from the embedded default's in every part", () => {
  for (const part of Object.keys(FALLBACK)) assert.notDeepEqual(FALLBACK[part], DEFAULT.fallback[part], part);
});

test("?fallback=1 answers the configured fallback's exact bytes on every callback route", async () => {
  // A normal callback loads the KV config into the isolate's memory.
  assert.equal(await (await w.call(`/exotel/greeting?${Q("warm")}`)).text(), "Hello Asha.");
  for (const [route, [status, ctype, body]] of Object.entries(EXPECTED)) {
    // Valid parameters, none, or garbage: the fallback needs none of them.
    for (const q of [`${Q("fb1")}&fallback=1`, "fallback=1", "fallback=true&CallSid=%ZZ&CallTo=nonsense"]) {
      const r = await w.call(`/exotel/${route}?${q}`, { headers: { "accept-encoding": "identity" } });
      const got = Buffer.from(await r.arrayBuffer());
      assert.equal(r.status, status, `${route}?${q}: ${got}`);
      assert.equal(r.headers.get("content-type"), ctype, `${route}: exact content type`);
      assert.equal(r.headers.get("content-length"), String(Buffer.byteLength(body)), route);
      assert.ok(got.equals(Buffer.from(body)), `${route}?${q}:\n got  ${got}\n want ${body}`);
    }
  }
});

test("?fallback=1 reads no KV, takes no round-robin turn and asks no origin", async () => {
  // Round-robin turns: each new call starts one agent further.
  const a = await firstAgent("turn1");
  const callsBefore = origin.calls;
  // The in-memory config goes stale (TTL 1 s) and KV now holds another
  // fallback: a request that looked at the config the normal way would
  // start a refresh, after which the new fallback would answer.
  await w.kv.put("config.json", JSON.stringify(config({ ...FALLBACK, greeting: { text: "A newer fallback greeting." } })));
  await sleep(1100);
  for (let i = 0; i < 5; i++) {
    for (const route of Object.keys(EXPECTED)) {
      const r = await w.call(`/exotel/${route}?${Q(`fbx${i}`)}&fallback=1`);
      assert.equal(r.status, EXPECTED[route][0]);
      assert.equal(await r.text(), EXPECTED[route][2], `${route}: still the config in memory, KV untouched`);
    }
    await sleep(50);
  }
  assert.equal(origin.calls, callsBefore, "no origin lookup for a fallback greeting");
  // The next normal call takes the very next turn: the fallback Connects took none.
  const b = await firstAgent("turn2");
  assert.equal(AGENTS.indexOf(b), (AGENTS.indexOf(a) + 1) % AGENTS.length, `${a} then ${b}`);
  // A normal request does refresh from KV (so the check above could fail)...
  let text;
  for (let i = 0; i < 40; i++) {
    await w.call(`/exotel/greeting?${Q(`norm${i}`)}`);
    text = await (await w.call("/exotel/greeting?fallback=1")).text();
    if (text !== EXPECTED.greeting[2]) break;
    await sleep(50);
  }
  // ...and the fallback then answers the new document's part.
  assert.equal(text, "A newer fallback greeting.");
});

test("?fallback=1 as a fresh isolate's first request answers the KV config's fallback, not the embedded default's", async () => {
  // Sparse callers meet fresh isolates: Exotel's Fallback URL may be the
  // first request one serves. It reads the config once (within the KV
  // budget), as any first request does; later fallbacks touch nothing.
  const fresh = await startWorker({ kv: { "config.json": JSON.stringify(config(FALLBACK)) } });
  try {
    for (const route of ["connect", "greeting"]) {
      const r = await fresh.call(`/exotel/${route}?fallback=1`);
      assert.equal(r.status, EXPECTED[route][0]);
      assert.equal(await r.text(), EXPECTED[route][2], `${route}: the configured fallback on a fresh isolate`);
    }
  } finally {
    await fresh.close();
  }
});
