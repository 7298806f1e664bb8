use monsta::AppState;
use monsta::fields::Counter;

#[derive(AppState)]
struct State {
    #[monsta(field = true)]
    calls: Counter,
}

fn main() {}
