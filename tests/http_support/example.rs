//! Running an example as a person would: the binary cargo built (or built
//! here when only the test was), on a free loopback port, killed when the
//! test ends.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
};

/// A started example, killed (and waited for) when dropped, passed or not.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `target/<profile>/examples/<name>`, next to this test's own binary
/// (`target/<profile>/deps/<test>-<hash>`). `cargo test` builds the
/// examples; when only the test was built, the example is built here with
/// `features`.
pub fn example(name: &str, features: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let target_dir = profile_dir.parent().expect("target dir");
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--example", name, "--features", features])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building the {name} example failed");
    }
    binary
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    probe.local_addr().expect("addr").port()
}
