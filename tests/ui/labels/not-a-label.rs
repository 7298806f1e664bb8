use monsta::{AppState, fields::{Counter, Family}};

#[derive(AppState)]
struct State {
    #[monsta(labels = ["ratio"])]
    requests: Family<(f64,), Counter>,
}

fn main() {}
