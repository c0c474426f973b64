//! Reading criterion's samples back from its output directory, shared by
//! the benches' closing tables (`#[path]`-included by each).

use std::path::{Path, PathBuf};

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
