//! What can be published, and the JSON made from it: the sources, the
//! outcome of evaluating one, and the body `{"internal": …, "state": …}`.

use std::{any::Any, fmt::Display, future::Future, pin::Pin, sync::Arc};

use bytes::Bytes;
use serde::Serialize;
use tokio::task::JoinError;

/// The state's JSON, or why there is none.
pub(crate) type Outcome = Result<Bytes, String>;
type SyncSource = dyn Fn() -> Outcome + Send + Sync;
type BoxedOutcome = Pin<Box<dyn Future<Output = Outcome> + Send>>;
type AsyncSource = dyn Fn() -> BoxedOutcome + Send + Sync;

/// The state of nothing published.
pub(crate) const EMPTY_STATE: &[u8] = b"{}";

/// What was published.
#[derive(Clone)]
pub(crate) enum Source {
    /// Nothing (yet, or since a reset): the state is `{}`.
    Empty,
    /// A fixed value, serialized when it was published.
    Fixed(Outcome),
    /// A callback, run on the reporter's worker thread.
    Sync(Arc<SyncSource>),
    /// An async callback, run as a task.
    Async(Arc<AsyncSource>),
}

impl Source {
    /// A fixed value, serialized now (an error is logged).
    pub(crate) fn fixed<T: Serialize>(value: &T) -> Self {
        let outcome = to_json(value);
        if let Err(error) = &outcome {
            tracing::error!(target: "monsta", "{error}");
        }
        Source::Fixed(outcome)
    }

    /// A callback returning the state.
    pub(crate) fn callback<F, T>(callback: F) -> Self
    where
        F: Fn() -> T + Send + Sync + 'static,
        T: Serialize,
    {
        Source::Sync(Arc::new(move || to_json(&callback())))
    }

    /// A callback returning the state or an error.
    pub(crate) fn fallible<F, T, E>(callback: F) -> Self
    where
        F: Fn() -> Result<T, E> + Send + Sync + 'static,
        T: Serialize,
        E: Display,
    {
        Source::Sync(Arc::new(move || {
            callback()
                .map_err(|e| format!("state callback failed: {e}"))
                .and_then(|state| to_json(&state))
        }))
    }

    /// An async callback resolving to the state.
    pub(crate) fn future<F, Fut, T>(callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Serialize,
    {
        Source::Async(Arc::new(move || -> BoxedOutcome {
            let fut = callback();
            Box::pin(async move { to_json(&fut.await) })
        }))
    }

    /// An async callback resolving to the state or an error.
    pub(crate) fn fallible_future<F, Fut, T, E>(callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize,
        E: Display,
    {
        Source::Async(Arc::new(move || -> BoxedOutcome {
            let fut = callback();
            Box::pin(async move {
                fut.await
                    .map_err(|e| format!("state callback failed: {e}"))
                    .and_then(|state| to_json(&state))
            })
        }))
    }
}

/// Serializes `value` as the state's JSON.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Outcome {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| format!("state could not be serialized: {e}"))
}

/// What `internal.error` says of a callback that panicked.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    let detail = if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.as_str()
    } else {
        "(no message)"
    };
    format!("state callback panicked: {detail}")
}

/// What `internal.error` says of an async callback's task that failed.
pub(crate) fn join_error_message(error: JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => panic_message(payload.as_ref()),
        Err(_) => CANCELLED.to_owned(),
    }
}

/// What `internal.error` says of an evaluation that was dropped unfinished.
pub(crate) const CANCELLED: &str = "state callback was cancelled";

/// `{"internal":{"uptime":N[,"error":"..."]},"state":STATE}`.
pub(crate) fn assemble(uptime: u64, error: Option<&str>, state: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(state.len() + 48);
    out.extend_from_slice(b"{\"internal\":{\"uptime\":");
    out.extend_from_slice(uptime.to_string().as_bytes());
    if let Some(error) = error {
        out.extend_from_slice(b",\"error\":");
        // A JSON string literal, escaped as JSON needs.
        let quoted = serde_json::Value::String(error.to_owned()).to_string();
        out.extend_from_slice(quoted.as_bytes());
    }
    out.extend_from_slice(b"},\"state\":");
    out.extend_from_slice(state);
    out.push(b'}');
    Bytes::from(out)
}
