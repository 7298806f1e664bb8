#!/usr/bin/env bash
# The cost of an idle service: runs `examples/idle.rs` (a derived state and a
# reporter serving it, no workload), asks it for its state and metrics once,
# lets it settle, then reads from /proc, for IDLE_SECS seconds (default 30),
# each thread's on-CPU time (`schedstat`, nanoseconds) and context switches
# (`status`). A voluntary switch is a thread going to sleep, so every wake-up
# follows one: their count is the wake-ups. Fails above 10 wake-ups a second
# or 0.1 % of a core (IDLE_MAX_WAKEUPS_PER_SEC, IDLE_MAX_CPU_PERCENT).
# Linux only. Usage: bash scripts/idle_cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${IDLE_SECS:-30}
settle=${IDLE_SETTLE_SECS:-3}
max_wakeups=${IDLE_MAX_WAKEUPS_PER_SEC:-10}
max_cpu=${IDLE_MAX_CPU_PERCENT:-0.1}

cargo build --quiet --example idle --features derive,http,prometheus
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

log=$(mktemp)
"$target_dir/debug/examples/idle" "$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 100); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/mon/v1/state" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$port/mon/v1/state"
curl -fsS -o /dev/null "http://127.0.0.1:$port/metrics"
sleep "$settle"

python3 - "$pid" "$secs" "$max_wakeups" "$max_cpu" <<'PY'
import os, sys, time

pid, secs, max_wakeups, max_cpu = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])

def sample():
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{base}/schedstat") as f:
                cpu = int(f.read().split()[0])
            with open(f"{base}/comm") as f:
                name = f.read().strip()
            vol = invol = 0
            with open(f"{base}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol = int(line.split()[1])
        except FileNotFoundError:
            continue  # the thread exited while we read
        threads[tid] = (name, cpu, vol, invol)
    return threads

before = sample()
t0 = time.monotonic()
time.sleep(secs)
after = sample()
elapsed = time.monotonic() - t0

cpu = vol = invol = 0
rows = []
for tid, (name, c1, v1, i1) in sorted(after.items(), key=lambda kv: kv[1][0]):
    _, c0, v0, i0 = before.get(tid, (name, 0, 0, 0))
    rows.append((name, tid, c1 - c0, v1 - v0, i1 - i0))
    cpu += c1 - c0
    vol += v1 - v0
    invol += i1 - i0
gone = sorted(set(before) - set(after))
started = sorted(set(after) - set(before))

print(f"idle process {pid}, {len(after)} threads, over {elapsed:.1f} s:")
print(f"  {'thread':<20} {'tid':>8} {'cpu µs':>10} {'wake-ups':>9} {'preempted':>9}")
for name, tid, c, v, i in rows:
    print(f"  {name:<20} {tid:>8} {c / 1000:>10.1f} {v:>9} {i:>9}")
cpu_percent = cpu / 1e9 / elapsed * 100
wakeups = vol / elapsed
print(f"  total: {cpu / 1000:.1f} µs on CPU ({cpu_percent:.4f} % of a core), "
      f"{vol} wake-ups ({wakeups:.2f}/s), {invol} preemptions")
if gone or started:
    print(f"  threads gone: {gone}, started: {started}")
failed = []
if wakeups > max_wakeups:
    failed.append(f"{wakeups:.2f} wake-ups/s > {max_wakeups}")
if cpu_percent > max_cpu:
    failed.append(f"{cpu_percent:.4f} % of a core > {max_cpu} %")
if gone:
    failed.append("threads exited during the measurement: their cost is not counted")
if failed:
    print("FAIL: " + "; ".join(failed))
    sys.exit(1)
print(f"ok: at most {max_wakeups} wake-ups/s and {max_cpu} % of a core")
PY
