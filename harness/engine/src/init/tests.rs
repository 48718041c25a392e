//! `harness init` on SQLite files built by hand: every test writes a
//! folder, loads it back with [`App::load`] and checks the mapping and the
//! files.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use tempfile::TempDir;

use super::*;
use crate::app::{quote, ColumnMap, Rule, TableMap};

/// A SQLite file made of `sql`, in its own temporary folder.
fn sqlite(sql: &str) -> (TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("legacy.db");
    let c = Connection::open(&p).unwrap();
    c.execute_batch(sql).unwrap();
    (d, p)
}

struct Drafted {
    _tmp: TempDir,
    dir: PathBuf,
    report: InitReport,
    app: App,
}

impl Drafted {
    fn table(&self, name: &str) -> &TableMap {
        self.app
            .mapping
            .table(name)
            .unwrap_or_else(|| panic!("no table {name:?} in {:?}", self.names()))
    }

    fn col(&self, table: &str, col: &str) -> &ColumnMap {
        self.table(table)
            .col(col)
            .unwrap_or_else(|| panic!("no column {table}.{col}"))
    }

    fn evidence(&self, table: &str, col: &str) -> &str {
        self.col(table, col).evidence.as_deref().unwrap_or("")
    }

    fn names(&self) -> Vec<&str> {
        self.app
            .mapping
            .tables
            .iter()
            .map(|t| t.name.as_str())
            .collect()
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap()
    }

    fn decisions(&self) -> String {
        self.report.decisions.join("\n")
    }
}

fn run(db: &Path, tenant: Option<&str>) -> Drafted {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("My Shop");
    let report = init(&InitOptions {
        dir: dir.clone(),
        from: db.to_path_buf(),
        tenant_column: tenant.map(str::to_string),
        force: false,
    })
    .unwrap_or_else(|e| panic!("init failed: {e}"));
    let app = App::load(&dir).unwrap();
    Drafted {
        _tmp: tmp,
        dir,
        report,
        app,
    }
}

/// A small multi-tenant shop: companies own users and orders; line items
/// reach their company through orders; countries are shared.
fn shop() -> (TempDir, PathBuf) {
    let (d, p) = sqlite(
        "create table companies (id integer primary key, name text not null, created_at datetime);
         create table users (
             id integer primary key,
             company_id integer not null references companies(id),
             email varchar(40),
             is_active boolean,
             settings text,
             manager_id integer references users(id)
         );
         create table orders (
             id integer primary key,
             company_id integer not null references companies(id),
             user_id integer references users(id),
             total real,
             placed_at DATETIME,
             qty INTEGER,
             note TXT,
             cnt INTEGR,
             shipped DATTIME,
             price DECIMAL(10,2)
         );
         create index orders_user on orders (user_id);
         create unique index orders_note on orders (company_id, note);
         create table line_items (
             order_id integer references orders(id),
             sku text,
             n integer,
             primary key (order_id, sku)
         );
         create table countries (code text primary key, name text);
         create table company_settings (
             company_id integer primary key references companies(id),
             theme text
         );
         create table audit (at text, what blob);
         create view v_orders as select * from orders;
         create trigger orders_touch after insert on orders begin select 1; end;",
    );
    let c = Connection::open(&p).unwrap();
    c.execute_batch(
        "insert into companies values (1, 'Acme', '2024-01-01 10:00:00'), (2, 'Globex', '2024-02-01 11:00:00'), (3, 'Initech', null);
         insert into countries values ('fr', 'France'), ('de', 'Germany');
         insert into company_settings values (1, 'dark'), (2, 'light');
         insert into audit values ('x', x'00ff10'), ('y', x'deadbeef');",
    )
    .unwrap();
    let tx = c.unchecked_transaction().unwrap();
    for u in 1..=10i64 {
        tx.execute(
            "insert into users values (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                u,
                u % 3 + 1,
                format!("user{u}@example.com"),
                u % 2,
                format!("{{\"theme\": \"t{u}\", \"n\": {u}}}"),
                if u > 1 { Some(1i64) } else { None },
            ],
        )
        .unwrap();
    }
    for o in 1..=1000i64 {
        // 992 ISO timestamps, 8 epoch milliseconds.
        let placed: rusqlite::types::Value = if o <= 992 {
            format!("2024-03-{:02} 12:{:02}:00", o % 28 + 1, o % 60).into()
        } else {
            (1_700_000_000_000i64 + o).into()
        };
        // 970 integers, 30 texts that are not integers.
        let qty: rusqlite::types::Value = if o <= 970 {
            (o % 50).into()
        } else {
            "abc".to_string().into()
        };
        tx.execute(
            "insert into orders values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            rusqlite::params![
                o,
                o % 3 + 1,
                o % 10 + 1,
                o as f64 * 1.25,
                placed,
                qty,
                format!("note {o}"),
                o * 7,
                format!("2024-04-{:02}T08:00:00Z", o % 28 + 1),
                o as f64 / 4.0,
            ],
        )
        .unwrap();
        tx.execute(
            "insert into line_items values (?1, 'sku-a', 1), (?1, 'sku-b', 2)",
            [o],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    (d, p)
}

#[test]
fn a_shop_is_drafted_with_rules_from_types_and_values() {
    let (_d, db) = shop();
    let d = run(&db, Some("company_id"));
    let t = &d.app.toml;
    assert_eq!(t.name, "my_shop");
    assert_eq!(t.database, "my_shop");
    assert_eq!(t.roles.owner, "my_shop_owner");
    assert_eq!(t.roles.app, "my_shop_app");
    assert_eq!(t.roles.reader.as_deref(), Some("my_shop_reader"));
    assert_eq!(t.tenant.column, "company_id");
    assert_eq!(t.tenant.root_table.as_deref(), Some("companies"));
    assert_eq!(t.tenant.setting, "app.tenant_id");

    // Keys: the rowid alias is the key, kept as an integer.
    assert_eq!(d.col("companies", "id").rule, Rule::Key { uuid_tag: None });
    assert!(!d.col("companies", "id").nullable);
    // The tenant column references the root.
    assert_eq!(
        d.col("users", "company_id").rule,
        Rule::Ref {
            table: "companies".into()
        }
    );
    assert!(!d.col("users", "company_id").nullable);
    assert_eq!(
        d.col("orders", "user_id").rule,
        Rule::Ref {
            table: "users".into()
        }
    );
    // A self-reference stays a reference to its own table.
    assert_eq!(
        d.col("users", "manager_id").rule,
        Rule::Ref {
            table: "users".into()
        }
    );
    // Declared types and values.
    assert_eq!(
        d.col("users", "email").rule,
        Rule::Text {
            max_chars: Some(40)
        }
    );
    assert_eq!(d.col("users", "is_active").rule, Rule::Boolean);
    assert_eq!(d.col("users", "settings").rule, Rule::Jsonb);
    assert!(
        d.evidence("users", "settings")
            .contains("100.0 % JSON object"),
        "{}",
        d.evidence("users", "settings")
    );
    assert_eq!(d.col("orders", "total").rule, Rule::Float);
    assert_eq!(
        d.col("orders", "price").rule,
        Rule::Numeric {
            precision: 10,
            scale: 2
        }
    );

    // Mixed ISO text and epoch ms in a DATETIME column.
    assert_eq!(
        d.col("orders", "placed_at").rule,
        Rule::Timestamptz {
            unknown_is_bad: false
        }
    );
    let ev = d.evidence("orders", "placed_at");
    assert!(
        ev.starts_with("1000 rows: 99.2 % ISO text, 0.8 % epoch ms -> timestamptz"),
        "{ev}"
    );

    // An INTEGER column holding some text: the majority rule, and the share
    // it will reject.
    assert_eq!(d.col("orders", "qty").rule, Rule::Integer);
    let ev = d.evidence("orders", "qty");
    assert!(
        ev.contains("97.0 % integer, 3.0 % other text -> integer"),
        "{ev}"
    );
    assert!(
        ev.contains(
            "30 values (3.0 %) are text that is not an integer: they will be rejected; set on_bad = \"null\" to keep the rows"
        ),
        "{ev}"
    );
    assert!(
        d.decisions().contains("orders.qty: 30 values"),
        "{}",
        d.decisions()
    );

    // Declared types that are typos.
    assert_eq!(d.col("orders", "note").rule, Rule::Text { max_chars: None });
    assert!(d
        .evidence("orders", "note")
        .contains("\"TXT\" is not a type name"));
    assert!(d.evidence("orders", "note").contains("NUMERIC affinity"));
    assert_eq!(d.col("orders", "cnt").rule, Rule::Integer);
    assert!(d.evidence("orders", "cnt").contains("INTEGER affinity"));
    assert_eq!(
        d.col("orders", "shipped").rule,
        Rule::Timestamptz {
            unknown_is_bad: false
        }
    );
    assert!(d.evidence("orders", "shipped").contains("\"DATTIME\""));

    // A composite key: the rowid becomes the key, the key columns stay.
    let li = d.table("line_items");
    assert_eq!(li.key().target, "legacy_rowid");
    assert_eq!(li.key().legacy, ["rowid"]);
    assert!(!li.key().nullable);
    assert_eq!(
        d.col("line_items", "order_id").rule,
        Rule::Ref {
            table: "orders".into()
        }
    );
    assert!(
        !d.col("line_items", "sku").nullable,
        "a key column holding no NULL"
    );

    // A table without a primary key, with a BLOB.
    assert_eq!(d.table("audit").key().legacy, ["rowid"]);
    assert_eq!(d.col("audit", "what").rule, Rule::Bytea);

    // A tenant table keyed by the tenant column keys on its rowid instead.
    let cs = d.table("company_settings");
    assert_eq!(cs.key().target, "legacy_rowid");
    assert_eq!(
        d.col("company_settings", "company_id").rule,
        Rule::Ref {
            table: "companies".into()
        }
    );

    // Parents first.
    let pos = |n: &str| d.names().iter().position(|x| *x == n).unwrap();
    assert!(pos("companies") < pos("users"));
    assert!(pos("users") < pos("orders"));
    assert!(pos("orders") < pos("line_items"));
    assert_eq!(d.report.tables, 7);
    assert!(d.report.refused.is_empty(), "{:?}", d.report.refused);
}

#[test]
fn tables_without_the_tenant_column_become_decisions() {
    let (_d, db) = shop();
    let d = run(&db, Some("company_id"));
    let decisions = d.decisions();
    assert!(
        decisions.contains("line_items has no company_id column; it reaches its tenant only through a parent: line_items -> orders.company_id"),
        "{decisions}"
    );
    assert!(
        decisions.contains("countries has no company_id column and no foreign key leading to a tenant table: drafted as a lookup table"),
        "{decisions}"
    );
    let note = d.table("line_items").note.clone().unwrap_or_default();
    assert!(note.contains("line_items -> orders.company_id"), "{note}");
    let readme = d.file("README.md");
    assert!(
        readme.contains("line_items -> orders.company_id"),
        "{readme}"
    );

    let rls = d.file("migrations/0100_roles_rls.up.sql");
    // Tenant tables: forced RLS and a fail-closed policy.
    assert!(
        rls.contains("alter table \"orders\" enable row level security, force row level security;")
    );
    assert!(rls.contains(
        "create policy \"orders_tenant\" on \"orders\" for all to \"my_shop_app\", \"my_shop_reader\"\n    using (\"company_id\" = nullif(current_setting('app.tenant_id', true), '')::bigint)\n    with check (\"company_id\" = nullif(current_setting('app.tenant_id', true), '')::bigint);"
    ), "{rls}");
    // The root compares its key.
    assert!(
        rls.contains("using (\"id\" = nullif(current_setting('app.tenant_id', true), '')::bigint)")
    );
    // Through a parent: RLS on, no policy.
    assert!(rls.contains("alter table \"line_items\" enable row level security"));
    assert!(!rls
        .lines()
        .any(|l| l.starts_with("create policy \"line_items_tenant\"")));
    assert!(rls.contains("--   create policy \"line_items_tenant\" on \"line_items\""));
    // The lookup table: no RLS, read-only.
    assert!(!rls.contains("alter table \"countries\" enable row level security"));
    assert!(rls.contains("grant select on \"countries\" to \"my_shop_app\", \"my_shop_reader\";"));
    assert!(
        rls.contains("if not exists (select 1 from pg_catalog.pg_roles where rolname = r.name)")
    );
    assert!(rls.contains("('my_shop_owner', 'nologin bypassrls')"));
    let down = d.file("migrations/0100_roles_rls.down.sql");
    assert!(down.contains("drop policy if exists \"orders_tenant\" on \"orders\";"));
    assert!(down.contains("drop role if exists %I"));
}

#[test]
fn the_schema_migration_is_quoted_typed_and_in_mapping_order() {
    let (_d, db) = shop();
    let d = run(&db, Some("company_id"));
    let up = d.file("migrations/0001_schema.up.sql");
    assert!(!up.trim().is_empty());
    let statements: Vec<&str> = up
        .split(";\n")
        .map(str::trim)
        .filter(|s| {
            s.lines()
                .any(|l| !l.trim_start().starts_with("--") && !l.trim().is_empty())
        })
        .collect();
    let creates: Vec<&str> = statements
        .iter()
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with("create table "))
                .and_then(|l| l.strip_prefix("create table "))
                .and_then(|l| l.strip_suffix(" ("))
        })
        .collect();
    let want: Vec<String> = d.names().iter().map(|n| quote(n)).collect();
    assert_eq!(
        creates, want,
        "one CREATE TABLE per mapped table, in mapping order"
    );
    assert!(
        statements.len() > creates.len(),
        "indexes are separate statements"
    );
    assert!(up.contains("    \"id\" bigint primary key,"));
    assert!(up.contains("\"company_id\" bigint not null references \"companies\" (\"id\")"));
    assert!(up.contains("\"email\" varchar(40),"));
    assert!(up.contains("\"placed_at\" timestamptz,"));
    assert!(up.contains("\"price\" numeric(10,2),"));
    assert!(up.contains("\"what\" bytea"));
    assert!(up.contains("unique (\"order_id\", \"sku\")"), "{up}");
    assert!(up.contains("unique (\"company_id\", \"note\")"));
    assert!(up.contains("create index \"orders_user\" on \"orders\" (\"user_id\");"));
    // Between two tenant tables a reference is paired with the tenant
    // column, so it cannot point at another tenant's row.
    assert!(up.contains("    \"manager_id\" bigint, -- "), "{up}");
    assert!(up.contains(
        "foreign key (\"company_id\", \"manager_id\") references \"users\" (\"company_id\", \"id\")"
    ));
    assert!(
        up.contains("unique (\"company_id\", \"id\"), -- what tenant-scoped references point at")
    );
    let down = d.file("migrations/0001_schema.down.sql");
    let drops: Vec<&str> = down
        .lines()
        .filter_map(|l| l.strip_prefix("drop table "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let mut rev = want.clone();
    rev.reverse();
    assert_eq!(drops, rev);
}

#[test]
fn views_and_triggers_are_noted_and_legacy_sql_recreates_the_schema() {
    let (_d, db) = shop();
    let d = run(&db, Some("company_id"));
    let readme = d.file("README.md");
    assert!(
        readme.contains("view \"v_orders\" is not migrated"),
        "{readme}"
    );
    assert!(readme.contains("trigger \"orders_touch\" on \"orders\" is not migrated"));
    assert!(d
        .table("orders")
        .note
        .as_deref()
        .unwrap_or("")
        .contains("trigger \"orders_touch\""));

    let legacy = d.file("legacy.sql");
    assert_eq!(d.app.legacy_sql.as_deref(), Some(legacy.as_str()));
    let fresh = tempfile::tempdir().unwrap();
    let c = Connection::open(fresh.path().join("again.db")).unwrap();
    c.execute_batch(&legacy).unwrap();
    let names = |c: &Connection, kind: &str| -> Vec<String> {
        let mut v: Vec<String> = c
            .prepare("select name from sqlite_master where type = ?1 and name not like 'sqlite_%' order by name")
            .unwrap()
            .query_map([kind], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        v.sort();
        v
    };
    let orig = Connection::open(&db).unwrap();
    assert_eq!(names(&c, "table"), names(&orig, "table"));
    assert_eq!(names(&c, "index"), names(&orig, "index"));
    // Tables in mapping order.
    // (sqlite_master spells the keywords in capitals.)
    let at = |n: &str| legacy.find(&format!("CREATE TABLE {n} ")).unwrap();
    assert!(at("companies") < at("users") && at("users") < at("orders"));
}

#[test]
fn odd_names_are_kept_quoted_cut_and_numbered() {
    let a = "a".repeat(65);
    let (_d, db) = sqlite(&format!(
        r#"create table "order" (
               "select" integer primary key,
               "user" text,
               "rowid" text,
               "a ""quoted"" col" int,
               "it's" text,
               "col with space" text,
               "café" text,
               untyped,
               "xmin" int
           );
           create table "my table" (id integer primary key, "order" integer references "order"("select"));
           create table "{a}_left" (id integer primary key, v text);
           create table "{a}_right" (id integer primary key, v text);
           create table weird ("rowid" text, "legacy_rowid" text);
           insert into "order" values (1, 'u', 'r', 5, 'x', 'y', 'é', 'z', 3);
           insert into "my table" values (1, 1);
           insert into weird values ('r1', 'l1'), ('r2', 'l2');"#
    ));
    let d = run(&db, None);
    // Reserved words, quotes, spaces and unicode stay as they are.
    let o = d.table("order");
    assert_eq!(o.key().target, "select");
    for c in [
        "user",
        "rowid",
        "a \"quoted\" col",
        "it's",
        "col with space",
        "café",
        "untyped",
    ] {
        assert!(
            o.col(c).is_some(),
            "column {c:?} kept: {:?}",
            o.target_columns().collect::<Vec<_>>()
        );
    }
    // A system column name of PostgreSQL is renamed.
    assert!(o.col("xmin").is_none());
    assert_eq!(d.col("order", "xmin_2").legacy, ["xmin"]);
    assert!(o.note.as_deref().unwrap_or("").contains("system column"));
    // No declared type: the values decide, and the evidence says so.
    assert!(d.evidence("order", "untyped").contains("no declared type"));
    assert_eq!(
        d.col("my table", "order").rule,
        Rule::Ref {
            table: "order".into()
        }
    );
    // Two 70-byte names collide when cut to 63 bytes: the second is numbered.
    let long: Vec<&TableMap> = d
        .app
        .mapping
        .tables
        .iter()
        .filter(|t| t.legacy_name().starts_with(&a))
        .collect();
    assert_eq!(long.len(), 2);
    assert_eq!(long[0].name, "a".repeat(63));
    assert_eq!(long[1].name, format!("{}_2", "a".repeat(61)));
    assert_eq!(
        long[0].legacy.as_deref(),
        Some(format!("{a}_left").as_str())
    );
    assert_eq!(
        long[1].legacy.as_deref(),
        Some(format!("{a}_right").as_str())
    );
    assert!(long[1].note.as_deref().unwrap_or("").contains("cut"));
    assert!(d.file("README.md").contains(&format!("{a}_right")));
    // A column named rowid hides the rowid: the key reads it as _rowid_,
    // under a name no column has.
    let w = d.table("weird");
    assert_eq!(w.key().legacy, ["_rowid_"]);
    assert_eq!(w.key().target, "legacy_rowid_2");
    assert_eq!(d.col("weird", "rowid").legacy, ["rowid"]);
    let c = Connection::open(&db).unwrap();
    let keys: Vec<i64> = c
        .prepare(&format!(
            "select {} from weird order by 1",
            quote(&w.key().legacy[0])
        ))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        keys,
        [1, 2],
        "the legacy name reads the rowid, not the column"
    );
    // Every identifier in the DDL is quoted.
    let up = d.file("migrations/0001_schema.up.sql");
    assert!(up.contains("create table \"order\" ("));
    assert!(up.contains("\"a \"\"quoted\"\" col\" integer"));
    assert!(up.contains("\"my table\""));
    assert!(up.contains("\"order\" bigint references \"order\" (\"select\")"));
}

#[test]
fn without_rowid_tables_with_an_integer_key_are_kept_others_refused() {
    let (_d, db) = sqlite(
        "create table kv (k integer primary key, v text) without rowid;
         create table tags (name text primary key, n int) WITHOUT  ROWID;
         insert into kv values (1, 'a'), (2, 'b');
         insert into tags values ('x', 1);",
    );
    let d = run(&db, None);
    assert_eq!(d.col("kv", "k").rule, Rule::Key { uuid_tag: None });
    assert!(d.app.mapping.table("tags").is_none());
    let refused = d.report.refused.join("\n");
    assert!(refused.contains("\"tags\" is WITHOUT ROWID"), "{refused}");
    assert!(refused.contains("INTEGER PRIMARY KEY"), "{refused}");
    assert!(d.file("README.md").contains("\"tags\" is WITHOUT ROWID"));
    // legacy.sql still holds the whole schema.
    assert!(d.file("legacy.sql").contains("CREATE TABLE tags"));
}

#[test]
fn a_file_without_a_tenant_column_is_drafted_with_a_loud_decision() {
    let (_d, db) = sqlite(
        "create table notes (id integer primary key, body text, created_at text);
         create table tags (id integer primary key, note_id integer references notes(id), tag text);
         insert into notes values (1, 'hi', '2024-01-01 00:00:00');
         insert into tags values (1, 1, 'x');",
    );
    let d = run(&db, None);
    assert!(
        d.decisions().contains("NO TENANT COLUMN FOUND"),
        "{}",
        d.decisions()
    );
    assert!(d.decisions().contains("--tenant-column"));
    assert_eq!(d.app.toml.tenant.column, "tenant_id");
    assert_eq!(d.app.toml.tenant.root_table, None);
    assert_eq!(
        d.col("notes", "created_at").rule,
        Rule::Timestamptz {
            unknown_is_bad: false
        }
    );
    let rls = d.file("migrations/0100_roles_rls.up.sql");
    assert!(!rls.contains("create policy"));
    assert!(!rls.contains("enable row level security"));
    assert!(rls.contains("alter table \"notes\" owner to \"my_shop_owner\";"));
    assert!(d.file("app.toml").contains("PLACEHOLDER"));
    assert!(d.file("README.md").contains("No tenant column was found"));
    for f in draft::FILES {
        assert!(d.dir.join(f).is_file(), "{f} written");
    }
    // The skeletons are valid TOML.
    let w: toml::Value = toml::from_str(&d.file("workload.toml")).unwrap();
    assert_eq!(
        w["query"][0]["sql"].as_str(),
        Some("select * from \"notes\" where \"id\" = $1")
    );
    assert_eq!(w["user"][0]["name"].as_str(), Some("reader"));
    // Without tenants, one tenant stands for the file and every table is
    // shared, as many rows as the file has.
    let data = d.app.data_toml.as_ref().expect("data.toml loaded");
    assert_eq!(data.tenants.count, 1);
    for t in &data.tables {
        assert!(t.fixed && t.per.is_none(), "{t:?}");
        assert_eq!(t.rows, crate::data::spec::Rows::Mean(1.0), "{t:?}");
    }
    assert!(d.file("data.toml").contains("no tenant column"));
}

#[test]
fn a_guessed_tenant_finds_its_root_by_name_when_the_ids_match() {
    let (_d, db) = sqlite(
        "create table companies (id integer primary key, name text);
         create table projects (id integer primary key, company_id integer, name text);
         create table tasks (id integer primary key, company_id integer, project_id integer references projects(id));
         insert into companies values (1, 'a'), (2, 'b');
         insert into projects values (1, 1, 'p'), (2, 2, 'q');
         insert into tasks values (1, 1, 1), (2, 2, 2);",
    );
    let d = run(&db, None);
    assert_eq!(d.app.toml.tenant.column, "company_id");
    assert_eq!(d.app.toml.tenant.root_table.as_deref(), Some("companies"));
    assert_eq!(
        d.col("tasks", "company_id").rule,
        Rule::Ref {
            table: "companies".into()
        }
    );
    assert!(d
        .decisions()
        .contains("tenant column guessed: company_id (in 2 tables)"));
}

#[test]
fn the_user_is_guessed_as_the_tenant_only_when_no_organisation_column_fits() {
    // A personal app: each user's rows are their own.
    let (_d, db) = sqlite(
        "create table users (id integer primary key, email text);
         create table entries (id integer primary key, user_id integer references users(id), body text);
         create table tags (id integer primary key, user_id integer references users(id), name text);
         insert into users values (1, 'a@x'), (2, 'b@x');
         insert into entries values (1, 1, 'x'), (2, 2, 'y');
         insert into tags values (1, 1, 't'), (2, 2, 'u');",
    );
    let d = run(&db, None);
    assert_eq!(d.app.toml.tenant.column, "user_id");
    assert_eq!(d.app.toml.tenant.root_table.as_deref(), Some("users"));
    // An organisation column in two tables wins over a user column in three.
    let (_d, db) = sqlite(
        "create table companies (id integer primary key);
         create table users (id integer primary key, company_id integer references companies(id));
         create table notes (id integer primary key, company_id integer references companies(id), user_id integer references users(id));
         create table likes (id integer primary key, user_id integer references users(id));
         create table views (id integer primary key, user_id integer references users(id));
         insert into companies values (1), (2);
         insert into users values (1, 1), (2, 2);
         insert into notes values (1, 1, 1), (2, 2, 2);
         insert into likes values (1, 1);
         insert into views values (1, 2);",
    );
    let d = run(&db, None);
    assert_eq!(d.app.toml.tenant.column, "company_id");
}

#[test]
fn a_tenant_id_naming_no_root_row_keeps_a_plain_integer_tenant() {
    let (_d, db) = sqlite(
        "create table companies (id integer primary key);
         create table projects (id integer primary key, company_id integer);
         insert into companies values (1);
         insert into projects values (1, 1), (2, 99);",
    );
    let d = run(&db, Some("company_id"));
    assert_eq!(d.app.toml.tenant.root_table, None);
    assert_eq!(d.col("projects", "company_id").rule, Rule::Integer);
    assert!(
        d.decisions()
            .contains("1 company_id value names none of its rows"),
        "{}",
        d.decisions()
    );
    let rls = d.file("migrations/0100_roles_rls.up.sql");
    assert!(rls.contains("::integer"));
    // companies has no tenant column and no foreign key: a lookup table.
    assert!(d.decisions().contains("companies has no company_id column"));
}

#[test]
fn reference_cycles_are_broken_so_the_draft_loads() {
    let (_d, db) = sqlite(
        "pragma foreign_keys = off;
         create table a (id integer primary key, b_id integer references b(id));
         create table b (id integer primary key, a_id integer references a(id));
         insert into a values (1, 1); insert into b values (1, 1);",
    );
    let d = run(&db, None);
    assert_eq!(d.names(), ["a", "b"]);
    assert_eq!(d.col("a", "b_id").rule, Rule::Integer);
    assert!(d.evidence("a", "b_id").contains("a cycle"));
    assert_eq!(d.col("b", "a_id").rule, Rule::Ref { table: "a".into() });
    assert!(d.decisions().contains("a.b_id references b"));
}

#[test]
fn bad_input_is_refused_with_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = |from: PathBuf, dir: PathBuf| InitOptions {
        dir,
        from,
        tenant_column: None,
        force: false,
    };
    let out = tmp.path().join("out");

    let e = init(&opts(tmp.path().join("nope.db"), out.clone())).unwrap_err();
    assert!(matches!(e, InitError::MissingSource { .. }), "{e}");
    assert!(e.is_bad_input());
    assert!(e.to_string().contains("--from"));

    let text = tmp.path().join("notes.txt");
    std::fs::write(&text, "this is not a database, just some words").unwrap();
    let e = init(&opts(text, out.clone())).unwrap_err();
    assert!(e.to_string().contains("not a SQLite database"), "{e}");
    assert!(e.is_bad_input());

    let (_d, empty) = sqlite("create view v as select 1;");
    let e = init(&opts(empty, out.clone())).unwrap_err();
    assert!(matches!(e, InitError::NoTables { .. }), "{e}");
    let zero = tmp.path().join("zero.db");
    std::fs::write(&zero, b"").unwrap();
    assert!(matches!(
        init(&opts(zero, out.clone())).unwrap_err(),
        InitError::NoTables { .. }
    ));

    let (_d2, db) = sqlite("create table t (id integer primary key);");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let e = init(&opts(db.clone(), out.clone())).unwrap_err();
    assert!(matches!(e, InitError::DirNotEmpty { .. }), "{e}");
    assert!(e.to_string().contains("--force"));
    assert!(!out.join("app.toml").exists(), "nothing written");
    let mut forced = opts(db.clone(), out.clone());
    forced.force = true;
    std::fs::create_dir_all(out.join("migrations")).unwrap();
    std::fs::write(out.join("migrations/0002_old.up.sql"), "select 1;").unwrap();
    let r = init(&forced).unwrap();
    assert_eq!(r.tables, 1);
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine"
    );
    assert!(r.decisions.join("\n").contains("0002_old.up.sql"));

    let mut wrong = opts(db, tmp.path().join("other"));
    wrong.tenant_column = Some("org_id".into());
    let e = init(&wrong).unwrap_err();
    assert!(matches!(e, InitError::TenantColumn { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("no table has a column named \"org_id\""),
        "{e}"
    );
    assert!(e.is_bad_input());
}

#[test]
fn text_tenant_ids_are_refused_when_asked_for_and_skipped_when_guessed() {
    let (_d, db) = sqlite(
        "create table a (id integer primary key, tenant_id text);
         create table b (id integer primary key, tenant_id text);
         insert into a values (1, 'acme'); insert into b values (1, 'globex');",
    );
    let tmp = tempfile::tempdir().unwrap();
    let e = init(&InitOptions {
        dir: tmp.path().join("x"),
        from: db.clone(),
        tenant_column: Some("tenant_id".into()),
        force: false,
    })
    .unwrap_err();
    assert!(e.to_string().contains("not integers"), "{e}");
    let d = run(&db, None);
    assert!(
        d.decisions()
            .contains("tenant_id looks like a tenant column"),
        "{}",
        d.decisions()
    );
    assert!(d.decisions().contains("NO TENANT COLUMN FOUND"));
    // The placeholder must not be a column some table has.
    assert_eq!(d.app.toml.tenant.column, "tenant_id_placeholder");
    assert_eq!(d.col("a", "tenant_id").rule, Rule::Text { max_chars: None });
}

#[test]
fn empty_tables_and_generated_columns_do_not_trip_init() {
    let (_d, db) = sqlite(
        "create table e (id integer primary key, n integer, at datetime, x);
         create table g (id integer primary key, a int, b int generated always as (a * 2) virtual);
         insert into g (id, a) values (1, 2);",
    );
    let d = run(&db, None);
    assert_eq!(d.col("e", "n").rule, Rule::Bigint);
    assert!(d
        .evidence("e", "n")
        .starts_with("0 rows: no values to look at -> bigint"));
    assert_eq!(
        d.col("e", "at").rule,
        Rule::Timestamptz {
            unknown_is_bad: false
        }
    );
    assert!(d.table("g").col("b").is_none());
    assert!(d
        .table("g")
        .note
        .as_deref()
        .unwrap_or("")
        .contains("generated column \"b\" is not migrated"));
}

#[test]
fn big_tables_are_sampled_and_the_evidence_says_so() {
    let (_d, db) = sqlite(
        "create table big (id integer primary key, n integer);
         with recursive c(x) as (select 1 union all select x + 1 from c where x < 200010)
         insert into big select x, x % 7 from c;",
    );
    let d = run(&db, None);
    let ev = d.evidence("big", "n");
    assert!(
        ev.starts_with(
            "200000 of 200010 rows (the first, in key order): 100.0 % integer -> integer"
        ),
        "{ev}"
    );
}

#[test]
fn virtual_tables_are_refused_and_orphans_reported() {
    let (_d, db) = sqlite(
        "pragma foreign_keys = off;
         create virtual table docs using fts5(title, body);
         create table p (id integer primary key);
         create table c (id integer primary key, p_id integer references p(id));
         insert into docs values ('a', 'b');
         insert into p values (1);
         insert into c values (1, 1), (2, 5);",
    );
    let d = run(&db, None);
    assert_eq!(d.names(), ["p", "c"], "no virtual table, no storage table");
    let refused = d.report.refused.join("\n");
    assert!(
        refused.contains("\"docs\" is a virtual table (module fts5)"),
        "{refused}"
    );
    assert!(
        d.file("README.md").contains("docs_data"),
        "storage tables noted"
    );
    assert!(
        d.decisions()
            .contains("c.p_id: 1 value (50.0 %) names no row of p"),
        "{}",
        d.decisions()
    );
    assert!(d
        .evidence("c", "p_id")
        .contains("its row will be rejected as an orphan"));
    // legacy.sql still recreates the whole schema, virtual table included.
    let fresh = tempfile::tempdir().unwrap();
    let c = Connection::open(fresh.path().join("again.db")).unwrap();
    c.execute_batch(&d.file("legacy.sql")).unwrap();
    let n: i64 = c
        .query_row(
            "select count(*) from sqlite_master where name = 'docs'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}

// --- data.toml -------------------------------------------------------------

use crate::data::spec::{DataSpec, DateFormat, ListForm, Rows};
use crate::data::{write_sqlite, Params};

/// The drafted data.toml, read as the engine reads it (parse, then check).
fn data_spec(d: &Drafted) -> DataSpec {
    let text = d.file("data.toml");
    let spec: DataSpec =
        toml::from_str(&text).unwrap_or_else(|e| panic!("data.toml does not parse: {e}\n{text}"));
    spec.check()
        .unwrap_or_else(|e| panic!("data.toml is refused: {e}\n{text}"));
    spec
}

/// A new legacy file generated from the drafted folder, as `harness seed`
/// makes one.
fn generate(d: &Drafted, tenants: u32) -> (TempDir, Connection) {
    let spec = data_spec(d);
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("generated.db");
    let params = Params {
        tenants,
        scale: 1.0,
        seed: 1,
        hard_rate: 0.0,
    };
    write_sqlite(&d.app, &spec, &params, &path, &mut |_, _| {}).unwrap_or_else(|e| {
        panic!(
            "generating from the drafted data.toml fails: {e}\n{}",
            d.file("data.toml")
        )
    });
    let c = Connection::open(&path).unwrap();
    (out, c)
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn real(c: &Connection, sql: &str) -> f64 {
    c.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn the_shop_data_toml_loads_and_generates_a_file_like_the_shop() {
    let (_d, db) = shop();
    let d = run(&db, Some("company_id"));
    let spec = data_spec(&d);
    assert_eq!(d.app.data_toml.as_ref(), Some(&spec), "App::load read it");
    let text = d.file("data.toml");
    assert_eq!(spec.tenants.count, 3, "{text}");
    let names: Vec<&str> = spec.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names[0], "companies", "parents first: {names:?}");
    let orders = spec.table("orders").unwrap();
    assert_eq!(orders.rows, Rows::Mean(333.33), "{text}");
    assert!(
        !orders.columns.contains_key("company_id"),
        "the tenant is inferred"
    );
    assert!(
        !orders.columns.contains_key("user_id"),
        "a declared ref without NULLs"
    );
    // Mostly ISO text with a few epoch integers: the text wins.
    assert_eq!(
        orders.columns["placed_at"]
            .date
            .as_ref()
            .map(|d| d[0].as_str()),
        Some("2024-03-01 12:00:00"),
        "{text}"
    );
    assert_eq!(orders.columns["shipped"].format, Some(DateFormat::Iso));
    assert_eq!(orders.columns["note"].seq.as_deref(), Some("note {}"));
    let users = spec.table("users").unwrap();
    assert_eq!(users.columns["email"].fake.as_deref(), Some("email"));
    assert_eq!(users.columns["is_active"].bool, Some(0.5));
    assert_eq!(
        users.columns["manager_id"].reference.as_deref(),
        Some("users")
    );
    assert_eq!(users.columns["manager_id"].null, 0.1);
    let settings = users.columns["settings"].json.as_ref().expect("json");
    assert_eq!(settings.keys().collect::<Vec<_>>(), ["n", "theme"]);
    let items = spec.table("line_items").unwrap();
    assert_eq!(items.per.as_deref(), Some("orders"));
    assert_eq!(items.rows, Rows::Range { min: 2, max: 2 });
    assert_eq!(
        items.columns["sku"].choices,
        Some(vec!["sku-a".into(), "sku-b".into()])
    );
    let countries = spec.table("countries").unwrap();
    assert!(countries.fixed);
    assert_eq!(countries.rows, Rows::Mean(2.0));
    assert!(
        countries.columns["code"].unique,
        "a text primary key is unique"
    );
    let cs = spec.table("company_settings").unwrap();
    assert!(cs.fixed, "one settings row per tenant at most: {text}");
    assert_eq!(cs.rows, Rows::Mean(0.67));
    // Every line has its evidence above it.
    for (i, line) in text.lines().enumerate() {
        if line.contains(" = {") && !line.starts_with('#') && !line.starts_with("rows = ") {
            let above = text.lines().nth(i - 1).unwrap_or("");
            assert!(above.starts_with("# "), "no evidence for {line}");
        }
    }
    let (_g, c) = generate(&d, 3);
    assert_eq!(count(&c, "select count(*) from companies"), 3);
    let orders = count(&c, "select count(*) from orders");
    assert!((750..=1250).contains(&orders), "{orders} orders");
    assert_eq!(
        count(&c, "select count(*) from line_items"),
        2 * orders,
        "two line items per order"
    );
    assert_eq!(count(&c, "select count(*) from countries"), 2);
    assert_eq!(
        count(
            &c,
            "select count(*) from orders o join users u on u.id = o.user_id where u.company_id <> o.company_id"
        ),
        0,
        "references stay within their tenant"
    );
}

/// The source of the round trip: 30 tenants of unequal size; items with a
/// column of each shape.
fn shapes() -> (TempDir, PathBuf) {
    let (d, p) = sqlite(
        "create table tenants (id integer primary key, name text not null);
         create table items (
             id integer primary key,
             tenant_id integer not null references tenants(id),
             note text,
             status text not null,
             created_at text,
             seen_ms integer,
             meta text,
             tags text,
             email text,
             active integer,
             price real
         );
         create unique index items_email on items (email);",
    );
    let c = Connection::open(&p).unwrap();
    let tx = c.unchecked_transaction().unwrap();
    let mut x: u64 = 7;
    let mut next = move |m: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % m
    };
    const COLOURS: [&str; 5] = ["red", "green", "blue", "black", "white"];
    let mut n = 0u64;
    for t in 1..=30u64 {
        tx.execute(
            "insert into tenants values (?1, ?2)",
            rusqlite::params![t as i64, format!("Tenant {t}")],
        )
        .unwrap();
        for _ in 0..(5 + t * 37 % 50) {
            n += 1;
            let note = (!n.is_multiple_of(5)).then(|| {
                let words: Vec<&str> = (0..3 + next(8))
                    .map(|_| {
                        ["quiet", "morning", "check", "of", "the", "stock", "room"]
                            [next(7) as usize]
                    })
                    .collect();
                words.join(" ")
            });
            let status = match n % 10 {
                0..=5 => "open",
                6..=8 => "closed",
                _ => "archived",
            };
            let created =
                chrono::DateTime::from_timestamp(1_672_531_200 + next(365 * 86_400) as i64, 0)
                    .unwrap()
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string();
            let seen_ms = 1_672_531_200_000i64 + (next(365 * 86_400) * 1000 + next(1000)) as i64;
            let meta = format!(
                "{{\"a\": {}, \"b\": \"{}\"}}",
                next(100),
                ["x", "y", "z"][next(3) as usize]
            );
            let mut tags: Vec<&str> = Vec::new();
            for _ in 0..1 + next(3) {
                let c = COLOURS[next(5) as usize];
                if !tags.contains(&c) {
                    tags.push(c);
                }
            }
            tx.execute(
                "insert into items values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                rusqlite::params![
                    n as i64,
                    t as i64,
                    note,
                    status,
                    created,
                    seen_ms,
                    meta,
                    tags.join(","),
                    format!("person{n}@example.org"),
                    i64::from(next(10) < 7),
                    next(100_000) as f64 / 100.0,
                ],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
    (d, p)
}

#[test]
fn a_generated_file_has_the_shapes_of_the_source() {
    let (_d, db) = shapes();
    let d = run(&db, Some("tenant_id"));
    let spec = data_spec(&d);
    let text = d.file("data.toml");
    let items = spec.table("items").unwrap();
    assert_eq!(items.columns["tags"].form, Some(ListForm::Csv), "{text}");
    assert!(items.columns["email"].unique, "{text}");
    let (_g, g) = generate(&d, 30);
    let src = Connection::open(&db).unwrap();
    let both = |sql: &str| (real(&src, sql), real(&g, sql));

    // NULL share.
    let (s, n) = both("select avg(note is null) from items");
    assert!(
        (s - n).abs() <= 0.05,
        "note NULL share: source {s}, generated {n}"
    );
    // The status mix.
    for v in ["open", "closed", "archived"] {
        let (s, n) = both(&format!("select avg(status = '{v}') from items"));
        assert!(
            (s - n).abs() <= 0.05,
            "{v}: source {s}, generated {n}\n{text}"
        );
    }
    assert_eq!(
        count(
            &g,
            "select count(*) from items where status not in ('open', 'closed', 'archived')"
        ),
        0
    );
    // ISO dates within the source's range, written the same way.
    let (lo, hi): (String, String) = src
        .query_row(
            "select min(created_at), max(created_at) from items",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        count(
            &g,
            "select count(*) from items where created_at is null or created_at not glob
             '2023-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z'"
        ),
        0,
        "{text}"
    );
    let (glo, ghi): (String, String) = g
        .query_row(
            "select min(created_at), max(created_at) from items",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(lo <= glo && ghi <= hi, "{glo}..{ghi} outside {lo}..{hi}");
    // Epoch milliseconds within the range (to the second), as integers.
    let (slo, shi) = (
        count(&src, "select min(seen_ms) from items"),
        count(&src, "select max(seen_ms) from items"),
    );
    assert_eq!(
        count(
            &g,
            &format!(
                "select count(*) from items where typeof(seen_ms) <> 'integer'
                 or seen_ms < {} or seen_ms > {} or seen_ms < 1000000000000",
                slo - 1000,
                shi + 1000
            )
        ),
        0,
        "{text}"
    );
    // JSON objects with the keys a and b.
    assert_eq!(
        count(
            &g,
            "select count(*) from items where not json_valid(meta)
             or json_type(meta, '$.a') is null or json_type(meta, '$.b') is null"
        ),
        0,
        "{text}"
    );
    assert!(
        count(
            &g,
            "select count(distinct json_extract(meta, '$.b')) from items"
        ) >= 2
    );
    // Comma lists of one to three colours.
    let mut st = g.prepare("select tags from items").unwrap();
    let tags: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!tags.is_empty());
    for t in &tags {
        let parts: Vec<&str> = t.split(',').collect();
        assert!((1..=3).contains(&parts.len()), "{t:?}");
        for p in parts {
            assert!(
                ["red", "green", "blue", "black", "white"].contains(&p),
                "{t:?}"
            );
        }
    }
    assert!(
        tags.iter().any(|t| t.contains(',')),
        "some lists have several items"
    );
    // Unique e-mail addresses.
    assert_eq!(
        count(&g, "select count(*) - count(distinct email) from items"),
        0
    );
    assert_eq!(
        count(
            &g,
            "select count(*) from items where email is null or email not like '%_@_%'"
        ),
        0
    );
    // Flags stay 0/1, with about the source's share of 1.
    assert_eq!(
        count(
            &g,
            "select count(*) from items where active is null or active not in (0, 1)"
        ),
        0
    );
    let (s, n) = both("select avg(active) from items");
    assert!((s - n).abs() <= 0.05, "active: source {s}, generated {n}");
    // Prices with at most two decimals.
    assert_eq!(
        count(
            &g,
            "select count(*) from items where abs(price * 100 - round(price * 100)) > 1e-6"
        ),
        0,
        "{text}"
    );
    // Rows per tenant.
    assert_eq!(count(&g, "select count(*) from tenants"), 30);
    let (s, n) = both("select count(*) / 30.0 from items");
    assert!(
        (n - s).abs() <= 0.25 * s,
        "rows per tenant: source {s}, generated {n}\n{text}"
    );
    // The tenants are unequal, as the source's are.
    assert!(spec.tenants.skew > 0.0 && spec.tenants.skew <= 3.0);
    assert!(text.contains("minus the slope of log(rows)"), "{text}");
}

#[test]
fn awkward_names_and_tables_without_tenant_draft_a_data_toml_that_loads() {
    let (_d, db) = sqlite(
        "create table \"org\" (id integer primary key, \"name\" text);
         create table \"Order Items\" (
             \"id\" integer primary key,
             org_id integer not null references \"org\"(id),
             \"select\" text,
             \"from\" integer,
             \"group by\" real,
             \"we\"\"ird\" text,
             \"line
break\" text
         );
         create table \"where\" (\"key\" integer primary key, \"value\" text, \"order\" integer);
         create table notes (id integer primary key, item_id integer not null references \"Order Items\"(id), body text);",
    );
    let c = Connection::open(&db).unwrap();
    for o in 1..=4i64 {
        c.execute(
            "insert into org values (?1, ?2)",
            rusqlite::params![o, format!("Org {o}")],
        )
        .unwrap();
    }
    for i in 1..=40i64 {
        c.execute(
            "insert into \"Order Items\" values (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                i,
                i % 4 + 1,
                ["a", "b"][(i % 2) as usize],
                i * 3,
                i as f64 / 8.0,
                format!("say \"{i}\"\n'ok'"),
                format!("row {i}"),
            ],
        )
        .unwrap();
        c.execute(
            "insert into notes (item_id, body) values (?1, 'hello there'), (?1, 'again')",
            [i],
        )
        .unwrap();
    }
    c.execute_batch("insert into \"where\" values (1, 'x', 1), (2, 'y', 2), (3, 'z', 3);")
        .unwrap();
    drop(c);
    let d = run(&db, Some("org_id"));
    let spec = data_spec(&d);
    let text = d.file("data.toml");
    let items = spec.table("Order Items").expect("the legacy name");
    for col in ["select", "from", "group by", "we\"ird", "line\nbreak"] {
        assert!(items.columns.contains_key(col), "{col:?} in {text}");
    }
    let lookup = spec.table("where").expect("the table without tenant");
    assert!(lookup.fixed, "{text}");
    assert_eq!(lookup.rows, Rows::Mean(3.0));
    let notes = spec.table("notes").unwrap();
    assert_eq!(notes.per.as_deref(), Some("Order Items"), "{text}");
    assert_eq!(notes.rows, Rows::Range { min: 2, max: 2 });
    // And a file generated from it has every table.
    let (_g, g) = generate(&d, 4);
    assert_eq!(count(&g, "select count(*) from \"where\""), 3);
    assert!(count(&g, "select count(*) from \"Order Items\"") > 0);
    assert_eq!(
        count(&g, "select count(*) from notes"),
        2 * count(&g, "select count(*) from \"Order Items\"")
    );
}
