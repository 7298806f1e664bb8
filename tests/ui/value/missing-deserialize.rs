use monsta::AppState;
use monsta::fields::*;

#[derive(Default, Clone, Debug, PartialEq, serde::Serialize)]
struct Version(u32);

#[derive(AppState)]
struct State {
    version: Value<Version>,
}

fn main() {
    let _ = State::new().snapshot();
}
