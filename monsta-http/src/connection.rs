//! One connection of the standalone server: its IO with a write deadline,
//! its service (which counts requests and knows when the connection is
//! idle), its lifetime limits, and the registry of open connections that the
//! accept loop consults for the per-address cap and for closing the longest
//! idle connection when the total cap is full.
//!
//! This module knows nothing of the accept loop: the server hands it a
//! stream, a slot of the registry, a permit and a stop signal.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use hyper::{
    Method, Request, Version,
    body::Incoming,
    header::{CONNECTION, HOST, HeaderValue},
    rt::{Read, Write},
    server::conn::http1,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::TcpStream,
    sync::{Notify, OwnedSemaphorePermit},
    time::Instant,
};

mod deadline;
mod registry;

pub(crate) use registry::Registry;

use deadline::DeadlineIo;
use registry::Slot;

use crate::{
    StatusService,
    builder::Config,
    respond::{StatusResponse, bad_request},
    tls::Transport,
};
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
