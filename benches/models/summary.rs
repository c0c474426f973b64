//! The closing table: criterion's samples of this run, read back from its
//! output directory, as medians, spreads, GFLOP/s, % of peak and the ratios
//! to both baselines (`× base`: the plain one's median over staticnet's;
//! `× tuned`: the tuned one's), then the measured read bandwidths and how
//! far mid inference is from its L2-bandwidth limit.

use std::path::Path;

#[path = "../criterion_json.rs"]
mod criterion_json;
use criterion_json::{criterion_dir, quantile, time, times};

// Called first in `main`: the table prints only what this run measured.
pub use criterion_json::mark_start;

/// Time per iteration in ns of one benchmark of this run: (median, first
/// quartile, third quartile).
fn quartiles(dir: &Path, group: &str, id: &str) -> Option<(f64, f64, f64)> {
    let t = times(dir, group, id)?;
    Some((quantile(&t, 0.5), quantile(&t, 0.25), quantile(&t, 0.75)))
}

/// Prints the table. `models`: (name, forward flops per sample, training
/// flops per step).
pub fn print(models: &[(&str, u64, u64)]) {
    let Some(dir) = criterion_dir() else {
        println!("summary: criterion's output directory not found");
        return;
    };
    let peak = quartiles(&dir, "peak", "fma").map(|(m, _, _)| super::peak::FLOPS as f64 / m);
    println!();
    match peak {
        Some(p) => println!("peak (FMA, one core): {p:.1} GFLOP/s"),
        None => println!("peak: not measured"),
    }
    let peak512 =
        quartiles(&dir, "peak", "fma512").map(|(m, _, _)| super::peak::FLOPS512 as f64 / m);
    if let (Some(p), Some(p512)) = (peak, peak512) {
        println!(
            "AVX-512 FMA loop: {p512:.1} GFLOP/s ({:.2}x the AVX2 peak; `% 512` below: the \
             share of it. Where the CPU has AVX-512, one-sample products of tall layers and \
             batch products of heights 16 divides or of 9 to 15 (and `Wᵀ dy` of layers over 24 \
             outputs) run 16-lane code: mid infer, the forward32 and train rows)",
            p512 / p
        );
    }
    // Bytes per ns, i.e. GB/s.
    let gbs =
        |id: &str, bytes: u64| quartiles(&dir, "bandwidth", id).map(|(m, _, _)| bytes as f64 / m);
    let l2 = gbs("read-mid-weights", super::bandwidth::MID_BYTES);
    let l1 = gbs("read-16KiB", super::bandwidth::L1_BYTES);
    let show = |b: Option<f64>| b.map_or("not measured".into(), |b| format!("{b:.1} GB/s"));
    println!(
        "read bandwidth: {} from L2 ({} B, the mid weights), {} from L1 (16 KiB)",
        show(l2),
        super::bandwidth::MID_BYTES,
        show(l1),
    );
    println!(
        "× base, × tuned: the plain and the tuned baseline's median ÷ staticnet's \
         (above 1: staticnet is faster)"
    );
    println!(
        "{:<7} {:<10} {:>10} {:>17} {:>10} {:>7} {:>10} {:>8} {:>7} {:>7} {:>6}",
        "model",
        "case",
        "staticnet",
        "(IQR)",
        "baseline",
        "× base",
        "tuned",
        "× tuned",
        "GFLOP/s",
        "% peak",
        "% 512"
    );
    for &(model, f1, ft) in models {
        let cases = [
            ("infer", f1),
            ("forward32", f1 * super::B as u64),
            ("train", ft),
        ];
        let mut fwd32 = None;
        let mut infer = None;
        for (case, flops) in cases {
            let Some((m, q1, q3)) = quartiles(&dir, model, &format!("{case}-staticnet")) else {
                continue;
            };
            if case == "forward32" {
                fwd32 = Some(m);
            }
            let base = quartiles(&dir, model, &format!("{case}-baseline"));
            let tuned = quartiles(&dir, model, &format!("{case}-tuned"));
            if case == "infer" {
                infer = Some((m, tuned.map(|t| t.0)));
            }
            let gflops = flops as f64 / m;
            println!(
                "{:<7} {:<10} {:>10} {:>17} {:>10} {:>7} {:>10} {:>8} {:>7.1} {:>7} {:>6}",
                model,
                case,
                time(m),
                format!("{}–{}", time(q1), time(q3)),
                base.map_or("—".into(), |b| time(b.0)),
                base.map_or("—".into(), |b| format!("{:.1}×", b.0 / m)),
                tuned.map_or("—".into(), |b| time(b.0)),
                tuned.map_or("—".into(), |b| format!("{:.2}×", b.0 / m)),
                gflops,
                peak.map_or("—".into(), |p| format!("{:.0}%", 100.0 * gflops / p)),
                peak512.map_or("—".into(), |p| format!("{:.0}%", 100.0 * gflops / p)),
            );
            if let (Some(f), "train") = (fwd32, case) {
                println!("{:<7} train / forward32 = {:.2}", model, m / f);
            }
        }
        // Mid inference reads its weights from L2 once per sample: the time
        // of one read of them at the measured bandwidth is its limit.
        if let ("mid", Some((m, tuned)), Some(bw)) = (model, infer, l2) {
            let limit = super::bandwidth::MID_BYTES as f64 / bw;
            println!(
                "mid     infer: L2-bandwidth limit {} ({} B ÷ {bw:.1} GB/s); staticnet {:.2}× it \
                 (target ≤ 1.3×){}",
                time(limit),
                super::bandwidth::MID_BYTES,
                m / limit,
                tuned.map_or(String::new(), |t| format!(", tuned {:.2}× it", t / limit)),
            );
        }
    }
    // Int8 one-sample inference (integer only, the portable loops the
    // compiler vectorises) against f32 one-sample inference.
    for &(model, f1, _) in models {
        let (Some((q, q1, q3)), Some((f, _, _))) = (
            quartiles(&dir, model, "infer-int8"),
            quartiles(&dir, model, "infer-staticnet"),
        ) else {
            continue;
        };
        println!(
            "{model:<7} int8 infer {} ({}–{}), {:.1} Gop/s; f32 infer ÷ int8 = {:.2}",
            time(q),
            time(q1),
            time(q3),
            f1 as f64 / q,
            f / q
        );
    }
}
