// Whole calls against the REAL built worker: Miniflare serves it on a real
// loopback port, and the exoedge-sim binary plays Exotel's side of each
// example call in sim/examples/, judging every answer as Exotel would.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker, TOKEN } from "./support/worker.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const bin = process.env.EXOEDGE_SIM_BIN ?? path.join(targetDir, "debug", "exoedge-sim");

let w;
let origin; // http://127.0.0.1:<port>
let dir;

before(async () => {
  if (!existsSync(bin)) {
    const b = spawnSync("cargo", ["build", "-p", "exoedge-sim"], { cwd: root, stdio: "inherit" });
    assert.equal(b.status, 0, "cargo build -p exoedge-sim failed");
  }
  w = await startWorker({ miniflare: { host: "127.0.0.1", port: 0 } });
  origin = (await w.mf.ready).toString().replace(/\/$/, "");
  dir = mkdtempSync(path.join(tmpdir(), "exoedge-sim-"));
});

after(async () => {
  await w?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs one example; returns {code, stdout, stderr, t (the --json transcript)}. */
function sim(example, base, extra = []) {
  const out = path.join(dir, `${example}-${Math.random().toString(36).slice(2)}.json`);
  const r = spawnSync(bin, ["run", path.join(root, "sim/examples", `${example}.toml`), "--base", base, "--json", out, ...extra], {
    encoding: "utf8",
    timeout: 60_000,
  });
  const t = existsSync(out) ? JSON.parse(readFileSync(out, "utf8")) : null;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, t };
}

const tokenBase = () => `${origin}/t/${TOKEN}`;
const step = (t, applet, nth = 0) => t.steps.filter((s) => s.applet === applet)[nth];

test("support line: greeting, gather, connect with popups and playback, passthru OK, status", () => {
  const { code, stdout, t } = sim("support-line", tokenBase());
  assert.equal(code, 0, stdout);
  assert.equal(t.ok, true, stdout);
  assert.deepEqual(t.failures, []);
  // What the caller hears comes from config/default.json.
  assert.equal(t.heard[0], "Thanks for calling support. Your call may be recorded.");
  assert.match(t.heard[1], /order number/);
  assert.equal(step(t, "gather").digits, "9876543210");
  // The default line rings its two agents in order; the second answers.
  assert.deepEqual(t.rang, ["+919812345678", "+919812345679"]);
  const connect = step(t, "connect");
  assert.equal(connect.branch, "After the call conversation ends");
  assert.equal(connect.fallback_used, false);
  assert.deepEqual(connect.agent_heard.slice(0, 1), ["Call from the support line"]);
  const popups = connect.exchanges.filter((e) => e.role.startsWith("popup"));
  assert.equal(popups.length, 7);
  assert.ok(popups.every((e) => e.status === 200));
  // HEAD/GET parity and exact Content-Types held for greeting and playback.
  const playback = connect.exchanges.filter((e) => e.url.endsWith("/exotel/playback"));
  assert.deepEqual(playback.map((e) => e.method), ["HEAD", "GET"]);
  assert.ok(playback.every((e) => e.problems.length === 0));
  // 10 digits -> the passthru rule answers 200.
  assert.equal(step(t, "passthru").branch, "Once the URL returns OK (200 OK)");
  assert.equal(t.status_callback.status, 200);
  assert.equal(t.status, "completed");
  // Legs travelled in both forms and the worker accepted both.
  const withLegs = t.steps.flatMap((s) => s.exchanges).filter((e) => e.query.some(([k]) => k.startsWith("Legs")));
  assert.ok(withLegs.some((e) => e.query.some(([k]) => k === "Legs")), "JSON-string Legs sent");
  assert.ok(withLegs.some((e) => e.query.some(([k]) => k.startsWith("Legs["))), "bracketed Legs sent");
  // The token never appears in the transcript.
  assert.ok(!stdout.includes(TOKEN) && !JSON.stringify(t).includes(TOKEN));
});

test("nobody answers: 'If nobody answers', then passthru 302 to the voicemail greeting", () => {
  const { code, stdout, t } = sim("nobody-answers", tokenBase());
  assert.equal(code, 0, stdout);
  assert.equal(step(t, "connect").branch, "If nobody answers");
  assert.equal(step(t, "passthru").branch, "If the url returns anything else");
  assert.equal(step(t, "passthru").exchanges[0].status, 302);
  assert.equal(t.steps.at(-1).id, "voicemail");
  assert.equal(t.status, "busy");
});

test("outbound call with AMD MACHINE: passthru takes 'anything else'; JSON StatusCallback accepted", () => {
  const { code, stdout, t } = sim("outbound-amd", tokenBase());
  assert.equal(code, 0, stdout);
  const p = step(t, "passthru").exchanges[0];
  assert.ok(p.query.some(([k, v]) => k === "Legs[0][AnsweredBy]" && v === "MACHINE"), JSON.stringify(p.query));
  assert.equal(p.status, 302);
  assert.equal(t.status_callback.status, 200);
  assert.equal(JSON.parse(t.status_callback.sent_body).Legs[1].AnsweredBy, "MACHINE");
});

test("dial whom answers text/plain numbers", () => {
  const { code, stdout, t } = sim("app-to-app", tokenBase());
  assert.equal(code, 0, stdout);
  const d = step(t, "dialwhom");
  assert.equal(d.exchanges[0].content_type, "text/plain");
  assert.equal(d.branch, "After the call conversation ends");
  assert.ok(t.rang.length >= 1);
});

test("Basic credentials in the base URL work like the token path", () => {
  const base = origin.replace("http://", `http://exotel:${TOKEN}@`);
  const { code, stdout, t } = sim("support-line", base, ["--legs", "json", "--status-format", "json"]);
  assert.equal(code, 0, stdout);
  assert.equal(t.ok, true);
  assert.ok(!stdout.includes(TOKEN) && !JSON.stringify(t).includes(TOKEN));
});

test("a wrong token is a failure Exotel would hit: non-zero exit, reasons in plain words", () => {
  const { code, stdout, t } = sim("support-line", `${origin}/t/wrong-token-0123456789abc`);
  assert.equal(code, 1, stdout);
  assert.equal(t.ok, false);
  assert.ok(t.failures.some((f) => f.includes("HTTP 401")), t.failures.join("\n"));
  assert.ok(t.failures.some((f) => f.startsWith("connect: we didn't dial anyone")), t.failures.join("\n"));
  assert.match(stdout, /Result: FAILED/);
});

test("fetch_after_attempt against the real worker: each re-fetch offers the next sales agent", async () => {
  // config/example.json in KV, open around the clock, no CRM lookup.
  const c = JSON.parse(readFileSync(path.join(root, "config/example.json"), "utf8"));
  const always = Object.fromEntries(["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, ["00:00-24:00"]]));
  c.lines["+918047115777"].hours = { timezone: "Asia/Kolkata", weekly: always };
  delete c.lines["+918047115777"].personalize;
  const w2 = await startWorker({ kv: { "config.json": JSON.stringify(c) }, miniflare: { host: "127.0.0.1", port: 0 } });
  try {
    const base = `${(await w2.mf.ready).toString().replace(/\/$/, "")}/t/${TOKEN}`;
    const { code, stdout, t } = sim("ivr-sales-refetch", base);
    assert.equal(code, 0, stdout);
    const conn = step(t, "connect");
    const fetches = conn.exchanges.filter((e) => e.method === "GET");
    assert.equal(fetches.length, 4, stdout);
    assert.deepEqual(fetches.map((e) => e.role), ["primary", "refetch", "refetch", "refetch"]);
    // Three different sales agents, then the line's overflow number, who answers.
    assert.equal(new Set(t.rang.slice(0, 3)).size, 3, t.rang.join(","));
    assert.ok(t.rang.slice(0, 3).every((n) => n.startsWith("+9198000000")), t.rang.join(","));
    assert.equal(t.rang[3], "+919812345678");
    // Each re-fetch carried the previous attempts.
    const q = (e, k) => e.query.find(([key]) => key === k)?.[1];
    assert.equal(q(fetches[1], "DialCallStatus"), "no-answer");
    assert.equal(q(fetches[1], "Legs[0][Number]"), t.rang[0]);
    assert.equal(q(fetches[3], "DialCallStatus"), "busy");
    assert.equal(q(fetches[3], "Legs[2][Number]"), t.rang[2]);
    assert.equal(conn.branch, "After the call conversation ends");
    assert.equal(t.status_callback.status, 200);
  } finally {
    await w2.close();
  }
});
