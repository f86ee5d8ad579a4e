// Issue 4 end to end: a gRPC TriggerCallbackEvent (what Exotel sends) into
// the real proto-gateway binary, which stores it, signs it and POSTs it to
// the built worker's /events (Miniflare, on a loopback port), which stores it
// in the leg's EventLog Durable Object; the object's alarm runs the flow
// later, in order, and posts ExoML to a fake Exotel v2 API. The gRPC call
// and the gateway's start are tests/support/gateway.mjs's.
//
// Needs the gateway binary (tests/support/gateway.mjs says where it is
// looked for); skipped, saying so, when none exists.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Response } from "miniflare";
import { startWorker } from "./support/worker.mjs";
import { GATEWAY_BIN as BIN, NEEDS_GATEWAY, spawnGateway, stopGateway, trigger } from "./support/gateway.mjs";

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
  const started = await spawnGateway({
    PROTO_GATEWAY_STORE_PATH: path.join(dir, "outbox.sqlite3"),
    PROTO_GATEWAY_FORWARD_URL: new URL("/events", workerUrl).toString(),
    PROTO_GATEWAY_WEBHOOK_SECRETS: SECRET,
    PROTO_GATEWAY_LOG: "warn",
  });
  gw = started.child;
  grpcAddr = started.grpc;
});

after(async () => {
  if (gw) await stopGateway(gw);
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

test("gRPC event -> proto-gateway -> signed POST /events -> ExoML at Exotel, in order, once", { skip: NEEDS_GATEWAY }, async () => {
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
