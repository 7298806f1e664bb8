use monsta::AppState;
use monsta::fields::{Gauge, SlidingWindow};

#[derive(AppState)]
struct State {
    x: SlidingWindow,
    x_added: Gauge,
}

fn main() {}
