//! PostgreSQL -> the legacy SQLite shape: the second half of the round trip
//! and the rollback path a migration must offer.
//!
//! Keys come back unchanged without a lookup table: integer keys were
//! kept, and UUIDs made by the migration decode to their legacy ids
//! ([`super::keys`]). A row created in PostgreSQL after the migration (a random
//! UUID) gets the next free legacy id of its table, and references to it
//! follow, because tables are exported parents first. Values are written in
//! the forms the legacy app wrote: booleans 0/1, timestamps
//! `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC, numerics, floats and coordinates
//! as REAL, lists comma-separated where that reads back the same (else
//! JSON), JSON as text, bytea as BLOB. The legacy schema is the app
//! folder's `legacy.sql`; a table without an integer key gets its rowid
//! back.
//!
//! Reading PostgreSQL is async and rusqlite is blocking, so a writer thread
//! owns the SQLite connection and receives batches through a bounded
//! channel.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use rusqlite::types::Value as Lv;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, PgConnection};
use uuid::Uuid;

use super::convert::{self, Plan, Val};
use super::keys;
use super::source::legacy_ident;
use super::verify::{decode_row, select_target_sql};
use super::{target, MigrateError};
use crate::app::{quote, App, Rule};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExportReport {
    pub path: PathBuf,
    /// (table, rows) in export order.
    pub tables: Vec<(String, u64)>,
    /// Rows whose UUID was not made by the migration and got a new legacy id.
    pub new_ids: u64,
}

/// A batch of legacy rows for the plan at this index.
struct Msg(usize, Vec<Vec<Lv>>);

/// uuid -> new legacy id, per table (by name), for rows not made by the migration.
type Fresh = HashMap<String, HashMap<Uuid, i64>>;

/// Export the target database into a new legacy SQLite file at `dest`.
pub async fn export(
    app: &App,
    target: &PgConnectOptions,
    dest: &Path,
) -> Result<ExportReport, MigrateError> {
    if dest.exists() {
        return Err(MigrateError::BadSource {
            path: dest.to_path_buf(),
            problem:
                "the export file already exists; choose a new path (an export never overwrites)"
                    .into(),
        });
    }
    let Some(legacy_sql) = app.legacy_sql.clone() else {
        return Err(MigrateError::BadSource {
            path: app.dir.join("legacy.sql"),
            problem: "the app folder has no legacy.sql (the SQLite schema to export into); `harness init` writes one".into(),
        });
    };
    let mut conn = target::connect(target).await?;
    target::become_migration_role(&mut conn, &app.toml.roles.owner, false).await?;

    let db = rusqlite::Connection::open(dest).map_err(|e| MigrateError::Write {
        path: dest.to_path_buf(),
        source: e,
    })?;
    let plans = Plan::all(app);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(4);
    let wpath = dest.to_path_buf();
    let wplans = plans.clone();
    let writer = std::thread::spawn(move || write_all(db, &wpath, &legacy_sql, &wplans, rx));

    let mut report = ExportReport {
        path: dest.to_path_buf(),
        ..Default::default()
    };
    let result = export_tables(&mut conn, &plans, &tx, &mut report).await;
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
    plans: &[Plan],
    tx: &std::sync::mpsc::SyncSender<Msg>,
    report: &mut ExportReport,
) -> Result<(), MigrateError> {
    let mut fresh: Fresh = HashMap::new();
    for plan in plans {
        let name = plan.name();
        let what = format!("exporting {name}");
        if let Some(tag) = plan.key_tag() {
            // Rows created in PostgreSQL (random UUIDs) get the next free ids.
            let key = quote(&plan.def.columns[plan.key_col].target);
            let ids_now: Vec<Uuid> =
                sqlx::query_scalar(AssertSqlSafe(format!("select {key} from {}", quote(name))))
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(MigrateError::target(what.clone()))?;
            let mut next = ids_now
                .iter()
                .filter_map(|u| keys::decode(tag, *u))
                .max()
                .unwrap_or(0)
                + 1;
            let mine = fresh.entry(name.to_string()).or_default();
            for u in ids_now {
                if keys::decode(tag, u).is_none() {
                    mine.insert(u, next);
                    next += 1;
                    report.new_ids += 1;
                }
            }
        }
        let mut rows = 0u64;
        let mut batch = Vec::with_capacity(1024);
        let sql = select_target_sql(plan, None);
        let mut stream = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *conn);
        while let Some(r) = stream
            .try_next()
            .await
            .map_err(MigrateError::target(what.clone()))?
        {
            let (_, _, vals) = decode_row(plan, &r).map_err(MigrateError::target(what.clone()))?;
            batch.push(legacy_row(plan, plans, &vals, &fresh)?);
            rows += 1;
            if batch.len() == 1024
                && tx
                    .send(Msg(plan.index, std::mem::take(&mut batch)))
                    .is_err()
            {
                return Ok(()); // the writer failed; its error is reported
            }
        }
        if !batch.is_empty() && tx.send(Msg(plan.index, batch)).is_err() {
            return Ok(());
        }
        report.tables.push((name.to_string(), rows));
    }
    Ok(())
}

/// The legacy key of a key value of table `of` (its tag), from the UUID or
/// from the ids given to rows created in PostgreSQL.
fn key_of(of: &Plan, v: &Val, fresh: &Fresh, in_table: &str) -> Result<i64, MigrateError> {
    if let Some(k) = of.key_of(v) {
        return Ok(k);
    }
    if let Val::Uuid(u) = v {
        if let Some(k) = fresh.get(of.name()).and_then(|m| m.get(u)) {
            return Ok(*k);
        }
    }
    Err(MigrateError::Export {
        table: in_table.into(),
        problem: format!("{v:?} names no exported row of {}", of.name()),
    })
}

/// One PostgreSQL row in the legacy column order and forms.
fn legacy_row(
    plan: &Plan,
    plans: &[Plan],
    vals: &[Val],
    fresh: &Fresh,
) -> Result<Vec<Lv>, MigrateError> {
    let def = &plan.def;
    let mut out = Vec::with_capacity(plan.legacy_width());
    // Only a row created in PostgreSQL needs a table looked up by name.
    let by_name = |n: &str| plans.iter().find(|p| p.name() == n);
    for (i, (c, v)) in def.columns.iter().zip(vals).enumerate() {
        if c.rule == Rule::Point {
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
        let lv = match (&c.rule, v) {
            (_, Val::Null) => Lv::Null,
            (Rule::Key { .. }, v) => Lv::Integer(key_of(plan, v, fresh, plan.name())?),
            (Rule::Ref { .. }, v) => {
                let parent = &plans[plan.parent_index(i).expect("a ref column has a parent")];
                Lv::Integer(key_of(parent, v, fresh, plan.name())?)
            }
            (Rule::RecordRef { table_column }, v) => match v {
                Val::Int(i) => Lv::Integer(*i),
                Val::Uuid(u) => match keys::decode_any(*u) {
                    Some((_, id)) => Lv::Integer(id),
                    None => {
                        // A row created in PostgreSQL: its table is named by the row.
                        let named = def
                            .columns
                            .iter()
                            .position(|c| c.legacy.contains(table_column))
                            .and_then(|p| match &vals[p] {
                                Val::Text(s) => by_name(s),
                                _ => None,
                            })
                            .unwrap_or(plan);
                        Lv::Integer(key_of(named, v, fresh, plan.name())?)
                    }
                },
                _ => unreachable!("references are keys"),
            },
            (_, Val::Text(s)) | (_, Val::Inet(s)) => Lv::Text(s.clone()),
            (_, Val::Int(i)) => Lv::Integer(*i),
            (_, Val::Float(f)) => Lv::Real(*f),
            (_, Val::Bytes(b)) => Lv::Blob(b.clone()),
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
            (Rule::TextArray { form }, Val::List(items)) => {
                Lv::Text(convert::list_form_text(items, *form))
            }
            (Rule::TextArray { .. }, v) | (_, v) => {
                return Err(MigrateError::Export {
                    table: plan.name().into(),
                    problem: format!(
                        "column {} (rule {}) holds an unexpected {v:?}",
                        c.target,
                        crate::app::mapping::rule_name(&def.columns[i].rule)
                    ),
                })
            }
        };
        out.push(lv);
    }
    Ok(out)
}

/// The statements of a SQL script, split where SQLite itself says a
/// statement is complete (so `;` inside strings, comments and trigger
/// bodies does not split).
pub fn statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in script.chars() {
        cur.push(ch);
        if ch == ';' && complete(&cur) {
            let s = cur.trim().to_string();
            if !s.trim_end_matches(';').trim().is_empty() {
                out.push(s);
            }
            cur.clear();
        }
    }
    if !cur.trim().is_empty() && !strip_comments(&cur).trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn complete(sql: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(sql) else {
        return false;
    };
    // SAFETY: a NUL-terminated string that outlives the call.
    unsafe { rusqlite::ffi::sqlite3_complete(c.as_ptr()) != 0 }
}

fn strip_comments(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a statement creates an index (built after the bulk insert).
fn is_index(stmt: &str) -> bool {
    let s = strip_comments(stmt).trim().to_ascii_uppercase();
    s.starts_with("CREATE INDEX") || s.starts_with("CREATE UNIQUE INDEX")
}

fn write_all(
    mut db: rusqlite::Connection,
    path: &Path,
    legacy_sql: &str,
    plans: &[Plan],
    rx: std::sync::mpsc::Receiver<Msg>,
) -> Result<(), MigrateError> {
    let err = |e| MigrateError::Write {
        path: path.to_path_buf(),
        source: e,
    };
    // The legacy app may never have enforced foreign keys; tables go parents first anyway.
    db.execute_batch(
        "pragma foreign_keys = off; pragma journal_mode = off; pragma synchronous = off;",
    )
    .map_err(err)?;
    let stmts = statements(legacy_sql);
    for s in stmts.iter().filter(|s| !is_index(s)) {
        db.execute_batch(s).map_err(err)?;
    }
    let tx = db.transaction().map_err(err)?;
    for Msg(index, rows) in rx {
        let plan = &plans[index];
        let cols: Vec<String> = plan.def.legacy_columns().map(legacy_ident).collect();
        let marks = vec!["?"; cols.len()].join(", ");
        let mut stmt = tx
            .prepare_cached(&format!(
                "insert into {} ({}) values ({marks})",
                quote(plan.def.legacy_name()),
                cols.join(", ")
            ))
            .map_err(err)?;
        for r in rows {
            stmt.execute(rusqlite::params_from_iter(r)).map_err(err)?;
        }
    }
    tx.commit().map_err(err)?;
    for s in stmts.iter().filter(|s| is_index(s)) {
        db.execute_batch(s).map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_where_sqlite_says_they_end() {
        let s = statements(
            "create table \"a;b\" (x text default ';'); -- c;\ncreate trigger t after insert on \"a;b\" begin select 1; end;\ncreate index i on \"a;b\"(x);",
        );
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(is_index(&s[2]));
        assert!(!is_index(&s[1]));
    }
}
