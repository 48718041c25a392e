//! What the criterion benches share: the seeded test bed, the named queries
//! as callable cases, index toggling, reading criterion's estimates back,
//! and turning them into a `bench` run report.
//!
//! The bench binary (`benches/queries.rs`) only wires these into criterion
//! groups. Everything slow (cluster start, seeding, picking parameters that
//! hit real rows) happens here, once, before any timed closure runs.
//!
//! Why criterion's `estimates.json` is read back rather than timing twice:
//! criterion already computes a bootstrapped mean and its standard error
//! per benchmark; the report takes exactly those figures (the standard error
//! becomes the figure's noise for baseline comparison), so the report and
//! criterion's own pages never disagree.

pub mod bed;
pub mod cases;
pub mod estimates;
pub mod report;
