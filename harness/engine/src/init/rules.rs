//! Choose a conversion [`Rule`] for a column from its declared type and its
//! values, and write the evidence that says why.
//!
//! The declared type is read the way SQLite reads it (its affinity rules,
//! so a typo like `INTEGR` still has INTEGER affinity and `TXT` NUMERIC),
//! and gives a first guess. The values then have the last word: a guess
//! the values mostly refuse gives way to the rule the values fit, and a
//! plain TEXT or INTEGER column whose values are all JSON, timestamps or
//! 0/1 flags gets the more precise rule. The evidence states the shares it
//! saw, the rule, why, and how many values the rule will reject.

use super::profile::{Profile, Shape, Tally};
use crate::app::{mapping::rule_name, Rule};

/// Values a rule must accept, as a share of the non-NULL values, for the
/// values alone to choose it.
const VALUES_DECIDE: f64 = 0.9;

/// SQLite's column affinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

impl Affinity {
    fn name(self) -> &'static str {
        match self {
            Affinity::Integer => "INTEGER",
            Affinity::Text => "TEXT",
            Affinity::Blob => "BLOB (none)",
            Affinity::Real => "REAL",
            Affinity::Numeric => "NUMERIC",
        }
    }
}

/// A declared type, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    /// As written, trimmed.
    pub text: String,
    pub affinity: Affinity,
    /// A type name SQLite's documentation or common ORMs use.
    pub known: bool,
    /// The rule the declared type suggests, if any.
    pub hint: Option<Rule>,
    /// What to tell the user about the declared type itself.
    pub note: Option<String>,
}

const KNOWN: &[&str] = &[
    "INT",
    "INTEGER",
    "TINYINT",
    "SMALLINT",
    "MEDIUMINT",
    "BIGINT",
    "UNSIGNED BIG INT",
    "INT2",
    "INT4",
    "INT8",
    "CHARACTER",
    "CHAR",
    "VARCHAR",
    "VARYING CHARACTER",
    "CHARACTER VARYING",
    "NCHAR",
    "NATIVE CHARACTER",
    "NVARCHAR",
    "TEXT",
    "CLOB",
    "BLOB",
    "REAL",
    "DOUBLE",
    "DOUBLE PRECISION",
    "FLOAT",
    "NUMERIC",
    "DECIMAL",
    "BOOLEAN",
    "BOOL",
    "DATE",
    "DATETIME",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "TIME",
    "JSON",
    "JSONB",
    "UUID",
    "ANY",
];

const CHAR_TYPES: &[&str] = &[
    "CHARACTER",
    "CHAR",
    "VARCHAR",
    "VARYING CHARACTER",
    "CHARACTER VARYING",
    "NCHAR",
    "NATIVE CHARACTER",
    "NVARCHAR",
];

/// SQLite's affinity of a declared type (section 3.1 of its datatype doc).
pub fn affinity(decl: &str) -> Affinity {
    let u = decl.to_ascii_uppercase();
    if u.contains("INT") {
        Affinity::Integer
    } else if u.contains("CHAR") || u.contains("CLOB") || u.contains("TEXT") {
        Affinity::Text
    } else if u.contains("BLOB") || u.trim().is_empty() {
        Affinity::Blob
    } else if u.contains("REAL") || u.contains("FLOA") || u.contains("DOUB") {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

/// Read a declared type.
pub fn declared(decl: &str) -> Declared {
    let text = decl.trim().to_string();
    let aff = affinity(&text);
    let upper = text.to_ascii_uppercase();
    let (base, args) = match upper.find('(') {
        Some(open) => {
            let inner = upper[open + 1..].trim_end().trim_end_matches(')');
            let args: Vec<Option<u64>> = inner
                .split(',')
                .map(|a| a.trim().parse::<u64>().ok())
                .collect();
            (upper[..open].to_string(), args)
        }
        None => (upper.clone(), Vec::new()),
    };
    let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    let known = base.is_empty() || KNOWN.contains(&base.as_str());
    let nums: Option<Vec<u64>> = args.iter().copied().collect();
    let mut note = None;
    let hint = if base.is_empty() {
        note = Some("no declared type (SQLite keeps each value as it was written)".to_string());
        None
    } else if base.starts_with("BOOL") {
        Some(Rule::Boolean)
    } else if base == "TIME" {
        note = Some(
            "declared TIME (a time of day): no rule makes a PostgreSQL time; drafted from the values"
                .to_string(),
        );
        None
    } else if base.contains("TIME") {
        Some(Rule::Timestamptz {
            unknown_is_bad: false,
        })
    } else if base == "DATE" {
        Some(Rule::Date {
            unknown_is_bad: false,
        })
    } else if base.starts_with("JSON") {
        Some(Rule::Jsonb)
    } else if base == "DECIMAL" || base == "NUMERIC" {
        match nums.as_deref() {
            Some([p]) if (1..=255).contains(p) => Some(Rule::Numeric {
                precision: *p as u8,
                scale: 0,
            }),
            Some([p, s]) if (1..=255).contains(p) && s <= p => Some(Rule::Numeric {
                precision: *p as u8,
                scale: *s as u8,
            }),
            _ => {
                note = Some(format!(
                    "declared {text} without a precision and scale: if it holds money, use rule = \"numeric\" with precision and scale"
                ));
                None
            }
        }
    } else if CHAR_TYPES.contains(&base.as_str()) {
        match nums.as_deref() {
            Some([n]) if (1..=10_485_760).contains(n) => Some(Rule::Text {
                max_chars: Some(*n as u32),
            }),
            _ => Some(Rule::Text { max_chars: None }),
        }
    } else if base == "BLOB" || base == "BYTEA" {
        Some(Rule::Bytea)
    } else {
        match aff {
            Affinity::Integer => Some(Rule::Integer),
            Affinity::Text => Some(Rule::Text { max_chars: None }),
            Affinity::Real => Some(Rule::Float),
            Affinity::Blob | Affinity::Numeric => None,
        }
    };
    if !known && note.is_none() {
        note = Some(format!(
            "declared type {text:?} is not a type name SQLite knows (a typo?): SQLite gives it {} affinity, so the values decide",
            aff.name()
        ));
    }
    Declared {
        text,
        affinity: aff,
        known,
        hint,
        note,
    }
}

/// A name that reads as a flag.
pub fn booleanish(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    const PREFIX: &[&str] = &[
        "is_", "has_", "can_", "should_", "was_", "allow", "enable", "disable", "use_", "show_",
    ];
    const WORDS: &[&str] = &[
        "active",
        "enabled",
        "disabled",
        "deleted",
        "archived",
        "visible",
        "hidden",
        "verified",
        "confirmed",
        "approved",
        "published",
        "flag",
        "locked",
        "blocked",
        "done",
        "paid",
    ];
    PREFIX.iter().any(|p| n.starts_with(p))
        || n.ends_with("_flag")
        || WORDS
            .iter()
            .any(|w| n == *w || n.ends_with(&format!("_{w}")))
}

/// A name that reads as a point in time.
pub fn timeish(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with("_at")
        || n.ends_with("_on")
        || n.ends_with("_ts")
        || n == "ts"
        || n.contains("time")
        || n.contains("date")
        || n.contains("created")
        || n.contains("updated")
        || n.contains("modified")
        || n.contains("expires")
        || n.ends_with("_when")
}

/// The chosen rule and the evidence for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub rule: Rule,
    pub evidence: String,
    /// Values the rule will reject (in the rows looked at).
    pub rejected: u64,
}

/// What the values alone say, and a few words on why.
fn values_rule(name: &str, p: &Profile, time_context: bool) -> Option<(Rule, &'static str)> {
    let n = p.non_null();
    if n == 0 {
        return None;
    }
    let most = |k: u64| k as f64 >= VALUES_DECIDE * n as f64;
    let acc = |r: &Rule| p.tally(r).map_or(0, Tally::accepted);
    if most(p.count(Shape::Blob)) {
        return Some((Rule::Bytea, "the values are BLOBs"));
    }
    // 0/1 (or t/f, y/n) make a flag only under a flag's name; the words
    // true/false/yes/no make one under any name.
    if most(acc(&Rule::Boolean)) && (booleanish(name) || most(p.count(Shape::TextBool))) {
        return Some((Rule::Boolean, "the values are flags"));
    }
    let iso_ts = p.count(Shape::TextIsoTimestamp);
    let iso_date = p.count(Shape::TextIsoDate);
    let epochs = p.count_where(Shape::is_epoch);
    let unknown = p.count(Shape::IntZero) + p.count(Shape::TextEmpty);
    let timelike = iso_ts + iso_date + if time_context { epochs + unknown } else { 0 };
    if iso_ts + iso_date + epochs > 0 && most(timelike) {
        let all_dates = iso_ts == 0 && (epochs == 0 || !time_context);
        return Some(if all_dates {
            (
                Rule::Date {
                    unknown_is_bad: false,
                },
                "the values are ISO dates",
            )
        } else {
            (
                Rule::Timestamptz {
                    unknown_is_bad: false,
                },
                "the values are timestamps",
            )
        });
    }
    if most(p.count(Shape::TextJsonObject) + p.count(Shape::TextJsonArray)) {
        return Some((Rule::Jsonb, "the values are JSON objects or arrays"));
    }
    let ints =
        p.count_where(Shape::is_int) + p.count(Shape::RealIntegral) + p.count(Shape::RealZeroOne);
    if most(ints) {
        return Some((narrow(p), "the values are integers"));
    }
    if most(p.count_where(|s| s.is_int() || s.is_real())) {
        return Some((Rule::Float, "the values are numbers"));
    }
    if most(p.count(Shape::TextBad)) {
        return Some((Rule::Bytea, "the values are bytes that are not valid text"));
    }
    Some((Rule::Text { max_chars: None }, "the values are text"))
}

/// `integer` when every integer the values hold fits i32, else `bigint`.
fn narrow(p: &Profile) -> Rule {
    let beyond = p
        .tally(&Rule::Integer)
        .and_then(|t| {
            t.bad
                .iter()
                .find(|(why, _)| why.contains("beyond"))
                .map(|(_, n)| *n)
        })
        .unwrap_or(0);
    if beyond > 0 {
        Rule::Bigint
    } else {
        Rule::Integer
    }
}

/// Whether the values may refine a declared type's rule without the
/// declared rule failing (a TEXT column of JSON is still a JSON column).
fn refines(declared: &Rule, values: &Rule, name: &str) -> bool {
    match declared {
        Rule::Text { .. } => matches!(
            values,
            Rule::Jsonb | Rule::Timestamptz { .. } | Rule::Date { .. } | Rule::Boolean
        ),
        Rule::Integer | Rule::Bigint => {
            matches!(values, Rule::Boolean)
                || (timeish(name) && matches!(values, Rule::Timestamptz { .. }))
        }
        _ => false,
    }
}

/// Choose the rule for one column.
pub fn choose(name: &str, decl: &Declared, p: &Profile, total_rows: u64) -> Choice {
    let n = p.non_null();
    let mut notes: Vec<String> = Vec::new();
    if let Some(note) = &decl.note {
        notes.push(note.clone());
    }
    let time_hint = matches!(
        decl.hint,
        Some(Rule::Timestamptz { .. } | Rule::Date { .. })
    );
    let values = values_rule(name, p, time_hint || timeish(name));
    let hint = decl.hint.clone().map(|h| match h {
        Rule::Integer => narrow(p),
        h => h,
    });
    let rule = match (hint, values) {
        (None, None) => {
            notes.push(format!("SQLite gives it {} affinity", decl.affinity.name()));
            match decl.affinity {
                Affinity::Integer => Rule::Bigint,
                Affinity::Real => Rule::Float,
                _ => Rule::Text { max_chars: None },
            }
        }
        (Some(h), None) => {
            notes.push(format!("from the declared type {}", decl.text));
            match h {
                // SQLite integers are 64-bit: without values, keep them all.
                Rule::Integer => Rule::Bigint,
                h => h,
            }
        }
        (None, Some((v, _))) => v,
        (Some(h), Some((v, why))) => {
            let acc = p.tally(&h).map_or(n, Tally::accepted);
            if v != h && refines(&h, &v, name) && values_fit(p, &v) {
                notes.push(format!("declared {}, but {why}: the values win", decl.text));
                v
            } else if acc * 2 >= n {
                h
            } else {
                notes.push(format!(
                    "declared {}, but only {} of the values fit {}: the values win",
                    decl.text,
                    pct(acc, n),
                    rule_name(&h)
                ));
                v
            }
        }
    };
    evidence(rule, p, total_rows, notes)
}

fn values_fit(p: &Profile, r: &Rule) -> bool {
    let n = p.non_null();
    p.tally(r)
        .is_some_and(|t| t.accepted() as f64 >= VALUES_DECIDE * n as f64)
}

/// The evidence for `rule` over `p`, with `notes` after the shares.
pub fn evidence(rule: Rule, p: &Profile, total_rows: u64, mut notes: Vec<String>) -> Choice {
    let tally = p.tally(&rule).cloned().unwrap_or_default();
    let rejected = tally.bad_total();
    if rejected > 0 {
        let reasons: Vec<(&str, u64)> = tally.bad.iter().map(|(k, v)| (*k, *v)).collect();
        let are = plural(rejected, "is", "are");
        let what = if let [(why, _)] = reasons.as_slice() {
            format!("{are} {why}")
        } else {
            let parts: Vec<String> = reasons.iter().map(|(w, k)| format!("{k} {w}")).collect();
            format!("{are} not accepted ({})", parts.join(", "))
        };
        notes.push(format!(
            "{rejected} {} ({}) {what}: {} will be rejected; set on_bad = \"null\" to keep the rows",
            plural(rejected, "value", "values"),
            pct(rejected, p.scanned),
            plural(rejected, "it", "they")
        ));
    }
    if tally.unknown > 0 {
        notes.push(format!(
            "{} {} 0 or '' (\"unknown\"): NULL in PostgreSQL (rejected where the column is NOT NULL)",
            tally.unknown,
            plural(tally.unknown, "value is", "values are")
        ));
    }
    if let Rule::Text { max_chars } = &rule {
        if p.non_null() > 0 {
            let s = if p.max_chars == 1 { "" } else { "s" };
            notes.push(format!("longest value {} character{s}", p.max_chars));
        }
        let lists = p.count(Shape::TextList);
        if max_chars.is_none() && lists > 0 && lists * 2 >= p.non_null() {
            notes.push(format!(
                "{} look like comma lists: rule = \"text_array\" would make a text[]",
                pct(lists, p.non_null())
            ));
        }
    }
    if matches!(rule, Rule::Integer | Rule::Bigint)
        && p.non_null() > 0
        && p.count(Shape::IntZero) + p.count(Shape::IntOne) == p.non_null()
    {
        notes.push("every value is 0 or 1: if this is a flag, use rule = \"boolean\"".into());
    }
    if let Rule::Bytea = rule {
        if p.max_blob > 0 {
            notes.push(format!("largest BLOB {} bytes", p.max_blob));
        }
    }
    let text = format!(
        "{}: {} -> {}",
        rows_head(p.scanned, total_rows),
        shares(&rule, p),
        describe(&rule)
    );
    let evidence = if notes.is_empty() {
        text
    } else {
        format!("{text}. {}", notes.join(". "))
    };
    Choice {
        rule,
        evidence,
        rejected,
    }
}

/// "1000 rows" or "200000 of 5000000 rows (the first, in key order)".
pub fn rows_head(scanned: u64, total: u64) -> String {
    if scanned < total {
        format!("{scanned} of {total} rows (the first, in key order)")
    } else {
        format!("{total} rows")
    }
}

/// A rule as the evidence names it.
pub fn describe(rule: &Rule) -> String {
    match rule {
        Rule::Text { max_chars: Some(n) } => format!("text (varchar({n}))"),
        Rule::Numeric { precision, scale } => format!("numeric({precision},{scale})"),
        Rule::Ref { table } => format!("ref to {table}"),
        Rule::Float => "float (double precision)".into(),
        r => rule_name(r).into(),
    }
}

/// "99.2 % ISO text, 0.8 % epoch ms", largest first.
pub fn shares(rule: &Rule, p: &Profile) -> String {
    if p.scanned == 0 {
        return "no values to look at".into();
    }
    let mut by_label: Vec<(&'static str, u64)> = Vec::new();
    for (s, n) in &p.shapes {
        let l = label(rule, *s);
        match by_label.iter_mut().find(|(k, _)| *k == l) {
            Some((_, c)) => *c += n,
            None => by_label.push((l, *n)),
        }
    }
    by_label.sort_by_key(|b| std::cmp::Reverse(b.1));
    by_label
        .iter()
        .map(|(l, n)| format!("{} {l}", pct(*n, p.scanned)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `one` when `n` is 1, else `many`: "1 value is", "3 values are".
pub fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// A share as "12.3 %"; never rounds a part to 0 or to the whole.
pub fn pct(n: u64, of: u64) -> String {
    if of == 0 {
        return "0 %".into();
    }
    let v = n as f64 * 100.0 / of as f64;
    if n > 0 && v < 0.05 {
        "<0.1 %".into()
    } else if n < of && v >= 99.95 {
        ">99.9 %".into()
    } else {
        format!("{v:.1} %")
    }
}

/// What a shape is called in the evidence for a rule.
fn label(rule: &Rule, s: Shape) -> &'static str {
    use Shape::*;
    if s == Null {
        return "NULL";
    }
    match rule {
        Rule::Timestamptz { .. } | Rule::Date { .. } => match s {
            TextIsoTimestamp => "ISO text",
            TextIsoDate => "ISO date text",
            IntEpochS => "epoch s",
            IntEpochMs => "epoch ms",
            IntEpochUs => "epoch us",
            IntZero => "0 (unknown)",
            TextEmpty => "'' (unknown)",
            RealJulian => "Julian day",
            IntOne | Int32 | Int64 => "other integers",
            RealZeroOne | RealIntegral | Real => "other REALs",
            TextInt | TextReal => "numeric text",
            Blob => "BLOB",
            _ => "other text",
        },
        Rule::Boolean => match s {
            IntZero | IntOne | RealZeroOne => "0/1",
            TextBool => "boolean words",
            TextInt => "numeric text",
            _ if s.is_int() => "other integers",
            _ if s.is_real() => "other REALs",
            Blob => "BLOB",
            _ => "other text",
        },
        Rule::Integer | Rule::Bigint | Rule::Key { .. } | Rule::Ref { .. } => match s {
            _ if s.is_int() => "integer",
            RealZeroOne | RealIntegral => "integral REAL",
            RealJulian | Real => "REAL with a fraction",
            TextInt => "integer text",
            Blob => "BLOB",
            _ => "other text",
        },
        Rule::Float | Rule::Numeric { .. } => match s {
            _ if s.is_int() => "integer",
            _ if s.is_real() => "REAL",
            TextInt | TextReal => "numeric text",
            Blob => "BLOB",
            _ => "other text",
        },
        Rule::Jsonb => match s {
            TextJsonObject => "JSON object",
            TextJsonArray => "JSON array",
            _ if s.is_int() || s.is_real() => "number",
            TextInt | TextReal => "numeric text",
            Blob => "BLOB",
            _ => "other text",
        },
        Rule::Bytea => match s {
            Blob => "BLOB",
            _ if s.is_text() => "text",
            _ => "number",
        },
        _ => match s {
            _ if s.is_int() => "integer",
            _ if s.is_real() => "REAL",
            TextBad => "invalid text",
            Blob => "BLOB",
            _ => "text",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_follows_sqlite() {
        assert_eq!(affinity("INTEGR"), Affinity::Integer);
        assert_eq!(affinity("TXT"), Affinity::Numeric);
        assert_eq!(affinity("DATTIME"), Affinity::Numeric);
        assert_eq!(affinity(""), Affinity::Blob);
        assert_eq!(affinity("VARCHAR(10)"), Affinity::Text);
        assert_eq!(affinity("FLOATING POINT"), Affinity::Integer); // "POINT" has INT
        assert_eq!(affinity("DOUBLE"), Affinity::Real);
    }

    #[test]
    fn declared_types_give_hints() {
        assert_eq!(
            declared("varchar( 40 )").hint,
            Some(Rule::Text {
                max_chars: Some(40)
            })
        );
        assert_eq!(
            declared("DECIMAL(10,2)").hint,
            Some(Rule::Numeric {
                precision: 10,
                scale: 2
            })
        );
        assert_eq!(declared("DECIMAL").hint, None);
        assert!(matches!(
            declared("DATTIME").hint,
            Some(Rule::Timestamptz { .. })
        ));
        assert!(!declared("DATTIME").known);
        assert!(declared("INTEGR")
            .note
            .unwrap()
            .contains("INTEGER affinity"));
        assert_eq!(declared("BOOLEAN").hint, Some(Rule::Boolean));
        assert_eq!(declared("REAL").hint, Some(Rule::Float));
    }

    #[test]
    fn shares_never_round_to_nothing() {
        assert_eq!(pct(1, 10_000), "<0.1 %");
        assert_eq!(pct(9_999, 10_000), ">99.9 %");
        assert_eq!(pct(992, 1000), "99.2 %");
    }
}
