//! States served side by side: a state attached under a name appears as
//! that key of `state` after the published state's keys, and on `/metrics`
//! with the name before its metric names; names that clash are refused;
//! detach and reset; and the request middleware's own state served beside
//! the application's through a real axum app on loopback.

#![cfg(all(feature = "derive", feature = "http"))]

mod http_support;

use std::{sync::Arc, time::Duration};

use monsta::{
    AppState, AttachError, StatusReporter,
    fields::{Counter, Gauge},
};
use serde_json::{Value, json};

#[derive(AppState)]
struct App {
    /// Jobs done.
    done: Counter,
}

#[derive(AppState)]
struct Jobs {
    /// Jobs waiting.
    queued: Gauge,
}

/// A state whose metric `jobs_queued` is what `queued` attached under
/// `jobs` would be named.
#[derive(AppState)]
struct Clashing {
    /// A gauge named like an attached state's.
    jobs_queued: Gauge,
}

fn state_of(mon: &StatusReporter) -> Value {
    serde_json::from_str::<Value>(&mon.render()).unwrap()["state"].clone()
}

fn reporter() -> StatusReporter {
    StatusReporter::builder()
        .update_holdoff(Duration::ZERO)
        .build()
}

#[test]
fn an_attached_state_follows_the_published_keys() {
    let mon = reporter();
    let app = Arc::new(App::new());
    let jobs = Arc::new(Jobs::new());
    app.done.inc(2);
    jobs.queued.set(5.0);
    mon.publish_state(app.clone());
    mon.attach_state("jobs", jobs.clone()).unwrap();
    assert_eq!(state_of(&mon), json!({"done": 2, "jobs": {"queued": 5.0}}));
    // Read afresh at each evaluation.
    jobs.queued.set(6.0);
    assert_eq!(state_of(&mon)["jobs"]["queued"], 6.0);
    // Another publication keeps it; so does a fixed value.
    mon.publish(json!({"version": "1"}));
    assert_eq!(
        state_of(&mon),
        json!({"version": "1", "jobs": {"queued": 6.0}})
    );
    // Nothing published: it is alone in the object.
    mon.publish_with(|| json!({}));
    assert_eq!(state_of(&mon), json!({"jobs": {"queued": 6.0}}));
    assert_eq!(mon.attached_states(), ["jobs"]);
}

#[test]
fn clashing_names_are_refused_with_the_reason() {
    let mon = reporter();
    let jobs = Arc::new(Jobs::new());
    mon.publish_state(Arc::new(App::new()));
    assert_eq!(
        mon.attach_state("done", jobs.clone()).unwrap_err(),
        AttachError::Key("done".into())
    );
    for bad in ["", "1x", "a-b", "a.b"] {
        assert_eq!(
            mon.attach_state(bad, jobs.clone()).unwrap_err(),
            AttachError::Name(bad.into())
        );
    }
    mon.attach_state("jobs", jobs.clone()).unwrap();
    assert_eq!(
        mon.attach_state("jobs", jobs.clone()).unwrap_err(),
        AttachError::Taken("jobs".into())
    );
    // A refused attachment changes nothing.
    assert_eq!(mon.attached_states(), ["jobs"]);
    assert_eq!(state_of(&mon), json!({"done": 0, "jobs": {"queued": 0.0}}));

    let mon = reporter();
    mon.publish(json!([1, 2]));
    let err = mon.attach_state("jobs", jobs).unwrap_err();
    assert_eq!(err, AttachError::NotAnObject);
    assert!(err.to_string().contains("not a JSON object"), "{err}");
}

#[cfg(feature = "prometheus")]
#[test]
fn metric_names_that_clash_are_refused() {
    let mon = reporter();
    mon.publish_state(Arc::new(Clashing::new()));
    let err = mon.attach_state("jobs", Arc::new(Jobs::new())).unwrap_err();
    match &err {
        AttachError::Metrics(message) => {
            assert!(message.contains("jobs_queued"), "{message}");
            assert!(message.contains("jobs.queued"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(mon.attached_states().is_empty());
}

#[test]
fn a_key_that_appears_later_is_an_evaluation_error_with_the_last_good_state() {
    let mon = reporter();
    let jobs = Arc::new(Jobs::new());
    let key = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let k = key.clone();
    mon.publish_with(move || {
        if k.load(std::sync::atomic::Ordering::Relaxed) {
            json!({"jobs": 1})
        } else {
            json!({"n": 1})
        }
    });
    mon.attach_state("jobs", jobs).unwrap();
    assert_eq!(state_of(&mon), json!({"n": 1, "jobs": {"queued": 0.0}}));
    key.store(true, std::sync::atomic::Ordering::Relaxed);
    let body: Value = serde_json::from_str(&mon.render()).unwrap();
    let error = body["internal"]["error"].as_str().unwrap();
    assert!(error.contains("key `jobs`"), "{error}");
    assert_eq!(body["state"], json!({"n": 1, "jobs": {"queued": 0.0}}));
}

#[test]
fn detach_and_reset_remove_attached_states() {
    let mon = reporter();
    mon.publish_state(Arc::new(App::new()));
    mon.attach_state("jobs", Arc::new(Jobs::new())).unwrap();
    mon.attach_state("more", Arc::new(Jobs::new())).unwrap();
    assert_eq!(mon.attached_states(), ["jobs", "more"]);
    assert!(mon.detach_state("jobs"));
    assert!(!mon.detach_state("jobs"));
    assert_eq!(state_of(&mon), json!({"done": 0, "more": {"queued": 0.0}}));
    mon.reset();
    assert!(mon.attached_states().is_empty());
    assert_eq!(state_of(&mon), json!({}));
}

#[tokio::test]
async fn an_async_source_gets_its_attached_states_too() {
    let mon = reporter();
    mon.publish_with_async(|| async { json!({"remote": true}) });
    let jobs = Arc::new(Jobs::new());
    jobs.queued.set(1.0);
    mon.attach_state("jobs", jobs).unwrap();
    let server = mon
        .start_on(http_support::listener().await)
        .expect("start_on");
    let reply = http_support::get(server.local_addr(), "/mon/v1/state").await;
    assert_eq!(
        reply.json()["state"],
        json!({"remote": true, "jobs": {"queued": 1.0}})
    );
    server.stop().await;
}

#[cfg(feature = "prometheus")]
#[test]
fn attached_metrics_carry_the_name_and_the_published_prefix() {
    #[derive(AppState)]
    #[monsta(prefix = "svc")]
    struct Prefixed {
        /// Jobs done.
        done: Counter,
    }
    let mon = reporter();
    mon.publish_state(Arc::new(Prefixed::new()));
    let jobs = Arc::new(Jobs::new());
    jobs.queued.set(3.0);
    mon.attach_state("jobs", jobs).unwrap();
    let text = mon
        .render_metrics(monsta::prometheus::Format::Text)
        .unwrap();
    assert!(text.contains("\nsvc_done_total 0\n"), "{text}");
    assert!(text.contains("\nsvc_jobs_queued 3.0\n"), "{text}");
    // A plain value published: the attached state's metrics alone.
    mon.publish(json!({"v": 1}));
    let text = mon
        .render_metrics(monsta::prometheus::Format::Text)
        .unwrap();
    assert!(text.contains("\njobs_queued 3.0\n"), "{text}");
    assert!(!text.contains("done"), "{text}");
}

#[cfg(all(feature = "middleware", feature = "prometheus", feature = "axum"))]
mod middleware {
    use super::*;
    use axum::{Router, http::StatusCode, routing::get};
    use monsta::http::RequestMonitor;

    #[tokio::test]
    async fn the_middlewares_own_state_is_served_beside_the_apps() {
        let mon = reporter();
        let app_state = Arc::new(App::new());
        app_state.done.inc(7);
        mon.publish_state(app_state);
        let monitor = RequestMonitor::default_state();
        mon.attach_state("http", monitor.own_state().expect("its own state"))
            .unwrap();
        let app = Router::new()
            .route("/hello", get(|| async { "hello" }))
            .route(
                "/fail",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
            )
            .merge(mon.router())
            .layer(monitor.clone());
        let (addr, stop, serving) = http_support::serve_router(app).await;
        for path in ["/hello", "/hello", "/fail"] {
            http_support::get(addr, path).await;
        }
        let state = http_support::get(addr, "/mon/v1/state").await.json()["state"].clone();
        assert_eq!(state["done"], 7);
        let responses = state["http"]["responses"].as_array().unwrap();
        let count = |class: &str| {
            responses
                .iter()
                .find(|s| s["labels"]["status"] == class)
                .map(|s| s["value"].as_u64().unwrap())
        };
        // The monitoring endpoints are not measured.
        assert_eq!((count("2xx"), count("5xx")), (Some(2), Some(1)));
        let text = http_support::get(addr, "/metrics").await.text();
        for line in [
            "\ndone_total 7\n",
            "\nhttp_responses_total{status=\"2xx\"} 2\n",
            "\nhttp_responses_total{status=\"5xx\"} 1\n",
            "\nhttp_latency_seconds_count{method=\"GET\",route=\"/hello\",status=\"2xx\"} 2\n",
            "\nhttp_in_flight 0",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
        // The snapshot type reads the JSON back.
        let snapshot: monsta::http::RequestMetricsSnapshot =
            serde_json::from_value(state["http"].clone()).unwrap();
        assert_eq!(snapshot.latency.len(), 2);
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), serving).await;
    }
}
