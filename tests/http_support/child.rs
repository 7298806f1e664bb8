//! Running one test of the current test binary as a child process, for what
//! only a whole process shows: that it exits, and how many threads it has.
//! Every wait here has a deadline; a child that overruns it is killed.

use std::{
    io::Read,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

/// The variable that tells a test it runs as the child.
const CHILD_ENV: &str = "MONSTA_TEST_CHILD";

/// Whether this process is the child started by [`run_child`] for `test`.
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_ENV).as_deref() == Ok(test)
}

/// What a child printed on a stream, read on a thread of its own so that a
/// full pipe never blocks it.
fn collect(stream: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stream) = stream {
            let _ = stream.read_to_string(&mut text);
        }
        text
    })
}

/// Runs the test `test` (its full name) of this test binary alone in a
/// child process, where [`is_child`] is true for it. Fails unless the child
/// passes and exits within `limit`; a child still running then is killed.
/// Returns how long it ran.
#[track_caller]
pub fn run_child(test: &str, limit: Duration) -> Duration {
    let exe = std::env::current_exe().expect("current_exe");
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child");
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if started.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let output = format!(
        "--- stdout\n{}\n--- stderr\n{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    match status {
        None => panic!("the child `{test}` did not exit within {limit:?} and was killed\n{output}"),
        Some(status) => assert!(
            status.success(),
            "the child `{test}` failed with {status}\n{output}"
        ),
    }
    took
}

/// The number of threads of this process, from `/proc/self/status`.
pub fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads: line")
}

/// Samples [`threads`] every few milliseconds on a thread of its own until
/// dropped or [`peak`](Self::peak) is called; the sampler counts itself.
pub struct ThreadPeak {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sampler: Option<thread::JoinHandle<usize>>,
}

impl ThreadPeak {
    pub fn start() -> Self {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let sampler = thread::spawn(move || {
            let mut peak = threads();
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(threads());
                thread::sleep(Duration::from_millis(2));
            }
            peak.max(threads())
        });
        ThreadPeak {
            stop,
            sampler: Some(sampler),
        }
    }

    /// The most threads seen since [`start`](Self::start), the sampler
    /// included.
    pub fn peak(mut self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.sampler
            .take()
            .expect("peak is called once")
            .join()
            .expect("the sampler")
    }
}

impl Drop for ThreadPeak {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The body of a test that runs `program` in a child process (this test
/// binary, re-run for `test` alone) and fails if it has not exited within
/// `limit`.
#[allow(dead_code)]
pub fn as_child(test: &str, limit: Duration, program: fn()) {
    if is_child(test) {
        program();
    } else {
        run_child(test, limit);
    }
}
