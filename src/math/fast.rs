//! The fast approximations behind [`FastTanh`] and [`FastSigmoid`]: the
//! rational function
//!
//! `R(x) = x P(x²) / Q(x²)`, `P` and `Q` of degree 4 in `x²`,
//!
//! fitted to the relative error of `tanh` on `[0, 9]` by linear programming,
//! for `|x| ≤ 9`, and `R(±9)` beyond (where `tanh` is 1 to within
//! `3·10⁻⁸`); and the sigmoid `S(x) = ½ + ½ R(x/2)`, since
//! `σ(x) = ½ + ½ tanh(x/2)`. Branch-free (the clamps are selects), so a loop
//! of them vectorises. The derivatives are those of `R` and `S`, not of
//! `tanh` and `σ`, so that gradients are exact for the function computed.
//!
//! Their error bounds (documented on [`FastTanh`] and [`FastSigmoid`]) are
//! measured over every `f32` input in tests/kernels.rs; the tests below
//! check the same bounds on a sample, and that each derivative is the
//! derivative of its value.

use crate::Scalar;
use crate::scalar::c;

#[cfg(doc)]
use crate::{FastSigmoid, FastTanh};

/// `P`, from the constant term up.
pub(crate) const TANH_P: [f64; 5] = [
    0.999_999_986_379_755_4,
    0.133_725_254_298_640_04,
    0.003_485_376_032_938_165_7,
    2.043_850_578_749_365e-5,
    1.311_822_668_901_120_7e-8,
];
/// `Q` without its constant term 1, from `x²` up.
pub(crate) const TANH_Q: [f64; 4] = [
    0.467_058_454_630_043_9,
    0.025_838_417_525_883_905,
    3.268_793_115_684_337_3e-4,
    7.679_571_277_976_459e-7,
];
/// Where `R` stops following `tanh` and stays constant.
pub(crate) const TANH_CLAMP: f64 = 9.0;

/// `x` limited to `[−9, 9]` (NaN stays NaN), and `x²` limited to `81`: the
/// square of the limited `x`, bit for bit, but computed from `x` itself, so
/// that the polynomials do not wait for the clamp (one sample's few
/// activations are a chain of dependent operations; the clamped `x` is
/// needed only at the end).
#[inline(always)]
fn tanh_argument<T: Scalar>(x: T) -> (T, T) {
    let m = c::<T>(TANH_CLAMP);
    let xc = if x > m {
        m
    } else if x < -m {
        -m
    } else {
        x
    };
    let u = x * x;
    let mm = m * m;
    (xc, if u > mm { mm } else { u })
}

/// `P(u)` and `Q(u)` by Estrin's scheme (pairs of terms, then `u²` and
/// `u⁴`): a shorter chain of dependent operations than Horner's rule, which
/// is what one sample's few activations wait on.
#[inline(always)]
fn tanh_pq<T: Scalar>(u: T) -> (T, T) {
    let k = |i: usize| c::<T>(TANH_P[i]);
    let l = |i: usize| c::<T>(TANH_Q[i]);
    let u2 = u * u;
    let u4 = u2 * u2;
    let p = (k(0) + k(1) * u) + (k(2) + k(3) * u) * u2 + k(4) * u4;
    let q = (T::one() + l(0) * u) + (l(1) + l(2) * u) * u2 + l(3) * u4;
    (p, q)
}

/// `y` limited to `[−1, 1]` (NaN stays NaN): where `tanh` is within an
/// `f32` rounding of ±1, the rounding of `R` could step past it.
#[inline(always)]
fn unit<T: Scalar>(y: T) -> T {
    if y > T::one() {
        T::one()
    } else if y < -T::one() {
        -T::one()
    } else {
        y
    }
}

/// `R(x)`: [`FastTanh`]'s value.
#[inline(always)]
pub(crate) fn tanh<T: Scalar>(x: T) -> T {
    let (xc, u) = tanh_argument(x);
    let (p, q) = tanh_pq(u);
    unit(xc * (p * (T::one() / q)))
}

/// `(R(x), R'(x))`, the value bit for bit that of [`tanh`]; `R'` is 0
/// beyond `±9`.
#[inline(always)]
pub(crate) fn tanh_and_derivative<T: Scalar>(x: T) -> (T, T) {
    let (xc, u) = tanh_argument(x);
    let (p, q) = tanh_pq(u);
    let inv = T::one() / q;
    let r = p * inv;
    // R = x r with r = P/Q; R' = r + x r' = (P + 2u P' − 2u r Q') / Q, where
    // P + 2u P' = Σ (2k + 1) p_k u^k and Q' = Σ k q_k u^(k−1).
    let mut n = c::<T>(9.0 * TANH_P[4]);
    for (k, &pk) in TANH_P[..4].iter().enumerate().rev() {
        n = n * u + c::<T>((2 * k + 1) as f64 * pk);
    }
    let mut dq = c::<T>(4.0 * TANH_Q[3]);
    for (k, &qk) in TANH_Q[..3].iter().enumerate().rev() {
        dq = dq * u + c::<T>((k + 1) as f64 * qk);
    }
    let two_u = u + u;
    let d = (n - two_u * r * dq) * inv;
    let outside = x.abs() >= c::<T>(TANH_CLAMP);
    (unit(xc * r), if outside { T::zero() } else { d })
}

/// `S(x) = ½ + ½ R(x/2)`: [`FastSigmoid`]'s value.
#[inline(always)]
pub(crate) fn sigmoid<T: Scalar>(x: T) -> T {
    let half = c::<T>(0.5);
    half + half * tanh(half * x)
}

/// `(S(x), S'(x))` with `S'(x) = ¼ R'(x/2)`, the value bit for bit that of
/// [`sigmoid`].
#[inline(always)]
pub(crate) fn sigmoid_and_derivative<T: Scalar>(x: T) -> (T, T) {
    let half = c::<T>(0.5);
    let (r, d) = tanh_and_derivative(half * x);
    (half + half * r, c::<T>(0.25) * d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 4099th `f32` from 0 up to past the clamp, with both signs,
    /// and the points where the clamp starts.
    fn sample(mut f: impl FnMut(f32)) {
        let top = 10.0f32.to_bits();
        for b in (0..=top).step_by(4099) {
            let x = f32::from_bits(b);
            f(x);
            f(-x);
        }
        for x in [9.0, 8.999_999, 9.000_001, 1e30, f32::INFINITY] {
            f(x);
            f(-x);
        }
    }

    #[test]
    fn tanh_is_within_its_documented_error_on_a_sample() {
        sample(|x| {
            let (got, exact) = (f64::from(tanh(x)), libm::tanh(f64::from(x)));
            let err = (got - exact).abs();
            assert!(err <= 4.5e-7, "tanh({x}): {got} vs {exact}");
            if exact.abs() > 1e-30 {
                assert!(err <= 4.5e-7 * exact.abs(), "tanh({x}) relative");
            }
            assert_eq!(tanh(x), -tanh(-x), "odd at {x}");
            assert!(tanh(x).abs() <= 1.0);
        });
        assert!(tanh(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_is_within_its_documented_error_on_a_sample() {
        sample(|x| {
            let exact = 1.0 / (1.0 + libm::exp(-f64::from(x)));
            let got = sigmoid(x);
            assert!((f64::from(got) - exact).abs() <= 2.3e-7, "σ({x}): {got}");
            assert!((0.0..=1.0).contains(&got));
        });
        assert!(sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn the_values_with_derivatives_are_the_values_bit_for_bit() {
        sample(|x| {
            assert_eq!(tanh_and_derivative(x).0.to_bits(), tanh(x).to_bits());
            assert_eq!(sigmoid_and_derivative(x).0.to_bits(), sigmoid(x).to_bits());
        });
    }

    #[test]
    fn the_derivatives_are_those_of_the_approximations() {
        // Central differences in f64, away from the kinks at ±9.
        let h = 1e-6;
        for k in -1000..=1000 {
            let x = f64::from(k) * 0.0119;
            let fd = (tanh(x + h) - tanh(x - h)) / (2.0 * h);
            let (_, d) = tanh_and_derivative(x);
            assert!((d - fd).abs() <= 1e-8, "R'({x}): {d} vs {fd}");
            let fd = (sigmoid(x + h) - sigmoid(x - h)) / (2.0 * h);
            let (_, d) = sigmoid_and_derivative(x);
            assert!((d - fd).abs() <= 1e-8, "S'({x}): {d} vs {fd}");
        }
        assert_eq!(tanh_and_derivative(9.5f64).1, 0.0);
        assert_eq!(tanh_and_derivative(-20.0f64).1, 0.0);
    }
}
