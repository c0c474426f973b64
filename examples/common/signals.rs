//! What the time-series classification examples share: loading an
//! archive's official split, training a convolutional classifier on a
//! thread's default stack, and the report.

use std::time::Instant;

use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::data::{SeqRows, Standardize, load_sequences};
use staticnet::metrics::{Predicts, accuracy};
use staticnet::optim::Adam;
use staticnet::prelude::*;
use staticnet::train::{Control, Trainer};
use staticnet::{Conv1d, GlobalAvgPool};

use super::plot::EpochRow;

/// BasicMotions: channels (accelerometer and gyroscope, x y z) and steps
/// of a window.
pub const MOTION_CHANNELS: usize = 6;
/// BasicMotions: steps of a window.
pub const MOTION_STEPS: usize = 100;

/// The BasicMotions classifier (`examples/basicmotions.rs`, and the
/// firmware's model from `examples/export_embedded.rs`): per-channel
/// scaling, three convolutions of 16 filters (kernels 7, 5, 3, same
/// padding, ReLU), global average pooling, a linear layer to the 4
/// activities.
pub type MotionNet = (
    Standardize<MOTION_CHANNELS>,
    Conv1d<MOTION_CHANNELS, 16, 7>,
    Relu,
    Conv1d<16, 16, 5>,
    Relu,
    Conv1d<16, 16, 3>,
    Relu,
    GlobalAvgPool,
    Dense<16, 4>,
);

/// Loads `data/<name>_train.csv` and `data/<name>_test.csv`.
pub fn load<const C: usize, const L: usize>(
    name: &str,
) -> (SeqRows<f32, C, L, usize>, SeqRows<f32, C, L, usize>) {
    let load = |part: &str| {
        let path = format!("{}/data/{name}_{part}.csv", env!("CARGO_MANIFEST_DIR"));
        load_sequences::<f32, C, L>(&path).unwrap_or_else(|e| super::fail(&format!("{e}")))
    };
    (load("train"), load("test"))
}

/// The training recipe of the PyTorch baseline: Adam at 0.003,
/// batches of 16, `epochs` epochs, seeded. Each batch runs one sample at a
/// time (`micro_batch`), so the tape stays small; training runs on a
/// spawned thread with Rust's default 2 MiB stack to show it fits. With
/// `curve`, the loss and the training and test accuracy of every epoch are
/// recorded (for `--plot`).
pub fn train<N, const C: usize, const L: usize, const K: usize>(
    mut net: N,
    train: &SeqRows<f32, C, L, usize>,
    test: &SeqRows<f32, C, L, usize>,
    seed: u64,
    epochs: usize,
    curve: bool,
) -> (N, Vec<EpochRow>)
where
    N: Train<Seq<f32, C, L, 1>, Output = SMatrix<f32, K, 1>>
        + Predicts<Seq<f32, C, L>, K>
        + Params<f32>
        + Send
        + 'static,
{
    let (train, test) = (train.clone(), test.clone());
    std::thread::spawn(move || {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_add(1));
        let mut rows = Vec::new();
        Trainer::new(Adam::new(0.003))
            .epochs(epochs)
            .batch_size::<16>()
            .micro_batch::<1>()
            .fit(&mut net, &CrossEntropy, &train, &mut rng, |report, net| {
                rows.push(EpochRow {
                    epoch: report.epoch + 1,
                    loss: report.train_loss,
                    train: curve.then(|| accuracy(net, &train)),
                    held_out: curve.then(|| accuracy(net, &test)),
                });
                Control::Continue
            })
            .unwrap_or_else(|e| super::fail(&format!("training failed: {e}")));
        (net, rows)
    })
    .join()
    .expect("the training thread")
}

/// Prints the training summary and the scores; the last line is the test
/// accuracy.
pub fn report<N, const C: usize, const L: usize, const K: usize>(
    net: &N,
    train: &SeqRows<f32, C, L, usize>,
    test: &SeqRows<f32, C, L, usize>,
    curve: &[EpochRow],
    start: Instant,
) where
    N: Predicts<Seq<f32, C, L>, K>,
{
    println!(
        "trained {} epochs on {} sequences of {C} × {L} in {:.1} s; loss {:.4} → {:.4}",
        curve.len(),
        train.len(),
        start.elapsed().as_secs_f64(),
        curve[0].loss,
        curve[curve.len() - 1].loss
    );
    println!("train accuracy: {:.2}%", 100.0 * accuracy(net, train));
    println!("test accuracy: {:.2}%", 100.0 * accuracy(net, test));
}
