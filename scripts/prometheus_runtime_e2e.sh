#!/usr/bin/env bash
# End to end: a real Prometheus scrapes the `runtime` example's /metrics.
#
#   scripts/prometheus_runtime_e2e.sh
#
# Builds and starts the example (a two-worker runtime watched by a runtime
# monitor, with named tasks, one of which blocks its worker for half a
# second every three seconds) on a free loopback port, starts Prometheus on
# another, scraping it every second, and checks through Prometheus's HTTP
# API that the runtime and process series arrive as the monitor's docs name
# them: `up == 1`; two workers, with a busy-time series for each; the
# blocked worker's stall (`monsta_runtime_stall_max_seconds` at least
# 0.4 s, as the JSON says); the named tasks; a rate of the process's CPU
# seconds; a quantile of the lag histogram the monitor records into; and
# the instrumented handler's errors. `promtool check metrics` must parse
# the endpoint. Everything it started is stopped on exit; after the build
# it gives up on its own after E2E_TIMEOUT seconds.
#
# Needs: cargo, prometheus and promtool (Debian package `prometheus`), curl,
# python3. Without prometheus it skips (exit 0) unless CI=true.
#
# Environment (all optional):
#   E2E_TIMEOUT        seconds for the run after the build (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

timeout_s=${E2E_TIMEOUT:-60}

e2e_name=prometheus_runtime_e2e
# shellcheck source=scripts/e2e_lib.sh
source scripts/e2e_lib.sh
e2e_require "prometheus curl" cargo prometheus promtool curl python3 setsid
e2e_setup

say "building the runtime example"
cargo build -q --all-features --example runtime
app_cmd=(cargo run -q --all-features --example runtime)

e2e_start_clock

app_port=$(free_port)
prom_port=$(free_port)
app="http://127.0.0.1:$app_port"
prom="http://127.0.0.1:$prom_port"

say "starting the app on $app"
MONSTA_HOST=127.0.0.1 MONSTA_PORT=$app_port setsid "${app_cmd[@]}" >"$work/app.log" 2>&1 &
app_pid=$!

until curl -fsS -o /dev/null "$app/metrics" 2>/dev/null; do
  kill -0 "$app_pid" 2>/dev/null || fail "the app exited before answering"
  left || fail "the app did not answer /metrics within ${timeout_s}s"
  sleep 0.2
done
say "the app answers /metrics"

curl -fsS -H 'Accept: text/plain;version=0.0.4' "$app/metrics" >"$work/metrics.txt"
set +e
promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1
lint=$?
set -e
case $lint in
  0) say "promtool check metrics: clean" ;;
  3) say "promtool check metrics: parsed, with lint findings:" && cat "$work/promtool.out" ;;
  *) cat "$work/promtool.out" && fail "promtool could not parse /metrics (exit $lint)" ;;
esac

cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: monsta
    static_configs:
      - targets: ["127.0.0.1:$app_port"]
EOF

start_prometheus

# Waits until the instant query $1 answers with a value for which the
# Python expression $2 (of `v`, a float) is true; prints the value.
wait_query() {
  local q=$1 test=$2 v
  while true; do
    v=$(query "$q")
    if [[ -n "$v" ]] && python3 -c "import sys; v = float(sys.argv[1]); sys.exit(0 if ($test) else 1)" "$v"; then
      say "$q = $v"
      return 0
    fi
    kill -0 "$prom_pid" 2>/dev/null || fail "Prometheus exited"
    kill -0 "$app_pid" 2>/dev/null || fail "the app exited"
    left || fail "no answer to $q with $test within ${timeout_s}s (last: '${v}')"
    sleep 0.5
  done
}

wait_query 'up{job="monsta"}' 'v == 1'
wait_query 'monsta_runtime_workers{job="monsta"}' 'v == 2'
wait_query 'count(monsta_runtime_worker_busy_seconds_total{job="monsta"})' 'v == 2'
wait_query 'sum(rate(monsta_runtime_samples_total{job="monsta"}[10s]))' 'v > 5'
wait_query 'max_over_time(monsta_runtime_stall_max_seconds{job="monsta"}[1m])' 'v >= 0.4'
wait_query 'monsta_runtime_named_tasks{job="monsta"}' 'v >= 4'
wait_query 'rate(process_cpu_seconds_total{job="monsta"}[10s])' 'v > 0'
wait_query 'process_resident_memory_bytes{job="monsta"}' 'v > 1e6'
wait_query 'histogram_quantile(0.5, sum by (le) (rate(demo_runtime_lag_seconds_bucket{job="monsta"}[10s])))' 'v == v and v >= 0'
wait_query 'demo_handler_errors_total{job="monsta"}' 'v > 0'

# The stall Prometheus saw is the one the JSON shows.
json_stall=$(curl -fsS "$app/mon/v1/state" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["internal"]["runtime"]["max_stall_1m_ms"])')
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 400 else 1)" "$json_stall" ||
  fail "the JSON's max_stall_1m_ms is $json_stall, under the 400 ms Prometheus saw"
say "internal.runtime.max_stall_1m_ms = $json_stall"
say "OK"
