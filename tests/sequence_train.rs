//! Training on sequences: the trainer and the metrics take `Seq` samples,
//! gradient accumulation (`micro_batch`) gives the whole batch's step, a
//! convolutional classifier learns a signal task, and a GunPoint-sized
//! network trains inside a thread's default 2 MiB stack.

mod common;

use common::{flat, rng, uniform};
use staticnet::metrics::accuracy;
use staticnet::optim::{Adam, Sgd};
use staticnet::prelude::*;
use staticnet::train::{TrainError, Trainer};
use staticnet::{Conv1d, GlobalAvgPool, Same};

/// A noisy sine of a low (class 0) or high (class 1) frequency, random phase.
fn waves<T: Scalar, const L: usize>(n: usize, seed: u64) -> Vec<(Seq<T, 1, L>, usize)> {
    let mut r = rng(seed);
    (0..n)
        .map(|i| {
            let class = i % 2;
            let freq = if class == 0 { 0.15 } else { 0.6 };
            let phase = uniform(&mut r, 0.0, std::f64::consts::TAU);
            let x = Seq::from_fn(|_, t, _| {
                T::of_f64((freq * t as f64 + phase).sin() + 0.3 * uniform(&mut r, -1.0, 1.0))
            });
            (x, class)
        })
        .collect()
}

type Small<T> = (
    Conv1d<1, 4, 5, Same, T>,
    Tanh,
    GlobalAvgPool,
    Dense<4, 2, T>,
);

#[test]
fn micro_batches_give_the_whole_batch_step() {
    let data = waves::<f64, 16>(24, 1);
    let net0 = Small::<f64>::random(Init::Xavier, &mut rng(2));
    let run = |micro: usize| {
        let mut net = net0.clone();
        let mut r = rng(3);
        let summary = match micro {
            8 => Trainer::new(Sgd::new(0.1)).epochs(2).batch_size::<8>().run(
                &mut net,
                &CrossEntropy,
                &data,
                &mut r,
            ),
            3 => Trainer::new(Sgd::new(0.1))
                .epochs(2)
                .batch_size::<8>()
                .micro_batch::<3>()
                .run(&mut net, &CrossEntropy, &data, &mut r),
            _ => Trainer::new(Sgd::new(0.1))
                .epochs(2)
                .batch_size::<8>()
                .micro_batch::<1>()
                .run(&mut net, &CrossEntropy, &data, &mut r),
        }
        .unwrap();
        (flat(&net), summary.train_loss)
    };
    let (whole, loss) = run(8);
    assert_ne!(whole, flat(&net0), "the steps changed the weights");
    for micro in [3, 1] {
        let (parts, part_loss) = run(micro);
        for (a, b) in whole.iter().zip(&parts) {
            assert!((a - b).abs() < 1e-12, "micro-batch {micro}: {a} vs {b}");
        }
        assert!((loss - part_loss).abs() < 1e-12, "{loss} vs {part_loss}");
    }
}

#[test]
fn a_convolutional_classifier_learns_a_signal_task() {
    let train = waves::<f32, 32>(128, 4);
    let test = waves::<f32, 32>(64, 5);
    let mut r = rng(6);
    let mut net = Small::<f32>::random(Init::Xavier, &mut r);
    let before = accuracy(&net, &test);
    Trainer::new(Adam::new(0.02))
        .epochs(30)
        .batch_size::<16>()
        .run(&mut net, &CrossEntropy, &train, &mut r)
        .unwrap();
    let after = accuracy(&net, &test);
    assert!(
        after >= 0.95,
        "test accuracy {after} (before training {before})"
    );
}

#[test]
fn a_nan_in_a_sequence_is_refused_before_the_first_step() {
    let mut data = waves::<f32, 8>(4, 7);
    data[2].0.data[0][5][0] = f32::NAN;
    let mut net = Small::<f32>::random(Init::Xavier, &mut rng(8));
    let before = net.clone();
    let err = Trainer::new(Sgd::new(0.1))
        .batch_size::<2>()
        .run(&mut net, &CrossEntropy, &data, &mut rng(9))
        .unwrap_err();
    // The value's position in the sample: step 5, channel 0.
    assert!(
        matches!(
            err,
            TrainError::InvalidInput {
                index: 2,
                feature: 5,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(net, before);
}

/// The GunPoint network of the example (150 steps, three convolutions of 32
/// filters) trains on a spawned thread's default stack (2 MiB): with
/// micro-batches of one sample its tape is about 100 KB, where a whole batch
/// of 16 would keep 1.6 MB. The unoptimised test build (the test profile)
/// keeps every intermediate value of every layer in a stack slot of its own
/// and needs between 2 and 4 MiB here; an optimised build (`--release`, the
/// examples) runs in 2 MiB.
#[test]
fn a_gunpoint_sized_network_trains_in_a_2_mib_thread() {
    type Net = (
        Conv1d<1, 32, 7>,
        Relu,
        Conv1d<32, 32, 5>,
        Relu,
        Conv1d<32, 32, 3>,
        Relu,
        GlobalAvgPool,
        Dense<32, 2>,
    );
    type X = Seq<f32, 1, 150>;
    let tape = core::mem::size_of::<<Net as Train<X>>::Tape>();
    assert_eq!(tape, 4 * (150 + 5 * 32 * 150 + 32));
    let handle = std::thread::Builder::new()
        .stack_size(if cfg!(debug_assertions) {
            4 << 20
        } else {
            2 << 20
        })
        .spawn(|| {
            let mut r = rng(10);
            let data: Vec<(X, usize)> = (0..20)
                .map(|i| {
                    (
                        Seq::from_fn(|_, t, _| ((t * (i + 1)) as f32 * 0.01).sin()),
                        i % 2,
                    )
                })
                .collect();
            let mut net = Net::random(Init::He, &mut r);
            let summary = Trainer::new(Adam::new(0.001))
                .epochs(1)
                .batch_size::<16>()
                .micro_batch::<1>()
                .run(&mut net, &CrossEntropy, &data, &mut r)
                .unwrap();
            summary.train_loss
        })
        .unwrap();
    assert!(handle.join().unwrap().is_finite());
}

#[test]
fn a_tape_the_caller_provides_trains_to_the_same_bits() {
    let data = waves::<f32, 16>(20, 11);
    let start = Small::<f32>::random(Init::Xavier, &mut rng(12));
    // Two trainers: Adam's moments carry over from one run to the next.
    let trainer = || Trainer::new(Adam::new(0.01)).epochs(3).batch_size::<4>();
    let mut a = start.clone();
    let sa = trainer()
        .run(&mut a, &CrossEntropy, &data, &mut rng(13))
        .unwrap();
    let mut b = start.clone();
    let zeros = <Seq<f32, 1, 16> as Input>::batch::<4>();
    // Whatever the tape holds at the start is overwritten.
    let mut tape = Box::new(start.forward_train(&zeros).1);
    let sb = trainer()
        .fit_with_tape(
            &mut b,
            &CrossEntropy,
            &data,
            &mut rng(13),
            &mut tape,
            |_, _| staticnet::train::Control::Continue,
        )
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(sa.train_loss.to_bits(), sb.train_loss.to_bits());
}

/// The loss of a sequence prediction: the mean of its steps' losses, with
/// gradients that match central differences (f64), for a sequence target
/// and for a class per step.
#[test]
fn sequence_losses_are_the_mean_over_steps_with_exact_gradients() {
    let y = Seq::<f64, 3, 4>::from_fn(|_, t, o| (t as f64 - 1.5) * 0.7 + o as f64 * 0.3);
    let target = Seq::<f64, 3, 4>::from_fn(|_, t, o| ((t * 3 + o) as f64).sin());
    let classes = [2usize, 0, 1, 1];
    let eps = 1e-6;
    type Y = Seq<f64, 3, 4>;
    let check = |what: &str, l: &dyn Fn(&Y) -> (f64, Y)| {
        let (_, g) = l(&y);
        for k in 0..12 {
            let (mut a, mut b) = (y, y);
            a.as_mut_slice()[k] += eps;
            b.as_mut_slice()[k] -= eps;
            let numeric = (l(&a).0 - l(&b).0) / (2.0 * eps);
            let analytic = g.as_slice()[k];
            assert!(
                (numeric - analytic).abs() < 1e-8,
                "{what}, element {k}: {analytic} vs {numeric}"
            );
        }
    };
    check("mean squared", &|y| MeanSquared.loss_and_grad(y, &target));
    check("huber", &|y| Huber::new(0.5).loss_and_grad(y, &target));
    check("cross-entropy per step", &|y| {
        CrossEntropy.loss_and_grad(y, &classes)
    });
    // The mean over steps of the vector loss.
    let steps: f64 = (0..4)
        .map(|t| {
            let yt = SVector::from(y.data[0][t]);
            MeanSquared.loss(&yt, &SVector::from(target.data[0][t]))
        })
        .sum::<f64>()
        / 4.0;
    assert!((MeanSquared.loss(&y, &target) - steps).abs() < 1e-15);
    // A class out of range names itself; a NaN names its element over the
    // whole sequence (step 2, output 1: element 7).
    assert!(<Y as Prediction<CrossEntropy, [usize; 4]>>::check_target(&[0, 1, 3, 0]).is_err());
    let mut bad = target;
    bad.data[0][2][1] = f64::NAN;
    assert!(matches!(
        <Y as Prediction<MeanSquared, Y>>::check_target(&bad),
        Err(staticnet::loss::TargetError::NotFinite { element: 7, .. })
    ));
}

/// A sequence-to-sequence model (a GRU, then a linear layer on every step)
/// learns to output, at every step, the mean of the input so far: the loss
/// over the whole output sequence trains it.
#[test]
fn a_sequence_to_sequence_model_trains_on_sequence_targets() {
    const L: usize = 10;
    let mut r = rng(20);
    let data: Vec<(Seq<f32, 1, L>, Seq<f32, 1, L>)> = (0..64)
        .map(|_| {
            let x = Seq::<f32, 1, L>::from_fn(|_, _, _| uniform(&mut r, -1.0, 1.0) as f32);
            let mut sum = 0.0;
            let y = Seq::from_fn(|_, t, _| {
                sum += x.data[0][t][0];
                sum / (t + 1) as f32
            });
            (x, y)
        })
        .collect();
    type Net = (staticnet::Gru<1, 8>, Dense<8, 1>);
    let mut net = Net::random(Init::PyTorch, &mut rng(21));
    let mean_loss = |net: &Net| {
        data.iter()
            .map(|(x, t)| net.loss(&MeanSquared, x, t))
            .sum::<f32>()
            / data.len() as f32
    };
    let before = mean_loss(&net);
    Trainer::new(Adam::new(0.02))
        .epochs(60)
        .batch_size::<16>()
        .run(&mut net, &MeanSquared, &data, &mut rng(22))
        .unwrap();
    let after = mean_loss(&net);
    assert!(after < before / 10.0, "loss {before} → {after}");
}
