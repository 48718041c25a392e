//! The bench cases: each named query of the portal's load (the very SQL of
//! `apps/portal/workload.toml`, so the bench prices what the load run sends),
//! the whole-table full-text searches behind the migration plan's "30x faster search"
//! claim, and the key filters with the indexes that serve them.
//!
//! Index toggling is a transaction: `DROP INDEX` is transactional in
//! PostgreSQL, so the "without" case runs inside a transaction that dropped
//! the index and is rolled back afterwards, and the "with" case runs inside
//! an otherwise identical transaction. Nothing outside the bench connection
//! ever sees the index missing, and the two cases differ only in the index.

use std::sync::OnceLock;

use scenarios::Workload;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::bed::Params;

/// One row by primary key: the shape `pgbench -S` measures, not a query
/// of the portal's load. `$1` company, `$2` project.
pub const POINT_SELECT: &str =
    "select p.name from projects p where p.company_id = $1 and p.id = $2";

/// The portal's workload file, read once.
fn portal() -> &'static Workload {
    static W: OnceLock<Workload> = OnceLock::new();
    W.get_or_init(|| {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../apps/portal/workload.toml");
        Workload::load(&path).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// A named query of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    SearchProjects,
    FilterProjects,
    ProjectDetail,
    MyApplications,
    ProjectsWithStats,
    SearchApplicants,
    PendingApplications,
    PointSelect,
    Apply,
    Contact,
}

impl Query {
    pub const ALL: [Query; 10] = [
        Query::SearchProjects,
        Query::FilterProjects,
        Query::ProjectDetail,
        Query::MyApplications,
        Query::ProjectsWithStats,
        Query::SearchApplicants,
        Query::PendingApplications,
        Query::PointSelect,
        Query::Apply,
        Query::Contact,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Query::SearchProjects => "search_projects",
            Query::FilterProjects => "filter_projects",
            Query::ProjectDetail => "project_detail",
            Query::MyApplications => "my_applications",
            Query::ProjectsWithStats => "projects_with_stats",
            Query::SearchApplicants => "search_applicants",
            Query::PendingApplications => "pending_applications",
            Query::PointSelect => "point_select",
            Query::Apply => "apply",
            Query::Contact => "contact",
        }
    }

    /// Writes run on the primary only (the replica is read-only).
    pub fn is_write(self) -> bool {
        matches!(self, Query::Apply | Query::Contact)
    }

    /// The SQL text: what the load run sends under this name (the
    /// portal's workload file), or the bench's own point select.
    pub fn sql(self) -> &'static str {
        if self == Query::PointSelect {
            return POINT_SELECT;
        }
        let name = match self {
            Query::Contact => "contact_form",
            other => other.name(),
        };
        portal()
            .query(name)
            .map(|q| q.sql.as_str())
            .unwrap_or_else(|| panic!("apps/portal/workload.toml has no query {name:?}"))
    }

    /// Bind this query's parameters (fresh ids for the inserts).
    fn bind<'q>(self, query: PgQuery<'q>, p: &'q Params) -> PgQuery<'q> {
        match self {
            // Both searches go through migration 0104's functions, which
            // read the tenant from the context.
            Query::SearchProjects => query
                .bind(&p.project_word)
                .bind(&p.statuses)
                .bind(20i64)
                .bind(0i64),
            Query::FilterProjects => query
                .bind(&p.location)
                .bind(&p.statuses)
                .bind(20i64)
                .bind(0i64),
            Query::ProjectDetail | Query::PointSelect => query.bind(p.company).bind(p.project),
            Query::MyApplications => query.bind(p.company).bind(p.applicant),
            Query::ProjectsWithStats => query.bind(p.company),
            Query::SearchApplicants => query.bind(&p.applicant_word),
            Query::PendingApplications => query.bind(p.company).bind(p.project).bind(50i64),
            Query::Apply => query
                .bind(Uuid::new_v4())
                .bind(p.company)
                .bind(p.project)
                .bind(p.applicant)
                .bind(50i32),
            Query::Contact => query
                .bind(Uuid::new_v4())
                .bind(p.company)
                .bind("Bench Visitor")
                .bind("visitor@example.org")
                .bind("Question")
                .bind("Is the waiting list open?"),
        }
    }

    /// Run once; the number of rows returned (or inserted).
    pub async fn run(self, c: &mut PgConnection, p: &Params) -> Result<u64, sqlx::Error> {
        let query = self.bind(sqlx::query(self.sql()), p);
        if self == Query::Contact {
            return query.execute(c).await.map(|r| r.rows_affected());
        }
        // APPLY returns the new id, or nothing once the pair exists.
        query.fetch_all(c).await.map(|r| r.len() as u64)
    }

    /// The index names in the plan PostgreSQL picks for this query now.
    pub async fn plan_indexes(
        self,
        c: &mut PgConnection,
        p: &Params,
    ) -> Result<Vec<String>, sqlx::Error> {
        let sql = format!("explain (format json) {}", self.sql());
        let row = self
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)), p)
            .fetch_one(c)
            .await?;
        let plan: serde_json::Value = row.try_get(0)?;
        Ok(index_names(&plan))
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// A whole-table full-text search (every tenant, as the owner): the shape
/// where a GIN index has the most to win, and the one the migration plan's claim of
/// "30x faster search" is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// The app's tenant search (`SEARCH_PROJECTS`) in one tenant.
    TenantProjects,
    /// `count(*)` of matching projects over all tenants.
    AllProjects,
    /// `count(*)` of matching applicants over all tenants.
    AllApplicants,
}

impl Search {
    pub const ALL: [Search; 3] = [
        Search::TenantProjects,
        Search::AllProjects,
        Search::AllApplicants,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Search::TenantProjects => "search_projects_tenant",
            Search::AllProjects => "search_projects_all_tenants",
            Search::AllApplicants => "search_applicants_all_tenants",
        }
    }

    /// The GIN index the case is about.
    pub fn index(self) -> &'static str {
        match self {
            // The tenant search runs through migration 0104's function,
            // which reads the tenant-led GIN index.
            Search::TenantProjects => "idx_projects_company_search",
            Search::AllProjects => "idx_projects_search",
            Search::AllApplicants => "idx_applicants_search",
        }
    }

    pub async fn run(self, c: &mut PgConnection, p: &Params) -> Result<u64, sqlx::Error> {
        match self {
            Search::TenantProjects => Query::SearchProjects.run(c, p).await,
            Search::AllProjects => count(
                c,
                "select count(*) from projects where search_vector @@ plainto_tsquery('english', $1)",
                &p.project_word,
            )
            .await,
            Search::AllApplicants => count(
                c,
                "select count(*) from applicants where search_vector @@ plainto_tsquery('english', $1)",
                &p.applicant_word,
            )
            .await,
        }
    }
}

async fn count(c: &mut PgConnection, sql: &'static str, word: &str) -> Result<u64, sqlx::Error> {
    let row = sqlx::query(sql).bind(word).fetch_one(c).await?;
    Ok(row.try_get::<i64, _>(0)? as u64)
}

/// A key filter and the indexes that serve it.
pub fn filters() -> Vec<(Query, &'static [&'static str])> {
    vec![
        (Query::MyApplications, &["idx_applications_applicant_id"]),
        (
            Query::PendingApplications,
            &["idx_applications_project_id", "idx_applications_status"],
        ),
        (
            Query::FilterProjects,
            &["idx_projects_status", "idx_projects_location"],
        ),
        (Query::ProjectDetail, &["idx_applications_project_id"]),
    ]
}

/// Open the transaction a with/without-index case runs in: drop `indexes`
/// (as the session's superuser), then act as `role` for the rest of the
/// transaction. Returns the indexes that existed and were dropped.
pub async fn begin_case(
    c: &mut PgConnection,
    indexes: &[&str],
    role: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::raw_sql("begin; set local role none")
        .execute(&mut *c)
        .await?;
    let mut dropped = Vec::new();
    for idx in indexes {
        let exists: bool = sqlx::query_scalar("select to_regclass($1) is not null")
            .bind(*idx)
            .fetch_one(&mut *c)
            .await?;
        if exists {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("drop index {idx}")))
                .execute(&mut *c)
                .await?;
            dropped.push(idx.to_string());
        }
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("set local role {role}")))
        .execute(&mut *c)
        .await?;
    Ok(dropped)
}

/// Roll the case's transaction back (the indexes come back untouched).
pub async fn end_case(c: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("rollback").execute(c).await.map(|_| ())
}

impl Search {
    /// The index names in the plan PostgreSQL picks for this search now.
    pub async fn plan_indexes(
        self,
        c: &mut PgConnection,
        p: &Params,
    ) -> Result<Vec<String>, sqlx::Error> {
        let (sql, word) = match self {
            Search::TenantProjects => return Query::SearchProjects.plan_indexes(c, p).await,
            Search::AllProjects => (
                "explain (format json) select count(*) from projects where search_vector @@ plainto_tsquery('english', $1)",
                &p.project_word,
            ),
            Search::AllApplicants => (
                "explain (format json) select count(*) from applicants where search_vector @@ plainto_tsquery('english', $1)",
                &p.applicant_word,
            ),
        };
        let plan: serde_json::Value = sqlx::query_scalar(sql).bind(word).fetch_one(c).await?;
        Ok(index_names(&plan))
    }
}

fn index_names(plan: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_indexes(plan, &mut out);
    out.sort();
    out.dedup();
    out
}

fn collect_indexes(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if k == "Index Name" {
                    if let Some(s) = x.as_str() {
                        out.push(s.to_string());
                    }
                } else {
                    collect_indexes(x, out);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_indexes(x, out)),
        _ => {}
    }
}
