//! Names, help texts and values chosen to break an encoder: the output is
//! accepted by promtool and by Python's parsers in both formats, and every
//! string comes back exactly as it went in.

mod common;

use std::sync::Arc;

use common::{
    Parsed, assert_promtool_clean, have_promtool, have_python, python_parse,
    states::{AddedClash, CONTROL_TEXT, Clash, NASTY_HELP, NASTY_TEXT, StatsClash, Weird},
};
use monsta_core::{AppState, Clock};
use monsta_prometheus::{Format, StateCollector};

fn weird() -> StateCollector<Weird> {
    StateCollector::new(Arc::new(
        Weird::try_with_clock(&Clock::system()).expect("valid parameters"),
    ))
}

fn render(format: Format) -> String {
    weird().render(format, None).expect("renders")
}

/// The sample names the mapping must give, in order, and their values.
const NAMES: &[(&str, f64)] = &[
    ("queue_depth__jobs_", 1.0),
    ("_9lives", 2.0),
    ("gr__e", 3.0),
    ("say__hi___total", 4.0),
    ("ratio_avg", 5.0),
    ("nan", f64::NAN),
    ("inf", f64::INFINITY),
    ("neg_inf", f64::NEG_INFINITY),
    ("text_info", 1.0),
    ("controls_info", 1.0),
    ("help_nasty", 6.0),
    ("x_y", 7.0),
    ("big", 18446744073709551615.0),
    ("negative", -12.0),
    ("child_x_in_ner", 9.0),
];

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn check_parsed(parsed: &[Parsed], format: &str) {
    let got: Vec<(&str, f64)> = parsed.iter().map(|p| (p.name.as_str(), p.value)).collect();
    assert_eq!(got.len(), NAMES.len(), "{format}: {got:?}");
    for ((name, value), (want_name, want_value)) in got.iter().zip(NAMES) {
        assert_eq!(name, want_name, "{format}");
        assert!(
            same(*value, *want_value),
            "{format} {name}: {value} != {want_value}"
        );
    }
    let text = parsed.iter().find(|p| p.name == "text_info").unwrap();
    assert_eq!(
        text.labels["value"], NASTY_TEXT,
        "{format}: the string round-trips"
    );
    let controls = parsed.iter().find(|p| p.name == "controls_info").unwrap();
    assert_eq!(
        controls.labels["value"], CONTROL_TEXT,
        "{format}: control characters"
    );
    let help = parsed.iter().find(|p| p.name == "help_nasty").unwrap();
    // Carriage return and tab in help become spaces; the rest round-trips.
    assert_eq!(
        help.help,
        NASTY_HELP.replace(['\r', '\t'], " "),
        "{format}: help"
    );
    let unicode = parsed.iter().find(|p| p.name == "gr__e").unwrap();
    assert_eq!(unicode.help, "Ünïcödé help ✓.", "{format}: unicode help");
}

#[test]
fn openmetrics_parses_and_round_trips() {
    if have_python() {
        check_parsed(
            &python_parse(&render(Format::OpenMetrics), "openmetrics"),
            "openmetrics",
        );
    }
}

#[test]
fn classic_text_parses_and_round_trips() {
    if have_python() {
        check_parsed(&python_parse(&render(Format::Text), "text"), "text");
    }
}

#[test]
fn promtool_accepts_the_classic_text() {
    if have_promtool() {
        assert_promtool_clean(&render(Format::Text));
    }
}

#[test]
fn promtool_rejects_a_copy_with_the_escape_undone() {
    // So that the check above is known to bite.
    if !have_promtool() {
        return;
    }
    let text = render(Format::Text);
    assert_promtool_clean(&text);
    let broken = text.replace(r#"\"quoted\""#, r#""quoted""#);
    assert_ne!(broken, text);
    let (code, _) = common::promtool_check(&broken);
    assert_ne!(code, 0, "promtool must reject an unescaped quote");
}

#[test]
fn label_values_are_escaped_in_the_bytes() {
    // prometheus-client before 0.25.2 wrote label values raw (its issue
    // #151); these are the bytes both formats must hold.
    let escaped = r#"{value="a \"quoted\" \\ back\\slash\nnew line, ünïcödé ✓ 日本 🚀 }{=,"} 1"#;
    for format in [Format::OpenMetrics, Format::Text] {
        let text = render(format);
        assert!(
            text.contains(&format!("text_info{escaped}\n")),
            "{format:?}:\n{text}"
        );
        assert!(text.contains("controls_info{value=\"cr\rtab\tend\"} 1\n"));
    }
}

#[test]
fn help_is_escaped_for_each_format() {
    let om = render(Format::OpenMetrics);
    let text = render(Format::Text);
    assert!(om.contains(
        "# HELP help_nasty He said \\\"hi\\\" \\\\ back\\\\slash \\\\n not a newline\\nsecond line  end\n"
    ));
    assert!(text.contains(
        "# HELP help_nasty He said \"hi\" \\\\ back\\\\slash \\\\n not a newline\\nsecond line  end\n"
    ));
    for out in [&om, &text] {
        for line in out.lines() {
            assert!(
                !line.contains('\r') || line.starts_with("controls_info"),
                "{line:?}"
            );
        }
    }
}

#[test]
fn non_finite_values_are_written_as_parsers_read_them() {
    for format in [Format::OpenMetrics, Format::Text] {
        let text = render(format);
        assert!(text.contains("\nnan NaN\n"), "{format:?}");
        assert!(text.contains("\ninf inf\n"), "{format:?}");
        assert!(text.contains("\nneg_inf -inf\n"), "{format:?}");
    }
}

#[test]
fn names_that_map_alike_keep_the_first() {
    let text = render(Format::Text);
    assert_eq!(text.matches("# TYPE x_y ").count(), 1);
    assert!(text.contains("\nx_y 7.0\n"));
}

#[test]
fn a_weird_prefix_is_mapped_too() {
    let text = weird()
        .prefix("my app.v2")
        .render(Format::Text, None)
        .unwrap();
    assert!(text.contains("\nmy_app_v2__9lives 2.0\n"));
    assert!(text.contains("\nmy_app_v2_child_x_in_ner 9.0\n"));
    let text = weird().prefix("1st").render(Format::Text, None).unwrap();
    assert!(text.contains("\n_1st_gr__e 3.0\n"));
    if have_promtool() {
        assert_promtool_clean(&text);
    }
}

#[test]
fn names_that_clash_after_mapping_are_an_error_naming_both_fields() {
    let clock = Clock::system();
    let clash = StateCollector::new(Arc::new(Clash::try_with_clock(&clock).unwrap()));
    let err = clash.check().unwrap_err();
    assert_eq!(
        err.to_string(),
        "fields `x.y` and `x_y` would both export the metric name `x_y`; \
         rename one of them (`#[monsta(rename = \"...\")]`)"
    );
    for format in [Format::Text, Format::OpenMetrics] {
        assert!(matches!(
            clash.render(format, None),
            Err(monsta_prometheus::Error::Collision { name, first, second })
                if name == "x_y" && first == "x.y" && second == "x_y"
        ));
    }
    // In a registry, the encoding fails instead of leaving a family out.
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register_collector(Box::new(clash));
    let mut out = String::new();
    assert!(prometheus_client::encoding::text::encode(&mut out, &registry).is_err());

    let stats = StateCollector::new(Arc::new(StatsClash::try_with_clock(&clock).unwrap()));
    assert!(matches!(
        stats.check(),
        Err(monsta_prometheus::Error::Collision { name, first, second })
            if name == "lat_mean" && first == "lat" && second == "lat_mean"
    ));

    // A windowed sum's total is a family of its own, `x_added`.
    let added = StateCollector::new(Arc::new(AddedClash::try_with_clock(&clock).unwrap()));
    assert!(matches!(
        added.check(),
        Err(monsta_prometheus::Error::Collision { name, first, second })
            if name == "x_added" && first == "x" && second == "x_added"
    ));
}
