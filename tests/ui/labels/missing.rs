use monsta::{AppState, fields::{Counter, Family}};

#[derive(AppState)]
struct State {
    requests: Family<(String, u16), Counter>,
}

fn main() {}
