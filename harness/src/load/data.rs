//! The data a load run reads: the `portal` database with the reference
//! app's schema (`fixtures::schema::MIGRATOR`, tables, roles, policies),
//! tenant-skewed rows, and the [`Catalog`] of tenants users are drawn from.
//!
//! Rows are generated server-side (`insert ... select ... generate_series`)
//! as the superuser with triggers off, in one transaction: on two cores this
//! loads the default scale (about 150k rows) in seconds, which keeps `just
//! load` and its CI smoke short. Tenant sizes follow 1/rank (a few large
//! tenants, a long tail of small ones), the shape that makes per-tenant
//! query plans and RLS costs differ. The migration path (legacy SQLite ->
//! PostgreSQL) is proven by `harness migrate`; the load needs rows of the
//! same shape in the same schema, quickly, and a `--skip-data` run can
//! instead target a database that `harness migrate` filled.
//!
//! The catalog is read as the superuser (it spans tenants); every load
//! query afterwards runs as the app role.

use std::collections::BTreeMap;
use std::time::Duration;

use scenarios::{Catalog, TenantSample};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection, Row};
use uuid::Uuid;

use crate::cluster::{Cluster, ClusterError, Endpoint};

/// Words that appear in generated project names and descriptions: the
/// search terms browsing users type.
pub const WORDS: [&str; 16] = [
    "maple",
    "cedar",
    "harbor",
    "riverside",
    "commons",
    "terrace",
    "lofts",
    "gardens",
    "village",
    "senior",
    "family",
    "transit",
    "affordable",
    "courtyard",
    "library",
    "park",
];

/// Cities projects are located in.
pub const CITIES: [&str; 12] = [
    "Oakland", "Portland", "Denver", "Austin", "Seattle", "Boston", "Chicago", "Atlanta",
    "Phoenix", "Detroit", "Raleigh", "Madison",
];

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("preparing the load database {database}: {step}: {source}\n  hint: the schema comes from fixtures/migrations; run `harness clean` if an old run left a half-built database")]
    Sql {
        database: String,
        step: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("migrating the load database {database}: {source}")]
    Migrate {
        database: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("the database {0} has no tenant that can host load users (no companies with projects and applicants); seed it first or drop --skip-data")]
    Empty(String),
}

fn sql<'a>(database: &'a str, step: &'static str) -> impl FnOnce(sqlx::Error) -> DataError + 'a {
    move |source| DataError::Sql {
        database: database.to_string(),
        step,
        source,
    }
}

/// One tenant's planned size.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantPlan {
    pub rank: usize,
    pub projects: i64,
    pub applicants: i64,
    pub staff: i64,
    pub admins: i64,
}

/// Tenant sizes for `tenants` tenants at `scale` (1.0: 2,000 projects,
/// 40,000 applicants, about 80,000 applications), by 1/rank.
pub fn plan(tenants: usize, scale: f64) -> Vec<TenantPlan> {
    let h: f64 = (1..=tenants).map(|r| 1.0 / r as f64).sum();
    (1..=tenants)
        .map(|rank| {
            let share = 1.0 / rank as f64 / h;
            let projects = ((2000.0 * scale * share).round() as i64).max(3);
            TenantPlan {
                rank,
                projects,
                applicants: projects * 20,
                staff: 3 + projects / 20,
                admins: 1 + projects / 100,
            }
        })
        .collect()
}

/// Make sure `database` exists on the cluster's primary (harness-started
/// clusters only: an external target is never created or dropped).
pub async fn ensure_database(primary: &Endpoint, database: &str) -> Result<(), DataError> {
    let mut c = primary.with_database("postgres").connect().await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(database)
            .fetch_one(&mut c)
            .await
            .map_err(sql(database, "look for the database"))?;
    if !exists {
        let stmt: String = sqlx::query_scalar("select format('create database %I', $1::text)")
            .bind(database)
            .fetch_one(&mut c)
            .await
            .map_err(sql(database, "quote the name"))?;
        sqlx::query(AssertSqlSafe(stmt))
            .execute(&mut c)
            .await
            .map_err(sql(database, "create database"))?;
    }
    Ok(())
}

/// Schema (all migrations) and, when the database has no companies yet,
/// generated rows. Returns the number of rows generated (0 when the data
/// was already there).
pub async fn prepare(
    cluster: &Cluster,
    database: &str,
    tenants: usize,
    scale: f64,
    seed: u64,
) -> Result<u64, DataError> {
    let primary = cluster.primary().with_database(database);
    ensure_database(cluster.primary(), database).await?;
    let pool = primary.pool(2).await?;
    fixtures::schema::MIGRATOR
        .run(&pool)
        .await
        .map_err(|source| DataError::Migrate {
            database: database.to_string(),
            source,
        })?;
    pool.close().await;
    // Bulk statements take seconds by design: no slow-statement warnings.
    let mut c = PgConnection::connect_with(&primary.connect_options().disable_statement_logging())
        .await
        .map_err(sql(database, "connect"))?;
    let have: i64 = sqlx::query_scalar("select count(*) from companies")
        .fetch_one(&mut c)
        .await
        .map_err(sql(database, "count companies"))?;
    let mut rows = 0;
    if have == 0 {
        rows = generate(&mut c, database, &plan(tenants, scale), seed).await?;
    }
    // The replica must hold the data before reads are routed to it.
    if cluster.replica().is_some() {
        let lsn = cluster.current_lsn().await?;
        cluster
            .wait_for_replay(&lsn, Duration::from_secs(120))
            .await?;
    }
    Ok(rows)
}

async fn generate(
    c: &mut PgConnection,
    database: &str,
    plan: &[TenantPlan],
    seed: u64,
) -> Result<u64, DataError> {
    let mut tx = c.begin().await.map_err(sql(database, "begin"))?;
    // Superuser bulk load: skip the audit trigger (historic rows are not
    // app writes) and the foreign-key triggers (the generator is consistent
    // by construction); the commit need not wait for fsync.
    for s in [
        "set local session_replication_role = replica",
        "set local synchronous_commit = off",
        "create temp table load_plan (rank int, company_id uuid, projects int, applicants int, staff int, admins int) on commit drop",
    ] {
        sqlx::query(s).execute(&mut *tx).await.map_err(sql(database, "session settings"))?;
    }
    let seed_f = (seed % 1000) as f64 / 1000.0;
    sqlx::query("select setseed($1)")
        .bind(seed_f)
        .execute(&mut *tx)
        .await
        .map_err(sql(database, "setseed"))?;
    for p in plan {
        sqlx::query("insert into load_plan values ($1, md5('company-' || $6 || '-' || $1)::uuid, $2, $3, $4, $5)")
            .bind(p.rank as i32)
            .bind(p.projects as i32)
            .bind(p.applicants as i32)
            .bind(p.staff as i32)
            .bind(p.admins as i32)
            .bind(seed as i64)
            .execute(&mut *tx)
            .await
            .map_err(sql(database, "plan"))?;
    }
    let words = format!(
        "array[{}]",
        WORDS
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let cities = format!(
        "array[{}]",
        CITIES
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let pick = |arr: &str, n: usize| format!("({arr})[1 + floor(random() * {n})::int]");
    let statements: Vec<(&'static str, String)> = vec![
        (
            "companies",
            "insert into companies (id, company_key, name, plan, max_seats)
             select company_id, 'tenant-' || rank, 'Housing Co ' || rank, 'pro', 50 from load_plan"
                .into(),
        ),
        (
            "staff users",
            "insert into users (id, company_id, email, password_hash, role, first_name, last_name)
             select md5('staff-' || p.rank || '-' || g)::uuid, p.company_id, 'staff' || g || '@tenant' || p.rank || '.example',
                    'x', case when g <= p.admins then 'admin' else 'developer' end, 'Staff', 'Member' || g
             from load_plan p, generate_series(1, p.staff + p.admins) g"
                .into(),
        ),
        (
            "applicant users",
            "insert into users (id, company_id, email, password_hash, role, first_name, last_name)
             select md5('auser-' || p.rank || '-' || g)::uuid, p.company_id, 'applicant' || g || '@tenant' || p.rank || '.example',
                    'x', 'applicant', 'Applicant', 'Number' || g
             from load_plan p, generate_series(1, p.applicants / 2) g"
                .into(),
        ),
        (
            "projects",
            format!(
                "insert into projects (id, company_id, name, developer, location, address, total_units, affordable_units,
                                       status, application_deadline, description, price_range_min, price_range_max, created_at)
                 select md5('project-' || p.rank || '-' || g)::uuid, p.company_id,
                        initcap({w1}) || ' ' || initcap({w2}) || ' ' || g, 'Builder ' || (g % 7), {city},
                        g || ' Main Street', 100, 40,
                        (array['planning','construction','marketing','accepting_applications','accepting_applications','completed'])[1 + floor(random() * 6)::int],
                        current_date + (g % 90),
                        'An ' || {w3} || ' ' || {w4} || ' development near the ' || {w5} || ' with ' || {w6} || ' homes',
                        800, 1800, now() - make_interval(days => (g % 700))
                 from load_plan p, generate_series(1, p.projects) g",
                w1 = pick(&words, WORDS.len()),
                w2 = pick(&words, WORDS.len()),
                w3 = pick(&words, WORDS.len()),
                w4 = pick(&words, WORDS.len()),
                w5 = pick(&words, WORDS.len()),
                w6 = pick(&words, WORDS.len()),
                city = pick(&cities, CITIES.len()),
            ),
        ),
        (
            "applicants",
            "insert into applicants (id, company_id, user_id, first_name, last_name, email, household_size, annual_income)
             select md5('applicant-' || p.rank || '-' || g)::uuid, p.company_id,
                    case when g <= p.applicants / 2 then md5('auser-' || p.rank || '-' || g)::uuid end,
                    (array['Ana','Ben','Chen','Dana','Eli','Fatima','Gus','Hana','Ivan','Jo'])[1 + g % 10],
                    (array['Garcia','Smith','Nguyen','Okafor','Kowalski','Haddad','Tanaka','Silva','Murphy','Patel',
                           'Johansson','Moreau','Rossi','Yilmaz','Kim','Lopez'])[1 + (g / 10) % 16] || (g % 97),
                    'applicant' || g || '@tenant' || p.rank || '.example', 1 + g % 6, 20000 + (g % 50) * 1000
             from load_plan p, generate_series(1, p.applicants) g"
                .into(),
        ),
        (
            "applications",
            "insert into applications (id, company_id, project_id, applicant_id, status, priority_score, submitted_at)
             select md5('application-' || p.rank || '-' || a || '-' || k)::uuid, p.company_id,
                    md5('project-' || p.rank || '-' || (1 + (a * 7 + k * 13) % p.projects))::uuid,
                    md5('applicant-' || p.rank || '-' || a)::uuid,
                    (array['submitted','submitted','under_review','approved','rejected','waitlisted'])[1 + floor(random() * 6)::int],
                    round((random() * 100)::numeric, 2), now() - make_interval(mins => (a * 3 + k) % 100000)
             from load_plan p, generate_series(1, p.applicants) a, generate_series(1, 2) k
             on conflict do nothing"
                .into(),
        ),
    ];
    let mut total = 0u64;
    for (step, s) in &statements {
        let r = sqlx::query(AssertSqlSafe(s.as_str()))
            .execute(&mut *tx)
            .await
            .map_err(sql(database, step))?;
        total += r.rows_affected();
    }
    tx.commit().await.map_err(sql(database, "commit"))?;
    sqlx::query("analyze")
        .execute(&mut *c)
        .await
        .map_err(sql(database, "analyze"))?;
    Ok(total)
}

/// Read every tenant with samples of its rows (as the superuser).
pub async fn catalog(primary: &Endpoint, database: &str) -> Result<Catalog, DataError> {
    let mut c = primary.with_database(database).connect().await?;
    let q = |step: &'static str| sql(database, step);
    let mut tenants: BTreeMap<Uuid, TenantSample> = BTreeMap::new();
    let rows = sqlx::query(
        "select c.id,
                (select count(*) from projects p where p.company_id = c.id)
              + (select count(*) from applicants a where a.company_id = c.id) as size
         from companies c order by c.id",
    )
    .fetch_all(&mut c)
    .await
    .map_err(q("tenants"))?;
    for r in rows {
        let id: Uuid = r.get(0);
        let size: i64 = r.get(1);
        tenants.insert(
            id,
            TenantSample {
                company_id: id,
                size: size.max(0) as u64,
                search_terms: WORDS.iter().map(|w| w.to_string()).collect(),
                ..Default::default()
            },
        );
    }
    // Samples: a bounded number per tenant so 10k users over a big catalog
    // stay well under the memory budget.
    let projects = sqlx::query(
        "select company_id, id, location from (
           select company_id, id, location, row_number() over (partition by company_id order by id) n from projects) x
         where n <= 200",
    )
    .fetch_all(&mut c)
    .await
    .map_err(q("projects"))?;
    for r in projects {
        if let Some(t) = tenants.get_mut(&r.get::<Uuid, _>(0)) {
            t.projects.push(r.get(1));
            if let Some(loc) = r.get::<Option<String>, _>(2) {
                if !t.locations.contains(&loc) {
                    t.locations.push(loc);
                }
            }
        }
    }
    let applicants = sqlx::query(
        "select company_id, id, user_id, last_name from (
           select company_id, id, user_id, last_name, row_number() over (partition by company_id order by id) n from applicants) x
         where n <= 500",
    )
    .fetch_all(&mut c)
    .await
    .map_err(q("applicants"))?;
    for r in applicants {
        if let Some(t) = tenants.get_mut(&r.get::<Uuid, _>(0)) {
            t.applicants.push((r.get(1), r.get(2)));
            let name: String = r.get(3);
            if t.applicant_names.len() < 50 && !t.applicant_names.contains(&name) {
                t.applicant_names.push(name);
            }
        }
    }
    let staff = sqlx::query(
        "select company_id, id, role from (
           select company_id, id, role, row_number() over (partition by company_id, role order by id) n
           from users where role <> 'applicant') x
         where n <= 50",
    )
    .fetch_all(&mut c)
    .await
    .map_err(q("staff"))?;
    for r in staff {
        if let Some(t) = tenants.get_mut(&r.get::<Uuid, _>(0)) {
            let role: String = r.get(2);
            if role == "admin" {
                t.admins.push(r.get(1));
            } else {
                t.staff.push(r.get(1));
            }
        }
    }
    let catalog = Catalog::new(
        tenants
            .into_values()
            .filter(|t| !t.projects.is_empty() && !t.applicants.is_empty())
            .collect(),
    );
    if catalog.is_empty() {
        return Err(DataError::Empty(database.to_string()));
    }
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_skewed_and_every_tenant_can_host_every_kind() {
        let p = plan(50, 1.0);
        assert_eq!(p.len(), 50);
        assert!(
            p[0].projects > 10 * p[49].projects,
            "{} vs {}",
            p[0].projects,
            p[49].projects
        );
        let total: i64 = p.iter().map(|t| t.projects).sum();
        assert!((1900..=2200).contains(&total), "{total}");
        assert!(p
            .iter()
            .all(|t| t.projects >= 3 && t.admins >= 1 && t.staff >= 3 && t.applicants > 0));
    }
}
