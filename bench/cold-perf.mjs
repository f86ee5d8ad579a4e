// Sums bench/cold-perf.sh's perf recordings by phase and by owner (see
// there). Only workerd's main thread counts: V8's background threads (the
// tier-up compiler) do not delay the answer.
//   node bench/cold-perf.mjs <results dir> <name>...   (reads <name>-<i>.data)
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const [dir, ...workers] = process.argv.slice(2);
const MS_PER_SAMPLE = 1000 / 20000; // perf record -F 20000

// The first phase whose pattern matches any frame of a sample wins.
const PHASES = [
  ["wasm lazy compile", /WasmCompileLazy|wasm::CompileLazy|Liftoff|WasmCompilationUnit/],
  ["JS compile", /CompileLazy|Compiler::Compile|v8::internal::Parser|PreParser|Scanner/],
  ["wasm module decode/validate", /ModuleDecoder|DecodeWasmModule|FullValidationTag|CompileNativeModule|SyncCompile|AsyncCompile/],
  ["wasm instantiate", /InstanceBuilder/],
  ["GC", /Heap::|Scavenge|MarkCompact|GarbageCollect/],
  ["isolate/context setup", /Genesis|Bootstrapper|Snapshot|Deserializer::|NewContext|Isolate::Init/],
  ["running wasm/JS", /Builtins_|Execution::Call|JS:/],
];
// The innermost exoedge frame matching one of these names the owner.
const OWNERS = [
  ["config::parse", /config::parse/],
  ["CallParams::from_query", /CallParams::from_query/],
  ["handle_connect", /handle_connect/],
  ["routes::health", /routes::health/],
  ["http::respond", /http::respond/],
  ["config KV read", /read_kv|worker::kv::/],
  ["auth (token)", /auth::|sha2::/],
  ["router::callback", /router::callback/],
  ["fetch entry (answer, dispatch)", /exoedge::fetch|exoedge::answer/],
];

function samples(file) {
  const out = execFileSync("perf", ["script", "-i", file, "-F", "comm,tid,ip,sym,dso"], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const all = [];
  for (const block of out.split("\n\n")) {
    const lines = block.trim().split("\n").map((l) => l.trim()).filter(Boolean);
    // The main thread is named after the process; V8's workers are not.
    if (!lines.length || !/^workerd\s/.test(lines[0])) continue;
    all.push(lines.slice(1).map((l) => l.replace(/^[0-9a-f]+ /, "")));
  }
  return all;
}

function summarize(name) {
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(`${name}-`) && f.endsWith(".data"));
  const phase = new Map(), owner = new Map();
  const add = (m, k, kind) => {
    const row = m.get(k) ?? { total: 0 };
    row.total++;
    row[kind] = (row[kind] ?? 0) + 1;
    m.set(k, row);
  };
  for (const f of files) {
    for (const stack of samples(path.join(dir, f))) {
      const text = stack.join("\n");
      const p = PHASES.find(([, rx]) => rx.test(text))?.[0] ?? (/kallsyms/.test(stack[0] ?? "") ? "kernel" : "other");
      add(phase, p, "all");
      if (!text.includes("JS:")) continue; // no wasm or JS frame: not the request's own work
      let o = "other wasm/JS";
      for (const frame of stack) {
        if (!frame.includes("JS:")) continue;
        const hit = OWNERS.find(([, rx]) => rx.test(frame));
        if (hit) { o = hit[0]; break; }
      }
      add(owner, o, p === "wasm lazy compile" ? "compile" : "run");
    }
  }
  const ms = (n) => ((n ?? 0) * MS_PER_SAMPLE / files.length).toFixed(2);
  console.log(`\n### ${name} (${files.length} cold starts; perf ms per start, inflated by perf)\n`);
  console.log("| phase | ms |\n|---|---:|");
  let sum = 0;
  for (const [k, v] of [...phase].sort((a, b) => b[1].total - a[1].total)) { console.log(`| ${k} | ${ms(v.total)} |`); sum += v.total; }
  console.log(`| **main thread, all** | **${ms(sum)}** |`);
  console.log("\n| owner (innermost exoedge frame) | wasm lazy compile | the rest | total |\n|---|---:|---:|---:|");
  for (const [k, v] of [...owner].sort((a, b) => b[1].total - a[1].total)) console.log(`| ${k} | ${ms(v.compile)} | ${ms(v.run)} | ${ms(v.total)} |`);
}

for (const w of workers) summarize(w);
