use monsta::AppState;
use monsta::fields::{Gauge, RunningStats};

#[derive(AppState)]
struct State {
    lat: RunningStats,
    lat_mean: Gauge,
}

fn main() {}
