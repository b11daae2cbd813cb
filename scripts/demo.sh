#!/usr/bin/env bash
# The main job, end to end, on an embedded default (SQLite in a data dir
# under target/, nothing to set up): create a library, index a sample
# folder, tag an entry, search, then install sandboxed WebAssembly
# extensions, packed and signed, that work in the library through the same
# operations: the test extension, and Finance reading the sample's receipts
# into expenses.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

cargo build --release --quiet -p sd
SD="$PWD/target/release/sd"
size=$(stat -c %s "$SD")
if [ "$size" -gt $((64 * 1024 * 1024)) ]; then
  echo "target/release/sd is $((size / 1024 / 1024)) MiB, over its 64 MiB budget: is [profile.release] building debug info?" >&2
  exit 1
fi
echo "sd: $((size / 1024 / 1024)) MiB at $SD"
export SD_DATA_DIR="$PWD/target/demo/data"
SAMPLE="$PWD/target/demo/sample"
rm -rf "$PWD/target/demo"
mkdir -p "$SAMPLE/receipts/2026" "$SAMPLE/notes"
printf 'Blue Bottle Coffee\nLatte 5.50\nTotal 5.50\n' > "$SAMPLE/receipts/2026/coffee-receipt-0412.txt"
printf 'Hardware Depot\nHammer 19.99\nTotal 19.99\n' > "$SAMPLE/receipts/2026/hardware-receipt-0415.txt"
cat > "$SAMPLE/receipts/2026/train.eml" <<'EML'
From: Trainline <auto-confirm@thetrainline.com>
Subject: Your booking confirmation
Date: Fri, 17 Apr 2026 09:12:00 +0100
Message-ID: <demo-0417@thetrainline.com>
Content-Type: text/html; charset=utf-8

<html><body><h1>Trainline</h1><p>London Kings Cross to Edinburgh, 17 April 2026</p>
<table><tr><td>Advance Single</td><td>£64.50</td></tr><tr><td>Booking fee</td><td>£1.50</td></tr>
<tr><td><b>Total paid</b></td><td><b>£66.00</b></td></tr></table></body></html>
EML
printf 'Ideas for the garden\n' > "$SAMPLE/notes/garden-plans.md"
for i in $(seq 1 500); do printf 'log line %s\n' "$i" > "$SAMPLE/notes/log-$i.txt"; done

run() { echo "\$ sd $*"; "$SD" "$@"; echo; }
run library create Demo
run location add "$SAMPLE"
run search "coffee receipt"
run search --semantic "a cafe purchase"
ENTRY=$("$SD" --json search coffee | sed -n 's/.*"id": "\([0-9a-f-]*\)".*/\1/p' | head -1)
run entry meta "$ENTRY" category=food amount=5.5
run search --where user.category=food
run entry show "$ENTRY"
rm "$SAMPLE/notes/log-1.txt"
printf 'changed\n' > "$SAMPLE/notes/garden-plans.md"
run location rescan "$SAMPLE"
# Extensions ship as signed packages: a demo key signs both, and each is
# installed from its package file (the publisher's key is pinned).
PACKAGES="$PWD/target/demo/packages"
mkdir -p "$PACKAGES"
run ext key new demo
run ext pack extensions/test-extension --sign demo -o "$PACKAGES"
run ext pack extensions/finance --sign demo -o "$PACKAGES"
run ext install "$(ls "$PACKAGES"/test-extension-*.sdpkg)" --yes
run search --where "test-extension.greeting=hello from wasm"
run call query:test-extension.hello.v1 '{"name":"demo"}'
run ext run test-extension counter '{"current":0,"target":5000,"checkpoint_every":500}'
run ext install "$(ls "$PACKAGES"/finance-*.sdpkg)" --yes
# Finance reads only folders a person grants it.
run ext grant finance --path "$SAMPLE/receipts"
run ext run finance import "{\"path\": \"$SAMPLE/receipts\"}"
run call query:finance.expenses.v1 '{"from": "2026-01-01"}'
run search --where finance.category=travel
run job list
run ext info test-extension
run status
echo "To look at this library in a browser (the expenses chart, jobs, search):"
echo "  SD_DATA_DIR=$SD_DATA_DIR $SD ui"
