//! Authentication of requests: basic auth against bcrypt hashes (with a
//! cache of verified credentials), bearer tokens compared as SHA-256 hashes
//! in constant time, the slow-down of addresses that keep failing (a
//! bounded table), the open health route, and [`AuthLayer`], the same
//! checks as a tower layer for a host app's own routes.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    HeaderMap, Request, Response, StatusCode,
    header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE},
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::{
    peer::PeerKey,
    security::{HEALTH_ENDPOINT, Security, token_hash},
};

/// The address of the client of a request, as a request extension: monsta's
/// own server adds it to every request, and the checks read it (or axum's
/// `ConnectInfo<SocketAddr>`) to slow down an address that keeps failing.
/// A host app that serves [`service`](crate::StatusReporter::service) with
/// hyper can insert it itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Failed logins a client address (IPv6: its /64) may have before the
/// answers to its requests with credentials are delayed.
pub const FREE_FAILURES: u32 = 5;
/// The delay after the first failure beyond the [`FREE_FAILURES`]; it
/// doubles with each further one, up to [`MAX_FAILURE_DELAY`]. A success
/// clears the address's failures; they are forgotten 10 minutes after the
/// last one.
pub const FIRST_FAILURE_DELAY: Duration = Duration::from_millis(100);
/// The longest delay of a failing address.
pub const MAX_FAILURE_DELAY: Duration = Duration::from_secs(5);
/// How long an address's failures are remembered after its last one.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// The most addresses whose failures are remembered.
pub(crate) const MAX_TRACKED: usize = 4096;
/// The most verified credentials cached.
const MAX_CACHED: usize = 256;
/// bcrypt checks that run at once (each takes tens of milliseconds of a
/// core); more wait.
const CONCURRENT_CHECKS: usize = 2;

/// What is compared when the user is unknown, so that the time of an answer
/// does not tell whether a user exists (the bcrypt hash of "fakepassword",
/// cost 10, as Prometheus' exporter-toolkit uses).
const FAKE_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// The failures of recent clients, at most [`MAX_TRACKED`] of them: when
/// full, those not failing for [`FORGET_AFTER`] are forgotten, and if none
/// is, the eighth whose last failure is oldest.
#[derive(Default)]
pub(crate) struct FailureTable {
    entries: HashMap<PeerKey, Failures>,
    forgotten: u64,
}

impl FailureTable {
    /// The delay before an answer to `ip`, from its failures so far.
    fn delay(&self, ip: IpAddr, now: Instant) -> Duration {
        match self.entries.get(&PeerKey::of(ip)) {
            Some(f) if now.duration_since(f.last) < FORGET_AFTER => delay_after(f.count),
            _ => Duration::ZERO,
        }
    }

    fn fail(&mut self, ip: IpAddr, now: Instant) {
        let key = PeerKey::of(ip);
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_TRACKED {
            self.make_room(now);
        }
        let entry = self.entries.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.duration_since(entry.last) >= FORGET_AFTER {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    fn succeed(&mut self, ip: IpAddr) {
        self.entries.remove(&PeerKey::of(ip));
    }

    fn make_room(&mut self, now: Instant) {
        let before = self.entries.len();
        self.entries
            .retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        if self.entries.len() >= MAX_TRACKED {
            // The eighth whose last failure is oldest, at once, so that a
            // flood pays for this scan once per MAX_TRACKED / 8 addresses.
            let mut by_age: Vec<(Instant, PeerKey)> =
                self.entries.iter().map(|(k, f)| (f.last, *k)).collect();
            let cut = (MAX_TRACKED / 8).max(1);
            by_age.select_nth_unstable_by_key(cut - 1, |(last, _)| *last);
            for (_, key) in &by_age[..cut] {
                self.entries.remove(key);
            }
        }
        let dropped = (before - self.entries.len()) as u64;
        self.forgotten += dropped;
        tracing::debug!(
            target: "monsta",
            "the table of failed logins is full ({MAX_TRACKED} addresses): forgot {dropped}, {} so far",
            self.forgotten
        );
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The delay after `count` failures.
pub(crate) fn delay_after(count: u32) -> Duration {
    if count < FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (count - FREE_FAILURES).min(16);
    (FIRST_FAILURE_DELAY * 2u32.pow(doublings)).min(MAX_FAILURE_DELAY)
}

/// The state of the checks, shared by the clones of a reporter.
pub(crate) struct Checks {
    failures: Mutex<FailureTable>,
    /// SHA-256 of verified (user, password) pairs.
    verified: Mutex<HashSet<[u8; 32]>>,
    bcrypt: Semaphore,
    refused: AtomicU64,
    rejected: AtomicU64,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            failures: Mutex::default(),
            verified: Mutex::default(),
            bcrypt: Semaphore::new(CONCURRENT_CHECKS),
            refused: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }
}

impl fmt::Debug for Checks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checks")
            .field("refused", &self.refused.load(Ordering::Relaxed))
            .field("rejected", &self.rejected.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Checks {
    pub(crate) fn count_refused(&self, ip: IpAddr) {
        let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(target: "monsta", "refused {ip} by the address rules ({n} so far)");
    }

    fn is_verified(&self, user: &str, password: &[u8]) -> bool {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&pair_key(user.as_bytes(), password))
    }

    fn lock_failures(&self) -> std::sync::MutexGuard<'_, FailureTable> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The cache key of a (user, password) pair: length-prefixed, so that no
/// other pair has the same.
fn pair_key(user: &[u8], password: &[u8]) -> [u8; 32] {
    let mut sha = Sha256::new();
    sha.update((user.len() as u64).to_le_bytes());
    sha.update(user);
    sha.update((password.len() as u64).to_le_bytes());
    sha.update(password);
    sha.finalize().into()
}

/// A credential as presented.
enum Credential {
    Basic {
        user: String,
        password: Vec<u8>,
    },
    Bearer(Vec<u8>),
    /// An `Authorization` header that is neither, or not well-formed.
    Malformed,
}

fn credential(headers: &HeaderMap) -> Option<Credential> {
    let value = headers.get(AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = match value.iter().position(|&b| b == b' ') {
        Some(i) => (&value[..i], value[i + 1..].trim_ascii()),
        None => return Some(Credential::Malformed),
    };
    if scheme.eq_ignore_ascii_case(b"basic") {
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest) else {
            return Some(Credential::Malformed);
        };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return Some(Credential::Malformed);
        };
        let Ok(user) = String::from_utf8(decoded[..colon].to_vec()) else {
            return Some(Credential::Malformed);
        };
        return Some(Credential::Basic {
            user,
            password: decoded[colon + 1..].to_vec(),
        });
    }
    if scheme.eq_ignore_ascii_case(b"bearer") {
        return Some(Credential::Bearer(rest.to_vec()));
    }
    Some(Credential::Malformed)
}

/// Why a request was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denial {
    /// No valid credential: 401.
    Unauthorized,
    /// The client's address is not admitted: 403.
    Forbidden,
}

/// What the checks made of a request.
pub(crate) enum Verdict {
    /// Serve it.
    Pass,
    /// It is for the open health route: answer `200 ok`.
    Health,
    /// Answer with this.
    Deny(Denial),
}

/// The checks of one request, taken from it so that they can run after it
/// is gone.
pub(crate) struct Gate {
    security: Security,
    credential: Option<Credential>,
    peer: Option<IpAddr>,
    health: bool,
}

/// The client address of `request`: monsta's [`ClientAddr`], or axum's
/// `ConnectInfo`.
fn peer<B>(request: &Request<B>) -> Option<IpAddr> {
    if let Some(ClientAddr(addr)) = request.extensions().get::<ClientAddr>() {
        return Some(addr.ip());
    }
    #[cfg(feature = "axum")]
    if let Some(info) = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(info.0.ip());
    }
    None
}

impl Gate {
    /// The checks of `request`, for `path` (which a router may have
    /// stripped of a prefix).
    pub(crate) fn new<B>(security: &Security, request: &Request<B>, path: &str) -> Gate {
        let health = security.settings().open_health && path == HEALTH_ENDPOINT;
        let authenticates = security.authenticates() && !health;
        Gate {
            security: security.clone(),
            credential: if authenticates {
                credential(request.headers())
            } else {
                None
            },
            peer: peer(request),
            health,
        }
    }

    /// Whether the request may be served.
    pub(crate) async fn check(self) -> Verdict {
        let settings = self.security.settings();
        if let Some(ip) = self.peer
            && !self.security.admits(ip)
        {
            return Verdict::Deny(Denial::Forbidden);
        }
        if self.health {
            return Verdict::Health;
        }
        if !self.security.authenticates() {
            return Verdict::Pass;
        }
        let checks = &settings.checks;
        // A credential verified before is no guess: it is not delayed, so a
        // scraper that shares its address with a failing client keeps its
        // pace.
        let known = match &self.credential {
            Some(Credential::Basic { user, password }) => checks.is_verified(user, password),
            _ => false,
        };
        if let Some(ip) = self.peer
            && !known
        {
            let delay = checks.lock_failures().delay(ip, Instant::now());
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        let ok = match self.credential {
            Some(Credential::Bearer(token)) => {
                let presented = token_hash(&token);
                // Every stored hash is compared, each in constant time.
                settings
                    .tokens
                    .iter()
                    .fold(subtle::Choice::from(0), |found, hash| {
                        found | hash.ct_eq(&presented)
                    })
                    .into()
            }
            Some(Credential::Basic { user, password }) => {
                verify_basic(&self.security, user, password).await
            }
            Some(Credential::Malformed) | None => false,
        };
        if ok {
            if let Some(ip) = self.peer {
                checks.lock_failures().succeed(ip);
            }
            return Verdict::Pass;
        }
        let n = checks.rejected.fetch_add(1, Ordering::Relaxed) + 1;
        match self.peer {
            Some(ip) => {
                checks.lock_failures().fail(ip, Instant::now());
                tracing::debug!(target: "monsta", "unauthorized request from {ip} ({n} so far)");
            }
            None => tracing::debug!(target: "monsta", "unauthorized request ({n} so far)"),
        }
        Verdict::Deny(Denial::Unauthorized)
    }
}

/// Whether `password` is `user`'s, from the cache or by a bcrypt check on
/// the blocking pool (at most [`CONCURRENT_CHECKS`] at a time).
async fn verify_basic(security: &Security, user: String, password: Vec<u8>) -> bool {
    let settings = security.settings();
    let key = pair_key(user.as_bytes(), &password);
    let checks = &settings.checks;
    if checks.is_verified(&user, &password) {
        return true;
    }
    let (hash, known) = match settings.users.get(&user) {
        Some(hash) => (hash.clone(), true),
        None => (FAKE_HASH.to_owned(), false),
    };
    let Ok(_permit) = checks.bcrypt.acquire().await else {
        return false;
    };
    let verified = tokio::task::spawn_blocking(move || bcrypt::verify(&password, &hash))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(false);
    if !(verified && known) {
        return false;
    }
    let mut cache = checks
        .verified
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= MAX_CACHED {
        tracing::debug!(target: "monsta", "the cache of verified logins is full ({MAX_CACHED}): cleared");
        cache.clear();
    }
    cache.insert(key);
    true
}

/// The answer to a denied request, with `body`.
pub(crate) fn denial_response<B>(security: &Security, denial: Denial, body: B) -> Response<B> {
    let mut response = Response::new(body);
    match denial {
        Denial::Forbidden => *response.status_mut() = StatusCode::FORBIDDEN,
        Denial::Unauthorized => {
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            let settings = security.settings();
            let headers = response.headers_mut();
            if !settings.users.is_empty() {
                headers.append(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"monsta\", charset=\"UTF-8\""),
                );
            }
            if !settings.tokens.is_empty() {
                headers.append(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"monsta\""),
                );
            }
        }
    }
    response
}

/// A short text answer of monsta's own: a denial or the health route's `ok`.
pub(crate) fn verdict_response(
    security: &Security,
    verdict: Verdict,
) -> Option<Response<Full<Bytes>>> {
    let (response, text) = match verdict {
        Verdict::Pass => return None,
        Verdict::Health => (Response::new(()), "ok\n"),
        Verdict::Deny(denial) => {
            let text = match denial {
                Denial::Unauthorized => "unauthorized\n",
                Denial::Forbidden => "forbidden\n",
            };
            (denial_response(security, denial, ()), text)
        }
    };
    let (mut parts, ()) = response.into_parts();
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(text.len()));
    Some(Response::from_parts(
        parts,
        Full::new(Bytes::from_static(text.as_bytes())),
    ))
}

/// The reporter's authentication and address rules as a tower
/// [`Layer`](tower::Layer), for routes of a host app (an admin page, a
/// dashboard) that should be protected as monsta's own are. Made by
/// [`StatusReporter::auth_layer`](crate::StatusReporter::auth_layer).
///
/// A request without a valid credential is answered `401` with
/// `WWW-Authenticate` and an empty body; one from an address the rules do
/// not admit (known from [`ClientAddr`] or axum's `ConnectInfo`), `403`.
/// [`router`](https://docs.rs/monsta-http/latest/monsta_http/struct.StatusReporter.html#method.router) and
/// [`service`](crate::StatusReporter::service) check already; this layer is
/// for the rest.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{Router, routing::get};
/// use monsta_http::StatusReporter;
///
/// let mon = StatusReporter::builder().bearer_token("s3cret").build();
/// let admin: Router = Router::new()
///     .route("/admin", get(|| async { "admin" }))
///     .layer(mon.auth_layer());
/// # }
/// ```
#[derive(Clone)]
pub struct AuthLayer {
    security: Security,
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("security", &self.security)
            .finish()
    }
}

impl AuthLayer {
    pub(crate) fn new(security: Security) -> Self {
        AuthLayer { security }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            security: self.security.clone(),
        }
    }
}

/// The service of an [`AuthLayer`]: the checks, then the inner service.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    security: Security,
}

impl<S> fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

impl<S, B, ResBody> tower::Service<Request<B>> for AuthService<S>
where
    S: tower::Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The ready service is the one that serves; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let security = self.security.clone();
        // The health route is monsta's; here every path is the host's.
        let gate = Gate::new(&security, &request, "");
        Box::pin(async move {
            match gate.check().await {
                Verdict::Pass | Verdict::Health => inner.call(request).await,
                Verdict::Deny(denial) => Ok(denial_response(&security, denial, ResBody::default())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_after_the_free_failures_up_to_the_cap() {
        assert_eq!(delay_after(FREE_FAILURES - 1), Duration::ZERO);
        assert_eq!(delay_after(FREE_FAILURES), FIRST_FAILURE_DELAY);
        assert_eq!(delay_after(FREE_FAILURES + 1), FIRST_FAILURE_DELAY * 2);
        assert_eq!(delay_after(u32::MAX), MAX_FAILURE_DELAY);
    }

    #[test]
    fn a_flood_from_many_addresses_keeps_the_table_bounded() {
        let mut table = FailureTable::default();
        let now = Instant::now();
        for i in 0..(MAX_TRACKED as u32 * 4) {
            table.fail(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)), now);
        }
        assert!(table.len() <= MAX_TRACKED, "{}", table.len());
        assert!(table.forgotten >= 3 * MAX_TRACKED as u64);
        // The newest offender is remembered.
        let last = IpAddr::V4(std::net::Ipv4Addr::from(
            0x0a00_0000 + MAX_TRACKED as u32 * 4 - 1,
        ));
        for _ in 0..FREE_FAILURES {
            table.fail(last, now);
        }
        assert!(table.delay(last, now) > Duration::ZERO);
    }

    #[test]
    fn ipv6_clients_share_an_entry_per_64_and_success_clears_it() {
        let mut table = FailureTable::default();
        let now = Instant::now();
        for i in 0..FREE_FAILURES {
            let ip: IpAddr = format!("2001:db8::{i}").parse().unwrap();
            table.fail(ip, now);
        }
        let other: IpAddr = "2001:db8::ffff".parse().unwrap();
        assert_eq!(table.delay(other, now), FIRST_FAILURE_DELAY);
        assert_eq!(
            table.delay("2001:db9::1".parse().unwrap(), now),
            Duration::ZERO
        );
        table.succeed(other);
        assert_eq!(table.delay(other, now), Duration::ZERO);
        let much_later = now + FORGET_AFTER;
        table.fail("10.0.0.1".parse().unwrap(), now);
        assert_eq!(
            table.delay("10.0.0.1".parse().unwrap(), much_later),
            Duration::ZERO
        );
    }

    /// Records the events of a scope as `LEVEL message fields`.
    #[derive(Clone, Default)]
    struct Recorder(std::sync::Arc<Mutex<Vec<String>>>);

    struct Fields(String);

    impl tracing::field::Visit for Fields {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
            use std::fmt::Write as _;
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }

    impl tracing::Subscriber for Recorder {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            let mut fields = Fields(event.metadata().level().to_string());
            event.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    impl Recorder {
        fn lines(&self) -> Vec<String> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }

    #[test]
    fn an_open_public_server_warns_once_and_no_secret_is_logged() {
        let recorder = Recorder::default();
        tracing::subscriber::with_default(recorder.clone(), || {
            let open = Security::default();
            crate::security::warn_if_open("0.0.0.0:4242".parse().unwrap(), &open);
            let lines = recorder.lines();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(
                lines[0].starts_with("WARN") && lines[0].contains("basic_auth_user"),
                "{lines:?}"
            );
            crate::security::warn_if_open("127.0.0.1:4242".parse().unwrap(), &open);
            crate::security::warn_if_open("[::1]:4242".parse().unwrap(), &open);
            assert!(recorder.lines().is_empty(), "loopback is not warned about");

            let builder = crate::StatusReporterBuilder::new()
                .basic_auth_user("u", &bcrypt::hash("right", 4).unwrap())
                .unwrap()
                .bearer_token("token-secret");
            let (config, _) = builder.into_parts();
            let security = config.security().clone();
            crate::security::warn_if_open("0.0.0.0:4242".parse().unwrap(), &security);
            assert!(recorder.lines().is_empty(), "authenticated");

            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            for header in [
                "Basic dTpodW50ZXIyLXNlY3JldA==", // u:hunter2-secret
                "Bearer hunter2-secret",
            ] {
                let request = Request::builder()
                    .uri("/mon/v1/state")
                    .header(AUTHORIZATION, header)
                    .extension(ClientAddr("10.0.0.1:5000".parse().unwrap()))
                    .body(())
                    .unwrap();
                let gate = Gate::new(&security, &request, "/mon/v1/state");
                assert!(matches!(
                    runtime.block_on(gate.check()),
                    Verdict::Deny(Denial::Unauthorized)
                ));
            }
            let lines = recorder.lines();
            assert!(!lines.is_empty(), "failures are logged");
            for line in &lines {
                assert!(
                    !line.contains("hunter2") && !line.contains("token-secret"),
                    "{line}"
                );
            }
        });
    }

    #[test]
    fn pair_keys_are_unambiguous() {
        assert_ne!(pair_key(b"ab", b"c"), pair_key(b"a", b"bc"));
        assert_eq!(pair_key(b"a", b"b"), pair_key(b"a", b"b"));
    }

    #[test]
    fn credentials_parse() {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic YWxpY2U6YWxpY2UxMjM="),
        );
        assert!(
            matches!(credential(&headers), Some(Credential::Basic { user, password }) if user == "alice" && password == b"alice123")
        );
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer abc"));
        assert!(matches!(credential(&headers), Some(Credential::Bearer(t)) if t == b"abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert!(matches!(credential(&headers), Some(Credential::Malformed)));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Digest"));
        assert!(matches!(credential(&headers), Some(Credential::Malformed)));
    }
}
