//! The probe: a blocked current-thread runtime shows as lag, a blocked
//! worker of a multi-thread runtime as a stall; callbacks that panic or
//! hang stop nothing; start, stop, a runtime on another thread.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use monsta_core::fields::{Histogram, RunningStats};
use monsta_runtime::{MonitorError, RuntimeMonitor, RuntimeSample};

const INTERVAL: Duration = Duration::from_millis(100);

/// The samples received until `until` returns true or 10 s pass.
fn collect(
    rx: &mpsc::Receiver<RuntimeSample>,
    mut until: impl FnMut(&[RuntimeSample]) -> bool,
) -> Vec<RuntimeSample> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while !until(&got) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(s) => got.push(s),
            Err(_) => panic!("samples stopped coming: {got:#?}"),
        }
    }
    got
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn a_blocked_current_thread_runtime_shows_as_lag() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = mpsc::sync_channel(1000);
    let monitor = rt.block_on(async {
        RuntimeMonitor::builder()
            .interval(INTERVAL)
            .callback(move |s| {
                let _ = tx.try_send(s.clone());
            })
            .start()
            .unwrap()
    });
    let done = Arc::new(AtomicU64::new(0));
    let watcher = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            // Three normal samples, the block, then five more samples.
            let before = collect(&rx, |got| got.len() >= 3);
            done.store(1, Ordering::SeqCst);
            let after = collect(&rx, |got| {
                got.iter()
                    .position(|s| s.lag >= Duration::from_millis(250))
                    .is_some_and(|i| got.len() >= i + 6)
            });
            done.store(2, Ordering::SeqCst);
            (before, after)
        })
    };
    rt.block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while done.load(Ordering::SeqCst) == 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The task blocks the runtime's only thread.
        tokio::spawn(async { std::thread::sleep(Duration::from_millis(300)) })
            .await
            .unwrap();
        while done.load(Ordering::SeqCst) < 2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let (_before, after) = watcher.join().unwrap();
    let i = after
        .iter()
        .position(|s| s.lag >= Duration::from_millis(250))
        .expect("a sample with the block's lag");
    assert!(after[i].lag < Duration::from_secs(2), "{:?}", after[i].lag);
    let next: Vec<Duration> = after[i + 1..i + 6].iter().map(|s| s.lag).collect();
    assert!(
        median(next.clone()) < Duration::from_millis(50),
        "the five samples after the block: {next:?}"
    );
    assert_eq!(after[i].workers, 1);
    // Tokio's unstable metrics, only where they exist.
    assert_eq!(after[i].unstable.is_some(), cfg!(tokio_unstable));
    if let Some(u) = &after[i].unstable {
        // At least the blocking task was spawned, and the one worker polled.
        assert!(u.spawned_tasks >= 1, "{u:?}");
        assert_eq!(u.worker_polls.len(), 1, "{u:?}");
        assert!(u.worker_polls[0] > 0, "{u:?}");
    }
    assert!(monitor.report().max_lag_1m_ms >= 250.0);
    monitor.stop();
    assert!(!monitor.is_running());
}

#[test]
fn a_blocked_worker_of_a_multi_thread_runtime_shows_as_a_stall() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = mpsc::sync_channel(1000);
    let monitor = rt.block_on(async {
        RuntimeMonitor::builder()
            .interval(INTERVAL)
            .callback(move |s| {
                let _ = tx.try_send(s.clone());
            })
            .start()
            .unwrap()
    });
    let before = collect(&rx, |got| got.len() >= 3);
    assert!(before.iter().all(|s| s.workers == 2));
    assert!(
        before.iter().all(|s| s.stall.is_zero()),
        "no stall before the block: {before:#?}"
    );
    let blocker = rt.spawn(async { std::thread::sleep(Duration::from_millis(300)) });
    let after = collect(&rx, |got| {
        got.iter()
            .position(|s| s.stall >= Duration::from_millis(250))
            .is_some_and(|i| got.len() >= i + 2)
    });
    let stalled = after
        .iter()
        .find(|s| s.stall >= Duration::from_millis(250))
        .expect("the stall");
    assert!(
        stalled.stall < Duration::from_secs(2),
        "{:?}",
        stalled.stall
    );
    assert_eq!(
        stalled
            .worker
            .iter()
            .filter(|w| w.stall >= Duration::from_millis(250))
            .count(),
        1,
        "one worker stalled: {stalled:#?}"
    );
    // The other worker kept the timer running: no lag like the block's.
    assert!(
        after.iter().all(|s| s.lag < Duration::from_millis(250)),
        "{after:#?}"
    );
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), blocker).await })
        .unwrap()
        .unwrap();
    assert!(monitor.report().max_stall_1m_ms >= 250.0);
    monitor.stop();
}

#[test]
fn panicking_and_hanging_callbacks_stop_nothing() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let calls = Arc::new(AtomicU64::new(0));
    let (release, hang) = mpsc::channel::<()>();
    let hang = std::sync::Mutex::new(hang);
    let async_calls = Arc::new(AtomicU64::new(0));
    let hung = Arc::new(AtomicBool::new(false));
    let monitor = rt.block_on(async {
        let calls = Arc::clone(&calls);
        let hung_in = Arc::clone(&hung);
        let async_calls = Arc::clone(&async_calls);
        RuntimeMonitor::builder()
            .interval(Duration::from_millis(10))
            .callback_timeout(Duration::from_millis(100))
            .callback_async(move |_| {
                let n = async_calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        // The first two never finish: cut off at the timeout.
                        std::future::pending::<()>().await;
                    }
                }
            })
            .callback(move |s| {
                calls.fetch_add(1, Ordering::SeqCst);
                if s.seq.is_multiple_of(2) {
                    panic!("a callback panics");
                }
            })
            .callback(move |_| {
                if !hung_in.swap(true, Ordering::SeqCst) {
                    // The first call hangs until the test ends.
                    let _ = hang.lock().unwrap().recv_timeout(Duration::from_secs(30));
                }
            })
            .start()
            .unwrap()
    });
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), async {
            // A panic is counted once it has unwound, which (with a
            // backtrace to print) can take longer than the samples do.
            while monitor.samples() < 60
                || !hung.load(Ordering::SeqCst)
                || monitor.report().callbacks_timed_out < 3
                || monitor.report().callbacks_panicked < 1
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "within 10 s: 60 samples, the hang, 3 timeouts and a panic; got {:?}",
                monitor.report()
            )
        });
    });
    let r = monitor.report();
    assert!(r.callbacks_panicked >= 1, "{r:?}");
    // The two async calls that never finish, and the sync one that hangs.
    assert!(r.callbacks_timed_out >= 3, "{r:?}");
    // Callbacks went on after the hang, on a new thread.
    let seen = calls.load(Ordering::SeqCst);
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), async {
            while calls.load(Ordering::SeqCst) <= seen + 3 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("callbacks go on");
    });
    drop(release);
    monitor.stop();
}

#[test]
fn lag_is_recorded_into_fields() {
    struct State {
        lag: Histogram,
        stats: RunningStats,
    }
    let state = Arc::new(State {
        lag: Histogram::new(&[0.001, 0.01, 0.1, 1.0]).unwrap(),
        stats: RunningStats::new(),
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let monitor = RuntimeMonitor::builder()
            .interval(Duration::from_millis(10))
            .record_lag(Arc::clone(&state), |s| &s.lag)
            .record_lag(Arc::clone(&state), |s| &s.stats)
            .start()
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), async {
            while state.stats.get().n < 5 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap();
        monitor.stop();
    });
    assert!(state.lag.get().count >= 5);
    assert!(state.stats.get().mean < 1.0);
}

#[test]
fn watches_a_runtime_on_another_thread_and_ends_with_it() {
    let (htx, hrx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        htx.send(rt.handle().clone()).unwrap();
        rt.block_on(async {
            let _ = tokio::time::timeout(Duration::from_secs(20), stop_rx).await;
        });
        // The runtime is dropped here: its tasks, the probe among them, end.
    });
    let handle = hrx.recv_timeout(Duration::from_secs(10)).unwrap();
    // Outside any runtime, on this thread.
    assert!(matches!(
        RuntimeMonitor::builder().build(),
        Err(MonitorError::NoRuntime)
    ));
    assert!(matches!(
        RuntimeMonitor::builder()
            .handle(handle.clone())
            .interval(Duration::ZERO)
            .build(),
        Err(MonitorError::ZeroDuration { .. })
    ));
    let monitor = RuntimeMonitor::builder()
        .handle(handle)
        .interval(Duration::from_millis(10))
        .start()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while monitor.samples() < 3 {
        assert!(Instant::now() < deadline, "no samples");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Stop and start again.
    monitor.stop();
    assert!(!monitor.is_running());
    let n = monitor.samples();
    std::thread::sleep(Duration::from_millis(50));
    assert!(monitor.samples() <= n + 1);
    monitor.start();
    while monitor.samples() < n + 3 {
        assert!(Instant::now() < deadline, "no samples after the restart");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The runtime ends: so does the probe.
    stop_tx.send(()).unwrap();
    thread.join().unwrap();
    while monitor.is_running() {
        assert!(Instant::now() < deadline, "the probe outlived its runtime");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Starting on a runtime that is gone ends at once.
    monitor.start();
    while monitor.is_running() {
        assert!(Instant::now() < deadline, "a probe on a stopped runtime");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn dropping_the_last_handle_ends_the_probe() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let alive = || {
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks()
        };
        let before = alive();
        let monitor = RuntimeMonitor::builder()
            .interval(Duration::from_millis(10))
            .start()
            .unwrap();
        let clone = monitor.clone();
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(alive(), before + 1, "the probe runs");
        drop(monitor);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(alive(), before + 1, "a clone keeps it");
        drop(clone);
        tokio::time::timeout(Duration::from_secs(10), async {
            while alive() != before {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the probe ends with the last handle");
    });
}
