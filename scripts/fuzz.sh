#!/usr/bin/env bash
# Run every cargo-fuzz target in fuzz/ for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
#
# cargo-fuzz needs nightly-only compiler flags; on a stable toolchain
# RUSTC_BOOTSTRAP=1 unlocks them. Targets are built without a sanitizer
# (`-s none`): every Rampart crate forbids `unsafe`, so AddressSanitizer
# would mostly cost speed. The committed seeds in fuzz/corpus/<target>/ are
# read, and new inputs go to fuzz/corpus-run/<target>/ (not committed); a
# crash is saved under fuzz/artifacts/<target>/ and fails the script.
# Fuzz builds go to their own target directory, away from the workspace's.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/fuzz/target}-fuzz}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
cargo fuzz build -s none
failed=()
for target in $(cargo fuzz list); do
    echo "== $target: ${seconds}s"
    mkdir -p "corpus-run/$target"
    if ! cargo fuzz run -s none "$target" "corpus-run/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1; then
        failed+=("$target")
    fi
done
if ((${#failed[@]})); then
    echo "crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "no crashes"
