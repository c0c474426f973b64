//! [`BinaryCrossEntropy`]: cross-entropy from logits, output by output.

use super::{Loss, TargetError, elementwise_loss};
use crate::math;

/// Binary cross-entropy from logits, averaged over the outputs:
///
/// `ℓ(y, t) = (1/N) Σₖ [max(yₖ, 0) − yₖ tₖ + log(1 + e^(−|yₖ|))]`,
/// `∂ℓ/∂yₖ = (σ(yₖ) − tₖ) / N`,
///
/// with targets `tₖ ∈ [0, 1]` (PyTorch's `BCEWithLogitsLoss`): the
/// cross-entropy `−t log σ(y) − (1 − t) log(1 − σ(y))` written so that it
/// neither overflows nor loses the tail. Target: an `SVector<T, N>` of the
/// prediction's size; a target element outside `[0, 1]` (NaN included) is a
/// [`TargetError`], which trainers report before they start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropy;

impl Loss for BinaryCrossEntropy {}

elementwise_loss!(
    BinaryCrossEntropy,
    |_l, y, t| {
        // One exponential for the loss and the sigmoid: with e = e^(−|y|),
        // σ(y) = 1 / (1 + e) for y ≥ 0 and e / (1 + e) otherwise, exactly
        // as `Scalar::sigmoid` computes it.
        let e = math::exp(-y.abs());
        let v = y.max(T::zero()) - y * t + math::ln_1p_unit(e);
        let s = if y >= T::zero() {
            T::one() / (T::one() + e)
        } else {
            e / (T::one() + e)
        };
        (v, s - t)
    },
    |k, t| {
        TargetError::check_finite(k, t)?;
        if t >= T::zero() && t <= T::one() {
            Ok(())
        } else {
            Err(TargetError::OutsideUnitInterval {
                element: k,
                value: t.as_f64(),
            })
        }
    }
);
