//! Baseline comparison: is this run worse than the earlier ones, by more
//! than runs differ from each other anyway?
//!
//! # The rule
//!
//! Only figures with a direction ([`Better::Lower`] or [`Better::Higher`])
//! are judged. For each such figure present in the current run and in the
//! baseline(s):
//!
//! - `b` = the mean of the figure over the baseline runs, `c` = the current
//!   value, `worse = c - b` when lower is better, `b - c` when higher is.
//! - `σb` = the larger of the baselines' own reported noise (root mean
//!   square of [`Figure::noise`]) and the sample standard deviation of the
//!   figure across the baseline runs (when there are two or more: the
//!   run-to-run noise measured from repeated runs); `σc` = the current run's
//!   reported noise, or `σb` when it reports none (same setup, same noise).
//! - `allowed = max(band × |b|, k × sqrt(σb² + σc²), floor)`; defaults
//!   band = 10 %, k = 3, floor = 0 (see [`NoiseRule`]).
//! - The figure **regresses** when `worse > allowed`. k = 3 standard
//!   deviations of the difference of two independent estimates leaves a
//!   false alarm rate near 0.1 % (one-sided) when the noise is normal; the
//!   relative band covers drift that within-run noise does not show (cache
//!   state, a neighbour on the machine), so a quiet figure does not flag
//!   every 2 % wobble.
//!
//! Besides figures, a gate or check that passed in every baseline and fails
//! now is a regression, whatever the numbers say.
//!
//! Runs are comparable only when they are of the same kind, on the same
//! backend, PostgreSQL version, durability, server settings, machine core
//! count, and data (generator seed and scale); otherwise [`compare`]
//! refuses with [`CompareError::Incomparable`] listing every difference,
//! because a faster figure on other hardware or other data proves nothing.

use std::fmt::Write;

use super::{fmt_num, Better, Figure, Run, Table};

/// Parameters of the regression rule (module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseRule {
    /// Fixed relative band: changes within `band × |baseline|` are noise.
    pub band: f64,
    /// How many standard deviations of the difference count as noise.
    pub k: f64,
    /// Absolute floor in the figure's unit (keeps 0 -> 0.0001 from flagging).
    pub floor: f64,
}

impl Default for NoiseRule {
    fn default() -> Self {
        NoiseRule {
            band: 0.10,
            k: 3.0,
            floor: 0.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("cannot compare {current} with baseline {baseline}: they differ in {}; compare runs made on the same environment and data", .differences.join("; "))]
    Incomparable {
        baseline: String,
        current: String,
        differences: Vec<String>,
    },
    #[error("no baseline run given; pass --baseline <run folder>")]
    NoBaseline,
}

/// One figure judged against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureDelta {
    pub name: String,
    pub group: Option<String>,
    pub unit: String,
    pub better: Better,
    pub baseline: f64,
    pub current: f64,
    /// How much worse the current value is (negative: better).
    pub worse_by: f64,
    /// The band within which a change is noise.
    pub allowed: f64,
    pub regressed: bool,
}

impl FigureDelta {
    pub fn label(&self) -> String {
        match &self.group {
            Some(g) => format!("{} ({g})", self.name),
            None => self.name.clone(),
        }
    }

    /// Relative change (current / baseline - 1), when the baseline is not 0.
    pub fn relative_change(&self) -> Option<f64> {
        (self.baseline != 0.0).then(|| self.current / self.baseline - 1.0)
    }
}

/// The outcome of [`compare`].
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub baselines: Vec<String>,
    pub current: String,
    pub rule: NoiseRule,
    pub figures: Vec<FigureDelta>,
    /// Gates and checks that passed in every baseline and fail now.
    pub newly_failing: Vec<String>,
    /// Directional figures of the baseline missing from the current run.
    pub missing: Vec<String>,
}

impl Comparison {
    pub fn regressions(&self) -> impl Iterator<Item = &FigureDelta> {
        self.figures.iter().filter(|d| d.regressed)
    }

    pub fn has_regression(&self) -> bool {
        self.regressions().next().is_some() || !self.newly_failing.is_empty()
    }

    /// The comparison as a report table.
    pub fn table(&self) -> Table {
        let mut t = Table::new(
            "Baseline comparison",
            [
                "figure",
                "baseline",
                "current",
                "change",
                "allowed worse by",
                "result",
            ],
        )
        .in_section("baseline");
        for d in &self.figures {
            t.row([
                d.label(),
                format!("{} {}", fmt_num(d.baseline), d.unit),
                format!("{} {}", fmt_num(d.current), d.unit),
                d.relative_change()
                    .map(|r| format!("{:+.1} %", r * 100.0))
                    .unwrap_or_else(|| "-".into()),
                format!("{} {}", fmt_num(d.allowed), d.unit),
                if d.regressed {
                    "REGRESSION".into()
                } else if d.worse_by < 0.0 {
                    "better".into()
                } else {
                    "within noise".into()
                },
            ]);
        }
        for n in &self.newly_failing {
            t.row([
                n.clone(),
                "pass".into(),
                "fail".into(),
                "-".into(),
                "-".into(),
                "REGRESSION".into(),
            ]);
        }
        t
    }

    /// Plain text for the terminal.
    pub fn text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "{} vs baseline {} (regression when worse by > max({:.0} % of baseline, {} x noise, {}))",
            self.current,
            self.baselines.join(", "),
            self.rule.band * 100.0,
            self.rule.k,
            fmt_num(self.rule.floor)
        );
        for d in &self.figures {
            let _ = writeln!(
                o,
                "  {:<9} {:<48} {:>12} -> {:>12} {:<6} {:>8} (allowed worse by {})",
                if d.regressed { "REGRESSED" } else { "ok" },
                d.label(),
                fmt_num(d.baseline),
                fmt_num(d.current),
                d.unit,
                d.relative_change()
                    .map(|r| format!("{:+.1}%", r * 100.0))
                    .unwrap_or_else(|| "-".into()),
                fmt_num(d.allowed)
            );
        }
        for n in &self.newly_failing {
            let _ = writeln!(o, "  REGRESSED {n}: passed in the baseline, fails now");
        }
        for m in &self.missing {
            let _ = writeln!(o, "  note: {m} is in the baseline but not in this run");
        }
        let n = self.regressions().count() + self.newly_failing.len();
        let _ = writeln!(
            o,
            "{}",
            if n == 0 {
                "no regression".to_string()
            } else {
                format!("{n} regression(s)")
            }
        );
        o
    }
}

/// Why two runs are not comparable (empty when they are).
pub fn differences(a: &Run, b: &Run) -> Vec<String> {
    let mut d = Vec::new();
    let mut field = |what: &str, x: String, y: String| {
        if x != y {
            d.push(format!("{what} ({x} vs {y})"));
        }
    };
    let (ea, eb) = (&a.environment, &b.environment);
    field("kind", a.kind.as_str().into(), b.kind.as_str().into());
    field("backend", ea.backend.clone(), eb.backend.clone());
    field(
        "PostgreSQL version",
        ea.postgres_version.clone(),
        eb.postgres_version.clone(),
    );
    field("durability", ea.durability.clone(), eb.durability.clone());
    field(
        "machine cores",
        ea.machine.cores.to_string(),
        eb.machine.cores.to_string(),
    );
    let data = |r: &Run| {
        r.environment
            .data
            .as_ref()
            .map(|x| format!("seed {} scale {}", x.seed, x.scale))
            .unwrap_or_else(|| "no data".into())
    };
    field("data", data(a), data(b));
    let keys: std::collections::BTreeSet<_> =
        ea.settings.keys().chain(eb.settings.keys()).collect();
    for k in keys {
        let get =
            |e: &super::Environment| e.settings.get(k).cloned().unwrap_or_else(|| "unset".into());
        field(&format!("setting {k}"), get(ea), get(eb));
    }
    d
}

/// Compare `current` with one or more baseline runs under `rule`.
pub fn compare(
    baselines: &[Run],
    current: &Run,
    rule: NoiseRule,
) -> Result<Comparison, CompareError> {
    if baselines.is_empty() {
        return Err(CompareError::NoBaseline);
    }
    let name = |r: &Run| r.folder.clone().unwrap_or_else(|| r.started.to_rfc3339());
    for b in baselines {
        let differences = differences(b, current);
        if !differences.is_empty() {
            return Err(CompareError::Incomparable {
                baseline: name(b),
                current: name(current),
                differences,
            });
        }
    }
    let first = &baselines[0];
    let mut figures = Vec::new();
    let mut missing = Vec::new();
    for f in first.figures.iter().filter(|f| f.better != Better::Neither) {
        let Some(cur) = current.find_figure(&f.name, f.group.as_deref()) else {
            missing.push(label(f));
            continue;
        };
        let values: Vec<&Figure> = baselines
            .iter()
            .filter_map(|r| r.find_figure(&f.name, f.group.as_deref()))
            .collect();
        figures.push(judge(f, &values, cur, rule));
    }
    let mut newly_failing = Vec::new();
    let passed_everywhere = |key: &str, passed_in: &dyn Fn(&Run) -> Option<bool>| {
        baselines.iter().all(|r| passed_in(r) == Some(true)) && !key.is_empty()
    };
    for g in current.gates.iter().filter(|g| !g.passed) {
        let was = |r: &Run| r.gates.iter().find(|x| x.name == g.name).map(|x| x.passed);
        if passed_everywhere(&g.name, &was) {
            newly_failing.push(format!("gate {}", g.name));
        }
    }
    for c in current.checks.iter().filter(|c| !c.passed) {
        let was = |r: &Run| {
            r.checks
                .iter()
                .find(|x| x.name == c.name && x.group == c.group)
                .map(|x| x.passed)
        };
        if passed_everywhere(&c.name, &was) {
            newly_failing.push(format!("check {}", c.name));
        }
    }
    Ok(Comparison {
        baselines: baselines.iter().map(name).collect(),
        current: name(current),
        rule,
        figures,
        newly_failing,
        missing,
    })
}

fn label(f: &Figure) -> String {
    match &f.group {
        Some(g) => format!("{} ({g})", f.name),
        None => f.name.clone(),
    }
}

fn judge(f: &Figure, baseline: &[&Figure], cur: &Figure, rule: NoiseRule) -> FigureDelta {
    let n = baseline.len() as f64;
    let b = baseline.iter().map(|x| x.value).sum::<f64>() / n;
    let spread = if baseline.len() >= 2 {
        (baseline.iter().map(|x| (x.value - b).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    let reported: Vec<f64> = baseline.iter().filter_map(|x| x.noise).collect();
    let reported_rms = if reported.is_empty() {
        0.0
    } else {
        (reported.iter().map(|s| s * s).sum::<f64>() / reported.len() as f64).sqrt()
    };
    let sb = spread.max(reported_rms);
    let sc = cur.noise.unwrap_or(sb);
    let allowed = (rule.band * b.abs())
        .max(rule.k * (sb * sb + sc * sc).sqrt())
        .max(rule.floor);
    let worse_by = match f.better {
        Better::Lower => cur.value - b,
        Better::Higher => b - cur.value,
        Better::Neither => 0.0,
    };
    FigureDelta {
        name: f.name.clone(),
        group: f.group.clone(),
        unit: f.unit.clone(),
        better: f.better,
        baseline: b,
        current: cur.value,
        worse_by,
        allowed,
        // NaN compares false: a NaN figure is reported, never flagged.
        regressed: worse_by > allowed,
    }
}
