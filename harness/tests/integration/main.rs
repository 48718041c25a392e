//! Integration tests: one binary, one module per stage. Every test starts
//! its own servers through the harness's cluster code.
//!
//! - `support`: a fast native (or docker) cluster for a test.
//! - `cluster`: both backends: replication, read-only replica, lag, faults, signals.

mod cluster;
mod support;
