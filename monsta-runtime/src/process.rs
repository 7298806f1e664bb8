//! The process section: what every Prometheus client library exports about
//! its process. Read from Linux `/proc` (through the `procfs` crate);
//! elsewhere every value is absent (`None`).

use serde::Serialize;

/// The process's resources now. A value that cannot be read is `None`
/// (everywhere but Linux, all of them).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// Resident memory, in bytes.
    pub resident_memory_bytes: Option<u64>,
    /// Virtual memory, in bytes.
    pub virtual_memory_bytes: Option<u64>,
    /// User and system CPU time, in seconds.
    pub cpu_seconds: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit of open file descriptors (`None` when unlimited).
    pub max_fds: Option<u64>,
    /// Threads.
    pub threads: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
}

/// Reads the process section now.
#[cfg(target_os = "linux")]
pub fn process_info() -> ProcessInfo {
    use procfs::{
        WithCurrentSystemInfo,
        process::{LimitValue, Process},
    };
    let Ok(me) = Process::myself() else {
        return ProcessInfo::default();
    };
    let mut info = ProcessInfo::default();
    if let Ok(stat) = me.stat() {
        let ticks = procfs::ticks_per_second() as f64;
        info.resident_memory_bytes = Some(stat.rss_bytes().get());
        info.virtual_memory_bytes = Some(stat.vsize);
        info.cpu_seconds = Some((stat.utime + stat.stime) as f64 / ticks);
        info.threads = u64::try_from(stat.num_threads).ok();
        info.start_time_seconds = procfs::boot_time_secs()
            .ok()
            .map(|boot| boot as f64 + stat.starttime as f64 / ticks);
    }
    info.open_fds = me.fd_count().ok().and_then(|n| u64::try_from(n).ok());
    info.max_fds = me
        .limits()
        .ok()
        .and_then(|l| match l.max_open_files.soft_limit {
            LimitValue::Value(v) => Some(v),
            LimitValue::Unlimited => None,
        });
    info
}

/// Reads the process section now: nothing outside Linux.
#[cfg(not(target_os = "linux"))]
pub fn process_info() -> ProcessInfo {
    ProcessInfo::default()
}
