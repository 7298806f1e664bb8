//! Names that come close to clashing but don't: each exports metric names
//! of its own.

use monsta::AppState;
use monsta::fields::{Counter, Gauge, RunningStats, SlidingPercentiles, Value};

#[derive(AppState)]
struct Db {
    queries: Counter,
}

#[derive(AppState)]
#[monsta(prefix = "app")]
struct State {
    lat: RunningStats,
    // `lat` exports `lat_mean`, `lat_max`, ...; not `lat_median`.
    lat_median: Gauge,
    requests: Counter,
    // `requests` exports `requests_total` and `requests_created`.
    requests_rate: Gauge,
    status: Value<String>,
    // `status` exports `status_info`; not `status_text`.
    status_text: Gauge,
    #[monsta(unit = "seconds")]
    wait: SlidingPercentiles,
    wait_p99: Gauge,
    #[monsta(flatten)]
    db: Db,
    // The child's `queries` is `db_queries` (its counter `db_queries_total`).
    db_queries_rate: Gauge,
}

fn main() {
    let state = State::new();
    state.requests.inc(1);
    assert_eq!(state.snapshot().requests, 1);
}
