#!/usr/bin/env node
// Creates a user record for the sample-app backend's /login (docs/push.md):
// PBKDF2-HMAC-SHA256 (100 000 iterations, 16-byte random salt, 32-byte key),
// the format handlers::push::app_api::UserRecord reads. The password is
// read from EXOEDGE_PASSWORD or stdin and never printed.
//
//   EXOEDGE_PASSWORD=... node scripts/add-user.mjs alice --exophone sip:08047115777 --display "Alice"
//   -> prints the key and the JSON; with --put it runs
//      `npx wrangler kv key put --binding DEVICES user:alice '<json>'` for you.
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Workers' WebCrypto refuses more than 100 000 PBKDF2 iterations. */
export const ITERATIONS = 100_000;

/**
 * @param {string} password
 * @param {{subscriber?: string, exophone?: string, display?: string, iterations?: number}} [opts]
 */
export function userRecord(password, opts = {}) {
  if (!password) throw new Error("empty password");
  const iterations = opts.iterations ?? ITERATIONS;
  const salt = randomBytes(16);
  const hash = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, 32, "sha256");
  const rec = {
    password: { alg: "pbkdf2-sha256", iterations, salt: salt.toString("base64"), hash: hash.toString("base64") },
  };
  if (opts.subscriber) rec.subscriber_name = opts.subscriber;
  if (opts.exophone) rec.exophone = opts.exophone;
  if (opts.display) rec.contact_display_name = opts.display;
  return rec;
}

/** The KV key of a user. */
export const userKey = (name) => `user:${name}`;

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

async function main(argv) {
  const [name, ...rest] = argv;
  if (!name || name.startsWith("-")) {
    console.error("usage: EXOEDGE_PASSWORD=... node scripts/add-user.mjs <user> [--subscriber S] [--exophone E] [--display D] [--put]");
    process.exit(2);
  }
  if (/\s|\//.test(name) || Buffer.byteLength(name) > 64) throw new Error("user name: no whitespace or '/', at most 64 bytes");
  const opts = {};
  let put = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--put") put = true;
    else if (a === "--subscriber") opts.subscriber = rest[++i];
    else if (a === "--exophone") opts.exophone = rest[++i];
    else if (a === "--display") opts.display = rest[++i];
    else throw new Error(`unknown option ${a}`);
  }
  const sub = opts.subscriber ?? name;
  if (/\s/.test(sub) || Buffer.byteLength(sub) > 16) {
    throw new Error(`subscriber name ${JSON.stringify(sub)}: Exotel allows at most 16 bytes and no whitespace; pass --subscriber`);
  }
  const password = process.env.EXOEDGE_PASSWORD ?? (await readStdin());
  const json = JSON.stringify(userRecord(password, opts));
  if (put) {
    execFileSync("npx", ["wrangler", "kv", "key", "put", "--binding", "DEVICES", userKey(name), json], { stdio: "inherit" });
  } else {
    console.log(userKey(name));
    console.log(json);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
