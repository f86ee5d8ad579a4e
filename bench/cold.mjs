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
 * Milliseconds from spawning `workerd serve <config>` to the first 200 on
 * `urlPath` at `port` (which the config listens on), polled every
 * millisecond; the process is killed afterwards. Throws if workerd exits,
 * answers anything but 200, or takes over 30 s.
 */
export async function coldStartMs(config, port, urlPath) {
  const t0 = process.hrtime.bigint();
  const child = spawn(workerd, ["serve", config], { stdio: "ignore" });
  let exited = false;
  child.on("exit", () => (exited = true));
  try {
    for (;;) {
      if (exited) throw new Error(`workerd exited before answering (${config})`);
      const status = await get(port, urlPath);
      if (status === 200) return Number(process.hrtime.bigint() - t0) / 1e6;
      if (status !== 0) throw new Error(`${config}: status ${status}`);
      if (Number(process.hrtime.bigint() - t0) > 30e9) throw new Error(`${config}: no answer in 30 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => (exited ? r() : child.on("exit", r)));
  }
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Rounded to 0.1 ms. */
export const round = (x) => Math.round(x * 10) / 10;
