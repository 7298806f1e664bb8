//! The runtime monitor on a reporter: `internal.runtime` and
//! `internal.process` in the JSON, their metrics, `/mon/v1/tasks`, the
//! reporter's start and stop, and callbacks that fail without taking
//! anything down.

#![cfg(all(feature = "http", feature = "runtime"))]

mod http_support;
#[cfg(feature = "prometheus")]
#[path = "../monsta-prometheus/tests/common/mod.rs"]
mod prom;

use std::time::Duration;

use http_support::{get, listener, wait_for};
use monsta::{
    BuildError, StatusReporter,
    runtime::{MonitorError, RuntimeMonitor, spawn_named},
};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(10);

fn reporter(monitor: &RuntimeMonitor) -> StatusReporter {
    StatusReporter::builder()
        .update_holdoff(Duration::ZERO)
        .extension(monitor.extension())
        .expect("the tasks path is free")
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_has_internal_runtime_and_process() {
    let monitor = RuntimeMonitor::builder()
        .interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let mon = reporter(&monitor);
    mon.publish(json!({"status": "running"}));
    assert!(!monitor.is_running());
    let server = mon.start_on(listener().await).unwrap();
    // The reporter's start started the probe.
    assert!(monitor.is_running());
    let addr = server.local_addr();
    let body = wait_for(LIMIT, || async {
        let body = get(addr, "/mon/v1/state").await.json();
        (body["internal"]["runtime"]["samples"].as_u64() >= Some(3)).then_some(body)
    })
    .await
    .expect("samples in internal.runtime");
    assert_eq!(body["state"], json!({"status": "running"}));
    assert!(body["internal"]["uptime"].is_u64());
    let rt = &body["internal"]["runtime"];
    assert_eq!(rt["workers"], 2);
    assert_eq!(rt["running"], true);
    assert!(rt["lag_ms"].as_f64().unwrap() < 1000.0, "{rt}");
    assert!(rt["lag_smoothed_ms"].is_f64(), "{rt}");
    assert!(rt["max_lag_1m_ms"].is_f64(), "{rt}");
    assert!(rt["alive_tasks"].as_u64().unwrap() >= 1, "{rt}");
    assert_eq!(rt["busy_ratio"].as_array().unwrap().len(), 2, "{rt}");
    let process = &body["internal"]["process"];
    if cfg!(target_os = "linux") {
        assert!(
            process["resident_memory_bytes"].as_u64().unwrap() > 0,
            "{process}"
        );
        assert!(process["open_fds"].as_u64().unwrap() > 0, "{process}");
        assert!(process["threads"].as_u64().unwrap() >= 2, "{process}");
        assert!(process["cpu_seconds"].is_f64(), "{process}");
        assert!(
            process["start_time_seconds"].as_f64().unwrap() > 1.0e9,
            "{process}"
        );
    }

    // The same in the reporter's own rendering.
    let rendered: Value = serde_json::from_str(&mon.render()).unwrap();
    assert_eq!(rendered["internal"]["runtime"]["workers"], 2, "{rendered}");
    assert!(rendered["internal"]["process"].is_object(), "{rendered}");
    assert!(rendered["internal"]["uptime"].is_u64(), "{rendered}");

    // The reporter's stop stops the probe.
    mon.stop().await;
    drop(server);
    assert!(!monitor.is_running());
}

#[cfg(feature = "prometheus")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_have_the_runtime_and_the_process() {
    let monitor = RuntimeMonitor::builder()
        .interval(Duration::from_millis(20))
        .start()
        .unwrap();
    let mon = reporter(&monitor);
    let server = mon.start_on(listener().await).unwrap();
    let addr = server.local_addr();
    let text = wait_for(LIMIT, || async {
        let text = get(addr, "/metrics").await.text();
        text.contains("monsta_runtime_worker_busy_ratio{worker=\"1\"}")
            .then_some(text)
    })
    .await
    .expect("worker metrics");
    for name in [
        "\nmonsta_runtime_lag_seconds ",
        "\nmonsta_runtime_lag_max_seconds ",
        "\nmonsta_runtime_workers 2\n",
        "\n# TYPE monsta_runtime_samples_total counter\n",
        "\nmonsta_runtime_worker_busy_seconds_total{worker=\"0\"} ",
        "\nprocess_uptime_seconds ",
    ] {
        assert!(text.contains(name), "no {name:?} in\n{text}");
    }
    if cfg!(target_os = "linux") {
        for name in [
            "\nprocess_resident_memory_bytes ",
            "\nprocess_cpu_seconds_total ",
            "\nprocess_open_fds ",
            "\nprocess_threads ",
            "\nprocess_start_time_seconds ",
        ] {
            assert!(text.contains(name), "no {name:?} in\n{text}");
        }
    }
    // OpenMetrics: the families come before `# EOF`, counters typed
    // without `_total`.
    let raw = http_support::exchange(
        addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text; version=1.0.0\r\nConnection: close\r\n\r\n",
    )
    .await;
    let om = http_support::parse(&raw).text();
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert_eq!(om.matches("# EOF").count(), 1, "{om}");
    assert!(
        om.contains("\n# TYPE monsta_runtime_samples counter\n"),
        "{om}"
    );
    assert!(om.contains("\nmonsta_runtime_samples_total "), "{om}");
    mon.stop().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_lists_a_named_task_while_it_runs() {
    let monitor = RuntimeMonitor::builder().build().unwrap();
    let mon = reporter(&monitor);
    let server = mon.start_on(listener().await).unwrap();
    let addr = server.local_addr();

    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let line = line!() + 1;
    let task = spawn_named("listed-worker", async move {
        let _ = rx.await;
        7
    });
    let find = |body: &Value| -> Option<Value> {
        body["tasks"]
            .as_array()?
            .iter()
            .find(|t| t["name"] == "listed-worker")
            .cloned()
    };
    let listed = wait_for(LIMIT, || async {
        let reply = get(addr, "/mon/v1/tasks").await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let t = find(&reply.json())?;
        (t["polls"].as_u64() >= Some(1)).then_some(t)
    })
    .await
    .expect("the task is listed");
    let site = listed["spawned_at"].as_str().unwrap();
    assert!(
        site.starts_with(&format!("tests/runtime_http.rs:{line}:")),
        "{listed}"
    );
    assert_eq!(listed["state"], "idle", "{listed}");
    assert!(
        listed["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{listed}"
    );
    assert!(listed["age_s"].as_f64().unwrap() >= 0.0);
    assert!(listed["mean_poll_s"].as_f64().unwrap() >= 0.0);
    assert!(listed["since_last_poll_s"].as_f64().is_some(), "{listed}");

    // The text table, aligned: every row starts its columns where the
    // header does.
    let reply = get(addr, "/mon/v1/tasks?format=text").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = reply.text();
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("ID"), "{text}");
    let col = header.find("NAME").unwrap();
    let row = text
        .lines()
        .find(|l| l.contains("listed-worker"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(row.find("listed-worker"), Some(col), "{text}");

    assert_eq!(get(addr, "/mon/v1/tasks?format=yaml").await.status, 400);
    assert_eq!(get(addr, "/mon/v1/other").await.status, 404);

    // Ended, it leaves the list.
    tx.send(()).unwrap();
    assert_eq!(tokio::time::timeout(LIMIT, task).await.unwrap().unwrap(), 7);
    let gone = wait_for(LIMIT, || async {
        find(&get(addr, "/mon/v1/tasks").await.json())
            .is_none()
            .then_some(())
    })
    .await;
    assert!(gone.is_some(), "the ended task is still listed");
    mon.stop().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_callbacks_leave_the_probe_and_the_endpoint_alone() {
    let monitor = RuntimeMonitor::builder()
        .interval(Duration::from_millis(10))
        .callback_timeout(Duration::from_millis(100))
        .callback(|s| {
            if s.seq.is_multiple_of(3) {
                panic!("the callback fails");
            }
        })
        .callback({
            let hung = std::sync::atomic::AtomicBool::new(false);
            move |_| {
                if !hung.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    // The first call hangs (for longer than the test).
                    std::thread::sleep(Duration::from_secs(20));
                }
            }
        })
        .start()
        .unwrap();
    let mon = reporter(&monitor);
    let server = mon.start_on(listener().await).unwrap();
    let addr = server.local_addr();
    let rt = wait_for(LIMIT, || async {
        let body = get(addr, "/mon/v1/state").await.json();
        let rt = body["internal"]["runtime"].clone();
        // A panic is counted once it has unwound, which (with a backtrace
        // to print) can take longer than the samples do.
        (rt["samples"].as_u64() >= Some(40)
            && rt["callbacks_timed_out"].as_u64() >= Some(1)
            && rt["callbacks_panicked"].as_u64() >= Some(1))
        .then_some(rt)
    })
    .await
    .expect("the probe and the endpoint go on");
    assert!(rt["callbacks_panicked"].as_u64().unwrap() >= 1, "{rt}");
    mon.stop().await;
    drop(server);
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn a_mounted_router_serves_the_tasks_too() {
    use tower::ServiceExt;
    let monitor = RuntimeMonitor::builder().build().unwrap();
    let mon = reporter(&monitor);
    let app = axum::Router::new().nest("/ops", mon.router());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = spawn_named("mounted-listed", async move {
        let _ = rx.await;
    });
    let request = || {
        hyper::Request::builder()
            .uri("/ops/mon/v1/tasks")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let listed = wait_for(LIMIT, || {
        let app = app.clone();
        async move {
            let response = app.oneshot(request()).await.unwrap();
            assert_eq!(response.status(), 200);
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap();
            body["tasks"]
                .as_array()?
                .iter()
                .any(|t| t["name"] == "mounted-listed")
                .then_some(())
        }
    })
    .await;
    assert!(listed.is_some(), "the mounted router lists the task");
    let response = app.clone().oneshot(request()).await.unwrap();
    assert_eq!(response.status(), 200);
    tx.send(()).unwrap();
    tokio::time::timeout(LIMIT, task).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_monitors_on_one_reporter_need_paths_of_their_own() {
    let a = RuntimeMonitor::builder().build().unwrap();
    let b = RuntimeMonitor::builder().build().unwrap();
    let builder = StatusReporter::builder().extension(a.extension()).unwrap();
    assert_eq!(
        builder.extension(b.extension()).map(drop).unwrap_err(),
        BuildError::PathTaken("/mon/v1/tasks".to_owned())
    );
    // The error of attaching a monitor listing its tasks at `path`.
    let refused = |path: &str| {
        let monitor = RuntimeMonitor::builder()
            .tasks_endpoint(Some(path))
            .build()
            .unwrap();
        StatusReporter::builder()
            .extension(monitor.extension())
            .map(drop)
            .unwrap_err()
    };
    assert_eq!(
        refused("/mon/v1/state"),
        BuildError::PathTaken("/mon/v1/state".to_owned())
    );
    assert_eq!(
        refused("tasks"),
        BuildError::EndpointNotAbsolute("tasks".to_owned())
    );
    // A second monitor without a listing attaches; its sections and
    // families, which the first one's have taken, are left out and counted.
    let second = RuntimeMonitor::builder()
        .tasks_endpoint(None)
        .build()
        .unwrap();
    let mon = StatusReporter::builder()
        .update_holdoff(Duration::ZERO)
        .extension(a.extension())
        .and_then(|builder| builder.extension(second.extension()))
        .unwrap()
        .build();
    mon.publish(json!({}));
    let body: Value = serde_json::from_str(&mon.render()).unwrap();
    assert!(body["internal"]["runtime"].is_object(), "{body}");
    assert!(body["internal"]["process"].is_object(), "{body}");
    assert_eq!(body["internal"]["extension_conflicts"], 2, "{body}");
    #[cfg(feature = "prometheus")]
    {
        let text = mon
            .render_metrics(monsta::prometheus::Format::Text)
            .unwrap();
        assert_eq!(
            text.matches("\n# TYPE monsta_runtime_samples_total counter\n")
                .count(),
            1,
            "{text}"
        );
        assert!(
            text.contains("\nmonsta_extension_conflicts_total "),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_monitors_attached_together_show_each_runtime() {
    // A second runtime, on threads of its own, watched through its handle.
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let main = RuntimeMonitor::builder()
        .name("main")
        .interval(Duration::from_millis(10))
        .build()
        .unwrap();
    let other = RuntimeMonitor::builder()
        .name("io")
        .interval(Duration::from_millis(10))
        .handle(io.handle().clone())
        .tasks_endpoint(None)
        .build()
        .unwrap();
    assert_eq!(other.name(), Some("io"));
    let mon = StatusReporter::builder()
        .update_holdoff(Duration::ZERO)
        .extension(RuntimeMonitor::extension_of([&main, &other]).unwrap())
        .unwrap()
        .build();
    mon.publish(json!({}));
    let server = mon.start_on(listener().await).unwrap();
    assert!(main.is_running() && other.is_running(), "both start");
    let addr = server.local_addr();
    let body = wait_for(LIMIT, || async {
        let body = get(addr, "/mon/v1/state").await.json();
        let runtime = &body["internal"]["runtime"];
        (runtime["main"]["samples"].as_u64()? > 0 && runtime["io"]["samples"].as_u64()? > 0)
            .then_some(body)
    })
    .await
    .expect("both monitors report samples");
    let runtime = body["internal"]["runtime"].as_object().unwrap();
    assert_eq!(runtime.len(), 2, "{body}");
    assert_eq!(runtime["main"]["workers"], 2, "{body}");
    assert_eq!(runtime["io"]["workers"], 1, "{body}");
    assert!(body["internal"]["process"].is_object(), "{body}");
    assert!(
        body["internal"].get("extension_conflicts").is_none(),
        "{body}"
    );
    // The tasks listing of the one monitor that serves it.
    assert_eq!(get(addr, "/mon/v1/tasks").await.status, 200);
    #[cfg(feature = "prometheus")]
    {
        let text = get(addr, "/metrics").await.text();
        for family in [
            "monsta_runtime_samples_total counter",
            "monsta_runtime_workers gauge",
            "monsta_runtime_worker_busy_seconds_total counter",
            "process_cpu_seconds_total counter",
        ] {
            assert_eq!(
                text.matches(&format!("\n# TYPE {family}\n")).count(),
                1,
                "{family} once:\n{text}"
            );
        }
        assert!(
            text.contains("\nmonsta_runtime_workers{runtime=\"main\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("\nmonsta_runtime_workers{runtime=\"io\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("\nmonsta_runtime_worker_parks_total{runtime=\"io\",worker=\"0\"} "),
            "{text}"
        );
        assert!(!text.contains("monsta_extension_conflicts_total"), "{text}");
        // A real parser takes it, every runtime series labelled.
        if prom::have_python() {
            let mut seen = std::collections::BTreeSet::new();
            for p in prom::python_parse(&text, "text") {
                if p.family.starts_with("monsta_runtime_")
                    && p.family != "monsta_runtime_named_tasks"
                {
                    let r = p.labels.get("runtime").cloned();
                    assert!(matches!(r.as_deref(), Some("main" | "io")), "{p:?}");
                    seen.extend(r);
                }
            }
            assert_eq!(seen.len(), 2, "both runtimes' series:\n{text}");
        }
        if prom::have_promtool() {
            prom::assert_promtool_clean(&text);
        }
    }
    server.stop().await;
    mon.stop().await;
    assert!(!main.is_running() && !other.is_running(), "both stop");
    io.shutdown_background();
}

#[tokio::test]
async fn monitors_attached_together_need_names_of_their_own() {
    let named = |name: &str| RuntimeMonitor::builder().name(name).build().unwrap();
    let unnamed = RuntimeMonitor::builder().build().unwrap();
    let err = |monitors: &[&RuntimeMonitor]| {
        RuntimeMonitor::extension_of(monitors.iter().copied())
            .map(drop)
            .unwrap_err()
    };
    assert!(matches!(err(&[]), MonitorError::NoMonitor));
    assert!(matches!(
        err(&[&named("a"), &unnamed]),
        MonitorError::Unnamed
    ));
    assert!(matches!(err(&[&named("a"), &named("a")]), MonitorError::DuplicateName(n) if n == "a"));
    assert!(err(&[&named("a"), &unnamed]).to_string().contains(".name("));
    // One alone, named or not, attaches.
    assert!(RuntimeMonitor::extension_of([&unnamed]).is_ok());
    for bad in ["", "two words", "é", &"x".repeat(65)] {
        let e = RuntimeMonitor::builder().name(bad).build().unwrap_err();
        assert!(
            matches!(&e, MonitorError::Name(n) if n == bad),
            "{bad:?}: {e}"
        );
    }
    // A named monitor alone keys its report by its name too.
    let mon = StatusReporter::builder()
        .update_holdoff(Duration::ZERO)
        .extension(named("solo").extension())
        .unwrap()
        .build();
    mon.publish(json!({}));
    let body: Value = serde_json::from_str(&mon.render()).unwrap();
    assert!(
        body["internal"]["runtime"]["solo"]["running"].is_boolean(),
        "{body}"
    );
}
