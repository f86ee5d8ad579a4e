// The hand-written JavaScript alternative the Rust worker is measured
// against (BENCHMARKS.md): what a small JS worker answering Connect would
// do — check the token in the path, read the query, look the line up in a
// config object, serialise its Connect section. Any path answers Connect.
import connect from "./connect.json";

const TOKEN = "bench-token-0123456789abcdef";
const LINES = { "+918047115777": { connect }, "08047115777": { connect } };

export default {
  async fetch(req) {
    const url = new URL(req.url);
    if (!url.pathname.startsWith(`/t/${TOKEN}/`)) {
      return new Response('{"error":"unauthorized"}', { status: 401, headers: { "content-type": "application/json" } });
    }
    const q = url.searchParams;
    if (!q.get("CallSid")) {
      return new Response('{"error":"CallSid is required"}', { status: 400, headers: { "content-type": "application/json" } });
    }
    const line = LINES[q.get("CallTo") ?? ""];
    const body = JSON.stringify(line ? line.connect : connect);
    return new Response(body, {
      headers: { "content-type": "application/json", "cache-control": "no-store", "content-length": String(body.length) },
    });
  },
};
