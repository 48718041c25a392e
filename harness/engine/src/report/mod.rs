//! Reports: one self-contained folder per harness run, an index over all
//! runs, and baseline comparison.
//!
//! # How a stage reports (the whole API)
//!
//! ```no_run
//! use harness::report::{self, Run, RunKind, Gate, Comparison, Check, Figure, Series, Table, Attachment, DataSpec, charts};
//! # fn demo(info: &harness::cluster::ClusterInfo) -> Result<(), report::ReportError> {
//! let mut run = Run::new(RunKind::Load, "load: 2000 users, 10 min");
//! run.environment.with_cluster(info); // backend, PostgreSQL version, durability, settings
//! run.environment.data(DataSpec { seed: 42, scale: "small".into(), ..Default::default() });
//! // Optional: create the folder early to drop goose's report or criterion's folder in it.
//! let root = report::default_root();
//! let dir = report::create_run_dir(&root, &mut run)?;
//! std::fs::write(dir.join("goose.md"), "...").ok();
//! run.attach(Attachment::new("goose's own report", "goose.md"));
//! // Results.
//! run.gate(Gate::new("p95 latency", 84.0, Comparison::AtMost, 100.0, "ms"));
//! run.check(Check::new("tenant A cannot read tenant B", true, "0 rows").in_group("rls"));
//! run.figure(Figure::new("p95", 84.0, "ms").lower_is_better().key());
//! run.series(Series::new(charts::LATENCY, "p95", "ms").with_points([(0.0, 80.0), (10.0, 84.0)]));
//! let mut t = Table::new("Per-query percentiles", ["query", "p50 ms", "p95 ms"]).in_section("load");
//! t.row(["list_projects", "3.1", "9.8"]);
//! run.table(t);
//! run.finish(); // finish time + verdict (pass / fail / invalid)
//! let dir = report::write_run(&run, &root)?; // summary.json, index.html, junit.xml, summary.md + reports/index.html
//! # Ok(()) }
//! ```
//!
//! - [`model`]: the data ([`Run`] and its parts). Generic on purpose
//!   (gates, checks, figures, series, distributions, tables, attachments):
//!   every renderer and the comparison then serve every stage.
//! - [`write_run`] / [`create_run_dir`]: the run folder
//!   `reports/<UTC yyyymmddTHHMMSSZ>-<kind>[-n]/` with `summary.json` (the
//!   model, schema `harness/schema/summary.v1.schema.json`), `index.html`
//!   (self-contained: inline CSS and SVG, no URL at all), `junit.xml` (one
//!   testcase per gate and per check) and `summary.md` (for CI job
//!   summaries); then `reports/index.html` is rebuilt.
//! - [`html`], [`junit`], [`markdown`]: the renderers; [`svg`] draws charts
//!   with no library, because goose's CDN-loaded charts vanish offline.
//! - [`index`]: `reports/index.html` over every run with the trend of each
//!   key figure.
//! - [`compare`]: a run against one or more baselines; the regression rule
//!   is documented there and in `reports/README.md`.
//!
//! Chart placement: series name a chart (see [`model::charts`]); the HTML
//! draws the known charts first (latency, users, throughput, errors, replica
//! lag, database metrics, capacity), then any other chart name. Tables go in
//! their `section` ("load", "migration", "verify", "rls", "audit", "bench").
//!
//! The reports root is `$HARNESS_REPORTS_DIR` or `./reports`
//! ([`default_root`]).

pub mod compare;
pub mod html;
pub mod index;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod schema;
pub mod svg;

use std::path::{Path, PathBuf};

pub use compare::{compare, Comparison as RunComparison, NoiseRule};
pub use model::*;

/// Why a report could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}; check that the reports folder is writable")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}; give a run folder that holds a summary.json")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a harness summary: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} has summary schema version {found}; this harness reads version {expected}")]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error(transparent)]
    Compare(#[from] compare::CompareError),
}

/// `$HARNESS_REPORTS_DIR`, else `./reports`.
pub fn default_root() -> PathBuf {
    std::env::var_os("HARNESS_REPORTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("reports"))
}

/// Create the run's folder now (for attachments written before the report)
/// and record its name in `run.folder`. A folder that already exists for
/// this run is reused; a name taken by another run gets a `-2`, `-3` suffix.
pub fn create_run_dir(reports_root: &Path, run: &mut Run) -> Result<PathBuf, ReportError> {
    if let Some(name) = &run.folder {
        let dir = reports_root.join(name);
        if dir.is_dir() {
            return Ok(dir);
        }
    }
    mkdirs(reports_root)?;
    let base = format!(
        "{}-{}",
        run.started.format("%Y%m%dT%H%M%SZ"),
        run.kind.as_str()
    );
    for n in 1.. {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let dir = reports_root.join(&name);
        // create_dir (not _all) fails on an existing folder: that is the
        // atomic claim that keeps two concurrent runs apart.
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                run.folder = Some(name);
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(ReportError::Write { path: dir, source }),
        }
    }
    unreachable!("the loop returns or errs")
}

/// Write the run's folder (summary.json, index.html, junit.xml, summary.md)
/// under `reports_root`, rebuild `reports_root/index.html`, and return the
/// folder. The verdict is re-derived from the gates and checks first.
pub fn write_run(run: &Run, reports_root: &Path) -> Result<PathBuf, ReportError> {
    let mut run = run.clone();
    run.verdict = run.derived_verdict();
    run.schema_version = SCHEMA_VERSION;
    let dir = create_run_dir(reports_root, &mut run)?;
    write_into(&run, &dir)?;
    index::refresh(reports_root)?;
    Ok(dir)
}

/// Render every file of a run into `dir` (which exists).
pub fn write_into(run: &Run, dir: &Path) -> Result<(), ReportError> {
    let json = serde_json::to_string_pretty(run).expect("the model always serializes");
    write_file(&dir.join("summary.json"), &json)?;
    write_file(&dir.join("index.html"), &html::render(run))?;
    write_file(&dir.join("junit.xml"), &junit::render(run))?;
    write_file(&dir.join("summary.md"), &markdown::render(run))?;
    Ok(())
}

/// Read a run folder's summary.json (or the file itself).
pub fn read_run(path: &Path) -> Result<Run, ReportError> {
    let file = if path.is_dir() {
        path.join("summary.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|source| ReportError::Read {
        path: file.clone(),
        source,
    })?;
    let version: Option<u32> = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("schema_version")?.as_u64())
        .map(|v| v as u32);
    if let Some(found) = version.filter(|v| *v != SCHEMA_VERSION) {
        return Err(ReportError::Version {
            path: file,
            found,
            expected: SCHEMA_VERSION,
        });
    }
    let mut run: Run = serde_json::from_str(&text).map_err(|source| ReportError::Parse {
        path: file.clone(),
        source,
    })?;
    if run.folder.is_none() {
        run.folder = file
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned());
    }
    Ok(run)
}

pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), ReportError> {
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn mkdirs(path: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(path).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Escape text for HTML and XML bodies and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A number for humans: about four significant digits, trailing zeros
/// dropped, no exponent for ordinary magnitudes.
pub(crate) fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    let s = if a == 0.0 {
        return "0".into();
    } else if a >= 1e6 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.001 {
        format!("{v:.4}")
    } else {
        return format!("{v:.3e}");
    };
    trim_zeros(&s)
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests;
