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

/// A program of this test binary running in a child process, re-run for
/// the test `test`, that keeps running until its stdin is closed: for tests
/// that talk to a server from outside its process and read its
/// `/proc/<pid>/status`. Every wait has a deadline; dropping it kills the
/// child.
pub struct ChildProcess {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl ChildProcess {
    /// Starts `test` in a child with the variables `env` set, its stdin
    /// a pipe that [`finish`](Self::finish) closes.
    pub fn start(test: &str, env: &[(&str, &str)]) -> Self {
        let exe = std::env::current_exe().expect("current_exe");
        let mut command = Command::new(exe);
        command
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, test)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start the child");
        let stdout = child.stdout.take().expect("a piped stdout");
        let (send, lines) = std::sync::mpsc::channel();
        thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Some(collect(child.stderr.take()));
        ChildProcess {
            child,
            lines,
            stderr,
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The rest of the first line the child prints that holds `prefix`,
    /// after it, waiting at most `limit`; fails (with what the child
    /// printed on stderr) if none comes.
    #[track_caller]
    pub fn wait_line(&mut self, prefix: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    // The harness prints `test <name> ... ` without a
                    // line break before the test's own output.
                    if let Some(at) = line.find(prefix) {
                        return line[at + prefix.len()..].trim().to_owned();
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    let stderr = self.stderr.take().map(|s| s.join().unwrap_or_default());
                    panic!(
                        "the child printed no line starting with {prefix:?} within {limit:?}\n--- stderr\n{}",
                        stderr.unwrap_or_default()
                    );
                }
            }
        }
    }

    /// Closes the child's stdin and fails unless it then exits successfully
    /// within `limit` (it is killed if it does not).
    #[track_caller]
    pub fn finish(mut self, limit: Duration) {
        drop(self.child.stdin.take());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break Some(status);
            }
            if started.elapsed() >= limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(20));
        };
        let stderr = self
            .stderr
            .take()
            .map(|s| s.join().unwrap_or_default())
            .unwrap_or_default();
        match status {
            None => {
                panic!("the child did not exit within {limit:?} of its stdin closing\n{stderr}")
            }
            Some(status) => assert!(status.success(), "the child failed with {status}\n{stderr}"),
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A number in kB or a count from a line `name` of `/proc/<pid>/status`.
pub fn status_of(pid: u32, name: &str) -> u64 {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {path}"))
}

/// How many file descriptors the process `pid` has open.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}
