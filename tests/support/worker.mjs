// Starts the built worker (build/index.js + wasm) in Miniflare, the same
// workerd runtime as production, with a fresh in-memory KV.
import { Miniflare } from "miniflare";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The callback token every test uses (set as the EXOEDGE_TOKENS secret). */
export const TOKEN = "test-token-0123456789abcdef";
/** A second valid token, to test rotation. */
export const TOKEN2 = "rotated-token-abcdef0123456789";

/**
 * The built worker as a Miniflare worker's script options: its module, the
 * wasm beside it, the compatibility date. Every set-up that runs the worker
 * (startWorker, tests/support/faults.mjs, tests that wrap a broken binding)
 * starts from this.
 * @param {string} [build] build directory under the repository (default:
 *   `EXOEDGE_BUILD_DIR`, else `build`)
 */
export function workerModule(build = process.env.EXOEDGE_BUILD_DIR || "build") {
  const dir = path.join(root, build);
  return {
    modules: true,
    scriptPath: path.join(dir, "index.js"),
    modulesRoot: dir,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true },
    ],
    compatibilityDate: "2026-04-01",
  };
}

/**
 * @param {object} opts
 * @param {Record<string,string>} [opts.kv] initial CONFIG KV entries
 * @param {Record<string,string>} [opts.bindings] extra vars/secrets
 * @param {Record<string,string>} [opts.kvNamespaces] extra KV namespaces
 * @param {Record<string,string>} [opts.durableObjects] extra Durable Object bindings
 * @param {object} [opts.miniflare] extra Miniflare options (durableObjects, outboundService, ...)
 *
 * `EXOEDGE_BUILD_DIR` (default `build`) runs the tests against another
 * build, e.g. a deliberately broken one to check that a test can fail.
 */
export async function startWorker(opts = {}) {
  const mf = new Miniflare({
    ...workerModule(),
    kvNamespaces: ["CONFIG", "STATE", ...(opts.kvNamespaces ?? [])],
    // As wrangler.toml binds them; the event logs are SQLite-backed.
    durableObjects: {
      ROUTING_STATE: "RoutingState",
      USER_STATE: "UserState",
      EVENT_LOG: { className: "EventLog", useSQLite: true },
      EVENT_INDEX: { className: "DeadLetterIndex", useSQLite: true },
      ...(opts.durableObjects ?? {}),
    },
    bindings: { EXOEDGE_TOKENS: `${TOKEN},${TOKEN2}`, KV_BUDGET_MS: "150", ...(opts.bindings ?? {}) },
    ...(opts.miniflare ?? {}),
  });
  await mf.ready;
  const kv = await mf.getKVNamespace("CONFIG");
  const state = await mf.getKVNamespace("STATE");
  for (const [k, v] of Object.entries(opts.kv ?? {})) await kv.put(k, v);
  return {
    mf,
    kv,
    /** the STATE namespace (sticky:<E.164>, caller:<E.164>) */
    state,
    /** fetch a path on the worker; `path` may include a query */
    fetch: (p, init) => mf.dispatchFetch(new URL(p, "http://exoedge.test").toString(), init),
    /** the same, with the token path prefix */
    call: (p, init) => mf.dispatchFetch(new URL(`/t/${TOKEN}${p}`, "http://exoedge.test").toString(), init),
    close: () => mf.dispose(),
  };
}
