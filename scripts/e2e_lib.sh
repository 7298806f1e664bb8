# shellcheck shell=bash
# What the end-to-end scripts share; sourced by them (not run) after they
# set `e2e_name` (the prefix of every line they print) and `timeout_s`:
#
#   say / fail         print a line; print a failure and exit 1
#   e2e_require H T..  exit 0 (skip) if a tool T is missing, or fail under
#                      CI=true; H is the apt-get hint printed with it
#   free_port          a free loopback port
#   e2e_setup          makes $work, and on exit stops $prom_pid and $app_pid
#                      (each in its own session, started with setsid),
#                      prints the tails of their logs ($work/app.log,
#                      $work/prometheus.log) on failure, and removes $work
#   e2e_start_clock    starts the run's time: `left` is true until
#                      $timeout_s seconds later
#   start_prometheus   starts Prometheus on $prom_port with
#                      $work/prometheus.yml, data in $work/data
#   query Q            the value of the first series of the instant query Q
#                      to the Prometheus at $prom, or nothing

say() { printf '%s: %s\n' "$e2e_name" "$*"; }
fail() {
  say "FAIL: $*"
  exit 1
}

e2e_require() {
  local hint=$1 tool
  shift
  local missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    if [[ "${CI:-}" == true ]]; then
      fail "missing under CI: ${missing[*]} (apt-get install -y $hint)"
    fi
    say "SKIP: missing ${missing[*]} (apt-get install -y $hint)"
    exit 0
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

e2e_stop() {
  # $1: a pid this script started in its own session (setsid): end its group.
  local pid=$1
  [[ -n "$pid" ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

e2e_cleanup() {
  local rc=$?
  e2e_stop "$prom_pid"
  e2e_stop "$app_pid"
  if ((rc != 0)); then
    for log in "$work"/app.log "$work"/prometheus.log; do
      [[ -s "$log" ]] || continue
      say "--- last lines of $(basename "$log"):"
      tail -n 30 "$log" || true
    done
  fi
  rm -rf "$work"
  exit "$rc"
}

e2e_setup() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/$e2e_name.XXXXXX")
  app_pid=
  prom_pid=
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
}

e2e_start_clock() { deadline=$((SECONDS + timeout_s)); }
left() { ((SECONDS < deadline)); }

start_prometheus() {
  say "starting Prometheus on 127.0.0.1:$prom_port"
  setsid prometheus \
    --config.file="$work/prometheus.yml" \
    --web.listen-address="127.0.0.1:$prom_port" \
    --storage.tsdb.path="$work/data" \
    >"$work/prometheus.log" 2>&1 &
  prom_pid=$!
}

query() {
  curl -fsS -G --data-urlencode "query=$1" "$prom/api/v1/query" 2>/dev/null |
    python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null || true
}
