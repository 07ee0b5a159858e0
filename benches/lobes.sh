#!/usr/bin/env bash
# The brain scale on one bundled SAE: our CLI (`analyze lobes`) against the numpy/scikit-learn
# pipeline (benches/lobes_reference.py) on the same files in the same run, with the paper's
# defaults (k = 2, Phi, 100 null trials). Prints each time, then the ratio last.
#   bash benches/lobes.sh [LAYER]        (default 3; needs python3 with numpy, scikit-learn, safetensors)
set -euo pipefail
cd "$(dirname "$0")/.."
layer="${1:-3}"
decoder="public/data/minilm-l6-topk4096-layer${layer}.safetensors"
firings="public/data/minilm-l6-topk4096-layer${layer}-cooccurrence.safetensors"
cargo build --release --bin sae-geometry -q
t0=$(date +%s.%N)
ours=$(target/release/sae-geometry analyze lobes "$decoder" "$firings" --k 2 --null-trials 100 --brief)
t1=$(date +%s.%N)
reference=$(python3 benches/lobes_reference.py "$decoder" "$firings" --k 2 --null-trials 100)
t2=$(date +%s.%N)
python3 - "$ours" "$reference" "$t0" "$t1" "$t2" <<'PY'
import json, sys
ours, ref = json.loads(sys.argv[1]), json.loads(sys.argv[2])
t0, t1, t2 = map(float, sys.argv[3:6])
print(f"layer file: {ours['decoder']} ({ours['n_features']} x {ours['d']}), k = 2, Phi, 100 null trials")
print(f"  ours:      AMI {ours['ami']:.6f} ({ours['null']['ami_sigma']:.1f} sigma), balanced accuracy {ours['balanced_accuracy']:.4f} ({ours['null']['bacc_sigma']:.1f} sigma)")
print(f"  reference: AMI {ref['ami']:.6f} ({ref['ami_sigma']:.1f} sigma), balanced accuracy {ref['balanced_accuracy']:.4f} ({ref['bacc_sigma']:.1f} sigma)")
print("  reference stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in ref["seconds"].items()))
print(f"  ours {t1 - t0:.2f} s (whole process), numpy/scikit-learn {t2 - t1:.2f} s (whole process)")
print(f"ratio: numpy/scikit-learn / ours = {(t2 - t1) / (t1 - t0):.1f}x")
PY
