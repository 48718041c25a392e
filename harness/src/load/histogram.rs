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

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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

/// Concurrent recorder.
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        self.record_us(d.as_micros().min(u64::MAX as u128) as u64);
    }

    pub fn record_us(&self, us: u64) {
        self.counts[index(us)].fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(us, Ordering::Relaxed);
    }

    /// A copy of the counts now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            max_us: self.max.load(Ordering::Relaxed),
        }
    }

    /// Forget everything (the ramp is not judged).
    pub fn reset(&self) {
        for c in self.counts.iter() {
            c.store(0, Ordering::Relaxed);
        }
        self.max.store(0, Ordering::Relaxed);
    }
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
