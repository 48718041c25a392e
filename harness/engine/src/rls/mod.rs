//! Row-level security: logging in as an app's roles, and `audit-rls`, the
//! catalog audit that finds the classic RLS mistakes in any database.
//!
//! What isolation has to mean is docs/rls.md. An app's policies are SQL
//! migrations in its folder, so a DBA reviews them as SQL and every
//! database the harness creates for the app gets them the same way. The
//! tenant context an app sets before each transaction is its `app.toml`'s
//! `tenant.setting`.
//!
//! - [`roles`]: logging in as the roles an app's `app.toml` names.
//! - [`audit`]: catalog reads in a read-only transaction, then pure checks
//!   that turn them into findings with a severity and a hint; it infers
//!   the tenancy model (a setting, JWT-claim context functions, membership
//!   lookups) from the catalog.
//! - [`price`]: what RLS costs each named query (plan and time as the app
//!   role and unbound, the indexes it loses and why).
//! - [`prove`]: `prove-rls`, the isolation property by proptest over every
//!   tenant table of any database, as the app role, on the primary and the
//!   replica, plus behavioural probes for the pitfalls.
//!
//! The proofs that the reference app's policies hold (a proptest over every
//! table and command, on the primary and the replica, and one test per
//! pitfall of docs/rls.md against a deliberately flawed schema) are
//! integration tests: `harness/tests/integration/rls.rs`.

pub mod audit;
pub mod price;
pub mod prove;
pub mod roles;

pub use audit::{audit, audit_url, AuditOptions, AuditReport, Finding, Severity};
