use monsta::{AppState, fields::Histogram};

#[derive(AppState)]
struct State {
    #[monsta(buckets = [0.5, 0.1, 1])]
    latency: Histogram,
}

fn main() {}
