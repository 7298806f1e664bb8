use monsta::AppState;
use monsta::fields::*;

#[derive(AppState)]
struct DbState {
    queries: Counter,
    connections: Gauge,
}

#[derive(AppState)]
struct State {
    calls: Counter,
    #[monsta(flatten)]
    primary: DbState,
    #[monsta(flatten)]
    replica: DbState,
}

fn main() {
    let _ = State::new().snapshot();
}
