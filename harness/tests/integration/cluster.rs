//! The cluster layer on both backends: replication, a read-only replica,
//! lag measurement, every fault control, and cleanup after signals.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use harness::cluster::{BackendKind, Cluster, Endpoint};
use sqlx::Connection;

use super::support;

/// A row written on the primary is read on the replica once replayed; the
/// replica refuses writes with SQLSTATE 25006.
async fn replicates_and_replica_is_read_only(c: &Cluster) {
    let mut p = c.primary().connect().await.unwrap();
    sqlx::query("create table t (id int primary key, note text)")
        .execute(&mut p)
        .await
        .unwrap();
    sqlx::query("insert into t values (1, 'written on the primary')")
        .execute(&mut p)
        .await
        .unwrap();
    let lsn = c.current_lsn().await.unwrap();
    c.wait_for_replay(&lsn, Duration::from_secs(30))
        .await
        .unwrap();
    let mut r = c.replica().unwrap().connect().await.unwrap();
    let note: String = sqlx::query_scalar("select note from t where id = 1")
        .fetch_one(&mut r)
        .await
        .unwrap_or_else(|e| panic!("reading the replicated row on the replica: {e}"));
    assert_eq!(note, "written on the primary");
    let err = sqlx::query("insert into t values (2, 'on the replica')")
        .execute(&mut r)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("25006"),
        "{err}"
    );
}

/// Pause -> lag grows; resume -> caught up; kill and restart the replica ->
/// it streams again; restart the primary -> replication resumes; promote ->
/// the replica accepts writes.
async fn faults(mut c: Cluster) {
    let mut p = c.primary().connect().await.unwrap();
    sqlx::query("create table f (id serial primary key, pad text)")
        .execute(&mut p)
        .await
        .unwrap();
    let lsn = c.current_lsn().await.unwrap();
    c.wait_for_replay(&lsn, Duration::from_secs(30))
        .await
        .unwrap();
    let before = c.lag().await.unwrap();

    c.pause_replica().await.unwrap();
    sqlx::query("insert into f (pad) select repeat('x', 200) from generate_series(1, 5000)")
        .execute(&mut p)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let paused = c.lag().await.unwrap();
    assert!(
        paused.bytes > before.bytes + 500_000,
        "lag must grow while replay is paused: before {before:?}, paused {paused:?}"
    );
    c.resume_replica().await.unwrap();
    let lsn = c.current_lsn().await.unwrap();
    c.wait_for_replay(&lsn, Duration::from_secs(30))
        .await
        .unwrap();
    // Background WAL (checkpoints, stats) may add a little after the wait.
    let after = c.lag().await.unwrap();
    assert!(
        after.bytes < paused.bytes / 10,
        "caught up after resume: paused {paused:?}, after {after:?}"
    );

    c.kill_replica().await.unwrap();
    assert!(
        c.replica().unwrap().connect().await.is_err(),
        "a killed replica refuses connections"
    );
    sqlx::query("insert into f (pad) values ('while the replica was down')")
        .execute(&mut p)
        .await
        .unwrap();
    c.start_replica().await.unwrap();
    let lsn = c.current_lsn().await.unwrap();
    c.wait_for_replay(&lsn, Duration::from_secs(60))
        .await
        .unwrap();

    c.stop_replica().await.unwrap();
    c.start_replica().await.unwrap();

    drop(p);
    c.restart_primary().await.unwrap();
    c.wait_streaming(Duration::from_secs(60)).await.unwrap();
    let mut p = c.primary().connect().await.unwrap();
    sqlx::query("insert into f (pad) values ('after the primary restarted')")
        .execute(&mut p)
        .await
        .unwrap();
    let lsn = c.current_lsn().await.unwrap();
    c.wait_for_replay(&lsn, Duration::from_secs(60))
        .await
        .unwrap();

    c.promote_replica().await.unwrap();
    let mut r = c.replica().unwrap().connect().await.unwrap();
    let n: i64 = sqlx::query_scalar(
        "insert into f (pad) values ('on the promoted replica') returning id::int8",
    )
    .fetch_one(&mut r)
    .await
    .unwrap();
    assert!(n > 0);
    r.close().await.unwrap();
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_replicates_and_replica_is_read_only() {
    let c = support::native().await;
    assert_eq!(c.info().backend, BackendKind::Native);
    assert!(
        c.info().server_version.starts_with("15"),
        "{}",
        c.info().server_version
    );
    replicates_and_replica_is_read_only(&c).await;
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_fault_controls() {
    faults(support::native().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_replicates_and_replica_is_read_only() {
    if !support::docker_or_skip("docker_replicates_and_replica_is_read_only") {
        return;
    }
    let c = support::start(BackendKind::Docker)
        .await
        .expect("docker cluster");
    assert_eq!(c.info().backend, BackendKind::Docker);
    replicates_and_replica_is_read_only(&c).await;
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_fault_controls() {
    if !support::docker_or_skip("docker_fault_controls") {
        return;
    }
    faults(
        support::start(BackendKind::Docker)
            .await
            .expect("docker cluster"),
    )
    .await;
}

/// The external backend attaches to given URLs and starts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_attaches_to_existing_servers() {
    let owner = support::native().await;
    let ext = Cluster::start(&harness::cluster::ClusterConfig {
        backend: BackendKind::External,
        primary_url: Some(owner.primary().url()),
        replica_url: Some(owner.replica().unwrap().url()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(ext.info().backend, BackendKind::External);
    let lsn = ext.current_lsn().await.unwrap();
    ext.wait_for_replay(&lsn, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(ext.lag().await.unwrap().bytes >= 0);
    let mut ext = ext;
    assert!(
        ext.kill_replica().await.is_err(),
        "no process faults on external servers"
    );
    ext.shutdown().await.unwrap();
    // The servers are still there: external shutdown touched nothing.
    owner.primary().connect().await.expect("primary still up");
    owner.shutdown().await.unwrap();
}

/// `harness up` prints URLs that work; a signal tears everything down and
/// exits with the signal's documented code.
fn up_then_signal(backend: &str, signal: i32, expected_code: i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["up", "--backend", backend])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut urls = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(u) = line
            .strip_prefix("primary: ")
            .or_else(|| line.strip_prefix("replica: "))
        {
            urls.push(u.to_string());
        }
        if urls.len() == 2 {
            break;
        }
    }
    // Keep reading so the child never writes into a closed pipe.
    let drain = std::thread::spawn(move || lines.count());
    assert_eq!(urls.len(), 2, "harness up printed both URLs");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for u in &urls {
            Endpoint::parse(u)
                .unwrap()
                .connect()
                .await
                .expect("URL printed by harness up connects");
        }
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, signal) };
    let status = child.wait().unwrap();
    drain.join().unwrap();
    assert_eq!(
        status.code(),
        Some(expected_code),
        "exit code after signal {signal}"
    );
    rt.block_on(async {
        for u in &urls {
            assert!(
                Endpoint::parse(u).unwrap().connect().await.is_err(),
                "{u} still answers after teardown"
            );
        }
    });
    let left = support::leftovers(pid, Duration::ZERO);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn native_up_sigint_leaves_nothing() {
    up_then_signal("native", libc::SIGINT, harness::exit_codes::INTERRUPTED);
}

#[test]
fn native_up_sigterm_leaves_nothing() {
    up_then_signal("native", libc::SIGTERM, harness::exit_codes::TERMINATED);
}

#[test]
fn docker_up_sigint_leaves_nothing() {
    if support::docker_or_skip("docker_up_sigint_leaves_nothing") {
        up_then_signal("docker", libc::SIGINT, harness::exit_codes::INTERRUPTED);
    }
}

#[test]
fn docker_up_sigterm_leaves_nothing() {
    if support::docker_or_skip("docker_up_sigterm_leaves_nothing") {
        up_then_signal("docker", libc::SIGTERM, harness::exit_codes::TERMINATED);
    }
}
