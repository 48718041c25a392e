//! The legacy side: open a SQLite file read-only, prove it is a whole
//! SQLite database with the tables and columns the app's mapping reads before anything is
//! written anywhere, and stream a table's rows in legacy key order.
//!
//! Streaming runs on its own OS thread (rusqlite is blocking) and hands
//! batches of rows to the converter through a bounded channel, so memory
//! stays flat whatever the file's size and reading overlaps converting and
//! writing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

use rusqlite::{Connection, OpenFlags};

use super::convert::{Plan, Raw};
use super::MigrateError;
use crate::app::{quote, App, TenantLink};

/// Rows per batch handed from the reader to the converter.
pub const BATCH_ROWS: usize = 2048;

/// A validated legacy file.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    /// Rows per mapped table (mapping order) at open time.
    pub counts: Vec<u64>,
}

pub fn connect(path: &Path) -> Result<Connection, MigrateError> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| MigrateError::BadSource {
        path: path.to_path_buf(),
        problem: format!("cannot open it read-only: {e}"),
    })
}

/// A legacy column in SQL: quoted, except SQLite's names for the rowid
/// (`rowid`, `_rowid_`, `oid`), written bare: that is the spelling SQLite
/// documents for the rowid of a table without an integer key.
pub fn legacy_ident(name: &str) -> String {
    if is_rowid(name) {
        name.to_string()
    } else {
        quote(name)
    }
}

/// Whether `name` is one of SQLite's names for the rowid.
pub fn is_rowid(name: &str) -> bool {
    ["rowid", "_rowid_", "oid"]
        .iter()
        .any(|r| name.eq_ignore_ascii_case(r))
}

impl Source {
    /// Open and validate against the app's mapping; `integrity` runs
    /// SQLite's `quick_check` over every page (a corrupt page found midway
    /// would otherwise leave a half-done migration).
    pub fn open(path: &Path, app: &App, integrity: bool) -> Result<Source, MigrateError> {
        let bad = |problem: String| MigrateError::BadSource {
            path: path.to_path_buf(),
            problem,
        };
        let mut header = [0u8; 16];
        let mut f = std::fs::File::open(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let n = f
            .read(&mut header)
            .map_err(|e| bad(format!("cannot read it: {e}")))?;
        if n < 16 || &header != b"SQLite format 3\0" {
            return Err(bad(
                "it is not a SQLite database (no 'SQLite format 3' header); give the legacy .db file".into(),
            ));
        }
        let db = connect(path)?;
        if integrity {
            let res: Vec<String> = db
                .prepare("pragma quick_check")
                .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect())
                .map_err(|e| bad(format!("it is corrupt: {e}")))?;
            if res != ["ok"] {
                return Err(bad(format!(
                    "it is corrupt (quick_check: {}); restore it from a backup",
                    res.join("; ")
                )));
            }
        }
        let mut counts = Vec::new();
        for t in &app.mapping.tables {
            let legacy = t.legacy_name();
            let cols: Vec<String> = db
                .prepare("select name from pragma_table_xinfo(?1)")
                .and_then(|mut s| s.query_map([legacy], |r| r.get::<_, String>(0))?.collect())
                .map_err(|e| bad(format!("cannot read its schema: {e}")))?;
            if cols.is_empty() {
                return Err(MigrateError::MissingTable {
                    path: path.to_path_buf(),
                    table: legacy.to_string(),
                    app: app.dir.clone(),
                });
            }
            for want in t.legacy_columns() {
                if !is_rowid(want) && !cols.iter().any(|c| c == want) {
                    return Err(bad(format!(
                        "table {legacy:?} has no column {want:?}, which {} maps; is this the app's file, or does the mapping need the column's new name?",
                        app.dir.join("mapping.toml").display()
                    )));
                }
            }
            let n: i64 = db
                .query_row(
                    &format!("select count(*) from {}", quote(legacy)),
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| bad(format!("cannot count {legacy}: {e}")))?;
            counts.push(n as u64);
        }
        Ok(Source {
            path: path.to_path_buf(),
            counts,
        })
    }
}

/// The SELECT that reads a table's legacy columns in key order, optionally
/// for one tenant (`Some(None)`: rows without a tenant).
pub fn select_sql(plan: &Plan, tenant: Option<Option<i64>>) -> String {
    let cols: Vec<String> = plan.def.legacy_columns().map(legacy_ident).collect();
    let key = legacy_ident(&plan.def.columns[plan.key_col].legacy[0]);
    let filter = match (tenant, plan.tenant) {
        (Some(Some(t)), TenantLink::Root) => format!(" where {key} = {t}"),
        (Some(Some(t)), TenantLink::Column(i)) => format!(
            " where {} = {t}",
            legacy_ident(&plan.def.columns[i].legacy[0])
        ),
        (Some(None), TenantLink::Column(i)) => format!(
            " where {} is null",
            legacy_ident(&plan.def.columns[i].legacy[0])
        ),
        (Some(Some(_)), TenantLink::None) => " where false".to_string(),
        _ => String::new(),
    };
    format!(
        "select {} from {}{filter} order by {key}",
        cols.join(", "),
        quote(plan.def.legacy_name())
    )
}

/// Read every row of the plan's table into `tx` as flat batches (`width`
/// values a row). Stops early, without error, when the receiver hangs up.
pub fn read_table(
    path: &Path,
    plan: &Plan,
    tenant: Option<Option<i64>>,
    tx: SyncSender<Vec<Raw>>,
) -> Result<u64, MigrateError> {
    let db = connect(path)?;
    let width = plan.legacy_width();
    let err = |e: rusqlite::Error| MigrateError::Read {
        table: plan.def.legacy_name().to_string(),
        source: e,
    };
    let mut stmt = db.prepare(&select_sql(plan, tenant)).map_err(err)?;
    let mut rows = stmt.query([]).map_err(err)?;
    let mut batch = Vec::with_capacity(BATCH_ROWS * width);
    let mut n = 0u64;
    while let Some(r) = rows.next().map_err(err)? {
        for i in 0..width {
            batch.push(Raw::from_ref(r.get_ref(i).map_err(err)?));
        }
        n += 1;
        if batch.len() >= BATCH_ROWS * width {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS * width));
            if tx.send(full).is_err() {
                return Ok(n);
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
    Ok(n)
}

/// SHA-256 of the whole file: the run's identity in the target's
/// bookkeeping, so a re-run can tell "the same file" from "another file".
pub fn fingerprint(path: &Path) -> Result<String, MigrateError> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path).map_err(|e| MigrateError::BadSource {
        path: path.to_path_buf(),
        problem: format!("cannot read it: {e}"),
    })?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| MigrateError::BadSource {
            path: path.to_path_buf(),
            problem: format!("cannot read it: {e}"),
        })?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
