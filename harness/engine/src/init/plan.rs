//! Turn the inspected schema and the value profiles into a draft: target
//! names, keys, references, the tenant, the load order, and what the user
//! must decide.
//!
//! The draft obeys what [`crate::app::App::load`] checks (one key per
//! table, references pointing backwards, the tenant column a reference to
//! the root table or an integer), so a folder written from it loads; what
//! the file cannot tell (is a table without the tenant column shared by all
//! tenants, or does it reach them through a parent?) becomes a decision.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::Path;

use rusqlite::Connection;

use super::inspect::{Schema, Table};
use super::profile::{self, Profile};
use super::rules::{self, affinity, declared, Affinity, Choice, Declared};
use super::InitError;
use crate::app::{quote, AppToml, ColumnMap, Mapping, OnBad, Roles, Rule, TableMap, TenantSpec};

/// PostgreSQL's longest identifier, in bytes (NAMEDATALEN - 1).
pub const MAX_IDENT: usize = 63;

/// The tenant-context setting every drafted policy reads.
pub const TENANT_SETTING: &str = "app.tenant_id";

/// Column names PostgreSQL reserves for system columns of every table.
const SYSTEM_COLUMNS: &[&str] = &["tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"];

/// The nouns a tenant goes by, tried in this order when no tenant column
/// is given: the column guessed is `<noun>_id`. Nouns rather than column
/// names, so the list is vocabulary, not any app's schema.
pub const TENANT_NOUNS: &[&str] = &[
    "tenant",
    "company",
    "org",
    "organization",
    "account",
    "workspace",
    "team",
];

/// Tried only when none of [`TENANT_NOUNS`] fits: apps where each person's
/// data is their own (a journal, a notes app) are tenanted by the user.
pub const PERSONAL_NOUNS: &[&str] = &["user", "owner", "member", "customer"];

/// The tenant column names tried when none is given, as tiers: a column of
/// a later tier is guessed only when no column of an earlier one is shared
/// by two tables (a person's id beside an organisation's names a user, not a tenant).
pub fn tenant_guesses() -> Vec<Vec<String>> {
    [TENANT_NOUNS, PERSONAL_NOUNS]
        .iter()
        .map(|tier| tier.iter().map(|n| format!("{n}_id")).collect())
        .collect()
}

/// How a drafted table reaches its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Its rows are the tenants.
    Root,
    /// It has the tenant column.
    Tenant,
    /// No tenant column, but a foreign-key path to a tenant table (the
    /// path, as `a -> b.org_id`).
    ThroughParent(String),
    /// No tenant column and no path to one: shared by every tenant.
    Lookup,
    /// The folder has no tenant column at all.
    Untenanted,
}

/// A drafted table: the mapping entry plus what the DDL needs.
#[derive(Debug, Clone)]
pub struct DraftTable {
    pub map: TableMap,
    /// Index of the legacy table in [`Schema::tables`].
    pub legacy_index: usize,
    pub link: Link,
    /// UNIQUE constraints (target column lists), besides the key.
    pub unique: Vec<Vec<String>>,
    /// Secondary indexes: name and columns.
    pub indexes: Vec<(String, Vec<String>)>,
    /// Per mapped column: the legacy declared type and default, for comments.
    pub legacy_decl: Vec<(String, Option<String>)>,
}

/// The tenant as drafted.
#[derive(Debug, Clone)]
pub struct TenantDraft {
    /// The tenant column; `None` when no table has one (placeholder in app.toml).
    pub column: Option<String>,
    pub root: Option<String>,
    /// The PostgreSQL type the policies cast the setting to.
    pub sql_type: String,
}

/// Everything the files are written from.
#[derive(Debug, Clone)]
pub struct Draft {
    pub app: AppToml,
    pub tables: Vec<DraftTable>,
    pub tenant: TenantDraft,
    pub decisions: Vec<String>,
    pub refused: Vec<String>,
    /// Folder-level notes (views, triggers, virtual tables, renames).
    pub notes: Vec<String>,
    /// Legacy tables not drafted (refused), for legacy.sql.
    pub refused_tables: Vec<usize>,
}

impl Draft {
    pub fn mapping(&self) -> Mapping {
        Mapping {
            tables: self.tables.iter().map(|t| t.map.clone()).collect(),
        }
    }

    pub fn table(&self, name: &str) -> Option<&DraftTable> {
        self.tables.iter().find(|t| t.map.name == name)
    }
}

/// A table's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// `INTEGER PRIMARY KEY`: the column (index into the mapped columns).
    Alias(usize),
    /// A WITHOUT ROWID table's single integer primary key.
    Int(usize),
    /// The rowid, read under this name (`rowid`, `_rowid_` or `oid`).
    Rowid(&'static str),
}

/// A table while it is being drafted.
struct Work<'a> {
    idx: usize,
    t: &'a Table,
    key: Key,
    /// Indexes into `t.columns` of the mapped (non-generated) columns.
    cols: Vec<usize>,
    decls: Vec<Declared>,
    profiles: Vec<Profile>,
    plain: Vec<Choice>,
    target: String,
    col_targets: Vec<String>,
    /// The rule each column gets (starts as the plain choice).
    rules: Vec<Choice>,
    nullable: Vec<bool>,
    key_target: String,
    notes: Vec<String>,
    link: Link,
}

impl Work<'_> {
    fn legacy_col(&self, i: usize) -> &str {
        &self.t.columns[self.cols[i]].name
    }

    /// Position (in `cols`) of a legacy column, by SQLite's case-blind match.
    fn find(&self, legacy: &str) -> Option<usize> {
        (0..self.cols.len()).find(|&i| self.legacy_col(i).eq_ignore_ascii_case(legacy))
    }

    fn key_col(&self) -> Option<usize> {
        match self.key {
            Key::Alias(i) | Key::Int(i) => Some(i),
            Key::Rowid(_) => None,
        }
    }

    /// The SQLite expression of the key (for subset checks).
    fn key_expr(&self) -> String {
        match self.key {
            Key::Alias(i) | Key::Int(i) => quote(self.legacy_col(i)),
            Key::Rowid(alias) => alias.to_string(),
        }
    }
}

/// `--tenant-column` or a guess.
pub struct TenantWish<'a> {
    pub column: Option<&'a str>,
}

/// Draft everything from the schema.
pub fn draft(
    conn: &Connection,
    path: &Path,
    schema: &Schema,
    wish: TenantWish<'_>,
    app_name: &str,
) -> Result<Draft, InitError> {
    let read_err = |what: String| {
        let path = path.to_path_buf();
        move |e: rusqlite::Error| InitError::Read {
            path: path.clone(),
            what: what.clone(),
            source: e,
        }
    };
    let mut refused = Vec::new();
    let mut refused_tables = Vec::new();
    let mut notes = Vec::new();
    let mut decisions = Vec::new();

    // 1. Keys and profiles.
    let mut work: Vec<Work> = Vec::new();
    for (idx, t) in schema.tables.iter().enumerate() {
        let cols: Vec<usize> = (0..t.columns.len())
            .filter(|&i| !t.columns[i].generated)
            .collect();
        let decls: Vec<Declared> = cols.iter().map(|&i| declared(&t.columns[i].decl)).collect();
        let pos = |legacy_idx: usize| cols.iter().position(|&c| c == legacy_idx);
        let pk = t.pk_columns();
        let key = if t.without_rowid {
            let int_pk = pk.len() == 1 && affinity(&pk[0].decl) == Affinity::Integer;
            match (
                int_pk,
                t.column(&pk.first().map(|c| c.name.clone()).unwrap_or_default()),
            ) {
                (true, Some(ci)) if pos(ci).is_some() => pos(ci).map(Key::Int),
                _ => None,
            }
        } else if let Some(ci) = t.rowid_alias().and_then(pos) {
            Some(Key::Alias(ci))
        } else {
            ["rowid", "_rowid_", "oid"]
                .into_iter()
                .find(|a| t.column(a).is_none())
                .map(Key::Rowid)
        };
        let Some(key) = key else {
            let names: Vec<&str> = pk.iter().map(|c| c.name.as_str()).collect();
            refused.push(if t.without_rowid {
                format!(
                    "table {:?} is WITHOUT ROWID with the primary key ({}), which is not a single integer column: it cannot be drafted yet (every mapped table needs an integer key). Give it one (rebuild it with an `id INTEGER PRIMARY KEY` column, or without WITHOUT ROWID so its rowid can be the key) and rerun harness init",
                    t.name,
                    names.join(", ")
                )
            } else {
                format!(
                    "table {:?} has columns named rowid, _rowid_ and oid, which hide its rowid, and no INTEGER PRIMARY KEY: it cannot be drafted. Rename one of those columns (or add an `id INTEGER PRIMARY KEY`) and rerun harness init",
                    t.name
                )
            });
            refused_tables.push(idx);
            continue;
        };
        let scan_cols: Vec<(String, Vec<Rule>)> = cols
            .iter()
            .zip(&decls)
            .map(|(&i, d)| {
                let extra = match &d.hint {
                    Some(r @ (Rule::Text { max_chars: Some(_) } | Rule::Numeric { .. })) => {
                        vec![r.clone()]
                    }
                    _ => Vec::new(),
                };
                (t.columns[i].name.clone(), extra)
            })
            .collect();
        let order_by = match key {
            Key::Alias(i) | Key::Int(i) => quote(&t.columns[cols[i]].name),
            Key::Rowid(alias) => alias.to_string(),
        };
        let profiles = profile::scan(conn, &t.name, &order_by, &scan_cols)
            .map_err(read_err(format!("the values of table {:?}", t.name)))?;
        if let Key::Int(k) = key {
            let bad = profiles[k]
                .tally(&Rule::Key { uuid_tag: None })
                .map_or(0, |t| t.bad_total());
            if bad > 0 {
                refused.push(format!(
                    "table {:?} is WITHOUT ROWID and its primary key {:?} holds {bad} values that are not integers: it cannot be drafted yet. Clean the key (or give the table an `id INTEGER PRIMARY KEY`) and rerun harness init",
                    t.name, t.columns[cols[k]].name
                ));
                refused_tables.push(idx);
                continue;
            }
        }
        let plain: Vec<Choice> = cols
            .iter()
            .zip(&decls)
            .zip(&profiles)
            .map(|((&i, d), p)| rules::choose(&t.columns[i].name, d, p, t.rows))
            .collect();
        let nullable: Vec<bool> = cols
            .iter()
            .zip(&profiles)
            .map(|(&i, p)| {
                let c = &t.columns[i];
                // A primary-key column that holds no NULL is NOT NULL in
                // PostgreSQL (SQLite lets a non-integer key hold NULL).
                !(c.notnull || (c.pk > 0 && (t.without_rowid || p.nulls() == 0)))
            })
            .collect();
        let mut notes_t = Vec::new();
        for c in t.columns.iter().filter(|c| c.generated) {
            notes_t.push(format!(
                "generated column {:?} is not migrated: add it to the target schema as `generated always as (...) stored` if the app reads it",
                c.name
            ));
        }
        work.push(Work {
            idx,
            t,
            key,
            cols,
            decls,
            rules: plain.clone(),
            plain,
            profiles,
            target: String::new(),
            col_targets: Vec::new(),
            nullable,
            key_target: String::new(),
            notes: notes_t,
            link: Link::Untenanted,
        });
    }
    for v in &schema.virtual_tables {
        refused.push(format!(
            "table {:?} is a virtual table ({}): its rows live in its module, not in ordinary rows, so it is not drafted. Recreate what it does in PostgreSQL (full-text search: a tsvector column and a GIN index) in a migration",
            v.name,
            module_of(&v.sql)
        ));
    }
    if !schema.shadow_tables.is_empty() {
        notes.push(format!(
            "the storage tables of the virtual tables ({}) are skipped with them",
            schema.shadow_tables.join(", ")
        ));
    }
    if work.is_empty() {
        return Err(InitError::NothingToDraft { refused });
    }

    // 2. Names.
    let mut relations: HashSet<String> = HashSet::new();
    for w in &mut work {
        w.target = unique_name(&w.t.name, &mut relations, "unnamed_table");
        if w.target != w.t.name {
            let why = rename_reason(&w.t.name);
            w.notes.push(format!(
                "the SQLite table {:?} is named {:?} in PostgreSQL ({why})",
                w.t.name, w.target
            ));
            notes.push(format!("table {:?} -> {:?} ({why})", w.t.name, w.target));
        }
    }

    // 3. The tenant (needs keys and profiles, before column names).
    let tenant = find_tenant(conn, &work, &wish, &mut decisions).map_err(|e| match e {
        TenantErr::Read(what, e) => read_err(what)(e),
        TenantErr::Bad(problem) => InitError::TenantColumn {
            column: wish.column.unwrap_or_default().to_string(),
            problem,
        },
    })?;

    // A tenant table whose key is the tenant column (a one-to-one extension
    // of the tenant) keys on its rowid instead, so the tenant column can be
    // a reference like every other.
    if let Some(c) = tenant.column.clone() {
        let mut k = 0;
        while k < work.len() {
            let w = &mut work[k];
            let is_root = tenant.root.as_deref() == Some(w.target.as_str());
            let key_is_tenant = w
                .key_col()
                .is_some_and(|kc| w.legacy_col(kc).eq_ignore_ascii_case(&c));
            if key_is_tenant && !is_root {
                if let (Key::Alias(_), Some(alias)) = (
                    w.key,
                    ["rowid", "_rowid_", "oid"]
                        .into_iter()
                        .find(|a| w.t.column(a).is_none()),
                ) {
                    w.key = Key::Rowid(alias);
                    w.notes.push(format!(
                        "its INTEGER PRIMARY KEY {c:?} is the tenant column: the rowid (same values) is the key, and {c} a reference to the tenant with a UNIQUE constraint"
                    ));
                } else {
                    refused.push(format!(
                        "table {:?} is keyed by the tenant column {c:?} alone and has no rowid to key on instead: it cannot be drafted yet. Give it its own `id INTEGER PRIMARY KEY` and rerun harness init",
                        w.t.name
                    ));
                    refused_tables.push(w.idx);
                    work.remove(k);
                    continue;
                }
            }
            k += 1;
        }
    }

    if work.is_empty() {
        return Err(InitError::NothingToDraft { refused });
    }
    for w in &mut work {
        let mut taken: HashSet<String> = SYSTEM_COLUMNS.iter().map(|s| s.to_string()).collect();
        // The tenant column keeps the spelling app.toml uses.
        let tenant_pos = tenant.column.as_deref().and_then(|c| w.find(c));
        if let (Some(_), Some(c)) = (tenant_pos, tenant.column.as_deref()) {
            taken.insert(c.to_string());
        }
        let mut targets = Vec::new();
        for i in 0..w.cols.len() {
            let legacy = w.legacy_col(i).to_string();
            let t = match (tenant_pos, tenant.column.as_deref()) {
                (Some(p), Some(c)) if p == i => c.to_string(),
                _ => unique_name(&legacy, &mut taken, "unnamed_column"),
            };
            if t != legacy {
                let why = if SYSTEM_COLUMNS.contains(&legacy.as_str()) {
                    format!("{legacy} is a PostgreSQL system column name")
                } else if Some(i) == tenant_pos {
                    "the tenant column's spelling in app.toml".to_string()
                } else {
                    rename_reason(&legacy)
                };
                w.notes
                    .push(format!("column {legacy:?} is named {t:?} ({why})"));
            }
            targets.push(t);
        }
        w.col_targets = targets;
        w.key_target = match w.key_col() {
            Some(k) => w.col_targets[k].clone(),
            None => unique_name("legacy_rowid", &mut taken, "legacy_rowid"),
        };
    }

    // 4. Keys and references.
    let find_work = |name: &str, work: &[Work]| -> Option<usize> {
        work.iter()
            .position(|w| w.t.name.eq_ignore_ascii_case(name))
    };
    // Per table: the column positions that are refs, with their parent.
    let mut refs: Vec<BTreeMap<usize, usize>> = vec![BTreeMap::new(); work.len()];
    for wi in 0..work.len() {
        let w = &work[wi];
        let mut notes_t = Vec::new();
        let mut new_refs = BTreeMap::new();
        for fk in &w.t.foreign_keys {
            let from: Vec<String> = fk.from.clone();
            let Some(pi) = find_work(&fk.parent, &work) else {
                let why = if schema
                    .tables
                    .iter()
                    .any(|t| t.name.eq_ignore_ascii_case(&fk.parent))
                {
                    "which is not drafted (see refused)"
                } else {
                    "which does not exist in the file"
                };
                notes_t.push(format!(
                    "foreign key ({}) references table {:?}, {why}: kept as plain column(s)",
                    from.join(", "),
                    fk.parent
                ));
                continue;
            };
            let p = &work[pi];
            let parent_col = match fk.to.first().cloned().flatten() {
                Some(c) => Some(c),
                None => {
                    let pk = p.t.pk_columns();
                    (pk.len() == 1).then(|| pk[0].name.clone())
                }
            };
            let to_key = from.len() == 1
                && p.key_col()
                    .zip(parent_col.as_deref())
                    .is_some_and(|(k, c)| p.legacy_col(k).eq_ignore_ascii_case(c));
            let Some(ci) = from.first().and_then(|f| w.find(f)) else {
                continue;
            };
            if !to_key {
                let to: Vec<String> = fk
                    .to
                    .iter()
                    .map(|c| c.clone().unwrap_or_else(|| "its primary key".into()))
                    .collect();
                notes_t.push(format!(
                    "foreign key ({}) -> {}({}) does not point at {}'s key column: kept as plain column(s) without a foreign key; add one (to a UNIQUE column) in a migration once the data is clean",
                    from.join(", "),
                    p.target,
                    to.join(", "),
                    p.target
                ));
                continue;
            }
            if Some(ci) == w.key_col() {
                notes_t.push(format!(
                    "the key {:?} is also a foreign key to {}: kept as the key; add `references {}` in a migration if you need it",
                    w.legacy_col(ci), p.target, quote(&p.target)
                ));
                continue;
            }
            if new_refs.contains_key(&ci) {
                notes_t.push(format!(
                    "column {:?} has a second foreign key (to {}): only the first is drafted",
                    w.legacy_col(ci),
                    p.target
                ));
                continue;
            }
            new_refs.insert(ci, pi);
        }
        work[wi].notes.extend(notes_t);
        refs[wi] = new_refs;
    }
    // The tenant column of every tenant table references the root.
    let root_wi = tenant
        .root
        .as_deref()
        .and_then(|r| work.iter().position(|w| w.target == r));
    if let Some(c) = tenant.column.as_deref() {
        for wi in 0..work.len() {
            if Some(wi) == root_wi {
                continue;
            }
            if let Some(ci) = work[wi].find(c) {
                match root_wi {
                    Some(r) => {
                        if let Some(other) = refs[wi].insert(ci, r).filter(|o| *o != r) {
                            let n = format!(
                                "the tenant column's foreign key to {} is replaced by a reference to the tenant root {}",
                                work[other].target, work[r].target
                            );
                            work[wi].notes.push(n);
                        }
                    }
                    None => {
                        refs[wi].remove(&ci);
                    }
                }
            }
        }
    }
    for wi in 0..work.len() {
        let entries: Vec<(usize, usize)> = refs[wi].iter().map(|(a, b)| (*a, *b)).collect();
        for (ci, pi) in entries {
            let parent_target = work[pi].target.clone();
            let orphans = orphan_count(conn, &work[wi], ci, &work[pi]).map_err(read_err(
                format!("the references of table {:?}", work[wi].t.name),
            ))?;
            let is_tenant = tenant
                .column
                .as_deref()
                .is_some_and(|c| work[wi].legacy_col(ci).eq_ignore_ascii_case(c));
            let w = &mut work[wi];
            let mut extra = Vec::new();
            if is_tenant {
                extra.push(format!(
                    "the tenant column: a reference to the tenant root {parent_target}"
                ));
            }
            if let Some(n) = &w.decls[ci].note {
                extra.push(n.clone());
            }
            if orphans > 0 {
                let msg = format!(
                    "{orphans} {} ({}) {} no row of {parent_target} (SQLite did not enforce the key): {}",
                    rules::plural(orphans, "value", "values"),
                    rules::pct(orphans, w.profiles[ci].scanned),
                    rules::plural(orphans, "names", "name"),
                    rules::plural(
                        orphans,
                        "its row will be rejected as an orphan",
                        "those rows will be rejected as orphans"
                    )
                );
                decisions.push(format!("{}.{}: {msg}", w.target, w.col_targets[ci]));
                extra.push(msg);
            }
            w.rules[ci] = rules::evidence(
                Rule::Ref {
                    table: parent_target,
                },
                &w.profiles[ci],
                w.t.rows,
                extra,
            );
        }
    }
    // The tenant column when there is no root: integer or bigint.
    if let (Some(c), None) = (tenant.column.as_deref(), root_wi) {
        let rule = if tenant.sql_type == "bigint" {
            Rule::Bigint
        } else {
            Rule::Integer
        };
        for w in work.iter_mut() {
            if let Some(ci) = w.find(c) {
                w.rules[ci] = rules::evidence(
                    rule.clone(),
                    &w.profiles[ci],
                    w.t.rows,
                    vec!["the tenant column (no tenant root table: a plain integer id)".into()],
                );
            }
        }
    }
    if let Some(c) = tenant.column.as_deref() {
        for (wi, w) in work.iter_mut().enumerate() {
            if let Some(ci) = w.find(c) {
                if Some(ci) == w.key_col() || Some(wi) == root_wi {
                    continue;
                }
                w.nullable[ci] = false;
                let nulls = w.profiles[ci].nulls();
                if nulls > 0 {
                    let msg = format!(
                        "{nulls} {} ({}) no tenant (NULL): a tenant column is NOT NULL, so {} will be rejected",
                        rules::plural(nulls, "row has", "rows have"),
                        rules::pct(nulls, w.profiles[ci].scanned),
                        rules::plural(nulls, "it", "they")
                    );
                    decisions.push(format!("{}.{c}: {msg}", w.target));
                    w.rules[ci].evidence.push_str(&format!(". {msg}"));
                }
            }
        }
    }

    // 5. Load order: parents first; cycles broken at the root, else at the
    // first table of the file still waiting.
    let order = load_order(&mut work, &mut refs, root_wi, &mut decisions);

    // 6. How each table reaches its tenant.
    let has_tenant: Vec<bool> = work
        .iter()
        .enumerate()
        .map(|(wi, w)| {
            Some(wi) == root_wi
                || tenant
                    .column
                    .as_deref()
                    .is_some_and(|c| w.find(c).is_some())
        })
        .collect();
    for wi in 0..work.len() {
        let link = match tenant.column.as_deref() {
            None => Link::Untenanted,
            Some(_) if Some(wi) == root_wi => Link::Root,
            Some(_) if has_tenant[wi] => Link::Tenant,
            Some(c) => match tenant_path(&work, wi, &has_tenant, c) {
                Some(path) => Link::ThroughParent(path),
                None => Link::Lookup,
            },
        };
        let c = tenant.column.as_deref().unwrap_or("");
        let t = work[wi].target.clone();
        match &link {
            Link::ThroughParent(path) => {
                let text = format!(
                    "{t} has no {c} column; it reaches its tenant only through a parent: {path}. Decide: add {c} to {t} (filled from the parent) and a policy like the others, or write a join policy. Until then the draft turns row-level security on for {t} with no policy, so the app sees none of its rows"
                );
                decisions.push(text.clone());
                work[wi].notes.push(text);
            }
            Link::Lookup => {
                let text = format!(
                    "{t} has no {c} column and no foreign key leading to a tenant table: drafted as a lookup table shared by every tenant (no row-level security; the app and the reader may only read it). If it holds tenant data, add {c} and a policy"
                );
                decisions.push(text.clone());
                work[wi].notes.push(text);
            }
            _ => {}
        }
        work[wi].link = link;
    }

    // 7. Rejections the user should know about.
    for w in &work {
        for (i, ch) in w.rules.iter().enumerate() {
            if ch.rejected > 0 {
                decisions.push(format!(
                    "{}.{}: {} {} its rule does not accept (see its evidence in mapping.toml): rejected unless you clean the data, pick another rule, or set on_bad = \"null\"",
                    w.target,
                    w.col_targets[i],
                    ch.rejected,
                    rules::plural(ch.rejected, "value", "values")
                ));
            }
        }
    }

    // 8. Views and triggers.
    for v in &schema.views {
        notes.push(format!(
            "view {:?} is not migrated: recreate it in a migration (its SQLite definition: {})",
            v.name,
            one_line(&v.sql)
        ));
    }
    for tr in &schema.triggers {
        let msg = format!(
            "trigger {:?} on {:?} is not migrated: rewrite it as a PostgreSQL trigger function if the app relies on it ({})",
            tr.name,
            tr.table,
            one_line(&tr.sql)
        );
        if let Some(w) = work
            .iter_mut()
            .find(|w| w.t.name.eq_ignore_ascii_case(&tr.table))
        {
            w.notes
                .push(format!("trigger {:?} is not migrated", tr.name));
        }
        notes.push(msg);
    }

    // 9. Assemble, in load order.
    let mut tables = Vec::new();
    for &wi in &order {
        tables.push(assemble(
            &work[wi],
            tenant.column.as_deref(),
            &mut relations,
        ));
    }
    let sql_type = tenant.sql_type.clone();
    let app = AppToml {
        name: app_name.to_string(),
        database: app_name.to_string(),
        description: Some(format!(
            "Drafted by harness init from {}",
            path.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string())
        )),
        tenant: TenantSpec {
            column: tenant
                .column
                .clone()
                .unwrap_or_else(|| placeholder_column(&tables)),
            root_table: tenant.root.clone(),
            setting: TENANT_SETTING.to_string(),
            context: Default::default(),
        },
        roles: Roles {
            owner: format!("{app_name}_owner"),
            app: format!("{app_name}_app"),
            reader: Some(format!("{app_name}_reader")),
        },
    };
    Ok(Draft {
        app,
        tables,
        tenant: TenantDraft {
            column: tenant.column,
            root: tenant.root,
            sql_type,
        },
        decisions,
        refused,
        notes,
        refused_tables,
    })
}

/// `fts5` in `CREATE VIRTUAL TABLE t USING fts5(...)`.
fn module_of(sql: &str) -> String {
    let lower = sql.to_ascii_lowercase();
    lower
        .split_whitespace()
        .skip_while(|w| *w != "using")
        .nth(1)
        .map(|m| m.split('(').next().unwrap_or(m).to_string())
        .filter(|m| !m.is_empty())
        .map(|m| format!("module {m}"))
        .unwrap_or_else(|| "a module".into())
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A tenant column name no drafted table uses.
fn placeholder_column(tables: &[DraftTable]) -> String {
    let used = |n: &str| tables.iter().any(|t| t.map.col(n).is_some());
    ["tenant_id", "tenant_id_placeholder"]
        .into_iter()
        .find(|n| !used(n))
        .map(str::to_string)
        .unwrap_or_else(|| "harness_tenant_placeholder".into())
}

fn assemble(w: &Work, tenant_column: Option<&str>, relations: &mut HashSet<String>) -> DraftTable {
    let mut columns = Vec::new();
    let mut legacy_decl = Vec::new();
    let key_evidence = |what: &str| {
        format!(
            "{}: {what} -> key (bigint)",
            rules::rows_head(w.t.rows, w.t.rows)
        )
    };
    if let Key::Rowid(alias) = w.key {
        let pk: Vec<&str> = w.t.pk_columns().iter().map(|c| c.name.as_str()).collect();
        let what = match pk.len() {
            0 => "no primary key".to_string(),
            1 => format!("the primary key {:?} is not an integer rowid", pk[0]),
            _ => format!("a composite primary key ({})", pk.join(", ")),
        };
        columns.push(ColumnMap {
            target: w.key_target.clone(),
            legacy: vec![alias.to_string()],
            rule: Rule::Key { uuid_tag: None },
            nullable: false,
            on_bad: OnBad::Reject,
            evidence: Some(key_evidence(&format!(
                "{what}, so the rowid becomes the key column {}",
                w.key_target
            ))),
        });
        legacy_decl.push(("(rowid)".to_string(), None));
    }
    for i in 0..w.cols.len() {
        let c = &w.t.columns[w.cols[i]];
        let (rule, evidence, nullable) = if Some(i) == w.key_col() {
            let what = match w.key {
                Key::Alias(_) => "INTEGER PRIMARY KEY (the rowid)",
                _ => "the integer primary key of a WITHOUT ROWID table",
            };
            (Rule::Key { uuid_tag: None }, key_evidence(what), false)
        } else {
            let ch = &w.rules[i];
            (ch.rule.clone(), ch.evidence.clone(), w.nullable[i])
        };
        columns.push(ColumnMap {
            target: w.col_targets[i].clone(),
            legacy: vec![c.name.clone()],
            rule,
            nullable,
            on_bad: OnBad::Reject,
            evidence: Some(evidence),
        });
        legacy_decl.push((c.decl.clone(), c.default.clone()));
    }
    // Unique constraints and indexes.
    let mut notes = w.notes.clone();
    let mut unique: Vec<Vec<String>> = Vec::new();
    if let Key::Rowid(_) = w.key {
        let pk: Option<Vec<String>> =
            w.t.pk_columns()
                .iter()
                .map(|c| w.find(&c.name).map(|i| w.col_targets[i].clone()))
                .collect();
        if let Some(pk) = pk.filter(|p| !p.is_empty()) {
            unique.push(pk);
        }
    }
    let mut indexes = Vec::new();
    for ix in &w.t.indexes {
        let cols: Option<Vec<String>> = ix
            .columns
            .iter()
            .map(|c| {
                c.as_deref()
                    .and_then(|c| w.find(c))
                    .map(|i| w.col_targets[i].clone())
            })
            .collect();
        let sql = ix.sql.as_deref().map(one_line);
        let Some(cols) = cols.filter(|_| !ix.partial) else {
            notes.push(format!(
                "index {:?} is partial or on an expression or a generated column: recreate it by hand in a migration ({})",
                ix.name,
                sql.unwrap_or_else(|| "an automatic index".into())
            ));
            continue;
        };
        if cols.is_empty() || cols == [w.key_target.clone()] {
            continue;
        }
        if ix.unique {
            if !unique.contains(&cols) {
                unique.push(cols);
            }
        } else {
            // Indexes share the schema's namespace with tables: keep the
            // legacy name when it fits and is free, else cut and number it.
            let name = unique_name(&ix.name, relations, &format!("{}_idx", w.target));
            if name != ix.name {
                notes.push(format!("index {:?} is named {name:?}", ix.name));
            }
            indexes.push((name, cols));
        }
    }
    if w.t.without_rowid {
        notes.push("WITHOUT ROWID in SQLite; its integer primary key is the key".into());
    }
    if let (Link::Tenant, Some(c)) = (&w.link, tenant_column) {
        for u in unique.iter().filter(|u| !u.iter().any(|x| x == c)) {
            notes.push(format!(
                "unique ({}) holds across all tenants, as in SQLite; a global unique lets one tenant learn what another stored (a duplicate-key error): consider unique ({c}, {})",
                u.join(", "),
                u.join(", ")
            ));
        }
    }
    DraftTable {
        map: TableMap {
            name: w.target.clone(),
            legacy: (w.target != w.t.name).then(|| w.t.name.clone()),
            note: (!notes.is_empty()).then(|| notes.join(". ")),
            columns,
        },
        legacy_index: w.idx,
        link: w.link.clone(),
        unique,
        indexes,
        legacy_decl,
    }
}

/// Topological order over the references (self-references do not count).
/// A cycle is broken by drafting the waiting table's references to tables
/// not yet placed as plain columns.
fn load_order(
    work: &mut [Work],
    refs: &mut [BTreeMap<usize, usize>],
    root: Option<usize>,
    decisions: &mut Vec<String>,
) -> Vec<usize> {
    let n = work.len();
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let ready = (0..n).find(|&i| !placed[i] && refs[i].values().all(|&p| p == i || placed[p]));
        let next = match ready {
            Some(i) => i,
            None => {
                let i = root
                    .filter(|r| !placed[*r])
                    .or_else(|| (0..n).find(|&i| !placed[i]))
                    .unwrap_or(0);
                let broken: Vec<(usize, usize)> = refs[i]
                    .iter()
                    .filter(|(_, &p)| p != i && !placed[p])
                    .map(|(c, p)| (*c, *p))
                    .collect();
                for (ci, pi) in broken {
                    refs[i].remove(&ci);
                    let parent = work[pi].target.clone();
                    let w = &mut work[i];
                    let mut plain = w.plain[ci].clone();
                    let msg = format!(
                        "{}.{} references {parent}, which references {} back (a cycle): drafted as a plain column so both tables can load; add its foreign key in a later migration, after the load",
                        w.target, w.col_targets[ci], w.target
                    );
                    plain.evidence.push_str(&format!(". {msg}"));
                    w.rules[ci] = plain;
                    w.notes.push(msg.clone());
                    decisions.push(msg);
                }
                i
            }
        };
        placed[next] = true;
        order.push(next);
    }
    order
}

/// The shortest foreign-key path from table `from` to a table that has
/// the tenant column (or is the root), as `a -> b.org_id`.
fn tenant_path(work: &[Work], from: usize, has_tenant: &[bool], column: &str) -> Option<String> {
    let mut prev: Vec<Option<usize>> = vec![None; work.len()];
    let mut seen = vec![false; work.len()];
    let mut queue = VecDeque::from([from]);
    seen[from] = true;
    while let Some(i) = queue.pop_front() {
        if i != from && has_tenant[i] {
            let mut chain = vec![i];
            let mut at = i;
            while let Some(p) = prev[at] {
                chain.push(p);
                at = p;
            }
            chain.reverse();
            let names: Vec<String> = chain
                .iter()
                .enumerate()
                .map(|(k, &t)| {
                    let w = &work[t];
                    if k + 1 == chain.len() {
                        match w.find(column) {
                            Some(ci) => format!("{}.{}", w.target, w.col_targets[ci]),
                            None => format!("{} (the tenants)", w.target),
                        }
                    } else {
                        w.target.clone()
                    }
                })
                .collect();
            return Some(names.join(" -> "));
        }
        for fk in &work[i].t.foreign_keys {
            if let Some(p) = work
                .iter()
                .position(|w| w.t.name.eq_ignore_ascii_case(&fk.parent))
            {
                if !seen[p] {
                    seen[p] = true;
                    prev[p] = Some(i);
                    queue.push_back(p);
                }
            }
        }
    }
    None
}

/// Values of `w`'s column `ci` (in the rows profiled) that name no key of
/// `parent`.
fn orphan_count(conn: &Connection, w: &Work, ci: usize, parent: &Work) -> rusqlite::Result<u64> {
    let sample = profile::sample_sql(
        &format!("{} as v", quote(w.legacy_col(ci))),
        &w.t.name,
        &w.key_expr(),
    );
    let sql = format!(
        "select count(*) from ({sample}) where v is not null and v not in (select {} from {})",
        parent.key_expr(),
        quote(&parent.t.name)
    );
    conn.query_row(&sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
}

enum TenantErr {
    Read(String, rusqlite::Error),
    Bad(String),
}

/// The tenant column (given or guessed), the root table and the tenant
/// id type. A guess that does not work becomes a decision; a given column
/// that does not work is an error.
fn find_tenant(
    conn: &Connection,
    work: &[Work],
    wish: &TenantWish<'_>,
    decisions: &mut Vec<String>,
) -> Result<TenantDraft, TenantErr> {
    let tables_with = |c: &str| -> Vec<usize> {
        (0..work.len())
            .filter(|&i| work[i].find(c).is_some())
            .collect()
    };
    let none = TenantDraft {
        column: None,
        root: None,
        sql_type: "bigint".into(),
    };
    let candidates: Vec<String> = match wish.column {
        Some(c) => {
            if c.is_empty() || c.len() > MAX_IDENT {
                return Err(TenantErr::Bad(format!(
                    "a tenant column name must be 1..{MAX_IDENT} bytes"
                )));
            }
            if SYSTEM_COLUMNS.contains(&c) {
                return Err(TenantErr::Bad(format!(
                    "{c} is a PostgreSQL system column name; give the legacy column that holds the tenant id"
                )));
            }
            if tables_with(c).is_empty() {
                let mut shared: BTreeMap<String, usize> = BTreeMap::new();
                for w in work {
                    for i in 0..w.cols.len() {
                        let n = w.legacy_col(i).to_ascii_lowercase();
                        if n.ends_with("_id") {
                            *shared.entry(n).or_default() += 1;
                        }
                    }
                }
                let mut common: Vec<(String, usize)> =
                    shared.into_iter().filter(|(_, k)| *k >= 2).collect();
                common.sort_by_key(|b| std::cmp::Reverse(b.1));
                let list: Vec<String> = common
                    .iter()
                    .take(5)
                    .map(|(n, k)| format!("{n} ({k} tables)"))
                    .collect();
                return Err(TenantErr::Bad(format!(
                    "no table has a column named {c:?}; {}",
                    if list.is_empty() {
                        "no *_id column is shared by two tables either: rerun without --tenant-column to draft a folder without a tenant".to_string()
                    } else {
                        format!("columns several tables share: {}", list.join(", "))
                    }
                )));
            }
            vec![c.to_string()]
        }
        None => {
            let mut out = Vec::new();
            for tier in tenant_guesses() {
                let mut ranked: Vec<(String, usize)> = tier
                    .into_iter()
                    .map(|c| {
                        let n = tables_with(&c).len();
                        (c, n)
                    })
                    .filter(|(_, k)| *k >= 2)
                    .collect();
                ranked.sort_by_key(|b| std::cmp::Reverse(b.1));
                out.extend(ranked.into_iter().map(|(c, _)| c));
                if !out.is_empty() {
                    break;
                }
            }
            out
        }
    };
    for c in candidates {
        let holders = tables_with(&c);
        // Tenant ids must be integers (the engine keys tenants by them).
        let texty = holders.iter().find(|&&wi| {
            let w = &work[wi];
            w.find(&c).is_some_and(|ci| {
                let p = &w.profiles[ci];
                let ok = p.tally(&Rule::Bigint).map_or(0, |t| t.accepted());
                ok * 2 < p.non_null()
            })
        });
        if let Some(&wi) = texty {
            let problem = format!(
                "its values in {} are mostly not integers; the engine keys tenants by integer ids, so give the column that holds the tenant's integer id (or add one)",
                work[wi].target
            );
            if wish.column.is_some() {
                return Err(TenantErr::Bad(problem));
            }
            decisions.push(format!(
                "{c} looks like a tenant column, but {problem}; it is drafted as an ordinary column"
            ));
            continue;
        }
        let guessed = wish.column.is_none();
        let mut tenant = TenantDraft {
            column: Some(c.clone()),
            root: None,
            sql_type: "bigint".into(),
        };
        // The root: the table the tenant column's foreign keys point at.
        let mut parents: BTreeMap<usize, usize> = BTreeMap::new();
        for &wi in &holders {
            let w = &work[wi];
            for fk in &w.t.foreign_keys {
                if fk.from.len() != 1 || !fk.from[0].eq_ignore_ascii_case(&c) {
                    continue;
                }
                let Some(pi) = work
                    .iter()
                    .position(|p| p.t.name.eq_ignore_ascii_case(&fk.parent))
                else {
                    continue;
                };
                let p = &work[pi];
                let to = fk.to[0].clone().or_else(|| {
                    let pk = p.t.pk_columns();
                    (pk.len() == 1).then(|| pk[0].name.clone())
                });
                if p.key_col()
                    .zip(to.as_deref())
                    .is_some_and(|(k, t)| p.legacy_col(k).eq_ignore_ascii_case(t))
                {
                    *parents.entry(pi).or_default() += 1;
                }
            }
        }
        let by_fk = parents.iter().max_by_key(|(_, n)| **n).map(|(p, _)| *p);
        let root = match by_fk {
            Some(p) => Some(p),
            None => {
                let named = root_by_name(work, &c, &holders);
                match named {
                    Some(p) => {
                        let mut stray = 0u64;
                        for &wi in &holders {
                            let ci = work[wi].find(&c).unwrap_or(0);
                            stray += orphan_count(conn, &work[wi], ci, &work[p]).map_err(|e| {
                                TenantErr::Read(
                                    format!("the tenant column of {:?}", work[wi].t.name),
                                    e,
                                )
                            })?;
                        }
                        if stray == 0 {
                            Some(p)
                        } else {
                            decisions.push(format!(
                                "{} looks like the tenant table for {c}, but {stray} {c} {} none of its rows: no tenant root table is drafted ({c} is a plain integer). Fix the data or set root_table in app.toml",
                                work[p].target,
                                rules::plural(stray, "value names", "values name")
                            ));
                            None
                        }
                    }
                    None => None,
                }
            }
        };
        match root {
            Some(r) => {
                tenant.root = Some(work[r].target.clone());
            }
            None => {
                let wide = holders.iter().any(|&wi| {
                    let w = &work[wi];
                    w.find(&c).is_some_and(|ci| {
                        w.profiles[ci].non_null() == 0
                            || w.profiles[ci]
                                .tally(&Rule::Integer)
                                .is_some_and(|t| t.bad.keys().any(|k| k.contains("beyond")))
                    })
                });
                tenant.sql_type = if wide { "bigint" } else { "integer" }.into();
            }
        }
        let how = match &tenant.root {
            Some(r) if by_fk.is_some() => {
                format!("root table {r} (the tenant column's foreign keys point at it)")
            }
            Some(r) => format!("root table {r} (by its name; every {c} value is one of its keys)"),
            None => "no root table (a plain integer tenant id)".into(),
        };
        if guessed {
            decisions.push(format!(
                "tenant column guessed: {c} (in {} tables), {how}; rerun with --tenant-column to choose another",
                holders.len()
            ));
        }
        return Ok(tenant);
    }
    decisions.push(
        "NO TENANT COLUMN FOUND: no column named after a tenant noun (tenant_id, org_id, account_id, ...) is shared by two tables, so no row-level security policy was drafted and every table is open to the app. Rerun with --tenant-column NAME, or add a tenant column to the tables and write their policies"
            .into(),
    );
    Ok(none)
}

/// A table named after the tenant column (`orgs` for `org_id`)
/// with an integer key, that does not itself hold the column.
fn root_by_name(work: &[Work], column: &str, holders: &[usize]) -> Option<usize> {
    let c = column.to_ascii_lowercase();
    let stem = c.strip_suffix("_id").or_else(|| c.strip_suffix("id"))?;
    let stem = stem.trim_end_matches('_');
    if stem.is_empty() {
        return None;
    }
    let mut names = vec![stem.to_string(), format!("{stem}s"), format!("{stem}es")];
    if let Some(s) = stem.strip_suffix('y') {
        names.push(format!("{s}ies"));
    }
    if stem == "org" {
        names.extend(["organizations", "organisations", "organization"].map(String::from));
    }
    (0..work.len()).find(|&i| {
        let w = &work[i];
        w.key_col().is_some()
            && !holders.contains(&i)
            && names.iter().any(|n| w.t.name.eq_ignore_ascii_case(n))
    })
}

/// Why a name changed.
fn rename_reason(name: &str) -> String {
    if name.is_empty() {
        "an empty name is not valid in PostgreSQL".into()
    } else if name.len() > MAX_IDENT {
        format!(
            "{} bytes; PostgreSQL names hold at most {MAX_IDENT}, so it is cut (and numbered when two cuts collide)",
            name.len()
        )
    } else {
        "another name already had it".into()
    }
}

/// `s` cut to at most `max` bytes at a char boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A PostgreSQL name for `want`: itself when it fits and is free, else cut
/// to [`MAX_IDENT`] bytes and numbered (`_2`, `_3`, ...) until free.
pub fn unique_name(want: &str, taken: &mut HashSet<String>, fallback: &str) -> String {
    let base = if want.is_empty() { fallback } else { want };
    let first = cut(base, MAX_IDENT).to_string();
    if !taken.contains(&first) {
        taken.insert(first.clone());
        return first;
    }
    let mut k = 2u32;
    loop {
        let suffix = format!("_{k}");
        let cand = format!("{}{suffix}", cut(base, MAX_IDENT - suffix.len()));
        if !taken.contains(&cand) {
            taken.insert(cand.clone());
            return cand;
        }
        k += 1;
    }
}

/// The folder's file name as a role and database name: `[a-z0-9_]`, at most
/// 50 bytes (room for `_reader`).
pub fn sanitize_app_name(raw: &str) -> String {
    let mut out = String::new();
    for ch in raw.chars() {
        let c = ch.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(c);
    }
    let out = out.trim_end_matches('_');
    let out = cut(out, 50).trim_end_matches('_');
    if out.is_empty() {
        "app".into()
    } else if out.as_bytes()[0].is_ascii_digit() {
        format!("app_{out}")
    } else {
        out.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_at_char_boundaries_and_numbered() {
        let mut taken = HashSet::new();
        let long = format!("{}é{}", "a".repeat(62), "b".repeat(10));
        let a = unique_name(&long, &mut taken, "x");
        assert_eq!(a, "a".repeat(62), "the 2-byte é does not fit in byte 63");
        let b = unique_name(&long, &mut taken, "x");
        assert_eq!(b, format!("{}_2", "a".repeat(61)));
        assert!(b.len() <= MAX_IDENT);
        assert_eq!(unique_name("", &mut taken, "unnamed"), "unnamed");
    }

    #[test]
    fn app_names_are_role_safe() {
        assert_eq!(sanitize_app_name("My App-2"), "my_app_2");
        assert_eq!(sanitize_app_name("..."), "app");
        assert_eq!(sanitize_app_name("2fast"), "app_2fast");
        assert_eq!(sanitize_app_name("Ünï"), "n");
    }
}
