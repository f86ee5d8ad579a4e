// An in-memory KV namespace for workerd's kvNamespace binding: workerd sends
// GET/PUT/DELETE to this service with the key as the URL path. Empty at
// start, so the worker serves its embedded config (the benchmark's line),
// unless a SEED text binding (a JSON object: key to value) gives the store
// its first contents (bench/cold-compare.sh, COLD_KV_CONFIG).
const store = new Map();
let seeded = false;

export default {
  async fetch(req, env) {
    if (!seeded) {
      seeded = true;
      for (const [k, v] of Object.entries(JSON.parse(env?.SEED ?? "{}"))) store.set(k, v);
    }
    const url = new URL(req.url);
    const key = decodeURIComponent(url.pathname.slice(1));
    switch (req.method) {
      case "GET": {
        const v = store.get(key);
        return v === undefined ? new Response(null, { status: 404 }) : new Response(v);
      }
      case "PUT":
        store.set(key, await req.arrayBuffer());
        return new Response(null, { status: 200 });
      case "DELETE":
        store.delete(key);
        return new Response(null, { status: 200 });
      default:
        return new Response(null, { status: 405 });
    }
  },
};
