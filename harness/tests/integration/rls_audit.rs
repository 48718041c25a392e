//! `audit-rls` on schemas of its own, one per tenancy model and one per
//! check that had no test: each fixture in `rls_audit/` is a small,
//! self-contained schema (no reference app), applied to a scratch database
//! on a real server, audited, and compared with what the table below
//! expects: on a correct schema nothing at or above a severity, on a flawed
//! one the named check on the named object at the named severity.
//!
//! Roles are cluster-wide and fixtures reuse names (`anon`,
//! `authenticated`), so the cases run one after another on one cluster,
//! and each case drops its database and the roles it created.

use std::collections::BTreeSet;

use harness::rls::{audit_url, AuditOptions, AuditReport, Severity};
use sqlx::AssertSqlSafe;

use super::support;

/// One row: a fixture, how to audit it, and what must come out.
struct Case {
    fixture: &'static str,
    sql: &'static str,
    tenant_column: &'static str,
    user_column: Option<&'static str>,
    setting: &'static str,
    app_roles: &'static [&'static str],
    /// Each (severity, check, object) must be in the report, exactly.
    expect: &'static [(Severity, &'static str, &'static str)],
    /// No finding at or above this severity, other than those expected.
    clean_at: Severity,
    /// Substrings the recognised tenancy must contain.
    tenancy: &'static [&'static str],
}

impl Case {
    fn options(&self) -> AuditOptions {
        let mut o = AuditOptions::for_tenant_column(self.tenant_column);
        o.user_column = self.user_column.map(str::to_string);
        o.setting = self.setting.to_string();
        o.app_roles = self.app_roles.iter().map(|r| r.to_string()).collect();
        o
    }
}

use Severity::{Critical, High, Info, Low, Medium};

const CASES: &[Case] = &[
    Case {
        fixture: "setting.ours.sql",
        sql: include_str!("rls_audit/setting.ours.sql"),
        tenant_column: "org_id",
        user_column: None,
        setting: "app.org_id",
        app_roles: &["desk_app"],
        expect: &[],
        clean_at: Info,
        tenancy: &["setting app.org_id"],
    },
    Case {
        fixture: "setting.ours.sql (an app role that does not exist)",
        sql: include_str!("rls_audit/setting.ours.sql"),
        tenant_column: "org_id",
        user_column: None,
        setting: "app.org_id",
        app_roles: &["desk_app", "ghost_app"],
        expect: &[(Medium, "app-role-missing", "ghost_app")],
        clean_at: Info,
        tenancy: &[],
    },
    Case {
        fixture: "setting_cast.sql",
        sql: include_str!("rls_audit/setting_cast.sql"),
        tenant_column: "org_id",
        user_column: None,
        setting: "app.org_id",
        app_roles: &["ledger_app"],
        expect: &[
            (
                Medium,
                "setting-cast-without-nullif",
                "public.entries.entries_select",
            ),
            (
                Medium,
                "setting-cast-without-nullif",
                "public.entries.entries_update",
            ),
            (
                Medium,
                "setting-cast-without-nullif",
                "public.entries.entries_delete",
            ),
        ],
        clean_at: Low,
        tenancy: &[],
    },
    Case {
        fixture: "write_check_implicit.sql",
        sql: include_str!("rls_audit/write_check_implicit.sql"),
        tenant_column: "org_id",
        user_column: None,
        setting: "app.org_id",
        app_roles: &["notes_app"],
        expect: &[(Medium, "write-check-implicit", "public.notes.notes_update")],
        clean_at: Low,
        tenancy: &[],
    },
    Case {
        fixture: "permissive_or.sql",
        sql: include_str!("rls_audit/permissive_or.sql"),
        tenant_column: "org_id",
        user_column: None,
        setting: "app.org_id",
        app_roles: &["tasks_app"],
        expect: &[(
            Medium,
            "permissive-policies-or",
            "public.tasks (SELECT to tasks_app)",
        )],
        clean_at: Low,
        tenancy: &[],
    },
    Case {
        fixture: "matview.sql",
        sql: include_str!("rls_audit/matview.sql"),
        tenant_column: "org_id",
        user_column: None,
        setting: "app.org_id",
        app_roles: &["stats_app"],
        expect: &[(High, "matview-over-tenant-table", "public.sales_by_org")],
        clean_at: Low,
        tenancy: &[],
    },
    Case {
        fixture: "app_role_superuser.sql",
        sql: include_str!("rls_audit/app_role_superuser.sql"),
        tenant_column: "org_id",
        user_column: None,
        setting: "app.org_id",
        app_roles: &["wiki_app"],
        expect: &[(Critical, "app-role-superuser", "wiki_app")],
        clean_at: Low,
        tenancy: &[],
    },
    Case {
        fixture: "restrictive.ours.sql",
        sql: include_str!("rls_audit/restrictive.ours.sql"),
        tenant_column: "org_id",
        user_column: None,
        setting: "app.org_id",
        app_roles: &["help_app"],
        expect: &[
            (Info, "policy-widens-access", "public.cases.cases_visible"),
            (Info, "policy-widens-access", "public.cases.cases_staff"),
            (Info, "policy-widens-access", "public.cases.cases_write"),
            (Info, "write-check-missing", "public.cases.cases_write"),
            (
                Info,
                "permissive-policies-or",
                "public.cases (SELECT to help_app)",
            ),
        ],
        clean_at: Low,
        tenancy: &[],
    },
    Case {
        fixture: "restrictive.flawed.sql",
        sql: include_str!("rls_audit/restrictive.flawed.sql"),
        tenant_column: "org_id",
        user_column: None,
        setting: "app.org_id",
        app_roles: &["help_app", "help_reader"],
        expect: &[
            // bounded for SELECT: still info
            (Info, "policy-widens-access", "public.cases.cases_visible"),
            // the restrictive policy covers SELECT only
            (High, "policy-widens-access", "public.cases.cases_write"),
            (High, "write-check-missing", "public.cases.cases_write"),
            // bounded for help_reader, not for help_app
            (High, "policy-widens-access", "public.replies.replies_open"),
        ],
        clean_at: Critical,
        tenancy: &[],
    },
    Case {
        fixture: "supabase.ours.sql",
        sql: include_str!("rls_audit/supabase.ours.sql"),
        tenant_column: "org_id",
        user_column: Some("user_id"),
        setting: "",
        app_roles: &["anon", "authenticated"],
        expect: &[],
        clean_at: Info,
        tenancy: &[
            "context function auth.uid()",
            "context function auth.jwt()",
            "membership table public.members",
        ],
    },
    Case {
        fixture: "supabase.flawed.sql",
        sql: include_str!("rls_audit/supabase.flawed.sql"),
        tenant_column: "org_id",
        user_column: Some("user_id"),
        setting: "",
        app_roles: &["anon", "authenticated"],
        expect: &[
            (Critical, "rls-disabled", "public.comments"),
            (High, "context-function-immutable", "public.current_org()"),
            (
                High,
                "policy-widens-access",
                "public.profiles.profiles_read",
            ),
            (
                High,
                "write-check-missing",
                "public.documents.documents_insert",
            ),
            (
                High,
                "policy-widens-access",
                "public.invoices.invoices_read",
            ),
            (Medium, "setting-cast-without-nullif", "auth.uid()"),
        ],
        clean_at: Medium,
        tenancy: &["context function auth.uid()"],
    },
    Case {
        fixture: "membership.ours.sql",
        sql: include_str!("rls_audit/membership.ours.sql"),
        tenant_column: "team_id",
        user_column: Some("member_id"),
        setting: "app.member_id",
        app_roles: &["crm_app"],
        expect: &[],
        clean_at: Info,
        tenancy: &[
            "membership function public.is_team_member(team uuid), security definer",
            "membership table public.team_members",
        ],
    },
    Case {
        fixture: "membership.flawed.sql",
        sql: include_str!("rls_audit/membership.flawed.sql"),
        tenant_column: "team_id",
        user_column: Some("member_id"),
        setting: "app.member_id",
        app_roles: &["crm_app"],
        expect: &[
            (
                High,
                "membership-table-exposed",
                "crm_app on public.team_members",
            ),
            (Critical, "rls-disabled", "public.team_members"),
            (
                High,
                "definer-search-path",
                "public.is_team_member(team uuid)",
            ),
            (High, "policy-widens-access", "public.deals.deals_member"),
            (High, "policy-widens-access", "public.notes.notes_member"),
            // the forgetful subquery sits beside a correct one
            (
                Medium,
                "permissive-policies-or",
                "public.deals (SELECT to crm_app)",
            ),
        ],
        clean_at: Medium,
        tenancy: &[],
    },
];

/// Apply `case`'s fixture to a fresh database, audit it, then drop the
/// database and every role the fixture created.
async fn run(c: &harness::cluster::Cluster, n: usize, case: &Case) -> AuditReport {
    let mut admin = c.primary().connect().await.unwrap();
    let roles_before: BTreeSet<String> = sqlx::query_scalar("select rolname::text from pg_roles")
        .fetch_all(&mut admin)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let db = format!("audit_case_{n}");
    let ep = support::fresh_db(c, &db).await;
    let mut conn = ep.connect().await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(case.sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("fixture {} failed: {e}", case.fixture));
    drop(conn);
    let report = audit_url(&ep.url(), &case.options()).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!("drop database {db} with (force)")))
        .execute(&mut admin)
        .await
        .unwrap();
    let roles_after: Vec<String> = sqlx::query_scalar("select rolname::text from pg_roles")
        .fetch_all(&mut admin)
        .await
        .unwrap();
    for r in roles_after.iter().filter(|r| !roles_before.contains(*r)) {
        sqlx::raw_sql(AssertSqlSafe(format!("drop role \"{r}\"")))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    report
}

/// What is wrong with `report` for `case`, one line per problem.
fn problems(case: &Case, report: &AuditReport) -> Vec<String> {
    let mut out = Vec::new();
    let got: BTreeSet<(Severity, &str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.severity, f.check.as_str(), f.object.as_str()))
        .collect();
    for e in case.expect {
        if !got.contains(e) {
            out.push(format!("missing {e:?}"));
        }
    }
    for f in report.at_least(case.clean_at) {
        if !case
            .expect
            .contains(&(f.severity, f.check.as_str(), f.object.as_str()))
        {
            out.push(format!(
                "unexpected {} {} on {}: {}",
                f.severity, f.check, f.object, f.message
            ));
        }
    }
    for t in case.tenancy {
        if !report.tenancy.iter().any(|line| line.contains(t)) {
            out.push(format!("tenancy lacks {t:?}: {:?}", report.tenancy));
        }
    }
    for f in &report.findings {
        if f.message.is_empty() || f.hint.is_empty() {
            out.push(format!("{f:?} has no message or hint"));
        }
    }
    out
}

/// Every fixture against its row of expectations: the correct schemas of
/// each tenancy model have nothing at or above their severity, and each
/// flawed one shows its flaw as the named check on the named object.
#[tokio::test]
async fn audit_rls_fixture_table_correct_schemas_pass_and_each_flaw_is_found() {
    let c = support::native().await;
    let mut failures = Vec::new();
    for (n, case) in CASES.iter().enumerate() {
        let report = run(&c, n, case).await;
        let p = problems(case, &report);
        if !p.is_empty() {
            failures.push(format!(
                "{}:\n  {}\n  the audit said:\n{}",
                case.fixture,
                p.join("\n  "),
                report.to_text()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The binary with flags only, on a database no app folder describes:
/// `--tenant-column` and `--user-column` are enough to audit a Supabase-
/// style schema; exit 0 on the correct one at `--fail-on high`, 13 on the
/// flawed one with the finding in the JSON, and without `--app-role` the
/// role checks say they did not run.
#[tokio::test]
async fn audit_rls_cli_works_with_flags_only() {
    let c = support::native().await;
    let ours = support::fresh_db(&c, "supa_ours").await;
    let mut conn = ours.connect().await.unwrap();
    sqlx::raw_sql(include_str!("rls_audit/supabase.ours.sql"))
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let bin = env!("CARGO_BIN_EXE_harness");
    // From a directory with no app folder, and no default app from the environment.
    let run = |url: String, extra: &[&str]| {
        let out = std::process::Command::new(bin)
            .current_dir(std::env::temp_dir())
            .args(["audit-rls", "--url", &url])
            .args(extra)
            .env_remove("DATABASE_URL")
            .env_remove("HARNESS_APP")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let flags = [
        "--tenant-column",
        "org_id",
        "--user-column",
        "user_id",
        "--app-role",
        "authenticated",
        "--app-role",
        "anon",
    ];
    let (code, out) = run(ours.url(), &flags);
    assert_eq!(code, Some(harness::exit_codes::OK), "{out}");
    assert!(out.contains("no findings"), "{out}");
    assert!(out.contains("context function auth.uid()"), "{out}");
    // The tenant column alone: without app roles the role checks say they
    // did not run, and without the user column a policy scoped to the
    // caller's own rows (`user_id = auth.uid()`) cannot be told from an
    // open one, which is what --user-column is for.
    let (code, out) = run(ours.url(), &["--tenant-column", "org_id"]);
    assert_eq!(code, Some(harness::exit_codes::AUDIT_FINDINGS), "{out}");
    assert!(out.contains("app-role-unknown"), "{out}");
    assert!(out.contains("public.members.members_self"), "{out}");

    // The flawed schema reuses the correct one's role names (roles are
    // cluster-wide): drop the correct one first.
    let mut admin = c.primary().connect().await.unwrap();
    for sql in [
        "drop database supa_ours with (force)",
        "drop role anon",
        "drop role authenticated",
        "drop role supa_owner",
    ] {
        sqlx::raw_sql(sql).execute(&mut admin).await.unwrap();
    }
    let flawed = support::fresh_db(&c, "supa_flawed").await;
    let mut conn = flawed.connect().await.unwrap();
    sqlx::raw_sql(include_str!("rls_audit/supabase.flawed.sql"))
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let mut json_flags = flags.to_vec();
    json_flags.extend(["--fail-on", "high", "--format", "json"]);
    let (code, out) = run(flawed.url(), &json_flags);
    assert_eq!(code, Some(harness::exit_codes::AUDIT_FINDINGS), "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let found = json["findings"].as_array().unwrap().iter().any(|f| {
        f["check"] == "policy-widens-access" && f["object"] == "public.profiles.profiles_read"
    });
    assert!(found, "{out}");
}
