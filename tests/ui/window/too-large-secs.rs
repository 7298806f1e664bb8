use monsta::AppState;
use monsta::fields::*;

#[derive(AppState)]
struct State {
    #[monsta(window = 1e12)]
    rate: SampledWindow,
    #[monsta(window = 1e30)]
    latency: SlidingPercentiles,
}

fn main() {
    let _ = State::new().snapshot();
}
