//! What the values of each column look like: how many are NULL, which
//! storage classes they use, which shapes of text (ISO timestamps, JSON,
//! numbers, booleans, lists), which ranges of integers (0/1, plausible
//! epochs), and, for every candidate rule, how many values that rule would
//! accept and why it would refuse the others.
//!
//! The acceptance test ([`check`]) uses the migration engine's own parsers
//! ([`crate::migrate::convert`]) for timestamps, dates, JSON and lists, and
//! mirrors its rules for the rest, so a share in a draft's evidence is the
//! share the migration will actually move.
//!
//! A table is scanned once, all columns together, in key order, up to
//! [`SAMPLE_ROWS`] rows; the evidence says how many rows were looked at.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::app::{quote, Rule};
use crate::migrate::convert::{self, Raw};

/// At most this many rows of a table are looked at.
pub const SAMPLE_ROWS: u64 = 200_000;

/// Plausible epochs: 1980-01-01 .. 2100-01-01 in seconds.
const EPOCH_S: std::ops::Range<i64> = 315_532_800..4_102_444_800;
/// Julian days of the same span.
const JULIAN: std::ops::Range<f64> = 2_444_239.5..2_488_069.5;

/// The shape of one value; every value has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    Null,
    IntZero,
    IntOne,
    IntEpochS,
    IntEpochMs,
    IntEpochUs,
    Int32,
    Int64,
    RealZeroOne,
    RealJulian,
    RealIntegral,
    Real,
    TextIsoTimestamp,
    TextIsoDate,
    TextInt,
    TextReal,
    TextJsonObject,
    TextJsonArray,
    TextBool,
    TextEmpty,
    TextList,
    Text,
    /// NUL bytes or invalid UTF-8.
    TextBad,
    Blob,
}

impl Shape {
    pub fn is_int(self) -> bool {
        matches!(
            self,
            Shape::IntZero
                | Shape::IntOne
                | Shape::IntEpochS
                | Shape::IntEpochMs
                | Shape::IntEpochUs
                | Shape::Int32
                | Shape::Int64
        )
    }

    pub fn is_real(self) -> bool {
        matches!(
            self,
            Shape::RealZeroOne | Shape::RealJulian | Shape::RealIntegral | Shape::Real
        )
    }

    pub fn is_text(self) -> bool {
        matches!(
            self,
            Shape::TextIsoTimestamp
                | Shape::TextIsoDate
                | Shape::TextInt
                | Shape::TextReal
                | Shape::TextJsonObject
                | Shape::TextJsonArray
                | Shape::TextBool
                | Shape::TextEmpty
                | Shape::TextList
                | Shape::Text
                | Shape::TextBad
        )
    }

    pub fn is_epoch(self) -> bool {
        matches!(
            self,
            Shape::IntEpochS | Shape::IntEpochMs | Shape::IntEpochUs | Shape::RealJulian
        )
    }
}

/// The shape of a value.
pub fn shape(raw: &Raw) -> Shape {
    match raw {
        Raw::Null => Shape::Null,
        Raw::Int(0) => Shape::IntZero,
        Raw::Int(1) => Shape::IntOne,
        Raw::Int(v) => {
            let v = *v;
            if EPOCH_S.contains(&v) {
                Shape::IntEpochS
            } else if v.checked_div(1_000).is_some_and(|s| EPOCH_S.contains(&s)) {
                Shape::IntEpochMs
            } else if v
                .checked_div(1_000_000)
                .is_some_and(|s| EPOCH_S.contains(&s))
            {
                Shape::IntEpochUs
            } else if i32::try_from(v).is_ok() {
                Shape::Int32
            } else {
                Shape::Int64
            }
        }
        Raw::Real(f) => {
            if *f == 0.0 || *f == 1.0 {
                Shape::RealZeroOne
            } else if JULIAN.contains(f) {
                Shape::RealJulian
            } else if f.is_finite() && f.fract() == 0.0 {
                Shape::RealIntegral
            } else {
                Shape::Real
            }
        }
        Raw::Blob(_) => Shape::Blob,
        Raw::Text(bytes) => {
            let Ok(s) = std::str::from_utf8(bytes) else {
                return Shape::TextBad;
            };
            if s.contains('\0') {
                return Shape::TextBad;
            }
            text_shape(s)
        }
    }
}

fn text_shape(s: &str) -> Shape {
    let t = s.trim();
    if t.is_empty() {
        return Shape::TextEmpty;
    }
    if t.parse::<i64>().is_ok() {
        return Shape::TextInt;
    }
    if t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && t.parse::<f64>().is_ok_and(f64::is_finite)
    {
        return Shape::TextReal;
    }
    // Whole words only: a lone `n` or `f` is as likely a code as a flag.
    if matches!(
        t.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no"
    ) {
        return Shape::TextBool;
    }
    let b = t.as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit) {
        if let Ok(Some(_)) = convert::parse_timestamp_text(t) {
            return if t.len() == 10 {
                Shape::TextIsoDate
            } else {
                Shape::TextIsoTimestamp
            };
        }
    }
    if (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']')) {
        if let Ok(v) = convert::parse_json(t) {
            if v.is_object() {
                return Shape::TextJsonObject;
            }
            if v.is_array() {
                return Shape::TextJsonArray;
            }
        }
    }
    if t.contains(',') {
        return Shape::TextList;
    }
    Shape::Text
}

/// What a rule does with one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// A timestamp or date that means "unknown" (`0`, `''`): NULL, counted.
    Unknown,
    /// Rejected, with the kind of value and why.
    Bad(&'static str),
}

fn utf8(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|s| !s.contains('\0'))
}

fn int_text(bytes: &[u8]) -> Option<i64> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

fn int_check(raw: &Raw, narrow: bool) -> Verdict {
    let v = match raw {
        Raw::Int(i) => *i,
        Raw::Real(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => *f as i64,
        Raw::Real(_) => return Verdict::Bad("REALs with a fraction that are not an integer"),
        Raw::Text(t) => match int_text(t) {
            Some(i) => i,
            None => return Verdict::Bad("text that is not an integer"),
        },
        Raw::Blob(_) => return Verdict::Bad("BLOBs that are not an integer"),
        Raw::Null => return Verdict::Ok,
    };
    if narrow && i32::try_from(v).is_err() {
        return Verdict::Bad("integers beyond the integer (i32) range");
    }
    Verdict::Ok
}

/// Whether `rule` accepts a non-NULL value, as the migration decides it.
pub fn check(rule: &Rule, raw: &Raw) -> Verdict {
    if matches!(raw, Raw::Null) {
        return Verdict::Ok;
    }
    match rule {
        Rule::Key { .. } | Rule::Ref { .. } | Rule::RecordRef { .. } => match raw {
            Raw::Int(_) => Verdict::Ok,
            Raw::Text(t) if int_text(t).is_some() => Verdict::Ok,
            Raw::Text(_) => Verdict::Bad("text that is not an integer id"),
            Raw::Real(_) => Verdict::Bad("REALs that are not an integer id"),
            _ => Verdict::Bad("BLOBs that are not an integer id"),
        },
        Rule::Integer => int_check(raw, true),
        Rule::Bigint => int_check(raw, false),
        Rule::Float => match raw {
            Raw::Int(_) => Verdict::Ok,
            Raw::Real(f) if f.is_finite() => Verdict::Ok,
            Raw::Real(_) => Verdict::Bad("REALs that are not finite"),
            Raw::Text(t) => match utf8(t).map(|s| s.trim().parse::<f64>()) {
                Some(Ok(f)) if f.is_finite() => Verdict::Ok,
                _ => Verdict::Bad("text that is not a number"),
            },
            _ => Verdict::Bad("BLOBs that are not a number"),
        },
        Rule::Numeric { precision, scale } => {
            let text = match raw {
                Raw::Int(i) => i.to_string(),
                Raw::Real(f) if f.is_finite() => format!("{f}"),
                Raw::Real(_) => return Verdict::Bad("REALs that are not finite"),
                Raw::Text(t) => match utf8(t) {
                    Some(s) => s.to_string(),
                    None => return Verdict::Bad("text with NUL bytes or invalid UTF-8"),
                },
                _ => return Verdict::Bad("BLOBs that are not a number"),
            };
            match convert::parse_decimal(&text, *precision, *scale) {
                Ok(_) => Verdict::Ok,
                Err(why) if why.contains("not a decimal") => {
                    Verdict::Bad("text that is not a number")
                }
                Err(_) => Verdict::Bad("numbers with more digits than the declared precision"),
            }
        }
        Rule::Boolean => {
            let ok = match raw {
                Raw::Int(i) => *i == 0 || *i == 1,
                Raw::Real(f) => *f == 0.0 || *f == 1.0,
                Raw::Text(t) => utf8(t).is_some_and(|s| {
                    matches!(
                        s.trim().to_ascii_lowercase().as_str(),
                        "true" | "t" | "yes" | "y" | "1" | "false" | "f" | "no" | "n" | "0"
                    )
                }),
                _ => false,
            };
            if ok {
                Verdict::Ok
            } else {
                match raw {
                    Raw::Int(_) | Raw::Real(_) => Verdict::Bad("numbers other than 0 and 1"),
                    Raw::Text(_) => Verdict::Bad("text that is not a boolean word"),
                    _ => Verdict::Bad("BLOBs that are not a boolean"),
                }
            }
        }
        Rule::Timestamptz { unknown_is_bad } => time_verdict(
            convert::timestamp(raw).map(|v| v.is_some()),
            raw,
            *unknown_is_bad,
        ),
        Rule::Date { unknown_is_bad } => match convert::date(raw) {
            Err(why) if why.contains("time of day") => Verdict::Bad(
                "timestamps with a time of day (a date column keeps midnight UTC only)",
            ),
            r => time_verdict(r.map(|v| v.is_some()), raw, *unknown_is_bad),
        },
        Rule::Jsonb => match raw {
            Raw::Int(_) => Verdict::Ok,
            Raw::Real(f) if f.is_finite() => Verdict::Ok,
            Raw::Text(t) => match utf8(t).map(convert::parse_json) {
                Some(Ok(_)) => Verdict::Ok,
                _ => Verdict::Bad("text that is not valid JSON"),
            },
            _ => Verdict::Bad("BLOBs that are not JSON"),
        },
        Rule::TextArray { .. } => match raw {
            Raw::Int(_) | Raw::Real(_) => Verdict::Ok,
            Raw::Text(t) | Raw::Blob(t) => match utf8(t).map(convert::parse_list) {
                Some(Ok(_)) => Verdict::Ok,
                Some(Err(_)) => Verdict::Bad("text that looks like a JSON list but is not one"),
                None => Verdict::Bad("text with NUL bytes or invalid UTF-8"),
            },
            Raw::Null => Verdict::Ok,
        },
        Rule::Text { max_chars } => {
            let n = match raw {
                Raw::Text(t) | Raw::Blob(t) => match utf8(t) {
                    Some(s) => s.chars().count(),
                    None => {
                        return Verdict::Bad(if matches!(raw, Raw::Blob(_)) {
                            "BLOBs that are not UTF-8 text"
                        } else {
                            "text with NUL bytes or invalid UTF-8"
                        })
                    }
                },
                Raw::Int(i) => i.to_string().len(),
                Raw::Real(f) => format!("{f:?}").len(),
                Raw::Null => 0,
            };
            match max_chars {
                Some(max) if n > *max as usize => {
                    Verdict::Bad("text longer than the declared length")
                }
                _ => Verdict::Ok,
            }
        }
        Rule::Bytea => match raw {
            Raw::Blob(_) | Raw::Text(_) => Verdict::Ok,
            _ => Verdict::Bad("numbers (a bytea column takes BLOBs or text)"),
        },
        Rule::Point => Verdict::Bad("values of a single column (a point needs two)"),
        Rule::Inet => match raw {
            Raw::Text(t) => match utf8(t).map(convert::canonical_inet) {
                Some(Ok(_)) => Verdict::Ok,
                _ => Verdict::Bad("text that is not an IP address"),
            },
            _ => Verdict::Bad("values that are not an address"),
        },
    }
}

fn time_verdict(r: Result<bool, String>, raw: &Raw, unknown_is_bad: bool) -> Verdict {
    match r {
        Ok(true) => Verdict::Ok,
        Ok(false) if unknown_is_bad => Verdict::Bad("'unknown' values (0 or '')"),
        Ok(false) => Verdict::Unknown,
        Err(_) => match raw {
            Raw::Text(_) => Verdict::Bad("text that is not a timestamp"),
            Raw::Int(_) | Raw::Real(_) => Verdict::Bad("numbers outside the years 1..9999"),
            _ => Verdict::Bad("BLOBs that are not a timestamp"),
        },
    }
}

/// How one candidate rule fares on a column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub ok: u64,
    pub unknown: u64,
    /// Refused values by reason.
    pub bad: BTreeMap<&'static str, u64>,
}

impl Tally {
    pub fn bad_total(&self) -> u64 {
        self.bad.values().sum()
    }

    /// Accepted, counting "unknown" (NULL by rule) as accepted.
    pub fn accepted(&self) -> u64 {
        self.ok + self.unknown
    }
}

/// The rules every column is tried with.
pub fn base_candidates() -> Vec<Rule> {
    vec![
        Rule::Integer,
        Rule::Bigint,
        Rule::Float,
        Rule::Boolean,
        Rule::Timestamptz {
            unknown_is_bad: false,
        },
        Rule::Date {
            unknown_is_bad: false,
        },
        Rule::Jsonb,
        Rule::Text { max_chars: None },
        Rule::Bytea,
        Rule::Key { uuid_tag: None },
    ]
}

/// One column's values.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Rows looked at.
    pub scanned: u64,
    pub shapes: BTreeMap<Shape, u64>,
    pub int_min: Option<i64>,
    pub int_max: Option<i64>,
    pub max_chars: usize,
    pub max_blob: usize,
    /// Candidate rules and how each fares, in the same order.
    pub candidates: Vec<(Rule, Tally)>,
}

impl Profile {
    fn new(candidates: Vec<Rule>) -> Profile {
        Profile {
            candidates: candidates
                .into_iter()
                .map(|r| (r, Tally::default()))
                .collect(),
            ..Profile::default()
        }
    }

    fn add(&mut self, raw: &Raw) {
        self.scanned += 1;
        let s = shape(raw);
        *self.shapes.entry(s).or_default() += 1;
        match raw {
            Raw::Null => return,
            Raw::Int(i) => {
                self.int_min = Some(self.int_min.map_or(*i, |m| m.min(*i)));
                self.int_max = Some(self.int_max.map_or(*i, |m| m.max(*i)));
            }
            Raw::Text(t) => {
                if let Ok(s) = std::str::from_utf8(t) {
                    self.max_chars = self.max_chars.max(s.chars().count());
                }
            }
            Raw::Blob(b) => self.max_blob = self.max_blob.max(b.len()),
            Raw::Real(_) => {}
        }
        for (rule, tally) in &mut self.candidates {
            match check(rule, raw) {
                Verdict::Ok => tally.ok += 1,
                Verdict::Unknown => tally.unknown += 1,
                Verdict::Bad(why) => *tally.bad.entry(why).or_default() += 1,
            }
        }
    }

    pub fn count(&self, s: Shape) -> u64 {
        self.shapes.get(&s).copied().unwrap_or(0)
    }

    pub fn count_where(&self, f: impl Fn(Shape) -> bool) -> u64 {
        self.shapes
            .iter()
            .filter(|(s, _)| f(**s))
            .map(|(_, n)| *n)
            .sum()
    }

    pub fn nulls(&self) -> u64 {
        self.count(Shape::Null)
    }

    pub fn non_null(&self) -> u64 {
        self.scanned - self.nulls()
    }

    /// How `rule` fares (`None` when it was not a candidate).
    pub fn tally(&self, rule: &Rule) -> Option<&Tally> {
        self.candidates
            .iter()
            .find(|(r, _)| same_rule(r, rule))
            .map(|(_, t)| t)
    }
}

/// Rules equal for acceptance (a ref accepts what a key accepts).
fn same_rule(a: &Rule, b: &Rule) -> bool {
    let id = |r: &Rule| matches!(r, Rule::Key { .. } | Rule::Ref { .. });
    (id(a) && id(b)) || a == b
}

/// The rows of `table` that are looked at: the first [`SAMPLE_ROWS`] in
/// key order (`order_by`, an SQLite expression), so every check sees the
/// same rows whatever index the planner would like to use.
pub fn sample_sql(select: &str, table: &str, order_by: &str) -> String {
    format!(
        "select {select} from {} order by {order_by} limit {SAMPLE_ROWS}",
        quote(table)
    )
}

/// Profile `columns` of `table` (legacy names), with per-column extra
/// candidate rules (declared varchar lengths, numeric precisions).
pub fn scan(
    conn: &Connection,
    table: &str,
    order_by: &str,
    columns: &[(String, Vec<Rule>)],
) -> rusqlite::Result<Vec<Profile>> {
    let mut profiles: Vec<Profile> = columns
        .iter()
        .map(|(_, extra)| {
            let mut c = base_candidates();
            c.extend(extra.iter().cloned());
            Profile::new(c)
        })
        .collect();
    if columns.is_empty() {
        return Ok(profiles);
    }
    let list: Vec<String> = columns.iter().map(|(c, _)| quote(c)).collect();
    let sql = sample_sql(&list.join(", "), table, order_by);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        for (i, p) in profiles.iter_mut().enumerate() {
            p.add(&Raw::from_ref(r.get_ref(i)?));
        }
    }
    Ok(profiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Raw {
        Raw::Text(s.as_bytes().to_vec())
    }

    #[test]
    fn shapes_tell_time_json_and_numbers_apart() {
        assert_eq!(shape(&text("2024-01-02 03:04:05")), Shape::TextIsoTimestamp);
        assert_eq!(
            shape(&text("2024-01-02T03:04:05Z")),
            Shape::TextIsoTimestamp
        );
        assert_eq!(shape(&text("2024-01-02")), Shape::TextIsoDate);
        assert_eq!(shape(&text(" 42 ")), Shape::TextInt);
        assert_eq!(shape(&text("4.5")), Shape::TextReal);
        assert_eq!(shape(&text("nan")), Shape::Text);
        assert_eq!(shape(&text("{\"a\":1}")), Shape::TextJsonObject);
        assert_eq!(shape(&text("[1,2]")), Shape::TextJsonArray);
        assert_eq!(shape(&text("a,b")), Shape::TextList);
        assert_eq!(shape(&text("Yes")), Shape::TextBool);
        assert_eq!(shape(&text("n")), Shape::Text);
        assert_eq!(shape(&Raw::Text(vec![0xff, 0x00])), Shape::TextBad);
        assert_eq!(shape(&Raw::Int(1_700_000_000)), Shape::IntEpochS);
        assert_eq!(shape(&Raw::Int(1_700_000_000_000)), Shape::IntEpochMs);
        assert_eq!(shape(&Raw::Int(1_700_000_000_000_000)), Shape::IntEpochUs);
        assert_eq!(shape(&Raw::Int(i64::MIN)), Shape::Int64);
        assert_eq!(shape(&Raw::Real(2_460_000.5)), Shape::RealJulian);
    }

    #[test]
    fn checks_follow_the_engine() {
        assert_eq!(check(&Rule::Integer, &text("12")), Verdict::Ok);
        assert_eq!(
            check(&Rule::Integer, &text("abc")),
            Verdict::Bad("text that is not an integer")
        );
        assert!(matches!(
            check(&Rule::Integer, &Raw::Int(1 << 40)),
            Verdict::Bad(_)
        ));
        assert_eq!(check(&Rule::Bigint, &Raw::Int(1 << 40)), Verdict::Ok);
        let ts = Rule::Timestamptz {
            unknown_is_bad: false,
        };
        assert_eq!(check(&ts, &Raw::Int(0)), Verdict::Unknown);
        assert_eq!(check(&ts, &Raw::Int(1_700_000_000_000)), Verdict::Ok);
        assert!(matches!(check(&ts, &text("soon")), Verdict::Bad(_)));
        assert_eq!(
            check(&Rule::Text { max_chars: Some(2) }, &text("abc")),
            Verdict::Bad("text longer than the declared length")
        );
        assert_eq!(check(&Rule::Boolean, &text("No")), Verdict::Ok);
    }
}
