//! Exit codes, in one place: CI depends on them, so they never change
//! meaning. The README lists them.

/// Everything ran and every gate and check passed.
pub const OK: i32 = 0;
/// An unexpected error (a bug, or an I/O failure with no better class).
pub const INTERNAL: i32 = 1;
/// The command line was wrong (clap's own code).
pub const USAGE: i32 = 2;
/// The cluster or a tool could not be set up: no backend, no image, a server
/// that would not start, an unreachable target.
pub const SETUP_FAILED: i32 = 3;
/// The input was bad: a corrupt or non-SQLite file, a missing table, a bad
/// config file. Nothing was changed.
pub const BAD_INPUT: i32 = 4;
/// A load gate failed (p95, error rate, replica lag).
pub const GATE_FAILED: i32 = 10;
/// Verification found rows that differ between source and target (or a
/// recovery drill's restored table differs from the primary at T).
pub const VERIFY_MISMATCH: i32 = 11;
/// The migration rejected rows (they are in the reject file).
pub const REJECTED_ROWS: i32 = 12;
/// `audit-rls` found problems at or above the chosen severity.
pub const AUDIT_FINDINGS: i32 = 13;
/// A baseline comparison found a regression.
pub const REGRESSION: i32 = 14;
/// The run's own load generator was saturated: the figures are not a
/// database result (or a recovery drill's load wrote nothing after T, so
/// the restore proved no point in time).
pub const INVALID_RUN: i32 = 15;
/// Stopped by Ctrl-C (128 + SIGINT); everything was torn down.
pub const INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM (128 + SIGTERM); everything was torn down.
pub const TERMINATED: i32 = 143;
