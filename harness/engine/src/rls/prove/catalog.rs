//! What the proof works on, read as the privileged (oracle) connection: the
//! tenant tables found in the catalog, a sample of their rows with each
//! row's tenant (the truth), the tenants, and the values of the extra
//! context settings.
//!
//! The truth is read once, before any case runs: every write of the proof
//! is rolled back, so it stays the truth for the whole run (a database
//! written by others meanwhile is a documented limit). Rows are named by
//! `ctid` for targeting (any table has one, with or without a key) and by
//! their primary key for people.

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, PgConnection};

use super::{ProveError, ProveOptions};
use crate::app::{literal, quote, ContextValues};

/// Schemas that belong to PostgreSQL, not to the app: the audit's.
pub(super) use crate::rls::audit::USER_SCHEMA;

/// One row of the truth: where it is, whose it is, what people call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TruthRow {
    pub ctid: String,
    pub tenant: Option<String>,
    pub label: String,
}

/// A tenant table (or the tenant root).
#[derive(Debug, Clone)]
pub(super) struct Table {
    pub oid: i64,
    /// `schema.name` for people (`name` alone in `public`).
    pub display: String,
    /// Quoted, schema-qualified, for SQL.
    pub sql: String,
    /// The column that holds the row's tenant: the tenant column, or the
    /// key the tenant column references on the root table.
    pub tenant_col: String,
    pub is_root: bool,
    pub rls: bool,
    pub force: bool,
    pub owner: String,
    /// Quoted names of the columns an INSERT may name (no generated or
    /// identity-always columns).
    pub insert_cols: Vec<String>,
    /// SQL naming a row by its primary key (or ctid when it has none).
    pub label_sql: String,
    /// A single-column key that must be fresh in a copied row: (quoted
    /// name, "uuid" | "int").
    pub fresh_key: Option<(String, &'static str)>,
    /// Rows per tenant (the whole table, counted).
    pub counts: BTreeMap<Option<String>, i64>,
    /// A sample of rows, up to `sample_rows` per tenant.
    pub rows: Vec<TruthRow>,
}

impl Table {
    pub fn tenant_sql(&self) -> String {
        quote(&self.tenant_col)
    }

    pub fn total(&self) -> i64 {
        self.counts.values().sum()
    }

    pub fn row_at(&self, ctid: &str) -> Option<&TruthRow> {
        self.rows.iter().find(|r| r.ctid == ctid)
    }
}

/// Everything the cases draw from.
#[derive(Debug, Clone)]
pub(super) struct World {
    pub database: String,
    pub server_version: String,
    pub tables: Vec<Table>,
    /// Tenant ids as text, the tenant with the most rows first.
    pub tenants: Vec<String>,
    /// The tenant column's SQL type (`uuid`, `bigint`, ...).
    pub tenant_type: String,
    /// The base type's name, to make an id no tenant has.
    pub tenant_typname: String,
    /// The largest integer tenant id, when ids are integers.
    pub max_int_tenant: Option<i64>,
    /// The extra context settings and the values each is drawn from.
    pub extras: Vec<(String, Vec<String>)>,
}

impl World {
    /// A tenant id no tenant has, of the tenant column's type, or None when
    /// the type is not one the proof can make a value of.
    pub fn unknown_tenant(&self, n: u32) -> Option<String> {
        let v = match self.tenant_typname.as_str() {
            "uuid" => uuid::Uuid::from_u128(0xdead_0000_0000_4000_8000_0000_0000_0000 | n as u128)
                .to_string(),
            "int2" => (i16::MAX - (n % 1000) as i16).to_string(),
            "int4" | "int8" | "numeric" => {
                (self.max_int_tenant.unwrap_or(0) + 1 + (n % 1_000_000) as i64).to_string()
            }
            "text" | "varchar" | "bpchar" => format!("no-such-tenant-{n}"),
            _ => return None,
        };
        (!self.tenants.contains(&v)).then_some(v)
    }

    pub fn table(&self, i: usize) -> &Table {
        &self.tables[i % self.tables.len()]
    }
}

type TableRow = (
    i64,
    String,
    String,
    String,
    bool,
    bool,
    bool,
    String,
    String,
);

fn sql_err(what: &str) -> impl FnOnce(sqlx::Error) -> ProveError + '_ {
    move |source| ProveError::Sql {
        what: what.to_string(),
        source,
    }
}

/// Read the tenant tables, the truth and the extra settings' values.
pub(super) async fn read_world(
    conn: &mut PgConnection,
    opts: &ProveOptions,
) -> Result<World, ProveError> {
    let (database, server_version): (String, String) =
        sqlx::query_as("select current_database()::text, current_setting('server_version')")
            .fetch_one(&mut *conn)
            .await
            .map_err(sql_err("the server"))?;
    // Tenant tables: the column is there. The root: named by the app, or
    // the table a single-column foreign key on the tenant column points at.
    let rows: Vec<TableRow> = sqlx::query_as(AssertSqlSafe(format!(
        "with roots as (
             select f.confrelid as oid, ka.attname::text as key
             from pg_constraint f
             join pg_attribute fa on fa.attrelid = f.conrelid and fa.attnum = f.conkey[1]
             join pg_attribute ka on ka.attrelid = f.confrelid and ka.attnum = f.confkey[1]
             where f.contype = 'f' and cardinality(f.conkey) = 1 and fa.attname = $1
             union
             select c.oid, a.attname::text
             from pg_class c join pg_index i on i.indrelid = c.oid and i.indisprimary
             join pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0]
             where c.relname = $2 and cardinality(i.indkey::int2[]) = 1
         ), found as (
             select c.oid, coalesce(
                        (select a.attname::text from pg_attribute a where a.attrelid = c.oid
                         and a.attname = $1 and a.attnum > 0 and not a.attisdropped),
                        (select r.key from roots r where r.oid = c.oid limit 1)) as col,
                    not exists (select 1 from pg_attribute a where a.attrelid = c.oid
                                and a.attname = $1 and a.attnum > 0 and not a.attisdropped) as is_root
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where c.relkind in ('r', 'p') and {USER_SCHEMA}
         )
         select c.oid::int8, n.nspname::text, c.relname::text, pg_get_userbyid(c.relowner)::text,
                c.relrowsecurity, c.relforcerowsecurity, f.is_root, f.col,
                format_type(a.atttypid, a.atttypmod)
         from found f join pg_class c on c.oid = f.oid
         join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = c.oid and a.attname = f.col
         where f.col is not null
         order by f.is_root desc, n.nspname, c.relname"
    )))
    .bind(&opts.tenant_column)
    .bind(opts.root_table.as_deref().unwrap_or(""))
    .fetch_all(&mut *conn)
    .await
    .map_err(sql_err("the tenant tables"))?;
    if rows.iter().all(|r| r.6) {
        return Err(ProveError::NoTenantTables {
            column: opts.tenant_column.clone(),
            database,
        });
    }
    let mut tenant_type = String::new();
    let mut tables = Vec::new();
    for (oid, schema, name, owner, rls, force, is_root, col, ty) in rows {
        if !is_root && tenant_type.is_empty() {
            tenant_type = ty.clone();
        }
        let table = read_table(
            conn,
            opts,
            TableHead {
                oid,
                schema,
                name,
                owner,
                rls,
                force,
                is_root,
                col,
            },
        )
        .await?;
        tables.push(table);
    }
    let tenant_typname: String = sqlx::query_scalar(AssertSqlSafe(format!(
        "select t.typname::text from pg_type t where t.oid = {}::regtype",
        literal(&tenant_type)
    )))
    .fetch_one(&mut *conn)
    .await
    .map_err(sql_err("the tenant column's type"))?;

    // Tenants: every id that owns a row, the biggest first (shrinking goes
    // to the first), ties by id so a run is reproducible.
    let mut per_tenant: BTreeMap<String, i64> = BTreeMap::new();
    for t in &tables {
        for (k, n) in &t.counts {
            if let Some(k) = k {
                *per_tenant.entry(k.clone()).or_default() += n;
            }
        }
    }
    let mut tenants: Vec<(String, i64)> = per_tenant.into_iter().collect();
    tenants.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let tenants: Vec<String> = tenants.into_iter().map(|t| t.0).collect();
    let max_int_tenant = tenants.iter().filter_map(|t| t.parse::<i64>().ok()).max();

    let mut extras = Vec::new();
    for (name, source) in &opts.context {
        let values = match source {
            ContextValues::List(v) => v.clone(),
            ContextValues::Column(c) => {
                let table = find_table(conn, &c.table).await?;
                sqlx::query_scalar(AssertSqlSafe(format!(
                    "select distinct {}::text from {table} where {} is not null order by 1 limit 500",
                    quote(&c.column),
                    quote(&c.column)
                )))
                .fetch_all(&mut *conn)
                .await
                .map_err(|source| ProveError::Sql {
                    what: format!(
                        "the values of context setting {name} ({}.{})",
                        c.table, c.column
                    ),
                    source,
                })?
            }
        };
        if !values.is_empty() {
            extras.push((name.clone(), values));
        }
    }
    Ok(World {
        database,
        server_version,
        tables,
        tenants,
        tenant_type,
        tenant_typname,
        max_int_tenant,
        extras,
    })
}

/// A table by name, as the schema-qualified SQL for it (the first match on
/// the search path, else in any user schema).
async fn find_table(conn: &mut PgConnection, name: &str) -> Result<String, ProveError> {
    let found: Option<(String, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "select n.nspname::text, c.relname::text from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
         where c.relname = $1 and c.relkind in ('r', 'p', 'v', 'm') and {USER_SCHEMA}
         order by n.nspname <> 'public', n.nspname limit 1"
    )))
    .bind(name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(sql_err("a context table"))?;
    let (schema, rel) = found.ok_or_else(|| ProveError::Options {
        problem: format!(
            "a context setting draws from table {name:?}, which the database does not have"
        ),
    })?;
    Ok(format!("{}.{}", quote(&schema), quote(&rel)))
}

struct TableHead {
    oid: i64,
    schema: String,
    name: String,
    owner: String,
    rls: bool,
    force: bool,
    is_root: bool,
    col: String,
}

async fn read_table(
    conn: &mut PgConnection,
    opts: &ProveOptions,
    h: TableHead,
) -> Result<Table, ProveError> {
    let sql = format!("{}.{}", quote(&h.schema), quote(&h.name));
    let display = if h.schema == "public" {
        h.name.clone()
    } else {
        format!("{}.{}", h.schema, h.name)
    };
    let err = |what: &str| {
        let what = format!("{what} of {display}");
        move |source| ProveError::Sql { what, source }
    };
    // (name, insertable, in the primary key at position, typname)
    let cols: Vec<(String, bool, Option<i32>, String)> = sqlx::query_as(
        "select a.attname::text, a.attgenerated = '' and a.attidentity <> 'a',
                array_position(i.indkey::int2[], a.attnum)::int4, t.typname::text
         from pg_attribute a join pg_type t on t.oid = a.atttypid
         left join pg_index i on i.indrelid = a.attrelid and i.indisprimary
         where a.attrelid = $1::int8::oid and a.attnum > 0 and not a.attisdropped
         order by a.attnum",
    )
    .bind(h.oid)
    .fetch_all(&mut *conn)
    .await
    .map_err(err("the columns"))?;
    let insert_cols = cols.iter().filter(|c| c.1).map(|c| quote(&c.0)).collect();
    let mut key: Vec<&(String, bool, Option<i32>, String)> =
        cols.iter().filter(|c| c.2.is_some()).collect();
    key.sort_by_key(|c| c.2);
    let label_sql = if key.is_empty() {
        "'ctid ' || ctid::text".to_string()
    } else {
        key.iter()
            .map(|c| {
                format!(
                    "{} || coalesce({}::text, 'NULL')",
                    literal(&format!("{}=", c.0)),
                    quote(&c.0)
                )
            })
            .collect::<Vec<_>>()
            .join(" || ', ' || ")
    };
    let fresh_key = match key.as_slice() {
        [only] if only.0 != h.col => match only.3.as_str() {
            "uuid" => Some((quote(&only.0), "uuid")),
            "int2" | "int4" | "int8" | "numeric" => Some((quote(&only.0), "int")),
            _ => None,
        },
        _ => None,
    };
    let tcol = quote(&h.col);
    let counts: Vec<(Option<String>, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "select {tcol}::text, count(*)::int8 from {sql} group by 1"
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(err("the rows per tenant"))?;
    let rows: Vec<(String, Option<String>, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "select ctid::text, tenant, label from (
             select ctid, {tcol}::text as tenant, {label_sql} as label,
                    row_number() over (partition by {tcol} order by ctid) as n
             from {sql}) s
         where n <= {} order by tenant, ctid",
        opts.sample_rows.max(1)
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(err("the sample rows"))?;
    Ok(Table {
        oid: h.oid,
        display,
        sql,
        tenant_col: h.col,
        is_root: h.is_root,
        rls: h.rls,
        force: h.force,
        owner: h.owner,
        insert_cols,
        label_sql,
        fresh_key,
        counts: counts.into_iter().collect(),
        rows: rows
            .into_iter()
            .map(|(ctid, tenant, label)| TruthRow {
                ctid,
                tenant,
                label,
            })
            .collect(),
    })
}

/// A digest of every tenant table as the oracle sees it: the proof must
/// leave it as it was.
pub(super) async fn digest(
    conn: &mut PgConnection,
    tables: &[Table],
) -> Result<Vec<(String, i64, String)>, ProveError> {
    let mut out = Vec::new();
    for t in tables {
        let (n, d): (i64, String) = sqlx::query_as(AssertSqlSafe(format!(
            "select count(*)::int8, md5(coalesce(string_agg(h, '' order by h), ''))
             from (select md5(x::text) as h from {} x) s",
            t.sql
        )))
        .fetch_one(&mut *conn)
        .await
        .map_err(|source| ProveError::Sql {
            what: format!("the digest of {}", t.display),
            source,
        })?;
        out.push((t.display.clone(), n, d));
    }
    Ok(out)
}
