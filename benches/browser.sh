#!/usr/bin/env bash
# The whole galaxy page in headless Chromium, against numpy/scipy/scikit-learn on the same files in
# the same run (benches/browser_galaxy.mjs says what is timed). Needs what scripts/setup.sh --test
# installs, and python3 with numpy, scipy, scikit-learn and safetensors.
#   bash benches/browser.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
trunk build --release
cargo build --release --bin sae-geometry -q
node benches/browser_galaxy.mjs
