//! Reading criterion's samples back from its output directory, shared by
//! the benches' closing tables (`#[path]`-included by each).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

/// When this run started, once [`mark_start`] has been called.
static START: OnceLock<SystemTime> = OnceLock::new();

/// Marks the start of this run: from then on [`times`] reads only the
/// samples written after it, so that a run filtered to some benchmarks does
/// not print the figures an earlier run left for the others (criterion
/// keeps every benchmark's last samples in its directory).
pub fn mark_start() {
    START.get_or_init(SystemTime::now);
}

/// Criterion's output directory, found the way criterion finds it.
pub fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(Path::new(&target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .map(|a| a.join("criterion"))
        .find(|d| d.is_dir())
}

/// The numbers of the JSON array that follows `"key":` in `text`.
pub fn array(text: &str, key: &str) -> Vec<f64> {
    let Some(start) = text.find(&format!("\"{key}\":[")) else {
        return Vec::new();
    };
    let rest = &text[start + key.len() + 4..];
    let end = rest.find(']').unwrap_or(rest.len());
    rest[..end]
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

/// The times per iteration in ns of one benchmark of the last run
/// (`<dir>/<group>/<id>/new/sample.json`), sorted; `None` if it did not
/// run.
pub fn times(dir: &Path, group: &str, id: &str) -> Option<Vec<f64>> {
    let path = dir.join(group).join(id).join("new/sample.json");
    if let Some(&start) = START.get() {
        let written = fs::metadata(&path).and_then(|m| m.modified()).ok()?;
        if written < start {
            return None;
        }
    }
    let text = fs::read_to_string(path).ok()?;
    let (iters, times) = (array(&text, "iters"), array(&text, "times"));
    let mut per: Vec<f64> = iters.iter().zip(&times).map(|(n, t)| t / n).collect();
    if per.is_empty() {
        return None;
    }
    per.sort_by(f64::total_cmp);
    Some(per)
}

/// The `f`-quantile of sorted times (the nearest sample).
pub fn quantile(sorted: &[f64], f: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * f).round() as usize]
}

/// A time in ns, as the tables print it: ns, µs or ms.
pub fn time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}
