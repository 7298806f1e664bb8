//! The clock: ManualClock's two times, the system clock, and readings that
//! would underflow in naive code.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use monsta_core::{
    Clock,
    clock::ManualClock,
    fields::{LeakyBucket, PeriodicSum, SampledWindow, SlidingPercentiles, SlidingWindow},
    params,
};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn manual_clock_starts_at_zero_and_2024() {
    let m = ManualClock::new();
    assert_eq!(m.now(), Duration::ZERO);
    assert_eq!(m.wall(), ts("2024-01-01T00:00:00Z"));
    let c = m.clock();
    assert!(c.is_manual());
    assert_eq!(c.now(), Duration::ZERO);
    assert_eq!(c.wall(), ts("2024-01-01T00:00:00Z"));
    let m = ManualClock::starting_at(ts("1999-12-31T23:59:59.5Z"));
    assert_eq!(m.now(), Duration::ZERO);
    assert_eq!(m.clock().wall(), ts("1999-12-31T23:59:59.5Z"));
    assert_eq!(ManualClock::default().wall(), ts("2024-01-01T00:00:00Z"));
}

#[test]
fn advance_moves_both_times() {
    let m = ManualClock::new();
    let c = Clock::from(&m);
    m.advance(Duration::from_nanos(1));
    m.advance(Duration::from_secs(90));
    assert_eq!(c.now(), Duration::from_nanos(90_000_000_001));
    assert_eq!(c.wall(), ts("2024-01-01T00:01:30.000000001Z"));
}

#[test]
fn wall_steps_leave_monotonic_time_alone() {
    let m = ManualClock::new();
    m.advance(Duration::from_secs(5));
    m.set_wall(ts("2030-06-01T12:00:00Z"));
    assert_eq!(m.now(), Duration::from_secs(5));
    assert_eq!(m.wall(), ts("2030-06-01T12:00:00Z"));
    m.shift_wall(SignedDuration::from_secs(-3600));
    assert_eq!(m.wall(), ts("2030-06-01T11:00:00Z"));
    m.shift_wall(SignedDuration::from_secs(7200));
    assert_eq!(m.wall(), ts("2030-06-01T13:00:00Z"));
    assert_eq!(m.now(), Duration::from_secs(5));
    m.advance(Duration::from_secs(1));
    assert_eq!(m.wall(), ts("2030-06-01T13:00:01Z"));
}

#[test]
fn clones_share_the_time() {
    let m = ManualClock::new();
    let m2 = m.clone();
    let c: Clock = m.clone().into();
    m2.advance(Duration::from_secs(3));
    assert_eq!(m.now(), Duration::from_secs(3));
    assert_eq!(c.now(), Duration::from_secs(3));
    let c2 = c.clone();
    m.set_wall(ts("2025-01-01T00:00:00Z"));
    assert_eq!(c2.wall(), ts("2025-01-01T00:00:00Z"));
}

#[test]
fn separate_manual_clocks_are_independent() {
    let a = ManualClock::new();
    let b = ManualClock::new();
    a.advance(Duration::from_secs(1));
    assert_eq!(b.now(), Duration::ZERO);
}

#[test]
fn monotonic_time_saturates_instead_of_wrapping() {
    let m = ManualClock::new();
    m.advance(Duration::MAX);
    assert_eq!(m.now(), Duration::from_nanos(u64::MAX));
    m.advance(Duration::from_secs(1));
    assert_eq!(m.now(), Duration::from_nanos(u64::MAX), "never backwards");
    let m = ManualClock::new();
    m.shift_wall(SignedDuration::MIN);
    m.shift_wall(SignedDuration::MIN);
    assert!(m.wall() < ts("1700-01-01T00:00:00Z"));
    m.shift_wall(SignedDuration::MAX);
    m.shift_wall(SignedDuration::MAX);
    assert!(m.wall() > ts("2200-01-01T00:00:00Z"));
}

#[test]
fn system_clock_never_goes_backwards() {
    let c = Clock::system();
    assert!(!c.is_manual());
    assert!(!Clock::default().is_manual());
    let mut last = c.now();
    for _ in 0..10_000 {
        let now = c.now();
        assert!(now >= last);
        last = now;
    }
    let w = c.wall();
    assert!(w > ts("2020-01-01T00:00:00Z"));
}

#[test]
fn fields_on_the_system_clock_work() {
    let w = SlidingWindow::new(Duration::from_secs(3600)).unwrap();
    w.inc(2.0);
    let v = w.get();
    // Within the first hour-window either both hits are in `curr`, or a
    // boundary passed and they weigh less than 1 in `prev`.
    assert!(v > 0.0 && v <= 2.0, "{v}");
    let p = PeriodicSum::new("00:00", Some("UTC")).unwrap();
    p.inc(1.0);
    assert!(p.get() <= 1.0);
    let b = LeakyBucket::new(1.0, 1e-9).unwrap();
    assert!(b.request(1.0));
    let s = SampledWindow::new(Duration::from_secs(3600), 0.0).unwrap();
    s.set(4.0);
    assert_eq!(s.get(), 4.0);
    let q = SlidingPercentiles::new(Duration::from_secs(3600), &[50.0], 10).unwrap();
    q.update(1.0);
    assert_eq!(q.get().n, 1);
}

#[test]
fn fields_at_the_end_of_monotonic_time_do_not_overflow() {
    let m = ManualClock::new();
    m.advance(Duration::from_nanos(u64::MAX - 10));
    let c = m.clock();
    // A window longer than the clock can count is refused, not clamped.
    assert!(SlidingWindow::with_clock(Duration::MAX, &c).is_err());
    let w = SlidingWindow::with_clock(Duration::from_secs(7), &c).unwrap();
    let huge = SlidingWindow::with_clock(params::MAX_WINDOW, &c).unwrap();
    let f = PeriodicSum::with_clock("00:00", Some("UTC"), &c).unwrap();
    let s = SampledWindow::with_clock(params::MAX_WINDOW, 0.0, &c).unwrap();
    let b = LeakyBucket::with_clock(5.0, f64::MAX, &c).unwrap();
    let p = SlidingPercentiles::with_clock(params::MAX_WINDOW, &[50.0], 10, &c).unwrap();
    for _ in 0..3 {
        w.inc(1.0);
        huge.inc(1.0);
        f.inc(1.0);
        s.set(1.0);
        b.request(1.0);
        p.update(1.0);
        m.advance(Duration::from_nanos(5)); // reaches u64::MAX and stays
        let _ = (w.get(), huge.get(), f.get(), s.get(), b.get(), p.get());
    }
    assert_eq!(m.now(), Duration::from_nanos(u64::MAX));
    assert!(huge.get() >= 3.0);
    assert_eq!(s.get(), 1.0);
    assert_eq!(p.get().n, 3);
}

#[test]
fn huge_windows_and_late_fields_do_not_overflow() {
    let m = ManualClock::new();
    let c = m.clock();
    let early = SampledWindow::with_clock(params::MAX_WINDOW, 0.0, &c).unwrap();
    early.set(1.0);
    m.advance(Duration::from_secs(1_000_000_000));
    // Fields created later than the samples of others, windows (the longest
    // accepted: `u64::MAX` nanoseconds) longer than all of time so far: every `now - window` would underflow if not guarded.
    let w = SlidingWindow::with_clock(params::MAX_WINDOW, &c).unwrap();
    let p = SlidingPercentiles::with_clock(params::MAX_WINDOW, &[50.0], 10, &c).unwrap();
    let b = LeakyBucket::with_clock(1.0, 1.0, &c).unwrap();
    w.inc(1.0);
    p.update(2.0);
    assert!(b.request(1.0));
    assert_eq!(w.get(), 1.0);
    assert_eq!(p.get().n, 1);
    assert_eq!(early.get(), 1.0);
    assert_eq!(b.get().level, 1.0);
}

#[test]
fn wall_time_before_1970_and_near_the_end_of_the_range() {
    for start in [
        "1901-12-13T20:45:52Z",
        "1969-12-31T23:59:59Z",
        "2262-04-10T00:00:00Z",
    ] {
        let m = ManualClock::starting_at(ts(start));
        let f = PeriodicSum::with_clock("00:00", Some("Europe/Berlin"), &m.clock()).unwrap();
        f.inc(1.0);
        m.advance(Duration::from_secs(3600 * 30));
        let v = f.get();
        assert!(v == 0.0 || v == 1.0, "{start}: {v}");
    }
}
