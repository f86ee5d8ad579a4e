// Cold start for bench/edge.sh: spawn a fresh workerd for one worker, time
// until its first 200, several times, alternating between the workers.
//   node bench/edge-cold.mjs <list: "name port config" per line> <reps> <path>
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const workerd = path.join(root, "node_modules/.bin/workerd");
const list = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => l.split(" "));
const reps = Number(process.argv[3] ?? 7);
const urlPath = process.argv[4];

const get = (port) =>
  new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", () => resolve(0));
  });

async function once(port, config) {
  const t0 = process.hrtime.bigint();
  const child = spawn(workerd, ["serve", config], { stdio: "ignore" });
  let exited = false;
  child.on("exit", () => (exited = true));
  try {
    for (;;) {
      if (exited) throw new Error(`workerd exited before answering (${config})`);
      const status = await get(Number(port));
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

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const out = Object.fromEntries(list.map(([n]) => [n, []]));
for (let i = 0; i < reps; i++) for (const [n, port, config] of list) out[n].push(await once(port, config));
const r = (x) => Math.round(x * 10) / 10;
console.log(JSON.stringify(Object.fromEntries(list.map(([n]) => [n, { median_ms: r(median(out[n])), ms: out[n].map(r) }]))));
