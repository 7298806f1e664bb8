use monsta::{AppState, fields::{Family, Histogram}};

#[derive(AppState)]
struct State {
    #[monsta(labels = ["le", "9route"])]
    latency: Family<(String, String), Histogram>,
}

fn main() {}
