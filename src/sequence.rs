//! Sequences: samples with a time axis.
//!
//! A [`Seq<T, C, L, B>`] holds `B` sequences of `L` steps of `C` channels
//! (an accelerometer window is `Seq<f32, 3, 100>`: three axes, a hundred
//! samples). One sample is `Seq<T, C, L>` (`B = 1`), what a data set holds;
//! a batch of them is `Seq<T, C, L, B>`, what a training step feeds the
//! network. Every size is a type, so a convolution over 6 channels given 3,
//! or a recurrent layer given the wrong feature count, does not compile.
//!
//! The values are stored step by step: `data[b][t]` is step `t` of sample
//! `b`, its `C` channels side by side (PyTorch's `(batch, length, channels)`
//! order, the order a sensor produces them). A layer that maps each step on
//! its own ([`Dense`](crate::Dense), the element-wise activations) works on a
//! `Seq` as on a batch of `L·B` vectors.
//!
//! What a network's input can be is the trait [`Input`]: a vector
//! `SVector<T, N>` (whose batch is `SMatrix<T, N, B>`) or a sequence
//! `Seq<T, C, L>` (whose batch is `Seq<T, C, L, B>`).
//!
//! ```
//! use staticnet::sequence::Seq;
//!
//! // Two channels over three steps, written channel by channel (the CSV
//! // layout) and read step by step.
//! let x = Seq::<f32, 2, 3>::from_channels([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]);
//! assert_eq!(x.data[0][1], [2.0, 20.0]);
//! assert_eq!(x.channel(0, 1), [10.0, 20.0, 30.0]);
//! ```

use core::fmt;

use nalgebra::{SMatrix, SVector};

use crate::Scalar;
use crate::loss::{Prediction, Target, TargetError};
use crate::tensor::Tensor;

/// `B` sequences of `L` steps of `C` channels: `data[b][t][c]`.
///
/// `Seq<T, C, L>` (one sample) is what a data set holds; `Seq<T, C, L, B>`
/// is a batch. See the [module docs](self).
#[derive(Clone, Copy, PartialEq)]
pub struct Seq<T, const C: usize, const L: usize, const B: usize = 1> {
    /// The values: `data[b][t]` is step `t` of sample `b`, `C` channels.
    pub data: [[[T; C]; L]; B],
}

impl<T: fmt::Debug, const C: usize, const L: usize, const B: usize> fmt::Debug for Seq<T, C, L, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seq<{C} channels, {L} steps, {B} samples>")?;
        f.debug_list().entries(self.data.iter()).finish()
    }
}

impl<T: Scalar, const C: usize, const L: usize, const B: usize> Default for Seq<T, C, L, B> {
    fn default() -> Self {
        Self::zeros()
    }
}

impl<T: Scalar, const C: usize, const L: usize, const B: usize> Seq<T, C, L, B> {
    /// All values zero.
    #[inline]
    pub fn zeros() -> Self {
        Seq {
            data: [[[T::zero(); C]; L]; B],
        }
    }

    /// The value `f(b, t, c)` for sample `b`, step `t`, channel `c`.
    pub fn from_fn(mut f: impl FnMut(usize, usize, usize) -> T) -> Self {
        Seq {
            data: core::array::from_fn(|b| {
                core::array::from_fn(|t| core::array::from_fn(|c| f(b, t, c)))
            }),
        }
    }

    /// Channel `c` of sample `b`, all its steps.
    pub fn channel(&self, b: usize, c: usize) -> [T; L] {
        core::array::from_fn(|t| self.data[b][t][c])
    }

    /// Sample `b` as a matrix with one column per step
    /// (`C` rows, `L` columns).
    pub fn sample_matrix(&self, b: usize) -> SMatrix<T, C, L> {
        SMatrix::from_fn(|c, t| self.data[b][t][c])
    }

    /// Sample `b`, as a batch of one.
    pub fn sample(&self, b: usize) -> Seq<T, C, L> {
        Seq {
            data: [self.data[b]],
        }
    }

    /// Overwrites sample `b`.
    pub fn set_sample(&mut self, b: usize, x: &Seq<T, C, L>) {
        self.data[b] = x.data[0];
    }

    /// Step `t` of every sample, one sample per column.
    pub fn step(&self, t: usize) -> SMatrix<T, C, B> {
        SMatrix::from_fn(|c, b| self.data[b][t][c])
    }

    /// All values, sample by sample, step by step, channel by channel.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        self.data.as_flattened().as_flattened()
    }

    /// All values, mutably, in the order of [`as_slice`](Seq::as_slice).
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        self.data.as_flattened_mut().as_flattened_mut()
    }
}

impl<T: Scalar, const C: usize, const L: usize> Seq<T, C, L> {
    /// One sample from its channels, each a series of `L` steps (the CSV
    /// layout of the time-series archives: channel-major).
    pub fn from_channels(channels: [[T; L]; C]) -> Self {
        Seq::from_fn(|_, t, c| channels[c][t])
    }

    /// One sample from its steps, each `C` channels.
    pub const fn from_steps(steps: [[T; C]; L]) -> Self {
        Seq { data: [steps] }
    }
}

impl<T: Scalar, const C: usize, const L: usize, const B: usize> Tensor for Seq<T, C, L, B> {
    type Scalar = T;
    /// The channels.
    const ROWS: usize = C;
    /// Every step of every sample.
    const COLS: usize = L * B;
    #[inline]
    fn zeros() -> Self {
        Seq::zeros()
    }
    #[inline]
    fn as_slice(&self) -> &[T] {
        Seq::as_slice(self)
    }
    #[inline]
    fn as_mut_slice(&mut self) -> &mut [T] {
        Seq::as_mut_slice(self)
    }
}

/// What one sample's input can be: a vector `SVector<T, N>` or a sequence
/// `Seq<T, C, L>`. It names the type of a batch of `B` such samples, which
/// is what a trainer builds and feeds the network.
///
/// ```
/// use staticnet::nalgebra::{SMatrix, SVector};
/// use staticnet::sequence::{Input, Seq};
///
/// let mut batch = <SVector<f32, 2> as Input>::batch::<3>();
/// SVector::from([1.0, 2.0]).put(&mut batch, 1);
/// assert_eq!(batch, SMatrix::<f32, 2, 3>::new(0.0, 1.0, 0.0, 0.0, 2.0, 0.0));
///
/// let mut batch = <Seq<f32, 1, 2> as Input>::batch::<2>();
/// Seq::from_steps([[5.0], [6.0]]).put(&mut batch, 0);
/// assert_eq!(batch.data, [[[5.0], [6.0]], [[0.0], [0.0]]]);
/// ```
pub trait Input: Copy {
    /// The element type.
    type Scalar: Scalar;
    /// A batch of `B` samples.
    type Batch<const B: usize>: Copy;
    /// A batch of zeros.
    fn batch<const B: usize>() -> Self::Batch<B>;
    /// Writes this sample into position `j` of `batch`. Panics if `j >= B`.
    fn put<const B: usize>(&self, batch: &mut Self::Batch<B>, j: usize);
    /// All the sample's values (to check them, or to compute statistics).
    fn values(&self) -> &[Self::Scalar];
    /// How many samples the evaluation functions of
    /// [`metrics`](crate::metrics) run through a network at once:
    /// [`EVAL_BATCH`](crate::metrics::EVAL_BATCH) vectors, but one sequence
    /// (a sequence model's intermediate values are large, and every one of
    /// them is on the stack).
    const EVAL: usize;
    /// A batch of [`EVAL`](Input::EVAL) samples: `Batch<EVAL>`.
    type Eval: Copy;
    /// What a network with `O` outputs gives for an [`Eval`](Input::Eval)
    /// batch: `SMatrix<T, O, EVAL>`.
    type EvalOutput<const O: usize>: crate::Tensor<Scalar = Self::Scalar>;
    /// An evaluation batch of zeros.
    fn eval_batch() -> Self::Eval;
    /// Writes this sample into position `j` of an evaluation batch.
    fn put_eval(&self, batch: &mut Self::Eval, j: usize);
}

impl<T: Scalar, const N: usize> Input for SVector<T, N> {
    type Scalar = T;
    type Batch<const B: usize> = SMatrix<T, N, B>;
    #[inline]
    fn batch<const B: usize>() -> SMatrix<T, N, B> {
        SMatrix::zeros()
    }
    #[inline]
    fn put<const B: usize>(&self, batch: &mut SMatrix<T, N, B>, j: usize) {
        batch.data.0[j] = self.data.0[0];
    }
    #[inline]
    fn values(&self) -> &[T] {
        self.as_slice()
    }
    const EVAL: usize = crate::metrics::EVAL_BATCH;
    type Eval = SMatrix<T, N, { crate::metrics::EVAL_BATCH }>;
    type EvalOutput<const O: usize> = SMatrix<T, O, { crate::metrics::EVAL_BATCH }>;
    #[inline]
    fn eval_batch() -> Self::Eval {
        SMatrix::zeros()
    }
    #[inline]
    fn put_eval(&self, batch: &mut Self::Eval, j: usize) {
        batch.data.0[j] = self.data.0[0];
    }
}

impl<T: Scalar, const C: usize, const L: usize> Input for Seq<T, C, L> {
    type Scalar = T;
    type Batch<const B: usize> = Seq<T, C, L, B>;
    #[inline]
    fn batch<const B: usize>() -> Seq<T, C, L, B> {
        Seq::zeros()
    }
    #[inline]
    fn put<const B: usize>(&self, batch: &mut Seq<T, C, L, B>, j: usize) {
        batch.data[j] = self.data[0];
    }
    #[inline]
    fn values(&self) -> &[T] {
        self.as_slice()
    }
    const EVAL: usize = 1;
    type Eval = Seq<T, C, L>;
    type EvalOutput<const O: usize> = SMatrix<T, O, 1>;
    #[inline]
    fn eval_batch() -> Self::Eval {
        Seq::zeros()
    }
    #[inline]
    fn put_eval(&self, batch: &mut Self::Eval, _: usize) {
        *batch = *self;
    }
}

/// A batch of sequences is a [`Batch`](crate::tensor::Batch) whose columns
/// are its samples (`Seq<T, C, L>`), so a network whose output is a
/// sequence trains against sequence targets.
impl<T: Scalar, const C: usize, const L: usize, const N: usize, const B: usize>
    crate::tensor::Batch<B> for Seq<T, C, L, N>
where
    crate::shape::Columns: crate::shape::SameBatch<N, B>,
{
    type Column = Seq<T, C, L>;
    #[inline]
    fn column(&self, j: usize) -> Seq<T, C, L> {
        Seq {
            data: [self.data[j]],
        }
    }
    #[inline]
    fn set_column(&mut self, j: usize, value: &Seq<T, C, L>) {
        self.data[j] = value.data[0];
    }
}

/// The first target error of a sequence, its element counted over the
/// whole sequence (step by step, `O` per step).
fn at_step(step: usize, outputs: usize, e: TargetError) -> TargetError {
    let shift = |element: usize| step * outputs + element;
    match e {
        TargetError::NotFinite { element, value } => TargetError::NotFinite {
            element: shift(element),
            value,
        },
        TargetError::OutsideUnitInterval { element, value } => TargetError::OutsideUnitInterval {
            element: shift(element),
            value,
        },
        TargetError::NegativeProbability { element, value } => TargetError::NegativeProbability {
            element: shift(element),
            value,
        },
        other => other,
    }
}

/// The loss of a sequence prediction is the mean of its steps' losses,
/// `ℓ(y, t) = (1/L) Σ_t ℓ(y_t, t_t)`: over a batch, PyTorch's mean over
/// every step of every sample (`MSELoss` on `(batch, length, outputs)`,
/// `CrossEntropyLoss` with a class per step).
macro_rules! per_step_loss {
    ($target:ty, |$tg:ident, $t:ident| $step:expr) => {
        #[inline]
        fn loss(loss: &Lo, y: &Self, target: &$target) -> T {
            Self::loss_and_grad(loss, y, target).0
        }
        fn loss_and_grad(loss: &Lo, y: &Self, target: &$target) -> (T, Self) {
            let scale = T::ONE / T::of_f64(L as f64);
            let mut grad = Seq::zeros();
            let mut sum = T::ZERO;
            for (($t, yt), gt) in y.data[0].iter().enumerate().zip(&mut grad.data[0]) {
                let $tg = target;
                let (l, g) = $step.loss_and_grad(loss, &SVector::from(*yt));
                sum += l;
                for (out, &v) in gt.iter_mut().zip(g.iter()) {
                    *out = v * scale;
                }
            }
            (sum * scale, grad)
        }
        fn check_target(target: &$target) -> Result<(), TargetError> {
            for $t in 0..L {
                let $tg = target;
                $step.check().map_err(|e| at_step($t, O, e))?;
            }
            Ok(())
        }
        fn batch_loss_and_grad(
            loss: &Lo,
            y: &[T],
            targets: &[$target],
            scale: T,
            grad: &mut [T],
        ) -> T {
            assert!(
                y.len() == O * L * targets.len() && grad.len() == y.len(),
                "batch of {} sequence targets with {} predictions and {} gradient values: {} each expected",
                targets.len(),
                y.len(),
                grad.len(),
                O * L
            );
            let mut sum = T::ZERO;
            for ((yj, gj), target) in y
                .chunks_exact(O * L)
                .zip(grad.chunks_exact_mut(O * L))
                .zip(targets)
            {
                let yj = Seq::<T, O, L>::from_fn(|_, t, o| yj[t * O + o]);
                let (l, g) = Self::loss_and_grad(loss, &yj, target);
                sum += l;
                for (out, &v) in gj.iter_mut().zip(g.as_slice()) {
                    *out = v * scale;
                }
            }
            sum
        }
    };
}

/// A sequence prediction against a sequence target of the same shape, for
/// the element-wise losses ([`MeanSquared`](crate::MeanSquared),
/// [`Huber`](crate::Huber)): each step's vector against the target's step.
///
/// ```
/// use staticnet::prelude::*;
///
/// let y = Seq::<f64, 1, 2>::from_steps([[1.0], [3.0]]);
/// let t = Seq::from_steps([[0.0], [1.0]]);
/// // The mean over the steps of (y − t)²: (1 + 4)/2.
/// assert_eq!(MeanSquared.loss(&y, &t), 2.5);
/// ```
impl<Lo, T: Scalar, const O: usize, const L: usize> Prediction<Lo, Seq<T, O, L>> for Seq<T, O, L>
where
    SVector<T, O>: Target<Lo, T, O>,
{
    per_step_loss!(Seq<T, O, L>, |target, t| SVector::<T, O>::from(target.data[0][t]));
}

/// A sequence prediction against one target per step: a class index each
/// for [`CrossEntropy`](crate::CrossEntropy) (sequence labelling), or any
/// other target of the loss.
///
/// ```
/// use staticnet::prelude::*;
///
/// // Two steps of two logits; class 0, then class 1.
/// let y = Seq::<f64, 2, 2>::from_steps([[2.0, 0.0], [0.0, 2.0]]);
/// let per_step = CrossEntropy.loss(&SVector::from([2.0, 0.0]), &0);
/// assert!((CrossEntropy.loss(&y, &[0usize, 1]) - per_step).abs() < 1e-15);
/// ```
impl<Lo, Tg, T: Scalar, const O: usize, const L: usize> Prediction<Lo, [Tg; L]> for Seq<T, O, L>
where
    Tg: Target<Lo, T, O>,
{
    per_step_loss!([Tg; L], |target, t| target[t]);
}
