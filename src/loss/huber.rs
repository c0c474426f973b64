//! [`Huber`]: quadratic near the target, linear beyond a threshold.

use super::{Loss, elementwise_loss};
use crate::Scalar;
use crate::scalar::c;

/// The Huber loss with threshold `δ` (default 1), averaged over the outputs:
///
/// `ℓ(y, t) = (1/N) Σₖ h(yₖ − tₖ)`, `h(d) = ½ d²` if `|d| ≤ δ`, else
/// `δ (|d| − ½ δ)`; `∂ℓ/∂yₖ = h'(yₖ − tₖ) / N` with `h'(d) = d` if
/// `|d| ≤ δ`, else `δ sign(d)`
///
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

impl<T> Loss for Huber<T> {}

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
