// The call trace's D1 database in tests: applies migrations/ the way
// `wrangler d1 migrations apply` does (each file in order, statement by
// statement), and waits for rows the worker writes in ctx.wait_until.
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The admin token every console test uses (the EXOEDGE_ADMIN_TOKENS secret). */
export const ADMIN = "admin-token-0123456789abcdef";

/** Applies every migrations/*.sql file to the D1 binding `name`; returns the database. */
export async function migrate(mf, name = "TRACE") {
  const db = await mf.getD1Database(name);
  const dir = path.join(root, "migrations");
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) {
    const sql = readFileSync(path.join(dir, f), "utf8").replace(/--.*$/gm, "");
    for (const stmt of sql.split(";").map((s) => s.trim()).filter(Boolean)) await db.prepare(stmt).run();
  }
  return db;
}

/** Every stored row, oldest first. */
export async function allRows(db) {
  return (await db.prepare("SELECT * FROM trace ORDER BY id").all()).results;
}

/** Waits until `pred(rows)` holds (writes land after the answer), or fails after `ms`. */
export async function waitRows(db, pred, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const rows = await allRows(db);
    if (pred(rows)) return rows;
    if (Date.now() > end) throw new Error(`trace rows never matched; have ${rows.length}: ${JSON.stringify(rows).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
