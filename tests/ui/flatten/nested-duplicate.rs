use monsta::AppState;
use monsta::fields::*;

#[derive(AppState)]
struct PoolState {
    #[monsta(rename = "pool_size")]
    size: Gauge,
}

#[derive(AppState)]
struct DbState {
    queries: Counter,
    #[monsta(flatten)]
    pool: PoolState,
}

#[derive(AppState)]
struct State {
    #[monsta(flatten)]
    db: DbState,
    #[monsta(rename = "pool_size")]
    workers: Gauge,
}

fn main() {
    let _ = State::new().snapshot();
}
