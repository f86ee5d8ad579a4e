// Starts the built workers (build/: the callback worker; build-backend/: the
// backend) in Miniflare, the same workerd runtime as production, with fresh
// in-memory KV, D1 and Durable Object storage.
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

/** Miniflare's worker names: the callback worker is the entry, as in production. */
export const CALLBACKS = "exoedge-callbacks";
export const BACKEND = "exoedge";

/** The backend's Durable Object classes, bound as wrangler.toml binds them. */
const OBJECTS = {
  ROUTING_STATE: "RoutingState",
  USER_STATE: "UserState",
  // SQLite-backed, as the migrations declare them.
  EVENT_LOG: { className: "EventLog", useSQLite: true },
  EVENT_INDEX: { className: "DeadLetterIndex", useSQLite: true },
};

/** The same classes as the callback worker binds them: by `script_name`. */
function remote(objects) {
  return Object.fromEntries(
    Object.entries(objects).map(([b, spec]) => [b, { ...(typeof spec === "string" ? { className: spec } : spec), scriptName: BACKEND }]),
  );
}

/** Options Miniflare takes for the whole instance, not per worker. */
const SHARED = new Set(["host", "port", "https", "handleRuntimeStdio", "log", "verbose", "inspectorPort", "unsafeInspectorProxy"]);

/**
 * The two workers of callbacks/wrangler.toml and wrangler.toml as Miniflare
 * `workers` entries: the callback worker (`build`, default as
 * `workerModule`'s) first, then the backend (`EXOEDGE_BACKEND_DIR`, default
 * `build-backend`), which the callback worker reaches through its BACKEND
 * service binding and whose Durable Object classes it binds by script name.
 * Both read the same KV, D1 and Durable Object storage, as deployed.
 * @param {object} [o]
 * @param {object} [o.both] worker options for both (bindings, kvNamespaces,
 *   d1Databases, outboundService, wrappedBindings, ...); lists and maps are
 *   added to the defaults
 * @param {object} [o.backend] options for the backend only
 * @param {Record<string,any>} [o.objects] the Durable Object bindings, in
 *   place of wrangler.toml's four (e.g. to wrap one with a broken binding)
 * @param {string} [o.build] the callback worker's build directory
 */
export function twoWorkers({ both = {}, backend = {}, objects: own, build } = {}) {
  const merge = (base, ...extra) => {
    const out = { ...base };
    for (const e of extra) {
      for (const [k, v] of Object.entries(e)) {
        if (Array.isArray(v) && Array.isArray(out[k])) out[k] = [...new Set([...out[k], ...v])];
        else if (v && typeof v === "object" && !Array.isArray(v) && typeof v !== "function" && out[k] && typeof out[k] === "object") out[k] = { ...out[k], ...v };
        else out[k] = v;
      }
    }
    return out;
  };
  const objects = { ...(own ?? OBJECTS), ...(both.durableObjects ?? {}) };
  const { durableObjects: _ignored, ...rest } = both;
  return [
    merge(
      { name: CALLBACKS, ...workerModule(build), kvNamespaces: ["CONFIG", "STATE"], serviceBindings: { BACKEND } },
      rest,
      { durableObjects: remote(objects) },
    ),
    merge(
      { name: BACKEND, ...workerModule(process.env.EXOEDGE_BACKEND_DIR || "build-backend"), kvNamespaces: ["CONFIG", "STATE"] },
      rest,
      { durableObjects: objects },
      backend,
    ),
  ];
}

/**
 * @param {object} opts
 * @param {Record<string,string>} [opts.kv] initial CONFIG KV entries
 * @param {Record<string,string>} [opts.bindings] extra vars/secrets
 * @param {Record<string,string>} [opts.kvNamespaces] extra KV namespaces
 * @param {Record<string,string>} [opts.durableObjects] extra Durable Object bindings
 * @param {object} [opts.miniflare] extra Miniflare options (host, port,
 *   handleRuntimeStdio for the instance; outboundService, d1Databases, ...
 *   for both workers)
 *
 * Runs the two workers of a deployment (`twoWorkers`); every request enters
 * through the callback worker, as Exotel's, the apps' and the gateway's do.
 * `EXOEDGE_BUILD_DIR` (default `build`) runs the tests against another
 * callback-worker build, e.g. a deliberately broken one to check that a test
 * can fail; `EXOEDGE_BACKEND_DIR` (default `build-backend`) the backend's.
 */
export async function startWorker(opts = {}) {
  const shared = {};
  const perWorker = {};
  for (const [k, v] of Object.entries(opts.miniflare ?? {})) (SHARED.has(k) ? shared : perWorker)[k] = v;
  const mf = new Miniflare({
    ...shared,
    workers: twoWorkers({
      both: {
        ...perWorker,
        kvNamespaces: opts.kvNamespaces ?? [],
        durableObjects: opts.durableObjects ?? {},
        bindings: { EXOEDGE_TOKENS: `${TOKEN},${TOKEN2}`, KV_BUDGET_MS: "150", ...(opts.bindings ?? {}) },
      },
    }),
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
