#!/usr/bin/env bash
# CPU per request of worker builds side by side (BENCHMARKS.md, "Issue 16"):
# one workerd serves every build given (and the hand-written JS worker), each
# on its own port; each round runs wrk against every worker in turn and
# divides the workerd process's CPU time during that run (user + system, from
# /proc) by the requests it answered. One process for all, so whatever the
# process pays apart from the worker (its HTTP server, its allocator) is the
# same for each; CPU per request moves far less with the machine's other
# load than requests/s does.
#
#   bench/cpu.sh before=/tmp/old-build after=build       # builds: index.js + index_bg.wasm
#   CPU_ROUTE=gather CPU_CONNS=50 bench/cpu.sh after=build
#
# The JS worker (bench/js-worker) is always served as "js"; it answers Connect's
# JSON on every route. CPU_ROUNDS (default 6) rounds of CPU_SECS (default 3) s;
# prints the median µs of CPU per request and requests/s of each worker, and
# each ÷ the JS worker. Needs wrk (`apt-get install -y wrk`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/workerd/one-worker.sh
source bench/workerd/one-worker.sh
ROUNDS=${CPU_ROUNDS:-6} SECS=${CPU_SECS:-3} ROUTE=${CPU_ROUTE:-connect} CONNS=${CPU_CONNS:-1}
[ $# -gt 0 ] || { echo "usage: bench/cpu.sh name=build-dir ..." >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
STAGE=$(mktemp -d)
WORKERD_PID=""
trap '[ -z "$WORKERD_PID" ] || kill "$WORKERD_PID" 2>/dev/null || true; rm -rf "$STAGE"' EXIT
cp bench/workerd/kv.js "$STAGE/"
declare -A PORT
NAMES=(js) SERVICES="" SOCKETS="" WORKERS=""
mkdir -p "$STAGE/js" && cp bench/js-worker/index.js bench/js-worker/connect.json "$STAGE/js/"
for pair in "$@"; do
  n=${pair%%=*} d=${pair#*=}
  [[ $n =~ ^[a-z]+$ && $n != js ]] || { echo "names are lower-case letters, not js: $n" >&2; exit 2; }
  mkdir -p "$STAGE/$n" && cp "$d/index.js" "$d/index_bg.wasm" "$STAGE/$n/"
  NAMES+=("$n")
done
for n in "${NAMES[@]}"; do
  PORT[$n]=$(free_port)
  SERVICES+="(name = \"$n\", worker = .w${n^}), "
  SOCKETS+="(name = \"$n\", address = \"127.0.0.1:${PORT[$n]}\", http = (), service = \"$n\"), "
  if [ "$n" = js ]; then
    modules="(name = \"index.js\", esModule = embed \"js/index.js\"), (name = \"connect.json\", json = embed \"js/connect.json\")"
    bindings=""
  else
    modules="(name = \"index.js\", esModule = embed \"$n/index.js\"), (name = \"index_bg.wasm\", wasm = embed \"$n/index_bg.wasm\")"
    bindings=$(connect_bindings)
  fi
  WORKERS+="const w${n^} :Workerd.Worker = ( modules = [ $modules ], compatibilityDate = \"2026-04-01\", $bindings );"$'\n'
done
cat > "$STAGE/cpu.capnp" <<CAPNP
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ $SERVICES (name = "kv", worker = .kv) ],
  sockets = [ $SOCKETS ],
);
$WORKERS
const kv :Workerd.Worker = ( modules = [ (name = "kv.js", esModule = embed "kv.js") ], compatibilityDate = "2026-04-01" );
CAPNP
node_modules/.bin/workerd serve "$STAGE/cpu.capnp" > "$STAGE/workerd.log" 2>&1 &
WORKERD_PID=$!
url() { echo "http://127.0.0.1:${PORT[$1]}/t/$BENCH_TOKEN/exotel/$ROUTE?$BENCH_QUERY"; }
for n in "${NAMES[@]}"; do
  wait_answers "$(url "$n")"
  wrk -t1 -c10 -d1s "$(url "$n")" > /dev/null   # warm
done
# utime + stime of workerd, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$WORKERD_PID/stat"; }
HZ=$(getconf CLK_TCK)
threads=$(( CONNS < 2 ? 1 : 2 ))
for round in $(seq "$ROUNDS"); do
  for n in "${NAMES[@]}"; do
    t0=$(ticks)
    out=$(wrk -t"$threads" -c"$CONNS" -d"${SECS}s" "$(url "$n")")
    t1=$(ticks)
    requests=$(awk '/requests in/ {print $1}' <<< "$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<< "$out")
    echo "$n $round $(( t1 - t0 )) $requests $rps"
  done
done | node -e '
  const hz = Number(process.argv[1]), rows = {};
  for (const l of require("fs").readFileSync(0, "utf8").trim().split("\n")) {
    const [n, , t, q, rps] = l.split(" ");
    (rows[n] ??= { us: [], rps: [] }).us.push((Number(t) / hz) * 1e6 / Number(q));
    rows[n].rps.push(Number(rps));
  }
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
  const js = rows.js;
  console.log(`route ${process.argv[2]}, ${process.argv[3]} connection(s); medians of ${js.us.length} rounds`);
  console.log("| worker | CPU µs / request | ÷ JS | req/s | ÷ JS |\n|---|---:|---:|---:|---:|");
  for (const [n, r] of Object.entries(rows)) {
    console.log(`| ${n} | ${med(r.us).toFixed(1)} | ${(med(r.us) / med(js.us)).toFixed(2)} | ${Math.round(med(r.rps))} | ${(med(r.rps) / med(js.rps)).toFixed(2)} |`);
  }' "$HZ" "$ROUTE" "$CONNS"
