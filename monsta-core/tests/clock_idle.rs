//! The system clock's refresh thread parks when nothing reads the time, and
//! the next reading wakes it with a fresh time. In a test binary of its own:
//! no other test may read the clock meanwhile.

use std::time::{Duration, Instant};

use monsta_core::clock::{self, Clock};

/// Polls `cond` every 5 ms for at most `limit`.
fn within(limit: Duration, cond: impl Fn() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

#[test]
fn the_refresh_thread_parks_when_unread_and_a_reading_wakes_it() {
    let clock = Clock::system();
    let t0 = clock.now();
    // Busy: read every half millisecond for 300 ms; the time keeps moving.
    let start = Instant::now();
    let mut last = t0;
    while start.elapsed() < Duration::from_millis(300) {
        let t = clock.now();
        assert!(t >= last, "the clock went back from {last:?} to {t:?}");
        last = t;
        std::thread::sleep(Duration::from_micros(500));
    }
    assert!(
        last - t0 >= Duration::from_millis(250),
        "the clock moved {:?} in 300 ms",
        last - t0
    );

    // Idle: within a probe period (100 ms) and a tick, the thread parks.
    assert!(
        within(Duration::from_secs(3), clock::upkeep_parked),
        "the refresh thread still runs after 3 s without a reading"
    );
    // Parked, it publishes nothing: the next reading goes to the system
    // clock, so it is fresh, not the time of the last refresh.
    std::thread::sleep(Duration::from_millis(100));
    let woke = clock.now();
    assert!(
        woke - last >= Duration::from_millis(100),
        "a reading after a parked spell is stale: {:?} after the last",
        woke - last
    );
    assert!(
        within(Duration::from_secs(1), || !clock::upkeep_parked()),
        "the reading did not wake the refresh thread"
    );
    // Awake again, it refreshes the time.
    assert!(
        within(Duration::from_secs(1), || clock.now() - woke
            >= Duration::from_millis(15)),
        "the time stands at {:?} after the wake",
        clock.now() - woke
    );
}
