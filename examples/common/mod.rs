//! What the data-set examples share: arguments, the split, the report.
#![allow(dead_code)]

use std::time::Instant;

use nalgebra::SVector;
use staticnet::data::load_csv;
use staticnet::train::{Control, EpochReport};

/// The command line: `--seed N` (default 0), `--adam` and `--int8`.
pub struct Args {
    pub seed: u64,
    pub adam: bool,
    pub int8: bool,
}

pub fn args() -> Args {
    let mut args = Args {
        seed: 0,
        adam: false,
        int8: false,
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
            other => fail(&format!(
                "unknown argument {other:?} (expected --seed N, --adam or --int8)"
            )),
        }
    }
    args
}

fn fail(message: &str) -> ! {
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
