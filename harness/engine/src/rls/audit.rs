//! `audit-rls`: the classic row-level-security mistakes, found in any
//! PostgreSQL database from its catalog alone.
//!
//! The audit reads `pg_catalog` in one `READ ONLY` transaction that it rolls
//! back, so it can be pointed at a production database it did not create
//! (a test compares a catalog snapshot before and after). It knows nothing
//! of our schema: a *tenant table* is any table with the tenant column
//! (given by the app folder or `--tenant-column`), and the *tenant root* is any table
//! that a single-column foreign key on the tenant column points at (our
//! the tenants themselves), whose key column then plays the tenant column's part.
//!
//! Shape: [`snapshot`] gathers plain rows (tables, policies, views,
//! functions, roles, keys), and [`evaluate`] turns them into [`Finding`]s
//! with pure code, so every check is a small function over data and the
//! SQL stays a handful of catalog reads. Expression checks read the
//! deparsed policy text (`pg_get_expr`); they are heuristics and say so in
//! their hints.
//!
//! Submodules, in the order a run uses them: [`tenancy`] recognises how the
//! schema names the caller (a setting, JWT-claim context functions,
//! membership lookups) from the functions in the catalog; [`expr`] holds
//! the recognisers over deparsed expressions that the policy checks and
//! the tenancy model share; [`policies`] checks the policies, restrictive
//! ones bounding permissive ones. The other checks are small enough to
//! live here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

mod expr;
mod policies;
pub mod tenancy;

pub use tenancy::{FunctionInfo, MembershipTable};

/// How bad a finding is. Ordered: `--fail-on medium` fails on medium, high
/// and critical.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a leak by itself.
    Info,
    /// A documented, bounded leak (existence or activity, never contents).
    Low,
    /// Fails closed today but fragile, or fails with an error.
    Medium,
    /// Another tenant's rows can be read or written under some condition.
    High,
    /// Isolation is off for the app as it stands.
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// One problem: which check, on which object, why it matters, what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable check id (`rls-disabled`, `fk-without-tenant`, ...): CI and
    /// tests match on it.
    pub check: String,
    /// The object, schema-qualified (`public.users`, `public.users.users_select`).
    pub object: String,
    pub message: String,
    pub hint: String,
}

/// What to audit for: an app's tenancy, as its folder states it (the CLI
/// fills this from `--app` or from flags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditOptions {
    /// The column that holds the tenant id on every tenant table.
    pub tenant_column: String,
    /// The roles the application connects as (checked for bypasses).
    pub app_roles: Vec<String>,
    /// The setting the app sets to name its tenant (used in hints; empty
    /// when unknown, and the hints then name the context the catalog shows).
    pub setting: String,
    /// A column that scopes rows to one user (Supabase's `owner_id =
    /// auth.uid()` tables): tables that have it and not the tenant column
    /// are tenant tables too, keyed by it, and a predicate on it confines
    /// rows on any table that has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_column: Option<String>,
}

impl AuditOptions {
    /// The tenancy of an app folder.
    pub fn for_app(app: &crate::app::App) -> AuditOptions {
        let mut app_roles = vec![app.toml.roles.app.clone()];
        app_roles.extend(app.toml.roles.reader.clone());
        AuditOptions {
            tenant_column: app.toml.tenant.column.clone(),
            app_roles,
            setting: app.toml.tenant.setting.clone(),
            user_column: None,
        }
    }

    /// The tenancy of a database known only by its tenant column (no app
    /// folder): no setting and no app role until flags add them.
    pub fn for_tenant_column(column: &str) -> AuditOptions {
        AuditOptions {
            tenant_column: column.to_string(),
            app_roles: Vec::new(),
            setting: String::new(),
            user_column: None,
        }
    }

    /// The fail-closed tenant expression the hints recommend, when the
    /// setting is known.
    fn context(&self) -> Option<String> {
        (!self.setting.is_empty()).then(|| {
            format!(
                "nullif(current_setting('{}', true), '')",
                self.setting.replace('\'', "''")
            )
        })
    }
}

/// The audit's result: the findings, worst first, and what was looked at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditReport {
    pub database: String,
    pub server_version: String,
    pub tenant_tables: Vec<String>,
    /// How the schema names the caller, as the audit recognised it: the
    /// settings policies read, context and membership functions,
    /// membership tables.
    #[serde(default)]
    pub tenancy: Vec<String>,
    pub findings: Vec<Finding>,
}

impl AuditReport {
    /// Findings at or above `severity`.
    pub fn at_least(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.severity >= severity)
    }

    /// A plain-text rendering for terminals and CI logs.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "audit-rls: database {} (PostgreSQL {}), {} tenant table(s): {}",
            self.database,
            self.server_version,
            self.tenant_tables.len(),
            self.tenant_tables.join(", ")
        );
        if !self.tenancy.is_empty() {
            let _ = writeln!(out, "tenancy: {}", self.tenancy.join("; "));
        }
        if self.findings.is_empty() {
            let _ = writeln!(out, "no findings");
        }
        for f in &self.findings {
            let _ = writeln!(
                out,
                "{:<8} {:<28} {}\n         {}\n         hint: {}",
                f.severity, f.check, f.object, f.message, f.hint
            );
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot connect to {url} to audit it: {source}; check the URL, that the server is up, and the credentials")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("reading the catalog ({what}) failed: {source}; the audit needs only to read pg_catalog, so this is a server or permission problem")]
    Catalog {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

fn catalog(what: &'static str) -> impl FnOnce(sqlx::Error) -> AuditError {
    move |source| AuditError::Catalog { what, source }
}

/// A URL with its password masked, for messages.
pub fn mask_url(url: &str) -> String {
    crate::cluster::url::redact(url)
}

/// Connect to `url` and audit it. Nothing is written: the work runs in a
/// read-only transaction that is rolled back.
pub async fn audit_url(url: &str, opts: &AuditOptions) -> Result<AuditReport, AuditError> {
    // The harness's one URL reader: TLS parameters and percent-encoded
    // passwords read as everywhere else.
    let target = crate::cluster::Endpoint::parse(url)
        .map_err(|e| AuditError::Connect {
            url: mask_url(url),
            source: sqlx::Error::Configuration(e.into()),
        })?
        .connect_options();
    let mut conn = PgConnection::connect_with(&target)
        .await
        .map_err(|source| AuditError::Connect {
            url: mask_url(url),
            source,
        })?;
    let report = audit(&mut conn, opts).await;
    let _ = conn.close().await;
    report
}

/// Audit the database `conn` is connected to.
pub async fn audit(
    conn: &mut PgConnection,
    opts: &AuditOptions,
) -> Result<AuditReport, AuditError> {
    let mut tx = conn.begin().await.map_err(catalog("begin"))?;
    // Read only and one snapshot: the catalog cannot change between reads,
    // and a bug here cannot write to a database we were only asked to read.
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await
        .map_err(catalog("set transaction read only"))?;
    let snap = snapshot(&mut tx, opts).await;
    tx.rollback().await.map_err(catalog("rollback"))?;
    let snap = snap?;
    Ok(AuditReport {
        database: snap.database.clone(),
        server_version: snap.server_version.clone(),
        tenant_tables: snap.tables.values().map(|t| t.qualified()).collect(),
        tenancy: tenancy::describe(&snap),
        findings: evaluate(&snap),
    })
}

/// A table the tenant column (or the tenant root's key) scopes.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub oid: i64,
    pub schema: String,
    pub name: String,
    pub owner: String,
    pub rls: bool,
    pub force: bool,
    /// The column holding the tenant id: the tenant column, or the root's key.
    pub tenant_key: String,
    /// Columns a predicate may tie to the caller to confine rows: the
    /// tenant key, and the user column when the table has it.
    pub keys: Vec<String>,
    pub is_root: bool,
    /// Keyed by the user column (or the root it references), not the tenant.
    pub by_user: bool,
}

impl TableInfo {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

#[derive(Debug, Clone)]
pub struct PolicyInfo {
    pub table_oid: i64,
    pub name: String,
    /// `r` select, `a` insert, `w` update, `d` delete, `*` all.
    pub cmd: String,
    pub permissive: bool,
    /// Role names; `public` for PUBLIC.
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub with_check: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ViewInfo {
    pub schema: String,
    pub name: String,
    /// `v` view, `m` materialized view.
    pub kind: String,
    pub options: Vec<String>,
    pub reads: Vec<i64>,
}

#[derive(Debug, Clone)]
pub struct DefinerFn {
    pub schema: String,
    pub signature: String,
    pub config: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RoleInfo {
    pub name: String,
    pub exists: bool,
    pub superuser: bool,
    pub bypassrls: bool,
    /// Tenant tables the role owns or can become the owner of.
    pub owns: Vec<i64>,
    pub truncate: Vec<i64>,
    pub references: Vec<i64>,
}

#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub name: String,
    pub table_oid: i64,
    pub ref_oid: i64,
    pub columns: Vec<String>,
    pub ref_columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct UniqueIndex {
    pub name: String,
    pub table_oid: i64,
    pub primary: bool,
    /// Key column names; expression columns are `None`.
    pub columns: Vec<Option<String>>,
    /// The single key column's type, when there is exactly one.
    pub single_type: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SequenceColumn {
    pub table_oid: i64,
    pub column: String,
    pub how: String,
}

/// Everything the checks look at, read in one snapshot.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub database: String,
    pub server_version: String,
    pub tables: BTreeMap<i64, TableInfo>,
    pub policies: Vec<PolicyInfo>,
    pub views: Vec<ViewInfo>,
    pub definer_fns: Vec<DefinerFn>,
    /// User-defined functions marked LEAKPROOF, schema-qualified signatures.
    pub leakproof_fns: Vec<String>,
    pub roles: Vec<RoleInfo>,
    pub foreign_keys: Vec<ForeignKey>,
    pub uniques: Vec<UniqueIndex>,
    pub sequences: Vec<SequenceColumn>,
    /// User functions (not from extensions), for the tenancy model.
    pub functions: Vec<FunctionInfo>,
    /// Tables membership lookups read, resolved.
    pub membership_tables: Vec<MembershipTable>,
    /// The fail-closed tenant-context expression hints recommend.
    pub context: String,
}

/// Schemas that belong to PostgreSQL, not to the app. Spliced into the
/// catalog queries below (and `prove-rls`'s) as a constant (never user
/// input), hence the `AssertSqlSafe` around them.
pub(crate) const USER_SCHEMA: &str = "n.nspname not in ('pg_catalog', 'information_schema') \
     and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'";

// The catalog rows as they come off the wire, before they are named.
type TableRow = (
    i64,
    String,
    String,
    String,
    bool,
    bool,
    bool,
    bool,
    Option<String>,
    Option<String>,
);
type FunctionRow = (String, String, String, String, String, bool);
type PolicyRow = (
    i64,
    String,
    String,
    bool,
    Vec<String>,
    Option<String>,
    Option<String>,
);
type ViewRow = (String, String, String, Vec<String>, Vec<i64>);
/// A function `p` that no extension installed (those are the extension's
/// business, not the app's), spliced like [`USER_SCHEMA`].
const NOT_FROM_EXTENSION: &str = "not exists (select 1 from pg_depend d \
     where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')";

/// A foreign key: name, child table oid, parent table oid, child columns,
/// parent columns (in key order).
pub(crate) type ForeignKeyRow = (String, i64, i64, Vec<String>, Vec<String>);

/// The foreign keys whose child and parent are both among `oids`, by child
/// table then name.
pub(crate) async fn foreign_keys_among(
    conn: &mut PgConnection,
    oids: &[i64],
) -> Result<Vec<ForeignKeyRow>, sqlx::Error> {
    sqlx::query_as(
        "select c.conname::text, c.conrelid::int8, c.confrelid::int8,
                array(select a.attname::text from unnest(c.conkey) with ordinality k(n, i)
                      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.i),
                array(select a.attname::text from unnest(c.confkey) with ordinality k(n, i)
                      join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.i)
         from pg_constraint c
         where c.contype = 'f' and c.conrelid::int8 = any($1) and c.confrelid::int8 = any($1)
         order by 2, 1",
    )
    .bind(oids)
    .fetch_all(conn)
    .await
}
type UniqueRow = (String, i64, bool, Vec<String>, Option<String>);

/// Read the catalog.
pub async fn snapshot(
    conn: &mut PgConnection,
    opts: &AuditOptions,
) -> Result<Snapshot, AuditError> {
    let (database, server_version): (String, String) =
        sqlx::query_as("select current_database()::text, current_setting('server_version')")
            .fetch_one(&mut *conn)
            .await
            .map_err(catalog("server"))?;

    // A table is scoped by the tenant column, or by the user column, or is
    // the root such a column references (single-column foreign keys).
    let user_column = opts.user_column.clone().unwrap_or_default();
    let tables: Vec<TableRow> = sqlx::query_as(AssertSqlSafe(format!(
        "with roots as (
             select f.confrelid as oid, fa.attname::text as col, ka.attname::text as key
             from pg_constraint f
             join pg_attribute fa on fa.attrelid = f.conrelid and fa.attnum = f.conkey[1]
             join pg_attribute ka on ka.attrelid = f.confrelid and ka.attnum = f.confkey[1]
             where f.contype = 'f' and cardinality(f.conkey) = 1 and fa.attname in ($1, $2)
         ), t as (
             select c.oid, n.nspname::text as schema, c.relname::text as name,
                    pg_get_userbyid(c.relowner)::text as owner, c.relrowsecurity, c.relforcerowsecurity,
                    exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = $1
                            and a.attnum > 0 and not a.attisdropped) as has_tenant,
                    exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = $2
                            and a.attnum > 0 and not a.attisdropped) as has_user,
                    (select r.key from roots r where r.oid = c.oid and r.col = $1 order by r.key limit 1) as tenant_root,
                    (select r.key from roots r where r.oid = c.oid and r.col = $2 order by r.key limit 1) as user_root
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where c.relkind in ('r', 'p') and {USER_SCHEMA}
         )
         select oid::int8, schema, name, owner, relrowsecurity, relforcerowsecurity,
                has_tenant, has_user, tenant_root, user_root
         from t
         where has_tenant or has_user or tenant_root is not null or user_root is not null
         order by schema, name"
    )))
    .bind(&opts.tenant_column)
    .bind(&user_column)
    .fetch_all(&mut *conn)
    .await
    .map_err(catalog("tenant tables"))?;
    let tables: BTreeMap<i64, TableInfo> = tables
        .into_iter()
        .map(
            |(
                oid,
                schema,
                name,
                owner,
                rls,
                force,
                has_tenant,
                has_user,
                tenant_root,
                user_root,
            )| {
                let (tenant_key, is_root, by_user) =
                    match (has_tenant, tenant_root, has_user, user_root) {
                        (true, ..) => (opts.tenant_column.clone(), false, false),
                        (false, Some(key), ..) => (key, true, false),
                        (false, None, true, _) => (user_column.clone(), false, true),
                        (false, None, false, key) => (key.unwrap_or_default(), true, true),
                    };
                let mut keys = vec![tenant_key.clone()];
                if has_user && !keys.contains(&user_column) {
                    keys.push(user_column.clone());
                }
                (
                    oid,
                    TableInfo {
                        oid,
                        schema,
                        name,
                        owner,
                        rls,
                        force,
                        tenant_key,
                        keys,
                        is_root,
                        by_user,
                    },
                )
            },
        )
        .collect();
    let oids: Vec<i64> = tables.keys().copied().collect();

    let policies: Vec<PolicyRow> = sqlx::query_as(
        "select p.polrelid::int8, p.polname::text, p.polcmd::text, p.polpermissive,
                array(select case when r = 0 then 'public' else pg_get_userbyid(r)::text end
                      from unnest(p.polroles) r order by 1),
                pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
         from pg_policy p where p.polrelid::int8 = any($1) order by p.polrelid, p.polname",
    )
    .bind(&oids)
    .fetch_all(&mut *conn)
    .await
    .map_err(catalog("policies"))?;
    let policies: Vec<PolicyInfo> = policies
        .into_iter()
        .map(
            |(table_oid, name, cmd, permissive, roles, using, with_check)| PolicyInfo {
                table_oid,
                name,
                cmd,
                permissive,
                roles,
                using,
                with_check,
            },
        )
        .collect();

    let views: Vec<ViewRow> = sqlx::query_as(AssertSqlSafe(format!(
        "select n.nspname::text, v.relname::text, v.relkind::text, coalesce(v.reloptions, '{{}}')::text[],
                array(select distinct d.refobjid::int8 from pg_rewrite rw
                      join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = rw.oid
                           and d.refclassid = 'pg_class'::regclass and d.refobjid <> v.oid
                      where rw.ev_class = v.oid)
         from pg_class v join pg_namespace n on n.oid = v.relnamespace
         where v.relkind in ('v', 'm') and {USER_SCHEMA}
         order by 1, 2"
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(catalog("views"))?;
    let views = views
        .into_iter()
        .map(|(schema, name, kind, options, reads)| ViewInfo {
            schema,
            name,
            kind,
            options,
            reads,
        })
        .collect();

    let definer_fns: Vec<(String, String, Vec<String>)> = sqlx::query_as(AssertSqlSafe(format!(
        "select n.nspname::text, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                coalesce(p.proconfig, '{{}}')::text[]
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where p.prosecdef and {USER_SCHEMA}
           and {NOT_FROM_EXTENSION}
         order by 1, 2"
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(catalog("security definer functions"))?;
    let definer_fns = definer_fns
        .into_iter()
        .map(|(schema, signature, config)| DefinerFn {
            schema,
            signature,
            config,
        })
        .collect();

    let leakproof_fns: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where p.proleakproof and {USER_SCHEMA}
           and {NOT_FROM_EXTENSION}
         order by 1"
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(catalog("leakproof functions"))?;

    let functions: Vec<FunctionRow> = sqlx::query_as(AssertSqlSafe(format!(
        "select n.nspname::text, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                p.proname::text,
                case when p.prosqlbody is not null then pg_get_functiondef(p.oid) else p.prosrc end,
                p.provolatile::text, p.prosecdef
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         join pg_language l on l.oid = p.prolang
         where l.lanname in ('sql', 'plpgsql') and p.prokind = 'f' and {USER_SCHEMA}
           and {NOT_FROM_EXTENSION}
         order by 1, 2"
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(catalog("functions"))?;
    let functions: Vec<FunctionInfo> = functions
        .into_iter()
        .map(
            |(schema, signature, name, body, volatility, security_definer)| FunctionInfo {
                schema,
                signature,
                name,
                body,
                volatility,
                security_definer,
            },
        )
        .collect();
    let membership_tables =
        membership_tables(&mut *conn, opts, &tables, &policies, &functions).await?;

    let mut roles = Vec::new();
    for name in &opts.app_roles {
        let row: Option<(bool, bool)> =
            sqlx::query_as("select rolsuper, rolbypassrls from pg_roles where rolname = $1")
                .bind(name)
                .fetch_optional(&mut *conn)
                .await
                .map_err(catalog("roles"))?;
        let Some((superuser, bypassrls)) = row else {
            roles.push(RoleInfo {
                name: name.clone(),
                exists: false,
                superuser: false,
                bypassrls: false,
                owns: vec![],
                truncate: vec![],
                references: vec![],
            });
            continue;
        };
        // Membership in the owner's role is ownership: `set role owner`
        // (or inheritance) gives the owner's powers, ALTER TABLE included.
        let privs: Vec<(i64, bool, bool, bool)> = sqlx::query_as(
            "select c.oid::int8, pg_has_role($1, c.relowner, 'MEMBER'),
                    has_table_privilege($1, c.oid, 'TRUNCATE'),
                    has_any_column_privilege($1, c.oid, 'REFERENCES')
             from pg_class c where c.oid::int8 = any($2) order by 1",
        )
        .bind(name)
        .bind(&oids)
        .fetch_all(&mut *conn)
        .await
        .map_err(catalog("role privileges"))?;
        roles.push(RoleInfo {
            name: name.clone(),
            exists: true,
            superuser,
            bypassrls,
            owns: privs.iter().filter(|p| p.1).map(|p| p.0).collect(),
            truncate: privs.iter().filter(|p| p.2).map(|p| p.0).collect(),
            references: privs.iter().filter(|p| p.3).map(|p| p.0).collect(),
        });
    }

    let fks = foreign_keys_among(&mut *conn, &oids)
        .await
        .map_err(catalog("foreign keys"))?;
    let foreign_keys = fks
        .into_iter()
        .map(
            |(name, table_oid, ref_oid, columns, ref_columns)| ForeignKey {
                name,
                table_oid,
                ref_oid,
                columns,
                ref_columns,
            },
        )
        .collect();

    let uniques: Vec<UniqueRow> = sqlx::query_as(
        "select i.indexrelid::regclass::text, i.indrelid::int8, i.indisprimary,
                array(select coalesce(a.attname::text, '') from unnest(i.indkey::int2[]) with ordinality k(n, o)
                      left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.n and k.n > 0
                      where k.o <= i.indnkeyatts order by k.o),
                case when i.indnkeyatts = 1 and i.indkey[0] > 0
                     then (select format_type(a.atttypid, null) from pg_attribute a
                           where a.attrelid = i.indrelid and a.attnum = i.indkey[0]) end
         from pg_index i
         where i.indisunique and i.indrelid::int8 = any($1)
         order by 2, 1",
    )
    .bind(&oids)
    .fetch_all(&mut *conn)
    .await
    .map_err(catalog("unique indexes"))?;
    let uniques = uniques
        .into_iter()
        .map(
            |(name, table_oid, primary, cols, single_type)| UniqueIndex {
                name,
                table_oid,
                primary,
                columns: cols
                    .into_iter()
                    .map(|c| if c.is_empty() { None } else { Some(c) })
                    .collect(),
                single_type,
            },
        )
        .collect();

    let seqs: Vec<(i64, String, String)> = sqlx::query_as(
        "select a.attrelid::int8, a.attname::text,
                case when a.attidentity <> '' then 'identity' else pg_get_expr(d.adbin, d.adrelid) end
         from pg_attribute a
         left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
         where a.attrelid::int8 = any($1) and a.attnum > 0 and not a.attisdropped
           and (a.attidentity <> '' or pg_get_expr(d.adbin, d.adrelid) like 'nextval(%')
         order by 1, 2",
    )
    .bind(&oids)
    .fetch_all(&mut *conn)
    .await
    .map_err(catalog("sequences"))?;
    let sequences = seqs
        .into_iter()
        .map(|(table_oid, column, how)| SequenceColumn {
            table_oid,
            column,
            how,
        })
        .collect();

    // Hints name the context the app uses: its setting, or else the first
    // context function the schema defines.
    let context = opts.context().unwrap_or_else(|| {
        tenancy::context_functions(&functions)
            .first()
            .map(|f| format!("(select {}.{}())", f.schema, f.name))
            .unwrap_or_else(|| "nullif(current_setting('<tenant setting>', true), '')".into())
    });
    Ok(Snapshot {
        context,
        functions,
        membership_tables,
        database,
        server_version,
        tables,
        policies,
        views,
        definer_fns,
        leakproof_fns,
        roles,
        foreign_keys,
        uniques,
        sequences,
    })
}

/// The tables membership lookups read: those named in the subqueries of
/// tenant-table policies that read the context, and in the bodies of
/// membership functions; resolved against the audit session's search_path
/// (or, unqualified and not found there, the one user table of that name),
/// with their RLS state and what each app role may do on them.
async fn membership_tables(
    conn: &mut PgConnection,
    opts: &AuditOptions,
    tables: &BTreeMap<i64, TableInfo>,
    policies: &[PolicyInfo],
    functions: &[FunctionInfo],
) -> Result<Vec<MembershipTable>, AuditError> {
    let ctx = tenancy::context_functions(functions);
    let names: Vec<expr::FnName> = ctx.iter().map(|f| f.fn_name()).collect();
    let mut wanted: Vec<((Option<String>, String), String)> = Vec::new();
    for p in policies {
        let Some(t) = tables.get(&p.table_oid) else {
            continue;
        };
        for e in p.using.iter().chain(p.with_check.iter()) {
            for name in expr::membership_tables(e, &names) {
                wanted.push((name, format!("policy {}.{}", t.qualified(), p.name)));
            }
        }
    }
    for f in &ctx {
        for name in expr::tables_read(&f.body) {
            wanted.push((name, format!("function {}", f.qualified())));
        }
    }
    let mut out: Vec<(i64, MembershipTable)> = Vec::new();
    for ((schema, name), via) in wanted {
        let found: Option<(i64, String, String, bool)> = sqlx::query_as(AssertSqlSafe(format!(
            "select c.oid::int8, n.nspname::text, c.relname::text, c.relrowsecurity
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where c.relkind in ('r', 'p') and (
                 c.oid = to_regclass(case when $1::text is null then quote_ident($2)
                                          else quote_ident($1) || '.' || quote_ident($2) end)
                 or ($1::text is null and to_regclass(quote_ident($2)) is null and c.relname = $2 and {USER_SCHEMA}
                     and (select count(*) from pg_class c2 join pg_namespace n2 on n2.oid = c2.relnamespace
                          where c2.relname = $2 and c2.relkind in ('r', 'p')) = 1))
             limit 1"
        )))
        .bind(&schema)
        .bind(&name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(catalog("membership tables"))?;
        let Some((oid, schema, name, rls)) = found else {
            continue;
        };
        if let Some((_, m)) = out.iter_mut().find(|(o, _)| *o == oid) {
            if !m.via.contains(&via) {
                m.via.push(via);
            }
            continue;
        }
        let mut grants = Vec::new();
        for role in &opts.app_roles {
            let g: Option<(bool, bool)> = sqlx::query_as(
                "select has_table_privilege(r.oid, $2::int8::oid, 'SELECT'),
                        has_table_privilege(r.oid, $2::int8::oid, 'INSERT, UPDATE, DELETE')
                 from pg_roles r where r.rolname = $1",
            )
            .bind(role)
            .bind(oid)
            .fetch_optional(&mut *conn)
            .await
            .map_err(catalog("membership table privileges"))?;
            if let Some((select, write)) = g {
                grants.push((role.clone(), select, write));
            }
        }
        out.push((
            oid,
            MembershipTable {
                schema,
                name,
                rls,
                via: vec![via],
                grants,
            },
        ));
    }
    Ok(out.into_iter().map(|(_, m)| m).collect())
}

/// Every check over a snapshot; findings worst first, then by object.
pub fn evaluate(s: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    check_rls_enabled(s, &mut out);
    policies::check_policies(s, &mut out);
    tenancy::check_context_fns(s, &mut out);
    tenancy::check_membership(s, &mut out);
    check_views(s, &mut out);
    check_definer_fns(s, &mut out);
    check_roles(s, &mut out);
    check_foreign_keys(s, &mut out);
    check_uniques(s, &mut out);
    check_sequences(s, &mut out);
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| a.object.cmp(&b.object))
    });
    out
}

pub(crate) fn push(
    out: &mut Vec<Finding>,
    severity: Severity,
    check: &str,
    object: String,
    message: String,
    hint: impl Into<String>,
) {
    out.push(Finding {
        severity,
        check: check.into(),
        object,
        message,
        hint: hint.into(),
    });
}

fn table_name(s: &Snapshot, oid: i64) -> String {
    s.tables
        .get(&oid)
        .map(TableInfo::qualified)
        .unwrap_or_else(|| format!("oid {oid}"))
}

/// docs/rls.md, pitfalls 1 and 2: RLS on, and forced, on every tenant table.
fn check_rls_enabled(s: &Snapshot, out: &mut Vec<Finding>) {
    for t in s.tables.values() {
        if !t.rls {
            push(
                out,
                Severity::Critical,
                "rls-disabled",
                t.qualified(),
                format!("{} holds tenant data ({}) but row-level security is off: every role with SELECT reads every tenant", t.qualified(), t.tenant_key),
                "alter table ... enable row level security, force row level security; then add tenant policies",
            );
        } else if !t.force {
            push(
                out,
                Severity::High,
                "rls-not-forced",
                t.qualified(),
                format!("{} has row-level security but not FORCE: its owner ({}) bypasses every policy", t.qualified(), t.owner),
                "alter table ... force row level security (and run the app as a role that does not own the table)",
            );
        }
    }
}

fn option_true(options: &[String], name: &str) -> bool {
    options.iter().any(|o| {
        o.split_once('=').is_some_and(|(k, v)| {
            k.eq_ignore_ascii_case(name)
                && matches!(v.to_ascii_lowercase().as_str(), "true" | "on" | "yes" | "1")
        })
    })
}

/// docs/rls.md, pitfall 7: views run with their owner's rights unless
/// security_invoker; materialized views hold a copy made by their owner.
fn check_views(s: &Snapshot, out: &mut Vec<Finding>) {
    for v in &s.views {
        let over: Vec<String> = v
            .reads
            .iter()
            .filter(|o| s.tables.contains_key(o))
            .map(|o| table_name(s, *o))
            .collect();
        if over.is_empty() {
            continue;
        }
        let obj = format!("{}.{}", v.schema, v.name);
        if v.kind == "m" {
            push(out, Severity::High, "matview-over-tenant-table", obj.clone(),
                format!("materialized view {obj} copies tenant rows from {} as its owner at refresh; row-level security never applies to it", over.join(", ")),
                "do not expose it to the app role, or replace it with a security_invoker view or a tenant-keyed table with its own policies");
        } else if !option_true(&v.options, "security_invoker") {
            push(out, Severity::High, "view-not-security-invoker", obj.clone(),
                format!("view {obj} reads {} with its owner's rights (no security_invoker): policies are checked against the owner, not the caller", over.join(", ")),
                "alter view ... set (security_invoker = true)   -- PostgreSQL 15+");
        }
    }
}

/// docs/rls.md, pitfall 8: SECURITY DEFINER functions need a pinned search_path.
fn check_definer_fns(s: &Snapshot, out: &mut Vec<Finding>) {
    // docs/rls.md, pitfall 9: the planner runs LEAKPROOF functions before the
    // policies' quals; one that can raise an error on a hidden row is a side
    // channel. PostgreSQL trusts the mark (only a superuser can set it).
    for f in &s.leakproof_fns {
        push(out, Severity::Medium, "leakproof-function", f.clone(),
            format!("{f} is marked LEAKPROOF: it may run on rows the policies hide, and any error it raises (a division by zero, a bad cast) tells the caller such a row exists"),
            "alter function ... not leakproof, unless it provably never raises and reveals nothing about its arguments");
    }
    for f in &s.definer_fns {
        let pinned = f
            .config
            .iter()
            .any(|c| c.to_ascii_lowercase().starts_with("search_path="));
        if !pinned {
            push(out, Severity::High, "definer-search-path", format!("{}.{}", f.schema, f.signature),
                format!("SECURITY DEFINER function {}.{} runs with its owner's rights but resolves names through the caller's search_path: a caller can shadow a table or operator it uses", f.schema, f.signature),
                "alter function ... set search_path = pg_catalog, pg_temp (and schema-qualify every object in its body)");
        }
    }
}

/// docs/rls.md, pitfalls 1 and 11: the app role must be subject to RLS and hold no
/// privilege RLS does not cover.
fn check_roles(s: &Snapshot, out: &mut Vec<Finding>) {
    if s.roles.is_empty() {
        push(out, Severity::Info, "app-role-unknown", "(no app role)".into(),
            "no app role was named, so the superuser, BYPASSRLS, ownership and privilege checks of the role the application connects as did not run".into(),
            "pass the roles the application connects as: --app-role NAME (repeatable)");
    }
    for r in &s.roles {
        if !r.exists {
            push(out, Severity::Medium, "app-role-missing", r.name.clone(),
                format!("the app role {} does not exist in this cluster, so its privileges could not be checked", r.name),
                "pass the role the application connects as: --app-role NAME");
            continue;
        }
        if r.superuser {
            push(
                out,
                Severity::Critical,
                "app-role-superuser",
                r.name.clone(),
                format!(
                    "the app role {} is a superuser: row-level security never applies to it",
                    r.name
                ),
                "alter role ... nosuperuser; give the app a role with DML grants only",
            );
        }
        if r.bypassrls {
            push(
                out,
                Severity::Critical,
                "app-role-bypassrls",
                r.name.clone(),
                format!(
                    "the app role {} has BYPASSRLS: row-level security never applies to it",
                    r.name
                ),
                "alter role ... nobypassrls",
            );
        }
        if r.superuser {
            continue;
        }
        for oid in &r.owns {
            push(out, Severity::Critical, "app-role-owner", format!("{} on {}", r.name, table_name(s, *oid)),
                format!("the app role {} owns (or is a member of the owner of) {}: it can disable or drop its policies, and bypasses them unless FORCE is set", r.name, table_name(s, *oid)),
                "alter table ... owner to a dedicated migration role, and revoke that role from the app");
        }
        for oid in &r.truncate {
            push(out, Severity::High, "app-role-truncate", format!("{} on {}", r.name, table_name(s, *oid)),
                format!("the app role {} may TRUNCATE {}: TRUNCATE ignores row-level security and empties every tenant", r.name, table_name(s, *oid)),
                "revoke truncate on ... from the app role");
        }
        for oid in &r.references {
            push(out, Severity::High, "app-role-references", format!("{} on {}", r.name, table_name(s, *oid)),
                format!("the app role {} holds REFERENCES on {}: a foreign key it creates probes other tenants' keys, ignoring row-level security", r.name, table_name(s, *oid)),
                "revoke references on ... from the app role");
        }
    }
}

/// docs/rls.md, pitfall 10: a foreign key between tenant tables must carry the
/// tenant column on both sides, or tenant A can point at tenant B's row.
fn check_foreign_keys(s: &Snapshot, out: &mut Vec<Finding>) {
    for fk in &s.foreign_keys {
        let (Some(t), Some(r)) = (s.tables.get(&fk.table_oid), s.tables.get(&fk.ref_oid)) else {
            continue;
        };
        // A user-keyed table referencing a tenant-keyed one (or the
        // reverse) has no pair of columns to compare.
        if t.is_root || t.by_user != r.by_user {
            continue;
        }
        let scoped = fk
            .columns
            .iter()
            .zip(&fk.ref_columns)
            .any(|(c, rc)| *c == t.tenant_key && *rc == r.tenant_key);
        if !scoped {
            push(out, Severity::High, "fk-without-tenant", format!("{}.{}", t.qualified(), fk.name),
                format!("foreign key {} ({}) -> {} ({}) does not pair {} with {}: a row can reference another tenant's row, and the key check (which ignores RLS) tells whether that row exists",
                    fk.name, fk.columns.join(", "), r.qualified(), fk.ref_columns.join(", "), t.tenant_key, r.tenant_key),
                format!("add unique ({tk}, <key>) on the parent and make the key ({tk}, <parent key column>) reference it", tk = t.tenant_key));
        }
    }
}

/// docs/rls.md, pitfall 10, first half: a unique index without the tenant column
/// answers "does another tenant have this value?" through a duplicate-key
/// error. Single-column uuid keys are skipped as unguessable.
fn check_uniques(s: &Snapshot, out: &mut Vec<Finding>) {
    let mut seen = BTreeSet::new();
    for u in &s.uniques {
        let Some(t) = s.tables.get(&u.table_oid) else {
            continue;
        };
        if t.is_root {
            continue;
        }
        if u.columns.iter().flatten().any(|c| *c == t.tenant_key) {
            continue;
        }
        if u.single_type.as_deref() == Some("uuid") {
            continue;
        }
        if seen.insert(u.name.clone()) {
            let cols: Vec<String> = u
                .columns
                .iter()
                .map(|c| c.clone().unwrap_or_else(|| "(expression)".into()))
                .collect();
            push(out, Severity::Low, "global-unique", format!("{}.{}", t.qualified(), u.name),
                format!("unique index {} on {} ({}) spans all tenants: a duplicate-key error tells a tenant that another tenant has that value", u.name, t.qualified(), cols.join(", ")),
                format!("make it unique ({}, ...) unless global uniqueness is a product rule; then document the accepted finding", t.tenant_key));
        }
    }
}

/// docs/rls.md, pitfall 12: a sequence shared by all tenants reveals their activity.
fn check_sequences(s: &Snapshot, out: &mut Vec<Finding>) {
    for q in &s.sequences {
        push(out, Severity::Low, "sequence-id", format!("{}.{}", table_name(s, q.table_oid), q.column),
            format!("{}.{} takes its values from a sequence shared by all tenants ({}): consecutive ids reveal how much other tenants write, and ids can be guessed", table_name(s, q.table_oid), q.column, q.how),
            "use uuid keys (default gen_random_uuid())");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_for_fail_on() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_url("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(mask_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
