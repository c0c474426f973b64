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
            libm::expf(x)
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

/// The transcendental functions the crate uses, always from the `libm`
/// crate. Not through `nalgebra`'s `ComplexField` methods: those switch to the
/// C library's functions when anything in the build enables `num-traits/std`
/// (criterion does, as a dev-dependency), which changes the last bits of
/// results between builds and between a host and a microcontroller.
pub(crate) mod math {
    use super::{Scalar, sealed::Sealed};

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
