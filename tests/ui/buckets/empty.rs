use monsta::{AppState, fields::Histogram};

#[derive(AppState)]
struct State {
    #[monsta(buckets = [])]
    latency: Histogram,
}

fn main() {}
