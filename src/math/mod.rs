//! The transcendental functions the crate uses: `f32`'s `eˣ`
//! ([`exp`](mod@exp)), `tanh x` ([`tanh`](mod@tanh)) and `ln(1 + x)` on
//! `[0, 1]` ([`log1p`]) our own, everything else from the `libm` crate,
//! and the fast rational `tanh` of [`FastTanh`](crate::FastTanh) and
//! [`FastSigmoid`](crate::FastSigmoid) ([`fast`]). Each sits beside its
//! error test.
//!
//! Never through `nalgebra`'s `ComplexField` methods: those switch to the C
//! library's functions when anything in the build enables `num-traits/std`
//! (criterion does, as a dev-dependency), which changes the last bits of
//! results between builds and between a host and a microcontroller.

use crate::Scalar;

pub(crate) mod exp;
pub(crate) mod fast;
pub(crate) mod log1p;
pub(crate) mod tanh;

use exp::exp_f32;
use log1p::ln_1p_unit_f32;
use tanh::tanh_f32;

/// `eˣ`, `eˣ − 1`, `ln x`, `ln(1 + x)` on `[0, 1]`, `tanh x` for one
/// scalar type: a supertrait of the sealed side of [`Scalar`], so users can
/// neither name nor call it. Call the functions below instead.
pub trait Functions: Sized {
    /// `eˣ`.
    fn exp(x: Self) -> Self;
    /// `eˣ − 1`.
    fn exp_m1(x: Self) -> Self;
    /// `ln x`.
    fn ln(x: Self) -> Self;
    /// `ln(1 + x)` for `x ∈ [0, 1]`: for `f32` [`ln_1p_unit_f32`]
    /// (branch-free, so that a batch's loop over it vectorises; within 1
    /// ulp there), for `f64` `libm`'s `log1p`.
    fn ln_1p_unit(x: Self) -> Self;
    /// `tanh x`: for `f32` [`tanh_f32`] (branch-free, so that a layer's
    /// loop over it vectorises; within 1.05 ulp, where `libm`'s `tanhf`
    /// reaches 2.19), for `f64` `libm`'s.
    fn tanh(x: Self) -> Self;
    /// `tanh x` as the recurrent cells (GRU, LSTM) compute it: the same
    /// function as [`tanh`](Functions::tanh).
    fn tanh_cell(x: Self) -> Self;
}

impl Functions for f32 {
    #[inline]
    fn exp(x: f32) -> f32 {
        exp_f32(x)
    }
    #[inline]
    fn exp_m1(x: f32) -> f32 {
        libm::expm1f(x)
    }
    #[inline]
    fn ln(x: f32) -> f32 {
        libm::logf(x)
    }
    #[inline(always)]
    fn ln_1p_unit(x: f32) -> f32 {
        ln_1p_unit_f32(x)
    }
    #[inline(always)]
    fn tanh(x: f32) -> f32 {
        tanh_f32(x)
    }
    #[inline(always)]
    fn tanh_cell(x: f32) -> f32 {
        tanh_f32(x)
    }
}

impl Functions for f64 {
    #[inline]
    fn exp(x: f64) -> f64 {
        libm::exp(x)
    }
    #[inline]
    fn exp_m1(x: f64) -> f64 {
        libm::expm1(x)
    }
    #[inline]
    fn ln(x: f64) -> f64 {
        libm::log(x)
    }
    #[inline]
    fn ln_1p_unit(x: f64) -> f64 {
        libm::log1p(x)
    }
    #[inline]
    fn tanh(x: f64) -> f64 {
        libm::tanh(x)
    }
    #[inline]
    fn tanh_cell(x: f64) -> f64 {
        libm::tanh(x)
    }
}

/// `eˣ`.
#[inline]
pub(crate) fn exp<T: Scalar>(x: T) -> T {
    <T as Functions>::exp(x)
}
/// `eˣ − 1`, accurate near 0.
#[inline]
pub(crate) fn exp_m1<T: Scalar>(x: T) -> T {
    <T as Functions>::exp_m1(x)
}
/// `ln x`.
#[inline]
pub(crate) fn ln<T: Scalar>(x: T) -> T {
    <T as Functions>::ln(x)
}
/// `ln(1 + x)` for `x ∈ [0, 1]` (the tail `ln(1 + e^(−|y|))` of the
/// softplus and the binary cross-entropy), accurate near 0.
#[inline(always)]
pub(crate) fn ln_1p_unit<T: Scalar>(x: T) -> T {
    <T as Functions>::ln_1p_unit(x)
}
/// `tanh x`.
#[inline]
pub(crate) fn tanh<T: Scalar>(x: T) -> T {
    <T as Functions>::tanh(x)
}

/// `tanh x` as the recurrent cells compute it (see
/// [`Functions::tanh_cell`]): vectorisable and within 1.05 ulp in `f32`,
/// `tanh` itself in `f64`.
#[inline(always)]
pub(crate) fn tanh_cell<T: Scalar>(x: T) -> T {
    <T as Functions>::tanh_cell(x)
}

/// The error of `got` against the reference `exact`, in units of the last
/// place of `exact` rounded to `f32` (below the normal range, of the
/// smallest subnormal): what the functions' error tests measure.
#[cfg(test)]
pub(crate) fn ulps(got: f32, exact: f64) -> f64 {
    let r = (exact as f32).abs();
    let ulp = if r < f32::MIN_POSITIVE {
        f64::from(f32::from_bits(1))
    } else {
        f64::from(f32::from_bits(r.to_bits() + 1) - r)
    };
    (f64::from(got) - exact).abs() / ulp
}
