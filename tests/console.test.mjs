// The call trace (D1) and the console at /console, against the built worker
// in Miniflare with a real local D1 database (issue 15). Rows are read
// straight from D1: no full number, no secret, no token is ever stored;
// a D1 that throws, rejects or hangs leaves every answer unchanged.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { readFileSync } from "node:fs";
import { createHmac } from "node:crypto";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { startWorker, twoWorkers, TOKEN, TOKEN2 } from "./support/worker.mjs";
import { ADMIN, migrate, allRows, waitRows } from "./support/trace.mjs";
import { startFakes, fakeServiceAccount, pushBindings } from "./support/push-fakes.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CALLER = "09900112233";
const EXOPHONE = "08047115777";
const SECRET_PARAM = "sk_live_abcdefghijklmnopqrstuvwxyz";
const q = (sid, extra = "") => `CallSid=${sid}&CallFrom=${CALLER}&CallTo=${EXOPHONE}&Direction=incoming${extra}`;

let w;
let db;
before(async () => {
  w = await startWorker({ bindings: { EXOEDGE_ADMIN_TOKENS: ADMIN }, miniflare: { d1Databases: ["TRACE"] } });
  db = await migrate(w.mf);
});
after(() => w?.close());

const bearer = { authorization: `Bearer ${ADMIN}` };

/** Plays the callbacks of one call; returns [route, status, body] per answer. */
async function playCall(call, sid) {
  const out = [];
  const steps = [
    ["/exotel/greeting", q(sid)],
    ["/exotel/gather", q(sid)],
    ["/exotel/connect", q(sid, `&digits=%229876543210%22&crm_key=${SECRET_PARAM}`)],
    ["/exotel/dialwhom", q(sid)],
    ["/exotel/popup", q(sid, "&EventType=Answered&DialWhomNumber=09812345678")],
    ["/exotel/playback", q(sid)],
    ["/exotel/passthru", q(sid, "&event=after-connect")],
    ["/exotel/connect", q(sid, "&fallback=1")],
  ];
  for (const [route, query] of steps) {
    const r = await call(`${route}?${query}`);
    out.push([route, r.status, await r.text()]);
  }
  const st = await call("/exotel/status", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `CallSid=${sid}&Status=completed&EventType=terminal&From=${CALLER}&To=${EXOPHONE}&ConversationDuration=42`,
  });
  out.push(["/exotel/status", st.status, await st.text()]);
  return out;
}

test("every callback is traced in D1 with its reason; no full number, secret or token in any row", async () => {
  const sid = "trace-mask-1";
  await playCall(w.call, sid);
  // The same call reached with Basic credentials and the rotated token.
  await w.fetch(`/exotel/greeting?${q(sid)}`, { headers: { authorization: "Basic " + btoa(`exotel:${TOKEN2}`) } });
  const rows = await waitRows(db, (rs) => rs.filter((r) => r.call_sid === sid).length >= 10);
  const mine = rows.filter((r) => r.call_sid === sid);
  const text = JSON.stringify(rows);
  for (const secret of ["9900112233", "8047115777", "9812345678", TOKEN, TOKEN2, ADMIN, SECRET_PARAM, "abcdefghijklmnop"]) {
    assert.ok(!text.includes(secret), `a stored row contains ${secret}`);
  }
  assert.ok(mine.every((r) => r.caller_last === "2233" && r.caller.endsWith("2233")), "caller masked, last digits kept");
  const connect = mine.find((r) => r.route === "connect" && r.outcome === "ok");
  const reason = JSON.parse(connect.reason);
  assert.equal(reason.line, "Support line");
  assert.ok(reason.rule && reason.open !== undefined && reason.offered.length > 0, connect.reason);
  assert.ok(reason.offered.every((n) => /^\+?\*+\d{4}$/.test(n)), `agents masked: ${reason.offered}`);
  assert.equal(connect.status, 200);
  const fb = mine.find((r) => r.route === "connect" && r.outcome === "fallback");
  assert.match(JSON.parse(fb.reason).fallback, /Fallback URL/);
  const greeting = mine.find((r) => r.route === "greeting");
  assert.equal(JSON.parse(greeting.reason).personalised, false);
  assert.ok(mine.some((r) => r.route === "status" && r.summary.includes("completed")), "StatusCallback traced");
  assert.ok(mine.every((r) => r.latency_ms >= 0 && r.at_ms > 0));
  // HEAD answers no call and is not traced.
  const before = (await allRows(db)).length;
  await w.call(`/exotel/greeting?${q("trace-head")}`, { method: "HEAD" });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await allRows(db)).filter((r) => r.call_sid === "trace-head").length, 0);
  assert.ok((await allRows(db)).length >= before);
});

test("the cap per call holds however often Exotel calls back; rows past the retention go", async () => {
  // The embedded config caps at 200 rows per call; a KV config lowers it.
  const cfg = JSON.parse(await (await import("node:fs/promises")).readFile(path.join(root, "config/default.json"), "utf8"));
  cfg.trace = { max_rows_per_call: 3 };
  const w2 = await startWorker({ bindings: { EXOEDGE_ADMIN_TOKENS: ADMIN }, miniflare: { d1Databases: ["TRACE"] }, kv: { "config.json": JSON.stringify(cfg) } });
  try {
    const db2 = await migrate(w2.mf);
    // A row past the retention (7 days by default): the isolate's first
    // trace write deletes it.
    await db2.prepare("INSERT INTO trace (call_sid, at_ms, kind, route, status, outcome) VALUES ('ancient', ?1, 'callback', 'connect', 200, 'ok')").bind(Date.now() - 8 * 86_400_000).run();
    for (let i = 0; i < 6; i++) assert.equal((await w2.call(`/exotel/greeting?${q("capped")}`)).status, 200);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await allRows(db2)).filter((r) => r.call_sid === "capped").length, 3);
    assert.equal((await allRows(db2)).filter((r) => r.call_sid === "ancient").length, 0, "retention");
  } finally {
    await w2.close();
  }
});

test("the console needs the admin credential: a wrong one sees nothing", async () => {
  const sid = "trace-auth-1";
  await playCall(w.call, sid);
  await waitRows(db, (rs) => rs.some((r) => r.call_sid === sid));
  for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }, { authorization: "Bearer wrong-admin-token-0000" }, { cookie: "exoedge_console=v1.99999999999.00" }]) {
    for (const p of ["/console", `/console/call?sid=${sid}`, `/console/export?sid=${sid}`, "/console/config"]) {
      const r = await w.fetch(p, { headers });
      const body = await r.text();
      assert.equal(r.status, 401, `${p} ${JSON.stringify(headers)}`);
      assert.ok(!body.includes(sid) && !body.includes("Support line") && !body.includes("2233"), `${p} leaked`);
    }
  }
  const bad = await w.fetch("/console/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${TOKEN}` });
  assert.equal(bad.status, 401, "a callback token is not an admin credential");
  assert.equal(bad.headers.get("set-cookie"), null);
  assert.match(await bad.text(), /Wrong credential/);

  const huge = await w.fetch("/console/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${ADMIN}&pad=${"x".repeat(10000)}` });
  assert.equal(huge.status, 413, "a login form is small");
  assert.equal(huge.headers.get("set-cookie"), null);

  const ok = await w.fetch("/console/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${ADMIN}`, redirect: "manual" });
  assert.equal(ok.status, 303);
  const setCookie = ok.headers.get("set-cookie");
  assert.match(setCookie, /^exoedge_console=v1\.\d+\.[0-9a-f]{64}; Path=\/console; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/);
  assert.ok(!setCookie.includes(ADMIN) && !ok.headers.get("location").includes(ADMIN));
  const cookie = setCookie.split(";")[0];
  const list = await w.fetch("/console", { headers: { cookie } });
  assert.equal(list.status, 200);
  assert.match(list.headers.get("content-security-policy"), /default-src 'none'/);
  const html = await list.text();
  assert.ok(html.includes(sid) && html.includes('name="viewport"'), "the list shows the call");
  const tampered = cookie.replace(/\.(\d+)\./, (_, n) => `.${Number(n) + 1}.`);
  assert.equal((await w.fetch("/console", { headers: { cookie: tampered } })).status, 401);
  const out = await w.fetch("/console/logout", { method: "POST", headers: { cookie }, redirect: "manual" });
  assert.match(out.headers.get("set-cookie"), /Max-Age=0/);
});

test("timeline, filters, JSON export and the config page", async () => {
  const sid = "trace-view-1";
  await playCall(w.call, sid);
  await waitRows(db, (rs) => rs.filter((r) => r.call_sid === sid).length >= 9);
  const t = await w.fetch(`/console/call?sid=${sid}`, { headers: bearer });
  const html = await t.text();
  assert.equal(t.status, 200);
  for (const s of ["connect", "greeting", "status", "Support line", "Fallback URL", "*******2233"]) assert.ok(html.includes(s), `timeline lacks ${s}`);
  assert.ok(!html.includes("9900112233"));

  const ex = await w.fetch(`/console/export?sid=${sid}`, { headers: bearer });
  assert.equal(ex.headers.get("content-type"), "application/json");
  const doc = await ex.json();
  assert.equal(doc.call_sid, sid);
  assert.ok(doc.rows.length >= 9 && doc.rows.every((r) => typeof r.reason === "object"));

  const listed = async (query) => (await (await w.fetch(`/console?${query}`, { headers: bearer })).text()).includes(sid);
  assert.ok(await listed("last=2233"));
  assert.ok(!(await listed("last=9999")));
  assert.ok(await listed("line=Support+line&hours=1"));
  assert.ok(!(await listed("line=default_line")));
  assert.ok(await listed("outcome=fallback"));
  assert.ok(!(await listed("outcome=no-dial")));

  const c = await (await w.fetch("/console/config", { headers: bearer })).text();
  assert.match(c, /embedded/);
  assert.ok(!c.includes("8047115777"), "config numbers masked");
});

test("a push relayed is traced with each device's outcome, no device token stored, and shown", async () => {
  const fakes = await startFakes();
  const sa = fakeServiceAccount(`${fakes.base}/token`);
  fakes.state.publicKey = sa.publicKey;
  const wp = await startWorker({
    kvNamespaces: ["DEVICES"],
    bindings: { ...pushBindings(fakes, sa, {}), EXOEDGE_ADMIN_TOKENS: ADMIN },
    miniflare: { d1Databases: ["TRACE"] },
  });
  try {
    const dbp = await migrate(wp.mf);
    const devices = await wp.mf.getKVNamespace("DEVICES");
    const token = "fcm-token-dave-0123456789abcdef";
    await devices.put("dev:dave", JSON.stringify({ devices: [{ device_id: "pixel", platform: "android", token, registered_ms: 1 }] }));
    const r = await wp.fetch("/exotel/push", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Basic " + btoa(`exotel:${TOKEN}`) },
      body: JSON.stringify({ subscriberName: "dave", payload: "eyJjYWxsIjoiYWJjIn0=", payloadVersion: "1" }),
    });
    assert.equal(r.status, 200);
    const rows = await waitRows(dbp, (rs) => rs.some((x) => x.kind === "push"));
    const row = rows.find((x) => x.kind === "push");
    assert.equal(row.call_sid, "push:dave");
    assert.match(row.summary, /1 device\(s\): pixel \(Android\): accepted/);
    const text = JSON.stringify(rows);
    for (const secret of [token, TOKEN, "eyJjYWxsIjoiYWJjIn0"]) assert.ok(!text.includes(secret), `stored ${secret}`);
    const list = await (await wp.fetch("/console", { headers: bearer })).text();
    assert.ok(list.includes("push:dave"));
    const tl = await (await wp.fetch("/console/call?sid=push%3Adave", { headers: bearer })).text();
    assert.match(tl, /push push/);
  } finally {
    await wp.close();
    await fakes.close();
  }
});

test("the config page names a rejected KV document's error; the embedded config keeps serving", async () => {
  const cfg = JSON.parse(await (await import("node:fs/promises")).readFile(path.join(root, "config/default.json"), "utf8"));
  cfg.trace = { retention_days: 400 };
  const wc = await startWorker({ bindings: { EXOEDGE_ADMIN_TOKENS: ADMIN }, miniflare: { d1Databases: ["TRACE"] }, kv: { "config.json": JSON.stringify(cfg) } });
  try {
    assert.equal((await wc.call(`/exotel/greeting?${q("cfg-err")}`)).status, 200);
    const page = await (await wc.fetch("/console/config", { headers: bearer })).text();
    assert.match(page, /id="config-error">config invalid at trace\.retention_days: must be between 1 and 90, got 400/);
    assert.match(page, /embedded/);
  } finally {
    await wc.close();
  }
});

test("event and action rows, whenever they exist, are on the call's timeline", async () => {
  const now = Date.now();
  const ins = db.prepare("INSERT INTO trace (call_sid, at_ms, kind, route, status, outcome, summary, reason) VALUES (?1, ?2, ?3, ?4, 200, 'ok', ?5, ?6)");
  await ins.bind("leg-evt-1", now, "event", "leg_answered", "event applied", JSON.stringify({ detail: "greet then gather" })).run();
  await ins.bind("leg-evt-1", now + 1, "action", "leg_action", "POST .../legs/leg-evt-1/actions 202", JSON.stringify({ detail: "play greeting" })).run();
  const html = await (await w.fetch("/console/call?sid=leg-evt-1", { headers: bearer })).text();
  assert.match(html, /class="ev event"/);
  assert.match(html, /class="ev action"/);
  assert.ok(html.includes("greet then gather") && html.includes("play greeting"));
  assert.ok((await (await w.fetch("/console", { headers: bearer })).text()).includes("leg-evt-1"));
});

test("the event log traces each event it applies and each action it posts, under the leg, masked", async () => {
  const SECRET = "whsec_" + Buffer.from("exoedge-console-test-secret-0123").toString("base64");
  const posted = [];
  const config = { ...JSON.parse(readFileSync(path.join(root, "config/default.json"), "utf8")), events: { greeting: { text: "Hello 09900112233." } } };
  const w2 = await startWorker({
    kv: { "config.json": JSON.stringify(config) },
    bindings: {
      EXOEDGE_ADMIN_TOKENS: ADMIN, EVENTS_WEBHOOK_SECRETS: SECRET, EXOTEL_API_KEY: "api-key-trace", EXOTEL_API_TOKEN: "api-token-trace-secret",
      EXOTEL_ACCOUNT_SID: "acme", EXOTEL_CPAAS_BASE: "http://exotel.fake", EVENTS_REORDER_MS: "0",
    },
    miniflare: {
      d1Databases: ["TRACE"],
      outboundService: async (req) => {
        posted.push(new URL(req.url).pathname);
        return new Response(JSON.stringify({ http_code: 202 }), { status: 202, headers: { "content-type": "application/json" } });
      },
    },
  });
  try {
    const db2 = await migrate(w2.mf);
    const ev = {
      event_sid: "ev-trace-1", event_name: "leg_answered", event_timestamp: new Date().toISOString(),
      data: { leg_sid: "leg-trace-1", exophone: EXOPHONE, direction: "inbound", contact_uri: CALLER },
    };
    const body = JSON.stringify(ev);
    const ts = String(Math.floor(Date.now() / 1000));
    const key = Buffer.from(SECRET.slice("whsec_".length), "base64");
    const signature = `v1,${createHmac("sha256", key).update(`${ev.event_sid}.${ts}.${body}`).digest("base64")}`;
    const r = await w2.fetch("/events", { method: "POST", headers: { "content-type": "application/json", "webhook-id": ev.event_sid, "webhook-timestamp": ts, "webhook-signature": signature }, body });
    assert.equal(r.status, 200, await r.text());
    const rows = await waitRows(db2, (rows) => rows.some((x) => x.kind === "action"), 10_000);
    assert.deepEqual(posted, ["/v2/accounts/acme/legs/leg-trace-1/actions"]);
    const mine = rows.filter((x) => x.call_sid === "leg-trace-1");
    assert.deepEqual(mine.map((x) => x.kind), ["event", "action"]);
    assert.equal(mine[0].route, "leg_answered");
    assert.equal(mine[1].status, 202);
    assert.match(mine[1].summary, /Say/);
    const stored = JSON.stringify(rows);
    for (const secret of [CALLER, "api-token-trace-secret", "api-key-trace", SECRET, ADMIN]) assert.ok(!stored.includes(secret), `a row holds ${secret}`);
    const html = await (await w2.fetch("/console/call?sid=leg-trace-1", { headers: bearer })).text();
    assert.match(html, /class="ev event"/);
    assert.match(html, /class="ev action"/);
  } finally {
    await w2.close();
  }
});

// --- a broken TRACE binding (the faults.mjs pattern: a wrapped binding
// built in the worker's isolate whose calls throw, reject or hang) ---

const BROKEN_D1 = `
class D1Database {
  constructor(mode) { this.mode = mode; }
  prepare(sql) {
    const mode = this.mode;
    if (mode === "throw") throw new Error("d1.prepare: injected failure");
    const stmt = {
      bind() { return stmt; },
      run() { return mode === "reject" ? Promise.reject(new Error("d1.run: injected rejection")) : new Promise(() => {}); },
      all() { return stmt.run(); },
    };
    return stmt;
  }
}
export default function (env) { return new D1Database(env.MODE); }
`;

async function startBrokenTrace(mode) {
  const mf = new Miniflare({
    workers: [
      // Both workers write (callbacks; the console reads) through the broken D1.
      ...twoWorkers({
        both: {
          wrappedBindings: { TRACE: { scriptName: "broken-trace", bindings: { MODE: mode } } },
          bindings: { EXOEDGE_TOKENS: TOKEN, EXOEDGE_ADMIN_TOKENS: ADMIN, KV_BUDGET_MS: "150" },
        },
      }),
      { name: "broken-trace", modules: [{ type: "ESModule", path: "broken-trace.mjs", contents: BROKEN_D1 }] },
    ],
  });
  await mf.ready;
  return { mf, call: (p, init) => mf.dispatchFetch(new URL(`/t/${TOKEN}${p}`, "http://exoedge.test").toString(), init) };
}

test("a failing D1 leaves every answer unchanged (throw, reject, hang)", async () => {
  const plain = await startWorker({});
  try {
    const expected = await playCall(plain.call, "trace-fault");
    for (const mode of ["throw", "reject", "hang"]) {
      const broken = await startBrokenTrace(mode);
      try {
        for (let round = 0; round < 2; round++) {
          const t0 = Date.now();
          const got = await playCall(broken.call, "trace-fault");
          assert.deepEqual(got, expected, `answers changed with D1 ${mode} (round ${round})`);
          assert.ok(Date.now() - t0 < 3000, `answers slowed with D1 ${mode}`);
        }
        if (mode !== "hang") {
          const page = await broken.mf.dispatchFetch("http://exoedge.test/console", { headers: bearer });
          assert.equal(page.status, 503, "the console says the database failed rather than showing nothing");
        }
      } finally {
        await broken.mf.dispose();
      }
    }
  } finally {
    await plain.close();
  }
});

test("without a TRACE binding tracing is off and the console says so", async () => {
  const plain = await startWorker({ bindings: { EXOEDGE_ADMIN_TOKENS: ADMIN } });
  try {
    assert.equal((await plain.call(`/exotel/greeting?${q("untraced")}`)).status, 200);
    const r = await plain.fetch("/console", { headers: bearer });
    assert.equal(r.status, 503);
    assert.match(await r.text(), /Tracing is off/);
  } finally {
    await plain.close();
  }
});
