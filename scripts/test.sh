#!/usr/bin/env bash
# Runs every test layer: (1) native cargo test (formats, golden math, CLI), (2) wasm-bindgen-test
# in headless Chromium, (3) the built app end to end in Chromium, driven by Playwright.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"

step "1/3 native tests (cargo test)"
cargo test --all-targets

step "2/3 browser tests (wasm-bindgen-test in headless Chromium)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --test browser

step "3/3 end to end (trunk build, then Playwright drives Chromium against the served dist/)"
trunk build --release
cargo build --release --bin sae-geometry
node tests/e2e/run.mjs
node tests/e2e/share.mjs
node tests/e2e/reliability.mjs
bash tests/e2e/serve_offline.sh
printf '\n\033[1mall tests passed\033[0m\n'
