use monsta::AppState;
use monsta::fields::Gauge;

#[derive(AppState)]
#[monsta(prefix = "")]
struct State {
    process_uptime_seconds: Gauge,
}

fn main() {}
