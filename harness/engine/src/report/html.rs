//! `index.html` of one run: a single file with inline CSS and inline SVG,
//! no script and no URL, so it opens from a CI artifact, a mail or a laptop
//! on a train exactly as it was written.
//!
//! Order of the page is the order of questions a reader has: may this ship
//! (verdict, every gate), what failed (failed checks), the key figures, how
//! it behaved over time (charts: latency, users, throughput, errors, replica
//! lag, database metrics, capacity, then any other), the distributions, the
//! detail tables by section (load, capacity, migration, verify, rls, audit,
//! bench, baseline), every check, the attachments, and last the environment.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::model::charts;
use super::svg::{self, Line};
use super::{escape, fmt_num, Run, Series, Table, Verdict};

/// Known charts, drawn first and in this order.
const CHART_ORDER: [&str; 8] = [
    charts::LATENCY,
    charts::USERS,
    charts::THROUGHPUT,
    charts::ERRORS,
    charts::REPLICA_LAG,
    charts::DB_METRICS,
    charts::CAPACITY,
    charts::MIGRATION,
];

/// Known table sections, in page order; others follow alphabetically.
const SECTION_ORDER: [(&str, &str); 8] = [
    ("load", "Load"),
    ("capacity", "Capacity"),
    ("migration", "Migration"),
    ("verify", "Verification"),
    ("rls", "Row-level security"),
    ("audit", "RLS audit findings"),
    ("bench", "Benchmarks"),
    ("baseline", "Baseline comparison"),
];

pub const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;color:#222;background:#fff}\
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}h3{font-size:1em;margin:1.2em 0 .3em}\
table{border-collapse:collapse;margin:.4em 0 1em;font-size:.9em}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top;white-space:pre-line}th{background:#f4f4f4}\
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.fail td{background:#fde8e8}tr.pass td.res{color:#176b2c}\
.verdict{display:inline-block;padding:4px 14px;border-radius:4px;font-weight:bold;color:#fff;font-size:1.3em;letter-spacing:.05em}\
.v-pass{background:#1a7f37}.v-fail{background:#c62828}.v-invalid{background:#8a6d00}\
.meta{color:#555;font-size:.9em}.note{background:#fff8e1;border-left:4px solid #e6b800;padding:6px 10px;margin:6px 0}\
svg.chart{width:100%;height:auto;max-width:900px;border:1px solid #eee;background:#fff}\
svg text.tick{font-size:11px;fill:#444}svg text.axis{font-size:12px;fill:#222}svg text.legend{font-size:11px;fill:#222}\
details{margin:.4em 0}summary{cursor:pointer}code{background:#f4f4f4;padding:0 3px}";

pub fn render(run: &Run) -> String {
    let mut o = String::new();
    let title = format!(
        "harness {} {}",
        run.kind.as_str(),
        run.started.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>\n",
        escape(&title)
    );
    header(&mut o, run);
    gates(&mut o, run);
    failed_checks(&mut o, run);
    figures(&mut o, run);
    charts_section(&mut o, run);
    distributions(&mut o, run);
    tables(&mut o, run);
    all_checks(&mut o, run);
    attachments(&mut o, run);
    environment(&mut o, run);
    o.push_str("</body></html>\n");
    o
}

fn header(o: &mut String, run: &Run) {
    let (class, word) = match run.verdict {
        Verdict::Pass => ("v-pass", "PASS"),
        Verdict::Fail => ("v-fail", "FAIL"),
        Verdict::Invalid => ("v-invalid", "INVALID"),
    };
    let _ = writeln!(
        o,
        "<h1>harness {} <span class=\"verdict {class}\">{word}</span></h1><p>{}</p>",
        escape(run.kind.as_str()),
        escape(&run.title)
    );
    let failed_gates = run.gates.iter().filter(|g| !g.passed).count();
    let failed_checks = run.checks.iter().filter(|c| !c.passed).count();
    let _ = writeln!(
        o,
        "<p class=\"meta\">Started {} UTC, finished {} UTC ({:.1} s). Gates: {} passed, {failed_gates} failed. Checks: {} passed, {failed_checks} failed.{}</p>",
        run.started.format("%Y-%m-%d %H:%M:%S"),
        run.finished.format("%Y-%m-%d %H:%M:%S"),
        run.duration_seconds(),
        run.gates.len() - failed_gates,
        run.checks.len() - failed_checks,
        run.command
            .as_deref()
            .map(|c| format!(" Command: <code>{}</code>", escape(c)))
            .unwrap_or_default()
    );
    if let Some(r) = &run.invalid_reason {
        let _ = writeln!(
            o,
            "<div class=\"note\"><b>Invalid run:</b> {}</div>",
            escape(r)
        );
    }
    for n in &run.notes {
        let _ = writeln!(o, "<div class=\"note\">{}</div>", escape(n));
    }
}

fn gates(o: &mut String, run: &Run) {
    if run.gates.is_empty() {
        return;
    }
    o.push_str("<h2>Gates</h2><table><tr><th>gate</th><th>observed</th><th></th><th>threshold</th><th>result</th><th>detail</th></tr>\n");
    for g in &run.gates {
        let _ = writeln!(
            o,
            "<tr class=\"{}\"><td>{}</td><td class=\"num\">{} {}</td><td>{}</td><td class=\"num\">{} {}</td><td class=\"res\">{}</td><td>{}</td></tr>",
            if g.passed { "pass" } else { "fail" },
            escape(&g.name),
            fmt_num(g.observed),
            escape(&g.unit),
            escape(g.comparison.symbol()),
            fmt_num(g.threshold),
            escape(&g.unit),
            if g.passed { "pass" } else { "<b>FAIL</b>" },
            escape(g.detail.as_deref().unwrap_or(""))
        );
    }
    o.push_str("</table>\n");
}

fn failed_checks(o: &mut String, run: &Run) {
    let failed: Vec<_> = run.checks.iter().filter(|c| !c.passed).collect();
    if failed.is_empty() {
        return;
    }
    o.push_str(
        "<h2>Failed checks</h2><table><tr><th>group</th><th>check</th><th>detail</th></tr>\n",
    );
    for c in failed {
        let _ = writeln!(
            o,
            "<tr class=\"fail\"><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(c.group.as_deref().unwrap_or("")),
            escape(&c.name),
            escape(&c.detail)
        );
    }
    o.push_str("</table>\n");
}

fn figures(o: &mut String, run: &Run) {
    if run.figures.is_empty() {
        return;
    }
    o.push_str("<h2>Figures</h2><table><tr><th>figure</th><th>group</th><th>value</th><th>noise (1 sd)</th><th>better</th></tr>\n");
    let mut sorted: Vec<_> = run.figures.iter().collect();
    // Key figures first, then by name: the reader looks for those first.
    sorted.sort_by(|a, b| b.key.cmp(&a.key).then_with(|| a.name.cmp(&b.name)));
    for f in sorted {
        let _ = writeln!(
            o,
            "<tr><td>{}{}</td><td>{}</td><td class=\"num\">{} {}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            if f.key { "<b>" } else { "" }.to_string() + &escape(&f.name),
            if f.key { "</b>" } else { "" },
            escape(f.group.as_deref().unwrap_or("")),
            fmt_num(f.value),
            escape(&f.unit),
            f.noise.map(fmt_num).unwrap_or_default(),
            match f.better {
                super::Better::Lower => "lower",
                super::Better::Higher => "higher",
                super::Better::Neither => "",
            }
        );
    }
    o.push_str("</table>\n");
}

/// Series grouped into charts by (chart, group, unit): one set of axes per
/// unit, so milliseconds and connections never share a y axis.
fn charts_section(o: &mut String, run: &Run) {
    if run.series.is_empty() {
        return;
    }
    let mut groups: BTreeMap<(usize, String, String, String), Vec<&Series>> = BTreeMap::new();
    for s in &run.series {
        let rank = CHART_ORDER
            .iter()
            .position(|c| *c == s.chart)
            .unwrap_or(CHART_ORDER.len());
        groups
            .entry((
                rank,
                s.chart.clone(),
                s.group.clone().unwrap_or_default(),
                s.unit.clone(),
            ))
            .or_default()
            .push(s);
    }
    // A chart split by unit says which unit each part shows, so no two
    // headings are the same.
    let mut units: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (_, chart, group, _) in groups.keys() {
        *units.entry((chart.clone(), group.clone())).or_default() += 1;
    }
    o.push_str("<h2>Charts</h2>\n");
    for ((_, chart, group, unit), series) in groups {
        let mut heading = if group.is_empty() {
            chart.clone()
        } else {
            format!("{chart}: {group}")
        };
        if units[&(chart.clone(), group.clone())] > 1 {
            heading = format!("{heading} ({unit})");
        }
        let _ = writeln!(o, "<h3>{}</h3>", escape(&heading));
        let lines: Vec<Line<'_>> = series
            .iter()
            .map(|s| Line {
                label: s.name.clone(),
                points: &s.points,
            })
            .collect();
        let x_label = match series[0].x_unit.as_str() {
            "s" => "seconds since start".to_string(),
            other => other.to_string(),
        };
        o.push_str(&svg::line_chart(&lines, &x_label, &unit));
        o.push('\n');
    }
}

fn distributions(o: &mut String, run: &Run) {
    for d in &run.distributions {
        let total: u64 = d.buckets.iter().map(|b| b.count).sum();
        let _ = writeln!(o, "<h3>{} ({} samples)</h3>", escape(&d.name), total);
        o.push_str(&svg::histogram(&d.buckets, &d.unit));
        o.push('\n');
    }
}

fn tables(o: &mut String, run: &Run) {
    let mut by_section: BTreeMap<(usize, String), Vec<&Table>> = BTreeMap::new();
    for t in &run.tables {
        let key = t.section.clone().unwrap_or_else(|| "other".into());
        let rank = SECTION_ORDER
            .iter()
            .position(|(k, _)| *k == key)
            .unwrap_or(SECTION_ORDER.len());
        by_section.entry((rank, key)).or_default().push(t);
    }
    for ((_, key), list) in by_section {
        let title = SECTION_ORDER
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, t)| t.to_string())
            .unwrap_or_else(|| key.clone());
        let _ = writeln!(o, "<h2>{}</h2>", escape(&title));
        for t in list {
            table(o, t);
        }
    }
}

/// A table; numeric-looking cells right-aligned.
pub fn table(o: &mut String, t: &Table) {
    let _ = writeln!(o, "<h3>{}</h3><table><tr>", escape(&t.title));
    for c in &t.columns {
        let _ = write!(o, "<th>{}</th>", escape(c));
    }
    o.push_str("</tr>\n");
    for r in &t.rows {
        let bad = r
            .iter()
            .any(|c| matches!(c.as_str(), "FAIL" | "fail" | "REGRESSION" | "false"));
        o.push_str(if bad { "<tr class=\"fail\">" } else { "<tr>" });
        for c in r {
            let _ = write!(
                o,
                "<td{}>{}</td>",
                if looks_numeric(c) {
                    " class=\"num\""
                } else {
                    ""
                },
                escape(c)
            );
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
}

fn looks_numeric(s: &str) -> bool {
    let t = s.trim().trim_end_matches('%').trim();
    let first = t.split_whitespace().next().unwrap_or("");
    !first.is_empty()
        && first
            .trim_start_matches(['+', '-'])
            .replace([',', '.'], "")
            .chars()
            .all(|c| c.is_ascii_digit())
}

fn all_checks(o: &mut String, run: &Run) {
    if run.checks.is_empty() {
        return;
    }
    let mut groups: BTreeMap<String, Vec<&super::Check>> = BTreeMap::new();
    for c in &run.checks {
        groups
            .entry(c.group.clone().unwrap_or_else(|| "checks".into()))
            .or_default()
            .push(c);
    }
    o.push_str("<h2>All checks</h2>\n");
    for (g, list) in groups {
        let failed = list.iter().filter(|c| !c.passed).count();
        let _ = writeln!(
            o,
            "<details{}><summary><b>{}</b>: {} passed, {failed} failed</summary><table><tr><th>check</th><th>result</th><th>detail</th></tr>",
            if failed > 0 { " open" } else { "" },
            escape(&g),
            list.len() - failed
        );
        for c in list {
            let _ = writeln!(
                o,
                "<tr class=\"{}\"><td>{}</td><td class=\"res\">{}</td><td>{}</td></tr>",
                if c.passed { "pass" } else { "fail" },
                escape(&c.name),
                if c.passed { "pass" } else { "<b>FAIL</b>" },
                escape(&c.detail)
            );
        }
        o.push_str("</table></details>\n");
    }
}

/// Whether a path may be linked: relative, inside the run folder, no scheme.
pub fn is_local_relative(path: &str) -> bool {
    !(path.is_empty()
        || path.starts_with('/')
        || path.starts_with('\\')
        || path.contains("://")
        || path.contains(':')
        || path.split(['/', '\\']).any(|p| p == ".."))
}

fn attachments(o: &mut String, run: &Run) {
    if run.attachments.is_empty() {
        return;
    }
    o.push_str("<h2>Attachments</h2><ul>\n");
    for a in &run.attachments {
        if is_local_relative(&a.path) {
            let _ = writeln!(
                o,
                "<li><a href=\"{}\">{}</a> (<code>{}</code>)</li>",
                escape(&a.path),
                escape(&a.label),
                escape(&a.path)
            );
        } else {
            // Neither linked nor printed: the page must not point outside
            // its folder, and a URL in the text is one click from a fetch.
            let _ = writeln!(
                o,
                "<li>{} (not kept in the run folder, so not linked)</li>",
                escape(&a.label)
            );
        }
    }
    o.push_str("</ul>\n");
}

fn environment(o: &mut String, run: &Run) {
    let e = &run.environment;
    let mut t = Table::new("Where it ran", ["what", "value"]);
    t.row(["backend", e.backend.as_str()]);
    t.row(["PostgreSQL", e.postgres_version.as_str()]);
    t.row(["durability", e.durability.as_str()]);
    if let Some(d) = &e.data {
        t.row(["data seed".to_string(), d.seed.to_string()]);
        t.row(["data scale", d.scale.as_str()]);
        for (table, n) in &d.rows {
            t.row([format!("rows: {table}"), n.to_string()]);
        }
    } else {
        t.row(["data", "-"]);
    }
    t.row(["cores".to_string(), e.machine.cores.to_string()]);
    t.row([
        "memory".to_string(),
        format!(
            "{:.1} GiB",
            e.machine.memory_bytes as f64 / (1u64 << 30) as f64
        ),
    ]);
    t.row(["OS", e.machine.os.as_str()]);
    t.row(["kernel", e.machine.kernel.as_str()]);
    t.row(["host", e.machine.hostname.as_str()]);
    t.row(["harness", e.harness_version.as_str()]);
    t.row(["git commit", e.git_commit.as_deref().unwrap_or("-")]);
    o.push_str("<h2>Environment</h2>\n");
    table(o, &t);
    if !e.settings.is_empty() {
        let mut s = Table::new("Server settings", ["setting", "value"]);
        for (k, v) in &e.settings {
            s.row([k, v]);
        }
        table(o, &s);
    }
}
