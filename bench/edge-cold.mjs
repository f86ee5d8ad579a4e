// Cold start for bench/edge.sh: spawn a fresh workerd for one worker, time
// until its first 200, several times, alternating between the workers.
//   node bench/edge-cold.mjs <list: "name port config [path [probe port]]" per line> <reps> <path>
// A line's own path replaces <path> for that worker. With a probe
// port (a socket of the same config on another worker), what is timed is
// only the first request, once workerd is up (cold.mjs, firstRequestMs).
import fs from "node:fs";
import { coldStartMs, firstRequestMs, median, round as r } from "./cold.mjs";

const list = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => l.split(" "));
const reps = Number(process.argv[3] ?? 7);
const urlPath = process.argv[4];

const out = Object.fromEntries(list.map(([n]) => [n, []]));
for (let i = 0; i < reps; i++) {
  for (const [n, port, config, own, probe] of list) {
    const p = own || urlPath;
    out[n].push(await (probe ? firstRequestMs(config, Number(port), Number(probe), p) : coldStartMs(config, Number(port), p)));
  }
}
console.log(JSON.stringify(Object.fromEntries(list.map(([n]) => [n, { median_ms: r(median(out[n])), ms: out[n].map(r) }]))));
