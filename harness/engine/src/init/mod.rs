//! `harness init`: draft an app folder ([`crate::app`]) from any SQLite file.
//!
//! A team arrives with a SQLite file and no folder. This module reads the
//! file (read-only), looks at every table's schema and values, and writes a
//! folder the engine loads: the target schema, a mapping whose every rule
//! carries the evidence it was chosen on, roles and fail-closed row-level
//! security, a data generator drafted from the file's own values, and a
//! skeleton for the workload. What the file cannot tell (which column names
//! the tenant, whether a table without it is shared or reaches its tenant
//! through a parent, values no rule accepts) is listed as a decision, in the
//! returned [`InitReport`] and in the folder's README.
//!
//! The stages, one module each:
//! - [`inspect`]: the SQLite schema (tables, keys, foreign keys, indexes,
//!   views, triggers);
//! - [`profile`]: what the values look like and which rules accept them;
//! - [`rules`]: a rule per column from the declared type and the values;
//! - [`plan`]: names, keys, references, the tenant, the load order;
//! - [`draft`]: the files;
//! - [`datadraft`]: `data.toml`, the generator's description of the
//!   file's own data (rows per tenant, each column's kind).
//!
//! The draft is checked with [`App::load`] before `init` returns, so a
//! folder `init` reports as written is one the engine accepts.

pub mod datadraft;
pub mod draft;
pub mod inspect;
pub mod plan;
pub mod profile;
pub mod rules;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use crate::app::App;

/// What to draft, from what.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The app folder to write.
    pub dir: PathBuf,
    /// The legacy SQLite file (opened read-only).
    pub from: PathBuf,
    /// The column that names a row's tenant; guessed when `None`.
    pub tenant_column: Option<String>,
    /// Write into a non-empty `dir` (the files `init` writes are replaced).
    pub force: bool,
}

/// What `init` did.
#[derive(Debug, Clone, Default)]
pub struct InitReport {
    /// Tables drafted.
    pub tables: usize,
    /// Target columns drafted (all tables).
    pub columns: usize,
    /// What the user must decide (also in the folder's README.md).
    pub decisions: Vec<String>,
    /// Tables that could not be drafted, each with what to do.
    pub refused: Vec<String>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Why no folder was drafted.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{path}: no such file; give the app's SQLite file with --from")]
    MissingSource { path: PathBuf },
    #[error("{path}: {problem}")]
    BadSource { path: PathBuf, problem: String },
    #[error("{path} has no tables, so there is nothing to draft; give the SQLite file the app writes to")]
    NoTables { path: PathBuf },
    #[error("{path}: cannot read {what}: {source}; is the file corrupt or still being written?")]
    Read {
        path: PathBuf,
        what: String,
        source: rusqlite::Error,
    },
    #[error("{dir} exists and is not empty; choose a new folder, or pass --force to write the draft into it (init replaces only its own files)")]
    DirNotEmpty { dir: PathBuf },
    #[error("{dir} is a file, not a folder; give a folder path to write the draft into")]
    DirIsFile { dir: PathBuf },
    #[error("--tenant-column {column:?}: {problem}")]
    TenantColumn { column: String, problem: String },
    #[error("no table could be drafted:\n  - {}", refused.join("\n  - "))]
    NothingToDraft { refused: Vec<String> },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the draft written to {dir} does not load, which is a bug in harness init (please report it with the SQLite schema); the files are left for inspection:\n{problem}")]
    SelfCheck { dir: PathBuf, problem: String },
    #[error("harness init: {0}")]
    Internal(String),
}

impl InitError {
    /// Whether the error is about the user's input (exit code 4) rather
    /// than a failure of init itself.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            InitError::MissingSource { .. }
                | InitError::BadSource { .. }
                | InitError::NoTables { .. }
                | InitError::Read { .. }
                | InitError::DirNotEmpty { .. }
                | InitError::DirIsFile { .. }
                | InitError::TenantColumn { .. }
                | InitError::NothingToDraft { .. }
        )
    }
}

/// Draft the app folder `opts.dir` from `opts.from`. Blocking.
pub fn init(opts: &InitOptions) -> Result<InitReport, InitError> {
    let conn = inspect::open(&opts.from)?;
    let schema = inspect::read(&conn, &opts.from)?;
    if schema.tables.is_empty() && schema.virtual_tables.is_empty() {
        return Err(InitError::NoTables {
            path: opts.from.clone(),
        });
    }
    check_dir(&opts.dir, opts.force)?;
    let app_name = plan::sanitize_app_name(&folder_name(&opts.dir));
    let mut draft = plan::draft(
        &conn,
        &opts.from,
        &schema,
        plan::TenantWish {
            column: opts.tenant_column.as_deref(),
        },
        &app_name,
    )?;
    if opts.force {
        let strays = stray_migrations(&opts.dir);
        if !strays.is_empty() {
            draft.decisions.push(format!(
                "migrations/ also holds files init did not write ({}): remove them if they belong to an older draft, or they run with this one",
                strays.join(", ")
            ));
        }
    }
    let files = draft::write_folder(&opts.dir, &opts.from, &schema, &draft)?;
    App::load(&opts.dir).map_err(|e| InitError::SelfCheck {
        dir: opts.dir.clone(),
        problem: e.to_string(),
    })?;
    Ok(InitReport {
        tables: draft.tables.len(),
        columns: draft.tables.iter().map(|t| t.map.columns.len()).sum(),
        decisions: draft.decisions,
        refused: draft.refused,
        files,
    })
}

fn check_dir(dir: &Path, force: bool) -> Result<(), InitError> {
    match std::fs::metadata(dir) {
        Err(_) => Ok(()),
        Ok(m) if !m.is_dir() => Err(InitError::DirIsFile {
            dir: dir.to_path_buf(),
        }),
        Ok(_) => {
            let empty = std::fs::read_dir(dir)
                .map(|mut d| d.next().is_none())
                .map_err(|e| InitError::Write {
                    path: dir.to_path_buf(),
                    source: e,
                })?;
            if empty || force {
                Ok(())
            } else {
                Err(InitError::DirNotEmpty {
                    dir: dir.to_path_buf(),
                })
            }
        }
    }
}

/// The folder's own name (`.` and `..` resolved when the folder exists).
fn folder_name(dir: &Path) -> String {
    let named = |p: &Path| p.file_name().map(|f| f.to_string_lossy().into_owned());
    if dir
        .components()
        .next_back()
        .is_some_and(|c| matches!(c, std::path::Component::Normal(_)))
    {
        if let Some(n) = named(dir) {
            return n;
        }
    }
    std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| named(&p))
        .unwrap_or_else(|| "app".into())
}

/// Files in `dir/migrations` that init does not write.
fn stray_migrations(dir: &Path) -> Vec<String> {
    let ours: Vec<&str> = draft::FILES
        .iter()
        .filter_map(|f| f.strip_prefix("migrations/"))
        .collect();
    let Ok(entries) = std::fs::read_dir(dir.join("migrations")) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !ours.contains(&n.as_str()))
        .collect();
    out.sort();
    out
}
