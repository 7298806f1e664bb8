//! `MONSTA_WEB_CONFIG` and the process-wide reporter: a good file secures
//! it, a bad one makes `start` fail and the reporter refuse every request.
//! Each case runs as a child process of this test binary, with the variable
//! set for it alone. Real TCP on loopback; every wait is bounded.

#![cfg(feature = "http")]

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const CHILD: &str = "MONSTA_TEST_CHILD";
const LIMIT: Duration = Duration::from_secs(30);

fn is_child(test: &str) -> bool {
    std::env::var(CHILD).as_deref() == Ok(test)
}

/// Runs `test` of this binary alone in a child process with
/// `MONSTA_WEB_CONFIG=config`; fails unless it passes within [`LIMIT`].
fn run_child(test: &str, config: &str) {
    let dir = std::env::temp_dir().join(format!("monsta-web-config-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join("web.config.yml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .env(monsta::WEB_CONFIG_ENV, &path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() >= LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut out);
    }
    let _ = std::fs::remove_dir_all(&dir);
    match status {
        Some(status) => assert!(status.success(), "the child failed: {status}\n{out}"),
        None => panic!("the child did not finish within {LIMIT:?}\n{out}"),
    }
}

/// The status of a GET of the state with `headers`.
fn status(addr: SocketAddr, headers: &str) -> u16 {
    let mut stream = TcpStream::connect_timeout(&addr, LIMIT).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    write!(
        stream,
        "GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_good_file_secures_the_singleton() {
    const NAME: &str = "a_good_file_secures_the_singleton";
    if !is_child(NAME) {
        let hash = bcrypt::hash("pw", 4).unwrap();
        return run_child(
            NAME,
            &format!("basic_auth_users:\n  u: '{hash}'\nmonsta:\n  allow: [127.0.0.0/8]\n"),
        );
    }
    monsta::publish(serde_json::json!({"status": "running"}));
    let addr = monsta::start("127.0.0.1:0").expect("start");
    assert_eq!(status(addr, ""), 401);
    // u:pw
    assert_eq!(status(addr, "Authorization: Basic dTpwdw==\r\n"), 200);
    monsta::stop();
}

#[test]
fn a_bad_file_fails_closed() {
    const NAME: &str = "a_bad_file_fails_closed";
    if !is_child(NAME) {
        return run_child(NAME, "basic_auth_users:\n  u: not-a-hash-but-a-secret\n");
    }
    let err = monsta::start("127.0.0.1:0").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, monsta::ServeError::Security(_)), "{text}");
    assert!(text.contains("basic_auth_users.u"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    // The reporter itself refuses everything, however it is served.
    let server = monsta::reporter().start_in_thread("127.0.0.1:0").unwrap();
    assert_eq!(status(server.local_addr(), ""), 401);
    assert_eq!(
        status(server.local_addr(), "Authorization: Bearer x\r\n"),
        401
    );
    server.stop();
}
