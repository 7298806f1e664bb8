use thiserror::Error;

/// Why an exposition could not be rendered.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// prometheus-client's text encoder reported an error.
    #[error("encoding the exposition failed")]
    Encode(#[from] std::fmt::Error),
    /// Two fields would export metric families of the same name, and
    /// Prometheus would read them as one: rename one of them.
    #[error(
        "fields `{first}` and `{second}` would both export the metric name `{name}`; \
         rename one of them (`#[monsta(rename = \"...\")]`)"
    )]
    Collision {
        /// The metric name both would use, in either text format.
        name: String,
        /// The field that uses it first, in declaration order (its Rust
        /// path, such as `db.queries`, or "the uptime metric").
        first: String,
        /// The field that uses it again.
        second: String,
    },
}

impl From<crate::model::Collision> for Error {
    fn from(c: crate::model::Collision) -> Self {
        Error::Collision {
            name: c.name,
            first: c.first,
            second: c.second,
        }
    }
}
