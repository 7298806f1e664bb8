//! The errors of building a reporter and of starting its server.

use std::{io, net::SocketAddr, time::Duration};

/// A [`StatusReporterBuilder`](crate::StatusReporterBuilder) setter was given
/// a value it cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The endpoint path does not start with `/`.
    #[error("endpoint must start with `/`, got `{0}`")]
    EndpointNotAbsolute(String),
    /// The endpoint path holds a character that is not a plain path character
    /// (a query `?`, a fragment `#`, a space, or a router pattern character
    /// such as `{`, `}`, `:` or `*`).
    #[error("endpoint `{endpoint}` contains `{ch}`: use letters, digits and `/-._~!$&'()+,;=@%`")]
    EndpointCharacter {
        /// The endpoint given.
        endpoint: String,
        /// The first character that is not allowed.
        ch: char,
    },
    /// The metrics endpoint was given the JSON endpoint's path.
    #[error(
        "the metrics endpoint `{0}` is the path of the JSON endpoint: give them different paths"
    )]
    SameEndpoint(String),
    /// An extension's path, or an endpoint set after an extension was
    /// attached, is a path the reporter serves already: the JSON endpoint,
    /// the metrics endpoint, the health endpoint or another extension's
    /// path.
    #[error(
        "the path `{0}` is served already (by the JSON, metrics or health endpoint, or an extension): give each its own path"
    )]
    PathTaken(String),
    /// A duration that must be positive was zero.
    #[error("{option} must be positive, got {value:?}")]
    ZeroDuration {
        /// The builder option.
        option: &'static str,
        /// The value given.
        value: Duration,
    },
    /// A count that must be positive was zero.
    #[error("{option} must be at least 1, got 0")]
    ZeroCount {
        /// The builder option.
        option: &'static str,
    },
    /// `max_connections` was zero or larger than a semaphore can count.
    #[error("max_connections must be in 1..={max}, got {value}")]
    MaxConnections {
        /// The value given.
        value: usize,
        /// The largest value accepted.
        max: usize,
    },
    /// `max_header_size` was too small to hold a request line and a few
    /// ordinary headers.
    #[error("max_header_size must be at least {min} bytes, got {value}")]
    MaxHeaderSize {
        /// The value given.
        value: usize,
        /// The smallest value accepted.
        min: usize,
    },
}

/// The server could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Binding the address failed: it is in use, or not an address of this
    /// host, or the port needs privileges.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address that could not be bound.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The listen address could not be resolved to socket addresses.
    #[error("could not resolve the listen address: {0}")]
    Resolve(#[source] io::Error),
    /// The listen address resolved to no socket address at all.
    #[error("the listen address resolved to no socket address")]
    NoAddress,
    /// The local address of the listener could not be read.
    #[error("could not read the listener's local address: {0}")]
    LocalAddr(#[source] io::Error),
    /// A function that spawns onto the caller's tokio runtime was called
    /// outside of one.
    #[error(
        "no tokio runtime here: call this from within a tokio runtime, or use `start_in_thread`"
    )]
    NoRuntime,
    /// [`start_blocking`](crate::StatusReporter::start_blocking) was called
    /// from within a tokio runtime, where it would block the runtime.
    #[error("already inside a tokio runtime: use `start` there, or `start_in_thread`")]
    InsideRuntime,
    /// The server's thread or its runtime could not be created.
    #[error("could not start the server thread: {0}")]
    Thread(#[source] io::Error),
    /// The security settings cannot be used: a TLS certificate or key file
    /// that cannot be read or parsed, or (for the process-wide reporter) a
    /// bad `web.config.yml` named by `MONSTA_WEB_CONFIG`.
    #[error("{0}")]
    Security(#[source] crate::SecurityError),
    /// The singleton's server is already running.
    #[error("the monsta server is already running on {0}")]
    AlreadyRunning(SocketAddr),
}

/// A state could not be attached beside the published one
/// ([`StatusReporter::attach_state`](crate::StatusReporter::attach_state)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttachError {
    /// The name is not a letter or `_` followed by letters, digits and `_`.
    #[error(
        "an attached state's name is a letter or `_` followed by letters, digits and `_`, got `{0}`"
    )]
    Name(String),
    /// A state is attached under this name already.
    #[error("a state is attached under `{0}` already: detach it first, or choose another name")]
    Taken(String),
    /// The published state has a key of this name.
    #[error("the published state has a key `{0}`: attach under another name, or rename the key")]
    Key(String),
    /// The published state's JSON is not an object, so nothing can sit
    /// beside it.
    #[error("the published state is not a JSON object, so no state can be attached beside it")]
    NotAnObject,
    /// Two metric names would clash (feature `prometheus`).
    #[error("{0}")]
    Metrics(String),
}
