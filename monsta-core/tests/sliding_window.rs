//! SlidingWindow: buckets, rollover, the interpolation weight, `set`, `reset`.

use std::time::Duration;

use monsta_core::{Error, clock::ManualClock, fields::SlidingWindow};

const W: Duration = Duration::from_secs(8);

fn window(clock: &ManualClock) -> SlidingWindow {
    SlidingWindow::with_clock(W, &clock.clock()).unwrap()
}

fn json(w: &SlidingWindow) -> String {
    serde_json::to_string(w).unwrap()
}

#[test]
fn starts_at_zero_and_sums_within_the_window() {
    let clock = ManualClock::new();
    let w = window(&clock);
    assert_eq!(w.get(), 0.0);
    assert_eq!(json(&w), "0.0");
    w.inc(1.0);
    w.inc(2.5);
    clock.advance(W - Duration::from_nanos(1));
    w.inc(0.5);
    assert_eq!(w.get(), 4.0);
    assert_eq!(json(&w), "4.0");
    assert_eq!(w.window(), W);
}

#[test]
fn rollover_to_the_next_index_moves_curr_into_prev() {
    let clock = ManualClock::new();
    let w = window(&clock);
    w.inc(8.0);
    clock.advance(W); // index 1, at its start: prev weighs 1
    assert_eq!(w.get(), 8.0);
    w.inc(3.0);
    assert_eq!(w.get(), 11.0);
    // Index 2: the 3 hits of index 1 are now prev; the 8 of index 0 are gone.
    clock.advance(W);
    assert_eq!(w.get(), 3.0);
    clock.advance(W / 2);
    assert_eq!(w.get(), 1.5);
}

#[test]
fn interpolation_weight_across_the_window() {
    let clock = ManualClock::new();
    let w = window(&clock);
    w.inc(8.0);
    clock.advance(W);
    // value = prev * (W - now mod W) / W + curr, prev = 8, curr = 0
    assert_eq!(w.get(), 8.0, "start: weight 1");
    clock.advance(W / 4);
    assert_eq!(w.get(), 6.0, "1/4 in: weight 3/4");
    clock.advance(W / 4);
    assert_eq!(w.get(), 4.0, "1/2 in: weight 1/2");
    clock.advance(W / 4);
    assert_eq!(w.get(), 2.0, "3/4 in: weight 1/4");
    clock.advance(W / 4 - Duration::from_nanos(1));
    let w_ns = W.as_nanos() as f64;
    assert_eq!(
        w.get(),
        8.0 * (1.0 / w_ns),
        "1 ns before the end: weight 1 ns / W"
    );
    assert!(w.get() > 0.0);
    clock.advance(Duration::from_nanos(1));
    assert_eq!(w.get(), 0.0, "the next window: index 1 held nothing");
}

#[test]
fn interpolation_adds_the_current_bucket_unweighted() {
    let clock = ManualClock::new();
    let w = window(&clock);
    w.inc(4.0);
    clock.advance(W + W / 4);
    w.inc(10.0);
    assert_eq!(w.get(), 4.0 * 0.75 + 10.0);
}

#[test]
fn skipping_an_index_zeroes_prev() {
    let clock = ManualClock::new();
    let w = window(&clock);
    w.inc(8.0);
    clock.advance(2 * W); // index 2: index 1 was idle
    assert_eq!(w.get(), 0.0);

    let w = window(&clock);
    w.inc(5.0);
    clock.advance(W * 7 + W / 2); // many windows later
    assert_eq!(w.get(), 0.0);
    w.inc(1.0);
    assert_eq!(w.get(), 1.0);
}

#[test]
fn skipping_is_judged_by_index_not_by_elapsed_time() {
    // Created 1 ns before a boundary: 1 ns later is the next index (prev
    // kept), and W + 1 ns later is two indexes on (prev gone).
    let clock = ManualClock::new();
    clock.advance(W - Duration::from_nanos(1));
    let w = window(&clock);
    w.inc(8.0);
    clock.advance(Duration::from_nanos(1));
    assert_eq!(w.get(), 8.0);
    let w = window(&clock);
    clock.advance(Duration::from_nanos(1));
    w.inc(8.0); // index 1, at 1 ns
    clock.advance(W); // index 2, at 1 ns: prev weighs (W - 1 ns) / W
    let w_ns = W.as_nanos() as f64;
    assert_eq!(w.get(), 8.0 * ((w_ns - 1.0) / w_ns));
}

#[test]
fn any_operation_rolls_over() {
    let clock = ManualClock::new();
    let w = window(&clock);
    w.inc(6.0);
    clock.advance(W);
    w.inc(2.0); // the inc rolls: prev = 6
    clock.advance(W); // the read rolls: prev = 2
    assert_eq!(w.get(), 2.0);

    let w = window(&clock);
    w.inc(6.0);
    clock.advance(W);
    w.set(1.0); // the set rolls: prev = 6, curr = 1
    assert_eq!(w.get(), 7.0);
}

#[test]
fn set_overwrites_the_current_bucket_only() {
    let clock = ManualClock::new();
    let w = window(&clock);
    w.inc(3.0);
    w.set(10.0);
    assert_eq!(w.get(), 10.0);
    w.inc(1.0);
    assert_eq!(w.get(), 11.0);
    clock.advance(W + W / 2);
    w.set(2.0);
    assert_eq!(w.get(), 11.0 * 0.5 + 2.0);
    w.set(0.0);
    assert_eq!(w.get(), 5.5);
}

#[test]
fn reset_clears_both_buckets() {
    let clock = ManualClock::new();
    let w = window(&clock);
    w.inc(4.0);
    clock.advance(W);
    w.inc(2.0);
    assert_eq!(w.get(), 6.0);
    w.reset();
    assert_eq!(w.get(), 0.0);
    clock.advance(W);
    assert_eq!(w.get(), 0.0);
    w.inc(1.0);
    clock.advance(W);
    assert_eq!(w.get(), 1.0, "the field works on after a reset");
}

#[test]
fn a_field_created_late_starts_in_the_current_index() {
    let clock = ManualClock::new();
    clock.advance(W * 3 + W / 2);
    let w = window(&clock);
    w.inc(6.0);
    clock.advance(W / 2); // index 4, at its start
    assert_eq!(w.get(), 6.0);
}

#[test]
fn window_that_does_not_divide_a_second() {
    let clock = ManualClock::new();
    let w = SlidingWindow::with_clock(Duration::from_millis(700), &clock.clock()).unwrap();
    w.inc(7.0);
    clock.advance(Duration::from_millis(700 + 70));
    assert_eq!(w.get(), 7.0 * ((700e6 - 70e6) / 700e6));
}

#[test]
fn default_window_is_sixty_seconds() {
    assert_eq!(SlidingWindow::default().window(), Duration::from_secs(60));
}

#[test]
fn zero_window_is_an_error() {
    let clock = ManualClock::new();
    let err = SlidingWindow::with_clock(Duration::ZERO, &clock.clock()).unwrap_err();
    assert_eq!(err, Error::Window(Duration::ZERO));
}

#[test]
fn non_finite_counts_serialize_as_null() {
    let clock = ManualClock::new();
    let w = window(&clock);
    w.inc(f64::NAN);
    assert!(w.get().is_nan());
    assert_eq!(json(&w), "null");
    w.set(f64::INFINITY);
    assert_eq!(json(&w), "null");
    w.set(f64::NEG_INFINITY);
    assert_eq!(json(&w), "null");
    w.reset();
    assert_eq!(json(&w), "0.0");
}

#[test]
fn added_counts_every_increment_across_rollovers_and_gaps() {
    let clock = ManualClock::new();
    let w = window(&clock);
    assert_eq!(w.added(), 0.0);
    w.inc(3.0);
    w.inc(0.5);
    clock.advance(W); // the next window
    assert_eq!(w.added(), 3.5);
    w.inc(2.0);
    clock.advance(W * 5); // a gap: both buckets empty
    assert_eq!(w.get(), 0.0);
    assert_eq!(w.added(), 5.5);
    w.inc(0.25);
    w.inc(0.25);
    assert_eq!(w.added(), 6.0);
    assert_eq!(json(&w), "0.5", "JSON is the windowed value alone");
}

#[test]
fn added_leaves_out_set_and_keeps_its_value_over_reset() {
    let clock = ManualClock::new();
    let w = window(&clock);
    w.inc(4.0);
    w.set(100.0);
    assert_eq!(w.get(), 100.0);
    assert_eq!(w.added(), 4.0, "set is not an increment");
    w.inc(1.5);
    assert_eq!(w.get(), 101.5);
    assert_eq!(w.added(), 5.5);
    clock.advance(W); // the set value rolls into prev, not into the total
    assert_eq!(w.added(), 5.5);
    w.set(0.5);
    w.set(7.0);
    assert_eq!(w.added(), 5.5);
    w.reset();
    assert_eq!(w.get(), 0.0);
    assert_eq!(w.added(), 5.5, "reset does not lower a counter");
    w.inc(1.0);
    assert_eq!(w.added(), 6.5);
}

#[test]
fn added_is_lowered_by_a_negative_inc_and_skips_non_finite_ones() {
    let clock = ManualClock::new();
    let w = window(&clock);
    w.inc(10.0);
    w.inc(-3.0);
    assert_eq!(w.added(), 7.0);
    w.inc(-0.5);
    assert_eq!(w.added(), 6.5);
    w.inc(f64::NAN);
    assert!(w.get().is_nan());
    // The NaN hides the bucket's fractions (-0.5) until the rollover, which
    // leaves them out: only the integral increments count.
    assert_eq!(w.added(), 7.0);
    w.inc(f64::INFINITY);
    assert_eq!(w.added(), 7.0);
    clock.advance(W);
    assert_eq!(w.added(), 7.0);
    w.inc(0.5);
    assert_eq!(w.added(), 7.5, "the next bucket counts again");
    assert!(w.added().is_finite());
}

#[test]
fn added_of_fractions_and_huge_increments() {
    let clock = ManualClock::new();
    let w = window(&clock);
    for _ in 0..10 {
        w.inc(0.125);
    }
    w.inc(1e12); // past the integer cells' range: an f64 increment
    assert_eq!(w.added(), 1e12 + 1.25);
    clock.advance(W * 2);
    assert_eq!(w.get(), 0.0);
    assert_eq!(w.added(), 1e12 + 1.25);
}
