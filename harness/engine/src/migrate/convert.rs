//! The conversion rules: one legacy SQLite value -> one PostgreSQL value,
//! driven by the app's `mapping.toml` (a [`Rule`] per column).
//!
//! A converted value is a [`Val`]. The same `Val` is produced from the
//! SQLite side (here) and from the PostgreSQL side ([`super::verify`] reads
//! typed columns back into `Val`s), and [`canonical`] turns a row of `Val`s
//! into the bytes that are hashed; that is what makes the digests of the two
//! sides comparable. Every rule either produces a value or a [`Reject`] with
//! a reason: nothing becomes NULL or disappears without a rule that says so
//! (a column's `on_bad = "null"` is such a rule, and its cells are recorded).
//!
//! The rules (docs/migrate.md states them for users):
//! - `boolean`: INTEGER 0/1, REAL 0.0/1.0, text `true/false/t/f/yes/no/y/n/1/0`
//!   (any case); anything else is rejected;
//! - `integer` / `bigint`: INTEGER, integral REAL, or text holding a decimal
//!   integer, within i32 / i64; a wider value is rejected (never truncated);
//! - `numeric(p,s)`: the shortest decimal form of the REAL (what SQLite
//!   prints, e.g. `2.675`), rounded to `s` places half away from zero
//!   (PostgreSQL's own rule for numeric); NaN, infinities and values beyond
//!   `p` digits are rejected;
//! - `float`: INTEGER or REAL (or numeric text) as `double precision`, bit
//!   for bit; NaN is rejected (SQLite cannot store it anyway);
//! - `timestamptz`: ISO text with ` ` or `T`, optional seconds, fraction
//!   (beyond microseconds: rounded half away from zero) and zone (`Z`,
//!   `+HH`, `+HH:MM`, `+HHMM`, ` UTC`; none means UTC, as SQLite's
//!   CURRENT_TIMESTAMP writes); INTEGER epochs (|v| < 1e11 seconds, < 1e14
//!   milliseconds, else microseconds); REAL Julian days in
//!   [1721425.5, 5373484.5] (years 1..9999), other REALs as epoch seconds;
//!   `0`, `0.0` and `''` mean "unknown" and become NULL, counted per table
//!   (rejected in a NOT NULL column, or with `unknown_is_bad`); years
//!   outside 1..9999 are rejected;
//! - `date`: `YYYY-MM-DD`, or any timestamp form that falls on midnight UTC;
//! - `jsonb`: parsed; invalid text, `\u0000` anywhere (jsonb cannot hold it)
//!   and numbers beyond double precision are rejected; compared as parsed
//!   values (key order, whitespace and duplicate keys do not count, the last
//!   duplicate wins as in jsonb);
//! - `text_array`: a JSON array (`[...]`) or comma-separated text, items
//!   trimmed; `''` is the empty list, NULL stays NULL;
//! - `text`: NUL bytes and invalid UTF-8 are rejected with the byte offset;
//!   `''` and NULL stay distinct; longer than `varchar(n)` is rejected;
//!   numbers become their SQLite text form;
//! - `bytea`: a BLOB's bytes (text: its bytes);
//! - `point`: two REALs -> `point(longitude, latitude)`; one NULL of the
//!   two is rejected;
//! - `inet`: parsed and written in PostgreSQL's output form;
//! - `key` / `ref` / `record_ref`: legacy INTEGER keys, kept as `bigint` or
//!   made into reversible UUIDs ([`super::keys`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::Value as Json;
use uuid::Uuid;

use super::keys;
use crate::app::{App, ColumnMap, ListForm, OnBad, Rule, TableMap, TenantLink};

/// A value as SQLite stored it (its storage class), with text kept as bytes
/// because legacy files hold invalid UTF-8.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Null,
    Int(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

impl Raw {
    pub fn from_ref(v: rusqlite::types::ValueRef<'_>) -> Raw {
        use rusqlite::types::ValueRef;
        match v {
            ValueRef::Null => Raw::Null,
            ValueRef::Integer(i) => Raw::Int(i),
            ValueRef::Real(f) => Raw::Real(f),
            ValueRef::Text(t) => Raw::Text(t.to_vec()),
            ValueRef::Blob(b) => Raw::Blob(b.to_vec()),
        }
    }

    /// The value as the reject file shows it: numbers as numbers, valid
    /// UTF-8 text as a string, anything else as `{"hex": ...}`.
    pub fn to_json(&self) -> Json {
        match self {
            Raw::Null => Json::Null,
            Raw::Int(i) => Json::from(*i),
            Raw::Real(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or_else(|| Json::String(format!("{f}"))),
            Raw::Text(t) => match std::str::from_utf8(t) {
                Ok(s) if !s.contains('\0') => Json::String(s.to_string()),
                _ => serde_json::json!({ "hex": hex::encode(t) }),
            },
            Raw::Blob(b) => serde_json::json!({ "blob_hex": hex::encode(b) }),
        }
    }

    pub fn storage_class(&self) -> &'static str {
        match self {
            Raw::Null => "null",
            Raw::Int(_) => "integer",
            Raw::Real(_) => "real",
            Raw::Text(_) => "text",
            Raw::Blob(_) => "blob",
        }
    }
}

/// A target value, the same whichever side it was read from.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Uuid(Uuid),
    Text(String),
    Int(i64),
    /// `units / 10^scale`.
    Numeric {
        units: i128,
        scale: u8,
    },
    Bool(bool),
    /// Microseconds since 1970-01-01 00:00:00 UTC.
    Ts(i64),
    /// Days since 1970-01-01.
    Date(i32),
    /// JSON in canonical text ([`canonical_json`]): sorted keys, one
    /// spelling per number; what COPY sends and what the digest hashes.
    Json(String),
    List(Vec<Option<String>>),
    /// (x = longitude, y = latitude).
    Point(f64, f64),
    Inet(String),
    Float(f64),
    Bytes(Vec<u8>),
}

/// Why one value of one row cannot move.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub column: String,
    pub value: Json,
    pub reason: String,
}

/// A converted row: its legacy key, its tenant (the legacy tenant id;
/// `None` for a table without one) and its values in target column order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub legacy_id: i64,
    pub tenant: Option<i64>,
    pub vals: Vec<Val>,
    /// How many "unknown" timestamps (0, '') became NULL in this row.
    pub unknown_to_null: u32,
    /// Cells no rule accepted, kept as NULL by the column's `on_bad = "null"`.
    pub nulled: Vec<Reject>,
}

/// How one target column is made, resolved against the whole mapping.
#[derive(Debug, Clone)]
enum Step {
    Key(Option<u8>),
    /// A reference to `parent` (index into the mapping), encoded with its tag.
    Ref {
        parent: String,
        tag: Option<u8>,
    },
    RecordRef,
    Point,
    Value,
}

/// Per-table conversion plan: the table's column map resolved against the
/// whole app (reference encodings, the tenant link, SELECT positions).
/// Owned and `Send`: each pipeline thread holds its own.
#[derive(Debug, Clone)]
pub struct Plan {
    pub def: TableMap,
    /// Index of the table in the mapping (load order).
    pub index: usize,
    steps: Vec<Step>,
    /// For each target column, the positions of its legacy columns.
    pub positions: Vec<Vec<usize>>,
    /// Index (in `def.columns`) of the key column.
    pub key_col: usize,
    pub tenant: TenantLink,
    /// The root table's uuid tag: how a tenant id is written in the target.
    pub tenant_tag: Option<u8>,
    /// Position of the legacy column naming the table for `record_ref`.
    table_name_pos: Option<usize>,
    /// Target table name -> uuid tag, for `record_ref`.
    tags: HashMap<String, Option<u8>>,
    /// Parent tables (by mapping index) of each `ref` column: (column index, parent).
    pub refs: Vec<(usize, usize)>,
}

impl Plan {
    /// The plan of mapping table number `index` of `app`.
    pub fn new(app: &App, index: usize) -> Plan {
        let def = app.mapping.tables[index].clone();
        let mut positions = Vec::new();
        let mut next = 0;
        for c in &def.columns {
            positions.push((next..next + c.legacy.len()).collect());
            next += c.legacy.len();
        }
        let tags: HashMap<String, Option<u8>> = app
            .mapping
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.uuid_tag()))
            .collect();
        let mut refs = Vec::new();
        let steps: Vec<Step> = def
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| match &c.rule {
                Rule::Key { uuid_tag } => Step::Key(*uuid_tag),
                Rule::Ref { table } => {
                    let parent = app.mapping.position(table).expect("validated reference");
                    refs.push((i, parent));
                    Step::Ref {
                        parent: table.clone(),
                        tag: tags[table],
                    }
                }
                Rule::RecordRef { .. } => Step::RecordRef,
                Rule::Point => Step::Point,
                _ => Step::Value,
            })
            .collect();
        let table_name_pos = def.columns.iter().find_map(|c| match &c.rule {
            Rule::RecordRef { table_column } => {
                def.legacy_columns().position(|l| l == table_column)
            }
            _ => None,
        });
        let key_col = def
            .columns
            .iter()
            .position(|c| matches!(c.rule, Rule::Key { .. }))
            .expect("validated: one key per table");
        Plan {
            tenant: app.tenant_link(&def),
            tenant_tag: app.tenant_uuid_tag(),
            def,
            index,
            steps,
            positions,
            key_col,
            table_name_pos,
            tags,
            refs,
        }
    }

    /// Every table's plan, in load order.
    pub fn all(app: &App) -> Vec<Plan> {
        (0..app.mapping.tables.len())
            .map(|i| Plan::new(app, i))
            .collect()
    }

    pub fn name(&self) -> &str {
        &self.def.name
    }

    pub fn legacy_width(&self) -> usize {
        self.def.legacy_columns().count()
    }

    /// The key column's uuid tag (None: integer keys kept).
    pub fn key_tag(&self) -> Option<u8> {
        match self.steps[self.key_col] {
            Step::Key(t) => t,
            _ => None,
        }
    }

    /// A legacy key of this table as the target stores it.
    pub fn key_val(&self, id: i64) -> Val {
        key_val(self.key_tag(), id)
    }

    /// A legacy tenant id as the target stores it.
    pub fn tenant_val(&self, tenant: i64) -> Val {
        key_val(self.tenant_tag, tenant)
    }

    /// The legacy key behind a target key value of this table.
    pub fn key_of(&self, v: &Val) -> Option<i64> {
        legacy_key(self.key_tag(), v)
    }

    /// The legacy tenant behind a target tenant value.
    pub fn tenant_of(&self, v: &Val) -> Option<i64> {
        legacy_key(self.tenant_tag, v)
    }

    /// The legacy key behind the value of `ref` column `col` (its parent's tag).
    pub fn ref_of(&self, col: usize, v: &Val) -> Option<i64> {
        match &self.steps[col] {
            Step::Ref { tag, .. } => legacy_key(*tag, v),
            _ => None,
        }
    }

    /// The uuid tag of the table `ref` column `col` points at.
    pub fn ref_tag(&self, col: usize) -> Option<u8> {
        match &self.steps[col] {
            Step::Ref { tag, .. } => *tag,
            _ => None,
        }
    }

    /// For a `record_ref`: Some(true) when every table has UUID keys,
    /// Some(false) when none has, None when they are mixed.
    pub fn record_ref_tags(&self) -> Option<bool> {
        let uuid = self.tags.values().filter(|t| t.is_some()).count();
        match uuid {
            0 => Some(false),
            n if n == self.tags.len() => Some(true),
            _ => None,
        }
    }

    /// The mapping index of the table `ref` column `col` points at.
    pub fn parent_index(&self, col: usize) -> Option<usize> {
        self.refs.iter().find(|(c, _)| *c == col).map(|(_, p)| *p)
    }

    /// The table `ref` column `col` points at.
    pub fn parent_name(&self, col: usize) -> &str {
        match &self.steps[col] {
            Step::Ref { parent, .. } => parent,
            _ => "",
        }
    }

    /// Convert one legacy row (values in `legacy_columns()` order).
    pub fn convert(&self, raws: &[Raw]) -> Result<Row, (Option<i64>, Reject)> {
        let key_pos = self.positions[self.key_col][0];
        let key_name = &self.def.columns[self.key_col].target;
        let legacy_id = match int_of(&raws[key_pos]) {
            Some(k) => k,
            None => {
                return Err((
                    None,
                    reject(key_name, &raws[key_pos], "the legacy key is not an integer"),
                ))
            }
        };
        let key = Some(legacy_id);
        let tenant = match self.tenant {
            TenantLink::Root => Some(legacy_id),
            TenantLink::None => None,
            TenantLink::Column(i) => {
                let raw = &raws[self.positions[i][0]];
                match raw {
                    Raw::Null => None,
                    _ => match int_of(raw) {
                        Some(t) => Some(t),
                        None => {
                            return Err((
                                key,
                                reject(
                                    &self.def.columns[i].target,
                                    raw,
                                    "the tenant is not an integer id",
                                ),
                            ))
                        }
                    },
                }
            }
        };
        let mut vals = Vec::with_capacity(self.def.columns.len());
        let mut unknown = 0u32;
        let mut nulled = Vec::new();
        for (ci, ((c, pos), step)) in self
            .def
            .columns
            .iter()
            .zip(&self.positions)
            .zip(&self.steps)
            .enumerate()
        {
            let raw = &raws[pos[0]];
            let v = match step {
                Step::Key(tag) => Ok(Conv::Val(key_val(*tag, legacy_id))),
                Step::Point => point(c, raw, &raws[pos[1]]),
                Step::RecordRef => {
                    let tn = self.table_name_pos.map(|p| &raws[p]);
                    self.record_ref(c, tn, raw)
                }
                Step::Ref { tag, .. } => match raw {
                    Raw::Null => null_or_reject(c, raw),
                    _ => id_value(&c.target, raw).map(|id| Conv::Val(key_val(*tag, id))),
                },
                Step::Value => value(c, raw),
            };
            let v = match v {
                Ok(v) => v,
                Err(r) => {
                    // The key and the tenant never become NULL.
                    let keyish =
                        matches!(step, Step::Key(_)) || self.tenant == TenantLink::Column(ci);
                    if c.on_bad == OnBad::Null && c.nullable && !keyish {
                        nulled.push(r);
                        vals.push(Val::Null);
                        continue;
                    }
                    return Err((key, r));
                }
            };
            let v = match v {
                Conv::Val(v) => v,
                Conv::Unknown => {
                    if !c.nullable {
                        return Err((
                            key,
                            reject(
                                &c.target,
                                raw,
                                "an 'unknown' timestamp (0 or '') in a NOT NULL column",
                            ),
                        ));
                    }
                    unknown += 1;
                    Val::Null
                }
            };
            vals.push(v);
        }
        Ok(Row {
            legacy_id,
            tenant,
            vals,
            unknown_to_null: unknown,
            nulled,
        })
    }

    fn record_ref(
        &self,
        c: &ColumnMap,
        table_name: Option<&Raw>,
        raw: &Raw,
    ) -> Result<Conv, Reject> {
        if matches!(raw, Raw::Null) {
            return null_or_reject(c, raw);
        }
        let name = match table_name {
            Some(Raw::Text(t)) => std::str::from_utf8(t).ok(),
            _ => None,
        };
        let Some(tag) = name.and_then(|n| self.tags.get(n)) else {
            return Err(reject(
                &c.target,
                raw,
                "the row's table-name column names no table of the app, so the reference cannot be converted",
            ));
        };
        Ok(Conv::Val(key_val(*tag, id_value(&c.target, raw)?)))
    }
}

/// A legacy key as the target stores it: a UUID with `tag`, or the integer.
pub fn key_val(tag: Option<u8>, id: i64) -> Val {
    match tag {
        Some(t) => Val::Uuid(keys::encode(t, id)),
        None => Val::Int(id),
    }
}

/// The legacy key behind a target key value (None: not made by a migration).
pub fn legacy_key(tag: Option<u8>, v: &Val) -> Option<i64> {
    match (tag, v) {
        (Some(t), Val::Uuid(u)) => keys::decode(t, *u),
        (None, Val::Int(i)) => Some(*i),
        _ => None,
    }
}

enum Conv {
    Val(Val),
    /// A timestamp that means "unknown" (0, 0.0, ''): NULL, counted.
    Unknown,
}

fn reject(column: &str, raw: &Raw, reason: impl Into<String>) -> Reject {
    Reject {
        column: column.to_string(),
        value: raw.to_json(),
        reason: reason.into(),
    }
}

fn null_or_reject(c: &ColumnMap, raw: &Raw) -> Result<Conv, Reject> {
    if c.nullable {
        Ok(Conv::Val(Val::Null))
    } else {
        Err(reject(&c.target, raw, "NULL in a NOT NULL column"))
    }
}

fn int_of(raw: &Raw) -> Option<i64> {
    match raw {
        Raw::Int(i) => Some(*i),
        Raw::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
        Raw::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// Check text bytes: no NUL (PostgreSQL text cannot hold it), valid UTF-8.
pub fn text_of(column: &str, raw: &Raw, bytes: &[u8]) -> Result<String, Reject> {
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        return Err(reject(
            column,
            raw,
            format!("NUL byte at offset {at}: PostgreSQL text cannot store NUL"),
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => Err(reject(
            column,
            raw,
            format!(
                "invalid UTF-8 at byte {}: PostgreSQL text must be valid UTF-8",
                e.valid_up_to()
            ),
        )),
    }
}

fn integer(col: &str, raw: &Raw) -> Result<i64, Reject> {
    match raw {
        Raw::Int(i) => Ok(*i),
        Raw::Real(f) if f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15 => Ok(*f as i64),
        Raw::Real(_) => Err(reject(
            col,
            raw,
            "a REAL with a fraction (or beyond 2^53) in an integer column",
        )),
        Raw::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| reject(col, raw, "text that is not an integer in an integer column")),
        Raw::Blob(_) => Err(reject(col, raw, "a BLOB in an integer column")),
        Raw::Null => unreachable!("NULL is handled before the rule"),
    }
}

fn value(c: &ColumnMap, raw: &Raw) -> Result<Conv, Reject> {
    let col = c.target.as_str();
    if matches!(raw, Raw::Null) {
        return null_or_reject(c, raw);
    }
    let v = match &c.rule {
        Rule::Key { .. } | Rule::Ref { .. } | Rule::RecordRef { .. } | Rule::Point => {
            unreachable!("handled by Plan::convert")
        }
        Rule::Text { max_chars } => {
            let s = match raw {
                Raw::Text(b) | Raw::Blob(b) => text_of(col, raw, b)?,
                Raw::Int(i) => i.to_string(),
                Raw::Real(f) => format!("{f:?}"),
                Raw::Null => unreachable!(),
            };
            if let Some(max) = max_chars {
                let n = s.chars().count();
                if n > *max as usize {
                    return Err(reject(
                        col,
                        raw,
                        format!("{n} characters do not fit varchar({max}); never truncated"),
                    ));
                }
            }
            Val::Text(s)
        }
        Rule::Integer => {
            let i = integer(col, raw)?;
            if i32::try_from(i).is_err() {
                return Err(reject(
                    col,
                    raw,
                    format!("{i} is beyond the integer (i32) range; never truncated"),
                ));
            }
            Val::Int(i)
        }
        Rule::Bigint => Val::Int(integer(col, raw)?),
        Rule::Float => {
            let f = match raw {
                Raw::Int(i) => {
                    let f = *i as f64;
                    if f as i128 != i128::from(*i) {
                        return Err(reject(
                            col,
                            raw,
                            "an integer that double precision cannot hold exactly; never rounded",
                        ));
                    }
                    f
                }
                Raw::Real(f) => *f,
                Raw::Text(t) => match std::str::from_utf8(t)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                {
                    Some(f) => f,
                    None => return Err(reject(col, raw, "text that is not a number")),
                },
                Raw::Blob(_) => return Err(reject(col, raw, "a BLOB in a float column")),
                Raw::Null => unreachable!(),
            };
            if f.is_nan() {
                return Err(reject(col, raw, "NaN is not a number"));
            }
            Val::Float(f)
        }
        Rule::Bytea => match raw {
            Raw::Blob(b) | Raw::Text(b) => Val::Bytes(b.clone()),
            _ => return Err(reject(col, raw, "a number in a binary column")),
        },
        Rule::Numeric { precision, scale } => {
            let (precision, scale) = (*precision, *scale);
            let text = match raw {
                Raw::Int(i) => i.to_string(),
                Raw::Real(f) if f.is_finite() => format!("{f}"),
                Raw::Real(_) => return Err(reject(col, raw, "not a finite amount")),
                Raw::Text(t) => text_of(col, raw, t)?,
                Raw::Blob(_) => return Err(reject(col, raw, "a BLOB in a numeric column")),
                Raw::Null => unreachable!(),
            };
            match parse_decimal(&text, precision, scale) {
                Ok(units) => Val::Numeric { units, scale },
                Err(why) => return Err(reject(col, raw, why)),
            }
        }
        Rule::Boolean => {
            let b = match raw {
                Raw::Int(0) => Some(false),
                Raw::Int(1) => Some(true),
                Raw::Real(f) if *f == 0.0 => Some(false),
                Raw::Real(f) if *f == 1.0 => Some(true),
                Raw::Text(t) => match std::str::from_utf8(t).map(|s| s.trim().to_ascii_lowercase())
                {
                    Ok(s) => match s.as_str() {
                        "true" | "t" | "yes" | "y" | "1" => Some(true),
                        "false" | "f" | "no" | "n" | "0" => Some(false),
                        _ => None,
                    },
                    Err(_) => None,
                },
                _ => None,
            };
            match b {
                Some(b) => Val::Bool(b),
                None => return Err(reject(col, raw, "not a boolean (0/1, true/false)")),
            }
        }
        Rule::Timestamptz { unknown_is_bad } => match timestamp(raw) {
            Ok(Some(us)) => Val::Ts(us),
            Ok(None) if !unknown_is_bad => return Ok(Conv::Unknown),
            Ok(None) => {
                return Err(reject(
                    col,
                    raw,
                    "an 'unknown' timestamp (0 or ''), and the mapping says unknown_is_bad",
                ))
            }
            Err(why) => return Err(reject(col, raw, why)),
        },
        Rule::Date { unknown_is_bad } => match date(raw) {
            Ok(Some(d)) => Val::Date(d),
            Ok(None) if !unknown_is_bad => return Ok(Conv::Unknown),
            Ok(None) => {
                return Err(reject(
                    col,
                    raw,
                    "an 'unknown' date (0 or ''), and the mapping says unknown_is_bad",
                ))
            }
            Err(why) => return Err(reject(col, raw, why)),
        },
        Rule::Jsonb => {
            let j = match raw {
                Raw::Int(i) => Json::from(*i),
                Raw::Real(f) => match serde_json::Number::from_f64(*f) {
                    Some(n) => Json::Number(n),
                    None => return Err(reject(col, raw, "not a finite number")),
                },
                Raw::Text(t) => {
                    let s = text_of(col, raw, t)?;
                    parse_json(&s).map_err(|why| reject(col, raw, why))?
                }
                Raw::Blob(_) => return Err(reject(col, raw, "a BLOB in a JSON column")),
                Raw::Null => unreachable!(),
            };
            json_val(&j)
        }
        Rule::TextArray { .. } => {
            let s = match raw {
                Raw::Text(t) | Raw::Blob(t) => text_of(col, raw, t)?,
                Raw::Int(i) => i.to_string(),
                Raw::Real(f) => format!("{f:?}"),
                Raw::Null => unreachable!(),
            };
            Val::List(parse_list(&s).map_err(|why| reject(col, raw, why))?)
        }
        Rule::Inet => {
            let s = match raw {
                Raw::Text(t) => text_of(col, raw, t)?,
                _ => return Err(reject(col, raw, "an address must be text")),
            };
            Val::Inet(canonical_inet(&s).map_err(|why| reject(col, raw, why))?)
        }
    };
    Ok(Conv::Val(v))
}

fn id_value(col: &str, raw: &Raw) -> Result<i64, Reject> {
    match raw {
        Raw::Int(i) => Ok(*i),
        Raw::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| reject(col, raw, "a key that is not an integer id")),
        _ => Err(reject(col, raw, "a key that is not an integer id")),
    }
}

fn coordinate(col: &str, raw: &Raw) -> Result<f64, Reject> {
    let f = match raw {
        Raw::Real(f) => *f,
        Raw::Int(i) => *i as f64,
        Raw::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .ok_or_else(|| reject(col, raw, "text that is not a number in a coordinate"))?,
        _ => return Err(reject(col, raw, "a BLOB in a coordinate")),
    };
    if !f.is_finite() {
        return Err(reject(col, raw, "not a finite coordinate"));
    }
    Ok(f)
}

fn point(c: &ColumnMap, lat: &Raw, lon: &Raw) -> Result<Conv, Reject> {
    match (lat, lon) {
        (Raw::Null, Raw::Null) => null_or_reject(c, lat),
        (Raw::Null, _) | (_, Raw::Null) => Err(reject(
            &c.target,
            if matches!(lat, Raw::Null) { lon } else { lat },
            "only one of latitude/longitude is set: a point needs both",
        )),
        _ => {
            let y = coordinate(&c.legacy[0], lat)?;
            let x = coordinate(&c.legacy[1], lon)?;
            Ok(Conv::Val(Val::Point(x, y)))
        }
    }
}

pub fn parse_decimal(text: &str, precision: u8, scale: u8) -> Result<i128, String> {
    let s = text.trim();
    let bad = || format!("'{text}' is not a decimal number");
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(p) => (&s[..p], s[p + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (s, 0),
    };
    let (int_part, frac_part) = match mant.find('.') {
        Some(p) => (&mant[..p], &mant[p + 1..]),
        None => (mant, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    // value = digits * 10^e10
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let e10 = i64::from(exp) - frac_part.len() as i64 + i64::from(scale);
    let overflow =
        || format!("'{text}' does not fit numeric({precision},{scale}); never truncated");
    if digits.is_empty() {
        return Ok(0);
    }
    let units: i128 = if e10 >= 0 {
        if digits.len() as i64 + e10 > i64::from(precision) {
            return Err(overflow());
        }
        let mut u: i128 = digits.parse().map_err(|_| overflow())?;
        for _ in 0..e10 {
            u *= 10;
        }
        u
    } else {
        let drop = (-e10) as usize;
        let (keep, rest) = if drop >= digits.len() {
            ("", format!("{}{}", "0".repeat(drop - digits.len()), digits))
        } else {
            (
                &digits[..digits.len() - drop],
                digits[digits.len() - drop..].to_string(),
            )
        };
        if keep.len() > precision as usize {
            return Err(overflow());
        }
        let mut u: i128 = if keep.is_empty() {
            0
        } else {
            keep.parse().map_err(|_| overflow())?
        };
        if rest.as_bytes()[0] >= b'5' {
            u += 1;
        }
        u
    };
    if units >= 10i128.pow(u32::from(precision)) {
        return Err(overflow());
    }
    Ok(if neg { -units } else { units })
}

pub fn format_decimal(units: i128, scale: u8) -> String {
    let neg = units < 0;
    let abs = units.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if abs.len() <= scale {
        format!("{}{}", "0".repeat(scale + 1 - abs.len()), abs)
    } else {
        abs
    };
    let (i, f) = padded.split_at(padded.len() - scale);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(i);
    if scale > 0 {
        out.push('.');
        out.push_str(f);
    }
    out
}

const JD_UNIX_EPOCH: f64 = 2_440_587.5;
const JD_MIN: f64 = 1_721_425.5; // 0001-01-01
const JD_MAX: f64 = 5_373_484.5; // 10000-01-01
const US_MIN: i64 = -62_135_596_800_000_000; // 0001-01-01
const US_MAX: i64 = 253_402_300_800_000_000; // 10000-01-01

fn in_range(us: i64) -> Result<i64, String> {
    if (US_MIN..US_MAX).contains(&us) {
        Ok(us)
    } else {
        Err("timestamp outside the years 1..9999".to_string())
    }
}

fn epoch_integer(v: i64) -> Result<i64, String> {
    let a = v.unsigned_abs();
    let us = if a < 100_000_000_000 {
        v.checked_mul(1_000_000)
    } else if a < 100_000_000_000_000 {
        v.checked_mul(1_000)
    } else {
        Some(v)
    };
    in_range(us.ok_or("epoch value out of range")?)
}

fn epoch_real(f: f64) -> Result<i64, String> {
    if !f.is_finite() {
        return Err("not a finite time".into());
    }
    let us = if (JD_MIN..JD_MAX).contains(&f) {
        ((f - JD_UNIX_EPOCH) * 86_400_000_000.0).round()
    } else {
        (f * 1_000_000.0).round()
    };
    if us.abs() > 9.0e18 {
        return Err("timestamp outside the years 1..9999".into());
    }
    in_range(us as i64)
}

/// A legacy timestamp as UTC microseconds; `Ok(None)` means "unknown".
pub fn timestamp(raw: &Raw) -> Result<Option<i64>, String> {
    match raw {
        Raw::Null => Ok(None),
        Raw::Int(0) => Ok(None),
        Raw::Int(v) => epoch_integer(*v).map(Some),
        Raw::Real(f) if *f == 0.0 => Ok(None),
        Raw::Real(f) => epoch_real(*f).map(Some),
        Raw::Blob(_) => Err("a BLOB in a timestamp column".into()),
        Raw::Text(t) => {
            let s =
                std::str::from_utf8(t).map_err(|_| "invalid UTF-8 in a timestamp".to_string())?;
            parse_timestamp_text(s)
        }
    }
}

/// Parse the text forms of a timestamp (see the module doc).
pub fn parse_timestamp_text(s: &str) -> Result<Option<i64>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let unrecognised = || format!("'{s}' is not a recognised timestamp");
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'-') && !t[1..].contains('-') {
        let v: i64 = t.parse().map_err(|_| unrecognised())?;
        return if v == 0 {
            Ok(None)
        } else {
            epoch_integer(v).map(Some)
        };
    }
    if t.bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && !t[1..].contains('-')
    {
        let v: f64 = t.parse().map_err(|_| unrecognised())?;
        return if v == 0.0 {
            Ok(None)
        } else {
            epoch_real(v).map(Some)
        };
    }
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(unrecognised());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, String> {
        let part = t.get(r).ok_or_else(unrecognised)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| unrecognised())
        } else {
            Err(unrecognised())
        }
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
        .ok_or_else(unrecognised)?;
    let mut rest = &t[10..];
    let (mut h, mut m, mut sec, mut us) = (0u32, 0u32, 0u32, 0i64);
    if let Some(r) = rest.strip_prefix(['T', 't', ' ']) {
        let rb = r.as_bytes();
        if rb.len() >= 5 && rb[2] == b':' && rb[0].is_ascii_digit() {
            h = r[0..2].parse().map_err(|_| unrecognised())?;
            m = r[3..5].parse().map_err(|_| unrecognised())?;
            rest = &r[5..];
            if rest.len() >= 3 && rest.as_bytes()[0] == b':' {
                sec = rest[1..3].parse().map_err(|_| unrecognised())?;
                rest = &rest[3..];
                if let Some(f) = rest.strip_prefix('.') {
                    let n = f.bytes().take_while(u8::is_ascii_digit).count();
                    if n == 0 {
                        return Err(unrecognised());
                    }
                    let digits = &f[..n];
                    // Microseconds, rounded half away from zero beyond six digits.
                    let mut padded = digits.to_string();
                    while padded.len() < 7 {
                        padded.push('0');
                    }
                    us = padded[..6].parse().map_err(|_| unrecognised())?;
                    if padded.as_bytes()[6] >= b'5' {
                        us += 1;
                    }
                    rest = &f[n..];
                }
            }
        } else {
            // "YYYY-MM-DD " followed by a zone only.
            rest = r;
        }
    }
    let offset_s: i64 = parse_zone(rest.trim_start()).ok_or_else(unrecognised)?;
    let time = NaiveTime::from_hms_opt(h, m, sec).ok_or_else(unrecognised)?;
    let naive = NaiveDateTime::new(date, time);
    let base = naive.and_utc().timestamp_micros();
    in_range(base + us - offset_s * 1_000_000).map(Some)
}

fn parse_zone(z: &str) -> Option<i64> {
    if z.is_empty()
        || z == "Z"
        || z == "z"
        || z.eq_ignore_ascii_case("UTC")
        || z.eq_ignore_ascii_case("GMT")
    {
        return Some(0);
    }
    let (sign, rest) = match z.as_bytes()[0] {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || rest.matches(':').count() > 1 {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (
            digits[..2].parse::<i64>().ok()?,
            digits[2..].parse::<i64>().ok()?,
        ),
        _ => return None,
    };
    if h > 15 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

/// A legacy date as days since 1970-01-01; `Ok(None)` means "unknown".
pub fn date(raw: &Raw) -> Result<Option<i32>, String> {
    let us = match timestamp(raw)? {
        None => return Ok(None),
        Some(us) => us,
    };
    if us.rem_euclid(86_400_000_000) != 0 {
        return Err("a date with a time of day (not midnight UTC)".into());
    }
    Ok(Some(us.div_euclid(86_400_000_000) as i32))
}

/// A parsed JSON value as a [`Val`] (its canonical text).
pub fn json_val(j: &Json) -> Val {
    let mut s = String::new();
    canonical_json(j, &mut s);
    Val::Json(s)
}

/// Parse JSON text; refuse what jsonb cannot hold.
pub fn parse_json(s: &str) -> Result<Json, String> {
    let v: Json = serde_json::from_str(s).map_err(|e| format!("invalid JSON: {e}"))?;
    fn has_nul(v: &Json) -> bool {
        match v {
            Json::String(s) => s.contains('\0'),
            Json::Array(a) => a.iter().any(has_nul),
            Json::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    if has_nul(&v) {
        return Err("JSON holds \\u0000, which jsonb cannot store".into());
    }
    Ok(v)
}

/// A list: `[...]` as a JSON array, otherwise comma-separated.
pub fn parse_list(s: &str) -> Result<Vec<Option<String>>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    if t.starts_with('[') && t.ends_with(']') {
        let v =
            parse_json(t).map_err(|e| format!("a list that looks like JSON but is not: {e}"))?;
        let Json::Array(items) = v else {
            unreachable!()
        };
        return items
            .into_iter()
            .map(|i| match i {
                Json::Null => Ok(None),
                Json::String(s) => Ok(Some(s)),
                Json::Number(n) => Ok(Some(n.to_string())),
                Json::Bool(b) => Ok(Some(b.to_string())),
                _ => Err("a list item that is itself a list or object".to_string()),
            })
            .collect();
    }
    Ok(t.split(',').map(|p| Some(p.trim().to_string())).collect())
}

/// An address in PostgreSQL's `inet` output form.
pub fn canonical_inet(s: &str) -> Result<String, String> {
    let t = s.trim();
    let (addr, prefix) = match t.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (t, None),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("'{s}' is not an IP address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let p = match prefix {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(p) if p <= max => p,
            _ => return Err(format!("'{s}' has a bad prefix length")),
        },
    };
    Ok(if p == max {
        ip.to_string()
    } else {
        format!("{ip}/{p}")
    })
}

// ---- output forms -------------------------------------------------------

fn copy_escape(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.push(b),
        }
    }
}

pub fn format_ts(us: i64) -> String {
    let dt = DateTime::from_timestamp_micros(us).expect("checked range");
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        us.rem_euclid(1_000_000)
    )
}

pub fn format_date(days: i32) -> String {
    let d = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Days::new(0);
    let d = if days >= 0 {
        d + chrono::Days::new(days as u64)
    } else {
        d - chrono::Days::new(days.unsigned_abs() as u64)
    };
    d.format("%Y-%m-%d").to_string()
}

/// PostgreSQL array literal for `text[]`: every item quoted with `"` and
/// `\` escaped, `None` as an unquoted `NULL`.
pub fn array_literal(items: &[Option<String>]) -> String {
    let mut s = String::from("{");
    for (k, item) in items.iter().enumerate() {
        if k > 0 {
            s.push(',');
        }
        match item {
            None => s.push_str("NULL"),
            Some(v) => {
                s.push('"');
                for ch in v.chars() {
                    if ch == '"' || ch == '\\' {
                        s.push('\\');
                    }
                    s.push(ch);
                }
                s.push('"');
            }
        }
    }
    s.push('}');
    s
}

/// Append one row in COPY text format.
pub fn to_copy(vals: &[Val], out: &mut Vec<u8>) {
    let mut tmp = String::new();
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        tmp.clear();
        match v {
            Val::Null => {
                out.extend_from_slice(b"\\N");
                continue;
            }
            Val::Uuid(u) => {
                let _ = write!(tmp, "{}", u.hyphenated());
            }
            Val::Text(s) | Val::Inet(s) => {
                copy_escape(out, s);
                continue;
            }
            Val::Int(i) => {
                let _ = write!(tmp, "{i}");
            }
            Val::Numeric { units, scale } => tmp.push_str(&format_decimal(*units, *scale)),
            Val::Bool(b) => tmp.push(if *b { 't' } else { 'f' }),
            Val::Ts(us) => {
                tmp.push_str(&format_ts(*us));
                tmp.push_str("+00");
            }
            Val::Date(d) => tmp.push_str(&format_date(*d)),
            Val::Json(j) => {
                copy_escape(out, j);
                continue;
            }
            Val::List(items) => {
                copy_escape(out, &array_literal(items));
                continue;
            }
            Val::Point(x, y) => {
                let _ = write!(tmp, "({x:?},{y:?})");
            }
            Val::Float(f) => {
                let _ = write!(tmp, "{f:?}");
            }
            Val::Bytes(b) => {
                // COPY text: the backslash of bytea's hex form is escaped.
                tmp.push_str("\\\\x");
                tmp.push_str(&hex::encode(b));
            }
        }
        out.extend_from_slice(tmp.as_bytes());
    }
    out.push(b'\n');
}

/// The canonical bytes of a row: what both sides hash.
pub fn canonical(vals: &[Val], out: &mut Vec<u8>) {
    fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    }
    fn float(out: &mut Vec<u8>, f: f64) {
        let bits = if f.is_nan() {
            f64::NAN.to_bits()
        } else {
            f.to_bits()
        };
        out.extend_from_slice(&bits.to_le_bytes());
    }
    for v in vals {
        match v {
            Val::Null => out.push(0),
            Val::Uuid(u) => {
                out.push(1);
                out.extend_from_slice(u.as_bytes());
            }
            Val::Text(s) => {
                out.push(2);
                bytes(out, s.as_bytes());
            }
            Val::Int(i) => {
                out.push(3);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Val::Numeric { units, scale } => {
                out.push(4);
                out.extend_from_slice(&units.to_le_bytes());
                out.push(*scale);
            }
            Val::Bool(b) => {
                out.push(5);
                out.push(u8::from(*b));
            }
            Val::Ts(us) => {
                out.push(6);
                out.extend_from_slice(&us.to_le_bytes());
            }
            Val::Date(d) => {
                out.push(7);
                out.extend_from_slice(&d.to_le_bytes());
            }
            Val::Json(j) => {
                out.push(8);
                bytes(out, j.as_bytes());
            }
            Val::List(items) => {
                out.push(9);
                out.extend_from_slice(&(items.len() as u32).to_le_bytes());
                for item in items {
                    match item {
                        None => out.push(0),
                        Some(s) => {
                            out.push(1);
                            bytes(out, s.as_bytes());
                        }
                    }
                }
            }
            Val::Point(x, y) => {
                out.push(10);
                float(out, *x);
                float(out, *y);
            }
            Val::Inet(s) => {
                out.push(11);
                bytes(out, s.as_bytes());
            }
            Val::Float(f) => {
                out.push(12);
                float(out, *f);
            }
            Val::Bytes(b) => {
                out.push(13);
                bytes(out, b);
            }
        }
    }
}

/// JSON with sorted keys and one spelling per number: integral values
/// within 2^53 as integers (jsonb prints `1e2` as `100`), the rest in
/// shortest round-trip form (`{:?}`: `1.5`, `1e300`).
pub fn canonical_json(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    let _ = write!(out, "{}", f as i64);
                } else {
                    let _ = write!(out, "{f:?}");
                }
            }
        }
        Json::String(s) => out.push_str(&serde_json::to_string(s).expect("a string serialises")),
        Json::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        Json::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("a string serialises"));
                out.push(':');
                canonical_json(&o[k], out);
            }
            out.push('}');
        }
    }
}

/// The 128-bit digest of a row's canonical bytes.
pub fn row_hash(vals: &[Val], scratch: &mut Vec<u8>) -> u128 {
    use sha2::{Digest, Sha256};
    scratch.clear();
    canonical(vals, scratch);
    let d = Sha256::digest(&scratch[..]);
    u128::from_le_bytes(d[..16].try_into().expect("16 bytes"))
}

/// Whether a list can be written back comma-separated without changing
/// what it parses to.
pub fn list_is_comma_safe(items: &[Option<String>]) -> bool {
    // Empty, or one empty item, would read back as the empty list.
    let ambiguous = items.is_empty() || (items.len() == 1 && items[0].as_deref() == Some(""));
    !ambiguous
        && items.iter().all(|i| match i {
            None => false,
            Some(s) => !s.contains(',') && s.trim() == s && !s.starts_with('['),
        })
}

pub fn list_form_text(items: &[Option<String>], form: ListForm) -> String {
    // An app that parses the column as JSON needs `[]`, not an empty string.
    if items.is_empty() && form == ListForm::Comma {
        return String::new();
    }
    if form == ListForm::Comma && list_is_comma_safe(items) {
        return items
            .iter()
            .map(|i| i.as_deref().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(",");
    }
    Json::Array(
        items
            .iter()
            .map(|i| i.clone().map(Json::String).unwrap_or(Json::Null))
            .collect(),
    )
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Option<i64> {
        parse_timestamp_text(s).unwrap()
    }

    #[test]
    fn timestamp_forms_agree() {
        let want = Some(1_700_000_000_000_000 + 123_456);
        assert_eq!(ts("2023-11-14 22:13:20.123456"), want);
        assert_eq!(ts("2023-11-14T22:13:20.123456Z"), want);
        assert_eq!(ts("2023-11-15T00:13:20.123456+02:00"), want);
        assert_eq!(ts("2023-11-15 00:13:20.123456+0200"), want);
        assert_eq!(ts("2023-11-14 22:13:20.1234564"), want);
        assert_eq!(ts("2023-11-14 22:13:20.1234555"), want);
        assert_eq!(ts("1700000000"), Some(1_700_000_000_000_000));
        assert_eq!(
            timestamp(&Raw::Int(1_700_000_000_123)).unwrap(),
            Some(1_700_000_000_123_000)
        );
        assert_eq!(timestamp(&Raw::Int(0)).unwrap(), None);
        assert_eq!(ts(""), None);
        assert_eq!(timestamp(&Raw::Real(2_440_587.5)).unwrap(), Some(0));
        assert!(parse_timestamp_text("yesterday").is_err());
        assert!(parse_timestamp_text("2023-02-30").is_err());
    }

    #[test]
    fn money_rounds_half_away_from_zero() {
        assert_eq!(parse_decimal("2.675", 12, 2), Ok(268));
        assert_eq!(parse_decimal("-2.675", 12, 2), Ok(-268));
        assert_eq!(parse_decimal("2.674", 12, 2), Ok(267));
        assert_eq!(parse_decimal("1e3", 12, 2), Ok(100_000));
        assert_eq!(parse_decimal("0.004", 12, 2), Ok(0));
        assert_eq!(parse_decimal("0.005", 12, 2), Ok(1));
        assert!(parse_decimal("10000000000", 12, 2).is_err());
        assert_eq!(parse_decimal("9999999999.99", 12, 2), Ok(999_999_999_999));
        assert!(parse_decimal("9999999999.995", 12, 2).is_err());
        assert!(parse_decimal("$3", 12, 2).is_err());
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(12345, 2), "123.45");
    }

    #[test]
    fn json_is_compared_parsed() {
        let a = parse_json(r#"{"b":1e2,"a":[1,2], "b": 100.0}"#).unwrap();
        let b = parse_json(r#"{"a":[1,2],"b":100}"#).unwrap();
        let (mut x, mut y) = (String::new(), String::new());
        canonical_json(&a, &mut x);
        canonical_json(&b, &mut y);
        assert_eq!(x, y);
        assert!(parse_json(r#"{"a":"\u0000"}"#)
            .unwrap_err()
            .contains("u0000"));
        assert!(parse_json("{nope").is_err());
    }

    #[test]
    fn lists_and_text() {
        assert_eq!(
            parse_list("a, b").unwrap(),
            vec![Some("a".into()), Some("b".into())]
        );
        assert_eq!(
            parse_list(r#"["a,b",null]"#).unwrap(),
            vec![Some("a,b".into()), None]
        );
        assert_eq!(parse_list("").unwrap(), Vec::<Option<String>>::new());
        let raw = Raw::Text(b"a\0b".to_vec());
        assert!(text_of("c", &raw, b"a\0b")
            .unwrap_err()
            .reason
            .contains("NUL"));
        assert!(text_of("c", &raw, b"a\xffb")
            .unwrap_err()
            .reason
            .contains("UTF-8"));
        let items = vec![Some("x".to_string()), Some("".to_string())];
        assert_eq!(
            parse_list(&list_form_text(&items, ListForm::Comma)).unwrap(),
            items
        );
        assert_eq!(list_form_text(&[], ListForm::Json), "[]");
        assert_eq!(list_form_text(&[], ListForm::Comma), "");
        assert_eq!(parse_list("[]").unwrap(), Vec::<Option<String>>::new());
    }

    #[test]
    fn copy_escapes_and_arrays() {
        let mut out = Vec::new();
        to_copy(
            &[
                Val::Text("a\tb\\".into()),
                Val::Null,
                Val::List(vec![Some("q\"".into()), None]),
            ],
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\tb\\\\\t\\N\t{\"q\\\\\"\",NULL}\n"
        );
        assert_eq!(canonical_inet("10.0.0.1/32").unwrap(), "10.0.0.1");
        assert_eq!(canonical_inet("10.0.0.1/8").unwrap(), "10.0.0.1/8");
    }
}
