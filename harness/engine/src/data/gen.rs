//! One column's values: a [`ColumnSpec`] compiled once into a [`Gen`], then
//! drawn per row from the row's random stream.
//!
//! Values come out as SQLite stores them ([`rusqlite::types::Value`]): the
//! generator writes what a legacy app wrote (dates as text or epoch
//! integers, JSON and lists as text, flags as 0/1), and the migration's
//! rules take it from there.

use fake::faker::address::en::{
    CityName, CountryCode, CountryName, StateName, StreetName, TimeZone, ZipCode,
};
use fake::faker::company::en::{CatchPhrase, CompanyName, Industry, Profession};
use fake::faker::currency::en::CurrencyCode;
use fake::faker::internet::en::{DomainSuffix, FreeEmailProvider, IPv4, IPv6, UserAgent, Username};
use fake::faker::job::en::Title as JobTitle;
use fake::faker::lorem::en::{Paragraph, Sentence, Word, Words};
use fake::faker::name::en::{FirstName, LastName, Name};
use fake::faker::phone_number::en::PhoneNumber;
use fake::Fake;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rusqlite::types::Value;

use super::spec::{parse_moment, ColumnSpec, DateFormat, ListForm};

/// The random stream a row draws from.
pub type Rng = ChaCha8Rng;

/// What a column's values are, compiled from its spec.
#[derive(Debug, Clone)]
pub enum Kind {
    Fake {
        name: String,
        words: (u32, u32),
    },
    Choices {
        values: Vec<Value>,
        cumulative: Vec<f64>,
    },
    Int {
        lo: i64,
        hi: i64,
    },
    Real {
        lo: f64,
        hi: f64,
        decimals: Option<u8>,
    },
    Bool(f64),
    Date {
        from: i64,
        to: i64,
        format: DateFormat,
        after: Option<String>,
        within: i64,
    },
    List {
        item: Box<Gen>,
        len: (u32, u32),
        form: ListForm,
    },
    Json(Vec<(String, Gen)>),
    Const(Value),
    Bytes {
        len: (u32, u32),
    },
    Seq(Option<String>),
}

/// A compiled column: its kind, null rate and uniqueness.
#[derive(Debug, Clone)]
pub struct Gen {
    pub kind: Kind,
    pub null: f64,
    pub unique: bool,
    /// The column's own extra hard values.
    pub hard: Vec<Value>,
}

/// The class of hard values a kind can take ([`super::hard`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Text,
    Int,
    Real,
    DateText,
    DateNumber,
    Json,
    List,
    Blob,
}

pub fn scalar(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::Text(s.clone()),
        toml::Value::Integer(i) => Value::Integer(*i),
        toml::Value::Float(f) => Value::Real(*f),
        toml::Value::Boolean(b) => Value::Integer(*b as i64),
        other => Value::Text(other.to_string()),
    }
}

impl Gen {
    /// Compile a checked spec (`DataSpec::check` has passed).
    pub fn compile(spec: &ColumnSpec) -> Result<Gen, String> {
        let kind = if let Some(name) = &spec.fake {
            let w = spec.words.unwrap_or(match name.as_str() {
                "paragraph" => [2, 5],
                "sentence" => [4, 12],
                _ => [2, 5],
            });
            Kind::Fake {
                name: name.clone(),
                words: (w[0], w[1]),
            }
        } else if let Some(c) = &spec.choices {
            let w = spec.weights.clone().unwrap_or_else(|| vec![1.0; c.len()]);
            let total: f64 = w.iter().sum();
            let mut acc = 0.0;
            let cumulative = w
                .iter()
                .map(|x| {
                    acc += x / total;
                    acc
                })
                .collect();
            Kind::Choices {
                values: c.iter().map(scalar).collect(),
                cumulative,
            }
        } else if let Some([lo, hi]) = spec.int {
            Kind::Int { lo, hi }
        } else if let Some([lo, hi]) = spec.real {
            Kind::Real {
                lo,
                hi,
                decimals: spec.decimals,
            }
        } else if let Some(p) = spec.bool {
            Kind::Bool(p)
        } else if let Some([a, b]) = &spec.date {
            Kind::Date {
                from: parse_moment(a)?,
                to: parse_moment(b)?,
                format: spec.format.unwrap_or_default(),
                after: spec.after.clone(),
                within: match spec.within_minutes {
                    Some(m) => i64::from(m) * 60,
                    None => i64::from(spec.within_days.unwrap_or(30)) * 86_400,
                },
            }
        } else if let Some(item) = &spec.list {
            let l = spec.len.unwrap_or([0, 4]);
            Kind::List {
                item: Box::new(Gen::compile(item)?),
                len: (l[0], l[1]),
                form: spec.form.unwrap_or_default(),
            }
        } else if let Some(fields) = &spec.json {
            Kind::Json(
                fields
                    .iter()
                    .map(|(k, f)| Ok((k.clone(), Gen::compile(f)?)))
                    .collect::<Result<_, String>>()?,
            )
        } else if let Some(v) = &spec.value {
            Kind::Const(scalar(v))
        } else if let Some([a, b]) = spec.bytes {
            Kind::Bytes { len: (a, b) }
        } else if let Some(t) = &spec.seq {
            Kind::Seq((!t.is_empty()).then(|| t.clone()))
        } else {
            return Err("no kind of value".into());
        };
        Ok(Gen {
            kind,
            null: spec.null,
            unique: spec.unique,
            hard: spec.hard.iter().map(scalar).collect(),
        })
    }

    /// A column drawn by its declared SQLite type alone (data.toml does not
    /// name it and it must hold a value), with SQLite's affinity rules.
    pub fn by_declared_type(column: &str, declared: &str) -> Gen {
        let t = declared.to_ascii_uppercase();
        let name = column.to_ascii_lowercase();
        let timeish = t.contains("DATE")
            || t.contains("TIME")
            || name.ends_with("_at")
            || name.ends_with("_on")
            || name.contains("date")
            || name.contains("time");
        let kind = if t.contains("INT") {
            if t.contains("BOOL") {
                Kind::Bool(0.5)
            } else if timeish {
                Kind::Date {
                    from: 1_704_067_200,
                    to: 1_735_689_599,
                    format: DateFormat::Epoch,
                    after: None,
                    within: 0,
                }
            } else {
                Kind::Int { lo: 0, hi: 1000 }
            }
        } else if t.contains("BOOL") {
            Kind::Bool(0.5)
        } else if timeish {
            Kind::Date {
                from: 1_704_067_200,
                to: 1_735_689_599,
                format: DateFormat::Datetime,
                after: None,
                within: 0,
            }
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            Kind::Fake {
                name: "words".into(),
                words: (1, 3),
            }
        } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            Kind::Real {
                lo: 0.0,
                hi: 1000.0,
                decimals: Some(2),
            }
        } else if t.is_empty() || t.contains("BLOB") {
            Kind::Bytes { len: (8, 32) }
        } else {
            Kind::Real {
                lo: 0.0,
                hi: 1000.0,
                decimals: Some(2),
            }
        };
        Gen {
            kind,
            null: 0.0,
            unique: false,
            hard: Vec::new(),
        }
    }

    /// The hard-value class of this column.
    pub fn class(&self) -> Class {
        match &self.kind {
            Kind::Fake { name, .. } if name == "latitude" || name == "longitude" => Class::Real,
            Kind::Fake { .. } | Kind::Seq(_) => Class::Text,
            Kind::Choices { .. } | Kind::Const(_) => values_class(values_of(&self.kind)),
            Kind::Int { .. } | Kind::Bool(_) => Class::Int,
            Kind::Real { .. } => Class::Real,
            Kind::Date {
                format: DateFormat::Epoch | DateFormat::EpochMs,
                ..
            } => Class::DateNumber,
            Kind::Date { .. } => Class::DateText,
            Kind::List { .. } => Class::List,
            Kind::Json(_) => Class::Json,
            Kind::Bytes { .. } => Class::Blob,
        }
    }

    /// One value for row `id` of its table. `moments` holds this row's
    /// earlier date columns (for `after`), as seconds since 1970.
    pub fn draw(&self, rng: &mut Rng, id: i64, moments: &[(String, i64)]) -> Value {
        if self.null > 0.0 && rng.random::<f64>() < self.null {
            return Value::Null;
        }
        let v = self.draw_value(rng, id, moments);
        if self.unique {
            make_unique(&self.kind, v, id)
        } else {
            v
        }
    }

    /// The moment a date column drew, to feed later `after` columns.
    pub fn moment_of(&self, v: &Value) -> Option<i64> {
        let Kind::Date { format, .. } = &self.kind else {
            return None;
        };
        match (format, v) {
            (DateFormat::Epoch, Value::Integer(s)) => Some(*s),
            (DateFormat::EpochMs, Value::Integer(ms)) => Some(ms.div_euclid(1000)),
            (_, Value::Text(t)) => parse_moment(&t.replace('Z', "").replace('T', " ")).ok(),
            _ => None,
        }
    }

    fn draw_value(&self, rng: &mut Rng, id: i64, moments: &[(String, i64)]) -> Value {
        match &self.kind {
            Kind::Fake { name, words } => fake_value(name, *words, rng),
            Kind::Choices { values, cumulative } => values[pick_choice(cumulative, rng)].clone(),
            Kind::Int { lo, hi } => Value::Integer(rng.random_range(*lo..=*hi)),
            Kind::Real { lo, hi, decimals } => {
                let x = if hi > lo {
                    rng.random_range(*lo..*hi)
                } else {
                    *lo
                };
                Value::Real(match decimals {
                    Some(d) => round_to(x, *d),
                    None => x,
                })
            }
            Kind::Bool(p) => Value::Integer((rng.random::<f64>() < *p) as i64),
            Kind::Date {
                from,
                to,
                format,
                after,
                within,
            } => {
                let base = after
                    .as_ref()
                    .and_then(|a| moments.iter().find(|(n, _)| n == a).map(|(_, m)| *m));
                let secs = match base {
                    // Strictly later: an end never equals its start.
                    Some(b) => b + rng.random_range(1..=(*within).max(1)),
                    None => rng.random_range(*from..=*to),
                };
                format_moment(secs, *format, rng)
            }
            Kind::List { item, len, form } => {
                let n = rng.random_range(len.0..=len.1) as usize;
                if *form == ListForm::Words {
                    let mut out = String::with_capacity(n * 8);
                    for i in 0..n {
                        if i > 0 {
                            out.push(' ');
                        }
                        match &item.kind {
                            // The common case, without a String per word.
                            Kind::Choices { values, cumulative } => {
                                match &values[pick_choice(cumulative, rng)] {
                                    Value::Text(t) => out.push_str(t),
                                    other => out.push_str(&text_of(other)),
                                }
                            }
                            _ => out.push_str(&text_of(&item.draw_value(rng, id, moments))),
                        }
                    }
                    return Value::Text(out);
                }
                let mut items: Vec<Value> = Vec::with_capacity(n);
                // Distinct items, as tag lists are; a short choice list may
                // give fewer than asked.
                for _ in 0..n * 3 {
                    if items.len() == n {
                        break;
                    }
                    let v = item.draw_value(rng, id, moments);
                    if !items.contains(&v) {
                        items.push(v);
                    }
                }
                Value::Text(match form {
                    ListForm::Json => {
                        serde_json::Value::Array(items.into_iter().map(json_scalar).collect())
                            .to_string()
                    }
                    ListForm::Csv | ListForm::Words => items
                        .iter()
                        .map(|v| text_of(v).replace(',', " "))
                        .collect::<Vec<_>>()
                        .join(","),
                })
            }
            Kind::Json(fields) => {
                let obj = json_object(fields, rng, id, moments);
                Value::Text(serde_json::Value::Object(obj).to_string())
            }
            Kind::Const(v) => v.clone(),
            Kind::Bytes { len } => {
                let n = rng.random_range(len.0..=len.1) as usize;
                Value::Blob((0..n).map(|_| rng.random::<u8>()).collect())
            }
            Kind::Seq(t) => match t {
                None => Value::Integer(id),
                Some(t) => Value::Text(t.replace("{}", &id.to_string())),
            },
        }
    }
}

/// The index a uniform draw lands on in a cumulative weight table.
fn pick_choice(cumulative: &[f64], rng: &mut Rng) -> usize {
    let x: f64 = rng.random();
    cumulative
        .partition_point(|c| *c <= x)
        .min(cumulative.len() - 1)
}

fn values_of(kind: &Kind) -> Vec<&Value> {
    match kind {
        Kind::Choices { values, .. } => values.iter().collect(),
        Kind::Const(v) => vec![v],
        _ => Vec::new(),
    }
}

/// Choices and constants: numbers take numbers' hard values, else text's.
fn values_class(values: Vec<&Value>) -> Class {
    if values.iter().all(|v| matches!(v, Value::Integer(_))) {
        Class::Int
    } else if values
        .iter()
        .all(|v| matches!(v, Value::Real(_) | Value::Integer(_)))
    {
        Class::Real
    } else {
        Class::Text
    }
}

fn json_object(
    fields: &[(String, Gen)],
    rng: &mut Rng,
    id: i64,
    moments: &[(String, i64)],
) -> serde_json::Map<String, serde_json::Value> {
    let mut obj = serde_json::Map::new();
    for (k, g) in fields {
        let v = if g.null > 0.0 && rng.random::<f64>() < g.null {
            serde_json::Value::Null
        } else {
            match &g.kind {
                Kind::Json(inner) => {
                    serde_json::Value::Object(json_object(inner, rng, id, moments))
                }
                Kind::List { .. } => match g.draw_value(rng, id, moments) {
                    Value::Text(t) => {
                        serde_json::from_str(&t).unwrap_or(serde_json::Value::String(t))
                    }
                    other => json_scalar(other),
                },
                _ => json_scalar(g.draw_value(rng, id, moments)),
            }
        };
        obj.insert(k.clone(), v);
    }
    obj
}

fn json_scalar(v: Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => i.into(),
        Value::Real(f) => serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Text(t) => t.into(),
        Value::Blob(b) => hex::encode(b).into(),
    }
}

/// A value as text (list items).
pub fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(t) => t.clone(),
        Value::Blob(b) => hex::encode(b),
    }
}

fn round_to(x: f64, decimals: u8) -> f64 {
    let p = 10f64.powi(i32::from(decimals));
    (x * p).round() / p
}

/// Seconds since 1970 written as `format` says; epoch-ms values get a
/// random millisecond part (real apps' clocks do).
pub fn format_moment(secs: i64, format: DateFormat, rng: &mut Rng) -> Value {
    match format {
        DateFormat::Datetime => Value::Text(moment_text(secs, Some(' '), false)),
        DateFormat::Date => Value::Text(moment_text(secs, None, false)),
        DateFormat::Iso => Value::Text(moment_text(secs, Some('T'), true)),
        DateFormat::Epoch => Value::Integer(secs),
        DateFormat::EpochMs => Value::Integer(secs * 1000 + rng.random_range(0..1000)),
    }
}

/// `YYYY-MM-DD`, then `<sep>HH:MM:SS` and `Z` if asked, written digit by
/// digit: chrono's strftime parsed its pattern on every call and was the
/// generator's largest cost after allocation.
fn moment_text(secs: i64, sep: Option<char>, zulu: bool) -> String {
    use chrono::{Datelike, Timelike};
    let dt = chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .naive_utc();
    let mut s = String::with_capacity(20);
    let year = dt.year();
    if !(0..=9999).contains(&year) {
        return match sep {
            Some(c) => format!(
                "{}{c}{}{}",
                dt.format("%Y-%m-%d"),
                dt.format("%H:%M:%S"),
                if zulu { "Z" } else { "" }
            ),
            None => dt.format("%Y-%m-%d").to_string(),
        };
    }
    let two = |s: &mut String, n: u32| {
        s.push(char::from(b'0' + (n / 10) as u8));
        s.push(char::from(b'0' + (n % 10) as u8));
    };
    two(&mut s, year as u32 / 100);
    two(&mut s, year as u32 % 100);
    s.push('-');
    two(&mut s, dt.month());
    s.push('-');
    two(&mut s, dt.day());
    if let Some(c) = sep {
        s.push(c);
        two(&mut s, dt.hour());
        s.push(':');
        two(&mut s, dt.minute());
        s.push(':');
        two(&mut s, dt.second());
        if zulu {
            s.push('Z');
        }
    }
    s
}

/// Make `v` unique to row `id`, keeping its shape: an e-mail stays an
/// e-mail, a number a number, a date a date of the same format.
fn make_unique(kind: &Kind, v: Value, id: i64) -> Value {
    match (kind, v) {
        (_, Value::Null) => Value::Null,
        (Kind::Seq(_), v) => v,
        (Kind::Fake { name, .. }, Value::Text(t)) if name == "email" => match t.split_once('@') {
            Some((local, domain)) => Value::Text(format!("{local}.{id}@{domain}")),
            None => Value::Text(format!("{t}.{id}")),
        },
        (Kind::Fake { name, .. }, v) if name == "uuid" || name == "hex" => v,
        (Kind::Fake { name, .. }, Value::Text(t)) if name == "username" || name == "word" => {
            Value::Text(format!("{t}{id}"))
        }
        (_, Value::Text(t)) => match kind {
            Kind::Date { from, format, .. } => {
                // A day per row where only the day is written.
                let step = if *format == DateFormat::Date {
                    86_400
                } else {
                    1
                };
                let mut r = <Rng as rand::SeedableRng>::seed_from_u64(id as u64);
                format_moment(from + id * step, *format, &mut r)
            }
            _ => Value::Text(format!("{t} {id}")),
        },
        (Kind::Int { lo, .. }, Value::Integer(_)) => Value::Integer(lo.saturating_add(id - 1)),
        (
            Kind::Date {
                from,
                format: DateFormat::Epoch,
                ..
            },
            Value::Integer(_),
        ) => Value::Integer(from + id),
        (
            Kind::Date {
                from,
                format: DateFormat::EpochMs,
                ..
            },
            Value::Integer(_),
        ) => Value::Integer((from + id) * 1000),
        (_, Value::Integer(i)) => Value::Integer(i.saturating_mul(1_000_000).saturating_add(id)),
        (Kind::Real { lo, decimals, .. }, Value::Real(_)) => {
            let step = 10f64.powi(-i32::from(decimals.unwrap_or(4)));
            Value::Real(round_to(lo + step * id as f64, decimals.unwrap_or(4)))
        }
        (_, Value::Real(f)) => Value::Real(f + id as f64 * 1e-6),
        (_, Value::Blob(mut b)) => {
            let mut out = id.to_be_bytes().to_vec();
            out.append(&mut b);
            Value::Blob(out)
        }
    }
}

fn fake_value(name: &str, words: (u32, u32), rng: &mut Rng) -> Value {
    let range = |(a, b): (u32, u32)| a as usize..(b as usize + 1);
    let s: String = match name {
        "first_name" => FirstName().fake_with_rng(rng),
        "last_name" => LastName().fake_with_rng(rng),
        "name" => Name().fake_with_rng(rng),
        "username" => Username().fake_with_rng(rng),
        "email" => {
            let first: String = FirstName().fake_with_rng(rng);
            let last: String = LastName().fake_with_rng(rng);
            let host: String = FreeEmailProvider().fake_with_rng(rng);
            let local: String = format!("{first}.{last}")
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            format!("{local}@{host}")
        }
        "phone" => PhoneNumber().fake_with_rng(rng),
        "company" => CompanyName().fake_with_rng(rng),
        "industry" => Industry().fake_with_rng(rng),
        "job_title" => JobTitle().fake_with_rng(rng),
        "profession" => Profession().fake_with_rng(rng),
        "street" => {
            let n: u32 = rng.random_range(1..9999);
            let street: String = StreetName().fake_with_rng(rng);
            format!("{n} {street}")
        }
        "city" => CityName().fake_with_rng(rng),
        "state" => StateName().fake_with_rng(rng),
        "country" => CountryName().fake_with_rng(rng),
        "country_code" => CountryCode().fake_with_rng(rng),
        "zip" => ZipCode().fake_with_rng(rng),
        "latitude" => return Value::Real(round_to(rng.random_range(-90.0..90.0), 6)),
        "longitude" => return Value::Real(round_to(rng.random_range(-180.0..180.0), 6)),
        "timezone" => TimeZone().fake_with_rng(rng),
        "word" => Word().fake_with_rng(rng),
        "words" => {
            let w: Vec<String> = Words(range(words)).fake_with_rng(rng);
            w.join(" ")
        }
        "sentence" => Sentence(range(words)).fake_with_rng(rng),
        "paragraph" => Paragraph(range(words)).fake_with_rng(rng),
        "catch_phrase" => CatchPhrase().fake_with_rng(rng),
        "url" => {
            let w: String = Word().fake_with_rng(rng);
            let p: String = Word().fake_with_rng(rng);
            let suffix: String = DomainSuffix().fake_with_rng(rng);
            format!("https://{w}.{suffix}/{p}")
        }
        "domain" => {
            let w: String = Word().fake_with_rng(rng);
            let suffix: String = DomainSuffix().fake_with_rng(rng);
            format!("{w}.{suffix}")
        }
        "ipv4" => IPv4().fake_with_rng(rng),
        "ipv6" => IPv6().fake_with_rng(rng),
        "user_agent" => UserAgent().fake_with_rng(rng),
        "uuid" => {
            let b: [u8; 16] = rng.random();
            uuid::Builder::from_random_bytes(b).into_uuid().to_string()
        }
        "hex" => {
            let b: [u8; 32] = rng.random();
            hex::encode(b)
        }
        "currency" => CurrencyCode().fake_with_rng(rng),
        "color" => pick(
            rng,
            &[
                "red", "orange", "yellow", "green", "teal", "blue", "indigo", "violet", "black",
                "white", "grey", "brown",
            ],
        ),
        "file_name" => {
            let w: String = Word().fake_with_rng(rng);
            let ext = pick(rng, &["pdf", "png", "jpg", "docx", "txt", "csv", "xlsx"]);
            format!("{w}.{ext}")
        }
        "mime_type" => pick(
            rng,
            &[
                "application/pdf",
                "image/png",
                "image/jpeg",
                "text/plain",
                "text/csv",
                "application/json",
            ],
        ),
        // `DataSpec::check` refuses other names.
        other => other.to_string(),
    };
    Value::Text(s)
}

fn pick(rng: &mut Rng, items: &[&str]) -> String {
    items[rng.random_range(0..items.len())].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn gen(toml_text: &str) -> Gen {
        let spec: ColumnSpec = toml::from_str(toml_text).unwrap();
        Gen::compile(&spec).unwrap()
    }

    #[test]
    fn every_fake_kind_draws_a_value() {
        let mut rng = Rng::seed_from_u64(3);
        for (name, _) in super::super::spec::FAKE_KINDS {
            let g = gen(&format!("fake = \"{name}\""));
            let v = g.draw(&mut rng, 1, &[]);
            assert!(!matches!(v, Value::Null), "{name}");
            if let Value::Text(t) = v {
                assert!(!t.is_empty() && t != *name, "{name}: {t}");
            }
        }
    }

    #[test]
    fn unique_values_keep_their_shape() {
        let mut rng = Rng::seed_from_u64(4);
        let email = gen("fake = \"email\"\nunique = true");
        let mut seen = std::collections::HashSet::new();
        for id in 1..2000 {
            let Value::Text(t) = email.draw(&mut rng, id, &[]) else {
                panic!()
            };
            assert_eq!(t.matches('@').count(), 1, "{t}");
            assert!(seen.insert(t));
        }
        let date = gen("date = [\"2024-01-01\", \"2024-01-02\"]\nunique = true");
        let mut seen = std::collections::HashSet::new();
        for id in 1..500 {
            let v = date.draw(&mut rng, id, &[]);
            assert!(date.moment_of(&v).is_some(), "{v:?}");
            assert!(seen.insert(format!("{v:?}")));
        }
    }

    #[test]
    fn after_keeps_order_and_formats_parse_back() {
        let mut rng = Rng::seed_from_u64(5);
        for f in ["datetime", "date", "iso", "epoch", "epoch_ms"] {
            let g = gen(&format!("date = [\"2020-01-01\", \"2024-12-31\"]\nformat = \"{f}\"\nafter = \"a\"\nwithin_days = 2"));
            for _ in 0..200 {
                let v = g.draw(&mut rng, 1, &[("a".into(), 1_600_000_000)]);
                let m = g.moment_of(&v).unwrap();
                assert!(
                    (1_600_000_000 - 86_400..=1_600_000_000 + 2 * 86_400).contains(&m),
                    "{f}: {v:?}"
                );
            }
        }
    }

    #[test]
    fn choices_follow_their_weights_and_null_rates_hold() {
        let mut rng = Rng::seed_from_u64(6);
        let g = gen("choices = [\"a\", \"b\"]\nweights = [3, 1]\nnull = 0.2");
        let (mut a, mut b, mut n) = (0, 0, 0);
        for id in 0..20_000 {
            match g.draw(&mut rng, id, &[]) {
                Value::Text(t) if t == "a" => a += 1,
                Value::Text(_) => b += 1,
                _ => n += 1,
            }
        }
        assert!((3700..4300).contains(&n), "nulls {n}");
        let ratio = a as f64 / b as f64;
        assert!((2.7..3.3).contains(&ratio), "a/b {ratio}");
    }
}
