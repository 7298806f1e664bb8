//! A state callback that panics or fails is logged through `tracing`, with
//! the endpoint and the error, both when a request evaluates it on the
//! reporter's worker thread and when `render` runs it on the calling thread.

#![cfg(feature = "http")]

mod http_support;

use std::{
    fmt::Write as _,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use monsta::{ManualClock, StatusReporter};
use serde_json::json;
use tracing::{
    Event, Metadata, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};

/// Records every event as `LEVEL target: fields`.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut fields = Fields(format!("{} {}:", meta.level(), meta.target()));
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn recorder() -> &'static Recorder {
    static RECORDER: OnceLock<Recorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let recorder = Recorder::default();
        tracing::subscriber::set_global_default(recorder.clone()).expect("first subscriber");
        recorder
    })
}

fn logged(needle: &str) -> Vec<String> {
    recorder()
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains(needle))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_failures_are_logged_with_tracing() {
    let recorder = recorder();
    let clock = ManualClock::new();
    let mon = StatusReporter::builder()
        .endpoint("/health/state")
        .unwrap()
        .clock(clock.clone())
        .build();
    let server = mon.start_on(http_support::listener().await).unwrap();

    mon.publish_with(|| -> serde_json::Value { panic!("disk on fire") });
    let reply = http_support::get(server.local_addr(), "/health/state").await;
    assert_eq!(reply.status, 200);
    let lines = logged("disk on fire");
    assert_eq!(lines.len(), 1, "{:?}", recorder.0.lock().unwrap());
    assert!(lines[0].starts_with("ERROR monsta:"), "{}", lines[0]);
    assert!(
        lines[0].contains("state callback panicked: disk on fire"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("/health/state"),
        "names the endpoint: {}",
        lines[0]
    );

    mon.try_publish_with(|| Err::<(), _>("no route to db"));
    let _ = mon.render();
    let lines = logged("no route to db");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("state callback failed: no route to db"),
        "{}",
        lines[0]
    );

    // Within the holdoff the cached error body is served: not logged again.
    let _ = http_support::get(server.local_addr(), "/health/state").await;
    assert_eq!(logged("no route to db").len(), 1);
    clock.advance(Duration::from_secs(5));
    let _ = http_support::get(server.local_addr(), "/health/state").await;
    assert_eq!(
        logged("no route to db").len(),
        2,
        "logged once per evaluation"
    );

    mon.publish(json!({"fine": true}));
    server.stop().await;
    assert!(
        !logged("serving http://").is_empty() && !logged("stopped serving").is_empty(),
        "the server logs its start and stop"
    );
}
