use monsta::AppState;
use monsta::fields::{Counter, Gauge};

#[derive(AppState)]
struct Db {
    queries: Counter,
}

#[derive(AppState)]
struct State {
    db_queries: Gauge,
    #[monsta(flatten)]
    db: Db,
}

fn main() {}
