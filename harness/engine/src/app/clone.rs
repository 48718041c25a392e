//! Tenant cloning: a new SQLite file holding N tenants made from the T
//! tenants of a real (or sample) legacy file, for load tests at sizes the
//! file does not reach.
//!
//! Generating data from scratch loses what matters to a migration and a
//! load test: the real skew of tenant sizes, the real shapes of values,
//! the real hard cases. Cloning keeps all of them: output tenant j is a
//! copy of source tenant s(j), with new keys and every reference moved
//! along, so each copy is the source tenant again under other ids.
//!
//! - **Which tenant is copied how often.** Every source tenant is used
//!   floor(N/T) or ceil(N/T) times; the tenants that get the extra copy are
//!   drawn by a permutation seeded with [`CloneSpec::seed`]. Copy index c
//!   counts the earlier copies of the same source tenant; copy 0 is the
//!   source tenant unchanged (same ids, same values).
//! - **Keys.** An integer key of a tenant-scoped table becomes
//!   `id + c * stride`, where the stride spans every value of the key and of
//!   every reference to it (so copies never overlap, and a dangling
//!   reference stays dangling instead of landing on another copy's row).
//!   References ([`Rule::Ref`], [`Rule::RecordRef`], the tenant column) move
//!   with their parent; references into shared tables and NULLs stay.
//! - **Which tables.** The mapping says how each table reaches its tenant
//!   ([`App::tenant_link`]): the root table, tables with the tenant column,
//!   tables that reach a tenant only through a parent reference (copied with
//!   their parent's tenant) and shared tables (copied once, unchanged, as
//!   are tables the mapping does not list).
//! - **Values.** Copies must not repeat what has to be distinct: a column
//!   under a UNIQUE index that holds no shifted column is varied per copy,
//!   checked against every value written; a column whose values are mostly
//!   distinct and private to their tenant is varied too, so the output's
//!   distinct ratio stays near the source's (numbers and dates in a
//!   bounded range collide as a larger real data set would: their ratio
//!   falls). Variations keep the value's
//!   shape (see `vary`); vocabularies (statuses, categories, time zones)
//!   are copied as they are, since more tenants share the same vocabulary.
//! - **Hard cases stay hard.** A row whose tenant column names no tenant (an
//!   orphan), or is NULL, is copied once, unchanged. A reference that crossed
//!   tenants in the source points, in copy c, to copy c of the other
//!   tenant's row, and dangles when that tenant has no copy c (N not a
//!   multiple of T); the summary counts both.
//!
//! The source is opened read-only and never written; the output is written
//! in one transaction without a journal, rows streamed table by table (a
//! row at a time, one pass per copy index), so memory grows with the number
//! of tenants and the hashes of unique values, not with the tables. The same
//! source and [`CloneSpec`] give the same bytes.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, Statement, ToSql};

use super::{quote, App, AppError, ListForm, Rule, TenantLink};

/// What to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloneSpec {
    /// How many tenants the new file holds (at least one).
    pub tenants: u32,
    /// Chooses which source tenants get the extra copies when `tenants` is
    /// not a multiple of the source's tenant count.
    pub seed: u64,
}

/// What was made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CloneSummary {
    /// Tenants in the source file.
    pub source_tenants: u64,
    /// Tenants in the new file.
    pub tenants: u64,
    /// Per legacy table (mapping order, then tables the mapping does not
    /// list), the rows written.
    pub tables: Vec<(String, u64)>,
    /// (legacy table, column) whose values copies vary.
    pub perturbed: Vec<(String, String)>,
    /// Tables of the source the mapping does not list: copied once, unchanged.
    pub unmapped: Vec<String>,
    /// How many times each source tenant (by id) was copied, ascending by id.
    pub copies: Vec<(i64, u32)>,
    /// What a user should know about the copy (rows without a tenant,
    /// references that cross tenants as they did in the source, unique
    /// indexes the clone could not vary).
    pub notes: Vec<String>,
}

/// A column is "mostly distinct" when at least half its non-null values are
/// distinct (2 * distinct >= non-null); copies vary such columns so the
/// output's distinct ratio stays near the source's.
const DISTINCT_NUM: u64 = 2;
/// ... and "private to its tenant" when its distinct (tenant, value) pairs
/// are at most 1.5 times its distinct values (2 * pairs <= 3 * distinct): a
/// value many tenants share is a vocabulary (a time zone, a city), which
/// more tenants would share too, so it is copied as it is.
const SHARING_NUM: u64 = 2;
const SHARING_DEN: u64 = 3;
/// How many trailing characters (or digits, or bytes) a variation changes:
/// enough room for thousands of copies, few enough to keep the value's look.
const WINDOW: usize = 3;
/// Variations in place tried for a unique value before a suffix is used.
const IN_PLACE_TRIES: u32 = 32;
/// All variations tried before giving up on a unique value.
const MAX_TRIES: u32 = 1024;
/// Progress is reported every this many rows.
const PROGRESS_EVERY: u64 = 4096;

/// Write a new SQLite file `out` with `spec.tenants` tenants cloned from
/// the tenants of `source`, as the module documentation describes.
/// `progress` is called with the rows written so far.
pub fn clone_tenants(
    app: &App,
    source: &Path,
    out: &Path,
    spec: &CloneSpec,
    progress: &mut dyn FnMut(u64),
) -> Result<CloneSummary, AppError> {
    if spec.tenants == 0 {
        return Err(file(
            out,
            "0 tenants were asked for; ask for at least one".into(),
        ));
    }
    if !source.is_file() {
        return Err(file(
            source,
            "is not a file; give the SQLite file to clone".into(),
        ));
    }
    if out.exists() {
        return Err(file(
            out,
            "already exists; a clone is only written to a new path (remove it or pick another)"
                .into(),
        ));
    }
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| file(source, format!("cannot open it read-only: {e}")))?;
    // Temporary tables (the row -> tenant maps) and the DISTINCT counts go
    // to a temporary file, not memory: they grow with the source's rows.
    src.execute_batch("pragma temp_store = file")
        .map_err(|e| file(source, format!("cannot read it: {e}")))?;
    // create_new: if something appeared at `out` since the check above, it
    // is not ours to overwrite.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| file(out, format!("cannot create it: {e}")))?;
    let result = Connection::open(out)
        .map_err(|e| file(out, format!("cannot open it: {e}")))
        .and_then(|dst| {
            let r = run(app, &src, source, &dst, out, spec, progress);
            drop(dst);
            r
        });
    if result.is_err() {
        // A half-written clone would be refused as "already exists" next
        // time and could be taken for a whole one.
        let _ = std::fs::remove_file(out);
    }
    result
}

fn file(path: &Path, problem: String) -> AppError {
    AppError::File {
        path: path.to_path_buf(),
        problem,
    }
}

/// How a table reaches its tenant, for cloning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Its rows are the tenants.
    Root,
    /// The tenant column is this column.
    Column(usize),
    /// No tenant column; its tenant is its parent's (the row -> tenant map
    /// says which).
    Child,
    /// No tenant: copied once, unchanged.
    Shared,
    /// Not in the mapping: copied once, unchanged.
    Unmapped,
}

impl Scope {
    fn scoped(self) -> bool {
        matches!(self, Scope::Root | Scope::Column(_) | Scope::Child)
    }
}

/// The row's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Rowid,
    Col(usize),
}

/// How a variation treats a column's values (chosen by the mapping rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Text: characters changed in place, letters before digits; an e-mail's
    /// local part only.
    Text,
    /// Numbers: trailing digits changed, the leading one kept.
    Number,
    /// Timestamps (shifted by seconds) or dates (by days), same format.
    Time {
        date: bool,
    },
    Inet,
    /// JSON: left alone unless unique.
    Json,
    /// Blobs: left alone unless unique.
    Blob,
    /// Booleans: never varied.
    Fixed,
    /// A column the mapping does not name: by its stored type.
    Generic,
}

impl Shape {
    fn of(rule: Option<&Rule>) -> Shape {
        match rule {
            None => Shape::Generic,
            Some(r) => match r {
                Rule::Text { .. } => Shape::Text,
                Rule::Integer | Rule::Bigint | Rule::Numeric { .. } | Rule::Float | Rule::Point => {
                    Shape::Number
                }
                Rule::Timestamptz { .. } => Shape::Time { date: false },
                Rule::Date { .. } => Shape::Time { date: true },
                Rule::Inet => Shape::Inet,
                Rule::Jsonb => Shape::Json,
                Rule::TextArray { form } => match form {
                    ListForm::Json => Shape::Json,
                    ListForm::Comma => Shape::Text,
                },
                Rule::Bytea => Shape::Blob,
                Rule::Boolean | Rule::Key { .. } | Rule::Ref { .. } | Rule::RecordRef { .. } => {
                    Shape::Fixed
                }
            },
        }
    }

    /// Whether a mostly distinct column of this shape is varied even when
    /// no unique index asks for it (JSON, lists and blobs are left alone).
    fn varies_freely(self) -> bool {
        matches!(
            self,
            Shape::Text | Shape::Number | Shape::Time { .. } | Shape::Inet | Shape::Generic
        )
    }

    /// Preference when picking which column of a unique index to vary.
    fn rank(self) -> u8 {
        match self {
            Shape::Text | Shape::Generic => 0,
            Shape::Number => 1,
            Shape::Time { .. } => 2,
            Shape::Inet => 3,
            Shape::Json => 4,
            Shape::Blob => 5,
            Shape::Fixed => u8::MAX,
        }
    }
}

/// A column of a source table.
#[derive(Debug, Clone)]
struct Col {
    name: String,
    rule: Option<Rule>,
}

/// A reference column moved with its parent: the parent's row -> tenant map
/// is joined in the read query.
#[derive(Debug, Clone)]
struct Shift {
    col: usize,
    parent: usize,
}

/// A polymorphic reference: `type_col` names the target table.
#[derive(Debug, Clone)]
struct RecordShift {
    col: usize,
    type_col: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collation {
    Binary,
    NoCase,
    Rtrim,
}

/// A unique index whose columns copies could repeat: the hashes of every
/// tuple written, and the column varied until a tuple is new.
#[derive(Debug)]
struct Group {
    cols: Vec<(usize, Collation)>,
    vary: usize,
    seen: HashSet<u64>,
}

/// Everything needed to copy one source table.
#[derive(Debug)]
struct Plan {
    /// The table's name in the source (as SQLite spells it).
    name: String,
    /// The mapping's (target) name, which record references use.
    target: Option<String>,
    /// The INTEGER PRIMARY KEY column (the rowid under a name), if any.
    alias: Option<usize>,
    scope: Scope,
    cols: Vec<Col>,
    /// The name that reads the rowid (None: WITHOUT ROWID, or every rowid
    /// name is taken by a column).
    rowid: Option<String>,
    /// Whether the rowid is written explicitly (it is an implicit rowid the
    /// mapping keys by, or the table is copied as it is).
    write_rowid: bool,
    key: Option<Key>,
    stride: i64,
    shifts: Vec<Shift>,
    records: Vec<RecordShift>,
    /// With no root table: the tenant column, shifted by the tenant stride.
    tenant_shift: Option<usize>,
    /// Columns varied freely (no unique index asks; mostly distinct, private).
    free: Vec<usize>,
    groups: Vec<Group>,
    /// The temporary row -> tenant map, for tenant-scoped tables.
    map: Option<String>,
}

impl Plan {
    fn key_expr(&self) -> Option<String> {
        match self.key? {
            Key::Rowid => self.rowid.as_ref().map(|r| format!("t.{r}")),
            Key::Col(i) => Some(format!("t.{}", quote(&self.cols[i].name))),
        }
    }

    fn col_expr(&self, i: usize) -> String {
        format!("t.{}", quote(&self.cols[i].name))
    }
}

/// A stored value as SQLite holds it (text kept as bytes: a legacy file may
/// hold text that is not UTF-8, and it is copied as it is).
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

impl Cell {
    fn read(v: ValueRef<'_>) -> Cell {
        match v {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(i) => Cell::Int(i),
            ValueRef::Real(f) => Cell::Real(f),
            ValueRef::Text(b) => Cell::Text(b.to_vec()),
            ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl ToSql for Cell {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Cell::Null => ValueRef::Null,
            Cell::Int(i) => ValueRef::Integer(*i),
            Cell::Real(f) => ValueRef::Real(*f),
            Cell::Text(b) => ValueRef::Text(b),
            Cell::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// One item of the source's schema.
struct SchemaItem {
    kind: String,
    name: String,
    sql: Option<String>,
}

/// Counters shown in the summary's notes.
#[derive(Default)]
struct Counts {
    tenantless: HashMap<String, u64>,
    cross: HashMap<String, u64>,
    unresolved: HashMap<String, u64>,
}

fn run(
    app: &App,
    src: &Connection,
    source: &Path,
    dst: &Connection,
    out: &Path,
    spec: &CloneSpec,
    progress: &mut dyn FnMut(u64),
) -> Result<CloneSummary, AppError> {
    let rd = |what: &'static str| move |e: rusqlite::Error| file(source, format!("{what}: {e}"));
    let wr = |what: String| move |e: rusqlite::Error| file(out, format!("{what}: {e}"));

    let schema = read_schema(src).map_err(rd("cannot read its schema"))?;
    let mut plans = plan_tables(app, src, source, &schema)?;

    // Tenants and their copies.
    let root = plans.iter().position(|p| p.scope == Scope::Root);
    let tenants = source_tenants(src, &plans, root).map_err(rd("cannot list its tenants"))?;
    if tenants.is_empty() {
        let where_ = match root {
            Some(r) => format!(
                "its root table {:?} has no rows with an integer key",
                plans[r].name
            ),
            None => format!(
                "no table has an integer value in the tenant column {:?}",
                app.toml.tenant.column
            ),
        };
        return Err(file(
            source,
            format!(
                "has no tenants to clone: {where_}; clone a file that holds at least one tenant"
            ),
        ));
    }
    let copies = assign_copies(&tenants, spec);
    let max_copies = copies.values().copied().max().unwrap_or(0);

    // Strides, checked so no shifted value overflows.
    let tenant_stride = strides(src, app, &mut plans).map_err(rd("cannot read its keys"))?;
    let spans = plans
        .iter()
        .filter(|p| p.scope.scoped())
        .map(|p| (p.name.as_str(), p.stride))
        .chain(std::iter::once(("the tenant column", tenant_stride)));
    for (name, stride) in spans {
        if i64::try_from(i128::from(stride) * i128::from(max_copies)).is_err() {
            return Err(file(
                source,
                format!(
                    "the keys of {name:?} span {stride} values; {max_copies} copies would overflow 64-bit ids; ask for fewer tenants"
                ),
            ));
        }
    }

    build_maps(src, &plans).map_err(rd("cannot map its rows to tenants"))?;
    let mut notes = Vec::new();
    if max_copies > 1 {
        plan_variations(src, &mut plans, &mut notes).map_err(rd("cannot measure its columns"))?;
    }

    // The new file: same page size, encoding and vacuum mode, no journal.
    let pragma = |name: &str| -> Result<String, AppError> {
        src.query_row(&format!("pragma {name}"), [], |r| {
            r.get_ref(0).map(|v| match v {
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                _ => String::new(),
            })
        })
        .map_err(rd("cannot read its settings"))
    };
    let settings = format!(
        "pragma page_size = {}; pragma encoding = '{}'; pragma auto_vacuum = {}; \
         pragma journal_mode = off; pragma synchronous = off; pragma foreign_keys = off; \
         pragma user_version = {}; pragma application_id = {};",
        pragma("page_size")?,
        pragma("encoding")?,
        pragma("auto_vacuum")?,
        pragma("user_version")?,
        pragma("application_id")?,
    );
    dst.execute_batch(&settings)
        .map_err(wr("cannot set up the new file".into()))?;
    dst.execute_batch("begin")
        .map_err(wr("cannot start writing".into()))?;
    for item in schema.iter().filter(|i| i.kind == "table") {
        if let Some(sql) = &item.sql {
            dst.execute_batch(sql)
                .map_err(wr(format!("cannot create table {:?}", item.name)))?;
        }
    }

    let mut groups: Vec<Vec<Group>> = plans
        .iter_mut()
        .map(|p| std::mem::take(&mut p.groups))
        .collect();
    let mut copier = Copier {
        src,
        dst,
        source,
        out,
        plans: &plans,
        copies: &copies,
        max_copies,
        tenant_stride,
        written: 0,
        last_report: 0,
        counts: Counts::default(),
        progress,
    };
    let mut tables = Vec::with_capacity(plans.len());
    for (i, plan) in plans.iter().enumerate() {
        let n = copier.copy(i, &mut groups[i])?;
        tables.push((plan.name.clone(), n));
    }
    (copier.progress)(copier.written);
    let counts = std::mem::take(&mut copier.counts);

    // AUTOINCREMENT counters of tables copied as they are keep the source's
    // value (it can be past the largest id when rows were deleted).
    let has_seq: bool = src
        .query_row(
            "select count(*) from sqlite_schema where name = 'sqlite_sequence'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(rd("cannot read its schema"))?
        > 0;
    if has_seq {
        let mut st = src
            .prepare("select name, seq from sqlite_sequence order by name")
            .map_err(rd("cannot read sqlite_sequence"))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(rd("cannot read sqlite_sequence"))?;
        for row in rows {
            let (name, seq) = row.map_err(rd("cannot read sqlite_sequence"))?;
            let kept = plans.iter().any(|p| p.name == name && !p.scope.scoped());
            if kept {
                dst.execute(
                    "update sqlite_sequence set seq = ?1 where name = ?2 and seq < ?1",
                    rusqlite::params![seq, name],
                )
                .map_err(wr("cannot write sqlite_sequence".into()))?;
            }
        }
    }

    // Indexes, views and triggers after the data: the copy neither pays for
    // index upkeep row by row nor fires the app's triggers.
    for kind in ["index", "view", "trigger"] {
        for item in schema.iter().filter(|i| i.kind == kind) {
            if let Some(sql) = &item.sql {
                dst.execute_batch(sql).map_err(|e| {
                    let hint = if kind == "index" {
                        " (a UNIQUE index on an expression, or on columns the clone cannot vary, \
                         is repeated by the copies; clone with as many tenants as the source holds, \
                         or fewer)"
                    } else {
                        ""
                    };
                    file(out, format!("cannot create {kind} {:?} after the data: {e}{hint}", item.name))
                })?;
            }
        }
    }
    dst.execute_batch("commit")
        .map_err(wr("cannot finish writing".into()))?;

    let mut summary = CloneSummary {
        source_tenants: tenants.len() as u64,
        tenants: u64::from(spec.tenants),
        tables,
        perturbed: Vec::new(),
        unmapped: plans
            .iter()
            .filter(|p| p.scope == Scope::Unmapped)
            .map(|p| p.name.clone())
            .collect(),
        copies: tenants.iter().map(|t| (*t, copies[t])).collect(),
        notes,
    };
    for (p, gs) in plans.iter().zip(&groups) {
        let mut varied: Vec<usize> = p.free.clone();
        varied.extend(gs.iter().map(|g| g.vary));
        varied.sort_unstable();
        varied.dedup();
        summary.perturbed.extend(
            varied
                .into_iter()
                .map(|c| (p.name.clone(), p.cols[c].name.clone())),
        );
    }
    let sorted = |m: HashMap<String, u64>| {
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort();
        v
    };
    for (table, n) in sorted(counts.tenantless) {
        summary.notes.push(format!(
            "{table}: {n} row(s) name no tenant of the source (NULL or an orphan): copied once, unchanged"
        ));
    }
    for (what, n) in sorted(counts.cross) {
        summary.notes.push(format!(
            "{what}: {n} reference(s) written cross tenants, as in the source (copy c points to copy c of the other tenant's row)"
        ));
    }
    for (what, n) in sorted(counts.unresolved) {
        summary.notes.push(format!(
            "{what}: {n} reference(s) crossed tenants in the source to a tenant with fewer copies (or none): copy c of the row points to a copy c that does not exist, so it dangles"
        ));
    }
    Ok(summary)
}

fn read_schema(src: &Connection) -> rusqlite::Result<Vec<SchemaItem>> {
    let mut st = src.prepare(
        "select type, name, sql from sqlite_schema \
         where name not like 'sqlite\\_%' escape '\\' order by rowid",
    )?;
    let rows = st.query_map([], |r| {
        Ok(SchemaItem {
            kind: r.get(0)?,
            name: r.get(1)?,
            sql: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// One plan per table of the source: mapped tables in mapping order, then
/// the others in schema order. Every way the mapping and the file disagree
/// is reported at once.
fn plan_tables(
    app: &App,
    src: &Connection,
    source: &Path,
    schema: &[SchemaItem],
) -> Result<Vec<Plan>, AppError> {
    let rd = |e: rusqlite::Error| file(source, format!("cannot read its schema: {e}"));
    let mut problems = Vec::new();
    let tables: Vec<&SchemaItem> = schema.iter().filter(|i| i.kind == "table").collect();
    for t in &tables {
        if t.sql.as_deref().is_some_and(|s| {
            s.trim_start()
                .to_ascii_lowercase()
                .starts_with("create virtual")
        }) {
            return Err(file(
                source,
                format!(
                    "holds the virtual table {:?}; cloning copies ordinary tables only (drop or rebuild it after cloning a copy of the file without it)",
                    t.name
                ),
            ));
        }
    }
    let mut plans: Vec<Plan> = Vec::new();
    let mut used = vec![false; tables.len()];
    let mut by_target: HashMap<&str, usize> = HashMap::new();
    for tm in &app.mapping.tables {
        let legacy = tm.legacy_name();
        let Some(ti) = tables
            .iter()
            .position(|t| t.name.eq_ignore_ascii_case(legacy))
        else {
            problems.push(format!(
                "table {:?} (legacy name {legacy:?}) is in the mapping but not in the file {}; fix `legacy` in mapping.toml or clone the file the mapping was made from",
                tm.name,
                source.display()
            ));
            continue;
        };
        used[ti] = true;
        let name = tables[ti].name.clone();
        let (mut cols, rowid, without_rowid, alias) = table_columns(src, &name).map_err(rd)?;
        let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
        let find = |legacy_col: &str| {
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(legacy_col))
        };
        for cm in &tm.columns {
            for l in &cm.legacy {
                match find(l) {
                    Some(i) => cols[i].rule = Some(cm.rule.clone()),
                    None if matches!(cm.rule, Rule::Key { .. }) && is_rowid_name(l) => {}
                    None => problems.push(format!(
                        "{}.{}: legacy column {l:?} is not in table {name:?} of the file",
                        tm.name, cm.target
                    )),
                }
            }
        }
        let key_legacy = tm
            .columns
            .iter()
            .find(|c| matches!(c.rule, Rule::Key { .. }))
            .and_then(|c| c.legacy.first());
        let key = match key_legacy {
            Some(l) => match find(l) {
                Some(i) => Some(Key::Col(i)),
                // The mapping keys by the rowid: its alias column, when the
                // table has one, is the key (writing both would clash).
                None if is_rowid_name(l) => match alias {
                    Some(i) => Some(Key::Col(i)),
                    None if without_rowid || rowid.is_none() => {
                        problems.push(format!(
                            "{}: the key is the rowid, but table {name:?} has none to read",
                            tm.name
                        ));
                        None
                    }
                    None => Some(Key::Rowid),
                },
                None => None,
            },
            None => None,
        };
        by_target.insert(tm.name.as_str(), plans.len());
        plans.push(Plan {
            name,
            target: Some(tm.name.clone()),
            alias,
            scope: Scope::Shared,
            cols,
            rowid,
            write_rowid: false,
            key,
            stride: 1,
            shifts: Vec::new(),
            records: Vec::new(),
            tenant_shift: None,
            free: Vec::new(),
            groups: Vec::new(),
            map: None,
        });
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid {
            path: app.dir.join("mapping.toml"),
            problems,
        });
    }

    // Scopes, in mapping order (parents first, so a parent's scope is known).
    let has_root = app.toml.tenant.root_table.is_some();
    for (pi, tm) in app.mapping.tables.iter().enumerate() {
        let plan_cols = plans[pi].cols.clone();
        let col_of = |legacy: &str| {
            plan_cols
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(legacy))
        };
        let mut scope = match app.tenant_link(tm) {
            TenantLink::Root => Scope::Root,
            TenantLink::Column(i) => match tm.columns[i].legacy.first().and_then(|l| col_of(l)) {
                Some(c) => Scope::Column(c),
                None => Scope::Shared,
            },
            TenantLink::None => Scope::Shared,
        };
        let mut shifts = Vec::new();
        let mut records = Vec::new();
        for cm in &tm.columns {
            let Some(col) = cm.legacy.first().and_then(|l| col_of(l)) else {
                continue;
            };
            match &cm.rule {
                Rule::Ref { table } => {
                    let Some(&parent) = by_target.get(table.as_str()) else {
                        continue;
                    };
                    let parent_scoped = if parent == pi {
                        scope.scoped()
                    } else {
                        plans[parent].scope.scoped()
                    };
                    if parent != pi && parent_scoped && scope == Scope::Shared {
                        scope = Scope::Child;
                    }
                    shifts.push(Shift { col, parent });
                }
                Rule::RecordRef { table_column } => {
                    if let Some(type_col) = col_of(table_column) {
                        records.push(RecordShift { col, type_col });
                    }
                }
                _ => {}
            }
        }
        let plan = &mut plans[pi];
        plan.scope = scope;
        if scope.scoped() {
            // Only references into tenant-scoped tables move; a self
            // reference of a tenant-scoped table does too.
            plan.shifts = shifts;
            plan.records = records;
            if !has_root {
                if let Scope::Column(c) = scope {
                    plan.tenant_shift = Some(c);
                }
            }
            plan.write_rowid = plan.key == Some(Key::Rowid);
        } else {
            plan.write_rowid = plan.rowid.is_some() && plan.alias.is_none();
        }
    }
    // Drop shifts into tables that turned out shared.
    let scoped: Vec<bool> = plans.iter().map(|p| p.scope.scoped()).collect();
    for p in &mut plans {
        p.shifts.retain(|s| scoped[s.parent]);
    }
    for (i, p) in plans.iter_mut().enumerate() {
        if p.scope.scoped() {
            p.map = Some(format!("temp.{}", quote(&format!("clone_tenant_of_{i}"))));
        }
    }

    for (ti, t) in tables.iter().enumerate() {
        if used[ti] {
            continue;
        }
        let (cols, rowid, _, alias) = table_columns(src, &t.name).map_err(rd)?;
        let write_rowid = rowid.is_some() && alias.is_none();
        plans.push(Plan {
            name: t.name.clone(),
            target: None,
            alias,
            scope: Scope::Unmapped,
            cols,
            rowid,
            write_rowid,
            key: None,
            stride: 1,
            shifts: Vec::new(),
            records: Vec::new(),
            tenant_shift: None,
            free: Vec::new(),
            groups: Vec::new(),
            map: None,
        });
    }
    Ok(plans)
}

fn is_rowid_name(s: &str) -> bool {
    ["rowid", "oid", "_rowid_"]
        .iter()
        .any(|r| r.eq_ignore_ascii_case(s))
}

type TableColumns = (Vec<Col>, Option<String>, bool, Option<usize>);

/// The table's stored columns (generated ones are computed, not copied),
/// the name that reads its rowid, whether it is WITHOUT ROWID, and its
/// rowid alias column.
fn table_columns(src: &Connection, table: &str) -> rusqlite::Result<TableColumns> {
    let mut st = src.prepare("select name, type, pk, hidden from pragma_table_xinfo(?1)")?;
    let rows = st.query_map([table], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut cols = Vec::new();
    let mut pks = Vec::new();
    for row in rows {
        let (name, ty, pk, hidden) = row?;
        if hidden != 0 {
            continue;
        }
        if pk > 0 {
            pks.push((cols.len(), ty));
        }
        cols.push(Col { name, rule: None });
    }
    let without_rowid: bool = src
        .query_row(
            "select wr from pragma_table_list where schema = 'main' and name = ?1",
            [table],
            |r| r.get::<_, i64>(0),
        )
        .map(|w| w != 0)
        .unwrap_or(false);
    let rowid = if without_rowid {
        None
    } else {
        ["rowid", "_rowid_", "oid"]
            .iter()
            .find(|r| !cols.iter().any(|c| c.name.eq_ignore_ascii_case(r)))
            .map(|r| r.to_string())
    };
    let alias = match pks.as_slice() {
        [(i, ty)] if !without_rowid && ty.eq_ignore_ascii_case("integer") => Some(*i),
        _ => None,
    };
    Ok((cols, rowid, without_rowid, alias))
}

/// The source's tenant ids, ascending: the root table's integer keys, or
/// (no root table) the integer values of the tenant columns.
fn source_tenants(
    src: &Connection,
    plans: &[Plan],
    root: Option<usize>,
) -> rusqlite::Result<Vec<i64>> {
    let sql = match root {
        Some(r) => {
            let p = &plans[r];
            let Some(k) = p.key_expr() else {
                return Ok(Vec::new());
            };
            format!(
                "select distinct {k} from {} t where typeof({k}) = 'integer' order by 1",
                quote(&p.name)
            )
        }
        None => {
            let parts: Vec<String> = plans
                .iter()
                .filter_map(|p| match p.scope {
                    Scope::Column(c) => {
                        let e = p.col_expr(c);
                        Some(format!(
                            "select {e} from {} t where typeof({e}) = 'integer'",
                            quote(&p.name)
                        ))
                    }
                    _ => None,
                })
                .collect();
            if parts.is_empty() {
                return Ok(Vec::new());
            }
            format!(
                "select distinct * from ({}) order by 1",
                parts.join(" union ")
            )
        }
    };
    let mut st = src.prepare(&sql)?;
    let rows = st.query_map([], |r| r.get::<_, i64>(0))?;
    rows.collect()
}

/// How often each tenant is copied: floor(N/T) each, plus one for the first
/// N mod T tenants of a permutation seeded with `spec.seed`.
fn assign_copies(tenants: &[i64], spec: &CloneSpec) -> HashMap<i64, u32> {
    let t = tenants.len() as u64;
    let n = u64::from(spec.tenants);
    let base = (n / t) as u32;
    let extra = (n % t) as usize;
    let mut order: Vec<usize> = (0..tenants.len()).collect();
    let mut rng = SplitMix(spec.seed);
    for i in (1..order.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let mut copies: HashMap<i64, u32> = tenants.iter().map(|&id| (id, base)).collect();
    for &i in order.iter().take(extra) {
        if let Some(c) = copies.get_mut(&tenants[i]) {
            *c += 1;
        }
    }
    copies
}

/// SplitMix64: a tiny generator whose sequence depends on nothing but the
/// seed (no library version can change which tenants a seed picks).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Each tenant-scoped table's stride: the span of its integer keys and of
/// every integer reference to it (0 included), so `v + c * stride` of two
/// copies never meet. Returns the tenant stride used when there is no root
/// table.
fn strides(src: &Connection, app: &App, plans: &mut [Plan]) -> rusqlite::Result<i64> {
    let mut lo = vec![0i64; plans.len()];
    let mut hi = vec![0i64; plans.len()];
    let mut widen = |i: usize, a: Option<i64>, b: Option<i64>| {
        if let Some(a) = a {
            lo[i] = lo[i].min(a);
        }
        if let Some(b) = b {
            hi[i] = hi[i].max(b);
        }
    };
    let span = |expr: &str,
                table: &str,
                filter: &str|
     -> rusqlite::Result<(Option<i64>, Option<i64>)> {
        src.query_row(
            &format!(
                "select min({expr}), max({expr}) from {} t where typeof({expr}) = 'integer'{filter}",
                quote(table)
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    };
    let target_index: HashMap<&str, usize> = app
        .mapping
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let mut tenant_span = (0i64, 0i64);
    for (i, p) in plans.iter().enumerate() {
        if p.scope.scoped() {
            if let Some(k) = p.key_expr() {
                let (a, b) = span(&k, &p.name, "")?;
                widen(i, a, b);
            }
        }
        for s in &p.shifts {
            let (a, b) = span(&p.col_expr(s.col), &p.name, "")?;
            widen(s.parent, a, b);
        }
        for r in &p.records {
            let mut st = src.prepare(&format!(
                "select distinct {} from {} t where {0} is not null",
                p.col_expr(r.type_col),
                quote(&p.name)
            ))?;
            let names: Vec<String> = st
                .query_map([], |row| row.get::<_, String>(0))?
                .filter_map(Result::ok)
                .collect();
            for name in names {
                if let Some(&target) = target_index.get(name.as_str()) {
                    let filter = format!(
                        " and {} = {}",
                        p.col_expr(r.type_col),
                        super::literal(&name)
                    );
                    let (a, b) = span(&p.col_expr(r.col), &p.name, &filter)?;
                    widen(target, a, b);
                }
            }
        }
        if let Some(c) = p.tenant_shift {
            let (a, b) = span(&p.col_expr(c), &p.name, "")?;
            tenant_span.0 = tenant_span.0.min(a.unwrap_or(0));
            tenant_span.1 = tenant_span.1.max(b.unwrap_or(0));
        }
    }
    for (i, p) in plans.iter_mut().enumerate() {
        p.stride = hi[i].saturating_sub(lo[i]).saturating_add(1);
    }
    Ok(tenant_span
        .1
        .saturating_sub(tenant_span.0)
        .saturating_add(1))
}

/// For every tenant-scoped table, a temporary map from key to source tenant
/// (on disk, not in memory): joined when reading a child to learn a
/// parent's tenant, and the only way a table without a tenant column knows
/// its own.
fn build_maps(src: &Connection, plans: &[Plan]) -> rusqlite::Result<()> {
    for (i, p) in plans.iter().enumerate() {
        let (Some(map), Some(k)) = (&p.map, p.key_expr()) else {
            continue;
        };
        // `id integer`: with no type, comparing it with an INTEGER
        // reference would put numeric affinity on the indexed side and
        // every join would scan the map (quadratic time).
        src.execute_batch(&format!(
            "create table {map} (id integer primary key, tenant) without rowid"
        ))?;
        let t = quote(&p.name);
        let sql = match p.scope {
            Scope::Root => format!(
                "insert or ignore into {map} select {k}, \
                 case when typeof({k}) = 'integer' then {k} end from {t} t"
            ),
            Scope::Column(c) => format!(
                "insert or ignore into {map} select {k}, {} from {t} t",
                p.col_expr(c)
            ),
            Scope::Child => {
                let mut joins = String::new();
                let mut tenants = Vec::new();
                for (j, s) in p.shifts.iter().enumerate().filter(|(_, s)| s.parent != i) {
                    let pm = plans[s.parent].map.as_deref().unwrap_or_default();
                    joins.push_str(&format!(
                        " left join {pm} p{j} on p{j}.id = {}",
                        p.col_expr(s.col)
                    ));
                    tenants.push(format!("p{j}.tenant"));
                }
                tenants.push("null".into());
                format!(
                    "insert or ignore into {map} select {k}, coalesce({}) from {t} t{joins}",
                    tenants.join(", ")
                )
            }
            _ => continue,
        };
        src.execute_batch(&sql)?;
        if p.scope == Scope::Child {
            // A row that reaches its tenant only through its own parent row
            // (a reply to a reply): resolve level by level.
            for s in p.shifts.iter().filter(|s| s.parent == i) {
                let r = p.col_expr(s.col);
                let sql = format!(
                    "update {map} set tenant = (select p.tenant from {t} t join {map} p on p.id = {r} \
                     where {k} = {map}.id) \
                     where tenant is null and id in (select {k} from {t} t join {map} p on p.id = {r} \
                     where p.tenant is not null)"
                );
                while src.execute(&sql, [])? > 0 {}
            }
        }
    }
    Ok(())
}

/// Decide which columns copies vary: the unique indexes that copies could
/// repeat (each gets one column to vary, checked against every tuple
/// written) and the mostly distinct, tenant-private columns.
fn plan_variations(
    src: &Connection,
    plans: &mut [Plan],
    notes: &mut Vec<String>,
) -> rusqlite::Result<()> {
    for plan in plans.iter_mut().filter(|p| p.scope.scoped()) {
        let (free, groups) = variations_of(src, plan, notes)?;
        plan.free = free;
        plan.groups = groups;
    }
    Ok(())
}

/// A unique index of a table: its name, the columns it holds (with their
/// collations) and whether it also holds expressions.
struct UniqueIndex {
    name: String,
    cols: Vec<(usize, Collation)>,
    expression: bool,
}

/// The free columns and the tracked unique indexes of one tenant-scoped table.
fn variations_of(
    src: &Connection,
    p: &Plan,
    notes: &mut Vec<String>,
) -> rusqlite::Result<(Vec<usize>, Vec<Group>)> {
    let mut shifted: HashSet<usize> = p.shifts.iter().map(|s| s.col).collect();
    shifted.extend(p.records.iter().map(|r| r.col));
    shifted.extend(p.tenant_shift);
    if let Some(Key::Col(k)) = p.key {
        shifted.insert(k);
    }
    if let Scope::Column(c) = p.scope {
        shifted.insert(c);
    }
    let types: HashSet<usize> = p.records.iter().map(|r| r.type_col).collect();
    let candidates: Vec<usize> = (0..p.cols.len())
        .filter(|c| !shifted.contains(c) && !types.contains(c))
        .filter(|&c| {
            !matches!(
                p.cols[c].rule,
                Some(Rule::Key { .. } | Rule::Ref { .. } | Rule::RecordRef { .. })
            )
        })
        .collect();

    // Unique indexes holding no shifted column.
    let mut unique: Vec<UniqueIndex> = Vec::new();
    {
        let mut st = src
            .prepare("select name from pragma_index_list(?1) where \"unique\" = 1 order by name")?;
        let names: Vec<String> = st
            .query_map([&p.name], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for name in names {
            let mut st = src.prepare(
                "select cid, coll from pragma_index_xinfo(?1) where key = 1 order by seqno",
            )?;
            let parts: Vec<(i64, Option<String>)> = st
                .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut cols = Vec::new();
            let mut moves = false;
            let mut expression = false;
            for (cid, coll) in parts {
                match cid {
                    -1 => moves = true,
                    -2 => expression = true,
                    _ => {
                        // pragma cid counts every column; ours skip
                        // generated ones, so look the name up.
                        let cname = index_column_name(src, &p.name, cid)?;
                        match p.cols.iter().position(|c| c.name == cname) {
                            Some(c) if shifted.contains(&c) => moves = true,
                            Some(c) => cols.push((c, collation(coll.as_deref()))),
                            None => expression = true,
                        }
                    }
                }
            }
            if !moves {
                unique.push(UniqueIndex {
                    name,
                    cols,
                    expression,
                });
            }
        }
    }

    // Counts of the candidate columns and of the unique ones.
    let mut measured: Vec<usize> = candidates.clone();
    for u in &unique {
        measured.extend(u.cols.iter().map(|(c, _)| *c));
    }
    measured.sort_unstable();
    measured.dedup();
    let mut nn = HashMap::new();
    let mut distinct = HashMap::new();
    if !measured.is_empty() {
        let exprs: Vec<String> = measured
            .iter()
            .map(|&c| {
                let e = p.col_expr(c);
                format!("count({e}), count(distinct {e})")
            })
            .collect();
        let sql = format!("select {} from {} t", exprs.join(", "), quote(&p.name));
        src.query_row(&sql, [], |r| {
            for (j, &c) in measured.iter().enumerate() {
                nn.insert(c, r.get::<_, i64>(2 * j)? as u64);
                distinct.insert(c, r.get::<_, i64>(2 * j + 1)? as u64);
            }
            Ok(())
        })?;
    }
    let tenant_expr = match p.scope {
        Scope::Root => p.key_expr().unwrap_or_else(|| "null".into()),
        Scope::Column(c) => p.col_expr(c),
        _ => "o.tenant".into(),
    };
    let own_join = match (&p.scope, &p.map, p.key_expr()) {
        (Scope::Child, Some(m), Some(k)) => format!(" left join {m} o on o.id = {k}"),
        _ => String::new(),
    };
    let mut free = Vec::new();
    for &c in &candidates {
        let shape = Shape::of(p.cols[c].rule.as_ref());
        let (n, d) = (nn[&c], distinct[&c]);
        if !shape.varies_freely() || n == 0 || DISTINCT_NUM * d < n {
            continue;
        }
        let e = p.col_expr(c);
        let pairs: i64 = src.query_row(
            &format!(
                "select count(*) from (select distinct {tenant_expr}, {e} from {} t{own_join} \
                     where {e} is not null)",
                quote(&p.name)
            ),
            [],
            |r| r.get(0),
        )?;
        if SHARING_NUM * pairs as u64 <= SHARING_DEN * d {
            free.push(c);
        }
    }

    let mut groups = Vec::new();
    for UniqueIndex {
        name,
        cols,
        expression,
    } in unique
    {
        let vary = cols
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| Shape::of(p.cols[*c].rule.as_ref()) != Shape::Fixed)
            .min_by_key(|c| {
                (
                    Shape::of(p.cols[*c].rule.as_ref()).rank(),
                    std::cmp::Reverse(distinct.get(c).copied().unwrap_or(0)),
                    *c,
                )
            });
        match vary {
                Some(v) if !expression => groups.push(Group {
                    cols,
                    vary: v,
                    seen: HashSet::new(),
                }),
                _ => notes.push(format!(
                    "{}: unique index {name:?} is on an expression or on columns the clone cannot vary; copies may repeat its values (creating it then fails)",
                    p.name
                )),
            }
    }
    let in_groups: HashSet<usize> = groups.iter().map(|g| g.vary).collect();
    free.retain(|c| !in_groups.contains(c));
    Ok((free, groups))
}

fn index_column_name(src: &Connection, table: &str, cid: i64) -> rusqlite::Result<String> {
    src.query_row(
        "select name from pragma_table_xinfo(?1) where cid = ?2",
        rusqlite::params![table, cid],
        |r| r.get(0),
    )
}

fn collation(name: Option<&str>) -> Collation {
    match name {
        Some(n) if n.eq_ignore_ascii_case("nocase") => Collation::NoCase,
        Some(n) if n.eq_ignore_ascii_case("rtrim") => Collation::Rtrim,
        _ => Collation::Binary,
    }
}

/// Streams one table at a time from the source into the new file.
struct Copier<'a, 'p> {
    src: &'a Connection,
    dst: &'a Connection,
    source: &'a Path,
    out: &'a Path,
    plans: &'a [Plan],
    copies: &'a HashMap<i64, u32>,
    max_copies: u32,
    tenant_stride: i64,
    written: u64,
    last_report: u64,
    counts: Counts,
    progress: &'p mut dyn FnMut(u64),
}

impl Copier<'_, '_> {
    /// Copy plan `i`: once for shared and unmapped tables, once per copy
    /// index for tenant-scoped ones (each pass writes ascending keys, so the
    /// new file's B-trees are appended to). Returns the rows written.
    fn copy(&mut self, i: usize, groups: &mut [Group]) -> Result<u64, AppError> {
        let p = &self.plans[i];
        let rd =
            |e: rusqlite::Error| file(self.source, format!("cannot read table {:?}: {e}", p.name));
        let scoped = p.scope.scoped();
        let rowid_cols = usize::from(p.rowid.is_some() && (p.write_rowid || scoped));
        let mut select = Vec::new();
        if rowid_cols == 1 {
            select.push(format!("t.{}", p.rowid.as_deref().unwrap_or("rowid")));
        }
        select.extend((0..p.cols.len()).map(|c| p.col_expr(c)));
        let mut joins = String::new();
        let own_at = select.len();
        if scoped {
            select.push(match (p.scope, p.key_expr()) {
                (Scope::Root, Some(k)) => k,
                (Scope::Column(c), _) => p.col_expr(c),
                (Scope::Child, Some(k)) => {
                    joins.push_str(&format!(
                        " left join {} o on o.id = {k}",
                        p.map.as_deref().unwrap_or_default()
                    ));
                    "o.tenant".into()
                }
                _ => "null".into(),
            });
            for (j, s) in p.shifts.iter().enumerate() {
                let pm = self.plans[s.parent].map.as_deref().unwrap_or_default();
                joins.push_str(&format!(
                    " left join {pm} p{j} on p{j}.id = {}",
                    p.col_expr(s.col)
                ));
                select.push(format!("p{j}.id is not null"));
                select.push(format!("p{j}.tenant"));
            }
        }
        let order = match &p.rowid {
            Some(r) => format!(" order by t.{r}"),
            None => String::new(),
        };
        let read_sql = format!(
            "select {} from {} t{joins}{order}",
            select.join(", "),
            quote(&p.name)
        );
        let mut insert_cols: Vec<String> = Vec::new();
        if p.write_rowid {
            insert_cols.push(p.rowid.clone().unwrap_or_else(|| "rowid".into()));
        }
        insert_cols.extend(p.cols.iter().map(|c| quote(&c.name)));
        let insert_sql = format!(
            "insert into {} ({}) values ({})",
            quote(&p.name),
            insert_cols.join(", "),
            vec!["?"; insert_cols.len()].join(", ")
        );
        let mut insert = self
            .dst
            .prepare(&insert_sql)
            .map_err(|e| file(self.out, format!("cannot write table {:?}: {e}", p.name)))?;
        let mut read = self.src.prepare(&read_sql).map_err(rd)?;
        let mut lookups: HashMap<usize, Statement<'_>> = HashMap::new();
        let passes = if scoped { self.max_copies.max(1) } else { 1 };
        let mut rows_written = 0u64;
        for c in 0..passes {
            let mut rows = read.query([]).map_err(rd)?;
            while let Some(row) = rows.next().map_err(rd)? {
                let mut cells: Vec<Cell> = Vec::with_capacity(p.cols.len() + 1);
                for j in 0..rowid_cols + p.cols.len() {
                    cells.push(Cell::read(row.get_ref(j).map_err(rd)?));
                }
                if !scoped {
                    self.write(&mut insert, &cells, &p.name)?;
                    rows_written += 1;
                    continue;
                }
                let own = Cell::read(row.get_ref(own_at).map_err(rd)?).int();
                let own_copies = own.and_then(|t| self.copies.get(&t).copied());
                let cc = match own_copies {
                    Some(n) if c < n => c,
                    Some(_) => continue,
                    None if c == 0 => {
                        *self.counts.tenantless.entry(p.name.clone()).or_default() += 1;
                        0
                    }
                    None => continue,
                };
                let own = if own_copies.is_some() { own } else { None };
                let base = rowid_cols;
                // The key (or the rowid the mapping keys by).
                if cc > 0 {
                    match p.key {
                        Some(Key::Rowid) if rowid_cols == 1 => shift(&mut cells[0], cc, p.stride),
                        Some(Key::Col(k)) => shift(&mut cells[base + k], cc, p.stride),
                        _ => {}
                    }
                    if let Some(tc) = p.tenant_shift {
                        shift(&mut cells[base + tc], cc, self.tenant_stride);
                    }
                }
                // References into tenant-scoped tables.
                for (j, s) in p.shifts.iter().enumerate() {
                    let at = own_at + 1 + 2 * j;
                    let found: bool = row.get(at).map_err(rd)?;
                    let parent = Cell::read(row.get_ref(at + 1).map_err(rd)?).int();
                    let by = self.ref_copy(found, parent, own, cc, &p.name, &p.cols[s.col].name);
                    shift(&mut cells[base + s.col], by, self.plans[s.parent].stride);
                }
                for r in &p.records {
                    let Cell::Text(name) = &cells[base + r.type_col] else {
                        continue;
                    };
                    let Some(target) = self.plans.iter().position(|t| {
                        t.scope.scoped()
                            && t.map.is_some()
                            && t.target.as_deref().map(str::as_bytes) == Some(name.as_slice())
                    }) else {
                        continue;
                    };
                    let Some(v) = cells[base + r.col].int() else {
                        continue;
                    };
                    let st = match lookups.entry(target) {
                        Entry::Occupied(e) => e.into_mut(),
                        Entry::Vacant(e) => {
                            let sql = format!(
                                "select tenant from {} where id = ?1",
                                self.plans[target].map.as_deref().unwrap_or_default()
                            );
                            e.insert(self.src.prepare(&sql).map_err(rd)?)
                        }
                    };
                    let hit: Option<Option<i64>> = {
                        let mut q = st.query([v]).map_err(rd)?;
                        match q.next().map_err(rd)? {
                            Some(r) => Some(Cell::read(r.get_ref(0).map_err(rd)?).int()),
                            None => None,
                        }
                    };
                    let by = self.ref_copy(
                        hit.is_some(),
                        hit.flatten(),
                        own,
                        cc,
                        &p.name,
                        &p.cols[r.col].name,
                    );
                    shift(&mut cells[base + r.col], by, self.plans[target].stride);
                }
                // Values that must or should differ between copies.
                if cc > 0 {
                    for &f in &p.free {
                        let shape = Shape::of(p.cols[f].rule.as_ref());
                        if let Some(v) = vary(&cells[base + f], shape, u64::from(cc), false, true) {
                            cells[base + f] = v;
                        }
                    }
                }
                if !groups.is_empty() {
                    self.unique(p, groups, &mut cells, base, cc)?;
                }
                // The rowid was read to order and key rows; it is written
                // only when it is the key (otherwise SQLite assigns it).
                let skip = usize::from(rowid_cols == 1 && !p.write_rowid);
                self.write(&mut insert, &cells[skip..], &p.name)?;
                rows_written += 1;
            }
        }
        Ok(rows_written)
    }

    /// Which copy of the parent row a reference of copy `cc` points to:
    /// copy `cc`, wherever the parent lives, so two copies of a row never
    /// point to the same parent row (a unique index over the reference
    /// holds). Only a parent without a tenant (copied once) is shared.
    fn ref_copy(
        &mut self,
        found: bool,
        parent: Option<i64>,
        own: Option<i64>,
        cc: u32,
        table: &str,
        col: &str,
    ) -> u32 {
        if !found {
            // Dangling in the source: moved like the rest, it stays dangling
            // (the stride spans it, so it cannot land on a copy's row).
            return cc;
        }
        let Some(pt) = parent.filter(|t| self.copies.contains_key(t)) else {
            // The parent has no tenant: it is copied once, as it is.
            return 0;
        };
        if Some(pt) == own {
            return cc;
        }
        // A reference that crossed tenants in the source. The other tenant
        // may have fewer copies (or none, when fewer tenants are asked for
        // than the source holds): then this copy's reference dangles.
        let counter = if cc < self.copies[&pt] {
            &mut self.counts.cross
        } else {
            &mut self.counts.unresolved
        };
        *counter.entry(format!("{table}.{col}")).or_default() += 1;
        cc
    }

    /// Make the row's tuples of every tracked unique index new, varying each
    /// index's chosen column, attempt after attempt, the same way each run.
    fn unique(
        &self,
        p: &Plan,
        groups: &mut [Group],
        cells: &mut [Cell],
        base: usize,
        cc: u32,
    ) -> Result<(), AppError> {
        let mut varied: Vec<usize> = groups.iter().map(|g| g.vary).collect();
        varied.sort_unstable();
        varied.dedup();
        let originals: Vec<Cell> = varied.iter().map(|&v| cells[base + v].clone()).collect();
        let stride = u64::from(self.max_copies.max(1));
        for attempt in 0..MAX_TRIES {
            if cc > 0 {
                let u = u64::from(cc) + u64::from(attempt) * stride;
                for (v, orig) in varied.iter().zip(&originals) {
                    let shape = Shape::of(p.cols[*v].rule.as_ref());
                    cells[base + v] = vary(orig, shape, u, true, attempt < IN_PLACE_TRIES)
                        .unwrap_or_else(|| orig.clone());
                }
            }
            let hashes: Vec<Option<u64>> =
                groups.iter().map(|g| tuple_hash(g, cells, base)).collect();
            let free = cc == 0
                || groups
                    .iter()
                    .zip(&hashes)
                    .all(|(g, h)| h.is_none_or(|h| !g.seen.contains(&h)));
            if free {
                for (g, h) in groups.iter_mut().zip(hashes) {
                    if let Some(h) = h {
                        g.seen.insert(h);
                    }
                }
                return Ok(());
            }
        }
        Err(file(
            self.out,
            format!(
                "table {:?}: found no value for a unique column ({}) that no other row holds after {MAX_TRIES} tries",
                p.name,
                varied
                    .iter()
                    .map(|v| p.cols[*v].name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }

    fn write(
        &mut self,
        insert: &mut Statement<'_>,
        cells: &[Cell],
        table: &str,
    ) -> Result<(), AppError> {
        insert
            .execute(rusqlite::params_from_iter(cells.iter()))
            .map_err(|e| {
                let hint = if e.sqlite_error_code()
                    == Some(rusqlite::ErrorCode::ConstraintViolation)
                {
                    " (the copies break a constraint of the table: a UNIQUE or CHECK on values the \
                     clone cannot vary; clone with as many tenants as the source holds, or fewer)"
                } else {
                    ""
                };
                file(
                    self.out,
                    format!("cannot write a row of table {table:?}: {e}{hint}"),
                )
            })?;
        self.written += 1;
        if self.written - self.last_report >= PROGRESS_EVERY {
            self.last_report = self.written;
            (self.progress)(self.written);
        }
        Ok(())
    }
}

fn shift(cell: &mut Cell, copy: u32, stride: i64) {
    if copy == 0 {
        return;
    }
    if let Cell::Int(v) = cell {
        // Checked against overflow when the strides were measured.
        *v = v.saturating_add(i64::from(copy).saturating_mul(stride));
    }
}

/// FNV-1a over a tuple, under each column's collation; None when a part is
/// NULL (SQLite's unique indexes let NULLs repeat).
fn tuple_hash(g: &Group, cells: &[Cell], base: usize) -> Option<u64> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for (c, coll) in &g.cols {
        match &cells[base + c] {
            Cell::Null => return None,
            Cell::Int(i) => {
                eat(b"i");
                eat(&i.to_le_bytes());
            }
            Cell::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                // SQLite's index holds 3 and 3.0 as equal.
                eat(b"i");
                eat(&(*f as i64).to_le_bytes());
            }
            Cell::Real(f) => {
                eat(b"r");
                eat(&f.to_bits().to_le_bytes());
            }
            Cell::Text(t) => {
                eat(b"t");
                match coll {
                    Collation::Binary => eat(t),
                    Collation::NoCase => eat(&t.to_ascii_lowercase()),
                    Collation::Rtrim => {
                        let end = t.iter().rposition(|b| *b != b' ').map_or(0, |i| i + 1);
                        eat(&t[..end]);
                    }
                }
            }
            Cell::Blob(b) => {
                eat(b"b");
                eat(b);
            }
        }
        eat(&[0xff, 0x00]);
    }
    Some(h)
}

/// Variation `u` (>= 1) of a value, keeping its shape: text changes up to
/// [`WINDOW`] trailing letters in place (digits when it has no letters; an
/// e-mail's local part only; each character stays in its class: a-z, A-Z,
/// 0-9, hiragana, katakana, CJK), so its length holds; integers change
/// trailing digits, never the leading one; reals change the trailing digits
/// of their shortest decimal; timestamps move by `u` seconds and dates by
/// `u` days in their own format (text, epoch seconds or milliseconds,
/// Julian days); addresses move by `u`. JSON and blobs change only when
/// `must` (a unique index): a key added to a JSON object, bytes changed.
/// Distinct `u` give distinct variations of one value (the window is
/// advanced by `u` times a step coprime with its size, which also lands far
/// from the value's neighbours). When `in_place` is false, a short suffix is
/// used instead (the fallback once in-place variations collide). None: the
/// value has no variation of its shape (NULL, '', a boolean, a value that
/// is not of its rule's form and not `must`).
fn vary(cell: &Cell, shape: Shape, u: u64, must: bool, in_place: bool) -> Option<Cell> {
    if shape == Shape::Fixed {
        return None;
    }
    match cell {
        Cell::Null => None,
        Cell::Int(v) => match shape {
            Shape::Time { date } => shift_epoch(*v, date, u).map(Cell::Int),
            _ if in_place => vary_int(*v, u).map(Cell::Int),
            _ => {
                let width = 10i64.checked_pow(v.unsigned_abs().to_string().len() as u32)?;
                v.checked_add(width.checked_mul(i64::try_from(u).ok()?)?)
                    .map(Cell::Int)
            }
        },
        Cell::Real(f) => match shape {
            Shape::Time { date } => shift_epoch_real(*f, date, u).map(Cell::Real),
            _ if in_place => vary_real(*f, u).map(Cell::Real),
            _ => Some(Cell::Real(f + u as f64)),
        },
        Cell::Text(bytes) => {
            let Ok(s) = std::str::from_utf8(bytes) else {
                // Not UTF-8: only a unique index makes us touch it.
                return must.then(|| {
                    let mut b = bytes.clone();
                    b.extend_from_slice(format!("~{u}").as_bytes());
                    Cell::Text(b)
                });
            };
            let text = |s: &str| -> Option<String> {
                if in_place {
                    vary_text(s, u).or_else(|| must.then(|| format!("{s}~{u}")))
                } else {
                    Some(format!("{s}~{u}"))
                }
            };
            let out = match shape {
                Shape::Time { date } => {
                    shift_text_time(s, date, u).or_else(|| if must { text(s) } else { None })
                }
                Shape::Inet => shift_inet(s, u).or_else(|| if must { text(s) } else { None }),
                Shape::Json if must => vary_json(s, u),
                Shape::Blob if must => text(s),
                Shape::Json | Shape::Blob => None,
                _ => text(s),
            };
            out.map(|s| Cell::Text(s.into_bytes()))
        }
        Cell::Blob(b) => {
            if !must {
                return None;
            }
            if in_place && !b.is_empty() {
                let mut b = b.clone();
                let w = b.len().min(WINDOW);
                let start = b.len() - w;
                let mut digits: Vec<(u32, u32)> =
                    b[start..].iter().map(|x| (u32::from(*x), 256)).collect();
                if spread(&mut digits, u) {
                    for (x, (d, _)) in b[start..].iter_mut().zip(digits) {
                        *x = d as u8;
                    }
                    return Some(Cell::Blob(b));
                }
            }
            let mut b = b.clone();
            b.extend_from_slice(&u.to_be_bytes());
            Some(Cell::Blob(b))
        }
    }
}

/// Add `u` steps to a mixed-radix number (most significant first), the step
/// being about 0.618 of its range and coprime with it: distinct `u` below
/// the range give distinct results, and consecutive ones land far apart
/// (so "user12" does not become "user13", which likely exists). False when
/// the result is the value itself.
fn spread(digits: &mut [(u32, u32)], u: u64) -> bool {
    let range: u128 = digits.iter().map(|d| u128::from(d.1)).product();
    if range < 2 {
        return false;
    }
    let step = (u128::from(u) % range) * golden_step(range) % range;
    if step == 0 {
        return false;
    }
    let mut n: u128 = digits
        .iter()
        .fold(0, |acc, d| acc * u128::from(d.1) + u128::from(d.0));
    n = (n + step) % range;
    for d in digits.iter_mut().rev() {
        d.0 = (n % u128::from(d.1)) as u32;
        n /= u128::from(d.1);
    }
    true
}

fn golden_step(range: u128) -> u128 {
    let mut g = ((range as f64) * 0.618_033_988_749_895) as u128;
    g = g.clamp(1, range - 1);
    while gcd(g, range) != 1 {
        g -= 1;
    }
    g
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The character classes a text variation stays within: (first, size).
const LETTERS: [(u32, u32); 5] = [
    ('a' as u32, 26),
    ('A' as u32, 26),
    (0x3041, 86),    // hiragana
    (0x30A1, 90),    // katakana
    (0x4E00, 20992), // CJK unified ideographs
];
const DIGITS: (u32, u32) = ('0' as u32, 10);

fn class_of(ch: char, classes: &[(u32, u32)]) -> Option<(u32, u32)> {
    let c = ch as u32;
    classes
        .iter()
        .copied()
        .find(|(first, size)| c >= *first && c < first + size)
}

/// Text varied in place (see [`vary`]); None when it has no letter or digit
/// to change.
fn vary_text(s: &str, u: u64) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    // An e-mail (local@domain.tld) keeps its domain: only the local part changes.
    let region_end = match s.rfind('@') {
        Some(at) if at > 0 && s[at + 1..].contains('.') => s[..at].chars().count(),
        _ => chars.len(),
    };
    let pick = |classes: &[(u32, u32)]| -> Vec<usize> {
        (0..region_end)
            .filter(|&i| class_of(chars[i], classes).is_some())
            .collect()
    };
    let mut positions = pick(&LETTERS);
    let mut classes: &[(u32, u32)] = &LETTERS;
    if positions.is_empty() {
        positions = pick(&[DIGITS]);
        classes = std::slice::from_ref(&DIGITS);
    }
    if positions.is_empty() {
        return None;
    }
    let window = &positions[positions.len().saturating_sub(WINDOW)..];
    let mut digits: Vec<(u32, u32)> = window
        .iter()
        .map(|&i| {
            let (first, size) = class_of(chars[i], classes).unwrap_or(DIGITS);
            (chars[i] as u32 - first, size)
        })
        .collect();
    let firsts: Vec<u32> = window
        .iter()
        .map(|&i| class_of(chars[i], classes).map_or(DIGITS.0, |c| c.0))
        .collect();
    if !spread(&mut digits, u) {
        return None;
    }
    for ((&i, (d, _)), first) in window.iter().zip(digits).zip(firsts) {
        chars[i] = char::from_u32(first + d)?;
    }
    Some(chars.into_iter().collect())
}

/// An integer with trailing digits changed (the leading digit and the digit
/// count kept, so its size and length hold).
fn vary_int(v: i64, u: u64) -> Option<i64> {
    let s = v.unsigned_abs().to_string();
    let b = s.as_bytes();
    let w = if b.len() == 1 {
        1
    } else {
        (b.len() - 1).min(WINDOW)
    };
    let start = b.len() - w;
    let mut digits: Vec<(u32, u32)> = b[start..]
        .iter()
        .map(|x| (u32::from(x - b'0'), 10))
        .collect();
    // A one-digit value other than 0 stays within 1..=9 (0 would lose the
    // sign and read as another kind of value).
    let nonzero = b.len() == 1 && v != 0;
    if nonzero {
        digits[0] = (digits[0].0 - 1, 9);
    }
    if !spread(&mut digits, u) {
        return None;
    }
    if nonzero {
        digits[0].0 += 1;
    }
    let mut out = s[..start].to_string();
    out.extend(digits.iter().map(|(d, _)| char::from(b'0' + *d as u8)));
    let n: i64 = out.parse().ok()?;
    Some(if v < 0 { -n } else { n })
}

/// A real with trailing digits of its shortest decimal changed; the last
/// digit stays non-zero, so the printed length holds. Values that need
/// more than 15 digits (SQLite prints 15) are left alone.
fn vary_real(f: f64, u: u64) -> Option<f64> {
    if !f.is_finite() || f == 0.0 {
        return None;
    }
    let text = format!("{:e}", f.abs());
    let (mantissa, exp) = text.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let mut digits: Vec<u32> = mantissa.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() > 15 {
        return None;
    }
    if digits.len() == 1 {
        // One significant digit (0.5, 20.0): room for one more.
        digits.push(0);
    }
    let w = (digits.len() - 1).min(WINDOW);
    let start = digits.len() - w;
    let mut window: Vec<(u32, u32)> = digits[start..].iter().map(|d| (*d, 10)).collect();
    if let Some(last) = window.last_mut() {
        // The last digit ranges over 1..=9 (stored as 0..=8).
        *last = (last.0.saturating_sub(1), 9);
    }
    if !spread(&mut window, u) {
        return None;
    }
    if let Some(last) = window.last_mut() {
        last.0 += 1;
    }
    for (d, (w, _)) in digits[start..].iter_mut().zip(window) {
        *d = w;
    }
    let rest: String = digits[1..]
        .iter()
        .map(|d| char::from(b'0' + *d as u8))
        .collect();
    let sign = if f < 0.0 { "-" } else { "" };
    format!("{sign}{}.{rest}e{exp}", digits[0]).parse().ok()
}

/// Epoch seconds (or milliseconds, from 10^11 up) moved by `u` seconds, or
/// `u` days for dates; 0 is "unknown" and stays.
fn shift_epoch(v: i64, date: bool, u: u64) -> Option<i64> {
    if v == 0 {
        return None;
    }
    let unit: i64 = if date { 86_400 } else { 1 };
    let scale: i64 = if v.unsigned_abs() >= 100_000_000_000 {
        1000
    } else {
        1
    };
    v.checked_add(i64::try_from(u).ok()?.checked_mul(unit * scale)?)
}

/// Julian days (below 10^7) or epoch seconds held as REAL, moved likewise.
fn shift_epoch_real(f: f64, date: bool, u: u64) -> Option<f64> {
    if f == 0.0 || !f.is_finite() {
        return None;
    }
    let days = u as f64;
    Some(if f.abs() < 10_000_000.0 {
        f + if date { days } else { days / 86_400.0 }
    } else {
        f + if date { days * 86_400.0 } else { days }
    })
}

/// 'YYYY-MM-DD' moved by `u` days; 'YYYY-MM-DD[T ]HH:MM[:SS][fraction][zone]'
/// by `u` seconds (minutes when it has no seconds; days for a date
/// column), written back in the same layout. None for anything else.
fn shift_text_time(s: &str, date: bool, u: u64) -> Option<String> {
    use chrono::{NaiveDate, NaiveTime, TimeDelta};
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let day = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let u = i64::try_from(u).ok()?;
    let in_range = |y: i32| (0..=9999).contains(&y);
    if b.len() == 10 {
        let d = day.checked_add_signed(TimeDelta::try_days(u)?)?;
        return in_range(chrono::Datelike::year(&d)).then(|| d.format("%Y-%m-%d").to_string());
    }
    let sep = b[10];
    if (sep != b'T' && sep != b' ') || b.get(13) != Some(&b':') {
        return None;
    }
    let (h, m) = (num(11..13)?, num(14..16)?);
    let (secs, rest_at) = if b.get(16) == Some(&b':') {
        (Some(num(17..19)?), 19)
    } else {
        (None, 16)
    };
    let at = day.and_time(NaiveTime::from_hms_opt(h, m, secs.unwrap_or(0))?);
    let by = if date {
        TimeDelta::try_days(u)?
    } else if secs.is_some() {
        TimeDelta::try_seconds(u)?
    } else {
        TimeDelta::try_minutes(u)?
    };
    let t = at.checked_add_signed(by)?;
    if !in_range(chrono::Datelike::year(&t)) {
        return None;
    }
    let mut out = t.format("%Y-%m-%d").to_string();
    out.push(char::from(sep));
    out.push_str(&t.format("%H:%M").to_string());
    if secs.is_some() {
        out.push_str(&t.format(":%S").to_string());
    }
    out.push_str(s.get(rest_at..)?);
    Some(out)
}

/// An IPv4 or IPv6 address (with an optional /prefix) moved by `u`.
fn shift_inet(s: &str, u: u64) -> Option<String> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let moved = match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a).wrapping_add(u as u32))),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a).wrapping_add(u128::from(u)))),
    };
    Some(match prefix {
        Some(p) => format!("{moved}/{p}"),
        None => moved.to_string(),
    })
}

/// JSON made distinct and kept valid: an object gains a `"_clone": u` key;
/// anything else gains leading whitespace (same JSON, different text).
fn vary_json(s: &str, u: u64) -> Option<String> {
    let t = s.trim_end();
    if s.trim_start().starts_with('{') && t.ends_with('}') {
        let body = &t[..t.len() - 1];
        let empty = body.trim_start().strip_prefix('{')?.trim().is_empty();
        let comma = if empty { "" } else { "," };
        Some(format!("{body}{comma}\"_clone\":{u}}}"))
    } else {
        Some(format!(
            "{}{s}",
            " ".repeat(usize::try_from(u).ok()?.min(4096))
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_variations_keep_length_classes_and_the_domain() {
        let v = vary_text("member12@acct3.example", 1).unwrap();
        assert_eq!(v.len(), "member12@acct3.example".len());
        assert!(v.ends_with("12@acct3.example"), "{v}");
        assert_ne!(v, "member12@acct3.example");
        let all: HashSet<String> = (1..200).map(|u| vary_text("Ann", u).unwrap()).collect();
        assert_eq!(all.len(), 199, "distinct u give distinct variations");
        assert!(all
            .iter()
            .all(|s| s.starts_with(|c: char| c.is_ascii_uppercase())));
        let cjk = vary_text("山田 太郎", 2).unwrap();
        assert_eq!(cjk.chars().count(), 5);
        assert_eq!(vary_text("--", 1), None);
        assert_eq!(vary_text("555-0101", 1).unwrap().len(), 8);
    }

    #[test]
    fn numbers_keep_their_size() {
        for u in 1..50 {
            let v = vary_int(52_345, u).unwrap();
            assert!((50_000..60_000).contains(&v) && v != 52_345, "{v}");
            let r = vary_real(40.7128, u).unwrap();
            // Only the last three of six digits change.
            assert!((r - 40.7128).abs() < 0.1 && r != 40.7128, "{r}");
            assert!(!format!("{r}").ends_with('0'));
        }
        assert_eq!(vary_int(-7, 1).map(i64::signum), Some(-1));
        assert!(vary_real(0.1 + 0.2, 1).is_none(), "17 digits: left alone");
    }

    #[test]
    fn times_move_in_their_own_format() {
        assert_eq!(
            shift_text_time("2024-03-10T08:15:30.123456Z", false, 3).as_deref(),
            Some("2024-03-10T08:15:33.123456Z")
        );
        assert_eq!(
            shift_text_time("2024-12-31 23:59:59+02:00", false, 1).as_deref(),
            Some("2025-01-01 00:00:00+02:00")
        );
        assert_eq!(
            shift_text_time("2024-02-28", true, 2).as_deref(),
            Some("2024-03-01")
        );
        assert_eq!(shift_text_time("yesterday", false, 1), None);
        assert_eq!(
            shift_epoch(1_700_000_000_000, false, 2),
            Some(1_700_000_002_000)
        );
        assert_eq!(shift_epoch(0, false, 2), None);
    }

    #[test]
    fn json_stays_json() {
        for (s, u) in [("{}", 1), ("{\"a\": 1} ", 2), ("[1,2]", 3)] {
            let v = vary_json(s, u).unwrap();
            assert!(serde_json::from_str::<serde_json::Value>(&v).is_ok(), "{v}");
            assert_ne!(v, s);
        }
    }

    #[test]
    fn copies_follow_floor_and_ceil() {
        let tenants: Vec<i64> = (1..=5).collect();
        let c = assign_copies(
            &tenants,
            &CloneSpec {
                tenants: 13,
                seed: 4,
            },
        );
        let mut n: Vec<u32> = c.values().copied().collect();
        n.sort_unstable();
        assert_eq!(n, vec![2, 2, 3, 3, 3]);
        let other = assign_copies(
            &tenants,
            &CloneSpec {
                tenants: 13,
                seed: 5,
            },
        );
        assert_eq!(c.values().sum::<u32>(), other.values().sum::<u32>());
    }
}
