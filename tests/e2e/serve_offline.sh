#!/usr/bin/env bash
# `bash scripts/serve.sh` with no network at all: in a network namespace of its own (loopback
# only; needs root or unprivileged user namespaces), the README's first command builds and serves
# the app, and the page, its wasm and the bundled data answer on 127.0.0.1. Run by scripts/test.sh
# after the tools are installed (they are what needs the network, once).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! unshare -n true 2>/dev/null; then
  echo "serve_offline: cannot make a network namespace here (unshare -n); skipped" >&2
  exit 0
fi
PORT=18080
LOG=$(mktemp)
unshare -n bash -c "
  set -e
  ip link set lo up
  # Prove the namespace has no way out before serving.
  if curl -s --max-time 3 -o /dev/null https://crates.io; then echo 'serve_offline: the network is reachable' >&2; exit 1; fi
  CARGO_NET_OFFLINE=true bash scripts/serve.sh --port $PORT > '$LOG' 2>&1 &
  pid=\$!
  trap 'kill \$pid 2>/dev/null || true' EXIT
  for i in \$(seq 1 600); do
    curl -sf -o /dev/null http://127.0.0.1:$PORT/ && break
    kill -0 \$pid 2>/dev/null || { echo 'serve_offline: scripts/serve.sh exited'; tail -30 '$LOG'; exit 1; }
    sleep 1
  done
  page=\$(curl -sf http://127.0.0.1:$PORT/)
  wasm=\$(printf '%s' \"\$page\" | grep -o '[A-Za-z0-9_./-]*_bg\.wasm' | head -1)
  test -n \"\$wasm\"
  curl -sf -o /dev/null \"http://127.0.0.1:$PORT/\${wasm#./}\"
  curl -sf http://127.0.0.1:$PORT/data/manifest.json | grep -q datasets
  kill \$pid; wait \$pid 2>/dev/null || true
  echo \"serve_offline: with no network, scripts/serve.sh served the page, \${wasm#./} and data/manifest.json\"
"
rm -f "$LOG"
