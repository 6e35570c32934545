#!/usr/bin/env bash
# Compare `rampart scan` with schemathesis (two users, every check) and OFFAT
# (two actors) against the demo's leaky riders API: findings and wall time
# side by side.
#
#   bench/scan-compare.sh
#
# Each tool gets a fresh `rampart demo` (the leaky API restarts from its
# seeded data), started on ephemeral loopback ports. rampart scan runs with
# --allow-writes (the others write too). Counts are what each tool reports
# as a failure or a vulnerability; the raw reports stay in the work dir
# printed at the end, so the true/false split can be checked by hand.
#
# Environment (all optional):
#   SCAN_TOOLS_DIR   where the PyPI venv goes   (default: ~/.cache/rampart/bench-venv)
#   SCAN_TIMEOUT     per-tool timeout, s        (default 600)
#   SCHEMATHESIS_MAX_TIME  schemathesis time budget, s (default 120)
#   CARGO_TARGET_DIR cargo's target directory   (default ./target)
#   SCAN_KEEP=1      keep the work directory
#
# Installs from PyPI (pinned): schemathesis, offat. Needs python3 and curl.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
VENV=${SCAN_TOOLS_DIR:-$HOME/.cache/rampart/bench-venv}
TIMEOUT=${SCAN_TIMEOUT:-600}
ST_MAX_TIME=${SCHEMATHESIS_MAX_TIME:-120}
SCHEMATHESIS_VERSION=4.32.5
OFFAT_VERSION=0.19.4
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rampart-scan-compare.XXXXXX")
DEMO_PID=
cleanup() {
    [[ -n $DEMO_PID ]] && kill "$DEMO_PID" 2>/dev/null || true
    [[ -n ${SCAN_KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf 'scan-compare: %s\n' "$*" >&2; }

install_tools() {
    if [[ ! -x $VENV/bin/schemathesis || ! -x $VENV/bin/offat ]]; then
        log "installing schemathesis $SCHEMATHESIS_VERSION and offat $OFFAT_VERSION into $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" "offat==$OFFAT_VERSION" >&2
    fi
}

# Start a fresh demo in $1; sets UPSTREAM, MEMBER, OWNER, ADMIN, SPEC.
start_demo() {
    local dir=$1
    stop_demo
    mkdir -p "$dir"
    "$RAMPART" demo --listen 127.0.0.1:0 --upstream-listen 127.0.0.1:0 --dir "$dir" >"$dir/demo.out" 2>"$dir/demo.err" &
    DEMO_PID=$!
    for _ in $(seq 1 100); do
        grep -q 'Press Ctrl-C' "$dir/demo.out" 2>/dev/null && break
        sleep 0.1
    done
    UPSTREAM=$(sed -n 's/.*leaky sample API (direct): *//p' "$dir/demo.out" | head -1)
    eval "$(grep '^export ' "$dir/demo.out" | sed 's/ *#.*$//')"
    SPEC=$dir/riders.openapi.yaml
    [[ -n $UPSTREAM && -n ${OWNER:-} && -f $SPEC ]] || { log "the demo did not start"; cat "$dir/demo.err" >&2; exit 1; }
}

stop_demo() {
    if [[ -n $DEMO_PID ]]; then
        kill "$DEMO_PID" 2>/dev/null || true
        wait "$DEMO_PID" 2>/dev/null || true
        DEMO_PID=
    fi
}

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

log "building rampart"
(cd "$ROOT" && cargo build -q -p rampart)
RAMPART=$TARGET_DIR/debug/rampart
install_tools

# --- rampart scan -------------------------------------------------------
start_demo "$WORK/rampart"
t0=$(now)
OWNER_TOKEN=$OWNER MEMBER_TOKEN=$MEMBER timeout "$TIMEOUT" "$RAMPART" scan --spec "$SPEC" --target "$UPSTREAM" \
    --identity alice=bearer-env:OWNER_TOKEN --identity bob=bearer-env:MEMBER_TOKEN \
    --allow-writes --quiet --format json --output "$WORK/rampart.json" >/dev/null 2>&1 || true
RAMPART_TIME=$(since "$t0")
RAMPART_N=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$WORK/rampart.json")
RAMPART_KINDS=$(python3 -c 'import json,sys,collections; c=collections.Counter(f["rule"] for f in json.load(open(sys.argv[1]))["findings"]); print(", ".join(f"{k}={v}" for k,v in sorted(c.items())))' "$WORK/rampart.json")

# --- schemathesis, two users ---------------------------------------------
start_demo "$WORK/schemathesis"
cat >"$WORK/wfc.json" <<EOF
{"auth": [
  {"name": "alice", "fixedHeaders": [{"name": "Authorization", "value": "Bearer $OWNER"}]},
  {"name": "bob", "fixedHeaders": [{"name": "Authorization", "value": "Bearer $MEMBER"}]}
]}
EOF
t0=$(now)
(cd "$WORK" && timeout "$TIMEOUT" "$VENV/bin/schemathesis" run "$SPEC" --url "$UPSTREAM/api" \
    --auth-wfc "$WORK/wfc.json" --checks all --max-time "$ST_MAX_TIME" --continue-on-failure \
    --report junit --report-junit-path "$WORK/schemathesis.xml" --no-color >"$WORK/schemathesis.out" 2>&1) || true
ST_TIME=$(since "$t0")
ST_N=$(python3 - "$WORK/schemathesis.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0); sys.exit()
print(sum(1 for _ in root.iter("failure")) + sum(1 for _ in root.iter("error")))
EOF
)
ST_KINDS=$(grep -E '^\s*[-•]?\s*[A-Z][A-Za-z ]+ \(ST[0-9]+\)|^\s+\d+\. ' "$WORK/schemathesis.out" | sort | uniq -c | head -20 | tr '\n' ';' || true)

# --- OFFAT, two actors ----------------------------------------------------
start_demo "$WORK/offat"
cat >"$WORK/offat-users.yaml" <<EOF
actors:
  - actor1:
      request_headers:
        - name: Authorization
          value: Bearer $OWNER
  - actor2:
      request_headers:
        - name: Authorization
          value: Bearer $MEMBER
      unauthorized_endpoints:
        - "/api/riders/2/workouts"
        - "/api/admin/export"
EOF
# OFFAT wants an absolute server URL in the spec (it rejects `/api`) and
# crashes on parameters given as $ref: give it a copy with both fixed (the
# contract is otherwise the same).
"$VENV/bin/python" - "$SPEC" "$UPSTREAM/api" "$WORK/offat-spec.json" <<'PY'
import json, sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
spec["servers"] = [{"url": sys.argv[2]}]
def inline(node):
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/parameters/"):
            return inline(spec["components"]["parameters"][ref.rsplit("/", 1)[1]])
        return {k: inline(v) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(v) for v in node]
    return node
for item in spec["paths"].values():
    for key, value in list(item.items()):
        if key == "parameters":
            item[key] = inline(value)
        elif isinstance(value, dict) and "parameters" in value:
            value["parameters"] = inline(value["parameters"])
json.dump(spec, open(sys.argv[3], "w"))
PY
t0=$(now)
(cd "$WORK" && timeout "$TIMEOUT" "$VENV/bin/offat" -f "$WORK/offat-spec.json" \
    -tdc "$WORK/offat-users.yaml" -o "$WORK/offat.json" -of json >"$WORK/offat.out" 2>&1) || true
OFFAT_TIME=$(since "$t0")
OFFAT_N=$(python3 - "$WORK/offat.json" <<'EOF'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except Exception:
    print(0); sys.exit()
def walk(v):
    if isinstance(v, dict):
        if v.get("vulnerable") is True:
            yield v
        for x in v.values():
            yield from walk(x)
    elif isinstance(v, list):
        for x in v:
            yield from walk(x)
print(sum(1 for _ in walk(data)))
EOF
)
OFFAT_KINDS=$(python3 - "$WORK/offat.json" <<'EOF'
import json, sys, collections
try:
    data = json.load(open(sys.argv[1]))
except Exception:
    sys.exit()
c = collections.Counter()
def walk(v):
    if isinstance(v, dict):
        if v.get("vulnerable") is True:
            c[v.get("test_name", "?")] += 1
        for x in v.values():
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(data)
print(", ".join(f"{k}={n}" for k, n in sorted(c.items())))
EOF
)
stop_demo

printf '\n%-14s %10s %10s\n' tool findings "wall (s)"
printf '%-14s %10s %10s\n' "rampart scan" "$RAMPART_N" "$RAMPART_TIME"
printf '%-14s %10s %10s\n' schemathesis "$ST_N" "$ST_TIME"
printf '%-14s %10s %10s\n' offat "$OFFAT_N" "$OFFAT_TIME"
printf '\nrampart scan: %s\n' "$RAMPART_KINDS"
printf 'offat:        %s\n' "$OFFAT_KINDS"
printf 'schemathesis: see %s (failures by check)\n' "$WORK/schemathesis.out"
[[ -n ${SCAN_KEEP:-} ]] && printf 'reports kept in %s\n' "$WORK"
