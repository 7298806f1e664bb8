use monsta::AppState;
use monsta::fields::Gauge;

// With a prefix, `9lives` is `app__9lives` and `_9lives` is too.
#[derive(AppState)]
#[monsta(prefix = "app")]
struct State {
    #[monsta(rename = "9lives")]
    nine: Gauge,
    #[monsta(rename = "_9lives")]
    other: Gauge,
}

fn main() {}
