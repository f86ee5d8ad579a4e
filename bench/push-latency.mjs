// The push relay's added latency: POST /exotel/push through the built
// worker on workerd (Miniflare), with FCM, Google OAuth and the APNs relay
// faked on 127.0.0.1, against the same fake FCM called directly from Node.
// The difference is what the relay adds (parse, KV read, message build,
// one outbound fetch, JSON answer) on top of the provider's own time.
//
//   scripts/build-worker.sh && node bench/push-latency.mjs [N]
import { performance } from "node:perf_hooks";
import { startWorker, TOKEN } from "../tests/support/worker.mjs";
import { startFakes, fakeServiceAccount, pushBindings, PROJECT } from "../tests/support/push-fakes.mjs";

const N = Number(process.argv[2] ?? 500);
const WARMUP = 50;

function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, median: q(0.5), p90: q(0.9), p99: q(0.99), max: s.at(-1) };
}
const fmt = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, k === "n" ? v : Number(v.toFixed(2))]));

async function time(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

const fakes = await startFakes();
const sa = fakeServiceAccount(`${fakes.base}/token`);
fakes.state.publicKey = sa.publicKey;
const w = await startWorker({ kvNamespaces: ["DEVICES"], bindings: pushBindings(fakes, sa) });
const devices = await w.mf.getKVNamespace("DEVICES");
await devices.put("dev:bench", JSON.stringify({ devices: [{ device_id: "p", platform: "android", token: "fcm-bench", registered_ms: 1 }] }));
await devices.put("dev:bench2", JSON.stringify({ devices: [
  { device_id: "p", platform: "android", token: "fcm-bench-a", registered_ms: 1 },
  { device_id: "i", platform: "ios", token: "ab".repeat(32), registered_ms: 1 },
] }));
const auth = { authorization: "Basic " + Buffer.from(`exotel:${TOKEN}`).toString("base64"), "content-type": "application/x-www-form-urlencoded" };
const relay = (sub) => async (i) => {
  const r = await w.fetch("/exotel/push", { method: "POST", headers: auth, body: `subscriberName=${sub}&payload=payload-${i}&payloadVersion=1` });
  if (r.status !== 200) throw new Error(`push answered ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
};
const direct = async (i) => {
  const r = await fetch(`${fakes.base}/v1/projects/${PROJECT}/messages:send`, {
    method: "POST",
    headers: { authorization: "Bearer ya29.fake-1", "content-type": "application/json" },
    body: JSON.stringify({ message: { token: "fcm-bench", data: { subscriberName: "bench", payload: `payload-${i}`, payloadVersion: "1" }, android: { priority: "HIGH", ttl: "30s" } } }),
  });
  await r.arrayBuffer();
};
const health = async () => (await w.fetch("/healthz")).arrayBuffer();

// The first push mints the OAuth token (RSA sign + token call): timed alone.
const [first] = await time(1, relay("bench"));
await time(WARMUP, relay("bench"));
await time(WARMUP, direct);
await time(WARMUP, health);
const tokensBefore = fakes.state.tokenCalls.length;
// Interleaved, so a busy machine slows every series alike.
const series = { one: [], two: [], direct: [], health: [] };
const fns = { one: relay("bench"), two: relay("bench2"), direct, health };
for (let i = 0; i < N; i++) {
  for (const [k, fn] of Object.entries(fns)) series[k].push(...(await time(1, () => fn(i))));
}
const results = {
  first_push_with_oauth_mint_ms: Number(first.toFixed(2)),
  relay_push_1_android_ms: fmt(stats(series.one)),
  relay_push_android_plus_ios_ms: fmt(stats(series.two)),
  direct_fake_fcm_from_node_ms: fmt(stats(series.direct)),
  miniflare_healthz_ms: fmt(stats(series.health)),
  oauth_calls_during_timed_runs: fakes.state.tokenCalls.length - tokensBefore,
};
results.added_by_relay_median_ms = Number((results.relay_push_1_android_ms.median - results.direct_fake_fcm_from_node_ms.median).toFixed(2));
results.added_by_relay_p99_ms = Number((results.relay_push_1_android_ms.p99 - results.direct_fake_fcm_from_node_ms.p99).toFixed(2));
console.log(JSON.stringify(results, null, 2));
await w.close();
await fakes.close();
