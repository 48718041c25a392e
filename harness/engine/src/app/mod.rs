//! The app folder: the one way the engine learns about an app.
//!
//! A team brings its SQLite file, its target schema, its policies and its
//! queries; `harness init` drafts the folder from the file and the user
//! edits it. The engine (cluster, migrate, verify, export, the RLS audit,
//! report) names no table, column, role or setting of any app: everything
//! app-specific arrives through an [`App`] loaded from here. The reference
//! app that ships with the project is one such folder (the CLI's default)
//! and gets nothing the format does not give every app.
//!
//! | file | holds |
//! |---|---|
//! | `app.toml` | name, database, tenant column and root table, the tenant-context setting, role names |
//! | `migrations/` | the target schema as numbered up/down SQL (`NNNN_name.up.sql` / `.down.sql`) |
//! | `mapping.toml` | per table and column: target, conversion rule, evidence, what to do with bad values ([`mapping`]) |
//! | `legacy.sql` | the SQLite schema, for the export back to the legacy shape |
//! | `data.sql` | optional: SQLite statements that fill a sample legacy file ([`sample`]) |
//! | `data.toml`, `workload.toml` | tenant data and the load mix (read by the seed and load stages) |
//!
//! Loading checks the folder as a whole and reports every problem with the
//! file it is in, so a user editing a draft sees all that is wrong at once.

pub mod clone;
pub mod mapping;
pub mod sample;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use mapping::{ColumnMap, ListForm, Mapping, OnBad, Rule, TableMap};

/// `app.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppToml {
    /// A short name (reports and run folders use it).
    pub name: String,
    /// The PostgreSQL database a harness-started cluster creates for the app.
    pub database: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub tenant: TenantSpec,
    pub roles: Roles,
}

/// How rows belong to tenants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// The target column that names a row's tenant (on every tenant table).
    pub column: String,
    /// The table whose rows *are* the tenants (its key is the tenant id),
    /// when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_table: Option<String>,
    /// The setting the app sets per transaction to say which tenant it
    /// acts for (read by the policies with `current_setting`).
    pub setting: String,
    /// Other settings the policies read besides the tenant (a user id, a
    /// user's role), each with the values `prove-rls` draws it from:
    /// `[tenant.context]` `"app.x" = ["a", "b", ""]`, or
    /// `"app.y" = { table = "t", column = "c" }` for the values of a column
    /// of any tenant's rows (another tenant's id is the case that matters).
    /// Optional: folders without it load as before.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, ContextValues>,
}

/// Where `prove-rls` draws the values of one extra context setting from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContextValues {
    /// These values (an empty string is a value too).
    List(Vec<String>),
    /// The values a column holds in any tenant's rows, read as text.
    Column(ColumnValues),
}

/// A column whose values (of every tenant) a context setting is drawn from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnValues {
    pub table: String,
    pub column: String,
}

/// The app's roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// Owns the tables; the migration writes as this role (RLS does not bind it).
    pub owner: String,
    /// What the app logs in as; RLS binds it.
    pub app: String,
    /// Read-only reporting, bound by RLS as well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<String>,
}

/// A loaded, checked app folder.
#[derive(Debug, Clone)]
pub struct App {
    pub dir: PathBuf,
    pub toml: AppToml,
    pub mapping: Mapping,
    /// The SQLite schema (`legacy.sql`), when the folder has one.
    pub legacy_sql: Option<String>,
    /// SQLite statements that fill a sample legacy file (`data.sql`), when
    /// the folder has them ([`sample`]).
    pub data_sql: Option<String>,
    /// `data.toml`: the declarative generator's description
    /// ([`crate::data`]), checked on load.
    pub data_toml: Option<crate::data::DataSpec>,
}

/// Why an app folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("app folder {dir}: {problem}")]
    Folder { dir: PathBuf, problem: String },
    #[error("{path}: {problem}")]
    File { path: PathBuf, problem: String },
    #[error("{path} has {} problem(s):\n  - {}", problems.len(), problems.join("\n  - "))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// How a table reaches its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantLink {
    /// The table's rows are the tenants: a row's tenant is its own key.
    Root,
    /// The tenant column, at this index of the table's columns.
    Column(usize),
    /// No tenant column: a lookup table shared by all tenants, or a table
    /// that reaches its tenant only through a parent.
    None,
}

impl App {
    /// Load and check `dir`.
    pub fn load(dir: &Path) -> Result<App, AppError> {
        let folder = |problem: String| AppError::Folder {
            dir: dir.to_path_buf(),
            problem,
        };
        if !dir.is_dir() {
            return Err(folder(
                "is not a directory; give the folder `harness init` wrote".into(),
            ));
        }
        let read = |name: &str| -> Result<Option<String>, AppError> {
            let p = dir.join(name);
            match std::fs::read_to_string(&p) {
                Ok(s) => Ok(Some(s)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(AppError::File {
                    path: p,
                    problem: format!("cannot read it: {e}"),
                }),
            }
        };
        let parse_err = |name: &str, e: toml::de::Error| AppError::File {
            path: dir.join(name),
            problem: format!("not valid: {e}"),
        };
        let toml_text = read("app.toml")?.ok_or_else(|| {
            folder("has no app.toml; run `harness init DIR --from FILE` to draft one".into())
        })?;
        let app_toml: AppToml = toml::from_str(&toml_text).map_err(|e| parse_err("app.toml", e))?;
        let map_text = read("mapping.toml")?.ok_or_else(|| {
            folder("has no mapping.toml; run `harness init DIR --from FILE` to draft one".into())
        })?;
        let mapping: Mapping =
            toml::from_str(&map_text).map_err(|e| parse_err("mapping.toml", e))?;
        if !dir.join("migrations").is_dir() {
            return Err(folder(
                "has no migrations/ folder (the target schema as NNNN_name.up.sql / .down.sql)"
                    .into(),
            ));
        }
        let app = App {
            dir: dir.to_path_buf(),
            toml: app_toml,
            mapping,
            legacy_sql: read("legacy.sql")?,
            data_sql: read("data.sql")?,
            data_toml: match read("data.toml")? {
                None => None,
                Some(text) => {
                    let spec: crate::data::DataSpec =
                        toml::from_str(&text).map_err(|e| parse_err("data.toml", e))?;
                    spec.check().map_err(|e| AppError::File {
                        path: dir.join("data.toml"),
                        problem: e.to_string(),
                    })?;
                    Some(spec)
                }
            },
        };
        let problems = app.problems();
        if !problems.is_empty() {
            return Err(AppError::Invalid {
                path: dir.join("mapping.toml"),
                problems,
            });
        }
        Ok(app)
    }

    fn problems(&self) -> Vec<String> {
        let mut p = self.mapping.problems();
        let t = &self.toml.tenant;
        if let Some(root) = &t.root_table {
            if self.mapping.table(root).is_none() {
                p.push(format!(
                    "app.toml names tenant root_table {root:?}, which mapping.toml does not list"
                ));
            }
        }
        for table in &self.mapping.tables {
            if let Some(i) = table.columns.iter().position(|c| c.target == t.column) {
                let c = &table.columns[i];
                let ok = match &c.rule {
                    Rule::Ref { table: parent } => Some(parent) == t.root_table.as_ref(),
                    Rule::Integer | Rule::Bigint => t.root_table.is_none(),
                    _ => false,
                };
                if !ok && Some(&table.name) != t.root_table.as_ref() {
                    p.push(format!(
                        "{}.{} is the tenant column; its rule must be ref to the root table {:?} (or integer/bigint when there is no root table)",
                        table.name, c.target, t.root_table
                    ));
                }
            }
        }
        p
    }

    pub fn migrations_dir(&self) -> PathBuf {
        self.dir.join("migrations")
    }

    /// The app's schema migrations, read from the folder at run time.
    pub async fn migrator(&self) -> Result<sqlx::migrate::Migrator, AppError> {
        let dir = self.migrations_dir();
        sqlx::migrate::Migrator::new(dir.clone())
            .await
            .map_err(|e| AppError::File {
                path: dir,
                problem: format!("cannot read the migrations: {e}"),
            })
    }

    /// How `table` reaches its tenant.
    pub fn tenant_link(&self, table: &TableMap) -> TenantLink {
        if self.toml.tenant.root_table.as_deref() == Some(table.name.as_str()) {
            return TenantLink::Root;
        }
        match table
            .columns
            .iter()
            .position(|c| c.target == self.toml.tenant.column)
        {
            Some(i) => TenantLink::Column(i),
            None => TenantLink::None,
        }
    }

    /// The root table's uuid tag (tenant ids are encoded with it), if any.
    pub fn tenant_uuid_tag(&self) -> Option<u8> {
        let root = self.toml.tenant.root_table.as_deref()?;
        self.mapping.table(root)?.uuid_tag()
    }

    pub fn table(&self, name: &str) -> Option<&TableMap> {
        self.mapping.table(name)
    }
}

/// An identifier quoted for SQL (PostgreSQL and SQLite agree): wrapped in
/// double quotes, embedded quotes doubled. Every app name goes through it.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// A SQL string literal (single quotes doubled).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes_and_spaces() {
        assert_eq!(quote("a \"b\""), "\"a \"\"b\"\"\"");
        assert_eq!(literal("it's"), "'it''s'");
    }

    #[test]
    fn tenant_context_is_optional_and_takes_lists_or_a_column() {
        let base = "name = \"t\"\ndatabase = \"t\"\n[tenant]\ncolumn = \"c\"\nsetting = \"t.c\"\n";
        let roles = "[roles]\nowner = \"o\"\napp = \"a\"\n";
        let old: AppToml = toml::from_str(&format!("{base}{roles}")).unwrap();
        assert!(old.tenant.context.is_empty());
        let new: AppToml = toml::from_str(&format!(
            "{base}[tenant.context]\n\"t.role\" = [\"admin\", \"\"]\n\"t.user\" = {{ table = \"u\", column = \"id\" }}\n{roles}"
        ))
        .unwrap();
        assert_eq!(
            new.tenant.context["t.role"],
            ContextValues::List(vec!["admin".into(), "".into()])
        );
        assert_eq!(
            new.tenant.context["t.user"],
            ContextValues::Column(ColumnValues {
                table: "u".into(),
                column: "id".into()
            })
        );
        let bad = format!(
            "{base}[tenant.context]\n\"t.user\" = {{ table = \"u\", col = \"id\" }}\n{roles}"
        );
        assert!(toml::from_str::<AppToml>(&bad).is_err());
    }

    #[test]
    fn a_folder_without_app_toml_says_what_to_do() {
        let d = tempfile::tempdir().unwrap();
        let e = App::load(d.path()).unwrap_err().to_string();
        assert!(e.contains("harness init"), "{e}");
    }
}
