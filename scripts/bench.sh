#!/usr/bin/env bash
# Whole-process wall time of rendering the embedded default profile:
#   target/release/redis-sentinel-gen render > /dev/null
# Prints the median, p90 and minimum over RUNS runs (default 300), in milliseconds.
# Target: median ≤ 5 ms. Run by hand; not part of CI (timings depend on the machine).
#
# Uses hyperfine when installed (`apt-get install hyperfine`), else a shell loop timed with
# `date +%s%N`; the loop adds the cost of one fork+exec of `date` around each run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${RUNS:-300}
bin=target/release/redis-sentinel-gen

cargo build --release --quiet

# Fail loudly now rather than timing a command that errors out in a few microseconds.
if ! "$bin" render >/dev/null; then
    echo "error: $bin render failed; nothing to benchmark" >&2
    exit 1
fi

samples=$(mktemp)
trap 'rm -f "$samples"' EXIT

if command -v hyperfine >/dev/null 2>&1; then
    tool=hyperfine
    json=$(mktemp)
    hyperfine --shell=none --warmup 20 --runs "$runs" --output=null \
        --export-json "$json" "$bin render" >/dev/null
    # One run time (seconds) per line; hyperfine's JSON puts them in "times": [ … ].
    tr -d '\n ' <"$json" | sed 's/.*"times":\[\([^]]*\)\].*/\1/' | tr ',' '\n' |
        awk '{ printf "%.6f\n", $1 * 1000 }' >"$samples"
    rm -f "$json"
else
    tool="shell loop (date +%s%N)"
    for _ in $(seq 20); do "$bin" render >/dev/null; done
    for _ in $(seq "$runs"); do
        start=$(date +%s%N)
        "$bin" render >/dev/null
        end=$(date +%s%N)
        awk -v ns=$((end - start)) 'BEGIN { printf "%.6f\n", ns / 1e6 }' >>"$samples"
    done
fi

sort -n "$samples" | awk -v tool="$tool" '
    { t[NR] = $1 }
    END {
        median = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
        p90 = t[int(NR * 0.9 + 0.999999)]
        printf "render (embedded default profile), %d runs, %s\n", NR, tool
        printf "median %.2f ms   p90 %.2f ms   min %.2f ms\n", median, p90, t[1]
    }'
