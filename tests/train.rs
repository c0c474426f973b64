//! The trainer, the optimizers and the samplers.

mod common;

use common::{rng, uniform};
use nalgebra::{SMatrix, SVector};
use staticnet::optim::{Adam, NonFinite, Optimizer, Sgd};
use staticnet::prelude::*;
use staticnet::sampling::{Epoch, Permutation, Sampling, uniform_index};
use staticnet::schedule::{Cosine, Schedule, StepDecay};
use staticnet::train::{Control, TargetError, TrainError, Trainer};

type Net = (Dense<4, 8>, Tanh, Dense<8, 3>);

/// A small three-class problem: the class is the largest of three linear
/// functions of the input.
fn blobs(n: usize, seed: u64) -> Vec<(SVector<f32, 4>, usize)> {
    let mut r = rng(seed);
    (0..n)
        .map(|_| {
            let x = SVector::<f32, 4>::from_fn(|_, _| uniform(&mut r, -1.0, 1.0) as f32);
            let scores = [x[0] + x[1], x[2] - x[0], x[3] - x[1]];
            let class = (0..3)
                .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
                .unwrap();
            (x, class)
        })
        .collect()
}

fn bits<N: Params<f32>>(net: &N) -> Vec<u32> {
    let mut v = Vec::new();
    net.visit(&mut |p| v.extend(p.iter().map(|x| x.to_bits())));
    v
}

fn train(seed: u64, sampling: Sampling) -> Net {
    let data = blobs(100, 1);
    let mut r = rng(seed);
    let mut net = Net::random(Init::Xavier, &mut r);
    Trainer::new(Sgd::new(0.1).momentum(0.9))
        .epochs(5)
        .batch_size::<16>()
        .sampling(sampling)
        .fit(&mut net, &CrossEntropy, &data[..], &mut r, |_, _| {
            Control::Continue
        })
        .unwrap();
    net
}

#[test]
fn same_seed_gives_bit_identical_weights() {
    for sampling in [Sampling::Shuffled, Sampling::WithReplacement] {
        assert_eq!(bits(&train(7, sampling)), bits(&train(7, sampling)));
        assert_ne!(
            bits(&train(7, sampling)),
            bits(&train(8, sampling)),
            "the seed matters"
        );
    }
}

#[test]
fn training_learns_a_separable_problem_and_reports_every_epoch() {
    let (data, test) = (blobs(300, 2), blobs(200, 3));
    let mut r = rng(4);
    let mut net = Net::random(Init::Xavier, &mut r);
    let before = staticnet::metrics::mean_loss(&net, &CrossEntropy, &data[..]).unwrap();
    let mut reports = Vec::new();
    let summary = Trainer::new(Adam::new(0.02))
        .epochs(20)
        .batch_size::<32>()
        .validation(|n: &Net| staticnet::metrics::accuracy(n, &test[..]))
        .fit(&mut net, &CrossEntropy, &data[..], &mut r, |rep, _| {
            reports.push(*rep);
            Control::Continue
        })
        .unwrap();
    assert_eq!(reports.len(), 20);
    assert_eq!(summary.steps, 20 * 300usize.div_ceil(32));
    assert_eq!(reports.last().unwrap().train_loss, summary.train_loss);
    assert!(
        reports
            .iter()
            .enumerate()
            .all(|(i, r)| r.epoch == i && r.validation.is_some())
    );
    let after = staticnet::metrics::mean_loss(&net, &CrossEntropy, &data[..]).unwrap();
    assert!(after < 0.5 * before, "loss {before} → {after}");
    assert!(staticnet::metrics::accuracy(&net, &test[..]) > 0.9);
    let m = staticnet::metrics::confusion_matrix::<_, _, _, 3, 3>(&net, &test[..]).unwrap();
    assert_eq!(m.sum(), 200);
}

#[test]
fn the_callback_can_stop_training_early() {
    let data = blobs(50, 5);
    let mut r = rng(5);
    let mut net = Net::random(Init::Xavier, &mut r);
    let summary = Trainer::new(Sgd::new(0.1))
        .epochs(100)
        .batch_size::<8>()
        .fit(&mut net, &CrossEntropy, &data[..], &mut r, |rep, _| {
            if rep.epoch == 2 {
                Control::Stop
            } else {
                Control::Continue
            }
        })
        .unwrap();
    assert_eq!(
        (summary.epochs, summary.stopped, summary.steps),
        (3, true, 3 * 7)
    );
}

#[test]
fn a_diverging_run_ends_with_an_error_and_finite_unchanged_weights() {
    // The digits recipe's shape with a learning rate of 1e6: ReLU layers let
    // the weights grow multiplicatively until the loss overflows.
    let data: Vec<(SVector<f32, 64>, usize)> = blobs(64, 6)
        .iter()
        .map(|(x, c)| (SVector::from_fn(|i, _| x[i % 4]), *c))
        .collect();
    let mut r = rng(6);
    let mut net = <(Dense<64, 32>, Relu, Dense<32, 10>)>::random(Init::PyTorch, &mut r);
    let mut trainer = Trainer::new(Sgd::new(1e6)).epochs(50).batch_size::<8>();
    let err = trainer
        .fit(&mut net, &CrossEntropy, &data[..], &mut r, |_, _| {
            Control::Continue
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::NonFiniteLoss { .. }
                | TrainError::NonFiniteGradient { .. }
                | TrainError::NonFiniteUpdate { .. }
        ),
        "{err:?}"
    );
    assert!(
        net.is_finite(),
        "no NaN or infinity was written into the weights"
    );
    assert!(err.to_string().contains("epoch"), "{err}");

    // A regression that diverges the same way, through the square loss.
    let data: Vec<(SVector<f32, 4>, SVector<f32, 1>)> = blobs(32, 6)
        .iter()
        .map(|(x, c)| (*x, SVector::from([*c as f32])))
        .collect();
    let mut net = <(Dense<4, 16>, Relu, Dense<16, 1>)>::random(Init::He, &mut r);
    let err = Trainer::new(Sgd::new(1e6))
        .epochs(50)
        .batch_size::<8>()
        .fit(&mut net, &MeanSquared, &data[..], &mut r, |_, _| {
            Control::Continue
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::NonFiniteLoss { .. } | TrainError::NonFiniteUpdate { .. }
        ),
        "{err:?}"
    );
    assert!(net.is_finite());

    // The same holds for each optimizer step on its own: a NaN gradient
    // changes neither the parameters nor the optimizer state.
    let mut net = Net::random(Init::Xavier, &mut r);
    let before = bits(&net);
    let mut grad = Net::zeros();
    grad.0.weight[(3, 1)] = f32::NAN;
    let mut adam = Adam::new(0.1);
    assert_eq!(adam.step(&mut net, &grad), Err(NonFinite));
    assert_eq!(bits(&net), before);
    assert_eq!(adam.steps(), 0);
    assert!(bits(adam.moments().0).iter().all(|&b| b == 0));
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    assert_eq!(sgd.step(&mut net, &grad), Err(NonFinite));
    assert_eq!(bits(&net), before);
    assert!(bits(sgd.velocity()).iter().all(|&b| b == 0));
}

#[test]
fn bad_data_is_rejected_before_training() {
    let mut data = blobs(20, 7);
    let mut net = Net::random(Init::Xavier, &mut rng(7));
    let before = bits(&net);
    let mut trainer = Trainer::new(Sgd::new(0.1)).batch_size::<4>();
    let mut fit = |d: &[(SVector<f32, 4>, usize)], net: &mut Net| {
        trainer.fit(net, &CrossEntropy, d, &mut rng(0), |_, _| Control::Continue)
    };
    data[13].0[2] = f32::INFINITY;
    assert_eq!(
        fit(&data, &mut net),
        Err(TrainError::InvalidInput {
            index: 13,
            feature: 2,
            value: f64::INFINITY
        })
    );
    data[13].0[2] = 0.0;
    data[4].1 = 3; // only classes 0..3 exist
    assert_eq!(
        fit(&data, &mut net),
        Err(TrainError::InvalidTarget {
            index: 4,
            reason: TargetError::ClassOutOfRange {
                class: 3,
                classes: 3
            }
        })
    );
    assert_eq!(fit(&[], &mut net), Err(TrainError::EmptyDataset));
    assert_eq!(bits(&net), before);
}

/// The mean of many mini-batch gradients (indices drawn uniformly with
/// replacement) approaches the full-batch gradient.
#[test]
fn mini_batch_gradients_are_unbiased() {
    const B: usize = 8;
    const K: usize = 4000;
    let data = blobs(64, 8);
    let n = data.len();
    let net = <(Dense<4, 6, f64>, Tanh, Dense<6, 3, f64>)>::random(Init::Xavier, &mut rng(8));
    let data: Vec<(SVector<f64, 4>, usize)> = data.iter().map(|(x, c)| (x.cast(), *c)).collect();
    let flat = |g: &(Dense<4, 6, f64>, Tanh, Dense<6, 3, f64>)| {
        let mut v = Vec::new();
        g.visit(&mut |p| v.extend_from_slice(p));
        v
    };

    // Per-sample gradients: their mean is the full gradient, their spread the noise.
    let per_sample: Vec<Vec<f64>> = data
        .iter()
        .map(|(x, c)| {
            let mut g = Params::<f64>::zeros();
            net.loss_and_grad(&CrossEntropy, x, c, &mut g);
            flat(&g)
        })
        .collect();
    let p = per_sample[0].len();
    let full: Vec<f64> = (0..p)
        .map(|k| per_sample.iter().map(|g| g[k]).sum::<f64>() / n as f64)
        .collect();
    let var: Vec<f64> = (0..p)
        .map(|k| {
            per_sample
                .iter()
                .map(|g| (g[k] - full[k]).powi(2))
                .sum::<f64>()
                / n as f64
        })
        .collect();

    let mut r = rng(9);
    let plan = Epoch::new(n, Sampling::WithReplacement, &mut r);
    let mut mean = vec![0.0; p];
    for _ in 0..K {
        let (idx, count) = plan.batch::<_, B>(0, &mut r);
        assert_eq!(count, B);
        let x = SMatrix::<f64, 4, B>::from_fn(|row, j| data[idx[j]].0[row]);
        let targets = idx.map(|i| data[i].1);
        let mut g = Params::<f64>::zeros();
        net.batch_loss_and_grad(&CrossEntropy, &x, &targets, &mut g);
        for (m, v) in mean.iter_mut().zip(flat(&g)) {
            *m += v / K as f64;
        }
    }
    // The mean of K batch gradients has standard error σ / √(B K) per
    // coordinate. Allow 5 standard errors (a 1-in-1.7-million event per
    // coordinate under a normal approximation) plus rounding.
    for k in 0..p {
        let se = (var[k] / (B * K) as f64).sqrt();
        assert!(
            (mean[k] - full[k]).abs() <= 5.0 * se + 1e-12,
            "coordinate {k}: mean of batches {} vs full {} (standard error {se})",
            mean[k],
            full[k]
        );
    }
    // And the check has teeth: a biased estimator (the first sample's
    // gradient alone) is far outside that band somewhere.
    let worst = (0..p)
        .map(|k| (per_sample[0][k] - full[k]).abs() / ((var[k] / (B * K) as f64).sqrt() + 1e-12))
        .fold(0.0, f64::max);
    assert!(worst > 5.0);
}

#[test]
fn shuffled_epochs_visit_every_sample_once() {
    let mut r = rng(10);
    for n in [1, 2, 3, 5, 31, 32, 33, 100, 1438, 4097] {
        let plan = Epoch::new(n, Sampling::Shuffled, &mut r);
        let mut seen = vec![0u32; n];
        let mut total = 0;
        for k in 0..plan.batches(32) {
            let (idx, count) = plan.batch::<_, 32>(k, &mut r);
            for &i in &idx[..count] {
                seen[i] += 1;
            }
            total += count;
        }
        assert_eq!(total, n);
        assert!(seen.iter().all(|&s| s == 1), "n = {n}");
    }
    // Different keys give different orders, and the order is not the identity.
    let a = Permutation::new(100, &mut r);
    let b = Permutation::new(100, &mut r);
    let order = |p: &Permutation| (0..100).map(|i| p.get(i)).collect::<Vec<_>>();
    assert_ne!(order(&a), order(&b));
    assert_ne!(order(&a), (0..100).collect::<Vec<_>>());
}

#[test]
fn shuffled_positions_are_roughly_uniform() {
    // Over many permutations of 0..10, each value lands at position 0 about
    // equally often: a chi-squared test with 9 degrees of freedom.
    let mut r = rng(11);
    let trials = 20_000;
    let mut counts = [0f64; 10];
    for _ in 0..trials {
        counts[Permutation::new(10, &mut r).get(0)] += 1.0;
    }
    let e = trials as f64 / 10.0;
    let chi2: f64 = counts.iter().map(|c| (c - e).powi(2) / e).sum();
    assert!(chi2 < 27.9, "chi² = {chi2} (p < 0.001 above 27.9)");

    let mut counts = [0f64; 7];
    for _ in 0..trials {
        counts[uniform_index(&mut r, 7)] += 1.0;
    }
    let e = trials as f64 / 7.0;
    let chi2: f64 = counts.iter().map(|c| (c - e).powi(2) / e).sum();
    assert!(chi2 < 22.5, "chi² = {chi2} (p < 0.001 above 22.5)");
}

#[test]
fn schedules_follow_their_formulas() {
    assert_eq!(staticnet::schedule::Constant.learning_rate(0.1, 7, 10), 0.1);
    let s = StepDecay {
        every: 3,
        gamma: 0.1,
    };
    let lrs: Vec<f64> = (0..7).map(|e| s.learning_rate(1.0, e, 7)).collect();
    assert_eq!(lrs[..3], [1.0; 3]);
    approx::assert_relative_eq!(lrs[3], 0.1);
    approx::assert_relative_eq!(lrs[6], 0.01);
    let c = Cosine { min: 0.01 };
    approx::assert_relative_eq!(c.learning_rate(0.1, 0, 10), 0.1);
    approx::assert_relative_eq!(c.learning_rate(0.1, 5, 10), 0.055);
    approx::assert_relative_eq!(c.learning_rate(0.1, 10, 10), 0.01);

    // The trainer applies the schedule before each epoch.
    let data = blobs(16, 12);
    let mut r = rng(12);
    let mut net = Net::random(Init::Xavier, &mut r);
    let mut seen = Vec::new();
    Trainer::new(Sgd::new(0.2))
        .epochs(4)
        .batch_size::<8>()
        .schedule(StepDecay {
            every: 2,
            gamma: 0.5,
        })
        .fit(&mut net, &CrossEntropy, &data[..], &mut r, |rep, _| {
            seen.push(rep.learning_rate);
            Control::Continue
        })
        .unwrap();
    assert_eq!(seen, [0.2, 0.2, 0.1, 0.1]);
}

/// One parameter's update: (θ, g, state, step counted from 1) ↦ θ'.
type Rule<'a> = dyn Fn(f64, f64, &mut [f64; 3], usize) -> f64 + 'a;

/// SGD and Adam against the update formulas written out by hand in f64,
/// step by step, on a one-weight, one-bias layer.
#[test]
fn optimizer_steps_follow_the_pytorch_formulas() {
    let grads = [(0.5, -1.0), (0.25, 2.0), (-1.5, 0.125), (0.0, -0.5)];
    let layer = |w: f64, b: f64| Dense::<1, 1, f64>::from_columns([[w]], [b]);
    let run = |opt: &mut dyn Optimizer<f64, Dense<1, 1, f64>>| {
        let mut net = layer(1.0, -2.0);
        grads
            .iter()
            .map(|&(gw, gb)| {
                opt.step(&mut net, &layer(gw, gb)).unwrap();
                (net.weight[0], net.bias[0])
            })
            .collect::<Vec<_>>()
    };
    let reference = |update: &Rule<'_>| {
        let (mut w, mut b) = (1.0, -2.0);
        let (mut sw, mut sb) = ([0.0; 3], [0.0; 3]);
        grads
            .iter()
            .enumerate()
            .map(|(t, &(gw, gb))| {
                w = update(w, gw, &mut sw, t + 1);
                b = update(b, gb, &mut sb, t + 1);
                (w, b)
            })
            .collect::<Vec<_>>()
    };
    let same = |what: &str, a: Vec<(f64, f64)>, b: Vec<(f64, f64)>| {
        assert_eq!(a.len(), b.len());
        for (t, (x, y)) in a.iter().zip(&b).enumerate() {
            let close = |u: f64, v: f64| (u - v).abs() <= 1e-13 * u.abs().max(v.abs());
            assert!(
                close(x.0, y.0) && close(x.1, y.1),
                "{what}, step {t}: {x:?} vs {y:?}"
            );
        }
    };
    let (lr, mu, wd) = (0.1, 0.9, 0.01);
    same(
        "sgd",
        run(&mut Sgd::new(lr)),
        reference(&|p, g, _, _| p - lr * g),
    );
    same(
        "sgd momentum + weight decay",
        run(&mut Sgd::new(lr).momentum(mu).weight_decay(wd)),
        reference(&|p, g, s, t| {
            let d = g + wd * p;
            s[0] = if t == 1 { d } else { mu * s[0] + d };
            p - lr * s[0]
        }),
    );
    same(
        "sgd nesterov",
        run(&mut Sgd::new(lr).momentum(mu).nesterov(true)),
        reference(&|p, g, s, t| {
            s[0] = if t == 1 { g } else { mu * s[0] + g };
            p - lr * (g + mu * s[0])
        }),
    );
    let (b1, b2, eps) = (0.8, 0.99, 1e-6);
    same(
        "adamw",
        run(&mut Adam::new(lr).betas(b1, b2).eps(eps).weight_decay(wd)),
        reference(&|p, g, s, t| {
            let p = p * (1.0 - lr * wd);
            s[0] = b1 * s[0] + (1.0 - b1) * g;
            s[1] = b2 * s[1] + (1.0 - b2) * g * g;
            let m_hat = s[0] / (1.0 - b1.powi(t as i32));
            let v_hat = s[1] / (1.0 - b2.powi(t as i32));
            p - lr * m_hat / (v_hat.sqrt() + eps)
        }),
    );
}

#[test]
fn the_short_last_batch_of_an_epoch_counts_each_sample_once() {
    // 10 samples in batches of 4: 4 + 4 + 2. With a learning rate of 0 (a
    // schedule may give 0; the optimizer's own rate must be > 0) the
    // reported loss must be the plain mean of the 10 sample losses.
    let data = blobs(10, 13);
    let mut r = rng(13);
    let mut net = Net::random(Init::Xavier, &mut r);
    let expected = staticnet::metrics::mean_loss(&net, &CrossEntropy, &data[..]).unwrap();
    let summary = Trainer::new(Sgd::new(0.1))
        .epochs(1)
        .batch_size::<4>()
        .schedule(|_, _, _| 0.0)
        .fit(&mut net, &CrossEntropy, &data[..], &mut r, |_, _| {
            Control::Continue
        })
        .unwrap();
    assert_eq!(summary.steps, 3);
    approx::assert_relative_eq!(summary.train_loss, expected, max_relative = 1e-6);
}

#[test]
fn a_network_that_writes_its_gradient_trains_as_one_zeroed_first() {
    // `Net` (`Dense` and `Tanh`) writes its whole gradient
    // (`SETS_GRAD`), so the trainer skips zeroing it and its first
    // micro-batch overwrites last step's values. `Standardize::identity()`
    // in front is an exact identity whose `Train` impl adds (the default),
    // so that network's trainer zeroes the gradient first: the weights
    // after the same steps must be the same bits, with one micro-batch a
    // step and with three.
    type Zeroed = (Standardize<4>, Dense<4, 8>, Tanh, Dense<8, 3>);
    const { assert!(<Net as Train<SMatrix<f32, 4, 16>>>::SETS_GRAD) };
    const { assert!(!<Zeroed as Train<SMatrix<f32, 4, 16>>>::SETS_GRAD) };
    let data = blobs(100, 1);
    for micro in [false, true] {
        let mut sets = Net::random(Init::Xavier, &mut rng(4));
        let mut zeroed: Zeroed = (
            Standardize::identity(),
            sets.0.clone(),
            sets.1,
            sets.2.clone(),
        );
        let before = bits(&sets);
        let (mut r1, mut r2) = (rng(5), rng(5));
        let (s1, s2) = (Sgd::new(0.1).momentum(0.9), Sgd::new(0.1).momentum(0.9));
        if micro {
            let mut t = Trainer::new(s1)
                .epochs(3)
                .batch_size::<16>()
                .micro_batch::<6>();
            t.run(&mut sets, &CrossEntropy, &data[..], &mut r1).unwrap();
            let mut t = Trainer::new(s2)
                .epochs(3)
                .batch_size::<16>()
                .micro_batch::<6>();
            t.run(&mut zeroed, &CrossEntropy, &data[..], &mut r2)
                .unwrap();
        } else {
            let mut t = Trainer::new(s1).epochs(3).batch_size::<16>();
            t.run(&mut sets, &CrossEntropy, &data[..], &mut r1).unwrap();
            let mut t = Trainer::new(s2).epochs(3).batch_size::<16>();
            t.run(&mut zeroed, &CrossEntropy, &data[..], &mut r2)
                .unwrap();
        }
        assert_ne!(bits(&sets), before, "the steps changed the weights");
        let trained: Net = (zeroed.1, zeroed.2, zeroed.3);
        assert_eq!(bits(&sets), bits(&trained), "micro-batches: {micro}");
    }
}

#[test]
fn backward_set_overwrites_a_stale_gradient_with_the_bits_of_zeros_plus_backward() {
    type Digits = (Dense<64, 32>, Relu, Dense<32, 10>);
    type Small = (Dense<6, 9>, Gelu, Dense<9, 3>, Softmax);
    fn check<N, X, Y>(what: &str, net: &N, x: &X, dy: &Y)
    where
        N: Train<X, Output = Y> + Params<f32>,
        X: PartialEq + core::fmt::Debug,
    {
        assert!(N::SETS_GRAD, "{what}");
        let (_, tape) = net.forward_train(x);
        let mut zeroed = N::zeros();
        let dx = net.backward(&tape, dy, &mut zeroed);
        let stale = || {
            let mut g = N::zeros();
            N::zip([], [&mut g], &mut |[], [p]| {
                for (k, v) in p.iter_mut().enumerate() {
                    *v = if k % 3 == 0 {
                        f32::NAN
                    } else {
                        1e30 * k as f32
                    };
                }
            });
            g
        };
        let mut set = stale();
        assert_eq!(net.backward_set(&tape, dy, &mut set), dx, "{what}: dx");
        assert_eq!(bits(&set), bits(&zeroed), "{what}: backward_set");
        let mut set = stale();
        net.backward_params_set(&tape, dy, &mut set);
        assert_eq!(bits(&set), bits(&zeroed), "{what}: backward_params_set");
    }
    let mut r = rng(9);
    let digits = Digits::random(Init::He, &mut r);
    let small = Small::random(Init::Xavier, &mut r);
    let mut u = || uniform(&mut r, -1.0, 1.0) as f32;
    let x: SMatrix<f32, 64, 32> = SMatrix::from_fn(|_, _| u());
    let dy: SMatrix<f32, 10, 32> = SMatrix::from_fn(|_, _| u());
    check("digits, batch of 32", &digits, &x, &dy);
    let x1: SVector<f32, 64> = x.column(0).into_owned();
    let dy1: SVector<f32, 10> = dy.column(0).into_owned();
    check("digits, one sample", &digits, &x1, &dy1);
    let x: SMatrix<f32, 6, 5> = SMatrix::from_fn(|_, _| u());
    let dy: SMatrix<f32, 3, 5> = SMatrix::from_fn(|_, _| u());
    check("Dense, Gelu, Dense, Softmax", &small, &x, &dy);
    // A layer that adds (the default) makes a network add.
    const { assert!(!<(Dense<6, 4>, BatchNorm1d<4>) as Train<SMatrix<f32, 6, 5>>>::SETS_GRAD) };
}
