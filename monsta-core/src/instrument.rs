//! Instrumented code: time calls, count their errors and track the calls in
//! progress, recording into the state's own fields.
//!
//! | wrapper | does |
//! | --- | --- |
//! | [`fut.timed(&field)`](Instrument::timed) | records the elapsed seconds of each completion into a sampling field |
//! | [`fut.count_errors(&counter)`](Instrument::count_errors) | counts the `Err`s a future of `Result` resolves to |
//! | [`fut.count_errors_if(&counter, pred)`](Instrument::count_errors_if) | counts only the `Err`s `pred` picks |
//! | [`fut.in_flight(&gauge)`](Instrument::in_flight) | holds the gauge one higher while the future is alive |
//! | [`time(&field)`](time) | a guard that records the seconds until it is dropped |
//! | [`track(&gauge)`](track) | a guard that holds the gauge one higher until it is dropped |
//!
//! The sampling fields are those that implement [`Record`]:
//! [`RunningStats`],
//! [`SlidingPercentiles`],
//! [`Ewma`], [`Histogram`]
//! and [`Gauge`] (the last duration). Each wrapper
//! takes the field by anything that derefs to it: a reference, an `Arc`, or
//! a family's series [`Handle`](crate::fields::Handle), so a series of a
//! `Family<L, Histogram>` is timed like a lone histogram.
//!
//! # Time
//!
//! Elapsed time is read with [`Clock::stamp`] and [`Clock::seconds_since`]
//! (the precise clock: one raw counter read at each end) on the field's clock
//! ([`Record::clock`]: a [`SlidingPercentiles`]'
//! own, the system clock for fields without one), not the coarse
//! 4 ms tick that the fields' windows read, which would record zero
//! for a fast call. [`Instrument::timed_on`] and [`time_on`] take the clock
//! explicitly: on a [`ManualClock`](crate::ManualClock) a test decides what
//! every call took.
//!
//! A future is timed from its first poll (a Rust future does nothing
//! before) to the poll that completes it. A future dropped before it
//! completes (cancelled by `select!` or a timeout) records nothing; its
//! in-flight count is still taken back.
//!
//! # Wrapping an `async fn` body
//!
//! No attribute is needed: wrap the body in the free functions, which are
//! the extension methods with the future last.
//!
//! ```
//! use monsta_core::{fields::{Counter, Gauge, RunningStats}, instrument};
//!
//! struct State { latency: RunningStats, errors: Counter, running: Gauge }
//!
//! async fn fetch(state: &State, id: u32) -> Result<u32, String> {
//!     instrument::timed(&state.latency, instrument::in_flight(&state.running, async move {
//!         if id == 0 { Err("no such id".to_owned()) } else { Ok(id * 2) }
//!     }))
//!     .await
//! }
//! # let _ = fetch;
//! ```
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use monsta_core::{ManualClock, fields::{Counter, Gauge, RunningStats}, instrument::Instrument};
//!
//! let clock = ManualClock::new();
//! let latency = RunningStats::new();
//! let errors = Counter::new();
//! let running = Gauge::new();
//!
//! let call = async {
//!     clock.advance(Duration::from_millis(250)); // the call takes 250 ms
//!     Err::<(), _>("refused")
//! };
//! let fut = call
//!     .count_errors(&errors)
//!     .in_flight(&running)
//!     .timed_on(&latency, &clock.clock());
//! assert_eq!(running.get(), 1.0); // alive, not yet polled
//! # let waker = std::task::Waker::noop();
//! # let mut cx = std::task::Context::from_waker(waker);
//! # let mut fut = std::pin::pin!(fut);
//! # let out = fut.as_mut().poll(&mut cx);
//! // ... `fut.await` ...
//! # assert!(out.is_ready());
//! assert_eq!(running.get(), 0.0);
//! assert_eq!(errors.get(), 1);
//! assert_eq!(latency.get().n, 1);
//! assert_eq!(latency.get().mean, 0.25);
//! ```

use std::{
    future::Future,
    ops::Deref,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use pin_project_lite::pin_project;

use crate::{
    Clock,
    clock::Stamp,
    fields::{Counter, Ewma, Gauge, Histogram, RunningStats, SlidingPercentiles},
};

/// A field that takes samples: what [`timed`](Instrument::timed) and
/// [`time`] record the elapsed seconds into.
///
/// Implemented by the sampling fields; a type of one's own implements
/// [`record`](Self::record) (and [`clock`](Self::clock) if it has a clock of
/// its own).
pub trait Record {
    /// Takes one sample.
    fn record(&self, x: f64);

    /// The clock elapsed times for this field are read on: the system clock
    /// unless the field has one of its own.
    #[inline]
    fn clock(&self) -> &Clock {
        Clock::system_ref()
    }
}

impl Record for RunningStats {
    #[inline]
    fn record(&self, x: f64) {
        self.update(x);
    }
}

impl Record for Ewma {
    #[inline]
    fn record(&self, x: f64) {
        self.update(x);
    }
}

impl Record for Histogram {
    #[inline]
    fn record(&self, x: f64) {
        self.observe(x);
    }
}

/// A gauge records the last sample.
impl Record for Gauge {
    #[inline]
    fn record(&self, x: f64) {
        self.set(x);
    }
}

impl Record for SlidingPercentiles {
    #[inline]
    fn record(&self, x: f64) {
        self.update(x);
    }

    /// The field's own clock.
    #[inline]
    fn clock(&self) -> &Clock {
        SlidingPercentiles::clock(self)
    }
}

/// The extension methods of every future: see the [module](self).
pub trait Instrument: Future + Sized {
    /// Records the seconds from the first poll to completion into `field`,
    /// once per completion, read on the field's [clock](Record::clock).
    ///
    /// ```
    /// # async fn call() {}
    /// # async fn run() -> Result<(), monsta_core::Error> {
    /// use monsta_core::{fields::Histogram, instrument::Instrument};
    /// let latency = Histogram::new(&[0.01, 0.1, 1.0])?;
    /// call().timed(&latency).await;
    /// assert_eq!(latency.get().count, 1);
    /// # Ok::<(), monsta_core::Error>(()) }
    /// ```
    fn timed<R>(self, field: R) -> Timed<Self, R>
    where
        R: Deref,
        R::Target: Record,
    {
        Timed {
            inner: self,
            field,
            clock: None,
            start: None,
        }
    }

    /// [`timed`](Self::timed), with the time read on `clock` instead of the
    /// field's.
    fn timed_on<R>(self, field: R, clock: &Clock) -> Timed<Self, R>
    where
        R: Deref,
        R::Target: Record,
    {
        Timed {
            inner: self,
            field,
            clock: Some(clock.clone()),
            start: None,
        }
    }

    /// Counts each `Err` the future resolves to on `counter`.
    ///
    /// ```
    /// # async fn run() {
    /// use monsta_core::{fields::Counter, instrument::Instrument};
    /// let errors = Counter::new();
    /// let _ = async { Err::<(), _>("no") }.count_errors(&errors).await;
    /// let _ = async { Ok::<_, ()>(1) }.count_errors(&errors).await;
    /// assert_eq!(errors.get(), 1);
    /// # }
    /// ```
    fn count_errors<C, T, E>(self, counter: C) -> CountErrors<Self, C, fn(&E) -> bool>
    where
        Self: Future<Output = Result<T, E>>,
        C: Deref<Target = Counter>,
    {
        CountErrors {
            inner: self,
            counter,
            pick: every_error::<E>,
        }
    }

    /// Counts on `counter` the `Err`s for which `pick` is true (others pass
    /// uncounted).
    ///
    /// ```
    /// # async fn run() {
    /// use std::io;
    /// use monsta_core::{fields::Counter, instrument::Instrument};
    /// let timeouts = Counter::new();
    /// let is_timeout = |e: &io::Error| e.kind() == io::ErrorKind::TimedOut;
    /// let _ = async { Err::<(), _>(io::Error::from(io::ErrorKind::TimedOut)) }
    ///     .count_errors_if(&timeouts, is_timeout)
    ///     .await;
    /// let _ = async { Err::<(), _>(io::Error::from(io::ErrorKind::NotFound)) }
    ///     .count_errors_if(&timeouts, is_timeout)
    ///     .await;
    /// assert_eq!(timeouts.get(), 1);
    /// # }
    /// ```
    fn count_errors_if<C, T, E, P>(self, counter: C, pick: P) -> CountErrors<Self, C, P>
    where
        Self: Future<Output = Result<T, E>>,
        C: Deref<Target = Counter>,
        P: Fn(&E) -> bool,
    {
        CountErrors {
            inner: self,
            counter,
            pick,
        }
    }

    /// Raises `gauge` by one now and lowers it again when the future
    /// completes or is dropped (cancelled, or unwound by a panic), whichever
    /// is first.
    ///
    /// ```
    /// # async fn run() {
    /// use monsta_core::{fields::Gauge, instrument::Instrument};
    /// let running = Gauge::new();
    /// let call = async { 7 }.in_flight(&running);
    /// assert_eq!(running.get(), 1.0);
    /// assert_eq!(call.await, 7);
    /// assert_eq!(running.get(), 0.0);
    /// # }
    /// ```
    fn in_flight<G>(self, gauge: G) -> InFlight<Self, G>
    where
        G: Deref<Target = Gauge>,
    {
        InFlight {
            inner: self,
            guard: Some(track(gauge)),
        }
    }
}

impl<F: Future> Instrument for F {}

fn every_error<E>(_: &E) -> bool {
    true
}

/// `fut.timed(field)`, with the future last: for wrapping an `async fn`'s
/// body.
pub fn timed<F, R>(field: R, fut: F) -> Timed<F::IntoFuture, R>
where
    F: IntoFuture,
    R: Deref,
    R::Target: Record,
{
    fut.into_future().timed(field)
}

/// `fut.count_errors(counter)`, with the future last.
pub fn count_errors<F, C, T, E>(counter: C, fut: F) -> CountErrors<F::IntoFuture, C, fn(&E) -> bool>
where
    F: IntoFuture<Output = Result<T, E>>,
    C: Deref<Target = Counter>,
{
    fut.into_future().count_errors(counter)
}

/// `fut.in_flight(gauge)`, with the future last.
pub fn in_flight<F, G>(gauge: G, fut: F) -> InFlight<F::IntoFuture, G>
where
    F: IntoFuture,
    G: Deref<Target = Gauge>,
{
    fut.into_future().in_flight(gauge)
}

pin_project! {
    /// The future of [`Instrument::timed`].
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Timed<F, R> {
        #[pin]
        inner: F,
        field: R,
        clock: Option<Clock>,
        start: Option<Stamp>,
    }
}

impl<F, R> Future for Timed<F, R>
where
    F: Future,
    R: Deref,
    R::Target: Record,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let field: &R::Target = this.field;
        let clock = this.clock.as_ref().unwrap_or_else(|| field.clock());
        let start = *this.start.get_or_insert_with(|| clock.stamp());
        let out = this.inner.poll(cx);
        if out.is_ready() {
            field.record(clock.seconds_since(start));
        }
        out
    }
}

pin_project! {
    /// The future of [`Instrument::count_errors`] and
    /// [`Instrument::count_errors_if`].
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct CountErrors<F, C, P> {
        #[pin]
        inner: F,
        counter: C,
        pick: P,
    }
}

impl<F, C, P, T, E> Future for CountErrors<F, C, P>
where
    F: Future<Output = Result<T, E>>,
    C: Deref<Target = Counter>,
    P: Fn(&E) -> bool,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = this.inner.poll(cx);
        if let Poll::Ready(Err(e)) = &out
            && (this.pick)(e)
        {
            this.counter.inc(1);
        }
        out
    }
}

pin_project! {
    /// The future of [`Instrument::in_flight`].
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct InFlight<F, G>
    where
        G: Deref<Target = Gauge>,
    {
        #[pin]
        inner: F,
        guard: Option<InFlightGuard<G>>,
    }
}

impl<F, G> Future for InFlight<F, G>
where
    F: Future,
    G: Deref<Target = Gauge>,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = this.inner.poll(cx);
        if out.is_ready() {
            // Lowered on completion, not when the finished future is
            // dropped some time later.
            this.guard.take();
        }
        out
    }
}

/// A guard that holds a gauge one higher while it lives: the synchronous
/// counterpart of [`Instrument::in_flight`]. Made by [`track`].
#[derive(Debug)]
#[must_use = "the gauge is lowered again when the guard is dropped"]
pub struct InFlightGuard<G: Deref<Target = Gauge>> {
    gauge: G,
}

/// Raises `gauge` by one until the returned guard is dropped (at the end of
/// the scope, or when a panic unwinds it).
///
/// ```
/// use monsta_core::{fields::Gauge, instrument};
/// let busy = Gauge::new();
/// {
///     let _busy = instrument::track(&busy);
///     assert_eq!(busy.get(), 1.0);
/// }
/// assert_eq!(busy.get(), 0.0);
/// ```
#[inline]
pub fn track<G: Deref<Target = Gauge>>(gauge: G) -> InFlightGuard<G> {
    gauge.inc(1.0);
    InFlightGuard { gauge }
}

impl<G: Deref<Target = Gauge>> Drop for InFlightGuard<G> {
    #[inline]
    fn drop(&mut self) {
        self.gauge.dec(1.0);
    }
}

/// A guard that records the seconds from its making to its drop (or to
/// [`stop`](Self::stop)) into a sampling field: the synchronous counterpart
/// of [`Instrument::timed`]. Made by [`time`] and [`time_on`].
#[must_use = "the time is recorded when the guard is dropped"]
pub struct TimingGuard<R: Deref>
where
    R::Target: Record,
{
    field: R,
    clock: Option<Clock>,
    start: Stamp,
    armed: bool,
}

impl<R: Deref> std::fmt::Debug for TimingGuard<R>
where
    R::Target: Record,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimingGuard")
            .field("elapsed", &self.elapsed())
            .field("armed", &self.armed)
            .finish_non_exhaustive()
    }
}

/// Starts timing into `field` (on the field's clock); the seconds are
/// recorded when the guard is dropped, once.
///
/// ```
/// use monsta_core::{fields::RunningStats, instrument};
/// let parse = RunningStats::new();
/// {
///     let _t = instrument::time(&parse);
///     // ... the work ...
/// }
/// assert_eq!(parse.get().n, 1);
/// ```
#[inline]
pub fn time<R>(field: R) -> TimingGuard<R>
where
    R: Deref,
    R::Target: Record,
{
    let start = field.clock().stamp();
    TimingGuard {
        field,
        clock: None,
        start,
        armed: true,
    }
}

/// [`time`], with the time read on `clock`.
///
/// ```
/// use std::time::Duration;
/// use monsta_core::{ManualClock, fields::RunningStats, instrument};
/// let clock = ManualClock::new();
/// let parse = RunningStats::new();
/// let t = instrument::time_on(&parse, &clock.clock());
/// clock.advance(Duration::from_millis(20));
/// assert_eq!(t.stop(), Duration::from_millis(20));
/// assert_eq!(parse.get().mean, 0.02);
/// ```
#[inline]
pub fn time_on<R>(field: R, clock: &Clock) -> TimingGuard<R>
where
    R: Deref,
    R::Target: Record,
{
    TimingGuard {
        field,
        clock: Some(clock.clone()),
        start: clock.stamp(),
        armed: true,
    }
}

impl<R: Deref> TimingGuard<R>
where
    R::Target: Record,
{
    fn clock(&self) -> &Clock {
        self.clock.as_ref().unwrap_or_else(|| self.field.clock())
    }

    /// The time since the guard was made.
    pub fn elapsed(&self) -> Duration {
        self.clock().since(self.start)
    }

    /// Records now and returns the time recorded.
    pub fn stop(mut self) -> Duration {
        self.armed = false;
        let elapsed = self.elapsed();
        self.field.record(elapsed.as_secs_f64());
        elapsed
    }

    /// Drops the guard without recording anything (a call that should not
    /// count, such as one that failed early).
    pub fn discard(mut self) {
        self.armed = false;
    }
}

impl<R: Deref> Drop for TimingGuard<R>
where
    R::Target: Record,
{
    #[inline]
    fn drop(&mut self) {
        if self.armed {
            self.field.record(self.clock().seconds_since(self.start));
        }
    }
}
