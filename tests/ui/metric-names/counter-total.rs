use monsta::AppState;
use monsta::fields::{Counter, Gauge};

#[derive(AppState)]
struct State {
    requests: Counter,
    requests_total: Gauge,
}

fn main() {}
