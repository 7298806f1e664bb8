//! The request middleware under load: the same hyper 1.x server answering
//! `hello`, bare, with a windowed-field update per request, with a 900 ns
//! spin per request, and with the `RequestMonitor` layer, measured in one
//! run by two clients: `wrk` at saturation (throughput, p99 latency) and
//! `h2load` sending a fixed number of requests at a fixed rate below every
//! server's capacity; for each, this process's CPU time per request
//! (`getrusage` around each client run, over the requests it made).
//!
//! Run with `bash benches/middleware_load.sh` (installs `wrk` and `h2load`
//! from Debian's packages if they are missing, then runs
//! `cargo bench -p monsta-bench --bench middleware_load`).
//!
//! The servers run on one tokio worker thread in this process, pinned to
//! the last core, and the client (through `taskset`) to the first; each
//! round runs every server once, back to back (each round starting with
//! the next server), and what a server adds is the median (and range) over
//! the rounds of its difference from the bare server in the same round.
//! Every server is the same tower service behind the same glue (hyper-util's
//! `TowerToHyperService`), so the layered one differs from the bare one by
//! the layer only. The spinning server is a control: it adds
//! user-space work that touches no memory, to show how much process CPU
//! such work costs under this load whatever its code. No request is slow,
//! so nothing is captured: this is the cost of the path without a capture.
//!
//! A second layout runs the same four servers *side by side*: each in a
//! process of its own (this bench, started with `--serve-child <index>`),
//! all four on the last core, loaded at the same time by a client each
//! (a quarter of the connections, and for `h2load` a quarter of the
//! rate). Each round reads every server process's CPU time (`getrusage`
//! in that process) before and after; what a server adds over another is
//! read at the same moment under the same conditions, so the drift that
//! moves the one-after-the-other figures by a microsecond between rounds
//! is common to both.
//!
//! `MIDDLEWARE_LOAD_ROUNDS=<n>` runs n rounds, `MIDDLEWARE_LOAD_CLIENT=wrk`
//! (or `h2load`) one client only, `MIDDLEWARE_LOAD_LAYOUT=sequential` (or
//! `side-by-side`) one layout only, `MIDDLEWARE_LOAD_ONLY=<index>` one
//! server only (sequential layout).

use std::{
    convert::Infallible,
    net::SocketAddr,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, server::conn::http1};
use hyper_util::rt::TokioIo;
use monsta::{
    fields::SlidingWindow,
    http::{RequestMetrics, RequestMonitor},
};
use tokio::net::TcpListener;
use tower::Layer;

#[path = "wrk.rs"]
mod client;

const ROUNDS: usize = 8;
const SECONDS: u32 = 4;
const CONNECTIONS: u32 = 32;
/// The fixed-rate rounds: this many requests each, at this rate per
/// connection.
const FIXED_REQUESTS: u32 = 160_000;
const FIXED_RATE_PER_CONNECTION: u32 = 1_250;
/// The spin of the third server: about the layer's cost per request in
/// the criterion bench (`benches/middleware.rs`).
const SPIN: Duration = Duration::from_nanos(900);

/// The servers' places in the list (and `MIDDLEWARE_LOAD_ONLY`'s values).
const BARE: usize = 0;
const WINDOW: usize = 1;
const SPIN_SERVER: usize = 2;
const LAYER: usize = 3;
/// How many servers there are; side by side, each gets this share of a
/// load.
const SERVERS: u32 = LAYER as u32 + 1;

/// One client run, with the server's CPU time per request.
#[derive(Debug, Clone, Copy)]
struct Run {
    rps: f64,
    /// `wrk`'s 99th percentile; `h2load`'s mean (it prints no
    /// percentiles).
    latency_us: f64,
    cpu_ns_per_request: f64,
    /// The user-space part: where the layer's code runs (the rest is the
    /// kernel's TCP work, which varies with how requests batch).
    user_ns_per_request: f64,
}

impl Run {
    /// What `client` printed, with the server's (user, system) CPU
    /// nanoseconds `before` and `after` it.
    fn of(client: Client, before: (f64, f64), after: (f64, f64)) -> Self {
        let user = after.0 - before.0;
        let cpu = user + after.1 - before.1;
        let requests = client.requests.max(1.0);
        Self {
            rps: client.rps,
            latency_us: client.latency_us,
            cpu_ns_per_request: cpu / requests,
            user_ns_per_request: user / requests,
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == SERVE_CHILD) {
        let index = args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .filter(|&i| i <= LAYER)
            .expect("--serve-child <index of a server>");
        serve_child(index);
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    if !client::installed() {
        eprintln!("wrk is not installed: run `bash benches/middleware_load.sh`, which installs it");
        std::process::exit(2);
    }
    let h2load_installed = Command::new("h2load").arg("--version").output().is_ok();
    if !h2load_installed {
        eprintln!("h2load is not installed (Debian's nghttp2-client): no fixed-rate tables");
    }
    // The server on the last core, wrk (through `taskset`) on the first, so
    // they do not take turns on one.
    let pinned = pin_to_server_core();
    let rounds_n = env_usize("MIDDLEWARE_LOAD_ROUNDS").unwrap_or(ROUNDS);
    let names: Vec<&str> = servers().iter().map(|(n, _)| *n).collect();
    // MIDDLEWARE_LOAD_CLIENT=wrk or h2load runs that client only.
    let client_only = std::env::var("MIDDLEWARE_LOAD_CLIENT").ok();
    let runs_client = |name: &str| client_only.as_deref().is_none_or(|c| c == name);
    // MIDDLEWARE_LOAD_LAYOUT=sequential or side-by-side runs that layout only.
    let layout = std::env::var("MIDDLEWARE_LOAD_LAYOUT").ok();
    let runs_layout = |name: &str| layout.as_deref().is_none_or(|l| l == name);
    let loads: Vec<Load> = [Load::WRK, Load::H2LOAD]
        .into_iter()
        .filter(|l| runs_client(l.client()) && (l.client() != "h2load" || h2load_installed))
        .collect();
    let placement = if pinned {
        ", servers and clients on cores of their own"
    } else {
        ""
    };

    if runs_layout("sequential") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        // MIDDLEWARE_LOAD_ONLY=<index> loads one server only (to count its
        // system calls with `perf stat` around the whole process).
        let only = env_usize("MIDDLEWARE_LOAD_ONLY");
        let addrs: Vec<SocketAddr> = runtime.block_on(async {
            let mut addrs = Vec::new();
            for (_, extra) in servers() {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                addrs.push(listener.local_addr().expect("addr"));
                tokio::spawn(serve(listener, extra));
            }
            addrs
        });
        let rounds = |load: Load| {
            let mut runs: Vec<Vec<Run>> = vec![Vec::new(); addrs.len()];
            for round in 0..rounds_n {
                // Each round starts with the next server, so that no server
                // always runs first or last in a round.
                for k in 0..addrs.len() {
                    let i = (round + k) % addrs.len();
                    if only.is_none_or(|o| o == i) {
                        runs[i].push(load.run(addrs[i], pinned));
                    }
                }
            }
            runs
        };
        for &load in &loads {
            let runs = rounds(load);
            println!(
                "middleware_load, one server after the other: {load}, {rounds_n} rounds, medians{placement}"
            );
            print_table(&names, &runs, load.latency());
        }
        runtime.shutdown_timeout(Duration::from_secs(1));
    }

    // Side by side: each server in a process of its own, all on the same
    // core, loaded at the same time by a client each. What one server adds
    // over another is then read under the same conditions, at the same
    // moment, so the machine's drift (and the kernel's, which moves the
    // sequential figures by a microsecond between rounds) is common to both.
    if runs_layout("side-by-side") {
        let mut children: Vec<ChildServer> = (0..names.len()).map(ChildServer::start).collect();
        for load in loads.iter().map(|l| l.shared(SERVERS)) {
            let runs = side_by_side(&mut children, rounds_n, load, pinned);
            println!(
                "middleware_load, side by side: {load} for each server, all at once, {rounds_n} rounds, medians{placement}"
            );
            print_table(&names, &runs, load.latency());
        }
    }
}

/// The argument that makes this bench a server process of the side-by-side
/// layout: `--serve-child <index>`.
const SERVE_CHILD: &str = "--serve-child";

/// A server in a process of its own (this bench, run with
/// [`SERVE_CHILD`]): it prints its address, then answers each line on its
/// standard input with its CPU time so far.
struct ChildServer {
    child: std::process::Child,
    addr: SocketAddr,
    input: std::process::ChildStdin,
    output: std::io::BufReader<std::process::ChildStdout>,
}

impl ChildServer {
    fn start(index: usize) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(std::env::current_exe().expect("this bench's path"))
            .args([SERVE_CHILD, &index.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("a server process");
        let input = child.stdin.take().expect("a piped stdin");
        let mut output = std::io::BufReader::new(child.stdout.take().expect("a piped stdout"));
        let mut line = String::new();
        output
            .read_line(&mut line)
            .expect("the server process's address");
        let addr = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the server process printed {line:?}, not its address"));
        Self {
            child,
            addr,
            input,
            output,
        }
    }

    /// The process's user and system CPU time so far, in nanoseconds.
    fn cpu_ns(&mut self) -> (f64, f64) {
        use std::io::{BufRead, Write};
        writeln!(self.input).expect("the server process reads");
        self.input.flush().expect("the server process reads");
        let mut line = String::new();
        self.output
            .read_line(&mut line)
            .expect("the server process answers");
        let mut times = line.split_whitespace().map(|v| v.parse::<f64>());
        match (times.next(), times.next()) {
            (Some(Ok(user)), Some(Ok(system))) => (user, system),
            _ => panic!("the server process answered {line:?}, not its CPU time"),
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server process: [`SERVE_CHILD`]'s side.
fn serve_child(index: usize) {
    use std::io::{BufRead, Write};
    pin_to_server_core();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (_, extra) = servers().swap_remove(index);
    let addr = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(serve(listener, extra));
        addr
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{addr}").and_then(|()| out.flush());
    // Until the bench closes the pipe (or exits).
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        let (user, system, _) = cpu_ns();
        if writeln!(out, "{user} {system}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
}

/// `rounds` rounds of every server process loaded at once by a `client`
/// each (started in an order that moves by one each round); for each
/// server, its CPU time per request in each round.
fn side_by_side(
    children: &mut [ChildServer],
    rounds: usize,
    client: Load,
    pinned: bool,
) -> Vec<Vec<Run>> {
    let n = children.len();
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); n];
    for round in 0..rounds {
        let before: Vec<(f64, f64)> = children.iter_mut().map(ChildServer::cpu_ns).collect();
        let mut started: Vec<(usize, std::process::Child)> = (0..n)
            .map(|k| {
                let i = (round + k) % n;
                let child = client
                    .command(children[i].addr, pinned)
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("the client runs");
                (i, child)
            })
            .collect();
        started.sort_by_key(|(i, _)| *i);
        let outputs: Vec<String> = started
            .into_iter()
            .map(|(_, c)| {
                let out = c.wait_with_output().expect("the client finishes");
                String::from_utf8_lossy(&out.stdout).into_owned()
            })
            .collect();
        let after: Vec<(f64, f64)> = children.iter_mut().map(ChildServer::cpu_ns).collect();
        for i in 0..n {
            runs[i].push(Run::of(client.parse(&outputs[i]), before[i], after[i]));
        }
    }
    runs
}

/// The servers, in the order of the indices `BARE`, `WINDOW`,
/// `SPIN_SERVER`, `LAYER`.
fn servers() -> Vec<(&'static str, Extra)> {
    let metrics = Arc::new(RequestMetrics::new());
    let monitor = RequestMonitor::builder()
        .state(metrics.clone())
        .route("/hello", "/hello")
        .build()
        .expect("valid settings");
    // In the order of the indices `BARE`, `WINDOW`, `SPIN_SERVER`, `LAYER`.
    vec![
        ("bare hyper", Extra::Nothing),
        // The bare server plus one windowed-field update per request: what
        // any state with a `SlidingWindow` costs the process, the coarse
        // clock's refresh thread (250 wake-ups a second while the time
        // is read) included, without the layer.
        (
            "bare hyper, one SlidingWindow::inc a request",
            Extra::Window(Arc::new(
                SlidingWindow::new(Duration::from_secs(60)).expect("a valid window"),
            )),
        ),
        // The bare server plus a spin as long as the layer's cost in the
        // criterion bench, touching no memory: how much process CPU any
        // such work adds under this load, whatever its code.
        ("bare hyper, a 900 ns spin a request", Extra::Spin(SPIN)),
        ("with RequestMonitor", Extra::Layer(monitor)),
    ]
}

/// The servers' medians, then what each adds (see [`print_added`]).
fn print_table(names: &[&str], runs: &[Vec<Run>], latency: &str) {
    println!("| server | requests/s | {latency} | process CPU per request | of which user space |");
    println!("| --- | --- | --- | --- | --- |");
    for (name, r) in names.iter().zip(runs) {
        if !r.is_empty() {
            let r = median(r);
            println!(
                "| {name} | {:.0} | {:.0} µs | {:.0} ns | {:.0} ns |",
                r.rps, r.latency_us, r.cpu_ns_per_request, r.user_ns_per_request
            );
        }
    }
    print_added(names, runs);
}

/// What each server adds over the bare one (and the layer over the
/// windowed-field server), from the differences within each round, where
/// the servers ran back to back: the median and the range of those, so the
/// machine's drift between rounds cancels.
fn print_added(names: &[&str], runs: &[Vec<Run>]) {
    if runs.iter().any(Vec::is_empty) {
        return;
    }
    let pairs = [
        (WINDOW, BARE),
        (SPIN_SERVER, BARE),
        (LAYER, BARE),
        (LAYER, WINDOW),
    ];
    println!(
        "| added | CPU per request, median (range) | of which user space | throughput ratio |"
    );
    println!("| --- | --- | --- | --- |");
    for (i, base) in pairs {
        let diffs = |f: fn(&Run) -> f64| {
            let mut d: Vec<f64> = runs[i]
                .iter()
                .zip(&runs[base])
                .map(|(x, y)| f(x) - f(y))
                .collect();
            d.sort_by(f64::total_cmp);
            d
        };
        let cpu = diffs(|r| r.cpu_ns_per_request);
        let user = diffs(|r| r.user_ns_per_request);
        let mut ratio: Vec<f64> = runs[i]
            .iter()
            .zip(&runs[base])
            .map(|(x, y)| x.rps / y.rps)
            .collect();
        ratio.sort_by(f64::total_cmp);
        let mid = |v: &[f64]| v[v.len() / 2];
        println!(
            "| {} over {} | {:.0} ns ({:.0} to {:.0}) | {:.0} ns ({:.0} to {:.0}) | {:.2} |",
            names[i],
            names[base],
            mid(&cpu),
            cpu[0],
            cpu[cpu.len() - 1],
            mid(&user),
            user[0],
            user[user.len() - 1],
            mid(&ratio),
        );
    }
}

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

/// What a server does besides answering `hello`.
#[derive(Clone)]
enum Extra {
    Nothing,
    Window(Arc<SlidingWindow>),
    Spin(Duration),
    Layer(RequestMonitor),
}

/// Spins for `d` without touching memory.
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

async fn serve(listener: TcpListener, extra: Extra) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let extra = extra.clone();
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            let conn = http1::Builder::new();
            // Every server goes through the same glue (a tower service,
            // cloned and called with `oneshot` per request: hyper-util's
            // `TowerToHyperService`), so what differs is the service.
            let _ = match extra {
                Extra::Nothing => {
                    conn.serve_connection(io, glue(tower::service_fn(hello)))
                        .await
                }
                Extra::Window(window) => {
                    let counted = move |req| {
                        window.inc(1.0);
                        hello(req)
                    };
                    conn.serve_connection(io, glue(tower::service_fn(counted)))
                        .await
                }
                Extra::Spin(d) => {
                    let spun = move |req| {
                        spin(d);
                        hello(req)
                    };
                    conn.serve_connection(io, glue(tower::service_fn(spun)))
                        .await
                }
                Extra::Layer(monitor) => {
                    conn.serve_connection(io, glue(monitor.layer(tower::service_fn(hello))))
                        .await
                }
            };
        });
    }
}

/// The number in the environment variable `name`, if it is set to one.
fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// A tower service as hyper's, the way hyper-util does it: cloned and
/// called with `oneshot` per request.
fn glue<S>(svc: S) -> hyper_util::service::TowerToHyperService<S> {
    hyper_util::service::TowerToHyperService::new(svc)
}

/// Pins this process to the last core, where there are two or more (the
/// clients run on the first); whether it is pinned.
fn pin_to_server_core() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores >= 2 && pin_to(cores - 1)
}

/// Runs this process (and the threads it starts after) on `core` only;
/// whether that worked.
fn pin_to(core: usize) -> bool {
    // SAFETY: the set is zeroed, then one bit set by `CPU_SET`, and
    // `sched_setaffinity` only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// User and system CPU time of this process, in nanoseconds, and its
/// minor page faults and voluntary and involuntary context switches.
fn cpu_ns() -> (f64, f64, [f64; 3]) {
    // SAFETY: `getrusage` writes into the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e9 + t.tv_usec as f64 * 1e3;
    (
        tv(usage.ru_utime),
        tv(usage.ru_stime),
        [
            usage.ru_minflt as f64,
            usage.ru_nvcsw as f64,
            usage.ru_nivcsw as f64,
        ],
    )
}

impl std::fmt::Display for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Load::Wrk { connections } => write!(f, "wrk -t1 -c{connections} -d{SECONDS}s"),
            Load::H2load {
                connections,
                requests,
                rate,
            } => write!(
                f,
                "h2load --h1 -n{requests} -c{connections} at {} requests/s",
                rate * connections
            ),
        }
    }
}

/// What a client sends: `wrk` with this many connections for
/// [`SECONDS`], or `h2load` with this many connections, requests in all and
/// requests a second per connection.
#[derive(Clone, Copy)]
enum Load {
    Wrk {
        connections: u32,
    },
    H2load {
        connections: u32,
        requests: u32,
        rate: u32,
    },
}

impl Load {
    /// One server after the other: `wrk` with every connection.
    const WRK: Load = Load::Wrk {
        connections: CONNECTIONS,
    };
    /// One server after the other: [`FIXED_REQUESTS`] at a fixed rate
    /// below all the servers' capacities (h2load over HTTP/1.1): the CPU
    /// per request when every server sees the same arrivals, not its own
    /// saturation.
    const H2LOAD: Load = Load::H2load {
        connections: CONNECTIONS,
        requests: FIXED_REQUESTS,
        rate: FIXED_RATE_PER_CONNECTION,
    };

    /// This load shared by `ways` clients at once: each with a `ways`-th
    /// of the connections (and of the requests), at the same rate per
    /// connection, so that together they send what one would.
    fn shared(self, ways: u32) -> Load {
        match self {
            Load::Wrk { connections } => Load::Wrk {
                connections: connections / ways,
            },
            Load::H2load {
                connections,
                requests,
                rate,
            } => Load::H2load {
                connections: connections / ways,
                requests: requests / ways,
                rate,
            },
        }
    }

    /// The client's name, as `MIDDLEWARE_LOAD_CLIENT` takes it.
    fn client(self) -> &'static str {
        match self {
            Load::Wrk { .. } => "wrk",
            Load::H2load { .. } => "h2load",
        }
    }

    /// The latency the client reports (see [`Load::parse`]).
    fn latency(self) -> &'static str {
        match self {
            Load::Wrk { .. } => "p99 latency",
            Load::H2load { .. } => "mean latency",
        }
    }

    fn command(self, addr: SocketAddr, pinned: bool) -> Command {
        match self {
            Load::Wrk { connections } => client::command(
                &format!("http://{addr}/hello"),
                connections,
                SECONDS,
                pinned,
            ),
            Load::H2load {
                connections,
                requests,
                rate,
            } => h2load_command(addr, connections, requests, rate, pinned),
        }
    }

    /// What the client printed; `wrk`'s latency is the 99th percentile,
    /// `h2load`'s the mean (it prints no percentiles).
    fn parse(self, text: &str) -> Client {
        match self {
            Load::Wrk { .. } => {
                let w = client::parse(text);
                Client {
                    rps: w.rps,
                    latency_us: w.p99_us,
                    requests: w.requests,
                }
            }
            Load::H2load { requests, .. } => parse_h2load(text, requests),
        }
    }

    /// Loads the server at `addr` (of this process, one server after the
    /// other), with this process's CPU time over the load.
    fn run(self, addr: SocketAddr, pinned: bool) -> Run {
        let before = cpu_ns();
        let out = self
            .command(addr, pinned)
            .output()
            .expect("the client runs");
        let after = cpu_ns();
        let client = self.parse(&String::from_utf8_lossy(&out.stdout));
        if std::env::var_os("MIDDLEWARE_LOAD_EVENTS").is_some() {
            let per_1000 = |i: usize| (after.2[i] - before.2[i]) * 1e3 / client.requests.max(1.0);
            eprintln!(
                "{addr}: per 1,000 requests: {:.2} minor faults, {:.2} voluntary and {:.2} involuntary context switches",
                per_1000(0),
                per_1000(1),
                per_1000(2),
            );
        }
        Run::of(client, (before.0, before.1), (after.0, after.1))
    }
}

/// `h2load` over HTTP/1.1 on one thread: `requests` in all over
/// `connections`, each at `rate` requests a second.
fn h2load_command(
    addr: SocketAddr,
    connections: u32,
    requests: u32,
    rate: u32,
    pinned: bool,
) -> Command {
    let mut c = client::pinned_command("h2load", pinned);
    c.args([
        "--h1",
        "-t1",
        &format!("-c{connections}"),
        &format!("-n{requests}"),
        &format!("--rps={rate}"),
        &format!("http://{addr}/hello"),
    ]);
    c
}

/// What one `h2load` run printed: requests/s, the mean latency, the
/// requests made. Panics unless all `expected` requests succeeded.
fn parse_h2load(text: &str, expected: u32) -> Client {
    // "requests: 240000 total, 240000 started, 240000 done, 240000 succeeded, 0 failed, ..."
    let succeeded: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("requests: "))
        .and_then(|l| l.split(", ").find_map(|p| p.strip_suffix(" succeeded")))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in h2load's output:\n{text}"));
    assert_eq!(
        succeeded,
        f64::from(expected),
        "h2load's requests did not all succeed:\n{text}"
    );
    // "finished in 6.00s, 40000.00 req/s, 1.23MB/s"
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("finished in "))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|v| v.strip_suffix(" req/s"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no req/s in h2load's output:\n{text}"));
    // "time for request:    12us   1.2ms   150us   ..." (min, max, mean)
    let latency_us = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("time for request:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .map(client::micros)
        .unwrap_or_else(|| panic!("no request time in h2load's output:\n{text}"));
    Client {
        rps,
        latency_us,
        requests: succeeded,
    }
}

/// What a client run printed, whichever client.
#[derive(Debug, Clone, Copy)]
struct Client {
    rps: f64,
    latency_us: f64,
    requests: f64,
}

fn median(runs: &[Run]) -> Run {
    let mid = client::median;
    Run {
        rps: mid(runs.iter().map(|r| r.rps).collect()),
        latency_us: mid(runs.iter().map(|r| r.latency_us).collect()),
        cpu_ns_per_request: mid(runs.iter().map(|r| r.cpu_ns_per_request).collect()),
        user_ns_per_request: mid(runs.iter().map(|r| r.user_ns_per_request).collect()),
    }
}
