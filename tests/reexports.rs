//! Everything the public API takes or returns is reachable through
//! `monsta` itself: a user needs no `jiff` dependency of the right version
//! to drive a `ManualClock` or build a `PeriodicSum` by hand.

use std::time::Duration;

use monsta::fields::PeriodicSum;
use monsta::jiff::{civil::Time, tz::TimeZone};
use monsta::{ManualClock, SignedDuration, Timestamp};

#[test]
fn wall_times_and_zones_through_the_facade() {
    let start: Timestamp = "2024-05-01T23:00:00Z".parse().unwrap();
    let clock = ManualClock::starting_at(start);
    let sum = PeriodicSum::from_parts(
        Time::midnight(),
        Some(TimeZone::get("UTC").unwrap()),
        &clock.clock(),
    );
    sum.inc(2.0);
    clock.shift_wall(SignedDuration::from_mins(30));
    clock.advance(Duration::from_secs(1));
    assert_eq!(sum.get(), 2.0);
    clock.advance(Duration::from_secs(30 * 60));
    let wall: Timestamp = clock.wall();
    assert!(wall > "2024-05-02T00:00:00Z".parse().unwrap());
    assert_eq!(sum.get(), 0.0);
}
