use monsta::{AppState, fields::{Counter, Family, Gauge, Histogram}};

#[derive(AppState)]
struct State {
    latency: Histogram,
    latency_count: Gauge,
}

#[derive(AppState)]
struct Other {
    #[monsta(labels = ["route"])]
    requests: Family<String, Counter>,
    requests_total: Gauge,
}

fn main() {}
