//! The round-trip property for any app folder, generated from the app's own
//! mapping: SQLite -> PostgreSQL -> SQLite keeps every value that a rule
//! accepts, exactly as an oracle written here by hand says, and puts every
//! value no rule accepts in the reject file with its column; nothing else
//! happens.
//!
//! The oracle ([`hard_values`]) is independent of the conversion code: for
//! each hard value it states by hand the text PostgreSQL must print for
//! the stored value (`col::text`, time zone UTC) and the value the export
//! must write back. The generator gives every table the same number of
//! rows per tenant: "clean" rows carry the accepted hard values of every
//! column (each value in some row), and one extra row per refused value
//! carries that value alone, so each refusal is attributable. Columns under
//! a CHECK or unique constraint get plain distinct values (a refusal there
//! is PostgreSQL's, tested elsewhere). SQLite's column affinity may change
//! a value on the way in (text '42' in an INTEGER column is stored as 42):
//! such a placement is not counted as exercising the hard value.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use harness::app::{App, ListForm, OnBad, Rule, TableMap};
use harness::migrate::reject::{self, Stage};
use harness::migrate::{self, keys, MigrateOptions, OnError};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use rusqlite::types::Value as Lv;
use sqlx::Row as _;

use super::support;

/// A legacy value as written into SQLite.
#[derive(Debug, Clone, PartialEq)]
enum L {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    /// Text bytes that are not UTF-8 (written with a cast from a blob).
    BadText(Vec<u8>),
    Blob(Vec<u8>),
}

/// What the oracle says a legacy value becomes.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// It lands: PostgreSQL prints `pg` (None: NULL), the export writes `back`.
    Lands { pg: Option<String>, back: Lv },
    /// No rule accepts it.
    Refused,
}

#[derive(Debug, Clone)]
struct Hard {
    label: &'static str,
    value: L,
    outcome: Outcome,
}

fn t(s: &str) -> L {
    L::Text(s.to_string())
}

fn lands(pg: &str, back: Lv) -> Outcome {
    Outcome::Lands {
        pg: Some(pg.to_string()),
        back,
    }
}

fn lt(s: &str) -> Lv {
    Lv::Text(s.to_string())
}

fn h(label: &'static str, value: L, outcome: Outcome) -> Hard {
    Hard {
        label,
        value,
        outcome,
    }
}

/// The oracle: every hard value for a rule, with its fate stated by hand.
fn hard_values(rule: &Rule) -> Vec<Hard> {
    use Outcome::Refused;
    let long = "x".repeat(100_000);
    match rule {
        Rule::Text { .. } => vec![
            h(
                "emoji",
                t("\u{1F3E0} home"),
                lands("\u{1F3E0} home", lt("\u{1F3E0} home")),
            ),
            h(
                "combining",
                t("e\u{301}te\u{301}"),
                lands("e\u{301}te\u{301}", lt("e\u{301}te\u{301}")),
            ),
            h(
                "rtl",
                t("\u{5E9}\u{5DC}\u{5D5}\u{5DD} \u{627}\u{644}\u{633}\u{644}\u{627}\u{645}"),
                lands(
                    "\u{5E9}\u{5DC}\u{5D5}\u{5DD} \u{627}\u{644}\u{633}\u{644}\u{627}\u{645}",
                    lt("\u{5E9}\u{5DC}\u{5D5}\u{5DD} \u{627}\u{644}\u{633}\u{644}\u{627}\u{645}"),
                ),
            ),
            h("empty", t(""), lands("", lt(""))),
            h(
                "controls",
                t("tab\there\nnew line\r\\ back"),
                lands(
                    "tab\there\nnew line\r\\ back",
                    lt("tab\there\nnew line\r\\ back"),
                ),
            ),
            h(
                "quotes",
                t("it's \"q\" {a,b} NULL"),
                lands("it's \"q\" {a,b} NULL", lt("it's \"q\" {a,b} NULL")),
            ),
            h(
                "100k chars",
                L::Text(long.clone()),
                lands(&long, Lv::Text(long.clone())),
            ),
            h("integer", L::Int(42), lands("42", lt("42"))),
            h(
                "17 digits",
                L::Real(0.30000000000000004),
                lands("0.30000000000000004", lt("0.30000000000000004")),
            ),
            h(
                "blob text",
                L::Blob(b"raw".to_vec()),
                lands("raw", lt("raw")),
            ),
            h("NUL", t("nul\0byte"), Refused),
            h(
                "bad UTF-8",
                L::BadText(b"bad \xff\xfe utf8".to_vec()),
                Refused,
            ),
        ],
        Rule::Integer => vec![
            h("int", L::Int(42), lands("42", Lv::Integer(42))),
            h("text int", t("42"), lands("42", Lv::Integer(42))),
            h("spaced text int", t(" 7 "), lands("7", Lv::Integer(7))),
            h("integral real", L::Real(7.0), lands("7", Lv::Integer(7))),
            h(
                "i32 min",
                L::Int(-2_147_483_648),
                lands("-2147483648", Lv::Integer(-2_147_483_648)),
            ),
            h("beyond i32", L::Int(3_000_000_000), Refused),
            h("below i32", L::Int(-3_000_000_000), Refused),
            h("fraction", L::Real(2.5), Refused),
            h("words", t("forty-two"), Refused),
            h("blob", L::Blob(vec![1]), Refused),
        ],
        Rule::Bigint => vec![
            h(
                "i64 max",
                L::Int(i64::MAX),
                lands("9223372036854775807", Lv::Integer(i64::MAX)),
            ),
            h(
                "i64 min",
                L::Int(i64::MIN),
                lands("-9223372036854775808", Lv::Integer(i64::MIN)),
            ),
            h(
                "beyond i32",
                L::Int(3_000_000_000),
                lands("3000000000", Lv::Integer(3_000_000_000)),
            ),
            h("text", t("-12"), lands("-12", Lv::Integer(-12))),
            h("huge real", L::Real(1e20), Refused),
            h("fraction text", t("1.5"), Refused),
        ],
        Rule::Float => vec![
            h("tenth", L::Real(0.1), lands("0.1", Lv::Real(0.1))),
            h(
                "17 digits",
                L::Real(0.30000000000000004),
                lands("0.30000000000000004", Lv::Real(0.30000000000000004)),
            ),
            h(
                "next after 1",
                L::Real(1.0000000000000002),
                lands("1.0000000000000002", Lv::Real(1.0000000000000002)),
            ),
            h("huge", L::Real(1e308), lands("1e+308", Lv::Real(1e308))),
            h(
                "subnormal",
                L::Real(5e-324),
                lands("5e-324", Lv::Real(5e-324)),
            ),
            h(
                "infinity",
                L::Real(f64::INFINITY),
                lands("Infinity", Lv::Real(f64::INFINITY)),
            ),
            h("integer", L::Int(3), lands("3", Lv::Real(3.0))),
            h("text", t("1.5"), lands("1.5", Lv::Real(1.5))),
            h("words", t("abc"), Refused),
            h("blob", L::Blob(vec![1]), Refused),
        ],
        Rule::Numeric {
            precision: 12,
            scale: 2,
        } => vec![
            h("half up", L::Real(2.675), lands("2.68", Lv::Real(2.68))),
            h(
                "half away",
                L::Real(-2.675),
                lands("-2.68", Lv::Real(-2.68)),
            ),
            h("eighth", L::Real(0.125), lands("0.13", Lv::Real(0.13))),
            h("text", t("12.50"), lands("12.50", Lv::Real(12.5))),
            h("integer", L::Int(7), lands("7.00", Lv::Real(7.0))),
            h(
                "largest",
                t("9999999999.99"),
                lands("9999999999.99", Lv::Real(9_999_999_999.99)),
            ),
            h("rounds over", t("9999999999.995"), Refused),
            h("too big", L::Real(1e13), Refused),
            h("currency sign", t("$5"), Refused),
        ],
        // Other precisions: only the constrained-column values and NULL.
        Rule::Numeric { .. } => vec![],
        Rule::Boolean => vec![
            h("zero", L::Int(0), lands("false", Lv::Integer(0))),
            h("one", L::Int(1), lands("true", Lv::Integer(1))),
            h("TRUE", t("TRUE"), lands("true", Lv::Integer(1))),
            h("no", t("no"), lands("false", Lv::Integer(0))),
            h("real one", L::Real(1.0), lands("true", Lv::Integer(1))),
            h("two", L::Int(2), Refused),
            h("maybe", t("maybe"), Refused),
        ],
        Rule::Timestamptz { .. } => vec![
            h(
                "sqlite default",
                t("2024-01-05 10:00:00"),
                lands("2024-01-05 10:00:00+00", lt("2024-01-05 10:00:00")),
            ),
            h(
                "iso Z micro",
                t("2024-01-05T10:00:00.123456Z"),
                lands(
                    "2024-01-05 10:00:00.123456+00",
                    lt("2024-01-05 10:00:00.123456"),
                ),
            ),
            h(
                "offset",
                t("2024-01-05 12:00:00.5+02:00"),
                lands("2024-01-05 10:00:00.5+00", lt("2024-01-05 10:00:00.500000")),
            ),
            h(
                "no seconds",
                t("2024-01-05T10:00"),
                lands("2024-01-05 10:00:00+00", lt("2024-01-05 10:00:00")),
            ),
            h(
                "7 digits",
                t("2024-01-05 10:00:00.1234567"),
                lands(
                    "2024-01-05 10:00:00.123457+00",
                    lt("2024-01-05 10:00:00.123457"),
                ),
            ),
            h(
                "epoch s",
                L::Int(1_700_000_000),
                lands("2023-11-14 22:13:20+00", lt("2023-11-14 22:13:20")),
            ),
            h(
                "epoch ms",
                L::Int(1_700_000_000_123),
                lands(
                    "2023-11-14 22:13:20.123+00",
                    lt("2023-11-14 22:13:20.123000"),
                ),
            ),
            h(
                "julian day",
                L::Real(2_460_000.25),
                lands("2023-02-24 18:00:00+00", lt("2023-02-24 18:00:00")),
            ),
            h(
                "last second",
                t("9999-12-31 23:59:59"),
                lands("9999-12-31 23:59:59+00", lt("9999-12-31 23:59:59")),
            ),
            h(
                "unknown 0",
                L::Int(0),
                Outcome::Lands {
                    pg: None,
                    back: Lv::Null,
                },
            ),
            h(
                "unknown ''",
                t(""),
                Outcome::Lands {
                    pg: None,
                    back: Lv::Null,
                },
            ),
            h("words", t("yesterday"), Refused),
            h("month 13", t("2024-13-01 00:00:00"), Refused),
            h("feb 30", t("2024-02-30"), Refused),
        ],
        Rule::Date { .. } => vec![
            h(
                "leap day",
                t("2024-02-29"),
                lands("2024-02-29", lt("2024-02-29")),
            ),
            h(
                "midnight",
                t("2024-02-29 00:00:00"),
                lands("2024-02-29", lt("2024-02-29")),
            ),
            h(
                "unknown ''",
                t(""),
                Outcome::Lands {
                    pg: None,
                    back: Lv::Null,
                },
            ),
            h("not leap", t("2023-02-29"), Refused),
            h("time of day", t("2024-01-05 10:00:00"), Refused),
        ],
        Rule::Jsonb => vec![
            h(
                "duplicate keys",
                t(r#"{"b":1,"a":2,"b":3}"#),
                lands(r#"{"a": 2, "b": 3}"#, lt(r#"{"a":2,"b":3}"#)),
            ),
            h(
                "numbers",
                t("  [1, 2.50, {\"x\": null, \"big\": 1e2}] "),
                lands(
                    r#"[1, 2.5, {"x": null, "big": 100}]"#,
                    lt(r#"[1,2.5,{"big":100,"x":null}]"#),
                ),
            ),
            h(
                "unicode",
                t("\"emoji \u{1F600} and \\u00e9\""),
                lands(
                    "\"emoji \u{1F600} and \u{e9}\"",
                    lt("\"emoji \u{1F600} and \u{e9}\""),
                ),
            ),
            h("bare number", L::Int(5), lands("5", lt("5"))),
            h("invalid", t("{bad"), Refused),
            h("NUL escape", t(r#"{"a":"x\u0000y"}"#), Refused),
            h("empty", t(""), Refused),
            h("beyond double", t("[1e400]"), Refused),
        ],
        Rule::TextArray { form } => {
            let json = *form == ListForm::Json;
            vec![
                h(
                    "comma list",
                    t("a,b, c"),
                    lands(
                        "{a,b,c}",
                        lt(if json { r#"["a","b","c"]"# } else { "a,b,c" }),
                    ),
                ),
                h(
                    "json list",
                    t(r#"["x","y,z",null]"#),
                    lands(r#"{x,"y,z",NULL}"#, lt(r#"["x","y,z",null]"#)),
                ),
                h(
                    "empty",
                    t(""),
                    lands("{}", lt(if json { "[]" } else { "" })),
                ),
                h(
                    "empty json",
                    t("[]"),
                    lands("{}", lt(if json { "[]" } else { "" })),
                ),
                h(
                    "single",
                    t("single"),
                    lands(
                        "{single}",
                        lt(if json { r#"["single"]"# } else { "single" }),
                    ),
                ),
                h("nested", t("[1,[2]]"), Refused),
                h("NUL", t("a\0b"), Refused),
            ]
        }
        // `inet::text` always prints the mask.
        Rule::Inet => vec![
            h(
                "v4",
                t("192.168.0.1"),
                lands("192.168.0.1/32", lt("192.168.0.1")),
            ),
            h("v6", t("::1"), lands("::1/128", lt("::1"))),
            h(
                "network",
                t("10.1.0.0/16"),
                lands("10.1.0.0/16", lt("10.1.0.0/16")),
            ),
            h(
                "host prefix",
                t("10.0.0.1/32"),
                lands("10.0.0.1/32", lt("10.0.0.1")),
            ),
            h("words", t("not-an-ip"), Refused),
            h("number", L::Int(5), Refused),
        ],
        Rule::Bytea => vec![
            h(
                "bytes",
                L::Blob(vec![0, 1, 2, 255]),
                lands("\\x000102ff", Lv::Blob(vec![0, 1, 2, 255])),
            ),
            h(
                "text bytes",
                t("abc"),
                lands("\\x616263", Lv::Blob(b"abc".to_vec())),
            ),
            h("empty", L::Blob(vec![]), lands("\\x", Lv::Blob(vec![]))),
            h("number", L::Int(5), Refused),
        ],
        Rule::Key { .. } | Rule::Ref { .. } | Rule::RecordRef { .. } | Rule::Point => vec![],
    }
}

/// The two legacy columns of a point, and their fate.
fn hard_points() -> Vec<(&'static str, L, L, Outcome)> {
    vec![
        (
            "both",
            L::Real(40.7128),
            L::Real(-74.006),
            Outcome::Lands {
                pg: Some("(-74.006,40.7128)".into()),
                back: Lv::Real(40.7128),
            },
        ),
        ("half", L::Null, L::Real(1.0), Outcome::Refused),
        ("words", t("north"), L::Real(1.0), Outcome::Refused),
    ]
}

/// NULL's fate in a column.
fn null_case(nullable: bool) -> Hard {
    h(
        "NULL",
        L::Null,
        if nullable {
            Outcome::Lands {
                pg: None,
                back: Lv::Null,
            }
        } else {
            Outcome::Refused
        },
    )
}

/// A column's hard values, with varchar limits and on_bad applied.
fn column_cases(c: &harness::app::ColumnMap) -> Vec<Hard> {
    let mut v = hard_values(&c.rule);
    v.push(null_case(c.nullable));
    if let Rule::Text { max_chars: Some(n) } = c.rule {
        for x in &mut v {
            if let Outcome::Lands { pg: Some(s), .. } = &x.outcome {
                if s.chars().count() > n as usize {
                    x.outcome = Outcome::Refused;
                }
            }
        }
        v.push(h(
            "at the limit",
            L::Text("y".repeat(n as usize)),
            lands(&"y".repeat(n as usize), Lv::Text("y".repeat(n as usize))),
        ));
    }
    v
}

// ---- the generated dataset ------------------------------------------------------

/// How a column is filled.
#[derive(Debug, Clone)]
enum Fill {
    Key,
    /// A reference to table `parent` (mapping index); same tenant, row i.
    Ref(usize),
    /// The legacy column naming a table for a record_ref: the root's name.
    TableName,
    RecordRef,
    /// Under a CHECK or unique constraint: plain distinct values.
    Plain(Option<String>),
    Hard(Vec<Hard>),
    Point,
    /// The second legacy column of a point (filled with the first).
    PointTail,
}

/// One legacy row and what the oracle expects of its cells.
#[derive(Debug, Clone)]
struct GenRow {
    key: i64,
    tenant: i64,
    values: Vec<L>,
    /// Per legacy column: the expected outcome and the hard value's label
    /// (None: not a hard value).
    expect: Vec<Option<(String, Outcome)>>,
    /// Expected rejected (whole row), and the column blamed.
    refused: Option<String>,
    /// Cells expected NULL by on_bad = "null".
    nulled: Vec<String>,
}

struct Dataset {
    /// Per mapping table: its rows.
    tables: Vec<Vec<GenRow>>,
}

/// Columns under a CHECK or unique constraint in the target, per table,
/// and the first literal a CHECK on the column names.
async fn constrained(
    conn: &mut sqlx::PgConnection,
    app: &App,
) -> Vec<HashMap<String, Option<String>>> {
    let mut out = Vec::new();
    for t in &app.mapping.tables {
        let defs: Vec<String> = sqlx::query_scalar(
            "select pg_get_constraintdef(oid) from pg_constraint
              where conrelid = $1::regclass and contype in ('c', 'u', 'x')
             union all
             select pg_get_indexdef(indexrelid) from pg_index
              where indrelid = $1::regclass and indisunique and not indisprimary",
        )
        .bind(harness::app::quote(&t.name))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let mut m = HashMap::new();
        for c in &t.columns {
            let bare = &c.target;
            let quoted = harness::app::quote(&c.target);
            for d in &defs {
                let hit = d.contains(&quoted)
                    || d.split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                        .any(|w| w == bare);
                if hit {
                    let literal = d.split('\'').nth(1).map(str::to_string);
                    let e = m.entry(c.target.clone()).or_insert(None);
                    if e.is_none() && d.starts_with("CHECK") {
                        *e = literal;
                    }
                }
            }
        }
        out.push(m);
    }
    out
}

/// A plain value for a constrained column: distinct per row, within the
/// usual CHECKs (>= 0, <= 100), and written back by the export unchanged.
fn plain(rule: &Rule, literal: &Option<String>, row: usize, global: usize) -> L {
    match rule {
        Rule::Text { .. } => match literal {
            Some(l) => L::Text(l.clone()),
            None => L::Text(format!("v{global}")),
        },
        Rule::Integer | Rule::Bigint => L::Int(row as i64 + 1),
        Rule::Numeric { .. } | Rule::Float => L::Real(row as f64 + 1.0),
        Rule::Boolean => L::Int(1),
        Rule::Timestamptz { .. } => L::Text(format!(
            "2024-01-01 00:{:02}:{:02}",
            global / 60 % 60,
            global % 60
        )),
        Rule::Date { .. } => L::Text("2024-01-01".into()),
        Rule::Jsonb => L::Text("{}".into()),
        Rule::TextArray {
            form: ListForm::Json,
        } => L::Text(r#"["a"]"#.into()),
        Rule::TextArray { .. } => L::Text("a".into()),
        Rule::Inet => L::Text("10.0.0.1".into()),
        Rule::Bytea => L::Blob(vec![(global % 256) as u8]),
        _ => L::Null,
    }
}

/// What the legacy schema itself forbids: (table, column) pairs that are
/// NOT NULL, and those a CHECK mentions.
struct LegacyRules {
    not_null: BTreeSet<(String, String)>,
    checked: BTreeSet<(String, String)>,
}

impl LegacyRules {
    fn of(app: &App) -> LegacyRules {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch(app.legacy_sql.as_deref().expect("legacy.sql"))
            .unwrap();
        let mut r = LegacyRules {
            not_null: BTreeSet::new(),
            checked: BTreeSet::new(),
        };
        for t in &app.mapping.tables {
            let name = t.legacy_name().to_string();
            let sql: String = db
                .query_row(
                    "select sql from sqlite_master where type = 'table' and name = ?1",
                    [&name],
                    |row| row.get(0),
                )
                .unwrap();
            let check_text: String = sql
                .to_ascii_lowercase()
                .split("check")
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ");
            let mut stmt = db
                .prepare("select name, \"notnull\" from pragma_table_info(?1)")
                .unwrap();
            let cols: Vec<(String, bool)> = stmt
                .query_map([&name], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for (c, nn) in cols {
                if nn {
                    r.not_null.insert((name.clone(), c.clone()));
                }
                let lc = c.to_ascii_lowercase();
                if check_text
                    .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                    .any(|w| w == lc)
                {
                    r.checked.insert((name.clone(), c));
                }
            }
        }
        r
    }
}

/// Build the dataset: `k` clean rows per tenant in every table (tenant
/// count `k` too: the root's rows are the tenants), plus one row per refused
/// value. `rotate` shifts which hard value lands in which clean row.
fn generate(
    app: &App,
    cons: &[HashMap<String, Option<String>>],
    legacy: &LegacyRules,
    id_base: i64,
    rotate: usize,
) -> Dataset {
    let root = app.toml.tenant.root_table.as_deref();
    // Fills per table and column.
    let fills: Vec<Vec<Fill>> = app
        .mapping
        .tables
        .iter()
        .zip(cons)
        .map(|(t, con)| {
            let table_cols: BTreeSet<&str> = t
                .columns
                .iter()
                .filter_map(|c| match &c.rule {
                    Rule::RecordRef { table_column } => Some(table_column.as_str()),
                    _ => None,
                })
                .collect();
            t.columns
                .iter()
                .flat_map(|c| {
                    let f = match &c.rule {
                        Rule::Key { .. } => Fill::Key,
                        Rule::Ref { table } => Fill::Ref(app.mapping.position(table).unwrap()),
                        Rule::RecordRef { .. } => Fill::RecordRef,
                        Rule::Point => Fill::Point,
                        _ if table_cols.contains(c.legacy[0].as_str()) => Fill::TableName,
                        _ if con.contains_key(&c.target) => Fill::Plain(con[&c.target].clone()),
                        // Under a legacy CHECK: SQLite itself refuses hard values.
                        _ if legacy
                            .checked
                            .contains(&(t.legacy_name().to_string(), c.legacy[0].clone())) =>
                        {
                            Fill::Plain(None)
                        }
                        _ => {
                            let mut cases = column_cases(c);
                            // A legacy NOT NULL column cannot hold NULL to begin with.
                            if legacy
                                .not_null
                                .contains(&(t.legacy_name().to_string(), c.legacy[0].clone()))
                            {
                                cases.retain(|h| h.value != L::Null);
                            }
                            Fill::Hard(cases)
                        }
                    };
                    if c.rule == Rule::Point {
                        vec![f, Fill::PointTail]
                    } else {
                        vec![f]
                    }
                })
                .collect()
        })
        .collect();
    let k = fills
        .iter()
        .flatten()
        .map(|f| match f {
            Fill::Hard(v) => v.iter().filter(|h| h.outcome != Outcome::Refused).count(),
            Fill::Point => hard_points().len(),
            _ => 1,
        })
        .max()
        .unwrap_or(1)
        .max(2);
    let mut tables: Vec<Vec<GenRow>> = Vec::new();
    let mut global = 0usize;
    for (ti, t) in app.mapping.tables.iter().enumerate() {
        let is_root = Some(t.name.as_str()) == root;
        let cols: Vec<&harness::app::ColumnMap> = t
            .columns
            .iter()
            .flat_map(|c| std::iter::repeat_n(c, c.legacy.len()))
            .collect();
        let mut rows = Vec::new();
        let mut next_key = id_base;
        // Clean rows: tenant-major; row r of tenant g.
        let tenants = if is_root { 1 } else { k };
        let per = k;
        let mut make = |tenant_idx: usize,
                        r: usize,
                        refuse: Option<(usize, usize)>,
                        rows: &mut Vec<GenRow>,
                        global: &mut usize| {
            let key = next_key;
            next_key += 1;
            let tenant_key = if is_root {
                key
            } else {
                // The root's clean row number `tenant_idx`.
                root.and_then(|r| app.mapping.position(r))
                    .and_then(|p| tables.get(p))
                    .and_then(|rows| rows.get(tenant_idx))
                    .map(|r: &GenRow| r.key)
                    .unwrap_or(tenant_idx as i64)
            };
            let mut values = Vec::new();
            let mut expect = Vec::new();
            let mut refused = None;
            let mut nulled = Vec::new();
            for (ci, f) in fills[ti].iter().enumerate() {
                let c = cols[ci];
                let (v, e) = match f {
                    Fill::Key => (L::Int(key), None),
                    Fill::Ref(p) => {
                        let parent = &tables.get(*p).map(|v| v.as_slice()).unwrap_or(&[]);
                        if *p == ti {
                            // Within the table: the previous clean row of the tenant.
                            if r == 0 || refuse.is_some() {
                                (L::Null, None)
                            } else {
                                (L::Int(key - 1), None)
                            }
                        } else if Some(app.mapping.tables[*p].name.as_str()) == root {
                            (L::Int(tenant_key), None)
                        } else {
                            // Row r of the parent's rows of this tenant.
                            let of: Vec<&GenRow> = parent
                                .iter()
                                .filter(|x| x.tenant == tenant_key && x.refused.is_none())
                                .collect();
                            (L::Int(of[r % of.len()].key), None)
                        }
                    }
                    Fill::TableName => (L::Text(root.unwrap_or(&t.name).to_string()), None),
                    Fill::RecordRef => (L::Int(tenant_key), None),
                    Fill::Plain(lit) => (plain(&c.rule, lit, r, *global), None),
                    Fill::PointTail => continue,
                    Fill::Point => {
                        let pts = hard_points();
                        let (label, lat, lon, out) = match refuse {
                            Some((col, i)) if col == ci => pts[i].clone(),
                            _ => {
                                let ok: Vec<_> = pts
                                    .iter()
                                    .filter(|p| p.3 != Outcome::Refused)
                                    .cloned()
                                    .collect();
                                ok[(r + rotate) % ok.len()].clone()
                            }
                        };
                        if out == Outcome::Refused {
                            refused = Some(c.target.clone());
                        }
                        values.push(lat);
                        values.push(lon);
                        expect.push(Some((format!("point {label}"), out)));
                        expect.push(None);
                        continue;
                    }
                    Fill::Hard(cases) => {
                        let hv = match refuse {
                            Some((col, i)) if col == ci => cases[i].clone(),
                            _ => {
                                let ok: Vec<&Hard> = cases
                                    .iter()
                                    .filter(|h| h.outcome != Outcome::Refused)
                                    .collect();
                                ok[(r + rotate + ci) % ok.len()].clone()
                            }
                        };
                        let mut out = hv.outcome.clone();
                        if out == Outcome::Refused {
                            if c.on_bad == OnBad::Null && c.nullable {
                                nulled.push(c.target.clone());
                                out = Outcome::Lands {
                                    pg: None,
                                    back: Lv::Null,
                                };
                            } else {
                                refused = Some(c.target.clone());
                            }
                        }
                        (
                            hv.value,
                            Some((
                                format!(
                                    "{} {}",
                                    harness::app::mapping::rule_name(&c.rule),
                                    hv.label
                                ),
                                out,
                            )),
                        )
                    }
                };
                values.push(v);
                expect.push(e);
            }
            *global += 1;
            rows.push(GenRow {
                key,
                tenant: tenant_key,
                values,
                expect,
                refused,
                nulled,
            });
        };
        for g in 0..(if is_root { k } else { tenants }) {
            for r in 0..(if is_root { 1 } else { per }) {
                make(g, if is_root { g } else { r }, None, &mut rows, &mut global);
            }
        }
        // One row per refused value, in tenant 0, referenced by nothing.
        for (ci, f) in fills[ti].iter().enumerate() {
            let n = match f {
                Fill::Hard(cases) => cases.len(),
                Fill::Point => hard_points().len(),
                _ => 0,
            };
            for i in 0..n {
                let refusing = match f {
                    Fill::Hard(cases) => cases[i].outcome == Outcome::Refused,
                    Fill::Point => hard_points()[i].3 == Outcome::Refused,
                    _ => false,
                };
                if refusing {
                    make(0, k, Some((ci, i)), &mut rows, &mut global);
                }
            }
        }
        tables.push(rows);
    }
    Dataset { tables }
}

fn to_sql_value(v: &L) -> (String, Lv) {
    match v {
        L::Null => ("?".into(), Lv::Null),
        L::Int(i) => ("?".into(), Lv::Integer(*i)),
        L::Real(f) => ("?".into(), Lv::Real(*f)),
        L::Text(s) => ("?".into(), Lv::Text(s.clone())),
        L::BadText(b) => ("cast(? as text)".into(), Lv::Blob(b.clone())),
        L::Blob(b) => ("?".into(), Lv::Blob(b.clone())),
    }
}

fn legacy_ident(name: &str) -> String {
    harness::migrate::source::legacy_ident(name)
}

/// Write the dataset into a new SQLite file made from the app's legacy.sql.
fn write(app: &App, d: &Dataset, path: &Path) {
    let mut db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(app.legacy_sql.as_deref().expect("the app has legacy.sql"))
        .unwrap();
    let tx = db.transaction().unwrap();
    for (t, rows) in app.mapping.tables.iter().zip(&d.tables) {
        let cols: Vec<String> = t.legacy_columns().map(legacy_ident).collect();
        for r in rows {
            let (marks, vals): (Vec<String>, Vec<Lv>) = r.values.iter().map(to_sql_value).unzip();
            let sql = format!(
                "insert into {} ({}) values ({})",
                harness::app::quote(t.legacy_name()),
                cols.join(", "),
                marks.join(", ")
            );
            if let Err(e) = tx.execute(&sql, rusqlite::params_from_iter(vals)) {
                panic!(
                    "the legacy schema refuses a generated row of {}: {e}: {:?}",
                    t.name, r.values
                );
            }
        }
    }
    tx.commit().unwrap();
}

/// What SQLite stored, per table and key, in legacy column order.
fn stored(app: &App, path: &Path) -> Vec<BTreeMap<i64, Vec<L>>> {
    let db = rusqlite::Connection::open(path).unwrap();
    let mut out = Vec::new();
    for t in &app.mapping.tables {
        let cols: Vec<String> = t.legacy_columns().map(legacy_ident).collect();
        let key = legacy_ident(&t.key().legacy[0]);
        let mut stmt = db
            .prepare(&format!(
                "select {key}, {} from {}",
                cols.join(", "),
                harness::app::quote(t.legacy_name())
            ))
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        let mut m = BTreeMap::new();
        while let Some(r) = rows.next().unwrap() {
            let k: i64 = r.get(0).unwrap();
            let vals = (1..=cols.len())
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => L::Null,
                    rusqlite::types::ValueRef::Integer(i) => L::Int(i),
                    rusqlite::types::ValueRef::Real(f) => L::Real(f),
                    rusqlite::types::ValueRef::Text(b) => match std::str::from_utf8(b) {
                        Ok(s) => L::Text(s.to_string()),
                        Err(_) => L::BadText(b.to_vec()),
                    },
                    rusqlite::types::ValueRef::Blob(b) => L::Blob(b.to_vec()),
                })
                .collect();
            m.insert(k, vals);
        }
        out.push(m);
    }
    out
}

fn same(a: &L, b: &L) -> bool {
    match (a, b) {
        (L::Real(x), L::Real(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

fn as_l(v: &Lv) -> L {
    match v {
        Lv::Null => L::Null,
        Lv::Integer(i) => L::Int(*i),
        Lv::Real(f) => L::Real(*f),
        Lv::Text(s) => L::Text(s.clone()),
        Lv::Blob(b) => L::Blob(b.clone()),
    }
}

/// The key column's value in the target for legacy key `k`.
fn target_key(t: &TableMap, k: i64) -> String {
    match t.uuid_tag() {
        Some(tag) => keys::encode(tag, k).to_string(),
        None => k.to_string(),
    }
}

/// Per hard value (rule + label): placed in some column, exercised there.
#[derive(Default, Debug)]
struct Coverage {
    placed: BTreeSet<String>,
    exercised: BTreeSet<String>,
}

/// One case: generate, migrate (skip), verify, read back, export, judge.
async fn one_case(
    app: &App,
    c: &harness::cluster::Cluster,
    db: &str,
    id_base: i64,
    rotate: usize,
    cov: &mut Coverage,
) -> Result<(), TestCaseError> {
    let ep = support::fresh_db(c, db).await;
    let target = ep.connect_options();
    let mut conn = ep.connect().await.unwrap();
    app.migrator().await.unwrap().run(&mut conn).await.unwrap();
    let cons = constrained(&mut conn, app).await;
    let data = generate(app, &cons, &LegacyRules::of(app), id_base, rotate);

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("legacy.db");
    write(app, &data, &src);
    let kept = stored(app, &src);
    let opts = MigrateOptions {
        on_error: OnError::Skip,
        reject_path: dir.path().join("rejects.jsonl"),
        progress: false,
        verify: true,
        integrity_check: true,
    };
    let report = migrate::migrate(app, &src, &target, &opts).await.unwrap();
    prop_assert!(
        report.verify.as_ref().is_some_and(|v| v.ok()),
        "verification after the migration:\n{}",
        migrate::summary::render(&report)
    );
    let rejects = reject::read(&opts.reject_path).unwrap();
    let mut rows_out: BTreeSet<(String, i64)> = BTreeSet::new();
    let mut cells: BTreeSet<(String, i64, String)> = BTreeSet::new();
    for r in &rejects {
        let k = r.legacy_key.expect("integer keys");
        if r.stage == Stage::Cell {
            cells.insert((r.table.clone(), k, r.column.clone()));
        } else {
            prop_assert!(r.cause.is_none(), "no reject here is a cascade: {r:?}");
            rows_out.insert((r.table.clone(), k));
        }
    }

    // PostgreSQL's own text of every cell, keyed by the target key.
    sqlx::raw_sql("set timezone = 'UTC'")
        .execute(&mut conn)
        .await
        .unwrap();
    let out = dir.path().join("back.db");
    migrate::export(app, &target, &out).await.unwrap();
    let back = stored(app, &out);
    let mut expected_rows_out = BTreeSet::new();
    for (ti, (t, rows)) in app.mapping.tables.iter().zip(&data.tables).enumerate() {
        let key_col = harness::app::quote(&t.key().target);
        let legacy_pos: Vec<usize> = {
            // legacy position of the first legacy column of each target column
            let mut p = 0;
            t.columns
                .iter()
                .map(|c| {
                    let x = p;
                    p += c.legacy.len();
                    x
                })
                .collect()
        };
        let mut pg: HashMap<String, Vec<Option<String>>> = HashMap::new();
        let exprs: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("{}::text", harness::app::quote(&c.target)))
            .collect();
        let q = format!(
            "select {key_col}::text, {} from {}",
            exprs.join(", "),
            harness::app::quote(&t.name)
        );
        for r in sqlx::query(sqlx::AssertSqlSafe(q))
            .fetch_all(&mut conn)
            .await
            .unwrap()
        {
            let k: String = r.get(0);
            pg.insert(
                k,
                (1..=t.columns.len())
                    .map(|i| r.get::<Option<String>, _>(i))
                    .collect(),
            );
        }
        let mut landed = 0usize;
        for row in rows {
            let stored_row = &kept[ti][&row.key];
            // Which hard values SQLite kept as written.
            let intact: Vec<bool> = row
                .values
                .iter()
                .zip(stored_row)
                .map(|(a, b)| same(a, b))
                .collect();
            for (label, _) in row.expect.iter().flatten() {
                cov.placed.insert(label.clone());
            }
            let key = target_key(t, row.key);
            let fate_known = intact.iter().all(|ok| *ok) || row.refused.is_none();
            match (&row.refused, pg.get(&key)) {
                // A value SQLite changed on the way in may change a refused row's fate.
                (Some(_), landed_row) if !fate_known => {
                    if landed_row.is_some() {
                        landed += 1;
                    } else {
                        expected_rows_out.insert((t.name.clone(), row.key));
                    }
                }
                (Some(col), None) => {
                    expected_rows_out.insert((t.name.clone(), row.key));
                    prop_assert!(
                        rows_out.contains(&(t.name.clone(), row.key)),
                        "{} {}: refused for {col} but not in the reject file",
                        t.name,
                        row.key
                    );
                    let blamed = rejects
                        .iter()
                        .find(|r| r.table == t.name && r.legacy_key == Some(row.key))
                        .unwrap();
                    // The target column, or (for a point) the legacy column at fault.
                    let names: Vec<&String> = t
                        .col(col)
                        .map(|c| std::iter::once(&c.target).chain(&c.legacy).collect())
                        .unwrap_or_default();
                    prop_assert!(
                        names.contains(&&blamed.column),
                        "{} {}: the reject names {} instead of {col}",
                        t.name,
                        row.key,
                        blamed.column
                    );
                    for (label, o) in row.expect.iter().flatten() {
                        if *o == Outcome::Refused {
                            cov.exercised.insert(label.clone());
                        }
                    }
                }
                (Some(col), Some(_)) => prop_assert!(
                    false,
                    "{} {}: {col} should have been refused, but the row landed",
                    t.name,
                    row.key
                ),
                (None, None) => {
                    prop_assert!(
                        !intact.iter().all(|ok| *ok),
                        "{} {} vanished: {:?}",
                        t.name,
                        row.key,
                        rejects
                            .iter()
                            .find(|r| r.table == t.name && r.legacy_key == Some(row.key))
                    );
                    expected_rows_out.insert((t.name.clone(), row.key));
                }
                (None, Some(cells_pg)) => {
                    landed += 1;
                    let exported = &back[ti].get(&row.key).ok_or_else(|| {
                        TestCaseError::fail(format!("{} {} not exported", t.name, row.key))
                    })?;
                    for (ci, c) in t.columns.iter().enumerate() {
                        let lp = legacy_pos[ci];
                        match &row.expect[lp] {
                            Some((
                                label,
                                Outcome::Lands {
                                    pg: want_pg,
                                    back: want_back,
                                },
                            )) if intact[lp] && (c.legacy.len() == 1 || intact[lp + 1]) => {
                                prop_assert_eq!(
                                    &cells_pg[ci],
                                    want_pg,
                                    "{} {} {}: {}: PostgreSQL holds",
                                    t.name,
                                    row.key,
                                    c.target,
                                    label
                                );
                                prop_assert!(
                                    same(&exported[lp], &as_l(want_back)),
                                    "{} {} {}: {}: exported {:?}, want {:?}",
                                    t.name,
                                    row.key,
                                    c.target,
                                    label,
                                    exported[lp],
                                    want_back
                                );
                                if c.rule == Rule::Point && want_pg.is_some() {
                                    prop_assert!(
                                        same(&exported[lp + 1], &row.values[lp + 1]),
                                        "{} {}: longitude back",
                                        t.name,
                                        row.key
                                    );
                                }
                                if row.nulled.contains(&c.target) {
                                    prop_assert!(
                                        cells.contains(&(
                                            t.name.clone(),
                                            row.key,
                                            c.target.clone()
                                        )),
                                        "{} {} {}: a NULLed cell must be recorded",
                                        t.name,
                                        row.key,
                                        c.target
                                    );
                                }
                                cov.exercised.insert(label.clone());
                            }
                            Some(_) => {}
                            None => {
                                // Keys, references, plain values: back exactly as written.
                                if intact[lp] {
                                    prop_assert!(
                                        same(&exported[lp], &row.values[lp]),
                                        "{} {} {}: exported {:?}, written {:?}",
                                        t.name,
                                        row.key,
                                        c.target,
                                        exported[lp],
                                        row.values[lp]
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        prop_assert_eq!(
            landed as u64 + rows_out.iter().filter(|(n, _)| *n == t.name).count() as u64,
            kept[ti].len() as u64,
            "{}: every legacy row lands or is rejected",
            t.name
        );
        prop_assert_eq!(
            pg.len(),
            landed,
            "{}: nothing else is in the target",
            t.name
        );
    }
    prop_assert_eq!(
        &rows_out,
        &expected_rows_out,
        "exactly the refused rows are rejected"
    );
    drop(conn);
    Ok(())
}

fn ledger_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/apps/ledger")
}

/// Run the property for `app`: `cases` datasets (id bases beyond i32 and
/// negative, rotations of which row holds which value).
fn property(app: App, name: &str, require_all: bool) {
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = rt.block_on(support::native());
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/integration/roundtrip.proptest-regressions"
        )))),
        ..Config::default()
    });
    let cov = std::cell::RefCell::new(Coverage::default());
    let n = std::cell::Cell::new(0);
    let strategy = (
        prop_oneof![
            Just(1i64),
            Just(3_000_000_000i64),
            Just(-50i64),
            Just(i64::MAX - 10_000)
        ],
        0usize..16,
    );
    let result = runner.run(&strategy, |(id_base, rotate)| {
        n.set(n.get() + 1);
        let db = format!("rt_{name}_{}", n.get());
        rt.block_on(one_case(
            &app,
            &c,
            &db,
            id_base,
            rotate,
            &mut cov.borrow_mut(),
        ))
    });
    rt.block_on(c.shutdown()).unwrap();
    if let Err(e) = result {
        panic!("{e}");
    }
    let cov = cov.into_inner();
    assert!(!cov.placed.is_empty(), "no hard value was placed");
    let missing: Vec<&String> = cov.placed.difference(&cov.exercised).collect();
    eprintln!(
        "{name}: {} hard values placed, {} exercised; not exercised (SQLite's column affinity changed them first): {missing:?}",
        cov.placed.len(),
        cov.exercised.len()
    );
    if require_all {
        assert!(
            missing.is_empty(),
            "{name}: hard values never exercised: {missing:?}"
        );
    } else {
        assert!(
            cov.exercised.len() * 2 >= cov.placed.len(),
            "{name}: fewer than half the hard values were exercised"
        );
    }
}

/// Property: a hand-written app with every rule, awkward names, a composite
/// key, a table without a key, a reference within a table and an
/// `on_bad = "null"` column round-trips every hard value as the oracle says.
#[test]
fn round_trip_keeps_every_accepted_value_of_an_app_written_by_hand() {
    let app = App::load(&ledger_dir()).expect("the ledger folder loads");
    property(app, "ledger", true);
}

/// Property: the same for the reference app's folder.
#[test]
fn round_trip_keeps_every_accepted_value_of_the_reference_app() {
    let app = harness::reference::app(None).unwrap();
    property(app, "portal", false);
}
