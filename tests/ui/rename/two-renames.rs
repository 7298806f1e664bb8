use monsta::AppState;
use monsta::fields::*;

#[derive(AppState)]
struct State {
    #[monsta(rename = "requests")]
    calls: Counter,
    #[monsta(rename = "requests")]
    hits: Counter,
}

fn main() {
    let _ = State::new().snapshot();
}
