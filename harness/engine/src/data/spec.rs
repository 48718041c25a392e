//! `data.toml`: how to make an app's tenant data, as data.
//!
//! ```toml
//! [tenants]
//! count = 50        # tenants when --tenants is not given
//! skew = 1.1        # Zipf exponent: the tenant of rank r weighs r^-skew
//!
//! [[table]]
//! name = "entries"  # a legacy (SQLite) table, parents before children
//! rows = 40         # rows per tenant of average weight at --scale 1
//! [table.columns]
//! title = { fake = "sentence", words = [3, 9] }
//! mood = { choices = ["calm", "tired"], weights = [3, 1], null = 0.1 }
//! created_at = { date = ["2024-01-01", "2024-12-31"] }
//! ```
//!
//! Keys, the tenant column and references come from the app's mapping and
//! need no line here; a column the file does not name is left to its
//! default (or NULL) when it has one, else drawn by its declared type.
//! docs/data.md is the user's reference; this module parses and checks.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    #[serde(default)]
    pub tenants: TenantsSpec,
    /// Hard values mixed into generated rows (`--edge-rate` overrides).
    #[serde(default)]
    pub hard: HardSpec,
    /// The tables to fill, in order: a table's references point to tables
    /// listed before it (or to itself).
    #[serde(rename = "table", default)]
    pub tables: Vec<TableSpec>,
}

/// How many tenants and how unequal they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantsSpec {
    pub count: u32,
    /// Zipf exponent over tenant ranks; 0 makes every tenant alike.
    pub skew: f64,
}

impl Default for TenantsSpec {
    fn default() -> Self {
        TenantsSpec {
            count: 20,
            skew: 1.1,
        }
    }
}

/// The rate of hard values, as a fraction of generated rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HardSpec {
    pub rate: f64,
}

/// One table's rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub name: String,
    /// Rows per tenant of average weight at scale 1 (each tenant gets
    /// `rows * scale * weight`); with `per`, rows per parent row
    /// (`{ min, max }`); for a table without tenant, rows in all.
    #[serde(default)]
    pub rows: Rows,
    /// Make `rows` rows for each row of this (earlier) table; the column
    /// referring to it points to that row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// Row counts ignore `--scale` and tenant weight (one settings row per
    /// tenant, a fixed library).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fixed: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnSpec>,
}

/// A row count: a number, or a range drawn uniformly per tenant (or per
/// parent row with `per`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rows {
    Mean(f64),
    Range { min: u32, max: u32 },
}

impl Default for Rows {
    fn default() -> Self {
        Rows::Mean(1.0)
    }
}

/// How one column's values are made. Exactly one kind field (`fake`,
/// `choices`, `int`, `real`, `bool`, `date`, `ref`, `list`, `json`,
/// `value`, `bytes`, `seq`) is set; `null`, `unique` and `hard` apply to
/// any kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// A `fake` faker by name ([`FAKE_KINDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fake: Option<String>,
    /// Word counts for `words`, `sentence` and `paragraph` (sentences).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<[u32; 2]>,
    /// One of these values (strings or numbers), by `weights` if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<toml::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
    /// A whole number in [lo, hi].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int: Option<[i64; 2]>,
    /// A REAL in [lo, hi), rounded to `decimals` if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u8>,
    /// 1 with this probability, else 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bool: Option<f64>,
    /// A moment in [from, to] (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`),
    /// written as `format` says ([`DateFormat`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<[String; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<DateFormat>,
    /// With `date`: no earlier than this column of the same row (a date
    /// column named before it in the table), at most `within_days` later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_days: Option<u32>,
    /// With `after`: at most this many minutes later (a booking's end, a
    /// session's last message) instead of `within_days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_minutes: Option<u32>,
    /// A row of this table (of the same tenant when it has tenants).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A list of `len` items made by the inner spec, written as `form`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<Box<ColumnSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len: Option<[u32; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<ListForm>,
    /// A JSON object with these fields, each made by its spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<BTreeMap<String, ColumnSpec>>,
    /// Always this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<toml::Value>,
    /// A BLOB of a length in [lo, hi].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<[u32; 2]>,
    /// The row's number in its table (1, 2, ...), formatted by a template
    /// where `{}` stands for the number (`"INV-{}"`), or bare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<String>,
    /// Fraction of rows left NULL.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub null: f64,
    /// No two rows share a value (made so by construction, not by retry).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    /// Extra hard values for this column, besides its kind's own list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hard: Vec<toml::Value>,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// How a `date` is written, as legacy apps store them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateFormat {
    /// `2024-03-01 09:30:00`
    #[default]
    Datetime,
    /// `2024-03-01`
    Date,
    /// `2024-03-01T09:30:00Z`
    Iso,
    /// Seconds since 1970, an INTEGER.
    Epoch,
    /// Milliseconds since 1970, an INTEGER.
    EpochMs,
}

/// How a list is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListForm {
    /// `["a","b"]`
    #[default]
    Json,
    /// `a,b`
    Csv,
    /// `a b a c`: text made of the items, separated by spaces, repeats
    /// allowed (prose of real words, for full-text search to find).
    Words,
}

/// The `fake` kinds a column can name, with what they give.
pub const FAKE_KINDS: &[(&str, &str)] = &[
    ("first_name", "a given name"),
    ("last_name", "a family name"),
    ("name", "a full name"),
    ("username", "a user name"),
    ("email", "an e-mail address"),
    ("phone", "a phone number"),
    ("company", "a company name"),
    ("industry", "an industry"),
    ("job_title", "a job title"),
    ("profession", "a profession"),
    ("street", "a street address"),
    ("city", "a city"),
    ("state", "a state or region"),
    ("country", "a country"),
    ("country_code", "a two-letter country code"),
    ("zip", "a postal code"),
    ("latitude", "a latitude (REAL)"),
    ("longitude", "a longitude (REAL)"),
    ("timezone", "an IANA time zone"),
    ("word", "one word"),
    ("words", "`words` words"),
    ("sentence", "a sentence of `words` words"),
    ("paragraph", "a paragraph of `words` sentences"),
    ("catch_phrase", "a marketing phrase"),
    ("url", "a web address"),
    ("domain", "a domain name"),
    ("ipv4", "an IPv4 address"),
    ("ipv6", "an IPv6 address"),
    ("user_agent", "a browser user agent"),
    ("uuid", "a UUID (text)"),
    ("hex", "a hex digest of 64 characters (tokens, hashes)"),
    ("currency", "a currency code"),
    ("color", "a colour name"),
    ("file_name", "a file name"),
    ("mime_type", "a MIME type"),
];

/// A problem with data.toml, said so the user can fix it.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{path}: {problem}")]
    Parse { path: String, problem: String },
    #[error("data.toml, table `{table}`: {problem}")]
    Table { table: String, problem: String },
    #[error("data.toml, column `{table}.{column}`: {problem}")]
    Column {
        table: String,
        column: String,
        problem: String,
    },
    #[error("data.toml: {0}")]
    File(String),
}

impl DataSpec {
    /// Read and check `path` on its own (names are checked against the
    /// schema when a file is written).
    pub fn load(path: &Path) -> Result<DataSpec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError::Parse {
            path: path.display().to_string(),
            problem: e.to_string(),
        })?;
        let spec: DataSpec = toml::from_str(&text).map_err(|e| SpecError::Parse {
            path: path.display().to_string(),
            problem: e.to_string(),
        })?;
        spec.check()?;
        Ok(spec)
    }

    /// The checks that need no schema.
    pub fn check(&self) -> Result<(), SpecError> {
        if !(0.0..=4.0).contains(&self.tenants.skew) {
            return Err(SpecError::File(format!(
                "[tenants] skew = {} is outside 0..4 (0 = equal tenants, 1.1 = a few large and a long tail)",
                self.tenants.skew
            )));
        }
        if !(0.0..=1.0).contains(&self.hard.rate) {
            return Err(SpecError::File(format!(
                "[hard] rate = {} is not a fraction in 0..1",
                self.hard.rate
            )));
        }
        let mut seen = Vec::new();
        for t in &self.tables {
            let err = |problem: String| SpecError::Table {
                table: t.name.clone(),
                problem,
            };
            if seen.contains(&t.name.as_str()) {
                return Err(err("listed twice".into()));
            }
            match t.rows {
                Rows::Mean(m) if !(m.is_finite() && m >= 0.0) => {
                    return Err(err(format!("rows = {m} must be 0 or more")))
                }
                Rows::Range { min, max } if min > max => {
                    return Err(err(format!("rows: min {min} is above max {max}")))
                }
                _ => {}
            }
            if let Some(p) = &t.per {
                if !seen.contains(&p.as_str()) {
                    return Err(err(format!(
                        "per = \"{p}\" must name a table listed before this one"
                    )));
                }
            }
            for (name, c) in &t.columns {
                c.check().map_err(|problem| SpecError::Column {
                    table: t.name.clone(),
                    column: name.clone(),
                    problem,
                })?;
            }
            seen.push(t.name.as_str());
        }
        Ok(())
    }

    pub fn table(&self, name: &str) -> Option<&TableSpec> {
        self.tables.iter().find(|t| t.name == name)
    }
}

impl ColumnSpec {
    /// The kind fields that are set, by name.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k = Vec::new();
        let mut add = |on: bool, name| {
            if on {
                k.push(name)
            }
        };
        add(self.fake.is_some(), "fake");
        add(self.choices.is_some(), "choices");
        add(self.int.is_some(), "int");
        add(self.real.is_some(), "real");
        add(self.bool.is_some(), "bool");
        add(self.date.is_some(), "date");
        add(self.reference.is_some(), "ref");
        add(self.list.is_some(), "list");
        add(self.json.is_some(), "json");
        add(self.value.is_some(), "value");
        add(self.bytes.is_some(), "bytes");
        add(self.seq.is_some(), "seq");
        k
    }

    fn check(&self) -> Result<(), String> {
        let kinds = self.kinds();
        if kinds.len() != 1 {
            return Err(format!(
                "give exactly one kind of value (fake, choices, int, real, bool, date, ref, list, json, value, bytes, seq); found {}",
                if kinds.is_empty() { "none".to_string() } else { kinds.join(", ") }
            ));
        }
        if !(0.0..=1.0).contains(&self.null) {
            return Err(format!("null = {} is not a fraction in 0..1", self.null));
        }
        if let Some(f) = &self.fake {
            if !FAKE_KINDS.iter().any(|(k, _)| k == f) {
                let names: Vec<_> = FAKE_KINDS.iter().map(|(k, _)| *k).collect();
                return Err(format!(
                    "unknown fake kind `{f}`; known: {}",
                    names.join(", ")
                ));
            }
        }
        let range = |what: &str, r: Option<[u32; 2]>| match r {
            Some([a, b]) if a > b => Err(format!(
                "{what} = [{a}, {b}]: the first is above the second"
            )),
            _ => Ok(()),
        };
        range("words", self.words)?;
        range("len", self.len)?;
        range("bytes", self.bytes)?;
        if let Some([a, b]) = self.int {
            if a > b {
                return Err(format!("int = [{a}, {b}]: the first is above the second"));
            }
        }
        if let Some([a, b]) = self.real {
            if !(a.is_finite() && b.is_finite() && a <= b) {
                return Err(format!(
                    "real = [{a}, {b}] must be finite, the first not above the second"
                ));
            }
        }
        if let Some(p) = self.bool {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("bool = {p} is a probability in 0..1"));
            }
        }
        if let Some(c) = &self.choices {
            if c.is_empty() {
                return Err("choices is empty".into());
            }
            if let Some(w) = &self.weights {
                if w.len() != c.len() {
                    return Err(format!("{} weights for {} choices", w.len(), c.len()));
                }
                if w.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || w.iter().sum::<f64>() <= 0.0 {
                    return Err("weights must be 0 or more and not all 0".into());
                }
            }
            if let Some(v) = c.iter().find(|v| !scalar(v)) {
                return Err(format!("choice {v} is not a string, number or boolean"));
            }
        } else if self.weights.is_some() {
            return Err("weights without choices".into());
        }
        if let Some([a, b]) = &self.date {
            let (from, to) = (parse_moment(a)?, parse_moment(b)?);
            if from > to {
                return Err(format!(
                    "date = [\"{a}\", \"{b}\"]: the first is after the second"
                ));
            }
            if self.within_days.is_some() && self.within_minutes.is_some() {
                return Err("give within_days or within_minutes, not both".into());
            }
        } else if self.format.is_some()
            || self.after.is_some()
            || self.within_days.is_some()
            || self.within_minutes.is_some()
        {
            return Err("format, after, within_days and within_minutes go with date".into());
        }
        if self.decimals.is_some() && self.real.is_none() {
            return Err("decimals goes with real".into());
        }
        if self.words.is_some()
            && !matches!(
                self.fake.as_deref(),
                Some("words" | "sentence" | "paragraph")
            )
        {
            return Err("words goes with fake = \"words\", \"sentence\" or \"paragraph\"".into());
        }
        if let Some(inner) = &self.list {
            inner.check().map_err(|p| format!("list item: {p}"))?;
            if inner.list.is_some() || inner.json.is_some() || inner.reference.is_some() {
                return Err("list items are scalars (no list, json or ref inside a list)".into());
            }
        } else if self.len.is_some() || self.form.is_some() {
            return Err("len and form go with list".into());
        }
        if let Some(fields) = &self.json {
            for (k, f) in fields {
                f.check().map_err(|p| format!("json field `{k}`: {p}"))?;
                if f.reference.is_some() {
                    return Err(format!("json field `{k}`: ref is for columns"));
                }
            }
        }
        if let Some(v) = &self.value {
            if !scalar(v) {
                return Err(format!("value {v} is not a string, number or boolean"));
            }
        }
        if let Some(v) = self.hard.iter().find(|v| !scalar(v)) {
            return Err(format!("hard value {v} is not a string, number or boolean"));
        }
        if self.unique
            && (self.choices.is_some()
                || self.bool.is_some()
                || self.value.is_some()
                || self.json.is_some()
                || self.list.is_some())
        {
            return Err("unique is for fake, int, real, date, seq and bytes columns (a choice, a flag or a constant repeats)".into());
        }
        Ok(())
    }
}

fn scalar(v: &toml::Value) -> bool {
    matches!(
        v,
        toml::Value::String(_)
            | toml::Value::Integer(_)
            | toml::Value::Float(_)
            | toml::Value::Boolean(_)
    )
}

/// Seconds since 1970 of `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`.
pub fn parse_moment(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let dt = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)"))?;
    Ok(dt.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<DataSpec, SpecError> {
        let spec: DataSpec = toml::from_str(s).map_err(|e| SpecError::File(e.to_string()))?;
        spec.check()?;
        Ok(spec)
    }

    #[test]
    fn a_full_file_parses() {
        let s = parse(
            r#"
            [tenants]
            count = 7
            skew = 0.8
            [hard]
            rate = 0.01
            [[table]]
            name = "users"
            [[table]]
            name = "posts"
            rows = { min = 1, max = 9 }
            per = "users"
            [table.columns]
            title = { fake = "sentence", words = [2, 5], null = 0.1 }
            mood = { choices = ["a", "b"], weights = [3, 1] }
            at = { date = ["2024-01-01", "2024-12-31 23:59:59"], format = "epoch_ms" }
            tags = { list = { fake = "word" }, len = [0, 4], form = "csv" }
            meta = { json = { score = { int = [1, 5] }, note = { fake = "word" } } }
            code = { seq = "P-{}", unique = true }
            "#,
        )
        .unwrap();
        assert_eq!(s.tenants.count, 7);
        assert_eq!(s.tables.len(), 2);
        assert_eq!(s.tables[1].rows, Rows::Range { min: 1, max: 9 });
        assert_eq!(s.tables[1].columns["at"].format, Some(DateFormat::EpochMs));
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("[[table]]\nname = \"a\"\n[table.columns]\nx = { fake = \"nope\" }", "unknown fake kind"),
            ("[[table]]\nname = \"a\"\n[table.columns]\nx = { int = [1, 2], real = [0.0, 1.0] }", "exactly one kind"),
            ("[[table]]\nname = \"a\"\n[table.columns]\nx = { null = 0.5 }", "found none"),
            ("[[table]]\nname = \"a\"\n[table.columns]\nx = { choices = [\"a\"], weights = [1, 2] }", "2 weights for 1 choices"),
            ("[[table]]\nname = \"a\"\n[table.columns]\nx = { date = [\"2024-02-30\", \"2025-01-01\"] }", "not a date"),
            ("[[table]]\nname = \"a\"\nper = \"b\"", "listed before"),
            ("[[table]]\nname = \"a\"\n[[table]]\nname = \"a\"", "listed twice"),
            ("[[table]]\nname = \"a\"\nrows = { min = 5, max = 2 }", "above max"),
            ("[[table]]\nname = \"a\"\n[table.columns]\nx = { choices = [\"a\"], unique = true }", "unique is for"),
            ("[tenants]\nskew = -1.0", "skew"),
            ("[[table]]\nname = \"a\"\n[table.columns]\nx = { int = [1, 2], colour = 3 }", "unknown field"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
