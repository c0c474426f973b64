//! [`MeanSquared`]: the square loss.

use super::{Loss, TargetError, elementwise_loss};

/// The square loss, averaged over the outputs:
///
/// `ℓ(y, t) = (1/N) Σₖ (yₖ − tₖ)²`, `∂ℓ/∂yₖ = 2 (yₖ − tₖ) / N`
///
/// (PyTorch's `MSELoss`). Target: an `SVector<T, N>` of the prediction's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeanSquared;

impl Loss for MeanSquared {}

elementwise_loss!(
    MeanSquared,
    |_l, y, t| {
        let d = y - t;
        (d * d, d + d)
    },
    |k, t| TargetError::check_finite(k, t)
);
