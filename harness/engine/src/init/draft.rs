//! Write the draft as an app folder: `app.toml`, `mapping.toml`,
//! `legacy.sql`, the two migrations (schema; roles and RLS), `workload.toml`,
//! `data.toml` (drafted in [`super::datadraft`]) and a `README.md` that lists
//! what the user must decide.
//!
//! Every file is produced as text here and written by [`write_folder`];
//! TOML goes through `toml` (so any name, quote or newline stays valid) and
//! every SQL identifier through [`quote`], every SQL string through
//! [`literal`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::inspect::Schema;
use super::plan::{cut, Draft, DraftTable, Link, MAX_IDENT, TENANT_SETTING};
use super::profile::SAMPLE_ROWS;
use super::InitError;
use crate::app::{literal, quote, ColumnMap, Rule};

/// The files a draft consists of, relative to the folder.
pub const FILES: &[&str] = &[
    "app.toml",
    "mapping.toml",
    "legacy.sql",
    "migrations/0001_schema.up.sql",
    "migrations/0001_schema.down.sql",
    "migrations/0100_roles_rls.up.sql",
    "migrations/0100_roles_rls.down.sql",
    "workload.toml",
    "data.toml",
    "README.md",
];

/// Write every file of the draft into `dir` (created if missing).
pub fn write_folder(
    dir: &Path,
    source: &Path,
    schema: &Schema,
    draft: &Draft,
) -> Result<Vec<PathBuf>, InitError> {
    let contents: Vec<(&str, String)> = vec![
        ("app.toml", app_toml(draft, source)?),
        ("mapping.toml", mapping_toml(draft, source)?),
        ("legacy.sql", legacy_sql(schema, draft, source)),
        ("migrations/0001_schema.up.sql", schema_up(draft, source)),
        ("migrations/0001_schema.down.sql", schema_down(draft)),
        ("migrations/0100_roles_rls.up.sql", roles_up(draft)),
        ("migrations/0100_roles_rls.down.sql", roles_down(draft)),
        ("workload.toml", workload_toml(draft)?),
        (
            "data.toml",
            super::datadraft::data_toml(source, schema, draft)?,
        ),
        ("README.md", readme(draft, source)),
    ];
    let mkdir = |p: &Path| {
        std::fs::create_dir_all(p).map_err(|e| InitError::Write {
            path: p.to_path_buf(),
            source: e,
        })
    };
    mkdir(dir)?;
    mkdir(&dir.join("migrations"))?;
    let mut written = Vec::new();
    for (name, text) in contents {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| InitError::Write {
            path: path.clone(),
            source: e,
        })?;
        written.push(path);
    }
    Ok(written)
}

fn toml_err(file: &str) -> impl Fn(toml::ser::Error) -> InitError + '_ {
    move |e| InitError::Internal(format!("cannot write {file} as TOML: {e}"))
}

fn source_name(source: &Path) -> String {
    source.display().to_string()
}

/// Lines of text as `# ` comments (the drafts of every file use it).
pub(super) fn comment(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                format!("{}\n", prefix.trim_end())
            } else {
                format!("{prefix}{l}\n")
            }
        })
        .collect()
}

pub fn app_toml(draft: &Draft, source: &Path) -> Result<String, InitError> {
    let mut out = String::new();
    out.push_str(&comment(
        &format!(
            "app.toml: who the app is to the harness. Drafted by `harness init` from
{}; review it, then edit freely (`harness init --force` rewrites it).

name         a short name for reports and run folders
database     the PostgreSQL database a harness-started cluster creates
description  free text
[tenant]
  column     the column that names a row's tenant on every tenant table
  root_table the table whose rows are the tenants (its key is the tenant id), if any
  setting    what the app sets in each transaction to say which tenant it acts for
             (`set local {TENANT_SETTING} = '42'`); every policy reads it with
             current_setting(..., true), so no setting means no rows
[roles]
  owner      owns the tables; the migration loads data as it (BYPASSRLS)
  app        what the app logs in as; row-level security binds it
  reader     read-only reporting (e.g. on the replica), bound by RLS as well",
            source_name(source)
        ),
        "# ",
    ));
    if draft.tenant.column.is_none() {
        out.push_str(&comment(
            "
tenant.column is a PLACEHOLDER: no table of the file has a tenant column, so
no policy was drafted. See README.md. Rerun `harness init --tenant-column NAME`
or add the column to the tables and write their policies.",
            "# ",
        ));
    }
    out.push('\n');
    out.push_str(&toml::to_string(&draft.app).map_err(toml_err("app.toml"))?);
    Ok(out)
}

pub fn mapping_toml(draft: &Draft, source: &Path) -> Result<String, InitError> {
    let mut out = comment(
        &format!(
            "mapping.toml: per SQLite table and column, the PostgreSQL table and column,
the rule that converts each value, and the evidence the rule was chosen on.
Drafted by `harness init` from {} (at most {SAMPLE_ROWS} rows of
each table looked at). Review every evidence line; a rule is a decision.

Tables are listed parents first: that is the load order, and a `ref` points
at a table listed before it (or at its own table).

name / legacy  the PostgreSQL table / the SQLite table (when they differ)
target / legacy  the PostgreSQL column / the SQLite column (`rowid` for a table
               without an integer key)
rule           what the target column is and which legacy values it accepts:
  key          the row's key: the legacy integer (bigint; uuid_tag = N makes UUIDs)
  ref          a reference to the key of `table` (rows naming no row are orphans)
  text         text; max_chars = N makes varchar(N): longer is rejected, never cut
  integer      i32 (a wider value is rejected, never truncated); bigint: i64
  float        double precision: every REAL bit for bit
  numeric      numeric(precision, scale), rounded half away from zero
  boolean      0/1, true/false, t/f, yes/no (any case)
  timestamptz  ISO text (zone optional, UTC by default), epoch integers (seconds,
               milliseconds or microseconds by magnitude), Julian-day REALs;
               0 and '' mean unknown (NULL) unless unknown_is_bad = true
  date         YYYY-MM-DD, or a timestamp at midnight UTC
  jsonb        JSON text
  text_array   text[] from comma lists or JSON arrays (form = \"comma\" | \"json\")
  point        two REAL columns (latitude, longitude); inet; bytea (BLOBs)
nullable       false makes the column NOT NULL (a NULL is then rejected)
on_bad         a value the rule does not accept:
                 \"reject\" (default): the row goes to the reject file, its children too
                 \"null\": the row moves with the cell NULL; the cell is recorded
evidence       what the values looked like (the engine ignores it)
note           what to know or decide about the table (the engine ignores it)",
            source_name(source)
        ),
        "# ",
    );
    out.push('\n');
    out.push_str(&toml::to_string(&draft.mapping()).map_err(toml_err("mapping.toml"))?);
    Ok(out)
}

/// A CREATE statement from `sqlite_master`, terminated.
fn statement(sql: &str) -> String {
    let sql = sql.trim_end().trim_end_matches(';').trim_end();
    if sql.lines().last().is_some_and(|l| l.contains("--")) {
        format!("{sql}\n;\n")
    } else {
        format!("{sql};\n")
    }
}

pub fn legacy_sql(schema: &Schema, draft: &Draft, source: &Path) -> String {
    let mut out = comment(
        &format!(
            "The SQLite schema of {}, as its sqlite_master holds it, tables in
the mapping's load order with their indexes; run on an empty SQLite file it
recreates the legacy schema (the export back to SQLite uses it).",
            source_name(source)
        ),
        "-- ",
    );
    let emit = |idx: usize, out: &mut String| {
        let t = &schema.tables[idx];
        out.push('\n');
        out.push_str(&statement(&t.sql));
        for ix in &t.index_sql {
            out.push_str(&statement(ix));
        }
    };
    for t in &draft.tables {
        emit(t.legacy_index, &mut out);
    }
    if !draft.refused_tables.is_empty() || !schema.virtual_tables.is_empty() {
        out.push_str("\n-- Not drafted (see README.md), kept so the schema is whole:\n");
        for &i in &draft.refused_tables {
            emit(i, &mut out);
        }
        for v in &schema.virtual_tables {
            out.push('\n');
            out.push_str(&statement(&v.sql));
        }
    }
    if !schema.views.is_empty() || !schema.triggers.is_empty() {
        out.push_str(
            "\n-- Views and triggers of the file, not recreated here (README.md lists them):\n",
        );
        for v in &schema.views {
            out.push_str(&comment(&statement(&v.sql), "-- "));
        }
        for t in &schema.triggers {
            out.push_str(&comment(&statement(&t.sql), "-- "));
        }
    }
    out
}

/// The SQL type of a drafted column.
fn sql_type(draft: &Draft, rule: &Rule) -> String {
    let key_is_uuid = match rule {
        Rule::Ref { table } => draft
            .table(table)
            .is_some_and(|t| t.map.uuid_tag().is_some()),
        _ => false,
    };
    rule.sql_type(key_is_uuid)
}

fn cols(list: &[String]) -> String {
    list.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
}

/// Text safe in a `--` comment (one line).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn schema_up(draft: &Draft, source: &Path) -> String {
    let mut out = comment(
        &format!(
            "The target schema, drafted by `harness init` from {}: one table per
mapped SQLite table, in load order (parents first), typed by the rules in
mapping.toml. Review it before the first migration:
  * keys are bigint primary keys holding the legacy integers; new rows need
    an id source (e.g. `generated by default as identity`, restarted past the
    largest migrated id);
  * the SQLite declared types and defaults are shown as comments, not carried
    over: add defaults and CHECK constraints the app relies on;
  * a foreign key is drafted only where mapping.toml has a ref; between two
    tables that both carry the tenant column it is paired with it
    (`unique (tenant, id)` on the parent, `foreign key (tenant, ref)`), so
    no row can point at another tenant's parent.
Roles, ownership and row-level security are in 0100_roles_rls.up.sql.",
            source_name(source)
        ),
        "-- ",
    );
    for t in &draft.tables {
        out.push('\n');
        out.push_str(&create_table(draft, t));
    }
    out
}

/// The tenant column to pair `c` (a reference from `t` to `parent`) with,
/// when both tables carry it and `c` is not the tenant column itself.
fn tenant_scoped<'d>(
    draft: &'d Draft,
    t: &DraftTable,
    c: &ColumnMap,
    parent: &DraftTable,
) -> Option<&'d str> {
    let tenant = draft.tenant.column.as_deref()?;
    (t.link == Link::Tenant && parent.link == Link::Tenant && c.target != tenant).then_some(tenant)
}

/// Whether some table's reference to `t` is paired with the tenant column
/// (then `t` needs `unique (tenant, key)` for it to point at).
fn referenced_with_tenant(draft: &Draft, t: &DraftTable) -> bool {
    draft.tables.iter().any(|child| {
        child.map.columns.iter().any(|c| {
            matches!(&c.rule, Rule::Ref { table } if *table == t.map.name)
                && tenant_scoped(draft, child, c, t).is_some()
        })
    })
}

fn create_table(draft: &Draft, t: &DraftTable) -> String {
    // (definition, comment)
    let mut items: Vec<(String, Option<String>)> = Vec::new();
    // Table-level foreign keys paired with the tenant column.
    let mut scoped: Vec<String> = Vec::new();
    for (c, (decl, default)) in t.map.columns.iter().zip(&t.legacy_decl) {
        let mut def = format!("{} {}", quote(&c.target), sql_type(draft, &c.rule));
        match &c.rule {
            Rule::Key { .. } => def.push_str(" primary key"),
            Rule::Ref { table } => {
                if !c.nullable {
                    def.push_str(" not null");
                }
                if let Some(parent) = draft.table(table) {
                    match tenant_scoped(draft, t, c, parent) {
                        // Paired with the tenant column below, so no row can
                        // point at another tenant's parent.
                        Some(tenant) => scoped.push(format!(
                            "foreign key ({}, {}) references {} ({}, {})",
                            quote(tenant),
                            quote(&c.target),
                            quote(table),
                            quote(tenant),
                            quote(&parent.map.key().target)
                        )),
                        None => {
                            let _ = write!(
                                def,
                                " references {} ({})",
                                quote(table),
                                quote(&parent.map.key().target)
                            );
                        }
                    }
                }
            }
            _ => {
                if !c.nullable {
                    def.push_str(" not null");
                }
            }
        }
        let mut note = format!(
            "SQLite: {}",
            if decl.is_empty() { "(no type)" } else { decl }
        );
        if let Some(d) = default {
            let _ = write!(note, " default {d}");
        }
        items.push((def, Some(one_line(&note))));
    }
    for u in &t.unique {
        items.push((format!("unique ({})", cols(u)), None));
    }
    if referenced_with_tenant(draft, t) {
        if let Some(tenant) = draft.tenant.column.as_deref() {
            items.push((
                format!("unique ({}, {})", quote(tenant), quote(&t.map.key().target)),
                Some("what tenant-scoped references point at".into()),
            ));
        }
    }
    items.extend(scoped.into_iter().map(|f| (f, None)));
    let mut out = format!("create table {} (\n", quote(&t.map.name));
    let last = items.len().saturating_sub(1);
    for (i, (def, note)) in items.iter().enumerate() {
        let comma = if i < last { "," } else { "" };
        match note {
            Some(n) => {
                let _ = writeln!(out, "    {def}{comma} -- {n}");
            }
            None => {
                let _ = writeln!(out, "    {def}{comma}");
            }
        }
    }
    out.push_str(");\n");
    for (name, ix) in &t.indexes {
        let _ = writeln!(
            out,
            "create index {} on {} ({});",
            quote(name),
            quote(&t.map.name),
            cols(ix)
        );
    }
    out
}

pub fn schema_down(draft: &Draft) -> String {
    let mut out = comment(
        "Reverses 0001_schema.up.sql: children before parents, so no cascade is
needed and an object a later migration left behind makes this fail loudly
instead of disappearing silently.",
        "-- ",
    );
    for t in draft.tables.iter().rev() {
        let _ = writeln!(out, "drop table {};", quote(&t.map.name));
    }
    out
}

fn policy_name(table: &str) -> String {
    format!("{}_tenant", cut(table, MAX_IDENT - "_tenant".len()))
}

/// `nullif(current_setting('app.tenant_id', true), '')::bigint`.
fn tenant_value(draft: &Draft) -> String {
    format!(
        "nullif(current_setting({}, true), '')::{}",
        literal(TENANT_SETTING),
        draft.tenant.sql_type
    )
}

fn role_list(draft: &Draft) -> (String, String, String) {
    let r = &draft.app.roles;
    (
        r.owner.clone(),
        r.app.clone(),
        r.reader
            .clone()
            .unwrap_or_else(|| format!("{}_reader", draft.app.name)),
    )
}

pub fn roles_up(draft: &Draft) -> String {
    let (owner, app, reader) = role_list(draft);
    let (qo, qa, qr) = (quote(&owner), quote(&app), quote(&reader));
    let mut out = comment(
        &format!(
            "Roles, ownership, row-level security and grants, drafted by `harness init`.

  {owner}  owns every table; NOLOGIN and BYPASSRLS: the migration runs as a
      superuser and `set role`s to it to load the data (COPY into a table with
      row-level security is refused to a role RLS binds)
  {app}  the application: LOGIN, bound by RLS, DML only
  {reader}  reporting: LOGIN, bound by RLS, SELECT only

Roles belong to the cluster, not to the database, and several databases of a
cluster may run this migration, so each role is created only when missing
(and a concurrent creator is not an error). No passwords here: set them with
`alter role ... password` per deployment. Running this needs a superuser
(BYPASSRLS can only be granted by one).

Every policy compares the tenant column with
    {value}
which is NULL when the app never set {TENANT_SETTING} (or set it to ''):
no context means no rows and no writes (fail closed).",
            value = tenant_value(draft)
        ),
        "-- ",
    );
    let _ = write!(
        out,
        "
do $$
declare
    r record;
begin
    for r in select * from (values
        ({}, 'nologin bypassrls'),
        ({}, 'login'),
        ({}, 'login')
    ) as v (name, attrs)
    loop
        begin
            if not exists (select 1 from pg_catalog.pg_roles where rolname = r.name) then
                execute format('create role %I %s', r.name, r.attrs);
            end if;
        exception when duplicate_object or unique_violation then
            null;
        end;
    end loop;
end
$$;

grant usage, create on schema public to {qo};
grant usage on schema public to {qa}, {qr};
",
        literal(&owner),
        literal(&app),
        literal(&reader)
    );
    if draft.tenant.column.is_none() {
        out.push_str(
            "\n-- NO TENANT COLUMN: no policy is drafted and every table is open to the\n-- app (see README.md). Add the tenant column and a policy per table.\n",
        );
    }
    let value = tenant_value(draft);
    for t in &draft.tables {
        let name = quote(&t.map.name);
        let _ = writeln!(out, "\n-- {}", one_line(&t.map.name));
        let _ = writeln!(out, "alter table {name} owner to {qo};");
        let guarded = matches!(t.link, Link::Root | Link::Tenant | Link::ThroughParent(_));
        if guarded {
            let _ = writeln!(
                out,
                "alter table {name} enable row level security, force row level security;"
            );
        }
        let column = match t.link {
            Link::Root => Some(t.map.key().target.clone()),
            Link::Tenant => draft.tenant.column.clone(),
            _ => None,
        };
        if let Some(c) = column {
            let cond = format!("{} = {value}", quote(&c));
            let _ = writeln!(
                out,
                "create policy {} on {name} for all to {qa}, {qr}\n    using ({cond})\n    with check ({cond});",
                quote(&policy_name(&t.map.name))
            );
        }
        if let Link::ThroughParent(path) = &t.link {
            let _ = writeln!(
                out,
                "-- No policy yet: this table reaches its tenant only through {} (decide in\n-- README.md). With RLS forced and no policy, the app sees none of its rows.\n-- A join policy reads like:\n--   create policy {} on {name} for all to {qa}, {qr}\n--       using (exists (select 1 from <parent> p where p.<key> = {name}.<fk> and p.<tenant> = {value}))\n--       with check (<the same>);",
                one_line(path),
                quote(&policy_name(&t.map.name))
            );
        }
        let _ = writeln!(out, "revoke all on {name} from public;");
        match t.link {
            Link::Lookup => {
                let _ = writeln!(
                    out,
                    "-- A lookup table shared by every tenant: read-only for the app.\ngrant select on {name} to {qa}, {qr};"
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "grant select, insert, update, delete on {name} to {qa};"
                );
                let _ = writeln!(out, "grant select on {name} to {qr};");
            }
        }
    }
    out
}

pub fn roles_down(draft: &Draft) -> String {
    let (owner, app, reader) = role_list(draft);
    let (qo, qa, qr) = (quote(&owner), quote(&app), quote(&reader));
    let mut out = comment(
        "Reverses 0100_roles_rls.up.sql: grants, policies, row-level security,
ownership back to the role running the migration, then the roles, each
only when no other database of the cluster still uses it.",
        "-- ",
    );
    for t in draft.tables.iter().rev() {
        let name = quote(&t.map.name);
        out.push('\n');
        let _ = writeln!(out, "revoke all on {name} from {qa}, {qr};");
        if matches!(t.link, Link::Root | Link::Tenant) {
            let _ = writeln!(
                out,
                "drop policy if exists {} on {name};",
                quote(&policy_name(&t.map.name))
            );
        }
        if matches!(t.link, Link::Root | Link::Tenant | Link::ThroughParent(_)) {
            let _ = writeln!(
                out,
                "alter table {name} no force row level security, disable row level security;"
            );
        }
        let _ = writeln!(out, "alter table {name} owner to current_user;");
    }
    let _ = write!(
        out,
        "
revoke all on schema public from {qo}, {qa}, {qr};

do $$
declare
    name text;
begin
    foreach name in array array[{}, {}, {}] loop
        begin
            execute format('drop role if exists %I', name);
        exception when dependent_objects_still_exist then
            raise notice 'keeping role %: another database of this cluster still uses it', name;
        end;
    end loop;
end
$$;
",
        literal(&app),
        literal(&reader),
        literal(&owner)
    );
    out
}

/// A TOML basic string (quotes and backslashes escaped).
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A `workload.toml` in the format `harness load` reads (docs/load.md): a
/// sample of keys per tenant table, one read by key per tenant table, and
/// one kind of user that reads them all. Enough for `init` then
/// `load --from FILE` to run; the real queries are the user's to write.
pub fn workload_toml(draft: &Draft) -> Result<String, InitError> {
    let tenant_tables: Vec<&DraftTable> = draft
        .tables
        .iter()
        .filter(|t| matches!(t.link, Link::Root | Link::Tenant))
        .collect();
    let tenanted = !tenant_tables.is_empty();
    let tables: Vec<&DraftTable> = if tenanted {
        tenant_tables
    } else {
        draft.tables.iter().collect()
    };
    let column = quote(&draft.app.tenant.column);
    let root = tables.iter().find(|t| matches!(t.link, Link::Root));
    let tenants = match (root, tables.first()) {
        (Some(r), _) => format!(
            "select {key} from {name} order by {key}",
            key = quote(&r.map.key().target),
            name = quote(&r.map.name)
        ),
        (None, Some(t)) if tenanted => format!(
            "select {column}, count(*) from {} group by {column} order by {column}",
            quote(&t.map.name)
        ),
        // No tenant column: one tenant stands for the whole database.
        _ => "select 'all'".to_string(),
    };
    let mut out = comment(
        "workload.toml: the load `harness load --app DIR --from FILE` runs. A
SKELETON drafted by `harness init`: a sample of keys and one read by key per
tenant table, and one kind of user that runs them. Replace it with the
queries your app really sends and the users it really has (docs/load.md
has the format: samples, parameters, routes, read-your-own-write pairs).",
        "# ",
    );
    out.push('\n');
    out.push_str(&format!(
        "# The tenants users are drawn from: the tenant id, and how many rows it has.\ntenants = {}\n",
        toml_str(&tenants)
    ));
    out.push_str("think = [1.0, 3.0]\n");
    let mut steps = String::new();
    for t in &tables {
        let key = quote(&t.map.key().target);
        let name = quote(&t.map.name);
        let query = format!("{}_by_key", t.map.name);
        let (sql, params) = match t.link {
            Link::Root => (
                format!("select * from {name} where {key} = $1"),
                "[{ tenant = true }]".to_string(),
            ),
            _ => {
                let filter = if tenanted {
                    format!("where {column} = $1 ")
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "\n[[sample]]\nname = {}\nsql = {}\n",
                    toml_str(&t.map.name),
                    toml_str(&format!(
                        "select {key} from {name} {filter}order by {key} limit 100"
                    ))
                ));
                if tenanted {
                    (
                        format!("select * from {name} where {column} = $1 and {key} = $2"),
                        format!(
                            "[{{ tenant = true }}, {{ sample = {} }}]",
                            toml_str(&t.map.name)
                        ),
                    )
                } else {
                    (
                        format!("select * from {name} where {key} = $1"),
                        format!("[{{ sample = {} }}]", toml_str(&t.map.name)),
                    )
                }
            }
        };
        out.push_str(&format!(
            "\n[[query]]\nname = {}\nroute = \"read\"\nsql = {}\nparams = {params}\n",
            toml_str(&query),
            toml_str(&sql)
        ));
        steps.push_str(&format!(
            "\n[[user.step]]\nname = {}\nweight = 1\ncalls = [{}]\n",
            toml_str(&format!("read {}", t.map.name)),
            toml_str(&query)
        ));
    }
    out.push_str("\n[[user]]\nname = \"reader\"\nweight = 1\n");
    out.push_str(&steps);
    Ok(out)
}

pub fn readme(draft: &Draft, source: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}: drafted by `harness init`\n", draft.app.name);
    let columns: usize = draft.tables.iter().map(|t| t.map.columns.len()).sum();
    let _ = writeln!(
        out,
        "This folder was drafted from `{}`: {} tables and {columns} columns, each with a\nconversion rule chosen from its declared type and its values (at most {SAMPLE_ROWS} rows\nof each table looked at). It is a draft: nothing here is final until you have\nreviewed it. `harness init --force` rewrites these files.\n",
        source_name(source),
        draft.tables.len()
    );
    out.push_str("## Decide\n\n");
    if draft.decisions.is_empty() {
        out.push_str(
            "Nothing stood out; still review the evidence of every rule in `mapping.toml`.\n",
        );
    } else {
        for d in &draft.decisions {
            let _ = writeln!(out, "- {d}");
        }
    }
    if !draft.refused.is_empty() {
        out.push_str("\n## Not drafted\n\n");
        for r in &draft.refused {
            let _ = writeln!(out, "- {r}");
        }
    }
    let t = &draft.tenant;
    out.push_str("\n## Tenant\n\n");
    match (&t.column, &t.root) {
        (Some(c), Some(r)) => {
            let _ = writeln!(
                out,
                "Rows belong to tenants through `{c}`, a reference to `{r}` (whose rows are the tenants).\nThe policies compare it with the setting `{TENANT_SETTING}` (`{}`); the app sets it in each\ntransaction (`set local {TENANT_SETTING} = '42'`). No setting, no rows.",
                t.sql_type
            );
        }
        (Some(c), None) => {
            let _ = writeln!(
                out,
                "Rows belong to tenants through `{c}` ({}), with no table of tenants in the file.\nThe policies compare it with the setting `{TENANT_SETTING}`; no setting, no rows.",
                t.sql_type
            );
        }
        _ => {
            out.push_str("**No tenant column was found.** `app.toml` names a placeholder and no policy was\ndrafted: every table is open to the app. Rerun with `--tenant-column NAME`.\n");
        }
    }
    out.push_str("\n## Tables (in load order)\n\n| table | SQLite table | key | tenant |\n|---|---|---|---|\n");
    for d in &draft.tables {
        let link = match &d.link {
            Link::Root => "the tenants".to_string(),
            Link::Tenant => format!("`{}`", md(t.column.as_deref().unwrap_or(""))),
            Link::ThroughParent(p) => format!("through a parent: {}", md(p)),
            Link::Lookup => "lookup (shared)".into(),
            Link::Untenanted => "none".into(),
        };
        let key = d.map.key();
        let _ = writeln!(
            out,
            "| `{}` | `{}` | `{}` (from `{}`) | {link} |",
            md(&d.map.name),
            md(d.map.legacy_name()),
            md(&key.target),
            md(&key.legacy.join(", ")),
        );
    }
    if !draft.notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        for n in &draft.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out.push_str(
        "\n## Files\n\n\
- `app.toml`: name, database, tenant, roles.\n\
- `mapping.toml`: every column's rule with its evidence; the tables' notes.\n\
- `legacy.sql`: the SQLite schema (for the export back).\n\
- `migrations/0001_schema.*.sql`: the PostgreSQL tables, keys, references, indexes.\n\
- `migrations/0100_roles_rls.*.sql`: roles, ownership, row-level security, grants.\n\
- `data.toml`: how to make tenant data like the file's (`harness seed --app DIR`), each line with its evidence.\n\
- `workload.toml`: a skeleton to replace with the app's own queries.\n\
\n## Next\n\n\
1. Settle the decisions above and review each rule's evidence in `mapping.toml`.\n\
2. Review the migrations (defaults, CHECKs, tenant-scoped keys, id sources).\n\
3. Migrate a copy of the file and read the reject file: every rejected value says why.\n",
    );
    out
}

/// Text safe inside a Markdown table cell.
fn md(s: &str) -> String {
    one_line(s).replace('|', "\\|").replace('`', "'")
}
