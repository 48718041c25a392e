//! SQLite -> PostgreSQL, verified: the migration, its verification and the
//! export back, as a library (`harness migrate|verify|export` and the load
//! runs call [`migrate()`], [`verify()`] and [`export()`]).
//!
//! One run, in the order the modules take it:
//!
//! 1. [`source`]: open the legacy file read-only and prove it is whole and
//!    has the app's tables *before* the target is touched (bad input changes
//!    nothing).
//! 2. [`target`]: connect, apply the app folder's migrations, create the
//!    `harness_migration` bookkeeping schema, switch to the app's owner
//!    role (COPY into RLS tables needs a role RLS does not bind),
//!    and decide per table: already done by this file (skip), empty (copy),
//!    holding other data (refuse, before writing anything).
//! 3. [`copy`]: per table, in foreign-key order, three stages at once: a
//!    reader thread (rusqlite) -> bounded channel -> a converter thread
//!    ([`convert`]: the rules, the orphan check, COPY text, row digests) ->
//!    bounded channel -> the async COPY writer. Each table is one
//!    transaction that also writes its commit marker, so a SIGKILL leaves
//!    every table either done or untouched and a re-run finishes the rest.
//!    A row PostgreSQL refuses (unique index, CHECK) is located by COPY's
//!    line number, rejected, and the table redone without it.
//! 4. [`reject`]: every row that did not move, with its reason.
//! 5. [`verify`]: counts and canonical per-row digests rolled up per table
//!    and tenant on both sides; a mismatch is bisected down to the rows.
//! 6. [`export`]: PostgreSQL back to the legacy SQLite shape.
//! 7. [`summary`]: progress bars and the final pgloader-like table.
//!
//! Everything about the app (tables, columns, rules, tenant, roles) comes
//! from its folder ([`crate::app::App`]); nothing here names an app's
//! table, column or role. [`keys`] makes reversible UUID keys for tables
//! whose mapping asks for them.

pub mod binary;
pub mod convert;
pub mod copy;
pub mod export;
pub mod keys;
pub mod reject;
pub mod source;
pub mod summary;
pub mod target;
pub mod verify;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use copy::migrate;
pub use export::{export, ExportReport};
pub use verify::{verify, Mismatch, VerifyReport};

use crate::exit_codes;

/// What to do with the first row that cannot move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop: the table in progress is rolled back; tables already done stay.
    #[default]
    Stop,
    /// Reject the row (reject file), carry on with the others.
    Skip,
}

/// How to run a migration.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    pub on_error: OnError,
    /// Where rejected rows are written (JSON lines).
    pub reject_path: PathBuf,
    /// Progress bars (drawn only when stderr is a terminal).
    pub progress: bool,
    /// Verify digests at the end.
    pub verify: bool,
    /// Run SQLite's `quick_check` before anything (a corrupt page found
    /// midway would otherwise leave a half-done target).
    pub integrity_check: bool,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions {
            on_error: OnError::Stop,
            reject_path: PathBuf::from("rejects.jsonl"),
            progress: true,
            verify: true,
            integrity_check: true,
        }
    }
}

/// One table's account.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TableReport {
    pub table: String,
    /// Rows in the legacy table.
    pub rows_read: u64,
    /// Rows in PostgreSQL after the run.
    pub rows_copied: u64,
    pub rejects: u64,
    /// Rejected rows whose own values were refused (the rest were rejected
    /// only because a row they reference was).
    #[serde(default)]
    pub root_rejects: u64,
    /// Cells no rule accepted, kept as NULL by the column's `on_bad = "null"`.
    #[serde(default)]
    pub cells_nulled: u64,
    /// "Unknown" timestamps (0, '') that became NULL by rule.
    pub unknown_to_null: u64,
    /// COPY bytes sent (final pass).
    pub bytes: u64,
    pub seconds: f64,
    /// Passes over the table (1 + rows PostgreSQL refused).
    pub passes: u32,
    /// Done by an earlier run of the same file: left alone.
    pub already_done: bool,
}

impl TableReport {
    pub fn rows_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.rows_copied as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// The account of one migration run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MigrationReport {
    /// The app folder the run read.
    #[serde(default)]
    pub app: String,
    pub tables: Vec<TableReport>,
    pub rejects: u64,
    /// Rows rejected for their own values (see [`TableReport::root_rejects`]).
    #[serde(default)]
    pub root_rejects: u64,
    #[serde(default)]
    pub cells_nulled: u64,
    pub reject_path: PathBuf,
    /// Set when `--on-error stop` stopped the run: which table and why.
    pub stopped: Option<String>,
    /// Seconds spent loading (validation, schema, COPY), verification excluded.
    pub load_seconds: f64,
    pub verify_seconds: f64,
    pub verify: Option<VerifyReport>,
    /// The role the rows were written as.
    pub role: String,
}

impl MigrationReport {
    pub fn rows_copied(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_copied).sum()
    }

    /// The exit code the run deserves: a verification mismatch first (data
    /// differs), then rejected rows.
    pub fn exit_code(&self) -> i32 {
        if self.verify.as_ref().is_some_and(|v| !v.ok()) {
            exit_codes::VERIFY_MISMATCH
        } else if self.rejects > 0 || self.stopped.is_some() {
            exit_codes::REJECTED_ROWS
        } else {
            exit_codes::OK
        }
    }
}

/// Why a migration, verification or export could not run.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("legacy file {path}: {problem}")]
    BadSource { path: PathBuf, problem: String },
    #[error("legacy file {path} has no table {table:?}, which the app folder {app} maps: it is not that app's database (or the mapping is for another version of it); nothing was changed. Draft a folder for this file with `harness init DIR --from {path}`")]
    MissingTable {
        path: PathBuf,
        table: String,
        app: PathBuf,
    },
    #[error(transparent)]
    App(#[from] crate::app::AppError),
    #[error(
        "reading legacy table {table} failed: {source}; is the file being written or damaged?"
    )]
    Read {
        table: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot reach the target {target}: {source}; check the URL, that the server runs and accepts this user")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("applying the schema migrations to the target failed: {source}")]
    Schema {
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("target: {what}: {source}")]
    Target {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("the target already holds data in {table} that {why}; nothing was written. Migrate into an empty database (or drop this one) ")]
    TargetNotEmpty { table: String, why: String },
    #[error("writing the reject file {path}: {source}")]
    RejectFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the export file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("export of {table}: {problem}")]
    Export { table: String, problem: String },
    #[error("a pipeline stage of {table} failed: {problem}")]
    Pipeline { table: String, problem: String },
}

impl MigrateError {
    /// The exit code this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            MigrateError::BadSource { .. }
            | MigrateError::MissingTable { .. }
            | MigrateError::App(_)
            | MigrateError::TargetNotEmpty { .. } => exit_codes::BAD_INPUT,
            MigrateError::Connect { .. } | MigrateError::Schema { .. } => exit_codes::SETUP_FAILED,
            _ => exit_codes::INTERNAL,
        }
    }

    pub(crate) fn target(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> MigrateError {
        let what = what.into();
        move |source| MigrateError::Target { what, source }
    }
}
