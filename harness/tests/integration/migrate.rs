//! The migration, end to end on a real cluster: the round-trip property over
//! generated legacy datasets holding every hard value of docs/migrate.md, the
//! reject file and exit codes, every input error, a SIGKILL midway, and a
//! verification mismatch located to its row.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fixtures::ids;
use fixtures::schema::{Kind, Table, TABLES};
use harness::cluster::Cluster;
use harness::exit_codes;
use harness::migrate::convert::{self, Raw, Val};
use harness::migrate::reject::{self, RejectRecord, Stage};
use harness::migrate::{self, MigrateOptions, OnError};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use sqlx::postgres::PgConnectOptions;

use super::support;

// ---- legacy datasets ------------------------------------------------------

/// A legacy dataset: rows per table, values in legacy column order.
#[derive(Debug, Clone, Default)]
struct Legacy {
    rows: BTreeMap<Table, Vec<Vec<Raw>>>,
}

/// The reference app's folder (the default app).
fn portal() -> harness::app::App {
    harness::reference::app(None).expect("apps/portal loads")
}

fn text(s: &str) -> Raw {
    Raw::Text(s.as_bytes().to_vec())
}

fn legacy_pos(t: Table, name: &str) -> usize {
    t.def()
        .legacy_columns()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("{t}.{name}"))
}

/// A valid value for a legacy column.
fn base_value(t: Table, col: &str, kind: Kind, id: i64) -> Raw {
    match (t, col) {
        (Table::Companies, "company_key") => return text(&format!("co-{id}")),
        (_, "email") => return text(&format!("p{id}@example.test")),
        (_, "role") => return text("admin"),
        (Table::Projects, "status") => return text("planning"),
        (Table::Applications, "status") => return text("submitted"),
        (Table::ContactSubmissions, "status") => return text("new"),
        (_, "action") => return text("INSERT"),
        (_, "total_units") => return Raw::Int(10),
        (_, "affordable_units") => return Raw::Int(5),
        (_, "price_range_min") => return Raw::Real(100.5),
        (_, "price_range_max") => return Raw::Real(200.25),
        (_, "priority_score") => return Raw::Real(50.5),
        (_, "household_size") => return Raw::Int(2),
        (_, "annual_income") => return Raw::Real(52000.0),
        (_, "table_name") => return text("companies"),
        (_, "latitude") => return Raw::Real(40.7128),
        (_, "longitude") => return Raw::Real(-74.006),
        (_, "phone") => return text("555-0100"),
        _ => {}
    }
    match kind {
        Kind::Text { .. } => text(&format!("{col} {id}")),
        Kind::Int => Raw::Int(1),
        Kind::Numeric { .. } => Raw::Real(1.5),
        Kind::Bool => Raw::Int(1),
        Kind::Timestamp => text("2024-01-02 03:04:05"),
        Kind::Date => text("2024-01-02"),
        Kind::Json => text(r#"{"k":1}"#),
        Kind::List(_) => text("a,b"),
        Kind::Inet => text("10.0.0.1"),
        Kind::Id | Kind::Ref(_) | Kind::RecordRef | Kind::Point => {
            unreachable!("set by the builder")
        }
    }
}

/// Sizes of a generated dataset.
#[derive(Debug, Clone)]
struct Shape {
    companies: usize,
    /// users, projects, applicants, contact_submissions, audit_logs per company.
    per_company: [usize; 5],
    /// Where legacy ids start (beyond i32 in some datasets).
    id_base: i64,
}

fn build(shape: &Shape) -> Legacy {
    let mut l = Legacy::default();
    let mut next: HashMap<Table, i64> = Table::ALL.iter().map(|t| (*t, shape.id_base)).collect();
    let mut row = |l: &mut Legacy, t: Table, company: i64, refs: &[(&str, Raw)]| -> i64 {
        let id = next[&t];
        *next.get_mut(&t).unwrap() += 1;
        let mut r = Vec::new();
        for c in t.def().columns {
            for lc in c.legacy {
                let v = if let Some((_, v)) = refs.iter().find(|(n, _)| n == lc) {
                    v.clone()
                } else {
                    match c.kind {
                        Kind::Id => Raw::Int(id),
                        Kind::Ref(Table::Companies) => Raw::Int(company),
                        Kind::Ref(_) => Raw::Null,
                        Kind::RecordRef => Raw::Int(company),
                        _ => base_value(t, lc, c.kind, id),
                    }
                };
                r.push(v);
            }
        }
        l.rows.entry(t).or_default().push(r);
        id
    };
    for _ in 0..shape.companies {
        let c = row(&mut l, Table::Companies, 0, &[]);
        let [nu, np, na, ns, nl] = shape.per_company;
        let users: Vec<i64> = (0..nu).map(|_| row(&mut l, Table::Users, c, &[])).collect();
        let projects: Vec<i64> = (0..np)
            .map(|_| row(&mut l, Table::Projects, c, &[]))
            .collect();
        let applicants: Vec<i64> = (0..na)
            .map(|i| {
                let u = users.get(i).map(|u| Raw::Int(*u)).unwrap_or(Raw::Null);
                row(&mut l, Table::Applicants, c, &[("user_id", u)])
            })
            .collect();
        for (i, p) in projects.iter().enumerate() {
            for (j, a) in applicants.iter().enumerate() {
                if (i + j) % 2 == 0 {
                    row(
                        &mut l,
                        Table::Applications,
                        c,
                        &[("project_id", Raw::Int(*p)), ("applicant_id", Raw::Int(*a))],
                    );
                }
            }
        }
        for _ in 0..ns {
            row(&mut l, Table::ContactSubmissions, c, &[]);
        }
        for i in 0..nl {
            let u = users.get(i).map(|u| Raw::Int(*u)).unwrap_or(Raw::Null);
            row(&mut l, Table::AuditLogs, c, &[("user_id", u)]);
        }
    }
    l
}

/// Write the dataset as a legacy SQLite file (the legacy DDL from fixtures).
/// Text that is not clean UTF-8 goes in through `CAST(? AS TEXT)` so SQLite
/// stores the raw bytes as TEXT, as real legacy files do.
fn write_legacy(path: &Path, l: &Legacy) {
    let mut db = rusqlite::Connection::open(path).unwrap();
    // The legacy app never enforced foreign keys (orphans exist in real files).
    db.execute_batch("pragma foreign_keys = off").unwrap();
    db.execute_batch(&fixtures::schema::legacy_tables_sql())
        .unwrap();
    let tx = db.transaction().unwrap();
    for (t, rows) in &l.rows {
        let cols: Vec<String> = t
            .def()
            .legacy_columns()
            .map(|c| format!("\"{c}\""))
            .collect();
        for r in rows {
            let marks: Vec<&str> = r
                .iter()
                .map(|v| match v {
                    Raw::Text(b) if std::str::from_utf8(b).is_err() => "cast(? as text)",
                    _ => "?",
                })
                .collect();
            let sql = format!(
                "insert into \"{}\" ({}) values ({})",
                t.name(),
                cols.join(", "),
                marks.join(", ")
            );
            let vals: Vec<rusqlite::types::Value> = r
                .iter()
                .map(|v| match v {
                    Raw::Null => rusqlite::types::Value::Null,
                    Raw::Int(i) => rusqlite::types::Value::Integer(*i),
                    Raw::Real(f) => rusqlite::types::Value::Real(*f),
                    Raw::Text(b) => match std::str::from_utf8(b) {
                        Ok(s) => rusqlite::types::Value::Text(s.to_string()),
                        Err(_) => rusqlite::types::Value::Blob(b.clone()),
                    },
                    Raw::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
                })
                .collect();
            tx.execute(&sql, rusqlite::params_from_iter(vals)).unwrap();
        }
    }
    tx.commit().unwrap();
    db.execute_batch(&fixtures::schema::legacy_indexes_sql())
        .unwrap();
}

/// Every row of a legacy file, converted (or refused) by the migration's rules.
fn converted(path: &Path) -> BTreeMap<Table, BTreeMap<i64, Result<Vec<Val>, String>>> {
    // Every table, rows or not.
    let mut out: BTreeMap<Table, BTreeMap<i64, Result<Vec<Val>, String>>> = Table::ALL
        .into_iter()
        .map(|t| (t, BTreeMap::new()))
        .collect();
    for ((table, key), v) in support::converted_rows(&portal(), path) {
        let t = Table::from_name(&table).expect("a table of the portal");
        out.entry(t)
            .or_default()
            .insert(key, v.map_err(|rej| rej.reason));
    }
    out
}

fn canon(v: &[Val]) -> Vec<u8> {
    let mut b = Vec::new();
    convert::canonical(v, &mut b);
    b
}

// ---- hard values -----------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// No conversion reject may blame this column.
    Pass,
    /// The row must be rejected.
    Reject,
    /// Depends on the column (e.g. a varchar limit): no assertion.
    Either,
}

/// Every hard value of docs/migrate.md, by the kind of column it goes into.
fn hard_values(kind: Kind) -> Vec<(Raw, Expect)> {
    use Expect::*;
    let t = text;
    match kind {
        Kind::Bool => vec![
            (Raw::Int(0), Pass),
            (Raw::Int(1), Pass),
            (t("true"), Pass),
            (t("false"), Pass),
            (t("TRUE"), Pass),
            (Raw::Int(2), Reject),
            (t("maybe"), Reject),
        ],
        Kind::Int => vec![
            (t("42"), Pass),
            (Raw::Real(7.0), Pass),
            (Raw::Int(3_000_000_000), Reject),
            (Raw::Int(-3_000_000_000), Reject),
            (t("forty-two"), Reject),
            (Raw::Real(2.5), Reject),
        ],
        Kind::Numeric { .. } => vec![
            (Raw::Real(2.675), Pass),
            (Raw::Real(0.125), Pass),
            (Raw::Real(f64::NAN), Pass), // SQLite stores NaN as NULL
            (t("12.50"), Pass),
            (Raw::Int(7), Pass),
            (Raw::Real(1.0e13), Reject),
            (t("$5"), Reject),
        ],
        Kind::Timestamp => vec![
            (t("2024-01-05 10:00:00"), Pass),
            (t("2024-01-05T10:00:00.123456Z"), Pass),
            (t("2024-01-05 12:00:00.5+02:00"), Pass),
            (t("2024-01-05T10:00"), Pass),
            (t("2024-01-05 10:00:00.1234567"), Pass),
            (Raw::Int(1_700_000_000), Pass),
            (Raw::Int(1_700_000_000_123), Pass),
            (Raw::Real(2_460_000.25), Pass),
            (Raw::Int(0), Pass),
            (t(""), Pass),
            (t("yesterday"), Reject),
            (t("2024-13-01 00:00:00"), Reject),
        ],
        Kind::Date => vec![
            (t("2024-02-29"), Pass),
            (t("2024-02-29 00:00:00"), Pass),
            (t(""), Pass),
            (t("2023-02-29"), Reject),
            (t("2024-01-05 10:00:00"), Reject),
        ],
        Kind::Json => vec![
            (t(r#"{"b":1,"a":2,"b":3}"#), Pass),
            (t("  [1, 2.50, {\"x\": null, \"big\": 1e2}] "), Pass),
            (t("\"emoji \u{1F600} and \\u00e9\""), Pass),
            (Raw::Int(5), Pass),
            (t("{bad"), Reject),
            (t(r#"{"a":"x\u0000y"}"#), Reject),
            (t(""), Reject),
        ],
        Kind::List(_) => vec![
            (t("a,b, c"), Pass),
            (t(r#"["x","y,z",null]"#), Pass),
            (t(""), Pass),
            (t("single"), Pass),
            (t("[1,[2]]"), Reject),
            (Raw::Text(b"a\0b".to_vec()), Reject),
        ],
        Kind::Text { .. } => vec![
            (t("\u{1F3E0} home"), Pass),
            (t("e\u{301}te\u{301}"), Pass),
            (
                t("\u{5E9}\u{5DC}\u{5D5}\u{5DD} \u{627}\u{644}\u{633}\u{644}\u{627}\u{645}"),
                Pass,
            ),
            (t(""), Pass),
            (t("tab\there\nnewline \\ backslash"), Pass),
            (Raw::Int(42), Pass),
            (t(&"x".repeat(300)), Either),
            (Raw::Text(b"nul\0byte".to_vec()), Reject),
            (Raw::Text(b"bad \xff\xfe utf8".to_vec()), Reject),
        ],
        Kind::Inet => vec![
            (t("192.168.0.1"), Pass),
            (t("::1"), Pass),
            (t("10.1.0.0/16"), Pass),
            (t("not-an-ip"), Reject),
        ],
        _ => vec![],
    }
}

/// The legacy columns a hard value of `kind` may go into (CHECK-bound and
/// unique columns included: PostgreSQL's refusals are part of the property).
fn columns_of(kind_pred: impl Fn(Kind) -> bool) -> Vec<(Table, usize, &'static str)> {
    let mut out = Vec::new();
    for def in &TABLES {
        for c in def.columns {
            if kind_pred(c.kind) && c.legacy.len() == 1 {
                out.push((def.table, legacy_pos(def.table, c.legacy[0]), c.target));
            }
        }
    }
    out
}

fn kind_classes() -> Vec<Kind> {
    vec![
        Kind::Bool,
        Kind::Int,
        Kind::Numeric {
            precision: 12,
            scale: 2,
        },
        Kind::Timestamp,
        Kind::Date,
        Kind::Json,
        Kind::List(fixtures::schema::ListForm::Comma),
        Kind::Text { max_chars: None },
        Kind::Inet,
    ]
}

fn same_class(a: Kind, b: Kind) -> bool {
    std::mem::discriminant(&a) == std::mem::discriminant(&b)
}

/// One injected value and what it must lead to.
#[derive(Debug, Clone)]
struct Injected {
    table: Table,
    legacy_id: i64,
    column: &'static str,
    expect: Expect,
}

/// Inject every hard value of [`hard_values`] at the picked rows and
/// columns, then the structural ones: an orphan, a cross-tenant reference,
/// e-mails differing only by case, a duplicate under a new unique
/// constraint, an unknown audit table_name, half a coordinate.
fn inject(l: &mut Legacy, picks: &[(usize, usize)], structural: &[usize]) -> Vec<Injected> {
    let mut out = Vec::new();
    let mut k = 0;
    for class in kind_classes() {
        let cols = columns_of(|kd| same_class(kd, class));
        for (raw, expect) in hard_values(class) {
            let (rp, cp) = picks[k % picks.len()];
            k += 1;
            let (t, pos, target) = cols[cp % cols.len()];
            let rows = l.rows.get_mut(&t).expect("every table has rows");
            let n = rows.len();
            let r = &mut rows[rp % n];
            let id = match r[0] {
                Raw::Int(i) => i,
                _ => unreachable!(),
            };
            r[pos] = raw;
            // A text longer than the column's varchar(n) is refused by rule.
            let expect = match (t.def().col(target).map(|c| c.kind), &r[pos]) {
                (Some(Kind::Text { max_chars: Some(m) }), Raw::Text(b))
                    if expect == Expect::Pass =>
                {
                    if String::from_utf8_lossy(b).chars().count() > m as usize {
                        Expect::Reject
                    } else {
                        Expect::Pass
                    }
                }
                _ => expect,
            };
            // A later value in the same cell replaces the earlier one.
            out.retain(|i: &Injected| !(i.table == t && i.legacy_id == id && i.column == target));
            out.push(Injected {
                table: t,
                legacy_id: id,
                column: target,
                expect,
            });
        }
    }
    let pick = |l: &Legacy, t: Table, i: usize| -> usize { i % l.rows[&t].len() };
    let id_of = |r: &[Raw]| match r[0] {
        Raw::Int(i) => i,
        _ => unreachable!(),
    };
    // Orphan: a project of a company that does not exist.
    let i = pick(l, Table::Projects, structural[0]);
    let cpos = legacy_pos(Table::Projects, "company_id");
    l.rows.get_mut(&Table::Projects).unwrap()[i][cpos] = Raw::Int(-999);
    out.push(Injected {
        table: Table::Projects,
        legacy_id: id_of(&l.rows[&Table::Projects][i]),
        column: "company_id",
        expect: Expect::Reject,
    });
    // Cross-tenant: an audit row pointing at another company's user.
    let users = &l.rows[&Table::Users];
    let ucpos = legacy_pos(Table::Users, "company_id");
    let i = pick(l, Table::AuditLogs, structural[1]);
    let acpos = legacy_pos(Table::AuditLogs, "company_id");
    let audit_company = l.rows[&Table::AuditLogs][i][acpos].clone();
    if let Some(foreign) = users.iter().find(|u| u[ucpos] != audit_company) {
        let fid = id_of(foreign);
        let upos = legacy_pos(Table::AuditLogs, "user_id");
        l.rows.get_mut(&Table::AuditLogs).unwrap()[i][upos] = Raw::Int(fid);
        out.push(Injected {
            table: Table::AuditLogs,
            legacy_id: id_of(&l.rows[&Table::AuditLogs][i]),
            column: "user_id",
            expect: Expect::Reject,
        });
    }
    // E-mail differing only by case within a company: one of the two goes.
    let epos = legacy_pos(Table::Users, "email");
    let us = l.rows.get_mut(&Table::Users).unwrap();
    if us.len() >= 2 {
        let a = structural[2] % us.len();
        let b = (a + 1) % us.len();
        // (Skipped when a hard value already replaced the address.)
        if let (true, Raw::Text(e)) = (us[a][ucpos] == us[b][ucpos], us[a][epos].clone()) {
            if let Ok(e) = String::from_utf8(e) {
                us[b][epos] = Raw::Text(e.to_uppercase().into_bytes());
                // A hard value injected there before is gone: whether this
                // row goes now depends on the other row surviving, so no
                // expectation stays for the cell.
                let bid = id_of(&us[b]);
                out.retain(|i| {
                    !(i.table == Table::Users && i.legacy_id == bid && i.column == "email")
                });
            }
        }
    }
    // A duplicate under the target's new unique (company, project,
    // applicant): two applications of one applicant to one project
    // (legacy.sql has no such constraint).
    let (ppos, apos, ccpos) = (
        legacy_pos(Table::Applications, "project_id"),
        legacy_pos(Table::Applications, "applicant_id"),
        legacy_pos(Table::Applications, "company_id"),
    );
    let apps = l.rows.get_mut(&Table::Applications).unwrap();
    if apps.len() >= 2 {
        let a = structural[2] % apps.len();
        if let Some(b) = (0..apps.len()).find(|b| *b != a && apps[*b][ccpos] == apps[a][ccpos]) {
            let (p, q) = (apps[a][ppos].clone(), apps[a][apos].clone());
            apps[b][ppos] = p;
            apps[b][apos] = q;
        }
    }
    // An audit row naming no table: its record_id cannot become a UUID.
    let i = pick(l, Table::AuditLogs, structural[3]);
    let tpos = legacy_pos(Table::AuditLogs, "table_name");
    l.rows.get_mut(&Table::AuditLogs).unwrap()[i][tpos] = text("no_such_table");
    out.push(Injected {
        table: Table::AuditLogs,
        legacy_id: id_of(&l.rows[&Table::AuditLogs][i]),
        column: "record_id",
        expect: Expect::Reject,
    });
    // Half a coordinate.
    let i = pick(l, Table::Projects, structural[4]);
    let lpos = legacy_pos(Table::Projects, "latitude");
    l.rows.get_mut(&Table::Projects).unwrap()[i][lpos] = Raw::Null;
    out.push(Injected {
        table: Table::Projects,
        legacy_id: id_of(&l.rows[&Table::Projects][i]),
        column: "coordinates",
        expect: Expect::Reject,
    });
    out
}

fn dataset() -> impl Strategy<Value = (Shape, Vec<(usize, usize)>, Vec<usize>)> {
    let shape = (
        2usize..4,
        [2usize..5, 2usize..4, 2usize..4, 1usize..3, 2usize..4],
        prop_oneof![Just(1i64), Just(3_000_000_000i64), Just(-50i64)],
    )
        .prop_map(|(companies, per_company, id_base)| Shape {
            companies,
            per_company,
            id_base,
        });
    (
        shape,
        proptest::collection::vec((any::<usize>(), any::<usize>()), 80),
        proptest::collection::vec(any::<usize>(), 5),
    )
}

// ---- cluster helpers --------------------------------------------------------

/// A fresh database: its connect options (library calls) and URL (CLI).
async fn fresh_db(c: &Cluster, name: &str) -> Target {
    let ep = support::fresh_db(c, name).await;
    Target {
        opts: ep.connect_options(),
        url: ep.url(),
    }
}

struct Target {
    opts: PgConnectOptions,
    url: String,
}

impl std::ops::Deref for Target {
    type Target = PgConnectOptions;
    fn deref(&self) -> &PgConnectOptions {
        &self.opts
    }
}

async fn drop_db(c: &Cluster, name: &str) {
    let mut admin = c.primary().connect().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

fn opts(dir: &Path, on_error: OnError) -> MigrateOptions {
    MigrateOptions {
        on_error,
        reject_path: dir.join("rejects.jsonl"),
        progress: false,
        verify: true,
        integrity_check: true,
    }
}

/// One round trip: migrate (skip mode), export, and check the property.
async fn round_trip(
    c: &Cluster,
    case: usize,
    shape: &Shape,
    picks: &[(usize, usize)],
    structural: &[usize],
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("legacy.db");
    let mut l = build(shape);
    let injected = inject(&mut l, picks, structural);
    write_legacy(&src, &l);
    let db = format!("mig_rt_{case}");
    let target = fresh_db(c, &db).await;

    let report = migrate::migrate(&portal(), &src, &target, &opts(dir.path(), OnError::Skip))
        .await
        .unwrap();
    let v = report.verify.clone().expect("verified");
    prop_assert!(
        v.ok(),
        "digests must match after migration: {}",
        migrate::summary::render(&report)
    );

    let rejects = reject::read(&dir.path().join("rejects.jsonl")).unwrap();
    prop_assert_eq!(rejects.len() as u64, report.rejects);
    let mut rejected: BTreeMap<Table, BTreeSet<i64>> = BTreeMap::new();
    for r in &rejects {
        prop_assert!(
            !r.reason.is_empty() && !r.column.is_empty(),
            "a reject needs a column and a reason: {r:?}"
        );
        let t = Table::from_name(&r.table).unwrap();
        rejected
            .entry(t)
            .or_default()
            .insert(r.legacy_key.expect("legacy ids are integers here"));
    }

    let out = dir.path().join("export.db");
    migrate::export(&portal(), &target, &out).await.unwrap();
    let before = converted(&src);
    let after = converted(&out);
    for t in Table::ALL {
        let none = BTreeSet::new();
        let rej = rejected.get(&t).unwrap_or(&none);
        let b = &before[&t];
        let a = &after[&t];
        // Every legacy row either comes back or is in the reject file.
        for (id, conv) in b {
            match (rej.contains(id), a.get(id)) {
                (true, None) => {}
                (true, Some(_)) => prop_assert!(false, "{t} {id} is both rejected and exported"),
                (false, None) => {
                    prop_assert!(false, "{t} {id} vanished without a reject: {conv:?}")
                }
                (false, Some(back)) => {
                    let x = conv.as_ref().map_err(|e| {
                        TestCaseError::fail(format!(
                            "{t} {id} failed conversion ({e}) but was not rejected"
                        ))
                    })?;
                    let y = back.as_ref().map_err(|e| {
                        TestCaseError::fail(format!("exported {t} {id} does not convert: {e}"))
                    })?;
                    prop_assert_eq!(
                        canon(x),
                        canon(y),
                        "{} {} differs after the round trip:\n {:?}\n {:?}",
                        t,
                        id,
                        x,
                        y
                    );
                }
            }
        }
        prop_assert_eq!(
            a.len() + rej.len(),
            b.len(),
            "{} has rows that came from nowhere",
            t
        );
        // Equal digests on both files (the verification's own measure).
        let sum = |m: &BTreeMap<i64, Result<Vec<Val>, String>>, skip: &BTreeSet<i64>| -> u128 {
            let mut s = Vec::new();
            m.iter()
                .filter(|(id, _)| !skip.contains(id))
                .filter_map(|(_, v)| v.as_ref().ok())
                .fold(0u128, |acc, v| {
                    acc.wrapping_add(convert::row_hash(v, &mut s))
                })
        };
        prop_assert_eq!(sum(b, rej), sum(a, &none), "digest of {}", t);
    }
    // Injected values: refused ones are rejected, accepted ones are not
    // blamed by a conversion reject.
    for inj in &injected {
        let rej = rejected
            .get(&inj.table)
            .is_some_and(|s| s.contains(&inj.legacy_id));
        match inj.expect {
            Expect::Reject => prop_assert!(rej, "{:?} must be rejected", inj),
            Expect::Pass => {
                let blamed = rejects.iter().any(|r| {
                    r.table == inj.table.name()
                        && r.legacy_key == Some(inj.legacy_id)
                        && r.column == inj.column
                        && r.stage == Stage::Convert
                });
                prop_assert!(!blamed, "{:?} must convert: {:?}", inj, rejects);
            }
            Expect::Either => {}
        }
    }
    drop_db(c, &db).await;
    Ok(())
}

/// Property: for any legacy dataset holding every hard value of
/// docs/migrate.md, migrate -> export gives back equal canonical rows and equal
/// digests; every row that does not come back is in the reject file with a
/// reason; nothing else differs. One cluster, one database per case;
/// PROPTEST_CASES raises the case count (`just soak`).
#[test]
fn round_trip_returns_every_row_or_a_reject() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cluster = rt.block_on(support::native());
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/integration/migrate.proptest-regressions"
        )))),
        source_file: Some(file!()),
        max_shrink_iters: 64,
        ..Config::default()
    });
    let case = std::cell::Cell::new(0usize);
    let result = runner.run(&dataset(), |(shape, picks, structural)| {
        case.set(case.get() + 1);
        rt.block_on(round_trip(
            &cluster,
            case.get(),
            &shape,
            &picks,
            &structural,
        ))
    });
    rt.block_on(cluster.shutdown()).unwrap();
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---- bad rows, input errors, crashes, mismatches -----------------------------

fn harness_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harness"));
    c.env("HARNESS_LOG", "warn");
    c
}

fn url(t: &Target) -> String {
    t.url.clone()
}

/// `harness migrate SRC --url TARGET --rejects REJECTS`; callers add flags.
fn migrate_cmd(src: &Path, target: &Target, rejects: &Path) -> Command {
    let mut c = harness_bin();
    c.arg("migrate")
        .arg(src)
        .args(["--url", &url(target), "--rejects"])
        .arg(rejects);
    c
}

fn small_shape() -> Shape {
    Shape {
        companies: 2,
        per_company: [3, 2, 2, 1, 2],
        id_base: 1,
    }
}

async fn has_app_tables(target: &PgConnectOptions) -> bool {
    use sqlx::ConnectOptions;
    let mut conn = target.connect().await.unwrap();
    sqlx::query_scalar("select to_regclass('public.companies') is not null")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// Bad rows: `--on-error skip` moves the rest, writes each bad row to the
/// reject file with a reason and exits REJECTED_ROWS; the default (stop)
/// stops at the first bad row, rolls its table back and exits the same.
#[tokio::test]
async fn bad_rows_go_to_the_reject_file_and_set_the_exit_status() {
    let c = support::native().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("legacy.db");
    let mut l = build(&small_shape());
    let users = l.rows.get_mut(&Table::Users).unwrap();
    let fpos = legacy_pos(Table::Users, "first_name");
    users[1][fpos] = Raw::Text(b"Ann\0".to_vec());
    let bad_user = match users[1][0] {
        Raw::Int(i) => i,
        _ => unreachable!(),
    };
    write_legacy(&src, &l);

    let target = fresh_db(&c, "mig_bad_skip").await;
    let rej = dir.path().join("skip.jsonl");
    let st = migrate_cmd(&src, &target, &rej)
        .args(["--on-error", "skip"])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(exit_codes::REJECTED_ROWS));
    let recs = reject::read(&rej).unwrap();
    let user_rej: Vec<&RejectRecord> = recs.iter().filter(|r| r.table == "users").collect();
    assert_eq!(user_rej.len(), 1, "{recs:?}");
    assert_eq!(user_rej[0].legacy_key, Some(bad_user));
    assert_eq!(user_rej[0].column, "first_name");
    assert!(user_rej[0].reason.contains("NUL"), "{:?}", user_rej[0]);
    assert_eq!(
        user_rej[0].value,
        serde_json::json!({"hex": hex::encode(b"Ann\0")})
    );
    // The applicant pointing at the rejected user is an orphan now, and says so.
    assert!(
        recs.iter()
            .any(|r| r.table == "applicants" && r.stage == Stage::Orphan),
        "{recs:?}"
    );
    {
        use sqlx::ConnectOptions;
        let mut conn = target.connect().await.unwrap();
        let n: i64 = sqlx::query_scalar("select count(*) from users")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 5, "the other users moved");
    }

    let target = fresh_db(&c, "mig_bad_stop").await;
    let rej = dir.path().join("stop.jsonl");
    let st = migrate_cmd(&src, &target, &rej).status().unwrap();
    assert_eq!(st.code(), Some(exit_codes::REJECTED_ROWS));
    assert_eq!(
        reject::read(&rej).unwrap().len(),
        1,
        "stop records the one row that stopped it"
    );
    use sqlx::ConnectOptions;
    let mut conn = target.connect().await.unwrap();
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let companies: i64 = sqlx::query_scalar("select count(*) from companies")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        (companies, users),
        (2, 0),
        "the stopped table is rolled back; finished ones stay"
    );
    c.shutdown().await.unwrap();
}

/// A non-SQLite file, a corrupt file, a missing table: BAD_INPUT and the
/// target untouched. An unreachable target: SETUP_FAILED.
#[tokio::test]
async fn input_errors_are_clear_and_change_nothing() {
    let c = support::native().await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.db");
    write_legacy(&good, &build(&small_shape()));
    let target = fresh_db(&c, "mig_inputs").await;

    let not_sqlite = dir.path().join("notes.txt");
    std::fs::write(&not_sqlite, "id,name\n1,acme\n").unwrap();

    let corrupt = dir.path().join("corrupt.db");
    let mut bytes = std::fs::read(&good).unwrap();
    let page = 4096;
    assert!(bytes.len() > 3 * page);
    for b in &mut bytes[page..] {
        *b = 0xA5;
    }
    std::fs::write(&corrupt, &bytes).unwrap();

    let missing = dir.path().join("missing.db");
    std::fs::copy(&good, &missing).unwrap();
    rusqlite::Connection::open(&missing)
        .unwrap()
        .execute_batch("drop table audit_logs")
        .unwrap();

    for (file, needle) in [
        (&not_sqlite, "not a SQLite database"),
        (&corrupt, "corrupt"),
        (&missing, "no table \"audit_logs\""),
    ] {
        let out = migrate_cmd(file, &target, &dir.path().join("r.jsonl"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(exit_codes::BAD_INPUT),
            "{}: {err}",
            file.display()
        );
        assert!(err.contains(needle), "{}: {err}", file.display());
        assert!(
            !has_app_tables(&target).await,
            "{}: the target must be untouched",
            file.display()
        );
    }

    // A port nothing listens on.
    let sock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    drop(sock);
    let out = harness_bin()
        .args([
            "migrate",
            good.to_str().unwrap(),
            "--url",
            &format!("postgres://postgres@127.0.0.1:{port}/portal"),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit_codes::SETUP_FAILED), "{err}");
    assert!(err.contains("cannot reach the target"), "{err}");
    c.shutdown().await.unwrap();
}

/// Large enough that a migration takes seconds: `n` audit rows per company.
fn bulk_legacy(path: &Path, companies: i64, per_company: i64) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(&fixtures::schema::legacy_tables_sql())
        .unwrap();
    db.execute_batch(&format!(
        "begin;
         with recursive c(i) as (select 1 union all select i + 1 from c where i < {companies})
         insert into companies (id, company_key, name) select i, 'co-' || i, 'Company ' || i from c;
         with recursive c(i) as (select 1 union all select i + 1 from c where i < {companies})
         insert into users (id, company_id, email, password_hash, role) select i, i, 'u' || i || '@x.test', 'h', 'admin' from c;
         with recursive n(i) as (select 1 union all select i + 1 from n where i < {total})
         insert into audit_logs (id, company_id, user_id, table_name, record_id, action, new_values, ip_address, created_at)
         select i, 1 + i % {companies}, 1 + i % {companies}, 'users', i, 'UPDATE',
                '{{\"n\": ' || i || ', \"tags\": [\"a\", \"b\"]}}', '10.0.' || (i % 250) || '.1',
                datetime(1700000000 + i, 'unixepoch')
         from n;
         commit;",
        total = companies * per_company
    ))
    .unwrap();
}

/// A run killed with SIGKILL midway is run again to a correct end state: no
/// duplicates, nothing missing, digests equal.
#[tokio::test]
async fn sigkill_midway_then_rerun_ends_correct() {
    let c = support::native().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.db");
    bulk_legacy(&src, 20, 3_000);
    let target = fresh_db(&c, "mig_kill").await;
    let mut child = migrate_cmd(&src, &target, &dir.path().join("r.jsonl"))
        .spawn()
        .unwrap();
    // Wait until some tables are committed but audit_logs (the big one) is not.
    use sqlx::ConnectOptions;
    let mut conn = target.connect().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done: i64 = sqlx::query_scalar(
            "select count(*) from harness_migration.tables where table_name <> 'audit_logs'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap_or(0);
        if done >= 6 {
            break;
        }
        assert!(Instant::now() < deadline, "the migration never got going");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed: make the file bigger"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the COPY into audit_logs run a little, then kill.
    tokio::time::sleep(Duration::from_millis(300)).await;
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let st = child.wait().unwrap();
    assert_eq!(st.code(), None, "killed by a signal");
    let audit_done: i64 = sqlx::query_scalar(
        "select count(*) from harness_migration.tables where table_name = 'audit_logs'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        audit_done, 0,
        "the kill must land before audit_logs commits"
    );
    // Wait for the server to notice the dead client and roll back.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let busy: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where application_name = 'harness-migrate'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if busy == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the killed session lingers");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let st = migrate_cmd(&src, &target, &dir.path().join("r2.jsonl"))
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(exit_codes::OK));
    let n: i64 = sqlx::query_scalar("select count(*) from audit_logs")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let distinct: i64 = sqlx::query_scalar("select count(distinct id) from audit_logs")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        (n, distinct),
        (60_000, 60_000),
        "no duplicates, none missing"
    );
    let v = migrate::verify(&portal(), &src, &target).await.unwrap();
    assert!(v.ok(), "{}", migrate::summary::render_verify(&v));
    // A third run is harmless: everything is already done.
    let st = migrate_cmd(&src, &target, &dir.path().join("r3.jsonl"))
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(exit_codes::OK));
    let n2: i64 = sqlx::query_scalar("select count(*) from audit_logs")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n2, n);
    c.shutdown().await.unwrap();
}

/// One value changed in PostgreSQL behind the harness's back: `verify`
/// exits VERIFY_MISMATCH and names the table, the tenant, the row and the
/// column. Another legacy file into the same target is refused.
#[tokio::test]
async fn verify_finds_and_locates_an_altered_row() {
    let c = support::native().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("legacy.db");
    let l = build(&small_shape());
    write_legacy(&src, &l);
    let target = fresh_db(&c, "mig_verify").await;
    let report = migrate::migrate(&portal(), &src, &target, &opts(dir.path(), OnError::Stop))
        .await
        .unwrap();
    assert_eq!(
        report.exit_code(),
        exit_codes::OK,
        "{}",
        migrate::summary::render(&report)
    );

    let victim = match &l.rows[&Table::Users][4][0] {
        Raw::Int(i) => *i,
        _ => unreachable!(),
    };
    let company = match &l.rows[&Table::Users][4][legacy_pos(Table::Users, "company_id")] {
        Raw::Int(i) => *i,
        _ => unreachable!(),
    };
    {
        use sqlx::ConnectOptions;
        let mut conn = target.connect().await.unwrap();
        // Behind the harness's back: no audit trigger, one column.
        sqlx::raw_sql("set session_replication_role = replica")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("update users set last_name = 'Changed' where id = $1")
            .bind(ids::to_uuid(Table::Users, victim))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let json = dir.path().join("verify.json");
    let out = harness_bin()
        .args([
            "verify",
            src.to_str().unwrap(),
            "--url",
            &url(&target),
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(exit_codes::VERIFY_MISMATCH),
        "{text}{err}"
    );
    let v: migrate::VerifyReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v.mismatches.len(), 1, "{text}");
    let m = &v.mismatches[0];
    assert_eq!((m.table.as_str(), m.tenant), ("users", Some(company)));
    assert_eq!(m.rows.len(), 1, "{text}");
    assert_eq!(m.rows[0].legacy_id, Some(victim));
    assert_eq!(m.rows[0].columns, vec!["last_name".to_string()]);
    assert!(text.contains("MISMATCH users / company"), "{text}");

    // Another legacy file into the same target: refused, nothing written.
    let other = dir.path().join("other.db");
    let mut shape = small_shape();
    shape.companies = 3;
    write_legacy(&other, &build(&shape));
    let out = migrate_cmd(&other, &target, &dir.path().join("r.jsonl"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(exit_codes::BAD_INPUT),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    c.shutdown().await.unwrap();
}
