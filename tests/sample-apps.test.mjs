// Exotel's published sample apps, replayed request by request against the
// built worker on workerd in the default (narrow) mode, with fakes of
// Exotel's subscriber-token API, Google OAuth and FCM. Each request is
// built the way the app's code builds it, and each answer is read the way
// the app's code reads it; the next step only runs if the app would go on.
//
// Android: exotel/exotel-voip-sdk-android jetixApp (OkHttp, org.json):
//   ApplicationUtils.login, .sendDeviceToken, .setCallContext (after dial),
//   .getCallContext, .removeCallContext; ContactsGroupFragment.fetchContactList.
//   No credential anywhere; JSON bodies from JSONObject.toString(), which
//   escapes "/" as "\/"; content type "application/json; charset=utf-8".
// iOS: exotel/exotel-voip-sdk-ios (URLSession, JSONSerialization):
//   ApplicationUtils.loginUser (pretty-printed JSON), .uploadFCMToken
//   (pretty-printed, no Authorization), HomeViewController.getContactList,
//   .setCallContext, .getCallContext, .removeCallContext (each with
//   "Authorization: Bearer <ExotelVoiceClientSDK.getToken()>", the Exotel
//   access token the login handed out).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, TOKEN } from "./support/worker.mjs";
import { startFakes, fakeServiceAccount, pushBindings, EXOTEL_SID, USER_STATE } from "./support/push-fakes.mjs";
import { userRecord, userKey } from "../scripts/add-user.mjs";

const ANDROID_IP = "203.0.113.10";
const IPHONE_IP = "198.51.100.20";
const STRANGER_IP = "192.0.2.66";
const ANDROID_ID = "2fc4b5912826ad1f";
const IOS_VENDOR_ID = "E621E1F8-C36C-495A-93FC-0C247A3E6E5F";
// FCM registration tokens look alike on both platforms.
const FCM_ANDROID = "cX3k9Qm2RZe:APA91bHq-android_token_0123456789abcdefghijklmnopqrstuvwxyz";
const FCM_IPHONE = "fT7uQ1c0dEk:APA91bG-iphone_token_0123456789abcdefghijklmnopqrstuvwxyz";
const HOST = "http://exoedge.test"; // the app's "application backend" setting

let fakes, sa, w, devices;

before(async () => {
  fakes = await startFakes();
  sa = fakeServiceAccount(`${fakes.base}/token`);
  fakes.state.publicKey = sa.publicKey;
  w = await startWorker({ kvNamespaces: ["DEVICES"], durableObjects: USER_STATE, bindings: pushBindings(fakes, sa) });
  devices = await w.mf.getKVNamespace("DEVICES");
  // Users made the documented way; user name = subscriber name for app-to-app calls.
  await devices.put(userKey("alice"), JSON.stringify(userRecord("a/lice pw", { iterations: 10_000, display: "alice" })));
  await devices.put(userKey("bob"), JSON.stringify(userRecord("b/ob pw", { iterations: 10_000, display: "bob" })));
  await devices.put(userKey("carol"), JSON.stringify(userRecord("carol pw", { iterations: 10_000 })));
  await devices.put("contacts", JSON.stringify({
    groups: [
      { group: "Exotel app users", is_special: true, contacts: [{ contact_name: "Alice", contact_number: "alice" }, { contact_name: "Bob", contact_number: "bob" }] },
      { group: "Support", is_special: false, contacts: [{ contact_name: "Help desk", contact_number: "+918047115777" }] },
    ],
  }));
});

after(async () => {
  await w?.close();
  await fakes?.close();
});

// ---------------------------------------------------------------- Android

/** org.json's JSONObject.toString(): insertion order, compact, "/" escaped. */
const androidJson = (obj) => JSON.stringify(obj).replaceAll("/", "\\/");

/** OkHttp as the app uses it: a new client per call, its default headers. */
function okhttp(url, { method = "GET", body } = {}, ip = ANDROID_IP) {
  const headers = { "user-agent": "okhttp/4.9.0", "accept-encoding": "gzip", "cf-connecting-ip": ip };
  if (body !== undefined) headers["content-type"] = "application/json; charset=utf-8";
  return w.mf.dispatchFetch(url, { method, headers, body });
}

/** ContactsGroupFragment.fetchContactList's parse; throws where the app shows "Exception". */
function androidContacts(text) {
  const json = JSON.parse(text); // new JSONObject(jsonData)
  const arr = json.response; // optJSONArray("response"); null -> NPE below
  if (!Array.isArray(arr)) throw new Error("NullPointerException: response");
  const groups = [];
  for (const inner of arr) {
    if (String(inner.code ?? "").toLowerCase() !== "200") throw new Error("No Contacts found");
    const data = inner.data;
    if (typeof data !== "object" || data === null) throw new Error("NullPointerException: data");
    if (!Array.isArray(data.contacts)) throw new Error("NullPointerException: contacts");
    groups.push({
      group: String(data.group ?? ""),
      special: data.is_special === true,
      contacts: data.contacts.map((c) => ({ name: String(c.contact_name ?? ""), number: String(c.contact_number ?? "") })),
    });
  }
  return groups;
}

// -------------------------------------------------------------------- iOS

/** JSONSerialization with .prettyPrinted, as jsonToString writes it ("/" escaped). */
const prettyJson = (obj) => JSON.stringify(obj, null, 2).replaceAll('": ', '" : ').replaceAll("/", "\\/");

/** URLSession as the app uses it. */
function urlSession(url, { method = "GET", body, bearer, contentType = "application/json" } = {}, ip = IPHONE_IP) {
  const headers = {
    "content-type": contentType,
    accept: "*/*",
    "accept-language": "en-IN,en;q=0.9",
    "accept-encoding": "gzip, deflate, br",
    "user-agent": "ExotelVoiceSample/1 CFNetwork/1494.0.7 Darwin/23.4.0",
    "cf-connecting-ip": ip,
  };
  if (bearer !== undefined) headers.authorization = "Bearer " + bearer;
  return w.mf.dispatchFetch(url, { method, headers, body });
}

/** HomeViewController.getContactList: JSONDecoder into MainModule; every key but error_data is required. */
function iosContacts(text) {
  const m = JSON.parse(text);
  assert.ok(Array.isArray(m.response), "MainModule.response");
  return m.response.map((g) => {
    assert.ok(Number.isInteger(g.code), "code: Int");
    assert.equal(typeof g.status, "string", "status: String");
    assert.ok(g.error_data === null || g.error_data === undefined || typeof g.error_data === "object", "error_data?");
    assert.equal(typeof g.data.group, "string", "data.group: String");
    assert.equal(typeof g.data.is_special, "boolean", "data.is_special: Bool");
    for (const c of g.data.contacts) {
      assert.equal(typeof c.contact_name, "string");
      assert.equal(typeof c.contact_number, "string");
    }
    return g.data;
  });
}

// ------------------------------------------------------------------ Exotel

const dialWhom = (caller, sid) =>
  w.mf.dispatchFetch(`${HOST}/t/${TOKEN}/exotel/dialwhom?CallSid=${sid}&CallFrom=sip:${caller}&CallTo=08047115777&Direction=incoming&CallType=call-attempt`);

const exotelPush = (subscriberName, payload) =>
  w.mf.dispatchFetch(`${HOST}/exotel/push`, {
    method: "POST",
    headers: { authorization: "Basic " + Buffer.from(`exotel:${TOKEN}`).toString("base64"), "content-type": "application/json" },
    body: JSON.stringify({ subscriberName, payload, payloadVersion: "1" }),
  });

const deviceRecord = async (sub) => JSON.parse((await devices.get(`dev:${sub}`)) ?? "null");

test("Android jetixApp: login, device token, contacts, app-to-app call with the context posted after dialling", async () => {
  // LoginActivity -> ApplicationUtils.login
  let r = await okhttp(`${HOST}/login`, { method: "POST", body: androidJson({ user_name: "alice", password: "a/lice pw", account_sid: EXOTEL_SID, device_id: ANDROID_ID }) });
  assert.equal(r.status, 200); // 200 == response.code() || 201 == ...
  const login = await r.json();
  // jObject.getString(...) of each: all present
  for (const k of ["subscriber_token", "host_name", "account_sid", "exophone", "contact_display_name"]) assert.ok(login[k] !== undefined, k);
  assert.equal(typeof login.subscriber_token, "object");
  assert.equal(fakes.state.exotel.at(-1).body.platform, "android");

  // sendTokenAndInitialize -> sendDeviceToken (no credential)
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/alice/devicetoken`, { method: "POST", body: androidJson({ deviceToken: FCM_ANDROID }) });
  assert.ok(r.status === 200 || r.status === 201, `devicetoken ${r.status}`);
  assert.deepEqual((await deviceRecord("alice")).devices.map((d) => [d.platform, d.token]), [["android", FCM_ANDROID]]);

  // HomeActivity -> ContactsGroupFragment.fetchContactList (no credential)
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/alice/contacts`);
  assert.equal(r.status, 200);
  const groups = androidContacts(await r.text());
  assert.deepEqual(groups.map((g) => [g.group, g.special, g.contacts.length]), [["Exotel app users", true, 2], ["Support", false, 1]]);

  // Tap "Bob" in the special group: makeIPCall -> mService.dial(...) first, then setCallContext.
  // Exotel asks Dial Whom while the app has not posted the context yet.
  const started = Date.now();
  const asked = dialWhom("alice", "android-call-1");
  await new Promise((res) => setTimeout(res, 300));
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/alice/context`, { method: "POST", body: androidJson({ dialToNumber: "sip:bob", message: "" }) });
  assert.equal(r.status, 200);
  const answer = await asked;
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get("content-type"), "text/plain");
  assert.equal(await answer.text(), "sip:bob", "Dial Whom waited for the late context");
  assert.ok(Date.now() - started < 2500, `answered in ${Date.now() - started} ms`);

  // The callee's app reads the caller's context (getCallContext(remoteId)).
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/alice/context`, {}, "203.0.113.99");
  const ctx = await r.json();
  assert.equal(ctx.dialToNumber, "sip:bob");
  assert.equal(ctx.message, ""); // contextMessage.isEmpty() -> nothing shown

  // Call ends: removeCallContext; a later read shows nothing to the user.
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/alice/context`, { method: "DELETE" });
  assert.equal(r.status, 200);
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/alice/context`);
  const gone = await r.json();
  assert.equal(gone.message, "", "never our error text where the app shows the call's message");

  // Exotel pushes a call for alice: the data the app's onMessageReceived reads.
  r = await exotelPush("alice", "payload-for-alice");
  assert.equal(r.status, 200);
  const sent = fakes.state.fcm.at(-1).body.message;
  assert.equal(sent.token, FCM_ANDROID);
  assert.deepEqual(sent.data, { subscriberName: "alice", payload: "payload-for-alice", payloadVersion: "1" });
  assert.deepEqual(sent.android, { priority: "HIGH", ttl: "30s" });
  assert.equal(sent.apns, undefined);
});

test("iOS app (FCM token): login, device token, contacts with its Exotel bearer, call with the late context", async () => {
  // ApplicationUtils.loginUser: pretty-printed JSON, no Authorization
  let r = await urlSession(`${HOST}/login`, { method: "POST", body: prettyJson({ user_name: "bob", password: "b/ob pw", device_id: IOS_VENDOR_ID, account_sid: EXOTEL_SID }) });
  const login = await r.json();
  assert.equal(login.http_code, 200); // guard let status = response["http_code"] as? Int; == 200
  assert.equal(fakes.state.exotel.at(-1).body.platform, "ios");
  const sdkToken = login.subscriber_token.access_token; // what ExotelVoiceClientSDK.getToken() returns

  // uploadFCMToken, called at once from the login success handler
  r = await urlSession(`${HOST}/accounts/${EXOTEL_SID}/subscribers/bob/devicetoken`, { method: "POST", body: prettyJson({ deviceToken: FCM_IPHONE }) });
  const reg = await r.json();
  assert.equal(reg.http_code, 200);
  assert.equal(reg.platform, "ios", "an iPhone's FCM token keeps its platform");
  // the app then stores subscriber_token, exophone, subscriber_name, contact_display_name, host_name, account_sid
  for (const k of ["exophone", "subscriber_name", "contact_display_name", "host_name", "account_sid"]) assert.equal(typeof login[k], "string", k);

  // Contacts tab: getContactList with the SDK token
  r = await urlSession(`${HOST}/accounts/${login.account_sid}/subscribers/${login.subscriber_name}/contacts`, { bearer: sdkToken });
  assert.equal(r.status, 200);
  const groups = iosContacts(await r.text());
  assert.equal(groups[0].contacts[0].contact_number, "alice");

  // Call alice from the special group: makeIPCall -> dial, then setCallContext (compact JSON, bearer)
  const asked = dialWhom("bob", "ios-call-1");
  await new Promise((res) => setTimeout(res, 150));
  r = await urlSession(`${HOST}/accounts/${login.account_sid}/subscribers/bob/context`, { method: "POST", body: JSON.stringify({ dialToNumber: "sip:alice", message: "" }), bearer: sdkToken });
  assert.equal(r.status, 200);
  assert.equal(await (await asked).text(), "sip:alice");

  // alice's Android app rings (push), then reads bob's context (no credential)
  r = await exotelPush("alice", "call-from-bob");
  assert.equal(r.status, 200);
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/bob/context`);
  assert.equal((await r.json()).dialToNumber, "sip:alice");

  // bob's iPhone reads a context that does not exist: http_code != 200 -> nothing shown
  r = await urlSession(`${HOST}/accounts/${EXOTEL_SID}/subscribers/carol/context`, { bearer: sdkToken });
  const none = await r.json();
  assert.equal(none.http_code, 404);
  assert.equal(none.message, "");

  // removeCallContext with the bearer
  r = await urlSession(`${HOST}/accounts/${EXOTEL_SID}/subscribers/bob/context`, { method: "DELETE", bearer: sdkToken });
  assert.equal((await r.json()).http_code, 200);

  // A push for bob reaches the iPhone through FCM, as a background notification.
  r = await exotelPush("bob", "call-for-bob");
  assert.equal(r.status, 200);
  const sent = fakes.state.fcm.at(-1).body.message;
  assert.equal(sent.token, FCM_IPHONE);
  assert.deepEqual(sent.data, { subscriberName: "bob", payload: "call-for-bob", payloadVersion: "1" });
  assert.equal(sent.android, undefined);
  assert.equal(sent.apns.headers["apns-push-type"], "background");
  assert.equal(sent.apns.headers["apns-priority"], "5");
  assert.deepEqual(sent.apns.payload, { aps: { "content-available": 1 } });
  assert.ok(Math.abs(Number(sent.apns.headers["apns-expiration"]) - (Date.now() / 1000 + 30)) < 10);

  // The Exotel token this backend handed out also registers a device later (token refresh).
  r = await urlSession(`${HOST}/accounts/${EXOTEL_SID}/subscribers/bob/devicetoken`, { method: "POST", body: prettyJson({ deviceToken: FCM_IPHONE + "-2" }), bearer: sdkToken }, "198.51.100.77");
  assert.equal((await r.json()).http_code, 200);
  assert.deepEqual((await deviceRecord("bob")).devices.map((d) => [d.platform, d.token]), [["ios", FCM_IPHONE + "-2"]]);
});

test("a stranger's devicetoken outside the login window is refused and changes nothing", async () => {
  const before = await devices.get("dev:alice");
  assert.ok(before);
  const attempt = (headers, ip) =>
    w.mf.dispatchFetch(`${HOST}/accounts/${EXOTEL_SID}/subscribers/alice/devicetoken`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8", "cf-connecting-ip": ip, ...headers },
      body: androidJson({ deviceToken: "stranger-fcm-token" }),
    });
  // no credential, another address, long after alice's login window was used
  let r = await attempt({}, STRANGER_IP);
  assert.equal(r.status, 401);
  let e = await r.json();
  assert.equal(e.http_code, 401);
  assert.match(e.message, /login/);
  // from alice's own address: her window was used once already
  r = await attempt({}, ANDROID_IP);
  assert.equal(r.status, 401);
  // a bearer that is not a token this backend handed out
  r = await attempt({ authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged" }, STRANGER_IP);
  assert.equal(r.status, 401);
  // a user who never logged in
  r = await w.mf.dispatchFetch(`${HOST}/accounts/${EXOTEL_SID}/subscribers/carol/devicetoken`, {
    method: "POST", headers: { "cf-connecting-ip": STRANGER_IP }, body: androidJson({ deviceToken: "stranger-fcm-token" }),
  });
  assert.equal(r.status, 401);
  assert.equal(await devices.get("dev:alice"), before, "alice's devices are unchanged");
  assert.equal(await devices.get("dev:carol"), null);

  // Within the window but from another address: refused, and alice's own call still works.
  r = await okhttp(`${HOST}/login`, { method: "POST", body: androidJson({ user_name: "alice", password: "a/lice pw", account_sid: EXOTEL_SID, device_id: ANDROID_ID }) });
  assert.equal(r.status, 200);
  r = await attempt({}, STRANGER_IP);
  assert.equal(r.status, 401);
  assert.equal(await devices.get("dev:alice"), before);
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/alice/devicetoken`, { method: "POST", body: androidJson({ deviceToken: FCM_ANDROID }) });
  assert.equal(r.status, 200);

  // A push for alice still goes only to her phone.
  const n = fakes.state.fcm.length;
  r = await exotelPush("alice", "after-the-stranger");
  assert.equal(r.status, 200);
  assert.deepEqual(fakes.state.fcm.slice(n).map((m) => m.body.message.token), [FCM_ANDROID]);
});

test("one user with an iPhone (FCM token) and an Android phone: both ring", async () => {
  // carol logs in on her iPhone, then on her Android phone, each registering its FCM token.
  let r = await urlSession(`${HOST}/login`, { method: "POST", body: prettyJson({ user_name: "carol", password: "carol pw", device_id: IOS_VENDOR_ID, account_sid: EXOTEL_SID }) });
  assert.equal((await r.json()).http_code, 200);
  r = await urlSession(`${HOST}/accounts/${EXOTEL_SID}/subscribers/carol/devicetoken`, { method: "POST", body: prettyJson({ deviceToken: "carol-" + FCM_IPHONE }) });
  assert.equal((await r.json()).platform, "ios");
  r = await okhttp(`${HOST}/login`, { method: "POST", body: androidJson({ user_name: "carol", password: "carol pw", account_sid: EXOTEL_SID, device_id: ANDROID_ID }) });
  assert.equal(r.status, 200);
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/carol/devicetoken`, { method: "POST", body: androidJson({ deviceToken: "carol-" + FCM_ANDROID }) });
  assert.equal((await r.json()).platform, "android");

  const n = fakes.state.fcm.length;
  r = await exotelPush("carol", "call-for-carol");
  const body = await r.json();
  assert.equal(r.status, 200);
  assert.equal(body.accepted, 2);
  const sent = fakes.state.fcm.slice(n).map((m) => m.body.message);
  assert.equal(sent.length, 2);
  const iphone = sent.find((m) => m.token === "carol-" + FCM_IPHONE);
  const android = sent.find((m) => m.token === "carol-" + FCM_ANDROID);
  assert.ok(iphone?.apns && !iphone.android, "the iPhone gets the apns block");
  assert.ok(android?.android && !android.apns, "the Android phone gets the android block");
  for (const m of sent) assert.deepEqual(m.data, { subscriberName: "carol", payload: "call-for-carol", payloadVersion: "1" });
});

test("Dial Whom for an app user without a context falls back within the budget; other callers never wait", async () => {
  let t = Date.now();
  let r = await dialWhom("carol", "no-context-1");
  assert.equal(r.status, 200);
  assert.notEqual(await r.text(), "sip:bob");
  const waited = Date.now() - t;
  assert.ok(waited >= 1400 && waited < 2500, `waited ${waited} ms`);
  t = Date.now();
  r = await w.mf.dispatchFetch(`${HOST}/t/${TOKEN}/exotel/dialwhom?CallSid=pstn-1&CallFrom=09900112233&CallTo=08047115777`);
  assert.equal(r.status, 200);
  assert.ok(Date.now() - t < 500, "a phone-number caller does not wait");
  t = Date.now();
  r = await dialWhom("deskphone7", "sip-not-an-app-user");
  assert.equal(r.status, 200);
  assert.ok(Date.now() - t < 500, "a sip: caller who never logged in here does not wait");
});

test("contacts: a user's own document wins; a broken document shows an empty list, never an error the app chokes on", async () => {
  await devices.put("contacts:carol", JSON.stringify({ groups: [{ group: "Family", contacts: [{ contact_name: "Mum", contact_number: "+919812345678" }] }] }));
  let r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/carol/contacts`);
  assert.deepEqual(androidContacts(await r.text()).map((g) => g.group), ["Family"]);
  await devices.put("contacts:carol", "{not json");
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/carol/contacts`);
  assert.equal(r.status, 200);
  assert.deepEqual(androidContacts(await r.text()), []);
  // unknown users and other accounts get a clear JSON error
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/nobody/contacts`);
  assert.equal(r.status, 404);
  assert.equal((await r.json()).http_code, 404);
  r = await okhttp(`${HOST}/accounts/other-sid/subscribers/carol/contacts`);
  assert.equal(r.status, 403);
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/carol/contacts`, { method: "POST", body: "{}" });
  assert.equal(r.status, 405);
});

test("an iPhone and an Android phone registering at the same instant both stay registered", async () => {
  for (let round = 0; round < 4; round++) {
    const user = `dual${round}`;
    await devices.put(userKey(user), JSON.stringify(userRecord("pw", { iterations: 10_000 })));
    let r = await urlSession(`${HOST}/login`, { method: "POST", body: prettyJson({ user_name: user, password: "pw", device_id: IOS_VENDOR_ID, account_sid: EXOTEL_SID }) });
    assert.equal((await r.json()).http_code, 200);
    r = await okhttp(`${HOST}/login`, { method: "POST", body: androidJson({ user_name: user, password: "pw", account_sid: EXOTEL_SID, device_id: ANDROID_ID }) });
    assert.equal(r.status, 200);
    const [a, b] = await Promise.all([
      urlSession(`${HOST}/accounts/${EXOTEL_SID}/subscribers/${user}/devicetoken`, { method: "POST", body: prettyJson({ deviceToken: `${user}-${FCM_IPHONE}` }) }),
      okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/${user}/devicetoken`, { method: "POST", body: androidJson({ deviceToken: `${user}-${FCM_ANDROID}` }) }),
    ]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const n = fakes.state.fcm.length;
    r = await exotelPush(user, "both");
    assert.equal((await r.json()).accepted, 2, `round ${round}: both devices pushed`);
    assert.equal(fakes.state.fcm.length - n, 2);
  }
});

test("SAMPLE_APP_COMPAT=off: app tokens only; the unchanged apps are refused with a clear answer", async () => {
  const off = await startWorker({ kvNamespaces: ["DEVICES"], durableObjects: USER_STATE, bindings: pushBindings(fakes, sa, { SAMPLE_APP_COMPAT: "off" }) });
  try {
    const kv = await off.mf.getKVNamespace("DEVICES");
    await kv.put(userKey("eve"), JSON.stringify(userRecord("pw", { iterations: 10_000 })));
    const at = (p, init = {}) => off.mf.dispatchFetch(`${HOST}${p}`, { ...init, headers: { "cf-connecting-ip": ANDROID_IP, ...(init.headers ?? {}) } });
    let r = await at("/login", { method: "POST", body: androidJson({ user_name: "eve", password: "pw", account_sid: EXOTEL_SID, device_id: ANDROID_ID }) });
    const { app_token } = await r.json();
    assert.equal(r.status, 200);
    for (const [p, method] of [["devicetoken", "POST"], ["context", "POST"], ["contacts", "GET"]]) {
      r = await at(`/accounts/${EXOTEL_SID}/subscribers/eve/${p}`, { method, body: method === "POST" ? androidJson({ deviceToken: "t", dialToNumber: "sip:x", message: "" }) : undefined });
      assert.equal(r.status, 401, p);
      assert.equal((await r.json()).http_code, 401);
    }
    assert.equal(await kv.get("dev:eve"), null);
    // an app that sends its app token still works
    r = await at(`/accounts/${EXOTEL_SID}/subscribers/eve/devicetoken`, { method: "POST", headers: { authorization: `Bearer ${app_token}` }, body: androidJson({ deviceToken: "eve-token" }) });
    assert.equal(r.status, 200);
  } finally {
    await off.close();
  }
});

test("a context left over from the previous call does not route the next one", async () => {
  // alice calls bob; her app dies before removeCallContext.
  let asked = dialWhom("alice", "leftover-1");
  let r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/alice/context`, { method: "POST", body: androidJson({ dialToNumber: "sip:bob", message: "" }) });
  assert.equal(r.status, 200);
  assert.equal(await (await asked).text(), "sip:bob");
  // Exotel asking again for the same call gets the same answer
  assert.equal(await (await dialWhom("alice", "leftover-1")).text(), "sip:bob");
  // Her next call, to carol: Dial Whom comes before the new context.
  asked = dialWhom("alice", "leftover-2");
  await new Promise((res) => setTimeout(res, 250));
  r = await okhttp(`${HOST}/accounts/${EXOTEL_SID}/subscribers/alice/context`, { method: "POST", body: androidJson({ dialToNumber: "sip:carol", message: "" }) });
  assert.equal(r.status, 200);
  assert.equal(await (await asked).text(), "sip:carol");
});
