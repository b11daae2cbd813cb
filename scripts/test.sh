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
# One crate at a time, as `sd ext install <folder>` builds them: built
# together, the workspace unifies their dependencies' features (memchr's
# `default` for Finance reaches test-extension's serde_json), and the first
# test to install test-extension from its folder would build it again.
# Every folder with a manifest is an extension.
(cd extensions && for manifest in */manifest.json; do
  cargo build --release --quiet --manifest-path "$(dirname "$manifest")/Cargo.toml"
done)
(cd extensions && cargo clippy --release --quiet -- -D warnings)
# `cargo clippy` checks every dependency a second time (check builds share
# nothing with test builds) only to lint our own crates: minutes on 2 cores.
# Run as the workspace's compiler, clippy-driver lints our crates while
# building them for the tests, so one build of the dependencies serves both.
# CLIPPY_ARGS is how `cargo clippy` hands clippy-driver its `-- ARGS`. The
# wrapper is cargo configuration, not the environment, so cargo runs that
# the tests start (installing an extension from its crate) build as usual.
if driver=$(command -v clippy-driver); then
  export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
  lint=(--config "build.rustc-workspace-wrapper=\"$driver\"")
  echo "== cargo clippy (every target) and cargo test" >&2
  cargo "${lint[@]}" build --workspace --all-targets --quiet
else
  lint=()
  echo "== cargo clippy and cargo test (no clippy-driver on PATH: two builds)" >&2
  cargo clippy --workspace --all-targets --quiet -- -D warnings
fi
cargo "${lint[@]}" test --workspace --quiet
# The extensions' own logic (Finance's parsing and extraction) runs natively.
(cd extensions && cargo test --quiet -p finance --lib --target "$(rustc -vV | sed -n 's/^host: //p')")
