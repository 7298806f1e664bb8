use monsta::AppState;
use monsta::fields::*;

#[derive(AppState)]
struct State {
    #[monsta(rename = "")]
    calls: Counter,
}

fn main() {
    let _ = State::new().snapshot();
}
