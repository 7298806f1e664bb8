//! Rendering a state to JSON: monsta's snapshot of the benches' example
//! state next to `serde_json::to_string` of a plain struct of the same shape.
//!
//! Run with `cargo bench -p monsta-bench --bench snapshot`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde::Serialize;

#[path = "example_state.rs"]
mod example_state;

#[derive(Serialize)]
struct PlainStats {
    n: u64,
    mean: f64,
    stddev: f64,
    min: f64,
    max: f64,
}

#[derive(Serialize)]
struct PlainBucket {
    level: f64,
    capacity: f64,
    full: bool,
}

#[derive(Serialize)]
struct PlainPercentiles {
    n: u64,
    p50: f64,
    p90: f64,
    p99: f64,
    #[serde(rename = "p99.9")]
    p99_9: f64,
    min: f64,
    max: f64,
}

#[derive(Serialize)]
struct Plain {
    request_rate: f64,
    jobs_today: f64,
    requests_today: f64,
    cpu_usage: Option<f64>,
    latency: PlainStats,
    active_rps: f64,
    rate_limiter: PlainBucket,
    db_latency: PlainPercentiles,
    api_calls: u64,
    status: String,
    pool_size: u64,
    db_status: String,
    ver: String,
}

fn snapshot(c: &mut Criterion) {
    let state = example_state::filled();
    let plain = Plain {
        request_rate: 100.0,
        jobs_today: 100.0,
        requests_today: 100.0,
        cpu_usage: Some(32.5),
        latency: PlainStats {
            n: 100,
            mean: 49.5,
            stddev: 28.86607004772212,
            min: 0.0,
            max: 99.0,
        },
        active_rps: 120.0,
        rate_limiter: PlainBucket {
            level: 45.0,
            capacity: 100.0,
            full: false,
        },
        db_latency: PlainPercentiles {
            n: 3,
            p50: 1.0,
            p90: 1.8,
            p99: 1.98,
            p99_9: 1.998,
            min: 0.5,
            max: 2.0,
        },
        api_calls: 100,
        status: "degraded".into(),
        pool_size: 8,
        db_status: "connected".into(),
        ver: "1.0.0".into(),
    };

    let mut g = c.benchmark_group("json");
    g.bench_function("monsta_state_to_string", |b| {
        b.iter(|| serde_json::to_string(black_box(&state)))
    });
    g.bench_function("plain_struct_to_string", |b| {
        b.iter(|| serde_json::to_string(black_box(&plain)))
    });
    g.bench_function("monsta_snapshot_only", |b| {
        b.iter(|| black_box(&state).snapshot())
    });
    g.finish();
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
