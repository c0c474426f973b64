//! Activity recognition on real data: BasicMotions (UEA archive), a smart
//! watch's 3-D accelerometer and 3-D gyroscope at 10 Hz for 10 s (6
//! channels × 100 steps) while a person stands, runs, walks or plays
//! badminton; the archive's official split, 40 training and 40 test
//! windows, 10 per class in each.
//!
//! The network is the PyTorch baseline with 16 filters: per-channel
//! standardisation with the training set's statistics (a layer, so the
//! saved model takes raw sensor units), three convolutions (kernels 7, 5
//! and 3, `same` padding, ReLU), global average pooling and a linear layer
//! into the four classes; Adam at 0.003, batches of 16, 300 epochs.
//! Training runs on a thread with the default 2 MiB stack. This is the
//! model the firmware in `embedded/` runs from flash.
//!
//!     cargo run --release --example basicmotions [-- --seed N] [-- --plot DIR]
//!
//! The last line is the test accuracy. `--plot DIR` writes
//! `DIR/basicmotions-training.svg` (loss and accuracies per epoch).

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::prelude::*;

use common::signals::{MOTION_CHANNELS, MOTION_STEPS, MotionNet};

fn main() {
    let start = Instant::now();
    let args = common::args();
    let (train, test) = common::signals::load::<MOTION_CHANNELS, MOTION_STEPS>("basicmotions");

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let mut net = MotionNet::random(Init::PyTorch, &mut rng);
    net.0 = Standardize::fit_sequences(&train).unwrap_or_else(|e| common::fail(&e.to_string()));

    let (net, curve) =
        common::signals::train(net, &train, &test, args.seed, 300, args.plot.is_some());
    if let Some(dir) = &args.plot {
        common::plot_dir(dir);
        let path = dir.join("basicmotions-training.svg");
        let title = format!("BasicMotions, 3 × Conv1d(16) → GAP → 4, seed {}", args.seed);
        common::plot::training_curves(&path, &title, "accuracy (held out: test)", &curve)
            .unwrap_or_else(|e| common::plot_failed(e));
        println!("wrote {}", path.display());
    }
    common::signals::report(&net, &train, &test, &curve, start);
}
