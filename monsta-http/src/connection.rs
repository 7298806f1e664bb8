//! One connection of the standalone server: its IO with a write deadline,
//! its service (which counts requests and knows when the connection is
//! idle), its lifetime limits, and the registry of open connections that the
//! accept loop consults for the per-address cap and for closing the longest
//! idle connection when the total cap is full.
//!
//! This module knows nothing of the accept loop: the server hands it a
//! stream, a slot of the registry, a permit and a stop signal.

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    io,
    net::IpAddr,
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll, ready},
    time::Duration,
};

use hyper::{
    Method, Request, Version,
    body::Incoming,
    header::{CONNECTION, HOST, HeaderValue},
    rt::{Read, ReadBufCursor, Write},
    server::conn::http1,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::TcpStream,
    sync::{Notify, OwnedSemaphorePermit},
    time::{Instant, Sleep},
};

use crate::{
    StatusService,
    builder::Config,
    respond::{StatusResponse, bad_request},
    tls::Transport,
};

/// A connection's IO whose writes have a deadline: a write (or flush, or
/// shutdown) that stays pending for `timeout` without any progress fails
/// with [`io::ErrorKind::TimedOut`], which closes the connection. Every
/// write that completes re-arms the deadline, so a slow but steady reader is
/// not cut. While a write is pending the connection's [`Activity`] counts
/// it as busy, so a blocked write is never taken for an idle connection.
pub(crate) struct DeadlineIo<T> {
    inner: T,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    armed: bool,
    activity: Arc<Activity>,
}

impl<T> DeadlineIo<T> {
    pub(crate) fn new(inner: T, timeout: Duration, activity: Arc<Activity>) -> Self {
        DeadlineIo {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            armed: false,
            activity,
        }
    }

    fn arm(&mut self, armed: bool) {
        if self.armed != armed {
            self.armed = armed;
            self.activity.writing.store(armed, Ordering::Release);
            if !armed {
                self.activity.touch();
            }
        }
    }

    /// `poll` as the result of a write: arms the deadline when it is pending
    /// (if not armed yet), disarms it when it is ready, and turns a pending
    /// write past the deadline into an error.
    fn deadline<R>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.arm(false);
            return poll;
        }
        if !self.armed {
            self.arm(true);
            self.sleep.as_mut().reset(Instant::now() + self.timeout);
        }
        ready!(self.sleep.as_mut().poll(cx));
        self.arm(false);
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("a response write made no progress for {:?}", self.timeout),
        )))
    }
}

impl<T: Read + Unpin> Read for DeadlineIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: Write + Unpin> Write for DeadlineIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.deadline(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.deadline(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.deadline(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.deadline(cx, poll)
    }
}

/// When a connection last started or finished a request, whether one is
/// in progress or a response write is pending, and whether it is still in
/// its header phase (no request started yet), which the registry counts.
pub(crate) struct Activity {
    origin: Instant,
    last: AtomicU64,
    busy: AtomicUsize,
    writing: AtomicBool,
    /// No request started yet; counted in `header_phase` while true.
    fresh: AtomicBool,
    header_phase: Arc<AtomicUsize>,
}

impl Activity {
    fn new(header_phase: Arc<AtomicUsize>) -> Self {
        header_phase.fetch_add(1, Ordering::AcqRel);
        Activity {
            origin: Instant::now(),
            last: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            writing: AtomicBool::new(false),
            fresh: AtomicBool::new(true),
            header_phase,
        }
    }

    /// Leaves the header phase (once).
    fn started(&self) {
        if self.fresh.swap(false, Ordering::AcqRel) {
            self.header_phase.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Whether no request has started on the connection yet.
    fn is_fresh(&self) -> bool {
        self.fresh.load(Ordering::Acquire)
    }

    fn touch(&self) {
        let nanos = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last.store(nanos, Ordering::Release);
    }

    fn last(&self) -> Instant {
        self.origin + Duration::from_nanos(self.last.load(Ordering::Acquire))
    }

    fn is_idle(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0 && !self.writing.load(Ordering::Acquire)
    }

    /// Resolves once no request has been in progress for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            tokio::time::sleep_until(self.last() + timeout).await;
            if !self.is_idle() {
                tokio::time::sleep(timeout).await;
            } else if self.last() + timeout <= Instant::now() {
                return;
            }
        }
    }
}

/// Marks a request in progress for as long as it lives.
struct Busy(Arc<Activity>);

impl Drop for Activity {
    fn drop(&mut self) {
        self.started();
    }
}

impl Busy {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.busy.fetch_add(1, Ordering::AcqRel);
        activity.started();
        activity.touch();
        Busy(Arc::clone(activity))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The service of one connection: the status service, with the request
/// count that closes the connection after its last allowed request, and the
/// `Host` check of HTTP/1.1 (here, not in [`StatusService`], since a mounted
/// service lives in the host app's HTTP stack, which has its own rules).
struct ConnectionService {
    service: StatusService,
    /// The client's address, added to each request as a [`ClientAddr`](crate::ClientAddr).
    peer: Option<std::net::SocketAddr>,
    activity: Arc<Activity>,
    served: AtomicU64,
    max_requests: u64,
    /// Told when an HTTP/2 connection has served its last allowed request
    /// (HTTP/1 says `Connection: close` instead).
    finished: Arc<Notify>,
}

type ConnectionFuture = Pin<Box<dyn Future<Output = Result<StatusResponse, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = StatusResponse;
    type Error = Infallible;
    type Future = ConnectionFuture;

    fn call(&self, mut request: Request<Incoming>) -> ConnectionFuture {
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(crate::ClientAddr(peer));
        }
        let busy = Busy::new(&self.activity);
        let served = self.served.fetch_add(1, Ordering::AcqRel) + 1;
        let last = served >= self.max_requests;
        // RFC 9112 §3.2: an HTTP/1.1 request without `Host` is answered 400
        // (HTTP/1.0 may leave it out).
        let missing_host =
            request.version() == Version::HTTP_11 && !request.headers().contains_key(HOST);
        let head = request.method() == Method::HEAD;
        let http2 = request.version() == Version::HTTP_2;
        let finished = Arc::clone(&self.finished);
        let response =
            (!missing_host).then(|| hyper::service::Service::call(&self.service, request));
        Box::pin(async move {
            let mut response = match response {
                Some(response) => response.await,
                None => Ok(bad_request(
                    "an HTTP/1.1 request needs a Host header\n",
                    head,
                )),
            };
            if last && http2 {
                finished.notify_one();
            } else if last && let Ok(response) = &mut response {
                // hyper closes the connection once this response is written.
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            drop(busy);
            response
        })
    }
}

/// Which clients share a per-address cap: an IPv4 address, or the /64
/// prefix of an IPv6 one (an IPv4-mapped IPv6 address counts as its IPv4
/// address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AddressKey {
    V4(u32),
    V6(u64),
}

impl AddressKey {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => AddressKey::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey::V4(v4.into()),
                None => AddressKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// An open connection, as the registry sees it.
struct Entry {
    activity: Arc<Activity>,
    evict: Arc<Notify>,
    /// Told to close, and not closed yet.
    evicted: bool,
}

#[derive(Default)]
struct Open {
    next: u64,
    connections: HashMap<u64, Entry>,
    per_address: HashMap<AddressKey, usize>,
}

/// The open connections of one server, with how many each client address
/// holds.
pub(crate) struct Registry {
    open: Mutex<Open>,
    /// The server's connection cap.
    cap: usize,
    /// Admitted connections on which no request has started yet.
    header_phase: Arc<AtomicUsize>,
}

impl Registry {
    /// The registry of a server that holds at most `cap` connections.
    pub(crate) fn new(cap: usize) -> Self {
        Registry {
            open: Mutex::default(),
            cap,
            header_phase: Arc::default(),
        }
    }

    /// Whether the server is under pressure: more than a quarter of its cap
    /// is in the header phase (admitted, no request started), or seven
    /// eighths of the cap are open. A connection still in its header phase
    /// then has only the shorter header deadline.
    pub(crate) fn under_pressure(&self) -> bool {
        let cap = self.cap.max(1);
        if self.header_phase.load(Ordering::Acquire).saturating_mul(4) > cap {
            return true;
        }
        self.lock().connections.len().saturating_mul(8) >= cap.saturating_mul(7)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a connection from `peer`, or `None` if that address holds
    /// `per_address` connections already.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr, per_address: usize) -> Option<Slot> {
        let key = AddressKey::of(peer);
        let mut open = self.lock();
        let count = open.per_address.entry(key).or_insert(0);
        if *count >= per_address {
            return None;
        }
        *count += 1;
        let id = open.next;
        open.next += 1;
        Some(Slot {
            registry: Arc::clone(self),
            id,
            key,
            activity: Arc::new(Activity::new(Arc::clone(&self.header_phase))),
            evict: Arc::new(Notify::new()),
        })
    }

    /// Tells the connection idle the longest to close, unless one told
    /// before is still closing; whether a connection is closing.
    pub(crate) fn evict_idlest(&self) -> bool {
        let mut open = self.lock();
        if open.connections.values().any(|e| e.evicted) {
            return true;
        }
        let idlest = open
            .connections
            .values_mut()
            .filter(|e| e.activity.is_idle())
            .min_by_key(|e| e.activity.last());
        match idlest {
            Some(entry) => {
                entry.evicted = true;
                entry.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

impl Slot {
    /// Makes the connection a candidate for eviction: once it is served
    /// (not while it waits for room, when it would be the one evicted).
    fn enlist(&self) {
        let entry = Entry {
            activity: Arc::clone(&self.activity),
            evict: Arc::clone(&self.evict),
            evicted: false,
        };
        self.registry.lock().connections.insert(self.id, entry);
    }
}

/// A connection's place in the [`Registry`] (it counts against its
/// address's share from the moment it is admitted), given up when dropped.
pub(crate) struct Slot {
    registry: Arc<Registry>,
    id: u64,
    key: AddressKey,
    activity: Arc<Activity>,
    evict: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.registry.lock();
        open.connections.remove(&self.id);
        if let Some(count) = open.per_address.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.per_address.remove(&self.key);
            }
        }
    }
}

/// How often a connection in its header phase past the pressure deadline
/// looks again whether the server is under pressure.
const PRESSURE_RECHECK: Duration = Duration::from_millis(250);

/// Resolves when a connection that started at `start` and has not started
/// a request is past the header deadline for a server under pressure (and
/// the server is under pressure then); never if it is not shorter than the
/// ordinary header deadline, which hyper enforces.
async fn hurried(activity: &Activity, registry: &Registry, config: &Config, start: Instant) {
    let pressured = config.header_read_timeout_under_pressure();
    if pressured >= config.header_read_timeout() {
        return std::future::pending().await;
    }
    let mut at = start + pressured;
    loop {
        tokio::time::sleep_until(at).await;
        if !activity.is_fresh() {
            return std::future::pending().await;
        }
        if registry.under_pressure() {
            return;
        }
        at = Instant::now() + PRESSURE_RECHECK;
    }
}

/// Serves one connection until it closes: when the client closes it, at
/// `stop`, after the keep-alive timeout, at its maximum age, or when the
/// registry evicts it. All but the first close it between requests only
/// (hyper finishes the response in progress); the write deadline cuts a
/// client that does not read, and a connection that has not sent its first
/// request head within the shorter pressure deadline is dropped while the
/// server is under pressure.
pub(crate) async fn serve_connection(
    service: StatusService,
    config: Arc<Config>,
    stream: TcpStream,
    slot: Slot,
    _permit: OwnedSemaphorePermit,
    stop: impl Future<Output = ()>,
    transport: Transport,
) {
    slot.enlist();
    let start = Instant::now();
    // Responses are small: send them without waiting for more to coalesce.
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok();
    tokio::pin!(stop);
    #[cfg(feature = "tls")]
    if let Some(tls) = transport.tls() {
        // The handshake is part of the header phase: it has the header
        // deadline (and the shorter one under pressure), and a stop or an
        // eviction ends it.
        let activity = Arc::clone(&slot.activity);
        let handshake =
            tokio::time::timeout(config.header_read_timeout(), tls.acceptor().accept(stream));
        let hurry = hurried(&activity, &slot.registry, &config, start);
        let evict = Arc::clone(&slot.evict);
        let stream = tokio::select! {
            done = handshake => match done {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    tracing::debug!(target: "monsta", "TLS handshake failed: {error}");
                    return;
                }
                Err(_) => {
                    tracing::debug!(target: "monsta", "connection closed: no TLS handshake within {:?}", config.header_read_timeout());
                    return;
                }
            },
            () = hurry => {
                tracing::debug!(target: "monsta", "connection closed: no TLS handshake within {:?} while the server is under pressure", config.header_read_timeout_under_pressure());
                return;
            }
            () = stop.as_mut() => return,
            () = evict.notified() => return,
        };
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        let accepted = Accepted { start, peer, h2 };
        return serve_stream(service, config, stream, slot, accepted, stop).await;
    }
    let _ = &transport;
    let accepted = Accepted {
        start,
        peer,
        h2: false,
    };
    serve_stream(service, config, stream, slot, accepted, stop).await;
}

/// What is known of a connection once its transport is up.
struct Accepted {
    /// When it was accepted.
    start: Instant,
    /// The client's address.
    peer: Option<std::net::SocketAddr>,
    /// Whether it speaks HTTP/2 (negotiated through ALPN).
    h2: bool,
}

/// A connection hyper serves, which can be told to finish gracefully:
/// HTTP/1 or HTTP/2.
trait Graceful: Future<Output = Result<(), hyper::Error>> {
    fn finish(self: Pin<&mut Self>);
}

impl<T: Read + Write + Unpin + 'static> Graceful
    for http1::Connection<DeadlineIo<T>, ConnectionService>
{
    fn finish(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

#[cfg(feature = "tls")]
impl<T: Read + Write + Unpin + Send + 'static> Graceful
    for hyper::server::conn::http2::Connection<
        DeadlineIo<T>,
        ConnectionService,
        hyper_util::rt::TokioExecutor,
    >
{
    fn finish(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// Serves one connection over `stream`, plain or TLS, as
/// [`serve_connection`] describes.
async fn serve_stream<S>(
    service: StatusService,
    config: Arc<Config>,
    stream: S,
    slot: Slot,
    accepted: Accepted,
    stop: impl Future<Output = ()>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let Accepted { start, peer, h2 } = accepted;
    let activity = Arc::clone(&slot.activity);
    let finished = Arc::new(Notify::new());
    let service = ConnectionService {
        service,
        peer,
        activity: Arc::clone(&activity),
        served: AtomicU64::new(0),
        max_requests: config.max_requests_per_connection(),
        finished: Arc::clone(&finished),
    };
    let io = DeadlineIo::new(
        TokioIo::new(stream),
        config.write_timeout(),
        Arc::clone(&activity),
    );
    #[cfg(feature = "tls")]
    if h2 {
        // The limits of HTTP/1 where HTTP/2 has them: the header size, and
        // the deadlines of `drive`. hyper's HTTP/2 has no header deadline,
        // so `drive` gives the first request head the header deadline from
        // the end of the handshake (a client that sends its preface and
        // then trickles a HEADERS frame, or sends nothing, is dropped
        // then); a later head that never ends leaves the connection idle,
        // and the keep-alive timeout closes it.
        let mut builder =
            hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .max_concurrent_streams(config.http2_max_streams())
            .max_header_list_size(u32::try_from(config.max_header_size()).unwrap_or(u32::MAX));
        let connection = builder.serve_connection(io, service);
        let first_head = Some(Instant::now() + config.header_read_timeout());
        return drive(
            connection, &config, &slot, start, first_head, stop, &finished,
        )
        .await;
    }
    let _ = h2;
    let mut builder = http1::Builder::new();
    builder
        // hyper's header read timeout only fires with a timer installed.
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout())
        .max_header_size(config.max_header_size())
        .keep_alive(true);
    let connection = builder.serve_connection(io, service);
    // hyper enforces the header deadline of HTTP/1 itself.
    drive(connection, &config, &slot, start, None, stop, &finished).await;
}

/// Resolves if no request has started on the connection by `at`; never if
/// one has, or if `at` is `None`.
async fn unstarted_at(activity: &Activity, at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
        if activity.is_fresh() {
            return;
        }
    }
    std::future::pending().await
}

/// Runs `connection` until it closes, telling it to finish at `stop`,
/// after the keep-alive timeout, at its maximum age, after its last allowed
/// request (HTTP/2), or when the registry evicts it, and dropping it if it
/// has not started a request by `first_head` (HTTP/2), or in time for a
/// server under pressure.
async fn drive<C: Graceful>(
    connection: C,
    config: &Config,
    slot: &Slot,
    start: Instant,
    first_head: Option<Instant>,
    stop: impl Future<Output = ()>,
    finished: &Notify,
) {
    let keep_alive = config.keep_alive_timeout();
    let activity = &slot.activity;
    tokio::pin!(connection);
    tokio::pin!(stop);
    let aged = tokio::time::sleep(config.max_connection_age());
    tokio::pin!(aged);
    let evict = Arc::clone(&slot.evict);
    let hurry = hurried(activity, &slot.registry, config, start);
    tokio::pin!(hurry);
    let unstarted = unstarted_at(activity, first_head);
    tokio::pin!(unstarted);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(target: "monsta", "connection closed: {error}");
                }
                return;
            }
            () = unstarted.as_mut() => {
                tracing::debug!(target: "monsta", "connection closed: no request head within {:?}", config.header_read_timeout());
                return;
            }
            () = hurry.as_mut() => {
                tracing::debug!(target: "monsta", "connection closed: no request head within {:?} while the server is under pressure", config.header_read_timeout_under_pressure());
                return;
            }
            () = stop.as_mut(), if !closing => closing = true,
            () = activity.idle_for(keep_alive), if !closing => closing = true,
            () = aged.as_mut(), if !closing => closing = true,
            () = finished.notified(), if !closing => closing = true,
            () = evict.notified(), if !closing => {
                // Nothing in progress (a connection that has sent part of a
                // head, say, which hyper would keep reading): close it now,
                // so the new client it makes room for does not wait.
                if activity.is_idle() {
                    return;
                }
                closing = true;
            }
        }
        connection.as_mut().finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_a_slice_per_64_and_mapped_ipv4_is_ipv4() {
        let key = |s: &str| AddressKey::of(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:127.0.0.1"), key("127.0.0.1"));
        assert_ne!(key("127.0.0.1"), key("127.0.0.2"));
    }

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_it_back() {
        let registry = Arc::new(Registry::new(64));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let first = registry.admit(ip, 2).expect("first");
        let second = registry.admit(ip, 2).expect("second");
        assert!(registry.admit(ip, 2).is_none(), "over the share");
        assert!(registry.admit("10.0.0.2".parse().unwrap(), 2).is_some());
        drop(first);
        assert!(registry.admit(ip, 2).is_some(), "a slot came back");
        drop(second);
        assert!(registry.lock().per_address.len() <= 1);
    }

    #[test]
    fn only_enlisted_idle_connections_are_evicted_one_at_a_time() {
        let registry = Arc::new(Registry::new(64));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let waiting = registry.admit(ip, 8).unwrap();
        assert!(
            !registry.evict_idlest(),
            "a connection waiting for room is not evicted"
        );
        let old = registry.admit(ip, 8).unwrap();
        old.enlist();
        let busy = registry.admit(ip, 8).unwrap();
        busy.enlist();
        let _request = Busy::new(&busy.activity);
        assert!(registry.evict_idlest());
        assert!(registry.lock().connections[&old.id].evicted);
        assert!(!registry.lock().connections[&busy.id].evicted);
        // Until the evicted one closes, no other is told to.
        assert!(registry.evict_idlest());
        drop(old);
        assert!(!registry.evict_idlest(), "the only other one is busy");
        drop(waiting);
    }

    #[test]
    fn fresh_connections_count_toward_pressure_until_their_first_request() {
        let registry = Arc::new(Registry::new(8));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let slots: Vec<_> = (0..3).map(|_| registry.admit(ip, 8).unwrap()).collect();
        for slot in &slots {
            slot.enlist();
        }
        assert!(registry.under_pressure(), "3 of 8 in the header phase");
        let request = Busy::new(&slots[0].activity);
        assert!(
            !registry.under_pressure(),
            "2 of 8: one has started a request"
        );
        drop(request);
        assert!(!slots[0].activity.is_fresh());
        assert!(slots[1].activity.is_fresh());
        drop(slots);
        assert_eq!(registry.header_phase.load(Ordering::Acquire), 0);
        // Seven eighths open is pressure too, fresh or not.
        let open: Vec<_> = (0..7).map(|_| registry.admit(ip, 8).unwrap()).collect();
        for slot in &open {
            slot.enlist();
            let _ = Busy::new(&slot.activity);
        }
        assert!(registry.under_pressure());
    }

    #[test]
    fn a_pending_write_is_not_idle() {
        let registry = Arc::new(Registry::new(8));
        let slot = registry.admit("10.0.0.1".parse().unwrap(), 8).unwrap();
        slot.enlist();
        slot.activity.writing.store(true, Ordering::Release);
        assert!(!slot.activity.is_idle());
        assert!(!registry.evict_idlest(), "the only connection is writing");
        slot.activity.writing.store(false, Ordering::Release);
        assert!(registry.evict_idlest());
    }
}
