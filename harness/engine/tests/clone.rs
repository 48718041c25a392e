//! Tenant cloning, checked from the outside: every expectation below is
//! plain SQL over the source and the cloned file (plus the mapping, which
//! says how tables reach their tenants), never the clone's own code. The
//! expectations restate the module's contract: copy 0 is the source, ids
//! move by whole strides, references follow their parent, per-tenant sizes
//! repeat the source's, unique values stay unique, mostly distinct private
//! columns stay mostly distinct, vocabularies are copied as they are.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use harness_engine::app::clone::{clone_tenants, CloneSpec, CloneSummary};
use harness_engine::app::sample::{self, SampleParams};
use harness_engine::app::{quote, App, Rule, TenantLink};
use rusqlite::Connection;
use sha2::{Digest, Sha256};

/// A column's share of NULLs may move by this much (absolute): copies keep
/// each row's NULLs, only the mix of tenant sizes (extra copies, rows
/// without a tenant copied once) moves it.
const NULL_RATE_ABS: f64 = 0.02;
/// A distinct ratio (distinct / non-null) that copies keep may move by this
/// much absolute, or this much relative, whichever is looser: variations
/// can land on an existing value now and then.
const DISTINCT_ABS: f64 = 0.05;
const DISTINCT_REL: f64 = 0.10;
/// Mean of length(cast(col as text)) within 10 % of the source's.
const LEN_MEAN_REL: f64 = 0.10;
/// p10 / p50 / p90 of the length within 10 % or 2 characters: variations
/// keep lengths, but a one-digit real gains a digit.
const LEN_PCT_REL: f64 = 0.10;
const LEN_PCT_ABS: f64 = 2.0;
/// A varied number column's mean may move by 10 % of its mean magnitude.
const NUMBER_MEAN_REL: f64 = 0.10;
/// The contract's thresholds for a column copies vary on their own (no
/// unique index asking): at least half its values distinct, and its
/// (tenant, value) pairs at most 1.5 times its distinct values.
const MOSTLY_DISTINCT: f64 = 0.5;
const PRIVATE_SHARING: f64 = 1.5;

fn apps() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../apps")
}

/// The folder's own data: its data.toml, else its data.sql. (Hard values
/// are the hand-made folder's business: the tolerances below are for data
/// whose columns keep one shape.)
fn build(app: &App, tenants: u32, path: &Path) {
    if let Some(spec) = &app.data_toml {
        let params = harness_engine::data::Params {
            tenants,
            scale: 1.0,
            seed: 0,
            hard_rate: 0.0,
        };
        harness_engine::data::write_sqlite(app, spec, &params, path, &mut |_, _| {}).unwrap();
        return;
    }
    let params = SampleParams {
        scale: 1,
        tenants,
        seed: 0,
    };
    sample::build(app, &params, path).unwrap();
}

fn clone(app: &App, src: &Path, out: &Path, tenants: u32, seed: u64) -> CloneSummary {
    let mut calls = 0u64;
    let mut last = 0u64;
    let summary = clone_tenants(app, src, out, &CloneSpec { tenants, seed }, &mut |n| {
        assert!(n >= last, "progress goes forward");
        last = n;
        calls += 1;
    })
    .unwrap();
    assert!(calls > 0, "progress is reported");
    let rows: u64 = summary.tables.iter().map(|t| t.1).sum();
    assert_eq!(last, rows, "the last progress call is the rows written");
    summary
}

/// The source's tenant count: its root table's rows (a sample's hard cases
/// can add tenants to the ones asked for).
fn tenant_count(app: &App, src: &Path) -> u32 {
    let root = app.toml.tenant.root_table.as_deref().unwrap();
    let legacy = app.table(root).unwrap().legacy_name().to_string();
    let c = Connection::open(src).unwrap();
    one::<i64>(&c, &format!("select count(*) from {}", quote(&legacy))) as u32
}

fn hash(path: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(path).unwrap()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// How a table reaches its tenant, from the mapping alone.
#[derive(Debug, Clone, PartialEq)]
enum Reach {
    Root,
    Column(String),
    Child,
    Shared,
}

#[derive(Debug, Clone)]
struct Table {
    target: String,
    legacy: String,
    key: String,
    reach: Reach,
    /// (legacy column, parent table index)
    refs: Vec<(String, usize)>,
    /// (legacy column, legacy column naming the target table)
    records: Vec<(String, String)>,
    rules: HashMap<String, Rule>,
}

/// The mapping read as the contract reads it: root, tenant column, child
/// (no tenant column, a reference to an earlier tenant-scoped table), shared.
struct Model {
    tables: Vec<Table>,
}

impl Model {
    fn new(app: &App) -> Model {
        let mut tables: Vec<Table> = Vec::new();
        for tm in &app.mapping.tables {
            let mut reach = match app.tenant_link(tm) {
                TenantLink::Root => Reach::Root,
                TenantLink::Column(i) => Reach::Column(tm.columns[i].legacy[0].clone()),
                TenantLink::None => Reach::Shared,
            };
            let mut refs = Vec::new();
            let mut records = Vec::new();
            let mut rules = HashMap::new();
            for c in &tm.columns {
                for l in &c.legacy {
                    rules.insert(l.to_lowercase(), c.rule.clone());
                }
                match &c.rule {
                    Rule::Ref { table } => {
                        let parent = app.mapping.position(table).unwrap();
                        if parent < tables.len()
                            && tables[parent].reach != Reach::Shared
                            && reach == Reach::Shared
                        {
                            reach = Reach::Child;
                        }
                        refs.push((c.legacy[0].clone(), parent));
                    }
                    Rule::RecordRef { table_column } => {
                        records.push((c.legacy[0].clone(), table_column.clone()))
                    }
                    _ => {}
                }
            }
            tables.push(Table {
                target: tm.name.clone(),
                legacy: tm.legacy_name().to_string(),
                key: tm.key().legacy[0].clone(),
                reach,
                refs,
                records,
                rules,
            });
        }
        Model { tables }
    }

    fn scoped(&self, i: usize) -> bool {
        self.tables[i].reach != Reach::Shared
    }

    /// SQL for the tenant of row `alias` of table `i` (NULL for shared
    /// tables): a child's is its parent's, and (one level) its own
    /// parent row's.
    fn tenant(&self, i: usize, alias: &str, depth: u32) -> String {
        let t = &self.tables[i];
        match &t.reach {
            Reach::Root => format!("{alias}.{}", quote(&t.key)),
            Reach::Column(c) => format!("{alias}.{}", quote(c)),
            Reach::Shared => "null".into(),
            Reach::Child => {
                let mut parts = Vec::new();
                for (k, (col, parent)) in t.refs.iter().enumerate() {
                    let a = format!("{alias}_{k}");
                    let p = &self.tables[*parent];
                    if *parent == i {
                        if depth == 0 {
                            continue;
                        }
                    } else if !self.scoped(*parent) {
                        continue;
                    }
                    parts.push(format!(
                        "(select {} from {} {a} where {a}.{} = {alias}.{})",
                        self.tenant(*parent, &a, depth.saturating_sub(1)),
                        quote(&p.legacy),
                        quote(&p.key),
                        quote(col)
                    ));
                }
                parts.push("null".into());
                format!("coalesce({})", parts.join(", "))
            }
        }
    }

    fn index(&self, legacy: &str) -> Option<usize> {
        self.tables
            .iter()
            .position(|t| t.legacy.eq_ignore_ascii_case(legacy))
    }
}

fn one<T: rusqlite::types::FromSql>(c: &Connection, sql: &str) -> T {
    c.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn strings(c: &Connection, sql: &str) -> Vec<String> {
    let mut st = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn columns(c: &Connection, table: &str) -> Vec<String> {
    strings(
        c,
        &format!(
            "select name from pragma_table_info({})",
            harness_engine::app::literal(table)
        ),
    )
}

/// Per column: non-null count, distinct count, NULL rate, and the length
/// mean and p10/p50/p90.
#[derive(Debug, Clone, Copy)]
struct Stats {
    rows: i64,
    nn: i64,
    distinct: i64,
    mean: f64,
    pct: [f64; 3],
}

fn stats(c: &Connection, table: &str, col: &str) -> Stats {
    let (t, q) = (quote(table), quote(col));
    let (rows, nn, distinct, mean): (i64, i64, i64, Option<f64>) = c
        .query_row(
            &format!(
                "select count(*), count({q}), count(distinct {q}), \
                 avg(case when {q} is not null then length(cast({q} as text)) end) from {t}"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let mut pct = [0.0; 3];
    for (slot, p) in pct.iter_mut().zip([0.1, 0.5, 0.9]) {
        if nn > 0 {
            let at = ((nn - 1) as f64 * p).floor() as i64;
            *slot = one::<i64>(
                c,
                &format!(
                    "select length(cast({q} as text)) as l from {t} where {q} is not null \
                     order by l limit 1 offset {at}"
                ),
            ) as f64;
        }
    }
    Stats {
        rows,
        nn,
        distinct,
        mean: mean.unwrap_or(0.0),
        pct,
    }
}

fn ratio(s: &Stats) -> f64 {
    if s.nn == 0 {
        0.0
    } else {
        s.distinct as f64 / s.nn as f64
    }
}

fn null_rate(s: &Stats) -> f64 {
    if s.rows == 0 {
        0.0
    } else {
        1.0 - s.nn as f64 / s.rows as f64
    }
}

/// A value's look: letters, digits and scripts by class, the rest as is.
fn mask(s: &str) -> String {
    s.chars()
        .map(|ch| match ch {
            'a'..='z' => 'a',
            'A'..='Z' => 'A',
            '0'..='9' => '9',
            '\u{3041}'..='\u{3096}' => 'ひ',
            '\u{30A1}'..='\u{30FA}' => 'カ',
            '\u{4E00}'..='\u{9FFF}' => '漢',
            other => other,
        })
        .collect()
}

/// What the contract expects of a column's distinct values.
#[derive(Debug, PartialEq)]
enum Expect {
    /// Ids and references: moved by whole strides, so their ratio holds
    /// (not for a polymorphic reference, whose targets may be shared).
    Moved { ratio: bool },
    /// Copies keep the ratio (varied columns).
    Ratio,
    /// A number or calendar date that copies vary. Its values live in a
    /// bounded range (token counts of 43..438, a year of days), so at N
    /// times the rows they collide as a real data set of that size would:
    /// the ratio cannot hold without leaving the range. Copies must add
    /// values (never lose any) and keep the range: numbers their mean,
    /// dates their first and last day (moved by days, at most one per copy).
    Bounded { date: bool },
    /// Copied as it is: the same set of values.
    Same,
    /// One column of a composite unique index: which one varies is the
    /// clone's choice; the index check covers it.
    Any,
}

/// All the checks of the contract, for a clone of `src` to `out` with
/// `tenants` tenants out of the source's.
/// `columns`: whether to hold each column's NULL rate, distinct values and
/// lengths to the source's. Off when N is not a multiple of T: then some
/// tenants weigh twice as much as others and every rate moves with that
/// mix (the sizes check says the mix is right).
fn check(
    app: &App,
    src_path: &Path,
    out_path: &Path,
    tenants: u32,
    summary: &CloneSummary,
    columns_hold: bool,
) {
    let model = Model::new(app);
    let src = Connection::open(src_path).unwrap();
    let out = Connection::open(out_path).unwrap();
    out.execute("attach database ?1 as src", [src_path.to_str().unwrap()])
        .unwrap();

    // The schema is the source's, object for object.
    let schema = "select type, name, tbl_name, coalesce(sql, '') from sqlite_schema \
                  where name not like 'sqlite_stat%' order by type, name";
    let dump = |c: &Connection| -> Vec<String> {
        let mut st = c.prepare(schema).unwrap();
        st.query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    assert_eq!(dump(&out), dump(&src), "the clone's schema is the source's");

    let root = model
        .tables
        .iter()
        .position(|t| t.reach == Reach::Root)
        .expect("the test apps have a root table");
    let root_t = &model.tables[root];
    let keys = |c: &Connection| -> BTreeSet<i64> {
        let mut st = c
            .prepare(&format!(
                "select {} from {} where typeof({0}) = 'integer'",
                quote(&root_t.key),
                quote(&root_t.legacy)
            ))
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let src_tenants = keys(&src);
    let out_tenants = keys(&out);
    let t = src_tenants.len() as u32;
    assert_eq!(summary.source_tenants, u64::from(t));
    assert_eq!(
        out_tenants.len() as u32,
        tenants,
        "the clone holds the tenants asked for"
    );
    let (floor, ceil) = (tenants / t, tenants.div_ceil(t));

    let all_tables = strings(
        &src,
        "select name from sqlite_schema where type = 'table' and name not like 'sqlite_%' order by name",
    );
    for table in &all_tables {
        let q = quote(table);
        // Copy 0 is the source: every source row is in the clone, as it was.
        let missing: i64 = one(
            &out,
            &format!("select count(*) from (select * from src.{q} except select * from main.{q})"),
        );
        assert_eq!(
            missing, 0,
            "{table}: every source row is in the clone unchanged"
        );
        let i = model.index(table);
        let scoped = i.is_some_and(|i| model.scoped(i));
        if !scoped {
            let (a, b): (i64, i64) = (
                one(&src, &format!("select count(*) from {q}")),
                one(&out, &format!("select count(*) from {q}")),
            );
            assert_eq!(a, b, "{table} is shared (or unmapped): copied once");
            if i.is_none() {
                assert!(
                    summary.unmapped.contains(table),
                    "{table} is reported unmapped"
                );
            }
        }

        // Per column: NULLs, distinct values, lengths, types, looks.
        for col in columns(&src, table).into_iter().filter(|_| columns_hold) {
            let what = format!("{table}.{col}");
            let (a, b) = (stats(&src, table, &col), stats(&out, table, &col));
            assert!(
                (null_rate(&a) - null_rate(&b)).abs() <= NULL_RATE_ABS,
                "{what}: NULL rate {} -> {}",
                null_rate(&a),
                null_rate(&b)
            );
            if a.nn == 0 {
                continue;
            }
            let expect = match i {
                Some(i) if scoped => expect(&model, &src, i, &col, &a),
                _ => Expect::Same,
            };
            // Moved ids get longer as there are more of them; every other
            // column keeps its lengths.
            let lengths_hold = !matches!(expect, Expect::Moved { .. });
            assert!(
                !lengths_hold || (a.mean - b.mean).abs() <= LEN_MEAN_REL * a.mean,
                "{what}: mean length {} -> {}",
                a.mean,
                b.mean
            );
            for (x, y) in a.pct.iter().zip(b.pct) {
                assert!(
                    !lengths_hold || (x - y).abs() <= (LEN_PCT_REL * x).max(LEN_PCT_ABS),
                    "{what}: length percentiles {:?} -> {:?}",
                    a.pct,
                    b.pct
                );
            }
            match expect {
                Expect::Ratio | Expect::Moved { ratio: true } => {
                    let (x, y) = (ratio(&a), ratio(&b));
                    assert!(
                        (x - y).abs() <= DISTINCT_ABS.max(DISTINCT_REL * x),
                        "{what}: distinct ratio {x} -> {y}"
                    );
                }
                Expect::Bounded { date } => {
                    assert!(
                        b.distinct > a.distinct && b.distinct <= a.distinct * i64::from(ceil),
                        "{what}: {} distinct -> {}",
                        a.distinct,
                        b.distinct
                    );
                    let c = quote(&col);
                    if date {
                        let sql =
                            format!("select julianday(min({c})), julianday(max({c})) from {q}");
                        let range = |db: &Connection| -> (f64, f64) {
                            db.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
                                .unwrap()
                        };
                        let ((lo_a, hi_a), (lo_b, hi_b)) = (range(&src), range(&out));
                        assert!(
                            lo_b >= lo_a && hi_b <= hi_a + f64::from(ceil),
                            "{what}: days {lo_a}..{hi_a} -> {lo_b}..{hi_b}"
                        );
                    } else {
                        let sql = format!("select avg({c}), avg(abs({c})) from {q} where typeof({c}) in ('integer', 'real')");
                        let mean = |db: &Connection| -> (f64, f64) {
                            db.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
                                .unwrap()
                        };
                        let ((ma, scale), (mb, _)) = (mean(&src), mean(&out));
                        assert!(
                            (ma - mb).abs() <= NUMBER_MEAN_REL * scale,
                            "{what}: mean {ma} -> {mb}"
                        );
                    }
                }
                Expect::Same => {
                    let new: i64 = one(
                        &out,
                        &format!(
                            "select count(*) from (select {c} from main.{q} except select {c} from src.{q})",
                            c = quote(&col)
                        ),
                    );
                    assert_eq!(new, 0, "{what} is copied as it is: no new values");
                }
                Expect::Any | Expect::Moved { ratio: false } => {}
            }
            // Numbers stay numbers: the mix of stored types holds.
            let types = |c: &Connection| -> BTreeMap<String, f64> {
                let mut st = c
                    .prepare(&format!(
                        "select typeof({0}), count(*) * 1.0 / (select count(*) from {q}) \
                         from {q} group by 1",
                        quote(&col)
                    ))
                    .unwrap();
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            };
            let (ta, tb) = (types(&src), types(&out));
            assert_eq!(
                ta.keys().collect::<Vec<_>>(),
                tb.keys().collect::<Vec<_>>(),
                "{what}: stored types"
            );
            for (k, v) in &ta {
                assert!(
                    (v - tb[k]).abs() <= NULL_RATE_ABS,
                    "{what}: share of {k} values"
                );
            }
            // Text keeps its look (an e-mail stays an e-mail, a timestamp
            // its format): every clone value looks like some source value.
            let looks = |c: &Connection| -> BTreeSet<String> {
                let mut st = c
                    .prepare(&format!(
                        "select distinct cast({0} as blob) from {q} where typeof({0}) = 'text'",
                        quote(&col)
                    ))
                    .unwrap();
                st.query_map([], |r| r.get::<_, Vec<u8>>(0))
                    .unwrap()
                    .map(|v| mask(&String::from_utf8_lossy(&v.unwrap())))
                    .collect()
            };
            let (la, lb) = (looks(&src), looks(&out));
            let odd: Vec<&String> = lb.difference(&la).take(3).collect();
            assert!(odd.is_empty(), "{what}: values of a new look {odd:?}");
            // A column of e-mails only: every copy keeps its domain.
            let emails: bool = one(
                &src,
                &format!(
                    "select count({0}) > 0 and count({0}) = sum({0} like '%_@_%._%') from {q}",
                    quote(&col)
                ),
            );
            if emails {
                let domains = |c: &Connection| {
                    strings(
                        c,
                        &format!(
                            "select distinct substr({0}, instr({0}, '@')) from {q} order by 1",
                            quote(&col)
                        ),
                    )
                };
                assert_eq!(
                    domains(&src),
                    domains(&out),
                    "{what}: e-mails keep their domains"
                );
            }
            if let Some(Rule::Jsonb) =
                i.and_then(|i| model.tables[i].rules.get(&col.to_lowercase()))
            {
                let valid = |c: &Connection| -> f64 {
                    one(
                        c,
                        &format!(
                            "select avg(json_valid({0})) from {q} where {0} is not null",
                            quote(&col)
                        ),
                    )
                };
                assert!(
                    (valid(&src) - valid(&out)).abs() <= NULL_RATE_ABS,
                    "{what}: JSON stays JSON"
                );
            }
        }
    }

    // Per-tenant sizes: each source tenant's row counts (one per
    // tenant-scoped table) appear floor(N/T) or ceil(N/T) times, with
    // exactly N mod T tenants at ceil; rows without a tenant are copied once.
    let scoped: Vec<usize> = (0..model.tables.len())
        .filter(|&i| model.scoped(i))
        .collect();
    let profiles = |c: &Connection, tenants: &BTreeSet<i64>| -> (BTreeMap<Vec<i64>, u32>, i64) {
        let mut by: BTreeMap<i64, Vec<i64>> = tenants
            .iter()
            .map(|t| (*t, vec![0; scoped.len()]))
            .collect();
        let mut loose = 0;
        for (slot, &i) in scoped.iter().enumerate() {
            let tm = &model.tables[i];
            let sql = format!(
                "select {} as tn, count(*) from {} r group by tn",
                model.tenant(i, "r", 2),
                quote(&tm.legacy)
            );
            let mut st = c.prepare(&sql).unwrap();
            let rows = st
                .query_map([], |r| {
                    Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, i64>(1)?))
                })
                .unwrap();
            for row in rows {
                let (tn, n) = row.unwrap();
                match tn.and_then(|t| by.get_mut(&t)) {
                    Some(v) => v[slot] = n,
                    None => loose += n,
                }
            }
        }
        let mut multiset = BTreeMap::new();
        for v in by.into_values() {
            *multiset.entry(v).or_insert(0) += 1;
        }
        (multiset, loose)
    };
    let (ps, loose_src) = profiles(&src, &src_tenants);
    let (po, loose_out) = profiles(&out, &out_tenants);
    assert_eq!(
        loose_src, loose_out,
        "rows without a tenant are copied once"
    );
    let mut at_ceil = 0;
    for (profile, m) in &ps {
        let got = po.get(profile).copied().unwrap_or(0);
        assert!(
            got >= m * floor && got <= m * ceil,
            "sizes {profile:?}: {m} source tenant(s), {got} in the clone (each {floor}..={ceil} times)"
        );
        at_ceil += got - m * floor;
    }
    assert_eq!(
        po.values().sum::<u32>(),
        tenants,
        "every clone tenant has a source tenant's sizes"
    );
    if floor != ceil {
        assert_eq!(at_ceil, tenants % t, "N mod T tenants are copied once more");
    }

    // References: none dangles or crosses tenants unless it did in the
    // source (then at most once per copy). A reference that crossed into a
    // tenant with fewer copies dangles in the extra copy: at most one more
    // dangling reference per crossing one when N is not a multiple of T.
    for (i, tm) in model.tables.iter().enumerate() {
        let mut checks: Vec<(String, String, String)> = Vec::new();
        for (col, parent) in &tm.refs {
            let p = &model.tables[*parent];
            let on = format!("p.{} = c.{}", quote(&p.key), quote(col));
            let dangling = format!(
                "select count(*) from {} c where c.{} is not null and not exists \
                 (select 1 from {} p where {on})",
                quote(&tm.legacy),
                quote(col),
                quote(&p.legacy)
            );
            let cross = format!(
                "select count(*) from {} c join {} p on {on} where ({}) is not ({})",
                quote(&tm.legacy),
                quote(&p.legacy),
                model.tenant(i, "c", 2),
                model.tenant(*parent, "p", 2)
            );
            checks.push((format!("{}.{col}", tm.legacy), dangling, cross));
        }
        for (col, type_col) in &tm.records {
            for target in strings(
                &src,
                &format!(
                    "select distinct {} from {} where {0} is not null",
                    quote(type_col),
                    quote(&tm.legacy)
                ),
            ) {
                let Some(parent) = model.tables.iter().position(|t| t.target == target) else {
                    continue;
                };
                let p = &model.tables[parent];
                let on = format!("p.{} = c.{}", quote(&p.key), quote(col));
                let only = format!(
                    "c.{} = {}",
                    quote(type_col),
                    harness_engine::app::literal(&target)
                );
                checks.push((
                    format!("{}.{col} -> {target}", tm.legacy),
                    format!(
                        "select count(*) from {} c where {only} and c.{} is not null and not exists \
                         (select 1 from {} p where {on})",
                        quote(&tm.legacy),
                        quote(col),
                        quote(&p.legacy)
                    ),
                    format!(
                        "select count(*) from {} c join {} p on {on} where {only} and ({}) is not ({})",
                        quote(&tm.legacy),
                        quote(&p.legacy),
                        model.tenant(i, "c", 2),
                        model.tenant(parent, "p", 2)
                    ),
                ));
            }
        }
        for (what, dangling, cross) in checks {
            let (xa, xb): (i64, i64) = (one(&src, &cross), one(&out, &cross));
            let (da, db): (i64, i64) = (one(&src, &dangling), one(&out, &dangling));
            let spare = xa * i64::from(ceil - floor);
            assert!(
                xb >= xa && xb <= xa * i64::from(ceil),
                "{what}: {xa} cross-tenant reference(s) in the source, {xb} in the clone"
            );
            assert!(
                db >= da && db <= da * i64::from(ceil) + spare,
                "{what}: {da} dangling reference(s) in the source ({xa} crossing), {db} in the clone"
            );
        }
    }

    // Unique indexes hold (SQLite enforces them; count anyway).
    for table in &all_tables {
        let indexes = strings(
            &out,
            &format!(
                "select name from pragma_index_list({}) where \"unique\" = 1",
                harness_engine::app::literal(table)
            ),
        );
        for index in indexes {
            let cols = strings(
                &out,
                &format!(
                    "select name from pragma_index_xinfo({}) where key = 1",
                    harness_engine::app::literal(&index)
                ),
            );
            let cols: Vec<String> = cols.iter().map(|c| quote(c)).collect();
            let coll = strings(
                &out,
                &format!(
                    "select coll from pragma_index_xinfo({}) where key = 1",
                    harness_engine::app::literal(&index)
                ),
            );
            let grouped: Vec<String> = cols
                .iter()
                .zip(&coll)
                .map(|(c, k)| format!("{c} collate {k}"))
                .collect();
            let dups: i64 = one(
                &out,
                &format!(
                    "select count(*) from (select 1 from {} where {} group by {} having count(*) > 1)",
                    quote(table),
                    cols.iter()
                        .map(|c| format!("{c} is not null"))
                        .collect::<Vec<_>>()
                        .join(" and "),
                    grouped.join(", ")
                ),
            );
            assert_eq!(dups, 0, "{table}: unique index {index} holds");
        }
    }
}

/// What the contract says of column `col` of tenant-scoped table `i`.
fn expect(model: &Model, src: &Connection, i: usize, col: &str, s: &Stats) -> Expect {
    let tm = &model.tables[i];
    let lc = col.to_lowercase();
    let is = |c: &str| c.eq_ignore_ascii_case(col);
    if tm.records.iter().any(|(c, _)| is(c)) {
        // A polymorphic reference moves where it points into a tenant's
        // table and stays where it points into a shared one: its ratio
        // follows the mix. The reference checks cover it.
        return Expect::Moved { ratio: false };
    }
    let moves = is(&tm.key)
        || matches!(&tm.reach, Reach::Column(c) if is(c))
        || tm.refs.iter().any(|(c, p)| is(c) && model.scoped(*p));
    if moves {
        return Expect::Moved { ratio: true };
    }
    let shifted = |name: &str| {
        name.eq_ignore_ascii_case(&tm.key)
            || matches!(&tm.reach, Reach::Column(c) if c.eq_ignore_ascii_case(name))
            || tm
                .refs
                .iter()
                .any(|(c, p)| c.eq_ignore_ascii_case(name) && model.scoped(*p))
            || tm.records.iter().any(|(c, _)| c.eq_ignore_ascii_case(name))
    };
    // Unique indexes of the table that hold no moved column.
    let lit = harness_engine::app::literal;
    for index in strings(
        src,
        &format!(
            "select name from pragma_index_list({}) where \"unique\" = 1",
            lit(&tm.legacy)
        ),
    ) {
        let cols = strings(
            src,
            &format!(
                "select name from pragma_index_xinfo({}) where key = 1",
                lit(&index)
            ),
        );
        if cols.iter().any(|c| shifted(c)) || !cols.iter().any(|c| is(c)) {
            continue;
        }
        return if cols.len() == 1 {
            Expect::Ratio
        } else {
            Expect::Any
        };
    }
    let rule = tm.rules.get(&lc);
    let free_shape = matches!(
        rule,
        None | Some(
            Rule::Text { .. }
                | Rule::Integer
                | Rule::Bigint
                | Rule::Numeric { .. }
                | Rule::Float
                | Rule::Point
                | Rule::Timestamptz { .. }
                | Rule::Date { .. }
                | Rule::Inet
        )
    );
    if !free_shape || (s.distinct as f64) < MOSTLY_DISTINCT * s.nn as f64 {
        return Expect::Same;
    }
    let pairs: i64 = one(
        src,
        &format!(
            "select count(*) from (select distinct {}, r.{} from {} r where r.{1} is not null)",
            model.tenant(i, "r", 2),
            quote(col),
            quote(&tm.legacy)
        ),
    );
    if pairs as f64 > PRIVATE_SHARING * s.distinct as f64 {
        return Expect::Same;
    }
    match rule {
        Some(Rule::Date { .. }) => Expect::Bounded { date: true },
        Some(Rule::Integer | Rule::Bigint | Rule::Numeric { .. } | Rule::Float | Rule::Point) => {
            Expect::Bounded { date: false }
        }
        _ => Expect::Ratio,
    }
}

#[test]
fn journal_to_four_times_its_tenants() {
    let tmp = tempfile::tempdir().unwrap();
    let app = App::load(&apps().join("journal")).unwrap();
    let (src, out) = (tmp.path().join("src.sqlite"), tmp.path().join("out.sqlite"));
    build(&app, 12, &src);
    let before = hash(&src);
    let n = 4 * tenant_count(&app, &src);
    let summary = clone(&app, &src, &out, n, 7);
    assert_eq!(hash(&src), before, "the source is never written");
    assert_eq!(summary.tenants, u64::from(n));
    let has = |t: &str, c: &str| summary.perturbed.contains(&(t.to_string(), c.to_string()));
    assert!(has("users", "email"), "{:?}", summary.perturbed);
    assert!(
        !has("users", "timezone"),
        "a shared vocabulary is copied as it is"
    );
    assert!(!has("journal_entries", "ai_analysis"), "JSON is left alone");
    // (Orphans, rows with no tenant, are the hand-made folder's case.)
    check(&app, &src, &out, n, &summary, true);
}

#[test]
fn barber_to_three_times_its_tenants() {
    // barber: a platform account with no organization (copied once), a
    // membership that crosses organizations, unique slugs, e-mails and
    // Stripe ids. (No app folder has a table that reaches its tenant only
    // through a parent; the hand-made folder below does.)
    let tmp = tempfile::tempdir().unwrap();
    let app = App::load(&apps().join("barber")).unwrap();
    let (src, out) = (tmp.path().join("src.sqlite"), tmp.path().join("out.sqlite"));
    build(&app, 40, &src); // enough locations for stable length percentiles
    let n = 3 * tenant_count(&app, &src);
    let summary = clone(&app, &src, &out, n, 1);
    for (t, c) in [
        ("organizations", "slug"),
        ("users", "email"),
        ("stripe_accounts", "stripe_account_id"),
    ] {
        assert!(
            summary.perturbed.contains(&(t.to_string(), c.to_string())),
            "{t}.{c}: {:?}",
            summary.perturbed
        );
    }
    check(&app, &src, &out, n, &summary, true);
}

/// A folder written for the hard shapes: a self-referencing table, a table
/// reaching its tenant only through a parent (and one level through its own
/// parent row), a shared lookup, a unique e-mail, a composite unique
/// (tenant, slug), a case-insensitive unique reference, NULL references, an
/// orphan, ids 0 and negative, table names that need quotes ("order", "order line"), a
/// rowid-keyed table, a polymorphic reference, an unmapped WITHOUT ROWID
/// table, a view and a trigger (which must not fire on the copy).
fn tricky(dir: &Path) -> App {
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::write(
        dir.join("app.toml"),
        r#"name = "tricky"
database = "tricky"
[tenant]
column = "account_id"
root_table = "accounts"
setting = "app.account_id"
[roles]
owner = "tricky_owner"
app = "tricky_app"
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("legacy.sql"),
        r#"
CREATE TABLE plans (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, label TEXT NOT NULL, price REAL);
CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, slug TEXT NOT NULL UNIQUE,
    plan_id INTEGER REFERENCES plans(id), created_at TEXT NOT NULL);
CREATE TABLE members (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),
    manager_id INTEGER REFERENCES members(id), email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    role TEXT NOT NULL, score REAL, joined_at TEXT);
CREATE TABLE projects (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),
    slug TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL, UNIQUE (account_id, slug));
CREATE TABLE "order" (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL,
    member_id INTEGER REFERENCES members(id), project_id INTEGER REFERENCES projects(id),
    placed_at INTEGER, total REAL, reference TEXT NOT NULL UNIQUE COLLATE NOCASE);
CREATE INDEX "order by member" ON "order"(member_id);
CREATE TABLE "order line" (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES "order"(id),
    parent_line_id INTEGER REFERENCES "order line"(id), sku TEXT NOT NULL, qty INTEGER NOT NULL, note TEXT);
CREATE TABLE tags (account_id INTEGER NOT NULL, label TEXT NOT NULL, color TEXT);
CREATE TABLE audit (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, target TEXT NOT NULL,
    target_id INTEGER, action TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE app_settings (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE VIEW member_count AS SELECT account_id, count(*) AS n FROM members GROUP BY account_id;
CREATE TRIGGER member_audit AFTER INSERT ON members BEGIN
    INSERT INTO audit (account_id, target, target_id, action, at)
    VALUES (new.account_id, 'members', new.id, 'trigger', '2024-01-01 00:00:00');
END;
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("data.sql"),
        r#"
insert into plans values (1, 'free', 'Free', 0.0), (2, 'team', 'Team', 12.5), (3, 'pro', 'Pro', 49.99);
insert into app_settings values ('theme', 'dark'), ('version', '3');
with recursive n(i) as (select 1 union all select i + 1 from n where i < (select tenants from harness_params))
insert into accounts (id, name, slug, plan_id, created_at)
select i, 'Account ' || char(65 + (i * 7) % 26) || char(97 + (i * 3) % 26) || ' ' || i, 'acct-' || i,
    case when i % 4 = 0 then null else 1 + i % 3 end,
    printf('2023-%02d-%02d 09:%02d:%02d', 1 + i % 12, 1 + i % 28, (i * 13) % 60, (i * 7) % 60)
from n;
with recursive k(j) as (select 1 union all select j + 1 from k where j < 12)
insert into members (account_id, email, name, role, score, joined_at)
select a.id, 'user' || (a.id * 100 + j) || '@acct' || a.id || '.example',
    char(65 + (a.id * 5 + j * 3) % 26) || 'an ' || char(65 + (a.id + j * 7) % 26) || 'ee' || char(97 + (a.id * j) % 26),
    case when j = 1 then 'owner' when j % 3 = 0 then 'admin' else 'member' end,
    case when j % 4 = 0 then null else round(((a.id * 37 + j * 11) % 1000) / 10.0 + 0.37, 2) end,
    case when j % 5 = 0 then null
         else printf('2024-%02d-%02dT%02d:%02d:%02dZ', 1 + (a.id + j) % 12, 1 + (a.id * j) % 28, j % 24, (a.id * 17 + j) % 60, (j * 31) % 60) end
from accounts a join k on k.j <= 2 + (a.id * 5) % 9;
-- Ids SQLite allows and apps forget: 0 and negative.
insert into members (id, account_id, email, name, role) values (0, 1, 'zero@acct1.example', 'Zed Zero', 'member');
update members set manager_id = (select min(m.id) from members m where m.account_id = members.account_id)
where role <> 'owner' and id % 2 = 0;
with recursive k(j) as (select 1 union all select j + 1 from k where j < 4)
insert into projects (account_id, slug, title, status)
select a.id, 'proj-' || j, 'Project ' || char(65 + (a.id * 11 + j) % 26) || char(97 + (a.id + j * 5) % 26) || ' #' || (a.id * 10 + j),
    case j % 3 when 0 then 'active' when 1 then 'paused' else 'done' end
from accounts a join k on k.j <= 1 + a.id % 4;
with recursive k(j) as (select 1 union all select j + 1 from k where j < 4)
insert into "order" (account_id, member_id, project_id, placed_at, total, reference)
select m.account_id, m.id,
    case when (m.id + j) % 3 = 0 then null
         else (select min(p.id) from projects p where p.account_id = m.account_id) end,
    1700000000000 + m.id * 3600000 + j * 61000,
    round(((m.id * 53 + j * 29) % 5000) / 7.0 + 1, 2),
    case when m.id % 2 = 0 then 'ORD-' else 'ord-' end || printf('%05d', m.id * 10 + j)
from members m join k on k.j <= m.id % 4;
with recursive k(j) as (select 1 union all select j + 1 from k where j < 3)
insert into "order line" (order_id, sku, qty, note)
select o.id, 'SKU-' || printf('%03d', 1 + (o.id * 7 + j) % 20), 1 + (o.id + j) % 5,
    case when (o.id + j) % 3 = 0 then null else 'Note ' || char(97 + (o.id * 3 + j) % 26) || char(97 + (o.id + j * 11) % 26) || ' for order ' || o.id end
from "order" o join k on k.j <= 1 + o.id % 3;
insert into "order line" (order_id, parent_line_id, sku, qty, note)
select null, min(l.id), 'SKU-SUB', 1, 'Sub-line of ' || min(l.id)
from "order line" l where l.order_id % 5 = 0 group by l.order_id;
insert into "order line" (order_id, parent_line_id, sku, qty, note) values (null, null, 'SKU-LOST', 1, 'No order');
insert into "order line" (id, order_id, parent_line_id, sku, qty, note) values (-5, 1, null, 'SKU-NEG', 2, 'Negative id');
insert into "order line" (order_id, parent_line_id, sku, qty, note) values (999999, null, 'SKU-GONE', 1, 'Deleted order');
with recursive k(j) as (select 1 union all select j + 1 from k where j < 3)
insert into tags (account_id, label, color)
select a.id, case j when 1 then 'urgent' when 2 then 'later' else 'vip' end, '#' || printf('%06x', (a.id * 40503 + j * 977) % 16777216)
from accounts a join k on k.j <= a.id % 4;
insert into audit (account_id, target, target_id, action, at)
select o.account_id, 'orders', o.id, 'placed', printf('2024-06-%02d 10:%02d:%02d', 1 + o.id % 28, o.id % 60, (o.id * 7) % 60)
from "order" o where o.id % 2 = 1;
insert into audit (account_id, target, target_id, action, at)
select a.id, 'plans', a.plan_id, 'plan', '2024-07-01 00:00:00' from accounts a where a.plan_id is not null;
"#,
    )
    .unwrap();
    let col = |target: &str, rule: &str| {
        format!("[[table.column]]\ntarget = \"{target}\"\nlegacy = \"{target}\"\n{rule}\n")
    };
    let key = || col("id", "rule = \"key\"");
    let text = |t: &str| col(t, "rule = \"text\"");
    let refs = |t: &str, table: &str| col(t, &format!("rule = \"ref\"\ntable = \"{table}\""));
    let tenant = || refs("account_id", "accounts");
    let mapping = [
        format!(
            "[[table]]\nname = \"plans\"\n{}{}{}{}",
            key(),
            text("code"),
            text("label"),
            col("price", "rule = \"float\"")
        ),
        format!(
            "[[table]]\nname = \"accounts\"\n{}{}{}{}{}",
            key(),
            text("name"),
            text("slug"),
            refs("plan_id", "plans"),
            col("created_at", "rule = \"timestamptz\"")
        ),
        format!(
            "[[table]]\nname = \"members\"\n{}{}{}{}{}{}{}{}",
            key(),
            tenant(),
            refs("manager_id", "members"),
            text("email"),
            text("name"),
            text("role"),
            col("score", "rule = \"float\""),
            col("joined_at", "rule = \"timestamptz\"")
        ),
        format!(
            "[[table]]\nname = \"projects\"\n{}{}{}{}{}",
            key(),
            tenant(),
            text("slug"),
            text("title"),
            text("status")
        ),
        format!(
            "[[table]]\nname = \"orders\"\nlegacy = \"order\"\n{}{}{}{}{}{}{}",
            key(),
            tenant(),
            refs("member_id", "members"),
            refs("project_id", "projects"),
            col("placed_at", "rule = \"timestamptz\""),
            col("total", "rule = \"numeric\"\nprecision = 10\nscale = 2"),
            text("reference")
        ),
        format!(
            "[[table]]\nname = \"order_lines\"\nlegacy = \"order line\"\n{}{}{}{}{}{}",
            key(),
            refs("order_id", "orders"),
            refs("parent_line_id", "order_lines"),
            text("sku"),
            col("qty", "rule = \"integer\""),
            text("note")
        ),
        format!(
            "[[table]]\nname = \"tags\"\n[[table.column]]\ntarget = \"id\"\nlegacy = \"rowid\"\nrule = \"key\"\n{}{}{}",
            tenant(),
            text("label"),
            text("color")
        ),
        format!(
            "[[table]]\nname = \"audit\"\n{}{}{}{}{}{}",
            key(),
            tenant(),
            text("target"),
            col("target_id", "rule = \"record_ref\"\ntable_column = \"target\""),
            text("action"),
            col("at", "rule = \"timestamptz\"")
        ),
    ];
    std::fs::write(dir.join("mapping.toml"), mapping.join("\n")).unwrap();
    App::load(dir).unwrap()
}

#[test]
fn a_hand_made_folder_of_hard_shapes_to_five_times() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tricky(&tmp.path().join("tricky"));
    let (src, out) = (tmp.path().join("src.sqlite"), tmp.path().join("out.sqlite"));
    build(&app, 6, &src);
    assert_eq!(tenant_count(&app, &src), 6);
    let summary = clone(&app, &src, &out, 30, 3);
    assert_eq!(summary.unmapped, vec!["app_settings".to_string()]);
    for (t, c) in [
        ("members", "email"),
        ("accounts", "slug"),
        ("order", "reference"),
    ] {
        assert!(
            summary.perturbed.contains(&(t.to_string(), c.to_string())),
            "{t}.{c}: {:?}",
            summary.perturbed
        );
    }
    assert!(
        !summary
            .perturbed
            .iter()
            .any(|(t, c)| t == "projects" && c == "slug"),
        "(account_id, slug) is unique through the moved tenant column: slugs stay"
    );
    check(&app, &src, &out, 30, &summary, true);
    let c = Connection::open(&out).unwrap();
    // The trigger exists but did not fire on the copy: one audit row per
    // member insert of the sample, per copy (checked by the sizes above),
    // and the sub-lines found their tenant through their parent line.
    let trig: i64 = one(
        &c,
        "select count(*) from sqlite_schema where type = 'trigger'",
    );
    assert_eq!(trig, 1);
    let sub: i64 = one(
        &c,
        "select count(*) from \"order line\" l join \"order line\" p on p.id = l.parent_line_id \
         join \"order\" o on o.id = p.order_id where l.sku = 'SKU-SUB'",
    );
    let sub_src: i64 = one(
        &Connection::open(&src).unwrap(),
        "select count(*) from \"order line\" where sku = 'SKU-SUB'",
    );
    assert_eq!(
        sub,
        sub_src * 5,
        "every sub-line is copied with its parent's tenant"
    );
}

#[test]
fn the_same_source_and_seed_give_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let app = App::load(&apps().join("journal")).unwrap();
    let src = tmp.path().join("src.sqlite");
    build(&app, 12, &src);
    let p = |name: &str| tmp.path().join(name);
    let t = tenant_count(&app, &src);
    clone(&app, &src, &p("a.sqlite"), 4 * t, 9);
    clone(&app, &src, &p("b.sqlite"), 4 * t, 9);
    assert_eq!(hash(&p("a.sqlite")), hash(&p("b.sqlite")));

    // t + 4 of t: four tenants are copied twice, which four the seed says.
    let one_seed = clone(&app, &src, &p("c.sqlite"), t + 4, 1);
    let other = clone(&app, &src, &p("d.sqlite"), t + 4, 2);
    clone(&app, &src, &p("e.sqlite"), t + 4, 1);
    assert_eq!(hash(&p("c.sqlite")), hash(&p("e.sqlite")));
    let ids = |name: &str| -> Vec<i64> {
        let c = Connection::open(p(name)).unwrap();
        let mut st = c.prepare("select id from users order by id").unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_ne!(
        ids("c.sqlite"),
        ids("d.sqlite"),
        "another seed, other tenants copied twice"
    );
    assert_ne!(one_seed.copies, other.copies);
    check(&app, &src, &p("c.sqlite"), t + 4, &one_seed, false);
}

#[test]
fn refusals_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let app = App::load(&apps().join("journal")).unwrap();
    let src = tmp.path().join("src.sqlite");
    build(&app, 3, &src);
    let spec = CloneSpec {
        tenants: 6,
        seed: 0,
    };
    let err = |out: &Path, src: &Path, spec: &CloneSpec| {
        clone_tenants(&app, src, out, spec, &mut |_| {})
            .unwrap_err()
            .to_string()
    };

    let exists = tmp.path().join("exists.sqlite");
    std::fs::write(&exists, b"mine").unwrap();
    let e = err(&exists, &src, &spec);
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(
        std::fs::read(&exists).unwrap(),
        b"mine",
        "an existing file is left alone"
    );

    let e = err(
        &tmp.path().join("zero.sqlite"),
        &src,
        &CloneSpec {
            tenants: 0,
            seed: 0,
        },
    );
    assert!(e.contains("at least one"), "{e}");
    assert!(!tmp.path().join("zero.sqlite").exists());

    let partial = tmp.path().join("partial.sqlite");
    std::fs::copy(&src, &partial).unwrap();
    Connection::open(&partial)
        .unwrap()
        .execute_batch("pragma foreign_keys = off; drop table user_analytics")
        .unwrap();
    let out = tmp.path().join("out.sqlite");
    let e = err(&out, &partial, &spec);
    assert!(
        e.contains("user_analytics") && e.contains("mapping.toml"),
        "{e}"
    );
    assert!(!out.exists(), "nothing is left behind after a refusal");

    let empty = tmp.path().join("empty.sqlite");
    std::fs::copy(&src, &empty).unwrap();
    Connection::open(&empty)
        .unwrap()
        .execute_batch("pragma foreign_keys = off; delete from users")
        .unwrap();
    let e = err(&out, &empty, &spec);
    assert!(e.contains("no tenants"), "{e}");
    assert!(!out.exists());
}
