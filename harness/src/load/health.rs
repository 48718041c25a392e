//! Generator self-health: is the load generator itself the bottleneck?
//!
//! On two cores shared with a primary and a replica, the generator can
//! starve itself (or be starved), and then it sends late and timestamps
//! late: the figures describe the generator, not the database. Three
//! signals, read without any dependency from `/proc` and the runtime:
//!
//! - process CPU (`/proc/self/stat` utime + stime) as a share of all cores,
//!   next to the whole machine's CPU (`/proc/stat`), per sample;
//! - scheduling lag: a 10 ms ticker on the same tokio runtime records how
//!   late each tick fires; a late tick means a ready task also waited;
//! - peak memory (`VmHWM` from `/proc/self/status`).
//!
//! A run whose generator crossed the limits in [`super::config::HealthLimits`]
//! is marked invalid (exit [`crate::exit_codes::INVALID_RUN`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::histogram::Histogram;

/// Clock ticks per second for `/proc` CPU times.
fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions; it only reads a constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// CPU seconds this process has used.
pub fn process_cpu_secs() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) in parentheses.
    let Some(rest) = s.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime 15.
    let ticks = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(14) + ticks(15)) / clk_tck()
}

/// (busy, total) jiffies of the whole machine.
pub fn host_cpu_jiffies() -> (u64, u64) {
    let Ok(s) = std::fs::read_to_string("/proc/stat") else {
        return (0, 0);
    };
    let Some(line) = s.lines().next() else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// Peak resident memory of this process, MiB (`VmHWM`).
pub fn peak_rss_mib() -> f64 {
    status_kib("VmHWM:") / 1024.0
}

/// Current resident memory, MiB.
pub fn rss_mib() -> f64 {
    status_kib("VmRSS:") / 1024.0
}

fn status_kib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(key)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .unwrap_or(0.0)
}

/// CPU shares between two readings.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    at: Instant,
    proc_secs: f64,
    host: (u64, u64),
}

impl CpuMeter {
    pub fn start() -> Self {
        CpuMeter {
            at: Instant::now(),
            proc_secs: process_cpu_secs(),
            host: host_cpu_jiffies(),
        }
    }

    /// (process share of all cores, machine busy share) since the last call.
    pub fn lap(&mut self) -> (f64, f64) {
        let now = CpuMeter::start();
        let wall = now.at.duration_since(self.at).as_secs_f64().max(1e-6);
        let proc_share = (now.proc_secs - self.proc_secs) / wall / cores() as f64;
        let busy = now.host.0.saturating_sub(self.host.0) as f64;
        let total = now.host.1.saturating_sub(self.host.1) as f64;
        *self = now;
        (
            proc_share.clamp(0.0, 1.0),
            if total > 0.0 { busy / total } else { 0.0 },
        )
    }
}

/// The scheduling-lag ticker. Dropping it stops the task.
pub struct Ticker {
    pub lag: Arc<Histogram>,
    task: tokio::task::JoinHandle<()>,
}

impl Ticker {
    pub fn start() -> Ticker {
        let lag = Arc::new(Histogram::default());
        let h = lag.clone();
        let task = tokio::spawn(async move {
            let period = Duration::from_millis(10);
            let mut next = tokio::time::Instant::now() + period;
            loop {
                tokio::time::sleep_until(next).await;
                let late = tokio::time::Instant::now().saturating_duration_since(next);
                h.record(late);
                next += period;
                // After a long stall, do not fire a burst of catch-up ticks.
                let now = tokio::time::Instant::now();
                if next < now {
                    next = now + period;
                }
            }
        });
        Ticker { lag, task }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_readings_are_sane() {
        let t0 = process_cpu_secs();
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(
            process_cpu_secs() > t0,
            "burning CPU must show in /proc/self/stat"
        );
        assert!(peak_rss_mib() > 1.0);
        let (busy, total) = host_cpu_jiffies();
        assert!(total > 0 && busy <= total);
    }
}
