//! [`Huber`]: quadratic near the target, linear beyond a threshold.

use super::{Loss, TargetError, elementwise_loss};
use crate::scalar::c;
use crate::train::InvalidSetting;

/// The Huber loss with threshold `δ` (default 1), averaged over the outputs:
///
/// `ℓ(y, t) = (1/N) Σₖ h(yₖ − tₖ)`, `h(d) = ½ d²` if `|d| ≤ δ`, else
/// `δ (|d| − ½ δ)`; `∂ℓ/∂yₖ = h'(yₖ − tₖ) / N` with `h'(d) = d` if
/// `|d| ≤ δ`, else `δ sign(d)`
///
/// (PyTorch's `HuberLoss`). Target: an `SVector<T, N>` of the prediction's
/// size, in any scalar type: `δ` is kept as an `f64` and rounded to the
/// network's scalar type in the arithmetic, as the optimizers' settings are.
///
/// `δ` must be finite and `> 0`: [`Loss::check`] says so, and trainers call
/// it before they start.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::{Huber, Loss};
/// static LOSS: Huber = Huber::new(0.5);
/// let (y, t) = (SVector::from([2.0f64]), SVector::from([0.0]));
/// assert_eq!(LOSS.loss(&y, &t), 0.5 * (2.0 - 0.25)); // linear beyond δ
/// let (y, t) = (SVector::from([0.25f32]), SVector::from([0.0]));
/// assert_eq!(Huber::default().loss(&y, &t), 0.5 * 0.25 * 0.25); // quadratic within
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Huber {
    /// The threshold `δ > 0` between the quadratic and the linear part.
    pub delta: f64,
}

impl Huber {
    /// A Huber loss with threshold `delta`.
    pub const fn new(delta: f64) -> Self {
        Huber { delta }
    }
}

impl Default for Huber {
    /// `δ = 1`, PyTorch's default.
    fn default() -> Self {
        Huber { delta: 1.0 }
    }
}

impl Loss for Huber {
    /// `δ` must be finite and `> 0`.
    fn check(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::check_positive("Huber δ", self.delta)
    }
}

elementwise_loss!(
    Huber,
    |l, y, t| {
        let d = y - t;
        let delta = T::of_f64(l.delta);
        if d.abs() <= delta {
            (c::<T>(0.5) * d * d, d)
        } else {
            (delta * (d.abs() - c::<T>(0.5) * delta), delta * d.signum())
        }
    },
    |k, t| TargetError::check_finite(k, t)
);
