//! The report model: what one harness run found, as plain serde data.
//!
//! Every stage (migrate, verify, audit-rls, load, capacity, bench, seed)
//! fills one [`Run`] and hands it to [`super::write_run`]. The model is
//! deliberately generic (gates, checks, series, tables, figures) rather than
//! one struct per stage: the renderers (HTML, JUnit, Markdown) and the
//! baseline comparison then work for every stage, and a new kind of result
//! needs no change here. `summary.json` is this struct serialized; its shape
//! is locked by `harness/schema/summary.v1.schema.json` and
//! [`SCHEMA_VERSION`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Version of the `summary.json` shape. Bump it (and add a new schema file)
/// whenever a field is removed or changes meaning; adding an optional field
/// keeps the version.
pub const SCHEMA_VERSION: u32 = 1;

/// Which harness command produced the run. Part of the folder name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunKind {
    Migrate,
    Verify,
    Export,
    AuditRls,
    ProveRls,
    Load,
    Capacity,
    Bench,
    Seed,
    Drill,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Migrate => "migrate",
            RunKind::Verify => "verify",
            RunKind::Export => "export",
            RunKind::AuditRls => "audit-rls",
            RunKind::ProveRls => "prove-rls",
            RunKind::Load => "load",
            RunKind::Capacity => "capacity",
            RunKind::Bench => "bench",
            RunKind::Seed => "seed",
            RunKind::Drill => "drill",
        }
    }
}

/// The outcome a release gate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every gate and check passed.
    Pass,
    /// At least one gate or check failed.
    Fail,
    /// The run cannot be judged (e.g. the load generator itself saturated):
    /// its figures say nothing about the database.
    Invalid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Invalid => "invalid",
        }
    }
}

/// One harness run. Build it with [`Run::new`], add results with the
/// builder methods, call [`Run::finish`], then [`super::write_run`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// [`SCHEMA_VERSION`] at write time.
    pub schema_version: u32,
    pub kind: RunKind,
    /// One line for humans, e.g. "load: 2000 users, 10 min, mixed journeys".
    pub title: String,
    /// The command line that produced the run, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    /// Derived from gates, checks and `invalid_reason` by [`Run::finish`]
    /// (and recomputed on write), so it can never disagree with them.
    pub verdict: Verdict,
    /// Why the run is invalid; `Some` makes the verdict [`Verdict::Invalid`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_reason: Option<String>,
    pub environment: Environment,
    #[serde(default)]
    pub gates: Vec<Gate>,
    #[serde(default)]
    pub checks: Vec<Check>,
    #[serde(default)]
    pub figures: Vec<Figure>,
    #[serde(default)]
    pub series: Vec<Series>,
    #[serde(default)]
    pub distributions: Vec<Distribution>,
    #[serde(default)]
    pub tables: Vec<Table>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Free text shown under the verdict (caveats, what was skipped and why).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The run folder's name under the reports root, once one exists
    /// ([`super::create_run_dir`] / [`super::write_run`] set it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

impl Run {
    /// A run of `kind` starting now, with the machine detected and an
    /// otherwise empty environment (fill it with
    /// [`Environment::with_cluster`] / [`Environment::data`]).
    pub fn new(kind: RunKind, title: impl Into<String>) -> Self {
        let now = Utc::now();
        Run {
            schema_version: SCHEMA_VERSION,
            kind,
            title: title.into(),
            command: Some(std::env::args().collect::<Vec<_>>().join(" ")),
            started: now,
            finished: now,
            verdict: Verdict::Pass,
            invalid_reason: None,
            environment: Environment::detect(),
            gates: Vec::new(),
            checks: Vec::new(),
            figures: Vec::new(),
            series: Vec::new(),
            distributions: Vec::new(),
            tables: Vec::new(),
            attachments: Vec::new(),
            notes: Vec::new(),
            folder: None,
        }
    }

    pub fn gate(&mut self, gate: Gate) -> &mut Self {
        self.gates.push(gate);
        self
    }

    pub fn check(&mut self, check: Check) -> &mut Self {
        self.checks.push(check);
        self
    }

    pub fn figure(&mut self, figure: Figure) -> &mut Self {
        self.figures.push(figure);
        self
    }

    pub fn series(&mut self, series: Series) -> &mut Self {
        self.series.push(series);
        self
    }

    pub fn distribution(&mut self, d: Distribution) -> &mut Self {
        self.distributions.push(d);
        self
    }

    pub fn table(&mut self, table: Table) -> &mut Self {
        self.tables.push(table);
        self
    }

    pub fn attach(&mut self, attachment: Attachment) -> &mut Self {
        self.attachments.push(attachment);
        self
    }

    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    /// Mark the run as not judgeable; the verdict becomes `invalid`.
    pub fn invalidate(&mut self, reason: impl Into<String>) -> &mut Self {
        self.invalid_reason = Some(reason.into());
        self.verdict = self.derived_verdict();
        self
    }

    /// Stamp the finish time and derive the verdict.
    pub fn finish(&mut self) -> &mut Self {
        self.finished = Utc::now();
        self.verdict = self.derived_verdict();
        self
    }

    /// invalid if a reason is set, else fail if any gate or check failed,
    /// else pass.
    pub fn derived_verdict(&self) -> Verdict {
        if self.invalid_reason.is_some() {
            Verdict::Invalid
        } else if self.gates.iter().any(|g| !g.passed) || self.checks.iter().any(|c| !c.passed) {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }

    pub fn duration_seconds(&self) -> f64 {
        (self.finished - self.started).num_milliseconds() as f64 / 1000.0
    }

    /// The figure with this name (and group, when given).
    pub fn find_figure(&self, name: &str, group: Option<&str>) -> Option<&Figure> {
        self.figures
            .iter()
            .find(|f| f.name == name && f.group.as_deref() == group)
    }
}

/// Where the run ran. Two runs are comparable only when the fields that
/// change the figures (backend, PostgreSQL version, durability, data seed and
/// scale) are equal; see [`super::compare`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Environment {
    /// native, docker or external ("" when the run used no cluster).
    #[serde(default)]
    pub backend: String,
    /// `server_version` of the primary, e.g. "15.14".
    #[serde(default)]
    pub postgres_version: String,
    /// fast, realistic or sync-apply.
    #[serde(default)]
    pub durability: String,
    /// Server settings that matter for the figures (name -> value).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSpec>,
    pub machine: Machine,
    /// The harness crate version.
    pub harness_version: String,
    /// `git rev-parse HEAD` of the checkout, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
}

impl Environment {
    /// The machine and harness version; no cluster, no data.
    pub fn detect() -> Self {
        Environment {
            machine: Machine::detect(),
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: git_commit(),
            ..Default::default()
        }
    }

    /// Fill backend, version, durability and settings from a running cluster.
    pub fn with_cluster(&mut self, info: &crate::cluster::ClusterInfo) -> &mut Self {
        self.backend = info.backend.as_str().to_string();
        self.postgres_version = info.server_version.clone();
        self.durability = info.durability.as_str().to_string();
        self.settings
            .extend(info.settings.iter().map(|(k, v)| (k.clone(), v.clone())));
        self
    }

    pub fn data(&mut self, data: DataSpec) -> &mut Self {
        self.data = Some(data);
        self
    }
}

/// The data a run worked on: the generator's seed and scale decide every row,
/// so two runs with equal seed and scale saw the same data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DataSpec {
    pub seed: u64,
    /// The scale's name or description, e.g. "small" or "tenants=50".
    pub scale: String,
    /// Row counts per table, when known.
    #[serde(default)]
    pub rows: BTreeMap<String, u64>,
}

/// The machine the harness ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Machine {
    pub cores: u32,
    pub memory_bytes: u64,
    /// PRETTY_NAME from /etc/os-release.
    pub os: String,
    /// The running kernel's release.
    pub kernel: String,
    #[serde(default)]
    pub hostname: String,
}

impl Machine {
    /// Read the machine from /proc and /etc (Linux); unknown fields stay empty.
    pub fn detect() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(0);
        let memory_bytes = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
            .map(|kb| kb * 1024)
            .unwrap_or(0);
        let os = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_string())
            })
            .unwrap_or_default();
        let kernel = read_trim("/proc/sys/kernel/osrelease");
        let hostname = read_trim("/proc/sys/kernel/hostname");
        Machine {
            cores,
            memory_bytes,
            os,
            kernel,
            hostname,
        }
    }
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// serde_json writes NaN and infinities as `null`; read them back as NaN
/// so a run with a failed measurement still loads (the schema allows null).
fn nullable_f64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// How a gate compares the observed value with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Comparison {
    /// observed <= threshold (e.g. p95 <= 100 ms).
    AtMost,
    /// observed < threshold.
    Below,
    /// observed >= threshold (e.g. users sustained >= 10000).
    AtLeast,
    /// observed > threshold.
    Above,
    /// observed == threshold (e.g. mismatched rows == 0).
    Equal,
}

impl Comparison {
    pub fn holds(self, observed: f64, threshold: f64) -> bool {
        match self {
            Comparison::AtMost => observed <= threshold,
            Comparison::Below => observed < threshold,
            Comparison::AtLeast => observed >= threshold,
            Comparison::Above => observed > threshold,
            Comparison::Equal => observed == threshold,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::AtMost => "<=",
            Comparison::Below => "<",
            Comparison::AtLeast => ">=",
            Comparison::Above => ">",
            Comparison::Equal => "==",
        }
    }
}

/// A numeric release gate: observed vs threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    pub name: String,
    #[serde(deserialize_with = "nullable_f64")]
    pub observed: f64,
    pub comparison: Comparison,
    #[serde(deserialize_with = "nullable_f64")]
    pub threshold: f64,
    pub unit: String,
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Gate {
    /// A gate whose `passed` is computed from the comparison (NaN fails).
    pub fn new(
        name: impl Into<String>,
        observed: f64,
        comparison: Comparison,
        threshold: f64,
        unit: impl Into<String>,
    ) -> Self {
        Gate {
            name: name.into(),
            observed,
            comparison,
            threshold,
            unit: unit.into(),
            passed: comparison.holds(observed, threshold),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// A yes/no finding (an isolation proof, a verification, an audit rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    #[serde(default)]
    pub detail: String,
    /// Groups checks in the HTML and becomes the JUnit classname, e.g.
    /// "rls", "verify", "audit".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Check {
    pub fn new(name: impl Into<String>, passed: bool, detail: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            passed,
            detail: detail.into(),
            group: None,
        }
    }

    pub fn in_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
}

/// Which direction of a figure is better: decides what a regression is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Latencies, error rates, lag: a rise is a regression.
    Lower,
    /// Throughput, capacity: a fall is a regression.
    Higher,
    /// Informational (counts, sizes): never a regression.
    #[default]
    Neither,
}

/// A named number: a key result of the run, compared with baselines and
/// trended in `reports/index.html`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    #[serde(deserialize_with = "nullable_f64")]
    pub value: f64,
    pub unit: String,
    #[serde(default)]
    pub better: Better,
    /// Run-to-run noise of this figure as one standard deviation in `unit`
    /// (e.g. criterion's std dev of the mean, or the spread over repeated
    /// runs). Widens the regression band; see [`super::compare`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<f64>,
    /// A sub-key, e.g. the query name for a per-query figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Drawn as a trend in `reports/index.html`.
    #[serde(default)]
    pub key: bool,
}

impl Figure {
    pub fn new(name: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        Figure {
            name: name.into(),
            value,
            unit: unit.into(),
            better: Better::Neither,
            noise: None,
            group: None,
            key: false,
        }
    }

    /// Lower is better (latency, errors, lag).
    pub fn lower_is_better(mut self) -> Self {
        self.better = Better::Lower;
        self
    }

    /// Higher is better (throughput, capacity, speed-up ratios).
    pub fn higher_is_better(mut self) -> Self {
        self.better = Better::Higher;
        self
    }

    pub fn with_noise(mut self, std_dev: f64) -> Self {
        self.noise = Some(std_dev);
        self
    }

    pub fn in_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Trend this figure across runs in `reports/index.html`.
    pub fn key(mut self) -> Self {
        self.key = true;
        self
    }
}

/// Chart names the HTML report knows and places in order; any other name
/// gets its own chart after these. Series with the same `chart` share axes.
pub mod charts {
    pub const LATENCY: &str = "Latency percentiles over time";
    pub const USERS: &str = "Active users over time";
    pub const THROUGHPUT: &str = "Throughput over time";
    pub const ERRORS: &str = "Errors over time";
    pub const REPLICA_LAG: &str = "Replica lag over time";
    pub const DB_METRICS: &str = "Database metrics over time";
    /// x = users, y = p95 (or throughput): the capacity curve.
    pub const CAPACITY: &str = "Capacity curve";
    pub const MIGRATION: &str = "Migration throughput";
}

/// One line on a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Which chart it is drawn on (see [`charts`]).
    pub chart: String,
    /// The line's label, e.g. "p95".
    pub name: String,
    /// Unit of the values (y axis).
    pub unit: String,
    /// What x is; "s" (seconds since the run started) unless told.
    #[serde(default = "default_x_unit")]
    pub x_unit: String,
    /// Optional sub-key, e.g. a query or journey name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub points: Vec<Point>,
}

fn default_x_unit() -> String {
    "s".to_string()
}

impl Series {
    /// A time series (x in seconds since the run started).
    pub fn new(chart: impl Into<String>, name: impl Into<String>, unit: impl Into<String>) -> Self {
        Series {
            chart: chart.into(),
            name: name.into(),
            unit: unit.into(),
            x_unit: default_x_unit(),
            group: None,
            points: Vec::new(),
        }
    }

    pub fn x_unit(mut self, unit: impl Into<String>) -> Self {
        self.x_unit = unit.into();
        self
    }

    pub fn in_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    pub fn push(&mut self, x: f64, value: f64) -> &mut Self {
        self.points.push(Point { x, value });
        self
    }

    pub fn with_points(mut self, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        self.points
            .extend(points.into_iter().map(|(x, value)| Point { x, value }));
        self
    }
}

/// One sample: x is seconds since the run started for time series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    #[serde(deserialize_with = "nullable_f64")]
    pub x: f64,
    #[serde(deserialize_with = "nullable_f64")]
    pub value: f64,
}

/// A histogram, e.g. the response-time distribution. Bucket `i` counts the
/// values in (`buckets[i-1].upper`, `buckets[i].upper`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub name: String,
    pub unit: String,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Inclusive upper bound of the bucket, in the distribution's unit.
    #[serde(deserialize_with = "nullable_f64")]
    pub upper: f64,
    pub count: u64,
}

/// A table: per-query percentiles, the migration's tables, RLS results,
/// audit findings. Cells are text so any stage can fill it; numeric-looking
/// cells are right-aligned in HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Which section of the HTML it goes in, e.g. "load", "migration",
    /// "rls", "audit", "bench" (default: after the charts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
}

impl Table {
    pub fn new<S: Into<String>>(
        title: impl Into<String>,
        columns: impl IntoIterator<Item = S>,
    ) -> Self {
        Table {
            title: title.into(),
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            section: None,
        }
    }

    pub fn in_section(mut self, section: impl Into<String>) -> Self {
        self.section = Some(section.into());
        self
    }

    pub fn row<S: ToString>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.rows
            .push(cells.into_iter().map(|c| c.to_string()).collect());
        self
    }
}

/// A file or folder kept beside the report (goose's HTML report, criterion's
/// folder, a reject file), linked from index.html by a relative path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub label: String,
    /// Relative to the run folder (never absolute, never a URL).
    pub path: String,
}

impl Attachment {
    pub fn new(label: impl Into<String>, path: impl Into<String>) -> Self {
        Attachment {
            label: label.into(),
            path: path.into(),
        }
    }
}
