//! The fit loop: epochs of mini-batch stochastic gradient descent.
//!
//! [`Trainer::fit`] minimises the mean loss `R(θ) = (1/n) Σ ℓ(F(xᵢ; θ), tᵢ)`
//! over a [`Data`] set with mini-batches of a static size `B`, drawn as
//! [`Sampling`] says, and reports each epoch through a callback
//! ([`Trainer::run`] is the same without one). Everything it needs (a batch,
//! the tape, the gradient) lives on its stack frame, or the tape in memory
//! the caller provides ([`Trainer::fit_with_tape`]): training allocates
//! nothing.
//!
//! Before the first step, `fit` checks every setting (the number of epochs,
//! the optimizer's, the schedule's, the loss's and the layers' settings:
//! [`Trainer::check`]) and every sample; a problem is a [`TrainError`] that
//! names the setting, its value and its allowed range ([`InvalidSetting`]),
//! or the sample, the value and what is wrong with it ([`TargetError`]),
//! with nothing changed.

use core::fmt;

use nalgebra::SMatrix;
use rand::Rng;

use crate::data::{Data, Input};
use crate::io::{LayerPath, LayerWalker};
use crate::loss::Prediction;
pub use crate::loss::TargetError;
use crate::metrics::Regressor;
use crate::module::Mode;
use crate::optim::Optimizer;
use crate::params::{self, Node};
use crate::sampling::{self, Sampling};
use crate::schedule::{Constant, Schedule};
use crate::tensor::Batch;
use crate::{Loss, Params, Scalar, Tensor, Train};

/// What the callback learns after each epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// The epoch just finished, counted from 0.
    pub epoch: usize,
    /// The number of epochs the trainer was asked for.
    pub epochs: usize,
    /// The mean training loss over the samples of this epoch, each measured
    /// when its batch was trained on.
    pub train_loss: f64,
    /// The validation metric after this epoch, if the trainer has one.
    pub validation: Option<f64>,
    /// The learning rate used in this epoch.
    pub learning_rate: f64,
    /// Optimizer steps taken so far, over all epochs.
    pub steps: usize,
}

/// What the callback tells the trainer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on with the next epoch.
    Continue,
    /// Stop now (early stopping); `fit` returns `Ok`.
    Stop,
}

/// What a finished (or stopped) run did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Epochs completed.
    pub epochs: usize,
    /// Optimizer steps taken.
    pub steps: usize,
    /// The mean training loss of the last epoch.
    pub train_loss: f64,
    /// Whether the callback stopped the run early.
    pub stopped: bool,
}

/// A training setting outside its allowed range: which setting, its value
/// and the range it must be in.
///
/// [`Trainer::fit`] checks every setting before the first step (the
/// optimizer's through [`Optimizer::check`], the schedule's through
/// [`Schedule::check`], the loss's through [`Loss::check`], and the number of
/// epochs) and returns it as [`TrainError::Setting`]; fallible constructors
/// such as [`LeakyRelu::try_new`](crate::LeakyRelu::try_new) return it
/// directly. The helpers (`check_positive`, …) are `const fn`s that an
/// optimizer, loss or schedule of your own can use in its `check`.
///
/// ```
/// use staticnet::train::InvalidSetting;
/// let err = InvalidSetting::check_positive("learning rate", -0.1).unwrap_err();
/// assert_eq!(
///     err,
///     InvalidSetting { setting: "learning rate", value: -0.1, allowed: "finite and > 0" }
/// );
/// assert_eq!(err.to_string(), "the learning rate is -0.1; it must be finite and > 0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InvalidSetting {
    /// The setting's name, with its owner where it has one: `"learning
    /// rate"`, `"Adam β₁"`, `"Huber δ"`, `"number of epochs"`.
    pub setting: &'static str,
    /// The value given (a count as `f64`).
    pub value: f64,
    /// The allowed range, in words: `"finite and > 0"`, `"in [0, 1)"`, ….
    pub allowed: &'static str,
}

impl InvalidSetting {
    /// `Ok` if `value` is finite and `> 0`, else the error naming `setting`.
    pub const fn check_positive(setting: &'static str, value: f64) -> Result<(), Self> {
        Self::check(
            setting,
            value,
            value.is_finite() && value > 0.0,
            "finite and > 0",
        )
    }

    /// `Ok` if `value` is finite and `≥ 0`, else the error naming `setting`.
    pub const fn check_non_negative(setting: &'static str, value: f64) -> Result<(), Self> {
        Self::check(
            setting,
            value,
            value.is_finite() && value >= 0.0,
            "finite and ≥ 0",
        )
    }

    /// `Ok` if `0 ≤ value < 1` (a decay rate, a momentum, a probability),
    /// else the error naming `setting`.
    pub const fn check_fraction(setting: &'static str, value: f64) -> Result<(), Self> {
        Self::check(setting, value, value >= 0.0 && value < 1.0, "in [0, 1)")
    }

    /// `Ok` if `value` is finite (neither NaN nor infinite), else the error
    /// naming `setting`.
    pub const fn check_finite(setting: &'static str, value: f64) -> Result<(), Self> {
        Self::check(setting, value, value.is_finite(), "finite")
    }

    /// `Ok` if `ok`, else the error `setting`, `value`, `allowed`.
    pub const fn check(
        setting: &'static str,
        value: f64,
        ok: bool,
        allowed: &'static str,
    ) -> Result<(), Self> {
        if ok {
            Ok(())
        } else {
            Err(InvalidSetting {
                setting,
                value,
                allowed,
            })
        }
    }
}

impl fmt::Display for InvalidSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} is {}; it must be {}",
            self.setting, self.value, self.allowed
        )
    }
}

impl core::error::Error for InvalidSetting {}

/// Why training did not start or stopped without finishing. Epochs and
/// steps are counted from 0.
///
/// The setting and data errors are found before the first step, and
/// nothing (network, optimizer state) has changed. A run that diverges
/// stops at the failing step with the parameters as they were before it:
/// nothing non-finite is ever written into them. Every variant is `Copy`,
/// and its `Display` is a whole sentence with the values involved and, where
/// there is an obvious one, the fix.
///
/// ```
/// use nalgebra::SVector;
/// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use staticnet::optim::Adam;
/// use staticnet::prelude::*;
/// use staticnet::train::{InvalidSetting, TrainError, Trainer};
///
/// let data = [(SVector::from([0.5f32, -0.5]), 1usize), (SVector::from([-0.5, 0.5]), 0)];
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
/// let mut net = <(Dense<2, 2>,)>::random(Init::Xavier, &mut rng);
///
/// // β₁ = 1 would divide by zero at the first step: a setting error, not a divergence.
/// let err = Trainer::new(Adam::new(0.01).betas(1.0, 0.999))
///     .batch_size::<2>()
///     .run(&mut net, &CrossEntropy, &data, &mut rng)
///     .unwrap_err();
/// assert_eq!(
///     err,
///     TrainError::Setting(InvalidSetting { setting: "Adam β₁", value: 1.0, allowed: "in [0, 1)" })
/// );
/// assert_eq!(err.to_string(), "the Adam β₁ is 1; it must be in [0, 1)");
///
/// // A class index beyond the network's outputs, found before training.
/// let data = [(SVector::from([0.5f32, -0.5]), 2usize)];
/// let err = Trainer::new(Adam::new(0.01))
///     .batch_size::<2>()
///     .run(&mut net, &CrossEntropy, &data, &mut rng)
///     .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "sample 0's target is not valid for the loss: class 2 is out of range for 2 outputs \
///      (classes 0 to 1); are the labels counted from 1 (subtract 1), or does the network \
///      need 3 outputs?"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum TrainError {
    /// A training setting is outside its allowed range (found before
    /// training starts).
    Setting(InvalidSetting),
    /// A layer has a real-valued setting (a slope, an `eps`) that is NaN or
    /// infinite in the network's scalar type (found before training
    /// starts).
    LayerSetting {
        /// Where the layer is.
        position: LayerPath,
        /// The layer's kind (`"LeakyRelu"`).
        layer: &'static str,
        /// The setting's name (`"slope"`).
        setting: &'static str,
        /// Its value in the network's scalar type.
        value: f64,
    },
    /// The data set has no samples.
    EmptyDataset,
    /// A sample's input holds NaN or an infinity. Found before training
    /// starts.
    InvalidInput {
        /// The sample's index.
        index: usize,
        /// The first feature (input element) that is not finite.
        feature: usize,
        /// Its value.
        value: f64,
    },
    /// A sample's target is invalid for the loss (a class index out of range,
    /// a NaN value, …). Found before training starts.
    InvalidTarget {
        /// The sample's index.
        index: usize,
        /// What is wrong with it.
        reason: TargetError,
    },
    /// The schedule gave a learning rate that is negative, NaN or infinite
    /// for an epoch (checked before the epoch's first step; the earlier
    /// epochs have trained the network).
    ScheduledLearningRate {
        /// The epoch.
        epoch: usize,
        /// The learning rate the schedule gave.
        learning_rate: f64,
    },
    /// A mini-batch's loss was NaN or infinite: the run diverged.
    NonFiniteLoss {
        /// The epoch.
        epoch: usize,
        /// The step within the epoch.
        step: usize,
        /// The mini-batch's loss.
        loss: f64,
        /// The learning rate of the epoch.
        learning_rate: f64,
    },
    /// A gradient held NaN or an infinity.
    NonFiniteGradient {
        /// The epoch.
        epoch: usize,
        /// The step within the epoch.
        step: usize,
        /// The mini-batch's loss (finite).
        loss: f64,
        /// The learning rate of the epoch.
        learning_rate: f64,
    },
    /// The optimizer's update would have made a parameter non-finite.
    NonFiniteUpdate {
        /// The epoch.
        epoch: usize,
        /// The step within the epoch.
        step: usize,
        /// The mini-batch's loss (finite).
        loss: f64,
        /// The learning rate of the epoch.
        learning_rate: f64,
    },
}

impl From<InvalidSetting> for TrainError {
    fn from(e: InvalidSetting) -> Self {
        TrainError::Setting(e)
    }
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = "the parameters are those before that step";
        match *self {
            TrainError::Setting(e) => e.fmt(f),
            TrainError::LayerSetting {
                position,
                layer,
                setting,
                value,
            } => write!(
                f,
                "{position} ({layer}) has setting `{setting}` = {value}; a layer's settings must \
                 be finite"
            ),
            TrainError::EmptyDataset => f.write_str("the training set has no samples"),
            TrainError::InvalidInput {
                index,
                feature,
                value,
            } => write!(
                f,
                "sample {index}'s input is {value} at feature {feature} (counted from 0); every \
                 input value must be finite: fill in or drop missing values before training"
            ),
            TrainError::InvalidTarget { index, reason } => {
                write!(
                    f,
                    "sample {index}'s target is not valid for the loss: {reason}"
                )
            }
            TrainError::ScheduledLearningRate {
                epoch,
                learning_rate,
            } => write!(
                f,
                "the schedule gives a learning rate of {learning_rate} for epoch {epoch} \
                 (counted from 0); it must be finite and ≥ 0; the parameters are those after \
                 the epoch before"
            ),
            TrainError::NonFiniteLoss {
                epoch,
                step,
                loss,
                learning_rate,
            } => {
                write!(
                    f,
                    "the loss became {loss} at epoch {epoch}, step {step} (counted from 0), with \
                     learning rate {learning_rate}; {kept}"
                )?;
                divergence_hint(f, epoch, step, learning_rate)
            }
            TrainError::NonFiniteGradient {
                epoch,
                step,
                loss,
                learning_rate,
            } => {
                write!(
                    f,
                    "the gradient became non-finite at epoch {epoch}, step {step} (counted from \
                     0), with loss {loss} and learning rate {learning_rate}; {kept}"
                )?;
                divergence_hint(f, epoch, step, learning_rate)
            }
            TrainError::NonFiniteUpdate {
                epoch,
                step,
                loss,
                learning_rate,
            } => {
                write!(
                    f,
                    "the update would make a parameter non-finite at epoch {epoch}, step {step} \
                     (counted from 0), with loss {loss} and learning rate {learning_rate}; {kept}"
                )?;
                lower_the_learning_rate(f, learning_rate)
            }
        }
    }
}

/// What to try after a non-finite loss or gradient: at the very first step
/// nothing has been updated yet, so the learning rate is not the cause.
fn divergence_hint(
    f: &mut fmt::Formatter<'_>,
    epoch: usize,
    step: usize,
    learning_rate: f64,
) -> fmt::Result {
    if epoch == 0 && step == 0 {
        f.write_str(
            "; this is before any update, so not the learning rate: check the initial \
             parameters and the scale of the inputs (standardize them)",
        )
    } else {
        lower_the_learning_rate(f, learning_rate)
    }
}

/// The usual fix for a diverging run.
fn lower_the_learning_rate(f: &mut fmt::Formatter<'_>, learning_rate: f64) -> fmt::Result {
    write!(
        f,
        "; lower the learning rate (try {}) or standardize the inputs",
        learning_rate / 10.0
    )
}

#[cfg(feature = "std")]
impl std::error::Error for TrainError {}

/// A validation metric computed after every epoch (higher or lower is
/// better as you define it; the trainer only reports it).
///
/// Closures `FnMut(&N) -> f64` are metrics; [`NoValidation`] is the default.
pub trait Validation<N> {
    /// The metric for the network as it is now, or `None`.
    fn evaluate(&mut self, net: &N) -> Option<f64>;
}

/// No validation metric.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoValidation;

impl<N> Validation<N> for NoValidation {
    fn evaluate(&mut self, _: &N) -> Option<f64> {
        None
    }
}

impl<N, F: FnMut(&N) -> f64> Validation<N> for F {
    fn evaluate(&mut self, net: &N) -> Option<f64> {
        Some(self(net))
    }
}

/// A network that a [`Trainer`] with batches of `B` trains on samples of `I`
/// inputs and `O` outputs, and that [`metrics`](crate::metrics) evaluates:
/// the bounds of a generic training function, in one trait. Implemented
/// for every such network.
///
/// ```
/// use staticnet::metrics::accuracy;
/// use staticnet::optim::Sgd;
/// use staticnet::prelude::*;
/// use staticnet::rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use staticnet::train::{Trainable, TrainError, Trainer};
///
/// /// Trains any classifier of 2 inputs into 2 classes, batches of 8.
/// fn train<N: Trainable<f32, 2, 2, 8>>(
///     net: &mut N,
///     data: &[(SVector<f32, 2>, usize)],
/// ) -> Result<f64, TrainError> {
///     let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
///     Trainer::new(Sgd::new(0.5)).epochs(100).batch_size::<8>()
///         .run(net, &CrossEntropy, data, &mut rng)?;
///     Ok(accuracy(net, data))
/// }
///
/// let data: Vec<_> = (0..32)
///     .map(|i| (SVector::from([i as f32 / 16.0 - 1.0, 0.5]), usize::from(i >= 16)))
///     .collect();
/// let mut net = <(Dense<2, 4>, Tanh, Dense<4, 2>)>::random(
///     Init::Xavier,
///     &mut Xoshiro256PlusPlus::seed_from_u64(1),
/// );
/// assert!(train(&mut net, &data)? > 0.9);
/// # Ok::<(), TrainError>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a network that trains on batches of {B} samples of {I} inputs of `{T}` into {O} outputs",
    label = "this network does not map `SMatrix<{T}, {I}, {B}>` to `SMatrix<{T}, {O}, {B}>`",
    note = "check the network's first layer against the data's input size and its last layer against the outputs the loss expects"
)]
pub trait Trainable<T: Scalar, const I: usize, const O: usize, const B: usize>:
    Train<SMatrix<T, I, B>, Output = SMatrix<T, O, B>> + Params<T> + Regressor<T, I, O>
{
}

impl<N, T: Scalar, const I: usize, const O: usize, const B: usize> Trainable<T, I, O, B> for N where
    N: Train<SMatrix<T, I, B>, Output = SMatrix<T, O, B>> + Params<T> + Regressor<T, I, O>
{
}

/// Mini-batch training: an optimizer, a number of epochs, a batch size `B`
/// (a type-level constant: batches are `SMatrix<T, I, B>` on the stack), a
/// sampling scheme, a learning-rate schedule and an optional validation
/// metric.
///
/// ```
/// use nalgebra::SVector;
/// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use staticnet::optim::Adam;
/// use staticnet::prelude::*;
/// use staticnet::train::{Control, Trainer};
///
/// // Learn y = x₀ − 2x₁ from 64 points.
/// let data: [(SVector<f32, 2>, SVector<f32, 1>); 64] = core::array::from_fn(|i| {
///     let x = SVector::from([(i % 8) as f32 / 4.0 - 1.0, (i / 8) as f32 / 4.0 - 1.0]);
///     (x, SVector::from([x[0] - 2.0 * x[1]]))
/// });
/// type Net = (Dense<2, 8>, Tanh, Dense<8, 1>);
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
/// let mut net = Net::random(Init::Xavier, &mut rng);
/// let mut trainer = Trainer::new(Adam::new(0.02)).epochs(200).batch_size::<16>();
/// let summary = trainer
///     .fit(&mut net, &MeanSquared, &data, &mut rng, |_, _| Control::Continue)
///     .unwrap();
/// assert!(summary.train_loss < 1e-2, "{}", summary.train_loss);
/// ```
#[derive(Debug, Clone)]
pub struct Trainer<O, const B: usize = 32, S = Constant, V = NoValidation, const M: usize = B> {
    optimizer: O,
    epochs: usize,
    sampling: Sampling,
    schedule: S,
    validation: V,
}

impl<O> Trainer<O> {
    /// A trainer with the given optimizer: 10 epochs, batches of 32,
    /// shuffled epochs, a constant learning rate, no validation.
    pub fn new(optimizer: O) -> Self {
        Trainer {
            optimizer,
            epochs: 10,
            sampling: Sampling::Shuffled,
            schedule: Constant,
            validation: NoValidation,
        }
    }
}

impl<O, const B: usize, S, V, const M: usize> Trainer<O, B, S, V, M> {
    /// Sets the number of epochs.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets the batch size (a constant: `.batch_size::<32>()`).
    ///
    /// ```
    /// use staticnet::optim::Sgd;
    /// use staticnet::train::Trainer;
    /// use staticnet::Dense;
    /// let trainer = Trainer::new(Sgd::<(Dense<2, 1>,)>::new::<f32>(0.1)).batch_size::<1>();
    /// ```
    ///
    /// A batch size of 0 does not compile (`cargo build`: a constant
    /// evaluated for the instance):
    ///
    /// ```compile_fail,E0080
    /// use staticnet::optim::Sgd;
    /// use staticnet::train::Trainer;
    /// use staticnet::Dense;
    /// // error[E0080]: evaluation panicked: a batch size of 0 trains nothing:
    /// // write `.batch_size::<N>()` with N ≥ 1
    /// let trainer = Trainer::new(Sgd::<(Dense<2, 1>,)>::new::<f32>(0.1)).batch_size::<0>();
    /// ```
    pub fn batch_size<const B2: usize>(self) -> Trainer<O, B2, S, V> {
        const {
            assert!(
                B2 > 0,
                "a batch size of 0 trains nothing: write `.batch_size::<N>()` with N ≥ 1"
            )
        };
        Trainer {
            optimizer: self.optimizer,
            epochs: self.epochs,
            sampling: self.sampling,
            schedule: self.schedule,
            validation: self.validation,
        }
    }

    /// Runs each batch of `B` samples through the network `M` samples at a
    /// time (`M ≤ B`), adding up their gradients before the one optimizer
    /// step of the batch: gradient accumulation. The step is the same as
    /// with whole batches (up to the order of the sums), but the training
    /// tape, the batch and every layer's intermediate values are those of
    /// `M` samples, not `B`: what keeps a long sequence model's training
    /// within a thread's stack (see [`crate::sequence`]).
    ///
    /// Layers that compute batch statistics ([`BatchNorm1d`](crate::BatchNorm1d))
    /// see `M` samples at a time, as in PyTorch with gradient accumulation,
    /// and their running statistics follow the batch's last micro-batch.
    /// By default `M = B`.
    ///
    /// ```
    /// use staticnet::optim::Sgd;
    /// use staticnet::train::Trainer;
    /// use staticnet::Dense;
    /// let trainer = Trainer::new(Sgd::<(Dense<2, 1>,)>::new::<f32>(0.1))
    ///     .batch_size::<32>()
    ///     .micro_batch::<4>();
    /// ```
    ///
    /// `M = 0` or `M > B` does not compile (`cargo build`).
    pub fn micro_batch<const M2: usize>(self) -> Trainer<O, B, S, V, M2> {
        const {
            assert!(
                M2 > 0 && M2 <= B,
                "a micro-batch must hold between 1 and the batch size's samples: write `.micro_batch::<M>()` with 1 ≤ M ≤ B"
            )
        };
        Trainer {
            optimizer: self.optimizer,
            epochs: self.epochs,
            sampling: self.sampling,
            schedule: self.schedule,
            validation: self.validation,
        }
    }

    /// Sets how batches are drawn.
    pub fn sampling(mut self, sampling: Sampling) -> Self {
        self.sampling = sampling;
        self
    }

    /// Sets the learning-rate schedule.
    pub fn schedule<S2: Schedule>(self, schedule: S2) -> Trainer<O, B, S2, V, M> {
        Trainer {
            optimizer: self.optimizer,
            epochs: self.epochs,
            sampling: self.sampling,
            schedule,
            validation: self.validation,
        }
    }

    /// Sets a validation metric, computed after every epoch and passed to
    /// the callback in [`EpochReport::validation`].
    pub fn validation<V2>(self, validation: V2) -> Trainer<O, B, S, V2, M> {
        Trainer {
            optimizer: self.optimizer,
            epochs: self.epochs,
            sampling: self.sampling,
            schedule: self.schedule,
            validation,
        }
    }

    /// The optimizer, with its state.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimizer, mutably.
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// Checks every setting [`fit`](Trainer::fit) checks, without training:
    /// the number of epochs (≥ 1), the optimizer's settings
    /// ([`Optimizer::check`]), the schedule's ([`Schedule::check`]), the
    /// loss's ([`Loss::check`]) and that every real-valued setting of every
    /// layer (a slope, an `eps`) is finite in the network's scalar type.
    ///
    /// ```
    /// use staticnet::optim::Sgd;
    /// use staticnet::train::{InvalidSetting, TrainError, Trainer};
    /// use staticnet::{Dense, LeakyRelu, MeanSquared};
    ///
    /// type Net = (Dense<2, 4>, LeakyRelu, Dense<4, 1>);
    /// let mut net = Net::default();
    /// let trainer = Trainer::new(Sgd::new(0.1).momentum(0.9));
    /// assert_eq!(trainer.check(&net, &MeanSquared), Ok(()));
    ///
    /// let err = Trainer::new(Sgd::new(0.1).momentum(1.5)).check(&net, &MeanSquared);
    /// assert_eq!(err.unwrap_err().to_string(), "the Sgd momentum is 1.5; it must be in [0, 1)");
    ///
    /// net.1.slope = f64::NAN;
    /// let err = trainer.check(&net, &MeanSquared).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "layer 1 (LeakyRelu) has setting `slope` = NaN; a layer's settings must be finite"
    /// );
    /// ```
    pub fn check<N, L, T>(&self, net: &N, loss: &L) -> Result<(), TrainError>
    where
        T: Scalar,
        N: Params<T>,
        L: Loss,
        O: Optimizer<T, N>,
        S: Schedule,
    {
        InvalidSetting::check(
            "number of epochs",
            self.epochs as f64,
            self.epochs >= 1,
            "≥ 1",
        )?;
        self.optimizer.check()?;
        self.schedule.check()?;
        loss.check()?;
        check_layer_settings(net)
    }

    /// Trains `net` on `data` for the configured epochs, calling `on_epoch`
    /// after each with a report and the network.
    ///
    /// Before the first step it checks every setting (as
    /// [`check`](Trainer::check) does) and every sample (finite inputs,
    /// targets valid for the loss), and returns the first problem as a
    /// [`TrainError`] with nothing changed. Each epoch has `⌈n / B⌉` steps;
    /// before an epoch's first step the schedule gives its learning rate
    /// (which must be finite and ≥ 0); a step draws a batch, runs the
    /// forward pass in [`Mode::Training`] (dropout draws from `rng`; a short
    /// last batch is masked: its unused columns are zero and no layer or
    /// loss counts them), computes the mean loss and its gradient, applies
    /// the optimizer and then updates the layers' buffers
    /// ([`Train::update_buffers`]). A non-finite loss, gradient or update
    /// ends the run with a [`TrainError`] naming the epoch and step, before
    /// anything is written.
    ///
    /// The optimizer's learning rate is set by the schedule for each epoch
    /// and put back to the value it had before when the run ends (finished,
    /// stopped or failed), so a second `fit` starts the schedule again from
    /// the same learning rate.
    ///
    /// Same generator state, same data, same network: bit-identical results.
    /// [`run`](Trainer::run) is the same without a callback.
    pub fn fit<N, L, D, G, F, T>(
        &mut self,
        net: &mut N,
        loss: &L,
        data: &D,
        rng: &mut G,
        on_epoch: F,
    ) -> Result<Summary, TrainError>
    where
        T: Scalar,
        D: Data + ?Sized,
        D::Input: Input<Scalar = T>,
        N: Train<<D::Input as Input>::Batch<M>> + Params<T>,
        N::Output: Batch<M> + crate::Tensor<Scalar = T>,
        <N::Output as Batch<M>>::Column: Prediction<L, D::Target>,
        L: Loss,
        O: Optimizer<T, N>,
        S: Schedule,
        V: Validation<N>,
        G: Rng + ?Sized,
        F: FnMut(&EpochReport, &N) -> Control,
    {
        // One tape for the whole run, overwritten by every step's forward
        // pass (`forward_tape_into` writes it in place instead of returning
        // it).
        let mut tape = first_tape::<N, D::Input, M>(net);
        self.fit_with_tape(net, loss, data, rng, &mut tape, on_epoch)
    }

    /// [`fit`](Trainer::fit), with the training tape in memory the caller
    /// provides instead of on the stack: a `Box` in `std` code, a `static`
    /// on a microcontroller. A tape is `size_of::<<N as Train<X>>::Tape>()`
    /// bytes for a micro-batch `X` (see each layer's docs, and
    /// [`micro_batch`](Trainer::micro_batch) to make it smaller); whatever
    /// it holds is overwritten by every step. Any value of the type will do
    /// to start, such as the tape of one inference pass:
    ///
    /// ```
    /// use staticnet::optim::Adam;
    /// use staticnet::prelude::*;
    /// use staticnet::rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
    /// use staticnet::train::{Control, Trainer};
    /// use staticnet::{Conv1d, GlobalAvgPool};
    ///
    /// type Net = (Conv1d<1, 8, 3>, Relu, GlobalAvgPool, Dense<8, 2>);
    /// // Rising or falling ramps of 64 steps.
    /// let data: Vec<(Seq<f32, 1, 64>, usize)> = (0..32)
    ///     .map(|i| {
    ///         let up = i % 2 == 0;
    ///         let x = Seq::from_fn(|_, t, _| if up { t as f32 } else { -(t as f32) } / 64.0);
    ///         (x, usize::from(up))
    ///     })
    ///     .collect();
    /// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    /// let mut net = Net::random(Init::He, &mut rng);
    /// // The tape of a batch of 16 sequences, on the heap.
    /// let zeros = <Seq<f32, 1, 64> as Input>::batch::<16>();
    /// let mut tape = Box::new(net.forward_train(&zeros).1);
    /// Trainer::new(Adam::new(0.01))
    ///     .epochs(20)
    ///     .batch_size::<16>()
    ///     .fit_with_tape(&mut net, &CrossEntropy, &data, &mut rng, &mut tape, |_, _| Control::Continue)
    ///     .unwrap();
    /// assert_eq!(staticnet::metrics::accuracy(&net, &data), 1.0);
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn fit_with_tape<N, L, D, G, F, T>(
        &mut self,
        net: &mut N,
        loss: &L,
        data: &D,
        rng: &mut G,
        tape: &mut N::Tape,
        on_epoch: F,
    ) -> Result<Summary, TrainError>
    where
        T: Scalar,
        D: Data + ?Sized,
        D::Input: Input<Scalar = T>,
        N: Train<<D::Input as Input>::Batch<M>> + Params<T>,
        N::Output: Batch<M> + crate::Tensor<Scalar = T>,
        <N::Output as Batch<M>>::Column: Prediction<L, D::Target>,
        L: Loss,
        O: Optimizer<T, N>,
        S: Schedule,
        V: Validation<N>,
        G: Rng + ?Sized,
        F: FnMut(&EpochReport, &N) -> Control,
    {
        self.check(net, loss)?;
        check_data::<_, _, <N::Output as Batch<M>>::Column, L>(data)?;
        let base = self.optimizer.learning_rate();
        let result = self.train_epochs(net, loss, data, rng, tape, on_epoch);
        self.optimizer.set_learning_rate(base);
        result
    }

    /// Trains `net` on `data` as [`fit`](Trainer::fit) does, without a
    /// callback: every epoch runs, and the [`Summary`] (or the error) is
    /// all there is to see.
    ///
    /// ```
    /// use nalgebra::SVector;
    /// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
    /// use staticnet::optim::Sgd;
    /// use staticnet::prelude::*;
    /// use staticnet::train::Trainer;
    ///
    /// // Two classes on either side of x₀ = x₁.
    /// let data: [(SVector<f32, 2>, usize); 16] = core::array::from_fn(|i| {
    ///     let x = SVector::from([(i % 4) as f32 - 1.5, (i / 4) as f32 - 1.5 + 0.25]);
    ///     (x, usize::from(x[0] > x[1]))
    /// });
    /// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    /// let mut net = <(Dense<2, 2>,)>::random(Init::Xavier, &mut rng);
    /// let summary = Trainer::new(Sgd::new(0.5))
    ///     .epochs(50)
    ///     .batch_size::<8>()
    ///     .run(&mut net, &CrossEntropy, &data, &mut rng)
    ///     .unwrap();
    /// assert_eq!((summary.epochs, summary.steps, summary.stopped), (50, 100, false));
    /// assert!(summary.train_loss < 0.2, "{}", summary.train_loss);
    /// ```
    pub fn run<N, L, D, G, T>(
        &mut self,
        net: &mut N,
        loss: &L,
        data: &D,
        rng: &mut G,
    ) -> Result<Summary, TrainError>
    where
        T: Scalar,
        D: Data + ?Sized,
        D::Input: Input<Scalar = T>,
        N: Train<<D::Input as Input>::Batch<M>> + Params<T>,
        N::Output: Batch<M> + crate::Tensor<Scalar = T>,
        <N::Output as Batch<M>>::Column: Prediction<L, D::Target>,
        L: Loss,
        O: Optimizer<T, N>,
        S: Schedule,
        V: Validation<N>,
        G: Rng + ?Sized,
    {
        self.fit(net, loss, data, rng, |_, _| Control::Continue)
    }

    /// The epochs of [`fit`](Trainer::fit), once everything is checked.
    fn train_epochs<N, L, D, G, F, T>(
        &mut self,
        net: &mut N,
        loss: &L,
        data: &D,
        rng: &mut G,
        tape: &mut N::Tape,
        mut on_epoch: F,
    ) -> Result<Summary, TrainError>
    where
        T: Scalar,
        D: Data + ?Sized,
        D::Input: Input<Scalar = T>,
        N: Train<<D::Input as Input>::Batch<M>> + Params<T>,
        N::Output: Batch<M> + crate::Tensor<Scalar = T>,
        <N::Output as Batch<M>>::Column: Prediction<L, D::Target>,
        L: Loss,
        O: Optimizer<T, N>,
        S: Schedule,
        V: Validation<N>,
        G: Rng + ?Sized,
        F: FnMut(&EpochReport, &N) -> Control,
    {
        let n = data.len();
        let base = self.optimizer.learning_rate();
        let mut grad = N::zeros();
        let mut summary = Summary {
            epochs: 0,
            steps: 0,
            train_loss: f64::NAN,
            stopped: false,
        };
        for epoch in 0..self.epochs {
            let learning_rate = self.schedule.learning_rate(base, epoch, self.epochs);
            if !(learning_rate.is_finite() && learning_rate >= 0.0) {
                return Err(TrainError::ScheduledLearningRate {
                    epoch,
                    learning_rate,
                });
            }
            self.optimizer.set_learning_rate(learning_rate);
            let plan = sampling::Epoch::new(n, self.sampling, rng);
            let (mut total, mut seen) = (0.0f64, 0usize);
            for step in 0..plan.batches(B) {
                let (idx, count) = plan.batch::<G, B>(step, rng);
                // A network whose layers all write their gradients
                // (`SETS_GRAD`) needs no zeros: its first micro-batch's
                // `backward_params_set` overwrites `grad`.
                if !N::SETS_GRAD || count == 0 {
                    grad.set_zero();
                }
                // The batch runs `M` samples at a time (all at once unless
                // `micro_batch` says otherwise), each micro-batch's gradient
                // weighted by its share of the batch and added into `grad`.
                // A short micro-batch is masked: its unused columns are zero,
                // the layers are told how many columns are real (a batch
                // statistic counts only those) and the loss ignores the rest.
                let mut l = 0.0f64;
                let mut start = 0;
                while start < count {
                    let used = (count - start).min(M);
                    let mut x = <D::Input as Input>::batch::<M>();
                    for j in 0..used {
                        data.input(idx[start + j]).put(&mut x, j);
                    }
                    let targets: [D::Target; M] =
                        core::array::from_fn(|j| data.target(idx[(start + j).min(B - 1)]));
                    let mut generator = &mut *rng;
                    let mut mode = Mode::Training {
                        rng: &mut generator,
                        samples: used,
                    };
                    let y = net.forward_tape_into(&x, &mut mode, tape);
                    let (part, mut dy) = loss.partial_batch_loss_and_grad(&y, &targets, used);
                    let part = part.as_f64();
                    if used == count {
                        l = part;
                    } else {
                        let share = T::of_f64(used as f64 / count as f64);
                        dy.as_mut_slice().iter_mut().for_each(|v| *v *= share);
                        l += part * used as f64 / count as f64;
                    }
                    if !part.is_finite() {
                        return Err(TrainError::NonFiniteLoss {
                            epoch,
                            step,
                            loss: part,
                            learning_rate,
                        });
                    }
                    if start == 0 {
                        net.backward_params_set(tape, &dy, &mut grad);
                    } else {
                        net.backward_params(tape, &dy, &mut grad);
                    }
                    start += used;
                }
                if !grad.is_finite() {
                    return Err(TrainError::NonFiniteGradient {
                        epoch,
                        step,
                        loss: l,
                        learning_rate,
                    });
                }
                self.optimizer
                    .step(net, &grad)
                    .map_err(|_| TrainError::NonFiniteUpdate {
                        epoch,
                        step,
                        loss: l,
                        learning_rate,
                    })?;
                // Running statistics change only with a step that succeeded.
                net.update_buffers(tape);
                total += l * count as f64;
                seen += count;
                summary.steps += 1;
            }
            summary.epochs = epoch + 1;
            summary.train_loss = total / seen as f64;
            let report = EpochReport {
                epoch,
                epochs: self.epochs,
                train_loss: summary.train_loss,
                validation: self.validation.evaluate(net),
                learning_rate,
                steps: summary.steps,
            };
            if on_epoch(&report, net) == Control::Stop {
                summary.stopped = true;
                break;
            }
        }
        Ok(summary)
    }
}

/// The first contents of the tape a run keeps: an inference pass on zeros,
/// which draws nothing from the generator and changes nothing. A function of
/// its own, never inlined, so that the stack it takes (every layer's output
/// and tape, then the assembled tape) is free again before the first step.
#[inline(never)]
fn first_tape<N, X, const M: usize>(net: &N) -> N::Tape
where
    X: Input,
    N: Train<X::Batch<M>>,
{
    net.forward_tape(&X::batch::<M>(), &mut Mode::Inference).1
}

/// Checks that every sample's input is finite and its target valid for the
/// loss, in sample order.
fn check_data<T, D, Y, L>(data: &D) -> Result<(), TrainError>
where
    T: Scalar,
    D: Data + ?Sized,
    D::Input: Input<Scalar = T>,
    Y: Prediction<L, D::Target>,
{
    let n = data.len();
    if n == 0 {
        return Err(TrainError::EmptyDataset);
    }
    for index in 0..n {
        let input = data.input(index);
        if let Some((feature, value)) = input
            .values()
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            return Err(TrainError::InvalidInput {
                index,
                feature,
                value: value.as_f64(),
            });
        }
        Y::check_target(&data.target(index))
            .map_err(|reason| TrainError::InvalidTarget { index, reason })?;
    }
    Ok(())
}

/// Checks that every real-valued setting of every layer is finite, walking
/// the network's description (the same walk as the weights file's, so the
/// position reads the same).
fn check_layer_settings<T: Scalar, N: Params<T>>(net: &N) -> Result<(), TrainError> {
    let mut result = Ok(());
    let mut walk = LayerWalker::new();
    net.describe(&mut |node| {
        if result.is_err() {
            return;
        }
        match node {
            Node::Begin(kind) => walk.begin(kind),
            Node::Setting(setting, params::Setting::Real(value)) if !value.is_finite() => {
                result = Err(TrainError::LayerSetting {
                    position: walk.path(),
                    layer: walk.kind(),
                    setting,
                    value,
                });
            }
            Node::End => walk.end(),
            _ => {}
        }
    });
    result
}
