use monsta::AppState;

#[derive(AppState)]
struct State {
    extra: serde_json::Value,
}

fn main() {
    let _ = State::new().snapshot();
}
