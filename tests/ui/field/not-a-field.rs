//! `field` on a type that is not a monsta field: one error, on the type.

use monsta::AppState;

#[derive(AppState)]
struct State {
    #[monsta(field)]
    name: String,
}

fn main() {}
