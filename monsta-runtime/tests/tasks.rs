//! A named task's state and poll statistics as the listing shows them.

use std::{sync::Arc, time::Duration};

use monsta_runtime::{TaskState, spawn_named, table, tasks};
use tokio::sync::Notify;

fn find(name: &str) -> Option<monsta_runtime::TaskInfo> {
    tasks().into_iter().find(|t| t.name == name)
}

#[tokio::test(flavor = "current_thread")]
async fn idle_scheduled_and_gone() {
    let notify = Arc::new(Notify::new());
    let task = {
        let notify = Arc::clone(&notify);
        spawn_named("waiter", async move {
            notify.notified().await;
            std::thread::sleep(Duration::from_millis(2));
            notify.notified().await;
        })
    };
    // Spawned, never polled yet: scheduled.
    let t = find("waiter").expect("listed");
    assert_eq!(t.state, TaskState::Scheduled);
    assert_eq!(t.polls, 0);
    assert_eq!(t.since_last_poll_s, None);
    // Polled once, waiting: idle.
    tokio::task::yield_now().await;
    let t = find("waiter").expect("listed");
    assert_eq!(t.state, TaskState::Idle);
    assert_eq!(t.polls, 1);
    // Woken; this runtime's one thread is ours, so it waits: scheduled.
    notify.notify_one();
    assert_eq!(find("waiter").unwrap().state, TaskState::Scheduled);
    tokio::task::yield_now().await;
    let t = find("waiter").expect("listed");
    assert_eq!(t.state, TaskState::Idle);
    assert_eq!(t.polls, 2);
    assert!(t.poll_time_s >= 0.002, "{t:?}");
    assert!(t.mean_poll_s >= 0.001, "{t:?}");
    assert!(
        t.spawned_at.starts_with("monsta-runtime/tests/tasks.rs:"),
        "{t:?}"
    );
    let text = table(&tasks());
    assert!(
        text.lines()
            .any(|l| l.contains("waiter") && l.contains("idle")),
        "{text}"
    );
    notify.notify_one();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert!(find("waiter").is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn an_aborted_task_leaves_the_list() {
    let task = spawn_named("aborted", std::future::pending::<()>());
    tokio::task::yield_now().await;
    assert!(find("aborted").is_some());
    task.abort();
    let joined = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap();
    assert!(joined.unwrap_err().is_cancelled());
    assert!(find("aborted").is_none());
}
