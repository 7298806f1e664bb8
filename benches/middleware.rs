//! The request middleware's cost per request: a service that answers at
//! once, called with `oneshot`, without and with the `RequestMonitor` layer
//! (with its `monsta.request` span, with a subscriber that keeps span
//! trees, and without the span), on a current-thread
//! tokio runtime; no request is slow, so nothing is captured.
//!
//! Run with `cargo bench -p monsta-bench --bench middleware`.

use std::{convert::Infallible, hint::black_box, sync::Arc};

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::Full;
use hyper::{
    Request, Response,
    header::{self, HeaderName, HeaderValue},
};
use monsta::http::{RequestMetrics, RequestMonitor, SpanTreeLayer};
use tower::{Layer, Service, ServiceExt, service_fn};
use tracing_subscriber::layer::SubscriberExt;

async fn handler(_: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

/// A request with two of the headers the layer captures, made as hyper's
/// HTTP/1.1 parser makes one: the values are slices of the shared read
/// buffer (cloning one is a reference count), a non-standard name a copy.
fn request() -> Request<Full<Bytes>> {
    let mut read = BytesMut::from(&b"benchabc"[..]);
    let head = read.split_to(8).freeze();
    let value = |range| HeaderValue::from_maybe_shared(head.slice(range)).expect("a valid value");
    Request::builder()
        .uri("/users/42")
        .header(header::USER_AGENT, value(0..5))
        .header(
            HeaderName::from_bytes(b"x-request-id").expect("a valid name"),
            value(5..8),
        )
        .body(Full::new(Bytes::new()))
        .expect("a valid request")
}

fn run<S>(c: &mut Criterion, name: &str, service: S)
where
    S: Service<Request<Full<Bytes>>> + Clone,
    S::Error: std::fmt::Debug,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    c.bench_function(name, |b| {
        b.iter(|| {
            let svc = service.clone();
            black_box(rt.block_on(svc.oneshot(request())).expect("a response"));
        })
    });
}

fn middleware(c: &mut Criterion) {
    let bare = service_fn(handler);
    run(c, "middleware/without_layer", bare);

    let metrics = Arc::new(RequestMetrics::new());
    let monitor = RequestMonitor::builder()
        .state(metrics.clone())
        .route("/users/*", "/users/:id")
        .build()
        .expect("valid settings");
    run(
        c,
        "middleware/with_layer",
        monitor.layer(service_fn(handler)),
    );

    // The same with a subscriber that keeps span trees: the bookkeeping
    // of the `monsta.request` span every request opens.
    let subscriber = tracing_subscriber::registry().with(SpanTreeLayer::new());
    tracing::subscriber::with_default(subscriber, || {
        run(
            c,
            "middleware/with_layer_and_span_tree_subscriber",
            monitor.layer(service_fn(handler)),
        );
    });

    let monitor = RequestMonitor::builder()
        .state(metrics)
        .route("/users/*", "/users/:id")
        .span_tree(false)
        .build()
        .expect("valid settings");
    run(
        c,
        "middleware/with_layer_no_span",
        monitor.layer(service_fn(handler)),
    );
}

criterion_group!(benches, middleware);
criterion_main!(benches);
