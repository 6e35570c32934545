#!/usr/bin/env bash
# Benchmark Rampart in enforce mode against the same upstream called directly,
# and what identity plus Cedar policies add to it (the rampart-authz contender).
#
#   bench/run.sh                      # build, install wrk if needed, run, print a table
#   BENCH_DURATION=30s BENCH_CONNECTIONS=128 bench/run.sh
#   BENCH_CONTENDERS=direct bench/run.sh   # only the upstream (no gateway build)
#
# Environment (all optional):
#   BENCH_DURATION      wrk duration per run            (default 10s)
#   BENCH_CONNECTIONS   wrk connections                 (default 64)
#   BENCH_THREADS       wrk threads                     (default 2)
#   BENCH_WARMUP        unrecorded wrk run before each  (default 2s; 0 to skip)
#   BENCH_CONTENDERS    what to measure, in order       (default "direct nginx haproxy rampart-off rampart rampart-full")
#                       (also rampart-authz: JWT and Cedar without the rate limit)
#   BENCH_GATEWAY_ADDR  where Rampart listens           (default: first free 127.0.0.1:18480-18579)
#   BENCH_AUTHZ_ADDR    where rampart-authz listens     (default: the next free port in that range)
#   BENCH_UPSTREAM_ADDR where the upstream listens      (default 127.0.0.1:0, any free port)
#   BENCH_SKIP_BUILD    1: use the binaries already built in the target directory
#   CARGO_TARGET_DIR    cargo's target directory        (default ./target)
#
# A contender NAME is measured at the base URL that start_NAME sets in BASE[NAME];
# to add one (nginx, envoy, ...), write start_NAME and list it in BENCH_CONTENDERS.
# A contender that needs credentials sets AUTH[NAME] (an Authorization header
# value): the smoke test and wrk (through its Lua scripts) send it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
BIN=$TARGET_DIR/release

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
WARMUP=${BENCH_WARMUP:-2s}
read -r -a CONTENDERS <<<"${BENCH_CONTENDERS:-direct nginx haproxy rampart-off rampart rampart-full}"
GATEWAY_ADDR=${BENCH_GATEWAY_ADDR:-}
AUTHZ_ADDR=${BENCH_AUTHZ_ADDR:-}
UPSTREAM_ADDR=${BENCH_UPSTREAM_ADDR:-127.0.0.1:0}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rampart-bench.XXXXXX")
PIDS=()   # long-lived processes: the upstream and the contenders
WRK_PID=  # the wrk run in progress, if any
declare -A BASE=()
declare -A AUTH=()

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cleanup() {
    local pid
    [[ -n $WRK_PID ]] && kill "$WRK_PID" 2>/dev/null
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

has_contender() {
    local c
    for c in "${CONTENDERS[@]}"; do [[ $c == "$1" ]] && return 0; done
    return 1
}

# --- setup -------------------------------------------------------------------

build() {
    if [[ ${BENCH_SKIP_BUILD:-0} == 1 ]]; then
        log "skipping the build (BENCH_SKIP_BUILD=1); using $BIN"
        return
    fi
    local packages=(-p rampart-demo)
    local c
    for c in "${CONTENDERS[@]}"; do [[ $c == rampart* ]] && { packages+=(-p rampart); break; }; done
    log "cargo build --release ${packages[*]} (target dir $TARGET_DIR)"
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --bins "${packages[@]}")
}

# apt_install CMD PACKAGE: install PACKAGE unless CMD is on the PATH.
apt_install() {
    command -v "$1" >/dev/null && return
    [[ -x /usr/sbin/$1 ]] && return
    command -v apt-get >/dev/null || die "$1 is missing and apt-get is not available: install $2"
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    log "installing $2 with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get install -y "$2" >/dev/null ||
        { "${sudo[@]}" apt-get update >/dev/null && "${sudo[@]}" apt-get install -y "$2" >/dev/null; } ||
        die "could not install $2"
}

ensure_wrk() {
    command -v wrk >/dev/null && return
    command -v apt-get >/dev/null || die "wrk is missing and apt-get is not available: install wrk"
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    log "installing wrk with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get install -y wrk >/dev/null ||
        { "${sudo[@]}" apt-get update >/dev/null && "${sudo[@]}" apt-get install -y wrk >/dev/null; } ||
        die "could not install wrk"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_for NAME PID HOST:PORT LOGFILE: until the port accepts, or the process dies.
wait_for() {
    local name=$1 pid=$2 addr=$3 logfile=$4 i
    for ((i = 0; i < 150; i++)); do
        port_open "${addr%:*}" "${addr##*:}" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$name exited before listening on $addr; its output:"
            sed 's/^/  | /' "$logfile" >&2
            exit 1
        fi
        sleep 0.1
    done
    die "$name did not listen on $addr within 15s (output in $logfile)"
}

start_upstream() {
    local out=$WORK/upstream.log i addr=
    # Created here, not by the background child's redirection, which may
    # not have happened yet when the loop first reads it.
    : >"$out"
    "$BIN/rampart-bench-upstream" --listen "$UPSTREAM_ADDR" >>"$out" 2>&1 &
    PIDS+=($!)
    for ((i = 0; i < 150; i++)); do
        addr=$(sed -n 's/^listening on //p' "$out" 2>/dev/null || true)
        [[ -n $addr ]] && break
        kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$out" >&2; die "the bench upstream did not start"; }
        sleep 0.1
    done
    [[ -n $addr ]] || die "the bench upstream did not report its address"
    UPSTREAM=http://$addr
    log "bench upstream on $UPSTREAM"
}

# --- contenders: each sets BASE[name] -----------------------------------------

start_direct() { BASE[direct]=$UPSTREAM; }

# A free loopback port for a contender that must be told where to listen.
# (Racy in principle: another process could take it before the contender does.)
free_addr() {
    local port
    for ((port = 18480; port < 18580; port++)); do
        port_open 127.0.0.1 "$port" || { echo "127.0.0.1:$port"; return; }
    done
    die "no free port in 18480-18579: set BENCH_GATEWAY_ADDR"
}

# serve_bundle NAME ADDR [BUNDLE FLAGS...]: write a bench bundle into
# $WORK/NAME and run `rampart serve` on it at ADDR.
serve_bundle() {
    local name=$1 addr=$2 dir=$WORK/$1 config
    shift 2
    config=$("$BIN/rampart-bench-bundle" "$@" "$dir" "$addr" "$UPSTREAM" "$dir/security.log")
    # A contender may adjust its bundle's config (edit_NAME CONFIG).
    if declare -F "edit_$name" >/dev/null; then "edit_$name" "$config"; fi
    "$BIN/rampart" serve --config "$config" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    wait_for "$name" "${PIDS[-1]}" "$addr" "$WORK/$name.log"
    BASE[$name]=http://$addr
    log "$name on ${BASE[$name]} (config $config)"
}

start_rampart() {
    if [[ -z $GATEWAY_ADDR ]]; then
        GATEWAY_ADDR=$(free_addr)
    elif port_open "${GATEWAY_ADDR%:*}" "${GATEWAY_ADDR##*:}"; then
        die "$GATEWAY_ADDR is already in use: set BENCH_GATEWAY_ADDR"
    fi
    serve_bundle rampart "$GATEWAY_ADDR"
}

# Rampart with identity and authorization on top of the same contract checks:
# every request carries a bearer JWT (HS256, secret generated for this run,
# verified once and then served from the token cache), Cedar decides each
# request, and the profile's ownership annotations make the response phase
# decide the profile too (the token's subject owns it: the full view).
start_rampart-authz() {
    if [[ -z $AUTHZ_ADDR ]]; then
        AUTHZ_ADDR=$(free_addr)
    elif port_open "${AUTHZ_ADDR%:*}" "${AUTHZ_ADDR##*:}"; then
        die "$AUTHZ_ADDR is already in use: set BENCH_AUTHZ_ADDR"
    fi
    serve_bundle rampart-authz "$AUTHZ_ADDR" --authz
    AUTH[rampart-authz]="Bearer $(cat "$WORK/rampart-authz/bench.token")"
    authz_check rampart-authz
}

# The authz contender must refuse a request without a token, and must decide
# the profile in the response phase (its full-view policy in the security
# log); otherwise it would be measuring less than it claims.
authz_check() {
    local name=$1 base=${BASE[$1]} seclog=$WORK/$1/security.log status i
    command -v curl >/dev/null || return 0
    status=$(curl -s -o /dev/null -w '%{http_code}' "$base/profile")
    [[ $status == 401 ]] || die "$name: GET /profile without a token answered $status, not 401"
    curl -s -o /dev/null -H "Authorization: ${AUTH[$name]}" "$base/profile"
    for ((i = 0; i < 50; i++)); do
        grep -q '"bench-full-view"' "$seclog" 2>/dev/null && return 0
        sleep 0.1
    done
    die "$name: no full-view decision in $seclog: the response phase did not run"
}

# Rampart with every check off (mode: off): what the proxy itself costs.
edit_rampart-off() { sed -i 's/^mode: enforce$/mode: off/' "$1"; grep -q '^mode: off$' "$1" || die "rampart-off: no mode line to switch"; }
start_rampart-off() { serve_bundle rampart-off "$(free_addr)"; }

# Full enforcement: JWT, Cedar, request and response validation (the authz
# bundle), plus a rate limit on every request (set high enough never to
# refuse one here, so its cost is measured, not its refusals), with audit
# events in SQLite and detection on (the defaults).
edit_rampart-full() {
    cat >>"$1" <<'YAML'
rate_limits:
  - name: bench-per-principal
    key: [principal]
    rate: 60000000/min
    burst: 1000000
YAML
}
start_rampart-full() {
    serve_bundle rampart-full "$(free_addr)" --authz
    AUTH[rampart-full]="Bearer $(cat "$WORK/rampart-full/bench.token")"
    authz_check rampart-full
    local h
    h=$(curl -s -D - -o /dev/null -H "Authorization: ${AUTH[rampart-full]}" "${BASE[rampart-full]}/profile" | tr -d '\r' | grep -i '^ratelimit-policy:' || true)
    [[ -n $h ]] || die "rampart-full: no RateLimit-Policy header: the rate limit is not applied"
}

# HAProxy as a plain reverse proxy: no checks, keep-alive to the upstream,
# one thread per core.
start_haproxy() {
    apt_install haproxy haproxy
    local addr dir=$WORK/haproxy haproxy_bin
    haproxy_bin=$(command -v haproxy || echo /usr/sbin/haproxy)
    addr=$(free_addr)
    mkdir -p "$dir"
    cat >"$dir/haproxy.cfg" <<HAPROXY
global
    nbthread $(nproc)
    maxconn 8192
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    http-reuse always
    option http-keep-alive
frontend bench
    bind $addr
    default_backend upstream
backend upstream
    server up ${UPSTREAM#http://}
HAPROXY
    "$haproxy_bin" -f "$dir/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
    PIDS+=($!)
    wait_for haproxy "${PIDS[-1]}" "$addr" "$WORK/haproxy.log"
    BASE[haproxy]=http://$addr
    log "haproxy on ${BASE[haproxy]}"
}

# nginx as a plain reverse proxy: no checks, keep-alive to the upstream, no
# access log, one worker per core (as Rampart uses one thread per core).
start_nginx() {
    apt_install nginx nginx
    local addr dir=$WORK/nginx nginx_bin
    nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
    addr=$(free_addr)
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    upstream backend { server ${UPSTREAM#http://}; keepalive 128; }
    server {
        listen $addr;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGINX
    "$nginx_bin" -c "$dir/nginx.conf" -p "$dir" >"$WORK/nginx.log" 2>&1 &
    PIDS+=($!)
    wait_for nginx "${PIDS[-1]}" "$addr" "$WORK/nginx.log"
    BASE[nginx]=http://$addr
    log "nginx on ${BASE[nginx]}"
}

# --- measuring ----------------------------------------------------------------

# A contender that answers errors would be "fast" for the wrong reason: check
# that each one answers the benchmark's two requests as the upstream does.
smoke_test() {
    local name=$1 base=$2 status auth=()
    command -v curl >/dev/null || return 0
    [[ -n ${AUTH[$name]:-} ]] && auth=(-H "Authorization: ${AUTH[$name]}")
    status=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$base/profile")
    [[ $status == 200 ]] || die "$name: GET /profile answered $status, not 200"
    status=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" -H 'content-type: application/json' \
        --data-binary "@$WORK/post-body.json" "$base/items")
    [[ $status == 201 ]] || die "$name: POST /items answered $status, not 201"
}

write_post_script() {
    "$BIN/rampart-bench-upstream" --print-post-body >"$WORK/post-body.json"
    grep -q ']==]' "$WORK/post-body.json" && die "the POST body cannot be a Lua long string"
    {
        printf 'wrk.method = "POST"\n'
        printf 'wrk.headers["Content-Type"] = "application/json"\n'
        printf 'wrk.body = [==[%s]==]\n' "$(cat "$WORK/post-body.json")"
    } >"$WORK/post.lua"
}

# lua_for NAME METHOD: the wrk script for a contender's GET or POST run (prints
# nothing for a plain GET): the POST script, plus its Authorization header.
lua_for() {
    local name=$1 method=$2 out
    if [[ -z ${AUTH[$name]:-} ]]; then
        [[ $method == POST ]] && echo "$WORK/post.lua"
        return 0
    fi
    out=$WORK/$method-$name.lua
    {
        [[ $method == POST ]] && cat "$WORK/post.lua"
        printf 'wrk.headers["Authorization"] = [==[%s]==]\n' "${AUTH[$name]}"
    } >"$out"
    echo "$out"
}

# wrk as a background child that the script waits for: bash runs a trap only
# between commands, and `wait` is the one command a signal interrupts, so
# Ctrl-C or a TERM cleans up now rather than when wrk is done.
run_wrk() {
    local rc=0
    wrk "$@" &
    WRK_PID=$!
    wait "$WRK_PID" || rc=$?
    WRK_PID=
    return "$rc"
}

# measure LABEL URL [LUA]: run wrk, print "label req/s p50ms p99ms non2xx errors".
measure() {
    local label=$1 url=$2 lua=${3:-} out=$WORK/wrk-${1// /-}.txt
    local args=(-t"$THREADS" -c"$CONNECTIONS" --latency)
    [[ -n $lua ]] && args+=(-s "$lua")
    if [[ $WARMUP != 0 ]]; then run_wrk "${args[@]}" -d"$WARMUP" "$url" >/dev/null 2>&1 || true; fi
    log "wrk $label: $url (${DURATION}, ${CONNECTIONS} connections)"
    run_wrk "${args[@]}" -d"$DURATION" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
    awk -v label="$label" '
        function ms(v) {
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /m$/) return v * 60000
            return v * 1000
        }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ { errors = $4 + $6 + $8 + $10 }
        END {
            if (rps == "") { print "bench: no Requests/sec in wrk output" > "/dev/stderr"; exit 1 }
            printf "%s|%.0f|%.3f|%.3f|%d|%d\n", label, rps, p50, p99, non2xx, errors
        }' "$out"
}

report() {
    awk -F'|' '
        { label[NR] = $1; rps[$1] = $2; p50[$1] = $3; p99[$1] = $4; row[NR] = $0 }
        END {
            printf "\n%-20s %10s %10s %10s %9s %9s\n", "scenario", "req/s", "p50 ms", "p99 ms", "non-2xx", "sock-err"
            for (i = 1; i <= NR; i++) {
                split(row[i], f, "|")
                printf "%-20s %10s %10s %10s %9s %9s\n", f[1], f[2], f[3], f[4], f[5], f[6]
            }
            header = 0
            for (i = 1; i <= NR; i++) {
                split(label[i], parts, " ")
                if (parts[2] == "direct") continue
                base = parts[1] " direct"
                if (!(base in rps) || rps[base] == 0 || p50[base] == 0 || p99[base] == 0) continue
                if (!header) { printf "\nratio to direct (req/s higher is better; latency lower is better)\n"; header = 1 }
                printf "%-20s req/s %.2fx   p50 %.2fx   p99 %.2fx\n", label[i],
                    rps[label[i]] / rps[base], p50[label[i]] / p50[base], p99[label[i]] / p99[base]
            }
            header = 0
            for (i = 1; i <= NR; i++) {
                split(label[i], parts, " ")
                if (parts[2] == "direct" || parts[2] == "nginx") continue
                base = parts[1] " nginx"
                if (!(base in rps) || rps[base] == 0) continue
                if (!header) { printf "\nratio to nginx as a plain proxy (req/s)\n"; header = 1 }
                printf "%-20s req/s %.2fx   added p99 over direct %+.3f ms\n", label[i],
                    rps[label[i]] / rps[base], p99[label[i]] - p99[parts[1] " direct"]
            }
            header = 0
            for (i = 1; i <= NR; i++) {
                split(label[i], parts, " ")
                if (parts[2] != "rampart-authz") continue
                base = parts[1] " rampart"
                if (!(base in rps) || rps[base] == 0 || rps[label[i]] == 0) continue
                if (!header) {
                    printf "\nadded by identity + policy (rampart-authz vs rampart: JWT verify, Cedar per request and per object)\n"
                    header = 1
                }
                # 1/req/s is the time per request at saturation, all cores counted.
                printf "%-20s req/s %.2fx   p50 %+.3f ms   p99 %+.3f ms   %+.1f us/request at saturation\n", label[i],
                    rps[label[i]] / rps[base], p50[label[i]] - p50[base], p99[label[i]] - p99[base],
                    (1 / rps[label[i]] - 1 / rps[base]) * 1e6
            }
        }' "$WORK/results"
}

main() {
    build
    ensure_wrk
    start_upstream
    write_post_script
    local name
    for name in "${CONTENDERS[@]}"; do
        declare -F "start_$name" >/dev/null || die "unknown contender '$name' (no start_$name)"
        "start_$name"
        smoke_test "$name" "${BASE[$name]}"
    done
    : >"$WORK/results"
    for name in "${CONTENDERS[@]}"; do
        measure "GET $name" "${BASE[$name]}/profile" "$(lua_for "$name" GET)" >>"$WORK/results"
    done
    for name in "${CONTENDERS[@]}"; do
        measure "POST $name" "${BASE[$name]}/items" "$(lua_for "$name" POST)" >>"$WORK/results"
    done
    printf '\nwrk -t%s -c%s -d%s on %s CPU(s); load generator, proxy and upstream share them.\n' \
        "$THREADS" "$CONNECTIONS" "$DURATION" "$(nproc 2>/dev/null || echo '?')"
    report
}

# Sourcing the script (for its functions) does not run it.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
