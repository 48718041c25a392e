//! `workload.toml`: an app's load, written as data: its named queries, the
//! samples users draw values from, and its kinds of user.
//!
//! ```toml
//! tenants = "select id, weight from tenants_with_sizes"   # id, optional weight
//! think = [5.0, 15.0]                 # seconds between a user's steps
//!
//! [[sample]]                          # run once per tenant ($1 = tenant id)
//! name = "orders"
//! sql = "select id from orders where account = $1 limit 100"
//!
//! [[query]]
//! name = "order_detail"               # the name in every report and gate
//! route = "read"                      # read | read-own-writes | write
//! sql = "select * from orders where account = $1 and id = $2"
//! params = [{ tenant = true }, { sample = "orders", column = "id" }]
//!
//! [[user]]
//! name = "clerk"
//! weight = 3
//! settings = { "app.role" = "clerk" } # besides the tenant setting of app.toml
//! [[user.step]]
//! name = "open an order"
//! weight = 1
//! calls = ["order_detail"]            # or { query = "...", params = [...] }
//! ```
//!
//! A parameter (or a setting) is one of: a TOML value (`20`, `"text"`,
//! `["a", "b"]`: fixed); `{ tenant = true }`; `{ sample = "S", column = "c" }`
//! (a random row of the tenant's sample); `{ user = "slot", column = "c" }`
//! (the row the user drew at its start into `draw = { slot = "S" }`);
//! `{ returned = "Q", column = "c" }` (a random row of the user's last
//! answer to query Q: what it just inserted, the ids a search returned);
//! `{ new = "uuid" }`; `{ int = [lo, hi] }`; `{ float = [lo, hi], decimals = 2 }`;
//! `{ choice = [...] }`; `{ format = "Visitor {}", with = SOURCE }`;
//! `{ list = SOURCE, len = N }` or `len_of = K` (as long as the list bound
//! to `$K`). `sample`, `user` and `returned` take `or = SOURCE`, used when
//! there is nothing to draw from; without it the call is skipped, as an app
//! skips a detail page when a search found nothing.
//!
//! The app's own goals ride in the same file; `harness.toml` and flags
//! still override them:
//!
//! ```toml
//! [gates]
//! p95_ms = 50                         # every named query and all together
//! error_rate_pct = 0.1
//! [pool]                              # connections per pool
//! primary = 50
//! replica = 50
//! [[query]]
//! p95_ms = 5                          # this query's own limit
//! [[claim]]                           # a speed claim, measured after the run
//! name = "search_gin_30x"
//! query = "search"                    # its heaviest real call is re-run
//! without_indexes = ["docs_search_gin"]  # dropped in a rolled-back transaction
//! at_least = 30                       # time without / time with, as the app role
//! ```
//!
//! `[[ryw]]` pairs a write with the read-your-own-write read after it: the
//! read must return the value the write returned in `column` (else the read
//! counts as failed with the error kind `ryw-miss`).
//!
//! Loading is in two passes, each listing every problem it finds with the
//! item named: [`Workload::parse`] checks the file alone (names, references,
//! `$n` counts, unknown keys); the harness then prepares every statement on
//! the loaded database ([`crate::plan`]) and checks what only the server
//! knows (SQL errors, parameter and column types, column names).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::common::Route;
use crate::value::Value;

/// Why a workload file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("{path}: {problem}")]
    File { path: PathBuf, problem: String },
    #[error("{path} has {} problem(s):\n  - {}", problems.len(), problems.join("\n  - "))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tenants: String,
    #[serde(default)]
    think: Option<[f64; 2]>,
    #[serde(default, rename = "sample")]
    samples: Vec<SampleDef>,
    #[serde(default, rename = "query")]
    queries: Vec<QueryFile>,
    #[serde(default, rename = "user")]
    users: Vec<UserFile>,
    #[serde(default)]
    ryw: Vec<RywDef>,
    #[serde(default)]
    gates: Goals,
    #[serde(default)]
    pool: PoolDef,
    #[serde(default, rename = "claim")]
    claims: Vec<ClaimDef>,
}

/// `[gates]`: the app's own limits (unset: the harness's).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goals {
    /// p95 limit for every named query and all together, ms.
    pub p95_ms: Option<f64>,
    /// Error-rate limit, percent.
    pub error_rate_pct: Option<f64>,
    /// Replica lag limit, seconds.
    pub replica_lag_secs: Option<f64>,
    /// `[pool]`: connections in the primary's and the replica's pool.
    #[serde(skip)]
    pub primary_pool: Option<u32>,
    #[serde(skip)]
    pub replica_pool: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolDef {
    primary: Option<u32>,
    replica: Option<u32>,
}

/// `[[claim]]`: a speed-up the app claims for one named query thanks to
/// some indexes, measured after the run on that query's heaviest real call,
/// as the app role, with the indexes and with them dropped (in a
/// transaction that is rolled back).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The named query.
    pub query: String,
    /// Indexes dropped for the baseline.
    pub without_indexes: Vec<String>,
    /// Baseline time over time with the indexes must be at least this.
    pub at_least: f64,
    /// A claim that does not hold fails the run (default: reported only).
    #[serde(default)]
    pub gate: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryFile {
    name: String,
    route: Route,
    sql: String,
    #[serde(default)]
    params: Option<Vec<toml::Value>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    p95_ms: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    name: String,
    weight: usize,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    think: Option<[f64; 2]>,
    #[serde(default)]
    draw: BTreeMap<String, String>,
    #[serde(default)]
    settings: BTreeMap<String, toml::Value>,
    #[serde(default, rename = "step")]
    steps: Vec<StepFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    name: String,
    weight: usize,
    calls: Vec<CallFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum CallFile {
    Name(String),
    Full(CallTable),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallTable {
    query: String,
    #[serde(default)]
    params: Option<Vec<toml::Value>>,
}

/// A sample: a query run once per tenant on the loaded data, as the owner
/// role with the tenant setting set; `$1`, when used, is the tenant id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleDef {
    pub name: String,
    pub sql: String,
}

/// A read-your-own-write pair.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RywDef {
    /// The write (route = "write") whose returned value must be seen.
    pub write: String,
    /// The read (route = "read-own-writes") that must return it.
    pub read: String,
    /// The write's returned column.
    pub column: String,
    /// The read's column holding it (default: `column`).
    #[serde(default)]
    pub read_column: Option<String>,
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Fixed(Value),
    Tenant,
    Sample {
        sample: String,
        column: Option<String>,
        or: Option<Box<Source>>,
    },
    User {
        slot: String,
        column: Option<String>,
        or: Option<Box<Source>>,
    },
    Returned {
        query: String,
        column: Option<String>,
        or: Option<Box<Source>>,
    },
    NewUuid,
    Int(i64, i64),
    Float(f64, f64, Option<u32>),
    Choice(Vec<Value>),
    Format(String, Box<Source>),
    List(Box<Source>, Len),
}

/// How long a generated list is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Len {
    Fixed(usize),
    /// As long as the list bound to this parameter (0-based).
    Of(usize),
}

/// A named query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryDef {
    pub name: String,
    pub route: Route,
    pub sql: String,
    pub params: Option<Vec<Source>>,
    pub description: Option<String>,
    /// This query's own p95 limit, ms (`[gates]`'s otherwise).
    pub p95_ms: Option<f64>,
}

/// One query sent in a step, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub query: String,
    pub params: Vec<Source>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepDef {
    pub name: String,
    pub weight: usize,
    pub calls: Vec<Call>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserDef {
    pub name: String,
    pub weight: usize,
    pub description: Option<String>,
    pub think: [f64; 2],
    /// Slot name -> sample: a row drawn once when a user starts.
    pub draw: BTreeMap<String, String>,
    /// Setting -> value, set with the tenant setting in every transaction.
    pub settings: Vec<(String, Source)>,
    pub steps: Vec<StepDef>,
}

/// A checked workload file.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub path: PathBuf,
    pub tenants: String,
    pub samples: Vec<SampleDef>,
    pub queries: Vec<QueryDef>,
    pub users: Vec<UserDef>,
    pub ryw: Vec<RywDef>,
    /// `[gates]` and `[pool]`.
    pub goals: Goals,
    pub claims: Vec<ClaimDef>,
}

/// Not a positive number (NaN included).
fn not_positive(v: f64) -> bool {
    v.is_nan() || v <= 0.0
}

/// The highest `$n` in `sql`, skipping string literals, quoted
/// identifiers, comments and dollar-quoted bodies (where `$1` is text).
pub fn placeholders(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut max = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'$' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j > start {
                    let n: usize = sql[start..j].parse().unwrap_or(0);
                    max = max.max(n);
                    i = j;
                    continue;
                }
                // A dollar quote: $$ or $tag$ ... the same tag.
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if b.get(j) == Some(&b'$') && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
                    let tag = &sql[i..=j];
                    match sql[j + 1..].find(tag) {
                        Some(end) => i = j + 1 + end + tag.len(),
                        None => i = b.len(),
                    }
                    continue;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    max
}

const SOURCE_KINDS: [&str; 10] = [
    "tenant", "sample", "user", "returned", "new", "int", "float", "choice", "format", "list",
];

/// Parse one source; problems go to `p` prefixed with `at`.
fn source(v: &toml::Value, at: &str, p: &mut Vec<String>) -> Option<Source> {
    let t = match v {
        toml::Value::Table(t) => t,
        other => {
            return match Value::from_toml(other) {
                Some(v) => Some(Source::Fixed(v)),
                None => {
                    p.push(format!(
                        "{at}: {other} is not a value (dates are written as text)"
                    ));
                    None
                }
            }
        }
    };
    let kinds: Vec<&str> = SOURCE_KINDS
        .iter()
        .copied()
        .filter(|k| t.contains_key(*k))
        .collect();
    let [kind] = kinds[..] else {
        p.push(format!(
            "{at}: {} needs exactly one of {} (found {})",
            toml::Value::Table(t.clone()),
            SOURCE_KINDS.join(", "),
            if kinds.is_empty() {
                "none".into()
            } else {
                kinds.join(", ")
            }
        ));
        return None;
    };
    let allowed: &[&str] = match kind {
        "sample" | "user" | "returned" => &["column", "or"],
        "float" => &["decimals"],
        "format" => &["with"],
        "list" => &["len", "len_of"],
        _ => &[],
    };
    for k in t.keys() {
        if k != kind && !allowed.contains(&k.as_str()) {
            p.push(format!(
                "{at}: unknown key {k:?} in a {kind} source (allowed: {})",
                if allowed.is_empty() {
                    "none".into()
                } else {
                    allowed.join(", ")
                }
            ));
        }
    }
    let val = &t[kind];
    let text = |p: &mut Vec<String>| match val.as_str() {
        Some(s) => Some(s.to_string()),
        None => {
            p.push(format!("{at}: {kind} must name something (a string)"));
            None
        }
    };
    let column = match t.get("column") {
        None => None,
        Some(c) => match c.as_str() {
            Some(c) => Some(c.to_string()),
            None => {
                p.push(format!("{at}: column must be a column name (a string)"));
                None
            }
        },
    };
    let or = match t.get("or") {
        Some(o) => Some(Box::new(source(o, &format!("{at} (or)"), p)?)),
        None => None,
    };
    let pair = |p: &mut Vec<String>| -> Option<(f64, f64)> {
        match val.as_array().map(|a| a.as_slice()) {
            Some([lo, hi]) => {
                let n = |x: &toml::Value| x.as_float().or(x.as_integer().map(|i| i as f64));
                match (n(lo), n(hi)) {
                    (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
                    _ => {
                        p.push(format!(
                            "{at}: {kind} = [lo, hi] needs two numbers, lo <= hi"
                        ));
                        None
                    }
                }
            }
            _ => {
                p.push(format!("{at}: {kind} = [lo, hi] needs two numbers"));
                None
            }
        }
    };
    Some(match kind {
        "tenant" => {
            if val.as_bool() != Some(true) {
                p.push(format!("{at}: write tenant = true"));
            }
            Source::Tenant
        }
        "sample" => Source::Sample {
            sample: text(p)?,
            column,
            or,
        },
        "user" => Source::User {
            slot: text(p)?,
            column,
            or,
        },
        "returned" => Source::Returned {
            query: text(p)?,
            column,
            or,
        },
        "new" => {
            if val.as_str() != Some("uuid") {
                p.push(format!("{at}: new = \"uuid\" is the one generated id"));
            }
            Source::NewUuid
        }
        "int" => {
            let is_int = val
                .as_array()
                .is_some_and(|a| a.iter().all(|x| x.as_integer().is_some()));
            let (lo, hi) = pair(p)?;
            if !is_int {
                p.push(format!("{at}: int = [lo, hi] takes whole numbers"));
            }
            Source::Int(lo as i64, hi as i64)
        }
        "float" => {
            let (lo, hi) = pair(p)?;
            let decimals = match t.get("decimals") {
                None => None,
                Some(d) => match d.as_integer() {
                    Some(d @ 0..=15) => Some(d as u32),
                    _ => {
                        p.push(format!("{at}: decimals must be 0 to 15"));
                        None
                    }
                },
            };
            Source::Float(lo, hi, decimals)
        }
        "choice" => match val.as_array() {
            Some(a) if !a.is_empty() => {
                match a.iter().map(Value::from_toml).collect::<Option<Vec<_>>>() {
                    Some(v) => Source::Choice(v),
                    None => {
                        p.push(format!("{at}: choice lists plain values"));
                        return None;
                    }
                }
            }
            _ => {
                p.push(format!("{at}: choice needs a non-empty list of values"));
                return None;
            }
        },
        "format" => {
            let f = text(p)?;
            if f.matches("{}").count() != 1 {
                p.push(format!(
                    "{at}: format needs exactly one {{}} (where the value goes)"
                ));
            }
            let Some(w) = t.get("with") else {
                p.push(format!(
                    "{at}: format needs with = SOURCE (the value to put in)"
                ));
                return None;
            };
            Source::Format(f, Box::new(source(w, &format!("{at} (with)"), p)?))
        }
        "list" => {
            let of = source(val, &format!("{at} (list)"), p)?;
            let len = match (t.get("len"), t.get("len_of")) {
                (Some(n), None) => match n.as_integer() {
                    Some(n @ 1..=100_000) => Len::Fixed(n as usize),
                    _ => {
                        p.push(format!("{at}: len must be 1 to 100000"));
                        return None;
                    }
                },
                (None, Some(k)) => match k.as_integer() {
                    Some(k @ 1..) => Len::Of(k as usize - 1),
                    _ => {
                        p.push(format!("{at}: len_of names a parameter: 1 for $1, ..."));
                        return None;
                    }
                },
                _ => {
                    p.push(format!(
                        "{at}: a list needs len = N or len_of = K ($K's length)"
                    ));
                    return None;
                }
            };
            Source::List(Box::new(of), len)
        }
        _ => unreachable!("kinds are SOURCE_KINDS"),
    })
}

/// Check a source's references; `step_queries`: what the user kind calls.
struct Refs<'a> {
    samples: &'a BTreeSet<&'a str>,
    slots: Option<&'a BTreeMap<String, String>>,
    called: &'a BTreeSet<&'a str>,
}

fn check_refs(s: &Source, at: &str, r: &Refs, p: &mut Vec<String>) {
    match s {
        Source::Sample { sample, or, .. } => {
            if !r.samples.contains(sample.as_str()) {
                p.push(format!(
                    "{at}: unknown sample {sample:?} (samples: {})",
                    list(r.samples)
                ));
            }
            if let Some(o) = or {
                check_refs(o, at, r, p);
            }
        }
        Source::User { slot, or, .. } => {
            match r.slots {
                Some(slots) if slots.contains_key(slot) => {}
                Some(slots) => p.push(format!(
                    "{at}: unknown user slot {slot:?}; the user draws: {}",
                    if slots.is_empty() {
                        "nothing (add draw = { slot = \"SAMPLE\" })".to_string()
                    } else {
                        slots.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                )),
                None => {}
            }
            if let Some(o) = or {
                check_refs(o, at, r, p);
            }
        }
        Source::Returned { query, or, .. } => {
            if !r.called.contains(query.as_str()) {
                p.push(format!(
                    "{at}: returned = {query:?}, but this user never calls {query:?}"
                ));
            }
            if let Some(o) = or {
                check_refs(o, at, r, p);
            }
        }
        Source::Format(_, w) => check_refs(w, at, r, p),
        Source::List(of, _) => check_refs(of, at, r, p),
        _ => {}
    }
}

fn list(s: &BTreeSet<&str>) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s.iter().copied().collect::<Vec<_>>().join(", ")
    }
}

fn params(v: &Option<Vec<toml::Value>>, at: &str, p: &mut Vec<String>) -> Option<Vec<Source>> {
    v.as_ref().map(|ps| {
        ps.iter()
            .enumerate()
            .filter_map(|(i, v)| source(v, &format!("{at} ${}", i + 1), p))
            .collect()
    })
}

impl Workload {
    /// Read and check `path`.
    pub fn load(path: &Path) -> Result<Workload, WorkloadError> {
        let text = std::fs::read_to_string(path).map_err(|e| WorkloadError::File {
            path: path.to_path_buf(),
            problem: format!("cannot read it: {e}"),
        })?;
        Workload::parse(&text, path)
    }

    /// Check `text` (the contents of `path`): every problem at once.
    pub fn parse(text: &str, path: &Path) -> Result<Workload, WorkloadError> {
        let file: File = toml::from_str(text).map_err(|e| WorkloadError::File {
            path: path.to_path_buf(),
            problem: format!("not valid: {e}"),
        })?;
        let mut p = Vec::new();
        let mut seen = BTreeSet::new();
        for s in &file.samples {
            if !seen.insert(s.name.as_str()) {
                p.push(format!("sample {:?} is defined twice", s.name));
            }
            if placeholders(&s.sql) > 1 {
                p.push(format!(
                    "sample {:?}: a sample takes at most $1 (the tenant id)",
                    s.name
                ));
            }
        }
        if placeholders(&file.tenants) > 0 {
            p.push("tenants: the tenants query takes no parameters".into());
        }
        let samples: BTreeSet<&str> = seen;
        let mut queries = Vec::new();
        let mut qnames = BTreeMap::new();
        for q in &file.queries {
            let at = format!("query {:?}", q.name);
            if qnames.insert(q.name.as_str(), q.route).is_some() {
                p.push(format!("{at} is defined twice"));
            }
            let ps = params(&q.params, &at, &mut p);
            // A query's default parameters are checked where they are used:
            // in each call that takes them (user slots and returned values
            // belong to the user kind that calls).
            queries.push(QueryDef {
                name: q.name.clone(),
                route: q.route,
                sql: q.sql.clone(),
                params: ps,
                description: q.description.clone(),
                p95_ms: q.p95_ms,
            });
            if q.p95_ms.is_some_and(not_positive) {
                p.push(format!("{at}: p95_ms must be above 0"));
            }
        }
        let mut users = Vec::new();
        let mut unames = BTreeSet::new();
        if file.users.is_empty() {
            p.push("no [[user]]: a workload needs at least one kind of user".into());
        }
        for u in &file.users {
            let at = format!("user {:?}", u.name);
            if !unames.insert(u.name.as_str()) {
                p.push(format!("{at} is defined twice"));
            }
            if u.weight == 0 {
                p.push(format!("{at}: weight must be at least 1"));
            }
            let think = u.think.or(file.think);
            match think {
                None => p.push(format!(
                    "{at}: no think time; give think = [min, max] seconds here or at the top of the file"
                )),
                Some([lo, hi]) if !(0.0 <= lo && lo <= hi) => {
                    p.push(format!("{at}: think = [{lo}, {hi}] needs 0 <= min <= max"))
                }
                _ => {}
            }
            for (slot, s) in &u.draw {
                if !samples.contains(s.as_str()) {
                    p.push(format!("{at} draw {slot:?}: unknown sample {s:?}"));
                }
            }
            let called: BTreeSet<&str> = u
                .steps
                .iter()
                .flat_map(|s| s.calls.iter())
                .map(|c| match c {
                    CallFile::Name(n) => n.as_str(),
                    CallFile::Full(c) => c.query.as_str(),
                })
                .collect();
            let refs = Refs {
                samples: &samples,
                slots: Some(&u.draw),
                called: &called,
            };
            let mut settings = Vec::new();
            for (name, v) in &u.settings {
                let sat = format!("{at} setting {name:?}");
                if !name.contains('.') {
                    p.push(format!("{sat}: a custom setting is named prefix.name"));
                }
                if let Some(s) = source(v, &sat, &mut p) {
                    if matches!(s, Source::Returned { .. }) {
                        p.push(format!("{sat}: a setting is fixed for the user's life; returned values cannot be one"));
                    }
                    check_refs(&s, &sat, &refs, &mut p);
                    settings.push((name.clone(), s));
                }
            }
            if u.steps.is_empty() {
                p.push(format!("{at}: no [[user.step]]"));
            }
            let mut steps = Vec::new();
            let mut snames = BTreeSet::new();
            for s in &u.steps {
                let sat = format!("{at} step {:?}", s.name);
                if !snames.insert(s.name.as_str()) {
                    p.push(format!("{sat} is defined twice"));
                }
                if s.weight == 0 {
                    p.push(format!("{sat}: weight must be at least 1"));
                }
                if s.calls.is_empty() {
                    p.push(format!("{sat}: no calls"));
                }
                let mut calls = Vec::new();
                for (i, c) in s.calls.iter().enumerate() {
                    let (qname, given) = match c {
                        CallFile::Name(n) => (n, &None),
                        CallFile::Full(c) => (&c.query, &c.params),
                    };
                    let cat = format!("{sat} call {} ({qname})", i + 1);
                    let Some(q) = queries.iter().find(|q| &q.name == qname) else {
                        p.push(format!("{cat}: unknown query {qname:?}"));
                        continue;
                    };
                    let ps = match params(given, &cat, &mut p).or_else(|| q.params.clone()) {
                        Some(ps) => ps,
                        None => {
                            p.push(format!("{cat}: no params here nor on the query"));
                            continue;
                        }
                    };
                    let n = placeholders(&q.sql);
                    if ps.len() != n {
                        p.push(format!(
                            "{cat}: {} parameter(s) given, the SQL uses {n} ($1..${n})",
                            ps.len()
                        ));
                    }
                    for (j, src) in ps.iter().enumerate() {
                        let pat = format!("{cat} ${}", j + 1);
                        check_refs(src, &pat, &refs, &mut p);
                        if let Source::List(_, Len::Of(k)) = src {
                            if *k == j || *k >= ps.len() {
                                p.push(format!(
                                    "{pat}: len_of = {} names no other parameter",
                                    k + 1
                                ));
                            }
                        }
                    }
                    calls.push(Call {
                        query: qname.clone(),
                        params: ps,
                    });
                }
                steps.push(StepDef {
                    name: s.name.clone(),
                    weight: s.weight,
                    calls,
                });
            }
            users.push(UserDef {
                name: u.name.clone(),
                weight: u.weight,
                description: u.description.clone(),
                think: think.unwrap_or([0.0, 0.0]),
                draw: u.draw.clone(),
                settings,
                steps,
            });
        }
        for r in &file.ryw {
            let at = format!("ryw {} -> {}", r.write, r.read);
            match qnames.get(r.write.as_str()) {
                Some(Route::Write) => {}
                Some(_) => p.push(format!(
                    "{at}: {:?} is not a write (route = \"write\")",
                    r.write
                )),
                None => p.push(format!("{at}: unknown query {:?}", r.write)),
            }
            match qnames.get(r.read.as_str()) {
                Some(Route::ReadOwnWrites) => {}
                Some(_) => p.push(format!(
                    "{at}: {:?} must be routed read-own-writes to be checked",
                    r.read
                )),
                None => p.push(format!("{at}: unknown query {:?}", r.read)),
            }
        }
        let g = &file.gates;
        for (key, v) in [
            ("p95_ms", g.p95_ms),
            ("error_rate_pct", g.error_rate_pct),
            ("replica_lag_secs", g.replica_lag_secs),
        ] {
            if v.is_some_and(not_positive) {
                p.push(format!("[gates] {key} must be above 0"));
            }
        }
        for (key, v) in [
            ("primary", file.pool.primary),
            ("replica", file.pool.replica),
        ] {
            if v == Some(0) {
                p.push(format!("[pool] {key} must be at least 1"));
            }
        }
        let mut cnames = BTreeSet::new();
        for c in &file.claims {
            let at = format!("claim {:?}", c.name);
            if !cnames.insert(c.name.as_str()) {
                p.push(format!("{at} is defined twice"));
            }
            if !qnames.contains_key(c.query.as_str()) {
                p.push(format!("{at}: unknown query {:?}", c.query));
            }
            if c.without_indexes.is_empty() {
                p.push(format!(
                    "{at}: without_indexes names no index: the baseline would be the same plan"
                ));
            }
            if not_positive(c.at_least) {
                p.push(format!("{at}: at_least must be above 0 (a ratio, e.g. 30)"));
            }
        }
        if !p.is_empty() {
            return Err(WorkloadError::Invalid {
                path: path.to_path_buf(),
                problems: p,
            });
        }
        Ok(Workload {
            path: path.to_path_buf(),
            tenants: file.tenants,
            samples: file.samples,
            queries,
            users,
            ryw: file.ryw,
            goals: Goals {
                primary_pool: file.pool.primary,
                replica_pool: file.pool.replica,
                ..file.gates
            },
            claims: file.claims,
        })
    }

    pub fn query(&self, name: &str) -> Option<&QueryDef> {
        self.queries.iter().find(|q| q.name == name)
    }

    pub fn user(&self, name: &str) -> Option<&UserDef> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Apply a mix (user kind -> weight, e.g. from `--mix`): kinds it does
    /// not name get weight 0 and are dropped. An empty mix keeps the file's
    /// weights.
    pub fn with_mix(mut self, mix: &BTreeMap<String, usize>) -> Result<Workload, String> {
        if mix.is_empty() {
            return Ok(self);
        }
        let names: Vec<String> = self.users.iter().map(|u| u.name.clone()).collect();
        let unknown: Vec<&String> = mix.keys().filter(|k| !names.contains(k)).collect();
        if !unknown.is_empty() {
            return Err(format!(
                "mix names {} not in {} (kinds: {})",
                unknown
                    .iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.path.display(),
                names.join(", ")
            ));
        }
        for u in &mut self.users {
            u.weight = mix.get(&u.name).copied().unwrap_or(0);
        }
        self.users.retain(|u| u.weight > 0);
        if self.users.is_empty() {
            return Err(
                "every weight of the mix is 0: give at least one kind of user a weight".into(),
            );
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
tenants = "select id from accounts"
think = [1.0, 2.0]

[[sample]]
name = "orders"
sql = "select id, total from orders where account = $1 limit 10"

[[query]]
name = "order"
route = "read"
sql = "select * from orders where account = $1 and id = $2 -- not $3"
params = [{ tenant = true }, { sample = "orders", column = "id" }]

[[query]]
name = "add"
route = "write"
sql = "insert into orders (id, account, note) values ($1, $2, 'it''s $9') returning id"

[[query]]
name = "mine"
route = "read-own-writes"
sql = "select id from orders where account = $1"

[[user]]
name = "clerk"
weight = 2
draw = { me = "orders" }
settings = { "app.who" = { user = "me", column = "id" }, "app.role" = "clerk" }

[[user.step]]
name = "look"
weight = 1
calls = ["order"]

[[user.step]]
name = "add and see"
weight = 1
calls = [
  { query = "add", params = [{ new = "uuid" }, { tenant = true }] },
  { query = "mine", params = [{ tenant = true }] },
  { query = "order", params = [{ tenant = true }, { returned = "add", column = "id", or = { sample = "orders" } }] },
]

[[ryw]]
write = "add"
read = "mine"
column = "id"
"#;

    fn problems(text: &str) -> String {
        match Workload::parse(text, Path::new("apps/x/workload.toml")) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_good_file_parses_into_queries_users_and_pairs() {
        let w = Workload::parse(GOOD, Path::new("w.toml")).unwrap();
        assert_eq!(w.queries.len(), 3);
        let u = w.user("clerk").unwrap();
        assert_eq!(u.think, [1.0, 2.0]);
        assert_eq!(u.steps[1].calls.len(), 3);
        assert_eq!(
            u.steps[0].calls[0].params.len(),
            2,
            "the query's own params"
        );
        assert!(matches!(
            &u.steps[1].calls[2].params[1],
            Source::Returned { or: Some(_), .. }
        ));
        assert_eq!(w.ryw[0].column, "id");
        let mixed = w
            .clone()
            .with_mix(&[("clerk".to_string(), 5)].into())
            .unwrap();
        assert_eq!(mixed.users[0].weight, 5);
        assert!(w
            .with_mix(&[("clark".to_string(), 5)].into())
            .unwrap_err()
            .contains("clark"));
    }

    /// Placeholders inside literals, quoted names, comments and dollar
    /// quotes are not parameters.
    #[test]
    fn placeholders_skip_literals_and_comments() {
        assert_eq!(
            placeholders("select $1, '$7', \"$8\" -- $9\n, $2 /* $10 */"),
            2
        );
        assert_eq!(placeholders("select $$ $5 $$, $tag$ $6 $tag$, $3"), 3);
        assert_eq!(placeholders("select 1"), 0);
    }

    #[test]
    fn every_problem_is_listed_with_its_item() {
        let bad = GOOD
            .replace("calls = [\"order\"]", "calls = [\"ordr\"]")
            .replace("{ sample = \"orders\" }", "{ sample = \"orderz\" }")
            .replace(
                "{ query = \"mine\", params = [{ tenant = true }] }",
                "{ query = \"mine\", params = [{ tenant = true }, 3] }",
            )
            .replace(
                "column = \"id\" }, \"app.role\"",
                "column = \"id\", colour = 1 }, \"app.role\"",
            )
            .replace("write = \"add\"", "write = \"order\"");
        let e = problems(&bad);
        for want in [
            "apps/x/workload.toml has 5 problem(s)",
            "user \"clerk\" step \"look\" call 1 (ordr): unknown query \"ordr\"",
            "unknown sample \"orderz\"",
            "call 2 (mine): 2 parameter(s) given, the SQL uses 1",
            "setting \"app.who\": unknown key \"colour\" in a user source",
            "ryw order -> mine: \"order\" is not a write",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
    }

    #[test]
    fn the_apps_goals_pool_and_claims_are_read_and_checked() {
        let with = format!(
            "{GOOD}\n[gates]\np95_ms = 50\n[pool]\nprimary = 50\nreplica = 20\n\
             [[claim]]\nname = \"fast\"\nquery = \"order\"\n\
             without_indexes = [\"orders_pkey\"]\nat_least = 30\n"
        )
        .replace(
            "name = \"order\"\nroute = \"read\"",
            "name = \"order\"\nroute = \"read\"\np95_ms = 5",
        );
        let w = Workload::parse(&with, Path::new("w.toml")).unwrap();
        assert_eq!(w.goals.p95_ms, Some(50.0));
        assert_eq!(
            (w.goals.primary_pool, w.goals.replica_pool),
            (Some(50), Some(20))
        );
        assert_eq!(w.query("order").unwrap().p95_ms, Some(5.0));
        assert_eq!(w.claims[0].at_least, 30.0);
        assert!(
            !w.claims[0].gate,
            "a claim is reported, not gated, by default"
        );
        // None of it: the harness's own defaults stay.
        let plain = Workload::parse(GOOD, Path::new("w.toml")).unwrap();
        assert_eq!(plain.goals, Goals::default());
        let bad = with
            .replace("query = \"order\"\n", "query = \"ordr\"\n")
            .replace("[\"orders_pkey\"]", "[]")
            .replace("at_least = 30", "at_least = 0")
            .replace("primary = 50", "primary = 0")
            .replace("p95_ms = 50", "p95_ms = -1")
            .replace("p95_ms = 5\n", "p95_ms = 0\n");
        let e = problems(&bad);
        for want in [
            "has 6 problem(s)",
            "claim \"fast\": unknown query \"ordr\"",
            "claim \"fast\": without_indexes names no index",
            "claim \"fast\": at_least must be above 0",
            "[pool] primary must be at least 1",
            "[gates] p95_ms must be above 0",
            "query \"order\": p95_ms must be above 0",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_sources_are_refused() {
        let e = problems(&GOOD.replace("weight = 2", "weight = 2\nwieght = 3"));
        assert!(e.contains("unknown field `wieght`"), "{e}");
        let e = problems(&GOOD.replace("[[ryw]]", "[[ryw]]\nreads = 1"));
        assert!(e.contains("unknown field `reads`"), "{e}");
        let e = problems(&GOOD.replace("{ new = \"uuid\" }", "{ new = \"uuid\", int = [1, 2] }"));
        assert!(e.contains("needs exactly one of"), "{e}");
        let e = problems(&GOOD.replace("draw = { me = \"orders\" }", "draw = { me = \"nope\" }"));
        assert!(e.contains("draw \"me\": unknown sample \"nope\""), "{e}");
        let e = problems(&GOOD.replace("{ returned = \"add\"", "{ returned = \"other\""));
        assert!(e.contains("this user never calls \"other\""), "{e}");
        let e = problems(&GOOD.replace("think = [1.0, 2.0]", ""));
        assert!(e.contains("no think time"), "{e}");
        let e =
            problems(&GOOD.replace("{ tenant = true }, { sample", "{ int = [5, 1] }, { sample"));
        assert!(e.contains("lo <= hi"), "{e}");
        let e = problems(&GOOD.replace(
            "{ user = \"me\", column = \"id\" }",
            "{ user = \"you\", column = \"id\" }",
        ));
        assert!(e.contains("unknown user slot \"you\""), "{e}");
    }
}
