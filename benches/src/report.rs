//! The bench run's report: criterion's figures turned into a `bench` run
//! folder (`reports/<time>-bench/`) with the ratios the issue asks for.
//!
//! Ratios and their noise: for `r = a / b` with standard errors `sa`, `sb`,
//! `sd(r) ≈ r × sqrt((sa/a)² + (sb/b)²)` (first-order propagation), so a
//! ratio carries a noise the baseline comparison can use like any figure.
//!
//! - price of RLS per query: mean as `portal_app` (tenant context, RLS on)
//!   over mean as `portal_owner` (RLS off), same query, same connection
//!   setup; the geometric mean over the queries is the key figure.
//! - GIN speed-up per search: mean without the index over mean with it;
//!   the portal's migration plan claims 30x, and the report says whether
//!   that holds here.
//! - index speed-up per key filter, the same way.
//! - migration rows/s per table, mean and spread over the measured runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harness::report::{Attachment, Check, DataSpec, Figure, Run, RunKind, Table};

use crate::estimates::Estimate;

/// The migration plan's claim about full-text search with a GIN index.
pub const SEED_GIN_CLAIM: f64 = 30.0;

/// One criterion benchmark's result.
#[derive(Debug, Clone)]
pub struct Measured {
    pub group: String,
    pub function: String,
    pub parameter: String,
    pub estimate: Estimate,
}

/// What an index case saw in the plans, with and without the index.
#[derive(Debug, Clone, Default)]
pub struct PlanFacts {
    pub dropped: Vec<String>,
    pub with: Vec<String>,
    pub without: Vec<String>,
}

/// One table's migration throughput over the measured runs.
#[derive(Debug, Clone, Default)]
pub struct TableThroughput {
    pub rows: u64,
    pub rows_per_sec: Vec<f64>,
}

/// Everything the bench found, collected while criterion ran.
#[derive(Debug, Default)]
pub struct Findings {
    pub measured: Vec<Measured>,
    /// (case, rows one execution returned or wrote)
    pub rows: Vec<(String, u64)>,
    /// (group, case) -> plans
    pub plans: BTreeMap<(String, String), PlanFacts>,
    pub migration: BTreeMap<String, TableThroughput>,
    pub notes: Vec<String>,
}

impl Findings {
    pub fn get(&self, group: &str, function: &str, parameter: &str) -> Option<&Estimate> {
        self.measured
            .iter()
            .find(|m| m.group == group && m.function == function && m.parameter == parameter)
            .map(|m| &m.estimate)
    }
}

/// `a / b` with first-order propagated standard error.
pub fn ratio(a: &Estimate, b: &Estimate) -> (f64, f64) {
    let r = a.mean_ns / b.mean_ns;
    let rel = ((a.mean_se_ns / a.mean_ns).powi(2) + (b.mean_se_ns / b.mean_ns).powi(2)).sqrt();
    (r, r * rel)
}

fn ms(e: &Estimate) -> String {
    format!("{:.3} ± {:.3} ms", e.mean_ms(), e.se_ms())
}

fn geo_mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty())
        .then(|| (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp())
}

/// Context of the run that the findings do not carry.
pub struct Context<'a> {
    pub info: &'a harness::cluster::ClusterInfo,
    pub spec: fixtures::generate::Spec,
    pub rows: &'a BTreeMap<String, u64>,
    pub seed_seconds: f64,
    pub settings: String,
}

/// Build the bench run from what criterion measured.
pub fn build(ctx: &Context<'_>, f: &Findings, started: chrono::DateTime<chrono::Utc>) -> Run {
    let mut run = Run::new(
        RunKind::Bench,
        format!(
            "criterion benches: named queries, RLS, GIN, filters, migration ({})",
            ctx.settings
        ),
    );
    run.started = started;
    run.environment.with_cluster(ctx.info);
    run.environment.data(DataSpec {
        seed: ctx.spec.seed,
        scale: format!("tenants={} scale={}", ctx.spec.tenants, ctx.spec.scale),
        rows: ctx.rows.clone(),
    });
    run.figure(Figure::new("seed time", ctx.seed_seconds, "s"));

    for m in &f.measured {
        run.figure(
            Figure::new(
                format!("{}/{}/{} mean", m.group, m.function, m.parameter),
                m.estimate.mean_ms(),
                "ms",
            )
            .lower_is_better()
            .with_noise(m.estimate.se_ms())
            .in_group(m.function.clone()),
        );
    }
    queries_table(&mut run, f);
    search_table(&mut run, f);
    filters_table(&mut run, f);
    migration_table(&mut run, f);
    for (case, n) in &f.rows {
        run.check(
            Check::new(format!("{case} touches data"), *n > 0, format!("{n} rows"))
                .in_group("bench"),
        );
    }
    for ((group, case), p) in &f.plans {
        if p.dropped.is_empty() {
            continue;
        }
        let still: Vec<_> = p.without.iter().filter(|i| p.dropped.contains(i)).collect();
        run.check(
            Check::new(
                format!(
                    "{group}/{case}: the no-index case plans without {}",
                    p.dropped.join(", ")
                ),
                still.is_empty(),
                format!(
                    "plan without: [{}]; with: [{}]",
                    p.without.join(", "),
                    p.with.join(", ")
                ),
            )
            .in_group("plans"),
        );
    }
    let mut t = Table::new("Data", ["table", "rows"]).in_section("bench");
    for (k, v) in ctx.rows {
        t.row([k.clone(), v.to_string()]);
    }
    run.table(t);
    for n in &f.notes {
        run.note(n.clone());
    }
    run
}

fn queries_table(run: &mut Run, f: &Findings) {
    let mut t = Table::new(
        "Named queries: mean ± standard error per execution",
        [
            "query",
            "primary, portal_app (RLS)",
            "primary, portal_owner (no RLS)",
            "price of RLS",
            "replica, portal_reader (RLS)",
            "replica / primary",
        ],
    )
    .in_section("bench");
    let mut ratios = Vec::new();
    let mut names: Vec<&str> = f
        .measured
        .iter()
        .filter(|m| m.group == "primary")
        .map(|m| m.function.as_str())
        .collect();
    names.dedup();
    for q in names {
        let app = f.get("primary", q, "rls");
        let owner = f.get("primary", q, "owner");
        let replica = f.get("replica", q, "rls");
        let price = match (app, owner) {
            (Some(a), Some(o)) => {
                let (r, sd) = ratio(a, o);
                ratios.push(r);
                run.figure(
                    Figure::new("price of RLS", r, "x")
                        .lower_is_better()
                        .with_noise(sd)
                        .in_group(q),
                );
                format!("{r:.2}x ({:+.3} ms)", a.mean_ms() - o.mean_ms())
            }
            _ => "-".into(),
        };
        let rep = match (replica, app) {
            (Some(r), Some(a)) => {
                let (x, _) = ratio(r, a);
                format!("{x:.2}x")
            }
            _ => "-".into(),
        };
        t.row([
            q.to_string(),
            app.map(ms).unwrap_or_else(|| "-".into()),
            owner.map(ms).unwrap_or_else(|| "-".into()),
            price,
            replica.map(ms).unwrap_or_else(|| "-".into()),
            rep,
        ]);
    }
    if let Some(g) = geo_mean(&ratios) {
        run.figure(
            Figure::new("price of RLS (geometric mean over named queries)", g, "x")
                .lower_is_better()
                .key(),
        );
    }
    run.table(t);
}

fn search_table(run: &mut Run, f: &Findings) {
    let mut t = Table::new(
        "Full-text search: GIN index vs no index (seeds claim 30x faster)",
        [
            "search",
            "with GIN",
            "without",
            "GIN speed-up",
            "claim >= 30x",
            "plan with",
            "plan without",
        ],
    )
    .in_section("bench");
    for s in crate::cases::Search::ALL {
        let (Some(with), Some(without)) = (
            f.get("fts", s.name(), "gin"),
            f.get("fts", s.name(), "no_index"),
        ) else {
            continue;
        };
        let (r, sd) = ratio(without, with);
        run.figure(
            Figure::new("GIN speed-up", r, "x")
                .higher_is_better()
                .with_noise(sd)
                .in_group(s.name())
                .key(),
        );
        let plans = f
            .plans
            .get(&("fts".to_string(), s.name().to_string()))
            .cloned()
            .unwrap_or_default();
        t.row([
            s.name().to_string(),
            ms(with),
            ms(without),
            format!("{r:.1}x ± {sd:.1}"),
            if r >= SEED_GIN_CLAIM {
                "holds".into()
            } else {
                format!("does not hold ({r:.1}x)")
            },
            plans.with.join(", "),
            plans.without.join(", "),
        ]);
    }
    run.table(t);
}

fn filters_table(run: &mut Run, f: &Findings) {
    let mut t = Table::new(
        "Key filters with and without their index",
        [
            "query",
            "indexes dropped",
            "with index",
            "without",
            "speed-up",
            "plan with",
            "plan without",
        ],
    )
    .in_section("bench");
    let mut names: Vec<&str> = f
        .measured
        .iter()
        .filter(|m| m.group == "filters")
        .map(|m| m.function.as_str())
        .collect();
    names.dedup();
    for q in names {
        let (Some(with), Some(without)) = (
            f.get("filters", q, "index"),
            f.get("filters", q, "no_index"),
        ) else {
            continue;
        };
        let (r, sd) = ratio(without, with);
        run.figure(
            Figure::new("index speed-up", r, "x")
                .higher_is_better()
                .with_noise(sd)
                .in_group(q),
        );
        let plans = f
            .plans
            .get(&("filters".to_string(), q.to_string()))
            .cloned()
            .unwrap_or_default();
        t.row([
            q.to_string(),
            plans.dropped.join(", "),
            ms(with),
            ms(without),
            format!("{r:.2}x ± {sd:.2}"),
            plans.with.join(", "),
            plans.without.join(", "),
        ]);
    }
    run.table(t);
}

fn migration_table(run: &mut Run, f: &Findings) {
    if f.migration.is_empty() {
        return;
    }
    let mut t = Table::new(
        "Migration throughput per table (SQLite -> PostgreSQL, harness::migrate)",
        ["table", "rows", "rows/s (mean)", "rows/s (sd)", "runs"],
    )
    .in_section("bench");
    for (table, tp) in &f.migration {
        let n = tp.rows_per_sec.len() as f64;
        if n == 0.0 {
            continue;
        }
        let mean = tp.rows_per_sec.iter().sum::<f64>() / n;
        let sd = if n > 1.0 {
            (tp.rows_per_sec
                .iter()
                .map(|v| (v - mean).powi(2))
                .sum::<f64>()
                / (n - 1.0))
                .sqrt()
        } else {
            0.0
        };
        run.figure(
            Figure::new("migration throughput", mean, "rows/s")
                .higher_is_better()
                .with_noise(sd / n.sqrt())
                .in_group(table.clone()),
        );
        t.row([
            table.clone(),
            tp.rows.to_string(),
            format!("{mean:.0}"),
            format!("{sd:.0}"),
            format!("{n}"),
        ]);
    }
    run.table(t);
}

/// Copy criterion's output folder into the run folder (criterion's own
/// report stays browsable beside ours) and link it.
pub fn attach_criterion(run: &mut Run, run_dir: &Path, criterion: &Path) -> std::io::Result<()> {
    let dest = run_dir.join("criterion");
    copy_dir(criterion, &dest)?;
    if dest.join("report/index.html").is_file() {
        run.attach(Attachment::new(
            "criterion's own report",
            "criterion/report/index.html",
        ));
    } else {
        run.attach(Attachment::new("criterion's output folder", "criterion"));
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target: PathBuf = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(mean_ns: f64, se_ns: f64) -> Estimate {
        Estimate {
            mean_ns,
            mean_se_ns: se_ns,
            std_dev_ns: se_ns * 10.0,
        }
    }

    #[test]
    fn ratio_propagates_relative_errors() {
        let (r, sd) = ratio(&est(3000.0, 30.0), &est(100.0, 1.0));
        assert!((r - 30.0).abs() < 1e-9);
        // 1 % and 1 % relative -> sqrt(2) % of 30.
        assert!((sd - 30.0 * 2f64.sqrt() / 100.0).abs() < 1e-9, "{sd}");
    }

    #[test]
    fn geo_mean_of_ratios() {
        assert!((geo_mean(&[1.0, 4.0]).unwrap() - 2.0).abs() < 1e-12);
        assert!(geo_mean(&[]).is_none());
    }
}
