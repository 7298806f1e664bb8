use monsta::{AppState, fields::{Counter, Family}};

#[derive(AppState)]
struct State {
    #[monsta(labels = ["route"], max_series = 0)]
    requests: Family<String, Counter>,
}

fn main() {}
