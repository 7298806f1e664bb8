use monsta::AppState;
use monsta::fields::Gauge;

#[derive(AppState)]
struct State {
    process_uptime_seconds: Gauge,
}

fn main() {}
