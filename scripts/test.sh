#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
SD_BROWSER=1 bash scripts/bootstrap.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

echo "== cargo fmt --check" >&2
cargo fmt --all --check
(cd extensions && cargo fmt --all --check)
echo "== build the extensions (wasm32, release)" >&2
(cd extensions && cargo build --release --quiet)
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --quiet -- -D warnings
(cd extensions && cargo clippy --release --quiet -- -D warnings)
echo "== cargo test" >&2
cargo test --workspace --quiet
# The extensions' own logic (Finance's parsing and extraction) runs natively.
(cd extensions && cargo test --quiet -p finance --lib --target "$(rustc -vV | sed -n 's/^host: //p')")
