#!/usr/bin/env bash
# Instructions per request: the firm yardstick. Wall-clock figures on a shared machine move 20 %
# run to run; the user-space instructions a warm worker executes per request do not.
#
#   scripts/bench-instructions.sh                      # every case, 2 s of measured load each
#   CASES="tiny static100" DURATION=1 scripts/bench-instructions.sh
#   ZHTTPD=/path/to/other/zhttpd scripts/bench-instructions.sh
#
# For each case a fresh server (one worker, its own --shm-name, access log off, 127.0.0.1 on a
# free port) runs under `valgrind --tool=callgrind`. After WARMUP seconds of unmeasured load
# (wrk) and once the worker is idle, its counters are zeroed (`callgrind_control -z` on the
# worker's pid), wrk runs DURATION seconds of measured load, and once the worker is idle again its
# profile is dumped (`callgrind_control -d`). The dump's total Ir (every user-space instruction of
# the worker process: zhttpd, libev, libc, the loader) is divided by the requests the worker
# answered in between, read from the server itself (`zhttpstat --json` on its --shm-name, before
# and after), not from wrk. Every answer of the window must have the case's status (the worker's
# responses_NNN counters), else the script fails.
#
# Callgrind runs the worker tens of times slower than natively, so the loads are small: DURATION
# seconds (2) of one connection, 10,000 to 50,000 requests a case (the worker under callgrind is
# the bottleneck). The whole run takes under a minute (about 5 s a case) on a 2-core machine. One
# connection, fixed file mtimes (see below) and the worker idle at both ends make the per-request
# figures repeat within 0.1 % run to run (more connections batch events per loop turn, fewer
# instructions per request but less repeatable). Valgrind 3.19 (Debian 12) lacks openat2: the
# server runs with bench/instr/openat2_shim.c preloaded (it leaves the measured requests alone).
#
# Environment: DURATION (s of measured load per case, 2), WARMUP (s of unmeasured load first, 1),
# CONNECTIONS (wrk -c, 1; wrk -t1), CASES (a subset, in this order or any: "tiny static100"),
# ZHTTPD, COMPUTE, HELLO, ZHTTPSTAT (binaries to use instead of building build/zhttpd,
# build/examples/compute, build/examples/hello, build/zhttpstat), LOG_DIR (where the wrk outputs,
# server logs and callgrind dumps of the last run are left, build/bench/instr-logs).
#
# Cases:
#   tiny          a 2-byte static file (/ok.txt)
#   static100     a 100 B static file
#   static64k     a 64 KiB static file (sendfile)
#   br100         a 100 B precompressed variant: pre/page.txt.br beside a 1,000 B pre/page.txt,
#                 asked for with Accept-Encoding: gzip, br
#   not_modified  a conditional GET of the 100 B file with its ETag (If-None-Match): 304
#   not_found     a file that does not exist: 404
#   pipelined16   the tiny request, 16 per write (bench/e2e/pipeline16.lua)
#   limited       the tiny file under --limit-req 'zone=one rate=1000000r/s burst=1000 nodelay',
#                 a per-client limit that never refuses
#   cachehit      a 100 B answer from the shared cache: build/examples/compute --cache-size 64m,
#                 /compute?key=bench&len=100&ttl=86400 (computed once, then hits)
#   hello         build/examples/hello's handler: /hello/bench ("Hello, bench!")
#   proxy100      the 100 B file through the reverse proxy (--proxy '/=http://b' --proxy-cache off)
#                 from a backend zhttpd that runs natively (its instructions are not counted)
# Installs valgrind and wrk from Debian when missing (scripts/install-deps.sh --bench, root or
# sudo). Prints a table, then one `instructions CASE per_request=N` line per case for scripts.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BENCH_NAME=bench-instructions
# log, die, pick_port, http_code, wait_ready
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

DURATION=${DURATION:-2}
WARMUP=${WARMUP:-1}
CONNECTIONS=${CONNECTIONS:-1}
ZHTTPD=${ZHTTPD:-}
COMPUTE=${COMPUTE:-}
HELLO=${HELLO:-}
ZHTTPSTAT=${ZHTTPSTAT:-}
LOG_DIR=${LOG_DIR:-build/bench/instr-logs}
PIPELINE_LUA=bench/e2e/pipeline16.lua
ALL_CASES=(tiny static100 static64k br100 not_modified not_found pipelined16 limited cachehit hello
  proxy100)
read -r -a CASES <<<"${CASES:-${ALL_CASES[*]}}"

for v in DURATION WARMUP CONNECTIONS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
((DURATION > 0 && CONNECTIONS > 0)) || die "need DURATION > 0 and CONNECTIONS > 0"
((${#CASES[@]} > 0)) || die "CASES is empty"
for c in "${CASES[@]}"; do
  [[ " ${ALL_CASES[*]} " == *" $c "* ]] || die "unknown case '$c' (cases: ${ALL_CASES[*]})"
done

# ---- tools --------------------------------------------------------------------------------------
if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null ||
  ! command -v wrk >/dev/null; then
  scripts/install-deps.sh --bench >&2 ||
    die "installing valgrind and wrk failed (scripts/install-deps.sh --bench)"
fi
for tool in valgrind callgrind_control wrk curl; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

# build_or_check VAR TARGET: VAR names a binary given by the caller, else TARGET is built.
build_or_check() {
  local var=$1 target=$2
  if [[ -z ${!var} ]]; then
    make "$target" >&2 || die "building $target failed"
    printf -v "$var" '%s' "$target"
  fi
  [[ -x ${!var} ]] || die "${!var} is not an executable"
}
build_or_check ZHTTPSTAT build/zhttpstat
for c in "${CASES[@]}"; do
  case $c in
    cachehit) build_or_check COMPUTE build/examples/compute ;;
    hello) build_or_check HELLO build/examples/hello ;;
    *) build_or_check ZHTTPD build/zhttpd ;;
  esac
done

# Valgrind 3.19 (Debian 12) fails openat2 with ENOSYS: bench/instr/openat2_shim.c redoes it as
# openat for the server (see there; the measured requests make no file system call).
SHIM=build/bench/openat2_shim.so
if [[ ! -f $SHIM || bench/instr/openat2_shim.c -nt $SHIM ]]; then
  mkdir -p "$(dirname "$SHIM")"
  gcc -O2 -Wall -Wextra -Werror -shared -fPIC bench/instr/openat2_shim.c -o "$SHIM" -ldl ||
    die "building $SHIM failed"
fi

# ---- processes we start, stopped by PID on exit --------------------------------------------------
TMP=$(mktemp -d /tmp/zhttpd-bench-instr.XXXXXX)
VGDB_PREFIX=$TMP/vgdb # our own vgdb pipes: other valgrind runs on the machine stay apart
mkdir -p "$LOG_DIR"
rm -rf "$LOG_DIR"/cg-* "$LOG_DIR"/*.out "$LOG_DIR"/*.err
PIDS=()  # servers (valgrind running the master), children of this shell
WPIDS=() # their workers (valgrind too), children of the masters
cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  stop_servers 100 "${PIDS[@]}"
  # A worker left behind by a killed master: still one of ours if it still runs callgrind.
  for pid in "${WPIDS[@]}"; do
    if [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == *callgrind* ]]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  cp -r "$TMP"/*.out "$TMP"/*.err "$TMP"/cg-* "$LOG_DIR"/ 2>/dev/null || true
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- content ------------------------------------------------------------------------------------
WWW=$TMP/www
mkdir -p "$WWW/pre"
printf 'ok' >"$WWW/ok.txt"
printf '%099d\n' 0 >"$WWW/100.txt"
head -c 65536 /dev/urandom >"$WWW/64k.bin"
printf '%0999d\n' 0 >"$WWW/pre/page.txt"
head -c 100 /dev/urandom >"$WWW/pre/page.txt.br" # sent as it is: no client decodes it
# One fixed mtime with all its nanosecond digits: the ETags (mtime, size, mtime ns, inode in hex)
# keep their length from run to run, and with it the instructions spent on them. The .br variant
# is not older than its file.
find "$WWW" -type f -exec touch -d '2024-01-02 03:04:05.123456789 UTC' {} +

# What each case asks for and must get: path, request field, status, body size ("" = any).
declare -A CASE_PATH=(
  [tiny]=/ok.txt [static100]=/100.txt [static64k]=/64k.bin [br100]=/pre/page.txt
  [not_modified]=/100.txt [not_found]=/missing.txt [pipelined16]=/ok.txt [limited]=/ok.txt
  [cachehit]='/compute?key=bench&len=100&ttl=86400' [hello]=/hello/bench [proxy100]=/100.txt
)
declare -A CASE_HEADER=([br100]='Accept-Encoding: gzip, br') # not_modified's: its ETag, below
declare -A CASE_STATUS=([not_modified]=304 [not_found]=404)
declare -A CASE_SIZE=([tiny]=2 [static100]=100 [static64k]=65536 [br100]=100 [not_modified]=0
  [pipelined16]=2 [limited]=2 [cachehit]=100 [hello]=13 [proxy100]=100)
# The page that answers 200 once the server is up.
declare -A READY_PATH=([hello]=/hello/bench)

# proxy100's backend: a zhttpd of its own serving the same files, natively.
if [[ " ${CASES[*]} " == *" proxy100 "* ]]; then
  BACKEND_PORT=$(pick_port "")
  "$ZHTTPD" --listen "127.0.0.1:$BACKEND_PORT" --root "$WWW" --workers 1 \
    --shm-name "zhttpd-bench-instr-backend-$$" --access-log off \
    >"$TMP/backend.out" 2>"$TMP/backend.err" &
  PIDS+=("$!")
  wait_ready backend "$!" "$BACKEND_PORT"
fi

# ---- the worker's counters, from zhttpstat --json ----------------------------------------------
# worker_stats SHM FIELD...: the one worker's FIELD values, one per line (0 for a field absent).
worker_stats() {
  local shm=$1 json workers f
  shift
  json=$("$ZHTTPSTAT" --shm-name "$shm" --json 2>/dev/null | tr -d ' \n\t') ||
    die "zhttpstat --shm-name $shm --json failed"
  [[ $json == *'"workers":[{'* ]] || die "zhttpstat shows no worker for $shm: $json"
  workers=${json#*\"workers\":\[\{}
  workers=${workers%%\}*} # the first worker's row, up to its first nested object
  for f in "$@"; do
    if [[ $workers =~ \"$f\":([0-9]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo 0; fi
  done
}
# cache_hits SHM: the shared cache's fresh hits so far.
cache_hits() {
  local json
  json=$("$ZHTTPSTAT" --shm-name "$1" --json 2>/dev/null | tr -d ' \n\t') ||
    die "zhttpstat --shm-name $1 --json failed"
  json=${json#*\"cache\":\{}
  [[ $json =~ \"hits\":([0-9]+) ]] || die "zhttpstat shows no cache hits for $1"
  echo "${BASH_REMATCH[1]}"
}
# Waits until the worker holds no connection and its request count stands still; prints it.
wait_idle() {
  local shm=$1 i r=() last=-1
  for ((i = 0; i < 100; i++)); do
    mapfile -t r < <(worker_stats "$shm" requests connections_active)
    if ((r[1] == 0 && r[0] == last)); then
      echo "${r[0]}"
      return
    fi
    last=${r[0]}
    sleep 0.2
  done
  die "the worker of $shm did not go idle within 20 s (requests ${r[0]}, connections ${r[1]})"
}

# ---- one case -----------------------------------------------------------------------------------
declare -A REQS IR PER
run_case() {
  local c=$1 bin port shm pid wpid cg out etag got r0 r1 s0 s1 h0=0 h1=0 dump ir i
  local opts=() wrk_args=() want_status=${CASE_STATUS[$c]:-200} header=${CASE_HEADER[$c]:-}
  case $c in
    cachehit) bin=$COMPUTE opts=(--cache-size 64m) ;;
    hello) bin=$HELLO ;;
    limited) bin=$ZHTTPD opts=(--limit-req 'zone=one rate=1000000r/s burst=1000 nodelay') ;;
    proxy100)
      bin=$ZHTTPD
      opts=(--upstream "b 127.0.0.1:$BACKEND_PORT" --proxy '/=http://b' --proxy-cache off)
      ;;
    *) bin=$ZHTTPD ;;
  esac
  port=$(pick_port "")
  shm=zhttpd-bench-instr-$c-$$
  cg=$TMP/cg-$c
  mkdir -p "$cg"
  LD_PRELOAD=$PWD/$SHIM valgrind --tool=callgrind --trace-children=yes --collect-atstart=yes \
    --vgdb=yes --vgdb-prefix="$VGDB_PREFIX" --callgrind-out-file="$cg/callgrind.out.%p" \
    "$bin" --listen "127.0.0.1:$port" --root "$WWW" --workers 1 --shm-name "$shm" \
    --keepalive-timeout 75 --access-log off "${opts[@]}" >"$TMP/$c.out" 2>"$TMP/$c.err" &
  pid=$!
  PIDS+=("$pid")
  wait_ready "$c" "$pid" "$port" "${READY_PATH[$c]:-/ok.txt}" 60
  wpid=$(worker_stats "$shm" pid)
  ((wpid > 0)) || die "$c: zhttpstat shows no worker pid"
  WPIDS+=("$wpid")

  if [[ $c == not_modified ]]; then
    etag=$(curl -s -D - -o /dev/null --max-time 10 "http://127.0.0.1:$port${CASE_PATH[$c]}" |
      awk 'tolower($1) == "etag:" { sub(/\r$/, ""); print $2 }')
    [[ -n $etag ]] || die "$c: no ETag for ${CASE_PATH[$c]}"
    header="If-None-Match: $etag"
  fi
  got=$(curl -s -o /dev/null -D "$TMP/$c.head" -w '%{http_code} %{size_download}' --max-time 10 \
    -H "${header:-X-Bench: 1}" "http://127.0.0.1:$port${CASE_PATH[$c]}" || true)
  [[ $got == "$want_status ${CASE_SIZE[$c]:-"${got#* }"}" ]] ||
    die "$c: ${CASE_PATH[$c]} answered '$got' (want '$want_status ${CASE_SIZE[$c]:-any}')"
  if [[ $c == br100 ]] && ! grep -qi '^content-encoding: br' "$TMP/$c.head"; then
    die "$c: ${CASE_PATH[$c]} was not answered with its .br variant"
  fi

  wrk_args=(-t1 -c"$CONNECTIONS")
  [[ $c == pipelined16 ]] && wrk_args+=(-s "$PIPELINE_LUA")
  [[ -n $header ]] && wrk_args+=(-H "$header")
  if ((WARMUP > 0)); then
    wrk "${wrk_args[@]}" -d"${WARMUP}s" "http://127.0.0.1:$port${CASE_PATH[$c]}" \
      >"$TMP/$c-warmup.out" 2>&1 || die "wrk failed warming up $c (see $LOG_DIR/$c-warmup.out)"
  fi

  r0=$(wait_idle "$shm")
  s0=$(worker_stats "$shm" "responses_$want_status")
  [[ $c == cachehit ]] && h0=$(cache_hits "$shm")
  callgrind_control --vgdb-prefix="$VGDB_PREFIX" -z "$wpid" >"$TMP/$c-zero.out" 2>&1 ||
    die "$c: callgrind_control -z $wpid failed: $(cat "$TMP/$c-zero.out")"
  out=$TMP/$c-wrk.out
  WRK_CONNECTIONS=$CONNECTIONS wrk "${wrk_args[@]}" -d"${DURATION}s" \
    "http://127.0.0.1:$port${CASE_PATH[$c]}" >"$out" 2>&1 ||
    die "wrk failed on $c (see $LOG_DIR/$c-wrk.out)"
  r1=$(wait_idle "$shm")
  s1=$(worker_stats "$shm" "responses_$want_status")
  [[ $c == cachehit ]] && h1=$(cache_hits "$shm")
  callgrind_control --vgdb-prefix="$VGDB_PREFIX" -d "$wpid" >"$TMP/$c-dump.out" 2>&1 ||
    die "$c: callgrind_control -d $wpid failed: $(cat "$TMP/$c-dump.out")"
  kill -0 "$pid" 2>/dev/null || die "$c: the server died (see $LOG_DIR/$c.err)"

  dump=
  for ((i = 0; i < 50; i++)); do
    dump=$(find "$cg" -name "callgrind.out.$wpid.*" | sort -t. -k4n | tail -n 1)
    [[ -n $dump ]] && grep -q '^totals:' "$dump" && break # the last line: the dump is whole
    sleep 0.1
  done
  [[ -n $dump ]] || die "$c: no callgrind dump of worker $wpid in $cg"
  # Its summary: the Ir callgrind counted since the zero (callgrind_annotate's PROGRAM TOTALS).
  ir=$(awk '/^summary:/ { print $2; exit }' "$dump")
  [[ $ir =~ ^[0-9]+$ ]] || die "$c: no total in $dump"

  REQS[$c]=$((r1 - r0))
  ((REQS[$c] > 0)) || die "$c: the worker answered no request in the measured window"
  ((s1 - s0 == REQS[$c])) ||
    die "$c: $((s1 - s0)) of the ${REQS[$c]} answers in the window were $want_status"
  if [[ $c == cachehit ]] && ((h1 - h0 != REQS[$c])); then
    die "$c: $((h1 - h0)) of the ${REQS[$c]} answers in the window were cache hits"
  fi
  IR[$c]=$ir
  PER[$c]=$(((ir + REQS[$c] / 2) / REQS[$c]))
  log "$(printf '%-13s %8s requests  %14s instructions  %8s per request' \
    "$c" "${REQS[$c]}" "$ir" "${PER[$c]}")"

  # Stop it: the master stops its worker; callgrind writes their final profiles.
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && die "$c: the server did not stop within 10 s of SIGTERM"
  wait "$pid" 2>/dev/null || true
}

T0=$SECONDS
log "$(valgrind --version), wrk -t1 -c$CONNECTIONS, ${WARMUP} s warm-up + ${DURATION} s measured per case"
for c in "${CASES[@]}"; do run_case "$c"; done

# ---- report -------------------------------------------------------------------------------------
echo
BINS=$(printf '%s\n' "$ZHTTPD" "$COMPUTE" "$HELLO" | sed '/^$/d' | paste -sd' ')
echo "Per request answered: the user-space instructions (callgrind Ir) of the whole worker" \
  "process; one worker, ${DURATION} s of wrk -t1 -c$CONNECTIONS after ${WARMUP} s of warm-up" \
  "($BINS; $((SECONDS - T0)) s)"
printf '%-13s %10s %16s %12s\n' case requests instructions per_request
for c in "${CASES[@]}"; do
  printf '%-13s %10s %16s %12s\n' "$c" "${REQS[$c]}" "${IR[$c]}" "${PER[$c]}"
done
echo
for c in "${CASES[@]}"; do echo "instructions $c per_request=${PER[$c]}"; done
