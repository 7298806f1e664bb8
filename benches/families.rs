//! Families of labelled series and histograms: monsta next to the atomic
//! floor and prometheus-client, measured and metrics.
//!
//! Run with `cargo bench -p monsta-bench --bench families`. `<name>/1` runs
//! on one thread, `<name>/2` on two threads at once against the same series
//! (time per operation per thread). `families/create_100k` also prints the
//! bytes allocated per series (a counting allocator wraps the system one).

use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::black_box,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
    },
};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use monsta::{
    AppState,
    fields::{Counter, Family, Histogram},
    prometheus::{Format, StateCollector},
};
use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter as PCounter,
        family::Family as PFamily,
        histogram::{Histogram as PHistogram, exponential_buckets},
    },
    registry::Registry,
};

/// The system allocator, counting the bytes it hands out.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size(), Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[path = "pair.rs"]
mod pair;
use pair::pair;

type Labels = Vec<(String, String)>;

fn peer_labels(route: &str, status: u16) -> Labels {
    vec![
        ("route".to_owned(), route.to_owned()),
        ("status".to_owned(), status.to_string()),
    ]
}

fn family() -> Family<(String, u16), Counter> {
    Family::with_labels(&["route", "status"]).expect("valid labels")
}

fn kept_handle(c: &mut Criterion) {
    let floor = AtomicU64::new(0);
    pair(c, "families/floor_atomic_fetch_add", || {
        floor.fetch_add(black_box(1), Relaxed);
    });
    let requests = family();
    let handle = requests.get(&("/api", 200));
    pair(c, "families/monsta_kept_handle_inc", || {
        handle.inc(black_box(1))
    });
    let peer: PFamily<Labels, PCounter> = PFamily::default();
    let kept = peer.get_or_create(&peer_labels("/api", 200)).clone();
    pair(c, "families/prometheus_client_kept_counter_inc", || {
        kept.inc();
    });
}

fn lookup(c: &mut Criterion) {
    let requests = family();
    requests.with(&("/api", 200), |c| c.inc(1));
    pair(c, "families/monsta_lookup_inc", || {
        requests.with(black_box(&("/api", 200)), |c| c.inc(1));
    });
    let peer: PFamily<Labels, PCounter> = PFamily::default();
    let labels = peer_labels("/api", 200);
    peer.get_or_create(&labels).inc();
    pair(c, "families/prometheus_client_get_or_create_inc", || {
        peer.get_or_create(black_box(&labels)).inc();
    });
    let vec = measured::CounterVec::with_label_set(RequestSet::default());
    vec.inc(Request {
        route: "/api",
        status: "200",
    });
    pair(c, "families/measured_counter_vec_inc", || {
        vec.inc(black_box(Request {
            route: "/api",
            status: "200",
        }));
    });
    // metrics' `counter!` looks its key up in the installed recorder on
    // each call: the global one, so that both threads of a pair see it.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::set_global_recorder(recorder).expect("no recorder installed before");
    metrics::counter!("requests", "route" => "/api", "status" => "200").increment(1);
    pair(c, "families/metrics_labelled_counter_increment", || {
        metrics::counter!("requests", "route" => "/api", "status" => "200").increment(black_box(1));
    });
}

/// measured's label group: two string labels, interned on first use.
#[derive(measured::LabelGroup, Clone, Copy)]
#[label(set = RequestSet)]
struct Request<'a> {
    #[label(dynamic_with = measured::lasso::ThreadedRodeo, default)]
    route: &'a str,
    #[label(dynamic_with = measured::lasso::ThreadedRodeo, default)]
    status: &'a str,
}

fn create(c: &mut Criterion) {
    const N: u16 = 10_000;
    const ROUTES: usize = 10;
    let mut g = c.benchmark_group("families/create_100k");
    g.sample_size(10);
    let config = monsta::fields::FieldConfig {
        labels: Some(&["route", "status"]),
        max_series: Some(usize::from(N) * ROUTES),
        ..Default::default()
    };
    let routes: Vec<String> = (0..ROUTES).map(|i| format!("/route/{i}")).collect();
    let build = || {
        Family::<(String, u16), Counter>::with_config(&config, &monsta::Clock::system())
            .expect("valid config")
    };
    // Bytes per series, once.
    let before = ALLOCATED.load(Relaxed);
    let f = build();
    for route in &routes {
        for status in 0..N {
            f.with(&(route.as_str(), status), |c| c.inc(1));
        }
    }
    let per = (ALLOCATED.load(Relaxed) - before) as f64 / f.len() as f64;
    eprintln!(
        "families/create_100k: monsta: {} series, {per:.0} bytes per series",
        f.len()
    );
    drop(f);
    let before = ALLOCATED.load(Relaxed);
    let p = PFamily::<Labels, PCounter>::default();
    for route in &routes {
        for status in 0..N {
            p.get_or_create(&peer_labels(route, status)).inc();
        }
    }
    let per = (ALLOCATED.load(Relaxed) - before) as f64 / (usize::from(N) * ROUTES) as f64;
    eprintln!("families/create_100k: prometheus_client: {per:.0} bytes per series");
    drop(p);
    g.bench_function("monsta", |b| {
        b.iter_batched(
            build,
            |f| {
                for route in &routes {
                    for status in 0..N {
                        f.with(&(route.as_str(), status), |c| c.inc(1));
                    }
                }
                f
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("prometheus_client", |b| {
        b.iter_batched(
            PFamily::<Labels, PCounter>::default,
            |f| {
                for route in &routes {
                    for status in 0..N {
                        f.get_or_create(&peer_labels(route, status)).inc();
                    }
                }
                f
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

#[derive(AppState)]
struct Service {
    /// Requests by route and status.
    #[monsta(labels = ["route", "status"])]
    requests: Family<(String, u16), Counter>,
}

#[derive(serde::Serialize)]
struct Plain {
    route: String,
    status: u16,
    value: u64,
}

/// Plain structs that serialize to the family's very JSON.
#[derive(serde::Serialize)]
struct SameJson {
    labels: SameLabels,
    value: u64,
}

#[derive(serde::Serialize)]
struct SameLabels {
    route: String,
    status: String,
}

fn exposition(c: &mut Criterion) {
    let state = Arc::new(Service::new());
    let peer: PFamily<Labels, PCounter> = PFamily::default();
    let mut plain = Vec::new();
    let mut same = Vec::new();
    for i in 0..1000u16 {
        let route = format!("/route/{}", i / 10);
        let status = 200 + i % 10;
        state
            .requests
            .with(&(route.as_str(), status), |c| c.inc(u64::from(i)));
        peer.get_or_create(&peer_labels(&route, status))
            .inc_by(u64::from(i));
        same.push(SameJson {
            labels: SameLabels {
                route: route.clone(),
                status: status.to_string(),
            },
            value: u64::from(i),
        });
        plain.push(Plain {
            route,
            status,
            value: u64::from(i),
        });
    }
    let collector = StateCollector::new(Arc::clone(&state));
    let mut registry = Registry::default();
    registry.register("requests", "Requests by route and status.", peer);
    let mut g = c.benchmark_group("families/encode_1000_series");
    g.bench_function("monsta_text", |b| {
        b.iter(|| collector.render(Format::Text, None).expect("renders"))
    });
    g.bench_function("prometheus_client_text", |b| {
        b.iter(|| {
            let mut out = String::new();
            encode(&mut out, &registry).expect("encodes");
            out
        })
    });
    g.bench_function("monsta_json", |b| {
        b.iter(|| serde_json::to_string(&*state).expect("serializes"))
    });
    g.bench_function("serde_json_plain_structs", |b| {
        b.iter(|| serde_json::to_string(&plain).expect("serializes"))
    });
    g.bench_function("serde_json_plain_structs_same_json", |b| {
        b.iter(|| serde_json::to_string(&same).expect("serializes"))
    });
    g.finish();
}

fn histograms(c: &mut Criterion) {
    let bounds: Vec<f64> = exponential_buckets(0.001, 2.0, 12).collect();
    let ours = Histogram::new(&bounds).expect("valid buckets");
    pair(c, "families/monsta_histogram_observe", || {
        ours.observe(black_box(0.05));
    });
    let peer = PHistogram::new(bounds.iter().copied());
    pair(c, "families/prometheus_client_histogram_observe", || {
        peer.observe(black_box(0.05));
    });
}

criterion_group!(benches, kept_handle, lookup, create, exposition, histograms);
criterion_main!(benches);
