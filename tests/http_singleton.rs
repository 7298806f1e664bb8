//! The process-wide reporter: `monsta::publish`, `publish_with`,
//! `publish_state`, `start`, `stop`, `reset`. One test, since they share one
//! global.

#![cfg(feature = "http")]

mod http_support;

use std::time::Duration;

use http_support::get_blocking;
use monsta::ServeError;
use serde_json::json;

const PATH: &str = "/mon/v1/state";

#[test]
fn the_singleton_publishes_starts_stops_and_resets() {
    // Published before start, kept by start.
    monsta::publish(json!({"status": "starting"}));
    let addr = monsta::start("127.0.0.1:0").expect("start");
    let body = get_blocking(addr, PATH).unwrap().json();
    assert_eq!(body["state"], json!({"status": "starting"}));

    let err = monsta::start("127.0.0.1:0").expect_err("already running");
    assert!(
        matches!(err, ServeError::AlreadyRunning(a) if a == addr),
        "{err}"
    );

    // The default holdoff is 5 s: publishing ends it, so each change shows.
    monsta::publish(json!({"status": "running", "requests": 42}));
    assert_eq!(
        get_blocking(addr, PATH).unwrap().json()["state"],
        json!({"status": "running", "requests": 42})
    );
    monsta::publish_with(|| json!({"from": "callback"}));
    assert_eq!(
        get_blocking(addr, PATH).unwrap().json()["state"],
        json!({"from": "callback"})
    );
    assert_eq!(monsta::reporter().endpoint(), PATH);

    monsta::reset();
    assert_eq!(get_blocking(addr, PATH).unwrap().json()["state"], json!({}));
    assert!(monsta::reporter().uptime() < Duration::from_secs(5));

    monsta::stop();
    assert!(get_blocking(addr, PATH).is_err(), "stopped");
    monsta::stop(); // stopping twice is harmless

    // It starts again, on the same port.
    monsta::publish(json!({"again": true}));
    let again = monsta::start(addr).expect("restart");
    assert_eq!(again, addr);
    assert_eq!(
        get_blocking(addr, PATH).unwrap().json()["state"],
        json!({"again": true})
    );
    monsta::stop();

    // With a signal: it stops when the signal completes, and starts again.
    let (signal, signalled) = tokio::sync::oneshot::channel::<()>();
    let addr = monsta::start_until("127.0.0.1:0", async {
        let _ = signalled.await;
    })
    .expect("start_until");
    assert_eq!(get_blocking(addr, PATH).unwrap().status, 200);
    signal.send(()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while get_blocking(addr, PATH).is_ok() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(get_blocking(addr, PATH).is_err(), "stopped by its signal");
    // The port is freed first, then the server finishes stopping.
    let again = loop {
        match monsta::start(addr) {
            Err(ServeError::AlreadyRunning(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other,
        }
    };
    assert_eq!(
        again.expect("a signal-stopped singleton starts again"),
        addr
    );
    monsta::stop();
}
