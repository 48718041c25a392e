//! `data.toml` drafted from the legacy file itself: per table how many rows
//! (per tenant, per parent row, or shared), per column what its values look
//! like (NULL share, distinct values, ranges, lengths, shapes of text),
//! turned into the generator's kinds ([`crate::data::spec`]).
//!
//! Why from the file: the first seed of a team's app should look like the
//! team's own data (the same NULL shares, the same mix of statuses, the
//! same date formats and JSON shapes, tenants as unequal as theirs), so a
//! load test meets what production will. Every line carries its evidence
//! as a comment, as the mapping's rules do, so the user sees what a kind
//! rests on and can change it.
//!
//! What the generator infers needs no line: keys, the tenant column and the
//! references mapping.toml declares (a declared reference that holds NULLs
//! gets a line, for its NULL share). A foreign key the mapping does not
//! declare is drafted from its values like any other column.
//!
//! The file is opened read-only. Each table is read once, at most
//! [`SAMPLE_ROWS`] rows in key order (as the mapping's profiles are); row
//! counts, tenant sizes and rows per parent row are counted over whole
//! tables.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::Value as Json;

use super::draft::comment;
use super::inspect::{self, Schema};
use super::plan::{Draft, DraftTable, Link};
use super::profile::{self, Shape, SAMPLE_ROWS};
use super::rules::{pct, plural};
use super::InitError;
use crate::app::{quote, Rule};
use crate::data::spec::{
    parse_moment, ColumnSpec, DataSpec, DateFormat, HardSpec, ListForm, Rows, TableSpec,
    TenantsSpec,
};
use crate::migrate::convert::{self, Raw};

/// A column with at most this many distinct values (each seen twice on
/// average) is drafted as `choices`.
pub const FEW_DISTINCT: usize = 12;
/// ... as is one whose distinct values are fewer than this share of its
/// values, when it has at least [`RATIO_MIN_VALUES`] of them.
pub const DISTINCT_RATIO: f64 = 0.05;
/// Below this many values a ratio of distinct values says little.
pub const RATIO_MIN_VALUES: u64 = 50;
/// The most common values listed as choices, at most.
pub const MAX_CHOICES: usize = 20;
/// Listed choices must cover this share of the values (else the column is
/// drafted by its shape: twenty of a thousand names are not the column).
const CHOICES_COVER: f64 = 0.8;
/// Distinct values counted per column; past it the column is "many".
const DISTINCT_CAP: usize = 4096;
/// Distinct values counted per JSON field or list item.
const JSON_DISTINCT_CAP: usize = 256;
/// Texts longer than this are counted by a hash, never offered as choices.
const CHOICE_MAX_CHARS: usize = 200;
/// A shape (a date, an e-mail, JSON) names a column's kind when at least
/// this share of its values has it.
const MOST: f64 = 0.9;
/// JSON nested deeper than this is drafted as an empty object.
const JSON_DEPTH: u8 = 3;
/// JSON keys and key sets tracked per level.
const JSON_KEYS_CAP: usize = 256;
/// Decimals past this are not rounded to (they are float noise).
const MAX_DECIMALS: u8 = 6;
/// Words in a sentence of lorem `paragraph` (fake draws 4 to 9).
const WORDS_PER_SENTENCE: f64 = 6.5;

/// The text of `data.toml` for `draft`, from the file at `source`.
pub fn data_toml(source: &Path, schema: &Schema, draft: &Draft) -> Result<String, InitError> {
    let conn = inspect::open(source)?;
    let ctx = Ctx {
        conn: &conn,
        path: source,
        schema,
        draft,
    };
    let tenancy = tenancy(&ctx)?;
    let mut spec = DataSpec {
        tenants: TenantsSpec {
            count: tenancy.count,
            skew: tenancy.skew,
        },
        hard: HardSpec::default(),
        tables: Vec::new(),
    };
    let header = [
        "data.toml: the tenant data `harness seed --app DIR` makes for this app.".to_string(),
        format!(
            "Drafted by `harness init` from {}: per column, what its values look like (NULL share, distinct values, ranges, lengths, shapes of text; at most {SAMPLE_ROWS} rows of each table looked at), turned into a generator kind; per table, how many rows. The comment above each line is its evidence.",
            source.display()
        ),
        "Keys, the tenant column and the references mapping.toml declares need no line: the generator fills them. Review it, then edit freely (`harness init --force` rewrites it).".to_string(),
    ];
    let mut out = String::new();
    for (i, p) in header.iter().enumerate() {
        if i > 0 {
            out.push_str("#\n");
        }
        out.push_str(&comment(&wrap(p, 76), "# "));
    }
    out.push('\n');
    out.push_str(&comment(&wrap(&tenancy.note, 76), "# "));
    let _ = write!(
        out,
        "[tenants]\ncount = {}\nskew = {}\n",
        tenancy.count,
        toml::Value::Float(tenancy.skew)
    );
    for t in &draft.tables {
        let drafted = draft_table(&ctx, t, &tenancy)?;
        out.push('\n');
        out.push_str(&render_table(&drafted)?);
        spec.tables.push(drafted.spec);
    }
    // The engine reads this file back (App::load); a draft it refuses is
    // a bug here, said as one rather than as the user's mistake.
    let parsed: DataSpec = toml::from_str(&out)
        .map_err(|e| InitError::Internal(format!("the drafted data.toml does not parse: {e}")))?;
    parsed
        .check()
        .map_err(|e| InitError::Internal(format!("the drafted data.toml is refused: {e}")))?;
    if parsed != spec {
        return Err(InitError::Internal(
            "the drafted data.toml does not read back as drafted".into(),
        ));
    }
    Ok(out)
}

/// What every step reads from.
struct Ctx<'a> {
    conn: &'a Connection,
    path: &'a Path,
    schema: &'a Schema,
    draft: &'a Draft,
}

impl Ctx<'_> {
    fn read_err(&self, what: String) -> impl Fn(rusqlite::Error) -> InitError + '_ {
        move |e| InitError::Read {
            path: self.path.to_path_buf(),
            what: what.clone(),
            source: e,
        }
    }

    fn rows(&self, t: &DraftTable) -> u64 {
        self.schema.tables[t.legacy_index].rows
    }

    /// The legacy tenant column of `t`, when it has one.
    fn tenant_column<'t>(&self, t: &'t DraftTable) -> Option<&'t str> {
        let c = self.draft.tenant.column.as_deref()?;
        t.map.col(c)?.legacy.first().map(String::as_str)
    }
}

// ---------------------------------------------------------------------------
// Tenants

struct Tenancy {
    count: u32,
    skew: f64,
    note: String,
    /// Per legacy table with the tenant column: the largest tenant's rows.
    largest: HashMap<String, u64>,
}

fn tenancy(ctx: &Ctx) -> Result<Tenancy, InitError> {
    let Some(column) = ctx.draft.tenant.column.as_deref() else {
        return Ok(Tenancy {
            count: 1,
            skew: 0.0,
            note: "The file has no tenant column (see README.md): one tenant, and every table is drafted as shared.".into(),
            largest: HashMap::new(),
        });
    };
    let mut sizes: HashMap<String, u64> = HashMap::new();
    let mut largest = HashMap::new();
    for t in ctx.draft.tables.iter().filter(|t| t.link == Link::Tenant) {
        let Some(tc) = ctx.tenant_column(t) else {
            continue;
        };
        let name = t.map.legacy_name();
        let q = quote(tc);
        let sql = format!(
            "select {q}, count(*) from {} where {q} is not null group by {q}",
            quote(name)
        );
        let err = ctx.read_err(format!("the tenants of table {name:?}"));
        let mut stmt = ctx.conn.prepare(&sql).map_err(&err)?;
        let mut rows = stmt.query([]).map_err(&err)?;
        let mut max = 0u64;
        while let Some(r) = rows.next().map_err(&err)? {
            let id = match r.get_ref(0).map_err(&err)? {
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Real(f) => f.to_string(),
                ValueRef::Text(b) | ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned(),
                ValueRef::Null => continue,
            };
            let n = r.get::<_, i64>(1).map_err(&err)?.max(0) as u64;
            *sizes.entry(id).or_default() += n;
            max = max.max(n);
        }
        largest.insert(name.to_string(), max);
    }
    let root = ctx
        .draft
        .tenant
        .root
        .as_deref()
        .and_then(|r| ctx.draft.table(r));
    let (found, of) = match root {
        Some(r) => (ctx.rows(r), format!("the rows of {}", r.map.legacy_name())),
        None => (
            sizes.len() as u64,
            format!("the distinct values of {column}"),
        ),
    };
    let count = u32::try_from(found.max(1)).unwrap_or(u32::MAX);
    let mut with_rows: Vec<u64> = sizes.values().copied().filter(|n| *n > 0).collect();
    with_rows.sort_unstable_by(|a, b| b.cmp(a));
    let skew = zipf_skew(&with_rows).unwrap_or(0.0);
    let note = format!(
        "{found} {} in the file ({of}{}). skew is the Zipf exponent the generator spreads rows over tenants with: minus the slope of log(rows) against log(rank), fitted over the {} {} with rows in the tables that have {column} (the largest has {}, the smallest {}), clamped to 0..3; 0 makes every tenant alike.",
        plural(found, "tenant", "tenants"),
        if found == 0 { "; count is at least 1" } else { "" },
        with_rows.len(),
        plural(with_rows.len() as u64, "tenant", "tenants"),
        with_rows.first().copied().unwrap_or(0),
        with_rows.last().copied().unwrap_or(0),
    );
    Ok(Tenancy {
        count,
        skew,
        note,
        largest,
    })
}

/// The Zipf exponent of tenant sizes sorted largest first: minus the
/// least-squares slope of ln(size) over ln(rank), clamped to 0..3 and
/// rounded to hundredths. `None` with fewer than two sizes.
pub fn zipf_skew(sizes_desc: &[u64]) -> Option<f64> {
    if sizes_desc.len() < 2 {
        return None;
    }
    let pts: Vec<(f64, f64)> = sizes_desc
        .iter()
        .enumerate()
        .map(|(i, s)| (((i + 1) as f64).ln(), (*s.max(&1) as f64).ln()))
        .collect();
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let skew = (-sxy / sxx).clamp(0.0, 3.0);
    // `+ 0.0` turns a rounded -0.0 into 0.0, which reads better.
    Some((skew * 100.0).round() / 100.0 + 0.0)
}

// ---------------------------------------------------------------------------
// Tables

/// A drafted `[[table]]`: its spec, its notes, its columns in legacy order
/// with their evidence.
struct TableOut {
    spec: TableSpec,
    notes: Vec<String>,
    columns: Vec<(String, String)>,
}

fn draft_table(ctx: &Ctx, t: &DraftTable, ten: &Tenancy) -> Result<TableOut, InitError> {
    let legacy = &ctx.schema.tables[t.legacy_index];
    let name = t.map.legacy_name().to_string();
    let total = legacy.rows;
    let tenant_col = match t.link {
        Link::Tenant => ctx.tenant_column(t),
        _ => None,
    };
    let key_col = t.map.key().legacy.first().map(String::as_str);
    // Legacy column -> the drafted table it refers to (mapping.toml).
    let refs: BTreeMap<&str, &DraftTable> = t
        .map
        .columns
        .iter()
        .filter_map(|c| match &c.rule {
            Rule::Ref { table } => Some((c.legacy.first()?.as_str(), ctx.draft.table(table)?)),
            _ => None,
        })
        .collect();
    let mut spec = TableSpec {
        name: name.clone(),
        rows: Rows::Mean(1.0),
        per: None,
        fixed: false,
        columns: BTreeMap::new(),
    };
    let mut notes = Vec::new();
    let count = f64::from(ten.count);
    let mut per_col: Option<&str> = None;
    let rows_txt = format!("{} {}", thousands(total), plural(total, "row", "rows"));
    match &t.link {
        Link::Root => notes.push(format!(
            "{name}: the tenants ({rows_txt}); one row per tenant, so no rows line."
        )),
        Link::Tenant => {
            let largest = ten.largest.get(&name).copied().unwrap_or(0);
            let mean = total as f64 / count;
            spec.rows = Rows::Mean(round_rows(mean));
            if total > 0 && largest <= 1 {
                spec.fixed = true;
                notes.push(format!(
                    "{name}: {rows_txt} over {} tenants, never more than one per tenant (a settings row): rows is the share of tenants with one, fixed so neither --scale nor a tenant's weight changes it.",
                    ten.count
                ));
            } else {
                notes.push(format!(
                    "{name}: {rows_txt} over {} tenants, {} per tenant on average (the largest has {}); each tenant gets rows x --scale x its weight.",
                    ten.count,
                    round_rows(mean),
                    thousands(largest)
                ));
            }
        }
        Link::ThroughParent(path) => match per_parent(ctx, t, &refs)? {
            Some(p) => {
                spec.per = Some(p.parent.clone());
                spec.rows = Rows::Range {
                    min: clamp_u32(p.lo),
                    max: clamp_u32(p.hi),
                };
                per_col = Some(p.column);
                let moved = if (p.lo, p.hi) != (p.seen_lo, p.seen_hi) {
                    format!(
                        "; seen {} to {}, narrowed so a uniform draw keeps the mean",
                        p.seen_lo, p.seen_hi
                    )
                } else {
                    String::new()
                };
                notes.push(format!(
                        "{name}: {rows_txt}, no tenant column: it reaches its tenant through {path}. Rows per row of {} (by {}): {} to {}, mean {:.1}{moved}.",
                        p.parent, p.column, p.lo, p.hi, p.mean
                    ));
            }
            None => {
                spec.rows = Rows::Mean(total as f64);
                spec.fixed = true;
                notes.push(format!(
                        "{name}: {rows_txt}; it reaches its tenant through {path}, but by no reference mapping.toml declares, so it is drafted as shared: {} rows in all, the same at any --scale.",
                        thousands(total)
                    ));
            }
        },
        Link::Lookup | Link::Untenanted => {
            spec.rows = Rows::Mean(total as f64);
            spec.fixed = true;
            notes.push(format!(
                "{name}: shared by every tenant: {rows_txt}, the same at any --scale."
            ));
        }
    }
    let mut inferred = Vec::new();
    if let Some(k) = key_col.filter(|k| legacy.column(k).is_some()) {
        inferred.push(format!("{k} (the key)"));
    }
    if let Some(tc) = tenant_col {
        inferred.push(format!("{tc} (the tenant)"));
    }
    if let Some(pc) = per_col {
        inferred.push(format!("{pc} (the parent row)"));
    }
    // Columns to read: every stored column but the key and the tenant.
    let scan: Vec<&str> = legacy
        .columns
        .iter()
        .filter(|c| !c.generated)
        .map(|c| c.name.as_str())
        .filter(|c| Some(*c) != key_col && Some(*c) != tenant_col && Some(*c) != per_col)
        .collect();
    let mut columns = Vec::new();
    if total == 0 {
        notes.push(
            "Empty in the file, so no rows are drafted and its columns are left to their declared types: give it rows (and lines) to fill it.".into(),
        );
    } else if !scan.is_empty() {
        let stats = scan_table(ctx, t, &scan)?;
        let uniques = unique_columns(ctx, t);
        for (col, st) in scan.iter().zip(&stats) {
            let head = head(st, total);
            if let Some(parent) = refs.get(col) {
                if st.nulls == 0 {
                    inferred.push(format!("{col} (-> {})", parent.map.legacy_name()));
                    continue;
                }
                let c = ColumnSpec {
                    reference: Some(parent.map.legacy_name().to_string()),
                    null: share(st.nulls, st.scanned),
                    ..ColumnSpec::default()
                };
                spec.columns.insert(col.to_string(), c);
                columns.push((
                    col.to_string(),
                    format!(
                        "{head}: {} NULL; a reference to {} (mapping.toml), kept for its NULL share",
                        pct(st.nulls, st.scanned),
                        parent.map.legacy_name()
                    ),
                ));
                continue;
            }
            let unique = uniques.iter().any(|u| u == col);
            let (c, mut ev) = column_spec(col, st, unique);
            if let Some(fk) = legacy
                .foreign_keys
                .iter()
                .find(|fk| fk.from.len() == 1 && fk.from[0] == *col)
            {
                ev.push(format!(
                    "a foreign key to {} that mapping.toml does not declare: drawn from its values, not from that table's rows",
                    fk.parent
                ));
            }
            spec.columns.insert(col.to_string(), c);
            columns.push((col.to_string(), format!("{head}: {}", ev.join(", "))));
        }
    }
    if !inferred.is_empty() {
        notes.push(format!("Filled by the generator: {}.", inferred.join(", ")));
    }
    Ok(TableOut {
        spec,
        notes,
        columns,
    })
}

/// How a table that reaches its tenant through a parent is drafted `per`
/// that parent.
struct PerParent<'a> {
    parent: String,
    column: &'a str,
    lo: u64,
    hi: u64,
    seen_lo: u64,
    seen_hi: u64,
    mean: f64,
}

/// The parent to draft `t` per: the first declared reference (NOT NULL
/// ones first) to a table that has a tenant, with the children each of its
/// rows has, counted over the whole table.
fn per_parent<'a>(
    ctx: &Ctx,
    t: &DraftTable,
    refs: &BTreeMap<&'a str, &DraftTable>,
) -> Result<Option<PerParent<'a>>, InitError> {
    let legacy = &ctx.schema.tables[t.legacy_index];
    let mut candidates: Vec<(&str, &DraftTable)> = refs
        .iter()
        .filter(|(_, p)| {
            p.map.name != t.map.name
                && matches!(p.link, Link::Root | Link::Tenant | Link::ThroughParent(_))
        })
        .map(|(c, p)| (*c, *p))
        .collect();
    // The parent: a NOT NULL reference's first (every row has one), else
    // the first in schema order.
    candidates.sort_by_key(|(c, _)| {
        let i = legacy.column(c).unwrap_or(usize::MAX);
        (!legacy.columns.get(i).is_some_and(|c| c.notnull), i)
    });
    let Some((column, parent)) = candidates.first().copied() else {
        return Ok(None);
    };
    // The generator makes the first column (in schema order) that refers
    // to the parent the parent row: count children by that one.
    let column = refs
        .iter()
        .filter(|(_, p)| p.map.name == parent.map.name)
        .map(|(c, _)| *c)
        .min_by_key(|c| legacy.column(c).unwrap_or(usize::MAX))
        .unwrap_or(column);
    let q = quote(column);
    let sql = format!(
        "select count(*), coalesce(min(n), 0), coalesce(max(n), 0), coalesce(sum(n), 0)
         from (select count(*) as n from {} where {q} is not null group by {q})",
        quote(legacy.name.as_str())
    );
    let (groups, lo, hi, sum): (i64, i64, i64, i64) = ctx
        .conn
        .query_row(&sql, [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(ctx.read_err(format!("the parent rows of table {:?}", legacy.name)))?;
    let parents = ctx.rows(parent);
    let (groups, lo, hi, sum) = (
        groups.max(0) as u64,
        lo.max(0) as u64,
        hi.max(0) as u64,
        sum.max(0) as u64,
    );
    // Parents without children count as 0.
    let seen_lo = if groups < parents { 0 } else { lo };
    let mean = if parents == 0 {
        0.0
    } else {
        sum as f64 / parents as f64
    };
    let (lo, hi2) = fair_range(seen_lo, hi, mean);
    Ok(Some(PerParent {
        parent: parent.map.legacy_name().to_string(),
        column,
        lo,
        hi: hi2,
        seen_lo,
        seen_hi: hi,
        mean,
    }))
}

/// A uniform range whose mean is near `mean`: the observed extremes when
/// their midpoint is within 25 % of it, else the far end moved so the
/// midpoint is the mean (a long tail would otherwise multiply the rows
/// drawn).
pub fn fair_range(lo: u64, hi: u64, mean: f64) -> (u64, u64) {
    let mid = (lo + hi) as f64 / 2.0;
    if mid > mean * 1.25 {
        let hi2 = (2.0 * mean - lo as f64).round().max(lo as f64) as u64;
        (lo, hi2.min(hi))
    } else if mid < mean * 0.75 {
        let lo2 = (2.0 * mean - hi as f64).round().max(0.0) as u64;
        (lo2.min(hi).max(lo), hi)
    } else {
        (lo, hi)
    }
}

/// Single-column UNIQUE indexes (and primary keys) of `t`, not its key.
fn unique_columns(ctx: &Ctx, t: &DraftTable) -> Vec<String> {
    let legacy = &ctx.schema.tables[t.legacy_index];
    let key = t.map.key().legacy.first().cloned();
    legacy
        .indexes
        .iter()
        .filter(|ix| ix.unique && !ix.partial)
        .filter_map(|ix| match ix.columns.as_slice() {
            [Some(c)] if Some(c) != key.as_ref() => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// Read the sample of `t` once, all `columns` together.
fn scan_table(ctx: &Ctx, t: &DraftTable, columns: &[&str]) -> Result<Vec<ColStats>, InitError> {
    let legacy = &ctx.schema.tables[t.legacy_index];
    let key = t.map.key().legacy.first().cloned().unwrap_or_default();
    let order_by = if legacy.column(&key).is_some() {
        quote(&key)
    } else {
        key
    };
    let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    let sql = profile::sample_sql(&list.join(", "), &legacy.name, &order_by);
    let err = ctx.read_err(format!("the values of table {:?}", legacy.name));
    let mut stats: Vec<ColStats> = columns.iter().map(|_| ColStats::default()).collect();
    let mut stmt = ctx.conn.prepare(&sql).map_err(&err)?;
    let mut rows = stmt.query([]).map_err(&err)?;
    while let Some(r) = rows.next().map_err(&err)? {
        for (i, st) in stats.iter_mut().enumerate() {
            st.add(&Raw::from_ref(r.get_ref(i).map_err(&err)?));
        }
    }
    Ok(stats)
}

// ---------------------------------------------------------------------------
// What the values look like

/// A value as counted for distinctness.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Val {
    Int(i64),
    Real(u64),
    Text(String),
    /// Long text or a BLOB: counted, never offered as a choice.
    Hashed(u64),
}

fn hashed(tag: u8, bytes: &[u8]) -> Val {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    tag.hash(&mut h);
    bytes.hash(&mut h);
    Val::Hashed(h.finish())
}

fn text_val(s: &str) -> Val {
    if s.chars().count() <= CHOICE_MAX_CHARS {
        Val::Text(s.to_string())
    } else {
        hashed(0, s.as_bytes())
    }
}

/// Distinct values with their counts, up to a cap.
#[derive(Debug)]
struct Distinct {
    counts: HashMap<Val, u64>,
    cap: usize,
    /// More distinct values than `cap` were seen.
    overflow: bool,
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::new(JSON_DISTINCT_CAP)
    }
}

/// The choices a column is drafted with.
struct Choices {
    values: Vec<toml::Value>,
    weights: Vec<f64>,
    distinct: usize,
    covered: u64,
}

impl Distinct {
    fn new(cap: usize) -> Distinct {
        Distinct {
            counts: HashMap::new(),
            cap,
            overflow: false,
        }
    }

    fn add(&mut self, v: Val) {
        // Past the cap the column is "many": no choices, so no more counting.
        if self.overflow {
            return;
        }
        if let Some(n) = self.counts.get_mut(&v) {
            *n += 1;
        } else if self.counts.len() < self.cap {
            self.counts.insert(v, 1);
        } else {
            self.overflow = true;
        }
    }

    fn describe(&self) -> String {
        if self.overflow {
            format!("over {} distinct", thousands(self.cap as u64))
        } else {
            format!("{} distinct", thousands(self.counts.len() as u64))
        }
    }

    /// The values as `choices` when they are few (see [`FEW_DISTINCT`],
    /// [`DISTINCT_RATIO`]), most common first, weighted by their counts.
    fn choices(&self, values: u64) -> Option<Choices> {
        if self.overflow || values == 0 {
            return None;
        }
        let d = self.counts.len();
        let few = d <= FEW_DISTINCT && (d as u64) * 2 <= values;
        let rare = values >= RATIO_MIN_VALUES && (d as f64) < DISTINCT_RATIO * values as f64;
        if !(few || rare) {
            return None;
        }
        let mut by_count: Vec<(&Val, u64)> = self.counts.iter().map(|(v, n)| (v, *n)).collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        by_count.truncate(MAX_CHOICES);
        let covered: u64 = by_count.iter().map(|(_, n)| n).sum();
        if (covered as f64) < CHOICES_COVER * values as f64 {
            return None;
        }
        let mut out = Choices {
            values: Vec::new(),
            weights: Vec::new(),
            distinct: d,
            covered,
        };
        for (v, n) in by_count {
            out.values.push(match v {
                Val::Int(i) => toml::Value::Integer(*i),
                Val::Real(bits) => toml::Value::Float(f64::from_bits(*bits)),
                Val::Text(s) => toml::Value::String(s.clone()),
                Val::Hashed(_) => return None,
            });
            out.weights.push(n as f64);
        }
        Some(out)
    }
}

/// The smallest and largest of some values, and how many.
#[derive(Debug, Clone, Copy, Default)]
struct Span<T> {
    n: u64,
    lo: T,
    hi: T,
}

impl<T: PartialOrd + Copy> Span<T> {
    fn add(&mut self, v: T) {
        if self.n == 0 || v < self.lo {
            self.lo = v;
        }
        if self.n == 0 || v > self.hi {
            self.hi = v;
        }
        self.n += 1;
    }
}

/// The decimals of a REAL as written shortest, `None` past
/// [`MAX_DECIMALS`] (or for a value that is not finite).
pub fn decimals(f: f64) -> Option<u8> {
    if !f.is_finite() {
        return None;
    }
    let s = format!("{f}");
    let d = s.split_once('.').map_or(0, |(_, frac)| frac.len());
    u8::try_from(d).ok().filter(|d| *d <= MAX_DECIMALS)
}

/// Most decimals seen; `None` once a value has too many.
#[derive(Debug, Clone, Copy)]
struct Decimals(Option<u8>);

impl Default for Decimals {
    fn default() -> Self {
        Decimals(Some(0))
    }
}

impl Decimals {
    fn add(&mut self, f: f64) {
        self.0 = match (self.0, decimals(f)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
}

/// What text looks like, besides dates and numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Look {
    Email,
    Url,
    Uuid,
    Hex,
    Ipv4,
    Ipv6,
    Phone,
    /// Two or three capitalised words.
    Name,
    /// One capitalised word (a given name, a city: the column name says).
    Capitalised,
}

/// The look of one text value, if it has one.
pub fn look(s: &str) -> Option<Look> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let spaced = t.chars().any(char::is_whitespace);
    let hex = |b: &[u8]| b.iter().all(u8::is_ascii_hexdigit);
    let b = t.as_bytes();
    if let Some((local, domain)) = t.split_once('@') {
        return (!spaced
            && !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.'))
        .then_some(Look::Email);
    }
    if !spaced && (t.starts_with("http://") || t.starts_with("https://")) {
        return Some(Look::Url);
    }
    if b.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| [8, 13, 18, 23].contains(&i) || c.is_ascii_hexdigit())
    {
        return Some(Look::Uuid);
    }
    if b.len() == 64 && hex(b) {
        return Some(Look::Hex);
    }
    if t.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some(Look::Ipv4);
    }
    if t.contains(':') && t.parse::<std::net::Ipv6Addr>().is_ok() {
        return Some(Look::Ipv6);
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    if (7..=15).contains(&digits)
        && b.iter()
            .all(|c| c.is_ascii_digit() || b" +-().".contains(c))
        && (b[0].is_ascii_digit() || b[0] == b'+' || b[0] == b'(')
    {
        return Some(Look::Phone);
    }
    if looks_like_name(t) {
        return Some(if t.contains(' ') {
            Look::Name
        } else {
            Look::Capitalised
        });
    }
    None
}

/// One to three words, each a capital letter then lower-case letters
/// (`O'Neil`, `Jean-Luc` too).
fn looks_like_name(t: &str) -> bool {
    let words: Vec<&str> = t.split(' ').collect();
    (1..=3).contains(&words.len())
        && words.iter().all(|w| {
            let mut cs = w.chars();
            cs.next().is_some_and(char::is_uppercase)
                && w.chars().count() >= 2
                && cs.all(|c| c.is_lowercase() || c == '-' || c == '\'' || c == '.')
        })
}

/// The `fake` kind of a look, with what the evidence calls it. One
/// capitalised word is a kind only when the column's name says which.
fn fake_of(look: Look, column: &str) -> Option<(&'static str, &'static str)> {
    let name = column.to_ascii_lowercase();
    Some(match look {
        Look::Email => ("email", "e-mail addresses"),
        Look::Url => ("url", "web addresses"),
        Look::Uuid => ("uuid", "UUIDs"),
        Look::Hex => ("hex", "hex digests of 64 characters"),
        Look::Ipv4 => ("ipv4", "IPv4 addresses"),
        Look::Ipv6 => ("ipv6", "IPv6 addresses"),
        Look::Phone => ("phone", "phone numbers"),
        Look::Name => ("name", "names (two or three capitalised words)"),
        Look::Capitalised => {
            let hints: [(&str, &str, &str); 6] = [
                ("first", "first_name", "given names"),
                ("last", "last_name", "family names"),
                ("surname", "last_name", "family names"),
                ("city", "city", "city names"),
                ("country", "country", "country names"),
                ("company", "company", "company names"),
            ];
            let (_, kind, what) = hints.iter().find(|(h, _, _)| name.contains(h))?;
            (*kind, *what)
        }
    })
}

/// A `YYYY-MM-DD...` timestamp: its second and how it is written (the
/// engine's own parser decides, as the profile's shapes do).
fn iso_moment(t: &str) -> Option<(i64, DateFormat)> {
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let us = convert::parse_timestamp_text(t).ok().flatten()?;
    let format = if b.len() == 10 {
        DateFormat::Date
    } else if b[10] == b'T' {
        DateFormat::Iso
    } else {
        DateFormat::Datetime
    };
    Some((us.div_euclid(1_000_000), format))
}

/// A number written as text (`12`, `-4.25`), as the profile reads one.
fn number_text(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    (b.iter().any(u8::is_ascii_digit)
        && b.iter().all(|c| c.is_ascii_digit() || b".-+eE".contains(c)))
    .then(|| t.parse::<f64>().ok())
    .flatten()
    .filter(|f| f.is_finite())
}

/// Text values: lengths, dates, numbers, looks, sequences.
#[derive(Debug, Default)]
struct TextStats {
    n: u64,
    words: Span<u32>,
    words_sum: u64,
    chars_max: usize,
    multiline: u64,
    /// Values ending in `.`, `!` or `?`.
    sentences: u64,
    dates: Span<i64>,
    /// Dates written as `Date`, `Datetime`, `Iso`.
    formats: [u64; 3],
    ints: Span<i64>,
    numbers: Span<f64>,
    number_decimals: Decimals,
    looks: BTreeMap<Look, u64>,
    seq: Seq,
}

impl TextStats {
    fn add(&mut self, s: &str) {
        self.n += 1;
        let t = s.trim();
        let w = u32::try_from(t.split_whitespace().count()).unwrap_or(u32::MAX);
        self.words.add(w);
        self.words_sum += u64::from(w);
        self.chars_max = self.chars_max.max(s.chars().count());
        if t.contains('\n') {
            self.multiline += 1;
        }
        if t.ends_with(['.', '!', '?']) {
            self.sentences += 1;
        }
        if let Some((secs, format)) = iso_moment(t) {
            self.dates.add(secs);
            self.formats[match format {
                DateFormat::Date => 0,
                DateFormat::Iso => 2,
                _ => 1,
            }] += 1;
        }
        if let Ok(i) = t.parse::<i64>() {
            self.ints.add(i);
        }
        if let Some(f) = number_text(t) {
            self.numbers.add(f);
            self.number_decimals.add(f);
        }
        if let Some(l) = look(t) {
            *self.looks.entry(l).or_default() += 1;
        }
        self.seq.add(s);
    }

    fn most(&self, n: u64) -> bool {
        self.n > 0 && n as f64 >= MOST * self.n as f64
    }
}

/// Whether every value is one prefix followed by a number (`INV-17`), so
/// the column is a sequence.
#[derive(Debug, Default)]
struct Seq {
    prefix: Option<String>,
    broken: bool,
}

impl Seq {
    fn add(&mut self, s: &str) {
        if self.broken {
            return;
        }
        let digits = s.bytes().rev().take_while(u8::is_ascii_digit).count();
        let (p, d) = s.split_at(s.len() - digits);
        let padded = d.len() > 1 && d.starts_with('0');
        if d.is_empty() || padded || p.contains(['{', '}']) {
            self.broken = true;
            return;
        }
        match &self.prefix {
            None => self.prefix = Some(p.to_string()),
            Some(q) if q == p => {}
            Some(_) => self.broken = true,
        }
    }

    fn template(&self) -> Option<String> {
        match (&self.prefix, self.broken) {
            (Some(p), false) => Some(format!("{p}{{}}")),
            _ => None,
        }
    }
}

/// JSON values (a column's, a field's, a list's items).
#[derive(Debug, Default)]
struct JStats {
    n: u64,
    nulls: u64,
    trues: u64,
    falses: u64,
    ints: Span<i64>,
    floats: Span<f64>,
    float_decimals: Decimals,
    strings: TextStats,
    /// Scalars (strings and numbers), for choices.
    distinct: Distinct,
    arrays: u64,
    len: Span<u32>,
    items: Option<Box<JStats>>,
    objects: u64,
    /// Sorted key sets and how many objects have each.
    shapes: HashMap<Vec<String>, u64>,
    fields: BTreeMap<String, JStats>,
}

impl JStats {
    fn add(&mut self, v: &Json, depth: u8) {
        self.n += 1;
        match v {
            Json::Null => self.nulls += 1,
            Json::Bool(true) => self.trues += 1,
            Json::Bool(false) => self.falses += 1,
            Json::Number(x) => {
                if let Some(i) = x.as_i64() {
                    self.ints.add(i);
                    self.distinct.add(Val::Int(i));
                } else if let Some(f) = x.as_f64() {
                    self.floats.add(f);
                    self.float_decimals.add(f);
                    self.distinct.add(Val::Real(f.to_bits()));
                }
            }
            Json::String(s) => {
                self.strings.add(s);
                self.distinct.add(text_val(s));
            }
            Json::Array(a) => {
                self.arrays += 1;
                self.len.add(u32::try_from(a.len()).unwrap_or(u32::MAX));
                if depth < JSON_DEPTH {
                    let items = self.items.get_or_insert_with(Box::default);
                    for x in a {
                        items.add(x, depth + 1);
                    }
                }
            }
            Json::Object(o) => {
                self.objects += 1;
                let mut keys: Vec<String> = o.keys().cloned().collect();
                keys.sort();
                if self.shapes.len() < JSON_KEYS_CAP || self.shapes.contains_key(&keys) {
                    *self.shapes.entry(keys).or_default() += 1;
                }
                if depth < JSON_DEPTH {
                    for (k, x) in o {
                        if self.fields.len() < JSON_KEYS_CAP || self.fields.contains_key(k) {
                            self.fields.entry(k.clone()).or_default().add(x, depth + 1);
                        }
                    }
                }
            }
        }
    }

    /// The most common key set and how many objects have it.
    fn common_shape(&self) -> Option<(&Vec<String>, u64)> {
        self.shapes
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(k, n)| (k, *n))
    }
}

/// Comma lists: whether the values are lists of short items that repeat.
#[derive(Debug, Default)]
struct Csv {
    seen: u64,
    /// Values whose every item is short (one item counts).
    listy: u64,
    /// ... of which with a comma.
    commas: u64,
    len: Span<u32>,
    items: JStats,
}

impl Csv {
    fn add(&mut self, s: &str) {
        // Prose is told from lists within a few hundred values; past that,
        // splitting every value would only cost time.
        if self.seen >= 200 && (self.listy as f64) < MOST * self.seen as f64 {
            return;
        }
        self.seen += 1;
        if s.trim().is_empty() {
            // A list with no items.
            self.listy += 1;
            self.len.add(0);
            return;
        }
        let items: Vec<&str> = s.split(',').map(str::trim).collect();
        let short = |i: &&str| {
            !i.is_empty()
                && i.chars().count() <= 40
                && i.split_whitespace().count() <= 3
                && !i.ends_with(['.', '!', '?'])
        };
        if !items.iter().all(short) {
            return;
        }
        self.listy += 1;
        if items.len() > 1 {
            self.commas += 1;
        }
        self.len.add(u32::try_from(items.len()).unwrap_or(u32::MAX));
        for i in items {
            self.items.add(&Json::String(i.to_string()), 1);
        }
    }

    /// Lists when nearly all values are, a fair share have commas, and the
    /// items repeat (tags do; the clauses of prose do not).
    fn is_list(&self, texts: u64) -> bool {
        let items = self.items.n;
        texts > 0
            && self.seen == texts
            && self.listy as f64 >= MOST * texts as f64
            && self.commas as f64 >= 0.3 * texts as f64
            && !self.items.distinct.overflow
            && (self.items.distinct.counts.len() as u64) * 2 <= items
    }
}

/// One column's values.
#[derive(Debug)]
struct ColStats {
    scanned: u64,
    nulls: u64,
    shapes: BTreeMap<Shape, u64>,
    ints: Span<i64>,
    ones: u64,
    epoch_s: Span<i64>,
    epoch_ms: Span<i64>,
    reals: Span<f64>,
    real_decimals: Decimals,
    texts: TextStats,
    blobs: Span<usize>,
    distinct: Distinct,
    /// JSON texts, parsed.
    json: JStats,
    csv: Csv,
}

impl Default for ColStats {
    fn default() -> Self {
        ColStats {
            scanned: 0,
            nulls: 0,
            shapes: BTreeMap::new(),
            ints: Span::default(),
            ones: 0,
            epoch_s: Span::default(),
            epoch_ms: Span::default(),
            reals: Span::default(),
            real_decimals: Decimals::default(),
            texts: TextStats::default(),
            blobs: Span::default(),
            distinct: Distinct::new(DISTINCT_CAP),
            json: JStats::default(),
            csv: Csv::default(),
        }
    }
}

impl ColStats {
    fn add(&mut self, raw: &Raw) {
        self.scanned += 1;
        let shape = profile::shape(raw);
        *self.shapes.entry(shape).or_default() += 1;
        match raw {
            Raw::Null => self.nulls += 1,
            Raw::Int(i) => {
                self.ints.add(*i);
                self.ones += u64::from(*i == 1);
                match shape {
                    Shape::IntEpochS => self.epoch_s.add(*i),
                    Shape::IntEpochMs => self.epoch_ms.add(*i),
                    _ => {}
                }
                self.distinct.add(Val::Int(*i));
            }
            Raw::Real(f) => {
                self.reals.add(*f);
                self.real_decimals.add(*f);
                self.distinct.add(Val::Real(f.to_bits()));
            }
            Raw::Text(bytes) => {
                let s = String::from_utf8_lossy(bytes);
                self.texts.add(&s);
                if !self.distinct.overflow {
                    self.distinct.add(match std::str::from_utf8(bytes) {
                        Ok(s) => text_val(s),
                        Err(_) => hashed(1, bytes),
                    });
                }
                if matches!(shape, Shape::TextJsonObject | Shape::TextJsonArray) {
                    if let Ok(v) = convert::parse_json(s.trim()) {
                        self.json.add(&v, 0);
                    }
                }
                self.csv.add(&s);
            }
            Raw::Blob(b) => {
                self.blobs.add(b.len());
                self.distinct.add(hashed(2, b));
            }
        }
    }

    fn non_null(&self) -> u64 {
        self.scanned - self.nulls
    }

    fn shape(&self, s: Shape) -> u64 {
        self.shapes.get(&s).copied().unwrap_or(0)
    }
}

/// "1,204 rows" or "200,000 of 1,204,000 rows".
fn head(st: &ColStats, total: u64) -> String {
    if st.scanned < total {
        format!("{} of {} rows", thousands(st.scanned), thousands(total))
    } else {
        format!("{} {}", thousands(total), plural(total, "row", "rows"))
    }
}

// ---------------------------------------------------------------------------
// Kinds

/// A column's line and its evidence (NULL share, distinct values, what the
/// kind rests on). `unique` (a UNIQUE index) rules out the kinds that
/// repeat values.
fn column_spec(column: &str, st: &ColStats, unique: bool) -> (ColumnSpec, Vec<String>) {
    let mut ev = Vec::new();
    if st.nulls > 0 {
        ev.push(format!("{} NULL", pct(st.nulls, st.scanned)));
    }
    let nn = st.non_null();
    let (mut c, what) = if nn == 0 {
        (
            ColumnSpec {
                fake: Some("word".into()),
                ..ColumnSpec::default()
            },
            "no value but NULL".to_string(),
        )
    } else {
        ev.push(st.distinct.describe());
        value_kind(column, st, unique)
    };
    ev.push(what);
    c.null = share(st.nulls, st.scanned);
    if unique {
        if allows_unique(&c) {
            c.unique = true;
            ev.push("UNIQUE index".into());
        } else {
            // Not reached by value_kind; kept so a later kind cannot make
            // a draft the generator refuses.
            c = ColumnSpec {
                fake: Some("words".into()),
                words: Some([1, 3]),
                null: c.null,
                unique: true,
                ..ColumnSpec::default()
            };
            ev.push("UNIQUE index (drafted as words)".into());
        }
    }
    (c, ev)
}

/// The kinds the generator makes unique by construction.
fn allows_unique(c: &ColumnSpec) -> bool {
    c.fake.is_some()
        || c.int.is_some()
        || c.real.is_some()
        || c.date.is_some()
        || c.seq.is_some()
        || c.bytes.is_some()
}

/// The kind of a column with values, tried in this order: BLOBs; 0/1
/// flags; few distinct values (choices copy the mix exactly, so they win
/// over any shape); numbers (epochs as dates); then text: JSON, comma
/// lists, sequences, and [`text_kind`].
fn value_kind(column: &str, st: &ColStats, unique: bool) -> (ColumnSpec, String) {
    let nn = st.non_null();
    let (ints, reals, texts, blobs) = (st.ints.n, st.reals.n, st.texts.n, st.blobs.n);
    if blobs > 0 && blobs >= ints + reals && blobs >= texts {
        return (
            ColumnSpec {
                bytes: Some([clamp_u32(st.blobs.lo as u64), clamp_u32(st.blobs.hi as u64)]),
                ..ColumnSpec::default()
            },
            format!("BLOBs of {} to {} bytes", st.blobs.lo, st.blobs.hi),
        );
    }
    if !unique && ints == nn && st.ints.lo >= 0 && st.ints.hi <= 1 {
        return (
            ColumnSpec {
                bool: Some(share(st.ones, nn)),
                ..ColumnSpec::default()
            },
            format!("0/1, {} 1", pct(st.ones, nn)),
        );
    }
    if !unique {
        if let Some(ch) = st.distinct.choices(nn) {
            return choices_spec(ch, nn);
        }
    }
    if ints + reals >= texts {
        if reals == 0 {
            let most = |n: u64| n as f64 >= MOST * ints as f64;
            if most(st.epoch_ms.n) {
                if let Some(c) = date_spec(
                    st.epoch_ms.lo.div_euclid(1000),
                    st.epoch_ms.hi.div_euclid(1000),
                    DateFormat::EpochMs,
                ) {
                    return (c.0, format!("epoch milliseconds, {}", c.1));
                }
            }
            if most(st.epoch_s.n) {
                if let Some(c) = date_spec(st.epoch_s.lo, st.epoch_s.hi, DateFormat::Epoch) {
                    return (c.0, format!("epoch seconds, {}", c.1));
                }
            }
            return (
                ColumnSpec {
                    int: Some([st.ints.lo, st.ints.hi]),
                    ..ColumnSpec::default()
                },
                format!("integers {} to {}", st.ints.lo, st.ints.hi),
            );
        }
        let mut span = st.reals;
        if ints > 0 {
            span.add(st.ints.lo as f64);
            span.add(st.ints.hi as f64);
        }
        return real_spec(span, st.real_decimals, "REALs");
    }
    let t = &st.texts;
    let json = st.shape(Shape::TextJsonObject) + st.shape(Shape::TextJsonArray);
    if !unique && t.most(json) {
        let what = json_evidence(&st.json);
        return (json_kind(&st.json, column, 0), what);
    }
    if !unique && st.csv.is_list(texts) {
        let item = scalar_kind(&st.csv.items, column);
        let (lo, hi) = (st.csv.len.lo, st.csv.len.hi);
        return (
            ColumnSpec {
                list: Some(Box::new(item)),
                len: Some([lo, hi]),
                form: Some(ListForm::Csv),
                ..ColumnSpec::default()
            },
            format!(
                "comma lists of {lo} to {hi} items ({} distinct items)",
                st.csv.items.distinct.counts.len()
            ),
        );
    }
    let all_distinct = !st.distinct.overflow && st.distinct.counts.len() as u64 == nn;
    if texts == nn && (unique || all_distinct) && !t.most(t.dates.n) && !t.most(t.numbers.n) {
        if let Some(tpl) = t.seq.template() {
            return (
                ColumnSpec {
                    seq: Some(tpl.clone()),
                    ..ColumnSpec::default()
                },
                format!("a prefix and a number ({tpl}), all distinct"),
            );
        }
    }
    text_kind(t, column)
}

/// Choices from counted values.
fn choices_spec(ch: Choices, values: u64) -> (ColumnSpec, String) {
    let listed = ch.values.len();
    let what = if listed < ch.distinct {
        format!(
            "the {listed} most common of them ({} of the values) as choices",
            pct(ch.covered, values)
        )
    } else {
        "each value a choice, weighted by its count".into()
    };
    (
        ColumnSpec {
            choices: Some(ch.values),
            weights: Some(ch.weights),
            ..ColumnSpec::default()
        },
        what,
    )
}

/// A `date` of seconds `lo..hi` written as `format`, with the range as the
/// evidence says it; `None` when a bound is outside the years 1..9999.
fn date_spec(lo: i64, hi: i64, format: DateFormat) -> Option<(ColumnSpec, String)> {
    let fmt = |s: i64| -> Option<String> {
        let dt = chrono::DateTime::from_timestamp(s, 0)?.naive_utc();
        let text = if format == DateFormat::Date {
            dt.format("%Y-%m-%d").to_string()
        } else {
            dt.format("%Y-%m-%d %H:%M:%S").to_string()
        };
        parse_moment(&text).ok().map(|_| text)
    };
    let (a, b) = (fmt(lo)?, fmt(hi)?);
    let what = format!("{a} to {b}");
    Some((
        ColumnSpec {
            date: Some([a, b]),
            format: (format != DateFormat::Datetime).then_some(format),
            ..ColumnSpec::default()
        },
        what,
    ))
}

fn real_spec(span: Span<f64>, dec: Decimals, what: &str) -> (ColumnSpec, String) {
    let mut ev = format!("{what} {} to {}", span.lo, span.hi);
    if let Some(d) = dec.0 {
        let _ = write!(
            ev,
            ", at most {d} {}",
            plural(u64::from(d), "decimal", "decimals")
        );
    }
    (
        ColumnSpec {
            real: Some([span.lo, span.hi]),
            decimals: dec.0,
            ..ColumnSpec::default()
        },
        ev,
    )
}

/// Text that is no JSON, list or sequence: dates, numbers, a look (e-mail,
/// UUID, ...), else lorem words, sentences or paragraphs as long as the
/// values are.
fn text_kind(t: &TextStats, column: &str) -> (ColumnSpec, String) {
    if t.most(t.dates.n) {
        let (i, _) = t
            .formats
            .iter()
            .enumerate()
            .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
            .unwrap_or((1, &0));
        let (format, name) = match i {
            0 => (DateFormat::Date, "dates (YYYY-MM-DD)"),
            2 => (DateFormat::Iso, "ISO timestamps (YYYY-MM-DDTHH:MM:SSZ)"),
            _ => (DateFormat::Datetime, "timestamps (YYYY-MM-DD HH:MM:SS)"),
        };
        if let Some((c, range)) = date_spec(t.dates.lo, t.dates.hi, format) {
            return (c, format!("{name} {range}"));
        }
    }
    if t.most(t.ints.n) {
        return (
            ColumnSpec {
                int: Some([t.ints.lo, t.ints.hi]),
                ..ColumnSpec::default()
            },
            format!("integers as text, {} to {}", t.ints.lo, t.ints.hi),
        );
    }
    if t.most(t.numbers.n) {
        return real_spec(t.numbers, t.number_decimals, "numbers as text,");
    }
    if let Some((look, n)) = t
        .looks
        .iter()
        .max_by_key(|(l, n)| (**n, std::cmp::Reverse(**l)))
    {
        if t.most(*n) {
            if let Some((kind, what)) = fake_of(*look, column) {
                return (
                    ColumnSpec {
                        fake: Some(kind.into()),
                        ..ColumnSpec::default()
                    },
                    what.to_string(),
                );
            }
        }
    }
    prose(t)
}

/// Lorem text as long as the values: `paragraph` (in sentences) for long
/// or multi-line text, `sentence` for text that reads as sentences or runs
/// past eight words, else `words`.
fn prose(t: &TextStats) -> (ColumnSpec, String) {
    let mean = if t.n == 0 {
        0.0
    } else {
        t.words_sum as f64 / t.n as f64
    };
    let (lo, hi) = fair_range(u64::from(t.words.lo), u64::from(t.words.hi), mean);
    let (lo, hi) = (clamp_u32(lo).max(1), clamp_u32(hi).max(1));
    let words = if t.words.lo == t.words.hi {
        format!(
            "{} {}",
            t.words.lo,
            plural(u64::from(t.words.lo), "word", "words")
        )
    } else {
        format!("{} to {} words (mean {mean:.1})", t.words.lo, t.words.hi)
    };
    let seen = format!(
        "text of {words}, up to {} {}",
        t.chars_max,
        plural(t.chars_max as u64, "character", "characters")
    );
    let (kind, words, how) = if t.multiline * 5 >= t.n.max(1) || t.chars_max > 300 {
        let s = |w: u32| ((f64::from(w) / WORDS_PER_SENTENCE).round() as u32).max(1);
        (
            "paragraph",
            [s(lo), s(hi).max(s(lo))],
            "paragraphs (words = sentences)",
        )
    } else if t.sentences * 2 >= t.n.max(1) || hi > 8 {
        ("sentence", [lo, hi], "sentences")
    } else {
        ("words", [lo, hi], "words")
    };
    (
        ColumnSpec {
            fake: Some(kind.into()),
            words: Some(words),
            ..ColumnSpec::default()
        },
        format!("{seen}: lorem {how}"),
    )
}

/// "JSON objects; 92 % with the keys {a, b}" or "JSON arrays of 1 to 4 items".
fn json_evidence(js: &JStats) -> String {
    if js.objects >= js.arrays {
        match js.common_shape() {
            Some((keys, n)) => format!(
                "JSON objects; {} of them with the keys {{{}}}",
                pct(n, js.objects),
                keys.iter()
                    .map(|k| one_line(k))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "JSON objects".into(),
        }
    } else {
        format!("JSON arrays of {} to {} items", js.len.lo, js.len.hi)
    }
}

/// The kind of JSON values: a flag, choices, numbers, text, a list (of
/// scalars) or an object of the most common key set, each key drawn from
/// the values seen under it.
fn json_kind(js: &JStats, name: &str, depth: u8) -> ColumnSpec {
    let nums = js.ints.n + js.floats.n;
    let bools = js.trues + js.falses;
    let classes = [bools, nums, js.strings.n, js.arrays, js.objects];
    let Some((best, n)) = classes
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
    else {
        return word();
    };
    if *n == 0 {
        return word();
    }
    match best {
        0 => ColumnSpec {
            bool: Some(share(js.trues, bools)),
            ..ColumnSpec::default()
        },
        1 | 2 => {
            if let Some(ch) = js.distinct.choices(nums + js.strings.n) {
                return choices_spec(ch, nums + js.strings.n).0;
            }
            if best == 2 {
                return text_kind(&js.strings, name).0;
            }
            if js.floats.n == 0 {
                return ColumnSpec {
                    int: Some([js.ints.lo, js.ints.hi]),
                    ..ColumnSpec::default()
                };
            }
            let mut span = js.floats;
            if js.ints.n > 0 {
                span.add(js.ints.lo as f64);
                span.add(js.ints.hi as f64);
            }
            real_spec(span, js.float_decimals, "").0
        }
        3 => ColumnSpec {
            list: Some(Box::new(
                js.items
                    .as_deref()
                    .map_or_else(word, |items| scalar_kind(items, name)),
            )),
            len: Some([js.len.lo, js.len.hi]),
            ..ColumnSpec::default()
        },
        _ => {
            let mut fields = BTreeMap::new();
            if depth < JSON_DEPTH {
                if let Some((keys, _)) = js.common_shape() {
                    for k in keys {
                        let spec = match js.fields.get(k) {
                            Some(f) => {
                                let mut s = json_kind(f, k, depth + 1);
                                s.null =
                                    share(js.objects - (f.n - f.nulls).min(js.objects), js.objects);
                                s
                            }
                            None => word(),
                        };
                        fields.insert(k.clone(), spec);
                    }
                }
            }
            ColumnSpec {
                json: Some(fields),
                ..ColumnSpec::default()
            }
        }
    }
}

/// A list item: a scalar kind (lists and objects cannot nest in a list).
fn scalar_kind(items: &JStats, name: &str) -> ColumnSpec {
    let mut k = json_kind(items, name, JSON_DEPTH);
    if k.list.is_some() || k.json.is_some() {
        k = word();
    }
    k.null = 0.0;
    k
}

fn word() -> ColumnSpec {
    ColumnSpec {
        fake: Some("word".into()),
        ..ColumnSpec::default()
    }
}

// ---------------------------------------------------------------------------
// Numbers and text

/// `part / whole` to three decimals, never rounded to 0 or 1 when it is
/// neither.
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 || part == 0 {
        return 0.0;
    }
    let s = ((part as f64 / whole as f64) * 1000.0).round() / 1000.0;
    if part < whole {
        s.clamp(0.001, 0.999)
    } else {
        1.0
    }
}

/// Rows per tenant to hundredths (a table with rows keeps at least 0.01).
fn round_rows(x: f64) -> f64 {
    let r = (x * 100.0).round() / 100.0;
    if x > 0.0 && r == 0.0 {
        0.01
    } else {
        r
    }
}

fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// 1204 as "1,204".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Text safe on one comment line (names may hold newlines).
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` on one line, broken at spaces into lines of about `width`.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for w in one_line(text).split(' ') {
        if !line.is_empty() && line.len() + 1 + w.len() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    out.push_str(&line);
    out
}

// ---------------------------------------------------------------------------
// TOML

/// The order fields are written in a column's inline table: the kind,
/// its options, then `null` and `unique`.
const FIELD_ORDER: &[&str] = &[
    "fake",
    "words",
    "choices",
    "weights",
    "int",
    "real",
    "decimals",
    "bool",
    "date",
    "format",
    "after",
    "within_days",
    "ref",
    "list",
    "len",
    "form",
    "json",
    "value",
    "bytes",
    "seq",
    "null",
    "unique",
    "hard",
];

/// A key, bare when TOML allows it, else quoted.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_string()
    } else {
        toml_string(k)
    }
}

/// A TOML basic string on one line (a key or a value inside an inline
/// table, where a multi-line string would not do).
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render_table(t: &TableOut) -> Result<String, InitError> {
    let mut out = String::new();
    for n in &t.notes {
        out.push_str(&comment(&wrap(n, 76), "# "));
    }
    let _ = writeln!(out, "[[table]]\nname = {}", toml_string(&t.spec.name));
    let is_root_default = t.spec.rows == Rows::Mean(1.0) && t.spec.per.is_none() && !t.spec.fixed;
    if !is_root_default {
        let _ = writeln!(out, "rows = {}", rows_value(&t.spec.rows));
    }
    if let Some(p) = &t.spec.per {
        let _ = writeln!(out, "per = {}", toml_string(p));
    }
    if t.spec.fixed {
        out.push_str("fixed = true\n");
    }
    if !t.columns.is_empty() {
        out.push_str("[table.columns]\n");
    }
    for (name, evidence) in &t.columns {
        let Some(c) = t.spec.columns.get(name) else {
            continue;
        };
        let v = toml::Value::try_from(c).map_err(|e| {
            InitError::Internal(format!("cannot write data.toml column {name:?}: {e}"))
        })?;
        let _ = writeln!(
            out,
            "# {}\n{} = {}",
            one_line(evidence),
            toml_key(name),
            inline(&v, true, None)
        );
    }
    Ok(out)
}

fn rows_value(r: &Rows) -> String {
    match r {
        Rows::Mean(m) if m.fract() == 0.0 && m.abs() < 9e15 => format!("{}", *m as i64),
        Rows::Mean(m) => toml::Value::Float(*m).to_string(),
        Rows::Range { min, max } => format!("{{ min = {min}, max = {max} }}"),
    }
}

/// A value as an inline TOML table or array: a column spec's fields in
/// [`FIELD_ORDER`], weights (counts) as integers.
fn inline(v: &toml::Value, spec: bool, key: Option<&str>) -> String {
    match v {
        toml::Value::Table(t) if t.is_empty() => "{}".into(),
        toml::Value::Table(t) => {
            let mut keys: Vec<&String> = t.keys().collect();
            if spec {
                keys.sort_by_key(|k| {
                    (
                        FIELD_ORDER
                            .iter()
                            .position(|o| o == k)
                            .unwrap_or(FIELD_ORDER.len()),
                        k.as_str(),
                    )
                });
            }
            let parts: Vec<String> = keys
                .iter()
                .map(|k| {
                    let child = &t[k.as_str()];
                    let text = match (spec, k.as_str()) {
                        (true, "list") => inline(child, true, None),
                        (true, "json") => match child {
                            toml::Value::Table(fields) if !fields.is_empty() => format!(
                                "{{ {} }}",
                                fields
                                    .iter()
                                    .map(|(f, s)| format!(
                                        "{} = {}",
                                        toml_key(f),
                                        inline(s, true, None)
                                    ))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            other => inline(other, false, None),
                        },
                        _ => inline(child, false, Some(k)),
                    };
                    format!("{} = {text}", toml_key(k))
                })
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        toml::Value::Array(a) => format!(
            "[{}]",
            a.iter()
                .map(|x| inline(x, false, key))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        toml::Value::Float(f) if key == Some("weights") && f.fract() == 0.0 && f.abs() < 9e15 => {
            format!("{}", *f as i64)
        }
        toml::Value::String(s) => toml_string(s),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_skew_finds_the_exponent_it_was_made_with() {
        for s in [0.0, 0.7, 1.1, 2.0] {
            let sizes: Vec<u64> = (1..=40)
                .map(|r| (10_000.0 * f64::from(r).powf(-s)).round() as u64)
                .collect();
            let got = zipf_skew(&sizes).unwrap();
            assert!((got - s).abs() < 0.02, "{s}: {got}");
        }
        assert_eq!(zipf_skew(&[5]), None);
        // Steeper than the generator allows is clamped.
        let steep: Vec<u64> = (1..=10).map(|r| 1u64 << (40 - 4 * r)).collect();
        assert_eq!(zipf_skew(&steep), Some(3.0));
    }

    #[test]
    fn fair_ranges_keep_the_mean() {
        assert_eq!(fair_range(2, 12, 7.0), (2, 12));
        assert_eq!(fair_range(0, 100, 3.2), (0, 6));
        assert_eq!(fair_range(0, 4, 3.5), (3, 4));
        assert_eq!(fair_range(0, 0, 0.0), (0, 0));
    }

    #[test]
    fn looks_and_decimals() {
        assert_eq!(look("ann.lee@example.com"), Some(Look::Email));
        assert_eq!(look("a@b"), None);
        assert_eq!(look("https://x.org/a"), Some(Look::Url));
        assert_eq!(
            look("123e4567-e89b-12d3-a456-426614174000"),
            Some(Look::Uuid)
        );
        assert_eq!(look(&"ab".repeat(32)), Some(Look::Hex));
        assert_eq!(look("10.0.0.1"), Some(Look::Ipv4));
        assert_eq!(look("::1"), Some(Look::Ipv6));
        assert_eq!(look("+1 (555) 010-2030"), Some(Look::Phone));
        assert_eq!(look("Ann Lee"), Some(Look::Name));
        assert_eq!(look("Paris"), Some(Look::Capitalised));
        assert_eq!(look("the cat sat"), None);
        assert_eq!(look("12"), None);
        assert_eq!(decimals(2.5), Some(1));
        assert_eq!(decimals(19.99), Some(2));
        assert_eq!(decimals(3.0), Some(0));
        assert_eq!(decimals(0.1 + 0.2), None);
        assert_eq!(thousands(1_204), "1,204");
        assert_eq!(thousands(12), "12");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn inline_tables_put_the_kind_first_and_quote_odd_keys() {
        let c = ColumnSpec {
            choices: Some(vec!["a".into(), toml::Value::Integer(2)]),
            weights: Some(vec![6.0, 3.0]),
            null: 0.2,
            ..ColumnSpec::default()
        };
        let v = toml::Value::try_from(&c).unwrap();
        assert_eq!(
            inline(&v, true, None),
            "{ choices = [\"a\", 2], weights = [6, 3], null = 0.2 }"
        );
        let mut fields = BTreeMap::new();
        fields.insert("a b".to_string(), word());
        let j = ColumnSpec {
            json: Some(fields),
            ..ColumnSpec::default()
        };
        let text = format!(
            "x = {}",
            inline(&toml::Value::try_from(&j).unwrap(), true, None)
        );
        assert_eq!(text, "x = { json = { \"a b\" = { fake = \"word\" } } }");
        let back: BTreeMap<String, ColumnSpec> = toml::from_str(&text).unwrap();
        assert_eq!(back["x"], j);
        assert_eq!(toml_key("select"), "select");
        assert_eq!(toml_key("group by"), "\"group by\"");
    }

    #[test]
    fn sequences_are_one_prefix_and_unpadded_numbers() {
        let mut s = Seq::default();
        for v in ["INV-1", "INV-22", "INV-303"] {
            s.add(v);
        }
        assert_eq!(s.template().as_deref(), Some("INV-{}"));
        let mut s = Seq::default();
        s.add("INV-001");
        assert_eq!(s.template(), None);
        let mut s = Seq::default();
        s.add("A1");
        s.add("B2");
        assert_eq!(s.template(), None);
    }
}
