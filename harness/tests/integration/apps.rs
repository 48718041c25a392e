//! Any app's SQLite file, through the binary as a user runs it:
//! `init -> migrate -> verify -> export`, on files written here by hand
//! (not by the project's generator), each holding something SQLite allows
//! and PostgreSQL does not take as it is. Every legacy row must come back
//! equal after canonicalisation or sit in the reject file with its reason;
//! what `init` cannot draft it must refuse with a message that says what to
//! do. Also: every exit code these commands give, through the binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use harness::app::App;
use harness::exit_codes;
use harness::migrate::convert;
use harness::migrate::reject;

use super::support;

fn harness_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harness"));
    c.env("HARNESS_LOG", "warn").env_remove("HARNESS_APP");
    c
}

fn run(c: &mut Command) -> (i32, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    (status.code().unwrap_or(-1), text)
}

/// A SQLite file from hand-written SQL.
fn sqlite(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let p = dir.join(format!("{name}.db"));
    // As legacy apps ran: foreign keys declared, never enforced.
    rusqlite::Connection::open(&p)
        .unwrap()
        .execute_batch(&format!("pragma foreign_keys = off;\n{sql}"))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    p
}

/// Every mapped legacy row, converted by the app's rules and made canonical
/// (keys as legacy integers); the conversion's refusal reason otherwise.
fn canonical_rows(app: &App, file: &Path) -> BTreeMap<(String, i64), Result<Vec<u8>, String>> {
    support::converted_rows(app, file)
        .into_iter()
        .map(|(k, v)| {
            let v = v
                .map(|vals| {
                    let mut b = Vec::new();
                    convert::canonical(&vals, &mut b);
                    b
                })
                .map_err(|r| format!("{}: {}", r.column, r.reason));
            (k, v)
        })
        .collect()
}

/// One file through init -> migrate -> verify -> export; returns the
/// folder and the rows rejected (table, key).
struct Through {
    app: App,
    rejected: BTreeSet<(String, i64)>,
    records: Vec<reject::RejectRecord>,
    init_out: String,
}

async fn through(
    c: &harness::cluster::Cluster,
    dir: &Path,
    name: &str,
    file: &Path,
    tenant: Option<&str>,
) -> Through {
    let folder = dir.join(format!("{name}-app"));
    let mut init = harness_bin();
    init.arg("init").arg(&folder).arg("--from").arg(file);
    if let Some(t) = tenant {
        init.args(["--tenant-column", t]);
    }
    let (code, init_out) = run(&mut init);
    assert_eq!(code, exit_codes::OK, "{name}: init: {init_out}");
    let t = round_trip(c, dir, name, file, &folder, init_out).await;
    if tenant.is_some() {
        // The draft's schema and policies pass the audit init's users run
        // next: no high or critical finding (a reference between tenant
        // tables not paired with the tenant column would be one).
        audit_passes(c, name, &folder, "the draft fails its own audit");
    }
    t
}

/// `audit-rls --fail-on high` on the database `round_trip` migrated `name`
/// into exits 0: no high or critical finding.
fn audit_passes(c: &harness::cluster::Cluster, name: &str, folder: &Path, what: &str) {
    let url = c.primary().with_database(&format!("apps_{name}")).url();
    let (code, out) = run(harness_bin()
        .arg("audit-rls")
        .arg("--app")
        .arg(folder)
        .args(["--url", &url, "--fail-on", "high"]));
    assert_eq!(code, exit_codes::OK, "{name}: {what}: {out}");
}

/// `file` through migrate -> verify -> re-run -> export with the folder
/// `folder`: every row comes back equal or sits in the reject file.
async fn round_trip(
    c: &harness::cluster::Cluster,
    dir: &Path,
    name: &str,
    file: &Path,
    folder: &Path,
    init_out: String,
) -> Through {
    let app = App::load(folder).unwrap_or_else(|e| panic!("{name}: the folder does not load: {e}"));
    let db = format!("apps_{name}");
    let url = support::fresh_db(c, &db).await.url();
    let rejects = dir.join(format!("{name}-rejects.jsonl"));
    let (code, out) = run(harness_bin()
        .arg("migrate")
        .arg(file)
        .arg("--app")
        .arg(folder)
        .args(["--url", &url, "--on-error", "skip", "--rejects"])
        .arg(&rejects));
    assert!(
        code == exit_codes::OK || code == exit_codes::REJECTED_ROWS,
        "{name}: migrate exited {code}: {out}\n(init said: {init_out})"
    );
    let (code, out) = run(harness_bin()
        .arg("verify")
        .arg(file)
        .arg("--app")
        .arg(folder)
        .args(["--url", &url]));
    assert_eq!(code, exit_codes::OK, "{name}: verify: {out}");
    // Run again with the same file, as after a crash: every table is
    // found done (the keys of parents read back from the target, whatever
    // their kind) and left alone, and the target still verifies.
    let (code, again) = run(harness_bin()
        .arg("migrate")
        .arg(file)
        .arg("--app")
        .arg(folder)
        .args(["--url", &url, "--on-error", "skip", "--rejects"])
        .arg(dir.join(format!("{name}-rejects-again.jsonl"))));
    assert_eq!(code, exit_codes::OK, "{name}: the re-run: {again}");
    assert!(
        again.contains("verification: OK") && again.contains(" done "),
        "{name}: the re-run: {again}"
    );
    // The load dropped indexes, keys and the foreign keys of other tables
    // and built them again: the target's schema is the one the folder's
    // migrations create, nothing lost, nothing left disabled.
    let built = support::fresh_db(c, &format!("{db}_schema")).await;
    let mut schema = built.connect().await.unwrap();
    app.migrator()
        .await
        .unwrap()
        .run(&mut schema)
        .await
        .unwrap_or_else(|e| panic!("{name}: the folder's migrations: {e}"));
    let mut loaded = c.primary().with_database(&db).connect().await.unwrap();
    assert_eq!(
        support::catalog(&mut loaded).await,
        support::catalog(&mut schema).await,
        "{name}: the migrated database's schema differs from the one the folder's migrations create"
    );
    let back = dir.join(format!("{name}-back.db"));
    let (code, out) = run(harness_bin()
        .arg("export")
        .arg("--app")
        .arg(folder)
        .args(["--url", &url, "-o"])
        .arg(&back));
    assert_eq!(code, exit_codes::OK, "{name}: export: {out}");

    let mut rejected = BTreeSet::new();
    let records = reject::read(&rejects).unwrap();
    for r in &records {
        assert!(
            !r.reason.is_empty(),
            "{name}: a reject without a reason: {r:?}"
        );
        if r.row_absent() {
            rejected.insert((r.table.clone(), r.legacy_key.expect("integer keys")));
        }
    }
    // Every row comes back equal, or is in the reject file; nothing else.
    let before = canonical_rows(&app, file);
    let after = canonical_rows(&app, &back);
    for (k, v) in &before {
        match (rejected.contains(k), after.get(k)) {
            (true, None) => {}
            (true, Some(_)) => panic!("{name}: {k:?} is both rejected and exported"),
            (false, None) => panic!("{name}: {k:?} vanished without a reject ({v:?})"),
            (false, Some(b)) => {
                let a = v
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{name}: {k:?} fails its rule ({e}) yet moved"));
                let b = b
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{name}: exported {k:?} fails its rule: {e}"));
                assert_eq!(a, b, "{name}: {k:?} changed on the round trip");
            }
        }
    }
    assert_eq!(
        after.len() + rejected.len(),
        before.len(),
        "{name}: the export holds rows the file did not"
    );
    Through {
        app,
        rejected,
        records,
        init_out,
    }
}

/// Names SQLite takes and PostgreSQL needs quoted or cut: reserved words,
/// spaces, quotes, mixed case, and two table and two column names over 63
/// bytes that are the same once cut.
const NAMES: &str = r#"
CREATE TABLE "Tenants" (id INTEGER PRIMARY KEY, "Name With Space" TEXT NOT NULL, "select" TEXT, "quote""d" TEXT);
CREATE TABLE "order" (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES "Tenants"(id),
    "from" TEXT,
    "group" INTEGER,
    "a column name that is longer than sixty-three bytes in total, number one" TEXT,
    "a column name that is longer than sixty-three bytes in total, number two" TEXT
);
CREATE TABLE "a table name that is longer than sixty-three bytes in total, number one" (
    id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES "Tenants"(id), v TEXT);
CREATE TABLE "a table name that is longer than sixty-three bytes in total, number two" (
    id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES "Tenants"(id), v TEXT);
INSERT INTO "Tenants" VALUES (1, 'Acme', 'x', 'it''s'), (2, 'Globex', NULL, '"q"');
INSERT INTO "order" VALUES (10, 1, 'a', 1, 'one', 'two'), (11, 2, 'b', 2, NULL, ''), (12, 1, '', NULL, 'x', 'y');
INSERT INTO "a table name that is longer than sixty-three bytes in total, number one" VALUES (1, 1, 'p'), (2, 2, 'q');
INSERT INTO "a table name that is longer than sixty-three bytes in total, number two" VALUES (1, 2, 'r');
"#;

/// Keys of every shape: none, composite, within the table, a BLOB, a view,
/// WITHOUT ROWID with an integer key.
const KEYS: &str = r#"
CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE events (account_id INTEGER NOT NULL REFERENCES accounts(id), kind TEXT, at DATETIME);
CREATE TABLE lines (account_id INTEGER NOT NULL REFERENCES accounts(id), doc INTEGER NOT NULL, n INTEGER NOT NULL, qty INTEGER, PRIMARY KEY (doc, n));
CREATE TABLE folders (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id), parent_id INTEGER REFERENCES folders(id), name TEXT);
CREATE TABLE files (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id), body BLOB);
CREATE TABLE counters (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, value INTEGER) WITHOUT ROWID;
CREATE VIEW recent_events AS SELECT * FROM events WHERE at > '2024-01-01';
INSERT INTO accounts VALUES (1, 'a'), (2, 'b');
INSERT INTO events VALUES (1, 'login', '2024-01-02 03:04:05'), (2, 'logout', '2024-02-03 04:05:06'), (1, 'login', '2024-01-02 03:04:05');
INSERT INTO lines VALUES (1, 100, 1, 5), (1, 100, 2, 7), (2, 200, 1, 1);
INSERT INTO folders VALUES (5, 1, NULL, 'root'), (3, 1, 5, 'child before its parent''s id'), (7, 1, 3, 'grandchild'), (8, 2, NULL, 'other root'), (9, 2, 99, 'parent missing');
INSERT INTO files VALUES (1, 1, x'00ff10'), (2, 2, x''), (3, 1, NULL);
INSERT INTO counters VALUES (1, 1, 10), (2, 2, 20);
"#;

/// Declared types that are typos or missing, and values that disagree with
/// their declared type.
const TYPES: &str = r#"
CREATE TABLE orgs (id INTEGER PRIMARY KEY, name TXT);
CREATE TABLE items (
    id INTEGR PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    price REEL,
    created DATTIME,
    flag BOOLEAN,
    meta TEXT,
    tags TEXT,
    qty INTEGER,
    anything
);
INSERT INTO orgs VALUES (1, 'one'), (2, 'two');
INSERT INTO items VALUES
  (1, 1, 9.99, '2024-01-02 03:04:05', 1, '{"a":1}', 'x,y', 3, 'text'),
  (2, 1, 0.1, '2024-01-02T03:04:05Z', 0, '[1,2]', 'z', 4, 42),
  (3, 2, 1e300, 1704164645000, 1, '{}', '', 'not a number', x'01'),
  (4, 2, -0.5, '2024-06-30 12:00:00', 0, '{"b":[true,null]}', 'p,q,r', 5, 1.5),
  (5, 1, 2.5, '2024-07-01 00:00:00', 1, '{"c":"d"}', 'k', 6, NULL);
"#;

/// A file with no tenant column at all.
const NO_TENANT: &str = r#"
CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT);
CREATE TABLE tags (id INTEGER PRIMARY KEY, note_id INTEGER REFERENCES notes(id), tag TEXT);
INSERT INTO notes VALUES (1, 'a', 'b'), (2, 'c', NULL);
INSERT INTO tags VALUES (1, 1, 'x'), (2, 2, 'y'), (3, 1, 'z');
"#;

/// A table that reaches its tenant only through its parent, and a lookup.
const THROUGH_PARENT: &str = r#"
CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE countries (id INTEGER PRIMARY KEY, code TEXT);
CREATE TABLE invoices (id INTEGER PRIMARY KEY, company_id INTEGER NOT NULL REFERENCES companies(id), country_id INTEGER REFERENCES countries(id), total REAL);
CREATE TABLE invoice_lines (id INTEGER PRIMARY KEY, invoice_id INTEGER NOT NULL REFERENCES invoices(id), amount REAL);
INSERT INTO companies VALUES (1, 'a'), (2, 'b');
INSERT INTO countries VALUES (1, 'FR'), (2, 'DE');
INSERT INTO invoices VALUES (1, 1, 1, 10.5), (2, 2, 2, 20.25), (3, 1, NULL, 0), (4, 2, 1, 'n/a');
INSERT INTO invoice_lines VALUES (1, 1, 5.25), (2, 1, 5.25), (3, 2, 20.25), (4, 3, 0), (5, 4, 1.5), (6, 4, 2.5);
"#;

/// WITHOUT ROWID with a text key: no integer locates its rows.
const TEXT_KEY: &str = r#"
CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE settings (account_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (account_id, key)) WITHOUT ROWID;
CREATE TABLE notes (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id), body TEXT);
INSERT INTO accounts VALUES (1, 'a');
INSERT INTO notes VALUES (1, 1, 'n');
INSERT INTO settings VALUES (1, 'theme', 'dark');
"#;

/// Two values SQLite holds as different texts under a UNIQUE index that
/// are one instant once PostgreSQL reads them as timestamps: only the
/// target's unique index can find the duplicate, whether the load builds
/// it before or after the COPY.
const UNIQUE_IN_TARGET_ONLY: &str = r#"
CREATE TABLE shops (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE slots (id INTEGER PRIMARY KEY, shop_id INTEGER NOT NULL REFERENCES shops(id), starts DATETIME UNIQUE, label TEXT);
CREATE TABLE bookings (id INTEGER PRIMARY KEY, shop_id INTEGER NOT NULL REFERENCES shops(id), slot_id INTEGER REFERENCES slots(id), who TEXT);
INSERT INTO shops VALUES (1, 'a'), (2, 'b');
INSERT INTO slots VALUES (1, 1, '2024-01-02 03:04:05', 'x'), (2, 2, '2024-01-02T03:04:05Z', 'y'), (3, 1, '2024-01-03 00:00:00', 'z');
INSERT INTO bookings VALUES (1, 1, 1, 'ann'), (2, 2, 2, 'bob'), (3, 1, NULL, 'cy');
"#;

/// Every hand-written file, init -> migrate -> verify -> export.
#[tokio::test]
async fn any_sqlite_file_goes_through_init_migrate_verify_export() {
    let c = support::native().await;
    let dir = tempfile::tempdir().unwrap();

    let names = sqlite(dir.path(), "names", NAMES);
    let t = through(&c, dir.path(), "names", &names, Some("tenant_id")).await;
    assert!(t.rejected.is_empty(), "names: {:?}", t.rejected);
    let long: Vec<&str> = t
        .app
        .mapping
        .tables
        .iter()
        .map(|m| m.name.as_str())
        .filter(|n| n.starts_with("a table name"))
        .collect();
    assert_eq!(long.len(), 2, "both long tables are mapped: {long:?}");
    assert!(
        long.iter().all(|n| n.len() <= 63) && long[0] != long[1],
        "{long:?}"
    );
    for m in &t.app.mapping.tables {
        for col in &m.columns {
            assert!(
                col.target.len() <= 63,
                "{}.{} is over 63 bytes",
                m.name,
                col.target
            );
        }
    }

    let keys = sqlite(dir.path(), "keys", KEYS);
    let t = through(&c, dir.path(), "keys", &keys, Some("account_id")).await;
    // The folder whose parent is missing is the only reject: an orphan.
    assert_eq!(
        t.rejected,
        BTreeSet::from([("folders".to_string(), 9)]),
        "keys: {}",
        t.init_out
    );
    assert!(t.app.table("events").is_some() && t.app.table("lines").is_some());

    let types = sqlite(dir.path(), "types", TYPES);
    let t = through(&c, dir.path(), "types", &types, Some("org_id")).await;
    // 'not a number' in an INTEGER column: its row is rejected (by rule, with evidence).
    assert!(
        t.rejected.contains(&("items".to_string(), 3)),
        "types: {:?}",
        t.rejected
    );
    let qty = t.app.table("items").unwrap().col("qty").unwrap();
    assert!(
        qty.evidence.as_deref().unwrap_or("").contains('%'),
        "the rule states its evidence: {qty:?}"
    );

    let no_tenant = sqlite(dir.path(), "no_tenant", NO_TENANT);
    let t = through(&c, dir.path(), "no_tenant", &no_tenant, None).await;
    assert!(t.rejected.is_empty());
    assert!(
        t.init_out.to_lowercase().contains("tenant"),
        "init says there is no tenant column: {}",
        t.init_out
    );

    let parent = sqlite(dir.path(), "through_parent", THROUGH_PARENT);
    let t = through(
        &c,
        dir.path(),
        "through_parent",
        &parent,
        Some("company_id"),
    )
    .await;
    // One bad invoice: the invoice is the root rejection, its two lines
    // are rejected for it and name it as their cause.
    let root: Vec<_> = t.records.iter().filter(|r| r.is_root()).collect();
    assert_eq!(root.len(), 1, "{:?}", t.records);
    assert_eq!(
        (root[0].table.as_str(), root[0].legacy_key),
        ("invoices", Some(4))
    );
    let cascaded: Vec<_> = t.records.iter().filter(|r| !r.is_root()).collect();
    assert_eq!(cascaded.len(), 2, "{:?}", t.records);
    for r in cascaded {
        assert_eq!(r.table, "invoice_lines");
        let cause = r.cause.as_deref().unwrap_or_default();
        assert!(cause.starts_with("invoices 4: total"), "{r:?}");
    }
    let note = t
        .app
        .table("invoice_lines")
        .and_then(|m| m.note.clone())
        .unwrap_or_default();
    assert!(
        note.contains("invoices"),
        "the draft names the path to the tenant: {note:?}"
    );

    let unique = sqlite(dir.path(), "unique_late", UNIQUE_IN_TARGET_ONLY);
    let t = through(&c, dir.path(), "unique_late", &unique, Some("shop_id")).await;
    // The second slot is the duplicate PostgreSQL names by its COPY line;
    // its booking goes with it. (The slots' keys, which the bookings'
    // foreign keys point at, were dropped and rebuilt around the COPY
    // while bookings was empty: `round_trip` checks they are all back.)
    assert_eq!(
        t.rejected,
        BTreeSet::from([("slots".to_string(), 2), ("bookings".to_string(), 2)]),
        "unique_late: {:?}",
        t.records
    );
    let root: Vec<_> = t.records.iter().filter(|r| r.is_root()).collect();
    assert!(
        root.len() == 1 && root[0].table == "slots" && root[0].reason.contains("23505"),
        "named as a unique violation: {:?}",
        t.records
    );

    let text_key = sqlite(dir.path(), "text_key", TEXT_KEY);
    let t = through(&c, dir.path(), "text_key", &text_key, Some("account_id")).await;
    assert!(
        t.app.table("settings").is_none(),
        "a table init cannot draft is left out"
    );
    assert!(
        t.init_out.contains("settings"),
        "init names the table it refused and why: {}",
        t.init_out
    );
    c.shutdown().await.unwrap();
}

/// Every exit code of init, migrate, verify and export, through the binary.
#[tokio::test]
async fn each_exit_code_comes_from_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    // 2: usage.
    let (code, _) = run(harness_bin().args(["migrate", "--no-such-flag"]));
    assert_eq!(code, exit_codes::USAGE);
    // 4: init from a file that is not SQLite, or does not exist.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "id,name\n1,acme\n").unwrap();
    let (code, out) = run(harness_bin()
        .arg("init")
        .arg(dir.path().join("x"))
        .arg("--from")
        .arg(&notes));
    assert_eq!(code, exit_codes::BAD_INPUT, "{out}");
    let (code, out) = run(harness_bin()
        .arg("init")
        .arg(dir.path().join("y"))
        .arg("--from")
        .arg(dir.path().join("missing.db")));
    assert_eq!(code, exit_codes::BAD_INPUT, "{out}");
    // 4: an app folder that is not one (nested in the command's error).
    let db = sqlite(dir.path(), "plain", NO_TENANT);
    let (code, out) = run(harness_bin()
        .arg("migrate")
        .arg(&db)
        .arg("--app")
        .arg(dir.path())
        .args(["--url", "postgres://u@127.0.0.1:1/x"]));
    assert_eq!(code, exit_codes::BAD_INPUT, "{out}");
    assert!(out.contains("harness init"), "{out}");
    // 4: the reference app's migrate on a file that is not its own.
    let sock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    drop(sock);
    let (code, out) = run(harness_bin()
        .arg("migrate")
        .arg(&db)
        .args(["--url", &format!("postgres://postgres@127.0.0.1:{port}/x")]));
    assert_eq!(code, exit_codes::BAD_INPUT, "{out}");
    assert!(
        out.contains("harness init"),
        "the error says what to do: {out}"
    );
    // 3: the right file, a target nothing listens on.
    let app = dir.path().join("plain-app");
    let (code, out) = run(harness_bin().arg("init").arg(&app).arg("--from").arg(&db));
    assert_eq!(code, exit_codes::OK, "{out}");
    for args in [
        vec!["migrate".to_string(), db.display().to_string()],
        vec!["verify".to_string(), db.display().to_string()],
        vec![
            "export".into(),
            "-o".into(),
            dir.path().join("o.db").display().to_string(),
        ],
    ] {
        let (code, out) = run(harness_bin()
            .args(&args)
            .arg("--app")
            .arg(&app)
            .args(["--url", &format!("postgres://postgres@127.0.0.1:{port}/x")]));
        assert_eq!(code, exit_codes::SETUP_FAILED, "{args:?}: {out}");
        assert!(out.contains("cannot reach the target"), "{out}");
    }
    // 4: init into a folder that exists and is not empty, without --force.
    let (code, out) = run(harness_bin().arg("init").arg(&app).arg("--from").arg(&db));
    assert_eq!(code, exit_codes::BAD_INPUT, "{out}");
}

/// Every app folder shipped in `apps/` that can make its own data
/// (`data.toml`, or a `data.sql`) goes through migrate -> verify -> re-run -> export with its
/// own mapping, every row equal or rejected with a reason, its policies
/// pass the audit with no high or critical finding, and `prove-rls` finds
/// no counterexample.
#[tokio::test]
async fn every_shipped_app_folder_with_sample_data_goes_through_the_pipeline() {
    use harness::app::sample::{self, SampleParams};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../apps");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("data.toml").is_file() || p.join("data.sql").is_file())
        .collect();
    folders.sort();
    for app in ["journal", "tutor", "barber", "hr"] {
        assert!(
            folders.iter().any(|f| f.ends_with(app)),
            "{app} ships with its data: {folders:?}"
        );
    }
    let c = support::native().await;
    let dir = tempfile::tempdir().unwrap();
    for folder in folders {
        let name = folder.file_name().unwrap().to_string_lossy().to_string();
        let app = App::load(&folder).unwrap_or_else(|e| panic!("{name}: {e}"));
        let file = dir.path().join(format!("{name}.sqlite"));
        let counts: Vec<(String, u64)> = match &app.data_toml {
            Some(spec) => {
                // With hard values: the round trip must place each one.
                let params = harness::data::Params {
                    tenants: 6,
                    scale: 1.0,
                    seed: 7,
                    hard_rate: 0.02,
                };
                harness::data::write_sqlite(&app, spec, &params, &file, &mut |_, _| {})
                    .unwrap_or_else(|e| panic!("{name}: data.toml: {e}"))
                    .tables
                    .into_iter()
                    .map(|t| (t.table, t.rows))
                    .collect()
            }
            None => {
                let params = SampleParams {
                    scale: 1,
                    tenants: 6,
                    seed: 7,
                };
                sample::build(&app, &params, &file).unwrap()
            }
        };
        assert!(
            counts.iter().filter(|(_, n)| *n > 0).count() >= 2,
            "{name}: its data filled too little: {counts:?}"
        );
        let t = round_trip(&c, dir.path(), &name, &file, &folder, String::new()).await;
        for r in &t.records {
            assert!(!r.reason.is_empty(), "{name}: {r:?}");
        }
        audit_passes(&c, &name, &folder, "audit-rls");
        let url = c.primary().with_database(&format!("apps_{name}")).url();
        // And the policies hold when tried: the isolation property as the
        // app role, primary and replica, with the pitfall probes.
        let replica = c
            .replica()
            .expect("the test cluster has a replica")
            .with_database(&format!("apps_{name}"))
            .url();
        let reports = dir.path().join(format!("{name}-prove"));
        let (code, out) = run(harness_bin()
            .arg("prove-rls")
            .arg("--app")
            .arg(&folder)
            .args(["--url", &url, "--replica-url", &replica, "--cases", "150"])
            .arg("--reports")
            .arg(&reports));
        assert_eq!(code, exit_codes::OK, "{name}: prove-rls: {out}");
        // A short load from the folder alone (its workload.toml, its own
        // sample data in a cluster of its own), gated at 50 ms.
        if folder.join("workload.toml").is_file() {
            let reports = dir.path().join(format!("{name}-load"));
            let (code, out) = run(harness_bin()
                .args(["load", "--app"])
                .arg(&folder)
                .args(["--backend", "native", "--durability", "fast"])
                .args(["--users", "100", "--ramp", "2", "--duration", "10"])
                .args(["--think", "0.2-0.5", "--tenants", "12", "--scale", "1"])
                .args(["--pool", "10", "--p95-ms", "50", "--reports-dir"])
                .arg(&reports));
            assert_eq!(code, exit_codes::OK, "{name}: load: {out}");
            let results = super::load::results(&super::load::run_dir(&reports));
            let queries = &results.queries;
            let called = queries.iter().filter(|q| q.count > 0).count();
            assert!(
                called * 4 >= queries.len() * 3,
                "{name}: most named queries ran: {called} of {}",
                queries.len()
            );
            // The folder's speed claims were measured on real calls (held
            // or not: at this size a claim may well not hold).
            let w = scenarios::Workload::load(&folder.join("workload.toml")).unwrap();
            assert_eq!(results.claims.len(), w.claims.len(), "{name}");
            for c in &results.claims {
                assert!(
                    c.error.is_none() && c.measured.is_some(),
                    "{name}: claim {} not measured: {:?}",
                    c.name,
                    c.error
                );
            }
        }
    }
}
