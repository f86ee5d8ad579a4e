// The built worker in Miniflare with broken parts put in place of its
// bindings (issue 6, failure injection). Miniflare's wrapped bindings run a
// small module in the worker's own isolate whose default export builds the
// binding object, so CONFIG and STATE can be KV namespaces whose calls throw,
// reject or never settle, and ROUTING_STATE a namespace whose stubs fail.
// worker-rs reads a KV binding by its methods (get, put, list,
// getWithMetadata, delete) and a Durable Object namespace by its
// constructor's name, which is why the fakes are shaped that way.
import { Miniflare } from "miniflare";
import { TOKEN, twoWorkers } from "./worker.mjs";

// How each fault behaves, in the worker's isolate. `MODE` is a binding of
// the wrapper: "throw" (synchronous exception), "reject" (rejected
// promise), "hang" (a promise that never settles).
const BROKEN = `
function fail(mode, what) {
  if (mode === "throw") throw new Error(what + ": injected failure");
  if (mode === "reject") return Promise.reject(new Error(what + ": injected rejection"));
  return new Promise(() => {}); // hang
}
class DurableObjectNamespace {
  constructor(mode) { this.mode = mode; }
  idFromName(name) { if (this.mode === "throw") throw new Error("idFromName: injected failure"); return { name, toString: () => name }; }
  idFromString(s) { return this.idFromName(s); }
  newUniqueId() { return this.idFromName("u"); }
  get(id) { const mode = this.mode; return { id, fetch: () => fail(mode, "stub.fetch") }; }
}
export function kv(env) {
  const m = env.MODE;
  return {
    get: () => fail(m, "kv.get"),
    getWithMetadata: () => fail(m, "kv.getWithMetadata"),
    put: () => fail(m, "kv.put"),
    list: () => fail(m, "kv.list"),
    delete: () => fail(m, "kv.delete"),
  };
}
export function durable(env) { return new DurableObjectNamespace(env.MODE); }
`;

/**
 * @param {object} opts
 * @param {"throw"|"reject"|"hang"} [opts.config] break the CONFIG namespace
 * @param {"throw"|"reject"|"hang"} [opts.state] break the STATE namespace
 * @param {"throw"|"hang"} [opts.routing] break the ROUTING_STATE namespace
 * @param {Record<string,string>} [opts.kv] CONFIG entries when CONFIG works
 * @param {string} [opts.buildDir] the build to run (default: as startWorker's)
 * @param {object} [opts.miniflare] more options for the worker (outboundService, ...)
 */
export async function startFaulty(opts = {}) {
  const wrapped = {};
  const workers = [];
  const wrapper = (name, fn, mode) => {
    wrapped[name] = { scriptName: `broken-${name.toLowerCase()}`, bindings: { MODE: mode } };
    workers.push({
      name: `broken-${name.toLowerCase()}`,
      modules: [{ type: "ESModule", path: `broken-${name.toLowerCase()}.mjs`, contents: `${BROKEN}\nexport default ${fn};` }],
    });
  };
  if (opts.config) wrapper("CONFIG", "kv", opts.config);
  if (opts.state) wrapper("STATE", "kv", opts.state);
  if (opts.routing) wrapper("ROUTING_STATE", "durable", opts.routing);
  // The deployment's two workers; the callback worker, which answers
  // Exotel, gets the broken bindings in place of its own.
  const [callbacks, backend] = twoWorkers({
    build: opts.buildDir,
    both: { bindings: { EXOEDGE_TOKENS: TOKEN, KV_BUDGET_MS: "150", DO_BUDGET_MS: "300", ...(opts.bindings ?? {}) }, ...(opts.miniflare ?? {}) },
  });
  callbacks.kvNamespaces = callbacks.kvNamespaces.filter((n) => !wrapped[n]);
  for (const n of Object.keys(wrapped)) delete callbacks.durableObjects[n];
  callbacks.wrappedBindings = wrapped;
  const mf = new Miniflare({
    workers: [callbacks, backend, ...workers],
    // Miniflare-wide options, e.g. handleRuntimeStdio to read the worker's log.
    ...(opts.shared ?? {}),
  });
  await mf.ready;
  if (!opts.config) {
    const kv = await mf.getKVNamespace("CONFIG");
    for (const [k, v] of Object.entries(opts.kv ?? {})) await kv.put(k, v);
  }
  return {
    mf,
    fetch: (p, init) => mf.dispatchFetch(new URL(p, "http://exoedge.test").toString(), init),
    call: (p, init) => mf.dispatchFetch(new URL(`/t/${TOKEN}${p}`, "http://exoedge.test").toString(), init),
    close: () => mf.dispose(),
  };
}
