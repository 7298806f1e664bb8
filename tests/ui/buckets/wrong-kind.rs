use monsta::{AppState, fields::Counter};

#[derive(AppState)]
struct State {
    #[monsta(buckets = [1, 2])]
    calls: Counter,
}

fn main() {}
