//! Values a workload draws, binds and reads back, and the PostgreSQL types
//! they are bound as.
//!
//! A [`Value`] is untyped the way a TOML value or a cell of a sample is: a
//! text may be a uuid, an integer may go to an `int4` or a `numeric`
//! parameter. The type comes from PostgreSQL itself: the harness prepares
//! every named query once before the run, and each parameter is bound as
//! the type the server inferred for it ([`PgType::of`]), so the statement
//! the load sends is typed exactly as the app's own would be and its plans
//! are the app's plans. A declared type per parameter in the file would be
//! one more thing to get wrong and would still have to agree with the
//! server; asking the server cannot disagree with it.

use std::fmt;

use sqlx::postgres::PgRow;
use sqlx::{Column, Row, TypeInfo};
use uuid::Uuid;

/// A value drawn from a sample, generated, written in the file, or read
/// back from an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Uuid(Uuid),
    List(Vec<Value>),
}

impl Value {
    /// The text a setting gets (`set_config` takes text): NULL is the empty
    /// string, which the policies read as "no value" (fail closed).
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Text(s) => s.clone(),
            Value::Uuid(u) => u.to_string(),
            Value::List(v) => format!(
                "{{{}}}",
                v.iter().map(Value::to_text).collect::<Vec<_>>().join(",")
            ),
        }
    }

    /// Equal as the database would see them once bound to one type: a uuid
    /// and its text are the same value, so are 3 and 3.0.
    pub fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, _) | (_, Value::Null) => false,
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => *a as f64 == *b,
            (a, b) => a.to_text().eq_ignore_ascii_case(&b.to_text()),
        }
    }

    pub fn from_toml(v: &toml::Value) -> Option<Value> {
        Some(match v {
            toml::Value::String(s) => Value::Text(s.clone()),
            toml::Value::Integer(i) => Value::Int(*i),
            toml::Value::Float(f) => Value::Float(*f),
            toml::Value::Boolean(b) => Value::Bool(*b),
            toml::Value::Array(a) => {
                Value::List(a.iter().map(Value::from_toml).collect::<Option<Vec<_>>>()?)
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// The scalar types a workload binds and reads. Anything else is refused
/// before the run with the query and parameter named, and a cast in the
/// SQL (`$2::text::date`) is the way around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Uuid,
    Text,
    I16,
    I32,
    I64,
    F32,
    F64,
    /// Bound as `float8`, which PostgreSQL casts to `numeric` on
    /// assignment (what a driver without a decimal type sends too).
    Numeric,
    Bool,
}

/// A parameter's or a column's type: a scalar or a one-dimensional array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgType {
    pub scalar: Scalar,
    pub array: bool,
}

impl PgType {
    /// From sqlx's type name (`UUID`, `INT8`, `TEXT[]`, ...).
    pub fn of(name: &str) -> Option<PgType> {
        let (base, array) = match name.strip_suffix("[]") {
            Some(b) => (b, true),
            None => (name, false),
        };
        let scalar = match base {
            "UUID" => Scalar::Uuid,
            "TEXT" | "VARCHAR" | "BPCHAR" | "CHAR" | "NAME" | "CITEXT" => Scalar::Text,
            "INT2" => Scalar::I16,
            "INT4" => Scalar::I32,
            "INT8" => Scalar::I64,
            "FLOAT4" => Scalar::F32,
            "FLOAT8" => Scalar::F64,
            "NUMERIC" => Scalar::Numeric,
            "BOOL" => Scalar::Bool,
            _ => return None,
        };
        Some(PgType { scalar, array })
    }
}

/// A bound parameter of a named query, typed for the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null(PgType),
    Uuid(Uuid),
    Text(String),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    UuidArray(Vec<Uuid>),
    TextArray(Vec<String>),
    I16Array(Vec<i16>),
    I32Array(Vec<i32>),
    I64Array(Vec<i64>),
    F32Array(Vec<f32>),
    F64Array(Vec<f64>),
    BoolArray(Vec<bool>),
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
        Value::Text(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn float_of(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Text(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn uuid_of(v: &Value) -> Option<Uuid> {
    match v {
        Value::Uuid(u) => Some(*u),
        Value::Text(s) => Uuid::parse_str(s.trim()).ok(),
        _ => None,
    }
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Text(s) => match s.as_str() {
            "true" | "t" => Some(true),
            "false" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn list<T>(v: &Value, f: impl Fn(&Value) -> Option<T>) -> Option<Vec<T>> {
    match v {
        Value::List(items) => items.iter().map(f).collect(),
        // One value where a list is wanted: a list of one.
        other => Some(vec![f(other)?]),
    }
}

impl Param {
    /// `v` bound as `ty`; `None` when the value cannot be one (a word for
    /// an integer parameter): the caller reports it as a failed query.
    pub fn bind(v: &Value, ty: PgType) -> Option<Param> {
        if *v == Value::Null {
            return Some(Param::Null(ty));
        }
        let int = |v: &Value| int_of(v);
        Some(match (ty.scalar, ty.array) {
            (Scalar::Uuid, false) => Param::Uuid(uuid_of(v)?),
            (Scalar::Text, false) => Param::Text(v.to_text()),
            (Scalar::I16, false) => Param::I16(i16::try_from(int(v)?).ok()?),
            (Scalar::I32, false) => Param::I32(i32::try_from(int(v)?).ok()?),
            (Scalar::I64, false) => Param::I64(int(v)?),
            (Scalar::F32, false) => Param::F32(float_of(v)? as f32),
            (Scalar::F64 | Scalar::Numeric, false) => Param::F64(float_of(v)?),
            (Scalar::Bool, false) => Param::Bool(bool_of(v)?),
            (Scalar::Uuid, true) => Param::UuidArray(list(v, uuid_of)?),
            (Scalar::Text, true) => Param::TextArray(list(v, |x| Some(x.to_text()))?),
            (Scalar::I16, true) => Param::I16Array(list(v, |x| i16::try_from(int(x)?).ok())?),
            (Scalar::I32, true) => Param::I32Array(list(v, |x| i32::try_from(int(x)?).ok())?),
            (Scalar::I64, true) => Param::I64Array(list(v, int)?),
            (Scalar::F32, true) => Param::F32Array(list(v, |x| Some(float_of(x)? as f32))?),
            (Scalar::F64 | Scalar::Numeric, true) => Param::F64Array(list(v, float_of)?),
            (Scalar::Bool, true) => Param::BoolArray(list(v, bool_of)?),
        })
    }
}

/// Read column `i` of `row` as a [`Value`]. The type was checked before
/// the run (columns a workload reads must have a [`PgType`]); a type met
/// here anyway reads as NULL rather than failing the query.
pub fn read(row: &PgRow, i: usize) -> Value {
    let Some(col) = row.columns().get(i) else {
        return Value::Null;
    };
    let Some(ty) = PgType::of(col.type_info().name()) else {
        return Value::Null;
    };
    fn get<'r, T>(row: &'r PgRow, i: usize, f: impl FnOnce(T) -> Value) -> Value
    where
        T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        match row.try_get::<Option<T>, _>(i) {
            Ok(Some(v)) => f(v),
            _ => Value::Null,
        }
    }
    fn many<T>(v: Vec<T>, f: impl Fn(T) -> Value) -> Value {
        Value::List(v.into_iter().map(f).collect())
    }
    match (ty.scalar, ty.array) {
        (Scalar::Uuid, false) => get(row, i, Value::Uuid),
        (Scalar::Text, false) => get(row, i, Value::Text),
        (Scalar::I16, false) => get(row, i, |v: i16| Value::Int(v.into())),
        (Scalar::I32, false) => get(row, i, |v: i32| Value::Int(v.into())),
        (Scalar::I64, false) => get(row, i, Value::Int),
        (Scalar::F32, false) => get(row, i, |v: f32| Value::Float(v.into())),
        (Scalar::F64, false) => get(row, i, Value::Float),
        (Scalar::Bool, false) => get(row, i, Value::Bool),
        (Scalar::Uuid, true) => get(row, i, |v: Vec<Uuid>| many(v, Value::Uuid)),
        (Scalar::Text, true) => get(row, i, |v: Vec<String>| many(v, Value::Text)),
        (Scalar::I32, true) => get(row, i, |v: Vec<i32>| many(v, |x| Value::Int(x.into()))),
        (Scalar::I64, true) => get(row, i, |v: Vec<i64>| many(v, Value::Int)),
        (Scalar::F64, true) => get(row, i, |v: Vec<f64>| many(v, Value::Float)),
        (Scalar::Bool, true) => get(row, i, |v: Vec<bool>| many(v, Value::Bool)),
        // numeric cannot be decoded without a decimal type; int2[]/float4[]
        // are rare enough to ask for a cast.
        _ => Value::Null,
    }
}

/// Whether [`read`] can read a column of this sqlx type name.
pub fn readable(type_name: &str) -> bool {
    match PgType::of(type_name) {
        Some(t) => !matches!(
            (t.scalar, t.array),
            (Scalar::Numeric, _) | (Scalar::I16, true) | (Scalar::F32, true)
        ),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_bind_as_the_type_the_server_inferred() {
        let t = |n| PgType::of(n).unwrap();
        let u = Uuid::from_u128(5);
        assert_eq!(
            Param::bind(&Value::Text(u.to_string()), t("UUID")),
            Some(Param::Uuid(u))
        );
        assert_eq!(Param::bind(&Value::Int(7), t("INT4")), Some(Param::I32(7)));
        assert_eq!(
            Param::bind(&Value::Int(7), t("NUMERIC")),
            Some(Param::F64(7.0))
        );
        assert_eq!(Param::bind(&Value::Text("x".into()), t("INT8")), None);
        assert_eq!(Param::bind(&Value::Int(1 << 40), t("INT4")), None);
        assert_eq!(
            Param::bind(
                &Value::List(vec![Value::Text("a".into()), Value::Int(2)]),
                t("TEXT[]")
            ),
            Some(Param::TextArray(vec!["a".into(), "2".into()]))
        );
        assert_eq!(
            Param::bind(&Value::Null, t("INT8")),
            Some(Param::Null(t("INT8")))
        );
        assert_eq!(PgType::of("JSONB"), None);
        assert!(!readable("NUMERIC") && readable("UUID[]"));
        assert!(Value::Uuid(u).same(&Value::Text(u.to_string().to_uppercase())));
        assert!(Value::Int(3).same(&Value::Float(3.0)) && !Value::Null.same(&Value::Null));
    }
}
