#!/usr/bin/env bash
# The atom scale on one bundled crystal set: our CLI (`analyze crystals`) against the numpy /
# scikit-learn pipeline (benches/crystals_reference.py) on the same files in the same run, with the
# paper's defaults (12 tasks, LDA components 2..11, exact silhouettes). Prints each time, the
# largest differences of the numbers, then the ratio last.
#   bash benches/crystals.sh [LAYER|glove]   (default 0; needs python3 with numpy, scipy, scikit-learn, safetensors)
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-0}"
if [ "$which" = glove ]; then
  vectors=public/data/crystals-glove-6b-50d.safetensors; words=public/data/crystals-glove-6b-50d-words.json
else
  vectors="public/data/crystals-minilm-l6-layer${which}.safetensors"; words=public/data/crystals-minilm-l6-words.json
fi
cargo build --release --bin sae-geometry -q
t0=$(date +%s.%N)
ours=$(target/release/sae-geometry analyze crystals "$vectors" --words "$words")
t1=$(date +%s.%N)
reference=$(python3 benches/crystals_reference.py "$vectors" "$words")
t2=$(date +%s.%N)
python3 - "$ours" "$reference" "$t0" "$t1" "$t2" <<'PY'
import json, sys
ours, ref = json.loads(sys.argv[1]), json.loads(sys.argv[2])
t0, t1, t2 = map(float, sys.argv[3:6])
sil = max([abs(ours["silhouette_raw"] - ref["silhouette_raw"])] + [abs(ours["silhouette_lda"][k] - v) for k, v in ref["silhouette_lda"].items()])
quad = max(abs(ours["parallelogram"][t][side][key] - v[i])
           for t, r in ref["parallelogram"].items() for side in ("before", "after")
           for i, key in enumerate(("median_relative_error", "median_cosine")) for v in [r[side]] if v[i] is not None)
print(f"{ours['input']}: {ours['pairs']} pairs of {len(ours['tasks'])} tasks, d = {ours['d']}")
print(f"  silhouette raw {ours['silhouette_raw']:.4f} -> {max(ours['silhouette_lda'].values()):.4f} after LDA; word-length r {ours['word_length']['r']:.4f}")
print(f"  largest difference from the reference: silhouettes {sil:.1e}, quad medians {quad:.1e}, word-length r {abs(ours['word_length']['r'] - ref['word_length_r']):.1e}")
print("  reference stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in ref["seconds"].items()))
print(f"  ours {t1 - t0:.2f} s (whole process), numpy/scikit-learn {t2 - t1:.2f} s (whole process)")
print(f"ratio: numpy/scikit-learn / ours = {(t2 - t1) / (t1 - t0):.1f}x")
PY
