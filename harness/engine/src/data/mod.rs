//! Tenant data for any app, from its folder's `data.toml`: a new legacy
//! SQLite file (the migration's source) with tenants skewed like real ones.
//!
//! How a file is made:
//!
//! 1. The folder's `legacy.sql` makes the schema. Each table data.toml lists
//!    is read back (`PRAGMA table_xinfo`, unique indexes), and each column
//!    gets a role: the key (the row's number), the tenant column, a
//!    reference (from the mapping's `ref` rules or a `ref =` line), a
//!    generated value (its data.toml line, else its declared type), or left
//!    to its default.
//! 2. Tenants get Zipf weights (`rank^-skew`, ranks shuffled by the seed,
//!    mean 1), so a few are large and most are small, as in real apps.
//!    A table's rows per tenant are `rows * scale * weight`, rounded at
//!    random so small tenants still get some; with `per`, each parent row
//!    gets its own count.
//! 3. Tables are written in the order listed, tenant by tenant, in one
//!    transaction. Keys count up from 1, so a tenant's rows of a table hold
//!    one range of keys: a reference draws a key from its own tenant's range
//!    of the parent table (no cross-tenant or dangling reference by
//!    construction) and memory is a few numbers per tenant and table, not
//!    per row.
//! 4. Each (table, tenant) pair draws from its own ChaCha8 stream derived
//!    from the seed, and hard values from a second stream, so the same seed
//!    gives the same bytes, and turning hard values on changes only the
//!    cells that the manifest lists.
//!
//! A generated row SQLite refuses for a composite UNIQUE is drawn again (up
//! to [`RETRIES`] times, then left out and counted); one it refuses for
//! anything else (a CHECK, NOT NULL) stops the run with the constraint
//! named, since only data.toml can fix it.

pub mod gen;
pub mod hard;
pub mod spec;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rusqlite::types::Value;
use rusqlite::Connection;
use serde::Serialize;

use crate::app::{quote, App, Rule, TenantLink};
use gen::{Gen, Rng};
pub use spec::{DataSpec, SpecError};

/// Times a row refused for a UNIQUE index is drawn again.
pub const RETRIES: u32 = 20;

/// The run's figures: the folder gives the defaults, flags override.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub tenants: u32,
    /// Multiplies every per-tenant row count (not `fixed` tables, not
    /// per-parent counts).
    pub scale: f64,
    pub seed: u64,
    /// Fraction of rows given one hard value.
    pub hard_rate: f64,
}

impl Params {
    /// The folder's own figures at scale 1, seed 1.
    pub fn of(spec: &DataSpec) -> Params {
        Params {
            tenants: spec.tenants.count,
            scale: 1.0,
            seed: 1,
            hard_rate: spec.hard.rate,
        }
    }
}

/// Rows written per table.
#[derive(Debug, Clone, Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: u64,
    /// Rows left out: refused by a UNIQUE index [`RETRIES`] times, or with
    /// no parent row to refer to.
    pub skipped: u64,
}

/// What a run wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub file: PathBuf,
    pub tenants: u32,
    pub seed: u64,
    pub scale: f64,
    pub tables: Vec<TableCount>,
    pub rows: u64,
    /// Rows of the largest tenant and of the median one (all tables with
    /// tenants but the root), and their ratio: the skew as made.
    pub largest_tenant_rows: u64,
    pub median_tenant_rows: u64,
    pub hard_values: u64,
    pub manifest: Option<PathBuf>,
    pub seconds: f64,
}

impl Summary {
    pub fn skew_ratio(&self) -> f64 {
        self.largest_tenant_rows as f64 / self.median_tenant_rows.max(1) as f64
    }

    /// The table people read at the end of a seed.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} rows in {:.1} s ({:.0} rows/s) into {}\n",
            self.rows,
            self.seconds,
            self.rows as f64 / self.seconds.max(1e-9),
            self.file.display()
        );
        out += &format!(
            "tenants {}: largest {} rows, median {} ({:.1}x); seed {}, scale {}\n",
            self.tenants,
            self.largest_tenant_rows,
            self.median_tenant_rows,
            self.skew_ratio(),
            self.seed,
            self.scale
        );
        let w = self
            .tables
            .iter()
            .map(|t| t.table.len())
            .max()
            .unwrap_or(5)
            .max(5);
        for t in &self.tables {
            out += &format!("  {:<w$} {:>10}", t.table, t.rows);
            if t.skipped > 0 {
                out += &format!("  ({} left out: see docs/data.md)", t.skipped);
            }
            out += "\n";
        }
        if let Some(m) = &self.manifest {
            out += &format!(
                "{} hard values, listed in {}\n",
                self.hard_values,
                m.display()
            );
        }
        out
    }
}

/// Why a file could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{0} already exists; seed writes a new file (remove it, or pass --force)")]
    Exists(PathBuf),
    #[error("{path}: {problem}")]
    File { path: PathBuf, problem: String },
    #[error("table `{table}`: {problem}")]
    Table { table: String, problem: String },
}

impl DataError {
    /// Whether the user's input (data.toml, legacy.sql, the path) is at fault.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, DataError::File { .. })
    }
}

/// The manifest of hard values written next to `file`.
pub fn manifest_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".manifest.jsonl");
    PathBuf::from(s)
}

/// A table's place in the tenancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Its rows are the tenants.
    Root,
    /// Rows per tenant (a tenant column, or a parent that has one).
    Tenant,
    /// Shared by all tenants.
    Shared,
}

#[derive(Debug, Clone)]
enum Role {
    Key,
    Tenant,
    /// The row this row is made for (`per`).
    Parent,
    /// A key of an earlier table (its index), or of this table.
    Ref {
        table: Option<usize>,
        nullable: bool,
        null: f64,
    },
    /// A key of the table this row's `names` column names (the mapping's
    /// `record_ref`: audit trails, comments on anything), of its tenant.
    RecordRef {
        /// Index (into the plan's columns) of the column holding the
        /// table's name, drawn before this one.
        names_at: usize,
        /// Target table name -> legacy table name.
        tables: Vec<(String, String)>,
        nullable: bool,
    },
    Gen(Gen),
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    role: Role,
    /// Under some UNIQUE index: never given a hard value (one could make or
    /// avoid a collision, and so change which rows the clean run keeps).
    in_unique: bool,
    /// A later column's `after` names it: its moment is kept for the row.
    feeds_after: bool,
}

#[derive(Debug)]
struct Plan {
    name: String,
    scope: Scope,
    columns: Vec<Column>,
    rows: spec::Rows,
    per: Option<usize>,
    fixed: bool,
    /// The first key this run gives (rows legacy.sql inserted come first).
    first_key: i64,
    /// The smallest key of rows legacy.sql inserted (`first_key` if none):
    /// a shared table's references may point to those rows too.
    existing_from: i64,
    /// Per tenant (or one, for a shared table): the keys given, [from, to).
    ranges: Vec<(i64, i64)>,
    hard_rate: f64,
}

impl Plan {
    /// The keys a row of a `scope` table of tenant `t` may refer to in this
    /// (earlier) table, [from, to): that tenant's own rows, or every row
    /// when either side has no tenant.
    fn keys_for(&self, scope: Scope, t: u32) -> (i64, i64) {
        match (self.scope, scope) {
            (Scope::Shared, _) | (_, Scope::Shared) => (
                self.existing_from,
                self.ranges.last().map_or(self.first_key, |r| r.1),
            ),
            _ => self.ranges.get(t as usize).copied().unwrap_or((0, 0)),
        }
    }
}

/// Write a new SQLite file at `path` from the folder's `legacy.sql` and
/// `spec`. `progress(rows written, rows expected)` is called as it goes.
pub fn write_sqlite(
    app: &App,
    spec: &DataSpec,
    params: &Params,
    path: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Summary, DataError> {
    let started = Instant::now();
    spec.check()?;
    if params.tenants == 0 {
        return Err(SpecError::File("0 tenants: ask for at least one".into()).into());
    }
    if !(params.scale.is_finite() && params.scale > 0.0) {
        return Err(SpecError::File(format!("scale {} must be above 0", params.scale)).into());
    }
    if !(0.0..=1.0).contains(&params.hard_rate) {
        return Err(SpecError::File(format!(
            "hard-value rate {} is not a fraction in 0..1",
            params.hard_rate
        ))
        .into());
    }
    if path.exists() {
        return Err(DataError::Exists(path.to_path_buf()));
    }
    let legacy = app.legacy_sql.as_deref().ok_or_else(|| DataError::File {
        path: app.dir.join("legacy.sql"),
        problem: "missing: data.toml fills the tables legacy.sql creates".into(),
    })?;
    let io = |e: rusqlite::Error| DataError::File {
        path: path.to_path_buf(),
        problem: e.to_string(),
    };
    let conn = Connection::open(path).map_err(io)?;
    conn.execute_batch(
        "pragma journal_mode = off; pragma synchronous = off; pragma foreign_keys = off; \
         pragma locking_mode = exclusive; pragma cache_size = -65536;",
    )
    .map_err(io)?;
    conn.execute_batch(legacy).map_err(|e| DataError::File {
        path: app.dir.join("legacy.sql"),
        problem: format!("SQLite rejects it: {e}"),
    })?;

    let mut plans = plan(app, spec, &conn)?;
    // Indexes that only speed reads are built once at the end, not row by
    // row (unique ones stay: they refuse the collisions retries redraw).
    let later: Vec<(String, String)> = {
        let mut st = conn
            .prepare("select name, sql from sqlite_schema where type = 'index' and sql is not null")
            .map_err(io)?;
        let all: Vec<(String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(io)?
            .collect::<Result<_, _>>()
            .map_err(io)?;
        all.into_iter()
            .filter(|(_, sql)| {
                !sql.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("create unique")
            })
            .collect()
    };
    for (name, _) in &later {
        conn.execute_batch(&format!("drop index {}", quote(name)))
            .map_err(io)?;
    }
    let weights = tenant_weights(params.tenants, spec.tenants.skew, params.seed);
    let expected = expected_rows(&plans, params, &weights);

    let manifest = (params.hard_rate > 0.0).then(|| manifest_path(path));
    let mut manifest_out = match &manifest {
        Some(m) => Some(std::io::BufWriter::new(std::fs::File::create(m).map_err(
            |e| DataError::File {
                path: m.clone(),
                problem: e.to_string(),
            },
        )?)),
        None => None,
    };

    conn.execute_batch("begin").map_err(io)?;
    let mut written = 0u64;
    let mut hard_values = 0u64;
    let mut counts = Vec::new();
    let mut tenant_rows = vec![0u64; params.tenants as usize];
    for ti in 0..plans.len() {
        let (done, rest) = plans.split_at_mut(ti);
        let p = &mut rest[0];
        p.hard_rate = params.hard_rate;
        let mut w = TableWriter::new(&conn, p)?;
        let tenants = if p.scope == Scope::Shared {
            1
        } else {
            params.tenants
        };
        for t in 0..tenants {
            let mut rng = Rng::seed_from_u64(mix(params.seed, ti as u64 + 1, u64::from(t)));
            let mut hard_rng =
                Rng::seed_from_u64(mix(params.seed ^ 0x4841_5244, ti as u64 + 1, u64::from(t)));
            let from = w.next_key;
            match p.per {
                Some(pi) => {
                    let parent = &done[pi];
                    let (lo, hi) = parent.ranges[if parent.scope == Scope::Shared {
                        0
                    } else {
                        t as usize
                    }];
                    for parent_key in lo..hi {
                        let n = draw_count(&p.rows, 1.0, true, &mut rng);
                        for _ in 0..n {
                            w.row(
                                p,
                                done,
                                t,
                                Some(parent_key),
                                &mut rng,
                                &mut hard_rng,
                                manifest_out.as_mut(),
                                &mut hard_values,
                            )?;
                        }
                    }
                }
                None => {
                    let n = match p.scope {
                        Scope::Root => 1,
                        Scope::Tenant => draw_count(
                            &p.rows,
                            params.scale * weights[t as usize],
                            p.fixed,
                            &mut rng,
                        ),
                        Scope::Shared => draw_count(&p.rows, params.scale, p.fixed, &mut rng),
                    };
                    for _ in 0..n {
                        w.row(
                            p,
                            done,
                            t,
                            None,
                            &mut rng,
                            &mut hard_rng,
                            manifest_out.as_mut(),
                            &mut hard_values,
                        )?;
                    }
                }
            }
            p.ranges.push((from, w.next_key));
            let made = (w.next_key - from) as u64;
            if p.scope == Scope::Tenant {
                tenant_rows[t as usize] += made;
            }
            written += made;
            progress(written, expected.max(written));
        }
        let skipped = w.skipped;
        drop(w);
        let rows: i64 = conn
            .query_row(
                &format!("select count(*) from {}", quote(&p.name)),
                [],
                |r| r.get(0),
            )
            .map_err(io)?;
        counts.push(TableCount {
            table: p.name.clone(),
            rows: rows as u64,
            skipped,
        });
    }
    for (_, sql) in &later {
        conn.execute_batch(sql).map_err(io)?;
    }
    conn.execute_batch("commit").map_err(io)?;
    if let Some(mut m) = manifest_out {
        m.flush().map_err(|e| DataError::File {
            path: manifest_path(path),
            problem: e.to_string(),
        })?;
    }
    let mut sorted = tenant_rows.clone();
    sorted.sort_unstable();
    Ok(Summary {
        file: path.to_path_buf(),
        tenants: params.tenants,
        seed: params.seed,
        scale: params.scale,
        rows: counts.iter().map(|c| c.rows).sum(),
        tables: counts,
        largest_tenant_rows: sorted.last().copied().unwrap_or(0),
        median_tenant_rows: sorted.get(sorted.len() / 2).copied().unwrap_or(0),
        hard_values,
        manifest,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One table's prepared INSERT and counters.
struct TableWriter<'c> {
    conn: &'c Connection,
    stmt: rusqlite::Statement<'c>,
    next_key: i64,
    skipped: u64,
    vals: Vec<Value>,
    moments: Vec<(String, i64)>,
}

impl<'c> TableWriter<'c> {
    fn new(conn: &'c Connection, p: &Plan) -> Result<Self, DataError> {
        let names: Vec<String> = p.columns.iter().map(|c| quote(&c.name)).collect();
        let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let sql = if names.is_empty() {
            format!("insert into {} default values", quote(&p.name))
        } else {
            format!(
                "insert into {} ({}) values ({})",
                quote(&p.name),
                names.join(", "),
                marks.join(", ")
            )
        };
        let stmt = conn.prepare(&sql).map_err(|e| DataError::Table {
            table: p.name.clone(),
            problem: e.to_string(),
        })?;
        Ok(TableWriter {
            conn,
            stmt,
            next_key: p.first_key,
            skipped: 0,
            vals: Vec::new(),
            moments: Vec::new(),
        })
    }

    /// Draw and insert one row of tenant `t` (made for `parent` with `per`).
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        p: &Plan,
        done: &[Plan],
        t: u32,
        parent: Option<i64>,
        rng: &mut Rng,
        hard_rng: &mut Rng,
        manifest: Option<&mut std::io::BufWriter<std::fs::File>>,
        hard_values: &mut u64,
    ) -> Result<(), DataError> {
        let id = self.next_key;
        let tenant_key = |t: u32| -> i64 {
            match done.iter().find(|d| d.scope == Scope::Root) {
                Some(root) => root
                    .ranges
                    .get(t as usize)
                    .map_or(i64::from(t) + 1, |r| r.0),
                None if p.scope == Scope::Root => id,
                None => i64::from(t) + 1,
            }
        };
        let mut case: Option<(usize, String, Value)> = None;
        for attempt in 0..=RETRIES {
            self.vals.clear();
            self.moments.clear();
            for c in &p.columns {
                let v = match &c.role {
                    Role::Key => Value::Integer(id),
                    Role::Tenant => Value::Integer(tenant_key(t)),
                    Role::Parent => parent.map_or(Value::Null, Value::Integer),
                    Role::Ref {
                        table,
                        nullable,
                        null,
                    } => {
                        if *null > 0.0 && rng.random::<f64>() < *null {
                            Value::Null
                        } else {
                            let (lo, hi) = match table {
                                // Earlier rows of this tenant (of the table, if shared).
                                None => (p.ranges.last().map_or(p.first_key, |r| r.1), id),
                                Some(i) => done[*i].keys_for(p.scope, t),
                            };
                            if hi > lo {
                                Value::Integer(rng.random_range(lo..hi))
                            } else if *nullable {
                                Value::Null
                            } else {
                                // No row to refer to: this row cannot exist.
                                self.skipped += 1;
                                return Ok(());
                            }
                        }
                    }
                    Role::RecordRef {
                        names_at,
                        tables,
                        nullable,
                    } => {
                        let named = match &self.vals[*names_at] {
                            Value::Text(t) => tables
                                .iter()
                                .find(|(target, _)| target == t)
                                .map(|(_, legacy)| legacy.as_str()),
                            _ => None,
                        };
                        let range = named
                            .and_then(|n| done.iter().find(|d| d.name == n))
                            .map(|d| d.keys_for(p.scope, t));
                        match range {
                            Some((lo, hi)) if hi > lo => Value::Integer(rng.random_range(lo..hi)),
                            _ if *nullable => Value::Null,
                            _ => {
                                // Names a table with no row of this tenant.
                                self.skipped += 1;
                                return Ok(());
                            }
                        }
                    }
                    Role::Gen(g) => {
                        let v = g.draw(rng, id, &self.moments);
                        if let Some(m) = c.feeds_after.then(|| g.moment_of(&v)).flatten() {
                            self.moments.push((c.name.clone(), m));
                        }
                        v
                    }
                };
                self.vals.push(v);
            }
            if attempt == 0 {
                // One hard value for this row, or none; decided once per row.
                let eligible: Vec<usize> = p
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !c.in_unique && matches!(&c.role, Role::Gen(g) if !g.unique))
                    .map(|(i, _)| i)
                    .collect();
                let roll: f64 = hard_rng.random();
                if !eligible.is_empty() && roll < p.hard_rate {
                    let k = eligible[hard_rng.random_range(0..eligible.len())];
                    if let Role::Gen(g) = &p.columns[k].role {
                        let cases = hard::catalog(g.class());
                        let pick = hard_rng.random_range(0..cases.len() + g.hard.len());
                        case = Some(match cases.get(pick) {
                            Some(c) => (k, c.name.to_string(), (c.value)()),
                            None => (
                                k,
                                "the column's own hard value".into(),
                                g.hard[pick - cases.len()].clone(),
                            ),
                        });
                    }
                }
            }
            let mut original: Option<Value> = None;
            if let Some((k, _, v)) = &case {
                original = Some(std::mem::replace(&mut self.vals[*k], v.clone()));
            }
            loop {
                match self
                    .stmt
                    .execute(rusqlite::params_from_iter(self.vals.iter()))
                {
                    Ok(_) => {
                        if let (Some((k, name, v)), Some(m)) = (case.take(), manifest) {
                            // What the file holds: SQLite's type affinity
                            // turns '42' into 42 in an INTEGER column and 7
                            // into 7.0 in a REAL one.
                            let v = self
                                .conn
                                .prepare_cached(&format!(
                                    "select {} from {} where rowid = ?1",
                                    quote(&p.columns[k].name),
                                    quote(&p.name)
                                ))
                                .and_then(|mut st| {
                                    st.query_row([self.conn.last_insert_rowid()], |r| {
                                        r.get::<_, Value>(0)
                                    })
                                })
                                .unwrap_or(v);
                            let line = serde_json::json!({
                                "table": p.name,
                                "key": id,
                                "column": p.columns[k].name,
                                "case": name,
                                "value": hard::manifest_value(&v),
                            });
                            writeln!(m, "{line}").map_err(|e| DataError::File {
                                path: PathBuf::from("the hard-value manifest"),
                                problem: e.to_string(),
                            })?;
                            *hard_values += 1;
                        }
                        self.next_key += 1;
                        return Ok(());
                    }
                    Err(rusqlite::Error::SqliteFailure(e, msg))
                        if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        let msg = msg.unwrap_or_default();
                        if let (Some((k, _, _)), Some(v)) = (case.take(), original.take()) {
                            // The schema refuses this hard value (a CHECK, a
                            // type): the row goes in with its drawn value, so
                            // nothing else changes.
                            self.vals[k] = v;
                            continue;
                        }
                        if msg.starts_with("UNIQUE") || msg.starts_with("PRIMARY KEY") {
                            break; // drawn again
                        }
                        return Err(DataError::Table {
                            table: p.name.clone(),
                            problem: format!(
                                "SQLite refuses a generated row ({msg}); give the column a kind in data.toml whose values satisfy it"
                            ),
                        });
                    }
                    Err(e) => {
                        return Err(DataError::Table {
                            table: p.name.clone(),
                            problem: e.to_string(),
                        })
                    }
                }
            }
        }
        self.skipped += 1;
        Ok(())
    }
}

/// A schema column as `PRAGMA table_xinfo` gives it.
struct SchemaColumn {
    name: String,
    declared: String,
    not_null: bool,
    default: Option<String>,
    pk: bool,
}

fn schema_columns(conn: &Connection, table: &str) -> Result<Vec<SchemaColumn>, DataError> {
    let err = |e: rusqlite::Error| DataError::Table {
        table: table.to_string(),
        problem: e.to_string(),
    };
    let mut st = conn
        .prepare(
            "select name, type, \"notnull\", dflt_value, pk, hidden from pragma_table_xinfo(?1)",
        )
        .map_err(err)?;
    let rows = st
        .query_map([table], |r| {
            Ok((
                SchemaColumn {
                    name: r.get(0)?,
                    declared: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    not_null: r.get::<_, i64>(2)? != 0,
                    default: r.get(3)?,
                    pk: r.get::<_, i64>(4)? == 1,
                },
                r.get::<_, i64>(5)?,
            ))
        })
        .map_err(err)?;
    let mut out = Vec::new();
    for row in rows {
        let (c, hidden) = row.map_err(err)?;
        // Generated columns (hidden 2, 3) cannot be written.
        if hidden == 0 {
            out.push(c);
        }
    }
    Ok(out)
}

/// Columns of `table` alone under a UNIQUE index (a text primary key
/// included: an INTEGER PRIMARY KEY is the rowid and has no index), and all
/// columns under any UNIQUE index.
fn unique_columns(conn: &Connection, table: &str) -> Result<(Vec<String>, Vec<String>), DataError> {
    let err = |e: rusqlite::Error| DataError::Table {
        table: table.to_string(),
        problem: e.to_string(),
    };
    let mut st = conn
        .prepare("select name from pragma_index_list(?1) where \"unique\" = 1 and partial = 0")
        .map_err(err)?;
    let names: Vec<String> = st
        .query_map([table], |r| r.get(0))
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    let mut out = (Vec::new(), Vec::new());
    for n in names {
        let mut st = conn
            .prepare("select name from pragma_index_info(?1)")
            .map_err(err)?;
        let cols: Vec<Option<String>> = st
            .query_map([&n], |r| r.get(0))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        if let [Some(c)] = cols.as_slice() {
            out.0.push(c.clone());
        }
        out.1.extend(cols.into_iter().flatten());
    }
    Ok(out)
}

/// A default SQLite evaluates differently each time (so the same seed would
/// not give the same bytes).
fn default_varies(d: &str) -> bool {
    let d = d.to_ascii_lowercase();
    ["current_", "random", "'now'", "now", "uuid"]
        .iter()
        .any(|k| d.contains(k))
}

/// Give every column of every listed table its role.
fn plan(app: &App, spec: &DataSpec, conn: &Connection) -> Result<Vec<Plan>, DataError> {
    let tenant = &app.toml.tenant;
    let root_legacy: Option<String> = tenant
        .root_table
        .as_deref()
        .and_then(|r| app.mapping.table(r))
        .map(|t| t.legacy_name().to_string());
    let mut order: Vec<spec::TableSpec> = spec.tables.clone();
    if let Some(r) = &root_legacy {
        if !order.iter().any(|t| &t.name == r) {
            order.insert(
                0,
                spec::TableSpec {
                    name: r.clone(),
                    rows: spec::Rows::Mean(1.0),
                    per: None,
                    fixed: false,
                    columns: BTreeMap::new(),
                },
            );
        }
    }
    let mut plans: Vec<Plan> = Vec::new();
    for ts in &order {
        let table_err = |problem: String| DataError::Table {
            table: ts.name.clone(),
            problem,
        };
        let schema = schema_columns(conn, &ts.name)?;
        if schema.is_empty() {
            return Err(table_err(
                "legacy.sql creates no such table (data.toml names legacy tables)".into(),
            ));
        }
        for name in ts.columns.keys() {
            if !schema.iter().any(|c| &c.name == name) {
                let have: Vec<_> = schema.iter().map(|c| c.name.as_str()).collect();
                return Err(table_err(format!(
                    "data.toml names column `{name}`, which the table does not have (it has: {})",
                    have.join(", ")
                )));
            }
        }
        let map = app
            .mapping
            .tables
            .iter()
            .find(|m| m.legacy_name() == ts.name);
        let link = map.map_or(TenantLink::None, |m| app.tenant_link(m));
        let key: Option<String> = map
            .and_then(|m| m.key().legacy.first().cloned())
            .filter(|k| schema.iter().any(|c| &c.name == k))
            .or_else(|| {
                let pks: Vec<&SchemaColumn> = schema.iter().filter(|c| c.pk).collect();
                match pks.as_slice() {
                    [c] if c.declared.eq_ignore_ascii_case("integer") => Some(c.name.clone()),
                    _ => None,
                }
            });
        let tenant_col: Option<String> = match (map, link) {
            (Some(m), TenantLink::Column(i)) => m.columns[i].legacy.first().cloned(),
            _ => None,
        };
        // Legacy column -> legacy table it refers to, from the mapping.
        let mut mapped_refs: BTreeMap<String, String> = BTreeMap::new();
        if let Some(m) = map {
            for c in &m.columns {
                if let (Rule::Ref { table }, Some(col)) = (&c.rule, c.legacy.first()) {
                    if let Some(parent) = app.mapping.table(table) {
                        mapped_refs.insert(col.clone(), parent.legacy_name().to_string());
                    }
                }
            }
        }
        // Legacy column -> legacy column naming its table, for record_ref.
        let mut record_refs: BTreeMap<String, String> = BTreeMap::new();
        if let Some(m) = map {
            for c in &m.columns {
                if let (Rule::RecordRef { table_column }, Some(col)) = (&c.rule, c.legacy.first()) {
                    if let Some(names) = m.col(table_column).and_then(|n| n.legacy.first()) {
                        record_refs.insert(col.clone(), names.clone());
                    }
                }
            }
        }
        let all_tables: Vec<(String, String)> = app
            .mapping
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.legacy_name().to_string()))
            .collect();
        let per = match &ts.per {
            Some(n) => Some(plans.iter().position(|p| &p.name == n).ok_or_else(|| {
                table_err(format!("per = \"{n}\": list `{n}` before this table"))
            })?),
            None => None,
        };
        let uniques = unique_columns(conn, &ts.name)?;
        let mut columns = Vec::new();
        let mut parent_taken = false;
        for sc in &schema {
            let col_err = |problem: String| {
                DataError::Spec(SpecError::Column {
                    table: ts.name.clone(),
                    column: sc.name.clone(),
                    problem,
                })
            };
            // The table a column refers to: data.toml's `ref`, else the mapping's.
            let refers: Option<&str> = ts
                .columns
                .get(&sc.name)
                .and_then(|c| c.reference.as_deref())
                .or_else(|| {
                    if ts.columns.contains_key(&sc.name) {
                        None
                    } else {
                        mapped_refs.get(&sc.name).map(String::as_str)
                    }
                });
            let role = if let Some(r) = refers {
                let null = ts.columns.get(&sc.name).map_or(0.0, |c| c.null);
                if per.is_some_and(|pi| plans[pi].name == r) && !parent_taken {
                    parent_taken = true;
                    Some(Role::Parent)
                } else if r == ts.name {
                    Some(Role::Ref {
                        table: None,
                        nullable: !sc.not_null,
                        null,
                    })
                } else if let Some(i) = plans.iter().position(|p| p.name == r) {
                    Some(Role::Ref {
                        table: Some(i),
                        nullable: !sc.not_null,
                        null,
                    })
                } else if let Some(lookup) = lookup_table(conn, r, &order)? {
                    // A table legacy.sql fills itself (a lookup list) and
                    // data.toml does not list: shared, referred to as it is.
                    plans.push(lookup);
                    Some(Role::Ref {
                        table: Some(plans.len() - 1),
                        nullable: !sc.not_null,
                        null,
                    })
                } else if !sc.not_null && !ts.columns.contains_key(&sc.name) {
                    None // a parent data.toml does not fill: left NULL
                } else {
                    return Err(col_err(format!("refers to `{r}`, which data.toml does not fill before this table: list `{r}` earlier")));
                }
            } else if let Some(c) = ts.columns.get(&sc.name) {
                let mut g = Gen::compile(c).map_err(col_err)?;
                if uniques.0.contains(&sc.name) && !g.unique {
                    if matches!(
                        g.kind,
                        gen::Kind::Choices { .. }
                            | gen::Kind::Bool(_)
                            | gen::Kind::Const(_)
                            | gen::Kind::Json(_)
                            | gen::Kind::List { .. }
                    ) {
                        return Err(col_err("legacy.sql puts a UNIQUE index on it, but its kind repeats values: give it fake, int, date, seq or bytes".into()));
                    }
                    g.unique = true;
                }
                Some(Role::Gen(g))
            } else if let Some(names) = record_refs.get(&sc.name) {
                let names_at = columns.iter().position(|c: &Column| &c.name == names).ok_or_else(|| {
                    col_err(format!(
                        "a record reference whose table is named by `{names}`: give `{names}` a kind in data.toml (choices of table names), in a column before this one"
                    ))
                })?;
                Some(Role::RecordRef {
                    names_at,
                    tables: all_tables.clone(),
                    nullable: !sc.not_null,
                })
            } else if key.as_deref() == Some(sc.name.as_str()) {
                Some(Role::Key)
            } else if tenant_col.as_deref() == Some(sc.name.as_str()) {
                Some(Role::Tenant)
            } else if sc.default.as_deref().is_some_and(|d| !default_varies(d))
                || (!sc.not_null && sc.default.is_none())
            {
                None
            } else {
                let mut g = Gen::by_declared_type(&sc.name, &sc.declared);
                g.unique = uniques.0.contains(&sc.name);
                Some(Role::Gen(g))
            };
            if let Some(role) = role {
                columns.push(Column {
                    name: sc.name.clone(),
                    role,
                    in_unique: uniques.1.contains(&sc.name),
                    feeds_after: ts
                        .columns
                        .values()
                        .any(|c| c.after.as_deref() == Some(sc.name.as_str())),
                });
            }
        }
        if let Some(pi) = per {
            if !parent_taken {
                return Err(table_err(format!(
                    "per = \"{}\", but no column refers to it: give one `ref = \"{}\"` (or a ref rule in mapping.toml)",
                    plans[pi].name, plans[pi].name
                )));
            }
        }
        let scope = if link == TenantLink::Root || root_legacy.as_deref() == Some(ts.name.as_str()) {
            Scope::Root
        } else if tenant_col.is_some()
            || per.is_some_and(|pi| plans[pi].scope != Scope::Shared)
            || columns.iter().any(|c| matches!(c.role, Role::Ref { table: Some(i), nullable: false, .. } if plans[i].scope != Scope::Shared))
        {
            Scope::Tenant
        } else {
            Scope::Shared
        };
        let (existing_from, first_key) = key_bounds(conn, &ts.name, key.as_deref());
        plans.push(Plan {
            name: ts.name.clone(),
            scope,
            columns,
            rows: ts.rows.clone(),
            per,
            fixed: ts.fixed,
            first_key,
            existing_from,
            ranges: Vec::new(),
            hard_rate: 0.0,
        });
    }
    Ok(plans)
}

/// The smallest key already in `table` (or the next one, if none) and the
/// next key to give.
fn key_bounds(conn: &Connection, table: &str, key: Option<&str>) -> (i64, i64) {
    let k = key.map_or_else(|| "rowid".to_string(), quote);
    conn.query_row(
        &format!(
            "select coalesce(min({k}), max({k}) + 1, 1), coalesce(max({k}), 0) + 1 from {}",
            quote(table)
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap_or((1, 1))
}

/// A table data.toml does not list that legacy.sql has filled: a shared
/// lookup list references may point into.
fn lookup_table(
    conn: &Connection,
    name: &str,
    listed: &[spec::TableSpec],
) -> Result<Option<Plan>, DataError> {
    if listed.iter().any(|t| t.name == name) {
        return Ok(None); // listed later: the error says to list it earlier
    }
    let exists: bool =
        conn.query_row(
            "select count(*) from sqlite_schema where type = 'table' and name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .map_err(|e| DataError::Table {
            table: name.to_string(),
            problem: e.to_string(),
        })? > 0;
    if !exists {
        return Ok(None);
    }
    let (existing_from, first_key) = key_bounds(conn, name, None);
    if first_key <= existing_from {
        return Ok(None);
    }
    Ok(Some(Plan {
        name: name.to_string(),
        scope: Scope::Shared,
        columns: Vec::new(),
        rows: spec::Rows::Mean(0.0),
        per: None,
        fixed: true,
        first_key,
        existing_from,
        ranges: Vec::new(),
        hard_rate: 0.0,
    }))
}

/// Zipf weights over `n` tenants, ranks shuffled by the seed, mean 1.
pub fn tenant_weights(n: u32, skew: f64, seed: u64) -> Vec<f64> {
    let mut ranks: Vec<u32> = (1..=n).collect();
    let mut rng = Rng::seed_from_u64(mix(seed, 0xffff, 0));
    for i in (1..ranks.len()).rev() {
        let j = rng.random_range(0..=i);
        ranks.swap(i, j);
    }
    let raw: Vec<f64> = ranks.iter().map(|r| f64::from(*r).powf(-skew)).collect();
    let mean = raw.iter().sum::<f64>() / f64::from(n.max(1));
    raw.iter().map(|w| w / mean).collect()
}

/// About how many rows a run writes (for the progress bar).
fn expected_rows(plans: &[Plan], params: &Params, _weights: &[f64]) -> u64 {
    let mut est: Vec<f64> = Vec::with_capacity(plans.len());
    let n = f64::from(params.tenants);
    for p in plans {
        let mean = match p.rows {
            spec::Rows::Mean(m) => m,
            spec::Rows::Range { min, max } => (f64::from(min) + f64::from(max)) / 2.0,
        };
        let factor = if p.fixed { 1.0 } else { params.scale };
        est.push(match (p.scope, p.per) {
            (Scope::Root, _) => n,
            (_, Some(pi)) => est[pi] * mean,
            (Scope::Tenant, None) => mean * factor * n,
            (Scope::Shared, None) => mean * factor,
        });
    }
    est.iter().sum::<f64>() as u64
}

/// A row count: the spec's number (or a uniform draw from its range), times
/// `factor` unless `fixed`, rounded up with the probability of its fraction
/// (so 0.3 expected rows give a row to three tenants in ten).
fn draw_count(rows: &spec::Rows, factor: f64, fixed: bool, rng: &mut Rng) -> u64 {
    let base = match rows {
        spec::Rows::Mean(m) => *m,
        spec::Rows::Range { min, max } => f64::from(rng.random_range(*min..=*max)),
    };
    let x = if fixed { base } else { base * factor };
    let whole = x.floor();
    whole as u64 + u64::from(rng.random::<f64>() < x - whole)
}

/// A stream seed from the run's seed and two numbers (splitmix64 steps).
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    for _ in 0..2 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    z
}
