//! The engine: every stage of a migration rehearsal that works for any app,
//! and nothing that belongs to one. An app reaches the engine only as an
//! app folder ([`app`]); this crate depends on no app crate (the reference
//! app's generator and load journeys live in `fixtures` and `scenarios`,
//! which the `harness` crate, the CLI, brings in).
//!
//! - [`app`]: the app folder, read and checked.
//! - [`init`]: any SQLite file -> a drafted app folder, each rule with its evidence.
//! - [`config`]: defaults, `harness.toml`, profiles, env, flags.
//! - [`cluster`]: a real primary and streaming replica (native, docker,
//!   external), lag, faults, teardown.
//! - [`migrate`]: SQLite -> PostgreSQL, verification, export back.
//! - [`rls`]: logging in as an app's roles, and `audit-rls`.
//! - [`report`]: one run folder per run (JSON, HTML, JUnit, Markdown).
//! - [`exit_codes`]: what CI reads.

pub mod app;
pub mod cluster;
pub mod config;
pub mod data;
pub mod exit_codes;
pub mod init;
pub mod migrate;
pub mod report;
pub mod rls;
