//! `wrk`, as the load benches run it: one thread, a fixed number of
//! connections for a fixed time, its output parsed.

use std::process::Command;

/// What one `wrk` run printed.
#[derive(Debug, Clone, Copy)]
// Each bench that includes this module reads the fields it needs.
#[allow(dead_code)]
pub struct Wrk {
    /// Requests per second.
    pub rps: f64,
    /// The requests it made.
    pub requests: f64,
    /// The 99th percentile latency, in microseconds.
    pub p99_us: f64,
}

/// Whether `wrk` is installed.
pub fn installed() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

/// Runs `wrk -t1 -c<connections> -d<seconds>s --latency <url>`, on core 0
/// only (through `taskset`) when `pinned`. Panics on error responses or
/// output it cannot read: a bench with a broken client measures nothing.
// (`http_load`'s: `middleware_load` runs the command itself.)
#[allow(dead_code)]
pub fn run(url: &str, connections: u32, seconds: u32, pinned: bool) -> Wrk {
    let out = command(url, connections, seconds, pinned)
        .output()
        .expect("wrk runs");
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// The command [`run`] runs, to start it without waiting for it.
pub fn command(url: &str, connections: u32, seconds: u32, pinned: bool) -> Command {
    let mut c = pinned_command("wrk", pinned);
    c.args([
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
        url,
    ]);
    c
}

/// What `wrk --latency` printed, read; panics on error responses or output
/// it cannot read.
pub fn parse(text: &str) -> Wrk {
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
    let requests = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
    let p99_us = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| micros(v.trim()))
        .unwrap_or_else(|| panic!("no 99% latency in wrk's output:\n{text}"));
    if text.contains("Non-2xx") {
        panic!("wrk saw error responses:\n{text}");
    }
    Wrk {
        rps,
        requests,
        p99_us,
    }
}

/// `program`, to run on core 0 only (through `taskset`) when `pinned`.
pub fn pinned_command(program: &str, pinned: bool) -> Command {
    if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", program]);
        c
    } else {
        Command::new(program)
    }
}

/// `"1.23ms"`, `"850.00us"`, `"2.00s"` in microseconds.
pub fn micros(v: &str) -> f64 {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e6)
    } else {
        (v, 1.0)
    };
    num.parse::<f64>().unwrap_or(f64::NAN) * scale
}

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
