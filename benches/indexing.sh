#!/usr/bin/env bash
# Indexing beside its peers, in one run: `sd location add` against `b3sum`
# over the same files, and an unchanged `sd location rescan` against
# `find -printf '%s %T@\n'` (the same stat walk, no database).
#
#   bash benches/indexing.sh            generated tree and ~/.cargo/registry/src
#   FILES=200000 MAX_BYTES=16384 bash benches/indexing.sh generated
#                                       200,000 small files: does memory grow?
#
# Both sides read warm page cache (each tree is read once before timing);
# each figure is the median of three runs. Prints a Markdown table and the
# peak memory of each `sd` run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${BENCH_DIR:-/tmp/sd-index-bench}"
files="${FILES:-50000}"
max_bytes="${MAX_BYTES:-1048576}"
which="${1:-all}"
export PATH="$HOME/.cargo/bin:$PATH"

command -v b3sum >/dev/null || cargo install --locked b3sum >&2
(cd "$root" && cargo build --release -q -p sd >&2)
sd="${CARGO_TARGET_DIR:-$root/target}/release/sd"

# A tree of $files files in 500 folders, sizes log-uniform from 100 B to
# $max_bytes (1 MiB), random content (reproducible: fixed seed). Built once,
# reused.
generated="$work/generated-$files"
[ "$max_bytes" = 1048576 ] || generated="$generated-$max_bytes"
if [ ! -f "$generated.done" ]; then
    echo "generating $files files in $generated ..." >&2
    rm -rf "$generated"
    python3 - "$generated" "$files" "$max_bytes" <<'PY'
import math, os, random, sys
dest, n, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(1)
block = rng.randbytes(1 << 20)
for i in range(n):
    d = os.path.join(dest, f"d{i % 500:03}")
    os.makedirs(d, exist_ok=True)
    size = int(math.exp(rng.uniform(math.log(100), math.log(top))))
    off = rng.randrange(0, (1 << 20) - size + 1)
    # A per-file prefix keeps contents distinct.
    with open(os.path.join(d, f"f{i:06}.bin"), "wb") as f:
        f.write(i.to_bytes(8, "little") + block[off:off + max(0, size - 8)])
PY
    touch "$generated.done"
fi

trees=()
case "$which" in
    generated) trees=("$generated") ;;
    real) trees=("$HOME/.cargo/registry/src") ;;
    *) trees=("$generated" "$HOME/.cargo/registry/src") ;;
esac

now() { date +%s.%N; }
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

printf '| tree | files | bytes | b3sum | sd location add | vs b3sum | find -printf | sd rescan (unchanged) | vs find | sd peak RSS |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for tree in "${trees[@]}"; do
    nfiles=$(find "$tree" -type f | wc -l)
    nbytes=$(find "$tree" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
    find "$tree" -type f -print0 | xargs -0 cat > /dev/null   # warm the page cache

    b=(); a=(); f=(); r=(); rss=0
    for run in 1 2 3; do
        t0=$(now); find "$tree" -type f -print0 | xargs -0 b3sum > /dev/null; t1=$(now)
        b+=("$(secs "$t0" "$t1")")

        data="$work/data"; rm -rf "$data"
        "$sd" --data-dir "$data" library create bench > /dev/null
        t0=$(now)
        /usr/bin/time -f '%M' -o "$work/rss" "$sd" --data-dir "$data" location add "$tree" > /dev/null
        t1=$(now)
        a+=("$(secs "$t0" "$t1")")
        rss=$(( $(cat "$work/rss") > rss ? $(cat "$work/rss") : rss ))

        t0=$(now); find "$tree" -printf '%s %T@\n' > /dev/null; t1=$(now)
        f+=("$(secs "$t0" "$t1")")
        t0=$(now); "$sd" --data-dir "$data" location rescan "$tree" > /dev/null; t1=$(now)
        r+=("$(secs "$t0" "$t1")")
    done
    B=$(median3 "${b[@]}"); A=$(median3 "${a[@]}"); F=$(median3 "${f[@]}"); R=$(median3 "${r[@]}")
    awk -v t="$tree" -v n="$nfiles" -v by="$nbytes" -v B="$B" -v A="$A" -v F="$F" -v R="$R" -v rss="$rss" 'BEGIN {
        printf "| %s | %d | %.0f MiB | %.2f s | %.2f s | %.0f%% | %.2f s | %.2f s | %.2fx | %.0f MiB |\n",
            t, n, by / 1048576, B, A, 100 * B / A, F, R, R / F, rss / 1024 }'
done
