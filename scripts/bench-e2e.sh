#!/usr/bin/env bash
# End-to-end benchmark: zhttpd against nginx on this box, side by side, one worker each.
#
#   scripts/bench-e2e.sh                 # defaults: 5 s per case, wrk -t1 -c50, 10,000 idle conns
#   DURATION=3 IDLE_CONNS=2000 scripts/bench-e2e.sh
#
# Environment: DURATION (s per case, 5), THREADS (wrk -t, 1), CONNECTIONS (wrk -c, 50),
# IDLE_CONNS (10000), WARMUP (s of unmeasured load per server first, 1; 0 = none),
# ZHTTPD (a zhttpd binary to use instead of building build/zhttpd), COMPUTE (likewise for
# build/examples/compute), LOG_DIR (where the wrk outputs
# and server logs of the last run are left, build/bench/e2e-logs).
#
# Cases (wrk --latency on 127.0.0.1, each against zhttpd then nginx, servers started once):
#   tiny        2-byte body: zhttpd serves the static file ok.txt, nginx answers `return 200 "ok"`
#   static100   a 100 B static file
#   gzip100     a 100 B precompressed variant: pre/page.txt.gz beside a 1,000 B pre/page.txt, asked
#               for with Accept-Encoding: gzip, br (nginx: gzip_static on); zhttpd's CPU per request
#               is compared with static100's, the same size unencoded
#   static64k   a 64 KiB static file
#   pipelined16 the tiny request, 16 at a time in one write (bench/e2e/pipeline16.lua)
#   limited     the tiny file (both serve it from disk) under a per-client rate limit that never
#               refuses (1,000,000 r/s, burst 1000, nodelay): zhttpd --limit-req (a second zhttpd
#               process, so that `tiny` runs without the limiter), nginx limit_req
#   refused     the same under 1 r/s burst=10 nodelay: nearly every request is refused with 429
#   app100      the 100 B static file, from zhttpd's cache server (build/examples/compute with
#               --cache-size 64m, a third process): the reference for cachehit on the same server
#   cachehit    a 100 B answer from the shared cache: zhttpd's compute example
#               (/compute?key=bench&len=100, cacheable for a day, computed once), nginx's
#               microcache (proxy_cache with proxy_cache_valid 200 1s in front of an upstream
#               server block of the same nginx answering the same 100 B)
#   proxy100    a reverse proxy in front of a backend (a zhttpd of its own serving the files, a
#               process whose CPU is not counted), 100 B answers over keep-alive upstream
#               connections: zhttpd --proxy (a fourth process, --proxy-cache off), nginx
#               proxy_pass with upstream keepalive, and HAProxy (Debian's, http-reuse safe, one
#               thread): the proxy's CPU only
#   proxy64k    the same with a 64 KiB answer
#   proxypost4k a 4 KiB POST body forwarded to the checksum example (bench/e2e/post4k.lua)
#   idle        IDLE_CONNS keep-alive connections, each after one request, held by
#               build/bench/idle_clients; server RSS growth per connection
# CPU us/req is the server's utime+stime (/proc/PID/stat, all its processes) over the requests wrk
# completed. Installs nginx and wrk from Debian when missing (needs root). Ends with one
# `e2e <case> ...` line per case for scripts to grep.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=${DURATION:-5}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-50}
IDLE_CONNS=${IDLE_CONNS:-10000}
WARMUP=${WARMUP:-1}
ZHTTPD=${ZHTTPD:-}
COMPUTE=${COMPUTE:-}
LOG_DIR=${LOG_DIR:-build/bench/e2e-logs}
IDLE_BIN=build/bench/idle_clients
PIPELINE_LUA=bench/e2e/pipeline16.lua
CASES=(tiny static100 gzip100 static64k pipelined16 limited refused app100 cachehit)
SERVERS=(zhttpd nginx)
PROXY_CASES=(proxy100 proxy64k proxypost4k)
PROXY_SERVERS=(zhttpd nginx haproxy)
POST_LUA=bench/e2e/post4k.lua

BENCH_NAME=bench-e2e
# log, die, pick_port, http_code, wait_ready
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

for v in DURATION THREADS CONNECTIONS IDLE_CONNS WARMUP; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
((DURATION > 0 && THREADS > 0 && CONNECTIONS >= THREADS && IDLE_CONNS > 0)) ||
  die "need DURATION > 0, THREADS > 0, CONNECTIONS >= THREADS and IDLE_CONNS > 0"

# ---- tools --------------------------------------------------------------------------------------
find_nginx() {
  command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true
}
scripts/install-deps.sh --bench >&2 ||
  die "installing nginx, haproxy and wrk failed (scripts/install-deps.sh --bench)"
NGINX=$(find_nginx)
[[ -n $NGINX ]] || die "nginx not found after installing it"
HAPROXY=$(command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy)
[[ -x $HAPROXY ]] || die "haproxy not found after installing it"

if [[ -z $ZHTTPD ]]; then
  make build/zhttpd >&2 || die "building build/zhttpd failed"
  ZHTTPD=build/zhttpd
fi
[[ -x $ZHTTPD ]] || die "$ZHTTPD is not an executable"
if [[ -z $COMPUTE ]]; then
  make build/examples/compute >&2 || die "building build/examples/compute failed"
  COMPUTE=build/examples/compute
fi
[[ -x $COMPUTE ]] || die "$COMPUTE is not an executable"
CHECKSUM=${CHECKSUM:-}
if [[ -z $CHECKSUM ]]; then
  make build/examples/checksum >&2 || die "building build/examples/checksum failed"
  CHECKSUM=build/examples/checksum
fi
if [[ ! -x $IDLE_BIN || bench/e2e/idle_clients.cpp -nt $IDLE_BIN ]]; then
  mkdir -p "$(dirname "$IDLE_BIN")"
  g++ -std=c++20 -O2 -Wall -Wextra -Werror bench/e2e/idle_clients.cpp -o "$IDLE_BIN" ||
    die "building $IDLE_BIN failed"
fi

# Both servers and the idle client need one descriptor per connection.
ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
if [[ $NOFILE != unlimited ]] && ((IDLE_CONNS + 200 > NOFILE)); then
  log "warning: descriptor limit $NOFILE: IDLE_CONNS lowered from $IDLE_CONNS to $((NOFILE - 200))"
  IDLE_CONNS=$((NOFILE - 200))
fi
MAX_CONNS=20000
CLK_TCK=$(getconf CLK_TCK)

# ---- processes we start, stopped by PID on exit --------------------------------------------------
TMP=$(mktemp -d /tmp/zhttpd-bench-e2e.XXXXXX)
# nginx workers run as nobody: they must be able to read the files.
chmod 755 "$TMP"
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR"/wrk-*.txt "$LOG_DIR"/*.out "$LOG_DIR"/*.err "$LOG_DIR"/nginx.conf \
  "$LOG_DIR"/error.log
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  exec 7>&- 2>/dev/null || true
  stop_servers 50 "${PIDS[@]}"
  wait 2>/dev/null || true
  cp "$TMP"/*.out "$TMP"/*.err "$TMP"/nginx/nginx.conf "$TMP"/nginx/error.log "$LOG_DIR"/ \
    2>/dev/null || true
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- helpers over /proc -------------------------------------------------------------------------
# The PID and all its descendants (nginx master + workers; zhttpd's threads are in its own stat).
proc_tree() {
  local p=$1 c
  [[ -d /proc/$p ]] || return 0
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null || true); do proc_tree "$c"; done
}
# utime+stime (fields 14, 15; counted after the ")" ending the command name) in clock ticks.
cpu_ticks() {
  local files=() p
  for p in $(proc_tree "$1"); do files+=("/proc/$p/stat"); done
  cat "${files[@]}" 2>/dev/null |
    awk '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }' || true
}
# VmRSS in KiB, summed over the tree.
rss_kb() {
  local files=() p
  for p in $(proc_tree "$1"); do files+=("/proc/$p/status"); done
  cat "${files[@]}" 2>/dev/null | awk '/^VmRSS:/ { s += $2 } END { print s + 0 }' || true
}
# ---- content and servers -------------------------------------------------------------------------
WWW=$TMP/www
mkdir -p "$WWW" "$TMP/nginx"
printf 'ok' >"$WWW/ok.txt"
printf '%099d\n' 0 >"$WWW/100.txt"
head -c 65536 /dev/urandom >"$WWW/64k.bin"
chmod 755 "$WWW"
chmod 644 "$WWW"/*
mkdir -p "$WWW/lim" "$WWW/ref"
printf 'ok' >"$WWW/lim/ok.txt"
printf 'ok' >"$WWW/ref/ok.txt"
chmod 755 "$WWW/lim" "$WWW/ref"
chmod 644 "$WWW/lim/ok.txt" "$WWW/ref/ok.txt"
mkdir -p "$WWW/pre"
printf '%0999d\n' 0 >"$WWW/pre/page.txt"
head -c 100 /dev/urandom >"$WWW/pre/page.txt.gz" # sent as it is: no client decodes it
chmod 755 "$WWW/pre"
chmod 644 "$WWW/pre"/*
declare -A CASE_PATH=(
  [tiny]=/ok.txt [static100]=/100.txt [gzip100]=/pre/page.txt [static64k]=/64k.bin
  [pipelined16]=/ok.txt [proxy100]=/100.txt [proxy64k]=/64k.bin [proxypost4k]=/post
  [limited]=/lim/ok.txt [refused]=/ref/ok.txt [app100]=/100.txt
)
# cachehit's path differs: the compute example's query for zhttpd, the microcache for nginx.
ZHTTPD_CACHEHIT='/compute?key=bench&len=100&ttl=86400'
NGINX_CACHEHIT=/micro/answer
# Request fields a case sends.
declare -A CASE_HEADER=([gzip100]='Accept-Encoding: gzip, br')
declare -A CASE_SIZE=([tiny]=2 [static100]=100 [gzip100]=100 [static64k]=65536 [pipelined16]=2 [limited]=2
  [app100]=100 [cachehit]=100 [proxy100]=100 [proxy64k]=65536)

ZPORT=$(pick_port)
NPORT=$(pick_port "$ZPORT")
LPORT=$(pick_port "$NPORT")
CPORT=$(pick_port "$LPORT")
UPORT=$(pick_port "$CPORT")
PPORT=$(pick_port "$UPORT")    # zhttpd as the proxy
NPXPORT=$(pick_port "$PPORT")  # nginx as the proxy
HPORT=$(pick_port "$NPXPORT")  # HAProxy
BPORT=$(pick_port "$HPORT")    # the backend every proxy sends to: files
KPORT=$(pick_port "$BPORT")    # and the checksum example, for the POST bodies

"$ZHTTPD" --listen "127.0.0.1:$ZPORT" --root "$WWW" --workers 1 --max-connections "$MAX_CONNS" \
  --keepalive-timeout 75 >"$TMP/zhttpd.out" 2>"$TMP/zhttpd.err" &
ZPID=$!
PIDS+=("$ZPID")

# The same server with the rate limiter, for the limited and refused cases.
"$ZHTTPD" --listen "127.0.0.1:$LPORT" --root "$WWW" --workers 1 --max-connections "$MAX_CONNS" \
  --keepalive-timeout 75 --shm-name "zhttpd-bench-limited-$$" \
  --limit-req 'zone=lim rate=1000000r/s burst=1000 nodelay path=/lim/' \
  --limit-req 'zone=ref rate=1r/s burst=10 nodelay path=/ref/' \
  >"$TMP/zhttpd-limited.out" 2>"$TMP/zhttpd-limited.err" &
LPID=$!
PIDS+=("$LPID")

# The cache's server: the compute example (its static files on other paths), one worker.
"$COMPUTE" --listen "127.0.0.1:$CPORT" --root "$WWW" --workers 1 --max-connections "$MAX_CONNS" \
  --keepalive-timeout 75 --shm-name "zhttpd-bench-cache-$$" --cache-size 64m \
  >"$TMP/zhttpd-cache.out" 2>"$TMP/zhttpd-cache.err" &
CPID=$!
PIDS+=("$CPID")

# The proxies' backends (their CPU is not counted): a zhttpd serving the files, and the checksum
# example answering POST bodies.
"$ZHTTPD" --listen "127.0.0.1:$BPORT" --root "$WWW" --workers 1 --max-connections "$MAX_CONNS" \
  --keepalive-timeout 75 --shm-name "zhttpd-bench-backend-$$" \
  >"$TMP/backend.out" 2>"$TMP/backend.err" &
BPID=$!
PIDS+=("$BPID")
"$CHECKSUM" --listen "127.0.0.1:$KPORT" --workers 1 --max-connections "$MAX_CONNS" \
  --keepalive-timeout 75 --shm-name "zhttpd-bench-checksum-$$" \
  >"$TMP/checksum.out" 2>"$TMP/checksum.err" &
KPID=$!
PIDS+=("$KPID")

# Idle upstream connections each proxy keeps: room for every client connection's request, so
# that neither zhttpd nor nginx (32 by default, both) closes and reopens connections under load;
# HAProxy keeps every idle connection anyway.
PROXY_KEEPALIVE=$((CONNECTIONS + 16))

# zhttpd as the reverse proxy: /post to the checksum example, the rest to the files.
"$ZHTTPD" --listen "127.0.0.1:$PPORT" --workers 1 --max-connections "$MAX_CONNS" \
  --keepalive-timeout 75 --shm-name "zhttpd-bench-proxy-$$" --proxy-cache off \
  --upstream "files 127.0.0.1:$BPORT" --upstream "sum 127.0.0.1:$KPORT" \
  --upstream-options "files keepalive=$PROXY_KEEPALIVE" \
  --upstream-options "sum keepalive=$PROXY_KEEPALIVE" \
  --proxy "/=http://files" --proxy "/post=http://sum" \
  >"$TMP/zhttpd-proxy.out" 2>"$TMP/zhttpd-proxy.err" &
PXPID=$!
PIDS+=("$PXPID")

cat >"$TMP/haproxy.cfg" <<EOF
global
    maxconn 5000
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 75s
    timeout server 75s
    option http-keep-alive
    http-reuse safe
frontend bench
    bind 127.0.0.1:$HPORT
    use_backend sum if { path_beg /post }
    default_backend files
backend files
    server files 127.0.0.1:$BPORT
backend sum
    server sum 127.0.0.1:$KPORT
EOF
"$HAPROXY" -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.out" 2>"$TMP/haproxy.err" &
HPID=$!
PIDS+=("$HPID")

cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 30000;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events {
    worker_connections 20000;
}
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=1000;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    types { text/plain txt; application/octet-stream bin; }
    default_type text/plain;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    limit_req_zone \$binary_remote_addr zone=lim:10m rate=1000000r/s;
    limit_req_zone \$binary_remote_addr zone=ref:10m rate=1r/s;
    limit_req_status 429;
    limit_req_log_level info;  # below error_log's level: nginx logs every refusal otherwise
    proxy_cache_path $TMP/nginx/cache levels=1:2 keys_zone=micro:10m max_size=100m
                     inactive=60s use_temp_path=off;
    upstream answer {
        server 127.0.0.1:$UPORT;
        keepalive 16;
    }
    upstream files {
        server 127.0.0.1:$BPORT;
        keepalive $PROXY_KEEPALIVE;
    }
    upstream sum {
        server 127.0.0.1:$KPORT;
        keepalive $PROXY_KEEPALIVE;
    }
    server {  # nginx as the reverse proxy, as zhttpd and HAProxy are
        listen 127.0.0.1:$NPXPORT;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location / { proxy_pass http://files; }
        location /post { proxy_pass http://sum; }
    }
    server {  # the upstream a microcache keeps: 100 B, cacheable for a second
        listen 127.0.0.1:$UPORT;
        location / {
            add_header Cache-Control "public, max-age=1";
            return 200 "$(printf '%099d' 0)\n";
        }
    }
    server {
        listen 127.0.0.1:$NPORT;
        root $WWW;
        location = /ok.txt { return 200 "ok"; }
        location /lim/ { limit_req zone=lim burst=1000 nodelay; }
        location /ref/ { limit_req zone=ref burst=10 nodelay; }
        location /pre/ { gzip_static on; }
        location /micro/ {
            proxy_pass http://answer;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache micro;
            proxy_cache_valid 200 1s;
            proxy_cache_lock on;
            proxy_cache_use_stale updating;
        }
    }
}
EOF
"$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" \
  >"$TMP/nginx.out" 2>"$TMP/nginx.err" &
NPID=$!
PIDS+=("$NPID")

wait_ready zhttpd "$ZPID" "$ZPORT"
wait_ready nginx "$NPID" "$NPORT"
wait_ready zhttpd-limited "$LPID" "$LPORT"
wait_ready zhttpd-cache "$CPID" "$CPORT"
wait_ready backend "$BPID" "$BPORT"
wait_ready zhttpd-proxy "$PXPID" "$PPORT"
wait_ready haproxy "$HPID" "$HPORT"
declare -A PID=([zhttpd]=$ZPID [nginx]=$NPID)
declare -A PORT=([zhttpd]=$ZPORT [nginx]=$NPORT)
declare -A PROXY_PID=([zhttpd]=$PXPID [nginx]=$NPID [haproxy]=$HPID)
declare -A PROXY_PORT=([zhttpd]=$PPORT [nginx]=$NPXPORT [haproxy]=$HPORT)
# The server a case runs against: zhttpd's limited cases go to its second process, its cache
# cases to the third.
case_pid() {
  if [[ $1 == proxy* ]]; then echo "${PROXY_PID[$2]}"
  elif [[ $2 == zhttpd && ($1 == limited || $1 == refused) ]]; then echo "$LPID"
  elif [[ $2 == zhttpd && ($1 == app100 || $1 == cachehit) ]]; then echo "$CPID"
  else echo "${PID[$2]}"; fi
}
case_port() {
  if [[ $1 == proxy* ]]; then echo "${PROXY_PORT[$2]}"
  elif [[ $2 == zhttpd && ($1 == limited || $1 == refused) ]]; then echo "$LPORT"
  elif [[ $2 == zhttpd && ($1 == app100 || $1 == cachehit) ]]; then echo "$CPORT"
  else echo "${PORT[$2]}"; fi
}
case_path() {
  if [[ $1 == cachehit ]]; then
    if [[ $2 == zhttpd ]]; then echo "$ZHTTPD_CACHEHIT"; else echo "$NGINX_CACHEHIT"; fi
  else echo "${CASE_PATH[$1]}"; fi
}

# Each server must serve each case's body exactly.
for server in "${SERVERS[@]}"; do
  for c in tiny static100 gzip100 static64k limited app100 cachehit; do
    got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 5 \
      -H "${CASE_HEADER[$c]:-X-Bench: 1}" \
      "http://127.0.0.1:$(case_port "$c" "$server")$(case_path "$c" "$server")" || true)
    [[ $got == "200 ${CASE_SIZE[$c]}" ]] ||
      die "$server answered '$got' for $(case_path "$c" "$server") (want '200 ${CASE_SIZE[$c]}')"
  done
done
for server in "${PROXY_SERVERS[@]}"; do
  for c in proxy100 proxy64k; do
    got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 5 \
      "http://127.0.0.1:$(case_port "$c" "$server")$(case_path "$c" "$server")" || true)
    [[ $got == "200 ${CASE_SIZE[$c]}" ]] ||
      die "proxy $server answered '$got' for $(case_path "$c" "$server") (want '200 ${CASE_SIZE[$c]}')"
  done
  got=$(head -c 4096 /dev/zero | tr '\0' p | curl -s --max-time 5 --data-binary @- \
    "http://127.0.0.1:$(case_port proxypost4k "$server")/post" || true)
  [[ $got == *"bytes=4096"* ]] || die "proxy $server answered '$got' to a 4 KiB POST"
done
log "zhttpd pid $ZPID on 127.0.0.1:$ZPORT, nginx pid $NPID on 127.0.0.1:$NPORT, files in $WWW"

# ---- load cases ---------------------------------------------------------------------------------
# wrk unit -> microseconds.
to_us_awk='function to_us(v) {
  if (v ~ /us$/) return v + 0
  if (v ~ /ms$/) return v * 1000
  if (v ~ /s$/) return v * 1000000
  if (v ~ /m$/) return v * 60000000
  if (v ~ /h$/) return v * 3600000000
  return v + 0
}
function to_bytes(v) {
  if (v ~ /KB$/) return v * 1024
  if (v ~ /MB$/) return v * 1048576
  if (v ~ /GB$/) return v * 1073741824
  if (v ~ /TB$/) return v * 1099511627776
  return v + 0
}'

declare -A RPS REQS P50 P99 CPU ERRS BPR BATCHES
NOTES=()
run_case() {
  local case=$1 server=$2 secs=$3 out t0 t1 args=() r=()
  out=$LOG_DIR/wrk-$case-$server.txt
  args=(-t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --latency)
  [[ $case == pipelined16 ]] && args+=(-s "$PIPELINE_LUA")
  [[ $case == proxypost4k ]] && args+=(-s "$POST_LUA")
  [[ -n ${CASE_HEADER[$case]:-} ]] && args+=(-H "${CASE_HEADER[$case]}")
  t0=$(cpu_ticks "$(case_pid "$case" "$server")")
  if ! WRK_CONNECTIONS=$CONNECTIONS wrk "${args[@]}" \
    "http://127.0.0.1:$(case_port "$case" "$server")$(case_path "$case" "$server")" >"$out" 2>&1; then
    cat "$out" >&2
    die "wrk failed on $case against $server"
  fi
  sleep 0.1 # let the server finish the responses in flight when wrk closed
  t1=$(cpu_ticks "$(case_pid "$case" "$server")")
  kill -0 "$(case_pid "$case" "$server")" 2>/dev/null || die "$server died during $case (see $out)"
  # requests  rps  p50_us  p99_us  errors  bytes_per_response  batches (pipelined)
  read -r -a r < <(awk "$to_us_awk"'
    / requests in / { reqs = $1; bytes = to_bytes($(NF - 1)) }
    /^Requests\/sec:/ { rps = $2 }
    /Latency Distribution/ { dist = 1 }
    dist && $1 == "50%" { p50 = to_us($2) }
    dist && $1 == "99%" { p99 = to_us($2) }
    # batch latency from pipeline16.lua, without the broken wrk correction
    /^pipeline-latency batches=/ {
      split($2, a, "="); batches = a[2]
      split($3, a, "="); p50 = a[2]
      split($4, a, "="); p99 = a[2]
    }
    /Socket errors:/ { errs += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { errs += $NF }
    END {
      printf "%d %.0f %.0f %.0f %d %.1f %d\n", reqs, rps, p50, p99, errs, \
        (reqs ? bytes / reqs : 0), batches
    }
  ' "$out")
  REQS[$case,$server]=${r[0]}
  RPS[$case,$server]=${r[1]}
  P50[$case,$server]=${r[2]}
  P99[$case,$server]=${r[3]}
  ERRS[$case,$server]=${r[4]}
  BPR[$case,$server]=${r[5]}
  BATCHES[$case,$server]=${r[6]}
  ((${REQS[$case,$server]} > 0)) || {
    cat "$out" >&2
    die "wrk completed no request on $case against $server"
  }
  # wrk counts one request per response; with a pipeline each batch must hold 16 of them.
  if [[ $case == pipelined16 ]] &&
    ((${BATCHES[$case,$server]} * 16 > ${REQS[$case,$server]} + 16 * CONNECTIONS ||
    ${BATCHES[$case,$server]} * 16 + 16 * CONNECTIONS < ${REQS[$case,$server]})); then
    NOTES+=("note: $server: wrk counted ${REQS[$case,$server]} pipelined responses but" \
      "${BATCHES[$case,$server]} batches of 16: the pipelined count is off ($out)")
  fi
  CPU[$case,$server]=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="${REQS[$case,$server]}" \
    'BEGIN { printf "%.2f", d * 1000000 / hz / n }')
  log "$(printf '%-11s %-6s %9s req/s  %8s req  p50 %8s us  p99 %8s us  %6s us CPU/req  %s errors' \
    "$case" "$server" "${RPS[$case,$server]}" "${REQS[$case,$server]}" "${P50[$case,$server]}" \
    "${P99[$case,$server]}" "${CPU[$case,$server]}" "${ERRS[$case,$server]}")"
}

if ((WARMUP > 0)); then
  for server in "${SERVERS[@]}"; do
    for c in static100 gzip100 static64k app100 cachehit; do
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -H "${CASE_HEADER[$c]:-X-Bench: 1}" \
        "http://127.0.0.1:$(case_port "$c" "$server")$(case_path "$c" "$server")" >/dev/null 2>&1 || true
    done
  done
fi
for c in "${CASES[@]}"; do
  for server in "${SERVERS[@]}"; do run_case "$c" "$server" "$DURATION"; done
done
if ((WARMUP > 0)); then
  for server in "${PROXY_SERVERS[@]}"; do
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" \
      "http://127.0.0.1:$(case_port proxy100 "$server")/100.txt" >/dev/null 2>&1 || true
  done
fi
for c in "${PROXY_CASES[@]}"; do
  for server in "${PROXY_SERVERS[@]}"; do run_case "$c" "$server" "$DURATION"; done
done

# ---- idle keep-alive connections ----------------------------------------------------------------
declare -A IDLE_BPC IDLE_HELD IDLE_BEFORE IDLE_AFTER
run_idle() {
  local server=$1 before after held ipid i fifo=$TMP/idle-$1.in out=$TMP/idle-$1.out
  sleep 1
  before=$(rss_kb "${PID[$server]}")
  mkfifo "$fifo"
  "$IDLE_BIN" 127.0.0.1 "${PORT[$server]}" "$IDLE_CONNS" /100.txt <"$fifo" >"$out" \
    2>"$TMP/idle-$server.err" &
  ipid=$!
  PIDS+=("$ipid")
  exec 7>"$fifo" # held open: the client holds its connections until this closes
  held=
  for ((i = 0; i < 900; i++)); do
    held=$(awk '$1 == "ready" { print $2 }' "$out")
    [[ -n $held ]] && break
    kill -0 "$ipid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $held || $held -eq 0 ]]; then
    cat "$TMP/idle-$server.err" >&2
    die "idle_clients could not hold connections to $server"
  fi
  sleep 1 # let the server settle
  after=$(rss_kb "${PID[$server]}")
  kill -0 "${PID[$server]}" 2>/dev/null || die "$server died holding $held idle connections"
  exec 7>&-
  wait "$ipid" || log "warning: idle_clients against $server exited with status $?"
  sed 's/^/bench-e2e: /' "$TMP/idle-$server.err" >&2
  ((held == IDLE_CONNS)) || log "warning: $server: only $held of $IDLE_CONNS connections held"
  IDLE_HELD[$server]=$held
  IDLE_BEFORE[$server]=$before
  IDLE_AFTER[$server]=$after
  IDLE_BPC[$server]=$(awk -v a="$after" -v b="$before" -v n="$held" \
    'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
  log "idle $server: RSS $before KiB -> $after KiB over $held connections" \
    "= ${IDLE_BPC[$server]} B/conn"
}
for server in "${SERVERS[@]}"; do run_idle "$server"; done

# ---- report -------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }'; }
lat() { # p50/p99 in us; "-" where wrk gave none
  local a=$1 b=$2
  [[ $a == 0 ]] && a=-
  [[ $b == 0 ]] && b=-
  echo "$a/$b"
}
row() { printf '%-12s %10s %10s %6s  %15s  %15s  %9s %9s %6s\n' "$@"; }
echo
echo "zhttpd ($ZHTTPD) vs nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), 1 worker each," \
  "access logs off; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency on 127.0.0.1;" \
  "tiny: zhttpd serves a 2-byte static file, nginx answers 'return 200 \"ok\"';" \
  "pipelined16: the tiny request 16 per write"
row case "zhttpd" "nginx" "rps" "zhttpd p50/p99" "nginx p50/p99" "zhttpd" "nginx" "cpu"
row "" "req/s" "req/s" "ratio" "us" "us" "CPU us/req" "CPU us/req" "ratio"
for c in "${CASES[@]}"; do
  row "$c" "${RPS[$c,zhttpd]}" "${RPS[$c,nginx]}" \
    "$(ratio "${RPS[$c,zhttpd]}" "${RPS[$c,nginx]}")" \
    "$(lat "${P50[$c,zhttpd]}" "${P99[$c,zhttpd]}")" \
    "$(lat "${P50[$c,nginx]}" "${P99[$c,nginx]}")" \
    "${CPU[$c,zhttpd]}" "${CPU[$c,nginx]}" "$(ratio "${CPU[$c,zhttpd]}" "${CPU[$c,nginx]}")"
done
echo
echo "reverse proxy, 1 worker (thread) each, to the same backend; the proxy's CPU only"
prow() { printf '%-12s %9s %9s %9s  %10s %10s %10s  %8s %8s\n' "$@"; }
prow case zhttpd nginx haproxy zhttpd nginx haproxy "cpu vs" "cpu vs"
prow "" "req/s" "req/s" "req/s" "CPU us/req" "CPU us/req" "CPU us/req" nginx haproxy
for c in "${PROXY_CASES[@]}"; do
  prow "$c" "${RPS[$c,zhttpd]}" "${RPS[$c,nginx]}" "${RPS[$c,haproxy]}" "${CPU[$c,zhttpd]}" \
    "${CPU[$c,nginx]}" "${CPU[$c,haproxy]}" "$(ratio "${CPU[$c,zhttpd]}" "${CPU[$c,nginx]}")" \
    "$(ratio "${CPU[$c,zhttpd]}" "${CPU[$c,haproxy]}")"
done
for server in "${SERVERS[@]}"; do
  printf '%-12s %-6s %6s B/conn  (VmRSS %s -> %s KiB over %s idle keep-alive connections)\n' \
    idle "$server" "${IDLE_BPC[$server]}" "${IDLE_BEFORE[$server]}" "${IDLE_AFTER[$server]}" \
    "${IDLE_HELD[$server]}"
done
echo "pipelined16 latencies are per batch of 16, without wrk's coordinated-omission correction" \
  "(wrk 4.1 miscomputes it when pipelining; see $PIPELINE_LUA)."
for server in "${SERVERS[@]}"; do
  echo "limited $server: CPU per request $(ratio "${CPU[limited,$server]}" "${CPU[tiny,$server]}")x" \
    "the tiny case's; refused: ${ERRS[refused,$server]} of ${REQS[refused,$server]} refused"
done
echo "gzip100 zhttpd: CPU per request $(ratio "${CPU[gzip100,zhttpd]}" "${CPU[static100,zhttpd]}")x" \
  "the static100 case's (the same 100 B unencoded); nginx (gzip_static)" \
  "$(ratio "${CPU[gzip100,nginx]}" "${CPU[static100,nginx]}")x its static100's"
echo "cachehit zhttpd: CPU per request $(ratio "${CPU[cachehit,zhttpd]}" "${CPU[app100,zhttpd]}")x" \
  "the app100 case's (a 100 B static file on the same server); nginx's microcache hit" \
  "$(ratio "${CPU[cachehit,nginx]}" "${CPU[static100,nginx]}")x its static100's"
for c in "${CASES[@]}" "${PROXY_CASES[@]}"; do
  [[ $c == refused ]] && continue  # refusals are the point there
  servers=("${SERVERS[@]}")
  [[ $c == proxy* ]] && servers=("${PROXY_SERVERS[@]}")
  for server in "${servers[@]}"; do
    ((${ERRS[$c,$server]} == 0)) ||
      echo "note: $c $server: ${ERRS[$c,$server]} socket errors or non-2xx/3xx responses" \
        "($LOG_DIR/wrk-$c-$server.txt)"
  done
done
# A pipelined batch is counted right when each counted request carries one tiny response.
for server in "${SERVERS[@]}"; do
  awk -v a="${BPR[pipelined16,$server]}" -v b="${BPR[tiny,$server]}" -v s="$server" 'BEGIN {
    if (b > 0 && (a / b > 1.05 || a / b < 0.95))
      printf "note: %s: %.1f bytes read per pipelined request vs %.1f per tiny request: %s\n",
        s, a, b, "the pipelined count is off" }'
done
for note in "${NOTES[@]}"; do echo "$note"; done
echo
for c in "${CASES[@]}"; do
  echo "e2e $c zhttpd_rps=${RPS[$c,zhttpd]} nginx_rps=${RPS[$c,nginx]}" \
    "zhttpd_cpu_us=${CPU[$c,zhttpd]} nginx_cpu_us=${CPU[$c,nginx]}" \
    "cpu_ratio=$(ratio "${CPU[$c,zhttpd]}" "${CPU[$c,nginx]}")"
done
for c in "${PROXY_CASES[@]}"; do
  echo "e2e $c zhttpd_rps=${RPS[$c,zhttpd]} nginx_rps=${RPS[$c,nginx]}" \
    "haproxy_rps=${RPS[$c,haproxy]} zhttpd_cpu_us=${CPU[$c,zhttpd]}" \
    "nginx_cpu_us=${CPU[$c,nginx]} haproxy_cpu_us=${CPU[$c,haproxy]}" \
    "cpu_ratio=$(ratio "${CPU[$c,zhttpd]}" "${CPU[$c,nginx]}")" \
    "haproxy_cpu_ratio=$(ratio "${CPU[$c,zhttpd]}" "${CPU[$c,haproxy]}")"
done
echo "e2e gzip100_vs_static100 zhttpd_cpu_ratio=$(ratio "${CPU[gzip100,zhttpd]}" "${CPU[static100,zhttpd]}")"
echo "e2e cachehit_vs_app100 zhttpd_cpu_ratio=$(ratio "${CPU[cachehit,zhttpd]}" "${CPU[app100,zhttpd]}")"
echo "e2e idle zhttpd_bytes_per_conn=${IDLE_BPC[zhttpd]} nginx_bytes_per_conn=${IDLE_BPC[nginx]}"
