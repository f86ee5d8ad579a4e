// Issue 4 end to end: a gRPC TriggerCallbackEvent (what Exotel sends) into
// the real proto-gateway binary, which stores it, signs it and POSTs it to
// the built worker's /events (Miniflare, on a loopback port), which stores it
// in the leg's EventLog Durable Object; the object's alarm runs the flow
// later, in order, and posts ExoML to a fake Exotel v2 API. The gRPC call is made with node:http2
// and a hand-written protobuf encoder of the gateway's built-in contract
// (proto-gateway/proto/exotel/callback/v1/callback_event.proto).
//
// Needs the gateway binary: PROTO_GATEWAY_BIN, or target/debug/proto-gateway
// (built by scripts/test.sh's `cargo test --workspace` before this suite),
// or target/gateway/proto-gateway. Skipped, saying so, when none exists.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Response } from "miniflare";
import { startWorker } from "./support/worker.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = [process.env.PROTO_GATEWAY_BIN, "target/debug/proto-gateway", "target/gateway/proto-gateway"]
  .filter(Boolean)
  .map((p) => path.resolve(root, p))
  .find((p) => existsSync(p));

const SECRET = `whsec_${Buffer.alloc(32, 11).toString("base64")}`;
const DEFAULT = JSON.parse(readFileSync(new URL("../config/default.json", import.meta.url)));
const CONFIG = {
  ...DEFAULT,
  events: {
    greeting: { text: "Hello from the edge." },
    gather: { num_digits: 1, timeout_in_sec: 5 },
    routes: { 1: "+919800000001" },
  },
};
const DECL = '<?xml version="1.0" encoding="UTF-8"?>';

// ---- a minimal protobuf encoder for the built-in contract ----------------
function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}
const key = (field, wire) => varint((field << 3) | wire);
const bytes = (field, buf) => Buffer.concat([key(field, 2), varint(buf.length), buf]);
const str = (field, s) => bytes(field, Buffer.from(s, "utf8"));
const int = (field, n) => Buffer.concat([key(field, 0), varint(n)]);
/** google.protobuf.Struct of string values: map<string, Value> fields = 1; Value.string_value = 3. */
const struct = (obj) => Buffer.concat(Object.entries(obj).map(([k, v]) => bytes(1, Buffer.concat([str(1, k), bytes(2, str(3, v))]))));
function encodeEvent(e) {
  return Buffer.concat([
    str(1, e.event_sid),
    str(2, e.event_type),
    str(3, e.event_name),
    bytes(4, Buffer.concat([int(1, e.seconds), int(2, e.nanos)])),
    str(5, e.action_sid ?? ""),
    ...(e.action_custom_parameter ? [str(6, e.action_custom_parameter)] : []),
    bytes(7, struct(e.data)),
  ]);
}

/** One unary gRPC call; resolves to the grpc-status. */
function trigger(addr, event) {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://${addr}`);
    client.on("error", reject);
    const msg = encodeEvent(event);
    const frame = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), msg]);
    frame.writeUInt32BE(msg.length, 1);
    const req = client.request({
      ":method": "POST",
      ":path": "/exotel.callback.v1.CallbackEventService/TriggerCallbackEvent",
      "content-type": "application/grpc",
      te: "trailers",
    });
    let status = null;
    req.on("response", (h) => { if (h["grpc-status"] !== undefined) status = h["grpc-status"]; });
    req.on("trailers", (t) => { status = t["grpc-status"]; });
    req.on("data", () => {});
    req.on("end", () => { client.close(); resolve(status); });
    req.on("error", reject);
    req.end(frame);
  });
}

// ---- the pieces ----------------------------------------------------------
const exotel = [];
let w, gw, dir, grpcAddr;

before(async () => {
  if (!BIN) return;
  w = await startWorker({
    kv: { "config.json": JSON.stringify(CONFIG) },
    bindings: {
      EVENTS_WEBHOOK_SECRETS: SECRET,
      EXOTEL_API_KEY: "key",
      EXOTEL_API_TOKEN: "token",
      EXOTEL_ACCOUNT_SID: "acme1",
      EXOTEL_CPAAS_BASE: "http://exotel.fake",
    },
    miniflare: {
      outboundService: async (req) => {
        exotel.push({ path: new URL(req.url).pathname, auth: req.headers.get("authorization"), body: await req.json() });
        return new Response('{"http_code":202}', { status: 202, headers: { "content-type": "application/json" } });
      },
    },
  });
  const workerUrl = await w.mf.ready;
  dir = mkdtempSync(path.join(os.tmpdir(), "exoedge-gw-"));
  gw = spawn(BIN, [], {
    env: {
      ...process.env,
      PROTO_GATEWAY_GRPC_LISTEN: "127.0.0.1:0",
      PROTO_GATEWAY_ADMIN_LISTEN: "127.0.0.1:0",
      PROTO_GATEWAY_STORE_PATH: path.join(dir, "outbox.sqlite3"),
      PROTO_GATEWAY_FORWARD_URL: new URL("/events", workerUrl).toString(),
      PROTO_GATEWAY_WEBHOOK_SECRETS: SECRET,
      PROTO_GATEWAY_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  grpcAddr = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${out}`)), 20000);
    gw.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/grpc=(\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    gw.on("exit", (code) => reject(new Error(`gateway exited ${code}: ${out}`)));
  });
});

after(async () => {
  if (gw && gw.exitCode === null) {
    const exited = new Promise((r) => gw.on("exit", r));
    gw.kill("SIGTERM");
    await exited;
  }
  await w?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until(pred, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pred();
}

const seconds = () => Math.floor(Date.now() / 1000);
const base = (sid, name, extra = {}) => ({
  event_sid: sid,
  event_type: "leg_action_event",
  event_name: name,
  seconds: seconds(),
  nanos: 123,
  data: { leg_sid: "LEGE2E", account_sid: "acme1", exophone: "08047115777", direction: "inbound" },
  ...extra,
});

test("gRPC event -> proto-gateway -> signed POST /events -> ExoML at Exotel, in order, once", { skip: BIN ? false : "proto-gateway binary not built (set PROTO_GATEWAY_BIN)" }, async () => {
  const run = `e2e${Date.now()}`;
  // Three events of one leg, sent back to back: the gateway keeps their order.
  assert.equal(await trigger(grpcAddr, base(`${run}a`, "leg_answered")), "0");
  assert.equal(await trigger(grpcAddr, base(`${run}b`, "say_completed", { action_custom_parameter: "exoedge:greeting:0" })), "0");
  assert.equal(await trigger(grpcAddr, base(`${run}c`, "gather_success", {
    action_custom_parameter: "exoedge:menu:0",
    data: { leg_sid: "LEGE2E", exophone: "08047115777", digits: "1" },
  })), "0");
  // Exotel sending an event twice (same event_sid): acknowledged twice, stored
  // and acted on once.
  assert.equal(await trigger(grpcAddr, base(`${run}a`, "leg_answered")), "0");

  // The edge acts asynchronously (the leg's log alarm, after its reorder window).
  assert.ok(await until(() => exotel.length >= 3, 30000), `actions seen: ${JSON.stringify(exotel)}`);
  await new Promise((r) => setTimeout(r, 1000)); // room for a wrong fourth action to show up
  assert.deepEqual(exotel.map((c) => c.body), [
    { action_custom_param: "exoedge:greeting:0", exoml: `${DECL}<Flow><Say>Hello from the edge.</Say></Flow>` },
    { action_custom_param: "exoedge:menu:0", exoml: `${DECL}<Flow><Gather numDigits="1" timeoutInSec="5"></Gather></Flow>` },
    { action_custom_param: "exoedge:dial", exoml: `${DECL}<Flow><Dial contactUri="+919800000001" exophone="+918047115777" networkType="pstn"></Dial></Flow>` },
  ]);
  for (const c of exotel) {
    assert.equal(c.path, "/v2/accounts/acme1/legs/LEGE2E/actions");
    assert.equal(c.auth, `Basic ${Buffer.from("key:token").toString("base64")}`);
  }
});
