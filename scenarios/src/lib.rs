//! goose load journeys for the reference app (the housing portal, `apps/portal`),
//! one module per kind of user, as goose's own `examples/umami` is laid out:
//!
//! - [`browsing`]: applicants searching and reading projects (replica).
//! - [`applying`]: applicants applying and reading their own applications
//!   (primary write, then a read-your-own-write).
//! - [`staff`]: dashboards with application statistics, applicant search.
//! - [`admin`]: bulk status updates (row locks, primary).
//! - [`contact`]: the public contact form (primary insert).
//! - [`common`]: the query/outcome types, the [`common::Executor`] the
//!   harness implements, tenant drawing, and the goose glue.
//! - [`queries`]: every named SQL query, in one place.
//!
//! Journeys never hold a connection: they hand named queries to the
//! executor, which owns pooling, routing and timing. So the same steps run
//! under goose's closed model and under the harness's open-model scheduler.

pub mod admin;
pub mod applying;
pub mod browsing;
pub mod common;
pub mod contact;
pub mod queries;
pub mod staff;

pub use common::{
    goose_scenarios, Catalog, Env, Executor, Kind, Mix, Outcome, Param, Query, Route, Server, Step,
    TenantSample, UserState,
};
