//! Request routing and response building: which endpoint a request is for,
//! and the one function that answers it, for the JSON endpoint and the
//! metrics endpoint alike.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Method, Request, Response, StatusCode,
    header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue},
};

use crate::{builder::Config, engine::Engine, extension};

/// What [`StatusService`](crate::StatusService) answers with.
pub type StatusResponse = Response<Full<Bytes>>;

/// The methods the endpoints answer; a 405 names them in `Allow`.
const ALLOWED: &str = "GET, HEAD";

/// Which endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// The JSON endpoint.
    State,
    /// The Prometheus endpoint.
    #[cfg(feature = "prometheus")]
    Metrics,
}

impl Route {
    /// The endpoint at `path`, if any; the JSON endpoint's path wins should
    /// the two be the same.
    fn of(config: &Config, path: &str) -> Option<Route> {
        if path == config.endpoint() {
            return Some(Route::State);
        }
        #[cfg(feature = "prometheus")]
        if path == config.metrics_endpoint() {
            return Some(Route::Metrics);
        }
        None
    }
}

/// What a response depends on, taken from the request so that the response
/// can be made after the request is gone.
#[derive(Debug)]
pub(crate) struct Call {
    method: Method,
    route: Option<Route>,
    /// The `Accept` headers joined with `,`, for the metrics endpoint.
    #[cfg(feature = "prometheus")]
    accept: Option<String>,
    /// The path and query, off the endpoints, for the extensions.
    other: Option<(String, Option<String>)>,
}

impl Call {
    /// The call of `request`, for `route` when a router has matched the
    /// path already, else for the endpoint its path names in `config`.
    pub(crate) fn new<B>(config: &Config, request: &Request<B>, route: Option<Route>) -> Call {
        let route = route.or_else(|| Route::of(config, request.uri().path()));
        Call {
            method: request.method().clone(),
            route,
            #[cfg(feature = "prometheus")]
            accept: match route {
                Some(Route::Metrics) => accept(request.headers()),
                _ => None,
            },
            other: route.is_none().then(|| {
                let uri = request.uri();
                (uri.path().to_owned(), uri.query().map(str::to_owned))
            }),
        }
    }
}

/// The values of the `Accept` headers joined with `,` (as HTTP allows a list
/// header to be split), or `None` if there is none; values that are not
/// text are left out.
#[cfg(feature = "prometheus")]
fn accept(headers: &hyper::HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(hyper::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// An answer before it is a response.
struct Answer {
    status: StatusCode,
    content_type: &'static str,
    /// Whether it may be cached (the endpoints' answers may not).
    no_store: bool,
    body: Bytes,
}

impl Answer {
    fn ok(content_type: &'static str, body: Bytes) -> Self {
        Answer {
            status: StatusCode::OK,
            content_type,
            no_store: true,
            body,
        }
    }

    /// A short `text/plain` answer.
    fn plain(status: StatusCode, text: &'static str) -> Self {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            no_store: false,
            body: Bytes::from_static(text.as_bytes()),
        }
    }
}

/// Answers a call: 404 off the endpoints, 405 for methods other than `GET`
/// and `HEAD`, else the endpoint's body (without it for `HEAD`, whose
/// `Content-Length` is the body's).
pub(crate) async fn respond(engine: &Arc<Engine>, call: Call) -> StatusResponse {
    let extensions = engine.config().extensions();
    let Some(route) = call.route else {
        let found = call
            .other
            .as_ref()
            .and_then(|(path, query)| extension::answer(extensions, path, query.as_deref()));
        return match found {
            Some(ext) if matches!(call.method, Method::GET | Method::HEAD) => {
                let answer = Answer {
                    status: ext.status,
                    content_type: ext.content_type,
                    no_store: true,
                    body: ext.body,
                };
                response(answer, call.method == Method::HEAD)
            }
            Some(_) => not_allowed(),
            None => response(Answer::plain(StatusCode::NOT_FOUND, "not found\n"), false),
        };
    };
    let head = match call.method {
        Method::GET => false,
        Method::HEAD => true,
        _ => return not_allowed(),
    };
    let answer = match route {
        Route::State => Answer::ok(
            "application/json",
            extension::decorate_body(extensions, engine.body().await),
        ),
        #[cfg(feature = "prometheus")]
        Route::Metrics => {
            let (format, content_type) = monsta_prometheus::negotiate(call.accept.as_deref());
            match engine.metrics(format).await {
                Ok(text) => Answer::ok(
                    content_type,
                    extension::decorate_metrics(
                        extensions,
                        text,
                        format == monsta_prometheus::Format::OpenMetrics,
                    ),
                ),
                Err(()) => Answer::plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "metrics are unavailable, see the service's log\n",
                ),
            }
        }
    };
    response(answer, head)
}

/// `405 Method Not Allowed`, with `Allow`.
fn not_allowed() -> StatusResponse {
    let answer = Answer::plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    let mut response = response(answer, false);
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(ALLOWED));
    response
}

/// `400 Bad Request` with a short `text/plain` body (without it if `head`).
pub(crate) fn bad_request(text: &'static str, head: bool) -> StatusResponse {
    response(Answer::plain(StatusCode::BAD_REQUEST, text), head)
}

/// The response of `answer`, without its body if `head`.
fn response(answer: Answer, head: bool) -> StatusResponse {
    let length = HeaderValue::from(answer.body.len());
    let body = if head { Bytes::new() } else { answer.body };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    if answer.no_store {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(CONTENT_LENGTH, length);
    response
}
