//! `harness load` and `harness capacity`: the command-line edge of
//! [`crate::load`].
//!
//! Layering, lowest first: [`LoadConfig`]'s defaults (10,000 users, p95 <
//! 100 ms, a 2.5 min steady state), `[load]` of `harness.toml` (and
//! `--profile`), then these flags. With no flags the command starts its own
//! cluster with realistic durability (fsync on: latencies of a real
//! server), loads the reference app's data and workload, runs, writes the
//! run folder under `reports/`, tears everything down, and exits with the
//! gate's code. `--app DIR` runs another app folder's `workload.toml`, on
//! the rows of `--from FILE` or of the folder's `data.sql`
//! ([`crate::load::data`]). The folder and its workload file are checked
//! before any server starts (bad input, exit 4).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::cluster::{BackendKind, Cluster, Durability};
use crate::config::HarnessConfig;
use crate::exit_codes;
use crate::load::data::Target;
use crate::load::{self, capacity, LoadConfig, Mode};
use crate::report::{self, DataSpec, Run, RunKind};

use super::BadInput;

/// Flags shared by `load` and `capacity`; each overrides `[load]`.
#[derive(Debug, Clone, Args, Default)]
pub struct LoadFlags {
    /// closed (goose users) or open (arrival rate, latency from the scheduled start).
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Simulated users (closed model).
    #[arg(long, short = 'u')]
    pub users: Option<usize>,
    /// Seconds to start every user.
    #[arg(long)]
    pub ramp: Option<usize>,
    /// Seconds of steady state after the ramp (what the gates judge).
    #[arg(long)]
    pub duration: Option<usize>,
    /// Think time between a user's steps, seconds: MIN or MIN-MAX.
    #[arg(long, value_name = "MIN[-MAX]")]
    pub think: Option<String>,
    /// Open model: steps started per second.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Weights of the kinds of user (their names in workload.toml), e.g.
    /// browsing=60,applying=15,staff=15,admin=5,contact=5; kinds not named do not run.
    #[arg(long)]
    pub mix: Option<String>,
    /// Connections in each pool (primary and replica).
    #[arg(long)]
    pub pool: Option<u32>,
    /// p95 limit for every named query, ms.
    #[arg(long)]
    pub p95_ms: Option<f64>,
    /// Error-rate limit, percent.
    #[arg(long)]
    pub error_rate: Option<f64>,
    /// Replica lag limit, seconds.
    #[arg(long)]
    pub max_lag: Option<f64>,
    /// Tenants to generate.
    #[arg(long)]
    pub tenants: Option<usize>,
    /// Data scale factor (1.0: ~2,000 projects, 40,000 applicants, 80,000 applications).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Use the data already in the database (e.g. filled by `harness migrate`).
    #[arg(long)]
    pub skip_data: bool,
    /// The app folder whose workload.toml runs (default: the reference app).
    #[arg(long, env = "HARNESS_APP")]
    pub app: Option<PathBuf>,
    /// A legacy SQLite file to migrate and load (default: the folder's
    /// data.sql, or the reference app's generator).
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Database to load (default: the app's, from app.toml).
    #[arg(long)]
    pub database: Option<String>,
    /// Where run folders go (default: $HARNESS_REPORTS_DIR or ./reports).
    #[arg(long)]
    pub reports_dir: Option<PathBuf>,
}

impl LoadFlags {
    /// `[load]` from the file with these flags on top.
    pub fn resolve(&self, file: &HarnessConfig) -> anyhow::Result<LoadConfig> {
        let mut c: LoadConfig = file.section("load")?;
        if let Some(v) = self.mode {
            c.mode = v;
        }
        if let Some(v) = self.users {
            c.users = v;
        }
        if let Some(v) = self.ramp {
            c.ramp_secs = v;
        }
        if let Some(v) = self.duration {
            c.steady_secs = v;
        }
        if let Some(t) = &self.think {
            let (lo, hi) = t.split_once('-').unwrap_or((t, t));
            let p = |s: &str| {
                s.trim().parse::<f64>().map_err(|_| {
                    BadInput(format!(
                        "--think {t:?}: give seconds as MIN or MIN-MAX, e.g. 2-8"
                    ))
                })
            };
            c.think_min_secs = Some(p(lo)?);
            c.think_max_secs = Some(p(hi)?);
        }
        if let Some(v) = self.rate {
            c.rate = v;
        }
        if let Some(m) = &self.mix {
            c.mix = parse_mix(m)?;
        }
        if let Some(v) = self.pool {
            c.primary_pool = v;
            c.replica_pool = v;
        }
        if let Some(v) = self.p95_ms {
            c.thresholds.p95_ms = v;
        }
        if let Some(v) = self.error_rate {
            c.thresholds.error_rate_pct = v;
        }
        if let Some(v) = self.max_lag {
            c.thresholds.replica_lag_secs = v;
        }
        if let Some(v) = self.tenants {
            c.tenants = v;
        }
        if let Some(v) = self.scale {
            c.scale = v;
        }
        if let Some(v) = &self.database {
            c.database = Some(v.clone());
        }
        c.validate().map_err(BadInput)?;
        Ok(c)
    }
}

/// `browsing=60,applying=15` -> kind name -> weight (the kinds are
/// checked against the workload file, [`target`]).
pub fn parse_mix(s: &str) -> Result<std::collections::BTreeMap<String, usize>, BadInput> {
    let mut m = std::collections::BTreeMap::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| BadInput(format!("--mix {part:?}: write KIND=WEIGHT")))?;
        let w: usize = v
            .trim()
            .parse()
            .map_err(|_| BadInput(format!("--mix {part:?}: the weight is not a whole number")))?;
        m.insert(k.trim().to_string(), w);
    }
    Ok(m)
}

/// The app folder, its workload and its data source, checked (with the
/// mix) before any server starts: a bad folder or file is bad input.
/// The app's own goals (`[gates]`, `[pool]` and each query's `p95_ms` in
/// its workload.toml) are applied to `cfg` where neither a flag nor
/// `harness.toml` set them.
pub fn target(
    flags: &LoadFlags,
    cfg: &mut LoadConfig,
    file: &HarnessConfig,
) -> anyhow::Result<Target> {
    let t = Target::load(flags.app.as_deref(), flags.from.clone())
        .map_err(|e| BadInput(e.to_string()))?;
    t.workload
        .clone()
        .with_mix(&cfg.mix)
        .map_err(|e| BadInput(format!("--mix / [load.mix]: {e}")))?;
    apply_app_goals(cfg, flags, file, &t.workload)?;
    Ok(t)
}

/// Layering of the app's goals: the harness's defaults < the app's
/// workload.toml < `harness.toml` (and its profile) < flags. A p95 limit
/// given by a flag or the config file replaces the app's per-query limits
/// too: whoever runs the harness has the last word.
fn apply_app_goals(
    c: &mut LoadConfig,
    flags: &LoadFlags,
    file: &HarnessConfig,
    w: &scenarios::Workload,
) -> anyhow::Result<()> {
    let load = file.section::<toml::Table>("load")?;
    let th = load
        .get("thresholds")
        .and_then(|v| v.as_table())
        .cloned()
        .unwrap_or_default();
    let g = &w.goals;
    let p95_given = flags.p95_ms.is_some() || th.contains_key("p95_ms");
    if !p95_given {
        if let Some(v) = g.p95_ms {
            c.thresholds.p95_ms = v;
        }
        for q in &w.queries {
            if let Some(v) = q.p95_ms {
                c.thresholds.query_p95_ms.entry(q.name.clone()).or_insert(v);
            }
        }
    }
    if let Some(v) = g.error_rate_pct {
        if flags.error_rate.is_none() && !th.contains_key("error_rate_pct") {
            c.thresholds.error_rate_pct = v;
        }
    }
    if let Some(v) = g.replica_lag_secs {
        if flags.max_lag.is_none() && !th.contains_key("replica_lag_secs") {
            c.thresholds.replica_lag_secs = v;
        }
    }
    if flags.pool.is_none() {
        if let (Some(v), false) = (g.primary_pool, load.contains_key("primary_pool")) {
            c.primary_pool = v;
        }
        if let (Some(v), false) = (g.replica_pool, load.contains_key("replica_pool")) {
            c.replica_pool = v;
        }
    }
    c.validate().map_err(BadInput)?;
    Ok(())
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub cluster: super::ClusterArgs,
    #[command(flatten)]
    pub load: LoadFlags,
    /// Instead of the journeys: compare the transport's closed-loop point
    /// select with `pgbench -S -M prepared` on the same cluster and print the ratio.
    #[arg(long)]
    pub compare_pgbench: bool,
    /// --compare-pgbench: connections (pgbench clients = pool size = workers).
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// --compare-pgbench: pgbench scale (-s).
    #[arg(long, default_value_t = 10)]
    pub pgbench_scale: u32,
    #[command(flatten)]
    pub shard: load::shard::ShardFlags,
    #[command(flatten)]
    pub fault: load::fault::FaultFlags,
}

/// `--fault` and the ledger flags, checked (bad input, exit 4); they make
/// the open model the default unless `--mode` or `harness.toml` chose.
fn fault_options(
    args: &LoadArgs,
    file: &HarnessConfig,
    cfg: &mut LoadConfig,
    durability: Durability,
) -> anyhow::Result<load::fault::FaultOptions> {
    let cc = args.cluster.resolve(file)?;
    let external = cc.backend == BackendKind::External
        || (cc.backend == BackendKind::Auto && cc.primary_url.is_some());
    let mode_chosen =
        args.load.mode.is_some() || file.section::<toml::Table>("load")?.contains_key("mode");
    Ok(args
        .fault
        .resolve(cfg, mode_chosen, durability, external)
        .map_err(BadInput)?)
}

/// The cluster a load run starts: the file's and flags' choice, but
/// realistic durability unless someone asked for another.
async fn start_cluster(args: &super::ClusterArgs, file: &HarnessConfig) -> anyhow::Result<Cluster> {
    let mut cc = args.resolve(file)?;
    let file_says = file
        .section::<toml::Table>("cluster")?
        .contains_key("durability");
    if args.durability.is_none() && !file_says {
        cc.durability = Durability::Realistic;
    }
    eprintln!(
        "harness: starting the cluster ({} durability)",
        cc.durability.as_str()
    );
    Ok(Cluster::start(&cc).await?)
}

fn may_write_data(
    args: &super::ClusterArgs,
    file: &HarnessConfig,
    skip: bool,
) -> anyhow::Result<bool> {
    let cc = args.resolve(file)?;
    if skip {
        return Ok(false);
    }
    if cc.backend == BackendKind::External && !cc.disposable {
        eprintln!("harness: external target not marked --disposable: using its data as is (no rows generated)");
        return Ok(false);
    }
    Ok(true)
}

pub async fn load(args: LoadArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    if !args.compare_pgbench {
        // Checked before a server starts.
        let mut cfg = args.load.resolve(file)?;
        target(&args.load, &mut cfg, file)?;
        let faults = fault_options(&args, file, &mut cfg, Durability::Realistic)?;
        let pooled = args.cluster.resolve(file)?.pooler != crate::cluster::pooler::PoolerKind::None;
        if pooled && !faults.faults.is_empty() {
            return Err(BadInput(
                "--fault with --pooler: fault runs go straight to the servers (nothing repoints PgBouncer after a promotion yet); drop one of the two".into(),
            )
            .into());
        }
    }
    let mut cluster = start_cluster(&args.cluster, file).await?;
    let root = args
        .load
        .reports_dir
        .clone()
        .unwrap_or_else(report::default_root);
    if args.compare_pgbench {
        let secs = args.load.duration.unwrap_or(15) as u64;
        let code =
            compare_pgbench(&cluster, args.connections, secs, args.pgbench_scale, &root).await;
        cluster.shutdown().await.ok();
        return code;
    }
    let mut cfg = args.load.resolve(file)?;
    let target = target(&args.load, &mut cfg, file)?;
    let with_data = may_write_data(&args.cluster, file, args.load.skip_data)?;
    let shard = match args.shard.shard {
        Some(sh) => Some(
            load::shard::ShardPlan::new(sh, &cfg, &args.shard)
                .map_err(|e| BadInput(e.to_string()))?,
        ),
        None => None,
    };
    let faults = fault_options(&args, file, &mut cfg, cluster.info().durability)?;
    let code = if faults.active() {
        if shard.is_some() {
            cluster.shutdown().await.ok();
            return Err(BadInput(
                "--fault with --shard: a fault run has one generator (faults act on servers the harness started; shards share an external target)".into(),
            )
            .into());
        }
        run_load_faulted(&mut cluster, &cfg, &target, with_data, &root, &faults).await
    } else {
        run_load_with(&cluster, &cfg, &target, with_data, &root, shard.as_ref()).await
    };
    cluster.shutdown().await.ok();
    code
}

/// Prepare, run, report. Shared by the CLI and the tests.
pub async fn run_load(
    cluster: &Cluster,
    cfg: &LoadConfig,
    target: &Target,
    with_data: bool,
    root: &std::path::Path,
) -> anyhow::Result<i32> {
    run_load_with(cluster, cfg, target, with_data, root, None).await
}

/// [`run_load`], as one shard of a run when `shard` is given
/// ([`load::shard`]): the shard's session, start line and saved figures.
pub async fn run_load_with(
    cluster: &Cluster,
    cfg: &LoadConfig,
    target: &Target,
    with_data: bool,
    root: &std::path::Path,
    shard: Option<&load::shard::ShardPlan>,
) -> anyhow::Result<i32> {
    let (session, run, dir) = start_run(cluster, cfg, target, with_data, root, shard, &[]).await?;
    let _start_line = match shard {
        Some(s) => Some(s.start_line(cluster).await.map_err(shard_error)?),
        None => None,
    };
    let cfg = shard.map_or(cfg, |s| &s.load);
    let mut results = load::run(&session, cfg, Some(&dir)).await?;
    if let Some(s) = shard {
        s.save(&dir, &session, &results)?;
    }
    if let Some(p) = cluster.pooler() {
        let note = p.served_note(&session.database).await;
        eprintln!("harness: {note}");
        results.notes.push(note);
    }
    if !cfg.skip_rls_price {
        eprintln!("harness: measuring what row-level security costs each named query");
        results.rls_price = load::price::measure(&session, &results).await;
    }
    if !target.workload.claims.is_empty() && shard.is_none_or(|s| s.measures_claims()) {
        eprintln!("harness: measuring the app's speed claims");
        results.claims = load::claims::measure(&session, &target.workload.claims).await;
        results
            .gates
            .extend(results.claims.iter().filter_map(|c| c.as_gate()));
    }
    finish_run(results, run, &dir, root, shard)
}

/// [`run_load`] with faults and/or the write ledger ([`load::fault`]): the
/// cluster is lent to the fault driver for the run.
pub async fn run_load_faulted(
    cluster: &mut Cluster,
    cfg: &LoadConfig,
    target: &Target,
    with_data: bool,
    root: &std::path::Path,
    faults: &load::fault::FaultOptions,
) -> anyhow::Result<i32> {
    let (session, run, dir) =
        start_run(cluster, cfg, target, with_data, root, None, &faults.faults).await?;
    let mut results = load::fault::run(cluster, &session, cfg, Some(&dir), faults).await?;
    if !faults.faults.is_empty() {
        results.notes.push(
            "fault run: the price of row-level security and the app's speed claims are measured by runs without faults".into(),
        );
    }
    finish_run(results, run, &dir, root, None)
}

/// Open the session and the run folder.
async fn start_run(
    cluster: &Cluster,
    cfg: &LoadConfig,
    target: &Target,
    with_data: bool,
    root: &std::path::Path,
    shard: Option<&load::shard::ShardPlan>,
    faults: &[load::fault::FaultSpec],
) -> anyhow::Result<(load::Session, Run, std::path::PathBuf)> {
    eprintln!(
        "harness: preparing database {} for app {} (schema, data, workload, roles, pools)",
        target.database(cfg),
        target.app.toml.name
    );
    let session = match shard {
        Some(s) => s
            .open(cluster, target, with_data)
            .await
            .map_err(shard_error)?,
        None => load::Session::open(cluster, cfg, target, with_data).await?,
    };
    // The reference app's titles stay as they were, so runs compare.
    let mut app = if session.app == "portal" {
        String::new()
    } else {
        format!(", app {}", session.app)
    };
    if !faults.is_empty() {
        let specs: Vec<&str> = faults.iter().map(|f| f.spec.as_str()).collect();
        app.push_str(&format!(", faults {}", specs.join(" ")));
    }
    let title = match cfg.mode {
        Mode::Closed => format!(
            "load: {} users, {} s ramp, {} s steady, closed model{app}",
            cfg.users, cfg.ramp_secs, cfg.steady_secs
        ),
        Mode::Open => format!(
            "load: {} steps/s, {} s steady, open model{app}",
            cfg.rate, cfg.steady_secs
        ),
    } + &shard.map(|s| s.title()).unwrap_or_default();
    let mut run = Run::new(RunKind::Load, title);
    run.environment.with_cluster(cluster.info());
    run.environment.data(DataSpec {
        seed: cfg.seed,
        scale: format!("tenants={} scale={}", cfg.tenants, cfg.scale),
        ..Default::default()
    });
    let dir = report::create_run_dir(root, &mut run).context("creating the run folder")?;
    eprintln!(
        "harness: {} tenants in the catalog; running ({} s ramp + {} s steady); run folder {}",
        session.catalog_tenants,
        cfg.ramp_secs,
        cfg.steady_secs,
        dir.display()
    );
    Ok((session, run, dir))
}

/// Print, fill the report, write `results.json` and the run folder.
fn finish_run(
    results: load::LoadResults,
    mut run: Run,
    dir: &std::path::Path,
    root: &std::path::Path,
    shard: Option<&load::shard::ShardPlan>,
) -> anyhow::Result<i32> {
    results.print();
    results.fill(&mut run);
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )
    .with_context(|| format!("writing {}", dir.join("results.json").display()))?;
    run.attach(report::Attachment::new(
        "every figure of the run (JSON)",
        "results.json",
    ));
    run.finish();
    let dir = report::write_run(&run, root)?;
    eprintln!("harness: report in {}", dir.join("index.html").display());
    if let Some(s) = shard {
        // The run is judged by the merge; a shard's own gates are its slice's.
        eprintln!(
            "harness: shard {} saved; judge the run with `harness report merge` over every shard's folder",
            s.shard
        );
        return Ok(exit_codes::OK);
    }
    Ok(results.exit_code())
}

/// A shard's error with the exit code of its kind: a catalog too small
/// to deal out is bad input, shards that never met a setup failure.
fn shard_error(e: load::shard::ShardError) -> anyhow::Error {
    use load::shard::ShardError;
    match e {
        ShardError::Load(l) => l.into(),
        e @ (ShardError::Split { .. } | ShardError::FewTenants { .. }) => {
            BadInput(e.to_string()).into()
        }
        e @ (ShardError::Lock { .. } | ShardError::StartLine { .. }) => {
            crate::cluster::ClusterError::Command {
                what: "the shards' start".into(),
                detail: e.to_string(),
            }
            .into()
        }
        e => e.into(),
    }
}

async fn compare_pgbench(
    cluster: &Cluster,
    conns: u32,
    secs: u64,
    scale: u32,
    root: &std::path::Path,
) -> anyhow::Result<i32> {
    eprintln!(
        "harness: pgbench -S vs the transport, {conns} connections, {secs} s each, scale {scale}"
    );
    let c = load::pgbench::compare(cluster, conns, secs, scale).await?;
    println!(
        "pgbench -S -M prepared -c {conns}: {:.0} tps (runs: {})",
        c.pgbench_tps,
        c.pgbench_tps_runs
            .iter()
            .map(|v| format!("{v:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "transport point select, {conns} workers: {:.0} queries/s (p50 {:.2} ms, p99 {:.2} ms)",
        c.transport_qps, c.transport_p50_ms, c.transport_p99_ms
    );
    println!(
        "transport in the app's tenant transaction: {:.0} queries/s (ratio {:.2})",
        c.tenant_tx_qps, c.tenant_tx_ratio
    );
    println!("ratio transport / pgbench: {:.2} (goal >= 0.70)", c.ratio);
    let mut run = Run::new(
        RunKind::Bench,
        format!("transport vs pgbench -S, {conns} connections"),
    );
    run.environment.with_cluster(cluster.info());
    run.gate(report::Gate::new(
        "transport / pgbench -S",
        c.ratio,
        report::Comparison::AtLeast,
        0.7,
        "ratio",
    ));
    run.figure(report::Figure::new("pgbench -S tps", c.pgbench_tps, "1/s").higher_is_better());
    run.figure(
        report::Figure::new("transport point selects", c.transport_qps, "1/s")
            .higher_is_better()
            .key(),
    );
    run.figure(
        report::Figure::new("transport in tenant transaction", c.tenant_tx_qps, "1/s")
            .higher_is_better(),
    );
    run.finish();
    let dir = report::write_run(&run, root)?;
    std::fs::write(dir.join("pgbench.json"), serde_json::to_string_pretty(&c)?)?;
    Ok(if c.ratio >= 0.7 {
        exit_codes::OK
    } else {
        exit_codes::GATE_FAILED
    })
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    #[command(flatten)]
    pub cluster: super::ClusterArgs,
    #[command(flatten)]
    pub load: LoadFlags,
    /// User counts to step through, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000,2500,5000,10000,15000,20000,30000"
    )]
    pub steps: Vec<usize>,
}

pub async fn capacity(args: CapacityArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    let mut cfg = args.load.resolve(file)?;
    // Steps are shorter than a release run unless the flags or file say otherwise.
    if args.load.duration.is_none()
        && !file
            .section::<toml::Table>("load")?
            .contains_key("steady_secs")
    {
        cfg.steady_secs = 30;
    }
    if args.load.ramp.is_none()
        && !file
            .section::<toml::Table>("load")?
            .contains_key("ramp_secs")
    {
        cfg.ramp_secs = 15;
    }
    if args.steps.is_empty() || args.steps.contains(&0) {
        return Err(
            BadInput("--steps: give user counts above 0, e.g. 1000,5000,10000".into()).into(),
        );
    }
    let target = target(&args.load, &mut cfg, file)?;
    let cluster = start_cluster(&args.cluster, file).await?;
    let root = args
        .load
        .reports_dir
        .clone()
        .unwrap_or_else(report::default_root);
    let with_data = may_write_data(&args.cluster, file, args.load.skip_data)?;
    let result = async {
        let session = load::Session::open(&cluster, &cfg, &target, with_data).await?;
        eprintln!(
            "harness: capacity steps {:?}, {} s ramp + {} s steady each",
            args.steps, cfg.ramp_secs, cfg.steady_secs
        );
        let r = capacity::run(&session, &cfg, &args.steps, |s| {
            eprintln!(
                "  step {:>6} users: p95 {:.1} ms, p99 {:.1} ms, {:.0} q/s, {}",
                s.users,
                s.p95_ms,
                s.p99_ms,
                s.throughput_qps,
                if s.passed {
                    "pass".to_string()
                } else {
                    format!("FAIL ({})", s.limit.clone().unwrap_or_default())
                }
            )
        })
        .await?;
        r.print();
        let mut run = Run::new(
            RunKind::Capacity,
            format!("capacity: steps {:?}", args.steps),
        );
        run.environment.with_cluster(cluster.info());
        r.fill(&mut run);
        run.finish();
        let dir = report::write_run(&run, &root)?;
        std::fs::write(dir.join("capacity.json"), serde_json::to_string_pretty(&r)?)?;
        eprintln!("harness: report in {}", dir.join("index.html").display());
        anyhow::Ok(if r.knee_users.is_some() {
            exit_codes::OK
        } else {
            exit_codes::GATE_FAILED
        })
    }
    .await;
    cluster.shutdown().await.ok();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_bad_mix_is_refused() {
        let file = HarnessConfig::from_toml("[load]\nusers = 50\nsteady_secs = 10\n").unwrap();
        let flags = LoadFlags {
            users: Some(7),
            think: Some("1-2".into()),
            mix: Some("browsing=3,admin=1".into()),
            ..Default::default()
        };
        let c = flags.resolve(&file).unwrap();
        assert_eq!(
            (c.users, c.steady_secs, c.think_min_secs, c.think_max_secs),
            (7, 10, Some(1.0), Some(2.0))
        );
        assert_eq!(c.mix.get("browsing"), Some(&3));
        assert_eq!(c.mix.get("admin"), Some(&1));
        assert!(parse_mix("browsing=x").is_err());
        // A kind the workload does not have is refused against the file.
        let bad = LoadFlags {
            mix: Some("surfing=1".into()),
            ..Default::default()
        };
        let mut cfg = bad.resolve(&file).unwrap();
        let e = target(&bad, &mut cfg, &file).unwrap_err().to_string();
        assert!(e.contains("surfing") && e.contains("browsing"), "{e}");
    }

    #[test]
    fn the_apps_goals_sit_between_the_defaults_and_the_config_file() {
        let text = r#"
tenants = "select 1"
think = [1.0, 2.0]
[gates]
p95_ms = 50
error_rate_pct = 0.5
[pool]
primary = 50
[[query]]
name = "q"
route = "read"
sql = "select 1"
params = []
p95_ms = 5
[[user]]
name = "u"
weight = 1
[[user.step]]
name = "s"
weight = 1
calls = ["q"]
"#;
        let w = scenarios::Workload::parse(text, std::path::Path::new("w.toml")).unwrap();
        let goals = |file: &str, flags: LoadFlags| {
            let file = HarnessConfig::from_toml(file).unwrap();
            let mut c = flags.resolve(&file).unwrap();
            apply_app_goals(&mut c, &flags, &file, &w).unwrap();
            c
        };
        // Nothing said: the app's goals.
        let c = goals("", LoadFlags::default());
        assert_eq!(c.thresholds.p95_ms, 50.0);
        assert_eq!(c.thresholds.p95_of("q"), 5.0);
        assert_eq!(c.thresholds.p95_of("other"), 50.0);
        assert_eq!(c.thresholds.error_rate_pct, 0.5);
        assert_eq!(c.primary_pool, 50);
        assert_eq!(c.replica_pool, LoadConfig::default().replica_pool);
        // The config file wins over the app, a flag over both; a p95 given
        // there replaces the per-query limits too.
        let c = goals(
            "[load]\nprimary_pool = 30\n[load.thresholds]\np95_ms = 200\n",
            LoadFlags::default(),
        );
        assert_eq!(
            (c.thresholds.p95_ms, c.thresholds.p95_of("q")),
            (200.0, 200.0)
        );
        assert_eq!((c.primary_pool, c.thresholds.error_rate_pct), (30, 0.5));
        let c = goals(
            "",
            LoadFlags {
                p95_ms: Some(80.0),
                pool: Some(7),
                error_rate: Some(1.0),
                ..Default::default()
            },
        );
        assert_eq!(
            (c.thresholds.p95_ms, c.thresholds.p95_of("q")),
            (80.0, 80.0)
        );
        assert_eq!((c.primary_pool, c.replica_pool), (7, 7));
        assert_eq!(c.thresholds.error_rate_pct, 1.0);
    }

    /// The documented example config parses, with both profiles, into
    /// settings that validate: the file users copy cannot rot.
    #[test]
    fn the_example_config_and_its_profiles_are_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../harness.toml.example");
        for profile in [None, Some("ci"), Some("capacity")] {
            let file = HarnessConfig::load(Some(&path), profile).unwrap();
            let c = LoadFlags::default().resolve(&file).unwrap();
            let _: crate::cluster::ClusterConfig = file.section("cluster").unwrap();
            match profile {
                Some("ci") => assert_eq!(c.users, 1000),
                _ => assert_eq!(
                    c,
                    LoadConfig {
                        ramp_secs: c.ramp_secs,
                        steady_secs: c.steady_secs,
                        ..LoadConfig::default()
                    }
                ),
            }
        }
    }
}
