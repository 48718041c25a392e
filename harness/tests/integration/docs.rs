//! The docs and comments explain things in the project's own words: no
//! file of the repository (sources, docs, SQL, config, scripts) sends its
//! reader to a document outside the repository. What a reader needs is in
//! README.md and docs/ (docs/rls.md numbers the RLS pitfalls, docs/migrate.md
//! states the conversion rules and the hard values).

use std::path::{Path, PathBuf};

/// What must not appear: paths and names of documents that live outside the
/// repository. Built with `concat!` so this file does not match itself.
const OUTSIDE: &[&str] = &[
    concat!("..", "/shared"),
    concat!("shared", "/seeds"),
    concat!("RLS", ".md"),
    concat!("MIGRATION", ".md"),
    concat!("APPS", ".md"),
    concat!("ANCHORS", ".md"),
    concat!("STYLE", ".md"),
];

/// Extensions of the text files the scan reads (plus files named `justfile`).
const EXTENSIONS: &[&str] = &["rs", "md", "sql", "toml", "sh"];

/// Directories never scanned, wherever they are: build output and git's own.
const SKIP_DIRS: &[&str] = &["target", ".git"];

/// The repository root (the workspace above this crate).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// Every text file of the repository the rule applies to. `reports/` holds
/// one folder per run (output, not source): only its own files are read.
fn scanned_files(root: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let kind = e.file_type().unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if kind.is_dir() {
                if SKIP_DIRS.contains(&name.as_str()) {
                    continue;
                }
                // Run folders under reports/ are generated output.
                if dir == root.join("reports") {
                    continue;
                }
                walk(root, &p, out);
            } else if kind.is_file() {
                let by_ext = p
                    .extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| EXTENSIONS.contains(&x));
                if by_ext || name == "justfile" {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

/// `file:line: text` for every line of `text` that names an outside document.
fn outside_references(text: &str, file: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| OUTSIDE.iter().any(|p| line.contains(p)))
        .map(|(n, line)| format!("{file}:{}: {}", n + 1, line.trim()))
        .collect()
}

#[test]
fn nothing_points_outside_the_repository() {
    let root = repo_root();
    let files = scanned_files(&root);
    // The scan must reach the files the rule is about, or it proves nothing.
    for must in ["README.md", "docs/rls.md", "docs/migrate.md", "justfile"] {
        assert!(
            files
                .iter()
                .any(|f| f.strip_prefix(&root).is_ok_and(|r| r == Path::new(must))),
            "the scan did not reach {must}"
        );
    }
    assert!(
        files.len() > 50,
        "the scan found only {} files",
        files.len()
    );
    let mut hits = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("reading {}: {e}", f.display()));
        let text = String::from_utf8_lossy(&bytes);
        let rel = f.strip_prefix(&root).unwrap_or(f).display().to_string();
        hits.extend(outside_references(&text, &rel));
    }
    assert!(
        hits.is_empty(),
        "{} line(s) send the reader to a document outside the repository; say it in the \
         project's own words (or point at README.md / docs/) instead:\n{}",
        hits.len(),
        hits.join("\n")
    );
}

/// The matcher flags each outside name wherever it sits on a line, and
/// leaves the repository's own docs (docs/rls.md, docs/migrate.md) alone.
#[test]
fn the_matcher_flags_an_outside_reference() {
    let sample = format!(
        "//! fine: see docs/rls.md, pitfall 4, and docs/migrate.md\n\
         /// bad: {} item 4\n\
         -- fine\n\
         # bad: {}/000.txt and {}\n",
        OUTSIDE[2], OUTSIDE[1], OUTSIDE[3]
    );
    let found = outside_references(&sample, "sample.rs");
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].starts_with("sample.rs:2: "), "{found:#?}");
    assert!(found[1].starts_with("sample.rs:4: "), "{found:#?}");
    for p in OUTSIDE {
        assert_eq!(
            outside_references(&format!("see {p} here"), "x.md").len(),
            1,
            "{p} not flagged"
        );
    }
}
