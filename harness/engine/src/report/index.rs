//! `reports/index.html`: every run under the reports root, newest first,
//! and the trend of each key figure across runs.
//!
//! Rebuilt from the run folders' `summary.json` files every time a run is
//! written (and by `harness report index`), never updated in place: the
//! folders are the truth, so deleting a folder or copying one in from CI
//! is all it takes. Trends are drawn per (run kind, figure, group) over
//! runs in time order, since only runs of one kind measure the same thing.
//! A folder whose summary cannot be read is listed with the reason rather
//! than silently dropped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use super::html::CSS;
use super::svg::{self, Line};
use super::{escape, fmt_num, read_run, Point, ReportError, Run, Verdict};

/// Run folders whose summary could not be read: (folder name, why).
pub type Unreadable = Vec<(String, String)>;

/// Read every run folder under `root`: runs oldest first, and the
/// unreadable folders with the reason.
pub fn scan(root: &Path) -> Result<(Vec<Run>, Unreadable), ReportError> {
    let mut runs = Vec::new();
    let mut bad = Vec::new();
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((runs, bad)),
        Err(source) => {
            return Err(ReportError::Read {
                path: root.to_path_buf(),
                source,
            })
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.join("summary.json").is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        match read_run(&path) {
            Ok(mut r) => {
                r.folder = Some(name);
                runs.push(r);
            }
            Err(e) => bad.push((name, e.to_string())),
        }
    }
    runs.sort_by(|a, b| {
        a.started
            .cmp(&b.started)
            .then_with(|| a.folder.cmp(&b.folder))
    });
    bad.sort();
    Ok((runs, bad))
}

/// Rebuild `root/index.html`.
pub fn refresh(root: &Path) -> Result<(), ReportError> {
    let (runs, bad) = scan(root)?;
    super::write_file(&root.join("index.html"), &render(&runs, &bad))
}

pub fn render(runs: &[Run], bad: &[(String, String)]) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>harness runs</title><style>{CSS}</style></head><body>\n<h1>harness runs</h1><p class=\"meta\">{} runs. Trends are per kind of run, oldest left.</p>\n",
        runs.len()
    );
    o.push_str("<h2>Runs</h2><table><tr><th>started (UTC)</th><th>kind</th><th>verdict</th><th>title</th><th>gates failed</th><th>checks failed</th><th>environment</th></tr>\n");
    for r in runs.iter().rev() {
        let folder = r.folder.clone().unwrap_or_default();
        let e = &r.environment;
        let _ = writeln!(
            o,
            "<tr class=\"{}\"><td><a href=\"{}/index.html\">{}</a></td><td>{}</td><td><span class=\"verdict v-{}\" style=\"font-size:.8em\">{}</span></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            if r.verdict == Verdict::Pass { "pass" } else { "fail" },
            escape(&folder),
            r.started.format("%Y-%m-%d %H:%M:%S"),
            escape(r.kind.as_str()),
            r.verdict.as_str(),
            r.verdict.as_str().to_uppercase(),
            escape(&r.title),
            r.gates.iter().filter(|g| !g.passed).count(),
            r.checks.iter().filter(|c| !c.passed).count(),
            escape(&format!(
                "{} pg {} {}{}",
                e.backend,
                e.postgres_version,
                e.durability,
                e.data.as_ref().map(|d| format!(", seed {} {}", d.seed, d.scale)).unwrap_or_default()
            ))
        );
    }
    o.push_str("</table>\n");
    if !bad.is_empty() {
        o.push_str("<h2>Unreadable run folders</h2><ul>\n");
        for (name, why) in bad {
            let _ = writeln!(o, "<li><code>{}</code>: {}</li>", escape(name), escape(why));
        }
        o.push_str("</ul>\n");
    }
    trends(&mut o, runs);
    o.push_str("</body></html>\n");
    o
}

/// One chart per (kind, figure name, unit); groups become lines.
fn trends(o: &mut String, runs: &[Run]) {
    type Key = (String, String, String);
    let mut charts: BTreeMap<Key, BTreeMap<String, Vec<Point>>> = BTreeMap::new();
    let mut ordinal: BTreeMap<&str, usize> = BTreeMap::new();
    for r in runs {
        let n = ordinal.entry(r.kind.as_str()).or_insert(0);
        *n += 1;
        for f in r.figures.iter().filter(|f| f.key && f.value.is_finite()) {
            charts
                .entry((r.kind.as_str().to_string(), f.name.clone(), f.unit.clone()))
                .or_default()
                .entry(f.group.clone().unwrap_or_else(|| f.name.clone()))
                .or_default()
                .push(Point {
                    x: *n as f64,
                    value: f.value,
                });
        }
    }
    if charts.is_empty() {
        return;
    }
    o.push_str("<h2>Trends of key figures</h2>\n");
    let mut last_kind = String::new();
    for ((kind, name, unit), lines) in &charts {
        if *kind != last_kind {
            let _ = writeln!(o, "<h3>{} runs</h3>", escape(kind));
            last_kind = kind.clone();
        }
        let latest: Vec<String> = lines
            .iter()
            .filter_map(|(g, p)| {
                p.last()
                    .map(|p| format!("{g}: {} {unit}", fmt_num(p.value)))
            })
            .collect();
        let _ = writeln!(
            o,
            "<p><b>{}</b> (latest: {})</p>",
            escape(name),
            escape(&latest.join(", "))
        );
        let drawn: Vec<Line<'_>> = lines
            .iter()
            .map(|(g, p)| Line {
                label: g.clone(),
                points: p,
            })
            .collect();
        o.push_str(&svg::line_chart(
            &drawn,
            &format!("{kind} run number (oldest = 1)"),
            unit,
        ));
        o.push('\n');
    }
}
