//! Losses: a scalar score of one prediction against its target, and its
//! gradient with respect to the prediction.
//!
//! Conventions follow PyTorch's defaults (`reduction = "mean"`), so numbers
//! can be compared one for one: per sample, [`MeanSquared`],
//! [`BinaryCrossEntropy`] and [`Huber`] average over the outputs and
//! [`CrossEntropy`] sums over the classes; over a batch, every loss is the
//! mean of the per-sample losses.
//!
//! One file per loss, each with its formula on the loss type and its
//! [`Target`] implementations; this file holds the traits every loss goes
//! through ([`Loss`], [`Target`], [`Prediction`]) and what they share.

use nalgebra::{SMatrix, SVector};

use core::fmt;

use crate::scalar::c;
use crate::shape::{Columns, OneSample};
use crate::tensor::Batch;
use crate::train::InvalidSetting;
use crate::{Scalar, Tensor};

mod binary_cross_entropy;
mod cross_entropy;
mod huber;
mod mean_squared;

pub use binary_cross_entropy::BinaryCrossEntropy;
pub use cross_entropy::CrossEntropy;
pub use huber::Huber;
pub use mean_squared::MeanSquared;

/// A valid target for loss `L` and a prediction `SVector<T, P>`: this is
/// where a loss's formulas live. Implement it (with an empty `impl Loss for
/// MyLoss {}`) to add a loss; call it through [`Loss`].
///
/// The loss's target types implement it: a class index `usize` or a
/// probability vector for [`CrossEntropy`], a vector of the prediction's size
/// for the others. A vector of another size is a compile error naming both
/// sizes ([`TargetSize`](crate::shape::TargetSize)).
pub trait Target<L, T: Scalar, const P: usize> {
    /// The loss `ℓ(y, t)`.
    fn loss(&self, loss: &L, y: &SVector<T, P>) -> T {
        self.loss_and_grad(loss, y).0
    }
    /// The loss and its gradient `∂ℓ/∂y`.
    fn loss_and_grad(&self, loss: &L, y: &SVector<T, P>) -> (T, SVector<T, P>);
    /// `Ok` if this is a valid target (a class index in range, finite
    /// values, probabilities in `[0, 1]`), else what is wrong with it.
    /// Trainers check every target with it before they start.
    fn check(&self) -> Result<(), TargetError>;
    /// Whether this is a valid target: [`check`](Target::check) is `Ok`.
    fn is_valid(&self) -> bool {
        self.check().is_ok()
    }
    /// The losses of several samples at once: `y` holds their predictions
    /// one after another (`P` values each, `targets.len()` samples), and
    /// `grad` (the same length) receives each gradient times `scale`.
    /// Returns the sum of the losses, added in sample order.
    ///
    /// The provided method calls [`loss_and_grad`](Target::loss_and_grad)
    /// sample by sample. An implementation may override it with a faster
    /// form over the whole batch (the class-index [`CrossEntropy`] target
    /// does), but must give the same bits as the provided one: a batch
    /// gives exactly what its samples give one by one.
    ///
    /// Panics if the lengths disagree.
    fn batch_loss_and_grad(loss: &L, y: &[T], targets: &[Self], scale: T, grad: &mut [T]) -> T
    where
        Self: Sized,
    {
        per_sample(loss, y, targets, scale, grad)
    }
}

/// [`Target::batch_loss_and_grad`] sample by sample.
fn per_sample<L, T: Scalar, Tg: Target<L, T, P>, const P: usize>(
    loss: &L,
    y: &[T],
    targets: &[Tg],
    scale: T,
    grad: &mut [T],
) -> T {
    check_lengths(P, y, targets, grad);
    let mut sum = T::ZERO;
    for ((yj, gj), t) in y.chunks_exact(P).zip(grad.chunks_exact_mut(P)).zip(targets) {
        let yj = SVector::<T, P>::from_column_slice(yj);
        let (l, g) = t.loss_and_grad(loss, &yj);
        sum += l;
        for (out, &v) in gj.iter_mut().zip(g.iter()) {
            *out = v * scale;
        }
    }
    sum
}

/// [`Target::batch_loss_and_grad`] of an element-wise loss (see
/// `elementwise_loss!`), whose sample loss is `(1/P) Σₖ v(yₖ, tₖ)` and whose
/// gradient is `d(yₖ, tₖ) / P`, with `f = (v, d)` and `target` giving a
/// target's `P` values. Blocks of whole samples, up to [`ELEMENTS`] values:
/// every element's `f` in one flat loop (which vectorises where `f` does,
/// where sample by sample a loop of `P` elements would not), then the sums
/// sample by sample. The same operations in the same order as
/// [`per_sample`], so the same bits; samples longer than a block go
/// through [`per_sample`] itself.
#[inline(always)]
fn elementwise_batch<L, T: Scalar, Tg: Target<L, T, P>, const P: usize>(
    loss: &L,
    y: &[T],
    targets: &[Tg],
    scale: T,
    grad: &mut [T],
    f: impl Fn(T, T) -> (T, T),
    target: impl Fn(&Tg) -> &[T],
) -> T {
    if P == 0 || P > ELEMENTS {
        return per_sample::<L, T, Tg, P>(loss, y, targets, scale, grad);
    }
    check_lengths(P, y, targets, grad);
    let inv = T::one() / crate::scalar::c(P as f64);
    let per = ELEMENTS / P;
    let mut t = [T::ZERO; ELEMENTS];
    let mut v = [T::ZERO; ELEMENTS];
    let mut sum = T::ZERO;
    for ((yb, gb), tb) in sample_blocks(P, per, y, grad, targets) {
        for (dst, tj) in t.chunks_exact_mut(P).zip(tb) {
            dst.copy_from_slice(target(tj));
        }
        let n = yb.len();
        for (((v, g), &y), &t) in v[..n].iter_mut().zip(gb.iter_mut()).zip(yb).zip(&t[..n]) {
            let (value, d) = f(y, t);
            *v = value;
            *g = d * inv * scale;
        }
        for vj in v[..n].chunks_exact(P) {
            let mut s = T::ZERO;
            for &value in vj {
                s += value;
            }
            sum += s * inv;
        }
    }
    sum
}

/// Values per block of [`elementwise_batch`].
const ELEMENTS: usize = 256;

/// A batch's predictions, gradient and targets in blocks of `per` whole
/// samples of `p` values each (the last block shorter): what the batched
/// losses work through a block at a time.
fn sample_blocks<'a, T, Tg>(
    p: usize,
    per: usize,
    y: &'a [T],
    grad: &'a mut [T],
    targets: &'a [Tg],
) -> impl Iterator<Item = ((&'a [T], &'a mut [T]), &'a [Tg])> {
    y.chunks(per * p)
        .zip(grad.chunks_mut(per * p))
        .zip(targets.chunks(per))
}

/// Panics unless `y` and `grad` hold `P` values for each target.
fn check_lengths<T, Tg>(p: usize, y: &[T], targets: &[Tg], grad: &[T]) {
    assert!(
        y.len() == p * targets.len() && grad.len() == y.len(),
        "batch of {} targets with {} predictions and {} gradient values: {p} each expected",
        targets.len(),
        y.len(),
        grad.len()
    );
}

/// A prediction for one sample that loss `L` can score against a target of
/// type `Tg`: an `SVector<T, P>` with `Tg:` [`Target<L, T, P>`]. Implemented
/// once for all losses; it is the bound [`Loss`]'s methods use, so that a
/// batch where one sample is expected is a compile error that says so.
pub trait Prediction<L, Tg>: Tensor {
    /// The loss `ℓ(y, t)`.
    fn loss(loss: &L, y: &Self, target: &Tg) -> Self::Scalar;
    /// The loss and its gradient `∂ℓ/∂y`.
    fn loss_and_grad(loss: &L, y: &Self, target: &Tg) -> (Self::Scalar, Self);
    /// `Ok` if `target` is valid for this loss and prediction size, else
    /// what is wrong with it ([`Target::check`]).
    fn check_target(target: &Tg) -> Result<(), TargetError>;
    /// Whether `target` is valid for this loss and prediction size:
    /// [`check_target`](Prediction::check_target) is `Ok`.
    fn is_valid_target(target: &Tg) -> bool {
        Self::check_target(target).is_ok()
    }
    /// Several samples at once, as [`Target::batch_loss_and_grad`]: `y` and
    /// `grad` hold `Self::ROWS` values per target, one sample after another.
    fn batch_loss_and_grad(
        loss: &L,
        y: &[Self::Scalar],
        targets: &[Tg],
        scale: Self::Scalar,
        grad: &mut [Self::Scalar],
    ) -> Self::Scalar;
}

impl<L, Tg, T: Scalar, const P: usize, const B: usize> Prediction<L, Tg> for SMatrix<T, P, B>
where
    Columns: OneSample<B>,
    Tg: Target<L, T, P>,
{
    #[inline]
    fn loss(loss: &L, y: &Self, target: &Tg) -> T {
        target.loss(loss, Columns::sample(y))
    }
    #[inline]
    fn loss_and_grad(loss: &L, y: &Self, target: &Tg) -> (T, Self) {
        let (l, g) = target.loss_and_grad(loss, Columns::sample(y));
        (l, Columns::unsample(g))
    }
    fn check_target(target: &Tg) -> Result<(), TargetError> {
        target.check()
    }
    #[inline(always)]
    fn batch_loss_and_grad(loss: &L, y: &[T], targets: &[Tg], scale: T, grad: &mut [T]) -> T {
        Tg::batch_loss_and_grad(loss, y, targets, scale, grad)
    }
}

/// A loss function. Its methods take one sample or, in their `batch_` forms,
/// a batch with one target per column.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::{CrossEntropy, Loss, MeanSquared};
///
/// let y = SVector::from([1.0f64, 2.0]);
/// assert_eq!(MeanSquared.loss(&y, &SVector::from([0.0, 0.0])), 2.5);
/// // Cross-entropy from logits against a class index: logsumexp(y) − y₁.
/// let l = CrossEntropy.loss(&y, &1);
/// assert!((l - (1f64.exp() + 2f64.exp()).ln() + 2.0).abs() < 1e-15);
/// ```
pub trait Loss: Sized {
    /// `Ok` if the loss's settings are in their allowed ranges (a
    /// [`Huber`]'s `δ` finite and `> 0`), else the first that is not.
    /// Trainers call it before they start; losses without settings keep the
    /// provided `Ok`.
    ///
    /// ```
    /// use staticnet::train::InvalidSetting;
    /// use staticnet::{Huber, Loss};
    /// assert_eq!(Huber::new(0.5).check(), Ok(()));
    /// assert_eq!(
    ///     Huber::new(0.0).check(),
    ///     Err(InvalidSetting { setting: "Huber δ", value: 0.0, allowed: "finite and > 0" })
    /// );
    /// ```
    fn check(&self) -> Result<(), InvalidSetting> {
        Ok(())
    }

    /// The loss of one prediction.
    fn loss<Y, Tg>(&self, y: &Y, target: &Tg) -> Y::Scalar
    where
        Y: Prediction<Self, Tg>,
    {
        Y::loss(self, y, target)
    }

    /// The loss of one prediction and its gradient with respect to it.
    fn loss_and_grad<Y, Tg>(&self, y: &Y, target: &Tg) -> (Y::Scalar, Y)
    where
        Y: Prediction<Self, Tg>,
    {
        Y::loss_and_grad(self, y, target)
    }

    /// The mean loss over a batch with one target per column.
    fn batch_loss<Y, Tg, const B: usize>(&self, y: &Y, targets: &[Tg; B]) -> Y::Scalar
    where
        Y: Batch<B>,
        Y::Column: Prediction<Self, Tg>,
    {
        crate::kernels::dispatch(
            #[inline(always)]
            || {
                let mut sum = <Y::Scalar as Scalar>::ZERO;
                for (j, t) in targets.iter().enumerate() {
                    sum += Y::Column::loss(self, &y.column(j), t);
                }
                sum / c(B.max(1) as f64)
            },
        )
    }

    /// The mean loss over a batch and its gradient with respect to the batch.
    fn batch_loss_and_grad<Y, Tg, const B: usize>(&self, y: &Y, targets: &[Tg; B]) -> (Y::Scalar, Y)
    where
        Y: Batch<B>,
        Y::Column: Prediction<Self, Tg>,
    {
        self.partial_batch_loss_and_grad(y, targets, B)
    }

    /// Like [`batch_loss_and_grad`](Loss::batch_loss_and_grad) over the first
    /// `n` columns only: the mean over them, and a gradient that is zero in
    /// the other columns. A trainer uses it for the last, short batch of an
    /// epoch. Panics if `n > B`.
    fn partial_batch_loss_and_grad<Y, Tg, const B: usize>(
        &self,
        y: &Y,
        targets: &[Tg; B],
        n: usize,
    ) -> (Y::Scalar, Y)
    where
        Y: Batch<B>,
        Y::Column: Prediction<Self, Tg>,
    {
        assert!(n <= B, "{n} columns requested from a batch of {B}");
        let scale = <Y::Scalar as Scalar>::ONE / c(n.max(1) as f64);
        crate::kernels::dispatch(
            #[inline(always)]
            || {
                let mut grad = Y::zeros();
                // The columns lie one after another in the storage (see `Batch`).
                let len = n * <Y::Column as Tensor>::ROWS * <Y::Column as Tensor>::COLS;
                let sum = Y::Column::batch_loss_and_grad(
                    self,
                    &y.as_slice()[..len],
                    &targets[..n],
                    scale,
                    &mut grad.as_mut_slice()[..len],
                );
                (sum * scale, grad)
            },
        )
    }
}

/// Implements `Target` for a loss whose target is a vector of the
/// prediction's size, from an element-wise `(loss, derivative)` function
/// averaged over the outputs: `ℓ(y, t) = (1/N) Σₖ f(yₖ, tₖ)`,
/// `∂ℓ/∂yₖ = f'(yₖ, tₖ) / N`, and the check of one target element `tₖ`
/// (its index `k`): a `Result<(), TargetError>`.
macro_rules! elementwise_loss {
    ($loss:ty, |$l:ident, $y:ident, $t:ident| $body:expr, |$k:ident, $tv:ident| $check:expr) => {
        impl<T: $crate::Scalar, const P: usize, const N: usize, const B: usize>
            $crate::loss::Target<$loss, T, P> for ::nalgebra::SMatrix<T, N, B>
        where
            $crate::shape::Columns: $crate::shape::OneSample<B>,
            $loss: $crate::shape::TargetSize<N, P>,
        {
            #[inline]
            fn loss_and_grad(
                &self,
                $l: &$loss,
                y: &::nalgebra::SVector<T, P>,
            ) -> (T, ::nalgebra::SVector<T, P>) {
                let inv = T::one() / $crate::scalar::c(P.max(1) as f64);
                let mut grad = *y;
                let mut sum = T::zero();
                for (g, &$t) in grad.iter_mut().zip(self.as_slice()) {
                    let $y = *g;
                    let (v, d): (T, T) = $body;
                    sum += v;
                    *g = d * inv;
                }
                (sum * inv, grad)
            }
            /// Every element's value and derivative in one flat loop (see
            /// `elementwise_batch`), then the sums: the bits of the sample
            /// by sample form.
            #[inline(always)]
            fn batch_loss_and_grad(
                $l: &$loss,
                y: &[T],
                targets: &[Self],
                scale: T,
                grad: &mut [T],
            ) -> T {
                $crate::loss::elementwise_batch::<$loss, T, Self, P>(
                    $l,
                    y,
                    targets,
                    scale,
                    grad,
                    |$y: T, $t: T| -> (T, T) { $body },
                    |t: &Self| t.as_slice(),
                )
            }
            fn check(&self) -> Result<(), $crate::loss::TargetError> {
                for ($k, &$tv) in self.iter().enumerate() {
                    $check?;
                }
                Ok(())
            }
        }
    };
}
use elementwise_loss;

/// Why a target is not valid for a loss: what [`Target::check`] returns
/// and [`TrainError::InvalidTarget`](crate::train::TrainError::InvalidTarget)
/// carries. Its `Display` says what is wrong, with the value, and the fix
/// when there is an obvious one.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::loss::{Target, TargetError};
/// use staticnet::{BinaryCrossEntropy, CrossEntropy};
///
/// let class = <usize as Target<CrossEntropy, f32, 3>>::check(&3);
/// assert_eq!(class, Err(TargetError::ClassOutOfRange { class: 3, classes: 3 }));
/// let t = SVector::<f32, 1>::from([-1.0]);
/// let err = <_ as Target<BinaryCrossEntropy, f32, 1>>::check(&t).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "its element 0 is -1, outside [0, 1], where `BinaryCrossEntropy` takes \
///      probabilities; for labels −1 and 1, map −1 to 0"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum TargetError {
    /// A class index of [`CrossEntropy`] that is not below the number of
    /// outputs (one logit per class).
    ClassOutOfRange {
        /// The class index.
        class: usize,
        /// The number of classes: the network's outputs.
        classes: usize,
    },
    /// [`CrossEntropy`] over a single output: the softmax of one logit is
    /// 1, so the loss is always 0 and nothing is learned.
    OneOutput,
    /// A target element that is NaN or infinite.
    NotFinite {
        /// The element's index in the target.
        element: usize,
        /// Its value.
        value: f64,
    },
    /// A [`BinaryCrossEntropy`] target element outside `[0, 1]`.
    OutsideUnitInterval {
        /// The element's index in the target.
        element: usize,
        /// Its value.
        value: f64,
    },
    /// A negative element of a [`CrossEntropy`] probability target.
    NegativeProbability {
        /// The element's index in the target.
        element: usize,
        /// Its value.
        value: f64,
    },
    /// Another reason, in words (for losses defined outside this crate).
    Other(&'static str),
}

impl TargetError {
    /// `Ok` if `value` is finite, else [`TargetError::NotFinite`].
    pub fn check_finite<T: Scalar>(element: usize, value: T) -> Result<(), TargetError> {
        if value.is_finite() {
            Ok(())
        } else {
            Err(TargetError::NotFinite {
                element,
                value: value.as_f64(),
            })
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TargetError::ClassOutOfRange { class, classes } => {
                write!(f, "class {class} is out of range for {classes} outputs")?;
                if classes > 0 {
                    write!(f, " (classes 0 to {})", classes - 1)?;
                }
                if class == classes {
                    write!(
                        f,
                        "; are the labels counted from 1 (subtract 1), or does the network need \
                         {} outputs?",
                        class + 1
                    )
                } else {
                    write!(
                        f,
                        "; the network needs one output per class ({} or more for this label)",
                        class.saturating_add(1)
                    )
                }
            }
            TargetError::OneOutput => f.write_str(
                "`CrossEntropy` over a single output is always 0 (the softmax of one logit is \
                 1), so nothing would be learned; a one-output network needs \
                 `BinaryCrossEntropy` (targets 0 or 1), or give the network one output per class",
            ),
            TargetError::NotFinite { element, value } => write!(
                f,
                "its element {element} is {value}; every target value must be finite (fill in \
                 or drop missing values)"
            ),
            TargetError::OutsideUnitInterval { element, value } => {
                write!(
                    f,
                    "its element {element} is {}, outside [0, 1], where `BinaryCrossEntropy` \
                     takes probabilities",
                    Short(value)
                )?;
                if value == -1.0 {
                    f.write_str("; for labels −1 and 1, map −1 to 0")
                } else if value > 1.0 && value % 1.0 == 0.0 {
                    f.write_str("; for class indices, use `CrossEntropy` with one output per class")
                } else {
                    Ok(())
                }
            }
            TargetError::NegativeProbability { element, value } => write!(
                f,
                "its element {element} is {}; a probability target of `CrossEntropy` must be ≥ 0",
                Short(value)
            ),
            TargetError::Other(reason) => f.write_str(reason),
        }
    }
}

impl core::error::Error for TargetError {}

/// A value as it was given: an `f32` (widened to `f64` on the way) in the
/// shortest form that reads back as that `f32` (`1.2`, not
/// `1.2000000476837158`), any other value in full.
struct Short(f64);

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let narrow = self.0 as f32;
        if narrow as f64 == self.0 {
            write!(f, "{narrow}")
        } else {
            write!(f, "{}", self.0)
        }
    }
}
