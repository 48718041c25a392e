//! The committed JSON schema of `summary.json`, and a validator for the part
//! of JSON Schema it uses.
//!
//! `harness/schema/summary.v1.schema.json` is the source of truth: it is
//! embedded here with `include_str!`, and the tests serialize a run with
//! every field filled and validate it against that file, so the model and
//! the schema cannot drift apart silently (every object in the schema says
//! `additionalProperties: false`, so a new model field fails the test until
//! the schema documents it). The validator is small and local rather than
//! the `jsonschema` crate, whose dependency tree (regex engines, URL and
//! network resolvers) is far larger than the keywords this schema uses:
//! `type`, `const`, `enum`, `required`, `properties`,
//! `additionalProperties`, `items`, `minimum` and local `$ref`s. An unknown
//! keyword is an error, so the schema cannot use a rule that is silently
//! not enforced.

use serde_json::Value;

/// The committed schema for [`super::SCHEMA_VERSION`] 1.
pub const SUMMARY_V1: &str = include_str!("../../../schema/summary.v1.schema.json");

/// Keywords that only document (never constrain).
const ANNOTATIONS: [&str; 6] = ["$schema", "$id", "title", "description", "format", "$defs"];

/// Validate `doc` against `schema`; every violation as "path: what".
pub fn validate(schema: &Value, doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, doc, "$", &mut errors);
    errors
}

/// Validate a summary.json text against the committed v1 schema.
pub fn validate_summary(json: &str) -> Vec<String> {
    let schema: Value = serde_json::from_str(SUMMARY_V1).expect("the committed schema is JSON");
    match serde_json::from_str::<Value>(json) {
        Ok(doc) => validate(&schema, &doc),
        Err(e) => vec![format!("$: not JSON: {e}")],
    }
}

fn check(root: &Value, schema: &Value, doc: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else {
        errors.push(format!("{path}: schema node is not an object"));
        return;
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        match resolve(root, r) {
            Some(target) => check(root, target, doc, path, errors),
            None => errors.push(format!("{path}: unresolvable $ref {r}")),
        }
        return;
    }
    for (key, rule) in obj {
        match key.as_str() {
            "type" => {
                let allowed: Vec<&str> = match rule {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                if !allowed.iter().any(|t| is_type(doc, t)) {
                    errors.push(format!("{path}: expected {}, found {}", allowed.join(" or "), type_name(doc)));
                }
            }
            "const" if doc != rule => errors.push(format!("{path}: expected {rule}, found {doc}")),
            "enum" => {
                if !rule.as_array().is_some_and(|a| a.contains(doc)) {
                    errors.push(format!("{path}: {doc} is not one of {rule}"));
                }
            }
            "minimum" => {
                if let (Some(min), Some(v)) = (rule.as_f64(), doc.as_f64()) {
                    if v < min {
                        errors.push(format!("{path}: {v} is below the minimum {min}"));
                    }
                }
            }
            "required" => {
                if let (Some(req), Some(o)) = (rule.as_array(), doc.as_object()) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !o.contains_key(r) {
                            errors.push(format!("{path}: missing required field {r}"));
                        }
                    }
                }
            }
            "properties" => {
                if let (Some(props), Some(o)) = (rule.as_object(), doc.as_object()) {
                    for (name, sub) in props {
                        if let Some(v) = o.get(name) {
                            check(root, sub, v, &format!("{path}.{name}"), errors);
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = doc.as_object() {
                    let known = obj.get("properties").and_then(Value::as_object);
                    for (name, v) in o {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        match rule {
                            Value::Bool(false) => {
                                errors.push(format!("{path}: field {name} is not in the schema"))
                            }
                            Value::Bool(true) => {}
                            sub => check(root, sub, v, &format!("{path}.{name}"), errors),
                        }
                    }
                }
            }
            "items" => {
                if let Some(a) = doc.as_array() {
                    for (i, v) in a.iter().enumerate() {
                        check(root, rule, v, &format!("{path}[{i}]"), errors);
                    }
                }
            }
            "const" => {}
            k if ANNOTATIONS.contains(&k) => {}
            other => errors.push(format!(
                "{path}: schema keyword {other} is not supported by this validator; extend report::schema"
            )),
        }
    }
}

fn resolve<'a>(root: &'a Value, r: &str) -> Option<&'a Value> {
    let pointer = r.strip_prefix('#')?;
    root.pointer(pointer)
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        _ => false,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
