//! What the data-set examples share: arguments, the split, the report.
#![allow(dead_code)]

pub mod plot;
pub mod signals;

use std::path::PathBuf;
use std::time::Instant;

use nalgebra::SVector;
use staticnet::data::load_csv;
use staticnet::train::{Control, EpochReport};

/// The command line: `--seed N` (default 0), `--adam`, `--int8` and
/// `--plot DIR` (write the run's pictures as SVG files into `DIR`).
pub struct Args {
    pub seed: u64,
    pub adam: bool,
    pub int8: bool,
    pub plot: Option<PathBuf>,
}

pub fn args() -> Args {
    let mut args = Args {
        seed: 0,
        adam: false,
        int8: false,
        plot: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => {
                let v = it.next().unwrap_or_default();
                args.seed = v
                    .parse()
                    .unwrap_or_else(|_| fail(&format!("--seed takes a number, not {v:?}")));
            }
            "--adam" => args.adam = true,
            "--int8" => args.int8 = true,
            "--plot" => match it.next() {
                Some(dir) if !dir.is_empty() && !dir.starts_with("--") => {
                    args.plot = Some(dir.into())
                }
                _ => fail("--plot takes a directory, as in --plot docs"),
            },
            other => fail(&format!(
                "unknown argument {other:?} (expected --seed N, --adam, --int8 or --plot DIR)"
            )),
        }
    }
    args
}

pub fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

pub type Rows<const I: usize> = Vec<(SVector<f32, I>, usize)>;

/// Loads `data/<name>.csv` and splits it: rows whose index % 5 == 4 are the
/// test set, the rest train.
pub fn load_split<const I: usize>(name: &str) -> (Rows<I>, Rows<I>) {
    let path = format!("{}/data/{name}.csv", env!("CARGO_MANIFEST_DIR"));
    let rows = load_csv::<f32, I>(&path).unwrap_or_else(|e| fail(&format!("{path}: {e}")));
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, row) in rows.into_iter().enumerate() {
        if i % 5 == 4 {
            test.push(row)
        } else {
            train.push(row)
        }
    }
    (train, test)
}

/// A callback that prints one line per epoch: loss, train accuracy (the
/// trainer's validation metric), elapsed time.
pub fn progress<N>(start: Instant) -> impl FnMut(&EpochReport, &N) -> Control {
    move |r, _| {
        println!(
            "epoch {:>3}/{}  loss {:.4}  train accuracy {:6.2}%  {:>7.1} ms",
            r.epoch + 1,
            r.epochs,
            r.train_loss,
            100.0 * r.validation.unwrap_or(f64::NAN),
            start.elapsed().as_secs_f64() * 1e3
        );
        Control::Continue
    }
}

/// `progress`, and each epoch's figures kept in `rows` for
/// `plot::training_curves`: the loss, the trainer's validation metric as the
/// training-set score and `held_out(net)` as the held-out score, both in
/// percent as `progress` prints them.
pub fn progress_recorded<'a, N: 'a>(
    start: Instant,
    rows: &'a mut Vec<plot::EpochRow>,
    mut held_out: impl FnMut(&N) -> f64 + 'a,
) -> impl FnMut(&EpochReport, &N) -> Control + 'a {
    let mut print = progress(start);
    move |r, net| {
        rows.push(plot::EpochRow {
            epoch: r.epoch + 1,
            loss: r.train_loss,
            train: r.validation.map(|v| 100.0 * v),
            held_out: Some(100.0 * held_out(net)),
        });
        print(r, net)
    }
}

/// Creates `dir` (and its parents) for `--plot DIR`, or exits with an error
/// that names it.
pub fn plot_dir(dir: &std::path::Path) {
    std::fs::create_dir_all(dir)
        .unwrap_or_else(|e| fail(&format!("--plot {}: {e}", dir.display())));
}

/// Exits with `e` (an error from `plot`, which names its file).
pub fn plot_failed(e: std::io::Error) -> ! {
    fail(&format!("writing a picture failed: {e}"))
}

/// The scores of a forecast over one period, with the normalised MSE of
/// the literature: the MSE divided by the variance of the whole series.
pub struct PeriodReport {
    variance: f64,
}

impl PeriodReport {
    /// The whole series' (population) variance.
    pub fn new(values: &[f32]) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let variance = values
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        PeriodReport { variance }
    }

    /// Prints a period's MSE, MAE, R² and normalised MSE; returns the last.
    pub fn print(&self, name: &str, s: staticnet::metrics::Regression) -> f64 {
        let nmse = s.mse / self.variance;
        println!(
            "{name}: mse {:8.2}  mae {:6.2}  r2 {:.3}  nmse {:.4}",
            s.mse, s.mae, s.r2, nmse
        );
        nmse
    }
}
