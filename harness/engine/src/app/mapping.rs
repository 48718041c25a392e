//! `mapping.toml`: per legacy table and column, the target table and column
//! and the rule that converts each value, with the evidence behind the rule.
//!
//! The file is the one place a conversion is decided. The engine
//! ([`crate::migrate`]) reads nothing else about an app's columns, so every
//! value that moves does so by a rule written here, and a value no rule
//! accepts is rejected (or, where the column says `on_bad = "null"`, kept as
//! NULL and recorded), never changed silently.
//!
//! Tables are listed parents first: that is the load order, and the order a
//! reference may point (backwards, or to its own table).
//!
//! ```toml
//! [[table]]
//! name = "orders"            # the PostgreSQL table
//! legacy = "Order Lines"     # the SQLite table (default: name)
//!
//! [[table.column]]
//! target = "id"
//! legacy = "id"              # or "rowid" for a table without an integer key
//! rule = "key"               # uuid_tag = 3 makes UUIDs; absent keeps the integer
//!
//! [[table.column]]
//! target = "created_at"
//! legacy = "created"
//! rule = "timestamptz"
//! evidence = "99.2 % ISO text, 0.8 % epoch ms"
//! ```

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(rename = "table", default)]
    pub tables: Vec<TableMap>,
}

/// One legacy table -> one target table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableMap {
    /// The PostgreSQL table (unqualified; quoted wherever it is used).
    pub name: String,
    /// The SQLite table, when its name differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<String>,
    /// What the user should know or decide about this table (written by
    /// `harness init`; the engine ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(rename = "column", default)]
    pub columns: Vec<ColumnMap>,
}

/// How one target column is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnMap {
    pub target: String,
    /// The SQLite column(s): one, or two for `point` (latitude, longitude).
    #[serde(with = "one_or_many")]
    pub legacy: Vec<String>,
    #[serde(flatten)]
    pub rule: Rule,
    /// Whether the target column takes NULL.
    #[serde(default = "yes")]
    pub nullable: bool,
    /// What happens to a value no rule accepts.
    #[serde(default, skip_serializing_if = "OnBad::is_default")]
    pub on_bad: OnBad,
    /// Why this rule: what the values looked like (written by `harness init`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

fn yes() -> bool {
    true
}

/// A value no rule accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnBad {
    /// The whole row goes to the reject file (and its children with it).
    #[default]
    Reject,
    /// The row moves with this cell NULL; the cell goes to the reject file.
    Null,
}

impl OnBad {
    fn is_default(&self) -> bool {
        *self == OnBad::Reject
    }
}

/// How a legacy list is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListForm {
    /// `a,b,c`.
    #[default]
    Comma,
    /// `["a","b","c"]`.
    Json,
}

/// A conversion rule: what the target column is and which legacy values it
/// accepts. docs/migrate.md states each rule for users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// The row's key: a legacy integer (or the rowid). `uuid_tag` makes a
    /// reversible UUID carrying the tag; without it the integer is kept
    /// (`bigint`).
    Key {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uuid_tag: Option<u8>,
    },
    /// A reference to the key of `table` (a mapped target table), encoded
    /// as that table's key is.
    Ref { table: String },
    /// A polymorphic reference: the key of the row of the table named by
    /// this row's `table_column` (a legacy column holding a target table name).
    RecordRef { table_column: String },
    /// Text; `max_chars` for `varchar(n)` (longer is rejected, never cut).
    Text {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_chars: Option<u32>,
    },
    /// `integer` (i32).
    Integer,
    /// `bigint`.
    Bigint,
    /// `numeric(precision, scale)`, rounded half away from zero.
    Numeric { precision: u8, scale: u8 },
    /// `double precision`: every REAL bit for bit.
    Float,
    /// `boolean` from 0/1, true/false, yes/no.
    Boolean,
    /// `timestamptz` from ISO text, epoch numbers or Julian days; `0` and
    /// `''` are "unknown" (NULL, counted) unless `unknown_is_bad`.
    Timestamptz {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unknown_is_bad: bool,
    },
    /// `date`.
    Date {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unknown_is_bad: bool,
    },
    /// `jsonb` from JSON text.
    Jsonb,
    /// `text[]` from a comma list or a JSON array.
    TextArray {
        #[serde(default)]
        form: ListForm,
    },
    /// `point` from two REALs (latitude, longitude).
    Point,
    /// `inet`.
    Inet,
    /// `bytea` from a BLOB (or text, as its bytes).
    Bytea,
}

impl Rule {
    /// The PostgreSQL type this rule produces (for drafts and messages).
    pub fn sql_type(&self, key_is_uuid: bool) -> String {
        match self {
            Rule::Key { uuid_tag: Some(_) } => "uuid".into(),
            Rule::Key { uuid_tag: None } => "bigint".into(),
            Rule::Ref { .. } | Rule::RecordRef { .. } => {
                if key_is_uuid {
                    "uuid".into()
                } else {
                    "bigint".into()
                }
            }
            Rule::Text { max_chars: Some(n) } => format!("varchar({n})"),
            Rule::Text { max_chars: None } => "text".into(),
            Rule::Integer => "integer".into(),
            Rule::Bigint => "bigint".into(),
            Rule::Numeric { precision, scale } => format!("numeric({precision},{scale})"),
            Rule::Float => "double precision".into(),
            Rule::Boolean => "boolean".into(),
            Rule::Timestamptz { .. } => "timestamptz".into(),
            Rule::Date { .. } => "date".into(),
            Rule::Jsonb => "jsonb".into(),
            Rule::TextArray { .. } => "text[]".into(),
            Rule::Point => "point".into(),
            Rule::Inet => "inet".into(),
            Rule::Bytea => "bytea".into(),
        }
    }
}

impl Mapping {
    pub fn table(&self, name: &str) -> Option<&TableMap> {
        self.tables.iter().find(|t| t.name == name)
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name == name)
    }

    /// Check what TOML cannot: names unique, one key per table, references
    /// to tables listed before (or to the table itself), legacy widths.
    /// Returns every problem, not just the first.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut tags = HashSet::new();
        for (i, t) in self.tables.iter().enumerate() {
            if !seen.insert(t.name.as_str()) {
                out.push(format!("table {:?} is listed twice", t.name));
            }
            let keys: Vec<&ColumnMap> = t
                .columns
                .iter()
                .filter(|c| matches!(c.rule, Rule::Key { .. }))
                .collect();
            if keys.len() != 1 {
                out.push(format!(
                    "table {:?} has {} columns with rule = \"key\"; it needs exactly one (use legacy = \"rowid\" for a table without an integer key)",
                    t.name,
                    keys.len()
                ));
            }
            if let Some(Rule::Key {
                uuid_tag: Some(tag),
            }) = keys.first().map(|c| &c.rule)
            {
                if !tags.insert(*tag) {
                    out.push(format!(
                        "table {:?}: uuid_tag {tag} is used by another table; each table needs its own",
                        t.name
                    ));
                }
            }
            let mut cols = HashSet::new();
            for c in &t.columns {
                if !cols.insert(c.target.as_str()) {
                    out.push(format!("{}.{} is listed twice", t.name, c.target));
                }
                let want = if c.rule == Rule::Point { 2 } else { 1 };
                if c.legacy.len() != want {
                    out.push(format!(
                        "{}.{}: rule {:?} takes {want} legacy column(s), the mapping gives {}",
                        t.name,
                        c.target,
                        rule_name(&c.rule),
                        c.legacy.len()
                    ));
                }
                if let Rule::Ref { table } = &c.rule {
                    match self.position(table) {
                        None => out.push(format!(
                            "{}.{} references table {table:?}, which the mapping does not list",
                            t.name, c.target
                        )),
                        Some(p) if p > i => out.push(format!(
                            "{}.{} references {table:?}, listed after it; list parents first (load order)",
                            t.name, c.target
                        )),
                        _ => {}
                    }
                }
                if let Rule::RecordRef { table_column } = &c.rule {
                    if !t.columns.iter().any(|o| o.legacy.contains(table_column)) {
                        out.push(format!(
                            "{}.{}: record_ref names table_column {table_column:?}, which is not a mapped legacy column of the table",
                            t.name, c.target
                        ));
                    }
                }
            }
        }
        out
    }
}

/// The rule's name as written in the file.
pub fn rule_name(r: &Rule) -> &'static str {
    match r {
        Rule::Key { .. } => "key",
        Rule::Ref { .. } => "ref",
        Rule::RecordRef { .. } => "record_ref",
        Rule::Text { .. } => "text",
        Rule::Integer => "integer",
        Rule::Bigint => "bigint",
        Rule::Numeric { .. } => "numeric",
        Rule::Float => "float",
        Rule::Boolean => "boolean",
        Rule::Timestamptz { .. } => "timestamptz",
        Rule::Date { .. } => "date",
        Rule::Jsonb => "jsonb",
        Rule::TextArray { .. } => "text_array",
        Rule::Point => "point",
        Rule::Inet => "inet",
        Rule::Bytea => "bytea",
    }
}

impl TableMap {
    /// The SQLite table name.
    pub fn legacy_name(&self) -> &str {
        self.legacy.as_deref().unwrap_or(&self.name)
    }

    /// The SQLite columns in read order.
    pub fn legacy_columns(&self) -> impl Iterator<Item = &str> + '_ {
        self.columns
            .iter()
            .flat_map(|c| c.legacy.iter().map(String::as_str))
    }

    pub fn target_columns(&self) -> impl Iterator<Item = &str> + '_ {
        self.columns.iter().map(|c| c.target.as_str())
    }

    pub fn col(&self, target: &str) -> Option<&ColumnMap> {
        self.columns.iter().find(|c| c.target == target)
    }

    /// The key column (validated: exactly one).
    pub fn key(&self) -> &ColumnMap {
        self.columns
            .iter()
            .find(|c| matches!(c.rule, Rule::Key { .. }))
            .expect("validated: one key per table")
    }

    pub fn uuid_tag(&self) -> Option<u8> {
        match self.key().rule {
            Rule::Key { uuid_tag } => uuid_tag,
            _ => None,
        }
    }
}

/// `legacy = "a"` or `legacy = ["a", "b"]`.
mod one_or_many {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        })
    }

    pub fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        if v.len() == 1 {
            v[0].serialize(s)
        } else {
            v.serialize(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_reads_and_writes_back_the_same() {
        let text = r#"
[[table]]
name = "t"
legacy = "Old T"
[[table.column]]
target = "id"
legacy = "rowid"
rule = "key"
nullable = false
[[table.column]]
target = "at"
legacy = "at"
rule = "timestamptz"
evidence = "all ISO"
on_bad = "null"
[[table.column]]
target = "where"
legacy = ["lat", "lon"]
rule = "point"
[[table.column]]
target = "parent"
legacy = "parent"
rule = "ref"
table = "t"
"#;
        let m: Mapping = toml::from_str(text).unwrap();
        assert!(m.problems().is_empty(), "{:?}", m.problems());
        let t = &m.tables[0];
        assert_eq!(t.legacy_name(), "Old T");
        assert_eq!(t.columns[1].on_bad, OnBad::Null);
        assert_eq!(
            t.legacy_columns().collect::<Vec<_>>(),
            ["rowid", "at", "lat", "lon", "parent"]
        );
        let back: Mapping = toml::from_str(&toml::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn problems_name_every_fault() {
        let text = r#"
[[table]]
name = "child"
[[table.column]]
target = "p"
legacy = "p"
rule = "ref"
table = "parent"
[[table]]
name = "parent"
[[table.column]]
target = "id"
legacy = "id"
rule = "key"
"#;
        let m: Mapping = toml::from_str(text).unwrap();
        let p = m.problems().join("\n");
        assert!(p.contains("\"child\" has 0 columns"), "{p}");
        assert!(p.contains("listed after it"), "{p}");
    }
}
