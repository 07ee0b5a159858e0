#!/usr/bin/env bash
# Fuzzes every file parser with cargo fuzz (libFuzzer, nightly): see docs/FUZZING.md.
#
#   scripts/fuzz.sh                 # every target, FUZZ_SECONDS (default 600) each, one at a time
#   scripts/fuzz.sh npz safetensors # just these targets
#
# Environment: FUZZ_SECONDS (per target), FUZZ_MAX_LEN (default 262144), FUZZ_NICE (default 10),
# FUZZ_RSS_MB (2048), FUZZ_MALLOC_MB (1024), FUZZ_TIMEOUT (10 s per input).
# Writes fuzz/logs/<target>.log; new crashes land in fuzz/artifacts/<target>/. After each run the
# corpus fuzz/corpus/<target>/ is minimised (cargo fuzz cmin) and files over 200 kB are dropped.
# Then copy any crash into fuzz/regressions/<target>/, fix the parser, and run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-600}
MAX_LEN=${FUZZ_MAX_LEN:-262144}
NICE=${FUZZ_NICE:-10}
RSS=${FUZZ_RSS_MB:-2048}
MALLOC=${FUZZ_MALLOC_MB:-1024}
TIMEOUT=${FUZZ_TIMEOUT:-10}
ALL="npy npz safetensors cooccurrence wordpairs manifest matrix"
TARGETS=${*:-$ALL}

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked || cargo install cargo-fuzz
fi

python3 fuzz/make_seeds.py
cargo +nightly fuzz build -a --fuzz-dir fuzz

mkdir -p fuzz/logs
for t in $TARGETS; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  echo "== $t: ${SECONDS_EACH}s"
  # The corpus first (written to), then the seeds and the regressions (read only).
  set +e
  nice -n "$NICE" cargo +nightly fuzz run -a --fuzz-dir fuzz "$t" \
    "fuzz/corpus/$t" "fuzz/seeds/$t" $( [ -d "fuzz/regressions/$t" ] && echo "fuzz/regressions/$t" ) -- \
    $( [ -f "fuzz/dicts/$t.dict" ] && echo "-dict=fuzz/dicts/$t.dict" ) \
    -max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" -rss_limit_mb="$RSS" \
    -malloc_limit_mb="$MALLOC" -timeout="$TIMEOUT" -jobs=1 -workers=1 -print_final_stats=1 \
    2>&1 | tee "fuzz/logs/$t.log" | grep -E '^#[0-9]+ +(DONE|INITED)|ERROR|SUMMARY|^stat::' || true
  set -e
  nice -n "$NICE" cargo +nightly fuzz cmin -a --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- -use_counters=0 \
    -max_len="$MAX_LEN" -rss_limit_mb="$RSS" -malloc_limit_mb="$MALLOC" -timeout="$TIMEOUT" \
    > "fuzz/logs/$t.cmin.log" 2>&1 || echo "cmin of $t failed: see fuzz/logs/$t.cmin.log"
  find "fuzz/corpus/$t" -type f -size +200k -delete
  echo "   corpus: $(ls "fuzz/corpus/$t" | wc -l) files, $(du -sh "fuzz/corpus/$t" | cut -f1)"
  ls "fuzz/artifacts/$t" 2>/dev/null | sed "s|^|   finding: fuzz/artifacts/$t/|"
done
