use monsta::{AppState, fields::{Counter, Family}};

#[derive(AppState)]
struct State {
    #[monsta(labels = ["route"], window = "60s")]
    requests: Family<String, Counter>,
}

fn main() {}
