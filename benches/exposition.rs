//! Prometheus exposition: the benches' example state (every field kind) rendered by
//! `monsta::prometheus` next to prometheus-client's own encoder over a
//! registry of as many plain metrics (one per sample line of monsta's output).
//!
//! Run with `cargo bench -p monsta-bench --bench exposition`.

use std::{hint::black_box, sync::Arc, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use monsta::prometheus::{Format, StateCollector};
use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, gauge::Gauge},
    registry::Registry,
};

#[path = "example_state.rs"]
mod example_state;

fn exposition(c: &mut Criterion) {
    let collector = StateCollector::new(Arc::new(example_state::filled()));
    let uptime = Some(Duration::from_secs(42));
    let text = collector
        .render(Format::OpenMetrics, uptime)
        .expect("the example state renders");
    let samples = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count();

    // The same number of plain metrics, in prometheus-client's registry:
    // alternately a gauge and a counter, each with a help text.
    let mut registry = Registry::default();
    for i in 0..samples {
        if i % 2 == 0 {
            let g: Gauge<f64, std::sync::atomic::AtomicU64> = Gauge::default();
            g.set(i as f64 + 0.5);
            registry.register(format!("plain_gauge_{i}"), "A plain gauge", g);
        } else {
            let c: Counter = Counter::default();
            c.inc_by(i as u64);
            registry.register(format!("plain_counter_{i}"), "A plain counter", c);
        }
    }
    eprintln!("exposition: {samples} samples in monsta's OpenMetrics output");

    let mut g = c.benchmark_group(format!("exposition_{samples}_samples"));
    g.bench_function("monsta_openmetrics", |b| {
        b.iter(|| collector.render(Format::OpenMetrics, black_box(uptime)))
    });
    g.bench_function("monsta_classic_text", |b| {
        b.iter(|| collector.render(Format::Text, black_box(uptime)))
    });
    g.bench_function("prometheus_client_encode", |b| {
        b.iter(|| {
            let mut out = String::new();
            encode(&mut out, black_box(&registry)).map(|()| out)
        })
    });
    g.finish();
}

criterion_group!(benches, exposition);
criterion_main!(benches);
