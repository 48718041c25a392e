//! data.toml on real app folders: the generated file is judged by plain SQL
//! over it (the oracle), never by the generator's own bookkeeping.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use harness_engine::app::{quote, App, Rule, TenantLink};
use harness_engine::data::{self, DataSpec, Params};
use rusqlite::types::Value;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

fn journal() -> App {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../apps/journal");
    App::load(&dir).unwrap()
}

fn write(
    app: &App,
    spec: &DataSpec,
    params: Params,
    dir: &Path,
    name: &str,
) -> (PathBuf, data::Summary) {
    let path = dir.join(name);
    let s = data::write_sqlite(app, spec, &params, &path, &mut |_, _| {}).unwrap();
    (path, s)
}

fn params(tenants: u32, seed: u64, hard_rate: f64) -> Params {
    Params {
        tenants,
        scale: 1.0,
        seed,
        hard_rate,
    }
}

fn sha(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_other_data() {
    let app = journal();
    let spec = app
        .data_toml
        .clone()
        .expect("the journal ships a data.toml");
    let tmp = tempfile::tempdir().unwrap();
    let (a, _) = write(&app, &spec, params(30, 5, 0.02), tmp.path(), "a.db");
    let (b, _) = write(&app, &spec, params(30, 5, 0.02), tmp.path(), "b.db");
    let (c, _) = write(&app, &spec, params(30, 6, 0.02), tmp.path(), "c.db");
    assert_eq!(sha(&a), sha(&b));
    assert_eq!(sha(&data::manifest_path(&a)), sha(&data::manifest_path(&b)));
    assert_ne!(sha(&a), sha(&c));
    // A file that exists is never overwritten.
    let err = data::write_sqlite(&app, &spec, &params(30, 5, 0.0), &a, &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
}

/// Every reference the mapping declares, checked with SQL: the parent row
/// exists and belongs to the child's tenant.
fn check_references(app: &App, db: &Connection) -> u64 {
    let tenant = &app.toml.tenant;
    let mut checked = 0;
    for t in &app.mapping.tables {
        let child_tenant = match app.tenant_link(t) {
            TenantLink::Column(i) => Some(t.columns[i].legacy[0].clone()),
            TenantLink::Root => Some(t.key().legacy[0].clone()),
            TenantLink::None => None,
        };
        for c in &t.columns {
            let Rule::Ref { table } = &c.rule else {
                continue;
            };
            if c.target == tenant.column {
                continue;
            }
            let parent = app.mapping.table(table).unwrap();
            let pkey = parent.key().legacy[0].clone();
            let (ct, pt, col) = (
                quote(t.legacy_name()),
                quote(parent.legacy_name()),
                quote(&c.legacy[0]),
            );
            let dangling: i64 = db
                .query_row(
                    &format!("select count(*) from {ct} c where c.{col} is not null and not exists (select 1 from {pt} p where p.{} = c.{col})", quote(&pkey)),
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(
                dangling, 0,
                "{}.{} has dangling references",
                t.name, c.target
            );
            let parent_tenant = match app.tenant_link(parent) {
                TenantLink::Column(i) => Some(parent.columns[i].legacy[0].clone()),
                TenantLink::Root => Some(pkey.clone()),
                TenantLink::None => None,
            };
            if let (Some(ctc), Some(ptc)) = (&child_tenant, parent_tenant) {
                let crossing: i64 = db
                    .query_row(
                        &format!(
                            "select count(*) from {ct} c join {pt} p on p.{} = c.{col} where p.{} is not c.{}",
                            quote(&pkey),
                            quote(&ptc),
                            quote(ctc)
                        ),
                        [],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(crossing, 0, "{}.{} refers across tenants", t.name, c.target);
                let n: i64 = db
                    .query_row(&format!("select count({col}) from {ct}"), [], |r| r.get(0))
                    .unwrap();
                checked += n as u64;
            }
        }
    }
    checked
}

#[test]
fn references_stay_inside_a_tenant_and_unique_columns_hold() {
    let app = journal();
    let spec = app.data_toml.clone().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (path, summary) = write(&app, &spec, params(40, 1, 0.0), tmp.path(), "j.db");
    let db = Connection::open(&path).unwrap();
    let checked = check_references(&app, &db);
    assert!(
        checked > 1000,
        "too few references to prove anything: {checked}"
    );
    // The legacy UNIQUE on email, and the target's unique lower(email).
    let (n, distinct, lower): (i64, i64, i64) = db
        .query_row(
            "select count(*), count(distinct email), count(distinct lower(email)) from users",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((n, distinct, lower), (40, 40, 40));
    // The composite UNIQUE (user_id, period, period_start) holds; rows it
    // refused after retries are counted, not silently lost.
    let dup: i64 = db
        .query_row(
            "select count(*) from (select 1 from user_analytics group by user_id, period, period_start having count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dup, 0);
    for t in &summary.tables {
        let rows: i64 = db
            .query_row(
                &format!("select count(*) from {}", quote(&t.table)),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows as u64, t.rows, "{}", t.table);
    }
}

/// Rows per tenant over the tables that carry the tenant column, by SQL.
fn tenant_sizes(app: &App, db: &Connection) -> Vec<u64> {
    let mut per: BTreeMap<i64, u64> = BTreeMap::new();
    let root = app
        .mapping
        .table(app.toml.tenant.root_table.as_deref().unwrap())
        .unwrap();
    let mut ids = db
        .prepare(&format!(
            "select {} from {}",
            quote(&root.key().legacy[0]),
            quote(root.legacy_name())
        ))
        .unwrap();
    for id in ids.query_map([], |r| r.get::<_, i64>(0)).unwrap() {
        per.insert(id.unwrap(), 0);
    }
    for t in &app.mapping.tables {
        if let TenantLink::Column(i) = app.tenant_link(t) {
            let col = quote(&t.columns[i].legacy[0]);
            let mut st = db
                .prepare(&format!(
                    "select {col}, count(*) from {} group by {col}",
                    quote(t.legacy_name())
                ))
                .unwrap();
            for row in st
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
                .unwrap()
            {
                let (k, n) = row.unwrap();
                *per.get_mut(&k).expect("a tenant the root table has") += n as u64;
            }
        }
    }
    let mut v: Vec<u64> = per.into_values().collect();
    v.sort_unstable();
    v
}

#[test]
fn tenant_sizes_follow_the_configured_skew() {
    let app = journal();
    let tmp = tempfile::tempdir().unwrap();
    let n = 200u32;
    for skew in [1.1f64, 0.0] {
        let mut spec = app.data_toml.clone().unwrap();
        spec.tenants.skew = skew;
        let (path, summary) = write(
            &app,
            &spec,
            params(n, 3, 0.0),
            tmp.path(),
            &format!("s{skew}.db"),
        );
        let db = Connection::open(&path).unwrap();
        let sizes = tenant_sizes(&app, &db);
        assert_eq!(sizes.len(), n as usize);
        let (largest, median) = (*sizes.last().unwrap(), sizes[sizes.len() / 2]);
        let measured = largest as f64 / median.max(1) as f64;
        // Zipf: the largest weighs 1, the median (rank n/2) (n/2)^-skew.
        let expected = f64::from(n / 2).powf(skew);
        println!("skew {skew}: largest {largest}, median {median}: {measured:.1}x (Zipf says {expected:.1}x)");
        assert!(
            measured > expected * 0.6 && measured < expected * 1.6 + 1.0,
            "skew {skew}: largest/median {measured:.1}, expected about {expected:.1}"
        );
        assert_eq!(
            (summary.largest_tenant_rows, summary.median_tenant_rows),
            (largest, median)
        );
    }
}

/// Every cell of every table, by (table, rowid, column).
fn cells(db: &Connection) -> BTreeMap<(String, i64, String), Value> {
    let mut out = BTreeMap::new();
    let tables: Vec<String> = db
        .prepare("select name from sqlite_schema where type = 'table' and name not like 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in tables {
        let mut st = db
            .prepare(&format!("select rowid, * from {}", quote(&t)))
            .unwrap();
        let names: Vec<String> = st
            .column_names()
            .iter()
            .skip(1)
            .map(|s| s.to_string())
            .collect();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let id: i64 = r.get(0).unwrap();
            for (i, n) in names.iter().enumerate() {
                out.insert(
                    (t.clone(), id, n.clone()),
                    r.get::<_, Value>(i + 1).unwrap(),
                );
            }
        }
    }
    out
}

fn manifest_json(v: &Value) -> serde_json::Value {
    data::hard::manifest_value(v)
}

#[test]
fn the_manifest_lists_every_injected_hard_value_and_nothing_else_changes() {
    let app = journal();
    let spec = app.data_toml.clone().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (clean, _) = write(&app, &spec, params(60, 9, 0.0), tmp.path(), "clean.db");
    let (edge, summary) = write(&app, &spec, params(60, 9, 0.05), tmp.path(), "edge.db");
    let a = cells(&Connection::open(&clean).unwrap());
    let b = cells(&Connection::open(&edge).unwrap());
    assert_eq!(a.len(), b.len(), "hard values changed the number of cells");
    let changed: BTreeSet<(String, i64, String)> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    let text = std::fs::read_to_string(data::manifest_path(&edge)).unwrap();
    let mut listed = BTreeSet::new();
    let mut cases = BTreeSet::new();
    for line in text.lines() {
        let m: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = (
            m["table"].as_str().unwrap().to_string(),
            m["key"].as_i64().unwrap(),
            m["column"].as_str().unwrap().to_string(),
        );
        assert_eq!(
            manifest_json(&b[&key]),
            m["value"],
            "{key:?}: the file does not hold the listed value"
        );
        cases.insert(m["case"].as_str().unwrap().to_string());
        listed.insert(key);
    }
    assert_eq!(listed.len() as u64, summary.hard_values);
    // A listed value equal to the drawn one (rare) changes nothing.
    let unlisted: Vec<_> = changed.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "cells changed without a manifest line: {unlisted:?}"
    );
    assert!(
        listed.len() > 100,
        "too few hard values to judge: {}",
        listed.len()
    );
    assert!(
        cases.len() > 20,
        "only {} kinds of hard value drawn: {cases:?}",
        cases.len()
    );
}

/// A folder written here: quoted names, a self-reference, a table reaching
/// its tenant only through a parent (`per`), a lookup table legacy.sql fills
/// itself, a composite UNIQUE, and a CHECK data.toml must satisfy.
fn tricky(dir: &Path, data_toml: &str) -> App {
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::write(
        dir.join("app.toml"),
        "name = \"tricky\"\ndatabase = \"tricky\"\n[tenant]\ncolumn = \"org_id\"\nroot_table = \"orgs\"\nsetting = \"app.org\"\n[roles]\nowner = \"t_owner\"\napp = \"t_app\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("legacy.sql"),
        r#"
        create table "Orgs Table" (id integer primary key, name text not null unique);
        create table kinds (id integer primary key, label text not null);
        insert into kinds (label) values ('a'), ('b'), ('c');
        create table "order" (id integer primary key, org_id integer not null, kind_id integer not null,
            parent_id integer, slug text not null, qty integer not null check (qty between 1 and 9),
            unique (org_id, slug));
        create table lines (id integer primary key, order_id integer not null, note text,
            created_at text default current_timestamp not null);
        create table audit (id integer primary key, org_id integer not null, table_name text not null,
            record_id integer not null);
        "#,
    )
    .unwrap();
    std::fs::write(
        dir.join("mapping.toml"),
        r#"
        [[table]]
        name = "orgs"
        legacy = "Orgs Table"
        [[table.column]]
        target = "id"
        legacy = "id"
        rule = "key"
        [[table.column]]
        target = "name"
        legacy = "name"
        rule = "text"
        [[table]]
        name = "kinds"
        [[table.column]]
        target = "id"
        legacy = "id"
        rule = "key"
        [[table.column]]
        target = "label"
        legacy = "label"
        rule = "text"
        [[table]]
        name = "orders"
        legacy = "order"
        [[table.column]]
        target = "id"
        legacy = "id"
        rule = "key"
        [[table.column]]
        target = "org_id"
        legacy = "org_id"
        rule = "ref"
        table = "orgs"
        [[table.column]]
        target = "kind_id"
        legacy = "kind_id"
        rule = "ref"
        table = "kinds"
        [[table.column]]
        target = "parent_id"
        legacy = "parent_id"
        rule = "ref"
        table = "orders"
        [[table.column]]
        target = "slug"
        legacy = "slug"
        rule = "text"
        [[table.column]]
        target = "qty"
        legacy = "qty"
        rule = "integer"
        [[table]]
        name = "lines"
        [[table.column]]
        target = "id"
        legacy = "id"
        rule = "key"
        [[table.column]]
        target = "order_id"
        legacy = "order_id"
        rule = "ref"
        table = "orders"
        [[table.column]]
        target = "note"
        legacy = "note"
        rule = "text"
        [[table.column]]
        target = "created_at"
        legacy = "created_at"
        rule = "timestamptz"
        [[table]]
        name = "audit"
        [[table.column]]
        target = "id"
        legacy = "id"
        rule = "key"
        [[table.column]]
        target = "org_id"
        legacy = "org_id"
        rule = "ref"
        table = "orgs"
        [[table.column]]
        target = "table_name"
        legacy = "table_name"
        rule = "text"
        [[table.column]]
        target = "record_id"
        legacy = "record_id"
        rule = "record_ref"
        table_column = "table_name"
        "#,
    )
    .unwrap();
    std::fs::write(dir.join("data.toml"), data_toml).unwrap();
    App::load(dir).unwrap()
}

const TRICKY: &str = r#"
[tenants]
count = 12
skew = 0.5
[[table]]
name = "Orgs Table"
[table.columns]
name = { fake = "company" }
[[table]]
name = "kinds"
rows = 0
fixed = true
[[table]]
name = "order"
rows = 30
[table.columns]
parent_id = { ref = "order", null = 0.3 }
slug = { choices = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "aa", "bb", "cc", "dd"] }
qty = { int = [1, 9] }
[[table]]
name = "lines"
per = "order"
rows = { min = 1, max = 4 }
[table.columns]
note = { fake = "sentence", null = 0.2 }
[[table]]
name = "audit"
rows = 10
[table.columns]
table_name = { choices = ["orders", "orgs"] }
"#;

#[test]
fn a_tricky_schema_keeps_tenants_keys_and_constraints() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tricky(&tmp.path().join("app"), TRICKY);
    let spec = app.data_toml.clone().unwrap();
    let (path, summary) = write(&app, &spec, params(12, 4, 0.0), tmp.path(), "t.db");
    println!("{}", summary.render());
    let db = Connection::open(&path).unwrap();
    check_references(&app, &db);
    // Lines reach their tenant only through their order: each line's order
    // exists; each order's parent is an earlier order of the same org.
    let bad_parent: i64 = db
        .query_row(
            "select count(*) from \"order\" o join \"order\" p on p.id = o.parent_id where p.org_id <> o.org_id or p.id >= o.id",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad_parent, 0);
    let (lines, orders): (i64, i64) = db
        .query_row(
            "select (select count(*) from lines), (select count(*) from \"order\")",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        lines >= orders && lines <= 4 * orders,
        "{lines} lines for {orders} orders"
    );
    // The lookup rows legacy.sql inserted are kept and referred to.
    let kinds: Vec<i64> = db
        .prepare("select distinct kind_id from \"order\" order by 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kinds, vec![1, 2, 3]);
    // CURRENT_TIMESTAMP would make every run differ: drawn instead.
    let stamped: i64 = db
        .query_row(
            "select count(*) from lines where created_at like '2024-%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stamped, lines);
    // 30 slugs for ~30 orders per org under UNIQUE (org_id, slug): some
    // draws collide and are drawn again; what cannot fit is counted.
    let order_count = summary.tables.iter().find(|t| t.table == "order").unwrap();
    assert_eq!(order_count.rows as i64, orders);

    // Audit rows point, by table name, at a row of their own org.
    let (audits, wrong): (i64, i64) = db
        .query_row(
            "select count(*), count(*) filter (where not exists (select 1 from \"order\" o where a.table_name = 'orders' and o.id = a.record_id and o.org_id = a.org_id) \
             and not exists (select 1 from \"Orgs Table\" g where a.table_name = 'orgs' and g.id = a.record_id and g.id = a.org_id)) from audit a",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        audits > 50 && wrong == 0,
        "{wrong} of {audits} audit rows name another org's row"
    );

    // Left out of data.toml, the lookup table is still referred to as
    // legacy.sql filled it.
    let dir4 = tmp.path().join("app4");
    let app4 = tricky(
        &dir4,
        &TRICKY.replace("[[table]]\nname = \"kinds\"\nrows = 0\nfixed = true\n", ""),
    );
    assert!(app4.data_toml.as_ref().unwrap().table("kinds").is_none());
    let (path4, _) = write(
        &app4,
        app4.data_toml.as_ref().unwrap(),
        params(12, 4, 0.0),
        tmp.path(),
        "t4.db",
    );
    let db4 = Connection::open(&path4).unwrap();
    let (n4, k4): (i64, i64) = db4
        .query_row(
            "select count(*), count(distinct kind_id) from \"order\" where kind_id between 1 and 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(n4 > 100 && k4 == 3, "{n4} orders over {k4} kinds");

    // A CHECK data.toml breaks is named, with what to do.
    let dir2 = tmp.path().join("app2");
    let app2 = tricky(
        &dir2,
        &TRICKY.replace("qty = { int = [1, 9] }", "qty = { int = [0, 20] }"),
    );
    let err = data::write_sqlite(
        &app2,
        app2.data_toml.as_ref().unwrap(),
        &params(12, 4, 0.0),
        &tmp.path().join("t2.db"),
        &mut |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("order") && err.contains("CHECK") && err.contains("data.toml"),
        "{err}"
    );
    // A column data.toml names that the table lacks.
    let dir3 = tmp.path().join("app3");
    let app3 = tricky(
        &dir3,
        &TRICKY.replace(
            "qty = { int = [1, 9] }",
            "qty = { int = [1, 9] }\nquantity = { int = [1, 2] }",
        ),
    );
    let err = data::write_sqlite(
        &app3,
        app3.data_toml.as_ref().unwrap(),
        &params(12, 4, 0.0),
        &tmp.path().join("t3.db"),
        &mut |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("quantity") && err.contains("qty"), "{err}");
}
