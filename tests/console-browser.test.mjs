// The console in a real browser (issue 15): headless Chromium from the
// distribution's packages, driven by puppeteer-core. The simulator plays
// sim/examples/support-line.toml against the built worker (Miniflare on a
// loopback port, real local D1); the browser logs in, finds that call and
// reads its timeline, and a screenshot is kept in test-artifacts/. A wrong
// credential sees nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";
import { startWorker, TOKEN } from "./support/worker.mjs";
import { ADMIN, migrate, waitRows } from "./support/trace.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const sim = process.env.EXOEDGE_SIM_BIN ?? path.join(targetDir, "debug", "exoedge-sim");
const chromium = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const artifacts = path.join(root, "test-artifacts");

let w, db, origin, dir, browser, transcript;

before(async () => {
  assert.ok(existsSync(chromium), `${chromium} missing: scripts/setup.sh installs Debian's chromium`);
  if (!existsSync(sim)) {
    const b = spawnSync("cargo", ["build", "-p", "exoedge-sim"], { cwd: root, stdio: "inherit" });
    assert.equal(b.status, 0, "cargo build -p exoedge-sim failed");
  }
  w = await startWorker({ bindings: { EXOEDGE_ADMIN_TOKENS: ADMIN }, miniflare: { host: "127.0.0.1", port: 0, d1Databases: ["TRACE"] } });
  db = await migrate(w.mf);
  origin = (await w.mf.ready).toString().replace(/\/$/, "");
  dir = mkdtempSync(path.join(tmpdir(), "exoedge-console-"));
  const out = path.join(dir, "support-line.json");
  const r = spawnSync(sim, ["run", path.join(root, "sim/examples/support-line.toml"), "--base", `${origin}/t/${TOKEN}`, "--json", out, "--quiet"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `simulator failed: ${r.stdout}\n${r.stderr}`);
  transcript = JSON.parse(readFileSync(out, "utf8"));
  await waitRows(db, (rows) => rows.filter((x) => x.call_sid === transcript.call_sid).length >= transcript.steps.length);
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: false, // the flags below say --headless themselves
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${path.join(dir, "profile")}`,
    ],
  });
});

after(async () => {
  await browser?.close();
  await w?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function logIn(page, token) {
  await page.goto(`${origin}/console`);
  await page.waitForSelector('input[name="token"]');
  await page.type('input[name="token"]', token);
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
}

test("a wrong credential sees nothing", async () => {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  try {
    await logIn(page, "wrong-admin-token-0123456789");
    assert.ok(await page.$("#login-error"), "the login page says the credential is wrong");
    const html = await page.content();
    assert.ok(!html.includes(transcript.call_sid) && !html.includes("Support line"), "nothing of the trace shows");
    assert.equal((await page.cookies()).length, 0, "no session");
    const direct = await page.goto(`${origin}/console/call?sid=${transcript.call_sid}`);
    assert.equal(direct.status(), 401);
    assert.ok(!(await page.content()).includes("Support line"));
  } finally {
    await ctx.close();
  }
});

test("log in, find the simulated call, read its timeline", async () => {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  try {
    await page.setViewport({ width: 420, height: 900, deviceScaleFactor: 1, isMobile: true });
    await logIn(page, ADMIN);
    const [cookie] = await page.cookies();
    assert.equal(cookie.name, "exoedge_console");
    assert.ok(cookie.httpOnly && cookie.sameSite === "Strict" && cookie.expires > Date.now() / 1000);
    assert.ok(!cookie.value.includes(ADMIN));
    assert.equal(await page.evaluate(() => document.cookie), "", "scripts cannot read the session");

    // Find the call by the caller's last digits, as a person would.
    await page.type('input[name="last"]', transcript.from.slice(-4));
    await Promise.all([page.waitForNavigation(), page.click("form.f button")]);
    const link = await page.waitForSelector(`#calls a[href*="${transcript.call_sid}"]`);
    await Promise.all([page.waitForNavigation(), link.click()]);

    await page.waitForSelector("#timeline section");
    const sections = await page.$$eval("#timeline section", (s) => s.map((x) => x.innerText));
    const text = sections.join("\n");
    assert.ok(sections.length >= transcript.steps.length, `${sections.length} rows for ${transcript.steps.length} steps`);
    for (const route of ["greeting", "gather", "connect", "passthru", "status"]) assert.match(text, new RegExp(`callback ${route}`), route);
    assert.match(text, /Support line/);
    assert.match(text, /rule/);
    // The transcript and the console agree on who rang (masked here).
    for (const n of transcript.rang) assert.ok(text.includes(n.replace(/^sip:/, "").slice(-4)), `agent ${n} not in the timeline`);
    assert.ok(!text.includes(transcript.from.replace(/^0/, "")), "the caller's number is masked");
    // Times are shown in the viewer's zone by the page's script.
    assert.ok(!(await page.$eval("#timeline time", (t) => t.textContent)).endsWith("UTC"));

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, "console-timeline.png"), fullPage: true });
    // The top of it, greeting to Connect, is README's docs/console.png.
    await page.screenshot({ path: path.join(artifacts, "console-timeline-top.png"), clip: { x: 0, y: 0, width: 420, height: 1180 } });

    // The export link, fetched with the browser's session (the page's CSP
    // lets its own scripts fetch nothing).
    const exported = await (await fetch(`${origin}/console/export?sid=${transcript.call_sid}`, { headers: { cookie: `${cookie.name}=${cookie.value}` } })).json();
    assert.equal(exported.call_sid, transcript.call_sid);
    assert.equal(exported.rows.length, sections.length);
  } finally {
    await ctx.close();
  }
});
