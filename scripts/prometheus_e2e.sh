#!/usr/bin/env bash
# End to end: a real Prometheus scrapes the `standalone` example's /metrics.
#
#   scripts/prometheus_e2e.sh
#
# Builds and starts the example on a free loopback port (MONSTA_PORT, with
# MONSTA_HOST=127.0.0.1), starts Prometheus on another, scraping the example
# every second, waits for a scrape, then checks through Prometheus's HTTP
# API that `up == 1`, that a field of the JSON endpoint has the same value
# in Prometheus (and a string field as an info metric's label), and that a
# `histogram_quantile` over the request-duration histogram and a
# `sum by (status)` over the labelled request counter have answers. Everything
# it started is stopped on exit; after the build it gives up on its own
# after E2E_TIMEOUT seconds.
#
# Needs: cargo, prometheus and promtool (Debian package `prometheus`), curl,
# python3. Without prometheus it skips (exit 0) unless CI=true.
#
# Environment (all optional):
#   E2E_TIMEOUT        seconds for the run after the build (default 60)
#   E2E_FIELD          the top-level numeric key of the JSON `state` to
#                      compare (default: the first one that is a counter)
#   E2E_HOLDOFF        how old (seconds) a snapshot either endpoint serves
#                      may be: the reporter's update_holdoff (default 5)
#   E2E_APP_CMD        the command that starts the app (default: cargo run
#                      of the `standalone` example, all features)
#   MONSTA_STATE_PATH  the JSON endpoint (default /mon/v1/state)
#   MONSTA_METRICS_PATH  the Prometheus endpoint (default /metrics)
set -euo pipefail
cd "$(dirname "$0")/.."

timeout_s=${E2E_TIMEOUT:-60}
state_path=${MONSTA_STATE_PATH:-/mon/v1/state}
metrics_path=${MONSTA_METRICS_PATH:-/metrics}

e2e_name=prometheus_e2e
# shellcheck source=scripts/e2e_lib.sh
source scripts/e2e_lib.sh
e2e_require "prometheus curl" cargo prometheus promtool curl python3 setsid
e2e_setup

if [[ -z "${E2E_APP_CMD:-}" ]]; then
  say "building the standalone example"
  cargo build -q --all-features --example standalone
  app_cmd=(cargo run -q --all-features --example standalone)
else
  read -r -a app_cmd <<<"$E2E_APP_CMD"
fi

e2e_start_clock

app_port=$(free_port)
prom_port=$(free_port)
app="http://127.0.0.1:$app_port"
prom="http://127.0.0.1:$prom_port"

say "starting the app on $app"
MONSTA_HOST=127.0.0.1 MONSTA_PORT=$app_port setsid "${app_cmd[@]}" >"$work/app.log" 2>&1 &
app_pid=$!

until curl -fsS -o /dev/null "$app$state_path" 2>/dev/null; do
  kill -0 "$app_pid" 2>/dev/null || fail "the app exited before answering"
  left || fail "the app did not answer $state_path within ${timeout_s}s"
  sleep 0.2
done
say "the app answers $state_path"

# The endpoint itself: both formats, the classic one through promtool.
om_type=$(curl -fsS -o /dev/null -w '%{content_type}' \
  -H 'Accept: application/openmetrics-text;version=1.0.0' "$app$metrics_path") ||
  fail "GET $metrics_path failed"
[[ "$om_type" == application/openmetrics-text* ]] ||
  fail "asked for OpenMetrics, got Content-Type '$om_type'"
curl -fsS -H 'Accept: text/plain;version=0.0.4' "$app$metrics_path" >"$work/metrics.txt"
set +e
promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1
lint=$?
set -e
case $lint in
  0) say "promtool check metrics: clean" ;;
  3) say "promtool check metrics: parsed, with lint findings on the example's names:" && cat "$work/promtool.out" ;;
  *) cat "$work/promtool.out" && fail "promtool could not parse $metrics_path (exit $lint)" ;;
esac

cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: monsta
    metrics_path: $metrics_path
    static_configs:
      - targets: ["127.0.0.1:$app_port"]
EOF

start_prometheus


until [[ "$(query 'up{job="monsta"}')" == 1 ]]; do
  kill -0 "$prom_pid" 2>/dev/null || fail "Prometheus exited"
  left || fail "no successful scrape (up == 1) within ${timeout_s}s"
  sleep 0.5
done
say "up == 1"

# Compare a field of the JSON endpoint with what Prometheus stored. A
# counter (the first one in the state, or E2E_FIELD) is checked against a
# bracket: the JSON read before a scrape and the JSON read after it (each
# at least the holdoff away, since either endpoint may serve a snapshot
# that old) must enclose the scraped value, which holds however busy the
# app is. A field that is not a counter must equal the JSON at some point.
# A string field, if any, must come back as the info metric's label.
E2E_APP=$app E2E_PROM=$prom E2E_STATE_PATH=$state_path E2E_DEADLINE=$((deadline - SECONDS)) \
  python3 - <<'EOF' || fail "the values differ (see above)"
import json, math, os, re, sys, time, urllib.parse, urllib.request

app, prom = os.environ["E2E_APP"], os.environ["E2E_PROM"]
state_path = os.environ["E2E_STATE_PATH"]
deadline = time.time() + float(os.environ["E2E_DEADLINE"])
holdoff = float(os.environ.get("E2E_HOLDOFF", "5"))
wanted = os.environ.get("E2E_FIELD", "")

def say(msg):
    print(f"prometheus_e2e: {msg}", flush=True)

def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)

def state():
    return get(app + state_path)["state"]

def query(q):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    return get(url)["data"]["result"]

def metric_name(key):
    n = re.sub("[^A-Za-z0-9_]", "_", key)
    return "_" + n if n[:1].isdigit() else n

def find(base, suffix=""):
    """The series of <base><suffix>, or under a prefix: (name, series) or None."""
    for pattern in (f"{base}{suffix}", f".+_{base}{suffix}"):
        r = query(f'{{__name__=~"{pattern}",job="monsta"}}')
        if r:
            return r[0]["metric"]["__name__"], r
    return None

def same(a, b):
    return a == b or math.isclose(a, b, rel_tol=1e-9)

def numeric(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)

def time_left():
    if time.time() > deadline:
        sys.exit("prometheus_e2e: out of time")

first = state()
keys = [wanted] if wanted else [k for k, v in first.items() if numeric(v)]
if wanted and not numeric(first.get(wanted)):
    sys.exit(f"prometheus_e2e: E2E_FIELD={wanted} is not numeric: {sorted(first)}")
def counter_base(key):
    base = metric_name(key)
    return base[: -len("_total")] if base.endswith("_total") and len(base) > 6 else base

counter = next(((k, f) for k in keys if (f := find(counter_base(k), "_total"))), None)

if counter:
    key, (name, _) = counter
    say(f"counter field '{key}' is {name}: bracketing a scrape with JSON reads")
    low, t1 = float(state()[key]), time.time()
    while True:
        r = query(f'{name}{{job="monsta"}}[30s]')
        samples = r[0]["values"] if r else []
        later = [(float(t), float(v)) for t, v in samples if float(t) > t1 + holdoff]
        if later:
            ts, scraped = later[0]
            break
        time_left()
        time.sleep(0.5)
    while time.time() < ts + holdoff + 0.5:
        time.sleep(0.2)
    high = float(state()[key])
    if not low <= scraped <= high:
        sys.exit(f"prometheus_e2e: {name} = {scraped}, not within the JSON's [{low}, {high}]")
    say(f"{name} = {scraped:g} lies within the JSON's [{low:g}, {high:g}]")
else:
    key = keys[0] if keys else sys.exit("prometheus_e2e: no numeric field to compare")
    found = find(metric_name(key))
    if not found:
        sys.exit(f"prometheus_e2e: no metric for the field '{key}'")
    name = found[0]
    say(f"field '{key}' is {name}: waiting for Prometheus and the JSON to agree")
    while True:
        want, r = float(state()[key]), query(f'{name}{{job="monsta"}}')
        if r and same(float(r[0]["value"][1]), want):
            say(f"{name} = {r[0]['value'][1]}, as the JSON says")
            break
        time_left()
        time.sleep(0.5)

# A string that held still since the first read, else any string.
now = state()
strings = sorted(
    (k for k, v in now.items() if isinstance(v, str)), key=lambda k: first.get(k) != now[k]
)
for key in strings[:1]:
    base = metric_name(key)
    base = base[: -len("_info")] if base.endswith("_info") and len(base) > 5 else base
    while True:
        want = state()[key]
        found = find(base, "_info")
        if found and any(s["metric"].get("value") == want for s in found[1]):
            say(f'{found[0]}{{value="{want}"}} is there, as the JSON says')
            break
        time_left()
        time.sleep(0.5)
EOF

# A histogram and a family, as one would query a fleet: a quantile from the
# summed buckets' rates, and the requests summed by status.
quantile='histogram_quantile(0.99, sum by (le) (rate(myapp_request_duration_seconds_bucket{job="monsta"}[10s])))'
until p99=$(query "$quantile") && [[ -n "$p99" && "$p99" != NaN ]]; do
  left || fail "no answer to $quantile within ${timeout_s}s"
  sleep 0.5
done
say "$quantile = $p99"
by_status='sum by (status) (myapp_http_requests_total{job="monsta"})'
statuses() {
  curl -fsS -G --data-urlencode "query=$by_status" "$prom/api/v1/query" 2>/dev/null |
    python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(" ".join(sorted(s["metric"].get("status", "?") + "=" + s["value"][1] for s in r)))' 2>/dev/null || true
}
until by=$(statuses) && [[ "$by" == *200=* ]]; do
  left || fail "no answer with status 200 to $by_status within ${timeout_s}s"
  sleep 0.5
done
say "$by_status: $by"
# A SlidingWindow over a fleet: the rate of its monotonic total, not the sum
# of its windowed gauges. The example adds to request_rate all the time.
added='sum(rate(myapp_request_rate_added_total{job="monsta"}[1m]))'
until rate=$(query "$added") && [[ -n "$rate" && "$rate" != NaN && "$rate" != 0 ]]; do
  left || fail "no positive answer to $added within ${timeout_s}s"
  sleep 0.5
done
say "$added = $rate"

uptime=$(query "process_uptime_seconds{job=\"monsta\"}")
[[ -n "$uptime" ]] || fail "no process_uptime_seconds in Prometheus"
say "process_uptime_seconds = $uptime"
say "OK"
