//! Hard values: the values real legacy files hold and migrations trip on,
//! mixed into generated rows at a chosen rate and each one listed in a
//! manifest (JSON lines next to the file), so a migration's rejects and
//! round trip can be judged value by value.
//!
//! Each column draws from the list of its class ([`Class`]): text gets
//! quotes, control characters, NUL, astral-plane and right-to-left
//! characters, a long value; numbers get the limits of 32 and 64 bits, -0.0,
//! the smallest subnormal and text where a number was declared; dates get
//! impossible, zero and far-off values and the other epoch unit; JSON gets
//! deep nesting, `\u0000`, duplicate keys, huge numbers and broken text;
//! lists get empty items and quotes. A column's own `hard = [...]` values
//! join its class's list.

use rusqlite::types::Value;

use super::gen::Class;

/// A named hard value.
pub struct Case {
    pub name: &'static str,
    pub value: fn() -> Value,
}

macro_rules! cases {
    ($($name:literal => $v:expr),* $(,)?) => {
        &[$(Case { name: $name, value: || $v }),*]
    };
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

const TEXT: &[Case] = cases![
    "empty text" => text(""),
    "only spaces" => text("   "),
    "padded" => text("  padded value  "),
    "quotes and backslashes" => text("O'Brien said \"hi\" \\ back\\slash"),
    "tab and newlines" => text("line one\tcol\r\nline two\n"),
    "NUL character" => text("before\u{0}after"),
    "astral plane" => text("emoji 😀 clef 𝄞 e\u{301}"),
    "right to left" => text("שלום مرحبا"),
    "long text" => Value::Text("a long legacy value. ".repeat(800)),
    "looks like NULL" => text("NULL"),
    "percent and underscore" => text("100%_done"),
];

const INT: &[Case] = cases![
    "largest 64-bit" => Value::Integer(i64::MAX),
    "smallest 64-bit" => Value::Integer(i64::MIN),
    "past 32 bits" => Value::Integer(2_147_483_648),
    "below 32 bits" => Value::Integer(-2_147_483_649),
    "number as text" => text("42"),
    "text in a number column" => text("n/a"),
    "real in an integer column" => Value::Real(2.5),
];

const REAL: &[Case] = cases![
    "negative zero" => Value::Real(-0.0),
    "largest double" => Value::Real(f64::MAX),
    "smallest subnormal" => Value::Real(5e-324),
    "not exact in binary" => Value::Real(0.1 + 0.2),
    "decimal comma as text" => text("3,14"),
    "integer in a real column" => Value::Integer(7),
];

const DATE_TEXT: &[Case] = cases![
    "leap day" => text("2024-02-29 23:59:59"),
    "zero date" => text("0000-00-00 00:00:00"),
    "impossible date" => text("2023-02-30 10:00:00"),
    "epoch start" => text("1970-01-01 00:00:00"),
    "year 9999" => text("9999-12-31 23:59:59"),
    "empty date" => text(""),
    "with offset" => text("2024-06-01T12:00:00+05:30"),
    "epoch number in a text column" => Value::Integer(1_700_000_000),
    "US order" => text("03/04/2024"),
];

const DATE_NUMBER: &[Case] = cases![
    "zero epoch" => Value::Integer(0),
    "before 1970" => Value::Integer(-86_400),
    "seconds where milliseconds are kept" => Value::Integer(1_700_000_000),
    "milliseconds where seconds are kept" => Value::Integer(1_700_000_000_000),
    "ISO text in a number column" => text("2024-05-06 07:08:09"),
    "fractional epoch" => Value::Real(1_700_000_000.5),
];

const JSON: &[Case] = cases![
    "empty object" => text("{}"),
    "empty array" => text("[]"),
    "deep nesting" => Value::Text(format!("{}1{}", "[".repeat(64), "]".repeat(64))),
    "escaped NUL" => text("{\"a\":\"\\u0000\"}"),
    "duplicate keys" => text("{\"a\":1,\"a\":2}"),
    "huge number" => text("{\"n\":1e400}"),
    "long decimal" => text("{\"n\":0.1000000000000000055511151231257827}"),
    "not JSON" => text("{not json"),
    "JSON scalar" => text("\"just a string\""),
    "unicode escapes" => text("{\"s\":\"\\ud83d\\ude00 \\u00e9\"}"),
];

const LIST: &[Case] = cases![
    "empty list" => text(""),
    "empty item" => text("a,,b"),
    "spaces around items" => text(" a , b "),
    "JSON with null" => text("[\"a\",null]"),
    "quoted item" => text("[\"say \\\"hi\\\"\",\"b,c\"]"),
    "not a list" => text("[unclosed"),
];

const BLOB: &[Case] = cases![
    "empty blob" => Value::Blob(Vec::new()),
    "zero bytes" => Value::Blob(vec![0, 0, 0]),
    "text in a blob column" => text("plain text"),
    "invalid UTF-8" => Value::Blob(vec![0xff, 0xfe, 0x00, 0xc3]),
];

/// The hard values of a class.
pub fn catalog(class: Class) -> &'static [Case] {
    match class {
        Class::Text => TEXT,
        Class::Int => INT,
        Class::Real => REAL,
        Class::DateText => DATE_TEXT,
        Class::DateNumber => DATE_NUMBER,
        Class::Json => JSON,
        Class::List => LIST,
        Class::Blob => BLOB,
    }
}

/// A value as JSON for the manifest: blobs as `{"hex": ...}`, reals that
/// JSON cannot hold as text.
pub fn manifest_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => (*i).into(),
        Value::Real(f) => match serde_json::Number::from_f64(*f) {
            Some(n) if *f != 0.0 || f.is_sign_positive() => serde_json::Value::Number(n),
            _ => serde_json::json!({ "real": format!("{f:?}") }),
        },
        Value::Text(t) => t.clone().into(),
        Value::Blob(b) => serde_json::json!({ "hex": hex::encode(b) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_values_and_names_are_unique() {
        for c in [
            Class::Text,
            Class::Int,
            Class::Real,
            Class::DateText,
            Class::DateNumber,
            Class::Json,
            Class::List,
            Class::Blob,
        ] {
            let cases = catalog(c);
            assert!(cases.len() >= 4, "{c:?}");
            let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), cases.len(), "{c:?}");
        }
        assert_eq!(
            manifest_value(&Value::Real(-0.0)),
            serde_json::json!({"real": "-0.0"})
        );
    }
}
