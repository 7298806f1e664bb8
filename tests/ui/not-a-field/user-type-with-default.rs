use monsta::AppState;

/// A type of the user's own named like a monsta field, with a `default`.
#[derive(Default)]
struct Gauge(f64);

impl Gauge {
    fn with_value(value: f64) -> Self {
        Gauge(value)
    }
}

#[derive(AppState)]
struct State {
    #[monsta(default = 1.5)]
    level: Gauge,
}

fn main() {
    let _ = State::new().snapshot();
}
