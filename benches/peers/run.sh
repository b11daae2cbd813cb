#!/usr/bin/env bash
# Builds what the peer benchmarks need and runs them:
#   bash benches/peers/run.sh          the extension host beside Extism, checkpoints
#   bash benches/peers/run.sh scale    a library of 1,000,000 entries
#   bash benches/peers/run.sh host calls [native,raw,sdk,alt,provided,provided-empty] | host checkpoints
#                                      one section of the host run, for quick comparisons;
#                                      `alt` is a second test-extension build, SD_BENCH_ALT_WASM=<path>
#   bash benches/peers/run.sh engine   what Wasmtime's generated code charges a guest step
# Tables go to standard output (Markdown), progress to standard error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown >&2
(cd "$root/extensions" && cargo build --release -q -p test-extension >&2)
(cd "$here/extism-guest" && cargo build --release -q --target wasm32-unknown-unknown >&2)
cd "$here"
cargo run --release -q --bin "${1:-host}" -- "${@:2}"
