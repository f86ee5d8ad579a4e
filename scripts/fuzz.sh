#!/usr/bin/env bash
# Runs every libFuzzer target in fuzz/ for a short time (RELIABILITY.md).
#   scripts/fuzz.sh                 # FUZZ_SECONDS (default 10) per target
#   FUZZ_SECONDS=600 scripts/fuzz.sh config_json   # one target, longer
# Installs cargo-fuzz if missing. cargo-fuzz needs nightly flags: with no
# nightly toolchain (rustup cannot download here), Debian's rustc-web
# (/usr/bin/rustc, installed by scripts/setup.sh) with RUSTC_BOOTSTRAP=1
# accepts them. New corpus entries go to fuzz/target/corpus-work/, never
# into the committed seed corpus; crashes go to fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
SECONDS_PER_TARGET=${FUZZ_SECONDS:-10}
# ASan needs librustc-stable_rt.asan.a in the sysroot; Debian's rustc-web does
# not ship it (link fails), so the default is none (FUZZ_SANITIZER=address with a
# rustup nightly). Safe Rust needs no ASan to catch panics; -a (debug
# assertions) turns integer overflow into a panic too.
SANITIZER=${FUZZ_SANITIZER:-none}
ALL_TARGETS=(params_query status_body config_json event_json exoml_roundtrip push_body gateway_decode)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --quiet
fi
if ! rustc --version 2>/dev/null | grep -q nightly; then
  # Prefer Debian's rustc-web where setup.sh installed it; any stable rustc
  # accepts the -Z flags with RUSTC_BOOTSTRAP=1 as well.
  if [ -x /usr/bin/rustc ]; then export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc; fi
  export RUSTC_BOOTSTRAP=1
fi

cd fuzz
WORK=target/corpus-work
status=0
for t in "${TARGETS[@]}"; do
  # The gateway feature (tonic, SQLite, ring) only when its target is asked
  # for: one feature set per run, since switching it rebuilds every bin.
  features=()
  case " ${TARGETS[*]} " in *" gateway_decode "*) features=(--features gateway) ;; esac
  mkdir -p "$WORK/$t"
  echo "== fuzz $t (${SECONDS_PER_TARGET}s, sanitizer $SANITIZER)"
  # -rss_limit_mb / -malloc_limit_mb: an input that makes a parser allocate
  # without bound is a crash, not a slow run.
  if ! cargo fuzz run -O -a --sanitizer "$SANITIZER" "${features[@]}" "$t" "$WORK/$t" "corpus/$t" -- \
      -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=1024 -malloc_limit_mb=256 \
      -max_len=70000 -timeout=10 -print_final_stats=1 2>"$WORK/$t.log"; then
    status=1
    echo "fuzz: $t FAILED; see fuzz/$WORK/$t.log and fuzz/artifacts/$t/" >&2
    tail -n 40 "$WORK/$t.log" >&2
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$WORK/$t.log" | tr '\n' ' ' || true
  echo
done
exit $status
