//! Criterion benches of the reference app on a seeded primary + replica:
//!
//! - `primary/<query>/{rls,owner}`: every named query of the scenarios as
//!   `portal_app` with the tenant context (RLS on) and as `portal_owner`
//!   (RLS off): the price of RLS.
//! - `replica/<query>/rls`: the read queries on the streaming replica as
//!   `portal_reader`.
//! - `fts/<search>/{gin,no_index}`: full-text search with its GIN index and
//!   with the index dropped inside a rolled-back transaction (the portal's
//!   migration plan claims 30x).
//! - `filters/<query>/{index,no_index}`: key filters with and without the
//!   indexes that serve them.
//! - `migrate/whole/<rows>`: `harness::migrate` of a legacy SQLite file into
//!   a fresh database; rows/s per table from its own per-table account.
//!
//! Everything slow happens outside the timed closures: cluster start and
//! seeding (once), connections and role switches (per group), index drops
//! (per case), database creation for each migration (per iteration, with
//! only `migrate()` itself timed through `iter_custom`).
//!
//! Defaults keep `cargo bench -p benches` to a few minutes on 2 cores:
//! 10 samples, 2 s of measurement, 0.5 s warm-up per benchmark. Larger runs:
//! `BENCH_SAMPLES`, `BENCH_SECONDS`, `BENCH_SCALE`, `BENCH_TENANTS`,
//! `BENCH_MIGRATE_SCALE` (0 skips the migration bench). The figures land in
//! `reports/<time>-bench/` (or `$HARNESS_REPORTS_DIR`), criterion's own
//! report copied beside them.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use benches::bed::{spec_from_env, Bed, Mode, Params};
use benches::cases::{begin_case, end_case, filters, Query, Search};
use benches::estimates;
use benches::report::{self, Findings, Measured, PlanFacts, TableThroughput};
use criterion::{BenchmarkId, Criterion, SamplingMode};
use sqlx::PgConnection;
use tokio::runtime::Runtime;

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one timed iteration runs.
#[derive(Clone, Copy)]
enum Case {
    Query(Query),
    Search(Search),
}

/// Time `iters` runs of `case` on `conn`; connection, role and context are
/// set up before, outside the timing.
fn time_loop(
    rt: &Runtime,
    conn: &RefCell<PgConnection>,
    iters: u64,
    case: Case,
    p: &Params,
) -> Duration {
    let mut c = conn.borrow_mut();
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let r = match case {
                Case::Query(q) => q.run(&mut c, p).await,
                Case::Search(s) => s.run(&mut c, p).await,
            };
            r.expect("bench query failed");
        }
        start.elapsed()
    })
}

struct Ids {
    /// (group, function, parameter) registered in this run, in order.
    all: Vec<(String, String, String)>,
}

impl Ids {
    fn id(&mut self, group: &str, function: &str, parameter: &str) -> BenchmarkId {
        self.all
            .push((group.into(), function.into(), parameter.into()));
        BenchmarkId::new(function, parameter)
    }
}

fn main() -> anyhow::Result<()> {
    let started_wall = chrono::Utc::now();
    let since = SystemTime::now();
    let samples = env_f64("BENCH_SAMPLES", 10.0).max(10.0) as usize;
    let seconds = env_f64("BENCH_SECONDS", 2.0);
    let mut c = Criterion::default()
        .sample_size(samples)
        .measurement_time(Duration::from_secs_f64(seconds))
        .warm_up_time(Duration::from_millis(500))
        .configure_from_args();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let spec = spec_from_env()?;
    eprintln!(
        "bench: starting a cluster and seeding {} tenants at scale {} (seed {})",
        spec.tenants, spec.scale, spec.seed
    );
    let bed = rt.block_on(Bed::start(spec))?;
    eprintln!(
        "bench: seeded {} rows in {:.1} s; tenant {} (word {:?}, location {:?})",
        bed.rows.values().sum::<u64>(),
        bed.seed_seconds,
        bed.params.company,
        bed.params.project_word,
        bed.params.location
    );
    let p = bed.params.clone();
    let mut f = Findings::default();
    let mut ids = Ids { all: Vec::new() };

    // Named queries on the primary, RLS on and off.
    {
        let app = RefCell::new(rt.block_on(bed.connect(&bed.primary(), Mode::App))?);
        let owner = RefCell::new(rt.block_on(bed.connect(&bed.primary(), Mode::Owner))?);
        let mut g = c.benchmark_group("primary");
        for q in Query::ALL {
            for (param, conn) in [("rls", &app), ("owner", &owner)] {
                let n = rt
                    .block_on(q.run(&mut conn.borrow_mut(), &p))
                    .with_context(|| format!("{} as {param}", q.name()))?;
                // APPLY is idempotent: once the pair exists every call takes
                // the conflict path and returns nothing, which is the path
                // timed here; a zero there is no sign of a bad parameter.
                if q != Query::Apply {
                    f.rows.push((format!("primary/{}/{param}", q.name()), n));
                }
                g.bench_function(ids.id("primary", q.name(), param), |b| {
                    b.iter_custom(|iters| time_loop(&rt, conn, iters, Case::Query(q), &p))
                });
            }
        }
        g.finish();
    }

    // Read queries on the replica as portal_reader.
    {
        let reader = RefCell::new(rt.block_on(bed.connect(&bed.replica()?, Mode::Reader))?);
        let mut g = c.benchmark_group("replica");
        for q in Query::ALL.into_iter().filter(|q| !q.is_write()) {
            let n = rt
                .block_on(q.run(&mut reader.borrow_mut(), &p))
                .with_context(|| format!("{} on the replica", q.name()))?;
            f.rows.push((format!("replica/{}/rls", q.name()), n));
            g.bench_function(ids.id("replica", q.name(), "rls"), |b| {
                b.iter_custom(|iters| time_loop(&rt, &reader, iters, Case::Query(q), &p))
            });
        }
        g.finish();
    }

    // Full-text search with and without its GIN index.
    {
        let conn = RefCell::new(rt.block_on(bed.connect(&bed.primary(), Mode::App))?);
        let mut g = c.benchmark_group("fts");
        g.sampling_mode(SamplingMode::Flat);
        for s in Search::ALL {
            let role = if s == Search::TenantProjects {
                Mode::App
            } else {
                Mode::Owner
            }
            .role();
            let mut facts = PlanFacts::default();
            for (param, drop) in [("gin", vec![]), ("no_index", vec![s.index()])] {
                let dropped = rt.block_on(begin_case(&mut conn.borrow_mut(), &drop, role))?;
                let plan = rt.block_on(s.plan_indexes(&mut conn.borrow_mut(), &p))?;
                let n = rt.block_on(s.run(&mut conn.borrow_mut(), &p))?;
                f.rows.push((format!("fts/{}/{param}", s.name()), n));
                if drop.is_empty() {
                    facts.with = plan;
                } else {
                    facts.without = plan;
                    facts.dropped = dropped;
                }
                g.bench_function(ids.id("fts", s.name(), param), |b| {
                    b.iter_custom(|iters| time_loop(&rt, &conn, iters, Case::Search(s), &p))
                });
                rt.block_on(end_case(&mut conn.borrow_mut()))?;
            }
            f.plans.insert(("fts".into(), s.name().into()), facts);
        }
        g.finish();
    }

    // Key filters with and without their indexes.
    {
        let conn = RefCell::new(rt.block_on(bed.connect(&bed.primary(), Mode::App))?);
        let mut g = c.benchmark_group("filters");
        g.sampling_mode(SamplingMode::Flat);
        for (q, indexes) in filters() {
            let mut facts = PlanFacts::default();
            for (param, drop) in [("index", &[][..]), ("no_index", indexes)] {
                let dropped =
                    rt.block_on(begin_case(&mut conn.borrow_mut(), drop, Mode::App.role()))?;
                let plan = rt.block_on(q.plan_indexes(&mut conn.borrow_mut(), &p))?;
                if drop.is_empty() {
                    facts.with = plan;
                } else {
                    facts.without = plan;
                    facts.dropped = dropped;
                }
                g.bench_function(ids.id("filters", q.name(), param), |b| {
                    b.iter_custom(|iters| time_loop(&rt, &conn, iters, Case::Query(q), &p))
                });
                rt.block_on(end_case(&mut conn.borrow_mut()))?;
            }
            f.plans.insert(("filters".into(), q.name().into()), facts);
        }
        g.finish();
    }

    // Migration throughput: harness::migrate into a fresh database per run.
    let migrate_scale = env_f64("BENCH_MIGRATE_SCALE", 0.2);
    if migrate_scale > 0.0 {
        migration_bench(&mut c, &rt, &bed, migrate_scale, &mut f, &mut ids)?;
    }

    c.final_summary();

    // Collect criterion's own estimates for what ran in this process.
    let dir = estimates::criterion_dir();
    for (g, func, param) in &ids.all {
        if let Some(e) = estimates::read(&dir, g, func, param, since) {
            f.measured.push(Measured {
                group: g.clone(),
                function: func.clone(),
                parameter: param.clone(),
                estimate: e,
            });
        }
    }
    if f.measured.is_empty() {
        eprintln!("bench: no benchmark ran (filtered out?); no report written");
        return Ok(());
    }
    let ctx = report::Context {
        info: bed.cluster.info(),
        spec: bed.spec,
        rows: &bed.rows,
        seed_seconds: bed.seed_seconds,
        settings: format!("{samples} samples, {seconds} s each"),
    };
    let mut run = report::build(&ctx, &f, started_wall);
    let root = std::env::var_os("HARNESS_REPORTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reports"));
    let run_dir = harness::report::create_run_dir(&root, &mut run)?;
    if let Err(e) = report::attach_criterion(&mut run, &run_dir, &dir) {
        run.note(format!(
            "criterion's folder {} could not be copied: {e}",
            dir.display()
        ));
    }
    run.finish();
    let run_dir = harness::report::write_run(&run, &root)?;
    println!("bench report: {}", run_dir.join("index.html").display());
    rt.block_on(bed.cluster.shutdown())?;
    Ok(())
}

fn migration_bench(
    c: &mut Criterion,
    rt: &Runtime,
    bed: &Bed,
    scale: f64,
    f: &mut Findings,
    ids: &mut Ids,
) -> anyhow::Result<()> {
    use harness::migrate::{migrate, MigrateOptions};
    let tmp = tempfile::tempdir()?;
    let legacy = tmp.path().join("legacy.db");
    let spec = fixtures::generate::Spec { scale, ..bed.spec };
    let summary = fixtures::write::sqlite::write_sqlite(&spec, &legacy, &mut |_| {})
        .context("writing the legacy SQLite file")?;
    let app = harness::reference::app(None).expect("the reference app folder");
    let opts = MigrateOptions {
        reject_path: tmp.path().join("rejects.jsonl"),
        progress: false,
        verify: false,
        integrity_check: false,
        ..Default::default()
    };
    let counter = RefCell::new(0u32);
    let tables: RefCell<std::collections::BTreeMap<String, TableThroughput>> =
        RefCell::new(Default::default());
    let failure: RefCell<Option<String>> = RefCell::new(None);
    let mut g = c.benchmark_group("migrate");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    let label = format!("{} rows", summary.total_rows);
    g.bench_function(ids.id("migrate", "whole", &label), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let n = {
                    let mut k = counter.borrow_mut();
                    *k += 1;
                    *k
                };
                let db = format!("bench_migrate_{n}");
                let target = bed.cluster.primary().with_database(&db).connect_options();
                rt.block_on(async {
                    let mut admin = bed
                        .cluster
                        .primary()
                        .connect()
                        .await
                        .expect("admin connection");
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("create database {db}")))
                        .execute(&mut admin)
                        .await
                        .expect("create the migration target");
                });
                let t = Instant::now();
                let result = rt.block_on(migrate(&app, &legacy, &target, &opts));
                total += t.elapsed();
                match result {
                    Ok(r) => {
                        for tr in &r.tables {
                            let mut m = tables.borrow_mut();
                            let e = m.entry(tr.table.clone()).or_default();
                            e.rows = tr.rows_copied;
                            e.rows_per_sec.push(tr.rows_per_sec());
                        }
                    }
                    Err(e) => {
                        failure.borrow_mut().get_or_insert_with(|| e.to_string());
                    }
                }
                rt.block_on(async {
                    let mut admin = bed
                        .cluster
                        .primary()
                        .connect()
                        .await
                        .expect("admin connection");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "drop database if exists {db} with (force)"
                    )))
                    .execute(&mut admin)
                    .await;
                });
            }
            total
        })
    });
    g.finish();
    if let Some(e) = failure.into_inner() {
        f.notes
            .push(format!("the migration bench saw a failed migration: {e}"));
    }
    f.migration = tables.into_inner();
    Ok(())
}
