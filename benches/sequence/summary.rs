//! The closing table: criterion's samples of this run, read back from its
//! output directory (benches/criterion_json.rs, shared with
//! benches/models):
//! per model the median ns per step and its spread, the baseline's median
//! and the ratio, GFLOP/s, % of the measured peak, and RTNeural's figure
//! from the issue brought to this machine's peak with the target beside it;
//! then the same from the fastest sample of each benchmark (the peak's
//! too), which on a shared machine is the least disturbed by other
//! processes.

use std::path::Path;

/// The FMA peak of the core RTNeural's figures were measured on (GFLOP/s).
const RTNEURAL_PEAK: f64 = 100.0;
/// The target: at most this fraction of RTNeural's time at equal peak.
const TARGET: f64 = 0.8;

#[path = "../criterion_json.rs"]
mod criterion_json;
use criterion_json::{criterion_dir, quantile, time, times};

// Called first in `main`: the table prints only what this run measured.
pub use criterion_json::mark_start;

/// Time per iteration in ns of one benchmark of this run, over its
/// samples: the fastest, the first quartile, the median, the third
/// quartile.
#[derive(Clone, Copy)]
struct Stats {
    min: f64,
    q1: f64,
    median: f64,
    q3: f64,
}

fn stats(dir: &Path, group: &str, id: &str) -> Option<Stats> {
    let t = times(dir, group, id)?;
    Some(Stats {
        min: t[0],
        q1: quantile(&t, 0.25),
        median: quantile(&t, 0.5),
        q3: quantile(&t, 0.75),
    })
}

/// Which time of a benchmark's samples a table shows.
type Pick = fn(&Stats) -> f64;

/// Prints the tables. `models`: (criterion group, description, flops per
/// step, RTNeural's ns per step on its 100 GFLOP/s core).
pub fn print(models: &[(&str, &str, u64, f64)]) {
    let Some(dir) = criterion_dir() else {
        println!("summary: criterion's output directory not found");
        return;
    };
    let peak = stats(&dir, "peak", "fma");
    let peak512 = stats(&dir, "peak", "fma512");
    let gflops =
        |s: Option<Stats>, flops: u64, pick: fn(&Stats) -> f64| s.map(|s| flops as f64 / pick(&s));
    println!();
    println!(
        "ns per streaming step (one sample); × base: the baseline's time ÷ staticnet's (above 1: \
         staticnet is faster); RTNeural: the issue's time × {RTNEURAL_PEAK:.0} / this peak (the \
         same share of peak here), target {TARGET}× that"
    );
    // The medians, then the fastest samples: on a shared machine the
    // fastest sample of each benchmark (peak included) is the one least
    // slowed by other processes, the closest to a quiet core.
    let views: [(&str, Pick); 2] = [("median", |s| s.median), ("fastest sample", |s| s.min)];
    for (view, pick) in views {
        let p = gflops(peak, super::peak::FLOPS, pick);
        println!();
        match p {
            Some(p) => println!("{view}: peak (AVX2 FMA, one core) {p:.1} GFLOP/s"),
            None => println!("{view}: peak not measured"),
        }
        if let (Some(p), Some(p512)) = (p, gflops(peak512, super::peak::FLOPS512, pick)) {
            println!(
                "{view}: AVX-512 FMA loop {p512:.1} GFLOP/s ({:.2}× the AVX2 peak; % peak is of \
                 the AVX2 one)",
                p512 / p
            );
        }
        println!(
            "{:<9} {:>6} {:>10} {:>17} {:>10} {:>7} {:>7} {:>6} {:>9} {:>9} {:>8}",
            "model",
            "flops",
            "staticnet",
            "(IQR)",
            "baseline",
            "× base",
            "GFLOP/s",
            "% peak",
            "RTNeural",
            "target",
            "÷ target"
        );
        for &(model, _, flops, rtneural) in models {
            let Some(st) = stats(&dir, model, "step-staticnet") else {
                continue;
            };
            let m = pick(&st);
            let base = stats(&dir, model, "step-baseline").map(|b| pick(&b));
            let rate = flops as f64 / m;
            let rt = p.map(|p| rtneural * RTNEURAL_PEAK / p);
            let iqr = if view == "median" {
                format!("{}–{}", time(st.q1), time(st.q3))
            } else {
                String::new()
            };
            println!(
                "{:<9} {:>6} {:>10} {:>17} {:>10} {:>7} {:>7.1} {:>6} {:>9} {:>9} {:>8}",
                model,
                flops,
                time(m),
                iqr,
                base.map_or("—".into(), time),
                base.map_or("—".into(), |b| format!("{:.1}×", b / m)),
                rate,
                p.map_or("—".into(), |p| format!("{:.0}%", 100.0 * rate / p)),
                rt.map_or("—".into(), time),
                rt.map_or("—".into(), |r| time(TARGET * r)),
                rt.map_or("—".into(), |r| format!("{:.2}", m / (TARGET * r))),
            );
        }
    }
    println!();
    for &(model, description, ..) in models {
        println!("{model:<9} {description}");
    }
}
