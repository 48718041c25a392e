//! The pitfall probes of docs/rls.md that apply to any schema: each a named
//! check with a status and a reason. Every probe finds its objects in the
//! catalog and its data among the truth's rows, never by name; behaviour is
//! tried as the app role in transactions that are rolled back.

use serde::Serialize;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::catalog::{World, USER_SCHEMA};
use super::ops::{self, sqlstate, Conns, Ctx, Op, Resolved};
use super::ProveOptions;
use crate::app::quote;
use crate::rls::audit::{foreign_keys_among, Severity};

/// What a probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// A bounded leak worth knowing (never contents): does not fail the run.
    Warn,
    Fail,
    /// Could not run here; the detail says why.
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One probe's result.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// Stable id (`with-check`, `views`, ...): tests and CI match on it.
    pub name: String,
    pub status: Status,
    /// How bad it is when it does not pass.
    pub severity: Severity,
    pub detail: String,
}

fn probe(name: &str, severity: Severity, problems: Vec<String>, ok: String) -> Probe {
    if problems.is_empty() {
        Probe {
            name: name.into(),
            status: Status::Pass,
            severity,
            detail: ok,
        }
    } else {
        Probe {
            name: name.into(),
            status: if severity <= Severity::Low {
                Status::Warn
            } else {
                Status::Fail
            },
            severity,
            detail: problems.join("; "),
        }
    }
}

type Sql<T> = Result<T, sqlx::Error>;

/// Every probe that runs on the primary.
pub(super) async fn all(conns: &mut Conns, world: &World, opts: &ProveOptions) -> Sql<Vec<Probe>> {
    Ok(vec![
        bypass(&mut conns.owner, opts).await?,
        owner_is_not_app(&mut conns.owner, world, opts).await?,
        rls_forced(world),
        unset_context(conns, world, opts).await?,
        context_ends_with_transaction(conns, world, opts).await?,
        with_check(conns, world, opts).await?,
        views(conns, world, opts).await?,
        definer_functions(conns, world, opts).await?,
        unique_side_channel(conns, world, opts).await?,
        foreign_keys(&mut conns.owner, world).await?,
        privileges(&mut conns.owner, world, opts).await?,
    ])
}

/// Pitfall 1: the app role must not be a superuser or BYPASSRLS.
async fn bypass(owner: &mut PgConnection, opts: &ProveOptions) -> Sql<Probe> {
    let (sup, bypass): (bool, bool) =
        sqlx::query_as("select rolsuper, rolbypassrls from pg_roles where rolname = $1")
            .bind(&opts.app_role)
            .fetch_one(&mut *owner)
            .await?;
    let mut p = Vec::new();
    if sup {
        p.push(format!(
            "{} is a superuser: RLS never binds it",
            opts.app_role
        ));
    }
    if bypass {
        p.push(format!(
            "{} has BYPASSRLS: RLS never binds it",
            opts.app_role
        ));
    }
    Ok(probe(
        "app-role-bypass",
        Severity::Critical,
        p,
        format!("{} is neither superuser nor BYPASSRLS", opts.app_role),
    ))
}

/// Pitfall 1 and 14: the tables are owned by a migration role the app
/// role neither is nor inherits (an owner skips RLS unless FORCE).
async fn owner_is_not_app(
    owner: &mut PgConnection,
    world: &World,
    opts: &ProveOptions,
) -> Sql<Probe> {
    let mut p = Vec::new();
    for t in &world.tables {
        let member: bool = sqlx::query_scalar("select pg_has_role($1, $2, 'USAGE')")
            .bind(&opts.app_role)
            .bind(&t.owner)
            .fetch_one(&mut *owner)
            .await?;
        if member {
            p.push(format!(
                "{} is owned by {}{}",
                t.display,
                t.owner,
                if t.owner == opts.app_role {
                    ", the app role itself".to_string()
                } else {
                    format!(", whose rights {} inherits", opts.app_role)
                }
            ));
        }
    }
    let owners: std::collections::BTreeSet<&str> =
        world.tables.iter().map(|t| t.owner.as_str()).collect();
    Ok(probe(
        "owner-is-not-app-role",
        Severity::Critical,
        p,
        format!(
            "tenant tables are owned by {} and the app role is not it nor a member",
            owners.into_iter().collect::<Vec<_>>().join(", ")
        ),
    ))
}

/// Pitfalls 1 and 2: every tenant table has RLS enabled and forced.
fn rls_forced(world: &World) -> Probe {
    let mut p = Vec::new();
    for t in &world.tables {
        if !t.rls {
            p.push(format!("{} has row-level security off", t.display));
        } else if !t.force {
            p.push(format!(
                "{} does not FORCE row-level security: its owner skips the policies",
                t.display
            ));
        }
    }
    let sev = if world.tables.iter().any(|t| !t.rls) {
        Severity::Critical
    } else {
        Severity::High
    };
    probe(
        "rls-enabled-and-forced",
        sev,
        p,
        format!(
            "all {} tenant tables enable and force RLS",
            world.tables.len()
        ),
    )
}

/// Visible rows per table as the app role on `conn` (inside an open
/// transaction); an error is reported as text.
async fn visible(
    conn: &mut PgConnection,
    world: &World,
) -> Sql<Vec<(String, Result<i64, String>)>> {
    let mut out = Vec::new();
    for t in &world.tables {
        sqlx::query("savepoint probe").execute(&mut *conn).await?;
        let r: Sql<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "select count(*)::int8 from {}",
            t.sql
        )))
        .fetch_one(&mut *conn)
        .await;
        let r = match r {
            Ok(n) => Ok(n),
            Err(e) if sqlstate(&e).as_deref() == Some("42501") => Ok(0),
            Err(e) if e.as_database_error().is_some() => Err(format!(
                "{} ({})",
                sqlstate(&e).unwrap_or_default(),
                e.as_database_error().map(|d| d.message()).unwrap_or("")
            )),
            Err(e) => return Err(e),
        };
        sqlx::query("rollback to savepoint probe")
            .execute(&mut *conn)
            .await?;
        out.push((t.display.clone(), r));
    }
    Ok(out)
}

fn seen_problems(state: &str, seen: Vec<(String, Result<i64, String>)>) -> Vec<String> {
    seen.into_iter()
        .filter_map(|(t, r)| match r {
            Ok(0) => None,
            Ok(n) => Some(format!("{state}: {n} row(s) of {t} visible")),
            Err(e) => Some(format!("{state}: reading {t} failed with {e}")),
        })
        .collect()
}

/// Pitfall 3: never set, `''`, and RESET all see nothing, without error.
async fn unset_context(conns: &mut Conns, world: &World, opts: &ProveOptions) -> Sql<Probe> {
    let mut p = Vec::new();
    let mut tx = conns.never.begin().await?;
    let seen = visible(&mut tx, world).await?;
    tx.rollback().await?;
    p.extend(seen_problems("never set", seen));
    let mut tx = conns.app.begin().await?;
    ops::set_context(&mut tx, &opts.setting, &Ctx::Empty, &[]).await?;
    let seen = visible(&mut tx, world).await?;
    tx.rollback().await?;
    p.extend(seen_problems("set to ''", seen));
    let mut tx = conns.app.begin().await?;
    let reset = format!("reset {}", quote_setting(&opts.setting));
    sqlx::query(AssertSqlSafe(reset)).execute(&mut *tx).await?;
    let seen = visible(&mut tx, world).await?;
    tx.rollback().await?;
    p.extend(seen_problems("after RESET", seen));
    Ok(probe(
        "unset-context-sees-nothing",
        Severity::High,
        p,
        "never set, '' and RESET: no table shows a row, none errors".into(),
    ))
}

/// A setting name for `RESET`: each dotted part quoted.
fn quote_setting(s: &str) -> String {
    s.split('.').map(quote).collect::<Vec<_>>().join(".")
}

/// Pitfall 4: a transaction-local context is gone after commit on the
/// same connection, and no default (per role or database) sets it.
async fn context_ends_with_transaction(
    conns: &mut Conns,
    world: &World,
    opts: &ProveOptions,
) -> Sql<Probe> {
    let mut names = vec![opts.setting.clone()];
    names.extend(world.extras.iter().map(|e| e.0.clone()));
    let defaults: Vec<(String, String)> = sqlx::query_as(
        "select coalesce(r.rolname::text, 'every role') || ' in ' ||
                coalesce(d.datname::text, 'every database'), c
         from pg_db_role_setting s
         left join pg_roles r on r.oid = s.setrole
         left join pg_database d on d.oid = s.setdatabase
         cross join unnest(s.setconfig) c
         where (s.setdatabase = 0 or d.datname = current_database())
           and (s.setrole = 0 or pg_has_role($1, s.setrole, 'MEMBER'))
           and split_part(c, '=', 1) = any($2)",
    )
    .bind(&opts.app_role)
    .bind(&names)
    .fetch_all(&mut conns.owner)
    .await?;
    let mut p: Vec<String> = defaults
        .into_iter()
        .map(|(who, c)| {
            format!("a default sets {c} for {who}: every new connection starts in that context")
        })
        .collect();
    if let Some(t) = world.tenants.first() {
        let mut tx = conns.app.begin().await?;
        let extras = first_extras(world);
        ops::set_context(&mut tx, &opts.setting, &Ctx::Tenant(t.clone()), &extras).await?;
        tx.commit().await?;
        let mut tx = conns.app.begin().await?;
        let after: Option<String> = sqlx::query_scalar("select current_setting($1, true)")
            .bind(&opts.setting)
            .fetch_one(&mut *tx)
            .await?;
        if after.as_deref().is_some_and(|v| !v.is_empty()) {
            p.push(format!(
                "after a commit the same connection still has {} = '{}'",
                opts.setting,
                after.unwrap_or_default()
            ));
        }
        let seen = visible(&mut tx, world).await?;
        tx.rollback().await?;
        p.extend(seen_problems("the transaction after tenant's commit", seen));
    }
    Ok(probe(
        "context-ends-with-transaction",
        Severity::High,
        p,
        "a transaction-local context is gone after commit; no role or database default sets it"
            .into(),
    ))
}

fn first_extras(world: &World) -> Vec<(String, String)> {
    world
        .extras
        .iter()
        .map(|(k, v)| (k.clone(), v[0].clone()))
        .collect()
}

/// Pitfall 5, swept over every table: as tenant T, an INSERT of another
/// tenant's row and a move of an own row into another tenant are refused.
async fn with_check(conns: &mut Conns, world: &World, opts: &ProveOptions) -> Sql<Probe> {
    let mut p = Vec::new();
    let mut tried = 0;
    for (i, t) in world.tables.iter().enumerate() {
        // The tenant with rows here, and another tenant that has rows here.
        let Some(own) = t.rows.first().and_then(|r| r.tenant.clone()) else {
            continue;
        };
        let Some(other) = t
            .rows
            .iter()
            .filter_map(|r| r.tenant.clone())
            .find(|x| *x != own)
            .or_else(|| world.tenants.iter().find(|x| **x != own).cloned())
        else {
            continue;
        };
        for op in [Op::Insert, Op::UpdateMove] {
            let row = match op {
                Op::Insert => t
                    .rows
                    .iter()
                    .find(|r| r.tenant.as_ref() == Some(&other))
                    .or(t.rows.first()),
                _ => t.rows.first(),
            };
            for extras in [vec![], first_extras(world)] {
                let r = Resolved {
                    table: i,
                    op,
                    ctx: Ctx::Tenant(own.clone()),
                    extras,
                    row: row.cloned(),
                    other: Some(other.clone()),
                };
                tried += 1;
                if let Err(why) = ops::run(conns, world, &opts.setting, &r).await? {
                    p.push(format!("{}, {op} as tenant {own}: {why}", t.display));
                    break;
                }
            }
        }
    }
    Ok(probe(
        "with-check",
        Severity::High,
        p,
        format!("{tried} cross-tenant writes tried, all refused with 42501"),
    ))
}

/// Pitfall 7: a view over a tenant table shows, as the app role, only the
/// context tenant's rows (nothing with no context); a materialized view
/// the app can read is outside RLS altogether.
async fn views(conns: &mut Conns, world: &World, opts: &ProveOptions) -> Sql<Probe> {
    let oids: Vec<i64> = world.tables.iter().map(|t| t.oid).collect();
    let found: Vec<(String, String, String, bool, bool)> = sqlx::query_as(AssertSqlSafe(format!(
        "select distinct n.nspname::text, v.relname::text, v.relkind::text,
                has_table_privilege($1, v.oid, 'SELECT'),
                exists (select 1 from pg_attribute a where a.attrelid = v.oid and a.attname = $2
                        and not a.attisdropped)
         from pg_rewrite rw
         join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = rw.oid
         join pg_class v on v.oid = rw.ev_class
         join pg_namespace n on n.oid = v.relnamespace
         where v.relkind in ('v', 'm') and d.refobjid::int8 = any($3) and {USER_SCHEMA}
         order by 1, 2"
    )))
    .bind(&opts.app_role)
    .bind(&opts.tenant_column)
    .bind(&oids)
    .fetch_all(&mut conns.owner)
    .await?;
    let mut p = Vec::new();
    let mut readable = 0;
    for (schema, name, kind, can_read, has_tenant) in &found {
        let sql = format!("{}.{}", quote(schema), quote(name));
        if !can_read {
            continue;
        }
        readable += 1;
        if kind == "m" {
            p.push(format!(
                "{name} is a materialized view over a tenant table the app role can read: RLS does not apply to it"
            ));
            continue;
        }
        let mut tx = conns.never.begin().await?;
        let none: Sql<i64> =
            sqlx::query_scalar(AssertSqlSafe(format!("select count(*)::int8 from {sql}")))
                .fetch_one(&mut *tx)
                .await;
        tx.rollback().await?;
        if let Ok(n) = none {
            if n > 0 {
                p.push(format!(
                    "{name} shows {n} row(s) with no tenant set: it reads its tables with its owner's rights (security_invoker off)"
                ));
                continue;
            }
        }
        if !has_tenant {
            continue;
        }
        for t in world.tenants.iter().take(2) {
            let mut tx = conns.app.begin().await?;
            ops::set_context(&mut tx, &opts.setting, &Ctx::Tenant(t.clone()), &[]).await?;
            let r: Sql<(i64, Option<String>)> = sqlx::query_as(AssertSqlSafe(format!(
                "select (count(*) filter (where {c}::text is distinct from $1))::int8,
                        min({c}::text) filter (where {c}::text is distinct from $1)
                 from {sql}",
                c = quote(&opts.tenant_column)
            )))
            .bind(t)
            .fetch_one(&mut *tx)
            .await;
            tx.rollback().await?;
            if let Ok((n, Some(other))) = r {
                if n > 0 {
                    p.push(format!(
                        "{name} shows tenant {t} {n} row(s) of other tenants (e.g. tenant {other})"
                    ));
                    break;
                }
            }
        }
    }
    Ok(probe(
        "views",
        Severity::High,
        p,
        format!(
            "{} view(s) over tenant tables, {readable} readable by the app role; none shows another tenant's rows",
            found.len()
        ),
    ))
}

/// Pitfall 8: SECURITY DEFINER functions the app role may call must not
/// hand back another tenant's rows. Called as tenant T with another
/// tenant's id for every argument of the tenant type.
async fn definer_functions(conns: &mut Conns, world: &World, opts: &ProveOptions) -> Sql<Probe> {
    let found: Vec<(String, String, bool, bool, Vec<String>)> =
        sqlx::query_as(AssertSqlSafe(format!(
            "select n.nspname::text, p.proname::text, p.prorettype = 'trigger'::regtype,
                    exists (select 1 from unnest(coalesce(p.proconfig, '{{}}')) c
                            where c like 'search\\_path=%'),
                    array(select format_type(t, null) from unnest(p.proargtypes::oid[]) t)
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace
             where p.prosecdef and p.prokind = 'f' and {USER_SCHEMA}
               and has_function_privilege($1, p.oid, 'EXECUTE')
             order by 1, 2"
        )))
        .bind(&opts.app_role)
        .fetch_all(&mut conns.owner)
        .await?;
    let mut p = Vec::new();
    let mut notes = Vec::new();
    let (Some(own), Some(other)) = (world.tenants.first(), world.tenants.get(1)) else {
        return Ok(probe(
            "definer-functions",
            Severity::High,
            p,
            "no tenants".into(),
        ));
    };
    for (schema, name, is_trigger, pinned, args) in &found {
        if !pinned {
            notes.push(format!("{name} has no pinned search_path"));
        }
        if *is_trigger {
            continue;
        }
        if args.iter().any(|a| *a != world.tenant_type) {
            notes.push(format!(
                "{name}({}) not called: the probe chooses only arguments of the tenant type",
                args.join(", ")
            ));
            continue;
        }
        let call = format!(
            "{}.{}({})",
            quote(schema),
            quote(name),
            (1..=args.len())
                .map(|i| format!("$2::text::{}", args[i - 1]))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for ctx in [Ctx::Tenant(own.clone()), Ctx::Unset] {
            let conn = if ctx == Ctx::Unset {
                &mut conns.never
            } else {
                &mut conns.app
            };
            let mut tx = conn.begin().await?;
            ops::set_context(&mut tx, &opts.setting, &ctx, &[]).await?;
            let r: Sql<(i64, i64, Option<String>)> = sqlx::query_as(AssertSqlSafe(format!(
                "select count(*)::int8,
                        (count(*) filter (where jsonb_typeof(j) = 'object' and j ? $3
                                          and j ->> $3 is distinct from $1))::int8,
                        min(j::text) filter (where jsonb_typeof(j) = 'object' and j ? $3
                                             and j ->> $3 is distinct from $1)
                 from (select to_jsonb(r) as j from {call} as r) s"
            )))
            .bind(ctx.tenant())
            .bind(other)
            .bind(&opts.tenant_column)
            .fetch_one(&mut *tx)
            .await;
            tx.rollback().await?;
            match r {
                Ok((_, n, Some(row))) if n > 0 => {
                    let mut row = row;
                    row.truncate(160);
                    p.push(format!(
                        "{name} returns another tenant's rows to {}: {row}",
                        match &ctx {
                            Ctx::Tenant(t) => format!("tenant {t}"),
                            _ => "a caller with no tenant".to_string(),
                        }
                    ));
                    break;
                }
                Ok((n, _, _)) if n > 0 && ctx == Ctx::Unset && args.is_empty() => {
                    p.push(format!(
                        "{name}() returns {n} row(s) to a caller with no tenant set"
                    ));
                    break;
                }
                _ => {}
            }
        }
    }
    let ok = format!(
        "{} SECURITY DEFINER function(s) callable by the app role; none returned another tenant's rows{}",
        found.len(),
        if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        }
    );
    Ok(probe("definer-functions", Severity::High, p, ok))
}

/// Pitfall 10, first half: a unique key without the tenant column lets a
/// duplicate-key error confirm that another tenant holds a value. Reported
/// at low severity (existence, never contents); single-column uuid keys
/// are skipped as unguessable.
async fn unique_side_channel(conns: &mut Conns, world: &World, opts: &ProveOptions) -> Sql<Probe> {
    let mut p = Vec::new();
    let mut checked = 0;
    for t in &world.tables {
        if t.is_root {
            continue;
        }
        let keys: Vec<(String, Vec<String>, Vec<String>)> = sqlx::query_as(
            "select ic.relname::text,
                    array(select a.attname::text from unnest(i.indkey::int2[]) k
                          join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k),
                    array(select t.typname::text from unnest(i.indkey::int2[]) k
                          join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k
                          join pg_type t on t.oid = a.atttypid)
             from pg_index i join pg_class ic on ic.oid = i.indexrelid
             where i.indrelid = $1::int8::oid and i.indisunique and i.indexprs is null
               and i.indpred is null",
        )
        .bind(t.oid)
        .fetch_all(&mut conns.owner)
        .await?;
        for (index, cols, types) in keys {
            if cols.contains(&t.tenant_col) || cols.is_empty() {
                continue;
            }
            if cols.len() == 1 && types[0] == "uuid" {
                continue;
            }
            let Some(mine) = t.rows.first() else { continue };
            let own = mine.tenant.clone().unwrap_or_default();
            let Some(theirs) = t
                .rows
                .iter()
                .find(|r| r.tenant.is_some() && r.tenant.as_ref() != Some(&own))
            else {
                continue;
            };
            checked += 1;
            // An own row whose key columns take the other tenant's values.
            let fresh = match &t.fresh_key {
                Some((k, _)) if !cols.iter().any(|c| quote(c) == *k) => {
                    super::ops::row_for(&mut conns.owner, world, t, mine, &own).await?
                }
                _ => None,
            };
            let row: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
                "select (coalesce($3::jsonb, to_jsonb(m)) || (select jsonb_object_agg(k, v)
                         from jsonb_each(to_jsonb(o)) e(k, v) where k = any($4)))::text
                 from {sql} m, {sql} o where m.ctid = $1::tid and o.ctid = $2::tid",
                sql = t.sql
            )))
            .bind(&mine.ctid)
            .bind(&theirs.ctid)
            .bind(fresh)
            .bind(&cols)
            .fetch_optional(&mut conns.owner)
            .await?;
            let Some(row) = row else { continue };
            let mut tx = conns.app.begin().await?;
            ops::set_context(
                &mut tx,
                &opts.setting,
                &Ctx::Tenant(own.clone()),
                &first_extras(world),
            )
            .await?;
            let res = sqlx::query(AssertSqlSafe(ops::insert_sql(t)))
                .bind(&row)
                .execute(&mut *tx)
                .await;
            tx.rollback().await?;
            // Only this key's error counts: a clash on another key (the
            // copied row's own primary key) says nothing about the others.
            if let Err(e) = res {
                let on_this = e
                    .as_database_error()
                    .and_then(|d| d.constraint())
                    .is_some_and(|c| c == index);
                if sqlstate(&e).as_deref() == Some("23505") && on_this {
                    p.push(format!(
                        "{} ({}): tenant {own} learns from a duplicate-key error that another tenant holds {}",
                        t.display,
                        index,
                        theirs.label
                    ));
                }
            }
        }
    }
    Ok(probe(
        "unique-error-side-channel",
        Severity::Low,
        p,
        format!("{checked} global unique key(s) tried; no duplicate-key error reveals another tenant's value"),
    ))
}

/// Pitfall 10, second half: an own row must not be able to reference
/// another tenant's parent. Written as the oracle (foreign keys ignore
/// roles and RLS) in a transaction that is rolled back.
async fn foreign_keys(owner: &mut PgConnection, world: &World) -> Sql<Probe> {
    let oids: Vec<i64> = world.tables.iter().map(|t| t.oid).collect();
    let mut fks = foreign_keys_among(&mut *owner, &oids).await?;
    fks.sort_by(|a, b| a.0.cmp(&b.0));
    let mut p = Vec::new();
    let mut tried = 0;
    for (name, child, parent, ccols, pcols) in fks {
        let (Some(c), Some(pt)) = (
            world.tables.iter().find(|t| t.oid == child),
            world.tables.iter().find(|t| t.oid == parent),
        ) else {
            continue;
        };
        // The columns to point elsewhere: every key column but the tenant's.
        let pairs: Vec<(&String, &String)> = ccols
            .iter()
            .zip(&pcols)
            .filter(|(cc, _)| **cc != c.tenant_col)
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let pairs_tenant = ccols.contains(&c.tenant_col);
        let Some(row) = c.rows.iter().find(|r| r.tenant.is_some()) else {
            continue;
        };
        let Some(target) = pt
            .rows
            .iter()
            .find(|r| r.tenant.is_some() && r.tenant != row.tenant)
        else {
            continue;
        };
        tried += 1;
        let set = pairs
            .iter()
            .map(|(cc, pc)| format!("{} = p.{}", quote(cc), quote(pc)))
            .collect::<Vec<_>>()
            .join(", ");
        let mut tx = owner.begin().await?;
        let res = sqlx::query(AssertSqlSafe(format!(
            "update {} c set {set} from {} p where c.ctid = $1::tid and p.ctid = $2::tid",
            c.sql, pt.sql
        )))
        .bind(&row.ctid)
        .bind(&target.ctid)
        .execute(&mut *tx)
        .await;
        // Foreign keys are checked at the end of the statement; make sure.
        let res = match res {
            Ok(_) => {
                sqlx::query("set constraints all immediate")
                    .execute(&mut *tx)
                    .await
            }
            e => e,
        };
        tx.rollback().await?;
        match res {
            Ok(_) => p.push(format!(
                "{} ({name}): {} now references {} of {}, another tenant, and the database accepted it",
                c.display,
                ops::describe(row),
                ops::describe(target),
                pt.display
            )),
            Err(e) if sqlstate(&e).as_deref() == Some("23503") => {}
            Err(e) if !pairs_tenant => p.push(format!(
                "{} ({name}): the key does not pair the tenant column {}; the probe's write was stopped by {} first, so a cross-tenant reference is possible",
                c.display,
                c.tenant_col,
                sqlstate(&e).unwrap_or_default()
            )),
            Err(_) => {}
        }
    }
    Ok(probe(
        "cross-tenant-foreign-keys",
        Severity::High,
        p,
        format!("{tried} foreign key(s) between tenant tables refuse a parent of another tenant"),
    ))
}

/// Pitfall 11: TRUNCATE and REFERENCES are not filtered by policies.
async fn privileges(owner: &mut PgConnection, world: &World, opts: &ProveOptions) -> Sql<Probe> {
    let mut p = Vec::new();
    for t in &world.tables {
        for privilege in ["TRUNCATE", "REFERENCES"] {
            let has: bool = sqlx::query_scalar("select has_table_privilege($1, $2::int8::oid, $3)")
                .bind(&opts.app_role)
                .bind(t.oid)
                .bind(privilege)
                .fetch_one(&mut *owner)
                .await?;
            if has {
                p.push(format!("{} may {privilege} {}", opts.app_role, t.display));
            }
        }
    }
    Ok(probe(
        "truncate-references",
        Severity::High,
        p,
        format!(
            "{} holds neither TRUNCATE nor REFERENCES on a tenant table",
            opts.app_role
        ),
    ))
}
