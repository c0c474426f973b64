//! Optimizers: rules that turn a gradient into a parameter update.
//!
//! An optimizer's state (momentum, Adam's moments) is a value of the
//! network's own type, so it has the parameters' static shape and lives
//! wherever the optimizer lives: on the stack, in a `static`, never on a heap.
//!
//! Every [`Optimizer::step`] is all-or-nothing: it first computes the update
//! without writing anything, and if any new parameter or state value would be
//! NaN or infinite (a diverging run, a NaN gradient) it returns
//! [`NonFinite`] and leaves the network and its own state exactly as they were.
//!
//! Hyperparameters are `f64` and are rounded to the network's scalar type at
//! each step, as PyTorch does with its Python-float hyperparameters, whose
//! update formulas these follow. The constructors and setters take any
//! value; [`Optimizer::check`] says whether each is in its allowed range
//! (the learning rate finite and `> 0`, a momentum or a `β` in `[0, 1)`, …),
//! and [`Trainer::fit`](crate::train::Trainer::fit) calls it before the first
//! step, so that a setting such as `β₁ = 1` is reported as such and not as a
//! diverging run.

mod adam;
mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;

use crate::train::InvalidSetting;
use crate::{Params, Scalar};

/// The update was not applied: it would have made a parameter or an
/// optimizer state value NaN or infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonFinite;

impl core::fmt::Display for NonFinite {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the update would make a parameter non-finite; nothing was changed")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for NonFinite {}

/// A rule that updates the parameters of a network `N` in scalar type `T`
/// from a gradient.
pub trait Optimizer<T: Scalar, N: Params<T>> {
    /// Applies one update `θ ← step(θ, ∂L/∂θ)`, or changes nothing and
    /// returns [`NonFinite`] if the result would not be finite.
    fn step(&mut self, net: &mut N, grad: &N) -> Result<(), NonFinite>;
    /// The current learning rate.
    fn learning_rate(&self) -> f64;
    /// Sets the learning rate (a schedule calls this between epochs).
    fn set_learning_rate(&mut self, learning_rate: f64);
    /// `Ok` if every setting is in its allowed range, else the first that
    /// is not, with its name, value and range. Trainers call it before the
    /// first step. The provided method checks the learning rate (finite and
    /// `> 0`); an optimizer with more settings checks them too.
    ///
    /// ```
    /// use staticnet::Dense;
    /// use staticnet::optim::{Optimizer, Sgd};
    /// use staticnet::train::InvalidSetting;
    ///
    /// let sgd = Sgd::<Dense<2, 1>>::new::<f32>(-0.1);
    /// assert_eq!(
    ///     Optimizer::<f32, _>::check(&sgd),
    ///     Err(InvalidSetting { setting: "learning rate", value: -0.1, allowed: "finite and > 0" })
    /// );
    /// ```
    fn check(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::check_positive("learning rate", self.learning_rate())
    }
}
