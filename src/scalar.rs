//! The floating-point types a network computes in.

use core::fmt::{Debug, Display};
use nalgebra::RealField;

/// The crate's math, also under its former path `crate::scalar::math`.
pub(crate) use crate::math;

pub(crate) mod sealed {
    use crate::kernels::Kernels;
    use crate::math::Functions;

    /// The hidden side of [`Scalar`](super::Scalar): which implementation of
    /// the kernels (`crate::kernels`) and of the elementary functions
    /// (`crate::math`) the type uses. Users can neither name nor call it.
    pub trait Sealed: Functions {
        /// The dense-layer products and element-wise maps for this type.
        type Kernels: Kernels<Self>;
    }

    impl Sealed for f32 {
        type Kernels = crate::kernels::F32Kernels;
    }

    impl Sealed for f64 {
        type Kernels = crate::kernels::Portable;
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
