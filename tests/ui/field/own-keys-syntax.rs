//! Keys of a field type's own are literals, each given once; without
//! `field`, a key that isn't monsta's is unknown as before.

use monsta::AppState;
use monsta::fields::Counter;

#[derive(AppState)]
struct State {
    #[monsta(field, limit = 5, limit = 6)]
    twice: Counter,
    #[monsta(limit = 5, field)]
    after_field: Counter,
    #[monsta(field, limit)]
    no_value: Counter,
    #[monsta(field, limit = 2 + 3)]
    not_a_literal: Counter,
    #[monsta(limit = 5)]
    not_a_field: Counter,
}

fn main() {}
