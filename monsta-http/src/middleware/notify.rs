//! Alerts on slow requests: deduplication, the [`Notifier`] trait, the
//! built-in notifiers and the bounded delivery queue.

use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    future::Future,
    io::Write as _,
    path::{Path, PathBuf},
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, Uri, header};
use hyper_rustls::{ConfigBuilderExt as _, HttpsConnector};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use rustls::pki_types::CertificateDer;
use serde::Serialize;
use tokio::sync::mpsc;

use super::{ConfigError, SlowRequest};

/// What a notifier returns when it could not deliver.
pub type NotifyError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed future of a notifier's delivery.
pub type NotifyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>>;

/// One notification: a slow request, and how many slow requests of the same
/// endpoint (method and route) were suppressed since the last notification.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// The captured request.
    pub request: Arc<SlowRequest>,
    /// Slow requests of this endpoint not notified since the last alert.
    pub suppressed: u64,
}

impl Alert {
    /// A one-line human summary, as the `{"text": ...}` webhook sends.
    pub fn summary(&self) -> String {
        let r = &self.request;
        let mut text = format!(
            "Slow request: {} {} (route {}) took {:.0} ms, status {}",
            r.method,
            r.path,
            r.route,
            r.duration_ms,
            r.status
                .map_or_else(|| "error".to_owned(), |s| s.to_string())
        );
        if let Some(id) = r.headers.get("x-request-id") {
            text.push_str(&format!(", request id {id}"));
        }
        if self.suppressed > 0 {
            text.push_str(&format!(" ({} more since the last alert)", self.suppressed));
        }
        text
    }
}

/// Somewhere alerts go. Delivery runs on the monitor's background task,
/// with a timeout and bounded retries; it never delays a request.
///
/// ```
/// use monsta_http::middleware::{Alert, Notifier, NotifyFuture};
///
/// struct Log;
/// impl Notifier for Log {
///     fn notify<'a>(&'a self, alert: &'a Alert) -> NotifyFuture<'a> {
///         Box::pin(async move {
///             tracing::warn!("{}", alert.summary());
///             Ok(())
///         })
///     }
/// }
/// ```
pub trait Notifier: Send + Sync + 'static {
    /// Delivers `alert`; an error (or the timeout) makes the queue retry.
    fn notify<'a>(&'a self, alert: &'a Alert) -> NotifyFuture<'a>;
}

/// At most one alert per endpoint (method and route) per window, on the
/// monitor's clock.
#[derive(Debug)]
pub(crate) struct Dedup {
    window: Duration,
    seen: Mutex<HashMap<(String, String), (Duration, u64)>>,
}

/// Endpoints remembered by the deduplication at most; past it, windows
/// that ended are forgotten, and if none has, the oldest.
const DEDUP_MAX: usize = 10_000;

impl Dedup {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(suppressed)` if an alert for the endpoint is due at `now`;
    /// `None` (and the endpoint's count raised) if it is suppressed.
    pub(crate) fn check(&self, method: &str, route: &str, now: Duration) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (method.to_owned(), route.to_owned());
        if let Some((last, suppressed)) = seen.get_mut(&key) {
            if now.saturating_sub(*last) < self.window {
                *suppressed += 1;
                return None;
            }
            let n = *suppressed;
            *last = now;
            *suppressed = 0;
            return Some(n);
        }
        if seen.len() >= DEDUP_MAX {
            let window = self.window;
            seen.retain(|_, (last, _)| now.saturating_sub(*last) < window);
            if seen.len() >= DEDUP_MAX
                && let Some(oldest) = seen
                    .iter()
                    .min_by_key(|(_, (l, _))| *l)
                    .map(|(k, _)| k.clone())
            {
                seen.remove(&oldest);
            }
        }
        seen.insert(key, (now, 0));
        Some(0)
    }
}

/// Counts of the delivery queue.
#[derive(Debug, Default)]
pub struct NotifyStats {
    /// Alerts handed to every notifier.
    pub delivered: AtomicU64,
    /// Deliveries that failed after every retry (per notifier).
    pub failed: AtomicU64,
    /// Alerts dropped because the queue was full or no tokio runtime ran.
    pub dropped: AtomicU64,
    /// Alerts suppressed by the deduplication.
    pub suppressed: AtomicU64,
}

/// The delivery side: notifiers, the queue (started on the first alert, on
/// the tokio runtime of that request) and its counts.
pub(crate) struct Delivery {
    pub(crate) notifiers: Vec<Arc<dyn Notifier>>,
    pub(crate) queue: usize,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) backoff: Duration,
    pub(crate) stats: Arc<NotifyStats>,
    sender: Mutex<Option<mpsc::Sender<Alert>>>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("notifiers", &self.notifiers.len())
            .field("queue", &self.queue)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    pub(crate) fn new(
        notifiers: Vec<Arc<dyn Notifier>>,
        queue: usize,
        timeout: Duration,
        retries: u32,
        backoff: Duration,
    ) -> Self {
        Self {
            notifiers,
            queue: queue.max(1),
            timeout,
            retries,
            backoff,
            stats: Arc::default(),
            sender: Mutex::new(None),
        }
    }

    /// Queues `alert` without waiting: a full queue (or no runtime) drops
    /// it, counted and logged.
    pub(crate) fn send(&self, alert: Alert) {
        if self.notifiers.is_empty() {
            return;
        }
        // The task runs on the runtime of the first alert's request; should
        // that runtime end (its task with it), the next alert starts another.
        let sent = {
            let mut sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
            if sender.as_ref().is_none_or(mpsc::Sender::is_closed)
                && let Ok(handle) = tokio::runtime::Handle::try_current()
            {
                let (tx, rx) = mpsc::channel(self.queue);
                handle.spawn(run(
                    rx,
                    self.notifiers.clone(),
                    self.timeout,
                    self.retries,
                    self.backoff,
                    self.stats.clone(),
                ));
                *sender = Some(tx);
            }
            sender.as_ref().is_some_and(|tx| tx.try_send(alert).is_ok())
        };
        if !sent {
            let n = self.stats.dropped.fetch_add(1, Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n,
                    "slow-request alert dropped: notification queue full"
                );
            }
        }
    }
}

async fn run(
    mut rx: mpsc::Receiver<Alert>,
    notifiers: Vec<Arc<dyn Notifier>>,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
    stats: Arc<NotifyStats>,
) {
    while let Some(alert) = rx.recv().await {
        let mut all = true;
        for notifier in &notifiers {
            let mut attempt = 0;
            loop {
                let error = match tokio::time::timeout(timeout, notifier.notify(&alert)).await {
                    Ok(Ok(())) => break,
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => format!("timed out after {timeout:?}"),
                };
                if attempt >= retries {
                    tracing::warn!(%error, attempts = attempt + 1, "slow-request alert not delivered");
                    stats.failed.fetch_add(1, Relaxed);
                    all = false;
                    break;
                }
                tracing::debug!(%error, attempt, "slow-request alert failed, retrying");
                tokio::time::sleep(backoff.saturating_mul(1 << attempt.min(16))).await;
                attempt += 1;
            }
        }
        if all {
            stats.delivered.fetch_add(1, Relaxed);
        }
    }
}

/// A notifier that appends each alert as one JSON line to a file, rotated
/// at a size bound: when a line would take the file past `max_bytes`, the
/// file becomes `<path>.1` (`<path>.1` becomes `<path>.2`, and so on, the
/// oldest past `keep` deleted) and a new one is started. So the files never
/// hold more than `max_bytes × (keep + 1)`. A line longer than `max_bytes`
/// is refused (an error, logged by the queue).
#[derive(Debug)]
pub struct JsonLinesFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: Arc<Mutex<Option<(File, u64)>>>,
}

impl JsonLinesFile {
    /// A JSON-lines file at `path`, rotated at 10 MiB, keeping 3 old files.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            max_bytes: 10 << 20,
            keep: 3,
            file: Arc::default(),
        }
    }

    /// Rotates when the file would grow past `max_bytes`.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes.max(1);
        self
    }

    /// Keeps `keep` rotated files (`<path>.1` ... `<path>.<keep>`).
    pub fn keep(mut self, keep: usize) -> Self {
        self.keep = keep;
        self
    }

    fn rotated(path: &Path, n: usize) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn write(
        path: &Path,
        max: u64,
        keep: usize,
        slot: &mut Option<(File, u64)>,
        line: &[u8],
    ) -> std::io::Result<()> {
        let len = line.len() as u64;
        if len > max {
            return Err(std::io::Error::other(format!(
                "alert of {len} bytes exceeds the file bound of {max} bytes"
            )));
        }
        if slot.is_none() {
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            let size = file.metadata()?.len();
            *slot = Some((file, size));
        }
        if let Some((_, size)) = slot
            && *size + len > max
        {
            *slot = None;
            if keep == 0 {
                std::fs::remove_file(path)?;
            } else {
                for n in (1..keep).rev() {
                    let from = Self::rotated(path, n);
                    if from.exists() {
                        std::fs::rename(&from, Self::rotated(path, n + 1))?;
                    }
                }
                std::fs::rename(path, Self::rotated(path, 1))?;
            }
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            *slot = Some((file, 0));
        }
        let (file, size) = slot.as_mut().expect("opened above");
        file.write_all(line)?;
        *size += len;
        Ok(())
    }
}

impl Notifier for JsonLinesFile {
    fn notify<'a>(&'a self, alert: &'a Alert) -> NotifyFuture<'a> {
        Box::pin(async move {
            let mut line = serde_json::to_vec(alert)?;
            line.push(b'\n');
            let (path, max, keep, file) = (
                self.path.clone(),
                self.max_bytes,
                self.keep,
                self.file.clone(),
            );
            tokio::task::spawn_blocking(move || {
                let mut slot = file.lock().unwrap_or_else(PoisonError::into_inner);
                Self::write(&path, max, keep, &mut slot, &line)
            })
            .await??;
            Ok(())
        })
    }
}

/// The body a [`Webhook`] posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The [`Alert`] as JSON: `{"request": {...}, "suppressed": n}`.
    Json,
    /// `{"text": "<summary>"}`, what Slack's and Mattermost's incoming
    /// webhooks take.
    Text,
}

/// A notifier that POSTs each alert to an `http://` or `https://` URL, as
/// JSON or as a Slack/Mattermost `{"text": ...}` message; a non-2xx answer
/// is an error (retried by the queue). `https` goes through rustls (on
/// `ring`), trusting the bundled Mozilla roots (`webpki-roots`), or the
/// roots given to [`with_root_certificates`](Self::with_root_certificates).
#[derive(Debug, Clone)]
pub struct Webhook {
    uri: Uri,
    format: WebhookFormat,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Webhook {
    /// A webhook posting JSON alerts to `url`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Url`] if `url` is not an absolute `http://` or
    /// `https://` URL.
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        let uri = Self::check(url)?;
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Url {
            url: url.to_owned(),
            message: format!("TLS: {e}"),
        })?
        .with_webpki_roots()
        .with_no_client_auth();
        Ok(Self::with_tls(uri, tls))
    }

    /// A webhook whose `https` server certificates must chain to one of
    /// `roots` (DER), instead of the bundled roots: a private CA.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Url`] for a bad URL or a root certificate rustls
    /// refuses.
    pub fn with_root_certificates(
        url: &str,
        roots: impl IntoIterator<Item = CertificateDer<'static>>,
    ) -> Result<Self, ConfigError> {
        let uri = Self::check(url)?;
        let bad = |message: String| ConfigError::Url {
            url: url.to_owned(),
            message,
        };
        let mut store = rustls::RootCertStore::empty();
        for cert in roots {
            store
                .add(cert)
                .map_err(|e| bad(format!("root certificate: {e}")))?;
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("TLS: {e}")))?
        .with_root_certificates(store)
        .with_no_client_auth();
        Ok(Self::with_tls(uri, tls))
    }

    fn check(url: &str) -> Result<Uri, ConfigError> {
        let bad = |message: &str| ConfigError::Url {
            url: url.to_owned(),
            message: message.to_owned(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => return Err(bad("must be an absolute http:// or https:// URL")),
        }
        if uri.host().is_none() {
            return Err(bad("has no host"));
        }
        Ok(uri)
    }

    fn with_tls(uri: Uri, tls: rustls::ClientConfig) -> Self {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            uri,
            format: WebhookFormat::Json,
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// The body's form.
    pub fn format(mut self, format: WebhookFormat) -> Self {
        self.format = format;
        self
    }
}

impl Notifier for Webhook {
    fn notify<'a>(&'a self, alert: &'a Alert) -> NotifyFuture<'a> {
        Box::pin(async move {
            let body = match self.format {
                WebhookFormat::Json => serde_json::to_vec(alert)?,
                WebhookFormat::Text => {
                    serde_json::to_vec(&serde_json::json!({"text": alert.summary()}))?
                }
            };
            let request = Request::builder()
                .method(Method::POST)
                .uri(self.uri.clone())
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body)))?;
            let response = self.client.request(request).await?;
            let status = response.status();
            // Read the answer, so the connection can be reused.
            let _ = response.into_body().collect().await;
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("webhook answered {status}").into())
            }
        })
    }
}
