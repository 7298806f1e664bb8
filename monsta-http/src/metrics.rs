//! The metrics of a published state (feature `prometheus`): what the
//! Prometheus endpoint renders, and the [`MetricsLane`] that renders it.
//!
//! A scrape is not cached for a holdoff, so that Prometheus gets the values
//! of the moment it scrapes and the two formats need no cache each; reading
//! an `AppState` costs a few atomic loads under its lock. Reading it waits
//! for its open transaction, though, so the rendering runs on a worker
//! thread of the reporter's own, and scrapes that arrive while one is under
//! way share it: however many scrapes come, and however long a transaction
//! holds the lock, there is one rendering at a time and no thread per
//! request. A scrape waits at most the `callback_timeout` for it.

#[cfg(not(feature = "prometheus"))]
pub(crate) use disabled::*;
#[cfg(feature = "prometheus")]
pub(crate) use enabled::*;

#[cfg(not(feature = "prometheus"))]
mod disabled {
    use std::sync::Arc;

    use monsta_core::AppState;

    use crate::attach::Attachment;

    /// What the metrics endpoint renders: never anything without the
    /// feature.
    pub(crate) type Metrics = Option<std::convert::Infallible>;

    /// How the metrics of a published source are made: not at all without
    /// the feature.
    /// (A field, not a unit struct, so that `MetricsOf::default()` reads
    /// the same with and without the feature.)
    #[derive(Clone, Default)]
    pub(crate) struct MetricsOf(());

    impl MetricsOf {
        pub(crate) fn of_state<S: AppState>(_state: &Arc<S>) -> Self {
            MetricsOf(())
        }

        pub(crate) fn with(&self, _attached: &[Attachment]) -> Metrics {
            None
        }
    }
}

#[cfg(feature = "prometheus")]
mod enabled {
    use std::{
        sync::{Arc, Mutex, PoisonError},
        time::Duration,
    };

    use bytes::Bytes;
    use monsta_core::AppState;
    use monsta_prometheus::{Attached, Format, Render, StateCollector};

    use crate::{
        attach::Attachment,
        worker::{Flight, Worker},
    };

    /// What the metrics endpoint renders: the published `AppState` (with
    /// the attached states) as a collector, or `None` (only the uptime
    /// metric) when there is no state.
    pub(crate) type Metrics = Option<Arc<dyn Render>>;

    type Factory = dyn Fn(&[Attached]) -> Arc<dyn Render> + Send + Sync;

    /// How the metrics of a published source are made, with the states
    /// attached beside it: from its `AppState`, or none for another source.
    #[derive(Clone, Default)]
    pub(crate) struct MetricsOf(Option<Arc<Factory>>);

    impl MetricsOf {
        /// The metrics of a published state.
        pub(crate) fn of_state<S: AppState>(state: &Arc<S>) -> Self {
            let state = Arc::clone(state);
            MetricsOf(Some(Arc::new(move |attached: &[Attached]| {
                let collector = attached.iter().cloned().fold(
                    StateCollector::new(Arc::clone(&state)),
                    StateCollector::attach,
                );
                Arc::new(collector) as Arc<dyn Render>
            })))
        }

        /// The metrics with `attached` beside them.
        pub(crate) fn with(&self, attached: &[Attachment]) -> Metrics {
            let attached: Vec<Attached> = attached.iter().map(|a| a.metrics.clone()).collect();
            match &self.0 {
                Some(factory) => Some(factory(&attached)),
                None if attached.is_empty() => None,
                None => Some(Arc::new(attached.into_iter().fold(
                    StateCollector::new(Arc::new(NoState)),
                    StateCollector::attach,
                ))),
            }
        }
    }

    /// The published state, for the attached ones to sit beside, when what
    /// was published is not an `AppState`: no fields.
    #[derive(serde::Serialize)]
    pub(crate) struct NoState;

    impl AppState for NoState {
        type Snapshot = ();

        fn try_with_clock(_clock: &monsta_core::Clock) -> Result<Self, monsta_core::Error> {
            Ok(NoState)
        }

        fn describe() -> Vec<monsta_core::FieldInfo> {
            Vec::new()
        }

        fn visit(&self, _visitor: &mut dyn monsta_core::Visitor) {}

        fn snapshot_unlocked(&self) {}
    }

    /// A rendering: the exposition, or why there is none.
    type Rendering = Result<Bytes, String>;

    /// A rendering under way, of the source of `generation`, in `format`.
    struct InFlight {
        generation: u64,
        format: Format,
        flight: Arc<Flight<Rendering>>,
    }

    /// Renders the published state's metrics on a worker thread, one
    /// rendering at a time, shared by the scrapes that wait for it.
    pub(crate) struct MetricsLane {
        worker: Worker,
        in_flight: Mutex<Vec<InFlight>>,
    }

    impl MetricsLane {
        pub(crate) fn new() -> Self {
            MetricsLane {
                worker: Worker::new("monsta-metrics"),
                in_flight: Mutex::new(Vec::new()),
            }
        }

        /// The exposition of `metrics` (of the source of `generation`) in
        /// `format`, with the uptime that `uptime` reads when the rendering
        /// starts: the rendering under way for the same, or a new one.
        /// Waits at most `bound`; an error (logged once per rendering, with
        /// `endpoint`) if the rendering fails or takes longer.
        pub(crate) async fn render(
            &self,
            generation: u64,
            metrics: Arc<dyn Render>,
            format: Format,
            uptime: impl FnOnce() -> Duration + Send + 'static,
            bound: Duration,
            endpoint: &str,
        ) -> Result<Bytes, ()> {
            let flight = self.flight(generation, metrics, format, uptime);
            let error = match tokio::time::timeout(bound, flight.wait()).await {
                Ok(Ok(text)) => return Ok(text),
                Ok(Err(error)) => error,
                Err(_) => format!("the state stayed locked for longer than {bound:?}"),
            };
            if flight.first_overdue() {
                tracing::error!(target: "monsta", endpoint = %endpoint, "{error}; answering 503");
            }
            Err(())
        }

        /// The rendering to wait for.
        fn flight(
            &self,
            generation: u64,
            metrics: Arc<dyn Render>,
            format: Format,
            uptime: impl FnOnce() -> Duration + Send + 'static,
        ) -> Arc<Flight<Rendering>> {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            in_flight.retain(|f| !f.flight.is_done());
            if let Some(f) = in_flight
                .iter()
                .find(|f| f.generation == generation && f.format == format)
            {
                return Arc::clone(&f.flight);
            }
            let flight = Flight::new();
            let landing = Arc::clone(&flight);
            let job = Box::new(move || {
                let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    metrics.render(format, Some(uptime()))
                }));
                landing.complete(match rendered {
                    Ok(Ok(text)) => Ok(Bytes::from(text)),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(_) => Err("rendering the metrics panicked".to_owned()),
                });
            });
            if let Err(error) = self.worker.run(generation, job) {
                return Flight::landed(Err(format!(
                    "could not start the thread that renders the metrics: {error}"
                )));
            }
            in_flight.push(InFlight {
                generation,
                format,
                flight: Arc::clone(&flight),
            });
            flight
        }
    }
}
