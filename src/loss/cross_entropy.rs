//! [`CrossEntropy`]: cross-entropy from logits, with softmax fused in.

use nalgebra::{SMatrix, SVector};

use super::{Loss, Target, TargetError, check_lengths, per_sample, sample_blocks};
use crate::shape::{Columns, OneSample, TargetSize};
use crate::{Scalar, kernels, math};

/// Cross-entropy from logits, with softmax fused in: for a class index
/// `c: usize`
///
/// `ℓ(y, c) = log Σⱼ e^(yⱼ) − y_c`, `∂ℓ/∂y = softmax(y) − e_c`,
///
/// and for a probability vector `p: SVector<T, N>`
///
/// `ℓ(y, p) = −Σₖ pₖ log softmax(y)ₖ`, `∂ℓ/∂y = softmax(y) Σₖ pₖ − p`
///
/// (PyTorch's `CrossEntropyLoss`). The log-sum-exp is shifted by the maximum
/// logit, so the loss is finite for logits of any finite size.
///
/// A class index `c ≥ N` makes the loss panic; trainers reject such targets
/// (with [`Prediction::check_target`](super::Prediction::check_target))
/// before they start, and, since the cross-entropy of a single logit is
/// always 0, every target of a one-output network
/// ([`TargetError::OneOutput`]: such a network needs
/// [`BinaryCrossEntropy`](crate::BinaryCrossEntropy)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrossEntropy;

impl Loss for CrossEntropy {}

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
/// exponential at most 1. `NaN`s are passed over, as `f32::max` would (a
/// compare and a select, where `max`'s `NaN` rule costs three more
/// instructions a logit).
#[inline(always)]
fn max_logit<T: Scalar>(y: &[T]) -> T {
    y.iter()
        .fold(T::min_value().unwrap(), |m, &v| if v > m { v } else { m })
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
    fn check(&self) -> Result<(), TargetError> {
        if P == 1 {
            Err(TargetError::OneOutput)
        } else if *self >= P {
            Err(TargetError::ClassOutOfRange {
                class: *self,
                classes: P,
            })
        } else {
            Ok(())
        }
    }
    /// The whole batch at once, in phases that each run over a group of
    /// up to 64 samples: the maxima, the shifted logits, their
    /// exponentials in one vectorised loop (in the gradient's storage), each
    /// sample's sum, the logarithms of those sums, then the gradients and
    /// the losses. Sample by sample, each phase waited for the one before it
    /// (a chain of a few tens of cycles each); phase by phase, the samples'
    /// work overlaps. Each value is computed exactly as
    /// [`loss_and_grad`](Target::loss_and_grad) computes it, and the losses
    /// are added in sample order. Always inlined, so that it is compiled
    /// for the vector instructions the batch loss was dispatched to.
    #[inline(always)]
    fn batch_loss_and_grad(
        loss: &CrossEntropy,
        y: &[T],
        targets: &[usize],
        scale: T,
        grad: &mut [T],
    ) -> T {
        if P == 0 {
            return per_sample::<_, _, _, P>(loss, y, targets, scale, grad);
        }
        check_lengths(P, y, targets, grad);
        for &class in targets {
            assert!(
                class < P,
                "class index {class} out of range for {P} classes"
            );
        }
        let mut maxima = [T::ZERO; SAMPLES];
        let mut totals = [T::ZERO; SAMPLES];
        let mut logs = [T::ZERO; SAMPLES];
        let mut sum = T::ZERO;
        for ((yg, gg), tg) in sample_blocks(P, SAMPLES, y, grad, targets) {
            let n = tg.len();
            for (yj, m) in yg.chunks_exact(P).zip(&mut maxima) {
                *m = max_logit(yj);
            }
            for ((yj, gj), &m) in yg.chunks_exact(P).zip(gg.chunks_exact_mut(P)).zip(&maxima) {
                for (g, &v) in gj.iter_mut().zip(yj) {
                    *g = v - m;
                }
            }
            kernels::map_in_place(gg, math::exp);
            for (gj, total) in gg.chunks_exact(P).zip(&mut totals) {
                *total = gj.iter().fold(T::zero(), |a, &v| a + v);
            }
            kernels::map(&totals[..n], &mut logs[..n], math::ln);
            // `softmax − e_c`, times `scale`, with the target's element
            // read first and written last: after a store to it, the wider
            // loads of a second pass would have to wait for that store to
            // reach the cache (it cannot be forwarded to them).
            for ((gj, &total), &class) in gg.chunks_exact_mut(P).zip(&totals).zip(tg) {
                let inv = T::one() / total;
                let target = gj[class] * inv - T::one();
                for g in gj.iter_mut() {
                    *g = *g * inv * scale;
                }
                gj[class] = target * scale;
            }
            for (((yj, &m), &log), &class) in yg.chunks_exact(P).zip(&maxima).zip(&logs).zip(tg) {
                sum += m + log - yj[class];
            }
        }
        sum
    }
}

/// How many samples the batched cross-entropy takes through each phase at
/// once.
const SAMPLES: usize = 64;

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
    fn check(&self) -> Result<(), TargetError> {
        if P == 1 {
            return Err(TargetError::OneOutput);
        }
        for (element, &value) in self.iter().enumerate() {
            TargetError::check_finite(element, value)?;
            if value < T::zero() {
                return Err(TargetError::NegativeProbability {
                    element,
                    value: value.as_f64(),
                });
            }
        }
        Ok(())
    }
}
