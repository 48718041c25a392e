//! Load: goose runs over an app folder's workload (`workload.toml`, the
//! reference app's by default) against a real primary and streaming
//! replica, gated on p95, error rate and replica lag.
//!
//! One run goes through the modules in this order:
//!
//! 1. [`config`]: the `[load]` section (defaults: 10,000 users, p95 < 100 ms).
//! 2. [`data`]: the app's database: schema migrations, rows (a legacy file
//!    migrated: `--from`, the folder's `data.sql`, or the reference app's
//!    generator); then the workload compiled on it and the catalog of
//!    tenants and samples users are drawn from (`scenarios::plan`).
//! 3. [`transport`]: the shared bounded pools (primary, replica), routing,
//!    read-your-own-writes, and the per-query histograms (pool wait apart
//!    from query time) in [`histogram`]s.
//! 4. [`attack`] (goose's closed model) or [`open`] (arrival-rate schedule,
//!    latency from the scheduled start) drives the `scenarios` journeys.
//! 5. [`sampler`] (database counters every few seconds) and [`health`]
//!    (generator CPU, scheduling lag, memory) watch the run.
//! 6. [`gates`] judge it; [`results`] hold every figure and fill the report.
//! 7. [`price`] re-runs each named query's heaviest call as the app role
//!    and unbound: what row-level security costs it, and why.
//! 8. [`fault`] (`--fault`): faults injected beside 4, their effect cut
//!    from a timeline of every query, and the [`ledger`] of acknowledged
//!    writes checked on the surviving primary.
//! 9. [`capacity`] repeats 4-6 at growing user counts to find the knee;
//!    [`pgbench`] compares the transport with `pgbench -S`.
//!
//! Which mode gates: `harness load` gates the mode it runs. The default is
//! the closed model (goose users, the figure the 10k-user promise is about),
//! whose latencies include pool waits; `--mode open` gates latency from the
//! scheduled start, which also charges every stall to every request that
//! arrived during it. docs/load.md says when to use which.

pub mod attack;
pub mod capacity;
pub mod claims;
pub mod config;
pub mod data;
pub mod fault;
pub mod gates;
pub mod health;
pub mod histogram;
pub mod ledger;
pub mod merge;
pub mod open;
pub mod pgbench;
pub mod pool;
pub mod price;
pub mod results;
pub mod sampler;
pub mod shard;
pub mod transport;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scenarios::{Catalog, Env, Plan};

use crate::cluster::{Cluster, ClusterError, Endpoint};

pub use config::{LoadConfig, Mode, Thresholds};
pub use results::LoadResults;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Data(#[from] data::DataError),
    #[error(transparent)]
    Transport(#[from] transport::TransportError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("the workload does not fit the database")]
    Workload(#[from] scenarios::WorkloadError),
    #[error(transparent)]
    Catalog(#[from] scenarios::plan::CatalogError),
    #[error("{0}")]
    Mix(String),
    #[error("preparing the workload's statements on {database}: {source}")]
    Prepare {
        database: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot log in as the app role {role} (roles of app.toml): {source}\n  hint: the roles come from the app folder's migrations; on an external cluster the harness cannot set their passwords")]
    Roles {
        role: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("goose could not run the attack: {0}")]
    Goose(String),
    #[error("pgbench: {0}")]
    Pgbench(String),
}

/// Log in as `role` with the superuser endpoint's password
/// ([`crate::rls::roles::login`]), naming the role in the error.
async fn login(
    superuser: &Endpoint,
    conn: &mut sqlx::PgConnection,
    role: &str,
) -> Result<Endpoint, LoadError> {
    crate::rls::roles::login(superuser, conn, role)
        .await
        .map_err(|source| LoadError::Roles {
            role: role.to_string(),
            source,
        })
}

/// A prepared target: data in place, pools open, workload compiled,
/// catalog loaded. Reused across capacity steps so each step measures
/// load, not setup.
pub struct Session {
    pub transport: Arc<transport::Transport>,
    pub env: Arc<Env>,
    pub catalog_tenants: usize,
    /// Superuser endpoints of the load database (sampler, control).
    pub primary: Endpoint,
    pub replica: Option<Endpoint>,
    pub database: String,
    /// The app whose workload runs (its `app.toml` name).
    pub app: String,
    /// The role the app's queries run as (`roles.app`).
    pub app_role: String,
    /// Rows written by this session (0 when the data was there).
    pub rows_generated: u64,
    pub notes: Vec<String>,
    /// The open model's recorder of the last run, kept so a shard can save
    /// its histograms ([`shard`]).
    pub last_open: std::sync::Mutex<Option<Arc<open::OpenRecorder>>>,
}

impl Session {
    /// Prepare `cluster` for `target`'s load: data (unless `with_data` is
    /// false), the roles' logins (`roles.app` on the primary,
    /// `roles.reader` on the replica), the workload compiled against the
    /// database, the catalog, pools.
    pub async fn open(
        cluster: &Cluster,
        cfg: &LoadConfig,
        target: &data::Target,
        with_data: bool,
    ) -> Result<Session, LoadError> {
        let database = target.database(cfg);
        let workload = target
            .workload
            .clone()
            .with_mix(&cfg.mix)
            .map_err(LoadError::Mix)?;
        let rows_generated = if with_data {
            data::prepare(cluster, &database, target, &cfg.spec()).await?
        } else {
            0
        };
        let roles = &target.app.toml.roles;
        let primary = cluster.primary().with_database(&database);
        let replica = cluster.replica().map(|r| r.with_database(&database));
        let mut c = primary.connect().await?;
        // Needed for the top-statements table; harmless when present.
        let _ = sqlx::query("create extension if not exists pg_stat_statements")
            .execute(&mut c)
            .await;
        let plan = Plan::prepare(&workload, &mut c, &target.app.toml.tenant.setting).await?;
        let catalog: Catalog = Catalog::load(&plan, &mut c, &roles.owner).await?;
        if catalog.is_empty() {
            return Err(data::DataError::Empty(database.clone()).into());
        }
        let app = login(&primary, &mut c, &roles.app).await?;
        // A replica read runs as the reader role when the app has one, else
        // as the app role (it may read the same rows).
        let reader_role = roles.reader.clone().unwrap_or_else(|| roles.app.clone());
        let reader = match &replica {
            Some(r) => {
                login(&primary, &mut c, &reader_role).await?;
                Some(r.with_user(&reader_role, primary.password.as_deref()))
            }
            None => None,
        };
        drop(c);
        if reader.is_some() {
            // The password change must reach the replica before its pool logs in.
            let lsn = cluster.current_lsn().await?;
            cluster
                .wait_for_replay(&lsn, Duration::from_secs(30))
                .await?;
        }
        let catalog_tenants = catalog.tenants.len();
        // Through the cluster's pooler when it runs one: the same roles and
        // database at the pooler's address (docs/pooling.md).
        let pooled = cluster
            .pooled_primary()
            .map(|p| transport::PooledEndpoints {
                primary: Endpoint {
                    host: p.host.clone(),
                    port: p.port,
                    ..app.clone()
                },
                replica: cluster
                    .pooled_replica()
                    .zip(reader.as_ref())
                    .map(|(p, r)| Endpoint {
                        host: p.host.clone(),
                        port: p.port,
                        ..r.clone()
                    }),
            });
        let t = transport::Transport::connect(&transport::TransportConfig {
            primary: app,
            replica: reader,
            pooled,
            primary_pool: cfg.primary_pool,
            replica_pool: cfg.replica_pool,
            acquire_timeout: Duration::from_millis(cfg.acquire_timeout_ms),
            ryw_wait: Duration::from_millis(cfg.ryw_wait_ms),
        })
        .await?;
        let transport = Arc::new(t);
        let env = Arc::new(Env {
            exec: transport.clone(),
            plan: Arc::new(plan),
            catalog: Arc::new(catalog),
        });
        let mut notes = Vec::new();
        if let Some(p) = &cluster.info().pooler {
            notes.push(format!(
                "the load's pools went through PgBouncer ({p}), unnamed statements; the sampler and control connections went direct"
            ));
        }
        if replica.is_none() {
            notes.push(
                "no replica: every read went to the primary and the lag gate was skipped".into(),
            );
        }
        Ok(Session {
            transport,
            env,
            catalog_tenants,
            primary,
            replica,
            database,
            app: target.app.toml.name.clone(),
            app_role: roles.app.clone(),
            rows_generated,
            notes,
            last_open: Default::default(),
        })
    }
}

/// Totals over every named query.
fn overall(rec: &transport::Recorder) -> transport::QuerySummary {
    let stats = rec.names();
    let agg = transport::QueryStats::default();
    for (_, s) in &stats {
        agg.ok
            .fetch_add(s.ok.load(Ordering::Relaxed), Ordering::Relaxed);
        agg.failed
            .fetch_add(s.failed.load(Ordering::Relaxed), Ordering::Relaxed);
        agg.on_primary
            .fetch_add(s.on_primary.load(Ordering::Relaxed), Ordering::Relaxed);
        agg.on_replica
            .fetch_add(s.on_replica.load(Ordering::Relaxed), Ordering::Relaxed);
    }
    let mut exec = histogram::Snapshot::default();
    for (_, s) in &stats {
        exec.merge(&s.exec.snapshot());
    }
    transport::QuerySummary::of(
        "all queries",
        &rec.all.snapshot(),
        &rec.all_pool_wait.snapshot(),
        &exec,
        &agg,
    )
}

/// Run one load (closed or open, as `cfg.mode` says) on a prepared
/// session. goose's reports go into `dir` when given.
pub async fn run(
    session: &Session,
    cfg: &LoadConfig,
    dir: Option<&Path>,
) -> Result<LoadResults, LoadError> {
    let rec = session.transport.recorder.clone();
    rec.reset();
    let ticker = health::Ticker::start();
    let sampler = Arc::new(std::sync::Mutex::new(None::<sampler::SamplerHandle>));
    *sampler.lock().unwrap_or_else(|p| p.into_inner()) = Some(sampler::start(
        session.primary.clone(),
        session.replica.clone(),
        session.database.clone(),
        Duration::from_secs(cfg.sample_secs.max(1)),
        rec.clone(),
        ticker.lag.clone(),
    ));
    let timeline = session.transport.timeline.get().cloned();
    let mark_steady = {
        let rec = rec.clone();
        let sampler = sampler.clone();
        let timeline = timeline.clone();
        move || {
            rec.reset();
            if let Some(t) = &timeline {
                t.start();
            }
            if let Some(s) = sampler.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                s.mark_steady();
            }
        }
    };
    let mut notes = session.notes.clone();
    let mut goose_figs = None;
    let mut open_summary = None;
    let steady_started;
    match cfg.mode {
        Mode::Closed => {
            let plan = attack::ClosedPlan {
                users: cfg.users,
                ramp_secs: cfg.ramp_secs,
                steady_secs: cfg.steady_secs,
                think: cfg.think(),
                seed: cfg.seed,
            };
            let started = Arc::new(std::sync::Mutex::new(Instant::now()));
            let timer = {
                let started = started.clone();
                let ramp = Duration::from_secs(cfg.ramp_secs as u64);
                tokio::spawn(async move {
                    tokio::time::sleep(ramp).await;
                    *started.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
                    mark_steady();
                })
            };
            let metrics = attack::run_closed(session.env.clone(), &plan, dir).await;
            timer.abort();
            steady_started = *started.lock().unwrap_or_else(|p| p.into_inner());
            let metrics = metrics.map_err(|e| LoadError::Goose(e.to_string()))?;
            let (mut requests, mut failures) = (0u64, 0u64);
            for r in metrics.requests.values() {
                requests += (r.success_count + r.fail_count) as u64;
                failures += r.fail_count as u64;
            }
            if cfg.users < 2 {
                notes.push("goose needs at least 2 users with a ramp: ran 2".into());
            }
            goose_figs = Some(results::GooseFigures {
                maximum_users: metrics.maximum_users,
                duration_secs: metrics.duration,
                requests,
                failures,
                reports: match dir {
                    Some(_) => attack::GOOSE_REPORTS
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                    None => Vec::new(),
                },
            });
        }
        Mode::Open => {
            let plan = open::OpenPlan {
                rate: cfg.rate,
                ramp: Duration::from_secs(cfg.ramp_secs as u64),
                steady: Duration::from_secs(cfg.steady_secs as u64),
                max_in_flight: cfg.max_in_flight,
                seed: cfg.seed,
            };
            let mut orec = open::OpenRecorder::default();
            orec.timeline = timeline.clone();
            let orec = Arc::new(orec);
            *session.last_open.lock().unwrap_or_else(|p| p.into_inner()) = Some(orec.clone());
            let started = Arc::new(std::sync::Mutex::new(Instant::now()));
            let s2 = started.clone();
            let summary = open::run_open(session.env.clone(), &plan, orec, move || {
                *s2.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
                mark_steady();
            })
            .await;
            steady_started = *started.lock().unwrap_or_else(|p| p.into_inner());
            open_summary = Some(summary);
        }
    }
    let steady_secs = steady_started.elapsed().as_secs_f64();
    let handle = sampler.lock().unwrap_or_else(|p| p.into_inner()).take();
    let sampled = match handle {
        Some(h) => h.finish().await,
        None => sampler::Sampled::default(),
    };
    drop(ticker);
    let queries = rec.summary();
    let overall = overall(&rec);
    let has_replica = session.replica.is_some();
    let gates = match (&cfg.mode, &open_summary) {
        (Mode::Open, Some(o)) => gates::open_gates(o, &cfg.thresholds, &sampled, has_replica),
        _ => gates::closed_gates(&queries, &overall, &cfg.thresholds, &sampled, has_replica),
    };
    let invalid = gates::invalid_reasons(&cfg.health, &sampled, open_summary.as_ref());
    notes.extend(sampled.problems.iter().cloned());
    Ok(LoadResults {
        mode: cfg.mode,
        config: cfg.clone(),
        steady_secs,
        throughput_qps: overall.count as f64 / steady_secs.max(1e-3),
        overall,
        queries,
        open: open_summary,
        fresh: rec.fresh_summary(),
        sampled,
        goose: goose_figs,
        peak_memory_mib: health::peak_rss_mib(),
        gates,
        invalid,
        rls_price: Vec::new(),
        claims: Vec::new(),
        faults: None,
        notes,
    })
}
