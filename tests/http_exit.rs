//! A program whose state callback hangs forever still exits: once its
//! server is stopped and `main` returns, nothing of the reporter keeps the
//! tokio runtime (or the process) alive. Each program runs as a child
//! process (this test binary, selecting the test by name), killed and
//! failed if it does not exit within a few seconds.

#![cfg(feature = "http")]

mod http_support;

use std::time::Duration;

use http_support::child::{is_child, run_child};
use monsta::StatusReporter;

const PATH: &str = "/mon/v1/state";

/// How long a child may take from its start to its exit: it serves one
/// request (waiting out a 300 ms callback timeout) and stops.
const EXIT_LIMIT: Duration = Duration::from_secs(6);

/// A callback that never returns.
fn hang() -> serde_json::Value {
    loop {
        std::thread::park();
    }
}

fn hung_reporter() -> StatusReporter {
    let mon = StatusReporter::builder()
        .callback_timeout(Duration::from_millis(300))
        .expect("positive")
        .build();
    mon.publish_with(hang);
    mon
}

/// The answer while the callback hangs: the (empty) last good state and
/// the timeout in `internal.error`.
fn assert_timed_out(reply: &http_support::Reply) {
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["state"], serde_json::json!({}), "{body}");
    let error = body["internal"]["error"].as_str().expect("internal.error");
    assert!(error.contains("did not return within 300ms"), "{error}");
}

#[tokio::main]
async fn standalone_program() {
    let mon = hung_reporter();
    let server = mon
        .start_on(http_support::listener().await)
        .expect("start_on");
    assert_timed_out(&http_support::get(server.local_addr(), PATH).await);
    server.stop().await;
}

#[test]
fn a_hung_callback_does_not_keep_the_program_from_exiting() {
    if is_child("a_hung_callback_does_not_keep_the_program_from_exiting") {
        standalone_program();
        return;
    }
    run_child(
        "a_hung_callback_does_not_keep_the_program_from_exiting",
        EXIT_LIMIT,
    );
}

#[cfg(feature = "axum")]
#[tokio::main]
async fn router_program() {
    let mon = hung_reporter();
    let app: axum::Router = axum::Router::new().merge(mon.router());
    let (addr, stop, serving) = http_support::serve_router(app).await;
    assert_timed_out(&http_support::get(addr, PATH).await);
    let _ = stop.send(());
    serving
        .await
        .expect("the server task")
        .expect("axum::serve ends cleanly");
}

#[cfg(feature = "axum")]
#[test]
fn a_hung_callback_does_not_keep_a_router_program_from_exiting() {
    if is_child("a_hung_callback_does_not_keep_a_router_program_from_exiting") {
        router_program();
        return;
    }
    run_child(
        "a_hung_callback_does_not_keep_a_router_program_from_exiting",
        EXIT_LIMIT,
    );
}
