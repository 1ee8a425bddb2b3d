# Helpers shared by scripts/bench-e2e.sh and scripts/bench-instructions.sh: sourced, not run.
# The sourcing script sets BENCH_NAME (the prefix of its messages) and TMP (the directory holding
# the servers' NAME.out and NAME.err, shown when a server fails to start).
# shellcheck shell=bash

log() { echo "$BENCH_NAME: $*" >&2; }
die() {
  echo "$BENCH_NAME: error: $*" >&2
  exit 1
}

port_in_use() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v h="$hex" 'FNR > 1 && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
# A free port on 127.0.0.1 other than $1 (if given).
pick_port() {
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 12000))
    if [[ $p != "${1:-}" ]] && ! port_in_use "$p"; then
      echo "$p"
      return
    fi
  done
  die "found no free port on 127.0.0.1"
}
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1$2" || true; }

# wait_ready NAME PID PORT [PATH [SECONDS]]: waits until the server answers 200 for PATH
# (/100.txt) on 127.0.0.1:PORT; dies with its logs when it exits or never answers within SECONDS
# (10).
wait_ready() {
  local name=$1 pid=$2 port=$3 path=${4:-/100.txt} secs=${5:-10} i rc
  for ((i = 0; i < secs * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null && rc=0 || rc=$?
      log "$name exited (status $rc) instead of listening on 127.0.0.1:$port; its output:"
      cat "$TMP/$name".{out,err} "$TMP/nginx/error.log" 2>/dev/null | tail -n 20 >&2 || true
      die "$name failed to start"
    fi
    [[ $(http_code "$port" "$path") == 200 ]] && return 0
    sleep 0.1
  done
  cat "$TMP/$name".{out,err} 2>/dev/null | tail -n 20 >&2 || true
  die "$name did not answer on 127.0.0.1:$port within $secs s"
}

# Stops the given servers that still run as this shell's jobs (a pid that is not one may be
# another process's by now): SIGTERM to each, then each gets $1 tenths of a second to exit before
# SIGKILL.
stop_servers() {
  local tenths=$1 pid running i
  shift
  running=" $(jobs -p | tr '\n' ' ') "
  for pid in "$@"; do
    if [[ $running == *" $pid "* ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "$@"; do
    [[ $running == *" $pid "* ]] || continue
    for ((i = 0; i < tenths; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
