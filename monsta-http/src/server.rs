//! The standalone server: a hyper 1.x HTTP/1.1 accept loop with graceful
//! shutdown, on the caller's tokio runtime or on a thread of its own, and
//! the handles that stop it.
//!
//! The accept loop knows only the [`StatusService`] it serves, the limits of
//! the builder and a background duty to run while it runs (the refresh);
//! what a request is answered with is the service's business.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Condvar, Mutex, PoisonError},
    task::Poll,
    time::Duration,
};

use tokio::{
    net::TcpListener,
    runtime::Handle,
    sync::{Notify, Semaphore},
    task::JoinSet,
};

use crate::{
    ServeError, StatusService,
    builder::Config,
    connection::{Registry, serve_connection},
    tls::Transport,
};

/// How long the thread of a [`ThreadedServer`] waits for the tasks left on
/// its runtime when it shuts down.
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(200);

/// What a server runs next to its accept loop while it runs, such as the
/// background refresh.
pub(crate) type Background = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A future whose completion stops a server, such as
/// [`shutdown_signal`](crate::shutdown_signal).
pub(crate) type Signal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a server serves: the service, the builder's limits, its
/// background duty, and the signal that stops it, if any.
pub(crate) struct Launch {
    service: StatusService,
    config: Arc<Config>,
    background: Option<Background>,
    signal: Option<Signal>,
    transport: Transport,
}

impl Launch {
    pub(crate) fn new(
        service: StatusService,
        config: Config,
        background: Option<Background>,
    ) -> Self {
        Launch {
            service,
            config: Arc::new(config),
            background,
            signal: None,
            transport: Transport::default(),
        }
    }

    /// Reads what the transport needs (the TLS files), before anything is
    /// bound or spawned.
    fn prepared(mut self) -> Result<Self, ServeError> {
        self.transport = Transport::of(&self.config)?;
        Ok(self)
    }

    /// Stops the server when `signal` completes.
    pub(crate) fn until(mut self, signal: Signal) -> Self {
        self.signal = Some(signal);
        self
    }

    /// How long a `stop` waits.
    fn stop_bound(&self) -> Duration {
        stop_bound(&self.config)
    }
}

/// How long a `stop` waits for servers configured with `config`.
pub(crate) fn stop_bound(config: &Config) -> Duration {
    config.shutdown_timeout() + STOP_MARGIN
}

/// Extra time a `stop` waits beyond the shutdown timeout.
const STOP_MARGIN: Duration = Duration::from_secs(1);

/// A flag that is set once, and can be waited for from async and sync code.
struct Latch {
    set: Mutex<bool>,
    cond: Condvar,
    notify: Notify,
}

impl Latch {
    fn new() -> Self {
        Latch {
            set: Mutex::new(false),
            cond: Condvar::new(),
            notify: Notify::new(),
        }
    }

    fn set(&self) {
        *self.set.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.cond.notify_all();
        self.notify.notify_waiters();
    }

    fn is_set(&self) -> bool {
        *self.set.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn wait(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        loop {
            // Registered before the check, so a `set` in between wakes it.
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.as_mut().await;
            notified.set(self.notify.notified());
        }
    }

    /// Waits at most `timeout`; whether the latch is set.
    fn wait_blocking(&self, timeout: Duration) -> bool {
        let guard = self.set.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = self
            .cond
            .wait_timeout_while(guard, timeout, |set| !*set)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

/// The shared control of one running server.
pub(crate) struct Control {
    addr: SocketAddr,
    stop: Latch,
    done: Latch,
}

impl Control {
    fn new(addr: SocketAddr) -> Arc<Self> {
        Arc::new(Control {
            addr,
            stop: Latch::new(),
            done: Latch::new(),
        })
    }
}

/// How often a full server looks again for an idle connection to close.
const EVICT_RETRY: Duration = Duration::from_millis(50);

/// The descriptors kept free below the file-descriptor soft limit.
const FD_MARGIN: u64 = 64;

/// `configured`, bounded by the file-descriptor soft limit less a margin.
fn connection_cap(configured: usize) -> usize {
    let Some(limit) = fd_soft_limit() else {
        return configured;
    };
    let bound = usize::try_from(limit.saturating_sub(FD_MARGIN).max(1)).unwrap_or(usize::MAX);
    if bound >= configured {
        return configured;
    }
    static LOGGED: std::sync::Once = std::sync::Once::new();
    LOGGED.call_once(|| {
        tracing::info!(
            target: "monsta",
            "at most {bound} connections: the open-file limit is {limit} (max_connections is {configured})"
        );
    });
    bound
}

/// The soft limit on open files of this process, where known.
#[cfg(target_os = "linux")]
fn fd_soft_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The soft limit on open files of this process, where known.
#[cfg(not(target_os = "linux"))]
fn fd_soft_limit() -> Option<u64> {
    None
}

/// Accepts connections until stopped, then drains them.
async fn run(launch: Launch, listener: TcpListener, control: Arc<Control>) {
    let Launch {
        service,
        config,
        background,
        signal,
        transport,
    } = launch;
    let cap = connection_cap(config.max_connections());
    let permits = Arc::new(Semaphore::new(cap));
    let registry = Arc::new(Registry::new(cap));
    let mut connections = JoinSet::new();
    let background = background.map(tokio::spawn);
    let signal = match signal {
        Some(mut signal) => {
            // Polled once before the first connection is accepted, so that
            // what the future sets up on its first poll (the handlers of
            // `shutdown_signal`) is in place before anything is served.
            let first = std::future::poll_fn(|cx| Poll::Ready(signal.as_mut().poll(cx))).await;
            let control = Arc::clone(&control);
            Some(tokio::spawn(async move {
                if first.is_pending() {
                    signal.await;
                }
                tracing::info!(target: "monsta", "stopping http://{}: the shutdown signal", control.addr);
                control.stop.set();
            }))
        }
        None => None,
    };
    let scheme = transport.scheme();
    tracing::info!(target: "monsta", "serving {scheme}://{}{}", control.addr, config.endpoint());
    crate::security::warn_if_open(control.addr, config.security());
    #[cfg(feature = "prometheus")]
    tracing::info!(target: "monsta", "serving metrics on {scheme}://{}{}", control.addr, config.metrics_endpoint());
    'accept: loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = control.stop.wait() => break 'accept,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue 'accept,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off a
                    // little instead of spinning.
                    tracing::warn!(target: "monsta", "accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue 'accept;
                }
            },
        };
        if !config.security().admits(peer.ip()) {
            drop(stream);
            continue 'accept;
        }
        let Some(slot) = registry.admit(peer.ip(), config.max_connections_per_address()) else {
            tracing::debug!(target: "monsta", "refused {peer}: over its share of connections");
            drop(stream);
            continue 'accept;
        };
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Full: make room by closing the connection idle the
                // longest, and look again now and then while none is.
                let mut evict = true;
                loop {
                    if evict {
                        registry.evict_idlest();
                    }
                    tokio::select! {
                        biased;
                        () = control.stop.wait() => break 'accept,
                        permit = Arc::clone(&permits).acquire_owned() => match permit {
                            Ok(permit) => break permit,
                            Err(_) => break 'accept,
                        },
                        Some(_) = connections.join_next(), if !connections.is_empty() => evict = false,
                        () = tokio::time::sleep(EVICT_RETRY) => evict = true,
                    }
                }
            }
        };
        let control = Arc::clone(&control);
        connections.spawn(serve_connection(
            service.clone(),
            Arc::clone(&config),
            stream,
            slot,
            permit,
            async move { control.stop.wait().await },
            transport.clone(),
        ));
    }
    // Free the port first, then let open connections finish.
    drop(listener);
    let drained = tokio::time::timeout(config.shutdown_timeout(), async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_ok();
    if !drained {
        connections.shutdown().await;
    }
    if let Some(background) = background {
        background.abort();
    }
    if let Some(signal) = signal {
        signal.abort();
    }
    tracing::info!(target: "monsta", "stopped serving {scheme}://{}", control.addr);
    control.done.set();
}

/// A listener on the first address `addr` resolves to that can be bound.
pub(crate) async fn bind(addr: impl tokio::net::ToSocketAddrs) -> Result<TcpListener, ServeError> {
    let mut failure = ServeError::NoAddress;
    for addr in tokio::net::lookup_host(addr)
        .await
        .map_err(ServeError::Resolve)?
    {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(source) => failure = ServeError::Bind { addr, source },
        }
    }
    Err(failure)
}

/// The listen backlog of the servers that bind their own address, as
/// tokio's `TcpListener::bind` has it: room for a burst of new clients
/// (such as a flood's) while the accept loop makes room, so that few
/// connection attempts are dropped and retried a second later.
const BACKLOG: u32 = 1024;

/// A listener on `addr`, bound as tokio's `TcpListener::bind` does
/// (`SO_REUSEADDR` on Unix), registered with the runtime entered.
fn listen_on(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// A listener on the first address `addr` resolves to that can be bound,
/// for `runtime`.
fn bind_std(
    addr: impl std::net::ToSocketAddrs,
    runtime: &tokio::runtime::Runtime,
) -> Result<TcpListener, ServeError> {
    let _entered = runtime.enter();
    let mut failure = ServeError::NoAddress;
    for addr in addr.to_socket_addrs().map_err(ServeError::Resolve)? {
        match listen_on(addr) {
            Ok(listener) => return Ok(listener),
            Err(source) => failure = ServeError::Bind { addr, source },
        }
    }
    Err(failure)
}

/// A runtime for a server of its own and a listener on `addr` for it, with
/// the address it is bound to.
fn bound(
    addr: impl std::net::ToSocketAddrs,
) -> Result<(tokio::runtime::Runtime, TcpListener, SocketAddr), ServeError> {
    let runtime = runtime()?;
    let listener = bind_std(addr, &runtime).and_then(|listener| {
        let addr = listener.local_addr().map_err(ServeError::LocalAddr)?;
        Ok((listener, addr))
    });
    match listener {
        Ok((listener, addr)) => Ok((runtime, listener, addr)),
        Err(error) => {
            // Without blocking: the caller may be on a runtime of its own.
            runtime.shutdown_background();
            Err(error)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ServeError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("monsta-http")
        .build()
        .map_err(ServeError::Thread)
}

/// Runs the server on `runtime` until stopped, then shuts the runtime down.
fn run_on(
    runtime: tokio::runtime::Runtime,
    launch: Launch,
    listener: TcpListener,
    control: Arc<Control>,
) {
    runtime.block_on(run(launch, listener, control));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
}

/// The servers of one reporter (and its clones) that have not been stopped.
#[derive(Default)]
pub(crate) struct Servers {
    running: Mutex<Vec<Arc<Control>>>,
}

impl Servers {
    /// Records a new server, forgetting those that have stopped.
    fn register(&self, addr: SocketAddr) -> Arc<Control> {
        let control = Control::new(addr);
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.retain(|c| !c.done.is_set());
        running.push(Arc::clone(&control));
        control
    }

    /// Tells every server to stop, and forgets them.
    fn take(&self) -> Vec<Arc<Control>> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let servers = std::mem::take(&mut *running);
        for server in &servers {
            server.stop.set();
        }
        servers
    }

    /// Serves `launch` on `listener`, on the current tokio runtime.
    pub(crate) fn spawn(
        &self,
        launch: Launch,
        listener: TcpListener,
    ) -> Result<ServerHandle, ServeError> {
        let runtime = Handle::try_current().map_err(|_| ServeError::NoRuntime)?;
        let launch = launch.prepared()?;
        let addr = listener.local_addr().map_err(ServeError::LocalAddr)?;
        let control = self.register(addr);
        let bound = launch.stop_bound();
        runtime.spawn(run(launch, listener, Arc::clone(&control)));
        Ok(ServerHandle { control, bound })
    }

    /// Binds `addr` and serves `launch` on a thread of its own, with a
    /// runtime of its own.
    pub(crate) fn spawn_thread(
        &self,
        launch: Launch,
        addr: impl std::net::ToSocketAddrs,
    ) -> Result<ThreadedServer, ServeError> {
        let launch = launch.prepared()?;
        let (runtime, listener, addr) = bound(addr)?;
        let control = self.register(addr);
        let bound = launch.stop_bound() + RUNTIME_SHUTDOWN;
        let thread_control = Arc::clone(&control);
        let thread = std::thread::Builder::new()
            .name("monsta-http".to_owned())
            .spawn(move || run_on(runtime, launch, listener, thread_control));
        match thread {
            Ok(thread) => Ok(ThreadedServer {
                control,
                thread: Some(thread),
                bound,
            }),
            Err(error) => {
                control.done.set();
                Err(ServeError::Thread(error))
            }
        }
    }

    /// Binds `addr` and serves `launch` on the calling thread until
    /// stopped (or its signal completes).
    pub(crate) fn run_blocking(
        &self,
        launch: Launch,
        addr: impl std::net::ToSocketAddrs,
    ) -> Result<(), ServeError> {
        if Handle::try_current().is_ok() {
            return Err(ServeError::InsideRuntime);
        }
        let launch = launch.prepared()?;
        let (runtime, listener, addr) = bound(addr)?;
        let control = self.register(addr);
        run_on(runtime, launch, listener, control);
        Ok(())
    }

    /// Stops every server and waits until they have stopped, at most
    /// `bound`.
    pub(crate) async fn stop(&self, bound: Duration) {
        let servers = self.take();
        let _ = tokio::time::timeout(bound, async {
            for server in &servers {
                server.done.wait().await;
            }
        })
        .await;
    }

    /// [`stop`](Self::stop), blocking the calling thread.
    pub(crate) fn stop_blocking(&self, bound: Duration) {
        let servers = self.take();
        let deadline = std::time::Instant::now() + bound;
        for server in &servers {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            server.done.wait_blocking(left);
        }
    }
}

/// A server started by [`StatusReporter::start`](crate::StatusReporter::start) or
/// [`start_on`](crate::StatusReporter::start_on) on the caller's runtime.
///
/// Dropping the handle leaves the server running;
/// [`StatusReporter::stop`](crate::StatusReporter::stop) stops it too.
#[derive(Debug)]
#[must_use = "the handle is the way to stop this server (or call `StatusReporter::stop`)"]
pub struct ServerHandle {
    control: Arc<Control>,
    bound: Duration,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("stopping", &self.stop.is_set())
            .field("stopped", &self.done.is_set())
            .finish()
    }
}

impl ServerHandle {
    /// The address the server listens on (with the actual port when bound to
    /// port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.control.addr
    }

    /// Whether the server has stopped.
    pub fn is_stopped(&self) -> bool {
        self.control.done.is_set()
    }

    /// Stops accepting and frees the port at once, lets open connections
    /// finish their response (idle ones close at once), and returns when the
    /// server has stopped: within the
    /// [`shutdown_timeout`](crate::StatusReporterBuilder::shutdown_timeout)
    /// and a second.
    pub async fn stop(self) {
        self.control.stop.set();
        let _ = tokio::time::timeout(self.bound, self.control.done.wait()).await;
    }
}

/// A server running on a thread of its own, started by
/// [`StatusReporter::start_in_thread`](crate::StatusReporter::start_in_thread).
///
/// Dropping the handle leaves the server running;
/// [`StatusReporter::stop_blocking`](crate::StatusReporter::stop_blocking) stops it too.
#[derive(Debug)]
#[must_use = "the handle is the way to stop this server (or call `StatusReporter::stop_blocking`)"]
pub struct ThreadedServer {
    control: Arc<Control>,
    thread: Option<std::thread::JoinHandle<()>>,
    bound: Duration,
}

impl ThreadedServer {
    /// The address the server listens on (with the actual port when bound to
    /// port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.control.addr
    }

    /// Whether the server has stopped.
    pub fn is_stopped(&self) -> bool {
        self.control.done.is_set()
    }

    /// Stops the server as [`ServerHandle::stop`] does, and joins its thread.
    /// Blocks at most the
    /// [`shutdown_timeout`](crate::StatusReporterBuilder::shutdown_timeout)
    /// and about a second; a thread still busy then is left to finish alone.
    pub fn stop(mut self) {
        self.control.stop.set();
        if self.control.done.wait_blocking(self.bound)
            && let Some(thread) = self.thread.take()
        {
            // The thread only has its runtime left to shut down, which is
            // bounded by `RUNTIME_SHUTDOWN`.
            let _ = thread.join();
        }
    }
}
