//! The external backend: servers that already exist (staging, a managed
//! database). The harness only connects; it never creates or drops anything
//! there unless the user passes `--disposable`, which later stages check
//! through [`guard_disposable`] before they write.
//!
//! A managed target's URLs carry their TLS settings (`sslmode`,
//! `sslrootcert`, ...); [`Endpoint::parse`] keeps them on the endpoints,
//! and every stage derives its connections from those (see [`super::url`]).

use super::{ClusterConfig, ClusterError, Endpoint};

pub fn endpoints(cfg: &ClusterConfig) -> Result<(Endpoint, Option<Endpoint>), ClusterError> {
    let primary = cfg.primary_url.as_deref().ok_or_else(|| {
        ClusterError::Config(
            "--backend external needs --primary-url (or HARNESS_PRIMARY_URL)".into(),
        )
    })?;
    let primary = Endpoint::parse(primary)?;
    let replica = cfg
        .replica_url
        .as_deref()
        .map(Endpoint::parse)
        .transpose()?;
    Ok((primary, replica))
}

/// Refuse a write to an external target the user did not call disposable.
pub fn guard_disposable(cfg: &ClusterConfig, what: &str) -> Result<(), ClusterError> {
    if cfg.backend == super::BackendKind::External && !cfg.disposable {
        return Err(ClusterError::Config(format!(
            "{what} would write to the external database; pass --disposable if it may be changed"
        )));
    }
    Ok(())
}
