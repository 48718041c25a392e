//! A load run's results: one serde struct that holds every figure the run
//! measured (per-query percentiles split into pool wait and query time,
//! the open model's scheduled-start latency, read-your-own-write routing,
//! the database-side samples, generator health, gates), its conversion
//! into the shared report model ([`crate::report::Run`]), and the short
//! console summary.
//!
//! `results.json` in the run folder is this struct as is, so a script can
//! read any figure without knowing the report model.

use serde::{Deserialize, Serialize};

use crate::report::{charts, Attachment, Figure, Gate, Run, Series, Table};

use super::config::{LoadConfig, Mode};
use super::open::OpenSummary;
use super::sampler::Sampled;
use super::transport::{FreshSummary, QuerySummary};

/// goose's own view of the steady state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GooseFigures {
    pub maximum_users: usize,
    pub duration_secs: usize,
    pub requests: u64,
    pub failures: u64,
    pub reports: Vec<String>,
}

/// Everything a load run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadResults {
    pub mode: Mode,
    pub config: LoadConfig,
    /// Wall time of the steady state, seconds.
    pub steady_secs: f64,
    /// Queries per second over the steady state.
    pub throughput_qps: f64,
    pub overall: QuerySummary,
    pub queries: Vec<QuerySummary>,
    pub open: Option<OpenSummary>,
    pub fresh: FreshSummary,
    pub sampled: Sampled,
    pub goose: Option<GooseFigures>,
    pub peak_memory_mib: f64,
    pub gates: Vec<Gate>,
    pub invalid: Vec<String>,
    /// What row-level security costs each named query ([`super::price`]).
    #[serde(default)]
    pub rls_price: Vec<super::price::QueryPrice>,
    /// The app's speed claims, measured ([`super::claims`]).
    #[serde(default)]
    pub claims: Vec<super::claims::ClaimResult>,
    /// A fault run's per-fault figures and write ledger ([`super::fault`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<super::fault::FaultReport>,
    /// What the run did not do as configured, and why.
    pub notes: Vec<String>,
}

impl LoadResults {
    pub fn passed(&self) -> bool {
        self.gates.iter().all(|g| g.passed)
    }

    pub fn gate(&self, name: &str) -> Option<&Gate> {
        self.gates.iter().find(|g| g.name == name)
    }

    /// The exit code CI reads: invalid first (the figures mean nothing),
    /// then gate failures.
    pub fn exit_code(&self) -> i32 {
        if !self.invalid.is_empty() {
            crate::exit_codes::INVALID_RUN
        } else if !self.passed() {
            crate::exit_codes::GATE_FAILED
        } else {
            crate::exit_codes::OK
        }
    }

    /// Fill a report run with these results.
    pub fn fill(&self, run: &mut Run) {
        for g in &self.gates {
            run.gate(g.clone());
        }
        if !self.invalid.is_empty() {
            run.invalidate(self.invalid.join("; "));
        }
        for n in &self.notes {
            run.note(n.clone());
        }
        run.figure(
            Figure::new("p95 all queries", self.overall.p95_ms, "ms")
                .lower_is_better()
                .key(),
        );
        run.figure(
            Figure::new("p99 all queries", self.overall.p99_ms, "ms")
                .lower_is_better()
                .key(),
        );
        run.figure(Figure::new("p99.9 all queries", self.overall.p999_ms, "ms").lower_is_better());
        run.figure(
            Figure::new("throughput", self.throughput_qps, "queries/s")
                .higher_is_better()
                .key(),
        );
        run.figure(
            Figure::new("generator peak memory", self.peak_memory_mib, "MiB").lower_is_better(),
        );
        run.figure(
            Figure::new(
                "generator CPU",
                100.0 * self.sampled.generator_cpu_share,
                "% of cores",
            )
            .lower_is_better(),
        );
        run.figure(Figure::new(
            "machine CPU",
            100.0 * self.sampled.host_cpu_share,
            "%",
        ));
        run.figure(
            Figure::new("tick lag p99", self.sampled.tick_lag_p99_ms, "ms").lower_is_better(),
        );
        run.figure(
            Figure::new("replica stale for own writes", self.fresh.stale_pct, "%")
                .lower_is_better(),
        );
        if let Some(g) = &self.goose {
            run.figure(Figure::new("goose users", g.maximum_users as f64, "users"));
            for r in &g.reports {
                run.attach(Attachment::new(
                    format!("goose's own report ({r})"),
                    r.clone(),
                ));
            }
        }
        if let Some(o) = &self.open {
            run.figure(
                Figure::new("open p95 from schedule", o.p95_ms, "ms")
                    .lower_is_better()
                    .key(),
            );
            run.figure(Figure::new("open p99 from schedule", o.p99_ms, "ms").lower_is_better());
            run.figure(Figure::new("open arrival rate", o.rate_achieved, "steps/s"));
            let mut t = Table::new(
                "Open model: latency from the scheduled start, per step",
                [
                    "step", "steps", "failed", "p50 ms", "p95 ms", "p99 ms", "max ms",
                ],
            )
            .in_section("load");
            for s in &o.steps {
                t.row([
                    s.name.clone(),
                    s.count.to_string(),
                    s.failed.to_string(),
                    f1(s.p50_ms),
                    f1(s.p95_ms),
                    f1(s.p99_ms),
                    f1(s.max_ms),
                ]);
            }
            run.table(t);
        }
        let mut t = Table::new(
            "Per-query latency (steady state): total = pool wait + query",
            [
                "query",
                "count",
                "failed",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "p99.9 ms",
                "max ms",
                "pool wait p95 ms",
                "query p95 ms",
                "replica",
                "primary",
            ],
        )
        .in_section("load");
        for q in self.queries.iter().chain(std::iter::once(&self.overall)) {
            t.row([
                q.name.clone(),
                q.count.to_string(),
                q.failed.to_string(),
                f1(q.p50_ms),
                f1(q.p95_ms),
                f1(q.p99_ms),
                f1(q.p999_ms),
                f1(q.max_ms),
                f1(q.pool_wait_p95_ms),
                f1(q.exec_p95_ms),
                q.on_replica.to_string(),
                q.on_primary.to_string(),
            ]);
        }
        run.table(t);
        let errors: Vec<(String, String, u64)> = self
            .queries
            .iter()
            .flat_map(|q| {
                q.errors
                    .iter()
                    .map(move |(k, n)| (q.name.clone(), k.clone(), *n))
            })
            .collect();
        if !errors.is_empty() {
            let mut t =
                Table::new("Errors by kind", ["query", "error", "count"]).in_section("load");
            for (q, k, n) in errors {
                t.row([q, k, n.to_string()]);
            }
            run.table(t);
        }
        let f = &self.fresh;
        let mut t = Table::new(
            "Read-your-own-write routing",
            [
                "reads after own write",
                "replica already fresh",
                "replica after wait",
                "primary fallback",
                "stale %",
                "wait p95 ms",
                "own value checked",
                "own value missing (ryw-miss)",
            ],
        )
        .in_section("load");
        t.row([
            f.reads.to_string(),
            f.replica_fresh.to_string(),
            f.replica_after_wait.to_string(),
            f.primary_fallback.to_string(),
            f1(f.stale_pct),
            f1(f.wait_p95_ms),
            f.checks.to_string(),
            f.misses.to_string(),
        ]);
        run.table(t);
        self.fill_rls_price(run);
        self.fill_claims(run);
        if let Some(f) = &self.faults {
            f.fill(run);
        }
        if !self.sampled.top_statements.is_empty() {
            let mut t = Table::new(
                "Top statements by time (pg_stat_statements, steady state)",
                ["server", "statement", "calls", "total ms", "mean ms"],
            )
            .in_section("load");
            for s in &self.sampled.top_statements {
                t.row([
                    s.server.clone(),
                    s.query.clone(),
                    s.calls.to_string(),
                    f1(s.total_ms),
                    format!("{:.3}", s.mean_ms),
                ]);
            }
            run.table(t);
        }
        let ss = &self.sampled.samples;
        let series =
            |chart: &str, name: &str, unit: &str, f: &dyn Fn(&super::sampler::Sample) -> f64| {
                Series::new(chart, name, unit).with_points(ss.iter().map(|s| (s.t, f(s))))
            };
        run.series(series(charts::LATENCY, "p95", "ms", &|s| s.p95_ms));
        run.series(series(charts::LATENCY, "p99", "ms", &|s| s.p99_ms));
        run.series(series(charts::LATENCY, "pool wait p95", "ms", &|s| {
            s.pool_wait_p95_ms
        }));
        run.series(series(
            charts::THROUGHPUT,
            "queries/s (client)",
            "1/s",
            &|s| s.queries_per_sec,
        ));
        run.series(series(charts::THROUGHPUT, "primary TPS", "1/s", &|s| {
            s.primary_tps
        }));
        run.series(series(charts::THROUGHPUT, "replica TPS", "1/s", &|s| {
            s.replica_tps
        }));
        run.series(series(charts::REPLICA_LAG, "lag", "s", &|s| s.lag_secs));
        run.series(series(charts::REPLICA_LAG, "lag bytes", "bytes", &|s| {
            s.lag_bytes as f64
        }));
        run.series(series(
            charts::DB_METRICS,
            "active (primary)",
            "connections",
            &|s| s.primary_active as f64,
        ));
        run.series(series(
            charts::DB_METRICS,
            "active (replica)",
            "connections",
            &|s| s.replica_active as f64,
        ));
        run.series(series(
            charts::DB_METRICS,
            "waiting on locks",
            "connections",
            &|s| s.lock_waiting as f64,
        ));
        run.series(series(
            charts::DB_METRICS,
            "cache hit (primary)",
            "%",
            &|s| s.primary_cache_hit_pct,
        ));
        run.series(series(
            charts::DB_METRICS,
            "generator CPU",
            "% of cores",
            &|s| 100.0 * s.generator_cpu_share,
        ));
        run.series(series(charts::DB_METRICS, "machine CPU", "%", &|s| {
            100.0 * s.host_cpu_share
        }));
    }

    /// A few lines for the terminal.
    pub fn print(&self) {
        let o = &self.overall;
        eprintln!(
            "load: {} mode, steady {:.0} s: {} queries, {:.0} queries/s, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, errors {}",
            match self.mode {
                Mode::Closed => "closed",
                Mode::Open => "open",
            },
            self.steady_secs,
            o.count,
            self.throughput_qps,
            o.p50_ms,
            o.p95_ms,
            o.p99_ms,
            o.p999_ms,
            o.failed
        );
        if let Some(op) = &self.open {
            eprintln!(
                "open model: {:.0} steps/s, from scheduled start p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; {} late starts, {} dropped",
                op.rate_achieved, op.p50_ms, op.p95_ms, op.p99_ms, op.late_starts, op.dropped
            );
        }
        for q in &self.queries {
            eprintln!(
                "  {:<22} {:>8} q  p95 {:>7.1} ms  p99 {:>7.1} ms  (pool wait p95 {:.1} ms)",
                q.name, q.count, q.p95_ms, q.p99_ms, q.pool_wait_p95_ms
            );
        }
        eprintln!(
            "generator: CPU {:.0} % of cores (machine {:.0} %), tick lag p99 {:.1} ms, peak memory {:.0} MiB; replica stale for {:.1} % of own-write reads",
            100.0 * self.sampled.generator_cpu_share,
            100.0 * self.sampled.host_cpu_share,
            self.sampled.tick_lag_p99_ms,
            self.peak_memory_mib,
            self.fresh.stale_pct
        );
        if let Some(f) = &self.faults {
            f.print();
        }
        for g in &self.gates {
            eprintln!(
                "  gate {:<34} {:>9.2} {} {} {}  {}",
                g.name,
                g.observed,
                g.comparison.symbol(),
                g.threshold,
                g.unit,
                if g.passed { "pass" } else { "FAIL" }
            );
        }
        for r in &self.invalid {
            eprintln!("  INVALID: {r}");
        }
        for q in &self.rls_price {
            let p = &q.price;
            if let (Some(flag), Some(reason)) = (&p.flag, &p.reason) {
                let share = match (&q.server, q.share_pct) {
                    (Some(s), Some(pct)) => format!(", {pct:.0} % of the {s}'s statement time"),
                    _ => String::new(),
                };
                eprintln!("  RLS {flag}: {}{share}: {reason}", p.name);
                if let Some(fix) = &p.fix {
                    eprintln!("    fix: {fix}");
                }
            }
        }
        for c in &self.claims {
            match (&c.measured, c.holds()) {
                (Some(m), Some(h)) => eprintln!(
                    "  claim {}: {} {:.1}x faster with its indexes ({:.3} ms vs {:.3} ms without), claimed at least {}x: {}",
                    c.name,
                    c.query,
                    m.ratio(),
                    m.with_ms,
                    m.without_ms,
                    c.at_least,
                    if h { "holds" } else { "does NOT hold" }
                ),
                _ => eprintln!(
                    "  claim {}: not measured: {}",
                    c.name,
                    c.error.as_deref().unwrap_or("")
                ),
            }
        }
    }

    /// The app's claims: a table, and a note per claim that does not hold.
    fn fill_claims(&self, run: &mut Run) {
        if self.claims.is_empty() {
            return;
        }
        let mut t = Table::new(
            "The app's speed claims (the query's heaviest call as the app role, re-run on the primary)",
            [
                "claim",
                "query",
                "with indexes ms",
                "without ms",
                "speed-up",
                "claimed",
                "holds",
            ],
        )
        .in_section("load");
        for c in &self.claims {
            let (with, without, ratio) = match &c.measured {
                Some(m) => (
                    format!("{:.3}", m.with_ms),
                    format!("{:.3}", m.without_ms),
                    format!("{:.1}x", m.ratio()),
                ),
                None => (String::new(), String::new(), String::new()),
            };
            t.row([
                c.name.clone(),
                c.query.clone(),
                with,
                without,
                ratio,
                format!("at least {}x", c.at_least),
                match c.holds() {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => format!("not measured: {}", c.error.as_deref().unwrap_or("")),
                },
            ]);
        }
        run.table(t);
        for c in &self.claims {
            if let (Some(false), Some(m)) = (c.holds(), &c.measured) {
                run.note(format!(
                    "Claim {} does not hold: {} is {:.1}x faster with its indexes than without {}                      ({:.3} ms against {:.3} ms, as the app role on its heaviest call), not {}x.{}",
                    c.name,
                    c.query,
                    m.ratio(),
                    c.without_indexes.join(", "),
                    m.with_ms,
                    m.without_ms,
                    c.at_least,
                    c.description
                        .as_ref()
                        .map(|d| format!(" The claim: {d}."))
                        .unwrap_or_default()
                ));
            }
        }
    }

    /// The price-of-RLS table and a note per flagged query.
    fn fill_rls_price(&self, run: &mut Run) {
        if self.rls_price.is_empty() {
            return;
        }
        let mut t = Table::new(
            "The price of row-level security per named query (its heaviest call, re-run on the primary)",
            [
                "query",
                "as app ms",
                "unbound ms",
                "ratio",
                "indexes lost",
                "server share %",
                "flag",
            ],
        )
        .in_section("load");
        for q in &self.rls_price {
            let p = &q.price;
            let lost: Vec<&str> = p.lost.iter().map(|l| l.index.as_str()).collect();
            t.row([
                p.name.clone(),
                format!("{:.3}", p.app_ms),
                format!("{:.3}", p.unbound_ms),
                f1(p.ratio()),
                lost.join(", "),
                match (&q.server, q.share_pct) {
                    (Some(s), Some(pct)) => format!("{pct:.0} ({s})"),
                    _ => String::new(),
                },
                p.flag
                    .clone()
                    .or_else(|| p.error.as_ref().map(|e| format!("not measured: {e}")))
                    .unwrap_or_default(),
            ]);
        }
        run.table(t);
        for q in &self.rls_price {
            let p = &q.price;
            if let (Some(flag), Some(reason)) = (&p.flag, &p.reason) {
                let share = match (&q.server, q.share_pct) {
                    (Some(s), Some(pct)) => {
                        format!(" It took {pct:.0} % of the {s}'s statement time in this run.")
                    }
                    _ => String::new(),
                };
                run.note(format!(
                    "RLS {flag} on {}: {reason}.{share} Fix: {}",
                    p.name,
                    p.fix.as_deref().unwrap_or("")
                ));
            }
        }
    }
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}
