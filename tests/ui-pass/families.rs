use monsta::{AppState, Labels, fields::*};

#[derive(Clone, PartialEq, Eq, Hash, Labels)]
#[monsta(label = "http_method")]
enum Method {
    Get,
    Post,
}

#[derive(Clone, PartialEq, Eq, Hash, Labels)]
struct Route {
    method: Method,
    path: String,
    secure: bool,
}

#[derive(AppState)]
struct State {
    #[monsta(buckets = linear_buckets(10, 10, 5))]
    sizes: Histogram,
    #[monsta(labels = ["route", "status"], max_series = 10, expire_after = 600)]
    requests: Family<(&'static str, u16), Counter>,
    #[monsta(window = "30s")]
    recent: Family<Route, SlidingWindow>,
    methods: Family<Method, Gauge>,
    #[monsta(labels = ["queue"], quantiles = [50], max_samples = 10, window = "1m")]
    waits: Family<String, SlidingPercentiles>,
    #[monsta(labels = ["shard"], buckets = [1, 2])]
    by_shard: Family<u8, Histogram>,
}

fn main() {
    let state = State::new();
    state.sizes.observe(25.0);
    state.requests.with(&("/", 200), |c| c.inc(1));
    let route = Route {
        method: Method::Post,
        path: "/x".into(),
        secure: true,
    };
    state.recent.get(&route).inc(1.0);
    state.methods.with(&Method::Get, |g| g.set(1.0));
    state.waits.with("mail", |p| p.update(1.0));
    state.by_shard.with(&3, |h| h.observe(1.5));
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(json["methods"][0]["labels"]["http_method"], "Get");
    assert_eq!(json["recent"][0]["labels"]["secure"], "true");
    assert_eq!(state.sizes.bounds(), [10.0, 20.0, 30.0, 40.0, 50.0]);
    assert_eq!(state.requests.expire_after(), Some(std::time::Duration::from_secs(600)));
    let back: StateSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back, state.snapshot());
}
