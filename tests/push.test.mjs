// The push relay and the sample-app backend, end to end through the built
// worker on workerd, against local fakes of Google OAuth, FCM, Exotel's
// subscriber-token API and proto-gateway's APNs endpoint.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, TOKEN } from "./support/worker.mjs";
import { startFakes, fakeServiceAccount, pushBindings, PROJECT, SA_EMAIL, EXOTEL_SID, APNS_SECRET, USER_STATE } from "./support/push-fakes.mjs";
import { userRecord, userKey } from "../scripts/add-user.mjs";

let fakes, sa, w, devices;
const basic = (u, p) => "Basic " + Buffer.from(`${u}:${p}`).toString("base64");
const EXOTEL_AUTH = { authorization: basic("exotel", TOKEN) };
const IOS_TOKEN = "a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef0123456789abcdef";

async function register(sub, list) {
  await devices.put(`dev:${sub}`, JSON.stringify({ devices: list.map(([device_id, platform, token]) => ({ device_id, platform, token, registered_ms: 1 })) }));
}

function push(fields, { json = true, headers = EXOTEL_AUTH } = {}) {
  const body = json ? JSON.stringify(fields) : new URLSearchParams(fields).toString();
  const ct = json ? "application/json" : "application/x-www-form-urlencoded";
  return w.fetch("/exotel/push", { method: "POST", headers: { "content-type": ct, ...headers }, body });
}

async function until(check, ms = 2000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  fakes = await startFakes();
  sa = fakeServiceAccount(`${fakes.base}/token`);
  fakes.state.publicKey = sa.publicKey;
  w = await startWorker({ kvNamespaces: ["DEVICES"], durableObjects: USER_STATE, bindings: pushBindings(fakes, sa) });
  devices = await w.mf.getKVNamespace("DEVICES");
});

after(async () => {
  await w?.close();
  await fakes?.close();
});

test("FCM receives exactly the data-only high-priority message, with a Google OAuth token", async () => {
  await register("bob", [["pixel", "android", "fcm-token-bob"]]);
  const r = await push({ subscriberName: "bob", payload: "eyJjYWxsIjoiYWJjIn0=", payloadVersion: "1" });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.deepEqual(body, { status: "delivered", subscriberName: "bob", accepted: 1, removed: 0, devices: [{ device_id: "pixel", platform: "android", outcome: "accepted" }] });
  const sent = fakes.state.fcm.at(-1);
  assert.equal(sent.path, `/v1/projects/${PROJECT}/messages:send`);
  assert.match(sent.headers.authorization, /^Bearer ya29\.fake-\d+$/);
  assert.match(sent.headers["content-type"], /^application\/json/);
  assert.deepEqual(sent.body, {
    message: {
      token: "fcm-token-bob",
      data: { subscriberName: "bob", payload: "eyJjYWxsIjoiYWJjIn0=", payloadVersion: "1" },
      android: { priority: "HIGH", ttl: "30s" },
    },
  });
  // The OAuth assertion Google would check.
  const t = fakes.state.tokenCalls[0];
  assert.equal(t.signatureOk, true);
  assert.deepEqual(t.header, { alg: "RS256", typ: "JWT", kid: "test-key-1" });
  assert.equal(t.claims.iss, SA_EMAIL);
  assert.equal(t.claims.aud, `${fakes.base}/token`);
  assert.equal(t.claims.scope, "https://www.googleapis.com/auth/firebase.messaging");
  assert.equal(t.claims.exp - t.claims.iat, 3600);
  assert.ok(Math.abs(t.claims.iat - Date.now() / 1000) < 60);
});

test("the access token is cached: one OAuth call for many pushes", async () => {
  await register("carol", [["p", "android", "fcm-token-carol"]]);
  const before = fakes.state.tokenCalls.length;
  const fcmBefore = fakes.state.fcm.length;
  for (let i = 0; i < 8; i++) {
    const r = await push({ subscriberName: "carol", payload: `p${i}`, payloadVersion: "1" }, { json: i % 2 === 0 });
    assert.equal(r.status, 200);
  }
  assert.equal(fakes.state.fcm.length - fcmBefore, 8);
  assert.ok(fakes.state.tokenCalls.length <= 1, `minted ${fakes.state.tokenCalls.length} tokens`);
  assert.equal(fakes.state.tokenCalls.length - before, 0);
  // form-encoded pushes carry the same data
  assert.deepEqual(fakes.state.fcm.at(-1).body.message.data, { subscriberName: "carol", payload: "p7", payloadVersion: "1" });
});

test("FCM refusing the cached access token (401): one new OAuth token, one retry, delivered", async () => {
  await register("gina", [["p", "android", "fcm-token-gina"]]);
  // A push with the cached token, which Google then revokes early.
  let r = await push({ subscriberName: "gina", payload: "p0", payloadVersion: "1" });
  assert.equal(r.status, 200);
  const cached = fakes.state.fcm.at(-1).headers.authorization.slice("Bearer ".length);
  fakes.state.revoked.add(cached);
  const [tokensBefore, fcmBefore] = [fakes.state.tokenCalls.length, fakes.state.fcm.length];
  r = await push({ subscriberName: "gina", payload: "p1", payloadVersion: "1" });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.deepEqual(body.devices, [{ device_id: "p", platform: "android", outcome: "accepted" }]);
  assert.equal(fakes.state.tokenCalls.length - tokensBefore, 1, "the token endpoint is asked once more");
  assert.equal(fakes.state.tokenCalls.at(-1).signatureOk, true);
  const sends = fakes.state.fcm.slice(fcmBefore);
  assert.equal(sends.length, 2, "the send is retried once");
  assert.equal(sends[0].headers.authorization, `Bearer ${cached}`);
  assert.match(sends[1].headers.authorization, /^Bearer ya29\.fake-\d+$/);
  assert.notEqual(sends[1].headers.authorization, sends[0].headers.authorization, "the retry carries the new token");
  assert.deepEqual(sends[1].body, sends[0].body, "the same message");
  // The new token is cached: the next push mints none.
  const minted = fakes.state.tokenCalls.length;
  r = await push({ subscriberName: "gina", payload: "p2", payloadVersion: "1" });
  assert.equal(r.status, 200);
  assert.equal(fakes.state.tokenCalls.length, minted);
  assert.equal(fakes.state.fcm.at(-1).headers.authorization, sends[1].headers.authorization);
});

test("FCM refusing the new token too (401 again): no loop, one retry, a 502 with the reason", async () => {
  await register("hugo", [["p", "android", "fcm-token-hugo"]]);
  const [tokensBefore, fcmBefore] = [fakes.state.tokenCalls.length, fakes.state.fcm.length];
  fakes.state.rejectAllTokens = true;
  try {
    const r = await push({ subscriberName: "hugo", payload: "p", payloadVersion: "1" });
    const body = await r.json();
    assert.equal(r.status, 502, JSON.stringify(body));
    assert.deepEqual(body.devices, [{ device_id: "p", platform: "android", outcome: "failed", reason: "fcm 401 UNAUTHENTICATED" }]);
    assert.equal(fakes.state.fcm.length - fcmBefore, 2, "the first send and exactly one retry");
    assert.equal(fakes.state.tokenCalls.length - tokensBefore, 1, "one new token, not one per attempt");
    assert.equal(JSON.parse(await devices.get("dev:hugo")).devices.length, 1, "a 401 is ours, not the device's: the token stays");
  } finally {
    fakes.state.rejectAllTokens = false;
  }
  // Google accepts tokens again: the refused one was dropped, a new one is minted.
  const minted = fakes.state.tokenCalls.length;
  const r = await push({ subscriberName: "hugo", payload: "p", payloadVersion: "1" });
  assert.equal(r.status, 200);
  assert.equal(fakes.state.tokenCalls.length, minted + 1);
});

test("unregistered and invalid tokens are removed; the live one still gets the push", async () => {
  await register("dave", [["old", "android", "dead-1"], ["new", "android", "fcm-live-dave"], ["typo", "android", "bad-2"]]);
  const r = await push({ subscriberName: "dave", payload: "x", payloadVersion: "1" });
  const body = await r.json();
  assert.equal(r.status, 200);
  assert.equal(body.accepted, 1);
  assert.equal(body.removed, 2);
  const left = await until(async () => {
    const rec = JSON.parse(await devices.get("dev:dave"));
    return rec.devices.length === 1 ? rec : null;
  });
  assert.ok(left, "dead tokens were not removed");
  assert.deepEqual(left.devices.map((d) => d.token), ["fcm-live-dave"]);
});

test("every provider refusing is a 502; a subscriber whose last token died gets 410", async () => {
  await register("erin", [["a", "android", "down-1"]]);
  let r = await push({ subscriberName: "erin", payload: "x", payloadVersion: "1" });
  assert.equal(r.status, 502);
  assert.equal((await r.json()).devices[0].reason, "fcm 503 UNAVAILABLE");
  assert.equal(JSON.parse(await devices.get("dev:erin")).devices.length, 1, "a transient failure keeps the token");

  await register("frank", [["a", "android", "dead-9"]]);
  r = await push({ subscriberName: "frank", payload: "x", payloadVersion: "1" });
  assert.equal(r.status, 502);
  await until(async () => JSON.parse(await devices.get("dev:frank")).devices.length === 0);
  r = await push({ subscriberName: "frank", payload: "x", payloadVersion: "1" });
  assert.equal(r.status, 410);
  assert.equal((await r.json()).status, "no_device");
});

test("unknown subscriber, bad body, bad credentials", async () => {
  let r = await push({ subscriberName: "nobody", payload: "x", payloadVersion: "1" });
  assert.equal(r.status, 404);
  assert.equal((await r.json()).status, "unknown_subscriber");
  r = await push({ subscriberName: "bob", payloadVersion: "1" });
  assert.equal(r.status, 400);
  r = await push({ subscriberName: "has space", payload: "x", payloadVersion: "1" });
  assert.equal(r.status, 400);
  r = await push({ subscriberName: "abcdefghijklmnopq", payload: "x", payloadVersion: "1" });
  assert.equal(r.status, 400);
  const n = fakes.state.fcm.length;
  r = await push({ subscriberName: "bob", payload: "x", payloadVersion: "1" }, { headers: {} });
  assert.equal(r.status, 401);
  r = await push({ subscriberName: "bob", payload: "x", payloadVersion: "1" }, { headers: { authorization: basic("exotel", "wrong-token-0123456789") } });
  assert.equal(r.status, 401);
  assert.equal(fakes.state.fcm.length, n, "nothing is sent without the callback token");
  // the token as a path prefix works too
  r = await w.call("/exotel/push", { method: "POST", body: "subscriberName=bob&payload=x&payloadVersion=1", headers: { "content-type": "application/x-www-form-urlencoded" } });
  assert.equal(r.status, 200);
  r = await w.fetch("/exotel/push", { headers: EXOTEL_AUTH });
  assert.equal(r.status, 405);
});

test("iOS devices go to proto-gateway's APNs endpoint with the shared secret", async () => {
  await register("gina", [["iphone", "ios", IOS_TOKEN]]);
  const r = await push({ subscriberName: "gina", payload: "pp", payloadVersion: "2" });
  assert.equal(r.status, 200);
  const sent = fakes.state.apns.at(-1);
  assert.equal(sent.headers.authorization, `Bearer ${APNS_SECRET}`);
  assert.deepEqual(sent.body, { device_token: IOS_TOKEN, subscriberName: "gina", payload: "pp", payloadVersion: "2" });
});

test("/v1/devices needs an app token for that subscriber; DELETE removes", async () => {
  await devices.put(userKey("hank"), JSON.stringify(userRecord("hunter2!", { iterations: 10_000 })));
  let r = await w.fetch("/v1/devices", { method: "POST", body: JSON.stringify({ subscriber: "hank", push_token: "t", device_id: "d" }) });
  assert.equal(r.status, 401);
  assert.equal((await r.json()).http_code, 401);
  r = await w.fetch("/login", { method: "POST", body: JSON.stringify({ user_name: "hank", password: "hunter2!", account_sid: EXOTEL_SID, device_id: "2fc4b5912826ad1" }) });
  assert.equal(r.status, 200);
  const { app_token } = await r.json();
  const auth = { authorization: `Bearer ${app_token}` };
  r = await w.fetch("/v1/devices", { method: "POST", headers: auth, body: JSON.stringify({ subscriber: "bob", push_token: "t", device_id: "d" }) });
  assert.equal(r.status, 403, "a token for hank cannot register bob");
  r = await w.fetch("/v1/devices", { method: "POST", headers: auth, body: JSON.stringify({ subscriber: "hank", push_token: IOS_TOKEN, device_id: "iphone-1" }) });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { http_code: 200, subscriber: "hank", device_id: "iphone-1", platform: "ios", devices: 1 });
  r = await w.fetch("/v1/devices/hank/iphone-1", { method: "DELETE", headers: auth });
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(await devices.get("dev:hank")).devices.length, 0);
  r = await w.fetch("/v1/devices/hank/iphone-1", { method: "DELETE", headers: auth });
  assert.equal(r.status, 404);
  // a forged token
  r = await w.fetch("/v1/devices", { method: "POST", headers: { authorization: `Bearer ${app_token.slice(0, -3)}AAA` }, body: "{}" });
  assert.equal(r.status, 401);
});

test("/v1/subscriber-token calls Exotel with the API key, and maps its 400", async () => {
  await devices.put(userKey("rejectme"), JSON.stringify(userRecord("pw-rejectme", { iterations: 10_000, subscriber: "ivy" })));
  let r = await w.fetch("/login", { method: "POST", body: JSON.stringify({ user_name: "rejectme", password: "pw-rejectme", device_id: "E621E1F8-C36C-495A-93FC-0C247A3E6E5F" }) });
  const login = await r.json();
  assert.equal(r.status, 200, JSON.stringify(login));
  assert.deepEqual(fakes.state.exotel.at(-1).body, { platform: "ios", device_id: "E621E1F8-C36C-495A-93FC-0C247A3E6E5F", subscriber_name: "ivy" });
  r = await w.fetch("/v1/subscriber-token", { method: "POST", headers: { authorization: `Bearer ${login.app_token}` }, body: JSON.stringify({ device_id: "2fc4b5912826ad1" }) });
  const body = await r.json();
  assert.equal(r.status, 200);
  assert.deepEqual(body, { http_code: 200, subscriber_name: "ivy", subscriber_token: { refresh_token: "refresh-ivy", access_token: "access-ivy" } });
  const call = fakes.state.exotel.at(-1);
  assert.equal(call.sid, EXOTEL_SID);
  assert.deepEqual(call.body, { platform: "android", device_id: "2fc4b5912826ad1", subscriber_name: "ivy" });
  assert.ok(!JSON.stringify(body).includes("api-token"), "the API token never reaches the phone");
  r = await w.fetch("/v1/subscriber-token", { method: "POST", body: JSON.stringify({ device_id: "x" }) });
  assert.equal(r.status, 401);

  await devices.put(userKey("rejectme2"), JSON.stringify(userRecord("pw", { iterations: 10_000, subscriber: "rejectme" })));
  r = await w.fetch("/login", { method: "POST", body: JSON.stringify({ user_name: "rejectme2", password: "pw", device_id: "d" }) });
  assert.equal(r.status, 422);
  const e = await r.json();
  assert.equal(e.http_code, 422);
  assert.match(e.message, /Invalid subscriber_name/);
});

test("Exotel refusing our API credentials is a clear 502", async () => {
  const w2 = await startWorker({ kvNamespaces: ["DEVICES"], durableObjects: USER_STATE, bindings: pushBindings(fakes, sa, { EXOTEL_API_TOKEN: "wrong" }) });
  try {
    const kv = await w2.mf.getKVNamespace("DEVICES");
    await kv.put(userKey("jo"), JSON.stringify(userRecord("pw", { iterations: 10_000 })));
    const r = await w2.fetch("/login", { method: "POST", body: JSON.stringify({ user_name: "jo", password: "pw", device_id: "d" }) });
    assert.equal(r.status, 502);
    const e = await r.json();
    assert.equal(e.http_code, 502);
    assert.match(e.message, /EXOTEL_API_KEY/);
    // a failed login opens no window: the app's uncredentialed devicetoken is refused
    const d = await w2.fetch(`/accounts/${EXOTEL_SID}/subscribers/jo/devicetoken`, { method: "POST", body: JSON.stringify({ deviceToken: "x" }) });
    assert.equal(d.status, 401);
    assert.equal(await kv.get("dev:jo"), null);
  } finally {
    await w2.close();
  }
});

test("login refuses wrong passwords, unknown users and other accounts with 403", async () => {
  await devices.put(userKey("kim"), JSON.stringify(userRecord("right-pass", { iterations: 10_000 })));
  for (const [user_name, password, account_sid] of [["kim", "wrong", EXOTEL_SID], ["nobody", "x", EXOTEL_SID], ["kim", "right-pass", "other-sid"]]) {
    const r = await w.fetch("/login", { method: "POST", body: JSON.stringify({ user_name, password, account_sid, device_id: "d" }) });
    assert.equal(r.status, 403, user_name);
    assert.equal((await r.json()).http_code, 403);
  }
  const r = await w.fetch("/login", { method: "GET" });
  assert.equal(r.status, 405);
  // records hold no plain text password
  assert.ok(!(await devices.get(userKey("kim"))).includes("right-pass"));
});

test("the sample apps' sequence: login -> devicetoken -> context -> dial whom -> push", async () => {
  // Two users made the documented way (scripts/add-user.mjs), default 100 000 iterations.
  await devices.put(userKey("alice"), JSON.stringify(userRecord("alice-pw", { display: "Alice A" })));
  await devices.put(userKey("bob2"), JSON.stringify(userRecord("bob-pw")));

  // 1. both log in, as the Android app does (no auth header anywhere)
  const loginA = await w.fetch("/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user_name: "alice", password: "alice-pw", account_sid: EXOTEL_SID, device_id: "2fc4b5912826ad1" }) });
  const a = await loginA.json();
  assert.equal(loginA.status, 200, JSON.stringify(a));
  assert.deepEqual(
    { ...a, app_token: undefined },
    {
      http_code: 200,
      subscriber_token: { refresh_token: "refresh-alice", access_token: "access-alice" },
      host_name: "voip.exotel.example",
      account_sid: EXOTEL_SID,
      exophone: "sip:08047115777",
      contact_display_name: "Alice A",
      subscriber_name: "alice",
      app_token: undefined,
    },
  );
  const loginB = await w.fetch("/login", { method: "POST", body: JSON.stringify({ user_name: "bob2", password: "bob-pw", account_sid: EXOTEL_SID, device_id: "0a1b2c3d4e5f6a7b" }) });
  assert.equal(loginB.status, 200);

  // 2. device tokens: bob2 on Android (FCM), alice on iOS (PushKit, 64 hex)
  let r = await w.fetch(`/accounts/${EXOTEL_SID}/subscribers/bob2/devicetoken`, { method: "POST", body: JSON.stringify({ deviceToken: "fcm-token-bob2" }) });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).http_code, 200);
  r = await w.fetch(`/accounts/${EXOTEL_SID}/subscribers/alice/devicetoken`, { method: "POST", headers: { authorization: "Bearer exotel-access-token" }, body: JSON.stringify({ deviceToken: IOS_TOKEN }) });
  const reg = await r.json();
  assert.equal(reg.http_code, 200);
  assert.equal(reg.platform, "ios");
  r = await w.fetch(`/accounts/${EXOTEL_SID}/subscribers/nobody/devicetoken`, { method: "POST", body: JSON.stringify({ deviceToken: "x" }) });
  assert.equal(r.status, 401, "no login, no window");

  // 3. alice dials bob2: the app posts the context first
  r = await w.fetch(`/accounts/${EXOTEL_SID}/subscribers/alice/context`, { method: "POST", body: JSON.stringify({ dialToNumber: "sip:bob2", message: "lunch?" }) });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).http_code, 200);
  r = await w.fetch(`/accounts/${EXOTEL_SID}/subscribers/alice/context`);
  assert.deepEqual(await r.json(), { http_code: 200, dialToNumber: "sip:bob2", message: "lunch?" });

  // 4. Exotel asks Dial Whom with CallFrom=sip:alice
  const q = "CallSid=app2app1&CallFrom=sip:alice&CallTo=08047115777&Direction=incoming";
  r = await w.call(`/exotel/dialwhom?${q}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "text/plain");
  assert.equal(await r.text(), "sip:bob2");

  // 5. Exotel pushes the call to bob2
  const fcmBefore = fakes.state.fcm.length;
  r = await push({ subscriberName: "bob2", payload: "call-for-bob2", payloadVersion: "1" });
  assert.equal(r.status, 200);
  assert.equal(fakes.state.fcm.length, fcmBefore + 1);
  assert.deepEqual(fakes.state.fcm.at(-1).body.message.data, { subscriberName: "bob2", payload: "call-for-bob2", payloadVersion: "1" });
  // and a call to alice reaches her iPhone through the gateway
  r = await push({ subscriberName: "alice", payload: "call-for-alice", payloadVersion: "1" });
  assert.equal(r.status, 200);
  assert.equal(fakes.state.apns.at(-1).body.device_token, IOS_TOKEN);

  // Clearing the context hands Dial Whom back to the configured answer.
  r = await w.fetch(`/accounts/${EXOTEL_SID}/subscribers/alice/context`, { method: "DELETE" });
  assert.equal(r.status, 200);
  r = await w.call(`/exotel/dialwhom?${q}`);
  assert.notEqual(await r.text(), "sip:bob2");
  r = await w.fetch(`/accounts/${EXOTEL_SID}/subscribers/alice/context`);
  assert.equal(r.status, 404);
  const none = await r.json();
  assert.equal(none.http_code, 404);
  assert.equal(none.message, "", "Android shows a non-empty message as the call's text");
});

test("a context with a phone number answers Dial Whom with the number; wa: does not", async () => {
  await devices.put(userKey("lee"), JSON.stringify(userRecord("pw", { iterations: 10_000 })));
  await w.fetch(`/accounts/${EXOTEL_SID}/subscribers/lee/context`, { method: "POST", body: JSON.stringify({ dialToNumber: "09812345678", message: "" }) });
  let r = await w.call("/exotel/dialwhom?CallSid=c2&CallFrom=sip:lee&CallTo=08047115777");
  assert.equal(await r.text(), "+919812345678");
  await w.fetch(`/accounts/${EXOTEL_SID}/subscribers/lee/context`, { method: "POST", body: JSON.stringify({ dialToNumber: "wa:09812345678", message: "" }) });
  r = await w.call("/exotel/dialwhom?CallSid=c3&CallFrom=sip:lee&CallTo=08047115777");
  assert.notEqual(await r.text(), "wa:09812345678");
  assert.equal(r.status, 200);
});
