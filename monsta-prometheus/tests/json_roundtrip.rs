//! Every sample, parsed back by a real parser, equals the JSON of the same
//! state under the documented mapping; both formats, with and without a
//! prefix, rendered alone or through a user's registry.

mod common;

use std::{sync::Arc, time::Duration};

use common::{
    Expect, assert_matches, assert_promtool_clean, expected_from_json, have_promtool, have_python,
    python_parse, samples,
    states::{Demo, Units},
};
use monsta_core::{AppState, ManualClock};
use monsta_prometheus::{
    Format, StateCollector, Unit,
    prometheus_client::{encoding::text::encode, metrics::gauge::Gauge, registry::Registry},
};

fn demo(filled: bool) -> Arc<Demo> {
    let clock = ManualClock::new();
    let state = Demo::try_with_clock(&clock.clock()).expect("valid parameters");
    if filled {
        state.fill();
    }
    Arc::new(state)
}

fn check(state: &Arc<Demo>, prefix: Option<&str>, format: Format) {
    let mut collector = StateCollector::new(state.clone());
    if let Some(prefix) = prefix {
        collector = collector.prefix(prefix);
    }
    let text = collector
        .render(format, Some(Duration::from_secs(42)))
        .expect("renders");
    let expected = expected_from_json(&**state, prefix, Some(42));
    let parser = match format {
        Format::OpenMetrics => "openmetrics",
        _ => "text",
    };
    if have_python() {
        assert_matches(&samples(&python_parse(&text, parser)), &expected);
    }
    if format == Format::Text && have_promtool() {
        assert_promtool_clean(&text);
    }
}

#[test]
fn openmetrics_matches_the_json() {
    check(&demo(true), None, Format::OpenMetrics);
}

#[test]
fn classic_text_matches_the_json() {
    check(&demo(true), None, Format::Text);
}

#[test]
fn prefixed_output_matches_the_json() {
    let state = demo(true);
    check(&state, Some("myapp"), Format::OpenMetrics);
    check(&state, Some("myapp"), Format::Text);
}

#[test]
fn a_fresh_state_matches_the_json() {
    let state = demo(false);
    check(&state, None, Format::OpenMetrics);
    check(&state, None, Format::Text);
}

#[test]
fn the_expected_mapping_is_the_documented_one() {
    // A spot check of the test's own mapping against literal names, so that
    // a mistake shared by the crate and the test would still show.
    let expected = expected_from_json(&*demo(true), Some("app"), None);
    let key = |name: &str, labels: &[(&str, &str)]| {
        (
            name.to_owned(),
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>(),
        )
    };
    for (name, labels, value) in [
        ("app_api_calls_total", &[][..], 17.0),
        ("app_requests_total", &[][..], 4.0),
        ("app_temperature", &[][..], -3.25),
        ("app_cpu_usage", &[][..], 32.5),
        ("app_latency_samples_total", &[][..], 4.0),
        ("app_latency_min", &[][..], 10.0),
        ("app_rate_limiter_level", &[][..], 45.0),
        ("app_rate_limiter_capacity", &[][..], 100.0),
        ("app_db_latency", &[("percentile", "50")][..], 2.0),
        ("app_db_latency", &[("percentile", "99.9")][..], 7.233),
        ("app_db_latency_samples", &[][..], 5.0),
        ("app_status_info", &[("value", "degraded")][..], 1.0),
        ("app_ver_info", &[("value", "1.0.0")][..], 1.0),
        ("app_build_info", &[("value", "abc123")][..], 1.0),
        ("app_healthy", &[][..], 1.0),
        ("app_db_queries_total", &[][..], 99.0),
        ("app_db_query_time_mean", &[][..], 4.0),
        ("app_request_rate", &[][..], 15.0),
        ("app_request_rate_added_total", &[][..], 15.0),
        ("app_jobs_today", &[][..], 248.0),
        ("app_jobs_today_added_total", &[][..], 248.0),
    ] {
        let got = expected.get(&key(name, labels));
        match got {
            Some(Expect::Exact(v)) => assert!((v - value).abs() < 1e-9, "{name}: {v} != {value}"),
            other => panic!("{name} {labels:?}: {other:?}"),
        }
    }
    for absent in ["app_idle", "app_tags", "app_maybe", "app_db"] {
        assert!(
            !expected.keys().any(|(n, _)| n == absent),
            "{absent} must be left out"
        );
    }
}

#[test]
fn types_and_help_survive_parsing() {
    if !have_python() {
        return;
    }
    let collector = StateCollector::new(demo(true));
    let om = python_parse(
        &collector.render(Format::OpenMetrics, None).unwrap(),
        "openmetrics",
    );
    let text = python_parse(&collector.render(Format::Text, None).unwrap(), "text");
    let find = |parsed: &[common::Parsed], name: &str| {
        parsed
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no sample {name}"))
            .clone()
    };
    for (name, om_type, text_type) in [
        ("api_calls_total", "counter", "counter"),
        ("status_info", "info", "gauge"),
        ("temperature", "gauge", "gauge"),
        ("latency_samples_total", "counter", "counter"),
        ("db_latency_samples", "gauge", "gauge"),
    ] {
        assert_eq!(find(&om, name).kind, om_type, "{name} in OpenMetrics");
        assert_eq!(find(&text, name).kind, text_type, "{name} in classic text");
    }
    for parsed in [&om, &text] {
        assert_eq!(find(parsed, "api_calls_total").help, "API calls served.");
        assert_eq!(find(parsed, "latency_mean").help, "Request latency. (mean)");
        assert_eq!(
            find(parsed, "temperature").help,
            "monsta Gauge field temperature"
        );
    }
}

#[test]
fn a_registered_state_encodes_next_to_other_metrics() {
    let state = demo(true);
    let mut registry = Registry::with_prefix("svc");
    let other = Gauge::<i64>::default();
    other.set(7);
    registry.register("other", "Another metric of the application", other);
    registry.register_collector(Box::new(StateCollector::new(state.clone()).prefix("mon")));
    let mut text = String::new();
    encode(&mut text, &registry).expect("encodes");
    assert!(text.ends_with("# EOF\n"));
    if !have_python() {
        return;
    }
    let mut parsed = samples(&python_parse(&text, "openmetrics"));
    let other = parsed.remove(&("svc_other".to_owned(), vec![]));
    assert_eq!(other, Some(7.0));
    assert_matches(&parsed, &expected_from_json(&*state, Some("svc_mon"), None));
}

#[test]
fn units_name_the_values_and_not_the_counts() {
    let collector = StateCollector::new(demo(true))
        .unit("latency", Unit::Seconds)
        .unit("db_query_time", Unit::Seconds)
        .unit("rate_limiter", Unit::Other("jobs".into()))
        .unit("status", Unit::Bytes);
    let om = collector.render(Format::OpenMetrics, None).unwrap();
    let text = collector.render(Format::Text, None).unwrap();
    assert!(
        om.contains("# TYPE latency_mean_seconds gauge\n# UNIT latency_mean_seconds seconds\n")
    );
    assert!(om.contains("latency_samples_total 4\n"));
    assert!(om.contains("db_query_time_max_seconds 5.0\n"));
    assert!(om.contains("rate_limiter_capacity_jobs 100.0\n"));
    assert!(
        om.contains("status_info{value=\"degraded\"} 1\n"),
        "no unit on strings"
    );
    assert!(!text.contains("# UNIT"));
    assert!(text.contains("# TYPE latency_mean_seconds gauge\nlatency_mean_seconds 54.375\n"));
    if have_python() {
        let parsed = python_parse(&om, "openmetrics");
        let mean = parsed
            .iter()
            .find(|p| p.name == "latency_mean_seconds")
            .unwrap();
        assert_eq!(mean.unit, "seconds");
        assert_eq!(mean.value, 54.375);
        python_parse(&text, "text");
    }
    if have_promtool() {
        assert_promtool_clean(&text);
    }
}

fn units() -> Arc<Units> {
    let clock = ManualClock::new();
    let state = Units::try_with_clock(&clock.clock()).expect("valid parameters");
    state.latency.update(0.25);
    state.latency.update(0.75);
    state.queue.request(2.0);
    state.db_latency.update(0.002);
    Arc::new(state)
}

#[test]
fn the_states_own_prefix_and_units_name_the_metrics() {
    let state = units();
    let collector = StateCollector::new(state.clone());
    for format in [Format::OpenMetrics, Format::Text] {
        let text = collector.render(format, None).expect("renders");
        for name in [
            "svc_latency_samples_total 2",
            "svc_latency_mean_seconds 0.5",
            "svc_heap_bytes 1024.0",
            "svc_sent_bytes_total 3",
            "svc_queue_level_jobs 2.0",
            "svc_db_latency_seconds{percentile=\"99\"} 0.002",
            "svc_db_latency_samples 1.0",
            "svc_load_ratio 0.25",
            "svc_healthy 1.0",
            "svc_ratio 0.5",
            "svc_mode_info{value=\"fast\"} 1",
            "svc_child_wait_seconds 0.5",
        ] {
            assert!(text.contains(&format!("\n{name}\n")), "{name} in\n{text}");
        }
        let parser = if format == Format::Text {
            "text"
        } else {
            "openmetrics"
        };
        if have_python() {
            let parsed = python_parse(&text, parser);
            assert_matches(
                &samples(&parsed),
                &expected_from_json(&*state, Some("svc"), None),
            );
            if format == Format::OpenMetrics {
                let unit = |family: &str| {
                    let p = parsed.iter().find(|p| p.family == family).unwrap();
                    p.unit.clone()
                };
                assert_eq!(unit("svc_latency_mean_seconds"), "seconds");
                assert_eq!(unit("svc_sent_bytes"), "bytes");
                assert_eq!(unit("svc_latency_samples"), "");
            }
        }
        if format == Format::Text && have_promtool() {
            assert_promtool_clean(&text);
        }
    }
}

#[test]
fn the_collector_overrides_the_states_prefix_and_units() {
    let collector = StateCollector::new(units())
        .prefix("other")
        .unit("latency", Unit::Bytes)
        .unit("heap_bytes", Unit::Other(String::new()))
        .unit("child_wait", Unit::Other("ms".into()));
    let text = collector.render(Format::Text, None).expect("renders");
    assert!(text.contains("\nother_latency_mean_bytes 0.5\n"), "{text}");
    assert!(text.contains("\nother_heap_bytes 1024.0\n"), "{text}");
    assert!(text.contains("\nother_child_wait_ms 0.5\n"), "{text}");
    assert!(text.contains("\nother_sent_bytes_total 3\n"), "{text}");
    let text = StateCollector::new(units())
        .prefix("")
        .render(Format::Text, None)
        .expect("renders");
    assert!(text.contains("\nlatency_mean_seconds 0.5\n"), "{text}");
    assert!(!text.contains("svc_"), "{text}");
}

#[test]
fn uptime_alone_parses_in_both_formats() {
    let om = monsta_prometheus::render_uptime(Format::OpenMetrics, Duration::from_secs(3600))
        .expect("renders");
    let text =
        monsta_prometheus::render_uptime(Format::Text, Duration::from_secs(3600)).expect("renders");
    let want = [(
        ("process_uptime_seconds".to_owned(), vec![]),
        Expect::Exact(3600.0),
    )]
    .into_iter()
    .collect();
    if have_python() {
        assert_matches(&samples(&python_parse(&om, "openmetrics")), &want);
        assert_matches(&samples(&python_parse(&text, "text")), &want);
    }
    if have_promtool() {
        assert_promtool_clean(&text);
    }
}
