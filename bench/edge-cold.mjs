// Cold start for bench/edge.sh: spawn a fresh workerd for one worker, time
// until its first 200, several times, alternating between the workers.
//   node bench/edge-cold.mjs <list: "name port config [path]" per line> <reps> <path>
// (a line's own path, if given, replaces <path> for that worker)
import fs from "node:fs";
import { coldStartMs, median, round as r } from "./cold.mjs";

const list = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => l.split(" "));
const reps = Number(process.argv[3] ?? 7);
const urlPath = process.argv[4];

const out = Object.fromEntries(list.map(([n]) => [n, []]));
for (let i = 0; i < reps; i++) for (const [n, port, config, own] of list) out[n].push(await coldStartMs(config, Number(port), own ?? urlPath));
console.log(JSON.stringify(Object.fromEntries(list.map(([n]) => [n, { median_ms: r(median(out[n])), ms: out[n].map(r) }]))));
