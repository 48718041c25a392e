//! Capacity: step the user count up until the target breaks, and say what
//! broke first.
//!
//! Each step is a short closed-model run on the same prepared session (same
//! data, same pools), judged by the same gates. The steps stop at the first
//! one that fails a gate or is invalid; the knee is the largest user count
//! that passed. The failing step is classified by the first limit its
//! figures show, checked in this order because each one explains the ones
//! after it:
//!
//! 1. `generator`: the load generator itself was saturated (invalid step);
//! 2. `replica lag`: the replica fell behind past the lag limit;
//! 3. `pool`: pool wait is at least half of the p95 (connections, not the
//!    database, are the queue);
//! 4. `locks`: load connections were seen waiting on locks;
//! 5. `CPU`: the machine was at least 90 % busy;
//! 6. `database latency`: none of the above (slow queries).

use serde::{Deserialize, Serialize};

use crate::report::{charts, Figure, Gate, Run, Series, Table};

use super::config::LoadConfig;
use super::results::LoadResults;
use super::{LoadError, Session};

/// One step of a capacity run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Step {
    pub users: usize,
    pub throughput_qps: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub pool_wait_p95_ms: f64,
    /// The slowest named query's p95.
    pub worst_query: String,
    pub worst_p95_ms: f64,
    pub error_pct: f64,
    pub max_lag_secs: f64,
    pub max_lock_waiting: i64,
    pub host_cpu_pct: f64,
    pub generator_cpu_pct: f64,
    pub peak_memory_mib: f64,
    pub passed: bool,
    pub invalid: bool,
    /// The first limit this step hit, when it failed.
    pub limit: Option<String>,
}

/// The capacity run's answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CapacityResults {
    pub steps: Vec<Step>,
    /// Largest user count that met every gate.
    pub knee_users: Option<usize>,
    /// The limit the first failing step hit (None: never broke).
    pub first_limit: Option<String>,
    pub p95_target_ms: f64,
}

/// Classify a failed step by the first limit it hit.
pub fn classify(r: &LoadResults, lag_limit_secs: f64) -> String {
    let max_lock = r
        .sampled
        .samples
        .iter()
        .filter(|s| s.steady)
        .map(|s| s.lock_waiting)
        .max()
        .unwrap_or(0);
    if !r.invalid.is_empty() {
        "generator".into()
    } else if r.sampled.max_lag_secs > lag_limit_secs {
        "replica lag".into()
    } else if r.overall.pool_wait_p95_ms >= 0.5 * r.overall.p95_ms
        && r.overall.pool_wait_p95_ms > 1.0
    {
        "pool".into()
    } else if max_lock > 0 {
        "locks".into()
    } else if r.sampled.host_cpu_share >= 0.9 {
        "CPU".into()
    } else {
        "database latency".into()
    }
}

fn step_of(users: usize, r: &LoadResults, lag_limit: f64) -> Step {
    let worst = r
        .queries
        .iter()
        .max_by(|a, b| a.p95_ms.total_cmp(&b.p95_ms));
    let passed = r.passed() && r.invalid.is_empty();
    Step {
        users,
        throughput_qps: r.throughput_qps,
        p95_ms: r.overall.p95_ms,
        p99_ms: r.overall.p99_ms,
        pool_wait_p95_ms: r.overall.pool_wait_p95_ms,
        worst_query: worst.map(|q| q.name.clone()).unwrap_or_default(),
        worst_p95_ms: worst.map(|q| q.p95_ms).unwrap_or(0.0),
        error_pct: 100.0 * r.overall.failed as f64 / r.overall.count.max(1) as f64,
        max_lag_secs: r.sampled.max_lag_secs,
        max_lock_waiting: r
            .sampled
            .samples
            .iter()
            .filter(|s| s.steady)
            .map(|s| s.lock_waiting)
            .max()
            .unwrap_or(0),
        host_cpu_pct: 100.0 * r.sampled.host_cpu_share,
        generator_cpu_pct: 100.0 * r.sampled.generator_cpu_share,
        peak_memory_mib: r.peak_memory_mib,
        passed,
        invalid: !r.invalid.is_empty(),
        limit: (!passed).then(|| classify(r, lag_limit)),
    }
}

/// Run the steps in order until one fails. `on_step` sees each step as it
/// finishes (progress output).
pub async fn run(
    session: &Session,
    base: &LoadConfig,
    users: &[usize],
    mut on_step: impl FnMut(&Step),
) -> Result<CapacityResults, LoadError> {
    let mut out = CapacityResults {
        p95_target_ms: base.thresholds.p95_ms,
        ..Default::default()
    };
    for &u in users {
        let cfg = LoadConfig {
            users: u,
            mode: super::Mode::Closed,
            ..base.clone()
        };
        let r = super::run(session, &cfg, None).await?;
        let step = step_of(u, &r, base.thresholds.replica_lag_secs);
        on_step(&step);
        let passed = step.passed;
        if passed {
            out.knee_users = Some(u);
        } else {
            out.first_limit = step.limit.clone();
        }
        out.steps.push(step);
        if !passed {
            break;
        }
    }
    Ok(out)
}

impl CapacityResults {
    pub fn fill(&self, run: &mut Run) {
        let mut t = Table::new(
            "Capacity steps",
            [
                "users",
                "queries/s",
                "p95 ms",
                "p99 ms",
                "pool wait p95 ms",
                "worst query",
                "worst p95 ms",
                "errors %",
                "max lag s",
                "lock waits",
                "machine CPU %",
                "generator CPU %",
                "peak MiB",
                "verdict",
                "limit",
            ],
        )
        .in_section("load");
        for s in &self.steps {
            t.row([
                s.users.to_string(),
                format!("{:.0}", s.throughput_qps),
                format!("{:.1}", s.p95_ms),
                format!("{:.1}", s.p99_ms),
                format!("{:.1}", s.pool_wait_p95_ms),
                s.worst_query.clone(),
                format!("{:.1}", s.worst_p95_ms),
                format!("{:.3}", s.error_pct),
                format!("{:.2}", s.max_lag_secs),
                s.max_lock_waiting.to_string(),
                format!("{:.0}", s.host_cpu_pct),
                format!("{:.0}", s.generator_cpu_pct),
                format!("{:.0}", s.peak_memory_mib),
                if s.invalid {
                    "invalid".into()
                } else if s.passed {
                    "pass".into()
                } else {
                    "FAIL".to_string()
                },
                s.limit.clone().unwrap_or_default(),
            ]);
        }
        run.table(t);
        run.series(
            Series::new(charts::CAPACITY, "p95 by users", "ms")
                .x_unit("users")
                .with_points(self.steps.iter().map(|s| (s.users as f64, s.p95_ms))),
        );
        run.series(
            Series::new(charts::CAPACITY, "throughput by users", "queries/s")
                .x_unit("users")
                .with_points(
                    self.steps
                        .iter()
                        .map(|s| (s.users as f64, s.throughput_qps)),
                ),
        );
        let knee = self.knee_users.unwrap_or(0) as f64;
        run.figure(
            Figure::new("knee: most users with p95 under target", knee, "users")
                .higher_is_better()
                .key(),
        );
        // The capacity run's own gate: it found a knee at all.
        run.gate(
            Gate::new(
                "users meeting the p95 target",
                knee,
                crate::report::Comparison::AtLeast,
                1.0,
                "users",
            )
            .with_detail(format!(
                "first limit hit: {}",
                self.first_limit
                    .clone()
                    .unwrap_or_else(|| "none within the steps".into())
            )),
        );
    }

    pub fn print(&self) {
        eprintln!(
            "{:>7} {:>9} {:>8} {:>8} {:>10} {:>8} {:>8} {:>6} {:>6}  verdict  limit",
            "users", "q/s", "p95 ms", "p99 ms", "pool p95", "err %", "lag s", "cpu %", "MiB"
        );
        for s in &self.steps {
            eprintln!(
                "{:>7} {:>9.0} {:>8.1} {:>8.1} {:>10.1} {:>8.3} {:>8.2} {:>6.0} {:>6.0}  {:<7}  {}",
                s.users,
                s.throughput_qps,
                s.p95_ms,
                s.p99_ms,
                s.pool_wait_p95_ms,
                s.error_pct,
                s.max_lag_secs,
                s.host_cpu_pct,
                s.peak_memory_mib,
                if s.invalid {
                    "invalid"
                } else if s.passed {
                    "pass"
                } else {
                    "FAIL"
                },
                s.limit.clone().unwrap_or_default()
            );
        }
        match self.knee_users {
            Some(k) => eprintln!(
                "knee: {k} users met p95 < {} ms; first limit hit: {}",
                self.p95_target_ms,
                self.first_limit
                    .clone()
                    .unwrap_or_else(|| "none within the steps".into())
            ),
            None => eprintln!(
                "knee: no step met p95 < {} ms; first limit hit: {}",
                self.p95_target_ms,
                self.first_limit.clone().unwrap_or_default()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::sampler::{Sample, Sampled};
    use crate::load::transport::QuerySummary;

    fn failing(
        pool_wait: f64,
        lock_waiting: i64,
        lag: f64,
        cpu: f64,
        invalid: bool,
    ) -> LoadResults {
        LoadResults {
            overall: QuerySummary {
                p95_ms: 150.0,
                pool_wait_p95_ms: pool_wait,
                ..Default::default()
            },
            sampled: Sampled {
                samples: vec![Sample {
                    steady: true,
                    lock_waiting,
                    ..Default::default()
                }],
                max_lag_secs: lag,
                host_cpu_share: cpu,
                ..Default::default()
            },
            invalid: if invalid { vec!["busy".into()] } else { vec![] },
            ..Default::default()
        }
    }

    /// The first limit is named in the documented order: generator, lag,
    /// pool, locks, CPU, else the database itself.
    #[test]
    fn the_first_limit_follows_the_documented_order() {
        assert_eq!(
            classify(&failing(100.0, 3, 9.0, 1.0, true), 5.0),
            "generator"
        );
        assert_eq!(
            classify(&failing(100.0, 3, 9.0, 1.0, false), 5.0),
            "replica lag"
        );
        assert_eq!(classify(&failing(100.0, 3, 0.1, 1.0, false), 5.0), "pool");
        assert_eq!(classify(&failing(2.0, 3, 0.1, 1.0, false), 5.0), "locks");
        assert_eq!(classify(&failing(2.0, 0, 0.1, 0.95, false), 5.0), "CPU");
        assert_eq!(
            classify(&failing(2.0, 0, 0.1, 0.5, false), 5.0),
            "database latency"
        );
    }
}
