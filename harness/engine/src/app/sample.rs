//! A sample legacy file built from the app folder alone: `legacy.sql`
//! (the SQLite schema) and `data.sql` (SQLite statements that fill it).
//!
//! This is how an app with no data of its own at hand (a sample app, a CI
//! run) gets a SQLite file to migrate, prove and load: the harness creates
//! an empty file, runs `legacy.sql`, creates a one-row table
//! `harness_params(scale, tenants, seed)` with the run's figures, runs
//! `data.sql`, and drops `harness_params` again. `data.sql` reads the
//! figures with ordinary SQL (`(select tenants from harness_params)`), so a
//! recursive CTE can make any number of rows without a line of Rust.
//!
//! Foreign keys are not enforced while it runs, as legacy apps ran them
//! (hard cases such as orphans must be expressible).
//!
//! `data.sql` must be deterministic for given parameters (SQLite's
//! `random()` cannot be seeded: derive values from row numbers and
//! `seed` instead), so two runs of the same parameters give the same file.
//! A user with a real file passes it with `--from FILE` and never needs one.

use std::path::Path;

use rusqlite::Connection;

use super::{App, AppError};

/// The figures `data.sql` reads from `harness_params`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleParams {
    /// A size multiplier: 1 is the folder's own idea of a small data set.
    pub scale: u32,
    /// How many tenants to make.
    pub tenants: u32,
    /// A number to vary the values by; the same seed gives the same file.
    pub seed: u64,
}

impl Default for SampleParams {
    fn default() -> Self {
        SampleParams {
            scale: 1,
            tenants: 20,
            seed: 0,
        }
    }
}

/// Whether the folder can make a sample file (it has `data.sql` and
/// `legacy.sql`).
pub fn available(app: &App) -> bool {
    app.data_sql.is_some() && app.legacy_sql.is_some()
}

/// Write a new SQLite file at `path` (which must not exist) from the
/// folder's `legacy.sql` and `data.sql`. Returns the rows per table.
pub fn build(
    app: &App,
    params: &SampleParams,
    path: &Path,
) -> Result<Vec<(String, u64)>, AppError> {
    let file_err = |name: &str, problem: String| AppError::File {
        path: app.dir.join(name),
        problem,
    };
    let legacy = app.legacy_sql.as_deref().ok_or_else(|| AppError::Folder {
        dir: app.dir.clone(),
        problem: "has no legacy.sql, so no sample file can be made; pass --from FILE".into(),
    })?;
    let data = app.data_sql.as_deref().ok_or_else(|| AppError::Folder {
        dir: app.dir.clone(),
        problem: "has no data.sql, so no sample file can be made; pass --from FILE".into(),
    })?;
    if path.exists() {
        return Err(AppError::File {
            path: path.to_path_buf(),
            problem: "already exists; a sample file is only written to a new path".into(),
        });
    }
    let out_err = |e: rusqlite::Error| AppError::File {
        path: path.to_path_buf(),
        problem: format!("cannot write the sample file: {e}"),
    };
    let conn = Connection::open(path).map_err(out_err)?;
    conn.execute_batch(
        "pragma journal_mode = off; pragma synchronous = off; pragma foreign_keys = off;",
    )
    .map_err(out_err)?;
    conn.execute_batch(legacy)
        .map_err(|e| file_err("legacy.sql", format!("SQLite rejects it: {e}")))?;
    conn.execute_batch(
        "create table harness_params (scale integer not null, tenants integer not null, \
         seed integer not null)",
    )
    .map_err(out_err)?;
    conn.execute(
        "insert into harness_params values (?1, ?2, ?3)",
        rusqlite::params![params.scale, params.tenants, params.seed as i64],
    )
    .map_err(out_err)?;
    conn.execute_batch(&format!("begin;\n{data}\n;commit;"))
        .map_err(|e| file_err("data.sql", format!("SQLite rejects it: {e}")))?;
    conn.execute_batch("drop table harness_params")
        .map_err(out_err)?;
    let names: Vec<String> = {
        let mut st = conn
            .prepare(
                "select name from sqlite_schema where type = 'table' \
                 and name not like 'sqlite_%' order by name",
            )
            .map_err(out_err)?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(out_err)?;
        rows.collect::<Result<_, _>>().map_err(out_err)?
    };
    let mut counts = Vec::with_capacity(names.len());
    for name in names {
        let n: i64 = conn
            .query_row(
                &format!("select count(*) from \"{}\"", name.replace('"', "\"\"")),
                [],
                |r| r.get(0),
            )
            .map_err(out_err)?;
        counts.push((name, n as u64));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app_with(dir: &Path, legacy: &str, data: Option<&str>) -> App {
        let toml = "name = \"t\"\ndatabase = \"t\"\n[tenant]\ncolumn = \"tenant\"\n\
                    setting = \"t.tenant\"\n[roles]\nowner = \"o\"\napp = \"a\"\n";
        App {
            dir: dir.to_path_buf(),
            toml: toml::from_str(toml).unwrap(),
            mapping: crate::app::Mapping::default(),
            legacy_sql: Some(legacy.into()),
            data_sql: data.map(str::to_string),
            data_toml: None,
        }
    }

    #[test]
    fn builds_the_same_file_for_the_same_parameters_and_reads_them() {
        let tmp = tempfile::tempdir().unwrap();
        let legacy = "create table t (id integer primary key, tenant integer, v text);";
        let data = "with recursive n(i) as (select 1 union all select i + 1 from n \
                    where i < (select tenants * scale from harness_params)) \
                    insert into t select i, i % (select tenants from harness_params), \
                    'v' || (i * 7 + (select seed from harness_params)) from n;";
        let app = app_with(tmp.path(), legacy, Some(data));
        let p = SampleParams {
            scale: 3,
            tenants: 5,
            seed: 11,
        };
        let a = tmp.path().join("a.sqlite");
        let b = tmp.path().join("b.sqlite");
        let counts = build(&app, &p, &a).unwrap();
        assert_eq!(counts, vec![("t".to_string(), 15)]);
        build(&app, &p, &b).unwrap();
        let dump = |path: &Path| -> Vec<(i64, i64, String)> {
            let c = Connection::open(path).unwrap();
            let mut st = c.prepare("select * from t order by id").unwrap();
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(dump(&a), dump(&b));
        assert_eq!(dump(&a)[0].2, "v18");
        let err = build(&app, &p, &a).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
    }

    #[test]
    fn a_bad_data_sql_is_named_in_the_error() {
        let tmp = tempfile::tempdir().unwrap();
        let app = app_with(
            tmp.path(),
            "create table t (id integer);",
            Some("insert into nope values (1);"),
        );
        let err = build(&app, &SampleParams::default(), &tmp.path().join("x.sqlite"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("data.sql") && err.contains("nope"), "{err}");
        let app = app_with(tmp.path(), "create table t (id integer);", None);
        assert!(!available(&app));
    }
}
