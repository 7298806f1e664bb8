//! Run with
//!
//! ```not_rust
//! cargo run --example embedded --features axum
//! curl localhost:8000/
//! curl localhost:8000/api/v1/monitoring
//! ```
//!
//! The endpoint mounted in a host axum app, next to the app's own routes, on
//! the app's own port (8000, or the first argument / `MONSTA_PORT`). The state
//! comes from a callback that reads the app's counters. Ctrl-C or `SIGTERM`
//! stops it.

mod support;

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::{Router, routing::get};
use monsta::StatusReporter;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = support::port(8000)?;

    let requests = Arc::new(AtomicU64::new(0));
    let mon = StatusReporter::builder()
        .endpoint("/api/v1/monitoring")?
        .build();
    let counted = requests.clone();
    mon.publish_with(
        move || json!({"status": "running", "requests": counted.load(Ordering::Relaxed)}),
    );

    let app = Router::new()
        .route(
            "/",
            get(move || async move {
                requests.fetch_add(1, Ordering::Relaxed);
                "Hello World\n"
            }),
        )
        .merge(mon.router());

    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    println!(
        "app on http://{0}/, monitoring on http://{0}{1}",
        listener.local_addr()?,
        mon.endpoint()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            monsta::shutdown_signal().await;
        })
        .await?;
    Ok(())
}
