//! Training settings and training data that cannot work are reported before
//! the first step, as errors that name the setting (or the sample), the
//! value and the allowed range, and nothing is changed: not the network,
//! not the optimizer's state. Divergence errors say what to try.

mod common;

use common::{rng, uniform};
use nalgebra::SVector;
use staticnet::optim::{Adam, Optimizer, Sgd};
use staticnet::prelude::*;
use staticnet::schedule::{Cosine, Schedule, StepDecay};
use staticnet::train::{Control, InvalidSetting, TargetError, TrainError, Trainer};

type Net = (Dense<4, 8>, LeakyRelu, (Dense<8, 8>, Elu), Dense<8, 3>);

/// Three classes: the largest of three linear functions of the input.
fn classes(n: usize, seed: u64) -> Vec<(SVector<f32, 4>, usize)> {
    let mut r = rng(seed);
    (0..n)
        .map(|_| {
            let x = SVector::<f32, 4>::from_fn(|_, _| uniform(&mut r, -1.0, 1.0) as f32);
            let s = [x[0] + x[1], x[2] - x[0], x[3] - x[1]];
            let class = (0..3).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap();
            (x, class)
        })
        .collect()
}

/// Every parameter and buffer, bit for bit.
fn bits<T: Scalar, N: Params<T>>(net: &N) -> Vec<u64> {
    let mut v = Vec::new();
    <N as Params<T>>::tensors([net], [], &mut |_, [p], []| {
        v.extend(p.iter().map(|x| x.as_f64().to_bits()))
    });
    v
}

/// The optimizer's settings and state (velocity, moments, step count,
/// learning rate): its `Debug` form prints every value so that it reads
/// back bit for bit.
fn state<O: core::fmt::Debug, const B: usize, S, V>(trainer: &Trainer<O, B, S, V>) -> String {
    format!("{:?}", trainer.optimizer())
}

/// An optimizer that has taken a few steps, so that its state is not zeros.
fn stepped<O: Optimizer<f32, Net>>(mut opt: O) -> O {
    let mut net = Net::random(Init::Xavier, &mut rng(1));
    let mut grad = Net::random(Init::Xavier, &mut rng(2));
    grad.visit_mut(&mut |p| p.iter_mut().for_each(|v| *v *= 0.01));
    for _ in 0..3 {
        opt.step(&mut net, &grad).unwrap();
    }
    opt
}

/// `fit` fails with exactly `expected`, and changes neither the network nor
/// the optimizer (settings and state).
fn fails<O>(optimizer: O, expected: InvalidSetting)
where
    O: Optimizer<f32, Net> + core::fmt::Debug,
{
    let data = classes(20, 3);
    let mut r = rng(4);
    let mut net = Net::random(Init::Xavier, &mut r);
    let mut trainer = Trainer::new(optimizer).epochs(3);
    let (net_before, opt_before) = (bits(&net), state(&trainer));
    let err = trainer
        .fit(&mut net, &CrossEntropy, &data[..], &mut r, |_, _| {
            panic!("no epoch may run")
        })
        .unwrap_err();
    assert_setting(err, expected);
    assert_eq!(bits(&net), net_before, "the network is unchanged");
    assert_eq!(state(&trainer), opt_before, "the optimizer is unchanged");
}

/// `err` is `TrainError::Setting(expected)`, the value compared bit for bit
/// (so that NaN equals NaN).
fn assert_setting(err: TrainError, expected: InvalidSetting) {
    let TrainError::Setting(got) = err else {
        panic!("{err:?} is not a setting error")
    };
    assert_eq!(
        (got.setting, got.value.to_bits(), got.allowed),
        (expected.setting, expected.value.to_bits(), expected.allowed),
        "{got:?}"
    );
}

fn invalid(setting: &'static str, value: f64, allowed: &'static str) -> InvalidSetting {
    InvalidSetting {
        setting,
        value,
        allowed,
    }
}

const POSITIVE: &str = "finite and > 0";
const NON_NEGATIVE: &str = "finite and ≥ 0";
const FRACTION: &str = "in [0, 1)";

#[test]
fn a_learning_rate_must_be_finite_and_positive() {
    for lr in [-0.1, 0.0, -0.0, f64::NAN, f64::INFINITY] {
        fails(
            stepped(Sgd::new(0.1)).with_learning_rate(lr),
            invalid("learning rate", lr, POSITIVE),
        );
        fails(
            stepped(Adam::new(0.1)).with_learning_rate(lr),
            invalid("learning rate", lr, POSITIVE),
        );
    }
}

/// Sets the learning rate of an optimizer that has state (builder style).
trait WithLearningRate: Sized {
    fn with_learning_rate(self, lr: f64) -> Self;
}

impl<O: Optimizer<f32, Net>> WithLearningRate for O {
    fn with_learning_rate(mut self, lr: f64) -> Self {
        self.set_learning_rate(lr);
        self
    }
}

#[test]
fn sgd_settings_have_their_ranges() {
    for mu in [-0.5, 1.0, 1.5, f64::NAN] {
        fails(
            stepped(Sgd::new(0.1).momentum(0.5)).momentum(mu),
            invalid("Sgd momentum", mu, FRACTION),
        );
    }
    // Nesterov needs a momentum (PyTorch refuses it without one too).
    fails(
        stepped(Sgd::new(0.1)).nesterov(true),
        invalid("Sgd momentum", 0.0, "in (0, 1) with Nesterov momentum on"),
    );
    for wd in [-1e-4, f64::NAN, f64::INFINITY] {
        fails(
            stepped(Sgd::new(0.1)).weight_decay(wd),
            invalid("Sgd weight decay", wd, NON_NEGATIVE),
        );
    }
    // The first setting out of range is the one reported.
    fails(
        Sgd::new(-1.0).momentum(2.0),
        invalid("learning rate", -1.0, POSITIVE),
    );
}

#[test]
fn adam_settings_have_their_ranges() {
    for b in [1.0, -0.1, 1.5, f64::NAN] {
        // β = 1 is a setting error, not a later division by zero.
        fails(
            stepped(Adam::new(0.01)).betas(b, 0.999),
            invalid("Adam β₁", b, FRACTION),
        );
        fails(
            stepped(Adam::new(0.01)).betas(0.9, b),
            invalid("Adam β₂", b, FRACTION),
        );
    }
    for eps in [0.0, -1e-8, f64::NAN, f64::INFINITY] {
        fails(
            stepped(Adam::new(0.01)).eps(eps),
            invalid("Adam ε", eps, POSITIVE),
        );
    }
    for wd in [-0.01, f64::NAN] {
        fails(
            stepped(Adam::new(0.01)).weight_decay(wd),
            invalid("Adam weight decay", wd, NON_NEGATIVE),
        );
    }
}

#[test]
fn valid_settings_at_their_limits_pass() {
    let net = Net::random(Init::Xavier, &mut rng(5));
    let ok = |t: Result<(), TrainError>| assert_eq!(t, Ok(()));
    ok(Trainer::new(Sgd::new(1e-12).momentum(0.0).weight_decay(0.0)).check(&net, &CrossEntropy));
    ok(Trainer::new(Sgd::new(0.1).momentum(0.999).nesterov(true)).check(&net, &CrossEntropy));
    ok(Trainer::new(Adam::new(0.1).betas(0.0, 0.0).eps(1e-300)).check(&net, &CrossEntropy));
    ok(Trainer::new(Sgd::new(0.1))
        .epochs(1)
        .schedule(StepDecay {
            every: 1,
            gamma: 2.0,
        })
        .check(&net, &Huber::new(1e-9)));
    ok(Trainer::new(Sgd::new(0.1))
        .schedule(Cosine { min: 0.0 })
        .check(&net, &MeanSquared));
}

#[test]
fn the_number_of_epochs_must_be_at_least_one() {
    let data = classes(8, 6);
    let mut net = Net::random(Init::Xavier, &mut rng(6));
    let before = bits(&net);
    let err = Trainer::new(Sgd::new(0.1))
        .epochs(0)
        .run(&mut net, &CrossEntropy, &data[..], &mut rng(6))
        .unwrap_err();
    assert_setting(err, invalid("number of epochs", 0.0, "≥ 1"));
    assert_eq!(err.to_string(), "the number of epochs is 0; it must be ≥ 1");
    assert_eq!(bits(&net), before);
}

/// `fit` with this loss and schedule on a regression problem fails with
/// exactly `expected`, changing nothing.
fn regression_fails<L: Loss, S: Schedule>(loss: L, schedule: S, expected: InvalidSetting)
where
    SVector<f32, 3>: Prediction<L, SVector<f32, 3>>,
{
    let data: Vec<(SVector<f32, 4>, SVector<f32, 3>)> = classes(12, 7)
        .into_iter()
        .map(|(x, c)| (x, SVector::from_fn(|i, _| (i == c) as u8 as f32)))
        .collect();
    let mut r = rng(7);
    let mut net = Net::random(Init::Xavier, &mut r);
    let mut trainer = Trainer::new(stepped(Adam::new(0.01))).schedule(schedule);
    let (net_before, opt_before) = (bits(&net), format!("{:?}", trainer.optimizer()));
    let err = trainer.run(&mut net, &loss, &data[..], &mut r).unwrap_err();
    assert_setting(err, expected);
    assert_eq!(bits(&net), net_before);
    assert_eq!(format!("{:?}", trainer.optimizer()), opt_before);
}

#[test]
fn a_huber_threshold_must_be_finite_and_positive() {
    for delta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        regression_fails(
            Huber::new(delta),
            staticnet::schedule::Constant,
            invalid("Huber δ", delta, POSITIVE),
        );
    }
    assert_eq!(
        Huber::new(-1.0).check().unwrap_err().to_string(),
        "the Huber δ is -1; it must be finite and > 0"
    );
}

#[test]
fn schedule_settings_have_their_ranges() {
    regression_fails(
        MeanSquared,
        StepDecay {
            every: 0,
            gamma: 0.5,
        },
        invalid("StepDecay `every`", 0.0, "≥ 1"),
    );
    for gamma in [0.0, -0.5, f64::NAN, f64::INFINITY] {
        regression_fails(
            MeanSquared,
            StepDecay { every: 2, gamma },
            invalid("StepDecay `gamma`", gamma, POSITIVE),
        );
    }
    for min in [-1e-3, f64::NAN, f64::INFINITY] {
        regression_fails(
            MeanSquared,
            Cosine { min },
            invalid("Cosine `min`", min, NON_NEGATIVE),
        );
    }
}

#[test]
fn a_scheduled_learning_rate_is_checked_before_its_epoch() {
    let data = classes(16, 8);
    let mut r = rng(8);
    let mut net = Net::random(Init::Xavier, &mut r);

    // Bad from the start: nothing runs.
    let before = bits(&net);
    let mut trainer = Trainer::new(Sgd::new(0.1)).schedule(|_: f64, _, _| f64::NAN);
    let err = trainer
        .run(&mut net, &CrossEntropy, &data[..], &mut r)
        .unwrap_err();
    assert!(
        matches!(err, TrainError::ScheduledLearningRate { epoch: 0, learning_rate } if learning_rate.is_nan()),
        "{err:?}"
    );
    assert_eq!(bits(&net), before);

    // Bad from epoch 2: two epochs run, and the optimizer's own learning
    // rate is put back.
    let mut epochs = 0;
    let mut trainer = Trainer::new(Sgd::new(0.1))
        .epochs(5)
        .batch_size::<8>()
        .schedule(|base: f64, e, _| if e < 2 { base } else { -base });
    let err = trainer
        .fit(&mut net, &CrossEntropy, &data[..], &mut r, |_, _| {
            epochs += 1;
            Control::Continue
        })
        .unwrap_err();
    assert_eq!(
        err,
        TrainError::ScheduledLearningRate {
            epoch: 2,
            learning_rate: -0.1
        }
    );
    assert_eq!(epochs, 2);
    assert_eq!(trainer.optimizer().learning_rate(), 0.1);
    assert_eq!(
        err.to_string(),
        "the schedule gives a learning rate of -0.1 for epoch 2 (counted from 0); it must be \
         finite and ≥ 0; the parameters are those after the epoch before"
    );
}

#[test]
fn a_schedule_does_not_leave_its_last_rate_in_the_optimizer() {
    let data = classes(16, 9);
    let mut r = rng(9);
    let mut net = Net::random(Init::Xavier, &mut r);
    let mut seen = Vec::new();
    let mut trainer = Trainer::new(Sgd::new(0.4))
        .epochs(3)
        .batch_size::<8>()
        .schedule(StepDecay {
            every: 1,
            gamma: 0.5,
        });
    for _ in 0..2 {
        trainer
            .fit(&mut net, &CrossEntropy, &data[..], &mut r, |rep, _| {
                seen.push(rep.learning_rate);
                Control::Continue
            })
            .unwrap();
        assert_eq!(trainer.optimizer().learning_rate(), 0.4);
    }
    assert_eq!(seen, [0.4, 0.2, 0.1, 0.4, 0.2, 0.1]);
}

#[test]
fn layer_settings_must_be_finite() {
    let data = classes(8, 10);
    let mut r = rng(10);
    let mut net = Net::random(Init::Xavier, &mut r);
    net.1.slope = f64::NAN;
    let mut trainer = Trainer::new(stepped(Sgd::new(0.1).momentum(0.9)));
    let (net_before, opt_before) = (bits(&net), state(&trainer));
    let err = trainer
        .run(&mut net, &CrossEntropy, &data[..], &mut r)
        .unwrap_err();
    let TrainError::LayerSetting {
        position,
        layer,
        setting,
        value,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (position.indices(), layer, setting),
        (&[1][..], "LeakyRelu", "slope")
    );
    assert!(value.is_nan());
    assert_eq!(
        err.to_string(),
        "layer 1 (LeakyRelu) has setting `slope` = NaN; a layer's settings must be finite"
    );
    assert_eq!(bits(&net), net_before);
    assert_eq!(state(&trainer), opt_before);

    // In a nested block; a value beyond f32's range is infinite in an f32
    // network, which is what the layer computes with.
    net.1 = LeakyRelu::default();
    net.2.1.alpha = 1e300;
    let err = trainer
        .run(&mut net, &CrossEntropy, &data[..], &mut r)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer 2.1 (Elu) has setting `alpha` = inf; a layer's settings must be finite"
    );

    // The fallible constructors say so where the value is set.
    assert_eq!(
        LeakyRelu::try_new(f64::NEG_INFINITY)
            .unwrap_err()
            .to_string(),
        "the LeakyRelu slope is -inf; it must be finite"
    );
    assert_setting(
        Elu::try_new(f64::NAN).unwrap_err().into(),
        invalid("Elu α", f64::NAN, "finite"),
    );
    assert_eq!(LeakyRelu::try_new(-0.5), Ok(LeakyRelu::new(-0.5)));
    assert_eq!(
        Dropout::try_new(1.0).unwrap_err().to_string(),
        "a dropout probability must be in [0, 1), but it is 1"
    );
}

#[test]
fn setting_errors_read_as_sentences() {
    let net = Net::random(Init::Xavier, &mut rng(11));
    let message = |t: Result<(), TrainError>| t.unwrap_err().to_string();
    assert_eq!(
        message(Trainer::new(Sgd::new(-0.1)).check(&net, &CrossEntropy)),
        "the learning rate is -0.1; it must be finite and > 0"
    );
    assert_eq!(
        message(Trainer::new(Adam::new(0.1).betas(1.0, 0.999)).check(&net, &CrossEntropy)),
        "the Adam β₁ is 1; it must be in [0, 1)"
    );
    assert_eq!(
        message(Trainer::new(Adam::new(0.1).eps(-1e-8)).check(&net, &CrossEntropy)),
        "the Adam ε is -0.00000001; it must be finite and > 0"
    );
    assert_eq!(
        message(Trainer::new(Sgd::new(0.1).nesterov(true)).check(&net, &CrossEntropy)),
        "the Sgd momentum is 0; it must be in (0, 1) with Nesterov momentum on"
    );
    assert_eq!(
        message(
            Trainer::new(Sgd::new(0.1))
                .schedule(StepDecay {
                    every: 3,
                    gamma: 0.0
                })
                .check(&net, &CrossEntropy)
        ),
        "the StepDecay `gamma` is 0; it must be finite and > 0"
    );
}

/// The error `fit` gives for this data, after checking that it changed
/// nothing.
fn data_error<Tg: Clone, L: Loss, const O: usize>(
    data: &[(SVector<f32, 4>, Tg)],
    loss: &L,
) -> TrainError
where
    SVector<f32, O>: Prediction<L, Tg>,
{
    let mut r = rng(12);
    let mut net = <(Dense<4, 6>, Tanh, Dense<6, O>)>::random(Init::Xavier, &mut r);
    let mut trainer = Trainer::new(stepped_small::<O>());
    let (net_before, opt_before) = (bits(&net), state(&trainer));
    let err = trainer.run(&mut net, loss, data, &mut r).unwrap_err();
    assert_eq!(bits(&net), net_before);
    assert_eq!(state(&trainer), opt_before);
    err
}

fn stepped_small<const O: usize>() -> Adam<(Dense<4, 6>, Tanh, Dense<6, O>)> {
    type Small<const O: usize> = (Dense<4, 6>, Tanh, Dense<6, O>);
    let mut adam = Adam::new(0.01);
    let mut net = Small::<O>::random(Init::Xavier, &mut rng(13));
    let grad = Small::<O>::random(Init::Xavier, &mut rng(14));
    adam.step(&mut net, &grad).unwrap();
    adam
}

fn inputs(n: usize) -> Vec<SVector<f32, 4>> {
    classes(n, 15).into_iter().map(|(x, _)| x).collect()
}

#[test]
fn a_bad_input_names_the_sample_the_feature_and_the_value() {
    let mut data: Vec<(SVector<f32, 4>, usize)> = classes(10, 16);
    data[7].0[3] = f32::NAN;
    data[9].0[0] = f32::INFINITY;
    let err = data_error::<_, _, 3>(&data, &CrossEntropy);
    assert!(
        matches!(err, TrainError::InvalidInput { index: 7, feature: 3, value } if value.is_nan()),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "sample 7's input is NaN at feature 3 (counted from 0); every input value must be \
         finite: fill in or drop missing values before training"
    );
}

#[test]
fn a_class_index_out_of_range_says_which_and_what_to_do() {
    let mut data = classes(10, 17);
    data[5].1 = 3;
    let err = data_error::<_, _, 3>(&data, &CrossEntropy);
    assert_eq!(
        err,
        TrainError::InvalidTarget {
            index: 5,
            reason: TargetError::ClassOutOfRange {
                class: 3,
                classes: 3
            }
        }
    );
    assert_eq!(
        err.to_string(),
        "sample 5's target is not valid for the loss: class 3 is out of range for 3 outputs \
         (classes 0 to 2); are the labels counted from 1 (subtract 1), or does the network need \
         4 outputs?"
    );
    data[5].1 = 1;
    data[8].1 = 9;
    assert_eq!(
        data_error::<_, _, 3>(&data, &CrossEntropy).to_string(),
        "sample 8's target is not valid for the loss: class 9 is out of range for 3 outputs \
         (classes 0 to 2); the network needs one output per class (10 or more for this label)"
    );
}

#[test]
fn cross_entropy_on_one_output_points_to_binary_cross_entropy() {
    let data: Vec<(SVector<f32, 4>, usize)> = inputs(6).into_iter().map(|x| (x, 0)).collect();
    let err = data_error::<_, _, 1>(&data, &CrossEntropy);
    assert_eq!(
        err,
        TrainError::InvalidTarget {
            index: 0,
            reason: TargetError::OneOutput
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("a one-output network needs `BinaryCrossEntropy`"),
        "{text}"
    );
    assert_eq!(
        text,
        "sample 0's target is not valid for the loss: `CrossEntropy` over a single output is \
         always 0 (the softmax of one logit is 1), so nothing would be learned; a one-output \
         network needs `BinaryCrossEntropy` (targets 0 or 1), or give the network one output \
         per class"
    );
    // Probability targets too.
    let data: Vec<(SVector<f32, 4>, SVector<f32, 1>)> = inputs(3)
        .into_iter()
        .map(|x| (x, SVector::from([1.0])))
        .collect();
    assert!(matches!(
        data_error::<_, _, 1>(&data, &CrossEntropy),
        TrainError::InvalidTarget {
            index: 0,
            reason: TargetError::OneOutput
        }
    ));
}

#[test]
fn a_non_finite_target_names_its_element_and_value() {
    let mut data: Vec<(SVector<f32, 4>, SVector<f32, 2>)> = inputs(6)
        .into_iter()
        .map(|x| (x, SVector::from([(x[0] + 1.0) / 2.0, (x[1] + 1.0) / 2.0])))
        .collect();
    data[4].1[1] = f32::NAN;
    for err in [
        data_error::<_, _, 2>(&data, &MeanSquared),
        data_error::<_, _, 2>(&data, &Huber::default()),
        data_error::<_, _, 2>(&data, &BinaryCrossEntropy),
    ] {
        assert!(
            matches!(err, TrainError::InvalidTarget { index: 4, reason: TargetError::NotFinite { element: 1, value } } if value.is_nan()),
            "{err:?}"
        );
    }
    assert_eq!(
        data_error::<_, _, 2>(&data, &MeanSquared).to_string(),
        "sample 4's target is not valid for the loss: its element 1 is NaN; every target value \
         must be finite (fill in or drop missing values)"
    );
}

#[test]
fn a_binary_cross_entropy_target_outside_0_1_gets_a_hint() {
    let with = |t: f32| {
        let mut data: Vec<(SVector<f32, 4>, SVector<f32, 1>)> = inputs(5)
            .into_iter()
            .map(|x| (x, SVector::from([1.0])))
            .collect();
        data[2].1[0] = t;
        data_error::<_, _, 1>(&data, &BinaryCrossEntropy)
    };
    let err = with(2.0);
    assert_eq!(
        err,
        TrainError::InvalidTarget {
            index: 2,
            reason: TargetError::OutsideUnitInterval {
                element: 0,
                value: 2.0
            }
        }
    );
    assert_eq!(
        err.to_string(),
        "sample 2's target is not valid for the loss: its element 0 is 2, outside [0, 1], where \
         `BinaryCrossEntropy` takes probabilities; for class indices, use `CrossEntropy` with \
         one output per class"
    );
    assert!(
        with(-1.0)
            .to_string()
            .ends_with("; for labels −1 and 1, map −1 to 0")
    );
    // No obvious fix: no hint; an f32 value reads as it was written.
    assert!(with(1.2).to_string().ends_with(
        "its element 0 is 1.2, outside [0, 1], where `BinaryCrossEntropy` takes probabilities"
    ));
}

#[test]
fn a_negative_probability_target_is_named() {
    let data: Vec<(SVector<f32, 4>, SVector<f32, 3>)> = inputs(4)
        .into_iter()
        .map(|x| (x, SVector::from([0.5, -0.25, 0.75])))
        .collect();
    let err = data_error::<_, _, 3>(&data, &CrossEntropy);
    assert_eq!(
        err.to_string(),
        "sample 0's target is not valid for the loss: its element 1 is -0.25; a probability \
         target of `CrossEntropy` must be ≥ 0"
    );
}

#[test]
fn a_divergence_names_the_loss_and_suggests_a_lower_learning_rate() {
    let data: Vec<(SVector<f32, 64>, usize)> = classes(64, 18)
        .iter()
        .map(|(x, c)| (SVector::from_fn(|i, _| x[i % 4]), *c))
        .collect();
    let mut r = rng(18);
    let mut net = <(Dense<64, 32>, Relu, Dense<32, 10>)>::random(Init::PyTorch, &mut r);
    let err = Trainer::new(Sgd::new(1e6))
        .epochs(50)
        .batch_size::<8>()
        .run(&mut net, &CrossEntropy, &data[..], &mut r)
        .unwrap_err();
    let (TrainError::NonFiniteLoss {
        epoch,
        step,
        learning_rate,
        ..
    }
    | TrainError::NonFiniteGradient {
        epoch,
        step,
        learning_rate,
        ..
    }
    | TrainError::NonFiniteUpdate {
        epoch,
        step,
        learning_rate,
        ..
    }) = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(learning_rate, 1e6);
    assert!((epoch, step) > (0, 0), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("at epoch {epoch}, step {step} (counted from 0)")),
        "{text}"
    );
    assert!(
        text.contains("with learning rate 1000000") || text.contains("and learning rate 1000000"),
        "{text}"
    );
    assert!(
        text.ends_with("; lower the learning rate (try 100000) or standardize the inputs"),
        "{text}"
    );
    assert!(net.is_finite());
}

#[test]
fn a_loss_that_is_not_finite_before_any_update_does_not_blame_the_learning_rate() {
    let data = classes(8, 19);
    let mut r = rng(19);
    let mut net = Net::random(Init::Xavier, &mut r);
    net.3.bias[0] = f32::NAN;
    let err = Trainer::new(Sgd::new(0.1))
        .run(&mut net, &CrossEntropy, &data[..], &mut r)
        .unwrap_err();
    assert!(
        matches!(err, TrainError::NonFiniteLoss { epoch: 0, step: 0, loss, learning_rate: 0.1 } if loss.is_nan()),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the loss became NaN at epoch 0, step 0 (counted from 0), with learning rate 0.1; the \
         parameters are those before that step; this is before any update, so not the learning \
         rate: check the initial parameters and the scale of the inputs (standardize them)"
    );
}

#[test]
fn run_trains_exactly_as_fit_with_a_callback_that_continues() {
    let data = classes(50, 20);
    let train = |use_run: bool| {
        let mut r = rng(21);
        let mut net = Net::random(Init::Xavier, &mut r);
        let mut trainer = Trainer::new(Adam::new(0.01))
            .epochs(4)
            .batch_size::<8>()
            .schedule(Cosine { min: 0.001 });
        let summary = if use_run {
            trainer.run(&mut net, &CrossEntropy, &data[..], &mut r)
        } else {
            trainer.fit(&mut net, &CrossEntropy, &data[..], &mut r, |_, _| {
                Control::Continue
            })
        }
        .unwrap();
        (bits(&net), summary, state(&trainer))
    };
    let (a, b) = (train(true), train(false));
    assert_eq!(a, b);
    assert_eq!((a.1.epochs, a.1.steps, a.1.stopped), (4, 4 * 7, false));
}

#[test]
fn leaky_relu_elu_and_huber_follow_an_f64_network() {
    // Their settings are f64 and follow the network's scalar, so the
    // defaults work in an f64 network as in an f32 one.
    type Net64 = (
        Dense<2, 8, f64>,
        LeakyRelu,
        Dense<8, 8, f64>,
        Elu,
        Dense<8, 1, f64>,
    );
    let data: Vec<(SVector<f64, 2>, SVector<f64, 1>)> = (0..32)
        .map(|i| {
            let x = SVector::from([(i % 8) as f64 / 4.0 - 1.0, (i / 8) as f64 / 2.0 - 1.0]);
            (x, SVector::from([x[0] * x[1]]))
        })
        .collect();
    let mut r = rng(22);
    let mut net = Net64::random(Init::Xavier, &mut r);
    net.1 = LeakyRelu::default();
    net.3 = Elu::default();
    let mean_loss = |net: &Net64| {
        let total: f64 = data
            .iter()
            .map(|(x, t)| Huber::default().loss(&net.predict(x), t))
            .sum();
        total / data.len() as f64
    };
    let before = mean_loss(&net);
    let summary = Trainer::new(Adam::new(0.01))
        .epochs(100)
        .batch_size::<8>()
        .run(&mut net, &Huber::default(), &data[..], &mut r)
        .unwrap();
    assert!(summary.train_loss < 0.2 * before, "{before} → {summary:?}");
    assert!(mean_loss(&net) < 0.2 * before);
    // The same layers in f32 compute with the slope rounded to f32.
    let y = LeakyRelu::new(0.1).predict(&SVector::from([-1.0f32]));
    assert_eq!(y[0], -0.1f32);
    let y = LeakyRelu::new(0.1).predict(&SVector::from([-1.0f64]));
    assert_eq!(y[0], -0.1f64);
}
