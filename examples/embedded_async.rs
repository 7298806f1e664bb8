//! Run with
//!
//! ```not_rust
//! cargo run --example embedded_async --features axum
//! curl localhost:8000/
//! curl localhost:8000/api/v1/state
//! ```
//!
//! An async state source in a host axum app, wired into the app's lifecycle
//! the way an ASGI app does it in its lifespan: `startup` mounts the endpoint
//! and starts refreshing the state in the background, `shutdown` stops the
//! refresh after the server has drained. The source awaits (here a lock and
//! a simulated query), so it runs as a task, never on a request's critical
//! path once the refresher has warmed the cache. Ctrl-C or `SIGTERM` stops
//! it.

mod support;

use std::{sync::Arc, time::Duration};

use axum::{Router, extract::State, routing::get};
use monsta::{Refresher, StatusReporter};
use serde::Serialize;
use tokio::sync::RwLock;

/// What the app knows about itself, behind an async lock.
#[derive(Default)]
struct AppData {
    requests: u64,
    last_path: String,
}

#[derive(Serialize)]
struct Report {
    status: &'static str,
    requests: u64,
    last_path: String,
    queue_depth: u64,
}

/// What `startup` hands to `shutdown`.
struct Lifespan {
    refresher: Refresher,
}

async fn startup(
    mon: &StatusReporter,
    data: Arc<RwLock<AppData>>,
) -> Result<Lifespan, monsta::ServeError> {
    mon.publish_with_async(move || {
        let data = data.clone();
        async move {
            let queue_depth = query_queue_depth().await;
            let data = data.read().await;
            Report {
                status: "running",
                requests: data.requests,
                last_path: data.last_path.clone(),
                queue_depth,
            }
        }
    });
    Ok(Lifespan {
        refresher: mon.spawn_refresher()?,
    })
}

async fn shutdown(lifespan: Lifespan) {
    lifespan.refresher.stop().await;
}

/// Stands in for an async call to another system.
async fn query_queue_depth() -> u64 {
    tokio::time::sleep(Duration::from_millis(30)).await;
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_millis() % 17))
}

async fn root(State(data): State<Arc<RwLock<AppData>>>) -> &'static str {
    let mut data = data.write().await;
    data.requests += 1;
    data.last_path = "/".into();
    "Hello World\n"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = support::port(8000)?;
    let data = Arc::new(RwLock::new(AppData::default()));
    let mon = StatusReporter::builder()
        .endpoint("/api/v1/state")?
        // Refresh every second in the background; serve that result.
        .update_interval(Duration::from_secs(1))?
        .update_holdoff(Duration::from_secs(1))
        .build();

    let lifespan = startup(&mon, data.clone()).await?;
    let app = Router::new()
        .route("/", get(root))
        .with_state(data)
        .merge(mon.router());
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    println!(
        "app on http://{0}/, monitoring on http://{0}{1}",
        listener.local_addr()?,
        mon.endpoint()
    );
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            monsta::shutdown_signal().await;
        })
        .await;
    shutdown(lifespan).await;
    Ok(served?)
}
