//! Stochastic gradient descent with momentum, Nesterov and weight decay.

use super::{NonFinite, Optimizer};
use crate::train::InvalidSetting;
use crate::{Params, Scalar, kernels};

/// Stochastic gradient descent, with PyTorch's `torch.optim.SGD` update
/// (dampening 0): with `d = g + λθ`,
///
/// * plain (`momentum = 0`): `θ ← θ − η d`;
/// * momentum `μ`: `b ← μ b + d` (`b = d` at the first step), `θ ← θ − η b`;
/// * Nesterov: as momentum, but `θ ← θ − η (d + μ b)`.
///
/// The velocity `b` is a value of the network's type `N`: `size_of::<N>()`
/// bytes, allocated even when `momentum = 0`.
///
/// Allowed settings ([`Optimizer::check`], which trainers call before they
/// start): the learning rate `η` finite and `> 0`, the momentum `μ` in
/// `[0, 1)` (and `> 0` with Nesterov, as PyTorch requires), the weight
/// decay `λ` finite and `≥ 0`.
///
/// ```
/// use staticnet::optim::{Optimizer, Sgd};
/// use staticnet::{Dense, Params};
///
/// let mut layer = Dense::<1, 1, f64>::from_columns([[1.0]], [0.0]);
/// let grad = Dense::<1, 1, f64>::from_columns([[0.5]], [2.0]);
/// let mut sgd = Sgd::new(0.1);
/// sgd.step(&mut layer, &grad).unwrap();
/// assert_eq!(layer.weight[0], 0.95);
/// assert_eq!(layer.bias[0], -0.2);
/// ```
#[derive(Debug, Clone)]
pub struct Sgd<N> {
    learning_rate: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
    started: bool,
    velocity: N,
}

impl<N> Sgd<N> {
    /// Plain SGD with learning rate `η`, no momentum, no weight decay.
    pub fn new<T: Scalar>(learning_rate: f64) -> Self
    where
        N: Params<T>,
    {
        Sgd {
            learning_rate,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            started: false,
            velocity: N::zeros(),
        }
    }

    /// Sets the momentum `μ` (0 to turn it off), in `[0, 1)`.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Uses Nesterov momentum (needs `momentum > 0`: with `momentum = 0`
    /// [`Optimizer::check`] reports the momentum).
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the L2 weight decay `λ ≥ 0` (added to the gradient, as in PyTorch).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// The velocity `b`, a value of the network's type.
    pub fn velocity(&self) -> &N {
        &self.velocity
    }
}

impl<T: Scalar, N: Params<T>> Optimizer<T, N> for Sgd<N> {
    fn step(&mut self, net: &mut N, grad: &N) -> Result<(), NonFinite> {
        let lr = T::of_f64(self.learning_rate);
        let mu = T::of_f64(self.momentum);
        let wd = T::of_f64(self.weight_decay);
        let (use_momentum, nesterov, started) = (self.momentum != 0.0, self.nesterov, self.started);
        let decay = self.weight_decay != 0.0;
        if !use_momentum {
            // θ' = θ − η d, d = g + λθ: no velocity to read or write, and
            // loops without branches, which the compiler vectorises. The
            // same arithmetic as `rule` below, so the same bits.
            let mut finite = true;
            N::zip([&*net, grad], [], &mut |[p, g], []| {
                finite &= plain_update_is_finite(p, g, lr, wd, decay);
            });
            if !finite {
                return Err(NonFinite);
            }
            N::zip([grad], [net], &mut |[g], [p]| {
                plain_update(p, g, lr, wd, decay)
            });
            self.started = true;
            return Ok(());
        }
        // The update of one parameter: (θ, g, b) ↦ (θ', b').
        let rule = |p: T, g: T, b: T| -> (T, T) {
            let d = if decay { g + wd * p } else { g };
            if !use_momentum {
                return (p - lr * d, b);
            }
            let b = if started { b * mu + d } else { d };
            let d = if nesterov { d + mu * b } else { b };
            (p - lr * d, b)
        };

        let mut finite = true;
        N::zip([&*net, grad, &self.velocity], [], &mut |[p, g, b], []| {
            kernels::dispatch(
                #[inline(always)]
                || {
                    for ((&p, &g), &b) in p.iter().zip(g).zip(b) {
                        let (p, b) = rule(p, g, b);
                        finite &= p.is_finite() && b.is_finite();
                    }
                },
            )
        });
        if !finite {
            return Err(NonFinite);
        }
        N::zip([grad], [net, &mut self.velocity], &mut |[g], [p, b]| {
            kernels::dispatch(
                #[inline(always)]
                || {
                    for ((p, &g), b) in p.iter_mut().zip(g).zip(b.iter_mut()) {
                        (*p, *b) = rule(*p, g, *b);
                    }
                },
            )
        });
        self.started = true;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// The learning rate finite and `> 0`, the momentum in `[0, 1)` (and not
    /// 0 with Nesterov), the weight decay finite and `≥ 0`.
    fn check(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::check_positive("learning rate", self.learning_rate)?;
        InvalidSetting::check_fraction("Sgd momentum", self.momentum)?;
        InvalidSetting::check(
            "Sgd momentum",
            self.momentum,
            !self.nesterov || self.momentum > 0.0,
            "in (0, 1) with Nesterov momentum on",
        )?;
        InvalidSetting::check_non_negative("Sgd weight decay", self.weight_decay)
    }
}

/// Whether `θ − η (g + λθ)` (or `θ − η g` without decay) is finite for every
/// parameter. No early exit: a branch-free pass over the whole slice.
/// Without decay, one kernel call (which runs its own vector code; a
/// dispatch per tensor cost more than the small tensors' loops).
#[inline]
fn plain_update_is_finite<T: Scalar>(p: &[T], g: &[T], lr: T, wd: T, decay: bool) -> bool {
    if !decay {
        return kernels::sgd_finite(p, g, lr);
    }
    kernels::dispatch(
        #[inline(always)]
        || {
            let mut bad = false;
            for (&p, &g) in p.iter().zip(g) {
                bad |= !(p - lr * (g + wd * p)).is_finite();
            }
            !bad
        },
    )
}

/// `θ ← θ − η (g + λθ)` (or `θ − η g` without decay, one kernel call).
#[inline]
fn plain_update<T: Scalar>(p: &mut [T], g: &[T], lr: T, wd: T, decay: bool) {
    if !decay {
        return kernels::sgd_update(p, g, lr);
    }
    kernels::dispatch(
        #[inline(always)]
        || {
            for (p, &g) in p.iter_mut().zip(g) {
                *p = *p - lr * (g + wd * *p);
            }
        },
    )
}
