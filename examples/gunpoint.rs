//! Time-series classification on real data: GunPoint (UCR archive), the
//! x-coordinate of an actor's hand over 150 steps, drawing a gun from a
//! holster and pointing it (class 0) or pointing without one (class 1);
//! the archive's official split, 50 training and 150 test series.
//!
//! The network is the PyTorch baseline: per-channel
//! standardisation with the training set's statistics (a layer, so the
//! saved model takes raw series), three convolutions of 32 filters
//! (kernels 7, 5 and 3, `same` padding, ReLU), global average pooling and
//! a linear layer into the two classes; Adam at 0.003, batches of 16, 300
//! epochs. Training runs on a thread with the default 2 MiB stack.
//!
//!     cargo run --release --example gunpoint [-- --seed N] [-- --plot DIR]
//!
//! The last line is the test accuracy. `--plot DIR` writes
//! `DIR/gunpoint-training.svg` (loss and accuracies per epoch).

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::data::Standardize;
use staticnet::prelude::*;
use staticnet::{Conv1d, GlobalAvgPool};

const STEPS: usize = 150;

type Net = (
    Standardize<1>,
    Conv1d<1, 32, 7>,
    Relu,
    Conv1d<32, 32, 5>,
    Relu,
    Conv1d<32, 32, 3>,
    Relu,
    GlobalAvgPool,
    Dense<32, 2>,
);

fn main() {
    let start = Instant::now();
    let args = common::args();
    let (train, test) = common::signals::load::<1, STEPS>("gunpoint");

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let mut net = Net::random(Init::PyTorch, &mut rng);
    net.0 = Standardize::fit_sequences(&train).unwrap_or_else(|e| common::fail(&e.to_string()));

    let (net, curve) =
        common::signals::train(net, &train, &test, args.seed, 300, args.plot.is_some());
    if let Some(dir) = &args.plot {
        common::plot_dir(dir);
        let path = dir.join("gunpoint-training.svg");
        let title = format!("GunPoint, 3 × Conv1d(32) → GAP → 2, seed {}", args.seed);
        common::plot::training_curves(&path, &title, "accuracy (held out: test)", &curve)
            .unwrap_or_else(|e| common::plot_failed(e));
        println!("wrote {}", path.display());
    }
    common::signals::report(&net, &train, &test, &curve, start);
}
