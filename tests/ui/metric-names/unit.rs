use monsta::AppState;
use monsta::fields::{Gauge, RunningStats};

#[derive(AppState)]
struct State {
    #[monsta(unit = "seconds")]
    latency: RunningStats,
    latency_max_seconds: Gauge,
}

fn main() {}
