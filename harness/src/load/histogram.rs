//! A lock-free latency histogram in microseconds, log-bucketed with 64
//! sub-buckets per power of two (under 1.6 % error), from 1 µs to about
//! 12 days.
//!
//! Why not goose's own figures: goose keeps one histogram per request name
//! and rounds to whole milliseconds above 100 ms; the gates need pool wait,
//! query time and scheduled-start latency kept apart, per interval for the
//! time series, and shared by 10,000 users without a lock. A fixed array
//! of atomics does that in ~9 KiB per histogram, and two snapshots subtract
//! into the histogram of the interval between them.
//!
//! A snapshot is saved as its bucket counts ([`Buckets`]): the layout is
//! fixed, so the counts are the whole histogram, two saved histograms
//! merge by adding counts, and a merged percentile is exactly the one a
//! single generator would have read (sharded runs, `crate::load::shard`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS; // 64
const HALF: usize = SUB / 2;
/// Values below `SUB` get a bucket each; each further power of two gets `HALF`.
const BUCKETS: usize = SUB + HALF * (64 - SUB_BITS as usize);

fn index(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let bits = 64 - v.leading_zeros(); // > SUB_BITS
    let shift = bits - SUB_BITS;
    let top = (v >> shift) as usize; // in [HALF, SUB)
    SUB + (shift as usize - 1) * HALF + (top - HALF)
}

/// The middle of bucket `i`, µs.
fn value(i: usize) -> f64 {
    if i < SUB {
        return i as f64;
    }
    let shift = (i - SUB) / HALF + 1;
    let top = (i - SUB) % HALF + HALF;
    let lo = (top as u64) << shift;
    lo as f64 + ((1u64 << shift) as f64 - 1.0) / 2.0
}

/// Whether histograms made from now on also keep every value
/// ([`keep_raw_values`]).
static KEEP_RAW: AtomicBool = AtomicBool::new(false);

/// From now on, every new histogram also keeps each value it records, so a
/// test can compute percentiles from the values themselves and hold the
/// histogram to its stated precision (`harness load --raw-samples`). Costs
/// a lock and memory per value: never on for a real run.
pub fn keep_raw_values() {
    KEEP_RAW.store(true, Ordering::Relaxed);
}

/// Concurrent recorder.
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    max: AtomicU64,
    /// Every value, when [`keep_raw_values`] was called before this
    /// histogram was made. Counts are updated under the same lock then, so
    /// the values and the counts always describe the same calls.
    raw: Option<Mutex<Vec<u64>>>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
            raw: KEEP_RAW
                .load(Ordering::Relaxed)
                .then(|| Mutex::new(Vec::new())),
        }
    }
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        self.record_us(d.as_micros().min(u64::MAX as u128) as u64);
    }

    pub fn record_us(&self, us: u64) {
        let _guard = self.raw.as_ref().map(|r| {
            let mut g = r.lock().unwrap_or_else(|p| p.into_inner());
            g.push(us);
            g
        });
        self.counts[index(us)].fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(us, Ordering::Relaxed);
    }

    /// A copy of the counts now.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_with_raw().0
    }

    /// A copy of the counts now and, when this histogram keeps them, the
    /// values behind those counts.
    pub fn snapshot_with_raw(&self) -> (Snapshot, Option<Vec<u64>>) {
        let guard = self
            .raw
            .as_ref()
            .map(|r| r.lock().unwrap_or_else(|p| p.into_inner()));
        let snap = Snapshot {
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            max_us: self.max.load(Ordering::Relaxed),
        };
        (snap, guard.map(|g| g.clone()))
    }

    /// Forget everything (the ramp is not judged).
    pub fn reset(&self) {
        let mut guard = self
            .raw
            .as_ref()
            .map(|r| r.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(g) = guard.as_mut() {
            g.clear();
        }
        for c in self.counts.iter() {
            c.store(0, Ordering::Relaxed);
        }
        self.max.store(0, Ordering::Relaxed);
    }
}

/// The layout every saved histogram states, so a reader can refuse one
/// made with another: values in microseconds, `2^sub_bucket_bits` buckets
/// of width 1 below `2^sub_bucket_bits`, then `2^(sub_bucket_bits - 1)`
/// buckets per further power of two.
pub const UNIT: &str = "us";
pub const SUB_BUCKET_BITS: u32 = SUB_BITS;

/// A histogram as saved: its non-zero bucket counts, by bucket index.
/// Lossless: [`Snapshot::from_buckets`] gives back the same snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Buckets {
    pub unit: String,
    pub sub_bucket_bits: u32,
    /// Values recorded (the sum of the counts, kept as a check).
    pub total: u64,
    pub max_us: u64,
    /// `[bucket index, count]` for each bucket that holds a value.
    pub counts: Vec<(u32, u64)>,
}

/// Why saved bucket counts cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum BucketsError {
    #[error(
        "histogram layout {unit}/{bits} sub-bucket bits: this harness reads {UNIT}/{SUB_BITS}"
    )]
    Layout { unit: String, bits: u32 },
    #[error("bucket index {0} is past the last bucket ({last})", last = BUCKETS - 1)]
    Index(u32),
    #[error("the counts add up to {found}, the histogram says {total}")]
    Total { found: u64, total: u64 },
}

/// A frozen histogram; percentiles are read from it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    counts: Vec<u64>,
    /// Largest value recorded since the last reset (not interval-exact
    /// after [`Snapshot::since`]).
    pub max_us: u64,
}

impl Snapshot {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `q`-quantile (0..=1) in milliseconds; 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let n = self.count();
        if n == 0 {
            return 0.0;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return (value(i) / 1000.0)
                    .min(self.max_us as f64 / 1000.0)
                    .max(0.0);
            }
        }
        self.max_us as f64 / 1000.0
    }

    pub fn mean_ms(&self) -> f64 {
        let n = self.count();
        if n == 0 {
            return 0.0;
        }
        let sum: f64 = self
            .counts
            .iter()
            .enumerate()
            .map(|(i, &c)| value(i) * c as f64)
            .sum();
        sum / n as f64 / 1000.0
    }

    /// What was recorded between `earlier` and `self`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        if earlier.counts.is_empty() {
            return self.clone();
        }
        Snapshot {
            counts: self
                .counts
                .iter()
                .zip(&earlier.counts)
                .map(|(a, b)| a.saturating_sub(*b))
                .collect(),
            max_us: self.max_us,
        }
    }

    /// The saved form: non-zero bucket counts with the layout.
    pub fn to_buckets(&self) -> Buckets {
        Buckets {
            unit: UNIT.into(),
            sub_bucket_bits: SUB_BITS,
            total: self.count(),
            max_us: self.max_us,
            counts: self
                .counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| (i as u32, *c))
                .collect(),
        }
    }

    /// Read a saved histogram back, checking its layout and total.
    pub fn from_buckets(b: &Buckets) -> Result<Snapshot, BucketsError> {
        if b.unit != UNIT || b.sub_bucket_bits != SUB_BITS {
            return Err(BucketsError::Layout {
                unit: b.unit.clone(),
                bits: b.sub_bucket_bits,
            });
        }
        let mut counts = vec![0u64; BUCKETS];
        for &(i, c) in &b.counts {
            let slot = counts.get_mut(i as usize).ok_or(BucketsError::Index(i))?;
            *slot += c;
        }
        let found: u64 = counts.iter().sum();
        if found != b.total {
            return Err(BucketsError::Total {
                found,
                total: b.total,
            });
        }
        Ok(Snapshot {
            counts,
            max_us: b.max_us,
        })
    }

    /// Add `other` into `self`.
    pub fn merge(&mut self, other: &Snapshot) {
        if self.counts.is_empty() {
            *self = other.clone();
            return;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.max_us = self.max_us.max(other.max_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every value lands in a bucket whose middle is within 1.6 % of it.
        #[test]
        fn bucket_middle_is_within_relative_error(v in 0u64..(1u64 << 50)) {
            let m = value(index(v));
            let err = (m - v as f64).abs();
            prop_assert!(err <= 0.5 || err / (v as f64) < 0.016, "v={v} middle={m}");
        }

        /// Saving a histogram as bucket counts loses nothing, and merging
        /// saved histograms gives the histogram of all values together.
        #[test]
        fn saved_buckets_round_trip_and_merge_like_one_histogram(
            a in proptest::collection::vec(0u64..(1u64 << 40), 0..200),
            b in proptest::collection::vec(0u64..(1u64 << 40), 0..200),
        ) {
            let (ha, hb, hall) = (Histogram::default(), Histogram::default(), Histogram::default());
            for &x in &a { ha.record_us(x); hall.record_us(x); }
            for &x in &b { hb.record_us(x); hall.record_us(x); }
            let text = serde_json::to_string(&ha.snapshot().to_buckets()).unwrap();
            let back = Snapshot::from_buckets(&serde_json::from_str(&text).unwrap()).unwrap();
            prop_assert_eq!(&back, &ha.snapshot());
            let mut merged = back;
            merged.merge(&Snapshot::from_buckets(&hb.snapshot().to_buckets()).unwrap());
            prop_assert_eq!(merged, hall.snapshot());
        }

        /// Quantiles are monotone and bounded by the data's min and max.
        #[test]
        fn quantiles_are_monotone_and_bounded(mut xs in proptest::collection::vec(1u64..5_000_000, 1..300)) {
            let h = Histogram::default();
            for &x in &xs { h.record_us(x); }
            let s = h.snapshot();
            xs.sort();
            let (lo, hi) = (xs[0] as f64 / 1000.0, *xs.last().unwrap() as f64 / 1000.0);
            let mut prev = 0.0;
            for q in [0.0, 0.5, 0.9, 0.95, 0.99, 1.0] {
                let v = s.quantile_ms(q);
                prop_assert!(v >= prev);
                prop_assert!(v >= lo * 0.98 && v <= hi * 1.0001, "q={q} v={v} lo={lo} hi={hi}");
                prev = v;
            }
        }
    }

    #[test]
    fn a_foreign_layout_or_a_wrong_total_is_refused() {
        let h = Histogram::default();
        h.record_us(1234);
        let good = h.snapshot().to_buckets();
        let mut b = good.clone();
        b.sub_bucket_bits = 7;
        assert!(Snapshot::from_buckets(&b).is_err());
        let mut b = good.clone();
        b.total += 1;
        assert!(Snapshot::from_buckets(&b).is_err());
        let mut b = good;
        b.counts.push((BUCKETS as u32, 1));
        assert!(Snapshot::from_buckets(&b).is_err());
    }

    #[test]
    fn p95_of_a_known_distribution_and_interval_difference() {
        let h = Histogram::default();
        for i in 1..=100u64 {
            h.record_us(i * 1000);
        }
        let a = h.snapshot();
        assert!(
            (a.quantile_ms(0.95) - 95.0).abs() < 1.5,
            "{}",
            a.quantile_ms(0.95)
        );
        for _ in 0..100 {
            h.record_us(500_000);
        }
        let d = h.snapshot().since(&a);
        assert_eq!(d.count(), 100);
        assert!((d.quantile_ms(0.5) - 500.0).abs() < 8.0);
    }
}
