//! The harness: the `harness` CLI over the engine ([`harness_engine`],
//! re-exported here stage by stage), plus what runs the reference app's
//! own Rust (its generator for `seed`, its journeys for `load`).
//!
//! - [`app`]: the app folder, the one way the engine learns about an app
//!   ([`reference`]: the folder used when none is given).
//! - [`init`]: any SQLite file -> a drafted app folder.
//! - [`config`]: defaults, `harness.toml`, profiles, env, flags.
//! - [`cluster`]: a real primary and streaming replica (native, docker,
//!   external), lag, faults, teardown.
//! - [`migrate`]: SQLite -> PostgreSQL, verification, export back.
//! - [`rls`]: roles, policies, the isolation checks, `audit-rls`.
//! - [`load`]: goose runs, gates, database sampling, capacity steps.
//! - [`report`]: one run folder per run (JSON, HTML, JUnit, Markdown).
//! - [`drill`]: a base backup and WAL archive taken under load, restored
//!   to a point in time and compared table by table.
//! - [`cli`]: the command line over the stages above; [`exit_codes`] is
//!   what CI reads.

pub use harness_engine::{app, cluster, config, data, exit_codes, init, migrate, report, rls};

pub mod cli;
pub mod drill;
pub mod load;
pub mod reference;

pub use fixtures::tenant;
