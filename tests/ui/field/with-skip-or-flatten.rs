use monsta::AppState;
use monsta::fields::Counter;

#[derive(AppState)]
struct Child {
    calls: Counter,
}

#[derive(AppState)]
struct State {
    #[monsta(skip, field)]
    skipped: Counter,
    #[monsta(flatten, field)]
    child: Child,
}

fn main() {}
