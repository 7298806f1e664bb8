use monsta::{AppState, fields::Histogram};

#[derive(AppState)]
struct State {
    #[monsta(buckets = exponential_buckets(0, 2, 5))]
    latency: Histogram,
    #[monsta(buckets = log_buckets(1, 2, 5))]
    sizes: Histogram,
}

fn main() {}
