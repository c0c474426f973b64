//! The fit loop: epochs of mini-batch stochastic gradient descent.
//!
//! [`Trainer::fit`] minimises the mean loss `R(θ) = (1/n) Σ ℓ(F(xᵢ; θ), tᵢ)`
//! over a [`Dataset`] with mini-batches of a static size `B`, drawn as
//! [`Sampling`] says, and reports each epoch through a callback. Everything
//! it needs (a batch, the tape, the gradient) lives on its stack frame:
//! training allocates nothing.

use nalgebra::SMatrix;
use rand::Rng;

use crate::data::Dataset;
use crate::loss::Prediction;
use crate::module::Mode;
use crate::optim::Optimizer;
use crate::sampling::{self, Sampling};
use crate::schedule::{Constant, Schedule};
use crate::tensor::Batch;
use crate::{Loss, Params, Scalar, Train};

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

/// Why training stopped without finishing. Epochs and steps are counted from
/// 0. In every case the network's parameters are those before the failing
/// step: nothing non-finite is ever written into them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainError {
    /// The data set has no samples.
    EmptyDataset,
    /// A sample's input holds NaN or an infinity. Found before training starts.
    InvalidInput {
        /// The sample's index.
        index: usize,
    },
    /// A sample's target is invalid for the loss (a class index out of range,
    /// a NaN value, …). Found before training starts.
    InvalidTarget {
        /// The sample's index.
        index: usize,
    },
    /// A mini-batch's loss was NaN or infinite: the run diverged.
    NonFiniteLoss {
        /// The epoch.
        epoch: usize,
        /// The step within the epoch.
        step: usize,
    },
    /// A gradient held NaN or an infinity.
    NonFiniteGradient {
        /// The epoch.
        epoch: usize,
        /// The step within the epoch.
        step: usize,
    },
    /// The optimizer's update would have made a parameter non-finite.
    NonFiniteUpdate {
        /// The epoch.
        epoch: usize,
        /// The step within the epoch.
        step: usize,
    },
}

impl core::fmt::Display for TrainError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kept = "the parameters are those before that step";
        match *self {
            TrainError::EmptyDataset => f.write_str("the training set has no samples"),
            TrainError::InvalidInput { index } => {
                write!(f, "sample {index}'s input holds NaN or an infinity")
            }
            TrainError::InvalidTarget { index } => {
                write!(f, "sample {index}'s target is not valid for this loss")
            }
            TrainError::NonFiniteLoss { epoch, step } => write!(
                f,
                "the loss became non-finite at epoch {epoch}, step {step} (counted from 0); {kept}"
            ),
            TrainError::NonFiniteGradient { epoch, step } => write!(
                f,
                "the gradient became non-finite at epoch {epoch}, step {step} (counted from 0); {kept}"
            ),
            TrainError::NonFiniteUpdate { epoch, step } => write!(
                f,
                "the update would make a parameter non-finite at epoch {epoch}, step {step} (counted from 0); {kept}"
            ),
        }
    }
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
pub struct Trainer<O, const B: usize = 32, S = Constant, V = NoValidation> {
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

impl<O, const B: usize, S, V> Trainer<O, B, S, V> {
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

    /// Sets how batches are drawn.
    pub fn sampling(mut self, sampling: Sampling) -> Self {
        self.sampling = sampling;
        self
    }

    /// Sets the learning-rate schedule.
    pub fn schedule<S2: Schedule>(self, schedule: S2) -> Trainer<O, B, S2, V> {
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
    pub fn validation<V2>(self, validation: V2) -> Trainer<O, B, S, V2> {
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

    /// Trains `net` on `data` for the configured epochs, calling `on_epoch`
    /// after each with a report and the network.
    ///
    /// Before the first step it checks every sample (finite inputs, targets
    /// valid for the loss). Each epoch has `⌈n / B⌉` steps; a step draws a
    /// batch, runs the forward pass in [`Mode::Training`] (dropout draws
    /// from `rng`; a short last batch is masked: its unused columns are zero
    /// and no layer or loss counts them), computes the mean loss and its
    /// gradient, applies the optimizer and then updates the layers' buffers
    /// ([`Train::update_buffers`]). A non-finite loss, gradient or update ends the run with a
    /// [`TrainError`] naming the epoch and step, before anything is written.
    ///
    /// Same generator state, same data, same network: bit-identical results.
    pub fn fit<N, L, D, G, F, T, const I: usize>(
        &mut self,
        net: &mut N,
        loss: &L,
        data: &D,
        rng: &mut G,
        mut on_epoch: F,
    ) -> Result<Summary, TrainError>
    where
        T: Scalar,
        D: Dataset<T, I> + ?Sized,
        N: Train<SMatrix<T, I, B>> + Params<T>,
        N::Output: Batch<B> + crate::Tensor<Scalar = T>,
        <N::Output as Batch<B>>::Column: Prediction<L, D::Target>,
        L: Loss,
        O: Optimizer<T, N>,
        S: Schedule,
        V: Validation<N>,
        G: Rng + ?Sized,
        F: FnMut(&EpochReport, &N) -> Control,
    {
        let n = data.len();
        if n == 0 {
            return Err(TrainError::EmptyDataset);
        }
        for index in 0..n {
            if !data.input(index).iter().all(|v| v.is_finite()) {
                return Err(TrainError::InvalidInput { index });
            }
            if !<N::Output as Batch<B>>::Column::is_valid_target(&data.target(index)) {
                return Err(TrainError::InvalidTarget { index });
            }
        }

        let base = self.optimizer.learning_rate();
        let mut grad = N::zeros();
        // One tape for the whole run, overwritten by every step's forward
        // pass (`forward_tape_into` writes it in place instead of returning
        // it); its first contents come from an inference pass on zeros,
        // which draws nothing from the generator and changes nothing.
        let (_, mut tape) = net.forward_tape(&SMatrix::<T, I, B>::zeros(), &mut Mode::Inference);
        let mut summary = Summary {
            epochs: 0,
            steps: 0,
            train_loss: f64::NAN,
            stopped: false,
        };
        for epoch in 0..self.epochs {
            let learning_rate = self.schedule.learning_rate(base, epoch, self.epochs);
            self.optimizer.set_learning_rate(learning_rate);
            let plan = sampling::Epoch::new(n, self.sampling, rng);
            let (mut total, mut seen) = (0.0f64, 0usize);
            for step in 0..plan.batches(B) {
                let (idx, count) = plan.batch::<G, B>(step, rng);
                // A short last batch is masked: its unused columns stay zero,
                // the layers are told how many columns are real (a batch
                // statistic counts only those) and the loss ignores the rest.
                let mut x = SMatrix::<T, I, B>::zeros();
                for (j, &i) in idx[..count].iter().enumerate() {
                    x.set_column(j, &data.input(i));
                }
                let targets: [D::Target; B] = core::array::from_fn(|j| data.target(idx[j]));

                let mut generator = &mut *rng;
                let mut mode = Mode::Training {
                    rng: &mut generator,
                    samples: count,
                };
                let y = net.forward_tape_into(&x, &mut mode, &mut tape);
                let (l, dy) = loss.partial_batch_loss_and_grad(&y, &targets, count);
                if !l.is_finite() {
                    return Err(TrainError::NonFiniteLoss { epoch, step });
                }
                grad.set_zero();
                net.backward_params(&tape, &dy, &mut grad);
                if !grad.is_finite() {
                    return Err(TrainError::NonFiniteGradient { epoch, step });
                }
                self.optimizer
                    .step(net, &grad)
                    .map_err(|_| TrainError::NonFiniteUpdate { epoch, step })?;
                // Running statistics change only with a step that succeeded.
                net.update_buffers(&tape);
                total += l.as_f64() * count as f64;
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
