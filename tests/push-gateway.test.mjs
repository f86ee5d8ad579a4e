// The iOS path end to end: the built worker on workerd -> the real
// proto-gateway binary's APNs relay -> a local HTTP/2 (h2c) fake of APNs.
// The gateway binary is the one `cargo test --workspace` builds
// (scripts/test.sh runs that first); PROTO_GATEWAY_BIN overrides the path.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { generateKeyPairSync, verify } from "node:crypto";
import { createInterface } from "node:readline";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker, TOKEN } from "./support/worker.mjs";
import { startFakes, fakeServiceAccount, pushBindings, APNS_SECRET } from "./support/push-fakes.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const IOS_TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const EXOTEL_AUTH = { authorization: "Basic " + Buffer.from(`exotel:${TOKEN}`).toString("base64"), "content-type": "application/json" };

let apple, gateway, fakes, w, devices, dir, publicKey, relayUrl;
const seen = [];
const script = [];

function gatewayBin() {
  if (process.env.PROTO_GATEWAY_BIN) return process.env.PROTO_GATEWAY_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
  const bin = path.join(target, "debug", "proto-gateway");
  if (!existsSync(bin)) execFileSync("cargo", ["build", "-p", "proto-gateway", "--bin", "proto-gateway"], { cwd: root, stdio: "inherit" });
  return bin;
}

before(async () => {
  // Fake APNs: HTTP/2 without TLS (prior knowledge), as the gateway's `endpoint = "http://..."` speaks.
  apple = http2.createServer();
  apple.on("stream", (stream, headers) => {
    const chunks = [];
    stream.on("data", (c) => chunks.push(c));
    stream.on("end", () => {
      seen.push({ headers, body: JSON.parse(Buffer.concat(chunks).toString() || "null") });
      const [status, reason] = script.shift() ?? [200, ""];
      stream.respond({ ":status": status, "apns-id": "1E2D3C4B-0000-4000-8000-00000000000A" });
      stream.end(reason ? JSON.stringify({ reason }) : "");
    });
  });
  await new Promise((r) => apple.listen(0, "127.0.0.1", r));

  dir = mkdtempSync(path.join(os.tmpdir(), "exoedge-apns-"));
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256", privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
  publicKey = keys.publicKey;
  writeFileSync(path.join(dir, "AuthKey_TESTKEY123.p8"), keys.privateKey);
  writeFileSync(path.join(dir, "gateway.toml"), `
[grpc]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
[store]
path = "${path.join(dir, "outbox.sqlite3")}"
[log]
filter = "warn"
[apns]
key_path = "${path.join(dir, "AuthKey_TESTKEY123.p8")}"
key_id = "TESTKEY123"
team_id = "TEAM000001"
bundle_id = "in.exotel.sample"
environment = "sandbox"
endpoint = "http://127.0.0.1:${apple.address().port}"
relay_tokens = ["${APNS_SECRET}"]
`);
  gateway = spawn(gatewayBin(), ["--config", path.join(dir, "gateway.toml")], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise((resolve, reject) => {
    gateway.once("exit", (code) => reject(new Error(`proto-gateway exited ${code}`)));
    createInterface({ input: gateway.stdout }).once("line", resolve);
  });
  const admin = line.split(/\s+/).find((w) => w.startsWith("admin="))?.slice(6);
  assert.ok(admin, `no admin address in ${JSON.stringify(line)}`);

  fakes = await startFakes();
  const sa = fakeServiceAccount(`${fakes.base}/token`);
  fakes.state.publicKey = sa.publicKey;
  relayUrl = `http://${admin}/v1/apns/voip`;
  w = await startWorker({ kvNamespaces: ["DEVICES"], bindings: pushBindings(fakes, sa, { APNS_RELAY_URL: relayUrl }) });
  devices = await w.mf.getKVNamespace("DEVICES");
});

after(async () => {
  await w?.close();
  await fakes?.close();
  gateway?.kill("SIGTERM");
  await new Promise((r) => apple?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const push = (sub) => w.fetch("/exotel/push", { method: "POST", headers: EXOTEL_AUTH, body: JSON.stringify({ subscriberName: sub, payload: "ios-payload", payloadVersion: "3" }) });

test("an iOS push reaches APNs over HTTP/2 with the VoIP headers, an ES256 token and the three keys", async () => {
  await devices.put("dev:ivy", JSON.stringify({ devices: [{ device_id: "iphone", platform: "ios", token: IOS_TOKEN, registered_ms: 1 }] }));
  const r = await push("ivy");
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.deepEqual(body.devices, [{ device_id: "iphone", platform: "ios", outcome: "accepted" }]);
  const got = seen.at(-1);
  assert.equal(got.headers[":method"], "POST");
  assert.equal(got.headers[":path"], `/3/device/${IOS_TOKEN}`);
  assert.equal(got.headers["apns-push-type"], "voip");
  assert.equal(got.headers["apns-topic"], "in.exotel.sample.voip");
  assert.equal(got.headers["apns-priority"], "10");
  const exp = Number(got.headers["apns-expiration"]);
  assert.ok(exp > Date.now() / 1000 && exp <= Date.now() / 1000 + 31);
  assert.deepEqual(got.body, { subscriberName: "ivy", payload: "ios-payload", payloadVersion: "3" });
  const [h, c, s] = got.headers.authorization.replace(/^bearer /, "").split(".");
  assert.deepEqual(JSON.parse(Buffer.from(h, "base64url")), { alg: "ES256", kid: "TESTKEY123" });
  assert.equal(JSON.parse(Buffer.from(c, "base64url")).iss, "TEAM000001");
  assert.ok(verify("sha256", Buffer.from(`${h}.${c}`), { key: publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url")));
});

test("APNs 410 Unregistered travels back: 502 to Exotel and the token leaves the registry", async () => {
  await devices.put("dev:zed", JSON.stringify({ devices: [{ device_id: "old-iphone", platform: "ios", token: IOS_TOKEN, registered_ms: 1 }] }));
  script.push([410, "Unregistered"]);
  const r = await push("zed");
  assert.equal(r.status, 502);
  assert.equal((await r.json()).removed, 1);
  let left;
  for (let i = 0; i < 80; i++) {
    left = JSON.parse(await devices.get("dev:zed")).devices;
    if (left.length === 0) break;
    await new Promise((res) => setTimeout(res, 25));
  }
  assert.deepEqual(left, []);
});

test("a worker with the wrong relay secret is refused by the gateway, and Apple sees nothing", async () => {
  const w3 = await startWorker({ kvNamespaces: ["DEVICES"], bindings: { ...pushBindings(fakes, { json: "" }), APNS_RELAY_URL: relayUrl, APNS_RELAY_SECRET: "not-the-secret-0123456789" } });
  try {
    const kv = await w3.mf.getKVNamespace("DEVICES");
    await kv.put("dev:ivy", JSON.stringify({ devices: [{ device_id: "iphone", platform: "ios", token: IOS_TOKEN, registered_ms: 1 }] }));
    const n = seen.length;
    const r = await w3.fetch("/exotel/push", { method: "POST", headers: EXOTEL_AUTH, body: JSON.stringify({ subscriberName: "ivy", payload: "x", payloadVersion: "1" }) });
    assert.equal(r.status, 502);
    assert.equal((await r.json()).devices[0].reason, "apns relay answered 401");
    assert.equal(seen.length, n);
  } finally {
    await w3.close();
  }
});
