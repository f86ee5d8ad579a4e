// The cold-start measurement bench/coldstart.mjs and bench/edge-cold.mjs
// share: spawn a fresh workerd on one config, poll a path until the first
// 200, and report the time from the spawn.
import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const workerd = path.join(root, "node_modules/.bin/workerd");

/** GET on loopback; resolves to the status, or 0 while nothing listens. */
function get(port, urlPath) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", () => resolve(0));
  });
}

/**
 * Runs `measure(firstAnswer)` against a fresh `workerd serve <config>`,
 * which is killed afterwards. `firstAnswer(port, urlPath)` polls every
 * millisecond until something answers there and resolves to its status;
 * it throws if workerd exits first or nothing answers within 30 s.
 */
async function withWorkerd(config, measure) {
  const t0 = process.hrtime.bigint();
  const child = spawn(workerd, ["serve", config], { stdio: "ignore" });
  let exited = false;
  child.on("exit", () => (exited = true));
  const firstAnswer = async (port, urlPath) => {
    for (;;) {
      if (exited) throw new Error(`workerd exited before answering (${config})`);
      const status = await get(port, urlPath);
      if (status !== 0) return status;
      if (Number(process.hrtime.bigint() - t0) > 30e9) throw new Error(`${config}: no answer in 30 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  try {
    return await measure(firstAnswer);
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => (exited ? r() : child.on("exit", r)));
  }
}

const sinceMs = (t) => Number(process.hrtime.bigint() - t) / 1e6;

/**
 * Milliseconds from spawning `workerd serve <config>` to the first 200 on
 * `urlPath` at `port` (which the config listens on). Throws if workerd
 * exits, answers anything but 200, or takes over 30 s.
 */
export function coldStartMs(config, port, urlPath) {
  const t0 = process.hrtime.bigint();
  return withWorkerd(config, async (firstAnswer) => {
    const status = await firstAnswer(port, urlPath);
    if (status !== 200) throw new Error(`${config}: status ${status}`);
    return sinceMs(t0);
  });
}

/**
 * Milliseconds of the first request to a worker whose isolate has already
 * started: spawn `workerd serve <config>`, wait until `probePort` (a socket
 * the config gives another worker of the same process) answers anything,
 * by which time workerd has loaded every worker of the config, then time
 * one GET of `urlPath` at `port`, which must answer 200. What a caller
 * waits for when the runtime started the isolate before the request came
 * (Cloudflare does so while the TLS handshake is under way); the module's
 * decode, instantiation and start are not in it, the first request's own
 * work is.
 */
export function firstRequestMs(config, port, probePort, urlPath) {
  return withWorkerd(config, async (firstAnswer) => {
    await firstAnswer(probePort, "/");
    const t1 = process.hrtime.bigint();
    const status = await get(port, urlPath);
    const ms = sinceMs(t1);
    if (status !== 200) throw new Error(`${config}: status ${status}`);
    return ms;
  });
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Rounded to 0.1 ms. */
export const round = (x) => Math.round(x * 10) / 10;
