//! Criterion's own estimates, read back from its output folder.
//!
//! Criterion writes `<dir>/<group>/<function>/<parameter>/new/estimates.json`
//! for every benchmark it ran (bootstrapped mean with its standard error,
//! standard deviation, ...). Only files written since this process started
//! are taken, so a benchmark filtered out of this run never reports a
//! stale figure from an earlier one.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One benchmark's result, in nanoseconds per iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean_ns: f64,
    /// Standard error of the mean (criterion's bootstrap).
    pub mean_se_ns: f64,
    /// Standard deviation of one iteration's time.
    pub std_dev_ns: f64,
}

impl Estimate {
    pub fn mean_ms(&self) -> f64 {
        self.mean_ns / 1e6
    }

    pub fn se_ms(&self) -> f64 {
        self.mean_se_ns / 1e6
    }
}

/// Where criterion writes, found the way criterion finds it:
/// `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else the
/// workspace's `target/criterion`.
pub fn criterion_dir() -> PathBuf {
    if let Some(h) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(h);
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("criterion");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion")
}

/// Criterion's folder name for one id part (its `make_filename_safe`).
pub fn safe(part: &str) -> String {
    part.chars()
        .map(|c| if "?\"/\\*<>:|^".contains(c) { '_' } else { c })
        .collect()
}

/// The estimate of `group/function/parameter`, if criterion wrote it after `since`.
pub fn read(
    dir: &Path,
    group: &str,
    function: &str,
    parameter: &str,
    since: SystemTime,
) -> Option<Estimate> {
    let file = dir
        .join(safe(group))
        .join(safe(function))
        .join(safe(parameter))
        .join("new/estimates.json");
    let modified = std::fs::metadata(&file).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    parse(&std::fs::read_to_string(file).ok()?)
}

/// Parse criterion's estimates.json (only the fields used here).
pub fn parse(json: &str) -> Option<Estimate> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(Estimate {
        mean_ns: v["mean"]["point_estimate"].as_f64()?,
        mean_se_ns: v["mean"]["standard_error"].as_f64()?,
        std_dev_ns: v["std_dev"]["point_estimate"].as_f64()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":118000.0,"upper_bound":125000.0},"point_estimate":121500.5,"standard_error":1800.25},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":120000.0,"standard_error":900.0},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":3000.0,"standard_error":100.0},"slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":5400.0,"standard_error":700.0}}"#;

    #[test]
    fn parses_criterion_estimates() {
        let e = parse(SAMPLE).unwrap();
        assert_eq!(e.mean_ns, 121500.5);
        assert_eq!(e.mean_se_ns, 1800.25);
        assert_eq!(e.std_dev_ns, 5400.0);
        assert!((e.mean_ms() - 0.1215005).abs() < 1e-12);
        assert!(
            parse("{}").is_none(),
            "a file without a mean is no estimate"
        );
    }

    #[test]
    fn reads_only_fresh_files_at_criterions_path() {
        let dir = tempfile::tempdir().unwrap();
        let leaf = dir.path().join("fts/search_a_b/no_index/new");
        std::fs::create_dir_all(&leaf).unwrap();
        std::fs::write(leaf.join("estimates.json"), SAMPLE).unwrap();
        let before = SystemTime::now() - std::time::Duration::from_secs(60);
        assert!(read(dir.path(), "fts", "search/a:b", "no_index", before).is_some());
        let after = SystemTime::now() + std::time::Duration::from_secs(60);
        assert!(
            read(dir.path(), "fts", "search/a:b", "no_index", after).is_none(),
            "stale"
        );
    }
}
