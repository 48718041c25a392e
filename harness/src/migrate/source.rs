//! The legacy side: open a SQLite file read-only, prove it is a whole
//! SQLite database with the app's tables and columns before anything is
//! written anywhere, and stream a table's rows in legacy id order.
//!
//! Streaming runs on its own OS thread (rusqlite is blocking) and hands
//! batches of rows to the converter through a bounded channel, so memory
//! stays flat whatever the file's size and reading overlaps converting and
//! writing.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

use fixtures::schema::Table;
use rusqlite::{Connection, OpenFlags};

use super::convert::Raw;
use super::MigrateError;

/// Rows per batch handed from the reader to the converter.
pub const BATCH_ROWS: usize = 2048;

/// A validated legacy file.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    /// Rows per table at open time.
    pub counts: BTreeMap<Table, u64>,
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

impl Source {
    /// Open and validate; `integrity` runs SQLite's `quick_check` over every
    /// page (a corrupt page found midway would otherwise leave a half-done
    /// migration).
    pub fn open(path: &Path, integrity: bool) -> Result<Source, MigrateError> {
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
        let mut counts = BTreeMap::new();
        for t in Table::ALL {
            let cols: Vec<String> = db
                .prepare(&format!(
                    "select name from pragma_table_info('{}')",
                    t.name()
                ))
                .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect())
                .map_err(|e| bad(format!("cannot read its schema: {e}")))?;
            if cols.is_empty() {
                return Err(MigrateError::MissingTable {
                    path: path.to_path_buf(),
                    table: t.name().to_string(),
                });
            }
            for want in t.def().legacy_columns() {
                if !cols.iter().any(|c| c == want) {
                    return Err(bad(format!(
                        "table {} has no column {want}; it is not the legacy app's schema",
                        t.name()
                    )));
                }
            }
            let n: i64 = db
                .query_row(&format!("select count(*) from \"{}\"", t.name()), [], |r| {
                    r.get(0)
                })
                .map_err(|e| bad(format!("cannot count {}: {e}", t.name())))?;
            counts.insert(t, n as u64);
        }
        Ok(Source {
            path: path.to_path_buf(),
            counts,
        })
    }
}

/// The SELECT that reads a table's legacy columns in id order, optionally
/// for one tenant.
pub fn select_sql(table: Table, tenant: Option<i64>) -> String {
    let cols: Vec<String> = table
        .def()
        .legacy_columns()
        .map(|c| format!("\"{c}\""))
        .collect();
    let filter = match (tenant, table.is_tenant_child()) {
        (Some(t), true) => format!(" where company_id = {t}"),
        (Some(t), false) => format!(" where id = {t}"),
        (None, _) => String::new(),
    };
    format!(
        "select {} from \"{}\"{filter} order by id",
        cols.join(", "),
        table.name()
    )
}

/// Read every row of `table` into `tx` as flat batches (`width` values a
/// row). Stops early, without error, when the receiver hangs up.
pub fn read_table(
    path: &Path,
    table: Table,
    tenant: Option<i64>,
    tx: SyncSender<Vec<Raw>>,
) -> Result<u64, MigrateError> {
    let db = connect(path)?;
    let width = table.def().legacy_columns().count();
    let err = |e: rusqlite::Error| MigrateError::Read {
        table: table.name().to_string(),
        source: e,
    };
    let mut stmt = db.prepare(&select_sql(table, tenant)).map_err(err)?;
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
