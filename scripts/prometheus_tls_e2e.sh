#!/usr/bin/env bash
# End to end over HTTPS: a real Prometheus scrapes the `standalone` example
# served with TLS and basic auth from a web.config.yml.
#
#   scripts/prometheus_tls_e2e.sh
#
# Makes a CA and a server certificate for 127.0.0.1 with openssl, a bcrypt
# hash with the `bcrypt_hash` example, and a web.config.yml with both;
# starts the example with MONSTA_WEB_CONFIG on a free loopback port, checks
# with curl that HTTPS with the password is served, that no password gets
# 401 and that plaintext HTTP gets no answer; then starts Prometheus with
# two jobs, both `scheme: https` with `tls_config` and `basic_auth`, one
# with the right password and one with a wrong one, and checks through
# Prometheus's HTTP API that `up == 1` for the first, `up == 0` for the
# second, and that a counter field scraped lies between two reads of the
# JSON endpoint. Everything it started is stopped on exit; after the build
# it gives up on its own after E2E_TIMEOUT seconds.
#
# Needs: cargo, prometheus and promtool (Debian package `prometheus`), curl,
# openssl, python3. Without prometheus it skips (exit 0) unless CI=true.
#
# Environment (all optional):
#   E2E_TIMEOUT   seconds for the run after the build (default 60)
#   E2E_HOLDOFF   how old (seconds) a snapshot either endpoint serves may
#                 be: the reporter's update_holdoff (default 5)
#   E2E_APP_CMD   the command that starts the app (default: cargo run of
#                 the `standalone` example, all features)
set -euo pipefail
cd "$(dirname "$0")/.."

timeout_s=${E2E_TIMEOUT:-60}
state_path=/mon/v1/state
metrics_path=/metrics

e2e_name=prometheus_tls_e2e
# shellcheck source=scripts/e2e_lib.sh
source scripts/e2e_lib.sh
e2e_require "prometheus curl openssl" cargo prometheus promtool curl openssl python3 setsid
e2e_setup

say "building the standalone and bcrypt_hash examples"
cargo build -q --all-features --example standalone --example bcrypt_hash
if [[ -z "${E2E_APP_CMD:-}" ]]; then
  app_cmd=(cargo run -q --all-features --example standalone)
else
  read -r -a app_cmd <<<"$E2E_APP_CMD"
fi

# A CA, and a server certificate it signs for 127.0.0.1 and localhost.
say "making a CA and a server certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=monsta e2e CA" -keyout "$work/ca.key" -out "$work/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log"; fail "openssl could not make the CA"; }
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=localhost" -keyout "$work/server.key" -out "$work/server.csr" \
  >>"$work/openssl.log" 2>&1 || { cat "$work/openssl.log"; fail "openssl could not make the key"; }
printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$work/server.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -CAcreateserial -days 2 -extfile "$work/server.ext" -out "$work/server.crt" \
  >>"$work/openssl.log" 2>&1 || { cat "$work/openssl.log"; fail "openssl could not sign the certificate"; }

password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
printf '%s' "$password" >"$work/password"
printf '%s' "not-$password" >"$work/wrong_password"
hash=$(cargo run -q --all-features --example bcrypt_hash <"$work/password") ||
  fail "the bcrypt_hash example failed"

cat >"$work/web.config.yml" <<YAML
# Relative file names are taken relative to this file's directory.
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  min_version: TLS12
basic_auth_users:
  prometheus: '$hash'
YAML

e2e_start_clock

app_port=$(free_port)
prom_port=$(free_port)
app="https://127.0.0.1:$app_port"
prom="http://127.0.0.1:$prom_port"
tls_curl=(curl -sS --cacert "$work/ca.crt")

say "starting the app on $app"
MONSTA_WEB_CONFIG="$work/web.config.yml" MONSTA_HOST=127.0.0.1 MONSTA_PORT=$app_port \
  setsid "${app_cmd[@]}" >"$work/app.log" 2>&1 &
app_pid=$!

until "${tls_curl[@]}" -f -o /dev/null -u "prometheus:$password" "$app$state_path" 2>/dev/null; do
  kill -0 "$app_pid" 2>/dev/null || fail "the app exited before answering"
  left || fail "the app did not answer $state_path over HTTPS within ${timeout_s}s"
  sleep 0.2
done
say "the app answers $state_path over HTTPS with the password"
if curl -V 2>/dev/null | grep -qw HTTP2; then
  version=$("${tls_curl[@]}" -f --http2 -o /dev/null -w '%{http_version}' -u "prometheus:$password" "$app$state_path") ||
    fail "GET $state_path over HTTP/2 failed"
  [[ "$version" == 2 ]] || fail "curl --http2 got HTTP/$version, not HTTP/2 (ALPN h2)"
  say "HTTP/2 through ALPN"
fi

code=$("${tls_curl[@]}" -o /dev/null -w '%{http_code}' "$app$metrics_path") || true
[[ "$code" == 401 ]] || fail "without a password: HTTP $code, not 401"
code=$("${tls_curl[@]}" -o /dev/null -w '%{http_code}' -u "prometheus:not-it" "$app$metrics_path") || true
[[ "$code" == 401 ]] || fail "with a wrong password: HTTP $code, not 401"
say "no password and a wrong one: 401"
if curl -sS -m 5 -o /dev/null "http://127.0.0.1:$app_port$state_path" 2>/dev/null; then
  fail "plaintext HTTP got an answer"
fi
say "plaintext HTTP gets no answer"

"${tls_curl[@]}" -f -u "prometheus:$password" -H 'Accept: text/plain;version=0.0.4' \
  "$app$metrics_path" >"$work/metrics.txt" || fail "GET $metrics_path failed"
set +e
promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1
lint=$?
set -e
case $lint in
  0 | 3) say "promtool parses $metrics_path (exit $lint)" ;;
  *) cat "$work/promtool.out" && fail "promtool could not parse $metrics_path (exit $lint)" ;;
esac

cat >"$work/prometheus.yml" <<EOF2
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: monsta
    scheme: https
    metrics_path: $metrics_path
    tls_config:
      ca_file: $work/ca.crt
    basic_auth:
      username: prometheus
      password_file: $work/password
    static_configs:
      - targets: ["127.0.0.1:$app_port"]
  - job_name: monsta_wrong_password
    scheme: https
    metrics_path: $metrics_path
    tls_config:
      ca_file: $work/ca.crt
    basic_auth:
      username: prometheus
      password_file: $work/wrong_password
    static_configs:
      - targets: ["127.0.0.1:$app_port"]
EOF2
promtool check config "$work/prometheus.yml" >"$work/promtool-config.out" 2>&1 ||
  { cat "$work/promtool-config.out"; fail "promtool rejects the scrape config"; }

start_prometheus


until [[ "$(query 'up{job="monsta"}')" == 1 ]]; do
  kill -0 "$prom_pid" 2>/dev/null || fail "Prometheus exited"
  left || fail "no successful scrape over HTTPS (up == 1) within ${timeout_s}s"
  sleep 0.5
done
say 'up{job="monsta"} == 1'
until [[ "$(query 'up{job="monsta_wrong_password"}')" == 0 ]]; do
  left || fail "no failed scrape with the wrong password (up == 0) within ${timeout_s}s"
  sleep 0.5
done
# It stays down: every scrape with the wrong password fails.
sleep 2
[[ "$(query 'max_over_time(up{job="monsta_wrong_password"}[1m])')" == 0 ]] ||
  fail "a scrape with the wrong password succeeded"
say 'up{job="monsta_wrong_password"} == 0'

# A counter field: the value Prometheus scraped lies between a read of the
# JSON endpoint before that scrape and one after it (each a holdoff away).
E2E_APP=$app E2E_PROM=$prom E2E_CA=$work/ca.crt E2E_PASSWORD_FILE=$work/password \
  E2E_DEADLINE=$((deadline - SECONDS)) python3 - <<'EOF2' || fail "the values differ (see above)"
import base64, json, os, ssl, sys, time, urllib.parse, urllib.request

app, prom = os.environ["E2E_APP"], os.environ["E2E_PROM"]
deadline = time.time() + float(os.environ["E2E_DEADLINE"])
holdoff = float(os.environ.get("E2E_HOLDOFF", "5"))
password = open(os.environ["E2E_PASSWORD_FILE"]).read()
tls = ssl.create_default_context(cafile=os.environ["E2E_CA"])
auth = "Basic " + base64.b64encode(f"prometheus:{password}".encode()).decode()

def api_calls():
    req = urllib.request.Request(app + "/mon/v1/state", headers={"Authorization": auth})
    with urllib.request.urlopen(req, timeout=5, context=tls) as r:
        return float(json.load(r)["state"]["api_calls"])

def query(q):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["data"]["result"]

low, t1 = api_calls(), time.time()
while True:
    r = query('myapp_api_calls_total{job="monsta"}[30s]')
    later = [(float(t), float(v)) for t, v in (r[0]["values"] if r else []) if float(t) > t1 + holdoff]
    if later:
        ts, scraped = later[0]
        break
    if time.time() > deadline:
        sys.exit("prometheus_tls_e2e: no scrape of myapp_api_calls_total in time")
    time.sleep(0.5)
while time.time() < ts + holdoff + 0.5:
    time.sleep(0.2)
high = api_calls()
if not low <= scraped <= high:
    sys.exit(f"prometheus_tls_e2e: myapp_api_calls_total = {scraped}, not within the JSON's [{low}, {high}]")
print(f"prometheus_tls_e2e: myapp_api_calls_total = {scraped:g} lies within the JSON's [{low:g}, {high:g}]")
EOF2

uptime=$(query 'process_uptime_seconds{job="monsta"}')
[[ -n "$uptime" ]] || fail "no process_uptime_seconds in Prometheus"
say "process_uptime_seconds = $uptime"
say "OK"
