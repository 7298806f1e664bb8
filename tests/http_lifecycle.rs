//! Starting and stopping servers: on the caller's runtime, on a thread of
//! their own, blocking; ports freed on stop; a port in use is an error that
//! names the address.

#![cfg(feature = "http")]

mod http_support;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use http_support::{get, get_blocking, listener, time_to_close};
use monsta::{ServeError, StatusReporter};
use serde_json::json;
use tokio::{io::AsyncWriteExt, net::TcpStream};

const PATH: &str = "/mon/v1/state";

#[tokio::test]
async fn start_stop_and_start_again_on_the_same_port() {
    let mon = StatusReporter::new();
    mon.publish(json!({"round": 1}));
    let server = mon.start_on(listener().await).expect("start_on");
    let addr = server.local_addr();
    assert_eq!(get(addr, PATH).await.json()["state"], json!({"round": 1}));

    // An idle keep-alive connection must not hold the stop up.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /mon/v1/state HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stop took {:?}",
        started.elapsed()
    );
    assert!(
        time_to_close(&mut idle, Duration::from_secs(3))
            .await
            .is_some(),
        "stop closed the kept-alive connection"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing listens after stop"
    );

    // Same port again, through `start(addr)`; the state was kept.
    mon.publish(json!({"round": 2}));
    let again = mon.start(addr).await.expect("the port was freed");
    assert_eq!(again.local_addr(), addr);
    assert_eq!(get(addr, PATH).await.json()["state"], json!({"round": 2}));
    again.stop().await;
}

#[tokio::test]
async fn a_port_in_use_is_an_error_naming_the_address() {
    let mon = StatusReporter::new();
    let server = mon.start_on(listener().await).unwrap();
    let addr = server.local_addr();

    let other = StatusReporter::new();
    let err = other.start(addr).await.expect_err("the port is in use");
    assert!(
        matches!(&err, ServeError::Bind { addr: a, .. } if *a == addr),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&addr.to_string()), "{message}");
    assert!(message.starts_with("could not listen on "), "{message}");

    // The thread variants report it the same way.
    let err = other.start_in_thread(addr).expect_err("in use");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    // The first server is unharmed.
    assert_eq!(get(addr, PATH).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn stopping_the_reporter_stops_its_servers() {
    let mon = StatusReporter::new();
    let a = mon.start_on(listener().await).unwrap();
    // A clone shares the servers.
    let b = mon.clone().start(("127.0.0.1", 0)).await.unwrap();
    let (addr_a, addr_b) = (a.local_addr(), b.local_addr());
    assert_ne!(addr_a, addr_b);
    assert_eq!(get(addr_b, PATH).await.status, 200);
    mon.stop().await;
    assert!(a.is_stopped() && b.is_stopped());
    assert!(TcpStream::connect(addr_a).await.is_err());
    assert!(TcpStream::connect(addr_b).await.is_err());
}

#[tokio::test]
async fn stop_is_bounded_by_the_shutdown_timeout() {
    let mon = StatusReporter::builder()
        .shutdown_timeout(Duration::from_millis(300))
        .header_read_timeout(Duration::from_secs(60))
        .unwrap()
        .build();
    let server = mon.start_on(listener().await).unwrap();
    let addr = server.local_addr();
    // A client stuck in the middle of its request head.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /mon/v1/state HTTP/1.1\r\nHost:")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    server.stop().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
    assert!(
        time_to_close(&mut slow, Duration::from_secs(3))
            .await
            .is_some()
    );
}

#[test]
fn start_in_thread_without_a_runtime() {
    let mon = StatusReporter::new();
    mon.publish(json!({"thread": true}));
    let server = mon.start_in_thread("127.0.0.1:0").expect("start_in_thread");
    let addr = server.local_addr();
    let reply = get_blocking(addr, PATH).expect("GET");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["state"], json!({"thread": true}));
    let started = Instant::now();
    server.stop();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        std::net::TcpListener::bind(addr).is_ok(),
        "the port is free after stop"
    );
}

/// An ephemeral port that was free a moment ago, for the APIs that take an
/// address rather than a listener.
fn free_port() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap()
}

#[test]
fn start_blocking_until_stopped_from_another_thread() {
    let mon = StatusReporter::new();
    mon.publish(json!({"blocking": true}));
    let addr = free_port();
    let runner = {
        let mon = mon.clone();
        std::thread::spawn(move || mon.start_blocking(addr))
    };
    let reply = first_reply(addr, &runner);
    assert_eq!(reply.json()["state"], json!({"blocking": true}));
    mon.stop_blocking();
    let result = runner.join().expect("no panic");
    assert!(result.is_ok(), "{result:?}");
    assert!(std::net::TcpListener::bind(addr).is_ok(), "port freed");
}

#[test]
fn start_blocking_until_returns_when_its_signal_completes() {
    let mon = StatusReporter::builder()
        .shutdown_timeout(Duration::from_secs(1))
        .build();
    mon.publish(json!({"blocking": "until"}));
    let addr = free_port();
    let (signal, signalled) = tokio::sync::oneshot::channel::<()>();
    let (done, finished) = std::sync::mpsc::channel();
    let runner = {
        let mon = mon.clone();
        std::thread::spawn(move || {
            let result = mon.start_blocking_until(addr, async {
                let _ = signalled.await;
            });
            let _ = done.send(());
            result
        })
    };
    let reply = first_reply(addr, &runner);
    assert_eq!(reply.json()["state"], json!({"blocking": "until"}));
    // An idle kept-alive connection does not hold the return up.
    let idle = std::net::TcpStream::connect(addr).unwrap();
    let signalled_at = Instant::now();
    signal.send(()).unwrap();
    finished
        .recv_timeout(Duration::from_secs(5))
        .expect("start_blocking_until returned after its signal");
    let took = signalled_at.elapsed();
    assert!(took < Duration::from_secs(3), "returned after {took:?}");
    let result = runner.join().expect("no panic");
    assert!(result.is_ok(), "{result:?}");
    assert!(std::net::TcpListener::bind(addr).is_ok(), "port freed");
    drop(idle);
}

#[test]
fn start_in_thread_until_stops_on_its_signal() {
    let mon = StatusReporter::new();
    let (signal, signalled) = tokio::sync::oneshot::channel::<()>();
    let server = mon
        .start_in_thread_until("127.0.0.1:0", async {
            let _ = signalled.await;
        })
        .expect("start_in_thread_until");
    let addr = server.local_addr();
    assert_eq!(get_blocking(addr, PATH).unwrap().status, 200);
    signal.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.is_stopped() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(server.is_stopped(), "stopped by its signal");
    assert!(get_blocking(addr, PATH).is_err(), "the port is closed");
    server.stop();
}

#[tokio::test]
async fn start_blocking_inside_a_runtime_is_an_error() {
    let mon = StatusReporter::new();
    let err = mon
        .start_blocking("127.0.0.1:0")
        .expect_err("inside a runtime");
    assert!(matches!(err, ServeError::InsideRuntime), "{err}");
}

#[test]
fn start_on_outside_a_runtime_is_an_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime.block_on(listener());
    // The listener is registered with `runtime`; using it from outside must
    // not panic, only fail.
    let mon = StatusReporter::new();
    let err = mon.start_on(listener).expect_err("no runtime entered here");
    assert!(matches!(err, ServeError::NoRuntime), "{err}");
}

#[tokio::test]
async fn a_server_with_an_update_interval_refreshes_in_the_background() {
    use std::sync::atomic::Ordering;
    let (mon, calls) = http_support::counting_async_reporter(Duration::from_millis(40));
    let server = mon.start_on(listener().await).unwrap();
    let refreshed = http_support::wait_for(Duration::from_secs(5), || {
        let n = calls.load(Ordering::SeqCst);
        async move { (n >= 3).then_some(n) }
    })
    .await;
    assert!(
        refreshed.is_some(),
        "no background refresh without requests"
    );
    server.stop().await;
    let after = calls.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        after,
        "refresh ends with the server"
    );
}

/// The first answer of the blocking server `runner` runs on `addr`, retried
/// for at most 10 s while it starts.
fn first_reply<T>(
    addr: std::net::SocketAddr,
    runner: &std::thread::JoinHandle<T>,
) -> http_support::Reply {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match get_blocking(addr, PATH) {
            Ok(reply) => return reply,
            Err(_) if Instant::now() < deadline && !runner.is_finished() => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the blocking server never answered: {e}"),
        }
    }
}
