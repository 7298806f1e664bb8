#!/usr/bin/env bash
# The request middleware under load: installs wrk (Debian's package) if
# missing, then runs a bare hyper server and the same server with the
# RequestMonitor layer under the same load (wrk, and h2load at a fixed rate),
# with the CPU time per request.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1 || ! command -v h2load >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nghttp2-client
fi
cargo bench -p monsta-bench --bench middleware_load
