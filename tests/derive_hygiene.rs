//! What `#[derive(AppState)]` generates depends on nothing in the caller's
//! scope: not the prelude, not a `use`, not the crate's name. Lints the
//! generated code could trip are denied here.

#![deny(warnings, unused_qualifications, missing_docs)]

/// A state whose module shadows the prelude names generated code could use.
pub mod shadowed {
    #![allow(dead_code, non_camel_case_types)]

    use monsta::AppState;
    use monsta::fields::{Counter, Ewma, Gauge, PeriodicSum, SlidingWindow, Value};

    struct Result;
    struct Option;
    struct Some;
    struct None;
    struct Ok;
    struct Err;
    struct Default;
    struct Box;
    struct String;
    struct Vec;
    struct Clone;
    struct Debug;
    struct PartialEq;
    struct From;
    struct Duration;
    struct FnOnce;
    struct Send;
    struct Sync;
    mod core {}
    mod std {}
    mod serde {}

    /// The child.
    #[derive(AppState)]
    pub struct Inner {
        /// A gauge.
        pub depth: Gauge,
    }

    /// The state.
    #[derive(AppState)]
    #[monsta(prefix = "shadowed")]
    pub struct Shadowed {
        /// A windowed rate.
        #[monsta(window = 2.5, unit = "bytes")]
        pub rate: SlidingWindow,
        /// Reset at six.
        #[monsta(reset_at = "06:00:30", tz = "UTC")]
        pub today: PeriodicSum,
        /// An average.
        #[monsta(alpha = 1, preset = -2.5)]
        pub avg: Ewma,
        /// Starts at 3.
        #[monsta(default = 3)]
        pub calls: Counter,
        /// Starts at 2.
        #[monsta(default = 2)]
        pub level: Gauge,
        /// A string from a literal.
        #[monsta(default = "up")]
        pub status: Value<::std::string::String>,
        /// A list, as written.
        #[monsta(default = ::std::vec![1, 2])]
        pub list: Value<::std::vec::Vec<u8>>,
        /// Not in the state.
        #[monsta(skip)]
        pub extra: ::std::vec::Vec<u8>,
        /// The child.
        #[monsta(flatten)]
        pub inner: Inner,
    }
}

/// States declared without any `use`: every path spelled out.
pub mod no_use {
    #![no_implicit_prelude]

    /// A state in a module without a prelude.
    #[derive(::monsta::AppState)]
    #[monsta(prefix = "bare")]
    pub struct Bare {
        /// Calls.
        #[monsta(unit = "calls")]
        pub calls: ::monsta::fields::Counter,
        /// Status.
        #[monsta(default = "ok", rename = "state")]
        pub status: ::monsta::fields::Value<::std::string::String>,
        /// Latency quantiles.
        #[monsta(window = "1m", quantiles = [50, 99], max_samples = 100)]
        pub latency: ::monsta::fields::SlidingPercentiles,
    }

    /// A private state whose generated methods are never called: no
    /// dead-code warning.
    #[derive(::monsta::AppState)]
    struct Unused {
        /// A bucket.
        #[monsta(capacity = 1.5, leak_rate = 0.5)]
        bucket: ::monsta::fields::LeakyBucket,
        /// A sample.
        #[monsta(window = "500ms", zero = -1)]
        sample: ::monsta::fields::SampledWindow,
    }
}

/// The monsta crate under another name, with `#[monsta(crate = "...")]`.
pub mod renamed {
    use monsta as other;

    /// A state built through `other::`.
    #[derive(other::AppState)]
    #[monsta(crate = "other")]
    pub struct Renamed {
        /// Calls.
        pub calls: other::fields::Counter,
    }

    /// The same, with an absolute path.
    #[derive(other::AppState)]
    #[monsta(crate = "::monsta")]
    pub struct Absolute {
        /// Calls.
        pub calls: other::fields::Counter,
    }
}

#[test]
fn shadowed_prelude_state_works() {
    let clock = monsta::ManualClock::new();
    let state = shadowed::Shadowed::with_clock(&clock.clock());
    state.rate.inc(1.0);
    state.avg.update(4.0);
    state.inner.depth.set(1.5);
    assert_eq!(state.rate.window(), std::time::Duration::from_millis(2500));
    assert_eq!(state.today.reset_at().second(), 30);
    assert_eq!(state.avg.alpha(), 1.0);
    assert_eq!(
        serde_json::to_value(&state).unwrap(),
        serde_json::json!({
            "rate": 1.0, "today": 0.0, "avg": 4.0, "calls": 3, "level": 2.0,
            "status": "up", "list": [1, 2], "depth": 1.5
        })
    );
    let snapshot = state.snapshot();
    assert_eq!(snapshot.inner.depth, 1.5);
    assert_eq!(snapshot.list, [1, 2]);
    use monsta::AppState;
    assert_eq!(shadowed::Shadowed::PREFIX, Some("shadowed"));
    assert_eq!(shadowed::Shadowed::describe()[0].unit, Some("bytes"));
}

#[test]
fn state_without_use_works() {
    let state = no_use::Bare::new();
    state.calls.inc(2);
    state.latency.update(1.0);
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(json["calls"], 2);
    assert_eq!(json["state"], "ok");
    assert_eq!(json["latency"]["p99"], 1.0);
    let back: no_use::BareSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back.status, "ok");
    use monsta::AppState;
    assert_eq!(no_use::Bare::PREFIX, Some("bare"));
    assert_eq!(no_use::Bare::describe()[0].unit, Some("calls"));
}

#[test]
fn renamed_crate_works() {
    let state = renamed::Renamed::new();
    state.transaction(|tx| tx.calls.inc(5));
    assert_eq!(serde_json::to_string(&state).unwrap(), r#"{"calls":5}"#);
    let state = renamed::Absolute::new();
    assert_eq!(state.snapshot().calls, 0);
}

#[test]
fn state_declared_in_a_function_works() {
    use monsta::fields::Counter;

    /// A local state.
    #[derive(monsta::AppState)]
    struct Local {
        /// Hits.
        hits: Counter,
    }
    let state = Local::new();
    state.hits.inc(1);
    assert_eq!(state.snapshot().hits, 1);
}
