//! Losses: a scalar score of one prediction against its target, and its
//! gradient with respect to the prediction.
//!
//! Conventions follow PyTorch's defaults (`reduction = "mean"`), so numbers
//! can be compared one for one: per sample, [`MeanSquared`],
//! [`BinaryCrossEntropy`] and [`Huber`] average over the outputs and
//! [`CrossEntropy`] sums over the classes; over a batch, every loss is the
//! mean of the per-sample losses.

use nalgebra::{SMatrix, SVector};

use crate::kernels;
use crate::scalar::{c, math};
use crate::shape::{Columns, OneSample, TargetSize};
use crate::tensor::{Batch, Sample};
use crate::{Scalar, Tensor};

/// A valid target for loss `L` and a prediction `SVector<T, P>`: this is
/// where a loss's formulas live. Implement it (with an empty `impl Loss for
/// MyLoss {}`) to add a loss; call it through [`Loss`].
///
/// The loss's target types implement it: a class index `usize` or a
/// probability vector for [`CrossEntropy`], a vector of the prediction's size
/// for the others. A vector of another size is a compile error naming both
/// sizes ([`TargetSize`]).
pub trait Target<L, T: Scalar, const P: usize> {
    /// The loss `ℓ(y, t)`.
    fn loss(&self, loss: &L, y: &SVector<T, P>) -> T {
        self.loss_and_grad(loss, y).0
    }
    /// The loss and its gradient `∂ℓ/∂y`.
    fn loss_and_grad(&self, loss: &L, y: &SVector<T, P>) -> (T, SVector<T, P>);
    /// Whether this is a valid target (a class index in range, finite
    /// values, probabilities in `[0, 1]`). Trainers check every target with
    /// it before they start.
    fn is_valid(&self) -> bool;
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
pub trait Prediction<L, Tg>: Sample {
    /// The loss `ℓ(y, t)`.
    fn loss(loss: &L, y: &Self, target: &Tg) -> Self::Scalar;
    /// The loss and its gradient `∂ℓ/∂y`.
    fn loss_and_grad(loss: &L, y: &Self, target: &Tg) -> (Self::Scalar, Self);
    /// Whether `target` is valid for this loss and prediction size.
    fn is_valid_target(target: &Tg) -> bool;
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
    fn is_valid_target(target: &Tg) -> bool {
        target.is_valid()
    }
    #[inline]
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
        let mut sum = <Y::Scalar as Scalar>::ZERO;
        for (j, t) in targets.iter().enumerate() {
            sum += Y::Column::loss(self, &y.column(j), t);
        }
        sum / c(B.max(1) as f64)
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
        let mut grad = Y::zeros();
        // The columns lie one after another in the storage (see `Batch`).
        let len = n * <Y::Column as Tensor>::ROWS;
        let sum = Y::Column::batch_loss_and_grad(
            self,
            &y.as_slice()[..len],
            &targets[..n],
            scale,
            &mut grad.as_mut_slice()[..len],
        );
        (sum * scale, grad)
    }
}

/// The square loss, averaged over the outputs: `ℓ(y, t) = (1/N) Σₖ (yₖ − tₖ)²`
/// (PyTorch's `MSELoss`). Target: an `SVector<T, N>` of the prediction's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeanSquared;

/// Cross-entropy from logits, with softmax fused in:
/// `ℓ(y, c) = log Σⱼ e^(yⱼ) − y_c` for a class index `c: usize`, and
/// `ℓ(y, p) = −Σₖ pₖ log softmax(y)ₖ` for a probability vector `p:
/// SVector<T, N>` (PyTorch's `CrossEntropyLoss`). The log-sum-exp is shifted
/// by the maximum logit, so the loss is finite for logits of any finite size.
///
/// A class index `c ≥ N` makes the loss panic; trainers reject such targets
/// (with [`Prediction::is_valid_target`]) before they start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrossEntropy;

/// Binary cross-entropy from logits, averaged over the outputs:
/// `ℓ(y, t) = (1/N) Σₖ [max(yₖ, 0) − yₖ tₖ + log(1 + e^(−|yₖ|))]`, with
/// targets `tₖ ∈ [0, 1]` (PyTorch's `BCEWithLogitsLoss`). Target: an
/// `SVector<T, N>` of the prediction's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropy;

/// The Huber loss with threshold `δ` (default 1), averaged over the outputs:
/// per output `½ d²` if `|d| ≤ δ`, else `δ (|d| − ½ δ)`, with `d = y − t`
/// (PyTorch's `HuberLoss`). Target: an `SVector<T, N>` of the prediction's
/// size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Huber<T = f32> {
    /// The threshold `δ > 0` between the quadratic and the linear part.
    pub delta: T,
}

impl<T> Huber<T> {
    /// A Huber loss with threshold `delta`.
    pub const fn new(delta: T) -> Self {
        Huber { delta }
    }
}

impl<T: Scalar> Default for Huber<T> {
    fn default() -> Self {
        Huber { delta: T::one() }
    }
}

impl Loss for MeanSquared {}
impl Loss for CrossEntropy {}
impl Loss for BinaryCrossEntropy {}
impl<T> Loss for Huber<T> {}

/// Implements `Target` for a loss whose target is a vector of the
/// prediction's size, from an element-wise `(loss, derivative)` function
/// averaged over the outputs.
macro_rules! elementwise_loss {
    ($loss:ty, |$l:ident, $y:ident, $t:ident| $body:expr, |$tv:ident| $valid:expr) => {
        impl<T: Scalar, const P: usize, const N: usize, const B: usize> Target<$loss, T, P>
            for SMatrix<T, N, B>
        where
            Columns: OneSample<B>,
            $loss: TargetSize<N, P>,
        {
            #[inline]
            fn loss_and_grad(&self, $l: &$loss, y: &SVector<T, P>) -> (T, SVector<T, P>) {
                let inv = T::one() / c(P.max(1) as f64);
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
            fn is_valid(&self) -> bool {
                self.iter().all(|&$tv| $valid)
            }
        }
    };
}

elementwise_loss!(
    MeanSquared,
    |_l, y, t| {
        let d = y - t;
        (d * d, d + d)
    },
    |t| t.is_finite()
);

elementwise_loss!(
    BinaryCrossEntropy,
    |_l, y, t| {
        // One exponential for the loss and the sigmoid: with e = e^(−|y|),
        // σ(y) = 1 / (1 + e) for y ≥ 0 and e / (1 + e) otherwise, exactly
        // as `Scalar::sigmoid` computes it.
        let e = math::exp(-y.abs());
        let v = y.max(T::zero()) - y * t + math::ln_1p(e);
        let s = if y >= T::zero() {
            T::one() / (T::one() + e)
        } else {
            e / (T::one() + e)
        };
        (v, s - t)
    },
    |t| t >= T::zero() && t <= T::one()
);

elementwise_loss!(
    Huber<T>,
    |l, y, t| {
        let d = y - t;
        let delta = l.delta;
        if d.abs() <= delta {
            (c::<T>(0.5) * d * d, d)
        } else {
            (delta * (d.abs() - c::<T>(0.5) * delta), delta * d.signum())
        }
    },
    |t| t.is_finite()
);

/// `(log Σ e^y, softmax(y))`, stable for any finite logits: each `e^(y − m)`
/// computed once, for the sum and for the softmax (the same values, in the
/// same order, as `Softmax` computes them).
fn log_softmax_parts<T: Scalar, const P: usize>(y: &SVector<T, P>) -> (T, SVector<T, P>) {
    let m = max_logit(y.as_slice());
    let mut s = SVector::<T, P>::zeros();
    kernels::map(y.as_slice(), s.as_mut_slice(), |v| math::exp(v - m));
    let sum = normalize(s.as_mut_slice());
    (m + math::ln(sum), s)
}

/// The largest logit of one sample: the shift that keeps every
/// exponential at most 1.
fn max_logit<T: Scalar>(y: &[T]) -> T {
    y.iter().fold(T::min_value().unwrap(), |m, &v| m.max(v))
}

/// Divides one sample's exponentials by their sum, in place, and returns
/// the sum.
fn normalize<T: Scalar>(e: &mut [T]) -> T {
    let sum = e.iter().fold(T::zero(), |a, &v| a + v);
    let inv = T::one() / sum;
    for v in e.iter_mut() {
        *v *= inv;
    }
    sum
}

impl<T: Scalar, const P: usize> Target<CrossEntropy, T, P> for usize {
    #[inline]
    fn loss(&self, _: &CrossEntropy, y: &SVector<T, P>) -> T {
        let class = *self;
        assert!(
            class < P,
            "class index {class} out of range for {P} classes"
        );
        let m = max_logit(y.as_slice());
        let sum = y.iter().fold(T::zero(), |s, &v| s + math::exp(v - m));
        m + math::ln(sum) - y[class]
    }
    #[inline]
    fn loss_and_grad(&self, _: &CrossEntropy, y: &SVector<T, P>) -> (T, SVector<T, P>) {
        let class = *self;
        assert!(
            class < P,
            "class index {class} out of range for {P} classes"
        );
        let (lse, mut s) = log_softmax_parts(y);
        s[class] -= T::one();
        (lse - y[class], s)
    }
    fn is_valid(&self) -> bool {
        *self < P
    }
    /// The whole batch at once: the exponentials of up to 256 logits go
    /// through one vectorised loop, where sample by sample each few would
    /// pay for a call and a scalar remainder loop of their own (twice as
    /// fast for 32 samples of 10 classes). Each value is computed exactly as
    /// [`loss_and_grad`](Target::loss_and_grad) computes it.
    fn batch_loss_and_grad(
        loss: &CrossEntropy,
        y: &[T],
        targets: &[usize],
        scale: T,
        grad: &mut [T],
    ) -> T {
        if P == 0 || P > GROUP {
            return per_sample::<_, _, _, P>(loss, y, targets, scale, grad);
        }
        check_lengths(P, y, targets, grad);
        let per_group = GROUP / P;
        let mut shifted = [T::ZERO; GROUP];
        let mut maxima = [T::ZERO; GROUP];
        let mut sum = T::ZERO;
        let groups = y
            .chunks(per_group * P)
            .zip(grad.chunks_mut(per_group * P))
            .zip(targets.chunks(per_group));
        for ((yg, gg), tg) in groups {
            let shifted = &mut shifted[..yg.len()];
            for ((yj, sj), m) in yg
                .chunks_exact(P)
                .zip(shifted.chunks_exact_mut(P))
                .zip(&mut maxima)
            {
                *m = max_logit(yj);
                for (s, &v) in sj.iter_mut().zip(yj) {
                    *s = v - *m;
                }
            }
            kernels::map(shifted, gg, math::exp);
            for (((yj, gj), &m), &class) in yg
                .chunks_exact(P)
                .zip(gg.chunks_exact_mut(P))
                .zip(&maxima)
                .zip(tg)
            {
                assert!(
                    class < P,
                    "class index {class} out of range for {P} classes"
                );
                let total = normalize(gj);
                gj[class] -= T::one();
                sum += m + math::ln(total) - yj[class];
                for g in gj.iter_mut() {
                    *g *= scale;
                }
            }
        }
        sum
    }
}

/// How many logits the batched cross-entropy exponentiates in one call.
const GROUP: usize = 256;

impl<T: Scalar, const P: usize, const N: usize, const B: usize> Target<CrossEntropy, T, P>
    for SMatrix<T, N, B>
where
    Columns: OneSample<B>,
    CrossEntropy: TargetSize<N, P>,
{
    #[inline]
    fn loss_and_grad(&self, _: &CrossEntropy, y: &SVector<T, P>) -> (T, SVector<T, P>) {
        let (lse, mut g) = log_softmax_parts(y);
        let total = self.iter().fold(T::zero(), |a, &v| a + v);
        let mut loss = T::zero();
        // ∂ℓ/∂y = softmax(y) Σp − p.
        for ((gk, &yk), &pk) in g.iter_mut().zip(y.iter()).zip(self.as_slice()) {
            loss += pk * (lse - yk);
            *gk = *gk * total - pk;
        }
        (loss, g)
    }
    fn is_valid(&self) -> bool {
        self.iter().all(|&v| v.is_finite() && v >= T::zero())
    }
}
