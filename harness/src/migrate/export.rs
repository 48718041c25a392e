//! PostgreSQL -> the legacy SQLite shape: the second half of the round trip
//! and the rollback path the seeds promise.
//!
//! UUIDs made by the migration decode to their legacy ids
//! (`fixtures::ids`), so keys and foreign keys come back unchanged without a
//! lookup table. A row created in PostgreSQL after the migration (a random
//! UUID) gets the next free legacy id of its table, and references to it
//! follow, because tables are exported parents first. Values are written in
//! the forms the legacy app wrote: booleans 0/1, timestamps
//! `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC, money and coordinates as REAL,
//! lists comma-separated where that reads back the same (else JSON), JSON as
//! text.
//!
//! Reading PostgreSQL is async and rusqlite is blocking, so a writer thread
//! owns the SQLite connection and receives batches through a bounded
//! channel.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use fixtures::ids;
use fixtures::schema::{Kind, Table};
use futures::TryStreamExt;
use rusqlite::types::Value as Lv;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, PgConnection};
use uuid::Uuid;

use super::convert::{self, Val};
use super::verify::{decode_row, select_target_sql};
use super::{target, MigrateError};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExportReport {
    pub path: PathBuf,
    /// (table, rows) in export order.
    pub tables: Vec<(String, u64)>,
    /// Rows whose UUID was not made by the migration and got a new legacy id.
    pub new_ids: u64,
}

enum Msg {
    Rows(Table, Vec<Vec<Lv>>),
}

/// Export the target database into a new legacy SQLite file at `dest`.
pub async fn export(target: &PgConnectOptions, dest: &Path) -> Result<ExportReport, MigrateError> {
    if dest.exists() {
        return Err(MigrateError::BadSource {
            path: dest.to_path_buf(),
            problem:
                "the export file already exists; choose a new path (an export never overwrites)"
                    .into(),
        });
    }
    let mut conn = target::connect(target).await?;
    target::become_migration_role(&mut conn, false).await?;

    let db = rusqlite::Connection::open(dest).map_err(|e| MigrateError::Write {
        path: dest.to_path_buf(),
        source: e,
    })?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(4);
    let wpath = dest.to_path_buf();
    let writer = std::thread::spawn(move || write_all(db, &wpath, rx));

    let mut report = ExportReport {
        path: dest.to_path_buf(),
        ..Default::default()
    };
    let result = export_tables(&mut conn, &tx, &mut report).await;
    drop(tx);
    let written = writer.join().map_err(|_| MigrateError::Export {
        table: "-".into(),
        problem: "the SQLite writer thread panicked".into(),
    })?;
    target::close(conn).await;
    if let Err(e) = result.and(written) {
        let _ = std::fs::remove_file(dest);
        return Err(e);
    }
    Ok(report)
}

async fn export_tables(
    conn: &mut PgConnection,
    tx: &std::sync::mpsc::SyncSender<Msg>,
    report: &mut ExportReport,
) -> Result<(), MigrateError> {
    // uuid -> new legacy id, per table, for rows not made by the migration.
    let mut fresh: HashMap<Table, HashMap<Uuid, i64>> = HashMap::new();
    for t in Table::ALL {
        let what = format!("exporting {}", t.name());
        let ids_now: Vec<Uuid> =
            sqlx::query_scalar(AssertSqlSafe(format!("select id from \"{}\"", t.name())))
                .fetch_all(&mut *conn)
                .await
                .map_err(MigrateError::target(what.clone()))?;
        let mut next = ids_now
            .iter()
            .filter_map(|u| ids::legacy_id(t, *u))
            .max()
            .unwrap_or(0)
            + 1;
        let mine = fresh.entry(t).or_default();
        for u in ids_now {
            if ids::legacy_id(t, u).is_none() {
                mine.insert(u, next);
                next += 1;
                report.new_ids += 1;
            }
        }
        let mut rows = 0u64;
        let mut batch = Vec::with_capacity(1024);
        let sql = select_target_sql(t, None);
        let mut stream = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *conn);
        while let Some(r) = stream
            .try_next()
            .await
            .map_err(MigrateError::target(what.clone()))?
        {
            let (_, _, vals) = decode_row(t, &r).map_err(MigrateError::target(what.clone()))?;
            batch.push(legacy_row(t, &vals, &fresh)?);
            rows += 1;
            if batch.len() == 1024 && tx.send(Msg::Rows(t, std::mem::take(&mut batch))).is_err() {
                return Ok(()); // the writer failed; its error is reported
            }
        }
        if !batch.is_empty() && tx.send(Msg::Rows(t, batch)).is_err() {
            return Ok(());
        }
        report.tables.push((t.name().into(), rows));
    }
    Ok(())
}

fn key_of(
    table: Table,
    u: Uuid,
    fresh: &HashMap<Table, HashMap<Uuid, i64>>,
    t: Table,
) -> Result<i64, MigrateError> {
    ids::legacy_id(table, u)
        .or_else(|| fresh.get(&table).and_then(|m| m.get(&u)).copied())
        .ok_or_else(|| MigrateError::Export {
            table: t.name().into(),
            problem: format!("uuid {u} names no exported row of {table}"),
        })
}

/// One PostgreSQL row in the legacy column order and forms.
fn legacy_row(
    t: Table,
    vals: &[Val],
    fresh: &HashMap<Table, HashMap<Uuid, i64>>,
) -> Result<Vec<Lv>, MigrateError> {
    let def = t.def();
    let mut out = Vec::with_capacity(def.legacy_columns().count());
    let table_name = def
        .columns
        .iter()
        .position(|c| c.target == "table_name")
        .and_then(|i| match &vals[i] {
            Val::Text(s) => Table::from_name(s),
            _ => None,
        });
    for (c, v) in def.columns.iter().zip(vals) {
        if c.kind == Kind::Point {
            match v {
                Val::Point(x, y) => {
                    out.push(Lv::Real(*y));
                    out.push(Lv::Real(*x));
                }
                _ => {
                    out.push(Lv::Null);
                    out.push(Lv::Null);
                }
            }
            continue;
        }
        let lv = match (c.kind, v) {
            (_, Val::Null) => Lv::Null,
            (Kind::Id, Val::Uuid(u)) => Lv::Integer(key_of(t, *u, fresh, t)?),
            (Kind::Ref(p), Val::Uuid(u)) => Lv::Integer(key_of(p, *u, fresh, t)?),
            (Kind::RecordRef, Val::Uuid(u)) => match ids::from_uuid(*u) {
                Some((_, id)) => Lv::Integer(id),
                None => Lv::Integer(key_of(table_name.unwrap_or(t), *u, fresh, t)?),
            },
            (_, Val::Text(s)) | (_, Val::Inet(s)) => Lv::Text(s.clone()),
            (_, Val::Int(i)) => Lv::Integer(*i),
            (_, Val::Numeric { units, scale }) => Lv::Real(
                convert::format_decimal(*units, *scale)
                    .parse()
                    .expect("a decimal parses as f64"),
            ),
            (_, Val::Bool(b)) => Lv::Integer(i64::from(*b)),
            (_, Val::Ts(us)) => {
                let s = convert::format_ts(*us);
                Lv::Text(s.strip_suffix(".000000").map(str::to_string).unwrap_or(s))
            }
            (_, Val::Date(d)) => Lv::Text(convert::format_date(*d)),
            (_, Val::Json(j)) => Lv::Text(j.clone()),
            (Kind::List(form), Val::List(items)) => Lv::Text(convert::list_form_text(items, form)),
            (k, v) => {
                return Err(MigrateError::Export {
                    table: t.name().into(),
                    problem: format!("column {} ({k:?}) holds an unexpected {v:?}", c.target),
                })
            }
        };
        out.push(lv);
    }
    Ok(out)
}

fn write_all(
    mut db: rusqlite::Connection,
    path: &Path,
    rx: std::sync::mpsc::Receiver<Msg>,
) -> Result<(), MigrateError> {
    let err = |e| MigrateError::Write {
        path: path.to_path_buf(),
        source: e,
    };
    // The legacy app never enforced foreign keys; tables go parents first anyway.
    db.execute_batch(
        "pragma foreign_keys = off; pragma journal_mode = off; pragma synchronous = off;",
    )
    .map_err(err)?;
    db.execute_batch(&fixtures::schema::legacy_tables_sql())
        .map_err(err)?;
    let tx = db.transaction().map_err(err)?;
    for Msg::Rows(t, rows) in rx {
        let cols: Vec<String> = t
            .def()
            .legacy_columns()
            .map(|c| format!("\"{c}\""))
            .collect();
        let marks = vec!["?"; cols.len()].join(", ");
        let mut stmt = tx
            .prepare_cached(&format!(
                "insert into \"{}\" ({}) values ({marks})",
                t.name(),
                cols.join(", ")
            ))
            .map_err(err)?;
        for r in rows {
            stmt.execute(rusqlite::params_from_iter(r)).map_err(err)?;
        }
    }
    tx.commit().map_err(err)?;
    db.execute_batch(&fixtures::schema::legacy_indexes_sql())
        .map_err(err)?;
    Ok(())
}
