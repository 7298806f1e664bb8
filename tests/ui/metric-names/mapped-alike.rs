use monsta::AppState;
use monsta::fields::Gauge;

#[derive(AppState)]
struct State {
    a_b: Gauge,
    #[monsta(rename = "a.b")]
    dotted: Gauge,
}

fn main() {}
