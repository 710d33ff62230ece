#!/usr/bin/env bash
# Run the whole test suite, on a fresh machine or a used one.
#
# Installs what the tests need when it is missing (Debian packages for the real Redis,
# Sentinel and shellcheck; a Python venv in ./.venv with the pinned tools of
# requirements-test.txt), then runs `cargo fmt --check`, clippy with warnings denied, and
# `cargo test`. Running it again installs nothing and gives the same result.
#
# With CI=true (what .ci/run sets) a test whose external tool is missing fails instead of
# skipping; this script installs every such tool first, so nothing is skipped either way.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$(pwd)

say() { printf '\n==> %s\n' "$*"; }

# Root runs apt directly; anyone else goes through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

install_system_packages() {
    local missing=()
    local tool
    for tool in redis-server redis-sentinel redis-cli shellcheck promtool prometheus-redis-exporter busybox rsvg-convert; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    # GNU time measures the peak memory of the binary in tests/it/memory.rs (`time` alone is
    # the shell keyword).
    [ -x /usr/bin/time ] || missing+=(time)
    # Debian's python3 cannot create a venv without python3-venv (no ensurepip).
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    if [ "${#missing[@]}" -eq 0 ]; then
        return
    fi
    say "installing system packages (missing: ${missing[*]})"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
        redis-server redis-sentinel redis-tools shellcheck python3 python3-venv \
        prometheus prometheus-redis-exporter busybox time librsvg2-bin
}

# Debian's packages start their own redis-server (127.0.0.1:6379) and redis-sentinel
# (26379). The tests bind other loopback addresses, but a stray server on the default
# address would answer any redis-cli call that forgot its -h, so it must not run.
stop_packaged_services() {
    local unit
    # On a developer's machine the packaged services may be theirs: leave them alone. The
    # tests bind 127.0.0.10 and up, so a server on 127.0.0.1 only matters as a warning.
    if [ "${CI:-}" != true ]; then
        if command -v redis-cli >/dev/null 2>&1 &&
            redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
            echo "note: a Redis answers on 127.0.0.1:6379; the tests do not use it" >&2
        fi
        return
    fi
    # prometheus-redis-exporter's service listens on *:9121, which would keep the monitoring
    # test's exporters off their loopback addresses; prometheus itself is not needed.
    for unit in redis-server redis-sentinel prometheus-redis-exporter prometheus; do
        if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
            if systemctl is-active --quiet "$unit" || systemctl is-enabled --quiet "$unit" 2>/dev/null; then
                say "stopping and disabling the packaged $unit service"
                as_root systemctl disable --now "$unit" || true
            fi
        elif command -v service >/dev/null 2>&1 && [ -x "/etc/init.d/$unit" ]; then
            if service "$unit" status >/dev/null 2>&1; then
                say "stopping the packaged $unit service"
                as_root service "$unit" stop || true
            fi
        fi
    done
    if command -v redis-cli >/dev/null 2>&1 &&
        redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        echo "warning: something still answers on 127.0.0.1:6379 (not started by this script)" >&2
    fi
}

install_python_tools() {
    if [ ! -x .venv/bin/python ]; then
        say "creating the Python venv .venv"
        python3 -m venv .venv
    fi
    # Pinned versions: pip does not touch the network when they are already installed.
    if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check \
        -r requirements-test.txt; then
        echo "error: pip install -r requirements-test.txt failed" >&2
        exit 1
    fi
    # checkov pins packaging<24, pre-commit's virtualenv packaging>=26.3: checkov gets a venv
    # of its own, linked into .venv/bin where the tests look for tools.
    if [ ! -x .venv-checkov/bin/python ]; then
        say "creating the Python venv .venv-checkov"
        python3 -m venv .venv-checkov
    fi
    if ! .venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check \
        -r requirements-checkov.txt; then
        echo "error: pip install -r requirements-checkov.txt failed" >&2
        exit 1
    fi
    ln -sf ../../.venv-checkov/bin/checkov .venv/bin/checkov
}

check_rust_toolchain() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "error: cargo not found; install Rust with rustup (https://rustup.rs) first" >&2
        exit 1
    fi
    if command -v rustup >/dev/null 2>&1; then
        local component
        for component in rustfmt clippy; do
            if ! rustup component list --installed | grep -q "^$component"; then
                say "installing rustup component $component"
                rustup component add "$component"
            fi
        done
    fi
}

# `cargo test` prints one "test result:" line per test binary; the counts are added up for
# the closing line. Prints "<passed> <failed> <ignored> <binaries>".
count_tests() {
    awk '
        /^test result:/ {
            for (i = 1; i <= NF; i++) {
                if ($(i + 1) ~ /^passed/) passed += $i
                if ($(i + 1) ~ /^failed/) failed += $i
                if ($(i + 1) ~ /^ignored/) ignored += $i
            }
            binaries++
        }
        END { printf "%d %d %d %d\n", passed, failed, ignored, binaries }' "$1"
}

install_system_packages
stop_packaged_services
install_python_tools
check_rust_toolchain
export PATH="$repo_root/.venv/bin:$PATH"

# Every step runs even when an earlier one failed, so one run shows everything that is wrong;
# the exit status is non-zero if any step failed.
failed_steps=()

say "cargo fmt --check"
cargo fmt --check || failed_steps+=(fmt)

say "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings || failed_steps+=(clippy)

say "cargo test --no-fail-fast (CI=${CI:-unset})"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --no-fail-fast 2>&1 | tee "$log" || failed_steps+=(test)
read -r passed failed ignored binaries < <(count_tests "$log")

if [ "${#failed_steps[@]}" -eq 0 ]; then
    verdict="SUITE OK"
else
    verdict="SUITE FAILED (${failed_steps[*]})"
fi
printf '\n%s (%d test binaries, %d ignored)\n' "$verdict" "$binaries" "$ignored"
# The closing line in the plain "N passed, N failed" form that any CI reader understands.
printf 'tests: %d passed, %d failed\n' "$passed" "$failed"
[ "${#failed_steps[@]}" -eq 0 ]
