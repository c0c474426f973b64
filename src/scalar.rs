//! The floating-point types a network computes in.

use core::fmt::{Debug, Display};
use nalgebra::RealField;

pub(crate) mod sealed {
    use crate::kernels::{f32_kernels, portable};

    /// The hidden side of [`Scalar`](super::Scalar): the dense-layer
    /// products, chosen per type (see `crate::kernels`). Users can neither
    /// name nor call it.
    pub trait Sealed: Sized {
        /// `W x + b` for every column of `x`.
        fn affine<const O: usize, const I: usize, const B: usize>(
            w: &[[Self; O]; I],
            b: &[Self; O],
            x: &[[Self; I]; B],
        ) -> [[Self; O]; B];
        /// `Wᵀ dy`.
        fn transpose_times<const O: usize, const I: usize, const B: usize>(
            w: &[[Self; O]; I],
            dy: &[[Self; O]; B],
        ) -> [[Self; I]; B];
        /// `dW += dy xᵀ`, `db += Σ_j dy[:, j]`.
        fn accumulate_outer<const O: usize, const I: usize, const B: usize>(
            dw: &mut [[Self; O]; I],
            db: &mut [Self; O],
            dy: &[[Self; O]; B],
            x: &[[Self; I]; B],
        );
        /// `y[k] = f(x[k])` for every `k`: an element-wise activation.
        fn map(x: &[Self], y: &mut [Self], f: impl Fn(Self) -> Self);
        /// `(y[k], d[k]) = f(x[k])` for every `k`: an element-wise
        /// activation and its derivative.
        fn map2(x: &[Self], y: &mut [Self], d: &mut [Self], f: impl Fn(Self) -> (Self, Self));
        /// `eˣ`, `eˣ − 1`, `ln x`, `ln(1 + x)`, `tanh x`: from the `libm`
        /// crate, whichever features the build has, so that results are the
        /// same bits on every platform (see `crate::math`).
        fn exp(x: Self) -> Self;
        /// See [`Sealed::exp`].
        fn exp_m1(x: Self) -> Self;
        /// See [`Sealed::exp`].
        fn ln(x: Self) -> Self;
        /// See [`Sealed::exp`].
        fn ln_1p(x: Self) -> Self;
        /// See [`Sealed::exp`].
        fn tanh(x: Self) -> Self;
    }

    impl Sealed for f32 {
        #[inline]
        fn affine<const O: usize, const I: usize, const B: usize>(
            w: &[[f32; O]; I],
            b: &[f32; O],
            x: &[[f32; I]; B],
        ) -> [[f32; O]; B] {
            f32_kernels::affine(w, b, x)
        }
        #[inline]
        fn transpose_times<const O: usize, const I: usize, const B: usize>(
            w: &[[f32; O]; I],
            dy: &[[f32; O]; B],
        ) -> [[f32; I]; B] {
            f32_kernels::transpose_times(w, dy)
        }
        #[inline]
        fn accumulate_outer<const O: usize, const I: usize, const B: usize>(
            dw: &mut [[f32; O]; I],
            db: &mut [f32; O],
            dy: &[[f32; O]; B],
            x: &[[f32; I]; B],
        ) {
            f32_kernels::accumulate_outer(dw, db, dy, x)
        }
        #[inline]
        fn map(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
            f32_kernels::map(x, y, f)
        }
        #[inline]
        fn map2(x: &[f32], y: &mut [f32], d: &mut [f32], f: impl Fn(f32) -> (f32, f32)) {
            f32_kernels::map2(x, y, d, f)
        }
        #[inline]
        fn exp(x: f32) -> f32 {
            super::math::exp_f32(x)
        }
        #[inline]
        fn exp_m1(x: f32) -> f32 {
            libm::expm1f(x)
        }
        #[inline]
        fn ln(x: f32) -> f32 {
            libm::logf(x)
        }
        #[inline]
        fn ln_1p(x: f32) -> f32 {
            libm::log1pf(x)
        }
        #[inline]
        fn tanh(x: f32) -> f32 {
            libm::tanhf(x)
        }
    }

    impl Sealed for f64 {
        #[inline]
        fn affine<const O: usize, const I: usize, const B: usize>(
            w: &[[f64; O]; I],
            b: &[f64; O],
            x: &[[f64; I]; B],
        ) -> [[f64; O]; B] {
            portable::affine(w, b, x)
        }
        #[inline]
        fn transpose_times<const O: usize, const I: usize, const B: usize>(
            w: &[[f64; O]; I],
            dy: &[[f64; O]; B],
        ) -> [[f64; I]; B] {
            portable::transpose_times(w, dy)
        }
        #[inline]
        fn accumulate_outer<const O: usize, const I: usize, const B: usize>(
            dw: &mut [[f64; O]; I],
            db: &mut [f64; O],
            dy: &[[f64; O]; B],
            x: &[[f64; I]; B],
        ) {
            portable::accumulate_outer(dw, db, dy, x)
        }
        #[inline]
        fn map(x: &[f64], y: &mut [f64], f: impl Fn(f64) -> f64) {
            portable::map(x, y, f)
        }
        #[inline]
        fn map2(x: &[f64], y: &mut [f64], d: &mut [f64], f: impl Fn(f64) -> (f64, f64)) {
            portable::map2(x, y, d, f)
        }
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
        fn ln_1p(x: f64) -> f64 {
            libm::log1p(x)
        }
        #[inline]
        fn tanh(x: f64) -> f64 {
            libm::tanh(x)
        }
    }
}

/// A scalar a network can compute in: `f32` (the default everywhere) or `f64`
/// (for gradient checks and when precision matters more than speed).
///
/// The trait is sealed: the weight format, the fast kernels and the
/// documented error bounds are written for exactly these two types.
///
/// ```
/// use staticnet::Scalar;
/// assert_eq!(f32::of_f64(0.5), 0.5f32);
/// assert_eq!(<f64 as Scalar>::NAME, "f64");
/// ```
pub trait Scalar:
    RealField + Copy + Default + Debug + Display + Send + Sync + sealed::Sealed + 'static
{
    /// The type's name, `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;

    /// Converts from `f64`, rounding to nearest for `f32`.
    fn of_f64(x: f64) -> Self;

    /// Converts to `f64` (exact for both types).
    fn as_f64(self) -> f64;

    /// `1 / (1 + e^(-x))`, computed without overflow for any finite `x`.
    #[inline]
    fn sigmoid(self) -> Self {
        if self >= Self::zero() {
            Self::one() / (Self::one() + math::exp(-self))
        } else {
            let e = math::exp(self);
            e / (Self::one() + e)
        }
    }
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline]
    fn of_f64(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Scalar for f64 {
    const NAME: &'static str = "f64";
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline]
    fn of_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
}

/// Shorthand for a constant in generic code.
#[inline(always)]
pub(crate) fn c<T: Scalar>(x: f64) -> T {
    T::of_f64(x)
}

/// The transcendental functions the crate uses: `f32`'s `eˣ` our own (below),
/// everything else from the `libm` crate. Never through `nalgebra`'s
/// `ComplexField` methods: those switch to the C library's functions when
/// anything in the build enables `num-traits/std` (criterion does, as a
/// dev-dependency), which changes the last bits of results between builds
/// and between a host and a microcontroller.
pub(crate) mod math {
    use super::{Scalar, sealed::Sealed};

    /// `eˣ` in `f32`, within 1 ulp of the correctly rounded result for every
    /// `f32` whose result is normal (measured over all of them: at most 0.99
    /// ulp; `libm::expf` is within 0.91), within 0.75 of the smallest
    /// subnormal below that, `+∞` above `ln(f32::MAX)`, `NaN` for `NaN`.
    ///
    /// Cody–Waite reduction `x = n ln 2 + r`, `|r| ≤ ln 2 / 2`, and the
    /// degree-7 polynomial of Cephes' `expf`, scaled by `2ⁿ` in two exact
    /// power-of-two steps. Only `f32` arithmetic, no branches (the clamp is a
    /// select), so it vectorises and gives the same bits on every platform;
    /// `libm::expf` divides and branches and is about three times slower
    /// (2.7 against 8.7 ns an element in a loop here).
    #[inline(always)]
    pub(crate) fn exp_f32(x: f32) -> f32 {
        const LOG2E: f32 = core::f32::consts::LOG2_E;
        // ln 2 = LN2_HI + LN2_LO, LN2_HI = 355/512 exactly (few bits, so that
        // n · LN2_HI is exact).
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        // Adding and subtracting 1.5 · 2²³ rounds to the nearest integer.
        const ROUND: f32 = 12_582_912.0;
        // Beyond these every result is 0 or +∞; NaN passes through.
        let x = x.clamp(-104.0, 88.8);
        let shifted = x * LOG2E + ROUND;
        let nf = shifted - ROUND;
        let r = (x - nf * LN2_HI) - nf * LN2_LO;
        let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
            * r
            + 1.666_666_5e-1)
            * r
            + 0.5;
        let y = p * (r * r) + r + 1.0;
        // n ∈ [−150, 128]: split so that each factor is a normal power of two.
        // n = nf, read off the low bits of `shifted` (whose exponent is that
        // of ROUND): an integer subtraction that vectorises, where `nf as
        // i32` saturates lane by lane in scalar code. For NaN, n is garbage
        // and y is NaN, so the result is NaN all the same.
        let n = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
        let (n1, n2) = (n >> 1, n - (n >> 1));
        let pow2 = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
        y * pow2(n1) * pow2(n2)
    }

    /// `eˣ`.
    #[inline]
    pub(crate) fn exp<T: Scalar>(x: T) -> T {
        <T as Sealed>::exp(x)
    }
    /// `eˣ − 1`, accurate near 0.
    #[inline]
    pub(crate) fn exp_m1<T: Scalar>(x: T) -> T {
        <T as Sealed>::exp_m1(x)
    }
    /// `ln x`.
    #[inline]
    pub(crate) fn ln<T: Scalar>(x: T) -> T {
        <T as Sealed>::ln(x)
    }
    /// `ln(1 + x)`, accurate near 0.
    #[inline]
    pub(crate) fn ln_1p<T: Scalar>(x: T) -> T {
        <T as Sealed>::ln_1p(x)
    }
    /// `tanh x`.
    #[inline]
    pub(crate) fn tanh<T: Scalar>(x: T) -> T {
        <T as Sealed>::tanh(x)
    }
}

#[cfg(test)]
mod tests {
    use super::math::exp_f32;

    /// The error of `a` against the reference `b`, in units of the last
    /// place of `b` rounded to `f32` (for results below the normal range,
    /// in units of the smallest subnormal).
    fn ulps(a: f32, b: f64) -> f64 {
        let r = (b as f32).abs();
        let ulp = if r < f32::MIN_POSITIVE {
            f32::from_bits(1) as f64
        } else {
            (f32::from_bits(r.to_bits() + 1) - r) as f64
        };
        (a as f64 - b).abs() / ulp
    }

    #[test]
    fn exp_f32_is_within_one_ulp() {
        // Every 97th f32 over the range where the result is finite and not
        // 0. (All of them were checked once, outside the test suite: at most
        // 0.990 ulp.)
        let (lo, hi) = (103.9f32.to_bits(), 88.72283f32.to_bits());
        let mut worst = 0.0f64;
        let mut check = |x: f32| {
            let e = ulps(exp_f32(x), libm::exp(x as f64));
            worst = worst.max(e);
            assert!(
                e <= 1.0,
                "exp({x:e}): {} vs {:e} ({e} ulp)",
                exp_f32(x),
                libm::exp(x as f64)
            );
        };
        for b in (0..=lo).step_by(97) {
            check(-f32::from_bits(b));
        }
        for b in (0..=hi).step_by(97) {
            check(f32::from_bits(b));
        }
        assert!(worst > 0.3, "the sweep reached hard cases ({worst})");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(88.7229), f32::INFINITY);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(-104.5), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(1.0), core::f32::consts::E);
    }
}
