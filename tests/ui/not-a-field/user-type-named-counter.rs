use monsta::AppState;

/// A type of the user's own that happens to share a monsta field's name.
#[derive(Default)]
struct Counter(u64);

#[derive(AppState)]
struct State {
    calls: Counter,
}

fn main() {
    let _ = State::new().snapshot();
}
