//! Handwritten digits: 64 → 32 (ReLU) → 10, trained with plain mini-batch
//! SGD (learning rate 0.1, batch 32, shuffled epochs, 30 epochs) on 1,438
//! 8×8 images, tested on the other 359.
//!
//!     cargo run --release --example digits [-- --seed N] [-- --adam] [-- --int8] [-- --plot DIR]
//!
//! `--adam` swaps in Adam with learning rate 0.01, the rest unchanged.
//! `--int8` then quantises the trained network (calibrated on the training
//! inputs, min/max), prints the per-layer report, the agreement of int8 and
//! `f32` predictions and the `f32` test accuracy, and, as its last line, the
//! int8 test accuracy.
//! `--plot DIR` also writes `DIR/digits-training.svg` (loss, training and
//! test accuracy per epoch; the test set is only looked at, never trained
//! on) and `DIR/digits-confusion.svg` (the test set's confusion matrix, of
//! the int8 network with `--int8`), and prints their paths.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::time::Instant;

use nalgebra::{SMatrix, SVector};
use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::metrics::accuracy;
use staticnet::optim::{Adam, Optimizer, Sgd};
use staticnet::prelude::*;
use staticnet::quant::{self, Calibration};
use staticnet::sampling::Sampling;
use staticnet::train::{Control, EpochReport, Trainer};

type Net = (Dense<64, 32>, Relu, Dense<32, 10>);

fn main() {
    let start = Instant::now();
    let args = common::args();
    if let Some(dir) = &args.plot {
        common::plot_dir(dir);
    }
    let (mut train, mut test) = common::load_split::<64>("digits");
    // Pixel counts 0..16 to [0, 1].
    for (x, _) in train.iter_mut().chain(test.iter_mut()) {
        *x /= 16.0;
    }

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let mut net = Net::random(Init::PyTorch, &mut rng);
    // With --plot, each epoch's figures (the test accuracy only measured).
    let mut rows = Vec::new();
    match (&args.plot, args.adam) {
        (None, false) => fit(
            &mut net,
            Sgd::new(0.1),
            &train,
            &mut rng,
            common::progress(start),
        ),
        (None, true) => fit(
            &mut net,
            Adam::new(0.01),
            &train,
            &mut rng,
            common::progress(start),
        ),
        (Some(_), adam) => {
            let test_accuracy = |net: &Net| accuracy(net, &test[..]);
            let progress = common::progress_recorded(start, &mut rows, test_accuracy);
            if adam {
                fit(&mut net, Adam::new(0.01), &train, &mut rng, progress)
            } else {
                fit(&mut net, Sgd::new(0.1), &train, &mut rng, progress)
            }
        }
    }
    let f32_accuracy = accuracy(&net, &test[..]);
    if !args.int8 {
        if let Some(dir) = &args.plot {
            let confusion = confusion(&test, |x| net.predict_class(x));
            plot(dir, &args, &rows, &confusion, "f32");
        }
        println!("test accuracy: {:.2}%", 100.0 * f32_accuracy);
        return;
    }
    let q = quant::quantize(&net, &train[..], Calibration::MinMax)
        .unwrap_or_else(|e| panic!("quantising failed: {e}"));
    print!("{q}");
    let agree = train
        .iter()
        .filter(|(x, _)| q.predict_class(x) == net.predict_class(x))
        .count();
    println!(
        "int8 and f32 agree on {agree} of {} calibration samples ({:.2}%)",
        train.len(),
        100.0 * agree as f64 / train.len() as f64
    );
    if let Some(dir) = &args.plot {
        let confusion = confusion(&test, |x| q.predict_class(x));
        plot(dir, &args, &rows, &confusion, "int8");
    }
    println!("f32 test accuracy: {:.2}%", 100.0 * f32_accuracy);
    println!("test accuracy: {:.2}%", 100.0 * q.accuracy(&test[..]));
}

fn fit(
    net: &mut Net,
    optimizer: impl Optimizer<f32, Net>,
    train: &common::Rows<64>,
    rng: &mut Xoshiro256PlusPlus,
    progress: impl FnMut(&EpochReport, &Net) -> Control,
) {
    let train_accuracy = |net: &Net| accuracy(net, &train[..]);
    Trainer::new(optimizer)
        .epochs(30)
        .batch_size::<32>()
        .sampling(Sampling::Shuffled)
        .validation(train_accuracy)
        .fit(net, &CrossEntropy, &train[..], rng, progress)
        .unwrap_or_else(|e| panic!("training failed: {e}"));
}

/// The test set's confusion matrix: entry `(t, p)` counts the digits `t`
/// that `predict` calls `p`.
fn confusion(
    test: &common::Rows<64>,
    predict: impl Fn(&SVector<f32, 64>) -> usize,
) -> SMatrix<usize, 10, 10> {
    let mut m = SMatrix::zeros();
    for (x, t) in test {
        m[(*t, predict(x))] += 1;
    }
    m
}

/// Writes `dir/digits-training.svg` and `dir/digits-confusion.svg` and
/// prints their paths.
fn plot(
    dir: &Path,
    args: &common::Args,
    rows: &[common::plot::EpochRow],
    confusion: &SMatrix<usize, 10, 10>,
    scalars: &str,
) {
    let optimizer = if args.adam {
        "Adam, lr 0.01"
    } else {
        "SGD, lr 0.1"
    };
    let title = format!(
        "digits: 64 → 32 (ReLU) → 10, {optimizer}, seed {}",
        args.seed
    );
    let path = dir.join("digits-training.svg");
    common::plot::training_curves(&path, &title, "accuracy (%)", rows)
        .unwrap_or_else(|e| common::plot_failed(e));
    println!("wrote {}", path.display());
    let names: [String; 10] = std::array::from_fn(|k| k.to_string());
    let title = format!("digits: test set, {scalars}, seed {}", args.seed);
    let path = dir.join("digits-confusion.svg");
    common::plot::confusion_matrix(&path, &title, confusion, &names)
        .unwrap_or_else(|e| common::plot_failed(e));
    println!("wrote {}", path.display());
}
