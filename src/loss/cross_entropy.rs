//! [`CrossEntropy`]: cross-entropy from logits, with softmax fused in.

use nalgebra::{SMatrix, SVector};

use super::{Loss, Target, TargetError, check_lengths, per_sample};
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
