//! The gates a load run passes or fails, and whether the run counts at all.
//!
//! Gates (each one reported with its observed value, passed or not):
//! - p95 below the limit for every named query and for all of them together
//!   (closed model: pool wait + query time; open model: per step, from the
//!   scheduled start);
//! - error rate below the limit (failed queries, or failed and dropped
//!   arrivals in the open model);
//! - the largest replica lag sampled during the steady state;
//! - at least one query in the steady state (a run that measured nothing
//!   must not pass by having nothing over the limit).
//!
//! Validity is separate from the verdict: a run whose generator was
//! saturated is *invalid* (its figures describe the generator), which is
//! neither a pass nor a fail and has its own exit code.

use crate::report::{Comparison, Gate};

use super::config::{HealthLimits, Thresholds};
use super::open::OpenSummary;
use super::sampler::Sampled;
use super::transport::QuerySummary;

/// Gates of a closed-model run.
pub fn closed_gates(
    queries: &[QuerySummary],
    overall: &QuerySummary,
    th: &Thresholds,
    sampled: &Sampled,
    has_replica: bool,
) -> Vec<Gate> {
    let mut g = Vec::new();
    g.push(Gate::new(
        "queries in steady state",
        overall.count as f64,
        Comparison::AtLeast,
        1.0,
        "queries",
    ));
    for q in queries {
        g.push(
            Gate::new(
                format!("p95 {}", q.name),
                q.p95_ms,
                Comparison::Below,
                th.p95_of(&q.name),
                "ms",
            )
            .with_detail(format!(
                "p99 {:.1} ms, pool wait p95 {:.1} ms, query p95 {:.1} ms, {} queries",
                q.p99_ms, q.pool_wait_p95_ms, q.exec_p95_ms, q.count
            )),
        );
    }
    g.push(
        Gate::new(
            "p95 all queries",
            overall.p95_ms,
            Comparison::Below,
            th.p95_ms,
            "ms",
        )
        .with_detail(format!(
            "p99 {:.1} ms, p99.9 {:.1} ms",
            overall.p99_ms, overall.p999_ms
        )),
    );
    let total = overall.count.max(1) as f64;
    g.push(
        Gate::new(
            "error rate",
            100.0 * overall.failed as f64 / total,
            Comparison::Below,
            th.error_rate_pct,
            "%",
        )
        .with_detail(format!("{} failed of {}", overall.failed, overall.count)),
    );
    g.extend(lag_gate(th, sampled, has_replica));
    g
}

/// Gates of an open-model run.
pub fn open_gates(
    open: &OpenSummary,
    th: &Thresholds,
    sampled: &Sampled,
    has_replica: bool,
) -> Vec<Gate> {
    let mut g = Vec::new();
    g.push(Gate::new(
        "steps in steady state",
        open.started as f64,
        Comparison::AtLeast,
        1.0,
        "steps",
    ));
    for s in &open.steps {
        g.push(
            Gate::new(
                format!("p95 from schedule {}", s.name),
                s.p95_ms,
                Comparison::Below,
                th.p95_ms,
                "ms",
            )
            .with_detail(format!("p99 {:.1} ms, {} steps", s.p99_ms, s.count)),
        );
    }
    g.push(
        Gate::new(
            "p95 from schedule all steps",
            open.p95_ms,
            Comparison::Below,
            th.p95_ms,
            "ms",
        )
        .with_detail(format!("p99 {:.1} ms", open.p99_ms)),
    );
    g.push(
        Gate::new(
            "error rate",
            100.0 * open.failed as f64 / open.started.max(1) as f64,
            Comparison::Below,
            th.error_rate_pct,
            "%",
        )
        .with_detail(format!(
            "{} failed ({} dropped) of {}",
            open.failed, open.dropped, open.started
        )),
    );
    g.extend(lag_gate(th, sampled, has_replica));
    g
}

fn lag_gate(th: &Thresholds, sampled: &Sampled, has_replica: bool) -> Option<Gate> {
    has_replica.then(|| {
        Gate::new(
            "replica lag (max)",
            sampled.max_lag_secs,
            Comparison::AtMost,
            th.replica_lag_secs,
            "s",
        )
        .with_detail(format!("max {} bytes behind", sampled.max_lag_bytes))
    })
}

/// Why the generator's figures cannot be trusted, if they cannot.
pub fn invalid_reasons(
    limits: &HealthLimits,
    sampled: &Sampled,
    open: Option<&OpenSummary>,
) -> Vec<String> {
    let mut out = Vec::new();
    if sampled.tick_lag_p99_ms > limits.max_tick_lag_p99_ms {
        out.push(format!(
            "the generator's scheduler was late: tick lag p99 {:.1} ms > {:.1} ms (generator CPU {:.0} % of cores, machine {:.0} % busy{})",
            sampled.tick_lag_p99_ms,
            limits.max_tick_lag_p99_ms,
            100.0 * sampled.generator_cpu_share,
            100.0 * sampled.host_cpu_share,
            if sampled.host_cpu_share > 0.95 && sampled.generator_cpu_share < 0.5 {
                ": other processes held the CPU"
            } else {
                ""
            }
        ));
    }
    if sampled.generator_cpu_share > limits.max_cpu_share {
        out.push(format!(
            "the generator used {:.0} % of all cores (limit {:.0} %)",
            100.0 * sampled.generator_cpu_share,
            100.0 * limits.max_cpu_share
        ));
    }
    if let Some(o) = open {
        let share = o.late_starts as f64 / o.started.max(1) as f64;
        if share > limits.max_late_share {
            out.push(format!(
                "{:.1} % of arrivals started late (limit {:.1} %)",
                100.0 * share,
                100.0 * limits.max_late_share
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn q(name: &str, p95: f64, count: u64, failed: u64) -> QuerySummary {
        QuerySummary {
            name: name.into(),
            count,
            failed,
            p50_ms: p95 / 2.0,
            p95_ms: p95,
            p99_ms: p95 * 1.5,
            p999_ms: p95 * 2.0,
            max_ms: p95 * 3.0,
            mean_ms: p95 / 2.0,
            pool_wait_p95_ms: 0.0,
            pool_wait_p99_ms: 0.0,
            exec_p95_ms: p95,
            exec_p99_ms: p95,
            on_replica: count,
            on_primary: 0,
            errors: BTreeMap::new(),
        }
    }

    #[test]
    fn one_slow_query_fails_its_gate_and_only_its_gate() {
        let qs = vec![q("fast", 5.0, 1000, 0), q("slow", 150.0, 1000, 0)];
        let all = q("all", 60.0, 2000, 1);
        let gates = closed_gates(&qs, &all, &Thresholds::default(), &Sampled::default(), true);
        let failed: Vec<_> = gates
            .iter()
            .filter(|g| !g.passed)
            .map(|g| g.name.as_str())
            .collect();
        assert_eq!(failed, ["p95 slow"]);
        let err = gates.iter().find(|g| g.name == "error rate").unwrap();
        assert!((err.observed - 0.05).abs() < 1e-9);
    }

    #[test]
    fn an_empty_run_fails_and_a_busy_generator_is_invalid() {
        let gates = closed_gates(
            &[],
            &q("all", 0.0, 0, 0),
            &Thresholds::default(),
            &Sampled::default(),
            false,
        );
        assert!(gates
            .iter()
            .any(|g| !g.passed && g.name == "queries in steady state"));
        let s = Sampled {
            tick_lag_p99_ms: 80.0,
            ..Default::default()
        };
        assert_eq!(invalid_reasons(&HealthLimits::default(), &s, None).len(), 1);
        assert!(invalid_reasons(&HealthLimits::default(), &Sampled::default(), None).is_empty());
    }
}
