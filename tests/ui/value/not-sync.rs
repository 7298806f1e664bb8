use std::cell::Cell;

use monsta::AppState;
use monsta::fields::*;

#[derive(AppState)]
struct State {
    retries: Value<Cell<u32>>,
}

fn main() {
    let _ = State::new().snapshot();
}
