//! Every field type without attributes takes its documented default, written
//! as plain names or full paths.

use std::time::Duration;

use monsta::AppState;
use monsta::fields::*;

#[derive(AppState)]
struct State {
    rate: SlidingWindow,
    today: PeriodicSum,
    avg: Ewma,
    stats: RunningStats,
    sample: SampledWindow,
    latency: SlidingPercentiles,
    calls: Counter,
    level: Gauge,
    status: Value<String>,
    full_path: monsta::fields::Ewma,
    list: monsta::fields::Value<Vec<u8>>,
}

fn main() {
    let state = State::new();
    assert_eq!(state.rate.window(), Duration::from_secs(60));
    assert_eq!(state.avg.alpha(), 0.1);
    assert_eq!(state.latency.quantiles(), &[50.0, 90.0, 95.0, 99.0]);
    assert_eq!(state.today.reset_at().hour(), 0);
    assert_eq!(
        serde_json::to_value(&state).unwrap(),
        serde_json::json!({
            "rate": 0.0, "today": 0.0, "avg": null,
            "stats": {"n": 0, "mean": 0.0, "stddev": 0.0, "min": 0.0, "max": 0.0},
            "sample": 0.0,
            "latency": {"n": 0, "p50": 0.0, "p90": 0.0, "p95": 0.0, "p99": 0.0, "min": 0.0, "max": 0.0},
            "calls": 0, "level": 0.0, "status": "", "full_path": null, "list": []
        })
    );
}
