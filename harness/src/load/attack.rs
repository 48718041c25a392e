//! The closed model: a goose 0.19 attack over the workload's users.
//!
//! goose is driven as a library, never from its own command line: a
//! [`GooseConfiguration`] built here (so the harness's flags and
//! `harness.toml` are the only interface), one shared HTTP client that is
//! never used (SQL users make no HTTP requests; a client per user would
//! cost memory at 10k users), no telnet/WebSocket controller, and goose's
//! own HTML/JSON/Markdown reports written into the run folder beside ours.
//! goose resets its metrics once every user has started, so its reports
//! cover the steady state, like the harness's own gates.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::prelude::*;
use scenarios::Env;

/// What one closed-model attack is asked to do.
#[derive(Debug, Clone)]
pub struct ClosedPlan {
    pub users: usize,
    pub ramp_secs: usize,
    pub steady_secs: usize,
    /// One think time for every kind of user; `None`: each kind's own.
    pub think: Option<(Duration, Duration)>,
    pub seed: u64,
}

/// goose's reports, as written into the run folder. Not its HTML report:
/// that page loads its chart library from a CDN and shows blank charts
/// offline; the run's own report.html draws every chart itself.
pub const GOOSE_REPORTS: [&str; 2] = ["goose.json", "goose.md"];

/// Run the attack; goose's reports go into `dir` when given.
pub async fn run_closed(
    env: Arc<Env>,
    plan: &ClosedPlan,
    dir: Option<&Path>,
) -> Result<GooseMetrics, GooseError> {
    let mut config = GooseConfiguration::default();
    if let Some(d) = dir {
        config.report_file = GOOSE_REPORTS
            .iter()
            .map(|f| d.join(f).display().to_string())
            .collect();
    }
    let mut attack = GooseAttack::initialize_with_config(config)?
        .set_client_builder_without_cookies(GooseClientBuilder::new().without_cookies())?
        .set_scheduler(GooseScheduler::RoundRobin);
    for sc in scenarios::goose_scenarios(env, plan.think, plan.seed)? {
        attack = attack.register_scenario(sc);
    }
    let users = plan.users.max(2);
    // SQL users make no HTTP request; goose still wants a host.
    attack = *attack.set_default(GooseDefault::Host, "http://127.0.0.1")?;
    attack = *attack.set_default(GooseDefault::Users, users)?;
    attack = *attack.set_default(GooseDefault::RunTime, plan.steady_secs)?;
    attack = *attack.set_default(GooseDefault::NoTelnet, true)?;
    attack = *attack.set_default(GooseDefault::NoPrintMetrics, true)?;
    attack = *attack.set_default(GooseDefault::Quiet, 1)?;
    attack = if plan.ramp_secs > 0 {
        *attack.set_default(GooseDefault::IncreaseTime, plan.ramp_secs)?
    } else {
        *attack.set_default(GooseDefault::IncreaseRate, users.to_string().as_str())?
    };
    attack.execute().await
}
