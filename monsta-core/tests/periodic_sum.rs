//! PeriodicSum: the daily reset at a wall-clock time in a zone, across
//! midnight, DST changes and wall clock steps.

use std::{collections::BTreeMap, time::Duration};

use jiff::{SignedDuration, Timestamp, civil::Date, tz::TimeZone};
use monsta_core::{Error, clock::ManualClock, fields::PeriodicSum};

const NS: Duration = Duration::from_nanos(1);
const MINUTE: Duration = Duration::from_secs(60);

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn sum(reset_at: &str, tz: &str, clock: &ManualClock) -> PeriodicSum {
    PeriodicSum::with_clock(reset_at, Some(tz), &clock.clock()).unwrap()
}

/// Advances both clocks to the wall time `to` (which must not be earlier).
fn advance_to(clock: &ManualClock, to: Timestamp) {
    let d = clock.wall().duration_until(to);
    assert!(!d.is_negative(), "advance_to goes forward only");
    clock.advance(Duration::try_from(d).unwrap());
}

/// Walks the clock to `end` in steps of `step`, adding 1 before each step,
/// and returns the wall times at which the sum was found reset.
fn resets_until(
    f: &PeriodicSum,
    clock: &ManualClock,
    end: Timestamp,
    step: Duration,
) -> Vec<Timestamp> {
    let mut resets = Vec::new();
    f.inc(1.0);
    while clock.wall() < end {
        clock.advance(step);
        let v = f.get();
        assert!(v >= 0.0);
        if v == 0.0 {
            resets.push(clock.wall());
        }
        f.inc(1.0);
    }
    resets
}

#[test]
fn resets_at_midnight() {
    let clock = ManualClock::starting_at(ts("2024-01-01T23:59:00Z"));
    let f = sum("00:00", "UTC", &clock);
    f.inc(5.0);
    f.inc(0.5);
    assert_eq!(f.get(), 5.5);
    assert_eq!(serde_json::to_string(&f).unwrap(), "5.5");
    advance_to(&clock, ts("2024-01-02T00:00:00Z"));
    assert_eq!(f.get(), 0.0);
    assert_eq!(serde_json::to_string(&f).unwrap(), "0.0");
}

#[test]
fn midnight_to_the_nanosecond() {
    let clock = ManualClock::starting_at(ts("2024-01-01T23:59:00Z"));
    let f = sum("00:00", "UTC", &clock);
    f.inc(5.0);
    advance_to(
        &clock,
        ts("2024-01-02T00:00:00Z") - SignedDuration::from_nanos(1),
    );
    assert_eq!(f.get(), 5.0);
    f.inc(1.0);
    clock.advance(NS);
    assert_eq!(f.get(), 0.0);
    f.inc(2.0);
    advance_to(&clock, ts("2024-01-02T23:59:59.999999999Z"));
    assert_eq!(f.get(), 2.0);
    clock.advance(NS);
    f.inc(1.0); // the inc sees the reset first, then adds
    assert_eq!(f.get(), 1.0);
}

#[test]
fn resets_once_a_day_at_a_custom_time() {
    let clock = ManualClock::starting_at(ts("2024-05-01T05:00:00Z"));
    let f = sum("06:30:15", "UTC", &clock);
    let resets = resets_until(
        &f,
        &clock,
        ts("2024-05-04T00:00:00Z"),
        Duration::from_secs(15),
    );
    assert_eq!(
        resets,
        [
            ts("2024-05-01T06:30:15Z"),
            ts("2024-05-02T06:30:15Z"),
            ts("2024-05-03T06:30:15Z")
        ]
    );
}

#[test]
fn a_sum_created_after_todays_reset_belongs_to_today() {
    let clock = ManualClock::starting_at(ts("2024-05-01T07:00:00Z"));
    let f = sum("06:00", "UTC", &clock);
    f.inc(3.0);
    advance_to(&clock, ts("2024-05-02T05:59:59Z"));
    assert_eq!(f.get(), 3.0);
    advance_to(&clock, ts("2024-05-02T06:00:00Z"));
    assert_eq!(f.get(), 0.0);
}

#[test]
fn reset_time_in_another_zone() {
    // 06:00 in Berlin (CEST, UTC+2) is 04:00Z.
    let clock = ManualClock::starting_at(ts("2024-07-01T12:00:00Z"));
    let f = sum("06:00", "Europe/Berlin", &clock);
    let resets = resets_until(&f, &clock, ts("2024-07-03T12:00:00Z"), MINUTE);
    assert_eq!(
        resets,
        [ts("2024-07-02T04:00:00Z"), ts("2024-07-03T04:00:00Z")]
    );
    // 06:00 in New York (EDT, UTC-4) is 10:00Z.
    let f = sum("06:00", "America/New_York", &clock);
    // Created at 2024-07-03T12:00Z, after that day's 10:00Z.
    let resets = resets_until(&f, &clock, ts("2024-07-05T12:00:00Z"), MINUTE);
    assert_eq!(
        resets,
        [ts("2024-07-04T10:00:00Z"), ts("2024-07-05T10:00:00Z")]
    );
}

#[test]
fn berlin_midnight_across_both_dst_changes() {
    // Clocks go forward on 2024-03-31 (02:00 CET -> 03:00 CEST) and back on
    // 2024-10-27 (03:00 CEST -> 02:00 CET). Midnight is CET (UTC+1) before
    // the first and after the second, CEST (UTC+2) in between.
    let clock = ManualClock::starting_at(ts("2024-03-29T12:00:00Z"));
    let f = sum("00:00", "Europe/Berlin", &clock);
    let resets = resets_until(&f, &clock, ts("2024-04-01T12:00:00Z"), MINUTE);
    assert_eq!(
        resets,
        [
            ts("2024-03-29T23:00:00Z"),
            ts("2024-03-30T23:00:00Z"),
            ts("2024-03-31T22:00:00Z"),
        ]
    );
    advance_to(&clock, ts("2024-10-25T12:00:00Z"));
    let f = sum("00:00", "Europe/Berlin", &clock);
    let resets = resets_until(&f, &clock, ts("2024-10-29T00:00:00Z"), MINUTE);
    assert_eq!(
        resets,
        [
            ts("2024-10-25T22:00:00Z"),
            ts("2024-10-26T22:00:00Z"),
            ts("2024-10-27T23:00:00Z"),
            ts("2024-10-28T23:00:00Z"),
        ]
    );
}

#[test]
fn berlin_reset_inside_the_spring_gap_happens_once() {
    // 02:30 does not exist on 2024-03-31: the reset that day is at 03:30
    // CEST (01:30Z), as much after 02:30 as the gap is long, and the day has
    // exactly one.
    let clock = ManualClock::starting_at(ts("2024-03-29T12:00:00Z"));
    let f = sum("02:30", "Europe/Berlin", &clock);
    let resets = resets_until(&f, &clock, ts("2024-04-02T12:00:00Z"), MINUTE);
    assert_eq!(
        resets,
        [
            ts("2024-03-30T01:30:00Z"), // 02:30 CET
            ts("2024-03-31T01:30:00Z"), // 03:30 CEST
            ts("2024-04-01T00:30:00Z"), // 02:30 CEST
            ts("2024-04-02T00:30:00Z"),
        ]
    );
}

#[test]
fn berlin_spring_gap_to_the_nanosecond() {
    let clock = ManualClock::starting_at(ts("2024-03-30T12:00:00Z"));
    let f = sum("02:30", "Europe/Berlin", &clock);
    f.inc(1.0);
    // 01:00Z is 03:00 CEST, the end of the gap: not yet.
    advance_to(&clock, ts("2024-03-31T01:00:00Z"));
    assert_eq!(f.get(), 1.0);
    advance_to(
        &clock,
        ts("2024-03-31T01:30:00Z") - SignedDuration::from_nanos(1),
    );
    assert_eq!(f.get(), 1.0);
    clock.advance(NS);
    assert_eq!(f.get(), 0.0);
}

#[test]
fn berlin_reset_inside_the_repeated_hour_happens_once() {
    // 02:30 happens twice on 2024-10-27: at 00:30Z (CEST) and 01:30Z (CET).
    // The reset is at the first; the second is not a reset.
    let clock = ManualClock::starting_at(ts("2024-10-25T12:00:00Z"));
    let f = sum("02:30", "Europe/Berlin", &clock);
    let resets = resets_until(&f, &clock, ts("2024-10-29T12:00:00Z"), MINUTE);
    assert_eq!(
        resets,
        [
            ts("2024-10-26T00:30:00Z"), // 02:30 CEST
            ts("2024-10-27T00:30:00Z"), // the first 02:30, CEST
            ts("2024-10-28T01:30:00Z"), // 02:30 CET
            ts("2024-10-29T01:30:00Z"),
        ]
    );
}

#[test]
fn berlin_reset_at_the_transition_instant() {
    // 02:00 is the first instant of the gap in spring and the start of the
    // repeated hour in autumn.
    let clock = ManualClock::starting_at(ts("2024-03-30T12:00:00Z"));
    let f = sum("02:00", "Europe/Berlin", &clock);
    let resets = resets_until(&f, &clock, ts("2024-04-01T12:00:00Z"), MINUTE);
    assert_eq!(
        resets,
        [ts("2024-03-31T01:00:00Z"), ts("2024-04-01T00:00:00Z")]
    );
    advance_to(&clock, ts("2024-10-26T12:00:00Z"));
    let f = sum("02:00", "Europe/Berlin", &clock);
    let resets = resets_until(&f, &clock, ts("2024-10-28T12:00:00Z"), MINUTE);
    assert_eq!(
        resets,
        [ts("2024-10-27T00:00:00Z"), ts("2024-10-28T01:00:00Z")]
    );
}

/// Walks a whole year in 10-minute steps and counts the resets of each local
/// date: every date has exactly one.
fn one_reset_per_local_day(zone: &str, reset_at: &str) {
    let tz = TimeZone::get(zone).unwrap();
    let clock = ManualClock::starting_at(ts("2024-01-01T12:00:00Z"));
    let f = sum(reset_at, zone, &clock);
    let resets = resets_until(&f, &clock, ts("2025-01-01T12:00:00Z"), 10 * MINUTE);
    let mut per_day: BTreeMap<Date, u32> = BTreeMap::new();
    for r in resets {
        *per_day.entry(tz.to_datetime(r).date()).or_default() += 1;
    }
    let first = tz.to_datetime(ts("2024-01-02T12:00:00Z")).date();
    let last = tz.to_datetime(ts("2024-12-31T12:00:00Z")).date();
    let mut day = first;
    while day <= last {
        assert_eq!(
            per_day.get(&day),
            Some(&1),
            "{zone} {reset_at}: resets on {day}"
        );
        day = day.tomorrow().unwrap();
    }
    assert!(
        per_day.values().all(|&n| n == 1),
        "{zone} {reset_at}: {per_day:?}"
    );
}

#[test]
fn one_reset_per_day_for_a_year_in_berlin() {
    for reset_at in ["00:00", "02:00", "02:30", "03:00", "23:59"] {
        one_reset_per_local_day("Europe/Berlin", reset_at);
    }
}

#[test]
fn one_reset_per_day_for_a_year_in_other_zones() {
    // Santiago changes its clocks at midnight; Lord Howe by 30 minutes.
    one_reset_per_local_day("America/Santiago", "00:00");
    one_reset_per_local_day("America/New_York", "02:30");
    one_reset_per_local_day("Australia/Lord_Howe", "02:10");
    one_reset_per_local_day("Australia/Lord_Howe", "01:40");
}

#[test]
fn midnight_that_does_not_exist() {
    // Santiago skipped 2024-09-08 00:00-01:00 (-04 -> -03): that day's reset
    // is at 01:00 -03 (04:00Z).
    let clock = ManualClock::starting_at(ts("2024-09-07T12:00:00Z"));
    let f = sum("00:00", "America/Santiago", &clock);
    let resets = resets_until(&f, &clock, ts("2024-09-09T12:00:00Z"), MINUTE);
    assert_eq!(
        resets,
        [ts("2024-09-08T04:00:00Z"), ts("2024-09-09T03:00:00Z")]
    );
}

#[test]
fn default_zone_is_the_systems() {
    let tz = TimeZone::system();
    let start = ts("2024-06-15T12:00:00Z");
    let midnight = start
        .to_zoned_datetime(tz.clone())
        .tomorrow()
        .unwrap()
        .start_of_day()
        .unwrap()
        .timestamp();
    let clock = ManualClock::starting_at(start);
    let f = PeriodicSum::with_clock("00:00", None, &clock.clock()).unwrap();
    assert_eq!(f.time_zone().iana_name(), tz.iana_name());
    f.inc(4.0);
    advance_to(&clock, midnight - SignedDuration::from_nanos(1));
    assert_eq!(f.get(), 4.0);
    clock.advance(NS);
    assert_eq!(f.get(), 0.0);

    let d = PeriodicSum::default();
    assert_eq!(d.reset_at(), jiff::civil::Time::midnight());
    assert_eq!(d.time_zone().iana_name(), tz.iana_name());
}

#[test]
fn wall_clock_stepping_back_neither_resets_again_nor_goes_negative() {
    let clock = ManualClock::starting_at(ts("2024-01-01T23:00:00Z"));
    let f = sum("00:00", "UTC", &clock);
    f.inc(9.0);
    advance_to(&clock, ts("2024-01-02T00:30:00Z"));
    assert_eq!(f.get(), 0.0, "midnight passed");
    f.inc(3.0);
    // An NTP step back to before midnight, then through midnight again.
    clock.set_wall(ts("2024-01-01T23:50:00Z"));
    clock.advance(Duration::from_secs(1));
    assert_eq!(f.get(), 3.0);
    f.inc(1.0);
    for _ in 0..30 {
        clock.advance(MINUTE);
        assert_eq!(f.get(), 4.0, "at {}", clock.wall());
    }
    // A step back by two days: still the same period, still counting.
    clock.shift_wall(SignedDuration::from_hours(-48));
    clock.advance(Duration::from_secs(2));
    f.inc(1.0);
    assert_eq!(f.get(), 5.0);
    // Back to the right time: the next real midnight resets.
    clock.set_wall(ts("2024-01-02T23:59:00Z"));
    clock.advance(Duration::from_secs(59));
    assert_eq!(f.get(), 5.0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(f.get(), 0.0);
}

#[test]
fn wall_clock_stepping_forward_past_a_reset_resets() {
    let clock = ManualClock::starting_at(ts("2024-01-01T10:00:00Z"));
    let f = sum("00:00", "UTC", &clock);
    f.inc(7.0);
    clock.set_wall(ts("2024-01-02T00:30:00Z"));
    // The field looks at the wall clock at least once per second of
    // monotonic time.
    clock.advance(Duration::from_secs(1));
    assert_eq!(f.get(), 0.0);
    f.inc(2.0);
    // A step forward that stays in the same period is no reset.
    clock.shift_wall(SignedDuration::from_hours(20));
    clock.advance(Duration::from_secs(1));
    assert_eq!(f.get(), 2.0);
    // A step over several resets is one reset.
    clock.shift_wall(SignedDuration::from_hours(24 * 5));
    clock.advance(Duration::from_secs(1));
    assert_eq!(f.get(), 0.0);
    f.inc(1.0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(f.get(), 1.0);
}

#[test]
fn set_overwrites_and_reset_zeroes_within_the_period() {
    let clock = ManualClock::starting_at(ts("2024-01-01T10:00:00Z"));
    let f = sum("00:00", "UTC", &clock);
    f.inc(2.0);
    f.set(40.0);
    assert_eq!(f.get(), 40.0);
    f.inc(2.0);
    assert_eq!(f.get(), 42.0);
    f.reset();
    assert_eq!(f.get(), 0.0);
    f.inc(1.0);
    advance_to(&clock, ts("2024-01-01T23:59:59Z"));
    assert_eq!(f.get(), 1.0);
    advance_to(&clock, ts("2024-01-02T00:00:00Z"));
    assert_eq!(
        f.get(),
        0.0,
        "the daily reset still comes after a manual one"
    );
    // `set` after the reset time first resets, then sets.
    f.set(5.0);
    advance_to(&clock, ts("2024-01-03T00:00:00Z"));
    f.set(6.0);
    assert_eq!(f.get(), 6.0);
}

#[test]
fn accessors() {
    let clock = ManualClock::new();
    let f = sum("06:30", "Europe/Berlin", &clock);
    assert_eq!(f.reset_at(), jiff::civil::time(6, 30, 0, 0));
    assert_eq!(f.time_zone().iana_name(), Some("Europe/Berlin"));
}

#[test]
fn bad_parameters() {
    let clock = ManualClock::new().clock();
    for bad in ["25:00", "6", "", "6:00pm", "12:60"] {
        assert_eq!(
            PeriodicSum::with_clock(bad, None, &clock).unwrap_err(),
            Error::TimeOfDay(bad.into())
        );
    }
    assert!(matches!(
        PeriodicSum::with_clock("00:00", Some("Mars/Olympus_Mons"), &clock),
        Err(Error::TimeZone { name, .. }) if name == "Mars/Olympus_Mons"
    ));
}

#[test]
fn non_finite_sums_serialize_as_null() {
    let clock = ManualClock::new();
    let f = sum("00:00", "UTC", &clock);
    f.set(f64::NAN);
    assert_eq!(serde_json::to_string(&f).unwrap(), "null");
    f.set(f64::INFINITY);
    assert_eq!(serde_json::to_string(&f).unwrap(), "null");
    f.set(1.0);
    f.inc(f64::NEG_INFINITY);
    assert_eq!(serde_json::to_string(&f).unwrap(), "null");
    advance_to(&clock, ts("2024-01-02T00:00:00Z"));
    assert_eq!(
        serde_json::to_string(&f).unwrap(),
        "0.0",
        "the reset clears a NaN"
    );
}

#[test]
fn a_day_the_zone_skips_has_no_reset_of_its_own() {
    // Samoa skipped 2011-12-30 entirely (UTC-10 -> UTC+14): local midnights
    // fall at 2011-12-29 (-10), 2011-12-31 (+14) and 2012-01-01 (+14).
    let clock = ManualClock::starting_at(ts("2011-12-28T12:00:00Z"));
    let f = sum("00:00", "Pacific/Apia", &clock);
    let resets = resets_until(&f, &clock, ts("2012-01-01T00:00:00Z"), MINUTE);
    assert_eq!(
        resets,
        [
            ts("2011-12-29T10:00:00Z"),
            ts("2011-12-30T10:00:00Z"),
            ts("2011-12-31T10:00:00Z"),
        ]
    );
}

#[test]
fn a_manual_reset_after_a_step_back_does_not_bring_a_second_daily_reset() {
    let clock = ManualClock::starting_at(ts("2024-01-02T00:30:00Z"));
    let f = sum("00:00", "UTC", &clock);
    clock.set_wall(ts("2024-01-01T23:50:00Z"));
    clock.advance(Duration::from_secs(1));
    f.reset();
    f.inc(2.0);
    // Midnight of 2024-01-02 comes again: that reset already happened.
    advance_to(&clock, ts("2024-01-02T00:10:00Z"));
    assert_eq!(f.get(), 2.0);
    advance_to(&clock, ts("2024-01-03T00:00:00Z"));
    assert_eq!(f.get(), 0.0);
}

#[test]
fn resets_resume_after_a_jump_forward_and_back() {
    let clock = ManualClock::starting_at(ts("2024-01-01T10:00:00Z"));
    let f = sum("00:00", "UTC", &clock);
    f.inc(4.0);
    // A year ahead: one reset.
    clock.shift_wall(SignedDuration::from_hours(24 * 365));
    clock.advance(Duration::from_secs(1));
    assert_eq!(f.get(), 0.0);
    f.inc(2.0);
    // And back: no reset, the sum keeps counting.
    clock.set_wall(ts("2024-01-01T12:00:00Z"));
    clock.advance(Duration::from_secs(1));
    assert_eq!(f.get(), 2.0);
    // The next midnight after the current wall time resets, and so does
    // every one after it.
    advance_to(&clock, ts("2024-01-01T23:59:59Z"));
    assert_eq!(f.get(), 2.0);
    advance_to(&clock, ts("2024-01-02T00:00:00Z"));
    assert_eq!(f.get(), 0.0);
    for day in 3..=9 {
        f.inc(1.0);
        advance_to(&clock, ts(&format!("2024-01-0{day}T00:00:00Z")));
        assert_eq!(f.get(), 0.0, "midnight of day {day}");
    }
}

#[test]
fn resets_resume_after_a_jump_back_then_forward() {
    let clock = ManualClock::starting_at(ts("2024-06-10T10:00:00Z"));
    let f = sum("06:00", "UTC", &clock);
    f.inc(1.0);
    // A week back: the period moves back, no reset.
    clock.shift_wall(SignedDuration::from_hours(-24 * 7));
    clock.advance(Duration::from_secs(1));
    assert_eq!(f.get(), 1.0);
    // The next 06:00 after the new wall time resets.
    advance_to(&clock, ts("2024-06-04T06:00:00Z"));
    assert_eq!(f.get(), 0.0);
    f.inc(3.0);
    // Forward again, past several reset times: one reset.
    clock.set_wall(ts("2024-06-10T10:00:00Z"));
    clock.advance(Duration::from_secs(1));
    assert_eq!(f.get(), 0.0);
    f.inc(5.0);
    advance_to(&clock, ts("2024-06-11T05:59:59Z"));
    assert_eq!(f.get(), 5.0);
    advance_to(&clock, ts("2024-06-11T06:00:00Z"));
    assert_eq!(f.get(), 0.0);
}

#[test]
fn a_step_back_over_the_reset_that_just_happened_never_repeats_it_nor_goes_negative() {
    let clock = ManualClock::starting_at(ts("2024-01-01T23:59:00Z"));
    let f = sum("00:00", "UTC", &clock);
    f.inc(1.0);
    advance_to(&clock, ts("2024-01-02T00:00:30Z"));
    assert_eq!(f.get(), 0.0);
    f.inc(6.0);
    // Back one minute, across that midnight, three times over.
    for _ in 0..3 {
        clock.shift_wall(SignedDuration::from_secs(-60));
        clock.advance(Duration::from_secs(1));
        assert_eq!(f.get(), 6.0);
        advance_to(&clock, clock.wall() + SignedDuration::from_secs(59));
        assert_eq!(f.get(), 6.0, "at {}", clock.wall());
    }
    assert!(f.get() >= 0.0);
    advance_to(&clock, ts("2024-01-03T00:00:00Z"));
    assert_eq!(f.get(), 0.0);
}

#[test]
fn added_counts_every_increment_across_daily_resets() {
    let clock = ManualClock::starting_at(ts("2024-01-01T22:00:00Z"));
    let f = sum("00:00", "UTC", &clock);
    assert_eq!(f.added(), 0.0);
    f.inc(5.0);
    f.inc(0.5);
    advance_to(&clock, ts("2024-01-02T01:00:00Z"));
    assert_eq!(f.get(), 0.0);
    assert_eq!(f.added(), 5.5);
    f.inc(1.0);
    // Days without a look: one reset, nothing lost.
    advance_to(&clock, ts("2024-01-09T12:00:00Z"));
    assert_eq!(f.get(), 0.0);
    assert_eq!(f.added(), 6.5);
    f.inc(0.25);
    assert_eq!(f.added(), 6.75);
    assert_eq!(serde_json::to_string(&f).unwrap(), "0.25");
}

#[test]
fn added_leaves_out_set_and_survives_reset() {
    let clock = ManualClock::starting_at(ts("2024-01-01T12:00:00Z"));
    let f = sum("00:00", "UTC", &clock);
    f.inc(2.0);
    f.set(40.0);
    f.inc(0.5);
    assert_eq!(f.get(), 40.5);
    assert_eq!(f.added(), 2.5, "set is not an increment");
    f.reset();
    assert_eq!(f.get(), 0.0);
    assert_eq!(f.added(), 2.5, "reset does not lower a counter");
    f.set(3.0);
    advance_to(&clock, ts("2024-01-02T00:00:00Z"));
    assert_eq!(f.added(), 2.5, "the set value is not taken into the total");
}

#[test]
fn added_is_lowered_by_a_negative_inc_and_skips_non_finite_ones() {
    let clock = ManualClock::starting_at(ts("2024-01-01T12:00:00Z"));
    let f = sum("00:00", "UTC", &clock);
    f.inc(10.0);
    f.inc(-4.0);
    f.inc(0.5);
    assert_eq!(f.added(), 6.5);
    f.inc(f64::NAN);
    assert!(f.get().is_nan());
    assert_eq!(f.added(), 6.0, "the NaN hides the period's fractions");
    advance_to(&clock, ts("2024-01-02T00:00:00Z"));
    assert_eq!(f.get(), 0.0);
    assert_eq!(f.added(), 6.0);
    f.inc(f64::NEG_INFINITY);
    f.inc(1.0);
    assert_eq!(f.added(), 7.0);
}
