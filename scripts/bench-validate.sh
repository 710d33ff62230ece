#!/usr/bin/env bash
# Wall time of validating many profiles in one invocation, the way the pre-commit hook runs:
#   target/release/redis-sentinel-gen validate <1,000 files>
# The files are the shipped profiles copied under distinct names into a temp directory.
# Prints the median and minimum of ROUNDS rounds (default 5) in seconds. Target: ≤ 0.5 s.
# Run by hand; not part of CI (timings depend on the machine). FILES=n changes the count.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
files=${FILES:-1000}
rounds=${ROUNDS:-5}
bin=target/release/redis-sentinel-gen

cargo build --release --quiet

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

shopt -s nullglob
profiles=(profiles/*.yaml)
if [ "${#profiles[@]}" -eq 0 ]; then
    echo "error: no profiles in profiles/" >&2
    exit 1
fi
for ((i = 0; i < files; i++)); do
    cp "${profiles[i % ${#profiles[@]}]}" "$dir/profile-$i.yaml"
done
targets=("$dir"/profile-*.yaml)

# Fail loudly rather than timing a run that stops at the first problem.
if ! "$bin" validate "${targets[@]}" 2>/dev/null; then
    echo "error: $bin validate failed on the copied profiles; nothing to benchmark" >&2
    exit 1
fi

samples=()
for ((r = 0; r < rounds; r++)); do
    start=$(date +%s%N)
    "$bin" validate "${targets[@]}" 2>/dev/null
    end=$(date +%s%N)
    samples+=($((end - start)))
done

sorted=$(printf '%s\n' "${samples[@]}" | sort -n)
median=$(sed -n "$(((rounds + 1) / 2))p" <<<"$sorted")
minimum=$(head -n 1 <<<"$sorted")
seconds() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }
printf 'validate %d profiles in one invocation, %d rounds: median %s s, min %s s (target 0.5 s)\n' \
    "$files" "$rounds" "$(seconds "$median")" "$(seconds "$minimum")"
