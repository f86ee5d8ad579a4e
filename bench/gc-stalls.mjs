// The requests that stalled, and the V8 GC each one falls in (BENCHMARKS.md,
// "Issue 16", the 1-connection p99). Run by bench/gc-stalls.sh, which
// starts workerd with `--trace-gc` and passes its log and start time:
//   node bench/gc-stalls.mjs <url> <secs> <workerd start, epoch ms> <gc log>
// One keep-alive connection, one request after another, each timed; then
// every request over 10 ms is matched with the GC whose log line is closest
// (V8 stamps a GC with ms since the process started; the offset between the
// two clocks is fitted over all stalls, within ±300 ms).
import http from "node:http";
import fs from "node:fs";

const [url, secs, startMs, gcLog] = [process.argv[2], Number(process.argv[3] ?? 10), Number(process.argv[4]), process.argv[5]];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = () => new Promise((resolve, reject) => {
  http.get(url, { agent }, (r) => { r.resume(); r.on("end", resolve); }).on("error", reject);
});
const times = [];
const end = Date.now() + secs * 1000;
while (Date.now() < end) {
  const at = Date.now(), t = performance.now();
  await get();
  times.push([performance.now() - t, at]);
}
agent.destroy();

const sorted = times.map(([ms]) => ms).sort((a, b) => a - b);
const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(3);
console.log(`requests ${times.length}: p50 ${q(0.5)} ms, p99 ${q(0.99)}, p99.9 ${q(0.999)}, max ${q(1)}`);
// How the worst stall grows with the isolate's history: V8 grows the young
// generation while most of it survives scavenges, so each one copies more.
const windows = [];
for (const [ms, at] of times) {
  const w = Math.floor((at - times[0][1]) / 10_000);
  windows[w] = Math.max(windows[w] ?? 0, ms);
}
console.log(`max per 10 s: ${windows.map((ms) => ms.toFixed(1)).join(", ")} ms`);

const gcs = fs.readFileSync(gcLog, "utf8").split("\n").flatMap((l) => {
  const m = /\s(\d+) ms: (\S+) .*?, ([\d.]+) \/ [\d.]+ ms/.exec(l);
  return m ? [{ at: Number(m[1]), kind: m[2], pause: Number(m[3]) }] : [];
});
const stalls = times.filter(([ms]) => ms > 10);
const near = (s, off) => gcs.filter((g) => Math.abs(startMs + g.at + off - s[1]) <= s[0] + 15);
let best = { hits: -1, off: 0 };
for (let off = -300; off <= 300; off += 5) {
  const hits = stalls.filter((s) => near(s, off).length > 0).length;
  if (hits > best.hits) best = { hits, off };
}
console.log(`${stalls.length} requests over 10 ms, ${gcs.length} GCs; ${best.hits} of the stalls fall in a GC (clock offset ${best.off} ms)`);
for (const s of stalls) {
  const g = near(s, best.off).map((g) => `${g.kind} (pause ${g.pause} ms)`).join(", ") || "no GC";
  console.log(`  ${s[0].toFixed(1)} ms at +${s[1] - startMs} ms: ${g}`);
}
