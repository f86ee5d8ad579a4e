#!/usr/bin/env bash
# Installs everything the build and tests need, idempotently:
#   - a Rust that can target wasm32, with rustfmt and clippy (rustup's target where it can be fetched,
#     else Debian's rustc-web with the standard library built from source);
#   - worker-build and the wasm-bindgen-cli that matches Cargo.lock;
#   - npm packages from package-lock.json (wrangler, miniflare, esbuild, binaryen,
#     puppeteer-core);
#   - Chromium from the distribution's packages, for the console's browser
#     test (tests/console-browser.test.mjs);
#   - .dev.vars from .dev.vars.example (and callbacks/.dev.vars, a link to it).
# Prints the environment the build needs to scripts/.wasm-env, which
# scripts/build-worker.sh sources. Quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

export PATH="$HOME/.cargo/bin:$PATH"
ENV_FILE=scripts/.wasm-env
: > "$ENV_FILE.tmp"

# --- 1. a wasm32-capable Rust ---------------------------------------------
have_rustup_wasm() {
  command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}
debian_web_rust() { [ -x /usr/bin/rustc ] && /usr/bin/rustc --print target-list 2>/dev/null | grep -qx wasm32-unknown-unknown && [ -d /usr/lib/rustlib/src/rust/library ] || [ -d "$(/usr/bin/rustc --print sysroot 2>/dev/null)/lib/rustlib/src/rust/library" ]; }

if have_rustup_wasm; then
  log "wasm32 target from rustup"
elif [ "${EXOEDGE_SKIP_RUSTUP:-}" != 1 ] && command -v rustup >/dev/null 2>&1 \
     && timeout 60 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
  log "installed wasm32 target with rustup"
else
  if ! { [ -x /usr/bin/rustc ] && [ -x /usr/bin/wasm-ld ] && [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library" ]; }; then
    log "rustup cannot fetch the wasm32 target here; installing Debian's rustc-web, std built from source (README: Set-up)"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rustc-web cargo-web rust-web-src lld >/dev/null
  fi
  SYSROOT=$(/usr/bin/rustc --print sysroot)
  # worker-build checks that the target libdir exists; std comes from build-std.
  mkdir -p "$SYSROOT/lib/rustlib/wasm32-unknown-unknown/lib" 2>/dev/null || sudo mkdir -p "$SYSROOT/lib/rustlib/wasm32-unknown-unknown/lib"
  cat >> "$ENV_FILE.tmp" <<EOV
export PATH=/usr/bin:\$PATH
export RUSTC=/usr/bin/rustc
export CARGO=/usr/bin/cargo
export RUSTC_BOOTSTRAP=1
export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld
EOV
  log "wasm32 via Debian rustc-web + build-std"
fi

# --- 1b. rustfmt and clippy: scripts/test.sh checks formatting and lints ------
if ! { cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1; then
  if command -v rustup >/dev/null 2>&1; then
    log "adding rustfmt and clippy with rustup"
    rustup component add rustfmt clippy >/dev/null 2>&1
  else
    log "installing Debian's rustfmt and clippy"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rustfmt rust-clippy >/dev/null
  fi
fi

# --- 2. worker-build and wasm-bindgen-cli ------------------------------------
WORKER_BUILD_VERSION=0.8.7
BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if [ "$(worker-build --version 2>/dev/null || true)" != "$WORKER_BUILD_VERSION" ]; then
  log "installing worker-build $WORKER_BUILD_VERSION"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --quiet
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
  log "installing wasm-bindgen-cli $BINDGEN_VERSION (matches Cargo.lock)"
  # Not --locked: its lock file names a webpki-roots release some mirrors lack.
  cargo install wasm-bindgen-cli --version "$BINDGEN_VERSION" --quiet
fi

# --- 3. npm packages ------------------------------------------------------
if [ ! -d node_modules/miniflare ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-fund --no-audit --loglevel=error >/dev/null
fi

cat >> "$ENV_FILE.tmp" <<EOV
export WASM_BINDGEN_BIN=\$HOME/.cargo/bin/wasm-bindgen
export ESBUILD_BIN=$ROOT/node_modules/.bin/esbuild
export WASM_OPT_BIN=$ROOT/node_modules/.bin/wasm-opt
export WRANGLER_SEND_METRICS=false
EOV
mv "$ENV_FILE.tmp" "$ENV_FILE"

# --- 4. a headless browser for tests/console-browser.test.mjs ----------------
# Debian's own chromium package (puppeteer-core downloads no browser).
if ! command -v chromium >/dev/null 2>&1 && [ "${EXOEDGE_SKIP_CHROMIUM:-}" != 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  if [ -z "$SUDO" ] || command -v sudo >/dev/null 2>&1; then
    log "installing chromium (apt) for the console's browser test"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    log "chromium missing and neither root nor sudo: the console's browser test will say so"
  fi
fi

# --- 5. local secrets for wrangler dev ------------------------------------
[ -f .dev.vars ] || cp .dev.vars.example .dev.vars
# Keys added to the example since .dev.vars was made are appended; values a
# developer changed are left alone.
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  key=${line%%=*}
  grep -q "^$key=" .dev.vars || printf '%s\n' "$line" >> .dev.vars
done < .dev.vars.example
# Wrangler reads .dev.vars beside each config: the callback worker's
# (callbacks/wrangler.toml) is the same file.
[ -e callbacks/.dev.vars ] || ln -s ../.dev.vars callbacks/.dev.vars
log "ready"
