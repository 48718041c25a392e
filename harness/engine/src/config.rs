//! Layered configuration: built-in defaults, then `harness.toml` (or
//! `--config FILE`), then a named profile inside it (`[profile.ci]`), then
//! environment variables, then flags. The same idea as nextest's profiles.
//!
//! The file is kept as a TOML table and each stage reads its own section
//! (`[cluster]`, `[seed]`, `[load]`, ...) into its own typed struct with
//! [`HarnessConfig::section`], so a stage adds settings without touching
//! this module. Unknown keys inside a section are errors (typos in a
//! release gate's thresholds must not pass silently).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("section [{section}] of the config: {message}")]
    Section { section: String, message: String },
    #[error("profile {0:?} is not defined in the config file (add a [profile.{0}] table)")]
    NoProfile(String),
}

#[derive(Debug, Clone, Default)]
pub struct HarnessConfig {
    pub path: Option<PathBuf>,
    pub profile: Option<String>,
    table: toml::Table,
}

impl HarnessConfig {
    /// Load `path`, or `./harness.toml` when it exists, or nothing; then
    /// merge `[profile.NAME]` over the top level.
    pub fn load(path: Option<&Path>, profile: Option<&str>) -> Result<HarnessConfig, ConfigError> {
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from("harness.toml")).filter(|p| p.exists()),
        };
        let mut table = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.clone(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|source| ConfigError::Parse {
                        path: p.clone(),
                        source,
                    })?
            }
            None => toml::Table::new(),
        };
        let profiles = table.remove("profile");
        if let Some(name) = profile {
            let builtin = builtin_profiles();
            let p = profiles
                .as_ref()
                .and_then(|v| v.get(name))
                .or_else(|| builtin.get(name))
                .and_then(|v| v.as_table())
                .ok_or_else(|| ConfigError::NoProfile(name.to_string()))?;
            merge(&mut table, p);
        }
        Ok(HarnessConfig {
            path,
            profile: profile.map(str::to_string),
            table,
        })
    }

    /// From TOML text (tests, embedded profiles).
    pub fn from_toml(text: &str) -> Result<HarnessConfig, ConfigError> {
        let table = text
            .parse::<toml::Table>()
            .map_err(|source| ConfigError::Parse {
                path: PathBuf::from("<inline>"),
                source,
            })?;
        Ok(HarnessConfig {
            table,
            ..Default::default()
        })
    }

    /// One section, typed; its defaults where the file says nothing.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, ConfigError> {
        match self.table.get(name) {
            None => Ok(T::default()),
            Some(v) => v
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Section {
                    section: name.to_string(),
                    message: e.message().to_string(),
                }),
        }
    }
}

/// The profiles the documented example file defines (`ci`, `capacity`):
/// built in, so `--profile ci` works as documented without copying the
/// file first. A profile of the same name in a config file wins.
fn builtin_profiles() -> toml::Table {
    const EXAMPLE: &str = include_str!("../../../harness.toml.example");
    EXAMPLE
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("profile"))
        .and_then(|v| match v {
            toml::Value::Table(t) => Some(t),
            _ => None,
        })
        .unwrap_or_default()
}

/// Merge `over` into `base`, recursing into tables.
fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{BackendKind, ClusterConfig, Durability};

    #[test]
    fn profile_overrides_top_level_and_typos_fail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("harness.toml");
        std::fs::write(
            &p,
            "[cluster]\nbackend = \"native\"\n\n[profile.ci.cluster]\ndurability = \"realistic\"\n",
        )
        .unwrap();
        let c = HarnessConfig::load(Some(&p), Some("ci")).unwrap();
        let cl: ClusterConfig = c.section("cluster").unwrap();
        assert_eq!(cl.backend, BackendKind::Native);
        assert_eq!(cl.durability, Durability::Realistic);
        assert!(matches!(
            HarnessConfig::load(Some(&p), Some("nope")),
            Err(ConfigError::NoProfile(_))
        ));

        // The documented profiles exist without a config file.
        let ci = HarnessConfig::load(None, Some("ci")).unwrap();
        let cl: ClusterConfig = ci.section("cluster").unwrap();
        assert_eq!(cl.durability, Durability::Fast);
        assert!(ci
            .table
            .get("load")
            .is_some_and(|l| l.get("users").is_some()));
        assert!(!builtin_profiles().is_empty());

        let bad = HarnessConfig::from_toml("[cluster]\nbakend = \"native\"\n").unwrap();
        let err = bad
            .section::<ClusterConfig>("cluster")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bakend"), "{err}");
    }
}
