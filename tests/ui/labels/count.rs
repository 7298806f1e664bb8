use monsta::{AppState, fields::{Counter, Family}};

#[derive(AppState)]
struct State {
    #[monsta(labels = ["route"])]
    requests: Family<(String, u16), Counter>,
}

fn main() {}
