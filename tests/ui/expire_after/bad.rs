use monsta::{AppState, fields::{Counter, Family, Gauge}};

#[derive(AppState)]
struct State {
    #[monsta(labels = ["route"], expire_after = "0s")]
    requests: Family<String, Counter>,
    #[monsta(expire_after = "10m")]
    queue: Gauge,
}

fn main() {}
