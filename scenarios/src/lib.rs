//! Load for any app folder: its `workload.toml` (named queries, samples,
//! kinds of user) read, checked, compiled against the loaded database and
//! run under goose or the harness's open-model scheduler.
//!
//! The kinds of user are data, not modules: the reference app's five
//! (browsing and applying applicants, staff, admins, the public contact
//! form) are `apps/portal/workload.toml`, and an app brought by a user gets
//! the same interpreter with no Rust written for it. One run goes through
//! the modules in this order:
//!
//! - [`workload`]: the file format and its checks (every problem at once).
//! - [`plan`]: the file compiled on the server (statements prepared,
//!   parameter types learned, names turned into indexes) and the
//!   [`plan::Catalog`] of tenants and their samples.
//! - [`user`]: one simulated user: who it is, and how it runs a step.
//! - [`goose`]: the goose scenarios over [`user`] (closed model).
//! - [`common`]: the contract with the transport that sends the queries
//!   ([`Executor`]); [`value`] and [`bind`]: values and their binding.
//!
//! The interpreter never holds a connection: it hands named queries to the
//! executor, which owns pooling, routing and timing. So the same steps run
//! under goose's closed model and under the open-model scheduler.

pub mod bind;
pub mod common;
pub mod goose;
pub mod plan;
pub mod user;
pub mod value;
pub mod workload;

pub use common::{Context, Executor, Outcome, Query, Route, Server, RYW_MISS};
pub use goose::goose_scenarios;
pub use plan::{Catalog, Plan};
pub use user::{Env, UserState};
pub use value::{Param, Value};
pub use workload::{ClaimDef, Goals, Workload, WorkloadError};
