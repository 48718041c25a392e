//! The engine holds no app: the sources of cluster, migrate (verify and
//! export with it), the RLS audit, report, the app-folder loader and their
//! commands name no table, column, role, setting, index, policy or database
//! that the reference app's folder defines. Everything app-specific reaches
//! them through an app folder. Unit tests (`tests.rs`, `#[cfg(test)]`
//! modules) are test data, not the engine, and are not scanned.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use harness::app::App;

/// Names of the reference app that are also ordinary words (English, SQL
/// catalog or load vocabulary) the engine uses in their ordinary sense. A
/// name listed here is still an app name: a use of it that names the app's
/// object would go unnoticed, so the list stays short and each entry is a
/// word, never an app-coined identifier.
const ORDINARY_WORDS: &[&str] = &[
    "id",
    "name",
    "role",
    "plan",
    "status",
    "message",
    "settings",
    "address",
    "description",
    "images",
    "documents",
    "notes",
    "subject",
    "action",
    "email",
    "phone",
    "location",
    "company",
    // load users, "for users"
    "users",
    // information_schema's own column name; the bookkeeping schema uses it
    "table_name",
    // the point rule's two legacy columns, named in its documentation
    "latitude",
    "longitude",
    "coordinates",
    "created_at",
    "updated_at",
    // kinds of value data.toml and init's draft name, as the fake crate's
    // fakers are named (what a value looks like, not anyone's column)
    "first_name",
    "last_name",
    "user_agent",
];

/// Every identifier the folder defines: app.toml's names, the mapping's
/// tables and columns (both sides), and the objects its migrations create.
fn folder_identifiers(app: &App) -> BTreeSet<String> {
    let t = &app.toml;
    let mut ids: BTreeSet<String> = [
        t.database.clone(),
        t.tenant.column.clone(),
        t.tenant.setting.clone(),
        t.roles.owner.clone(),
        t.roles.app.clone(),
    ]
    .into_iter()
    .chain(t.tenant.root_table.clone())
    .chain(t.roles.reader.clone())
    .collect();
    for table in &app.mapping.tables {
        ids.insert(table.name.clone());
        ids.insert(table.legacy_name().to_string());
        for c in &table.columns {
            ids.insert(c.target.clone());
            ids.extend(c.legacy.iter().cloned());
        }
    }
    for entry in std::fs::read_dir(app.migrations_dir()).unwrap() {
        let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        ids.extend(created_objects(&sql));
    }
    ids
}

/// Names after `create [unique] table|index|policy|function|trigger|view|role`.
fn created_objects(sql: &str) -> Vec<String> {
    let words: Vec<String> = sql
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let kinds = [
        "table", "index", "policy", "function", "trigger", "view", "role",
    ];
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if w != "create" {
            continue;
        }
        let mut j = i + 1;
        while j < words.len() && matches!(words[j].as_str(), "unique" | "or" | "replace") {
            j += 1;
        }
        if j + 1 < words.len() && kinds.contains(&words[j].as_str()) {
            let mut k = j + 1;
            while k < words.len() && matches!(words[k].as_str(), "if" | "not" | "exists") {
                k += 1;
            }
            // `%I` placeholders of format() leave one-letter words behind.
            if let Some(name) = words.get(k).filter(|n| n.len() > 1) {
                out.push(name.trim_start_matches("public.").to_string());
            }
        }
    }
    out
}

/// (token, file:line) for every token of `text` that is a forbidden name.
fn offending(text: &str, file: &str, forbidden: &BTreeSet<String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for tok in line.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')) {
            let tok = tok.trim_matches('.');
            if forbidden.contains(tok) {
                out.push((tok.to_string(), format!("{file}:{}", n + 1)));
            }
        }
    }
    out
}

/// The engine's source files.
fn engine_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    // The engine crate, whole, and the commands over it.
    walk(&root.join("engine/src"), &mut files);
    for f in [
        "cli/migrate.rs",
        "cli/rls.rs",
        "cli/init.rs",
        "cli/prove.rs",
    ] {
        if src.join(f).is_file() {
            files.push(src.join(f));
        }
    }
    files.sort();
    files
}

#[test]
fn the_engine_names_nothing_the_reference_app_defines() {
    let app = harness::reference::app(None).unwrap();
    let forbidden: BTreeSet<String> = folder_identifiers(&app)
        .into_iter()
        .filter(|n| !ORDINARY_WORDS.contains(&n.as_str()))
        .collect();
    // The folder's own coined names must be in the set, or the test proves nothing.
    for must in [
        &app.toml.tenant.column,
        &app.toml.roles.owner,
        &app.toml.tenant.setting,
        &app.toml.database,
    ] {
        assert!(forbidden.contains(must), "{must} missing from the scan");
    }
    let files = engine_sources();
    assert!(
        files.len() > 20,
        "the scan found only {} files",
        files.len()
    );
    let mut hits: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &files {
        // Unit tests may name anything as test data; the engine is the rest.
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let text = match text.find("#[cfg(test)]") {
            Some(at) => &text[..at],
            None => &text[..],
        };
        let rel = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(f);
        for (tok, at) in offending(text, &rel.display().to_string(), &forbidden) {
            hits.entry(tok).or_default().push(at);
        }
    }
    assert!(
        hits.is_empty(),
        "the engine names the reference app's objects (they belong in apps/portal):\n{hits:#?}"
    );
}

/// The scan catches what it is for: the tenant column in a string, a role
/// in a comment, a qualified setting; and not a longer identifier that
/// merely contains a name.
#[test]
fn the_scan_flags_an_app_name_wherever_it_appears() {
    let app = harness::reference::app(None).unwrap();
    let forbidden = folder_identifiers(&app);
    let col = &app.toml.tenant.column;
    let snippet = format!(
        "let q = \"select {col} from t\";\n// runs as {}\nlet s = \"{}\";\nlet other_{col}x = 1;\n",
        app.toml.roles.owner, app.toml.tenant.setting
    );
    let found: Vec<String> = offending(&snippet, "snippet.rs", &forbidden)
        .into_iter()
        .map(|(t, at)| format!("{t}@{at}"))
        .collect();
    assert_eq!(
        found,
        [
            format!("{col}@snippet.rs:1"),
            format!("{}@snippet.rs:2", app.toml.roles.owner),
            format!("{}@snippet.rs:3", app.toml.tenant.setting),
        ]
    );
    assert!(
        created_objects("create unique index if not exists idx_x on t (a);")
            .contains(&"idx_x".to_string())
    );
}

/// The crate graph says the same: the engine crate depends on no app crate
/// (the reference app's generator and journeys, or the CLI over them).
#[test]
fn the_engine_crate_depends_on_no_app_crate() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("engine/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let toml: toml::Table = text.parse().unwrap();
    let mut deps: Vec<String> = Vec::new();
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(t) = toml.get(section).and_then(|v| v.as_table()) {
            deps.extend(t.keys().cloned());
        }
    }
    assert!(deps.len() > 10, "read {deps:?}");
    for app_crate in ["fixtures", "scenarios", "harness", "benches", "goose"] {
        assert!(
            !deps.iter().any(|d| d == app_crate),
            "harness/engine depends on {app_crate}"
        );
    }
}
