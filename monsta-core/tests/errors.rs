//! Every bad parameter is the documented `Error`, and its message names the
//! parameter.

use std::time::Duration;

use monsta_core::{
    Error,
    clock::ManualClock,
    fields::{Ewma, LeakyBucket, PeriodicSum, SampledWindow, SlidingPercentiles, SlidingWindow},
    params,
};

fn message_names(err: &Error, parameter: &str) {
    let text = err.to_string();
    assert!(
        text.contains(parameter),
        "`{text}` does not name `{parameter}`"
    );
}

#[test]
fn alpha() {
    for alpha in [0.0, 1.5, f64::NAN, -1.0] {
        let err = Ewma::new(alpha, None).unwrap_err();
        assert!(
            matches!(err, Error::Alpha(a) if a.to_bits() == alpha.to_bits()),
            "{err:?}"
        );
        message_names(&err, "alpha");
    }
    assert!(params::check_alpha(1.0).is_ok());
}

#[test]
fn window_zero() {
    let clock = ManualClock::new().clock();
    let errs = [
        SlidingWindow::with_clock(Duration::ZERO, &clock).unwrap_err(),
        SampledWindow::with_clock(Duration::ZERO, 0.0, &clock).unwrap_err(),
        SlidingPercentiles::with_clock(Duration::ZERO, &[50.0], 10, &clock).unwrap_err(),
        params::check_window(Duration::ZERO).unwrap_err(),
    ];
    for err in errs {
        assert_eq!(err, Error::Window(Duration::ZERO));
        message_names(&err, "window");
    }
}

#[test]
fn window_too_long() {
    // Longer than `u64` nanoseconds: an error, not a window clamped to ~584 years.
    let clock = ManualClock::new().clock();
    let long = params::MAX_WINDOW + Duration::from_nanos(1);
    let secs = long.as_secs_f64();
    let errs = [
        SlidingWindow::with_clock(long, &clock).unwrap_err(),
        SampledWindow::with_clock(long, 0.0, &clock).unwrap_err(),
        SlidingPercentiles::with_clock(long, &[50.0], 10, &clock).unwrap_err(),
        params::check_window(long).unwrap_err(),
    ];
    for err in errs {
        assert_eq!(err, Error::WindowTooLong(secs));
        message_names(&err, "window");
        message_names(&err, "584 years");
    }
    assert_eq!(
        params::parse_duration("100000000000h"),
        Err(Error::WindowTooLong(3.6e14))
    );
    for secs in [1e12, 1e30, f64::MAX] {
        assert_eq!(
            params::window_from_secs(secs),
            Err(Error::WindowTooLong(secs))
        );
    }
    let max = SlidingWindow::with_clock(params::MAX_WINDOW, &clock).unwrap();
    assert_eq!(max.window(), params::MAX_WINDOW);
}

#[test]
fn window_in_seconds() {
    for secs in [0.0, -1.0, f64::INFINITY, 1e-12] {
        let err = params::window_from_secs(secs).unwrap_err();
        assert_eq!(err, Error::WindowSecs(secs));
        message_names(&err, "window");
    }
    assert!(matches!(params::window_from_secs(f64::NAN), Err(Error::WindowSecs(s)) if s.is_nan()));
    assert_eq!(
        params::window_from_secs(1.5),
        Ok(Duration::from_millis(1500))
    );
}

#[test]
fn capacity() {
    let clock = ManualClock::new().clock();
    for capacity in [-1.0, 0.0, f64::NAN, f64::INFINITY] {
        let err = LeakyBucket::with_clock(capacity, 1.0, &clock).unwrap_err();
        assert!(
            matches!(err, Error::Capacity(c) if c.to_bits() == capacity.to_bits()),
            "{err:?}"
        );
        message_names(&err, "capacity");
    }
}

#[test]
fn leak_rate() {
    let clock = ManualClock::new().clock();
    for rate in [0.0, -2.0, f64::NAN, f64::INFINITY] {
        let err = LeakyBucket::with_clock(1.0, rate, &clock).unwrap_err();
        assert!(
            matches!(err, Error::LeakRate(r) if r.to_bits() == rate.to_bits()),
            "{err:?}"
        );
        message_names(&err, "leak_rate");
    }
}

#[test]
fn quantile() {
    let clock = ManualClock::new().clock();
    for q in [101.0, -1.0, f64::NAN] {
        let err =
            SlidingPercentiles::with_clock(Duration::from_secs(1), &[q], 10, &clock).unwrap_err();
        assert!(
            matches!(err, Error::Quantile(x) if x.to_bits() == q.to_bits()),
            "{err:?}"
        );
        message_names(&err, "quantile");
    }
    for q in [0.0, 100.0, 99.99] {
        assert_eq!(params::check_quantile(q), Ok(q));
    }
}

#[test]
fn empty_quantile_list() {
    let clock = ManualClock::new().clock();
    let err = SlidingPercentiles::with_clock(Duration::from_secs(1), &[], 10, &clock).unwrap_err();
    assert_eq!(err, Error::NoQuantiles);
    message_names(&err, "quantiles");
    assert_eq!(params::check_quantiles(&[]), Err(Error::NoQuantiles));
}

#[test]
fn max_samples() {
    let clock = ManualClock::new().clock();
    let err =
        SlidingPercentiles::with_clock(Duration::from_secs(1), &[50.0], 0, &clock).unwrap_err();
    assert_eq!(err, Error::MaxSamples);
    message_names(&err, "max_samples");
}

#[test]
fn unknown_time_zone() {
    let clock = ManualClock::new().clock();
    let err = PeriodicSum::with_clock("00:00", Some("Europe/Atlantis"), &clock).unwrap_err();
    assert!(
        matches!(&err, Error::TimeZone { name, .. } if name == "Europe/Atlantis"),
        "{err:?}"
    );
    message_names(&err, "tz");
    message_names(&err, "Europe/Atlantis");
    assert!(params::time_zone("Europe/Berlin").is_ok());
    assert!(params::time_zone("").is_err());
}

#[test]
fn bad_time_of_day() {
    let clock = ManualClock::new().clock();
    for text in ["25:00", "6", "24:00", "06:60", "noon", ""] {
        let err = PeriodicSum::with_clock(text, None, &clock).unwrap_err();
        assert_eq!(err, Error::TimeOfDay(text.into()));
        message_names(&err, "reset_at");
    }
    let t = params::parse_time_of_day("23:59:59").unwrap();
    assert_eq!((t.hour(), t.minute(), t.second()), (23, 59, 59));
}

#[test]
fn bad_duration_strings() {
    for text in ["", "abc", "-5s", "5 parsecs", "1y"] {
        let err = params::parse_duration(text).unwrap_err();
        assert_eq!(err, Error::Duration(text.into()), "{text:?}");
        message_names(&err, "window");
    }
    for text in ["0s", "0ms", "0"] {
        let err = params::parse_duration(text);
        assert!(
            matches!(err, Err(Error::Window(d)) if d.is_zero())
                || matches!(&err, Err(Error::Duration(_))),
            "{text:?}: {err:?}"
        );
    }
    assert_eq!(
        params::parse_duration("0s"),
        Err(Error::Window(Duration::ZERO))
    );
    for (text, want) in [
        ("500ms", Duration::from_millis(500)),
        ("60s", Duration::from_secs(60)),
        ("10m", Duration::from_secs(600)),
        ("1h", Duration::from_secs(3600)),
        ("1h 30m", Duration::from_secs(5400)),
        (" 5s ", Duration::from_secs(5)),
    ] {
        assert_eq!(params::parse_duration(text), Ok(want), "{text:?}");
    }
}

#[test]
fn non_finite_preset_and_zero() {
    let clock = ManualClock::new().clock();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = Ewma::new(0.5, Some(bad)).unwrap_err();
        assert!(
            matches!(err, Error::NotFinite { name: "preset", .. }),
            "{err:?}"
        );
        message_names(&err, "preset");
        let err = SampledWindow::with_clock(Duration::from_secs(1), bad, &clock).unwrap_err();
        assert!(
            matches!(err, Error::NotFinite { name: "zero", .. }),
            "{err:?}"
        );
        message_names(&err, "zero");
    }
}

#[test]
fn errors_are_std_errors_and_clone() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    let err = Error::MaxSamples;
    is_error(&err);
    assert_eq!(err.clone(), err);
}
