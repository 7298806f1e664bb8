//! Requests never cost a thread each: many concurrent requests on a state
//! callback that hangs, on a state whose lock a transaction holds, and 200
//! concurrent `/metrics` scrapes, keep the process's thread count (from
//! `/proc/self/status`) within a few threads of what it was before. Each
//! scenario runs as a child process of its own (this test binary,
//! selecting the test by name), so that no other test's threads count, and
//! is killed and failed if it does not finish in time.

#![cfg(all(
    feature = "http",
    feature = "prometheus",
    feature = "derive",
    target_os = "linux"
))]

mod http_support;

use std::{
    net::SocketAddr,
    sync::{Arc, mpsc},
    thread,
    time::{Duration, Instant},
};

use http_support::{
    Reply,
    child::{ThreadPeak, as_child, threads},
    get,
};
use monsta::{AppState, ServerHandle, StatusReporter, fields::Counter};

const PATH: &str = "/mon/v1/state";

/// How long a child may run.
const CHILD_LIMIT: Duration = Duration::from_secs(40);

/// Threads a burst may add: the sampler, and a little slack for the
/// runtime (never one per request).
const SLACK: usize = 4;

/// Two counters that transactions keep equal.
#[derive(AppState)]
#[monsta(prefix = "t")]
pub struct Pair {
    /// Left.
    left: Counter,
    /// Right.
    right: Counter,
}

/// A transaction on `state` held open on a thread of its own until the
/// returned sender is used or dropped (or 30 s pass).
fn hold_lock(state: &Arc<Pair>) -> (mpsc::Sender<()>, thread::JoinHandle<()>) {
    let (opened, wait_opened) = mpsc::channel();
    let (release, wait_release) = mpsc::channel::<()>();
    let state = Arc::clone(state);
    let holder = thread::spawn(move || {
        state.transaction(|tx| {
            tx.left.inc(1);
            opened.send(()).expect("the test waits");
            let _ = wait_release.recv_timeout(Duration::from_secs(30));
            tx.right.inc(1);
        });
    });
    wait_opened.recv().expect("the transaction opens");
    (release, holder)
}

/// `n` concurrent GETs of `path`.
async fn burst(addr: SocketAddr, path: &'static str, n: usize) -> Vec<Reply> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        set.spawn(async move { get(addr, path).await });
    }
    let mut replies = Vec::with_capacity(n);
    while let Some(reply) = set.join_next().await {
        replies.push(reply.expect("client task"));
    }
    replies
}

async fn serve(mon: &StatusReporter) -> ServerHandle {
    mon.start_on(http_support::listener().await)
        .expect("start_on")
}

#[track_caller]
fn assert_bounded(what: &str, before: usize, peak: usize) {
    eprintln!("{what}: {before} threads before, at most {peak} during");
    assert!(
        peak <= before + SLACK,
        "{what}: {before} threads before, {peak} during: a thread per request"
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn hung_and_locked_program() {
    let timeout = Duration::from_millis(300);
    // A callback that never returns.
    let hung = StatusReporter::builder()
        .update_holdoff(Duration::ZERO)
        .callback_timeout(timeout)
        .expect("positive")
        // The bursts come from one address, 127.0.0.1.
        .max_connections_per_address(1024)
        .expect("positive")
        .build();
    hung.publish_with(|| -> serde_json::Value {
        loop {
            thread::park();
        }
    });
    // A state locked by a transaction for the whole scenario.
    let state = Arc::new(Pair::new());
    let locked = StatusReporter::builder()
        .update_holdoff(Duration::ZERO)
        .callback_timeout(timeout)
        .expect("positive")
        // The bursts come from one address, 127.0.0.1.
        .max_connections_per_address(1024)
        .expect("positive")
        .build();
    locked.publish_state(Arc::clone(&state));
    let (hung_server, locked_server) = (serve(&hung).await, serve(&locked).await);
    let (hung_addr, locked_addr) = (hung_server.local_addr(), locked_server.local_addr());
    let (release, holder) = hold_lock(&state);

    // Whatever the reporters start once, they start now.
    for (addr, path) in [
        (hung_addr, PATH),
        (hung_addr, "/metrics"),
        (locked_addr, PATH),
        (locked_addr, "/metrics"),
    ] {
        let _ = get(addr, path).await;
    }
    let before = threads();
    let peak = ThreadPeak::start();
    let started = Instant::now();
    let (json, metrics, locked_json, locked_metrics) = tokio::join!(
        burst(hung_addr, PATH, 100),
        burst(hung_addr, "/metrics", 100),
        burst(locked_addr, PATH, 100),
        burst(locked_addr, "/metrics", 100),
    );
    let took = started.elapsed();
    let peak = peak.peak();
    for reply in json.iter().chain(&locked_json) {
        assert_eq!(reply.status, 200);
        let body = reply.json();
        let error = body["internal"]["error"].as_str().expect("internal.error");
        assert!(error.contains("did not return within 300ms"), "{error}");
    }
    for reply in &metrics {
        // A callback has no metrics but the uptime: nothing to wait for.
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    for reply in &locked_metrics {
        assert_eq!(reply.status, 503, "{}", reply.text());
    }
    assert!(took < Duration::from_secs(10), "400 requests took {took:?}");
    assert_bounded(
        "400 requests on a hung callback and a locked state",
        before,
        peak,
    );

    let _ = release.send(());
    holder.join().expect("the holder");
    hung_server.stop().await;
    locked_server.stop().await;
}

#[test]
fn requests_on_a_hung_callback_or_a_locked_state_take_no_thread_each() {
    as_child(
        "requests_on_a_hung_callback_or_a_locked_state_take_no_thread_each",
        CHILD_LIMIT,
        hung_and_locked_program,
    );
}

/// The values of `t_left_total` and `t_right_total` in a scrape.
fn left_right(text: &str) -> (u64, u64) {
    (
        http_support::sample(text, "t_left_total"),
        http_support::sample(text, "t_right_total"),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_program() {
    let state = Arc::new(Pair::new());
    // The bursts come from one address, 127.0.0.1.
    let mon = StatusReporter::builder()
        .max_connections_per_address(1024)
        .expect("positive")
        .build();
    mon.publish_state(Arc::clone(&state));
    let server = serve(&mon).await;
    let addr = server.local_addr();
    assert_eq!(get(addr, "/metrics").await.status, 200);

    // 200 scrapes at once.
    let before = threads();
    let peak = ThreadPeak::start();
    let replies = burst(addr, "/metrics", 200).await;
    let peak = peak.peak();
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(left_right(&reply.text()), (0, 0));
    }
    assert_bounded("200 concurrent scrapes", before, peak);

    // 100 scrapes while a transaction holds the lock for 600 ms (within
    // the callback timeout): they wait for it, and see all of it.
    let (release, holder) = hold_lock(&state);
    let before = threads();
    let peak = ThreadPeak::start();
    let scrapes = tokio::spawn(burst(addr, "/metrics", 100));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        !scrapes.is_finished(),
        "the scrapes did not wait for the lock"
    );
    let _ = release.send(());
    let replies = scrapes.await.expect("the scrapes");
    let peak = peak.peak();
    holder.join().expect("the holder");
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(left_right(&reply.text()), (1, 1), "half a transaction");
    }
    assert_bounded("100 scrapes of a locked state", before, peak);
    server.stop().await;
}

#[test]
fn concurrent_scrapes_take_no_thread_each() {
    as_child(
        "concurrent_scrapes_take_no_thread_each",
        CHILD_LIMIT,
        scrapes_program,
    );
}
