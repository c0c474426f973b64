//! Adam with decoupled weight decay (AdamW).

use super::{NonFinite, Optimizer};
use crate::train::InvalidSetting;
use crate::{Params, Scalar, kernels};

/// Adam (Kingma & Ba, 2015) with decoupled weight decay (AdamW, Loshchilov &
/// Hutter, 2019), with PyTorch's `torch.optim.AdamW` update at step `t`:
///
/// ```text
/// θ ← θ (1 − η λ)
/// m ← m + (1 − β₁)(g − m)
/// v ← β₂ v + (1 − β₂) g²
/// θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// Defaults: `β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8`, `λ = 0` (plain Adam).
/// Allowed settings ([`Optimizer::check`], which trainers call before they
/// start): `η` finite and `> 0`; `β₁` and `β₂` in `[0, 1)` (at 1 the bias
/// correction `1 − βᵗ` is 0); `ε` finite and `> 0` (PyTorch allows 0, but
/// then a parameter whose gradient has always been 0 gets `0 / 0`); `λ`
/// finite and `≥ 0`.
/// The moments `m` and `v` are values of the network's type `N`:
/// `2 · size_of::<N>()` bytes.
///
/// ```
/// use staticnet::optim::{Adam, Optimizer};
/// use staticnet::Dense;
///
/// let mut layer = Dense::<1, 1, f64>::from_columns([[1.0]], [0.0]);
/// let grad = Dense::<1, 1, f64>::from_columns([[0.5]], [-2.0]);
/// let mut adam = Adam::new(0.1);
/// adam.step(&mut layer, &grad).unwrap();
/// // Adam's first step moves every parameter by about η against its gradient's sign.
/// assert!((layer.weight[0] - 0.9).abs() < 1e-6);
/// assert!((layer.bias[0] - 0.1).abs() < 1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct Adam<N> {
    learning_rate: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    t: u32,
    m: N,
    v: N,
}

impl<N> Adam<N> {
    /// Adam with learning rate `η` and the default `β₁`, `β₂`, `ε`, no weight decay.
    pub fn new<T: Scalar>(learning_rate: f64) -> Self
    where
        N: Params<T>,
    {
        Adam {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            t: 0,
            m: N::zeros(),
            v: N::zeros(),
        }
    }

    /// Sets `β₁` and `β₂`, the decay rates of the moment estimates, each in
    /// `[0, 1)`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// Sets `ε > 0`, added to the denominator.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the decoupled weight decay `λ ≥ 0` (AdamW): `θ ← θ (1 − η λ)`
    /// each step.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// The number of steps taken.
    pub fn steps(&self) -> u32 {
        self.t
    }

    /// The first and second moment estimates `(m, v)`.
    pub fn moments(&self) -> (&N, &N) {
        (&self.m, &self.v)
    }
}

impl<T: Scalar, N: Params<T>> Optimizer<T, N> for Adam<N> {
    fn step(&mut self, net: &mut N, grad: &N) -> Result<(), NonFinite> {
        let t = self.t.saturating_add(1);
        // As PyTorch: the bias corrections in double precision, then rounded.
        let bc1 = 1.0 - powi_f64(self.beta1, t);
        let bc2 = 1.0 - powi_f64(self.beta2, t);
        let step_size = T::of_f64(self.learning_rate / bc1);
        let bc2_sqrt = T::of_f64(nalgebra::ComplexField::sqrt(bc2));
        let decay = T::of_f64(1.0 - self.learning_rate * self.weight_decay);
        let use_decay = self.weight_decay != 0.0;
        let one_minus_b1 = T::of_f64(1.0 - self.beta1);
        let b2 = T::of_f64(self.beta2);
        let one_minus_b2 = T::of_f64(1.0 - self.beta2);
        let eps = T::of_f64(self.eps);
        // (θ, g, m, v) ↦ (θ', m', v').
        let rule = |p: T, g: T, m: T, v: T| -> (T, T, T) {
            let p = if use_decay { p * decay } else { p };
            let m = m + one_minus_b1 * (g - m);
            let v = v * b2 + one_minus_b2 * g * g;
            let denom = v.sqrt() / bc2_sqrt + eps;
            (p - step_size * (m / denom), m, v)
        };

        let mut finite = true;
        N::zip(
            [&*net, grad, &self.m, &self.v],
            [],
            &mut |[p, g, m, v], []| {
                kernels::dispatch(
                    #[inline(always)]
                    || {
                        for (((&p, &g), &m), &v) in p.iter().zip(g).zip(m).zip(v) {
                            let (p, m, v) = rule(p, g, m, v);
                            finite &= p.is_finite() && m.is_finite() && v.is_finite();
                        }
                    },
                )
            },
        );
        if !finite {
            return Err(NonFinite);
        }
        N::zip(
            [grad],
            [net, &mut self.m, &mut self.v],
            &mut |[g], [p, m, v]| {
                kernels::dispatch(
                    #[inline(always)]
                    || {
                        for (((p, &g), m), v) in
                            p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                        {
                            (*p, *m, *v) = rule(*p, g, *m, *v);
                        }
                    },
                )
            },
        );
        self.t = t;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// `η` finite and `> 0`, `β₁` and `β₂` in `[0, 1)`, `ε` finite and
    /// `> 0`, `λ` finite and `≥ 0`.
    fn check(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::check_positive("learning rate", self.learning_rate)?;
        InvalidSetting::check_fraction("Adam β₁", self.beta1)?;
        InvalidSetting::check_fraction("Adam β₂", self.beta2)?;
        InvalidSetting::check_positive("Adam ε", self.eps)?;
        InvalidSetting::check_non_negative("Adam weight decay", self.weight_decay)
    }
}

/// `x^n` by repeated squaring in `f64` (exact to a few ulps, no libm needed).
fn powi_f64(x: f64, n: u32) -> f64 {
    let (mut base, mut n, mut acc) = (x, n, 1.0);
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    acc
}
