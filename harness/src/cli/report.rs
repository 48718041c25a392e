//! `harness report`: rebuild the runs index, compare a run with one or
//! more baselines (the regression rule is in [`crate::report::compare`]),
//! or merge the shards of a load run into one run ([`crate::load::merge`]).
//!
//! `compare` records its verdict in the compared run's own folder (a
//! "Baseline comparison" table and one `baseline` check, so the run's HTML,
//! JUnit and Markdown all show it) unless `--no-record`, and exits
//! [`exit_codes::REGRESSION`] on a regression. A comparison across
//! different environments or data is refused as bad input.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Deserialize;

use super::BadInput;
use crate::config::HarnessConfig;
use crate::exit_codes;
use crate::report::{self, compare::CompareError, Check, NoiseRule};

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Rebuild <reports>/index.html from every run folder.
    Index {
        /// Reports root (default: $HARNESS_REPORTS_DIR or ./reports).
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Compare a run with baseline runs; exit 14 when a figure regressed
    /// beyond run-to-run noise.
    Compare(CompareArgs),
    /// Merge the shards of one load run (`harness load --shard I/N`) into
    /// one run judged on the merged histograms; exit 10 when a gate fails,
    /// 15 when a shard was saturated.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' run folders, or folders above them (searched three
    /// levels down): every shard of the run, each once.
    #[arg(required = true, value_name = "RUN")]
    pub runs: Vec<PathBuf>,
    /// The merged run's folder (default: a new run folder under the
    /// reports root, $HARNESS_REPORTS_DIR or ./reports).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Baseline run folder (or its summary.json); repeat it to measure
    /// run-to-run noise from several runs. Default: `baseline` in [report].
    #[arg(long)]
    pub baseline: Vec<PathBuf>,
    /// The run folder to judge.
    pub run: PathBuf,
    /// Relative band within which a change is noise (default 0.10).
    #[arg(long)]
    pub band: Option<f64>,
    /// Standard deviations of noise tolerated (default 3).
    #[arg(long)]
    pub k: Option<f64>,
    /// Absolute floor in each figure's unit (default 0).
    #[arg(long)]
    pub floor: Option<f64>,
    /// Do not write the comparison into the run's report.
    #[arg(long)]
    pub no_record: bool,
}

/// `[report]` in harness.toml: a pinned baseline and the rule's parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ReportSection {
    baseline: Vec<PathBuf>,
    band: Option<f64>,
    k: Option<f64>,
    floor: Option<f64>,
}

pub async fn report(args: ReportArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    match args.command {
        ReportCommand::Index { root } => {
            let root = root.unwrap_or_else(report::default_root);
            report::index::refresh(&root)?;
            println!("{}", root.join("index.html").display());
            Ok(exit_codes::OK)
        }
        ReportCommand::Compare(a) => compare(a, file),
        ReportCommand::Merge(a) => merge(a),
    }
}

fn merge(a: MergeArgs) -> anyhow::Result<i32> {
    use crate::load::merge;
    let bad = |e: merge::MergeError| BadInput(e.to_string());
    let shards = merge::find(&a.runs).map_err(bad)?;
    let m = merge::merge(shards).map_err(bad)?;
    let mut run = report::Run::new(report::RunKind::Load, m.title());
    // Where shard 0 ran stands for the run (the shards share the target).
    if let Ok(r) = report::read_run(&m.shards[0].dir) {
        run.environment = r.environment;
        run.started = r.started;
    }
    m.results.fill(&mut run);
    run.table(m.shard_table());
    let dir = match &a.out {
        Some(d) => {
            std::fs::create_dir_all(d)
                .with_context(|| format!("creating the merged run's folder {}", d.display()))?;
            d.clone()
        }
        None => report::create_run_dir(&report::default_root(), &mut run)?,
    };
    for (name, what, text) in [
        (
            "results.json",
            "every figure of the merged run (JSON)",
            serde_json::to_string_pretty(&m.results)?,
        ),
        (
            "histograms.json",
            "the merged histograms, as bucket counts (the shards' added up)",
            serde_json::to_string(&m.histograms)?,
        ),
    ] {
        std::fs::write(dir.join(name), text)
            .with_context(|| format!("writing {}", dir.join(name).display()))?;
        run.attach(report::Attachment::new(what, name));
    }
    run.finish();
    report::write_into(&run, &dir)?;
    if a.out.is_none() {
        report::index::refresh(&report::default_root())?;
    }
    m.results.print();
    for s in &m.shards {
        let reasons = s.file.health.invalid_reasons(&m.results.config.health);
        eprintln!(
            "  shard {}: {} queries, generator CPU {:.0} %, tick lag p99 {:.1} ms: {}",
            s.file.shard,
            s.results.overall.count,
            100.0 * s.file.health.generator_cpu_share,
            s.file.health.tick_lag_p99_ms,
            if reasons.is_empty() {
                "ok".to_string()
            } else {
                format!("SATURATED ({})", reasons.join("; "))
            }
        );
    }
    eprintln!(
        "harness: merged report in {}",
        dir.join("index.html").display()
    );
    Ok(m.results.exit_code())
}

fn compare(a: CompareArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    let section: ReportSection = file.section("report")?;
    let defaults = NoiseRule::default();
    let rule = NoiseRule {
        band: a.band.or(section.band).unwrap_or(defaults.band),
        k: a.k.or(section.k).unwrap_or(defaults.k),
        floor: a.floor.or(section.floor).unwrap_or(defaults.floor),
    };
    if !(rule.band >= 0.0 && rule.k >= 0.0 && rule.floor >= 0.0) {
        return Err(BadInput("--band, --k and --floor must be non-negative numbers".into()).into());
    }
    let baseline_paths = if a.baseline.is_empty() {
        section.baseline
    } else {
        a.baseline
    };
    let read = |p: &PathBuf| report::read_run(p).map_err(|e| BadInput(e.to_string()));
    let baselines = baseline_paths
        .iter()
        .map(read)
        .collect::<Result<Vec<_>, _>>()?;
    let mut run = read(&a.run)?;
    let cmp = match report::compare(&baselines, &run, rule) {
        Ok(c) => c,
        Err(e @ (CompareError::Incomparable { .. } | CompareError::NoBaseline)) => {
            return Err(BadInput(e.to_string()).into())
        }
    };
    print!("{}", cmp.text());
    if !a.no_record {
        // Replace any earlier comparison so re-running compare is idempotent.
        run.tables
            .retain(|t| t.section.as_deref() != Some("baseline"));
        run.checks
            .retain(|c| c.group.as_deref() != Some("baseline"));
        run.table(cmp.table());
        let n = cmp.regressions().count() + cmp.newly_failing.len();
        run.check(
            Check::new(
                format!("no regression against {}", cmp.baselines.join(", ")),
                n == 0,
                if n == 0 {
                    "every figure within noise".to_string()
                } else {
                    cmp.regressions()
                        .map(|d| d.label())
                        .chain(cmp.newly_failing.iter().cloned())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            )
            .in_group("baseline"),
        );
        run.verdict = run.derived_verdict();
        let dir = if a.run.is_dir() {
            a.run.clone()
        } else {
            a.run.parent().map(PathBuf::from).unwrap_or_default()
        };
        report::write_into(&run, &dir)
            .with_context(|| format!("recording the comparison in {}", dir.display()))?;
        if let Some(root) = dir.parent() {
            report::index::refresh(root)?;
        }
    }
    Ok(if cmp.has_regression() {
        exit_codes::REGRESSION
    } else {
        exit_codes::OK
    })
}
