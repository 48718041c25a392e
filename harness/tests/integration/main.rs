//! Integration tests: one binary, one module per stage. Every test starts
//! its own servers through the harness's cluster code.
//!
//! - `support`: a fast native (or docker) cluster for a test.
//! - `apps`: hand-written SQLite files of every awkward shape through init -> migrate -> verify -> export, and every exit code through the binary.
//! - `cluster`: both backends: replication, read-only replica, lag, faults, signals.
//! - `drill`: `harness drill restore` under load restores to T with every table's digest equal and the restore time reported; restoring past T exits 11 naming the tables.
//! - `docs`: nothing in the repository sends a reader to a file outside it.
//! - `fault`: `load --fault` through the binary: every fault kind's measured effect, the write ledger catching a dropped write, zero lost across a sync-apply promotion, bad specs.
//! - `engine`: the engine's sources name nothing the reference app's folder defines (and the scan can fail).
//! - `migrate`: round-trip proptest over every hard value, reject file and exit codes, input errors, SIGKILL re-run, verify mismatch located.
//! - `seed`: schema migrations up/down/up leave the catalog identical; the COPY seed loads every row and matches the SQLite seed.
//! - `roundtrip`: the round-trip property for any app folder (a hand-written app and the reference app) against a hand-written oracle.
//! - `report`: `harness report compare` flags an injected regression, not a rerun, refuses other environments; `report index`.
//! - `load`: CI smoke (1,000 goose users through the gates), a gate failed on purpose, open vs closed model under a stall.
//! - `shard`: four `load --shard I/4` processes on one cluster merged to the percentiles of all their values; a saturated shard, a failed merged gate; deploy/'s Job and compose files parsed by the binary.
//! - `rls_price`: what RLS costs a query: the lost index, its operator, the fix, shown causal.
//! - `pooler`: through PgBouncer in transaction mode, a session `SET` of the tenant reaches another client and the transport's transaction-local context does not; named statements collide; `up --pooler` URLs and SIGINT; a load through it passes its gates.
//! - `prove`: `prove-rls` holds on the ledger and the portal, finds each flawed ledger variant with a minimal counterexample, exit codes.
//! - `rls`: the isolation property (primary and replica), one test per pitfall of docs/rls.md against a flawed variant, audit-rls.
//! - `tls`: a load through `--primary-url ...?sslmode=verify-full&sslrootcert=...` to a TLS-only server (pg_stat_ssl), wrong CA and no-TLS server fail with exit 3 and what to change, psql gets the same parameters.
//! - `rls_audit`: audit-rls on standalone schemas: each tenancy model (setting, JWT claims, membership) correct and flawed, restrictive bounding, every check shown failing; the CLI with flags only.

mod apps;
mod cluster;
mod docs;
mod drill;
mod engine;
mod fault;
mod interrupt;
mod load;
mod migrate;
mod pooler;
mod prove;
mod report;
mod rls;
mod rls_audit;
mod rls_price;
mod roundtrip;
mod seed;
mod shard;
mod support;
mod tls;
