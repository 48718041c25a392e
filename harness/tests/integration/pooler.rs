//! PgBouncer in transaction mode in front of the cluster (`--pooler
//! pgbouncer`, docs/pooling.md): the pooled-connection pitfall proven
//! through a real PgBouncer (a session-level `SET` of the tenant reaches
//! another client; the load transport's transaction-local context does
//! not), why statements must be unnamed through it, `harness up` printing
//! pooled URLs that answer and leaving no pgbouncer behind after SIGINT,
//! and a load through it that passes its gates.
//!
//! The tenant setting, roles and tables are the reference app's (its
//! app.toml and migrations); every isolation check runs as its app role,
//! logged in through PgBouncer, under row-level security.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::cluster::pooler::PoolerKind;
use harness::cluster::{BackendKind, Cluster, ClusterConfig, Durability, Endpoint};
use harness::load::transport::{PooledEndpoints, Transport, TransportConfig};
use scenarios::{Context, Executor, Param, Query, Route};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};
use uuid::Uuid;

const TENANT_A: Uuid = Uuid::from_u128(0xA);
const TENANT_B: Uuid = Uuid::from_u128(0xB);
/// Projects per tenant: unequal, so a count says whose rows were seen.
const A_PROJECTS: i64 = 2;
const B_PROJECTS: i64 = 1;

/// The reference app's tenant setting and app role, from its app.toml.
fn portal() -> (String, String) {
    let app = harness::reference::app(None).unwrap();
    (app.toml.tenant.setting, app.toml.roles.app)
}

/// A cluster whose PgBouncer keeps one server connection per database and
/// role: every client of the app role shares it.
async fn cluster_with_one_server_connection(backend: BackendKind) -> Cluster {
    Cluster::start(&ClusterConfig {
        backend,
        durability: Durability::Fast,
        pooler: PoolerKind::Pgbouncer,
        pooler_pool_size: 1,
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{} cluster with PgBouncer: {e}", backend.as_str()))
}

/// The portal's schema in database `name` with two tenants' projects,
/// seeded directly as the superuser; the app role's pooled endpoint.
async fn portal_db(c: &Cluster, name: &str, app_role: &str) -> (Endpoint, Endpoint) {
    let mut su = c.primary().connect().await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!("create database {name}")))
        .execute(&mut su)
        .await
        .unwrap();
    let direct = c.primary().with_database(name);
    let mut conn = direct.connect().await.unwrap();
    fixtures::schema::MIGRATOR.run(&mut conn).await.unwrap();
    for (tenant, projects) in [(TENANT_A, A_PROJECTS), (TENANT_B, B_PROJECTS)] {
        sqlx::query(
            "insert into companies (id, company_key, name) values ($1, $1::text, 'Company')",
        )
        .bind(tenant)
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query("insert into projects (id, company_id, name, total_units) select gen_random_uuid(), $1, 'Project', 1 from generate_series(1, $2)")
            .bind(tenant)
            .bind(projects)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let app = harness::rls::roles::login(&direct, &mut conn, app_role)
        .await
        .unwrap();
    let pooled = c.pooled_primary().expect("a pooled primary");
    let pooled_app = Endpoint {
        host: pooled.host.clone(),
        port: pooled.port,
        ..app.clone()
    };
    (app, pooled_app)
}

/// One simple-protocol message through PgBouncer (safe outside a
/// transaction there): the first column of its first row, as text.
async fn simple(conn: &mut PgConnection, sql: String) -> String {
    let row = sqlx::raw_sql(AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    row.try_get::<String, _>(0).unwrap()
}

/// Client 2's next transaction, with no tenant context of its own: the
/// projects it sees and the tenant setting it finds.
async fn client2_sees(pooled_app: &Endpoint, setting: &str) -> (i64, String) {
    let mut c2 = pooled_app.connect().await.unwrap();
    let row = sqlx::raw_sql(AssertSqlSafe(format!(
        "begin; select count(*)::int8, coalesce(current_setting('{setting}', true), '') from projects; commit"
    )))
    .fetch_one(&mut c2)
    .await
    .unwrap();
    (row.try_get(0).unwrap(), row.try_get(1).unwrap())
}

/// How client 1 sets tenant A: the classic mistake, or ours.
enum Setter<'a> {
    /// `SET <setting> = 'A'` on the session (outlives the transaction).
    SessionSet,
    /// The load transport: `BEGIN` with `set_config(..., true)`, the query,
    /// `COMMIT`, through its pool of PgBouncer connections.
    Transport(&'a Transport),
}

/// Client 1 works as tenant A (and sees exactly A's projects), then
/// client 2's next transaction on the same server connection must find no
/// tenant set and see nothing: row-level security with no tenant fails
/// closed. Err says what leaked.
async fn no_leak_to_next_client(
    setter: Setter<'_>,
    pooled_app: &Endpoint,
    setting: &str,
) -> Result<(), String> {
    let seen_by_1 = match setter {
        Setter::SessionSet => {
            let mut c1 = pooled_app.connect().await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(format!("set {setting} = '{TENANT_A}'")))
                .execute(&mut c1)
                .await
                .unwrap();
            let n = simple(&mut c1, "select count(*)::text from projects".into()).await;
            n.parse::<i64>().unwrap()
        }
        Setter::Transport(t) => {
            let ctx = Context::new(vec![(setting.to_string(), TENANT_A.to_string())]);
            let mut q = Query::new(
                "tenant_projects",
                "select id from projects where company_id = $1",
                Route::Read,
            );
            q.params = vec![Param::Uuid(TENANT_A)];
            let out = t.run(&ctx, &mut None, q).await;
            assert_eq!(out.error, None, "the transport's query through PgBouncer");
            out.rows as i64
        }
    };
    assert_eq!(
        seen_by_1, A_PROJECTS,
        "client 1, as tenant A, sees A's projects"
    );
    let (seen_by_2, found) = client2_sees(pooled_app, setting).await;
    if seen_by_2 == 0 && found.is_empty() {
        return Ok(());
    }
    Err(format!(
        "client 2 set no tenant, found {setting} = {found:?} and saw {seen_by_2} project(s) (tenant A has {A_PROJECTS})"
    ))
}

/// The pooled-connection pitfall (docs/rls.md, pitfall 4) through a real
/// PgBouncer in transaction mode, one server connection for the app role:
/// the load transport's context ends with its transaction (the next client
/// sees zero rows), a session-level `SET` reaches the next client (it sees
/// tenant A's rows). On the way: the two clients really share one server
/// connection, and sqlx's default named statements collide there while
/// unnamed ones do not (why the transport sends unnamed statements).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_set_leaks_through_pgbouncer_and_transaction_local_context_does_not() {
    pitfall_through_pgbouncer(BackendKind::Native).await;
}

/// The same through the docker backend's PgBouncer containers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_session_set_leaks_through_pgbouncer_and_transaction_local_context_does_not() {
    if !crate::support::docker_or_skip("docker pooler") {
        return;
    }
    let image = harness::cluster::image::pick_image().unwrap().unwrap();
    assert!(
        harness::cluster::image::image_current(&image),
        "the image {image} does not carry pgbouncer: run `harness image` (it rebuilds an image built before pgbouncer was added), or set HARNESS_IMAGE to one that does"
    );
    pitfall_through_pgbouncer(BackendKind::Docker).await;
}

async fn pitfall_through_pgbouncer(backend: BackendKind) {
    let (setting, app_role) = portal();
    let c = cluster_with_one_server_connection(backend).await;
    assert!(
        c.info()
            .pooler
            .as_deref()
            .is_some_and(|p| p.contains("PgBouncer 1.") && p.contains("default_pool_size=1")),
        "{:?}",
        c.info().pooler
    );
    let (direct_app, pooled_app) = portal_db(&c, "pooled", &app_role).await;

    // Two clients, one server connection.
    let mut c1 = pooled_app.connect().await.unwrap();
    let mut c2 = pooled_app.connect().await.unwrap();
    let pid = "select pg_backend_pid()::text".to_string();
    let (p1, p2) = (
        simple(&mut c1, pid.clone()).await,
        simple(&mut c2, pid).await,
    );
    assert_eq!(p1, p2, "both clients are served by the same server process");

    // Ours: the load transport's pools through PgBouncer.
    let mut t = Transport::connect(&TransportConfig {
        primary: direct_app,
        replica: None,
        pooled: Some(PooledEndpoints {
            primary: pooled_app.clone(),
            replica: None,
        }),
        primary_pool: 2,
        replica_pool: 1,
        acquire_timeout: Duration::from_secs(10),
        ryw_wait: Duration::ZERO,
    })
    .await
    .unwrap();
    no_leak_to_next_client(Setter::Transport(&t), &pooled_app, &setting)
        .await
        .expect("transaction-local context must end with the transaction");
    // Tenant B through the transport sees B's projects only: the context
    // really is per transaction, not stuck at A.
    let ctx_b = Context::new(vec![(setting.clone(), TENANT_B.to_string())]);
    let all = Query::new("all_projects", "select id from projects", Route::Read);
    let out = t.run(&ctx_b, &mut None, all).await;
    assert_eq!((out.error, out.rows as i64), (None, B_PROJECTS));
    t.close().await;

    // Named statements: each client's first is `sqlx_s_1`, and the second
    // client finds the first one's on the shared server connection.
    let count = "select count(*) from projects";
    let mut named = Vec::new();
    for conn in [&mut c1, &mut c2] {
        let mut tx = conn.begin().await.unwrap();
        named.push(
            sqlx::query_scalar::<_, i64>(count)
                .fetch_one(&mut *tx)
                .await,
        );
        tx.rollback().await.unwrap();
    }
    assert!(named[0].is_ok(), "{:?}", named[0]);
    let code = named[1]
        .as_ref()
        .err()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code().map(|c| c.into_owned()));
    assert_eq!(
        code.as_deref(),
        Some("42P05"),
        "a second client's named statement must collide: {:?}",
        named[1]
    );
    for conn in [&mut c1, &mut c2] {
        let mut tx = conn.begin().await.unwrap();
        sqlx::query_scalar::<_, i64>(count)
            .persistent(false)
            .fetch_one(&mut *tx)
            .await
            .expect("unnamed statements inside a transaction work through PgBouncer");
        tx.rollback().await.unwrap();
    }
    drop((c1, c2));

    // The flawed variant: a session-level SET reaches the next client.
    let e = no_leak_to_next_client(Setter::SessionSet, &pooled_app, &setting)
        .await
        .expect_err("a session-level SET must be caught reaching another client");
    eprintln!("pooler: session-level SET caught through PgBouncer: {e}");
    assert!(
        e.contains(&format!("saw {A_PROJECTS} project(s)")) && e.contains(&TENANT_A.to_string()),
        "{e}"
    );
    c.shutdown().await.unwrap();
}

/// The pgbouncer processes whose parent is `pid`.
fn pgbouncers_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            // pid (comm) state ppid ...
            let Some((comm, rest)) = stat.split_once(") ") else {
                return false;
            };
            comm.ends_with("(pgbouncer")
                && rest.split_whitespace().nth(1) == Some(pid.to_string().as_str())
        })
        .collect()
}

/// `harness up --pooler pgbouncer` prints pooled URLs that answer (the
/// primary's writable, the replica's in recovery), one pgbouncer per
/// server; after SIGINT neither pgbouncer is left and the run directory
/// is gone.
#[test]
fn up_prints_pooled_urls_and_sigint_leaves_no_pgbouncer() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["up", "--backend", "native", "--pooler", "pgbouncer"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut pooled = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(u) = line
            .strip_prefix("export HARNESS_POOLED_PRIMARY_URL=")
            .or_else(|| line.strip_prefix("export HARNESS_POOLED_REPLICA_URL="))
        {
            pooled.push(u.trim_matches('\'').to_string());
        }
        if pooled.len() == 2 {
            break;
        }
    }
    let drain = std::thread::spawn(move || lines.count());
    assert_eq!(pooled.len(), 2, "harness up printed both pooled URLs");
    let bouncers = pgbouncers_of(pid);
    assert_eq!(bouncers.len(), 2, "one pgbouncer per server: {bouncers:?}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for (url, in_recovery) in pooled.iter().zip(["f", "t"]) {
            let ep = Endpoint::parse(url).unwrap();
            let mut c = ep.connect().await.expect("a pooled URL connects");
            let answer = simple(&mut c, "select pg_is_in_recovery()::text".into()).await;
            assert_eq!(&answer[..1], in_recovery, "{url}");
        }
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    drain.join().unwrap();
    assert_eq!(status.code(), Some(harness::exit_codes::INTERRUPTED));
    let deadline = Instant::now() + Duration::from_secs(5);
    let alive = |p: &u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .is_ok_and(|s| s.split_once(") ").is_some_and(|(_, r)| !r.starts_with('Z')))
    };
    while bouncers.iter().any(alive) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<_> = bouncers.iter().filter(|p| alive(p)).collect();
    assert!(left.is_empty(), "pgbouncer left after SIGINT: {left:?}");
    rt.block_on(async {
        for url in &pooled {
            assert!(
                Endpoint::parse(url).unwrap().connect().await.is_err(),
                "{url} still answers after teardown"
            );
        }
    });
    let left = crate::support::leftovers(pid, Duration::ZERO);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// `harness load --pooler pgbouncer` through the binary: 200 users pass
/// every gate with the pools going through PgBouncer, which the run's
/// notes and environment say, and PgBouncer's own counters confirm: it
/// served at least as many transactions as the steady state counted
/// queries (each query is one transaction).
#[test]
fn a_load_through_pgbouncer_passes_its_gates() {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .env("HARNESS_LOG", "warn")
        .env_remove("HARNESS_APP")
        .args(["load", "--backend", "native", "--durability", "fast"])
        .args(["--pooler", "pgbouncer"])
        .args(["--users", "200", "--ramp", "2", "--duration", "6"])
        .args(["--think", "0.5-1.5"])
        .args(["--tenants", "8", "--scale", "0.2", "--pool", "10"])
        .arg("--reports-dir")
        .arg(root.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(harness::exit_codes::OK), "{text}");
    let dir = crate::load::run_dir(root.path());
    let r = crate::load::results(&dir);
    assert!(r.gates.iter().all(|g| g.passed), "{:?}", r.gates);
    assert!(
        r.notes.iter().any(|n| n.contains("went through PgBouncer")),
        "{:?}",
        r.notes
    );
    let served: i64 = r
        .notes
        .iter()
        .find_map(|n| n.strip_prefix("PgBouncer served "))
        .and_then(|n| n.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no PgBouncer counters in the notes: {:?}", r.notes));
    assert!(
        r.overall.count > 100 && served >= r.overall.count as i64,
        "PgBouncer served {served} transactions for {} counted queries",
        r.overall.count
    );
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(
        summary.contains("pgbouncer: PgBouncer 1.18"),
        "the run's environment names the pooler"
    );
}
