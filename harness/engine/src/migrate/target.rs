//! The PostgreSQL side of a run: connect, apply the schema, keep the
//! bookkeeping that makes re-runs and crashes safe, and become the
//! migration role.
//!
//! Bookkeeping lives in its own schema, `harness_migration`, so it never
//! mixes with the app's tables (RLS audits scan for the tenant column;
//! these tables have none):
//! - `harness_migration.tables`: one row per table finished, written in the
//!   same transaction as the table's COPY: present means the table is whole.
//! - `harness_migration.rejects`: the rows each finished table refused, so
//!   `harness verify` (a later process) knows which legacy rows to expect
//!   absent.

use std::collections::HashMap;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, Row};

use super::MigrateError;
use crate::app::{quote, App};

/// A readable name for a target, without its password.
pub fn describe(opts: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        opts.get_username(),
        opts.get_host(),
        opts.get_port(),
        opts.get_database().unwrap_or("(default)")
    )
}

pub async fn connect(opts: &PgConnectOptions) -> Result<PgConnection, MigrateError> {
    // Long COPYs and full-table reads are the point here, not slow queries.
    let opts = opts
        .clone()
        .application_name("harness-migrate")
        .disable_statement_logging();
    opts.connect()
        .await
        .map_err(|source| MigrateError::Connect {
            target: describe(&opts),
            source,
        })
}

/// Apply the app's schema migrations and create the bookkeeping schema.
pub async fn prepare(conn: &mut PgConnection, app: &App) -> Result<(), MigrateError> {
    app.migrator()
        .await?
        .run(&mut *conn)
        .await
        .map_err(|source| MigrateError::Schema { source })?;
    sqlx::raw_sql(
        "create schema if not exists harness_migration;
         create table if not exists harness_migration.tables (
             table_name text primary key,
             source_sha256 text not null,
             rows_copied bigint not null,
             rows_rejected bigint not null,
             finished_at timestamptz not null default now());
         create table if not exists harness_migration.rejects (
             table_name text not null,
             legacy_key bigint,
             column_name text not null,
             reason text not null,
             value text);
         alter table harness_migration.rejects add column if not exists stage text;",
    )
    .execute(&mut *conn)
    .await
    .map_err(MigrateError::target(
        "creating the harness_migration bookkeeping schema",
    ))?;
    Ok(())
}

/// Become the migration role when it exists and this login may; returns
/// the role the rows will be written as.
/// `grant`: also give the role the bookkeeping schema (the migration
/// creates it as the login user; verification only reads).
pub async fn become_migration_role(
    conn: &mut PgConnection,
    role: &str,
    grant: bool,
) -> Result<String, MigrateError> {
    let can: bool = sqlx::query_scalar(
        "select exists (select 1 from pg_roles where rolname = $1)
            and pg_has_role(current_user, $1, 'MEMBER')",
    )
    .bind(role)
    .fetch_one(&mut *conn)
    .await
    .map_err(MigrateError::target("looking up the migration role"))?;
    let r = quote(role);
    if can {
        if grant {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "grant usage, create on schema harness_migration to {r};
                 grant all on all tables in schema harness_migration to {r};"
            )))
            .execute(&mut *conn)
            .await
            .map_err(MigrateError::target(format!(
                "granting the bookkeeping schema to {role}"
            )))?;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("set role {r}")))
            .execute(&mut *conn)
            .await
            .map_err(MigrateError::target(format!(
                "switching to the migration role {role}"
            )))?;
    } else {
        tracing::warn!(
            "role {role} (the app's owner role) does not exist (or this login cannot use it): writing as the login user"
        );
    }
    let who: String = sqlx::query_scalar("select current_user::text")
        .fetch_one(&mut *conn)
        .await
        .map_err(MigrateError::target("reading current_user"))?;
    Ok(who)
}

/// What the target already holds for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableState {
    /// Finished by a run of the file with this fingerprint.
    Done {
        fingerprint: String,
        rows: u64,
    },
    Empty,
    /// Rows without a commit marker: not ours.
    Foreign,
}

/// Per mapped table (mapping order), what the target holds.
pub async fn table_states(
    conn: &mut PgConnection,
    app: &App,
) -> Result<Vec<TableState>, MigrateError> {
    let done: Vec<(String, String, i64)> = sqlx::query_as(
        "select table_name, source_sha256, rows_copied from harness_migration.tables",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(MigrateError::target("reading harness_migration.tables"))?;
    let mut out = Vec::new();
    for t in &app.mapping.tables {
        if let Some((_, fp, rows)) = done.iter().find(|(n, _, _)| *n == t.name) {
            out.push(TableState::Done {
                fingerprint: fp.clone(),
                rows: *rows as u64,
            });
            continue;
        }
        let any = has_rows(
            conn,
            &quote(&t.name),
            format!(
                "looking into {}; does the app's migrations/ create it?",
                t.name
            ),
        )
        .await?;
        out.push(if any {
            TableState::Foreign
        } else {
            TableState::Empty
        });
    }
    Ok(out)
}

/// Whether `relation` (quoted, as SQL names it) holds a row; `what` says
/// what the look was for if it fails.
async fn has_rows(
    conn: &mut PgConnection,
    relation: &str,
    what: String,
) -> Result<bool, MigrateError> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select exists (select 1 from {relation})"
    )))
    .fetch_one(&mut *conn)
    .await
    .map_err(MigrateError::target(what))
}

/// Whether the table has user triggers (disabled during COPY: an audit or
/// `updated_at` trigger would change rows the digests promise unchanged).
pub async fn has_user_triggers(conn: &mut PgConnection, table: &str) -> Result<bool, MigrateError> {
    sqlx::query_scalar("select exists (select 1 from pg_trigger where tgrelid = $1::regclass and not tgisinternal)")
        .bind(quote(table))
        .fetch_one(&mut *conn)
        .await
        .map_err(MigrateError::target(format!("reading triggers of {table}")))
}

/// An index dropped for a bulk load and built again after it.
#[derive(Debug, Clone)]
pub struct Rebuild {
    /// The statement that drops it (`drop index`, or `alter table .. drop
    /// constraint` for a primary key or unique constraint).
    pub drop: String,
    /// The statement that builds it again, as the catalog defines it.
    pub create: String,
    /// A unique index or constraint: its rebuild can find duplicates, which
    /// the load then redoes with it in place, so that COPY names the row.
    pub unique: bool,
}

/// The indexes of `table` a bulk load may drop and build again once after
/// its COPY, as pg_restore orders it (one sorted build instead of a b-tree
/// insert per row): unique indexes and constraints first, then the others.
///
/// A key that foreign keys of other tables point at is deferred too while
/// those tables are still empty (they load after it): their foreign keys
/// are dropped with it and added back after its rebuild, which validates
/// nothing on an empty table. It is kept when one of them holds rows, is
/// partitioned or a partition, belongs to a role the migration role is not
/// a member of, or carries a comment. Also kept through the load, whatever
/// the mode: the replica identity, the clustered index, indexes and
/// constraints that carry a comment (their rebuild would lose it),
/// exclusion constraints. Everything is kept when the migration role may
/// not create in the table's schema (it could drop the indexes but not
/// build them again).
pub async fn deferrable_indexes(
    conn: &mut PgConnection,
    table: &str,
) -> Result<Vec<Rebuild>, MigrateError> {
    let may_create: bool = sqlx::query_scalar(
        "select has_schema_privilege(c.relnamespace, 'CREATE') from pg_class c where c.oid = $1::regclass",
    )
    .bind(quote(table))
    .fetch_one(&mut *conn)
    .await
    .map_err(MigrateError::target(format!("reading the privileges on {table}'s schema")))?;
    if !may_create {
        tracing::info!("{table}: the migration role may not create in its schema; its indexes stay during the load");
        return Ok(Vec::new());
    }
    type Row = (
        String,
        Option<String>,
        String,
        String,
        bool,
        bool,
        Vec<String>,
        Vec<String>,
        Vec<String>,
    );
    // Foreign keys of the table itself (a self-reference included) are
    // dropped and added back by the load. Those of other tables that point
    // at an index come as the tables they sit on and the statements that
    // drop and add them; `blocked` says one of them may not be touched.
    let rows: Vec<Row> = sqlx::query_as(
        "select i.indexrelid::regclass::text, quote_ident(c.conname),
                pg_get_indexdef(i.indexrelid), coalesce(pg_get_constraintdef(c.oid), ''),
                i.indisunique,
                coalesce(d.blocked, false),
                coalesce(d.tables, '{}'), coalesce(d.drops, '{}'), coalesce(d.adds, '{}')
         from pg_index i
         join pg_class t on t.oid = i.indrelid
         left join pg_constraint c on c.conindid = i.indexrelid and c.conrelid = i.indrelid
         left join lateral (
             select bool_or(f.conparentid <> 0 or fc.relkind <> 'r' or fc.relispartition
                            or t.relkind <> 'r' or t.relispartition
                            or not pg_has_role(fc.relowner, 'MEMBER')
                            or obj_description(f.oid, 'pg_constraint') is not null) as blocked,
                    array_agg(distinct f.conrelid::regclass::text) as tables,
                    array_agg(format('alter table %s drop constraint %I',
                                     f.conrelid::regclass, f.conname) order by f.oid) as drops,
                    array_agg(format('alter table %s add constraint %I %s',
                                     f.conrelid::regclass, f.conname, pg_get_constraintdef(f.oid))
                              order by f.oid) as adds
             from pg_constraint f join pg_class fc on fc.oid = f.conrelid
             where f.contype = 'f' and f.conindid = i.indexrelid
               and f.conrelid <> i.indrelid
         ) d on true
         where i.indrelid = $1::regclass
           and not i.indisreplident and not i.indisclustered
           and obj_description(i.indexrelid, 'pg_class') is null
           and (c.oid is null or (c.contype in ('p', 'u')
                                  and obj_description(c.oid, 'pg_constraint') is null))
         order by not i.indisunique, 1",
    )
    .bind(quote(table))
    .fetch_all(&mut *conn)
    .await
    .map_err(MigrateError::target(format!(
        "reading the indexes of {table}"
    )))?;
    let qtable = quote(table);
    let mut out = Vec::new();
    'index: for (index, constraint, indexdef, condef, unique, blocked, tables, drops, adds) in rows
    {
        if blocked {
            continue;
        }
        for child in &tables {
            let what = format!("looking for rows in {child}, whose foreign keys point at {table}");
            if has_rows(conn, child, what).await? {
                continue 'index;
            }
        }
        let (own_drop, own_create) = match constraint {
            Some(con) => (
                format!("alter table {qtable} drop constraint {con}"),
                format!("alter table {qtable} add constraint {con} {condef}"),
            ),
            None => (format!("drop index {index}"), indexdef),
        };
        // The other tables' foreign keys go before the key and come back
        // after it.
        out.push(Rebuild {
            drop: [drops, vec![own_drop]].concat().join("; "),
            create: [vec![own_create], adds].concat().join("; "),
            unique,
        });
    }
    Ok(out)
}

/// Foreign keys of a table, as (quoted name, definition): dropped for the
/// load and added back after it, validated in one pass (orphans were
/// already refused by the converter), as pg_restore orders it.
pub async fn foreign_keys(
    conn: &mut PgConnection,
    table: &str,
) -> Result<Vec<(String, String)>, MigrateError> {
    sqlx::query_as(
        "select quote_ident(conname), pg_get_constraintdef(oid)
         from pg_constraint where conrelid = $1::regclass and contype = 'f' order by 1",
    )
    .bind(quote(table))
    .fetch_all(&mut *conn)
    .await
    .map_err(MigrateError::target(format!(
        "reading the foreign keys of {table}"
    )))
}

/// Legacy keys of the rows each finished table left out (by target table name).
pub async fn rejected_keys(
    conn: &mut PgConnection,
) -> Result<HashMap<String, Vec<i64>>, MigrateError> {
    let present: bool =
        sqlx::query_scalar("select to_regclass('harness_migration.rejects') is not null")
            .fetch_one(&mut *conn)
            .await
            .map_err(MigrateError::target(
                "looking for harness_migration.rejects",
            ))?;
    let mut out: HashMap<String, Vec<i64>> = HashMap::new();
    if !present {
        return Ok(out);
    }
    let rows = sqlx::query(
        "select table_name, legacy_key from harness_migration.rejects
         where legacy_key is not null and stage is distinct from 'cell'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(MigrateError::target("reading harness_migration.rejects"))?;
    for r in rows {
        let name: String = r.get(0);
        out.entry(name).or_default().push(r.get(1));
    }
    Ok(out)
}

/// The rows a finished table left out, by legacy key, each with its cause
/// as the reject file gives it (`table key: column: reason`), so children
/// migrated by a later run can name it.
pub async fn rejected_causes(
    conn: &mut PgConnection,
    table: &str,
) -> Result<HashMap<i64, String>, MigrateError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "select legacy_key, column_name, reason from harness_migration.rejects
         where table_name = $1 and legacy_key is not null and stage is distinct from 'cell'",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await
    .map_err(MigrateError::target("reading harness_migration.rejects"))?;
    Ok(rows
        .into_iter()
        .map(|(k, col, reason)| (k, super::reject::cause_text(table, Some(k), &col, &reason)))
        .collect())
}

/// Ends a connection politely (errors do not matter at that point).
pub async fn close(conn: PgConnection) {
    let _ = conn.close().await;
}
