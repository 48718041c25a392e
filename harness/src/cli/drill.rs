//! `harness drill restore`: the command-line edge of [`crate::drill`].
//!
//! The cluster is always one the harness starts, on the native backend: the
//! drill sets the primary's archiving before it starts and restores next to
//! it with the same server binaries. `auto` means native here; docker and
//! external targets are refused with what to give instead.
//!
//! The load beside the drill is the app's own workload (`--app`, the
//! reference app by default) with the load flags, but the drill's own
//! defaults where no flag says otherwise (`[load]` of `harness.toml` is
//! written for release loads of 10,000 users): the open model at 50 steps/s,
//! a 2 s ramp, 20 s steady. Durability is realistic unless asked, as for
//! `harness load`. Exit codes: 0 every table equal at T, 11 a table differs
//! (named), 15 nothing was written after T (the drill proved no point in
//! time), 3 a tool or server failed.

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::cluster::archive::WalArchive;
use crate::cluster::{BackendKind, Cluster, Durability};
use crate::config::HarnessConfig;
use crate::drill::{self, DrillPlan, DrillResults, Fault, TargetKind};
use crate::exit_codes;
use crate::load::{self, Mode};
use crate::report::{self, Attachment, Check, Comparison, DataSpec, Figure, Gate, Run, RunKind};

use super::load::{target, LoadFlags};
use super::BadInput;

#[derive(Debug, Args)]
pub struct DrillArgs {
    #[command(subcommand)]
    pub command: DrillCommand,
}

#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Base backup + WAL archive under the app's load, restored to a point in time T; every table's digest compared with the primary's at T.
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub cluster: super::ClusterArgs,
    #[command(flatten)]
    pub load: LoadFlags,
    /// How recovery is told where T is: the restore point written at T, or the WAL position recorded with it.
    #[arg(long, value_enum, default_value = "restore-point")]
    pub target: TargetKind,
    /// Seconds from the end of the base backup to T.
    #[arg(long, default_value_t = 2.0)]
    pub at: f64,
    /// Seconds the restored server may take to replay to T and promote.
    #[arg(long, default_value_t = 600)]
    pub restore_timeout: u64,
    /// Tests only: make the drill fail (restore past T, or change a restored row).
    #[arg(long, value_enum, hide = true)]
    pub fault_for_test: Option<Fault>,
}

pub async fn run(args: DrillArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    match args.command {
        DrillCommand::Restore(a) => restore(a, file).await,
    }
}

async fn restore(args: RestoreArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    if !(args.at.is_finite() && args.at >= 0.0) {
        return Err(BadInput(format!("--at {}: give seconds, 0 or more", args.at)).into());
    }
    let mut cfg = args.load.resolve(file)?;
    if args.load.mode.is_none() {
        cfg.mode = Mode::Open;
    }
    if args.load.rate.is_none() {
        cfg.rate = 50.0;
    }
    if args.load.ramp.is_none() {
        cfg.ramp_secs = 2;
    }
    if args.load.duration.is_none() {
        cfg.steady_secs = 20;
    }
    if args.load.users.is_none() {
        cfg.users = 50;
    }
    cfg.skip_rls_price = true;
    cfg.validate().map_err(BadInput)?;
    // Checked before a server starts.
    let target = target(&args.load, &mut cfg, file)?;

    let mut cc = args.cluster.resolve(file)?;
    match cc.backend {
        BackendKind::Native => {}
        BackendKind::Auto if cc.primary_url.is_none() => cc.backend = BackendKind::Native,
        other => {
            return Err(BadInput(format!(
                "the recovery drill runs on the native backend only (asked: {}): it sets the primary's WAL archiving before the server starts and restores beside it with the same server binaries; give --backend native (PostgreSQL server binaries: `apt-get install postgresql-15`, or --pg-bindir)",
                other.as_str()
            ))
            .into())
        }
    }
    let file_says = file
        .section::<toml::Table>("cluster")?
        .contains_key("durability");
    if args.cluster.durability.is_none() && !file_says {
        cc.durability = Durability::Realistic;
    }
    // Made now so the report's duration covers the whole drill.
    let mut run = Run::new(
        RunKind::Drill,
        format!(
            "recovery drill: restore to T under load, app {}",
            target.app.toml.name
        ),
    );
    let mut archive = WalArchive::create(&cc)?;
    cc.settings.extend(archive.settings());
    eprintln!(
        "harness: drill: starting a native cluster archiving WAL into {} ({} durability)",
        archive.wal_dir().display(),
        cc.durability.as_str()
    );
    let cluster = Cluster::start(&cc).await?;
    let root = args
        .load
        .reports_dir
        .clone()
        .unwrap_or_else(report::default_root);
    let plan = DrillPlan {
        target: args.target,
        at: Duration::from_secs_f64(args.at),
        restore_timeout: Duration::from_secs(args.restore_timeout),
        fault: args.fault_for_test,
    };
    let result = async {
        eprintln!(
            "harness: drill: preparing database {} for app {}",
            target.database(&cfg),
            target.app.toml.name
        );
        let with_data = !args.load.skip_data;
        let session = load::Session::open(&cluster, &cfg, &target, with_data).await?;
        eprintln!(
            "harness: drill: the app's workload runs ({} s ramp + {} s steady, {} model)",
            cfg.ramp_secs,
            cfg.steady_secs,
            match cfg.mode {
                Mode::Open => "open",
                Mode::Closed => "closed",
            }
        );
        let r = drill::run(&session, &cfg, &cc, &mut archive, &plan)
            .await
            .map_err(drill::DrillError::into_anyhow)?;
        anyhow::Ok((r, session.rows_generated))
    }
    .await;
    let info = cluster.info().clone();
    cluster.shutdown().await.ok();
    drop(archive);
    let (r, rows) = result?;
    print(&r);
    run.environment.with_cluster(&info);
    run.environment.data(DataSpec {
        seed: cfg.seed,
        scale: format!("tenants={} scale={} rows={rows}", cfg.tenants, cfg.scale),
        ..Default::default()
    });
    fill(&r, &mut run);
    let dir = report::create_run_dir(&root, &mut run).context("creating the run folder")?;
    std::fs::write(dir.join("drill.json"), serde_json::to_string_pretty(&r)?)
        .with_context(|| format!("writing {}", dir.join("drill.json").display()))?;
    run.attach(Attachment::new(
        "every figure of the drill (JSON)",
        "drill.json",
    ));
    run.finish();
    let dir = report::write_run(&run, &root)?;
    eprintln!("harness: report in {}", dir.join("index.html").display());
    Ok(exit_code(&r))
}

/// 11 when a table differs; 15 when nothing was written after T (the
/// drill then cannot tell T from any later point); else 0.
pub fn exit_code(r: &DrillResults) -> i32 {
    if !r.mismatched.is_empty() {
        exit_codes::VERIFY_MISMATCH
    } else if r.written_after_point.is_empty() {
        exit_codes::INVALID_RUN
    } else {
        exit_codes::OK
    }
}

fn print(r: &DrillResults) {
    println!(
        "recovery drill, app {} (database {}), restored to {}",
        r.app, r.database, r.target
    );
    println!(
        "  base backup: {:.1} MiB in {:.2} s; T at {:.1} s into the load, which ran {:.1} s past it; writers blocked {:.0} ms",
        r.base_backup_bytes as f64 / 1048576.0,
        r.base_backup_secs,
        r.point_at_secs,
        r.load_after_point_secs,
        r.writers_blocked_ms
    );
    println!(
        "  time to restore: {:.2} s (unpack {:.2} s, replay of {:.1} MiB of WAL and promotion {:.2} s); {} archived segments",
        r.restore_secs,
        r.unpack_secs,
        r.wal_replayed_bytes as f64 / 1048576.0,
        r.replay_secs,
        r.archived_segments
    );
    println!(
        "  {} tables, {} rows at T; {} written after T; load: {} queries, {} failed",
        r.tables.len(),
        r.rows_compared(),
        r.written_after_point.len(),
        r.load.queries,
        r.load.failed
    );
    for t in &r.tables {
        if !t.equal {
            println!(
                "  MISMATCH {}: {} rows at T (digest {}), {} restored (digest {})",
                t.table, t.rows_at_point, t.digest_at_point, t.rows_restored, t.digest_restored
            );
        }
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
    if r.mismatched.is_empty() && !r.written_after_point.is_empty() {
        println!("  every table's digest equals the primary's at T");
    } else if r.written_after_point.is_empty() {
        println!("  INVALID: no table changed after T, so the restore proves no point in time; lengthen --duration or raise --rate");
    }
}

/// The run report: the restore time (key figure), the digest gate, one
/// check per table, and the table of digests.
pub fn fill(r: &DrillResults, run: &mut Run) {
    run.gate(
        Gate::new(
            "tables whose restored digest differs from T",
            r.mismatched.len() as f64,
            Comparison::Equal,
            0.0,
            "tables",
        )
        .with_detail(if r.mismatched.is_empty() {
            format!("{} tables, {} rows", r.tables.len(), r.rows_compared())
        } else {
            r.mismatched.join(", ")
        }),
    );
    run.check(
        Check::new(
            "writes followed T",
            !r.written_after_point.is_empty(),
            format!(
                "tables written after T: {}",
                if r.written_after_point.is_empty() {
                    "none".to_string()
                } else {
                    r.written_after_point.join(", ")
                }
            ),
        )
        .in_group("drill"),
    );
    for t in &r.tables {
        run.check(
            Check::new(
                format!("{} restored as at T", t.table),
                t.equal,
                format!(
                    "rows {} at T, {} restored; digest {} at T, {} restored",
                    t.rows_at_point, t.rows_restored, t.digest_at_point, t.digest_restored
                ),
            )
            .in_group("drill"),
        );
    }
    run.figure(
        Figure::new("time to restore", r.restore_secs, "s")
            .lower_is_better()
            .key(),
    );
    run.figure(Figure::new("base backup unpack", r.unpack_secs, "s").lower_is_better());
    run.figure(Figure::new("WAL replay to ready", r.replay_secs, "s").lower_is_better());
    run.figure(Figure::new("base backup", r.base_backup_secs, "s").lower_is_better());
    run.figure(Figure::new(
        "base backup size",
        r.base_backup_bytes as f64 / 1048576.0,
        "MiB",
    ));
    run.figure(Figure::new(
        "WAL replayed",
        r.wal_replayed_bytes as f64 / 1048576.0,
        "MiB",
    ));
    run.figure(Figure::new(
        "archived WAL segments",
        r.archived_segments as f64,
        "segments",
    ));
    run.figure(Figure::new("writers blocked at T", r.writers_blocked_ms, "ms").lower_is_better());
    run.figure(Figure::new("lock tries at T", r.lock_tries as f64, "tries"));
    run.figure(Figure::new(
        "rows compared",
        r.rows_compared() as f64,
        "rows",
    ));
    run.figure(Figure::new("load after T", r.load_after_point_secs, "s"));
    run.figure(Figure::new(
        "load queries",
        r.load.queries as f64,
        "queries",
    ));
    run.figure(Figure::new(
        "load failures",
        r.load.failed as f64,
        "queries",
    ));
    let mut t = report::Table::new(
        "Per-table digests: primary at T, restored copy, primary after the load",
        [
            "table",
            "rows at T",
            "rows restored",
            "digest at T",
            "digest restored",
            "equal",
            "written after T",
        ],
    )
    .in_section("drill");
    for x in &r.tables {
        t.row([
            x.table.clone(),
            x.rows_at_point.to_string(),
            x.rows_restored.to_string(),
            x.digest_at_point.clone(),
            x.digest_restored.clone(),
            if x.equal { "yes" } else { "NO" }.to_string(),
            if r.written_after_point.contains(&x.table) {
                "yes"
            } else {
                "no"
            }
            .to_string(),
        ]);
    }
    run.table(t);
    run.note(format!(
        "recovery target: {}; T's WAL insert position {}; the base backup's WAL {}..{}",
        r.target, r.point_lsn, r.backup_start_lsn, r.backup_end_lsn
    ));
    for n in &r.notes {
        run.note(n.clone());
    }
    if r.written_after_point.is_empty() {
        run.invalidate("no table changed after T: the restore proves no point in time");
    }
}
