//! Binding typed [`Param`]s to a sqlx query: one place, so the catalog's
//! samples and the transport's named queries bind alike.

use sqlx::postgres::PgArguments;
use sqlx::query::Query as SqlxQuery;
use sqlx::Postgres;

use crate::value::{Param, PgType, Scalar};

type Q<'q> = SqlxQuery<'q, Postgres, PgArguments>;

fn null<'q>(s: Q<'q>, t: PgType) -> Q<'q> {
    match (t.scalar, t.array) {
        (Scalar::Uuid, false) => s.bind(None::<uuid::Uuid>),
        (Scalar::Text, false) => s.bind(None::<String>),
        (Scalar::I16, false) => s.bind(None::<i16>),
        (Scalar::I32, false) => s.bind(None::<i32>),
        (Scalar::I64, false) => s.bind(None::<i64>),
        (Scalar::F32, false) => s.bind(None::<f32>),
        (Scalar::F64 | Scalar::Numeric, false) => s.bind(None::<f64>),
        (Scalar::Bool, false) => s.bind(None::<bool>),
        (Scalar::Uuid, true) => s.bind(None::<Vec<uuid::Uuid>>),
        (Scalar::Text, true) => s.bind(None::<Vec<String>>),
        (Scalar::I16, true) => s.bind(None::<Vec<i16>>),
        (Scalar::I32, true) => s.bind(None::<Vec<i32>>),
        (Scalar::I64, true) => s.bind(None::<Vec<i64>>),
        (Scalar::F32, true) => s.bind(None::<Vec<f32>>),
        (Scalar::F64 | Scalar::Numeric, true) => s.bind(None::<Vec<f64>>),
        (Scalar::Bool, true) => s.bind(None::<Vec<bool>>),
    }
}

/// Bind one parameter (cloned: a query owns its arguments).
pub fn one<'q>(s: Q<'q>, p: Param) -> Q<'q> {
    match p {
        Param::Null(t) => null(s, t),
        Param::Uuid(v) => s.bind(v),
        Param::Text(v) => s.bind(v),
        Param::I16(v) => s.bind(v),
        Param::I32(v) => s.bind(v),
        Param::I64(v) => s.bind(v),
        Param::F32(v) => s.bind(v),
        Param::F64(v) => s.bind(v),
        Param::Bool(v) => s.bind(v),
        Param::UuidArray(v) => s.bind(v),
        Param::TextArray(v) => s.bind(v),
        Param::I16Array(v) => s.bind(v),
        Param::I32Array(v) => s.bind(v),
        Param::I64Array(v) => s.bind(v),
        Param::F32Array(v) => s.bind(v),
        Param::F64Array(v) => s.bind(v),
        Param::BoolArray(v) => s.bind(v),
    }
}

/// Bind every parameter by reference (no copy of the values).
pub fn all<'q>(mut s: Q<'q>, params: &'q [Param]) -> Q<'q> {
    for p in params {
        s = match p {
            Param::Null(t) => null(s, *t),
            Param::Uuid(v) => s.bind(*v),
            Param::Text(v) => s.bind(v.as_str()),
            Param::I16(v) => s.bind(*v),
            Param::I32(v) => s.bind(*v),
            Param::I64(v) => s.bind(*v),
            Param::F32(v) => s.bind(*v),
            Param::F64(v) => s.bind(*v),
            Param::Bool(v) => s.bind(*v),
            Param::UuidArray(v) => s.bind(v.as_slice()),
            Param::TextArray(v) => s.bind(v.as_slice()),
            Param::I16Array(v) => s.bind(v.as_slice()),
            Param::I32Array(v) => s.bind(v.as_slice()),
            Param::I64Array(v) => s.bind(v.as_slice()),
            Param::F32Array(v) => s.bind(v.as_slice()),
            Param::F64Array(v) => s.bind(v.as_slice()),
            Param::BoolArray(v) => s.bind(v.as_slice()),
        };
    }
    s
}
