//! The `[load]` section: what a load run does when nobody says anything,
//! and every knob a flag or `harness.toml` can turn.
//!
//! The defaults are the project's promise, not a convenience: 10,000 users,
//! p95 under 100 ms for every named query, error rate under 0.1 %, a steady
//! state of at least two minutes. A run with no flags checks exactly that.
//! Unknown keys are refused (a typo in a release gate must not pass).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which model drives the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// goose's closed model: N users, each waits for its answer, thinks,
    /// and goes again. Gates on per-query latency (pool wait + query).
    #[default]
    Closed,
    /// Requests start on an arrival-rate schedule whatever the answers do;
    /// latency counts from the scheduled start (no coordinated omission).
    /// Gates on that latency.
    Open,
}

/// Pass/fail limits. Every one of them is reported with its observed value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// p95 limit for every named query and for all queries together, ms.
    pub p95_ms: f64,
    /// Error rate limit, percent of all queries.
    pub error_rate_pct: f64,
    /// Replica lag limit during the run (the largest sample), seconds.
    pub replica_lag_secs: f64,
    /// A named query's own p95 limit, ms, in place of `p95_ms` for it
    /// (from its `p95_ms` in `workload.toml`, or `[load.thresholds.query_p95_ms]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query_p95_ms: BTreeMap<String, f64>,
}

impl Thresholds {
    /// The p95 limit of one named query.
    pub fn p95_of(&self, query: &str) -> f64 {
        self.query_p95_ms.get(query).copied().unwrap_or(self.p95_ms)
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            p95_ms: 100.0,
            error_rate_pct: 0.1,
            replica_lag_secs: 5.0,
            query_p95_ms: BTreeMap::new(),
        }
    }
}

/// When the generator itself is too busy for its figures to be trusted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HealthLimits {
    /// p99 of the scheduling lag of a 10 ms ticker on the generator's
    /// runtime, ms. Above it the generator was late to send (or to time)
    /// requests: the run is invalid.
    pub max_tick_lag_p99_ms: f64,
    /// Generator process CPU, as a share of all cores (0..1), averaged
    /// over the steady state.
    pub max_cpu_share: f64,
    /// Open model: share of requests started more than 10 ms after their
    /// scheduled time.
    pub max_late_share: f64,
}

impl Default for HealthLimits {
    fn default() -> Self {
        HealthLimits {
            max_tick_lag_p99_ms: 50.0,
            max_cpu_share: 0.9,
            max_late_share: 0.01,
        }
    }
}

/// The `[load]` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LoadConfig {
    pub mode: Mode,
    /// Closed model: simulated users.
    pub users: usize,
    /// Seconds to start all users (goose's increase time).
    pub ramp_secs: usize,
    /// Seconds of steady state after the ramp (what the gates judge).
    pub steady_secs: usize,
    /// Think time between a user's steps, seconds (uniform in the range),
    /// for every kind of user. Unset: each kind's `think` in the app's
    /// `workload.toml` (the portal's is 5-15 s, a person reading a page:
    /// 10,000 users then make about 1,000 page views, about 1,350 queries,
    /// per second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_min_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_max_secs: Option<f64>,
    /// Open model: steps started per second.
    pub rate: f64,
    /// Open model: most steps in flight at once; beyond it an arrival is
    /// counted as dropped (and fails the error gate).
    pub max_in_flight: usize,
    /// Connections in the primary's pool and in the replica's pool.
    pub primary_pool: u32,
    pub replica_pool: u32,
    /// How long a query waits for a pooled connection before it fails.
    pub acquire_timeout_ms: u64,
    /// Read-your-own-write: how long a read waits for the replica to
    /// replay the user's last commit before going to the primary.
    pub ryw_wait_ms: u64,
    /// Seconds between database-side samples.
    pub sample_secs: u64,
    /// Weights of the kinds of user, by their names in `workload.toml`;
    /// kinds a non-empty mix does not name do not run. Empty: the file's
    /// weights.
    pub mix: BTreeMap<String, usize>,
    pub thresholds: Thresholds,
    pub health: HealthLimits,
    /// Data: tenants, and the scale factor (the reference app's generator:
    /// 1.0 is about 100,000 rows over every table, tenant sizes skewed; an
    /// app's `data.sql` gets it rounded to a whole multiplier, at least 1).
    pub tenants: usize,
    pub scale: f64,
    /// Seed for tenant drawing and data generation.
    pub seed: u64,
    /// Database name on harness-started clusters (default: the app's
    /// `database` in `app.toml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Skip re-running each named query after the load to measure what
    /// row-level security costs it (`load::price`).
    pub skip_rls_price: bool,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            mode: Mode::Closed,
            users: 10_000,
            ramp_secs: 60,
            steady_secs: 150,
            think_min_secs: None,
            think_max_secs: None,
            rate: 1000.0,
            max_in_flight: 10_000,
            primary_pool: 40,
            replica_pool: 40,
            acquire_timeout_ms: 5_000,
            ryw_wait_ms: 20,
            sample_secs: 5,
            mix: BTreeMap::new(),
            thresholds: Thresholds::default(),
            health: HealthLimits::default(),
            tenants: 50,
            scale: 1.0,
            seed: 42,
            database: None,
            skip_rls_price: false,
        }
    }
}

impl LoadConfig {
    /// The generator's spec for this run's data.
    pub fn spec(&self) -> fixtures::generate::Spec {
        fixtures::generate::Spec {
            tenants: self.tenants.min(u32::MAX as usize) as u32,
            scale: self.scale,
            seed: self.seed,
            edge_rate: 0.0,
        }
    }

    /// The think time every kind uses, when the config sets one.
    pub fn think(&self) -> Option<(std::time::Duration, std::time::Duration)> {
        let (lo, hi) = (self.think_min_secs?, self.think_max_secs?);
        Some((
            std::time::Duration::from_secs_f64(lo),
            std::time::Duration::from_secs_f64(hi),
        ))
    }

    /// Refuse settings that cannot run, with what to change.
    pub fn validate(&self) -> Result<(), String> {
        if self.mode == Mode::Closed && self.users == 0 {
            return Err("[load] users must be at least 1".into());
        }
        if self.mode == Mode::Open && self.rate.is_nan() || self.rate <= 0.0 {
            return Err("[load] rate must be above 0 steps/s in open mode".into());
        }
        if self.steady_secs == 0 {
            return Err(
                "[load] steady_secs must be at least 1: the gates judge the steady state".into(),
            );
        }
        match (self.think_min_secs, self.think_max_secs) {
            (Some(lo), Some(hi)) if 0.0 <= lo && lo <= hi => {}
            (None, None) => {}
            _ => return Err(
                "[load] think time: give both think_min_secs and think_max_secs, 0 <= min <= max"
                    .into(),
            ),
        }
        if self.primary_pool == 0 || self.replica_pool == 0 {
            return Err("[load] pool sizes must be at least 1".into());
        }
        if !self.mix.is_empty() && self.mix.values().all(|&w| w == 0) {
            return Err(
                "[load.mix] every weight is 0: give at least one kind of user a weight".into(),
            );
        }
        if self.tenants == 0 || self.scale.is_nan() || self.scale <= 0.0 {
            return Err("[load] tenants and scale must be above 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_promise_and_typos_fail() {
        let c = LoadConfig::default();
        assert_eq!(c.users, 10_000);
        assert_eq!(c.thresholds.p95_ms, 100.0);
        assert!(c.steady_secs >= 120);
        assert!(c.validate().is_ok());
        let file = crate::config::HarnessConfig::from_toml(
            "[load]\nusers = 5\n[load.thresholds]\np95_ms = 1\np59_ms = 2\n",
        )
        .unwrap();
        let err = file.section::<LoadConfig>("load").unwrap_err().to_string();
        assert!(err.contains("p59_ms"), "{err}");
        let bad = LoadConfig {
            think_min_secs: Some(5.0),
            think_max_secs: Some(1.0),
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("think"));
    }
}
