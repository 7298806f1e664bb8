//! States published side by side: a reporter serves its published state
//! and, beside it, the states attached under a name
//! ([`StatusReporter::attach_state`](crate::StatusReporter::attach_state)).
//!
//! The rule: an attached state is the value of the key `<name>` in the
//! JSON `state` object, after the published state's own keys, and its
//! metrics are named `<name>_<field>` (after the published state's
//! prefix), as a flattened child's would be. A name the published state
//! also has as a key, or metric names that clash, are rejected.

use std::{collections::HashMap, sync::Arc};

use monsta_core::AppState;
use serde::de::IgnoredAny;

use crate::source::{Outcome, Source, join_error_message, to_json};

/// A state attached beside the published one.
#[derive(Clone)]
pub(crate) struct Attachment {
    pub(crate) name: &'static str,
    /// The state's JSON: a consistent snapshot of it.
    json: Arc<dyn Fn() -> Outcome + Send + Sync>,
    #[cfg(feature = "prometheus")]
    pub(crate) metrics: monsta_prometheus::Attached,
}

impl Attachment {
    pub(crate) fn of_state<S: AppState>(name: &'static str, state: Arc<S>) -> Self {
        #[cfg(feature = "prometheus")]
        let metrics = monsta_prometheus::Attached::new(name, Arc::clone(&state));
        Attachment {
            name,
            json: Arc::new(move || to_json(&state.snapshot())),
            #[cfg(feature = "prometheus")]
            metrics,
        }
    }
}

/// Whether `name` can name an attached state: a letter or `_`, then
/// letters, digits and `_` (so it is a JSON key and a metric-name prefix
/// as it is written).
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Why attached states cannot sit beside a published state's JSON.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Clash {
    /// The published state is not a JSON object.
    NotAnObject,
    /// The published state has this key, which an attached state is named.
    Key(&'static str),
}

impl Clash {
    fn message(&self) -> String {
        match self {
            Clash::NotAnObject => "the published state is not a JSON object, so the attached \
                                   states cannot be put beside it"
                .to_owned(),
            Clash::Key(name) => format!(
                "the published state has a key `{name}`, which is also the name of an attached \
                 state: rename one of them"
            ),
        }
    }
}

/// Checks that `main` is a JSON object with none of the `attached` names
/// among its keys.
pub(crate) fn check_keys(main: &[u8], attached: &[Attachment]) -> Result<(), Clash> {
    let keys: HashMap<String, IgnoredAny> =
        serde_json::from_slice(main).map_err(|_| Clash::NotAnObject)?;
    match attached.iter().find(|a| keys.contains_key(a.name)) {
        Some(a) => Err(Clash::Key(a.name)),
        None => Ok(()),
    }
}

/// The published state's JSON `main` with each attached state's after its
/// keys: `{...main..., "<name>": {...}, ...}`.
pub(crate) fn merge(main: Outcome, attached: &[Attachment]) -> Outcome {
    let main = main?;
    check_keys(&main, attached).map_err(|clash| clash.message())?;
    // serde_json wrote it: `{`, the entries, `}`, with no space around.
    let inner = &main[1..main.len() - 1];
    let mut out = Vec::with_capacity(main.len() + 64 * attached.len());
    out.push(b'{');
    out.extend_from_slice(inner);
    for (i, a) in attached.iter().enumerate() {
        let json = (a.json)().map_err(|e| format!("attached state `{}`: {e}", a.name))?;
        if i > 0 || !inner.is_empty() {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(a.name.as_bytes());
        out.extend_from_slice(b"\":");
        out.extend_from_slice(&json);
    }
    out.push(b'}');
    Ok(out.into())
}

/// `base` with the `attached` states merged into what it evaluates to. A
/// fixed value becomes a callback, so the attached states are read afresh
/// at each evaluation; an async callback's result is merged on tokio's
/// blocking pool (reading a state waits for its transaction).
pub(crate) fn compose(base: &Source, attached: &Arc<[Attachment]>) -> Source {
    if attached.is_empty() {
        return base.clone();
    }
    let attached = Arc::clone(attached);
    match base {
        Source::Empty => Source::Sync(Arc::new(move || {
            merge(Ok(bytes::Bytes::from_static(b"{}")), &attached)
        })),
        Source::Fixed(outcome) => {
            let outcome = outcome.clone();
            Source::Sync(Arc::new(move || merge(outcome.clone(), &attached)))
        }
        Source::Sync(callback) => {
            let callback = Arc::clone(callback);
            Source::Sync(Arc::new(move || merge(callback(), &attached)))
        }
        Source::Async(callback) => {
            let callback = Arc::clone(callback);
            Source::Async(Arc::new(move || {
                let main = callback();
                let attached = Arc::clone(&attached);
                Box::pin(async move {
                    let main = main.await;
                    tokio::task::spawn_blocking(move || merge(main, &attached))
                        .await
                        .unwrap_or_else(|e| Err(join_error_message(e)))
                })
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(name: &'static str, json: &'static str) -> Attachment {
        Attachment {
            name,
            json: Arc::new(move || Ok(bytes::Bytes::from_static(json.as_bytes()))),
            #[cfg(feature = "prometheus")]
            metrics: monsta_prometheus::Attached::new(name, Arc::new(crate::metrics::NoState)),
        }
    }

    fn merged(main: &'static str, attached: &[Attachment]) -> Result<String, String> {
        merge(Ok(bytes::Bytes::from_static(main.as_bytes())), attached)
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[test]
    fn attached_states_follow_the_published_keys() {
        let a = [fixed("http", r#"{"n":1}"#), fixed("jobs", "[]")];
        assert_eq!(
            merged(r#"{"x":true}"#, &a).unwrap(),
            r#"{"x":true,"http":{"n":1},"jobs":[]}"#
        );
        assert_eq!(merged("{}", &a).unwrap(), r#"{"http":{"n":1},"jobs":[]}"#);
        assert_eq!(merged("{}", &[]).unwrap(), "{}");
    }

    #[test]
    fn a_key_of_the_published_state_or_a_non_object_is_an_error() {
        let a = [fixed("http", "1")];
        let err = merged(r#"{"a":{"http":1},"http":2}"#, &a).unwrap_err();
        assert!(err.contains("key `http`"), "{err}");
        // A nested key of that name is not a clash.
        assert!(merged(r#"{"a":{"http":1}}"#, &a).is_ok());
        for main in ["[1]", "3", "\"s\"", "null"] {
            let err = merged(main, &a).unwrap_err();
            assert!(err.contains("not a JSON object"), "{main}: {err}");
        }
    }

    #[test]
    fn an_error_of_the_published_state_or_of_an_attached_one_is_kept() {
        let a = [Attachment {
            json: Arc::new(|| Err("broken".to_owned())),
            ..fixed("http", "1")
        }];
        assert_eq!(merge(Err("main".to_owned()), &a).unwrap_err(), "main");
        let err = merged("{}", &a).unwrap_err();
        assert_eq!(err, "attached state `http`: broken");
    }

    #[test]
    fn names_are_identifiers() {
        for good in ["http", "_x", "a1_b"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "1a", "a-b", "a b", "é", "a.b"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
