#!/usr/bin/env bash
# Whole-process wall time of rendering the embedded default profile, beside what it is judged
# against, in one run (issue 14):
#   render     target/release/redis-sentinel-gen render > /dev/null
#   cat        cat redis-sentinel.yaml > /dev/null      (the same bytes, read from a file)
#   --version  target/release/redis-sentinel-gen --version   (process start and clap alone)
#   kustomize  kubectl kustomize DIR                     (DIR: that file and a kustomization
#                                                         listing it: the same objects)
# Targets: render median ≤ 1.5 ms, at most 2× cat, at least 30× faster than kustomize.
# Prints the medians and the targets side by side; exits 1 when a target is missed.
#
# Needs hyperfine (apt-get install hyperfine); without kubectl the kustomize figure is left
# out and said so. RUNS (default 500) runs of the fast commands and KUSTOMIZE_RUNS (default
# 30) of kustomize, after warm-ups. Run by hand; not part of CI (timings depend on the
# machine and on what else runs on it).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${RUNS:-500}
kustomize_runs=${KUSTOMIZE_RUNS:-30}
bin=target/release/redis-sentinel-gen

if ! command -v hyperfine >/dev/null 2>&1; then
    echo "error: hyperfine is not installed; bench.sh needs it (apt-get install hyperfine," \
        "or cargo install hyperfine)" >&2
    exit 1
fi
kubectl=$(command -v kubectl || true)
if [ -z "$kubectl" ]; then
    echo "note: kubectl is not installed: the kustomize figure and its target are left out" >&2
fi

cargo build --release --quiet

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# Fail loudly now rather than timing a command that errors out in a few microseconds.
if ! "$bin" render >"$dir/redis-sentinel.yaml"; then
    echo "error: $bin render failed; nothing to benchmark" >&2
    exit 1
fi
printf 'resources:\n  - redis-sentinel.yaml\n' >"$dir/kustomization.yaml"
if [ -n "$kubectl" ] && ! "$kubectl" kustomize "$dir" >/dev/null; then
    echo "error: kubectl kustomize $dir failed" >&2
    exit 1
fi

csv=$(mktemp)
log=$(mktemp)
trap 'rm -rf "$dir" "$csv" "$csv.part" "$log"' EXIT
# hyperfine's own output (its warnings about outliers on a busy machine) is shown only when it
# fails; the figures come from its CSV export.
time_commands() {
    if ! hyperfine --shell=none --output=null --style=none --export-csv "$csv.part" "$@" \
        >"$log" 2>&1; then
        cat "$log" >&2
        echo "error: hyperfine failed" >&2
        exit 1
    fi
    tail -n +2 "$csv.part" >>"$csv"
}
time_commands --warmup 50 --runs "$runs" \
    -n render "$bin render" \
    -n cat "cat $dir/redis-sentinel.yaml" \
    -n version "$bin --version"
if [ -n "$kubectl" ]; then
    time_commands --warmup 3 --runs "$kustomize_runs" -n kustomize "$kubectl kustomize $dir"
fi

# hyperfine's CSV: command,mean,stddev,median,user,system,min,max (seconds).
awk -F, -v runs="$runs" -v kruns="$kustomize_runs" -v bytes="$(wc -c <"$dir/redis-sentinel.yaml")" \
    -v load="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)" '
    { median[$1] = $4 * 1000; low[$1] = $7 * 1000 }
    function verdict(ok) { if (ok) return "met"; missed++; return "MISSED" }
    END {
        printf "Render speed: medians of %d runs (kustomize: %d), hyperfine; load average %s\n\n",
            runs, kruns, load
        printf "%-44s %10s %10s   %s\n", "", "median", "min", "target"
        printf "%-44s %7.2f ms %7.2f ms   %-12s %s\n", "render (embedded default profile)",
            median["render"], low["render"], "<= 1.50 ms", verdict(median["render"] <= 1.5)
        printf "%-44s %7.2f ms %7.2f ms\n", sprintf("cat of its output (%d bytes)", bytes),
            median["cat"], low["cat"]
        printf "%-44s %7.2f ms %7.2f ms\n", "--version (process start and clap)",
            median["version"], low["version"]
        if ("kustomize" in median)
            printf "%-44s %7.2f ms %7.2f ms\n", "kubectl kustomize of the same output",
                median["kustomize"], low["kustomize"]
        else
            printf "%-44s %10s\n", "kubectl kustomize of the same output", "skipped (no kubectl)"
        printf "\n"
        ratio = median["render"] / median["cat"]
        printf "%-44s %8.2f x %10s   %-12s %s\n", "render / cat", ratio, "", "<= 2 x",
            verdict(ratio <= 2)
        if ("kustomize" in median) {
            ratio = median["kustomize"] / median["render"]
            printf "%-44s %8.1f x %10s   %-12s %s\n", "kustomize / render", ratio, "", ">= 30 x",
                verdict(ratio >= 30)
        }
        printf "\n%s\n", missed ? missed " target(s) missed" : "every target met"
        exit missed ? 1 : 0
    }' "$csv"
