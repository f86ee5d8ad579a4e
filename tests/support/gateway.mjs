// The real proto-gateway binary for the end-to-end tests
// (gateway-events.test.mjs, replicas.test.mjs): where the binary is, a
// hand-written protobuf encoder of its built-in contract
// (proto-gateway/proto/exotel/callback/v1/callback_event.proto), gRPC
// calls made with node:http2, and starting and stopping a gateway.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import http2 from "node:http2";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The gateway binary: PROTO_GATEWAY_BIN, or target/debug/proto-gateway
 * (built by scripts/test.sh's `cargo test --workspace` before the Miniflare
 * suite), or target/gateway/proto-gateway; undefined when none exists.
 */
export const GATEWAY_BIN = [process.env.PROTO_GATEWAY_BIN, "target/debug/proto-gateway", "target/gateway/proto-gateway"]
  .filter(Boolean)
  .map((p) => path.resolve(root, p))
  .find((p) => existsSync(p));

/** The `skip` option of a test that needs the binary. */
export const NEEDS_GATEWAY = GATEWAY_BIN ? false : "proto-gateway binary not built (set PROTO_GATEWAY_BIN)";

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

/**
 * A CallbackEvent: `event_type` defaults to `leg_action_event`;
 * `action_sid` and `action_custom_parameter` are sent only when given.
 */
export function encodeEvent(e) {
  return Buffer.concat([
    str(1, e.event_sid),
    str(2, e.event_type ?? "leg_action_event"),
    str(3, e.event_name),
    bytes(4, Buffer.concat([int(1, e.seconds), int(2, e.nanos)])),
    ...(e.action_sid !== undefined ? [str(5, e.action_sid)] : []),
    ...(e.action_custom_parameter ? [str(6, e.action_custom_parameter)] : []),
    bytes(7, struct(e.data)),
  ]);
}

/** One gRPC message frame (uncompressed, length-prefixed). */
function frame(msg) {
  const f = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), msg]);
  f.writeUInt32BE(msg.length, 1);
  return f;
}

const TRIGGER = {
  ":method": "POST",
  ":path": "/exotel.callback.v1.CallbackEventService/TriggerCallbackEvent",
  "content-type": "application/grpc",
  te: "trailers",
};

/** One unary TriggerCallbackEvent on its own connection; resolves to the grpc-status. */
export function trigger(addr, event) {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://${addr}`);
    client.on("error", reject);
    const req = client.request(TRIGGER);
    let status = null;
    req.on("response", (h) => { if (h["grpc-status"] !== undefined) status = h["grpc-status"]; });
    req.on("trailers", (t) => { status = t["grpc-status"]; });
    req.on("data", () => {});
    req.on("end", () => { client.close(); resolve(status); });
    req.on("error", reject);
    req.end(frame(encodeEvent(event)));
  });
}

/** A gRPC client on one HTTP/2 session (reconnects after an error). */
export class Grpc {
  constructor(addr) { this.addr = addr; this.session = null; }
  open() {
    if (!this.session || this.session.closed || this.session.destroyed) {
      this.session = http2.connect(`http://${this.addr}`);
      this.session.on("error", () => {});
    }
    return this.session;
  }
  /** Resolves to the grpc-status ("0" = acknowledged), or "unreachable". */
  send(event) {
    return new Promise((resolve) => {
      let session;
      try { session = this.open(); } catch { return resolve("unreachable"); }
      let status = null;
      let req;
      try {
        req = session.request(TRIGGER);
      } catch { return resolve("unreachable"); }
      const timer = setTimeout(() => { req.close(); resolve("timeout"); }, 10000);
      req.on("response", (h) => { if (h["grpc-status"] !== undefined) status = h["grpc-status"]; });
      req.on("trailers", (t) => { status = t["grpc-status"]; });
      req.on("data", () => {});
      req.on("end", () => { clearTimeout(timer); resolve(status ?? "unreachable"); });
      req.on("error", () => { clearTimeout(timer); resolve("unreachable"); });
      req.end(frame(encodeEvent(event)));
    });
  }
  close() { this.session?.close(); }
}

/**
 * Starts the gateway with gRPC and admin on ephemeral loopback ports and
 * `env` (PROTO_GATEWAY_* settings) over this process's environment; resolves
 * once it logs its addresses, to `{ child, grpc, admin }`.
 */
export async function spawnGateway(env, name = "gateway") {
  const child = spawn(GATEWAY_BIN, [], {
    env: {
      ...process.env,
      PROTO_GATEWAY_GRPC_LISTEN: "127.0.0.1:0",
      PROTO_GATEWAY_ADMIN_LISTEN: "127.0.0.1:0",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const addrs = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out}`)), 20000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/grpc=(\S+) admin=(\S+)/);
      if (m) { clearTimeout(timer); resolve({ grpc: m[1], admin: m[2] }); }
    });
    child.on("exit", (code) => reject(new Error(`${name} exited ${code}: ${out}`)));
  });
  return { child, ...addrs };
}

/** Stops a gateway started by spawnGateway (if it still runs) and waits for its exit. */
export async function stopGateway(child, signal = "SIGTERM") {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.on("exit", r));
  child.kill(signal);
  await exited;
}
