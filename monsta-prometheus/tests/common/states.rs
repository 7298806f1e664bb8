//! States implemented by hand, as `#[derive(AppState)]` would: fields in a
//! struct, a `FieldInfo` each, flattened children serialized inline.

use std::time::Duration;

use monsta_core::{
    AppState, Clock, Error, FieldInfo, FieldKind, Visitor,
    fields::{
        Counter, Ewma, Field, Gauge, LeakyBucket, PeriodicSum, RunningStats, SampledWindow,
        SlidingPercentiles, SlidingWindow, Value,
    },
    state::LockSet,
};
use serde::{Serialize, Serializer};

/// Implements `Serialize` and `AppState` for a struct of fields.
macro_rules! app_state {
    (
        $ty:ident $( prefix($prefix:expr) )? {
            $( $field:ident => $info:expr, )*
        }
        flatten {
            $( $child:ident : $cty:ty => $cinfo:expr, )*
        }
        build($clock:ident) $build:block
    ) => {
        impl $ty {
            /// The JSON object, flattened children inline.
            pub fn json_map(&self) -> serde_json::Map<String, serde_json::Value> {
                let mut m = serde_json::Map::new();
                $(
                    m.insert(
                        $info.name.to_owned(),
                        serde_json::to_value(&self.$field).expect("a field serializes"),
                    );
                )*
                $( m.extend(self.$child.json_map()); )*
                m
            }
        }

        impl Serialize for $ty {
            fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
                self.json_map().serialize(s)
            }
        }

        impl AppState for $ty {
            type Snapshot = serde_json::Value;
            $( const PREFIX: Option<&'static str> = Some($prefix); )?

            fn try_with_clock($clock: &Clock) -> Result<Self, Error> $build

            fn describe() -> Vec<FieldInfo> {
                #[allow(unused_mut)]
                let mut v = vec![$($info),*];
                $(
                    v.push($cinfo);
                    v.extend(<$cty>::describe());
                )*
                v
            }

            fn visit(&self, visitor: &mut dyn Visitor) {
                $( visitor.field(&$info, self.$field.as_field_ref()); )*
                $(
                    visitor.enter(&$cinfo);
                    self.$child.visit(visitor);
                    visitor.leave(&$cinfo);
                )*
            }

            fn snapshot_unlocked(&self) -> serde_json::Value {
                serde_json::to_value(self).expect("the state serializes")
            }

            fn collect_locks(&self, set: &mut LockSet) {
                set.add(self);
                $( self.$child.collect_locks(set); )*
            }
        }
    };
}

const fn info(name: &'static str, kind: FieldKind, help: &'static str) -> FieldInfo {
    FieldInfo::new(name, name, kind, help)
}

/// Every field type, with help texts, a flattened child and a rename.
pub struct Demo {
    pub api_calls: Counter,
    pub requests_total: Counter,
    pub temperature: Gauge,
    pub request_rate: SlidingWindow,
    pub jobs_today: PeriodicSum,
    pub cpu_usage: Ewma,
    pub idle: Ewma,
    pub latency: RunningStats,
    pub active_rps: SampledWindow,
    pub rate_limiter: LeakyBucket,
    pub db_latency: SlidingPercentiles,
    pub status: Value<String>,
    pub ratio: Value<f64>,
    pub healthy: Value<bool>,
    pub tags: Value<Vec<String>>,
    pub maybe: Value<Option<u32>>,
    pub version: Value<String>,
    pub build_info: Value<String>,
    pub db: Db,
}

/// The flattened child of [`Demo`].
pub struct Db {
    pub queries: Counter,
    pub pool_size: Gauge,
    pub query_time: RunningStats,
}

app_state! {
    Demo {
        api_calls => info("api_calls", FieldKind::Counter, "API calls served."),
        requests_total => info("requests_total", FieldKind::Counter, "Requests."),
        temperature => info("temperature", FieldKind::Gauge, ""),
        request_rate => info("request_rate", FieldKind::SlidingWindow, "Requests in the last minute."),
        jobs_today => info("jobs_today", FieldKind::PeriodicSum, "Jobs since midnight."),
        cpu_usage => info("cpu_usage", FieldKind::Ewma, "CPU usage, smoothed."),
        idle => info("idle", FieldKind::Ewma, "Never sampled."),
        latency => info("latency", FieldKind::RunningStats, "Request latency."),
        active_rps => info("active_rps", FieldKind::SampledWindow, "Requests per second."),
        rate_limiter => info("rate_limiter", FieldKind::LeakyBucket, "The rate limiter."),
        db_latency => info("db_latency", FieldKind::SlidingPercentiles, "Database latency."),
        status => info("status", FieldKind::Value, "Service status."),
        ratio => info("ratio", FieldKind::Value, "A ratio."),
        healthy => info("healthy", FieldKind::Value, "Whether all is well."),
        tags => info("tags", FieldKind::Value, "Not a metric."),
        maybe => info("maybe", FieldKind::Value, "Null until set."),
        version => FieldInfo::new("ver", "version", FieldKind::Value, "Version."),
        build_info => info("build_info", FieldKind::Value, "Build."),
    }
    flatten {
        db: Db => info("db", FieldKind::Flatten, ""),
    }
    build(clock) {
        Ok(Demo {
            api_calls: Counter::new(),
            requests_total: Counter::new(),
            temperature: Gauge::new(),
            request_rate: SlidingWindow::with_clock(Duration::from_secs(60), clock)?,
            jobs_today: PeriodicSum::with_clock("00:00", Some("UTC"), clock)?,
            cpu_usage: Ewma::new(0.5, None)?,
            idle: Ewma::new(0.1, None)?,
            latency: RunningStats::new(),
            active_rps: SampledWindow::with_clock(Duration::from_secs(5), 0.0, clock)?,
            rate_limiter: LeakyBucket::with_clock(100.0, 10.0, clock)?,
            db_latency: SlidingPercentiles::with_clock(
                Duration::from_secs(600),
                &[50.0, 90.0, 99.0, 99.9],
                1000,
                clock,
            )?,
            status: Value::default(),
            ratio: Value::default(),
            healthy: Value::default(),
            tags: Value::default(),
            maybe: Value::default(),
            version: Value::new("1.0.0".to_owned()),
            build_info: Value::default(),
            db: Db::try_with_clock(clock)?,
        })
    }
}

app_state! {
    Db {
        queries => info("queries", FieldKind::Counter, "Queries run."),
        pool_size => info("pool_size", FieldKind::Gauge, "Connections in the pool."),
        query_time => info("query_time", FieldKind::RunningStats, "Query time."),
    }
    flatten {}
    build(_clock) {
        Ok(Db {
            queries: Counter::new(),
            pool_size: Gauge::new(),
            query_time: RunningStats::new(),
        })
    }
}

impl Demo {
    /// Sets every field to something other than its start value.
    pub fn fill(&self) {
        self.api_calls.inc(17);
        self.requests_total.inc(4);
        self.temperature.set(-3.25);
        self.request_rate.inc(15.0);
        self.jobs_today.inc(248.0);
        self.cpu_usage.update(30.0);
        self.cpu_usage.update(35.0);
        for x in [10.0, 42.0, 120.0, 45.5] {
            self.latency.update(x);
        }
        self.active_rps.set(120.0);
        for _ in 0..45 {
            self.rate_limiter.request(1.0);
        }
        for x in [0.5, 1.0, 2.0, 7.25, 3.0] {
            self.db_latency.update(x);
        }
        self.status.set("degraded".to_owned());
        self.ratio.set(0.125);
        self.healthy.set(true);
        self.tags.set(vec!["a".into(), "b".into()]);
        self.build_info.set("abc123".into());
        self.db.queries.inc(99);
        self.db.pool_size.set(8.0);
        self.db.query_time.update(3.0);
        self.db.query_time.update(5.0);
    }
}

/// Names, help texts and values chosen to break a naive encoder.
pub struct Weird {
    pub dotted: Gauge,
    pub digit: Gauge,
    pub unicode: Gauge,
    pub quoted: Counter,
    pub colon: Gauge,
    pub nan: Gauge,
    pub inf: Gauge,
    pub neg_inf: Gauge,
    pub text: Value<String>,
    pub controls: Value<String>,
    pub help_nasty: Gauge,
    pub clash_a: Gauge,
    pub big: Value<u64>,
    pub negative: Value<i64>,
    pub child: WeirdChild,
}

/// The flattened child of [`Weird`], with a name to map.
pub struct WeirdChild {
    pub inner: Gauge,
}

/// The help text with quotes, backslashes and newlines.
pub const NASTY_HELP: &str = "He said \"hi\" \\ back\\slash \\n not a newline\nsecond line\r\tend";
/// The string value with quotes, a backslash, a newline and unicode.
pub const NASTY_TEXT: &str = "a \"quoted\" \\ back\\slash\nnew line, ünïcödé ✓ 日本 🚀 }{=,";
/// A string value with other control characters.
pub const CONTROL_TEXT: &str = "cr\rtab\tend";

app_state! {
    Weird {
        dotted => info("queue.depth (jobs)", FieldKind::Gauge, "Dots, spaces, parentheses."),
        digit => info("9lives", FieldKind::Gauge, "Leading digit."),
        unicode => info("größe", FieldKind::Gauge, "Ünïcödé help ✓."),
        quoted => info("say \"hi\"\n", FieldKind::Counter, "Quote in the name."),
        colon => info("ratio:avg", FieldKind::Gauge, "Colon."),
        nan => info("nan", FieldKind::Gauge, "Not a number."),
        inf => info("inf", FieldKind::Gauge, "Infinity."),
        neg_inf => info("neg_inf", FieldKind::Gauge, "Minus infinity."),
        text => info("text", FieldKind::Value, "A nasty string."),
        controls => info("controls", FieldKind::Value, "Control characters."),
        help_nasty => info("help_nasty", FieldKind::Gauge, NASTY_HELP),
        clash_a => info("x.y", FieldKind::Gauge, "A name that maps to x_y."),
        big => info("big", FieldKind::Value, "u64::MAX."),
        negative => info("negative", FieldKind::Value, "Negative."),
    }
    flatten {
        child: WeirdChild => info("child.x", FieldKind::Flatten, ""),
    }
    build(_clock) {
        Ok(Weird {
            dotted: Gauge::with_value(1.0),
            digit: Gauge::with_value(2.0),
            unicode: Gauge::with_value(3.0),
            quoted: Counter::with_value(4),
            colon: Gauge::with_value(5.0),
            nan: Gauge::with_value(f64::NAN),
            inf: Gauge::with_value(f64::INFINITY),
            neg_inf: Gauge::with_value(f64::NEG_INFINITY),
            text: Value::new(NASTY_TEXT.to_owned()),
            controls: Value::new(CONTROL_TEXT.to_owned()),
            help_nasty: Gauge::with_value(6.0),
            clash_a: Gauge::with_value(7.0),
            big: Value::new(u64::MAX),
            negative: Value::new(-12),
            child: WeirdChild::try_with_clock(_clock)?,
        })
    }
}

app_state! {
    WeirdChild {
        inner => info("in-ner", FieldKind::Gauge, "Inside a flattened child."),
    }
    flatten {}
    build(_clock) {
        Ok(WeirdChild { inner: Gauge::with_value(9.0) })
    }
}

/// Two counters that transactions keep equal.
pub struct Pair {
    pub a: Counter,
    pub b: Counter,
}

app_state! {
    Pair {
        a => info("a", FieldKind::Counter, "Always equal to b outside a transaction."),
        b => info("b", FieldKind::Counter, "Always equal to a outside a transaction."),
    }
    flatten {}
    build(_clock) {
        Ok(Pair { a: Counter::new(), b: Counter::new() })
    }
}

/// A state with a prefix and units of its own, as `#[monsta(prefix = "svc")]`
/// and `#[monsta(unit = "...")]` give them.
pub struct Units {
    pub latency: RunningStats,
    pub heap_bytes: Gauge,
    pub sent: Counter,
    pub queue: LeakyBucket,
    pub db_latency: SlidingPercentiles,
    pub load: Ewma,
    pub healthy: Value<bool>,
    pub ratio: Value<f64>,
    pub mode: Value<String>,
    pub child: UnitsChild,
}

/// The flattened child of [`Units`]; its own prefix is not used.
pub struct UnitsChild {
    pub wait: Gauge,
}

app_state! {
    Units prefix("svc") {
        latency => info("latency", FieldKind::RunningStats, "Latency.").with_unit("seconds"),
        heap_bytes => info("heap_bytes", FieldKind::Gauge, "Heap.").with_unit("bytes"),
        sent => info("sent", FieldKind::Counter, "Sent.").with_unit("bytes"),
        queue => info("queue", FieldKind::LeakyBucket, "Queue.").with_unit("jobs"),
        db_latency => info("db_latency", FieldKind::SlidingPercentiles, "DB.").with_unit("seconds"),
        load => info("load", FieldKind::Ewma, "Load.").with_unit("ratio"),
        healthy => info("healthy", FieldKind::Value, "Health.").with_unit("ratio"),
        ratio => info("ratio", FieldKind::Value, "A ratio.").with_unit("ratio"),
        mode => info("mode", FieldKind::Value, "Mode.").with_unit("bytes"),
    }
    flatten {
        child: UnitsChild => info("child", FieldKind::Flatten, ""),
    }
    build(clock) {
        Ok(Units {
            latency: RunningStats::new(),
            heap_bytes: Gauge::with_value(1024.0),
            sent: Counter::with_value(3),
            queue: LeakyBucket::with_clock(10.0, 1.0, clock)?,
            db_latency: SlidingPercentiles::with_clock(
                Duration::from_secs(600),
                &[50.0, 99.0],
                100,
                clock,
            )?,
            load: Ewma::new(0.5, Some(0.25))?,
            healthy: Value::new(true),
            ratio: Value::new(0.5),
            mode: Value::new("fast".to_owned()),
            child: UnitsChild::try_with_clock(clock)?,
        })
    }
}

app_state! {
    UnitsChild prefix("ignored") {
        wait => info("wait", FieldKind::Gauge, "Wait.").with_unit("seconds"),
    }
    flatten {}
    build(_clock) {
        Ok(UnitsChild { wait: Gauge::with_value(0.5) })
    }
}

/// Two fields whose names map to one metric name, and a field that clashes
/// with a flattened child's.
pub struct Clash {
    pub dotted: Gauge,
    pub plain: Gauge,
}

app_state! {
    Clash {
        dotted => info("x.y", FieldKind::Gauge, "Maps to x_y."),
        plain => info("x_y", FieldKind::Gauge, "Is x_y."),
    }
    flatten {}
    build(_clock) {
        Ok(Clash { dotted: Gauge::new(), plain: Gauge::new() })
    }
}

/// A `RunningStats` `lat` next to a gauge `lat_mean`.
pub struct StatsClash {
    pub lat: RunningStats,
    pub lat_mean: Gauge,
}

app_state! {
    StatsClash {
        lat => info("lat", FieldKind::RunningStats, ""),
        lat_mean => info("lat_mean", FieldKind::Gauge, ""),
    }
    flatten {}
    build(_clock) {
        Ok(StatsClash { lat: RunningStats::new(), lat_mean: Gauge::new() })
    }
}

/// A `SlidingWindow` `x` next to a gauge `x_added`, the name of its total.
pub struct AddedClash {
    pub x: SlidingWindow,
    pub x_added: Gauge,
}

app_state! {
    AddedClash {
        x => info("x", FieldKind::SlidingWindow, ""),
        x_added => info("x_added", FieldKind::Gauge, ""),
    }
    flatten {}
    build(clock) {
        Ok(AddedClash { x: SlidingWindow::with_clock(Duration::from_secs(60), clock)?, x_added: Gauge::new() })
    }
}

/// Families of every exported shape (counters, windowed sums with their
/// `_added` totals, histograms, percentiles, infos) and a plain histogram,
/// with label values chosen to break a naive encoder.
pub struct Labelled {
    pub requests: monsta_core::fields::Family<(String, u16), Counter>,
    pub rate: monsta_core::fields::Family<&'static str, SlidingWindow>,
    pub latency: monsta_core::fields::Family<String, monsta_core::fields::Histogram>,
    pub quantiles: monsta_core::fields::Family<String, SlidingPercentiles>,
    pub versions: monsta_core::fields::Family<String, Value<String>>,
    pub sizes: monsta_core::fields::Histogram,
}

app_state! {
    Labelled {
        requests => info("requests", FieldKind::Family, "Requests by route and status."),
        rate => info("rate", FieldKind::Family, "Requests a minute by route."),
        latency => info("latency", FieldKind::Family, "Latency by route."),
        quantiles => info("quantiles", FieldKind::Family, "Latency quantiles by route."),
        versions => info("versions", FieldKind::Family, "Versions by component."),
        sizes => info("sizes", FieldKind::Histogram, "Response sizes."),
    }
    flatten {}
    build(clock) {
        let config = |names: &'static [&'static str]| monsta_core::fields::FieldConfig {
            labels: Some(names),
            ..Default::default()
        };
        Ok(Labelled {
            requests: monsta_core::fields::Family::with_config(&config(&["route", "status"]), clock)?,
            rate: monsta_core::fields::Family::with_config(&config(&["route"]), clock)?,
            latency: monsta_core::fields::Family::with_config(
                &monsta_core::fields::FieldConfig {
                    labels: Some(&["route"]),
                    buckets: Some(&[0.01, 0.1, 1.0]),
                    ..Default::default()
                },
                clock,
            )?,
            quantiles: monsta_core::fields::Family::with_config(&config(&["route"]), clock)?,
            versions: monsta_core::fields::Family::with_config(&config(&["component"]), clock)?,
            sizes: monsta_core::fields::Histogram::new(&[1.0, 10.0, 100.0])?,
        })
    }
}

impl Labelled {
    /// Label values with quotes, backslashes, newlines and non-ASCII text.
    pub const NASTY: [&'static str; 4] = ["/a\"b", "c:\\d", "line\nbreak", "ünï ✓"];

    /// Sets something in every series.
    pub fn fill(&self) {
        for (i, route) in Self::NASTY.iter().enumerate() {
            let n = i as u64 + 1;
            self.requests.with(&(*route, 200 + i as u16), |c| c.inc(n));
            self.requests.with(&(*route, 500), |c| c.inc(1));
            self.latency.with(*route, |h| h.observe(0.05 * n as f64));
            self.quantiles.with(*route, |p| p.update(n as f64));
            self.versions
                .with(*route, |v| v.set(format!("v{n} \"quoted\"")));
        }
        self.rate.with(&"/a\"b", |w| w.inc(3.0));
        self.rate.with(&"/half", |w| w.inc(0.5));
        for x in [0.5, 5.0, 50.0, 500.0] {
            self.sizes.observe(x);
        }
    }
}
