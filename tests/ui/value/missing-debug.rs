use monsta::AppState;
use monsta::fields::*;

#[derive(Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Version(u32);

#[derive(AppState)]
struct State {
    version: Value<Version>,
}

fn main() {
    let _ = State::new().snapshot();
}
