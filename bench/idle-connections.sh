#!/usr/bin/env bash
# Memory of Rampart holding 10k idle keep-alive connections (issue 11: the
# goal is an RSS under 64 MB). Starts the bench upstream and `rampart serve`
# with the bench bundle, opens IDLE_CONNECTIONS client connections that each
# complete one request and then stay open, and prints the gateway's RSS
# before and after, and per connection.
#
#   bench/idle-connections.sh                 # 10000 connections
#   IDLE_CONNECTIONS=20000 bench/idle-connections.sh
#   BENCH_SKIP_BUILD=1 CARGO_TARGET_DIR=... bench/idle-connections.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
N=${IDLE_CONNECTIONS:-10000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rampart-idle.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --bins -p rampart -p rampart-demo)
fi

# Each side holds N descriptors (in its own process): raise the soft limit
# as far as the hard one allows.
ulimit -n "$(ulimit -Hn)"

"$BIN/rampart-bench-upstream" --listen 127.0.0.1:0 >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q '^listening on ' "$WORK/upstream.log" && break; sleep 0.1; done
UPSTREAM=http://$(sed -n 's/^listening on //p' "$WORK/upstream.log")
ADDR=127.0.0.1:18690
CONFIG=$("$BIN/rampart-bench-bundle" "$WORK/bundle" "$ADDR" "$UPSTREAM" "$WORK/security.log")
# Idle connections are closed after limits.header_read_timeout_ms; keep them
# for the measurement, and allow more than N of them.
cat >>"$CONFIG" <<YAML
limits:
  header_read_timeout_ms: 120000
  max_connections: $((N + 1000))
YAML
"$BIN/rampart" serve --config "$CONFIG" >"$WORK/rampart.log" 2>&1 &
GW=$!
PIDS+=($GW)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/18690) 2>/dev/null && break; sleep 0.1; done

rss() { awk '/^VmRSS/ {print $2}' "/proc/$GW/status"; }
before=$(rss)
python3 - "$N" "$before" "$GW" <<'PY'
import socket, sys, time
n, before, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
socks = []
req = b"GET /profile HTTP/1.1\r\nHost: bench\r\n\r\n"
t0 = time.time()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", 18690))
    s.sendall(req)
    socks.append(s)
ok = 0
for s in socks:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    if data.startswith(b"HTTP/1.1 200"):
        ok += 1
time.sleep(2)
after = rss()
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            continue
    except BlockingIOError:
        alive += 1
    except OSError:
        continue
print(f"connections opened: {n}, answered 200: {ok}, still open after 2 s idle: {alive}")
print(f"gateway RSS before: {before / 1024:.1f} MiB, with the idle connections: {after / 1024:.1f} MiB")
print(f"per idle connection: {(after - before) * 1024 / max(alive, 1):.0f} bytes ({time.time() - t0:.1f} s)")
PY
