//! What the middleware records into: the [`RequestState`] trait and the
//! middleware's own state, [`RequestMetrics`].

use monsta_core::fields::{Counter, Family, Gauge, Histogram, SlidingWindow};
use serde::Serialize;

/// The latency family: a histogram per method, route and status class,
/// labelled `method`, `route` and `status`.
pub type LatencyFamily = Family<(String, String, &'static str), Histogram>;

/// The fields the middleware records into. Every method has a default of
/// `None` (not recorded), so a state provides the fields it has: a state
/// derived with `#[derive(monsta::AppState)]` that holds them is published
/// as JSON and Prometheus metrics with the rest of the application's state
/// (the `monsta::http` module of the facade shows one).
pub trait RequestState: Send + Sync + 'static {
    /// Latency in seconds per method, route and status class.
    fn latency(&self) -> Option<&LatencyFamily> {
        None
    }
    /// Arrivals (the request rate).
    fn requests(&self) -> Option<&SlidingWindow> {
        None
    }
    /// Requests in flight.
    fn in_flight(&self) -> Option<&Gauge> {
        None
    }
    /// Responses per status class (`1xx` ... `5xx`, `error`, `cancelled`).
    fn responses(&self) -> Option<&Family<&'static str, Counter>> {
        None
    }
    /// Request body sizes in bytes, where known.
    fn request_bytes(&self) -> Option<&Histogram> {
        None
    }
    /// Response body sizes in bytes, where known.
    fn response_bytes(&self) -> Option<&Histogram> {
        None
    }
    /// Called with each measured request's latency in seconds, for the
    /// state's own sampling fields (percentiles, averages).
    fn observe_latency(&self, seconds: f64) {
        let _ = seconds;
    }
}

/// The middleware's own state, when the application has no fields for it:
/// serializes as `{"latency": [...], "requests": <rate>, "in_flight": n,
/// "responses": [...], "request_bytes": {...}, "response_bytes": {...}}`,
/// to publish with [`StatusReporter::publish_with`](crate::StatusReporter::publish_with)
/// or serve beside the application's state with
/// [`attach_state`](crate::StatusReporter::attach_state) (JSON and
/// Prometheus metrics). A derived state: `new()`, `with_clock(&clock)` (the
/// request window's clock), snapshots ([`RequestMetricsSnapshot`]) and
/// transactions, as `#[derive(AppState)]` makes them.
#[derive(Debug, monsta_derive::AppState)]
#[monsta(crate = "monsta_core")]
pub struct RequestMetrics {
    /// Latency in seconds per method, route and status class.
    #[monsta(
        labels = ["method", "route", "status"],
        unit = "seconds",
        help = "Request latency per method, route and status class."
    )]
    pub latency: Family<(String, String, &'static str), Histogram>,
    /// Arrivals in the last minute.
    #[monsta(window = "60s", help = "Requests in the last minute.")]
    pub requests: SlidingWindow,
    /// Requests in flight.
    #[monsta(help = "Requests in flight.")]
    pub in_flight: Gauge,
    /// Responses per status class.
    #[monsta(labels = ["status"], help = "Responses per status class.")]
    pub responses: Family<&'static str, Counter>,
    /// Request body sizes (bytes), where known.
    #[monsta(
        unit = "bytes",
        buckets = exponential_buckets(64, 4, 9),
        help = "Request body sizes, where known."
    )]
    pub request_bytes: Histogram,
    /// Response body sizes (bytes), where known.
    #[monsta(
        unit = "bytes",
        buckets = exponential_buckets(64, 4, 9),
        help = "Response body sizes, where known."
    )]
    pub response_bytes: Histogram,
}

impl RequestState for RequestMetrics {
    fn latency(&self) -> Option<&LatencyFamily> {
        Some(&self.latency)
    }
    fn requests(&self) -> Option<&SlidingWindow> {
        Some(&self.requests)
    }
    fn in_flight(&self) -> Option<&Gauge> {
        Some(&self.in_flight)
    }
    fn responses(&self) -> Option<&Family<&'static str, Counter>> {
        Some(&self.responses)
    }
    fn request_bytes(&self) -> Option<&Histogram> {
        Some(&self.request_bytes)
    }
    fn response_bytes(&self) -> Option<&Histogram> {
        Some(&self.response_bytes)
    }
}

/// The JSON of the fields a state provides.
pub(super) struct Snapshot<'a>(pub(super) &'a dyn RequestState);

impl Serialize for Snapshot<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let st = self.0;
        let mut map = s.serialize_map(None)?;
        if let Some(f) = st.latency() {
            map.serialize_entry("latency", f)?;
        }
        if let Some(f) = st.requests() {
            map.serialize_entry("requests", f)?;
        }
        if let Some(f) = st.in_flight() {
            map.serialize_entry("in_flight", f)?;
        }
        if let Some(f) = st.responses() {
            map.serialize_entry("responses", f)?;
        }
        if let Some(f) = st.request_bytes() {
            map.serialize_entry("request_bytes", f)?;
        }
        if let Some(f) = st.response_bytes() {
            map.serialize_entry("response_bytes", f)?;
        }
        map.end()
    }
}
