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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

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
    /// The setting the app sets to name its tenant (used in hints).
    pub setting: String,
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
        }
    }

    /// The fail-closed tenant expression the hints recommend.
    fn context(&self) -> String {
        format!(
            "nullif(current_setting('{}', true), '')",
            self.setting.replace('\'', "''")
        )
    }
}

/// The audit's result: the findings, worst first, and what was looked at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditReport {
    pub database: String,
    pub server_version: String,
    pub tenant_tables: Vec<String>,
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
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let auth = &url[s + 3..at];
            match auth.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Connect to `url` and audit it. Nothing is written: the work runs in a
/// read-only transaction that is rolled back.
pub async fn audit_url(url: &str, opts: &AuditOptions) -> Result<AuditReport, AuditError> {
    let mut conn = PgConnection::connect(url)
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
    pub is_root: bool,
}

impl TableInfo {
    fn qualified(&self) -> String {
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
    /// The fail-closed tenant-context expression hints recommend.
    pub context: String,
}

/// Schemas that belong to PostgreSQL, not to the app. Spliced into the
/// catalog queries below as a constant (never user input), hence the
/// `AssertSqlSafe` around them.
const USER_SCHEMA: &str = "n.nspname not in ('pg_catalog', 'information_schema') \
     and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'";

// The catalog rows as they come off the wire, before they are named.
type TableRow = (i64, String, String, String, bool, bool, String, bool);
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
type ForeignKeyRow = (String, i64, i64, Vec<String>, Vec<String>);
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

    let tables: Vec<TableRow> = sqlx::query_as(AssertSqlSafe(format!(
        "with roots as (
             select f.confrelid as oid, ka.attname::text as key
             from pg_constraint f
             join pg_attribute fa on fa.attrelid = f.conrelid and fa.attnum = f.conkey[1]
             join pg_attribute ka on ka.attrelid = f.confrelid and ka.attnum = f.confkey[1]
             where f.contype = 'f' and cardinality(f.conkey) = 1 and fa.attname = $1
         )
         select c.oid::int8, n.nspname::text, c.relname::text, pg_get_userbyid(c.relowner)::text,
                c.relrowsecurity, c.relforcerowsecurity,
                coalesce((select r.key from roots r where r.oid = c.oid limit 1), $1),
                exists (select 1 from roots r where r.oid = c.oid)
                    and not exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = $1
                                    and a.attnum > 0 and not a.attisdropped)
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and {USER_SCHEMA}
           and (exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = $1
                        and a.attnum > 0 and not a.attisdropped)
                or exists (select 1 from roots r where r.oid = c.oid))
         order by n.nspname, c.relname"
    )))
    .bind(&opts.tenant_column)
    .fetch_all(&mut *conn)
    .await
    .map_err(catalog("tenant tables"))?;
    let tables: BTreeMap<i64, TableInfo> = tables
        .into_iter()
        .map(|(oid, schema, name, owner, rls, force, key, is_root)| {
            (
                oid,
                TableInfo {
                    oid,
                    schema,
                    name,
                    owner,
                    rls,
                    force,
                    tenant_key: if is_root {
                        key
                    } else {
                        opts.tenant_column.clone()
                    },
                    is_root,
                },
            )
        })
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
    let policies = policies
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
           and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass
                           and d.objid = p.oid and d.deptype = 'e')
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
           and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass
                           and d.objid = p.oid and d.deptype = 'e')
         order by 1"
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(catalog("leakproof functions"))?;

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

    let fks: Vec<ForeignKeyRow> = sqlx::query_as(
        "select c.conname::text, c.conrelid::int8, c.confrelid::int8,
                array(select a.attname::text from unnest(c.conkey) with ordinality k(n, i)
                      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.i),
                array(select a.attname::text from unnest(c.confkey) with ordinality k(n, i)
                      join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.i)
         from pg_constraint c
         where c.contype = 'f' and c.conrelid::int8 = any($1) and c.confrelid::int8 = any($1)
         order by 2, 1",
    )
    .bind(&oids)
    .fetch_all(&mut *conn)
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

    Ok(Snapshot {
        context: opts.context(),
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

/// Every check over a snapshot; findings worst first, then by object.
pub fn evaluate(s: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    check_rls_enabled(s, &mut out);
    check_policies(s, &mut out);
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

fn push(
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

fn cmd_name(cmd: &str) -> &'static str {
    match cmd {
        "r" => "SELECT",
        "a" => "INSERT",
        "w" => "UPDATE",
        "d" => "DELETE",
        _ => "ALL",
    }
}

/// Whether a deparsed expression restricts `column` to a session setting:
/// it names the column and reads a setting. A heuristic over the text.
fn restricts_tenant(expr: &str, column: &str) -> bool {
    mentions_column(expr, column) && expr.contains("current_setting(")
}

fn mentions_column(expr: &str, column: &str) -> bool {
    let bytes = expr.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut start = 0;
    while let Some(pos) = expr[start..].find(column) {
        let i = start + pos;
        let j = i + column.len();
        let before_ok = i == 0 || !is_ident(bytes[i - 1]);
        let after_ok = j >= bytes.len() || !is_ident(bytes[j]);
        // Inside a string literal (`'app.tenant_id'`) it is not the
        // column. Deparsed SQL doubles quotes inside literals, so an odd
        // count of quotes before the match means we are inside one.
        let quoted = bytes[..i].iter().filter(|&&b| b == b'\'').count() % 2 == 1;
        if before_ok && after_ok && !quoted {
            return true;
        }
        start = j;
    }
    false
}

/// The calls `current_setting(...)` in `expr` that lack `missing_ok`.
fn settings_without_missing_ok(expr: &str) -> bool {
    let mut rest = expr;
    while let Some(pos) = rest.find("current_setting(") {
        let args = &rest[pos + "current_setting(".len()..];
        let mut depth = 0;
        let mut comma = false;
        let mut in_str = false;
        for ch in args.chars() {
            match ch {
                '\'' => in_str = !in_str,
                '(' if !in_str => depth += 1,
                ')' if !in_str && depth == 0 => break,
                ')' if !in_str => depth -= 1,
                ',' if !in_str && depth == 0 => comma = true,
                _ => {}
            }
        }
        if !comma {
            return true;
        }
        rest = args;
    }
    false
}

/// docs/rls.md, pitfalls 3, 5 and 6: policies that fail open or with an error, write
/// policies without a tenant check, permissive policies that widen access.
fn check_policies(s: &Snapshot, out: &mut Vec<Finding>) {
    for t in s.tables.values().filter(|t| t.rls) {
        let pols: Vec<&PolicyInfo> = s.policies.iter().filter(|p| p.table_oid == t.oid).collect();
        for p in &pols {
            let obj = format!("{}.{}", t.qualified(), p.name);
            let cmd = cmd_name(&p.cmd);
            let reads = matches!(p.cmd.as_str(), "r" | "w" | "d" | "*");
            let writes = matches!(p.cmd.as_str(), "a" | "w" | "*");
            for expr in p.using.iter().chain(p.with_check.iter()) {
                if settings_without_missing_ok(expr) {
                    push(out, Severity::Medium, "setting-not-missing-ok", obj.clone(),
                        format!("policy {} ({cmd}) calls current_setting(name) without missing_ok: with no tenant context every query on {} errors instead of returning no rows", p.name, t.qualified()),
                        format!("use {}::<tenant type>", s.context));
                } else if expr.contains("current_setting(")
                    && expr.contains("::uuid")
                    && !expr.contains("NULLIF(current_setting(")
                {
                    push(out, Severity::Medium, "setting-cast-without-nullif", obj.clone(),
                        format!("policy {} ({cmd}) casts current_setting(..., true) to uuid without NULLIF: on a pooled connection where a transaction-local tenant was set earlier the setting is '' and the cast errors (22P02)", p.name),
                        format!("wrap the setting: {}::uuid", s.context));
                }
            }
            if !p.permissive {
                continue;
            }
            // A permissive policy is ORed with the others: on its own it
            // must already confine rows to the context's tenant.
            if reads {
                let narrow = p
                    .using
                    .as_deref()
                    .is_some_and(|u| restricts_tenant(u, &t.tenant_key));
                if !narrow {
                    push(out, Severity::High, "policy-widens-access", obj.clone(),
                        format!("permissive policy {} ({cmd}, to {}) does not confine rows to the tenant context: USING is {}; permissive policies OR together, so it widens whatever the others allow",
                            p.name, p.roles.join(", "), p.using.as_deref().unwrap_or("absent")),
                        format!("make it `as restrictive`, or add `and {} = {}::<tenant type>`", t.tenant_key, s.context));
                }
            }
            if writes {
                // For ALL and UPDATE an absent WITH CHECK reuses USING.
                let effective = p.with_check.as_deref().or(if p.cmd == "a" {
                    None
                } else {
                    p.using.as_deref()
                });
                let narrow = effective.is_some_and(|e| restricts_tenant(e, &t.tenant_key));
                if !narrow {
                    push(out, Severity::High, "write-check-missing", obj.clone(),
                        format!("policy {} ({cmd}) does not check written rows against the tenant context (WITH CHECK is {}): a tenant can insert or move rows into another tenant",
                            p.name, effective.unwrap_or("absent")),
                        format!("add `with check ({} = {}::<tenant type>)`", t.tenant_key, s.context));
                } else if p.with_check.is_none() {
                    push(out, Severity::Medium, "write-check-implicit", obj.clone(),
                        format!("policy {} ({cmd}) has no WITH CHECK and relies on USING being reused for written rows; a later edit of USING silently changes what may be written", p.name),
                        "state WITH CHECK explicitly, equal to the tenant condition");
                }
            }
        }
        // Several permissive policies for one command and role OR together.
        let mut per: BTreeMap<(String, &'static str), Vec<&str>> = BTreeMap::new();
        for p in pols.iter().filter(|p| p.permissive) {
            let cmds: &[&'static str] = match p.cmd.as_str() {
                "*" => &["SELECT", "INSERT", "UPDATE", "DELETE"],
                c => match c {
                    "r" => &["SELECT"],
                    "a" => &["INSERT"],
                    "w" => &["UPDATE"],
                    _ => &["DELETE"],
                },
            };
            for role in &p.roles {
                for c in cmds {
                    per.entry((role.clone(), c)).or_default().push(&p.name);
                }
            }
        }
        for ((role, cmd), names) in per {
            if names.len() > 1 {
                push(out, Severity::Medium, "permissive-policies-or", format!("{} ({cmd} to {role})", t.qualified()),
                    format!("{} permissive policies apply to {cmd} for {role} on {} and are ORed: {}; the widest one decides", names.len(), t.qualified(), names.join(", ")),
                    "keep one permissive policy per command and role, and express extra rules as restrictive policies");
            }
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
        if t.is_root {
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
    fn recognises_the_tenant_column_in_deparsed_policies() {
        let ours = "(org_key = (NULLIF(current_setting('app.org'::text, true), ''::text))::uuid)";
        assert!(restricts_tenant(ours, "org_key"));
        assert!(!restricts_tenant("true", "org_key"));
        assert!(!restricts_tenant(
            "(current_setting('app.org'::text, true) = 'x'::text)",
            "org_key"
        ));
        assert!(!mentions_column("(other_org_key = 1)", "org_key"));
    }

    #[test]
    fn tells_setting_calls_without_missing_ok() {
        assert!(settings_without_missing_ok(
            "(org_key = (current_setting('app.org'::text))::uuid)"
        ));
        assert!(!settings_without_missing_ok(
            "(org_key = (NULLIF(current_setting('app.org'::text, true), ''::text))::uuid)"
        ));
    }

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
