//! Read the legacy SQLite file's schema: tables, columns, keys, foreign
//! keys, indexes, views and triggers.
//!
//! Everything comes from `sqlite_master` and the table-valued pragmas
//! (`pragma_table_xinfo`, `pragma_foreign_key_list`, `pragma_index_list`,
//! `pragma_index_info`), with names passed as bound parameters so no name,
//! however odd, is ever spliced into a pragma. The file is opened read-only
//! and is never written; this module proves it is a SQLite file before
//! anything else looks at it.

use std::io::Read;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::InitError;
use crate::app::quote;

/// The legacy schema as SQLite reports it, in creation order.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub tables: Vec<Table>,
    pub views: Vec<Named>,
    pub triggers: Vec<Trigger>,
    /// Virtual tables (FTS and the like): their module's own storage, not rows.
    pub virtual_tables: Vec<Named>,
    /// Tables a virtual table keeps its data in (skipped with it).
    pub shadow_tables: Vec<String>,
}

/// A view or a virtual table.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub sql: String,
}

#[derive(Debug, Clone)]
pub struct Trigger {
    pub name: String,
    pub table: String,
    pub sql: String,
}

/// One ordinary table.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    /// The CREATE TABLE statement as `sqlite_master` holds it.
    pub sql: String,
    pub without_rowid: bool,
    pub columns: Vec<Column>,
    pub foreign_keys: Vec<ForeignKey>,
    pub indexes: Vec<Index>,
    /// CREATE INDEX statements of the indexes the user wrote (not the
    /// automatic ones behind UNIQUE and PRIMARY KEY).
    pub index_sql: Vec<String>,
    /// All rows of the table (`count(*)`).
    pub rows: u64,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// The declared type as written (may be empty or a typo).
    pub decl: String,
    pub notnull: bool,
    pub default: Option<String>,
    /// Position in the primary key (1-based), 0 when not part of it.
    pub pk: u32,
    /// A generated column (`GENERATED ALWAYS AS`, virtual or stored).
    pub generated: bool,
}

#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub parent: String,
    pub from: Vec<String>,
    /// The parent columns; `None` means "the parent's primary key".
    pub to: Vec<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct Index {
    pub name: String,
    pub unique: bool,
    /// `c` (CREATE INDEX), `u` (UNIQUE constraint), `pk` (PRIMARY KEY).
    pub origin: String,
    pub partial: bool,
    /// Key columns; `None` for an expression (or the rowid).
    pub columns: Vec<Option<String>>,
    /// The CREATE INDEX statement (`None` for an automatic index).
    pub sql: Option<String>,
}

impl Table {
    /// The primary-key columns in key order.
    pub fn pk_columns(&self) -> Vec<&Column> {
        let mut pk: Vec<&Column> = self.columns.iter().filter(|c| c.pk > 0).collect();
        pk.sort_by_key(|c| c.pk);
        pk
    }

    /// The column that is the rowid (`INTEGER PRIMARY KEY`), if any: a single
    /// primary-key column of a rowid table with no automatic index behind it
    /// (`INT PRIMARY KEY` or `INTEGER PRIMARY KEY DESC` get one and are not
    /// aliases).
    pub fn rowid_alias(&self) -> Option<usize> {
        if self.without_rowid {
            return None;
        }
        let pk = self.pk_columns();
        if pk.len() != 1 || self.indexes.iter().any(|i| i.origin == "pk") {
            return None;
        }
        if !pk[0].decl.trim().eq_ignore_ascii_case("integer") {
            return None;
        }
        self.columns.iter().position(|c| c.pk == 1)
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// Open `path` read-only after checking it is a SQLite file.
pub fn open(path: &Path) -> Result<Connection, InitError> {
    let bad = |problem: String| InitError::BadSource {
        path: path.to_path_buf(),
        problem,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(InitError::MissingSource {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(bad(format!("cannot read it: {e}"))),
    };
    if meta.is_dir() {
        return Err(bad(
            "is a directory; give the legacy SQLite file itself with --from".into(),
        ));
    }
    if meta.len() == 0 {
        return Err(InitError::NoTables {
            path: path.to_path_buf(),
        });
    }
    let mut header = [0u8; 16];
    let mut f = std::fs::File::open(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let mut n = 0;
    while n < header.len() {
        match f.read(&mut header[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(bad(format!("cannot read it: {e}"))),
        }
    }
    if n < 16 || &header != b"SQLite format 3\0" {
        return Err(bad(
            "it is not a SQLite database (no 'SQLite format 3' header); give the app's .db/.sqlite file"
                .into(),
        ));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| bad(format!("cannot open it read-only: {e}")))?;
    conn.query_row("select count(*) from sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| {
        bad(format!(
            "cannot read its schema ({e}); is it corrupt or encrypted? Restore a good copy or decrypt it first"
        ))
    })?;
    Ok(conn)
}

/// Read the whole schema.
pub fn read(conn: &Connection, path: &Path) -> Result<Schema, InitError> {
    let err = |what: &str| {
        let what = what.to_string();
        let path = path.to_path_buf();
        move |e: rusqlite::Error| InitError::Read {
            path: path.clone(),
            what: what.clone(),
            source: e,
        }
    };
    // Which tables are the storage of a virtual table (type 'shadow').
    let shadow: Vec<String> = conn
        .prepare("select name from pragma_table_list where schema = 'main' and type = 'shadow'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default();
    let mut entries: Vec<(String, String, String, Option<String>)> = conn
        .prepare(
            "select type, name, tbl_name, sql from sqlite_master
             where name not like 'sqlite\\_%' escape '\\' order by rowid",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect()
        })
        .map_err(err("the schema (sqlite_master)"))?;
    let mut schema = Schema::default();
    for (kind, name, tbl, sql) in entries.drain(..) {
        let sql = sql.unwrap_or_default();
        match kind.as_str() {
            "view" => schema.views.push(Named { name, sql }),
            "trigger" => schema.triggers.push(Trigger {
                name,
                table: tbl,
                sql,
            }),
            "table" if shadow.contains(&name) => schema.shadow_tables.push(name),
            "table" if starts_with_words(&sql, &["create", "virtual", "table"]) => {
                schema.virtual_tables.push(Named { name, sql })
            }
            "table" => {
                let t = read_table(conn, &name, sql).map_err(err(&format!("table {name:?}")))?;
                schema.tables.push(t);
            }
            _ => {}
        }
    }
    Ok(schema)
}

fn read_table(conn: &Connection, name: &str, sql: String) -> rusqlite::Result<Table> {
    let columns: Vec<Column> = conn
        .prepare(
            "select name, coalesce(type, ''), \"notnull\", dflt_value, pk, hidden
             from pragma_table_xinfo(?1) order by cid",
        )?
        .query_map([name], |r| {
            let hidden: i64 = r.get(5)?;
            Ok(Column {
                name: r.get(0)?,
                decl: r.get(1)?,
                notnull: r.get::<_, i64>(2)? != 0,
                default: r.get(3)?,
                pk: r.get::<_, i64>(4)?.clamp(0, i64::from(u32::MAX)) as u32,
                generated: hidden == 2 || hidden == 3,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut foreign_keys: Vec<ForeignKey> = Vec::new();
    let mut last_id = None;
    let mut stmt = conn.prepare(
        "select id, \"table\", \"from\", \"to\" from pragma_foreign_key_list(?1) order by id, seq",
    )?;
    let mut rows = stmt.query([name])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if last_id != Some(id) {
            foreign_keys.push(ForeignKey {
                parent: r.get(1)?,
                from: Vec::new(),
                to: Vec::new(),
            });
            last_id = Some(id);
        }
        if let Some(fk) = foreign_keys.last_mut() {
            fk.from.push(r.get(2)?);
            fk.to.push(r.get(3)?);
        }
    }
    drop(rows);
    drop(stmt);
    let list: Vec<(String, bool, String, bool)> = conn
        .prepare(
            "select name, \"unique\", origin, partial from pragma_index_list(?1) order by seq desc",
        )?
        .query_map([name], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? != 0,
                r.get(2)?,
                r.get::<_, i64>(3)? != 0,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut indexes = Vec::new();
    for (iname, unique, origin, partial) in list {
        let cols: Vec<Option<String>> = conn
            .prepare("select name from pragma_index_info(?1) order by seqno")?
            .query_map([&iname], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let sql: Option<String> = conn
            .query_row(
                "select sql from sqlite_master where type = 'index' and name = ?1",
                [&iname],
                |r| r.get(0),
            )
            .unwrap_or(None);
        indexes.push(Index {
            name: iname,
            unique,
            origin,
            partial,
            columns: cols,
            sql,
        });
    }
    let index_sql: Vec<String> = conn
        .prepare(
            "select sql from sqlite_master where type = 'index' and tbl_name = ?1
             and sql is not null order by rowid",
        )?
        .query_map([name], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let rows: i64 = conn.query_row(&format!("select count(*) from {}", quote(name)), [], |r| {
        r.get(0)
    })?;
    // The statement says so; SQLite agrees when none of the rowid's names
    // can be selected (a column may take one of them, not all three).
    let without_rowid = is_without_rowid(&sql)
        || ["rowid", "_rowid_", "oid"].iter().all(|alias| {
            conn.prepare(&format!("select {alias} from {} limit 0", quote(name)))
                .is_err()
        });
    Ok(Table {
        name: name.to_string(),
        sql,
        without_rowid,
        columns,
        foreign_keys,
        indexes,
        index_sql,
        rows: rows.max(0) as u64,
    })
}

/// Whether a CREATE TABLE statement ends in `WITHOUT ROWID` (the table
/// options follow the closing parenthesis; any case, any spacing).
pub fn is_without_rowid(sql: &str) -> bool {
    let Some(close) = sql.rfind(')') else {
        return false;
    };
    let tail: Vec<String> = sql[close + 1..]
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    tail.windows(2)
        .any(|w| w[0] == "without" && w[1] == "rowid")
}

fn starts_with_words(sql: &str, words: &[&str]) -> bool {
    let mut it = sql.split_whitespace();
    words
        .iter()
        .all(|w| it.next().is_some_and(|x| x.eq_ignore_ascii_case(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_rowid_is_read_from_the_table_options() {
        assert!(is_without_rowid(
            "CREATE TABLE t (a PRIMARY KEY) WITHOUT ROWID"
        ));
        assert!(is_without_rowid(
            "create table t (a primary key)\n  without\trowid"
        ));
        assert!(is_without_rowid(
            "CREATE TABLE t (a INT PRIMARY KEY) STRICT, WITHOUT ROWID"
        ));
        assert!(!is_without_rowid(
            "CREATE TABLE t (a TEXT DEFAULT 'without rowid')"
        ));
        assert!(!is_without_rowid("CREATE TABLE t (a)"));
    }
}
