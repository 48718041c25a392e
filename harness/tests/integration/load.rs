//! Load runs against a real primary + replica: the CI smoke (1,000 goose
//! users through the gates), a gate made to fail on purpose, the open
//! model charging a database stall that the closed model hides, and the
//! load pool settling a connection given back mid-transaction.
//!
//! Small data (10 tenants at scale 0.2) and fast durability keep each test
//! well under a minute on two shared cores; the full-size run is `just load`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::cli::load::run_load;
use harness::exit_codes;
use harness::load::data::Target;
use harness::load::{self, LoadConfig, LoadResults, Mode, Session};

use crate::support;

fn small(users: usize, ramp: usize, steady: usize) -> LoadConfig {
    LoadConfig {
        users,
        ramp_secs: ramp,
        steady_secs: steady,
        think_min_secs: Some(1.0),
        think_max_secs: Some(3.0),
        tenants: 10,
        scale: 0.2,
        primary_pool: 20,
        replica_pool: 20,
        sample_secs: 2,
        ..Default::default()
    }
}

/// The only run folder under `root`.
pub(crate) fn run_dir(root: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "one run folder expected in {}: {dirs:?}",
        root.display()
    );
    dirs[0].clone()
}

pub(crate) fn results(dir: &Path) -> LoadResults {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

/// The CI smoke: 1,000 users for about 30 s pass every gate, every named
/// query of the mix was measured, reads went to the replica and writes to
/// the primary, and goose's own reports are in the run folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_1000_users_pass_every_gate() {
    let cluster = support::native().await;
    let root = tempfile::tempdir().unwrap();
    // Long think times keep the smoke light (about 170 steps/s): it shares
    // two cores with other tests, and what it must prove is the gate path
    // at 1,000 users, not the machine's limit (that is `just load`).
    let mut cfg = small(1000, 5, 25);
    cfg.think_min_secs = Some(4.0);
    cfg.think_max_secs = Some(8.0);
    let portal = Target::reference().unwrap();
    let code = run_load(&cluster, &cfg, &portal, true, root.path())
        .await
        .unwrap();
    let dir = run_dir(root.path());
    let r = results(&dir);
    let failed: Vec<_> = r.gates.iter().filter(|g| !g.passed).collect();
    assert_eq!(
        code,
        exit_codes::OK,
        "failed gates: {failed:?}; invalid: {:?}",
        r.invalid
    );
    let names: Vec<&str> = r.queries.iter().map(|q| q.name.as_str()).collect();
    // What ran is what the portal's workload file names, and only that.
    let mut from_file: Vec<&str> = portal
        .workload
        .queries
        .iter()
        .map(|q| q.name.as_str())
        .collect();
    from_file.sort();
    let mut measured = names.clone();
    measured.sort();
    assert_eq!(measured, from_file);
    for q in [
        "search_projects",
        "filter_projects",
        "project_detail",
        "apply",
        "my_applications",
        "projects_with_stats",
        "search_applicants",
        "pending_applications",
        "bulk_update_status",
        "contact_form",
    ] {
        assert!(names.contains(&q), "{q} was not measured: {names:?}");
        let g = r
            .gate(&format!("p95 {q}"))
            .unwrap_or_else(|| panic!("no gate for {q}"));
        assert!(g.observed > 0.0 && g.observed < 100.0, "{g:?}");
    }
    let by = |n: &str| r.queries.iter().find(|q| q.name == n).unwrap();
    assert_eq!(
        by("search_projects").on_primary,
        0,
        "plain reads go to the replica"
    );
    assert_eq!(by("apply").on_replica, 0, "writes go to the primary");
    assert!(r.fresh.reads > 0, "applying users read their own writes");
    assert_eq!(r.goose.as_ref().unwrap().maximum_users, 1000);
    assert!(
        r.overall.count > 1000,
        "{} queries in the steady state",
        r.overall.count
    );
    assert!(r.steady_secs >= 24.0, "steady {}", r.steady_secs);
    assert!(r
        .sampled
        .samples
        .iter()
        .any(|s| s.steady && s.replica_tps > 0.0));
    // The price of RLS: every named query re-run as portal_app and
    // unbound; none loses an index to RLS, because the applicant search
    // goes through the definer function of 0103 (the same run with the
    // plain query flags it: rls_price::a_search_that_loses_its_index...).
    let priced: Vec<&str> = r.rls_price.iter().map(|p| p.price.name.as_str()).collect();
    for q in names.iter().filter(|q| by(q).count > by(q).failed) {
        assert!(priced.contains(q), "{q} was not priced: {priced:?}");
    }
    for p in &r.rls_price {
        // A replayed insert of a fresh key conflicts with its real call.
        let replayed = p
            .price
            .error
            .as_deref()
            .is_some_and(|e| e.contains("replayed"));
        assert!(p.price.error.is_none() || replayed, "{p:?}");
        assert!(
            p.price.error.is_none() || p.price.name == "contact_form",
            "{p:?}"
        );
        assert_ne!(p.price.flag.as_deref(), Some("rls-costs-index"), "{p:?}");
    }
    // goose's HTML report needs a CDN: not kept (the run's own report draws offline).
    assert!(!dir.join("goose.html").exists(), "goose.html is not kept");
    for f in [
        "goose.json",
        "goose.md",
        "summary.json",
        "index.html",
        "junit.xml",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing from the run folder");
    }
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("\"verdict\": \"pass\""), "{summary}");
    // Every search term browsing users type finds projects in the
    // generated data (a search that never matches measures nothing).
    assert_eq!(r.fresh.misses, 0, "every apply was in the list after it");
    assert!(
        r.fresh.checks > 0,
        "the apply -> my_applications pair was checked"
    );
    let mut c = cluster
        .primary()
        .with_database(&portal.database(&cfg))
        .connect()
        .await
        .unwrap();
    let browsing = portal.workload.user("browsing").unwrap();
    let Some(scenarios::workload::Source::Choice(terms)) =
        browsing.steps[0].calls[0].params.first()
    else {
        panic!("the browsing search draws its term from a choice")
    };
    for term in terms.iter().map(|t| t.to_text()) {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from projects where search_vector @@ plainto_tsquery('english', $1)",
        )
        .bind(&term)
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert!(n > 0, "no project matches the search term {term:?}");
    }
}

/// A threshold no query can meet fails the run with GATE_FAILED, and the
/// results keep the observed values next to the threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impossible_p95_fails_the_gate_and_records_the_values() {
    let cluster = support::native().await;
    let root = tempfile::tempdir().unwrap();
    let mut cfg = small(50, 1, 6);
    cfg.think_min_secs = Some(0.1);
    cfg.think_max_secs = Some(0.3);
    cfg.thresholds.p95_ms = 0.001;
    let portal = Target::reference().unwrap();
    let code = run_load(&cluster, &cfg, &portal, true, root.path())
        .await
        .unwrap();
    assert_eq!(code, exit_codes::GATE_FAILED);
    let dir = run_dir(root.path());
    let r = results(&dir);
    let all = r.gate("p95 all queries").unwrap();
    assert!(!all.passed);
    assert_eq!(all.threshold, 0.001);
    assert!(
        (all.observed - r.overall.p95_ms).abs() < 1e-9 && all.observed > 0.001,
        "{all:?}"
    );
    // Every per-query gate failed too, each with its own observed p95.
    for q in &r.queries {
        let g = r.gate(&format!("p95 {}", q.name)).unwrap();
        assert!(!g.passed && (g.observed - q.p95_ms).abs() < 1e-9, "{g:?}");
    }
    // The error gate is unaffected: it still passes.
    assert!(r.gate("error rate").unwrap().passed);
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("\"verdict\": \"fail\""));
}

/// Hold an ACCESS EXCLUSIVE lock on `projects` for `hold` after `after`.
/// The lock is WAL-logged, so the replica's readers stall as well.
fn stall(
    primary: harness::cluster::Endpoint,
    after: Duration,
    hold: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let mut c = primary.connect().await.unwrap();
        sqlx::query("begin").execute(&mut c).await.unwrap();
        sqlx::query("lock table projects in access exclusive mode")
            .execute(&mut c)
            .await
            .unwrap();
        tokio::time::sleep(hold).await;
        sqlx::query("commit").execute(&mut c).await.unwrap();
    })
}

/// The same 3 s stall, once under the closed model and once under the open
/// model: closed users stop sending while they wait, so few requests see
/// the stall and the p95 barely moves; open arrivals keep coming and each
/// one is charged from its scheduled start, so the open p95 shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_reports_a_stall_the_closed_model_hides() {
    let cluster = support::native().await;
    let mut cfg = small(20, 1, 12);
    cfg.think_min_secs = Some(0.05);
    cfg.think_max_secs = Some(0.1);
    let portal = Target::reference().unwrap();
    let session = Session::open(&cluster, &cfg, &portal, true).await.unwrap();
    let db = cluster.primary().with_database(&portal.database(&cfg));

    let s = stall(db.clone(), Duration::from_secs(5), Duration::from_secs(3));
    let closed = load::run(&session, &cfg, None).await.unwrap();
    s.await.unwrap();

    let open_cfg = LoadConfig {
        mode: Mode::Open,
        rate: 100.0,
        ..cfg.clone()
    };
    let s = stall(db, Duration::from_secs(5), Duration::from_secs(3));
    let open = load::run(&session, &open_cfg, None).await.unwrap();
    s.await.unwrap();

    let o = open.open.as_ref().expect("open summary");
    eprintln!(
        "closed: p95 {:.1} ms p99 {:.1} ms over {} queries; open: p95 {:.1} ms p99 {:.1} ms over {} steps",
        closed.overall.p95_ms, closed.overall.p99_ms, closed.overall.count, o.p95_ms, o.p99_ms, o.started
    );
    assert!(o.started > 500, "the schedule ran: {} steps", o.started);
    assert!(
        o.p95_ms > 1000.0,
        "open p95 must include the 3 s stall: {:.1} ms",
        o.p95_ms
    );
    assert!(
        o.p95_ms > 5.0 * closed.overall.p95_ms,
        "open p95 {:.1} ms vs closed p95 {:.1} ms",
        o.p95_ms,
        closed.overall.p95_ms
    );
    // The open run is judged on latency from the schedule: it fails its gate.
    assert!(!open.gate("p95 from schedule all steps").unwrap().passed);
}

/// The load pool hands a connection to the next user only once it is idle:
/// one given back in the middle of a tenant transaction (an error or a
/// cancelled query) comes back outside any transaction and with no tenant
/// context, and a full pool times out instead of over-subscribing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_pool_settles_a_connection_left_mid_transaction() {
    use fixtures::tenant::{self, TenantContext};
    use harness::load::pool::ConnPool;
    use sqlx::Connection;

    let cluster = support::native().await;
    let pool = ConnPool::open(
        cluster.primary().connect_options(),
        1,
        Duration::from_millis(300),
    )
    .await
    .unwrap();
    let company = uuid::Uuid::from_u128(42);
    let before: i32;
    {
        let mut conn = pool.acquire().await.unwrap();
        before = sqlx::query_scalar("select pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let mut tx = tenant::begin(&mut conn, &TenantContext::company(company))
            .await
            .unwrap();
        // Cancelled halfway through an answer: the future is dropped.
        let slow = sqlx::query("select pg_sleep(0.5)").execute(&mut *tx);
        assert!(tokio::time::timeout(Duration::from_millis(50), slow)
            .await
            .is_err());
        drop(tx);
        // Held: a second acquire must wait, then time out.
        assert!(matches!(
            pool.acquire().await.err(),
            Some(sqlx::Error::PoolTimedOut)
        ));
        // Given back without `done()`: settled on a task before reuse.
    }
    let mut conn = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match pool.acquire().await {
                Ok(c) => break c,
                Err(sqlx::Error::PoolTimedOut) => continue,
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await
    .expect("the settled connection comes back to the pool");
    assert!(!conn.is_in_transaction(), "sqlx's view: no transaction");
    // SAVEPOINT is refused outside a transaction block (SQLSTATE 25P01).
    let sp = sqlx::raw_sql("savepoint probe").execute(&mut *conn).await;
    let code = sp.err().and_then(|e| {
        e.as_database_error()
            .and_then(|d| d.code().map(|c| c.to_string()))
    });
    assert_eq!(
        code.as_deref(),
        Some("25P01"),
        "the server's view: no transaction is open"
    );
    let ctx: Option<String> =
        sqlx::query_scalar("select nullif(current_setting('app.company_id', true), '')")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(ctx, None, "no tenant context survives");
    let after: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(after, before, "settled and reused, not thrown away");
    conn.done();
    drop(conn);
    pool.close().await;
    cluster.shutdown().await.unwrap();
}

/// The hand-written ledger app (harness/tests/integration/apps/ledger).
fn ledger_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/apps/ledger")
}

/// A second app runs from its folder alone, through the binary: the
/// ledger's `data.sql` makes its legacy file, the migration moves it, its
/// `workload.toml` drives 300 users, and the report gates its own named
/// queries (no Rust was written for the ledger). Its read-your-own-write
/// pair is checked on every placed order and never misses.
#[test]
fn a_second_app_loads_from_its_folder_through_the_binary() {
    let root = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .env("HARNESS_LOG", "warn")
        .env_remove("HARNESS_APP")
        .args(["load", "--app"])
        .arg(ledger_dir())
        .args(["--backend", "native", "--durability", "fast"])
        .args(["--users", "300", "--ramp", "2", "--duration", "8"])
        .args(["--tenants", "8", "--scale", "1", "--pool", "10"])
        .arg("--reports-dir")
        .arg(root.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(exit_codes::OK), "{text}");
    assert!(text.contains("built from data.sql"), "{text}");
    let dir = run_dir(root.path());
    let r = results(&dir);
    let mut names: Vec<&str> = r.queries.iter().map(|q| q.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "my_order",
            "order_detail",
            "order_lines",
            "place_order",
            "recent_orders"
        ]
    );
    for q in &names {
        let g = r.gate(&format!("p95 {q}")).unwrap();
        assert!(g.passed && g.observed > 0.0, "{g:?}");
    }
    assert!(r.gate("error rate").unwrap().passed);
    assert_eq!(r.goose.as_ref().unwrap().maximum_users, 300);
    assert!(r.fresh.checks > 0, "placed orders were read back");
    assert_eq!(r.fresh.misses, 0);
    let by = |n: &str| r.queries.iter().find(|q| q.name == n).unwrap();
    assert_eq!(by("place_order").on_replica, 0, "writes go to the primary");
    assert_eq!(by("recent_orders").on_primary, 0, "reads go to the replica");
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("ledger"), "the title names the app");
}

/// Copy the ledger folder into `to`, with `edit` applied to its workload.
fn ledger_copy(to: &Path, edit: impl Fn(String) -> String) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let dest = to.join(p.file_name().unwrap());
            if p.is_dir() {
                copy(&p, &dest);
            } else {
                std::fs::copy(&p, &dest).unwrap();
            }
        }
    }
    copy(&ledger_dir(), to);
    let w = to.join("workload.toml");
    let text = std::fs::read_to_string(&w).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed the workload");
    std::fs::write(&w, edited).unwrap();
}

/// The read-your-own-write check can fail: a read that does not return
/// the row just written (here it asks for every other order) counts as a
/// failed query of kind `ryw-miss`, the misses are in the results, and the
/// error-rate gate fails the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_misses_its_own_write_is_a_ryw_miss() {
    let cluster = support::native().await;
    let app = tempfile::tempdir().unwrap();
    ledger_copy(app.path(), |w| {
        w.replace(
            "where account = $1 and id = $2'",
            "where account = $1 and id <> $2'",
        )
    });
    let target = Target::load(Some(app.path()), None).unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut cfg = small(60, 1, 5);
    cfg.tenants = 5;
    cfg.scale = 1.0;
    cfg.mix = [("seller".to_string(), 1)].into();
    let code = run_load(&cluster, &cfg, &target, true, root.path())
        .await
        .unwrap();
    assert_eq!(code, exit_codes::GATE_FAILED);
    let r = results(&run_dir(root.path()));
    let read = r.queries.iter().find(|q| q.name == "my_order").unwrap();
    let misses = read.errors.get(scenarios::RYW_MISS).copied().unwrap_or(0);
    assert!(misses > 0 && misses == read.failed, "{read:?}");
    assert_eq!(r.fresh.misses, misses);
    assert!(!r.gate("error rate").unwrap().passed);
}

/// A workload that does not fit the database is refused before any user
/// starts, with every problem named: a column the SQL does not return, a
/// value that cannot be bound as the parameter's type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_that_does_not_fit_the_schema_is_refused_with_every_problem() {
    let cluster = support::native().await;
    let app = tempfile::tempdir().unwrap();
    ledger_copy(app.path(), |w| {
        w.replace(
            "{ returned = \"recent_orders\", column = \"id\" }] },\n  { query = \"order_lines\"",
            "{ returned = \"recent_orders\", column = \"ident\" }] },\n  { query = \"order_lines\"",
        )
        .replace("{ int = [0, 999] },", "\"many\",")
    });
    let target = Target::load(Some(app.path()), None).unwrap();
    let cfg = small(10, 1, 2);
    let e = match Session::open(&cluster, &cfg, &target, true).await {
        Ok(_) => panic!("the workload was accepted"),
        Err(e) => format!("{:#}", anyhow::Error::from(e)),
    };
    assert!(e.contains("2 problem(s)"), "{e}");
    assert!(
        e.contains("query \"recent_orders\" has no column \"ident\""),
        "{e}"
    );
    assert!(e.contains("many cannot be bound as i32"), "{e}");
}

/// The worked example of docs/load.md runs as written: on the ledger's
/// folder, the example as its `workload.toml` passes a short load with
/// its three named queries measured and its read-your-own-write pair
/// checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_workload_example_runs_as_written() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/load.md"))
            .unwrap();
    let section = &doc[doc.find("## `workload.toml`").expect("the section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    let cluster = support::native().await;
    let app = tempfile::tempdir().unwrap();
    ledger_copy(app.path(), |_| example.to_string());
    let target = Target::load(Some(app.path()), None).unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut cfg = small(40, 1, 4);
    cfg.tenants = 4;
    cfg.scale = 1.0;
    let code = run_load(&cluster, &cfg, &target, true, root.path())
        .await
        .unwrap();
    let r = results(&run_dir(root.path()));
    assert_eq!(code, exit_codes::OK, "{:?}", r.gates);
    let mut names: Vec<&str> = r.queries.iter().map(|q| q.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["my_order", "order_detail", "place_order"]);
    assert!(r.fresh.checks > 0 && r.fresh.misses == 0, "{:?}", r.fresh);
}
