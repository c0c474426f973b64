//! Handwritten digits: 64 → 32 (ReLU) → 10, trained with plain mini-batch
//! SGD (learning rate 0.1, batch 32, shuffled epochs, 30 epochs) on 1,438
//! 8×8 images, tested on the other 359.
//!
//!     cargo run --release --example digits [-- --seed N] [-- --adam] [-- --int8]
//!
//! `--adam` swaps in Adam with learning rate 0.01, the rest unchanged.
//! `--int8` then quantises the trained network (calibrated on the training
//! inputs, min/max), prints the per-layer report, the agreement of int8 and
//! `f32` predictions and the `f32` test accuracy, and, as its last line, the
//! int8 test accuracy.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::metrics::accuracy;
use staticnet::optim::{Adam, Optimizer, Sgd};
use staticnet::prelude::*;
use staticnet::quant::{self, Calibration};
use staticnet::sampling::Sampling;
use staticnet::train::Trainer;

type Net = (Dense<64, 32>, Relu, Dense<32, 10>);

fn main() {
    let start = Instant::now();
    let args = common::args();
    let (mut train, mut test) = common::load_split::<64>("digits");
    // Pixel counts 0..16 to [0, 1].
    for (x, _) in train.iter_mut().chain(test.iter_mut()) {
        *x /= 16.0;
    }

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let mut net = Net::random(Init::PyTorch, &mut rng);
    if args.adam {
        fit(&mut net, Adam::new(0.01), &train, &mut rng, start);
    } else {
        fit(&mut net, Sgd::new(0.1), &train, &mut rng, start);
    }
    let f32_accuracy = accuracy(&net, &test[..]);
    if !args.int8 {
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
    println!("f32 test accuracy: {:.2}%", 100.0 * f32_accuracy);
    println!("test accuracy: {:.2}%", 100.0 * q.accuracy(&test[..]));
}

fn fit(
    net: &mut Net,
    optimizer: impl Optimizer<f32, Net>,
    train: &common::Rows<64>,
    rng: &mut Xoshiro256PlusPlus,
    start: Instant,
) {
    let train_accuracy = |net: &Net| accuracy(net, &train[..]);
    Trainer::new(optimizer)
        .epochs(30)
        .batch_size::<32>()
        .sampling(Sampling::Shuffled)
        .validation(train_accuracy)
        .fit(net, &CrossEntropy, &train[..], rng, common::progress(start))
        .unwrap_or_else(|e| panic!("training failed: {e}"));
}
