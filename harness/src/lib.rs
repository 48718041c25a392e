//! The harness library: everything the `harness` CLI does, in the order a
//! run goes through it.
//!
//! - [`app`]: the app folder, the one way the engine learns about an app
//!   ([`reference`]: the folder used when none is given).
//! - [`config`]: defaults, `harness.toml`, profiles, env, flags.
//! - [`cluster`]: a real primary and streaming replica (native, docker,
//!   external), lag, faults, teardown.
//! - [`migrate`]: SQLite -> PostgreSQL, verification, export back.
//! - [`rls`]: roles, policies, the isolation checks, `audit-rls`.
//! - [`load`]: goose runs, gates, database sampling, capacity steps.
//! - [`report`]: one run folder per run (JSON, HTML, JUnit, Markdown).
//! - [`cli`]: the command line over the stages above; [`exit_codes`] is
//!   what CI reads.

pub mod app;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod exit_codes;
pub mod init;
pub mod load;
pub mod migrate;
pub mod reference;
pub mod report;
pub mod rls;

pub use fixtures::tenant;
