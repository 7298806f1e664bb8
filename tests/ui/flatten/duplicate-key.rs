use monsta::AppState;
use monsta::fields::*;

#[derive(AppState)]
struct DbState {
    queries: Counter,
}

#[derive(AppState)]
struct State {
    queries: Counter,
    #[monsta(flatten)]
    db: DbState,
}

fn main() {
    let _ = State::new().snapshot();
}
