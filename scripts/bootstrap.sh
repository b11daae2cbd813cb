#!/usr/bin/env bash
# Installs what the build needs on a Debian machine, when it is missing:
# a C compiler (for the bundled SQLite), the wasm32 target for extensions,
# Tesseract and poppler-utils for OCR, a font for the OCR tests, headless
# Chromium for the dashboard's tests (with SD_BROWSER=1), and the local
# embedding model. Safe to run again; does nothing when all is there.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ "${SD_SKIP_TESSERACT:-0}" != 1 ]; then
  command -v tesseract >/dev/null 2>&1 || need_apt+=(tesseract-ocr tesseract-ocr-eng)
  command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
fi
# A font for the receipt images the OCR tests render, and qpdf for the
# password-protected PDF the Finance tests make.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
command -v qpdf >/dev/null 2>&1 || need_apt+=(qpdf)
# Headless Chromium and chromedriver for the dashboard's browser tests
# (SD_BROWSER=1, set by scripts/test.sh), without the desktop extras.
need_browser=()
if [ "${SD_BROWSER:-0}" = 1 ]; then
  [ -x /usr/bin/chromium ] || need_browser+=(chromium)
  [ -x /usr/bin/chromedriver ] || need_browser+=(chromium-driver)
fi
if [ $((${#need_apt[@]} + ${#need_browser[@]})) -gt 0 ]; then
  echo "bootstrap: installing ${need_apt[*]} ${need_browser[*]}" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  if [ ${#need_apt[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
  if [ ${#need_browser[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_browser[@]}" >/dev/null
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "bootstrap: no Rust toolchain found. Install Rust 1.95 or newer with rustup, then run this again." >&2
  exit 1
fi

if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "bootstrap: adding the wasm32-unknown-unknown target" >&2
    rustup target add wasm32-unknown-unknown >&2
  fi
elif ! [ -d "$(rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null)" ]; then
  echo "bootstrap: the wasm32-unknown-unknown target is missing and there is no rustup to add it;" >&2
  echo "bootstrap: install Rust with rustup, or your distribution's wasm32 standard library." >&2
  exit 1
fi

bash "$(dirname "$0")/fetch-model.sh"
