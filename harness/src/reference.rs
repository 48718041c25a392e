//! Where the reference app lives: the housing portal that ships with the
//! harness as an app folder (`apps/portal/`), used when no `--app` is given.
//!
//! It is kept out of the engine's modules on purpose: the engine learns
//! about apps only through folders, and this is the one place that knows
//! which folder is the default. `HARNESS_APP` names another default.

use std::path::{Path, PathBuf};

use crate::app::{App, AppError};

/// The default app folder.
pub fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HARNESS_APP") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../apps/portal")
}

/// `--app DIR`, or the default folder.
pub fn app(dir: Option<&Path>) -> Result<App, AppError> {
    match dir {
        Some(d) => App::load(d),
        None => App::load(&self::dir()),
    }
}
