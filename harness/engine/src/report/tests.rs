//! Tests of the report formats: the HTML stays offline, summary.json obeys
//! the committed schema, junit.xml parses with one case per gate and check,
//! and the baseline comparison flags an injected regression but not a rerun.

use std::path::Path;

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

type JsonEdit = Box<dyn Fn(&mut serde_json::Value)>;
type RunEdit = Box<dyn Fn(&mut Run)>;

/// A load-like run with every field and every optional field filled, so
/// the schema test covers the whole model.
pub(crate) fn sample_run() -> Run {
    let mut run = Run::new(RunKind::Load, "load: 200 users, 60 s, mixed journeys");
    run.started = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    run.finished = run.started + Duration::seconds(60);
    run.command = Some("harness load --users 200".into());
    run.environment.backend = "native".into();
    run.environment.postgres_version = "15.14".into();
    run.environment.durability = "realistic".into();
    run.environment
        .settings
        .insert("shared_buffers".into(), "256MB".into());
    run.environment.git_commit = Some("0123abcd".into());
    run.environment.data(DataSpec {
        seed: 42,
        scale: "small".into(),
        rows: [
            ("accounts".to_string(), 50u64),
            ("invoices".to_string(), 20_000),
        ]
        .into(),
    });
    run.gate(
        Gate::new("p95 latency", 84.0, Comparison::AtMost, 100.0, "ms").with_detail("all journeys"),
    );
    run.gate(Gate::new("error rate", 0.2, Comparison::AtMost, 1.0, "%"));
    run.gate(Gate::new(
        "replica lag p99",
        2.5,
        Comparison::AtMost,
        1.0,
        "s",
    ));
    run.check(Check::new("tenant A cannot read tenant B", true, "0 rows").in_group("rls"));
    run.check(
        Check::new(
            "insert with a foreign tenant id is refused",
            false,
            "row was inserted\nsecond line",
        )
        .in_group("rls"),
    );
    run.check(Check::new("row counts equal", true, "7 tables"));
    run.figure(
        Figure::new("p95", 84.0, "ms")
            .lower_is_better()
            .with_noise(2.0)
            .key(),
    );
    run.figure(
        Figure::new("throughput", 1500.0, "req/s")
            .higher_is_better()
            .key(),
    );
    run.figure(
        Figure::new("p95", 12.0, "ms")
            .lower_is_better()
            .in_group("list_projects"),
    );
    run.figure(Figure::new("rows", 20_000.0, "rows"));
    for (name, base) in [("p50", 20.0), ("p95", 80.0), ("p99", 150.0)] {
        run.series(
            Series::new(charts::LATENCY, name, "ms")
                .with_points((0..60).map(|t| (t as f64, base + (t % 7) as f64))),
        );
    }
    run.series(
        Series::new(charts::USERS, "users", "users")
            .with_points((0..60).map(|t| (t as f64, (t * 4).min(200) as f64))),
    );
    run.series(
        Series::new(charts::THROUGHPUT, "requests", "req/s")
            .with_points((0..60).map(|t| (t as f64, 1400.0 + t as f64))),
    );
    run.series(
        Series::new(charts::REPLICA_LAG, "lag", "s")
            .with_points((0..60).map(|t| (t as f64, t as f64 / 64.0))),
    );
    run.series(
        Series::new(charts::DB_METRICS, "connections", "connections")
            .with_points([(0.0, 5.0), (30.0, 120.0)]),
    );
    run.series(
        Series::new(charts::DB_METRICS, "cache hit", "%").with_points([(0.0, 99.0), (30.0, 98.5)]),
    );
    run.series(
        Series::new(charts::CAPACITY, "p95", "ms")
            .x_unit("users")
            .in_group("mixed")
            .with_points([(100.0, 20.0), (200.0, 35.0), (400.0, 120.0)]),
    );
    run.distribution(Distribution {
        name: "Response-time distribution".into(),
        unit: "ms".into(),
        buckets: [(1.0, 10), (5.0, 400), (10.0, 900), (50.0, 300), (100.0, 20)]
            .into_iter()
            .map(|(upper, count)| Bucket { upper, count })
            .collect(),
    });
    let mut t =
        Table::new("Per-query percentiles", ["query", "p50 ms", "p95 ms"]).in_section("load");
    t.row(["list_projects", "3.1", "9.8"])
        .row(["search_invoices", "4.0", "12.5"]);
    run.table(t);
    run.attach(Attachment::new("goose's own report", "goose/report.html"));
    run.attach(Attachment::new(
        "outside, never linked",
        "https://example.com/x",
    ));
    run.note("replica lag gate is strict on purpose");
    run.invalidate("the load generator used 99% CPU");
    run.folder = Some("20261123T120000Z-load".into());
    run.verdict = run.derived_verdict();
    run
}

#[test]
fn verdict_follows_gates_checks_and_validity() {
    let mut run = Run::new(RunKind::Verify, "t");
    run.finish();
    assert_eq!(run.verdict, Verdict::Pass);
    run.check(Check::new("a", false, ""));
    run.finish();
    assert_eq!(run.verdict, Verdict::Fail);
    run.invalidate("generator saturated");
    assert_eq!(run.verdict, Verdict::Invalid);
    assert!(!Gate::new("nan fails", f64::NAN, Comparison::AtMost, 1.0, "ms").passed);
}

/// Every attribute or text that could make a browser fetch something.
fn external_references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = html.to_ascii_lowercase();
    for needle in [
        "http://",
        "https://",
        "ftp://",
        "data:",
        "javascript:",
        "@import",
        "url(",
        "<script",
        "<link",
        "<iframe",
        "<img",
    ] {
        if lower.contains(needle) {
            found.push(needle.to_string());
        }
    }
    for attr in ["src=\"", "href=\"", "xlink:href=\"", "action=\""] {
        for (i, _) in lower.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let value = &rest[..rest.find('"').unwrap_or(rest.len())];
            if attr == "src=\"" || !html::is_local_relative(value) {
                found.push(format!("{attr}{value}"));
            }
        }
    }
    found
}

#[test]
fn html_is_self_contained() {
    let run = sample_run();
    let page = html::render(&run);
    assert_eq!(external_references(&page), Vec::<String>::new());
    // The scan itself can fail: a page with a CDN script is caught.
    assert!(!external_references("<script src=\"https://cdn.example/x.js\"></script>").is_empty());
    assert!(!external_references("<a href=\"//cdn.example/x\">x</a>").is_empty());
    assert!(!external_references("<a href=\"../../etc/passwd\">x</a>").is_empty());
    // The attachment inside the folder is linked, the URL is not.
    assert!(page.contains("href=\"goose/report.html\""));
    assert!(page.contains("outside, never linked (not kept in the run folder"));
}

#[test]
fn html_draws_every_chart_and_puts_verdict_and_gates_first() {
    let run = sample_run();
    let page = html::render(&run);
    // One chart per (chart, group, unit), one polyline per series, one
    // histogram.
    let charts = page.matches("<svg class=\"chart\"").count();
    assert_eq!(charts, 7 + 1, "6 time charts + capacity + the histogram");
    // A chart split by unit names the unit: no two headings are the same.
    let headings: Vec<&str> = page
        .split("<h3>")
        .skip(1)
        .map(|h| h.split("</h3>").next().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<&&str> = headings.iter().collect();
    assert_eq!(unique.len(), headings.len(), "{headings:?}");
    assert_eq!(page.matches("<polyline").count(), run.series.len());
    assert!(page.matches("<rect x=").count() >= 5);
    let first_chart = page.find("<svg").unwrap();
    assert!(page.find("INVALID").unwrap() < first_chart);
    for g in &run.gates {
        let at = page.find(&escape(&g.name)).unwrap_or(usize::MAX);
        assert!(at < first_chart, "gate {} is above the charts", g.name);
    }
    for needle in [
        "Per-query percentiles",
        "15.14",
        "realistic",
        "shared_buffers",
        "seed",
        "Response-time distribution",
    ] {
        assert!(page.contains(needle), "{needle} is on the page");
    }
}

#[test]
fn summary_json_validates_against_the_committed_schema() {
    let run = sample_run();
    let json = serde_json::to_string_pretty(&run).unwrap();
    assert_eq!(schema::validate_summary(&json), Vec::<String>::new());
    // A minimal run (every optional field absent) validates too.
    let mut bare = Run::new(RunKind::Seed, "bare");
    bare.environment.git_commit = None;
    bare.command = None;
    bare.finish();
    assert_eq!(
        schema::validate_summary(&serde_json::to_string(&bare).unwrap()),
        Vec::<String>::new()
    );
}

#[test]
fn schema_validation_can_fail() {
    let good: serde_json::Value = serde_json::to_value(sample_run()).unwrap();
    let schema: serde_json::Value = serde_json::from_str(schema::SUMMARY_V1).unwrap();
    let cases: Vec<(&str, JsonEdit)> = vec![
        (
            "missing required",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("verdict");
            }),
        ),
        (
            "wrong type",
            Box::new(|v| v["gates"][0]["passed"] = "yes".into()),
        ),
        (
            "unknown field",
            Box::new(|v| v["environment"]["machine"]["gpu"] = "none".into()),
        ),
        ("bad enum", Box::new(|v| v["kind"] = "party".into())),
        (
            "negative count",
            Box::new(|v| v["distributions"][0]["buckets"][0]["count"] = (-1).into()),
        ),
        (
            "wrong version",
            Box::new(|v| v["schema_version"] = 2.into()),
        ),
        (
            "bad row cell",
            Box::new(|v| v["tables"][0]["rows"][0][0] = 3.into()),
        ),
    ];
    for (what, mutate) in cases {
        let mut doc = good.clone();
        mutate(&mut doc);
        assert!(
            !schema::validate(&schema, &doc).is_empty(),
            "{what} is caught"
        );
    }
}

#[test]
fn summary_round_trips_including_nan() {
    let mut run = sample_run();
    run.figure(Figure::new("failed measurement", f64::NAN, "ms"));
    let json = serde_json::to_string(&run).unwrap();
    assert!(
        schema::validate_summary(&json).is_empty(),
        "{:?}",
        schema::validate_summary(&json)
    );
    let back: Run = serde_json::from_str(&json).unwrap();
    assert!(back
        .find_figure("failed measurement", None)
        .unwrap()
        .value
        .is_nan());
    run.figures.pop();
    let mut back = back;
    back.figures.pop();
    assert_eq!(back, run);
}

fn junit_cases(xml: &str) -> Vec<(String, String, bool)> {
    let doc = roxmltree::Document::parse(xml).expect("junit.xml parses");
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            (
                n.attribute("classname").unwrap().to_string(),
                n.attribute("name").unwrap().to_string(),
                n.children().any(|c| c.has_tag_name("failure")),
            )
        })
        .collect()
}

#[test]
fn junit_holds_one_case_per_gate_and_check() {
    let run = sample_run();
    let cases = junit_cases(&junit::render(&run));
    // + 1: an invalid run carries a failing "run is valid" case.
    assert_eq!(cases.len(), run.gates.len() + run.checks.len() + 1);
    for g in &run.gates {
        let c = cases
            .iter()
            .find(|c| c.1 == g.name)
            .expect("a case per gate");
        assert_eq!(c.2, !g.passed, "{} failure iff the gate failed", g.name);
        assert_eq!(c.0, "load.gates");
    }
    for ch in &run.checks {
        let c = cases
            .iter()
            .find(|c| c.1 == ch.name)
            .expect("a case per check");
        assert_eq!(c.2, !ch.passed);
    }
    assert!(cases.iter().any(|c| c.1 == "run is valid" && c.2));
    let doc_text = junit::render(&run);
    let doc = roxmltree::Document::parse(&doc_text).unwrap();
    let failures: usize = doc
        .root_element()
        .attribute("failures")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(failures, cases.iter().filter(|c| c.2).count());
}

proptest! {
    /// Property: whatever text a stage puts in names and details (quotes,
    /// angle brackets, `]]>`, control characters, any Unicode), junit.xml
    /// still parses and gives back the same names, and the HTML stays free
    /// of markup injected through them.
    #[test]
    fn any_names_stay_parseable_and_escaped(
        names in proptest::collection::vec("\\PC{0,12}|[<>&\"'\\]\\x00-\\x1f]{1,6}|<script>|]]>", 1..6),
        detail in "\\PC{0,30}|[\\x00-\\x1f<&]{0,8}",
    ) {
        let mut run = Run::new(RunKind::AuditRls, "prop");
        for (i, n) in names.iter().enumerate() {
            run.check(Check::new(format!("{i}:{n}"), i % 2 == 0, detail.clone()).in_group(n.clone()));
            run.gate(Gate::new(format!("g{i}:{n}"), i as f64, Comparison::AtMost, 1.0, n.clone()));
        }
        run.finish();
        let cases = junit_cases(&junit::render(&run));
        prop_assert_eq!(cases.len(), 2 * names.len());
        let clean = |s: &str| escape(s).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'");
        for (i, n) in names.iter().enumerate() {
            let want = clean(&format!("{i}:{n}"));
            prop_assert!(cases.iter().any(|c| c.1 == want), "check {} is a case", want);
        }
        let page = html::render(&run);
        prop_assert!(!page.contains("<script"));
        prop_assert!(external_references(&page).is_empty());
    }
}

/// Write a run into a temp reports root, returning (root, run folder).
fn written(run: &Run) -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = write_run(run, root.path()).unwrap();
    (root, dir)
}

fn copy_run_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn edit_summary(dir: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let p = dir.join("summary.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn bench_like_run() -> Run {
    let mut run = Run::new(RunKind::Bench, "bench");
    run.environment.backend = "native".into();
    run.environment.postgres_version = "15.14".into();
    run.environment.durability = "fast".into();
    run.environment.data(DataSpec {
        seed: 7,
        scale: "small".into(),
        rows: Default::default(),
    });
    run.figure(
        Figure::new("list_projects mean", 1.00, "ms")
            .lower_is_better()
            .with_noise(0.02)
            .key(),
    );
    run.figure(
        Figure::new("search mean", 4.00, "ms")
            .lower_is_better()
            .with_noise(0.10)
            .key(),
    );
    run.figure(
        Figure::new("GIN speed-up", 30.0, "x")
            .higher_is_better()
            .with_noise(1.0)
            .key(),
    );
    run.figure(Figure::new("rows", 1000.0, "rows"));
    run.gate(Gate::new(
        "search p95",
        5.0,
        Comparison::AtMost,
        100.0,
        "ms",
    ));
    run.finish();
    run
}

#[test]
fn an_injected_regression_is_flagged_and_a_rerun_is_not() {
    let (root, dir) = written(&bench_like_run());
    // A rerun of the same data: same values moved within their noise.
    let rerun = root.path().join("rerun");
    copy_run_dir(&dir, &rerun);
    edit_summary(&rerun, |v| {
        v["figures"][0]["value"] = 1.03.into();
        v["figures"][1]["value"] = 3.9.into();
        v["figures"][2]["value"] = 29.0.into();
        v["figures"][3]["value"] = 5000.0.into(); // direction-less: never judged
    });
    let base = read_run(&dir).unwrap();
    let same = compare(
        std::slice::from_ref(&base),
        &read_run(&rerun).unwrap(),
        NoiseRule::default(),
    )
    .unwrap();
    assert!(!same.has_regression(), "{}", same.text());
    assert_eq!(same.figures.len(), 3);

    // The copy with a regression injected: search 50 % slower.
    let worse = root.path().join("worse");
    copy_run_dir(&dir, &worse);
    edit_summary(&worse, |v| v["figures"][1]["value"] = 6.0.into());
    let cmp = compare(
        std::slice::from_ref(&base),
        &read_run(&worse).unwrap(),
        NoiseRule::default(),
    )
    .unwrap();
    let flagged: Vec<_> = cmp.regressions().map(|d| d.name.clone()).collect();
    assert_eq!(flagged, vec!["search mean".to_string()], "{}", cmp.text());

    // A speed-up ratio falling is a regression too (higher is better).
    let slower_gin = root.path().join("gin");
    copy_run_dir(&dir, &slower_gin);
    edit_summary(&slower_gin, |v| v["figures"][2]["value"] = 12.0.into());
    let cmp = compare(
        std::slice::from_ref(&base),
        &read_run(&slower_gin).unwrap(),
        NoiseRule::default(),
    )
    .unwrap();
    assert_eq!(cmp.regressions().count(), 1);

    // A gate that passed and now fails is a regression whatever the figures.
    let gate = root.path().join("gate");
    copy_run_dir(&dir, &gate);
    edit_summary(&gate, |v| v["gates"][0]["passed"] = false.into());
    let cmp = compare(&[base], &read_run(&gate).unwrap(), NoiseRule::default()).unwrap();
    assert_eq!(cmp.newly_failing, vec!["gate search p95".to_string()]);
}

#[test]
fn noise_from_repeated_baselines_widens_the_band() {
    let mk = |v: f64| {
        let mut r = bench_like_run();
        r.figures[0] = Figure::new("list_projects mean", v, "ms").lower_is_better();
        r
    };
    // One quiet baseline: +25 % is beyond the 10 % band.
    let cur = mk(1.25);
    assert!(compare(&[mk(1.0)], &cur, NoiseRule::default())
        .unwrap()
        .has_regression());
    // Three baselines that themselves wander by ~20 %: +25 % over their
    // mean is within 3 standard deviations of that noise.
    let noisy = [mk(0.8), mk(1.0), mk(1.2)];
    let c = compare(&noisy, &cur, NoiseRule::default()).unwrap();
    assert!(!c.has_regression(), "{}", c.text());
    assert!(c.figures[0].allowed > 0.5);
}

#[test]
fn comparison_across_environments_or_data_is_refused() {
    let base = bench_like_run();
    let edits: Vec<(&str, RunEdit)> = vec![
        (
            "backend",
            Box::new(|r| r.environment.backend = "docker".into()),
        ),
        (
            "PostgreSQL version",
            Box::new(|r| r.environment.postgres_version = "16.4".into()),
        ),
        (
            "durability",
            Box::new(|r| r.environment.durability = "realistic".into()),
        ),
        (
            "data",
            Box::new(|r| r.environment.data.as_mut().unwrap().seed = 8),
        ),
        (
            "data",
            Box::new(|r| r.environment.data.as_mut().unwrap().scale = "large".into()),
        ),
        (
            "setting work_mem",
            Box::new(|r| {
                r.environment
                    .settings
                    .insert("work_mem".into(), "64MB".into());
            }),
        ),
        ("kind", Box::new(|r| r.kind = RunKind::Load)),
    ];
    for (what, edit) in edits {
        let mut other = base.clone();
        edit(&mut other);
        match compare(std::slice::from_ref(&base), &other, NoiseRule::default()) {
            Err(compare::CompareError::Incomparable { differences, .. }) => {
                assert!(
                    differences.iter().any(|d| d.starts_with(what)),
                    "{what}: {differences:?}"
                )
            }
            other => panic!("{what}: expected a refusal, got {other:?}"),
        }
    }
}

#[test]
fn write_run_makes_the_folder_and_the_index() {
    let root = tempfile::tempdir().unwrap();
    let run = sample_run();
    let mut a = run.clone();
    a.folder = None;
    let d1 = write_run(&a, root.path()).unwrap();
    let d2 = write_run(&a, root.path()).unwrap();
    assert_ne!(
        d1, d2,
        "same start second: a second folder, not an overwrite"
    );
    assert!(d2
        .file_name()
        .unwrap()
        .to_string_lossy()
        .ends_with("-load-2"));
    for f in ["summary.json", "index.html", "junit.xml", "summary.md"] {
        assert!(d1.join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(d1.join("summary.md")).unwrap();
    assert!(
        md.contains("**INVALID**") && md.contains("| replica lag p99 |") && md.contains("**FAIL**")
    );
    std::fs::create_dir(root.path().join("junk")).unwrap();
    std::fs::write(root.path().join("junk/summary.json"), "{not json").unwrap();
    index::refresh(root.path()).unwrap();
    let idx = std::fs::read_to_string(root.path().join("index.html")).unwrap();
    assert_eq!(
        idx.matches("-load/index.html").count() + idx.matches("-load-2/index.html").count(),
        2
    );
    assert!(idx.contains("Unreadable run folders") && idx.contains("junk"));
    assert!(idx.contains("Trends of key figures") && idx.contains("<polyline"));
    assert_eq!(external_references(&idx), Vec::<String>::new());
}

/// Keeps a full sample report under `target/report-sample/` for eyes and
/// for `scripts/render-report.sh` (the PNG check of the charts), and checks
/// what it wrote re-reads as the same run.
#[test]
fn sample_report_is_written_for_rendering() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/report-sample");
    let _ = std::fs::remove_dir_all(&root);
    let mut run = sample_run();
    run.folder = None;
    let dir = write_run(&run, &root).unwrap();
    let back = read_run(&dir).unwrap();
    assert_eq!(back.gates, run.gates);
    assert_eq!(back.series.len(), run.series.len());
}
