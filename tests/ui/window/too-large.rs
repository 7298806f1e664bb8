use monsta::AppState;
use monsta::fields::*;

#[derive(AppState)]
struct State {
    #[monsta(window = "100000000000h")]
    rate: SlidingWindow,
}

fn main() {
    let _ = State::new().snapshot();
}
