#!/usr/bin/env bash
# Refreshes docs/screenshots/ (the README's pictures): builds the app, then drives it in headless
# Chromium on its bundled data (scripts/screenshots.mjs). About 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
trunk build --release
node scripts/screenshots.mjs
