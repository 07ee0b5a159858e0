#!/usr/bin/env bash
# Galaxy spectrum, same input, same run: the numpy/scipy reference (benches/galaxy_reference.py)
# against the native CLI (release build). Prints both times and the ratio. Needs python3 with numpy,
# scipy and safetensors.   bash benches/galaxy.sh [FILE ...]   (default: the bundled dataset)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin sae-geometry -q
files=("$@"); [ ${#files[@]} -gt 0 ] || files=(public/data/minilm-l6-token-embeddings.safetensors)
best_of() { # best wall time of 3 runs of a command, in seconds
  local best=999999
  for _ in 1 2 3; do
    local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
    best=$(python3 -c "print(min($best, $t1 - $t0))")
  done
  echo "$best"
}
printf '%-55s %12s %12s %8s\n' input "numpy (s)" "ours (s)" ratio
for f in "${files[@]}"; do
  py=$(best_of python3 benches/galaxy_reference.py "$f")
  rs=$(best_of target/release/sae-geometry analyze galaxy "$f")
  printf '%-55s %12.3f %12.3f %7.1fx\n' "$(basename "$f")" "$py" "$rs" "$(python3 -c "print($py / $rs)")"
done
echo "(wall time including process start and file load, best of 3; machine: $(nproc) cores, $(uname -m))"
