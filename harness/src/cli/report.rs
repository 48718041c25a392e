//! `harness report`: rebuild the runs index, or compare a run with one or
//! more baselines (the regression rule is in [`crate::report::compare`]).
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
    }
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
