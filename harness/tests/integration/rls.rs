//! Row-level security, proven against real servers: the isolation property
//! (proptest, as `portal_app`, over every tenant table and command, on the
//! primary, and the read side on the replica), one test per numbered pitfall
//! of docs/rls.md ("item N" below) that passes on our schema and catches a
//! deliberately flawed variant of it (`rls_flawed/NN_*.sql`, applied on top of our
//! migrations in a scratch database), and `audit-rls` on both.
//!
//! Every isolation check runs as an app role (`set role portal_app` on a
//! superuser connection, or a real login as `portal_app`); the superuser
//! only seeds data and reads the truth the checks compare against.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use harness::cluster::{Cluster, Endpoint};
use harness::rls::{audit, AuditOptions, Severity};

/// The reference app's roles (its app.toml).
mod roles {
    pub use harness::rls::roles::login;
    pub const OWNER: &str = "portal_owner";
    pub const APP: &str = "portal_app";
    pub const READER: &str = "portal_reader";
}

/// The audit as the reference app's folder configures it.
fn portal_audit() -> AuditOptions {
    AuditOptions::for_app(&harness::reference::app(None).unwrap())
}
use harness::tenant::{self, TenantContext};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};
use uuid::Uuid;

use super::support;

// ---------------------------------------------------------------- the world

/// The app's tables, parents first, as the property walks them.
const TABLES: [&str; 7] = [
    "companies",
    "users",
    "projects",
    "applicants",
    "applications",
    "contact_submissions",
    "audit_logs",
];

/// The column that holds a table's tenant id.
fn key(table: &str) -> &'static str {
    if table == "companies" {
        "id"
    } else {
        "company_id"
    }
}

#[derive(Debug, Clone)]
struct User {
    id: Uuid,
    company: Uuid,
    role: &'static str,
}

#[derive(Debug, Clone)]
struct Owned {
    id: Uuid,
    company: Uuid,
}

#[derive(Debug, Clone)]
struct Application {
    id: Uuid,
    company: Uuid,
    project: Uuid,
    applicant: Uuid,
}

/// Tenants and their rows in every table but `audit_logs` (the trigger
/// writes those).
#[derive(Debug, Clone, Default)]
struct World {
    companies: Vec<Uuid>,
    users: Vec<User>,
    projects: Vec<(Owned, i32)>,
    applicants: Vec<Owned>,
    applications: Vec<Application>,
    contacts: Vec<Owned>,
}

/// Readable, distinct ids: `kind` says the table, `n` the row.
fn uid(kind: u32, n: u64) -> Uuid {
    Uuid::from_u128(((kind as u128) << 96) | n as u128)
}

const A: u64 = 0xA;
const B: u64 = 0xB;

fn tenant(n: u64) -> Uuid {
    uid(1, n)
}

impl World {
    /// Two tenants with rows in every table; B's project has 13 units (the
    /// value item 9's division trips on), A's has 10.
    fn baseline() -> World {
        let mut w = World::default();
        for (t, units) in [(A, 10), (B, 13)] {
            let c = tenant(t);
            w.companies.push(c);
            w.users.push(User {
                id: uid(2, t * 16 + 1),
                company: c,
                role: "admin",
            });
            w.users.push(User {
                id: uid(2, t * 16 + 2),
                company: c,
                role: "lender",
            });
            let project = Owned {
                id: uid(3, t),
                company: c,
            };
            let applicant = Owned {
                id: uid(4, t),
                company: c,
            };
            w.applications.push(Application {
                id: uid(5, t),
                company: c,
                project: project.id,
                applicant: applicant.id,
            });
            w.projects.push((project, units));
            w.applicants.push(applicant);
            w.contacts.push(Owned {
                id: uid(6, t),
                company: c,
            });
        }
        w
    }

    fn user(&self, company: Uuid, role: &str) -> &User {
        self.users
            .iter()
            .find(|u| u.company == company && u.role == role)
            .expect("baseline user")
    }

    /// Insert everything, as the connection's current role (a superuser or
    /// the owner: seeding is not an isolation check). One statement per table.
    async fn insert(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let keys: Vec<String> = self.companies.iter().map(|c| format!("key-{c}")).collect();
        sqlx::query("insert into companies (id, company_key, name) select id, k, 'Company ' || k from unnest($1::uuid[], $2::text[]) as t (id, k)")
            .bind(&self.companies)
            .bind(&keys)
            .execute(&mut *conn)
            .await?;
        let ids: Vec<Uuid> = self.users.iter().map(|u| u.id).collect();
        let cs: Vec<Uuid> = self.users.iter().map(|u| u.company).collect();
        let rs: Vec<&str> = self.users.iter().map(|u| u.role).collect();
        sqlx::query("insert into users (id, company_id, email, password_hash, role) select id, c, 'user-' || id || '@example.com', 'x', r from unnest($1::uuid[], $2::uuid[], $3::text[]) as t (id, c, r)")
            .bind(&ids)
            .bind(&cs)
            .bind(&rs)
            .execute(&mut *conn)
            .await?;
        let ids: Vec<Uuid> = self.projects.iter().map(|p| p.0.id).collect();
        let cs: Vec<Uuid> = self.projects.iter().map(|p| p.0.company).collect();
        let units: Vec<i32> = self.projects.iter().map(|p| p.1).collect();
        sqlx::query("insert into projects (id, company_id, name, location, total_units) select id, c, 'Project ' || id, 'Springfield, IL', n from unnest($1::uuid[], $2::uuid[], $3::int4[]) as t (id, c, n)")
            .bind(&ids)
            .bind(&cs)
            .bind(&units)
            .execute(&mut *conn)
            .await?;
        let ids: Vec<Uuid> = self.applicants.iter().map(|p| p.id).collect();
        let cs: Vec<Uuid> = self.applicants.iter().map(|p| p.company).collect();
        sqlx::query("insert into applicants (id, company_id, first_name, last_name, email) select id, c, 'Ann', 'Lee', 'ann-' || id || '@example.com' from unnest($1::uuid[], $2::uuid[]) as t (id, c)")
            .bind(&ids)
            .bind(&cs)
            .execute(&mut *conn)
            .await?;
        let ids: Vec<Uuid> = self.applications.iter().map(|p| p.id).collect();
        let cs: Vec<Uuid> = self.applications.iter().map(|p| p.company).collect();
        let ps: Vec<Uuid> = self.applications.iter().map(|p| p.project).collect();
        let xs: Vec<Uuid> = self.applications.iter().map(|p| p.applicant).collect();
        sqlx::query("insert into applications (id, company_id, project_id, applicant_id) select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[])")
            .bind(&ids)
            .bind(&cs)
            .bind(&ps)
            .bind(&xs)
            .execute(&mut *conn)
            .await?;
        let ids: Vec<Uuid> = self.contacts.iter().map(|p| p.id).collect();
        let cs: Vec<Uuid> = self.contacts.iter().map(|p| p.company).collect();
        sqlx::query("insert into contact_submissions (id, company_id, name, email, subject, message) select id, c, 'Visitor', 'v@example.com', 'Hello', 'A question' from unnest($1::uuid[], $2::uuid[]) as t (id, c)")
            .bind(&ids)
            .bind(&cs)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// Insert one new row of `table` for `company` as the connection's role.
/// `parents` are the (project, applicant) an application points at.
async fn insert_row(
    conn: &mut PgConnection,
    table: &str,
    id: Uuid,
    company: Uuid,
    parents: (Uuid, Uuid),
) -> Result<u64, sqlx::Error> {
    let q = match table {
        "companies" => sqlx::query("insert into companies (id, company_key, name) values ($1, 'new-' || $1, 'New')").bind(id),
        "users" => sqlx::query("insert into users (id, company_id, email, password_hash, role) values ($1, $2, 'new-' || $1 || '@example.com', 'x', 'lender')").bind(id).bind(company),
        "projects" => sqlx::query("insert into projects (id, company_id, name, total_units) values ($1, $2, 'New project', 1)").bind(id).bind(company),
        "applicants" => sqlx::query("insert into applicants (id, company_id, first_name, last_name, email) values ($1, $2, 'New', 'Applicant', 'n@example.com')").bind(id).bind(company),
        "applications" => sqlx::query("insert into applications (id, company_id, project_id, applicant_id) values ($1, $2, $3, $4)").bind(id).bind(company).bind(parents.0).bind(parents.1),
        "contact_submissions" => sqlx::query("insert into contact_submissions (id, company_id, name, email, subject, message) values ($1, $2, 'V', 'v@example.com', 'S', 'M')").bind(id).bind(company),
        "audit_logs" => sqlx::query("insert into audit_logs (id, company_id, table_name, record_id, action) values ($1, $2, 'projects', $1, 'INSERT')").bind(id).bind(company),
        other => panic!("unknown table {other}"),
    };
    Ok(q.execute(&mut *conn).await?.rows_affected())
}

/// A harmless column each table's "touch" update rewrites with itself.
fn touch_column(table: &str) -> &'static str {
    match table {
        "companies" | "projects" => "name",
        "users" => "first_name",
        "applicants" => "notes",
        "applications" => "rejection_reason",
        "contact_submissions" => "status",
        _ => "user_agent",
    }
}

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.to_string())
}

// ----------------------------------------------------------- databases

/// A scratch database on `c`: our migrations, the baseline world, then
/// `extra` SQL (a flaw, or the correct form of an object the flaw spoils).
async fn database(c: &Cluster, name: &str, extra: &[&str]) -> Endpoint {
    let mut su = c.primary().connect().await.unwrap();
    sqlx::query(AssertSqlSafe(format!("create database {name}")))
        .execute(&mut su)
        .await
        .unwrap();
    let ep = c.primary().with_database(name);
    let mut conn = ep.connect().await.unwrap();
    fixtures::schema::MIGRATOR.run(&mut conn).await.unwrap();
    World::baseline().insert(&mut conn).await.unwrap();
    for sql in extra {
        sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("fixture failed in {name}: {e}\n{sql}"));
    }
    ep
}

/// A superuser connection that acts as `role` from now on (docs/rls.md, pitfall 1:
/// never run an isolation check as the superuser itself).
async fn as_role(ep: &Endpoint, role: &str) -> PgConnection {
    let mut conn = ep.connect().await.unwrap();
    sqlx::query(AssertSqlSafe(format!("set role {role}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let (user, sup): (String, bool) = sqlx::query_as(
        "select current_user::text, rolsuper from pg_roles where rolname = current_user",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(user, role);
    assert!(!sup, "{role} must not be a superuser");
    conn
}

/// The tenant tables, found in the catalog (not from a list: docs/rls.md, pitfall 2):
/// tables with `company_id`, and the table that column references.
async fn tenant_tables(conn: &mut PgConnection) -> Vec<(String, String, bool, bool)> {
    sqlx::query_as(
        "select c.relname::text, case when a.attname is null then 'id' else 'company_id' end,
                c.relrowsecurity, c.relforcerowsecurity
         from pg_class c
         join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
         left join pg_attribute a on a.attrelid = c.oid and a.attname = 'company_id' and not a.attisdropped
         where c.relkind in ('r', 'p')
           and (a.attname is not null or exists (
                select 1 from pg_constraint f
                join pg_attribute fa on fa.attrelid = f.conrelid and fa.attnum = f.conkey[1]
                where f.contype = 'f' and f.confrelid = c.oid and fa.attname = 'company_id'))
         order by 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

async fn can(conn: &mut PgConnection, role: &str, table: &str, privilege: &str) -> bool {
    sqlx::query_scalar("select has_table_privilege($1, $2, $3)")
        .bind(role)
        .bind(table)
        .bind(privilege)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// As `ctx` on an app connection: for every tenant table the role may read,
/// the rows it sees that belong to another tenant (`table: n`).
async fn foreign_rows(conn: &mut PgConnection, role: &str, ctx: &TenantContext) -> Vec<String> {
    let tables = tenant_tables(conn).await;
    let mut leaks = Vec::new();
    for (table, col, _, _) in tables {
        if !can(conn, role, &table, "SELECT").await {
            continue;
        }
        let mut tx = tenant::begin(conn, ctx).await.unwrap();
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "select count(*) from {table} where {col} is distinct from $1"
        )))
        .bind(ctx.company_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("select from {table} as {role}: {e}"));
        tx.rollback().await.unwrap();
        if n > 0 {
            leaks.push(format!(
                "{table}: {n} row(s) of another tenant visible to {role}"
            ));
        }
    }
    leaks
}

fn verdict(problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Run `probe` on our schema (must pass), then on the flawed variant (must
/// fail: the check is able to fail). The flawed database is made only after
/// our probe ran, because some flaws touch cluster-wide roles.
macro_rules! item_test {
    ($(#[$doc:meta])* $name:ident, ours: $ours:expr, flaw: $flaw:expr, $probe:ident) => {
        $(#[$doc])*
        #[tokio::test]
        async fn $name() {
            let c = support::native().await;
            let ours = database(&c, "ours", $ours).await;
            if let Err(e) = $probe(&c, &ours).await {
                panic!("{} fails on our schema: {e}", stringify!($name));
            }
            let flawed = database(&c, "flawed", &[$flaw]).await;
            match $probe(&c, &flawed).await {
                Ok(()) => panic!("{}: the flawed variant passed; the check cannot fail", stringify!($name)),
                Err(e) => eprintln!("{}: flawed variant caught: {e}", stringify!($name)),
            }
        }
    };
}

fn admin_of(w: &World, t: u64) -> TenantContext {
    let u = w.user(tenant(t), "admin");
    TenantContext::user(u.company, u.id, u.role)
}

fn lender_of(w: &World, t: u64) -> TenantContext {
    let u = w.user(tenant(t), "lender");
    TenantContext::user(u.company, u.id, u.role)
}

// ------------------------------------------ docs/rls.md, pitfalls 1-14

/// Item 1: RLS on and forced everywhere, the app role neither superuser,
/// BYPASSRLS nor owner, and, acting as it, no other tenant's row visible.
async fn probe_01(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut app = as_role(ep, roles::APP).await;
    let mut problems = foreign_rows(&mut app, roles::APP, &admin_of(&w, A)).await;
    let mut su = ep.connect().await.unwrap();
    for (table, _, rls, force) in tenant_tables(&mut su).await {
        if !(rls && force) {
            problems.push(format!(
                "{table}: relrowsecurity={rls} relforcerowsecurity={force}"
            ));
        }
    }
    let bad: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_roles r on r.rolname = 'portal_app'
         where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
           and (r.rolsuper or r.rolbypassrls or pg_has_role(r.oid, c.relowner, 'MEMBER'))",
    )
    .fetch_all(&mut su)
    .await
    .unwrap();
    for t in bad {
        problems.push(format!(
            "portal_app bypasses RLS on {t} (superuser, BYPASSRLS or owner)"
        ));
    }
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 1: owner / superuser / BYPASSRLS bypass.
    item01_owner_superuser_bypassrls, ours: &[], flaw: include_str!("rls_flawed/01_owner_bypass.sql"), probe_01
);

/// Item 2: every table with the tenant column, found in the catalog, has
/// RLS, and the app sees none of another tenant's rows in any of them.
async fn probe_02(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut su = ep.connect().await.unwrap();
    let tables = tenant_tables(&mut su).await;
    assert!(
        tables.len() >= TABLES.len(),
        "the catalog scan found {tables:?}"
    );
    let mut problems: Vec<String> = tables
        .iter()
        .filter(|t| !t.2)
        .map(|t| format!("{} has the tenant column and RLS off", t.0))
        .collect();
    let mut app = as_role(ep, roles::APP).await;
    problems.extend(foreign_rows(&mut app, roles::APP, &lender_of(&w, A)).await);
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 2: a tenant table without RLS.
    item02_tenant_table_without_rls, ours: &[], flaw: include_str!("rls_flawed/02_table_without_rls.sql"), probe_02
);

/// What one statement did: rows, or the SQLSTATE it failed with.
fn outcome(r: Result<u64, sqlx::Error>) -> Result<u64, String> {
    r.map_err(|e| sqlstate(&e).unwrap_or_else(|| format!("non-database error {e}")))
}

/// Item 3: with no tenant context, in all three states (never set on this
/// connection; '' left by an earlier transaction-local value; RESET), every
/// readable table returns zero rows and every insert is refused with 42501,
/// never a cast or lookup error.
async fn probe_03(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut problems = Vec::new();
    for state in ["never set", "'' after a transaction", "reset"] {
        let mut app = as_role(ep, roles::APP).await;
        match state {
            "never set" => {}
            "'' after a transaction" => {
                let tx = tenant::begin(&mut app, &admin_of(&w, A)).await.unwrap();
                tx.commit().await.unwrap();
            }
            _ => {
                sqlx::raw_sql("select set_config('app.company_id', (select gen_random_uuid())::text, false); reset app.company_id; reset app.user_id; reset app.user_role")
                    .execute(&mut app)
                    .await
                    .unwrap();
            }
        }
        let now: Option<String> =
            sqlx::query_scalar("select current_setting('app.company_id', true)")
                .fetch_one(&mut app)
                .await
                .unwrap();
        assert!(
            now.as_deref().unwrap_or("").is_empty(),
            "state {state}: context is {now:?}"
        );
        for table in TABLES {
            let mut tx = app.begin().await.unwrap();
            if can(&mut tx, roles::APP, table, "SELECT").await {
                let r: Result<i64, _> =
                    sqlx::query_scalar(AssertSqlSafe(format!("select count(*) from {table}")))
                        .fetch_one(&mut *tx)
                        .await;
                match r {
                    Ok(0) => {}
                    Ok(n) => {
                        problems.push(format!("{state}: {table} shows {n} rows with no tenant"))
                    }
                    Err(e) => problems.push(format!(
                        "{state}: select from {table} errors ({}) instead of returning no rows",
                        sqlstate(&e).unwrap_or_default()
                    )),
                }
            }
            tx.rollback().await.unwrap();
            let mut tx = app.begin().await.unwrap();
            let r = outcome(
                insert_row(
                    &mut tx,
                    table,
                    Uuid::new_v4(),
                    tenant(A),
                    (uid(3, A), uid(4, A)),
                )
                .await,
            );
            if r != Err("42501".into()) {
                problems.push(format!(
                    "{state}: insert into {table} with no tenant gave {r:?}, not 42501"
                ));
            }
            tx.rollback().await.unwrap();
        }
    }
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 3: unset tenant context fails closed in all three states.
    item03_unset_context_fails_closed, ours: &[], flaw: include_str!("rls_flawed/03_unset_context.sql"), probe_03
);

/// How the app sets the tenant: ours (transaction-local) or the classic
/// mistake (a session-level SET that outlives the transaction).
#[derive(Clone, Copy)]
enum Setter {
    Local,
    Session,
}

/// Item 4 on one pool of size 1 that logs in as `portal_app`: tenant A's
/// transaction, then a transaction with no context, then tenant B's; the
/// second must see nothing and the third only B.
async fn pool_interleaving(ep: &Endpoint, setter: Setter) -> Result<(), String> {
    let w = World::baseline();
    let mut su = ep.connect().await.unwrap();
    let app_ep = roles::login(ep, &mut su, roles::APP).await.unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(app_ep.connect_options())
        .await
        .unwrap();
    let count = "select count(*) from projects";
    let mut problems = Vec::new();
    for (step, ctx) in [
        (1, Some(admin_of(&w, A))),
        (2, None),
        (3, Some(admin_of(&w, B))),
        (4, None),
    ] {
        let mut conn = pool.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        if let Some(ctx) = &ctx {
            match setter {
                Setter::Local => tenant::set_local(&mut tx, ctx).await.unwrap(),
                Setter::Session => {
                    sqlx::query("select set_config('app.company_id', $1, false)")
                        .bind(ctx.company_id.to_string())
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                }
            }
        }
        let seen: i64 = sqlx::query_scalar(count)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| format!("step {step}: {e}"))?;
        let foreign: i64 = sqlx::query_scalar("select count(*) from projects where company_id is distinct from nullif(current_setting('app.company_id', true), '')::uuid")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        match &ctx {
            None if seen > 0 => problems.push(format!("step {step}: a transaction with no context saw {seen} project(s) left by the previous tenant")),
            Some(_) if seen != 1 || foreign > 0 => problems.push(format!("step {step}: saw {seen} projects, {foreign} of another tenant")),
            _ => {}
        }
    }
    pool.close().await;
    verdict(problems)
}

/// docs/rls.md, pitfall 4: context leaking across pooled connections.
#[tokio::test]
async fn item04_context_does_not_leak_across_pooled_transactions() {
    let c = support::native().await;
    let ours = database(&c, "ours", &[]).await;
    pool_interleaving(&ours, Setter::Local)
        .await
        .expect("our tenant::begin on a pool of one");
    let e = pool_interleaving(&ours, Setter::Session)
        .await
        .expect_err("a session-level SET must be caught leaking into the next transaction");
    eprintln!("item04: session-level SET caught: {e}");
    let flawed = database(
        &c,
        "flawed",
        &[include_str!("rls_flawed/04_role_default_tenant.sql")],
    )
    .await;
    let e = pool_interleaving(&flawed, Setter::Local)
        .await
        .expect_err("a per-role default tenant must be caught");
    eprintln!("item04: role default tenant caught: {e}");
}

/// Item 5: as tenant A, inserting a row for B and moving A's row to B are
/// refused with 42501 on every table the app may write.
async fn probe_05(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut app = as_role(ep, roles::APP).await;
    let mut problems = Vec::new();
    for table in TABLES {
        if can(&mut app, roles::APP, table, "INSERT").await {
            let mut tx = tenant::begin(&mut app, &admin_of(&w, A)).await.unwrap();
            let r = outcome(
                insert_row(
                    &mut tx,
                    table,
                    Uuid::new_v4(),
                    tenant(B),
                    (uid(3, B), uid(4, B)),
                )
                .await,
            );
            if r != Err("42501".into()) {
                problems.push(format!(
                    "tenant A inserting into {table} for tenant B gave {r:?}, not 42501"
                ));
            }
            tx.rollback().await.unwrap();
        }
        if can(&mut app, roles::APP, table, "UPDATE").await {
            let mut tx = tenant::begin(&mut app, &admin_of(&w, A)).await.unwrap();
            let k = key(table);
            let r = outcome(
                sqlx::query(AssertSqlSafe(format!(
                    "update {table} set {k} = $1 where {k} = $2"
                )))
                .bind(tenant(B))
                .bind(tenant(A))
                .execute(&mut *tx)
                .await
                .map(|r| r.rows_affected()),
            );
            if r != Err("42501".into()) {
                problems.push(format!(
                    "tenant A moving its {table} rows to tenant B gave {r:?}, not 42501"
                ));
            }
            tx.rollback().await.unwrap();
        }
    }
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 5: missing WITH CHECK.
    item05_with_check_refuses_writes_into_other_tenants, ours: &[], flaw: include_str!("rls_flawed/05_missing_with_check.sql"), probe_05
);

/// The exact policy set of our schema: (table, policy, command, permissive, roles).
const EXPECTED_POLICIES: &[(&str, &str, &str, bool, &str)] = &[
    (
        "applicants",
        "applicants_tenant",
        "*",
        true,
        "portal_app,portal_reader",
    ),
    (
        "applications",
        "applications_tenant",
        "*",
        true,
        "portal_app,portal_reader",
    ),
    (
        "audit_logs",
        "audit_logs_select",
        "r",
        true,
        "portal_app,portal_reader",
    ),
    (
        "companies",
        "companies_tenant",
        "*",
        true,
        "portal_app,portal_reader",
    ),
    (
        "contact_submissions",
        "contact_submissions_insert",
        "a",
        true,
        "portal_app",
    ),
    (
        "contact_submissions",
        "contact_submissions_select",
        "r",
        true,
        "portal_reader",
    ),
    (
        "projects",
        "projects_tenant",
        "*",
        true,
        "portal_app,portal_reader",
    ),
    ("users", "users_delete", "d", true, "portal_app"),
    ("users", "users_insert", "a", true, "portal_app"),
    (
        "users",
        "users_select",
        "r",
        true,
        "portal_app,portal_reader",
    ),
    ("users", "users_update", "w", true, "portal_app"),
];

/// Item 6: the policy set is exactly the expected one, and for admins,
/// non-admins and company-only contexts of both tenants every visible row is
/// the context's tenant's (users: only one's own row unless admin).
async fn probe_06(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut su = ep.connect().await.unwrap();
    let got: Vec<(String, String, String, bool, String)> = sqlx::query_as(
        "select c.relname::text, p.polname::text, p.polcmd::text, p.polpermissive,
                array_to_string(array(select pg_get_userbyid(r) from unnest(p.polroles) r order by 1), ',')
         from pg_policy p join pg_class c on c.oid = p.polrelid order by 1, 2",
    )
    .fetch_all(&mut su)
    .await
    .unwrap();
    let expected: Vec<(String, String, String, bool, String)> = EXPECTED_POLICIES
        .iter()
        .map(|(t, p, c, perm, r)| {
            (
                t.to_string(),
                p.to_string(),
                c.to_string(),
                *perm,
                r.to_string(),
            )
        })
        .collect();
    let mut problems = Vec::new();
    if got != expected {
        problems.push(format!("policy set differs: got {got:?}"));
    }
    let mut app = as_role(ep, roles::APP).await;
    for t in [A, B] {
        for ctx in [
            admin_of(&w, t),
            lender_of(&w, t),
            TenantContext::company(tenant(t)),
        ] {
            problems.extend(foreign_rows(&mut app, roles::APP, &ctx).await);
            let mut tx = tenant::begin(&mut app, &ctx).await.unwrap();
            let users: Vec<Uuid> = sqlx::query_scalar("select id from users")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            let allowed: Vec<Uuid> = w
                .users
                .iter()
                .filter(|u| {
                    u.company == ctx.company_id
                        && (Some(u.id) == ctx.user_id || ctx.role.as_deref() == Some("admin"))
                })
                .map(|u| u.id)
                .collect();
            if users.iter().collect::<BTreeSet<_>>() != allowed.iter().collect::<BTreeSet<_>>() {
                problems.push(format!(
                    "{ctx:?} sees users {users:?}, expected {allowed:?}"
                ));
            }
        }
    }
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 6: permissive policies OR together.
    item06_exact_policy_set_and_no_widening, ours: &[], flaw: include_str!("rls_flawed/06_permissive_admin.sql"), probe_06
);

/// Item 7: every view over a tenant table runs as its caller, and through
/// every view the app sees only its tenant.
async fn probe_07(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut su = ep.connect().await.unwrap();
    let views: Vec<(String, bool)> = sqlx::query_as(
        "select c.relname::text, coalesce(c.reloptions::text[] && array['security_invoker=true', 'security_invoker=on'], false)
         from pg_class c where c.relkind = 'v' and c.relnamespace = 'public'::regnamespace order by 1",
    )
    .fetch_all(&mut su)
    .await
    .unwrap();
    assert!(!views.is_empty(), "both variants define project_overview");
    let mut problems = Vec::new();
    let mut app = as_role(ep, roles::APP).await;
    for (view, invoker) in views {
        if !invoker {
            problems.push(format!("view {view} has no security_invoker"));
        }
        let mut tx = tenant::begin(&mut app, &lender_of(&w, A)).await.unwrap();
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "select count(*) from {view} where company_id <> $1"
        )))
        .bind(tenant(A))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        if n > 0 {
            problems.push(format!(
                "view {view} shows tenant A {n} row(s) of another tenant"
            ));
        }
    }
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 7: views run as their owner unless security_invoker.
    item07_views_run_as_invoker, ours: &[include_str!("rls_flawed/07_view.ours.sql")], flaw: include_str!("rls_flawed/07_view.sql"), probe_07
);

/// Item 8: SECURITY DEFINER functions pin search_path; and the audit
/// trigger, called by an app session that shadows `audit_logs` with a
/// temporary table, still writes the real trail, in the caller's tenant
/// only.
async fn probe_08(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut su = ep.connect().await.unwrap();
    let unpinned: Vec<String> = sqlx::query_scalar(
        "select p.proname::text from pg_proc p
         where p.prosecdef and p.pronamespace = 'public'::regnamespace
           and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=%')",
    )
    .fetch_all(&mut su)
    .await
    .unwrap();
    let mut problems: Vec<String> = unpinned
        .iter()
        .map(|f| format!("SECURITY DEFINER {f} has no pinned search_path"))
        .collect();
    let mut app = as_role(ep, roles::APP).await;
    sqlx::raw_sql("create temp table audit_logs (like public.audit_logs including defaults); grant all on pg_temp.audit_logs to public")
        .execute(&mut app)
        .await
        .unwrap();
    let id = Uuid::new_v4();
    let mut tx = tenant::begin(&mut app, &admin_of(&w, A)).await.unwrap();
    insert_row(&mut tx, "projects", id, tenant(A), (id, id))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let trail: Vec<Uuid> =
        sqlx::query_scalar("select company_id from public.audit_logs where record_id = $1")
            .bind(id)
            .fetch_all(&mut su)
            .await
            .unwrap();
    if trail != vec![tenant(A)] {
        problems.push(format!("the audit trail for a project tenant A inserted has tenants {trail:?}, expected exactly [A] (the write was audited elsewhere)"));
    }
    let mut tx = tenant::begin(&mut app, &admin_of(&w, B)).await.unwrap();
    let seen: i64 =
        sqlx::query_scalar("select count(*) from public.audit_logs where record_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();
    if seen > 0 {
        problems.push("tenant B reads tenant A's audit row".into());
    }
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 8: SECURITY DEFINER functions.
    item08_definer_functions_pin_search_path, ours: &[], flaw: include_str!("rls_flawed/08_definer_search_path.sql"), probe_08
);

/// Item 8, the other half: a SECURITY DEFINER function that reads tenant
/// rows for the app (the applicant search, which must keep its GIN index
/// under RLS) returns only the caller's tenant's rows, and nothing with no
/// context, whatever it is asked for.
async fn probe_08_search(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut su = ep.connect().await.unwrap();
    // A word of tenant A's projects, for the project search.
    let word: String = sqlx::query_scalar(
        "select word from ts_stat(format('select search_vector from projects where company_id = %L', $1::text))
         order by ndoc desc, word limit 1",
    )
    .bind(tenant(A))
    .fetch_one(&mut su)
    .await
    .unwrap();
    let all = "{planning,construction,marketing,accepting_applications,completed}";
    // Each function the app calls to search a tenant's rows, and the same
    // rows found by a plain query as the superuser (the oracle).
    let cases = [
        (
            "search_applicants('Ann Lee', 100)".to_string(),
            "select id from applicants where company_id = $1 \
             and search_vector @@ plainto_tsquery('english', 'Ann Lee') order by id limit 100"
                .to_string(),
        ),
        (
            format!("filter_projects('FIELD', '{all}', 100, 0)"),
            "select id from projects where company_id = $1 and location ilike '%field%' \
             order by id limit 100"
                .to_string(),
        ),
        (
            format!("search_projects('{word}', '{all}', 100, 0)"),
            format!(
                "select id from projects where company_id = $1 \
                 and search_vector @@ plainto_tsquery('english', '{word}') order by id limit 100"
            ),
        ),
    ];
    let mut app = as_role(ep, roles::APP).await;
    let mut problems = Vec::new();
    for (call, oracle) in &cases {
        let own: Vec<Uuid> = sqlx::query_scalar(AssertSqlSafe(oracle.clone()))
            .bind(tenant(A))
            .fetch_all(&mut su)
            .await
            .unwrap();
        let others: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "select count(*) from ({}) o",
            oracle.replace("company_id = $1", "company_id <> $1")
        )))
        .bind(tenant(A))
        .fetch_one(&mut su)
        .await
        .unwrap();
        assert!(
            !own.is_empty() && others > 0,
            "the baseline world has rows for {call} in A and elsewhere"
        );
        let mut tx = tenant::begin(&mut app, &admin_of(&w, A)).await.unwrap();
        let found: Vec<Uuid> = sqlx::query_scalar(AssertSqlSafe(format!("select id from {call}")))
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let foreign = found.iter().filter(|id| !own.contains(id)).count();
        if foreign > 0 {
            problems.push(format!(
                "as tenant A {call} returned {foreign} row(s) of other tenants"
            ));
        }
        if found.len() != own.len() {
            problems.push(format!(
                "as tenant A {call} returned {} of A's {} rows",
                found.len(),
                own.len()
            ));
        }
        let mut tx = sqlx::Connection::begin(&mut app).await.unwrap();
        let unset: i64 = sqlx::query_scalar(AssertSqlSafe(format!("select count(*) from {call}")))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        if unset > 0 {
            problems.push(format!("with no context {call} returned {unset} row(s)"));
        }
    }
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 8: a definer function that reads tenant rows
    /// applies the tenant predicate itself.
    item08_definer_search_returns_only_the_callers_tenant, ours: &[], flaw: include_str!("rls_flawed/08_search_function.sql"), probe_08_search
);
item_test!(
    /// The same for the project location filter of migration 0104.
    item08_definer_project_filter_returns_only_the_callers_tenant, ours: &[], flaw: include_str!("rls_flawed/08_project_filter_function.sql"), probe_08_search
);

/// Item 9: a query whose WHERE clause raises on tenant B's hidden row (13
/// units) behaves, for tenant A, exactly as over no rows: no error. Index
/// scans are off so the hidden row is really read.
async fn probe_09(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut app = as_role(ep, roles::APP).await;
    let mut problems = Vec::new();
    for pred in [
        "units_ratio(total_units) > 0",
        "100 / (total_units - 13) > 0",
    ] {
        let mut results = Vec::new();
        for ctx in [lender_of(&w, A), TenantContext::company(Uuid::new_v4())] {
            let mut tx = tenant::begin(&mut app, &ctx).await.unwrap();
            sqlx::raw_sql("set local enable_indexscan = off; set local enable_bitmapscan = off")
                .execute(&mut *tx)
                .await
                .unwrap();
            let r: Result<i64, _> = sqlx::query_scalar(AssertSqlSafe(format!(
                "select count(*) from projects where {pred}"
            )))
            .fetch_one(&mut *tx)
            .await;
            results.push(r.map_err(|e| sqlstate(&e).unwrap_or_default()));
            tx.rollback().await.unwrap();
        }
        if results != vec![Ok(0), Ok(0)] {
            problems.push(format!(
                "`{pred}` as tenant A vs over no rows: {results:?} (an error reveals a hidden row)"
            ));
        }
    }
    let mut su = ep.connect().await.unwrap();
    let leaky: Vec<String> = sqlx::query_scalar("select proname::text from pg_proc where proleakproof and pronamespace = 'public'::regnamespace")
        .fetch_all(&mut su)
        .await
        .unwrap();
    problems.extend(
        leaky
            .into_iter()
            .map(|f| format!("{f} is marked LEAKPROOF")),
    );
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 9: error side channels.
    item09_errors_do_not_reveal_hidden_rows, ours: &[include_str!("rls_flawed/09_leakproof.ours.sql")], flaw: include_str!("rls_flawed/09_leakproof.sql"), probe_09
);

/// Item 10: tenant A cannot point an application at tenant B's project
/// (the composite key refuses it), and registering an e-mail address that
/// tenant B uses raises no duplicate-key error.
async fn probe_10(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut app = as_role(ep, roles::APP).await;
    let mut problems = Vec::new();
    let mut tx = tenant::begin(&mut app, &admin_of(&w, A)).await.unwrap();
    let r = outcome(
        insert_row(
            &mut tx,
            "applications",
            Uuid::new_v4(),
            tenant(A),
            (uid(3, B), uid(4, A)),
        )
        .await,
    );
    if r != Err("23503".into()) {
        problems.push(format!("tenant A's application pointing at tenant B's project gave {r:?}, not a foreign-key refusal"));
    }
    tx.rollback().await.unwrap();
    let b_email = format!("user-{}@example.com", w.user(tenant(B), "admin").id);
    let mut tx = tenant::begin(&mut app, &admin_of(&w, A)).await.unwrap();
    let r = outcome(
        sqlx::query("insert into users (company_id, email, password_hash, role) values ($1, $2, 'x', 'buyer')")
            .bind(tenant(A))
            .bind(&b_email)
            .execute(&mut *tx)
            .await
            .map(|r| r.rows_affected()),
    );
    tx.rollback().await.unwrap();
    if r != Ok(1) {
        problems.push(format!("tenant A registering an address tenant B uses gave {r:?}: the error tells A that B has it"));
    }
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 10: unique and foreign-key checks ignore RLS.
    item10_keys_are_tenant_scoped, ours: &[], flaw: include_str!("rls_flawed/10_global_keys.sql"), probe_10
);

/// Item 11: the app holds neither TRUNCATE nor REFERENCES on any tenant
/// table, and a TRUNCATE as the app is refused.
async fn probe_11(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut su = ep.connect().await.unwrap();
    let mut problems = Vec::new();
    for (table, ..) in tenant_tables(&mut su).await {
        for p in ["TRUNCATE", "REFERENCES"] {
            if can(&mut su, roles::APP, &table, p).await {
                problems.push(format!("portal_app holds {p} on {table}"));
            }
        }
    }
    let mut app = as_role(ep, roles::APP).await;
    for table in TABLES {
        let mut tx = tenant::begin(&mut app, &admin_of(&w, A)).await.unwrap();
        // No CASCADE: with the flaw, the refusal then comes from the foreign
        // keys (0A000), after the privilege check has already let it through.
        let r = outcome(
            sqlx::query(AssertSqlSafe(format!("truncate {table}")))
                .execute(&mut *tx)
                .await
                .map(|r| r.rows_affected()),
        );
        tx.rollback().await.unwrap();
        if r != Err("42501".into()) {
            problems.push(format!(
                "truncate {table} as tenant A gave {r:?}: it would empty every tenant"
            ));
        }
    }
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 11: TRUNCATE / REFERENCES are not covered by RLS.
    item11_no_truncate_or_references, ours: &[], flaw: include_str!("rls_flawed/11_truncate_references.sql"), probe_11
);

/// Item 12: no tenant-table column draws from a sequence; and any integer
/// column with a default, on A's rows inserted around one of B's, shows no
/// gap that counts B's insert.
async fn probe_12(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut su = ep.connect().await.unwrap();
    let seq_cols: Vec<(String, String)> = sqlx::query_as(
        "select c.relname::text, a.attname::text from pg_attribute a
         join pg_class c on c.oid = a.attrelid and c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
         left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
         where a.attnum > 0 and not a.attisdropped
           and (a.attidentity <> '' or pg_get_expr(d.adbin, d.adrelid) like 'nextval(%')",
    )
    .fetch_all(&mut su)
    .await
    .unwrap();
    let mut problems: Vec<String> = seq_cols
        .iter()
        .map(|(t, c)| format!("{t}.{c} draws from a sequence"))
        .collect();
    let mut app = as_role(ep, roles::APP).await;
    let mut a_rows = Vec::new();
    for t in [A, B, A] {
        let id = Uuid::new_v4();
        let mut tx = tenant::begin(&mut app, &admin_of(&w, t)).await.unwrap();
        insert_row(&mut tx, "projects", id, tenant(t), (id, id))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        if t == A {
            a_rows.push(id);
        }
    }
    for (table, col) in seq_cols.iter().filter(|(t, _)| t == "projects") {
        let mut tx = tenant::begin(&mut app, &admin_of(&w, A)).await.unwrap();
        let v: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "select {col}::int8 from {table} where id = any($1) order by 1"
        )))
        .bind(&a_rows)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        if v.len() == 2 && v[1] - v[0] > 1 {
            problems.push(format!(
                "tenant A's {table}.{col} went {} -> {}: the gap counts another tenant's inserts",
                v[0], v[1]
            ));
        }
    }
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 12: sequences and global ids.
    item12_no_shared_sequences, ours: &[], flaw: include_str!("rls_flawed/12_sequence_ids.sql"), probe_12
);

/// Item 13: on the replica, the reader and the app see exactly their
/// tenant's rows in every table they may read, and nothing with no
/// context; the replica holds the primary's policies.
async fn probe_13(c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut su = ep.connect().await.unwrap();
    let lsn: String = sqlx::query_scalar("select pg_current_wal_insert_lsn()::text")
        .fetch_one(&mut su)
        .await
        .unwrap();
    c.wait_for_replay(&lsn, Duration::from_secs(30))
        .await
        .unwrap();
    let replica = c.require_replica().unwrap().with_database(&ep.database);
    let policies = "select string_agg(polname || ':' || pg_get_expr(polqual, polrelid), ',' order by polname) from pg_policy";
    let mut rsu = replica.connect().await.unwrap();
    let on_primary: Option<String> = sqlx::query_scalar(policies)
        .fetch_one(&mut su)
        .await
        .unwrap();
    let on_replica: Option<String> = sqlx::query_scalar(policies)
        .fetch_one(&mut rsu)
        .await
        .unwrap();
    assert_eq!(
        on_primary, on_replica,
        "the replica has the primary's policies"
    );
    let read_only: bool = sqlx::query_scalar("select pg_is_in_recovery()")
        .fetch_one(&mut rsu)
        .await
        .unwrap();
    assert!(read_only, "the replica endpoint is a standby");
    let mut problems = Vec::new();
    for role in [roles::READER, roles::APP] {
        let mut conn = as_role(&replica, role).await;
        for t in [A, B] {
            problems.extend(
                foreign_rows(&mut conn, role, &admin_of(&w, t))
                    .await
                    .into_iter()
                    .map(|p| format!("replica: {p}")),
            );
            let mut tx = tenant::begin(&mut conn, &admin_of(&w, t)).await.unwrap();
            let n: i64 = sqlx::query_scalar("select count(*) from projects")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            if n != 1 {
                problems.push(format!(
                    "replica: {role} as tenant {t:x} sees {n} projects, expected its 1"
                ));
            }
        }
        for table in TABLES {
            if !can(&mut conn, role, table, "SELECT").await {
                continue;
            }
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("select count(*) from {table}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
            if n > 0 {
                problems.push(format!(
                    "replica: {role} with no context sees {n} rows of {table}"
                ));
            }
        }
    }
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 13: the replica.
    item13_replica_reads_are_isolated, ours: &[], flaw: include_str!("rls_flawed/13_reader_policy.sql"), probe_13
);

/// COPY `rows` (id, company_id, name) into projects on `conn`.
async fn copy_projects(conn: &mut PgConnection, rows: &[(Uuid, Uuid)]) -> Result<u64, sqlx::Error> {
    let mut copy = conn
        .copy_in_raw("copy projects (id, company_id, name) from stdin")
        .await?;
    let mut data = String::new();
    for (id, c) in rows {
        data.push_str(&format!("{id}\t{c}\tCopied\n"));
    }
    copy.send(data.into_bytes()).await?;
    copy.finish().await
}

/// Item 14: COPY FROM as the app role is refused; the bulk load runs as
/// portal_owner; afterwards the app still sees only its tenant's rows.
async fn probe_14(_c: &Cluster, ep: &Endpoint) -> Result<(), String> {
    let w = World::baseline();
    let mut problems = Vec::new();
    let mut app = as_role(ep, roles::APP).await;
    let mut tx = tenant::begin(&mut app, &admin_of(&w, A)).await.unwrap();
    match copy_projects(&mut tx, &[(Uuid::new_v4(), tenant(B))]).await {
        Err(e) if sqlstate(&e).as_deref() == Some("0A000") => {}
        other => problems.push(format!(
            "COPY FROM as portal_app gave {:?}, not 0A000 (refused under RLS)",
            other.map_err(|e| e.to_string())
        )),
    }
    tx.rollback().await.unwrap();
    let mut owner = as_role(ep, roles::OWNER).await;
    let rows: Vec<(Uuid, Uuid)> = (0..50)
        .map(|i| (Uuid::new_v4(), tenant(if i % 2 == 0 { A } else { B })))
        .collect();
    let n = copy_projects(&mut owner, &rows)
        .await
        .expect("the bulk load as portal_owner");
    assert_eq!(n, 50);
    problems.extend(
        foreign_rows(&mut app, roles::APP, &admin_of(&w, A))
            .await
            .into_iter()
            .map(|p| format!("after the load: {p}")),
    );
    verdict(problems)
}
item_test!(
    /// docs/rls.md, pitfall 14: COPY and RLS.
    item14_copy_runs_as_owner_and_app_stays_isolated, ours: &[], flaw: include_str!("rls_flawed/14_copy_as_app.sql"), probe_14
);

// ------------------------------------------------------------- audit-rls

/// Every flaw fixture (item 4's role default and item 14's BYPASSRLS
/// included), for the audit's flawed schema.
const ALL_FLAWS: &[&str] = &[
    include_str!("rls_flawed/01_owner_bypass.sql"),
    include_str!("rls_flawed/02_table_without_rls.sql"),
    include_str!("rls_flawed/03_unset_context.sql"),
    include_str!("rls_flawed/05_missing_with_check.sql"),
    include_str!("rls_flawed/06_permissive_admin.sql"),
    include_str!("rls_flawed/07_view.sql"),
    include_str!("rls_flawed/08_definer_search_path.sql"),
    include_str!("rls_flawed/09_leakproof.sql"),
    include_str!("rls_flawed/10_global_keys.sql"),
    include_str!("rls_flawed/11_truncate_references.sql"),
    include_str!("rls_flawed/12_sequence_ids.sql"),
    include_str!("rls_flawed/13_reader_policy.sql"),
];

/// What the catalog looks like: a digest of every catalog row the audit
/// reads or could have changed, plus the data.
async fn catalog_snapshot(ep: &Endpoint) -> String {
    let mut conn = ep.connect().await.unwrap();
    sqlx::query_scalar(
        "select md5(string_agg(x, '|' order by x)) from (
           select concat_ws(' ', 'class', oid, relname, relowner, relkind::text, relrowsecurity, relforcerowsecurity,
                            reloptions::text, relacl::text) as x from pg_class
           union all select concat_ws(' ', 'policy', oid, polname, polcmd::text, pg_get_expr(polqual, polrelid),
                            pg_get_expr(polwithcheck, polrelid)) from pg_policy
           union all select concat_ws(' ', 'proc', oid, proname, prosecdef, proleakproof, proconfig::text) from pg_proc
           union all select concat_ws(' ', 'role', oid, rolname, rolsuper, rolbypassrls, rolcanlogin) from pg_roles
           union all select concat_ws(' ', 'constraint', oid, conname) from pg_constraint
           union all select concat_ws(' ', 'namespace', oid, nspname) from pg_namespace
           union all select 'rows ' || (select count(*) from companies) || ' ' || (select count(*) from projects)
                  || ' ' || (select count(*) from audit_logs)
         ) s",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

/// `audit-rls` finds nothing on our schema (with the correct view and
/// helper of items 7 and 9 added), and on the flawed schema finds each
/// flaw as the check named for it.
#[tokio::test]
async fn audit_rls_passes_our_schema_and_finds_each_flaw() {
    let c = support::native().await;
    let ours = database(
        &c,
        "ours",
        &[
            include_str!("rls_flawed/07_view.ours.sql"),
            include_str!("rls_flawed/09_leakproof.ours.sql"),
        ],
    )
    .await;
    let report = harness::rls::audit_url(&ours.url(), &portal_audit())
        .await
        .unwrap();
    assert_eq!(report.tenant_tables.len(), 7, "{:?}", report.tenant_tables);
    assert!(
        report.findings.is_empty(),
        "our schema has findings:\n{}",
        report.to_text()
    );

    let mut flaws: Vec<&str> = ALL_FLAWS.to_vec();
    flaws.push(include_str!("rls_flawed/14_copy_as_app.sql"));
    let flawed = database(&c, "flawed", &flaws).await;
    let mut conn = flawed.connect().await.unwrap();
    let report = audit(&mut conn, &portal_audit()).await.unwrap();
    let got: BTreeSet<(String, String)> = report
        .findings
        .iter()
        .map(|f| (f.check.clone(), f.object.clone()))
        .collect();
    let expected = [
        ("rls-not-forced", "public.applicants"),
        ("app-role-owner", "portal_app on public.applicants"),
        ("rls-disabled", "public.project_notes"),
        ("setting-not-missing-ok", "public.projects.projects_tenant"),
        (
            "write-check-missing",
            "public.applications.applications_tenant",
        ),
        ("policy-widens-access", "public.projects.projects_admin"),
        ("view-not-security-invoker", "public.project_overview"),
        ("definer-search-path", "public.audit_row_change()"),
        ("leakproof-function", "public.units_ratio(n integer)"),
        (
            "fk-without-tenant",
            "public.applications.applications_project_fkey",
        ),
        ("global-unique", "public.users.users_email_global"),
        ("app-role-truncate", "portal_app on public.users"),
        ("app-role-references", "portal_app on public.users"),
        ("sequence-id", "public.projects.number"),
        (
            "policy-widens-access",
            "public.projects.projects_reader_all",
        ),
        ("app-role-bypassrls", "portal_app"),
    ];
    let missing: Vec<_> = expected
        .iter()
        .filter(|(c, o)| !got.contains(&(c.to_string(), o.to_string())))
        .collect();
    assert!(
        missing.is_empty(),
        "missing findings {missing:?}; the audit said:\n{}",
        report.to_text()
    );
    for f in &report.findings {
        assert!(!f.hint.is_empty() && !f.message.is_empty(), "{f:?}");
    }
    let sev: BTreeMap<&str, Severity> = report
        .findings
        .iter()
        .map(|f| (f.check.as_str(), f.severity))
        .collect();
    assert_eq!(sev["rls-disabled"], Severity::Critical);
    assert_eq!(
        sev["global-unique"],
        Severity::Low,
        "item 10's existence leak is the documented lower-severity finding"
    );
}

/// The binary: exit 0 on our schema, 13 on findings at or above
/// `--fail-on`, 3 when the database is unreachable; and it changes nothing
/// in a database it did not create (catalog snapshot before and after).
#[tokio::test]
async fn audit_rls_cli_exit_codes_and_changes_nothing() {
    let c = support::native().await;
    let ours = database(&c, "ours", &[]).await;
    // Only a high-severity flaw: fails at the default (medium), passes at critical.
    let flawed = database(&c, "flawed", &[include_str!("rls_flawed/07_view.sql")]).await;
    let bin = env!("CARGO_BIN_EXE_harness");
    let run = |url: String, extra: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(["audit-rls", "--url", &url])
            .args(extra)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let before = (
        catalog_snapshot(&ours).await,
        catalog_snapshot(&flawed).await,
    );
    let (code, out) = run(ours.url(), &[]);
    assert_eq!(code, Some(harness::exit_codes::OK), "{out}");
    assert!(out.contains("no findings"), "{out}");
    let (code, out) = run(flawed.url(), &[]);
    assert_eq!(code, Some(harness::exit_codes::AUDIT_FINDINGS), "{out}");
    assert!(out.contains("view-not-security-invoker"), "{out}");
    let (code, _) = run(flawed.url(), &["--fail-on", "critical"]);
    assert_eq!(code, Some(harness::exit_codes::OK));
    let (code, out) = run(flawed.url(), &["--format", "json"]);
    assert_eq!(code, Some(harness::exit_codes::AUDIT_FINDINGS));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["findings"][0]["check"], "view-not-security-invoker");
    let after = (
        catalog_snapshot(&ours).await,
        catalog_snapshot(&flawed).await,
    );
    assert_eq!(before, after, "audit-rls changed the audited databases");
    // Port 1 on loopback: nothing listens there.
    let dead = "postgres://postgres@127.0.0.1:1/nowhere".to_string();
    let (code, _) = run(dead, &[]);
    assert_eq!(code, Some(harness::exit_codes::SETUP_FAILED));
}

// ------------------------------------------------------------ the property

/// Who acts in one operation.
#[derive(Debug, Clone)]
enum Ctx {
    /// A tenant (index into the case's tenants), as one of its users (index,
    /// with that user's role) or as the company alone.
    Tenant { t: usize, user: Option<usize> },
    /// A tenant id no company has.
    Ghost,
    /// No tenant: '' left by the case's earlier transaction-local values.
    Empty,
    /// No tenant: RESET after a session-level value.
    Reset,
    /// No tenant: a connection that never set one (it sees the committed
    /// baseline only).
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Select,
    Insert,
    Touch,
    Move,
    Delete,
}

#[derive(Debug, Clone)]
struct Op {
    ctx: Ctx,
    table: usize,
    cmd: Cmd,
    /// Which existing row (modulo the table's rows).
    target: usize,
    /// Which tenant an insert or move writes into (modulo the tenants).
    to: usize,
}

/// One generated case: extra tenants and rows on top of the baseline, then
/// a sequence of operations.
#[derive(Debug, Clone)]
struct Case {
    world: World,
    ops: Vec<Op>,
}

const ROLES: [&str; 5] = ["admin", "lender", "developer", "buyer", "applicant"];

fn case_strategy() -> impl Strategy<Value = Case> {
    let tenants = 1usize..=3;
    tenants
        .prop_flat_map(|n| {
            (
                Just(n),
                prop::collection::vec((0..n, 0..ROLES.len()), 0..5),
                prop::collection::vec((0..n, 0i32..30), 0..4),
                prop::collection::vec(0..n, 0..4),
                prop::collection::vec((0usize..8, 0usize..8), 0..4),
                prop::collection::vec(0..n, 0..3),
                prop::collection::vec(op_strategy(), 1..12),
            )
        })
        .prop_map(
            |(n, users, projects, applicants, applications, contacts, ops)| {
                // Generated tenants come after the baseline's two.
                let mut w = World {
                    companies: (0..n).map(|i| tenant(0x100 + i as u64)).collect(),
                    ..World::default()
                };
                let mut next = 0x1000u64;
                let mut id = |kind| {
                    next += 1;
                    uid(kind, next)
                };
                for (t, r) in users {
                    w.users.push(User {
                        id: id(2),
                        company: w.companies[t],
                        role: ROLES[r],
                    });
                }
                for (t, units) in projects {
                    w.projects.push((
                        Owned {
                            id: id(3),
                            company: w.companies[t],
                        },
                        units,
                    ));
                }
                for t in applicants {
                    w.applicants.push(Owned {
                        id: id(4),
                        company: w.companies[t],
                    });
                }
                // An application needs a project and an applicant of one tenant.
                let mut pairs = BTreeSet::new();
                for (p, a) in applications {
                    if w.projects.is_empty() {
                        break;
                    }
                    let (project, _) = &w.projects[p % w.projects.len()];
                    let mine: Vec<&Owned> = w
                        .applicants
                        .iter()
                        .filter(|x| x.company == project.company)
                        .collect();
                    if mine.is_empty() || !pairs.insert((project.id, mine[a % mine.len()].id)) {
                        continue;
                    }
                    w.applications.push(Application {
                        id: id(5),
                        company: project.company,
                        project: project.id,
                        applicant: mine[a % mine.len()].id,
                    });
                }
                for t in contacts {
                    w.contacts.push(Owned {
                        id: id(6),
                        company: w.companies[t],
                    });
                }
                Case { world: w, ops }
            },
        )
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let ctx = prop_oneof![
        6 => (0usize..5, prop::option::of(0usize..8)).prop_map(|(t, user)| Ctx::Tenant { t, user }),
        1 => Just(Ctx::Ghost),
        1 => Just(Ctx::Empty),
        1 => Just(Ctx::Reset),
        1 => Just(Ctx::Never),
    ];
    let cmd = prop_oneof![
        Just(Cmd::Select),
        Just(Cmd::Insert),
        Just(Cmd::Touch),
        Just(Cmd::Move),
        Just(Cmd::Delete)
    ];
    (ctx, 0..TABLES.len(), cmd, 0usize..64, 0usize..5).prop_map(|(ctx, table, cmd, target, to)| {
        Op {
            ctx,
            table,
            cmd,
            target,
            to,
        }
    })
}

/// The rows of `table` as the owner sees them: (id, tenant, users' role).
async fn truth(conn: &mut PgConnection, table: &str) -> Vec<(Uuid, Uuid, Option<String>)> {
    let role = if table == "users" {
        "role::text"
    } else {
        "null::text"
    };
    let sql = format!(
        "set local role none; select id, {k}, {role} from {table}; set local role portal_app",
        k = key(table)
    );
    let rows = sqlx::raw_sql(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// Owner-side rows of a table and per-tenant digests.
type OwnerView = (
    Vec<(Uuid, Uuid, Option<String>)>,
    BTreeMap<(String, Uuid), String>,
);

/// In one round trip: `first` (ending a savepoint, or nothing), then, as the
/// owner, the rows of `table` (when given) and per (table, tenant) a digest
/// of every row; the connection acts as `portal_app` again afterwards.
async fn owner_view(conn: &mut PgConnection, first: &str, table: Option<&str>) -> OwnerView {
    let parts: Vec<String> = TABLES
        .iter()
        .map(|t| format!("select '{t}'::text, {k}, md5(string_agg(x::text, '|' order by x::text)) from {t} x group by 2", k = key(t)))
        .collect();
    let rows_sql = table
        .map(|t| {
            let role = if t == "users" {
                "role::text"
            } else {
                "null::text"
            };
            format!("select 'row'::text, id, {k}, {role} from {t};", k = key(t))
        })
        .unwrap_or_default();
    let sql = format!(
        "{first}{sep} set local role none; {rows_sql} {digests}; set local role portal_app",
        sep = if first.is_empty() { "" } else { ";" },
        digests = parts.join(" union all "),
    );
    let out = sqlx::raw_sql(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let mut rows = Vec::new();
    let mut digests = BTreeMap::new();
    for r in &out {
        // Table rows carry four columns, digests three.
        if r.len() == 4 {
            rows.push((r.get(1), r.get(2), r.get(3)));
        } else {
            digests.insert(
                (r.get::<String, _>(0), r.get::<Uuid, _>(1)),
                r.get::<String, _>(2),
            );
        }
    }
    (rows, digests)
}

/// The context an op runs in, resolved against the case's tenants.
struct Acting {
    company: Option<Uuid>,
    user: Option<Uuid>,
    role: Option<&'static str>,
}

/// What the policies promise for `cmd` on a row of `table` owned by
/// `row_tenant` (with `row_id`), for `who`: may the row be seen / updated /
/// deleted?
fn may(table: &str, cmd: Cmd, who: &Acting, row_tenant: Uuid, row_id: Uuid) -> bool {
    let mine = who.company == Some(row_tenant);
    let admin = who.role == Some("admin");
    match (table, cmd) {
        ("users", Cmd::Select | Cmd::Touch | Cmd::Move) => {
            mine && (who.user == Some(row_id) || admin)
        }
        ("users", Cmd::Delete) => mine && admin,
        _ => mine,
    }
}

/// Whether the app role holds the privilege `cmd` needs on `table`.
fn granted(table: &str, cmd: Cmd) -> bool {
    match (table, cmd) {
        ("contact_submissions", Cmd::Insert) => true,
        ("contact_submissions", _) => false,
        ("audit_logs", Cmd::Select) => true,
        ("audit_logs", _) => false,
        ("companies", Cmd::Insert | Cmd::Delete) => false,
        _ => true,
    }
}

/// Run one statement of `op` on `conn` (already in the right context).
async fn execute(
    conn: &mut PgConnection,
    op: &Op,
    target: Uuid,
    to: Uuid,
    parents: (Uuid, Uuid),
    new_id: Uuid,
) -> Result<Result<Vec<Uuid>, u64>, sqlx::Error> {
    let table = TABLES[op.table];
    let k = key(table);
    Ok(match op.cmd {
        Cmd::Select => Ok(
            sqlx::query_scalar(AssertSqlSafe(format!("select id from {table}")))
                .fetch_all(&mut *conn)
                .await?,
        ),
        Cmd::Insert => Err(insert_row(conn, table, new_id, to, parents).await?),
        Cmd::Touch => {
            let c = touch_column(table);
            Err(sqlx::query(AssertSqlSafe(format!(
                "update {table} set {c} = {c} where id = $1"
            )))
            .bind(target)
            .execute(&mut *conn)
            .await?
            .rows_affected())
        }
        Cmd::Move => Err(sqlx::query(AssertSqlSafe(format!(
            "update {table} set {k} = $2 where id = $1"
        )))
        .bind(target)
        .bind(to)
        .execute(&mut *conn)
        .await?
        .rows_affected()),
        Cmd::Delete => Err(sqlx::query(AssertSqlSafe(format!(
            "delete from {table} where id = $1"
        )))
        .bind(target)
        .execute(&mut *conn)
        .await?
        .rows_affected()),
    })
}

/// The isolation property of docs/rls.md, one case: see the test's doc.
async fn check_case(
    main: &mut PgConnection,
    never: &mut PgConnection,
    case: &Case,
) -> Result<(), TestCaseError> {
    let base = World::baseline();
    let mut tenants: Vec<Uuid> = base.companies.clone();
    tenants.extend(case.world.companies.iter().copied());
    let mut tx = main.begin().await.unwrap();
    case.world.insert(&mut tx).await.unwrap();
    sqlx::query("set local role portal_app")
        .execute(&mut *tx)
        .await
        .unwrap();
    // The generated rows as well as the baseline, for picking targets.
    let mut users: Vec<User> = base.users.clone();
    users.extend(case.world.users.iter().cloned());
    for (i, op) in case.ops.iter().enumerate() {
        let table = TABLES[op.table];
        let new_id = uid(9, i as u64 + 1);
        let to = tenants[op.to % tenants.len()];
        let on_never = matches!(op.ctx, Ctx::Never);
        let mut never_tx = None;
        if on_never {
            let mut t = never.begin().await.unwrap();
            sqlx::query("set local role portal_app")
                .execute(&mut *t)
                .await
                .unwrap();
            never_tx = Some(t);
        }
        let conn: &mut PgConnection = match never_tx.as_mut() {
            Some(t) => t,
            None => &mut tx,
        };
        let (rows, before) = owner_view(conn, "", Some(table)).await;
        let target = if rows.is_empty() {
            uid(9, 0)
        } else {
            rows[op.target % rows.len()].0
        };
        // Parents for an application: the `to` tenant's first project and
        // applicant (any id if it has none: then only a refusal is expected).
        let parents = if op.cmd == Cmd::Insert && table == "applications" {
            let p = truth(conn, "projects")
                .await
                .into_iter()
                .find(|r| r.1 == to)
                .map(|r| r.0)
                .unwrap_or(new_id);
            let a = truth(conn, "applicants")
                .await
                .into_iter()
                .find(|r| r.1 == to)
                .map(|r| r.0)
                .unwrap_or(new_id);
            (p, a)
        } else {
            (new_id, new_id)
        };
        let who = match &op.ctx {
            Ctx::Tenant { t, user } => {
                let company = tenants[t % tenants.len()];
                let mine: Vec<&User> = users.iter().filter(|u| u.company == company).collect();
                let u = user.and_then(|u| {
                    if mine.is_empty() {
                        None
                    } else {
                        Some(mine[u % mine.len()])
                    }
                });
                Acting {
                    company: Some(company),
                    user: u.map(|u| u.id),
                    role: u.map(|u| u.role),
                }
            }
            Ctx::Ghost => Acting {
                company: Some(uid(1, 0xDEAD)),
                user: None,
                role: None,
            },
            _ => Acting {
                company: None,
                user: None,
                role: None,
            },
        };
        let set = match &op.ctx {
            Ctx::Tenant { .. } | Ctx::Ghost => format!(
                "savepoint op; select set_config('app.company_id', '{}', true), set_config('app.user_id', '{}', true), set_config('app.user_role', '{}', true)",
                who.company.unwrap(),
                who.user.map(|u| u.to_string()).unwrap_or_default(),
                who.role.unwrap_or("")
            ),
            Ctx::Empty => "savepoint op; select set_config('app.company_id', '', true), set_config('app.user_id', '', true), set_config('app.user_role', '', true)".into(),
            Ctx::Reset => "savepoint op; reset app.company_id; reset app.user_id; reset app.user_role".into(),
            Ctx::Never => "savepoint op".into(),
        };
        sqlx::raw_sql(AssertSqlSafe(set))
            .execute(&mut *conn)
            .await
            .unwrap();
        if on_never {
            let unset: Option<String> =
                sqlx::query_scalar("select current_setting('app.company_id', true)")
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap();
            prop_assert_eq!(unset, None, "the never-set connection has a context");
        }
        let result = execute(conn, op, target, to, parents, new_id).await;
        let failed = result.is_err();
        let end = if failed {
            "rollback to savepoint op"
        } else {
            "release savepoint op"
        };
        let (_, after) = owner_view(conn, end, None).await;
        let what = format!("op {i} {op:?} on {table} (target {target}, to {to})");
        let target_row = rows.iter().find(|r| r.0 == target);
        if !granted(table, op.cmd) {
            let code = result.as_ref().err().and_then(sqlstate);
            prop_assert_eq!(
                code.as_deref(),
                Some("42501"),
                "{}: not granted, so 42501 expected: {:?}",
                what,
                result
            );
        } else {
            match op.cmd {
                Cmd::Select => {
                    let got: BTreeSet<Uuid> = result
                        .unwrap_or_else(|e| panic!("{what}: {e}"))
                        .unwrap_or_default()
                        .into_iter()
                        .collect();
                    let expected: BTreeSet<Uuid> = rows
                        .iter()
                        .filter(|r| may(table, Cmd::Select, &who, r.1, r.0))
                        .map(|r| r.0)
                        .collect();
                    prop_assert_eq!(
                        got,
                        expected,
                        "{}: SELECT must return exactly the context tenant's rows",
                        what
                    );
                }
                Cmd::Insert => {
                    let allowed =
                        who.company == Some(to) && (table != "users" || who.role == Some("admin"));
                    let code = result.as_ref().err().and_then(sqlstate);
                    if allowed {
                        // The policies let it through; keys may still refuse.
                        prop_assert!(
                            matches!(code.as_deref(), None | Some("23505") | Some("23503")),
                            "{}: allowed insert failed: {:?}",
                            what,
                            result
                        );
                    } else {
                        prop_assert_eq!(code.as_deref(), Some("42501"), "{}: an insert into another tenant (or with no context) must fail with 42501: {:?}", what, result);
                    }
                }
                Cmd::Touch | Cmd::Delete | Cmd::Move => {
                    let visible = target_row.is_some_and(|r| may(table, op.cmd, &who, r.1, r.0));
                    let code = result.as_ref().err().and_then(sqlstate);
                    let expected_code = if op.cmd == Cmd::Move && visible && who.company != Some(to)
                    {
                        Some("42501")
                    } else {
                        None
                    };
                    if op.cmd == Cmd::Move && visible && who.company == Some(to) {
                        // A move within the tenant is a no-op the policies allow.
                    }
                    if op.cmd == Cmd::Delete && visible && code.as_deref() == Some("23503") {
                        // Allowed delete refused by a key: fine, nothing changed.
                    } else {
                        prop_assert_eq!(code.as_deref(), expected_code, "{}: {:?}", what, result);
                    }
                    if code.is_none() {
                        let n = match result {
                            Ok(Err(n)) => n,
                            _ => unreachable!(),
                        };
                        prop_assert_eq!(
                            n,
                            u64::from(visible),
                            "{}: rows affected must be exactly the visible target",
                            what
                        );
                    }
                }
            }
        }
        // Nothing outside the context's tenant changed; nothing at all when
        // the statement failed or there was no tenant.
        for (k, v) in &before {
            let keep = failed || who.company != Some(k.1) || op.cmd == Cmd::Select;
            if keep {
                prop_assert_eq!(after.get(k), Some(v), "{}: {:?} changed", what, k);
            }
        }
        for k in after.keys() {
            if !before.contains_key(k) {
                prop_assert!(
                    !failed && who.company == Some(k.1),
                    "{}: rows appeared for {:?}",
                    what,
                    k
                );
            }
        }
        if let Some(t) = never_tx {
            t.rollback().await.unwrap();
        }
    }
    tx.rollback().await.unwrap();
    Ok(())
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The isolation property of docs/rls.md on the primary, as `portal_app`, over
/// every table and command (SELECT, INSERT, UPDATE in place, UPDATE into
/// another tenant, DELETE): SELECT returns exactly the context tenant's
/// rows (users: one's own row unless admin); UPDATE and DELETE touch exactly
/// the visible target (row counts) and nothing of other tenants (per-tenant
/// digests as the owner); INSERT and UPDATE into another tenant fail with
/// 42501 and change nothing; no context (never set, '', RESET) and an
/// unknown tenant see and change nothing. 1,000 cases by default
/// (`PROPTEST_CASES` for more); each case runs in one transaction that is
/// rolled back, each operation under a savepoint; failures shrink.
#[test]
fn property_isolation_holds_for_every_table_and_command() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (c, ep) = rt.block_on(async {
        let c = support::native().await;
        let ep = database(&c, "prop", &[]).await;
        (c, ep)
    });
    let (main, never) =
        rt.block_on(async { (ep.connect().await.unwrap(), ep.connect().await.unwrap()) });
    let conns = std::sync::Mutex::new((main, never));
    let mut runner = TestRunner::new(Config {
        cases: cases(1000),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/integration/rls.proptest-regressions",
        ))),
        max_shrink_iters: 2000,
        ..Config::default()
    });
    let t0 = std::time::Instant::now();
    let result = runner.run(&case_strategy(), |case| {
        let mut g = conns.lock().unwrap();
        let (main, never) = &mut *g;
        rt.block_on(check_case(main, never, &case))
    });
    eprintln!(
        "isolation property: {} cases in {:.1?}",
        cases(1000),
        t0.elapsed()
    );
    drop(c);
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The read side of the property on the replica: each generated world is
/// committed on the primary, replayed, then read on the replica as
/// `portal_reader` and as `portal_app` in every tenant's context and with
/// none: every table returns exactly the context tenant's rows (users:
/// the role rule) and nothing without a context.
#[test]
fn property_replica_reads_are_isolated() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (c, ep) = rt.block_on(async {
        let c = support::native().await;
        let ep = database(&c, "prop", &[]).await;
        (c, ep)
    });
    // The roles and the schema must have reached the replica before the
    // reader connects there.
    rt.block_on(async {
        let mut p = ep.connect().await.unwrap();
        let lsn: String = sqlx::query_scalar("select pg_current_wal_insert_lsn()::text")
            .fetch_one(&mut p)
            .await
            .unwrap();
        c.wait_for_replay(&lsn, Duration::from_secs(30))
            .await
            .unwrap();
    });
    let replica = c.require_replica().unwrap().with_database("prop");
    let conns = rt.block_on(async {
        let reader = as_role(&replica, roles::READER).await;
        let app = as_role(&replica, roles::APP).await;
        std::sync::Mutex::new((ep.connect().await.unwrap(), reader, app))
    });
    // Each case reads every table in every context of every tenant, as two
    // roles, after a replay wait: about 40 times an op of the primary
    // property, so a fortieth of its cases (25 by default).
    let n = (cases(1000) / 40).max(20);
    let mut runner = TestRunner::new(Config {
        cases: n,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/integration/rls.proptest-regressions",
        ))),
        ..Config::default()
    });
    let result = runner.run(&case_strategy(), |case| {
        let mut g = conns.lock().unwrap();
        let (primary, reader, app) = &mut *g;
        rt.block_on(async {
            case.world.insert(primary).await.unwrap();
            // The insert position, not pg_current_wal_lsn(): with
            // synchronous_commit off the last commits may not be written yet.
            let lsn: String = sqlx::query_scalar("select pg_current_wal_insert_lsn()::text")
                .fetch_one(&mut *primary)
                .await
                .unwrap();
            c.wait_for_replay(&lsn, Duration::from_secs(30))
                .await
                .unwrap();
            let base = World::baseline();
            let mut tenants = base.companies.clone();
            tenants.extend(case.world.companies.iter().copied());
            let mut users = base.users.clone();
            users.extend(case.world.users.iter().cloned());
            let mut all: BTreeMap<&str, Vec<(Uuid, Uuid)>> = BTreeMap::new();
            for table in TABLES {
                let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(AssertSqlSafe(format!(
                    "select id, {} from {table}",
                    key(table)
                )))
                .fetch_all(&mut *primary)
                .await
                .unwrap();
                all.insert(table, rows);
            }
            let outcome: Result<(), TestCaseError> = async {
                for (role, conn) in [(roles::READER, &mut *reader), (roles::APP, &mut *app)] {
                    let mut contexts: Vec<Option<Acting>> = vec![None];
                    for &t in &tenants {
                        contexts.push(Some(Acting {
                            company: Some(t),
                            user: None,
                            role: None,
                        }));
                        for u in users.iter().filter(|u| u.company == t) {
                            contexts.push(Some(Acting {
                                company: Some(t),
                                user: Some(u.id),
                                role: Some(u.role),
                            }));
                        }
                    }
                    for table in TABLES
                        .iter()
                        .filter(|t| role == roles::APP && !granted(t, Cmd::Select))
                    {
                        let r = sqlx::query(AssertSqlSafe(format!("select id from {table}")))
                            .fetch_all(&mut *conn)
                            .await;
                        let code = r.as_ref().err().and_then(sqlstate);
                        prop_assert_eq!(
                            code.as_deref(),
                            Some("42501"),
                            "{} may not read {}",
                            role,
                            table
                        );
                    }
                    for who in contexts {
                        let mut tx = conn.begin().await.unwrap();
                        if let Some(w) = &who {
                            let ctx = TenantContext {
                                company_id: w.company.unwrap(),
                                user_id: w.user,
                                role: w.role.map(str::to_string),
                            };
                            tenant::set_local(&mut tx, &ctx).await.unwrap();
                        }
                        let nobody = Acting {
                            company: None,
                            user: None,
                            role: None,
                        };
                        let w = who.as_ref().unwrap_or(&nobody);
                        for table in TABLES
                            .iter()
                            .filter(|t| role == roles::READER || granted(t, Cmd::Select))
                        {
                            let got: BTreeSet<Uuid> = sqlx::query_scalar(AssertSqlSafe(format!(
                                "select id from {table}"
                            )))
                            .fetch_all(&mut *tx)
                            .await
                            .unwrap_or_else(|e| panic!("replica read of {table} as {role}: {e}"))
                            .into_iter()
                            .collect();
                            let expected: BTreeSet<Uuid> = all[table]
                                .iter()
                                .filter(|(id, t)| may(table, Cmd::Select, w, *t, *id))
                                .map(|r| r.0)
                                .collect();
                            prop_assert_eq!(
                                got,
                                expected,
                                "replica, {} on {} as {:?}/{:?}",
                                role,
                                table,
                                w.company,
                                w.role
                            );
                        }
                        tx.rollback().await.unwrap();
                    }
                }
                Ok(())
            }
            .await;
            // Remove the case's tenants (their rows cascade) for the next case.
            sqlx::query("delete from companies where id = any($1)")
                .bind(&case.world.companies)
                .execute(&mut *primary)
                .await
                .unwrap();
            outcome
        })
    });
    drop(c);
    if let Err(e) = result {
        panic!("{e}");
    }
}
