//! A field type of one's own takes only the keys every field takes.

use monsta::AppState;
use monsta::fields::Counter;

#[derive(AppState)]
struct State {
    #[monsta(field, window = "60s")]
    windowed: Counter,
    #[monsta(field, default = 1)]
    started: Counter,
    #[monsta(field, rename = "ok", help = "Fine.", unit = "bytes")]
    fine: Counter,
}

fn main() {}
