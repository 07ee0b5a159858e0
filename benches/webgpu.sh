#!/usr/bin/env bash
# Every compute kernel on the CPU backend and on WebGPU in headless Chromium (SwiftShader), and the
# galaxy scale end to end on each: the Compute page's "Benchmark" (benches/webgpu.mjs). Natively on
# a real GPU: cargo build --release --features gpu && target/release/sae-geometry bench kernels --size paper
#   bash benches/webgpu.sh [DATASET-ID]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
trunk build --release
node benches/webgpu.mjs "$@"
