//! Row-level security: the roles the portal runs as, and `audit-rls`, the
//! catalog audit that finds the classic RLS mistakes in any database.
//!
//! What isolation has to mean is `../shared/RLS.md`; the policies that give
//! it to our schema are SQL migrations (`apps/portal/migrations/0100-0199`), so
//! a DBA reviews them as SQL and every database the harness creates gets
//! them through `fixtures::schema::MIGRATOR`. The tenant context the app
//! sets before each transaction is [`crate::tenant`] (it lives in
//! `fixtures` because the load journeys use it too).
//!
//! - [`roles`]: the owner, app and reader roles, and logging in as them.
//! - [`audit`]: catalog reads in a read-only transaction, then pure checks
//!   that turn them into findings with a severity and a hint.
//!
//! The proofs that the policies hold (a proptest over every table and
//! command, on the primary and the replica, and one test per item of
//! RLS.md against a deliberately flawed schema) are integration tests:
//! `harness/tests/integration/rls.rs`.

pub mod audit;
pub mod roles;

pub use audit::{audit, audit_url, AuditOptions, AuditReport, Finding, Severity};
