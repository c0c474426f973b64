//! Learning-rate schedules: the learning rate of each epoch.

use crate::train::InvalidSetting;

/// Gives the learning rate for an epoch from the optimizer's initial one.
/// A trainer calls it before every epoch.
///
/// Closures `Fn(base, epoch, epochs) -> f64` are schedules too:
///
/// ```
/// use staticnet::schedule::{Cosine, Schedule, StepDecay};
/// let warmup = |base: f64, epoch: usize, _: usize| base * ((epoch + 1) as f64 / 5.0).min(1.0);
/// assert_eq!(warmup.learning_rate(0.1, 0, 30), 0.1 * 0.2);
/// assert_eq!(StepDecay { every: 10, gamma: 0.5 }.learning_rate(0.1, 25, 30), 0.025);
/// assert_eq!(Cosine { min: 0.0 }.learning_rate(0.1, 0, 30), 0.1);
/// ```
///
/// A trainer checks the schedule's settings before it starts
/// ([`check`](Schedule::check)), and each learning rate it gives before the
/// epoch that uses it: finite and `≥ 0`.
pub trait Schedule {
    /// The learning rate for `epoch` (counted from 0) of `epochs`, given the
    /// initial learning rate `base`.
    fn learning_rate(&self, base: f64, epoch: usize, epochs: usize) -> f64;

    /// `Ok` if the schedule's settings are in their allowed ranges, else the
    /// first that is not. Provided as `Ok` (a closure has no settings).
    ///
    /// ```
    /// use staticnet::schedule::{Cosine, Schedule, StepDecay};
    /// use staticnet::train::InvalidSetting;
    /// assert_eq!(StepDecay { every: 10, gamma: 0.5 }.check(), Ok(()));
    /// assert_eq!(
    ///     StepDecay { every: 0, gamma: 0.5 }.check(),
    ///     Err(InvalidSetting { setting: "StepDecay `every`", value: 0.0, allowed: "≥ 1" })
    /// );
    /// assert_eq!(Cosine { min: -1e-3 }.check().unwrap_err().allowed, "finite and ≥ 0");
    /// ```
    fn check(&self) -> Result<(), InvalidSetting> {
        Ok(())
    }
}

/// The initial learning rate throughout.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Constant;

impl Schedule for Constant {
    fn learning_rate(&self, base: f64, _: usize, _: usize) -> f64 {
        base
    }
}

/// Multiplies the learning rate by `gamma` every `every` epochs:
/// `η_e = η · gamma^⌊e / every⌋` (PyTorch's `StepLR`).
///
/// Allowed settings ([`Schedule::check`]): `every ≥ 1`, `gamma` finite and
/// `> 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepDecay {
    /// Epochs between decays, `≥ 1` (a trainer reports 0;
    /// [`learning_rate`](Schedule::learning_rate) alone treats it as 1).
    pub every: usize,
    /// The factor applied at each decay, finite and `> 0`.
    pub gamma: f64,
}

impl Schedule for StepDecay {
    fn learning_rate(&self, base: f64, epoch: usize, _: usize) -> f64 {
        let k = epoch / self.every.max(1);
        let mut lr = base;
        for _ in 0..k {
            lr *= self.gamma;
        }
        lr
    }

    fn check(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::check(
            "StepDecay `every`",
            self.every as f64,
            self.every >= 1,
            "≥ 1",
        )?;
        InvalidSetting::check_positive("StepDecay `gamma`", self.gamma)
    }
}

/// Cosine annealing from the initial rate down to `min` over the run:
/// `η_e = min + (η − min)(1 + cos(π e / epochs)) / 2` (PyTorch's
/// `CosineAnnealingLR` with `T_max = epochs`).
///
/// Allowed settings ([`Schedule::check`]): `min` finite and `≥ 0`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cosine {
    /// The learning rate approached at the end, finite and `≥ 0`.
    pub min: f64,
}

impl Schedule for Cosine {
    fn learning_rate(&self, base: f64, epoch: usize, epochs: usize) -> f64 {
        let phase = core::f64::consts::PI * epoch as f64 / epochs.max(1) as f64;
        self.min + (base - self.min) * (1.0 + libm::cos(phase)) / 2.0
    }

    fn check(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::check_non_negative("Cosine `min`", self.min)
    }
}

impl<F: Fn(f64, usize, usize) -> f64> Schedule for F {
    fn learning_rate(&self, base: f64, epoch: usize, epochs: usize) -> f64 {
        self(base, epoch, epochs)
    }
}
