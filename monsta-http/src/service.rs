//! [`StatusService`]: the endpoint as a hyper and a tower service, to mount in
//! a host app's own server.

use std::{
    convert::Infallible,
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use hyper::Request;

use crate::{
    auth::{Gate, verdict_response},
    engine::Engine,
    respond::{Call, Route, StatusResponse, respond},
};

/// The endpoint of a [`StatusReporter`](crate::StatusReporter) as a service: both a
/// [`hyper::service::Service`], to pass to hyper's `serve_connection`, and a
/// [`tower::Service`], to mount in a tower stack. Made by
/// [`StatusReporter::service`](crate::StatusReporter::service).
///
/// It answers `GET` and `HEAD` on the reporter's
/// [`endpoint`](crate::StatusReporter::endpoint) path (and, with the `prometheus`
/// feature, on its `metrics_endpoint`), 404 on any other path and 405 (with
/// `Allow: GET, HEAD`) for other methods. The request body is not read.
///
/// # Examples
///
/// Serving one connection with hyper:
///
/// ```no_run
/// use hyper_util::rt::TokioIo;
/// use monsta_http::StatusReporter;
///
/// # async fn run() -> std::io::Result<()> {
/// let mon = StatusReporter::new();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let (stream, _) = listener.accept().await?;
/// hyper::server::conn::http1::Builder::new()
///     .serve_connection(TokioIo::new(stream), mon.service())
///     .await
///     .ok();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct StatusService {
    engine: Arc<Engine>,
    /// The endpoint a router has matched already (it may have stripped a
    /// prefix from the path); `None` to go by the path, with 404 for others.
    route: Option<Route>,
}

impl fmt::Debug for StatusService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusService")
            .field("endpoint", &self.engine.config().endpoint())
            .field("route", &self.route)
            .finish()
    }
}

impl StatusService {
    /// The service of `engine`'s endpoints, by path.
    pub(crate) fn new(engine: Arc<Engine>) -> Self {
        StatusService {
            engine,
            route: None,
        }
    }

    /// The service of `route` for a router that has matched the path
    /// already.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn routed(engine: Arc<Engine>, route: Route) -> Self {
        StatusService {
            engine,
            route: Some(route),
        }
    }

    fn call_inner<B>(&self, request: &Request<B>) -> ResponseFuture {
        let engine = Arc::clone(&self.engine);
        let call = Call::new(engine.config(), request, self.route);
        let security = engine.config().security();
        let gate = Gate::new(security, request, request.uri().path());
        ResponseFuture(Box::pin(async move {
            let security = engine.config().security();
            if let Some(answer) = verdict_response(security, gate.check().await) {
                return Ok(answer);
            }
            Ok(respond(&engine, call).await)
        }))
    }
}

impl<B> hyper::service::Service<Request<B>> for StatusService {
    type Response = StatusResponse;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<B>) -> ResponseFuture {
        self.call_inner(&request)
    }
}

impl<B> tower::Service<Request<B>> for StatusService {
    type Response = StatusResponse;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> ResponseFuture {
        self.call_inner(&request)
    }
}

/// The future of a [`StatusService`] call. It never fails.
pub struct ResponseFuture(Pin<Box<dyn Future<Output = Result<StatusResponse, Infallible>> + Send>>);

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<StatusResponse, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}
