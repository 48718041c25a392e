//! The reject file: one JSON object per line for every row that did not
//! move, so nothing is dropped silently and a human (or `jq`) can read why.
//!
//! JSON lines rather than CSV because rejected values are exactly the ones
//! with NULs, invalid UTF-8, embedded newlines and quotes; JSON escapes them
//! without ambiguity (invalid UTF-8 and NUL-bearing text are given as
//! `{"hex": "..."}`). Fields (docs/migrate.md):
//! `table`, `legacy_key` (the legacy integer id, or null when the id itself
//! was unreadable), `column`, `value`, `reason`, `stage` (`convert`: a
//! conversion rule refused it; `orphan`: its parent row is missing or
//! belongs to another tenant; `postgres`: PostgreSQL refused it, e.g. a
//! duplicate under a unique index or a CHECK; `cell`: the row moved, but
//! this cell no rule accepted became NULL, as its column's `on_bad = "null"`
//! says), and `cause`: for a row rejected only because a row it references
//! was, that row and its reason (the root cause, so one bad parent does not
//! read as thousands of unexplained orphans).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::MigrateError;

/// Where a reject was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Convert,
    Orphan,
    Postgres,
    Cell,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Convert => "convert",
            Stage::Orphan => "orphan",
            Stage::Postgres => "postgres",
            Stage::Cell => "cell",
        }
    }
}

/// One line of the reject file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectRecord {
    pub table: String,
    pub legacy_key: Option<i64>,
    pub column: String,
    pub value: serde_json::Value,
    pub reason: String,
    pub stage: Stage,
    /// The rejected row this one was rejected for (`table key: reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl RejectRecord {
    /// Whether the row itself stays out of the target (a `cell` record's row moved).
    pub fn row_absent(&self) -> bool {
        self.stage != Stage::Cell
    }

    /// Whether the row was refused for its own values, not its parent's.
    pub fn is_root(&self) -> bool {
        self.row_absent() && self.cause.is_none()
    }

    /// What a row rejected because of this one names as its cause: this
    /// row's own cause, or this row.
    pub fn root_cause(&self) -> String {
        self.cause
            .clone()
            .unwrap_or_else(|| cause_text(&self.table, self.legacy_key, &self.column, &self.reason))
    }
}

/// A cause as the reject file spells it: `table key: column: reason`.
pub fn cause_text(table: &str, key: Option<i64>, column: &str, reason: &str) -> String {
    let key = key.map(|k| k.to_string()).unwrap_or_default();
    format!("{table} {key}: {column}: {reason}")
}

/// Appends records as they are decided (flushed per record: a crash must
/// not lose the account of what was refused).
pub struct RejectFile {
    path: PathBuf,
    out: BufWriter<File>,
    pub count: u64,
}

impl RejectFile {
    pub fn create(path: &Path) -> Result<RejectFile, MigrateError> {
        let f = File::create(path).map_err(|e| MigrateError::RejectFile {
            path: path.to_path_buf(),
            source: e,
        })?;
        Ok(RejectFile {
            path: path.to_path_buf(),
            out: BufWriter::new(f),
            count: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&mut self, r: &RejectRecord) -> Result<(), MigrateError> {
        let io = |e| MigrateError::RejectFile {
            path: self.path.clone(),
            source: e,
        };
        let line = serde_json::to_string(r).expect("a reject record serialises");
        self.out.write_all(line.as_bytes()).map_err(io)?;
        self.out.write_all(b"\n").map_err(io)?;
        self.out.flush().map_err(io)?;
        self.count += 1;
        Ok(())
    }
}

/// Read a reject file back (tests, tools).
pub fn read(path: &Path) -> std::io::Result<Vec<RejectRecord>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })
        .collect()
}
