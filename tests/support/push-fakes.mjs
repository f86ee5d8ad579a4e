// Local fakes of the push relay's providers, on 127.0.0.1: Google's OAuth
// token endpoint, FCM HTTP v1, Exotel's subscriber-token API, and
// proto-gateway's APNs endpoint. They record what they receive and check
// what a real provider would (JWT signature, Basic credentials, bearer).
import http from "node:http";
import { generateKeyPairSync, verify } from "node:crypto";

export const PROJECT = "exoedge-test";
export const SA_EMAIL = "relay@exoedge-test.iam.gserviceaccount.com";
export const EXOTEL_SID = "exotel13m2";
export const EXOTEL_KEY = "api-key-123";
export const EXOTEL_TOKEN = "api-token-456";
export const APNS_SECRET = "gateway-secret-0123456789abcdef";

const b64url = (s) => Buffer.from(s, "base64url");

/** An RSA key generated per run: a clearly fake service account. */
export function fakeServiceAccount(tokenUri) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const sa = {
    type: "service_account",
    project_id: PROJECT,
    private_key_id: "test-key-1",
    private_key: privateKey,
    client_email: SA_EMAIL,
    token_uri: tokenUri,
  };
  return { json: JSON.stringify(sa), publicKey };
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Starts all fakes on one port. FCM answers by token prefix: `dead-` 404
 * UNREGISTERED, `bad-` 400 INVALID_ARGUMENT (token), `down-` 503, else 200.
 * It answers 401 UNAUTHENTICATED, as Google does for a revoked or expired
 * access token, to any bearer it did not mint, to one in `state.revoked`,
 * and to every one while `state.rejectAllTokens` is set.
 */
export async function startFakes() {
  const state = {
    publicKey: null,
    tokenCalls: [],
    fcm: [],
    exotel: [],
    apns: [],
    fcmDelayMs: 0,
    /** access tokens FCM no longer accepts */
    revoked: new Set(),
    rejectAllTokens: false,
  };
  let minted = 0;
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url, "http://fake");
    if (req.method === "POST" && url.pathname === "/token") {
      const form = new URLSearchParams(body);
      const jwt = form.get("assertion") ?? "";
      const [h, c, s] = jwt.split(".");
      const ok =
        form.get("grant_type") === "urn:ietf:params:oauth:grant-type:jwt-bearer" &&
        state.publicKey &&
        verify("RSA-SHA256", Buffer.from(`${h}.${c}`), state.publicKey, b64url(s ?? ""));
      state.tokenCalls.push({ header: JSON.parse(b64url(h)), claims: JSON.parse(b64url(c)), signatureOk: !!ok });
      if (!ok) return send(res, 400, { error: "invalid_grant" });
      minted += 1;
      return send(res, 200, { access_token: `ya29.fake-${minted}`, expires_in: 3599, token_type: "Bearer" });
    }
    const fcmPath = `/v1/projects/${PROJECT}/messages:send`;
    if (req.method === "POST" && url.pathname === fcmPath) {
      const msg = JSON.parse(body);
      state.fcm.push({ path: url.pathname, headers: req.headers, body: msg });
      if (state.fcmDelayMs) await new Promise((r) => setTimeout(r, state.fcmDelayMs));
      const bearer = req.headers.authorization ?? "";
      if (!/^Bearer ya29\.fake-\d+$/.test(bearer) || state.rejectAllTokens || state.revoked.has(bearer.slice("Bearer ".length))) {
        return send(res, 401, { error: { code: 401, message: "Request had invalid authentication credentials.", status: "UNAUTHENTICATED" } });
      }
      const token = msg.message?.token ?? "";
      if (token.startsWith("dead-")) {
        return send(res, 404, { error: { code: 404, message: "Requested entity was not found.", status: "NOT_FOUND", details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode: "UNREGISTERED" }] } });
      }
      if (token.startsWith("bad-")) {
        return send(res, 400, { error: { code: 400, message: "The registration token is not a valid FCM registration token", status: "INVALID_ARGUMENT", details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode: "INVALID_ARGUMENT" }] } });
      }
      if (token.startsWith("down-")) return send(res, 503, { error: { code: 503, status: "UNAVAILABLE" } });
      return send(res, 200, { name: `projects/${PROJECT}/messages/${state.fcm.length}` });
    }
    const m = url.pathname.match(/^\/v2\/accounts\/([^/]+)\/subscriber-token$/);
    if (req.method === "POST" && m) {
      const rec = { sid: m[1], headers: req.headers, body: JSON.parse(body) };
      state.exotel.push(rec);
      const expected = "Basic " + Buffer.from(`${EXOTEL_KEY}:${EXOTEL_TOKEN}`).toString("base64");
      if (req.headers.authorization !== expected) {
        return send(res, 401, { http_code: 401, response: { code: 401, status: "failure", error_data: { description: "Authentication failed" } } });
      }
      if (rec.body.subscriber_name === "rejectme") {
        return send(res, 400, { http_code: 400, response: { code: 400, status: "failure", error_data: { code: 1001, description: "Invalid subscriber_name" } } });
      }
      return send(res, 200, {
        request_id: "r1", method: "POST", http_code: 200,
        response: { code: 200, error_data: null, status: "success", data: {
          subscriber_name: rec.body.subscriber_name,
          subscriber_token: { refresh_token: `refresh-${rec.body.subscriber_name}`, access_token: `access-${rec.body.subscriber_name}` },
        } },
      });
    }
    if (req.method === "POST" && url.pathname === "/v1/apns/voip") {
      state.apns.push({ headers: req.headers, body: JSON.parse(body) });
      if (req.headers.authorization !== `Bearer ${APNS_SECRET}`) return send(res, 401, { error: "unauthorized" });
      return send(res, 200, { outcome: "accepted", apns_id: "apns-1" });
    }
    send(res, 404, { error: "no such fake" });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { state, base, close: () => new Promise((r) => server.close(r)) };
}

/** The sample-app backend's per-user Durable Object, for startWorker's `durableObjects`. */
export const USER_STATE = { USER_STATE: "UserState" };

/** Bindings that point the worker at the fakes. */
export function pushBindings(fakes, sa, extra = {}) {
  return {
    FCM_SERVICE_ACCOUNT: sa.json,
    FCM_BASE_URL: fakes.base,
    APNS_RELAY_URL: `${fakes.base}/v1/apns/voip`,
    APNS_RELAY_SECRET: APNS_SECRET,
    APP_TOKEN_SECRET: "app-token-secret-0123456789abcdef0123",
    EXOTEL_API_BASE: fakes.base,
    EXOTEL_ACCOUNT_SID: EXOTEL_SID,
    EXOTEL_API_KEY: EXOTEL_KEY,
    EXOTEL_API_TOKEN: EXOTEL_TOKEN,
    EXOTEL_SDK_HOST: "voip.exotel.example",
    EXOPHONE: "sip:08047115777",
    ...extra,
  };
}
