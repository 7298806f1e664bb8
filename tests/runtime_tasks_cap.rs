//! The named-task registry holds at most its cap, however many tasks are
//! spawned; past it, tasks run unregistered and are counted.

#![cfg(feature = "runtime")]

use std::time::Duration;

use monsta::runtime::{self, TaskBuilder, spawn_named};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_holds_under_ten_thousand_spawns() {
    runtime::set_max_tasks(100);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for i in 0..10_000u32 {
        let mut rx = rx.clone();
        tasks.push(spawn_named(format!("held-{i}"), async move {
            let _ = rx.wait_for(|go| *go).await;
            i
        }));
        assert!(runtime::registry_len() <= 100);
    }
    assert_eq!(runtime::registry_len(), 100);
    assert_eq!(runtime::tasks().len(), 100);
    assert_eq!(runtime::unregistered(), 9_900);
    // Every task runs, registered or not.
    tx.send(true).unwrap();
    let mut sum = 0u64;
    for t in tasks {
        sum += u64::from(
            tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(sum, (0..10_000u64).sum::<u64>());
    // Finished tasks leave the registry; there is room again.
    assert_eq!(runtime::registry_len(), 0);
    let t = TaskBuilder::new("after").spawn(async { 1 }).unwrap();
    assert_eq!(t.await.unwrap(), 1);
    assert_eq!(runtime::unregistered(), 9_900);
}

#[test]
fn spawning_outside_a_runtime_is_an_error() {
    let err = TaskBuilder::new("nowhere").spawn(async {}).unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
}
