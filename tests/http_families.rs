//! A state with families and histograms behind the reporter's `/metrics`,
//! over real TCP: both formats pass promtool and Python's parsers, and the
//! labelled series and buckets carry the JSON endpoint's values.

#![cfg(all(feature = "prometheus", feature = "http", feature = "derive"))]

mod http_support;
#[path = "../monsta-prometheus/tests/common/mod.rs"]
mod prom;

use std::{sync::Arc, time::Duration};

use http_support::{exchange, get, listener, parse, request};
use monsta::fields::*;
use monsta::{AppState, StatusReporter};

#[derive(AppState)]
#[monsta(prefix = "shop")]
struct Shop {
    /// Requests by route and status.
    #[monsta(labels = ["route", "status"])]
    requests: Family<(String, u16), Counter>,
    /// Checkout latency.
    #[monsta(unit = "seconds", buckets = [0.1, 0.5])]
    checkout: Histogram,
    /// Latency by route.
    #[monsta(labels = ["route"], unit = "seconds", buckets = [0.1, 1])]
    latency: Family<String, Histogram>,
    /// Build per region.
    #[monsta(labels = ["region"])]
    build: Family<&'static str, Value<String>>,
    /// Whether each region is up.
    #[monsta(labels = ["region"])]
    up: Family<&'static str, Value<bool>>,
}

#[tokio::test]
async fn metrics_with_families_and_histograms_parse_and_match_the_json() {
    let state = Arc::new(Shop::new());
    state.requests.with(&("/cart", 200), |c| c.inc(4));
    state.requests.with(&("/pay \"now\"\n", 500), |c| c.inc(1));
    state.checkout.observe(0.2);
    state.checkout.observe(0.7);
    state.latency.with("/cart", |h| h.observe(0.05));
    state.build.with(&"eu", |v| v.set("1.2.3".into()));
    state.up.with(&"eu", |v| v.set(true));
    let mon = StatusReporter::builder()
        .update_holdoff(Duration::from_secs(3600))
        .build();
    mon.publish_state(state.clone());
    let server = mon.start_on(listener().await).expect("start_on");
    let addr = server.local_addr();

    let json = get(addr, "/mon/v1/state").await.json();
    assert_eq!(json["state"]["requests"][0]["value"], 4);
    assert_eq!(json["state"]["checkout"]["count"], 2);

    let classic = request(addr, "GET", "/metrics").await.text();
    let raw = exchange(
        addr,
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: application/openmetrics-text;version=1.0.0\r\nConnection: close\r\n\r\n",
    )
    .await;
    let om = parse(&raw).text();
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(
        classic.contains("shop_checkout_seconds_bucket{le=\"0.5\"} 1\n"),
        "{classic}"
    );
    assert!(
        om.contains("shop_latency_seconds_bucket{le=\"+Inf\",route=\"/cart\"} 1\n"),
        "{om}"
    );
    if prom::have_promtool() {
        prom::assert_promtool_clean(&classic);
    }
    if prom::have_python() {
        for (format, text) in [("text", &classic), ("openmetrics", &om)] {
            let samples = prom::samples(&prom::python_parse(text, format));
            let key = prom::key;
            for (name, labels, value) in [
                (
                    "shop_requests_total",
                    &[("route", "/cart"), ("status", "200")][..],
                    4.0,
                ),
                (
                    "shop_requests_total",
                    &[("route", "/pay \"now\"\n"), ("status", "500")],
                    1.0,
                ),
                ("shop_checkout_seconds_bucket", &[("le", "0.1")], 0.0),
                ("shop_checkout_seconds_bucket", &[("le", "0.5")], 1.0),
                ("shop_checkout_seconds_bucket", &[("le", "+Inf")], 2.0),
                ("shop_checkout_seconds_count", &[], 2.0),
                (
                    "shop_latency_seconds_bucket",
                    &[("le", "0.1"), ("route", "/cart")],
                    1.0,
                ),
                ("shop_latency_seconds_count", &[("route", "/cart")], 1.0),
                (
                    "shop_build_info",
                    &[("region", "eu"), ("value", "1.2.3")],
                    1.0,
                ),
                ("shop_up", &[("region", "eu")], 1.0),
            ] {
                assert_eq!(
                    samples.get(&key(name, labels)),
                    Some(&value),
                    "{format}: {name}{labels:?} in {samples:#?}"
                );
            }
        }
    }
    server.stop().await;
}
