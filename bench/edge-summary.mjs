// Summary table for bench/edge.sh's results directory.
//   node bench/edge-summary.mjs bench/results/edge-<time>
import fs from "node:fs";
import path from "node:path";

const dir = process.argv[2];
const ms = (v, unit) => Number(v) * { us: 0.001, ms: 1, s: 1000 }[unit];
function parse(file) {
  const t = fs.readFileSync(file, "utf8");
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(t);
    return m ? ms(m[1], m[2]) : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(t)?.[1] ?? NaN);
  const timeouts = Number(/timeout (\d+)/.exec(t)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(t)?.[1] ?? 0);
  return { p50: pct(50), p99: pct(99), rps, timeouts, non2xx };
}
const runs = {};
for (const f of fs.readdirSync(path.join(dir, "wrk"))) {
  const m = /^c(\d+)-(.+)-r(\d+)\.txt$/.exec(f);
  if (!m) continue;
  ((runs[m[1]] ??= {})[m[2]] ??= []).push(parse(path.join(dir, "wrk", f)));
}
const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
const f3 = (x) => x.toFixed(3);
const f2 = (x) => x.toFixed(2);
const lines = [];
lines.push(fs.readFileSync(path.join(dir, "machine.txt"), "utf8").trim().split("\n").map((l) => `    ${l}`).join("\n"), "");
lines.push("| conns | worker | p50 ms | p99 ms | req/s | wrk timeouts | p50 ÷ hello | p99 ÷ hello | req/s ÷ JS | req/s ÷ hello |");
lines.push("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const c of Object.keys(runs).sort((a, b) => a - b)) {
  const agg = Object.fromEntries(
    Object.entries(runs[c]).map(([n, rs]) => [
      n,
      { p50: mean(rs.map((r) => r.p50)), p99: mean(rs.map((r) => r.p99)), rps: mean(rs.map((r) => r.rps)), timeouts: rs.reduce((a, r) => a + r.timeouts, 0), non2xx: rs.reduce((a, r) => a + r.non2xx, 0) },
    ]),
  );
  const h = agg["hello-rs"], js = agg.js;
  const order = Object.keys(agg).sort((a, b) => (a === "hello-rs" ? -1 : b === "hello-rs" ? 1 : a === "js" ? -1 : b === "js" ? 1 : a.localeCompare(b)));
  for (const n of order) {
    const a = agg[n];
    const rel = n !== "hello-rs" && n !== "js";
    lines.push(
      `| ${c} | ${n}${a.non2xx ? ` (${a.non2xx} non-2xx)` : ""} | ${f3(a.p50)} | ${f3(a.p99)} | ${Math.round(a.rps).toLocaleString("en")} | ${a.timeouts} | ${rel ? f2(a.p50 / h.p50) : ""} | ${rel ? f2(a.p99 / h.p99) : ""} | ${rel ? f2(a.rps / js.rps) : ""} | ${rel ? f2(a.rps / h.rps) : ""} |`,
    );
  }
}
const cold = JSON.parse(fs.readFileSync(path.join(dir, "coldstart.json"), "utf8"));
lines.push("", "Cold start (fresh workerd → first 200 on Connect), median:", "");
for (const [n, v] of Object.entries(cold)) {
  lines.push(`- ${n}: ${v.median_ms} ms (${v.ms.join(", ")})${n !== "hello" ? `, ${f2(v.median_ms / cold.hello.median_ms)}× hello` : ""}`);
}
console.log(lines.join("\n"));
