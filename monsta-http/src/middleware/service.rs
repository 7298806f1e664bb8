//! The layer's service: what it measures of each request, its response
//! future and body, and the slow endpoint's answer.

use std::{
    convert::Infallible,
    fmt,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, PoisonError, atomic::Ordering::Relaxed},
    task::{Context, Poll, ready},
    time::{Duration, Instant},
};

use axum::extract::{ConnectInfo, MatchedPath};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    HeaderMap, Method, Request, Response, StatusCode, Uri,
    body::{Body, Frame, SizeHint},
    header::{self, HeaderValue},
};
use monsta_core::{Clock, clock::Stamp};
use pin_project_lite::pin_project;
use smallvec::SmallVec;
use tower::{Layer, Service};

use super::{Alert, Inner, MAX_PATH_BYTES, RequestMonitor, SlowRequest, spans};

impl<S> Layer<S> for RequestMonitor {
    type Service = RequestMonitorService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMonitorService {
            inner,
            monitor: self.0.clone(),
        }
    }
}

/// The [`RequestMonitor`]'s service around `S`.
#[derive(Clone)]
pub struct RequestMonitorService<S> {
    inner: S,
    monitor: Arc<Inner>,
}

impl<S: fmt::Debug> fmt::Debug for RequestMonitorService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestMonitorService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

enum Route {
    Matched(MatchedPath),
    /// The index of a configured route in [`Inner::routes`]: no reference
    /// count touched per request.
    Named(usize),
    Unmatched,
}

impl Route {
    fn as_str<'a>(&'a self, inner: &'a Inner) -> &'a str {
        match self {
            Route::Matched(m) => m.as_str(),
            Route::Named(i) => inner.routes.get(*i).map_or("unmatched", |(_, name)| name),
            Route::Unmatched => "unmatched",
        }
    }
}

/// The in-flight guard of one measured request: lowers the gauge when
/// dropped, counting the request as `cancelled` unless it completed.
struct Measure {
    monitor: Arc<Inner>,
    /// On the system clock's precise counter, whatever the monitor's clock:
    /// a manual clock decides alert windows in tests, not how long a
    /// request took.
    start: Stamp,
    route: Route,
    /// What a capture needs, in one allocation, so that the response
    /// future (moved a few times on its way to being polled) stays small.
    cx: Box<Seen>,
    done: bool,
}

/// The listed headers a request has, each as its index in
/// [`Inner::headers`]; a few inline.
type Listed = SmallVec<[(usize, HeaderValue); 4]>;

/// The request as a capture shows it.
struct Seen {
    method: Method,
    uri: Uri,
    headers: Listed,
    remote: Option<SocketAddr>,
    span: Option<tracing::Span>,
}

impl Drop for Measure {
    fn drop(&mut self) {
        let state = &*self.monitor.state;
        if let Some(g) = state.in_flight() {
            g.dec(1.0);
        }
        if !self.done
            && let Some(r) = state.responses()
        {
            r.with(&"cancelled", |c| c.inc(1));
        }
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

impl Measure {
    fn finish(&mut self, status: Option<StatusCode>, response_bytes: Option<u64>) {
        self.done = true;
        let elapsed = Clock::system_ref().since(self.start);
        let inner = &*self.monitor;
        let state = &*inner.state;
        let class = status.map_or("error", status_class);
        let secs = elapsed.as_secs_f64();
        if let Some(f) = state.latency() {
            f.with(
                &(self.cx.method.as_str(), self.route.as_str(inner), class),
                |h| h.observe(secs),
            );
        }
        state.observe_latency(secs);
        if let Some(r) = state.responses() {
            r.with(&class, |c| c.inc(1));
        }
        if let (Some(h), Some(n)) = (state.response_bytes(), response_bytes) {
            h.observe(n as f64);
        }
        let threshold = if inner.route_thresholds.is_empty() {
            inner.slow_threshold
        } else {
            inner
                .route_thresholds
                .get(self.route.as_str(inner))
                .copied()
                .unwrap_or(inner.slow_threshold)
        };
        if elapsed >= threshold {
            self.capture(status, elapsed);
        }
    }

    #[cold]
    fn capture(&mut self, status: Option<StatusCode>, elapsed: Duration) {
        let inner = &*self.monitor;
        let (spans, spans_dropped) = match self.cx.span.as_ref().and_then(spans::Tree::of) {
            Some(tree) => {
                let (nodes, dropped) = tree.snapshot(Instant::now());
                (Some(nodes), dropped)
            }
            None => (None, 0),
        };
        let mut path = self.cx.uri.path().to_owned();
        spans::truncate(&mut path, MAX_PATH_BYTES);
        let headers = self
            .cx
            .headers
            .iter()
            .filter_map(|(i, value)| {
                let name = inner.headers.get(*i)?;
                let mut text = String::from_utf8_lossy(value.as_bytes()).into_owned();
                spans::truncate(&mut text, inner.max_header_bytes);
                Some((name.as_str().to_owned(), text))
            })
            .collect();
        let start = inner
            .clock
            .wall()
            .checked_sub(monsta_core::SignedDuration::try_from(elapsed).unwrap_or_default())
            .unwrap_or(monsta_core::Timestamp::UNIX_EPOCH);
        let request = Arc::new(SlowRequest {
            method: self.cx.method.as_str().to_owned(),
            path,
            route: self.route.as_str(inner).to_owned(),
            status: status.map(|s| s.as_u16()),
            duration_ms: elapsed.as_secs_f64() * 1e3,
            start: start.to_string(),
            remote_addr: self.cx.remote.map(|a| a.to_string()),
            headers,
            spans,
            spans_dropped,
        });
        inner.captured.fetch_add(1, Relaxed);
        if inner.capacity > 0 {
            let mut ring = inner.ring.lock().unwrap_or_else(PoisonError::into_inner);
            if ring.len() >= inner.capacity {
                ring.pop_front();
            }
            ring.push_back(request.clone());
        }
        if !inner.delivery.notifiers.is_empty() {
            match inner
                .dedup
                .check(&request.method, &request.route, inner.clock.now())
            {
                Some(suppressed) => inner.delivery.send(Alert {
                    request,
                    suppressed,
                }),
                None => {
                    inner.delivery.stats.suppressed.fetch_add(1, Relaxed);
                }
            }
        }
    }
}

impl Inner {
    fn measured(&self, path: &str) -> bool {
        if self.monitoring.is_match(path) {
            return false;
        }
        if let Some(allow) = &self.allow {
            return allow.is_match(path);
        }
        !self.deny.as_ref().is_some_and(|d| d.is_match(path))
    }

    fn route<B>(&self, req: &Request<B>) -> Route {
        if let Some(m) = req.extensions().get::<MatchedPath>() {
            return Route::Matched(m.clone());
        }
        let path = req.uri().path();
        self.routes
            .iter()
            .position(|(g, _)| g.is_match(path))
            .map_or(Route::Unmatched, Route::Named)
    }

    /// The first value of each listed header the request has, in the
    /// request's order: one pass over its (few) headers, comparing names,
    /// rather than a hash lookup per listed name. A name is kept as its
    /// index in [`Inner::headers`]: cloning a non-standard name (such as
    /// `x-request-id`) would allocate.
    fn headers(&self, headers: &HeaderMap) -> Listed {
        let mut out = Listed::new();
        for (name, value) in headers {
            if let Some(i) = self.headers.iter().position(|n| n == name)
                && !out.iter().any(|(j, _)| *j == i)
            {
                out.push((i, value.clone()));
            }
        }
        out
    }

    /// The answer of the slow endpoint.
    fn slow_response<B>(self: &Arc<Self>, req: &Request<B>) -> Response<Full<Bytes>> {
        let respond = |status: StatusCode, body: String| {
            let mut r = Response::new(Full::new(Bytes::from(body)));
            *r.status_mut() = status;
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        };
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut r = respond(
                StatusCode::METHOD_NOT_ALLOWED,
                r#"{"error":"method not allowed"}"#.into(),
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        let mut limit = usize::MAX;
        for pair in req.uri().query().unwrap_or("").split('&') {
            if let Some(v) = pair.strip_prefix("limit=") {
                match v.parse() {
                    Ok(n) => limit = n,
                    Err(_) => {
                        return respond(
                            StatusCode::BAD_REQUEST,
                            r#"{"error":"limit must be a whole number"}"#.into(),
                        );
                    }
                }
            }
        }
        let body = RequestMonitor(self.clone()).slow_json(limit);
        if req.method() == Method::HEAD {
            let mut r = respond(StatusCode::OK, String::new());
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            return r;
        }
        respond(StatusCode::OK, body)
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestMonitorService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body,
    ResBody: Body<Data = Bytes>,
{
    type Response = Response<MonitorBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let m = &self.monitor;
        let path = req.uri().path();
        if path == m.slow_endpoint {
            return ResponseFuture {
                kind: Kind::Answer {
                    response: Some(m.slow_response(&req)),
                },
            };
        }
        if !m.measured(path) {
            return ResponseFuture {
                kind: Kind::Passed {
                    fut: self.inner.call(req),
                },
            };
        }
        let state = &*m.state;
        if let Some(g) = state.in_flight() {
            g.inc(1.0);
        }
        if let Some(w) = state.requests() {
            w.inc(1.0);
        }
        if let (Some(h), Some(n)) = (state.request_bytes(), req.body().size_hint().exact()) {
            h.observe(n as f64);
        }
        let span = m
            .span_tree
            .then(|| tracing::info_span!(target: "monsta::request", "monsta.request"));
        let measure = Measure {
            monitor: m.clone(),
            start: Clock::system_ref().stamp(),
            route: m.route(&req),
            cx: Box::new(Seen {
                method: req.method().clone(),
                uri: req.uri().clone(),
                headers: m.headers(req.headers()),
                remote: req
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0),
                span,
            }),
            done: false,
        };
        let fut = match &measure.cx.span {
            Some(span) => span.in_scope(|| self.inner.call(req)),
            None => self.inner.call(req),
        };
        ResponseFuture {
            kind: Kind::Measured {
                fut,
                measure: Some(measure),
            },
        }
    }
}

pin_project! {
    /// The response future of a [`RequestMonitorService`].
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Measured {
            #[pin]
            fut: F,
            measure: Option<Measure>,
        },
        Passed {
            #[pin]
            fut: F,
        },
        Answer {
            response: Option<Response<Full<Bytes>>>,
        },
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body<Data = Bytes>,
{
    type Output = Result<Response<MonitorBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Measured { fut, measure } => {
                let result = {
                    let _entered = measure
                        .as_ref()
                        .and_then(|m| m.cx.span.as_ref())
                        .map(tracing::Span::enter);
                    ready!(fut.poll(cx))
                };
                if let Some(mut m) = measure.take() {
                    match &result {
                        Ok(r) => m.finish(Some(r.status()), r.body().size_hint().exact()),
                        Err(_) => m.finish(None, None),
                    }
                }
                Poll::Ready(result.map(|r| r.map(MonitorBody::inner)))
            }
            KindProj::Passed { fut } => {
                let result = ready!(fut.poll(cx));
                Poll::Ready(result.map(|r| r.map(MonitorBody::inner)))
            }
            KindProj::Answer { response } => {
                let response = response.take().expect("polled after completion");
                Poll::Ready(Ok(response.map(MonitorBody::own)))
            }
        }
    }
}

pin_project! {
    /// The response body of a [`RequestMonitorService`]: the service's, or
    /// the slow endpoint's JSON.
    pub struct MonitorBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project! {
    #[project = BodyProj]
    enum BodyKind<B> {
        Inner {
            #[pin]
            body: B,
        },
        Own {
            #[pin]
            body: Full<Bytes>,
        },
    }
}

impl<B> MonitorBody<B> {
    fn inner(body: B) -> Self {
        Self {
            kind: BodyKind::Inner { body },
        }
    }

    fn own(body: Full<Bytes>) -> Self {
        Self {
            kind: BodyKind::Own { body },
        }
    }
}

impl<B: Body<Data = Bytes>> Body for MonitorBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            BodyProj::Inner { body } => body.poll_frame(cx),
            BodyProj::Own { body } => body
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(|e: Infallible| match e {}))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Inner { body } => body.is_end_stream(),
            BodyKind::Own { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Inner { body } => body.size_hint(),
            BodyKind::Own { body } => body.size_hint(),
        }
    }
}
