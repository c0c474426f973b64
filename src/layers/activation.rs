//! Activations: element-wise functions, whose Jacobian is diagonal, and
//! [`Identity`]. ([`Softmax`], whose Jacobian is full, has
//! its own file.)
//!
//! An element-wise activation `y = σ(x)` keeps `σ'(x)` on its tape (the
//! diagonal of its Jacobian) and its backward pass is the element-wise product
//! `dx = σ'(x) ⊙ dy`. None has parameters or a size of its own: each works on
//! any [`Tensor`], one sample or a batch.
//!
//! All but two use the exact functions of the scalar type, from the `libm`
//! crate on every platform (so the bits do not depend on the C library),
//! except `f32`'s `eˣ` and `tanh`, the crate's own: `eˣ` within 1 ulp,
//! `tanh` within 1.05 ulp (`libm`'s `tanhf` reaches 2.19), both branch-free
//! so that a layer's loop over them vectorises. [`Tanh`] and [`Sigmoid`]
//! are exact in that sense. [`FastTanh`] and
//! [`FastSigmoid`] are rational approximations that vectorise
//! (`crate::math::fast`), for small networks where `tanh` and `exp` would
//! cost more than the matrix products; their documented error bounds are
//! tested against the exact functions, and their derivatives are those of
//! the approximations they compute, so gradients stay exact for the
//! function the network really is.
//!
//! Every element-wise activation runs as one loop over the tensor, which
//! for `f32` is also compiled for AVX2 and runs so where the CPU has it
//! (same arithmetic, same bits), except [`FastTanh`] and [`FastSigmoid`],
//! which have their own vector kernels with fused multiply-adds there
//! (their own rounding, within the same documented bounds).

use core::fmt;

use crate::math::{self, fast};
use crate::module::Mode;
use crate::params::{Layer, RustSource, Setting, TensorInfo};
use crate::scalar::c;
use crate::train::InvalidSetting;
use crate::stream::Stream;
use crate::{Module, Params, Scalar, Tensor, Train, kernels};

// `Softmax` lives in its own file (`softmax.rs`); this keeps its path
// `staticnet::activation::Softmax`.
pub use super::softmax::Softmax;

/// A scalar function applied element by element, with its derivative.
///
/// ```
/// use staticnet::{Activation, Tanh};
/// let (y, dy) = Tanh.value_and_derivative(0.5f64);
/// assert!((y - 0.5f64.tanh()).abs() < 1e-15);
/// assert!((dy - (1.0 - y * y)).abs() < 1e-15);
/// ```
pub trait Activation<T: Scalar> {
    /// Whether `σ` gives a probability in (0, 1) (the sigmoids): a
    /// one-output network ending in it names class 1 above 0.5
    /// ([`Module::PROBABILITY`]). `false` by default.
    const PROBABILITY: bool = false;
    /// `σ(x)`.
    fn value(&self, x: T) -> T;
    /// `(σ(x), σ'(x))`.
    fn value_and_derivative(&self, x: T) -> (T, T);
}

/// Implements `Module`, `Train` and `Params` for an element-wise activation:
/// one loop of [`Activation::value`] (or `value_and_derivative`) over the
/// tensor, or, with `fast = …`, the kernels of a fast rational activation
/// (which take the kernels a network's forward pass names, `forward_on`).
/// `wide` before the name, and `fast`, make it [`Module::WIDE`]. Its settings (`f64` fields) are listed as `field in T`: described as
/// rounded to the network's scalar type `T`, as the arithmetic uses them.
macro_rules! elementwise {
    (wide $name:ident $(, $field:ident in $t:ident)*) => {
        elementwise!(@loop true, $name $(, $field in $t)*);
    };
    ($name:ident $(, $field:ident in $t:ident)*) => {
        elementwise!(@loop false, $name $(, $field in $t)*);
    };
    (@loop $wide:expr, $name:ident $(, $field:ident in $t:ident)*) => {
        elementwise!(@impl $wide, $name $(, $field in $t)* ;
            |this, x, y| kernels::map(x, y, |v| this.value(v)) ;
            |this, x, y, d| kernels::map2(x, y, d, |v| this.value_and_derivative(v)));
    };
    ($name:ident fast = $f:expr) => {
        elementwise!(@impl true, $name ;
            |_this, x, y| kernels::fast($f, x, y) ;
            |_this, x, y, d| kernels::fast2($f, x, y, d) ;
            |_this, x, y, isa| kernels::fast_on(isa, $f, x, y));
    };
    (@impl $wide:expr, $name:ident $(, $field:ident in $t:ident)* ;
        |$s1:ident, $x1:ident, $y1:ident| $map:expr ;
        |$s2:ident, $x2:ident, $y2:ident, $d2:ident| $map2:expr
        $(; |$s3:ident, $x3:ident, $y3:ident, $i3:ident| $mapon:expr)?) => {
        impl<X: Tensor> Module<X> for $name
        where
            $name: Activation<X::Scalar>,
        {
            type Output = X;
            const PROBABILITY: bool = <$name as Activation<X::Scalar>>::PROBABILITY;
            const WIDE: bool = $wide;
            #[inline(always)]
            fn forward(&self, x: &X) -> X {
                let mut y = X::zeros();
                let ($s1, $x1, $y1) = (self, x.as_slice(), y.as_mut_slice());
                $map;
                y
            }
            $(
            #[inline(always)]
            fn forward_on<K: crate::module::Isa>(&self, x: &X, isa: K) -> X {
                let mut y = X::zeros();
                let ($s3, $x3, $y3, $i3) = (self, x.as_slice(), y.as_mut_slice(), isa);
                $mapon;
                y
            }
            )?
        }

        impl<X: Tensor> Train<X> for $name
        where
            $name: Activation<X::Scalar>,
        {
            /// `σ'(x)`: the diagonal of the Jacobian.
            type Tape = X;
            /// No parameters: nothing to write.
            const SETS_GRAD: bool = true;
            #[inline(always)]
            fn forward_tape(&self, x: &X, _: &mut Mode<'_>) -> (X, X) {
                let (mut y, mut d) = (X::zeros(), X::zeros());
                let ($s2, $x2, $y2, $d2) = (self, x.as_slice(), y.as_mut_slice(), d.as_mut_slice());
                $map2;
                (y, d)
            }
            #[inline(always)]
            fn forward_tape_into(&self, x: &X, _: &mut Mode<'_>, d: &mut X) -> X {
                let mut y = X::zeros();
                let ($s2, $x2, $y2, $d2) = (self, x.as_slice(), y.as_mut_slice(), d.as_mut_slice());
                $map2;
                y
            }
            #[inline(always)]
            fn backward(&self, d: &X, dy: &X, _grad: &mut Self) -> X {
                let mut dx = *dy;
                for (g, &dv) in dx.as_mut_slice().iter_mut().zip(d.as_slice()) {
                    *g *= dv;
                }
                dx
            }
        }

        impl<X: Tensor> Stream<X> for $name
        where
            $name: Activation<X::Scalar>,
        {
            type State = ();
            const WIDE: bool = $wide;
            type Output = X;
            #[inline(always)]
            fn start(&self) {}
            #[inline(always)]
            fn step(&self, _: &mut (), x: &X) -> X {
                Module::forward(self, x)
            }
        }

        no_params!($name $(, $field in $t)*);
    };
}

/// Implements `Params` for a layer without parameters: its kind is its type's
/// name, its settings the named `f64` fields (reals; a field written
/// `field in T` is described rounded to the network's scalar type `T`, one
/// written alone exactly), its Rust form the unit struct or
/// `new(fields…)`.
macro_rules! no_params {
    ($name:ident $(, $field:ident $(in $t:ident)?)*) => {
        impl Layer for $name {
            const KIND: &'static str = stringify!($name);
        }

        impl<T: Scalar> Params<T> for $name {
            const NUM_PARAMS: usize = 0;
            fn zeros() -> Self {
                Self::default()
            }
            #[inline]
            fn tensors<const R: usize, const W: usize>(
                _: [&Self; R],
                _: [&mut Self; W],
                _: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
            ) {
            }
            fn settings(&self, _f: &mut impl FnMut(&'static str, Setting)) {
                $(_f(
                    stringify!($field),
                    Setting::Real($crate::layers::activation::no_params!(@real self.$field $(, $t)?)),
                );)*
            }
            fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
                src.text(concat!("staticnet::", stringify!($name)))
            }
            fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
                src.text(concat!("staticnet::", stringify!($name)))?;
                $crate::layers::activation::rust_new!(self, src ; $($field),*)
            }
        }
    };
    (@real $v:expr) => {
        $crate::Scalar::as_f64($v)
    };
    (@real $v:expr, $t:ident) => {
        $crate::Scalar::as_f64(<$t as $crate::Scalar>::of_f64($v))
    };
}

pub(crate) use no_params;

/// The `::new(fields…)` of a parameter-free layer with settings (nothing for
/// a unit struct).
macro_rules! rust_new {
    ($self:ident, $src:ident ; ) => {
        Ok(())
    };
    ($self:ident, $src:ident ; $($field:ident),+) => {{
        $src.text("::new(")?;
        let mut _first = true;
        $(
            if !_first {
                $src.text(", ")?;
            }
            _first = false;
            $src.scalar($self.$field)?;
        )+
        $src.text(")")
    }};
}

pub(crate) use rust_new;

/// `σ(x) = max(x, 0)`; `σ'(0) = 0`, as in PyTorch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relu;

impl<T: Scalar> Activation<T> for Relu {
    #[inline]
    fn value(&self, x: T) -> T {
        if x > T::zero() { x } else { T::zero() }
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        if x > T::zero() {
            (x, T::one())
        } else {
            (T::zero(), T::zero())
        }
    }
}
elementwise!(Relu);

/// `σ(x) = x` for `x > 0`, `slope · x` otherwise (default slope 0.01, as in PyTorch).
///
/// Like every activation it works in the network's scalar type: the slope is
/// kept as an `f64` and rounded to that type in the arithmetic (and in its
/// description: an `f32` network records the `f32` slope). It must be
/// finite; [`try_new`](LeakyRelu::try_new) checks it, and a trainer checks
/// every layer's settings before it starts.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::{LeakyRelu, Network};
/// static LEAKY: LeakyRelu = LeakyRelu::new(0.25);
/// assert_eq!(LEAKY.predict(&SVector::from([-2.0f32, 3.0])), SVector::from([-0.5, 3.0]));
/// // The same value in an f64 network: the slope follows the scalar.
/// assert_eq!(LeakyRelu::default().predict(&SVector::from([-1.0f64]))[0], -0.01);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakyRelu {
    /// The slope for negative inputs (finite).
    pub slope: f64,
}

impl LeakyRelu {
    /// A leaky ReLU with the given negative slope.
    pub const fn new(slope: f64) -> Self {
        LeakyRelu { slope }
    }

    /// A leaky ReLU with the given negative slope, or an error naming it if
    /// it is NaN or infinite.
    ///
    /// ```
    /// use staticnet::LeakyRelu;
    /// assert_eq!(LeakyRelu::try_new(0.2), Ok(LeakyRelu::new(0.2)));
    /// let err = LeakyRelu::try_new(f64::INFINITY).unwrap_err();
    /// assert_eq!(err.to_string(), "the LeakyRelu slope is inf; it must be finite");
    /// ```
    pub const fn try_new(slope: f64) -> Result<Self, InvalidSetting> {
        match InvalidSetting::check_finite("LeakyRelu slope", slope) {
            Ok(()) => Ok(LeakyRelu { slope }),
            Err(e) => Err(e),
        }
    }
}

impl Default for LeakyRelu {
    /// Slope 0.01, PyTorch's default.
    fn default() -> Self {
        LeakyRelu { slope: 0.01 }
    }
}

impl<T: Scalar> Activation<T> for LeakyRelu {
    #[inline]
    fn value(&self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            T::of_f64(self.slope) * x
        }
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        let slope = T::of_f64(self.slope);
        if x > T::zero() {
            (x, T::one())
        } else {
            (slope * x, slope)
        }
    }
}
elementwise!(LeakyRelu, slope in T);

/// `σ(x) = 1 / (1 + e^(−x))`, computed without overflow; `σ' = σ (1 − σ)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sigmoid;

impl<T: Scalar> Activation<T> for Sigmoid {
    const PROBABILITY: bool = true;
    #[inline]
    fn value(&self, x: T) -> T {
        x.sigmoid()
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        let s = x.sigmoid();
        (s, s * (T::one() - s))
    }
}
elementwise!(wide Sigmoid);

/// `σ(x) = tanh x`; `σ' = 1 − tanh² x`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tanh;

impl<T: Scalar> Activation<T> for Tanh {
    #[inline]
    fn value(&self, x: T) -> T {
        math::tanh(x)
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        let t = math::tanh(x);
        (t, T::one() - t * t)
    }
}
elementwise!(wide Tanh);

/// A fast `tanh`: the rational function `R(x) = x P(x²) / Q(x²)` with `P` of
/// degree 4 and `Q` of degree 4 in `x²` (fitted to the relative error on
/// `[0, 9]` by linear programming), for `|x| ≤ 9`, and `R(±9)` beyond, where `tanh` is 1 to
/// within `3·10⁻⁸`. About a dozen multiplies and adds and one division, with
/// no branch, so a layer of them vectorises.
///
/// Error against the exact `tanh`, measured over every `f32` input
/// (tests/kernels.rs): in `f32`, at most `4.5·10⁻⁷` absolute and `4.5·10⁻⁷`
/// relative to `|tanh x|` (the worst, `4.0·10⁻⁷`, near `x = 8.6`, where the
/// rounding of the `f32` evaluation dominates; below `|x| = 1` it is a few
/// units in the last place); in `f64` it
/// computes the same approximation, so the error there is the fit's,
/// `6.5·10⁻⁸` relative, not `f64`'s rounding. Odd, like `tanh`, and within
/// `[−1, 1]` (the result is clamped there, which only ever absorbs an `f32`
/// rounding); NaN gives NaN.
///
/// As a layer on `f32`, on x86-64 CPUs with AVX2 and FMA, it runs vector
/// code that evaluates the same `R` with fused multiply-adds, and rounds
/// differently from [`Activation::value`] (by a few units in the last
/// place; measured over every `f32` input, its worst error is `4.0·10⁻⁷`,
/// within the same bounds). `forward` and `forward_tape` give the same
/// values, and a sample gives the same bits alone or in a batch, on every
/// path.
///
/// The derivative on the tape is the derivative of `R` (0 beyond `±9`), not
/// `1 − R²`: gradients are exact for the function computed, and the `f64`
/// gradient checks hold for it. [`Tanh`] is the exact form, and the one to
/// use for gradient checks against `tanh` itself.
///
/// ```
/// use staticnet::{Activation, FastTanh};
/// let x = 0.5f32;
/// assert!((FastTanh.value(x) - x.tanh()).abs() < 4.5e-7);
/// assert_eq!(FastTanh.value(100.0f32), FastTanh.value(9.0f32));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FastTanh;

impl<T: Scalar> Activation<T> for FastTanh {
    #[inline]
    fn value(&self, x: T) -> T {
        fast::tanh(x)
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        fast::tanh_and_derivative(x)
    }
}
elementwise!(FastTanh fast = kernels::Fast::Tanh);

/// A fast sigmoid: `S(x) = ½ + ½ R(x/2)` with the `R` of [`FastTanh`], since
/// `σ(x) = ½ + ½ tanh(x/2)`. Branch-free, so a layer of them vectorises.
///
/// Error against the exact sigmoid, measured over every `f32` input
/// (tests/kernels.rs): in `f32` at most `2.3·10⁻⁷` absolute; it is an
/// absolute, not a relative, approximation: far in the negative tail, where
/// `σ(x) < 10⁻⁷`, it returns 0 or a value of that size. For probabilities
/// whose tails matter, end the network in logits and use
/// [`BinaryCrossEntropy`](crate::BinaryCrossEntropy). Its derivative is
/// `¼ R'(x/2)`, that of the function computed. [`Sigmoid`] is the exact
/// form. As a layer on `f32`, it runs the vector code [`FastTanh`]
/// describes where the CPU has AVX2 and FMA (worst error over every `f32`
/// input `2.2·10⁻⁷`).
///
/// ```
/// use staticnet::{Activation, FastSigmoid, Sigmoid};
/// let x = -1.5f32;
/// assert!((FastSigmoid.value(x) - Sigmoid.value(x)).abs() < 2.3e-7);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FastSigmoid;

impl<T: Scalar> Activation<T> for FastSigmoid {
    const PROBABILITY: bool = true;
    #[inline]
    fn value(&self, x: T) -> T {
        fast::sigmoid(x)
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        fast::sigmoid_and_derivative(x)
    }
}
elementwise!(FastSigmoid fast = kernels::Fast::Sigmoid);

/// `σ(x) = ln(1 + eˣ)`, computed as `max(x, 0) + ln(1 + e^(−|x|))` so that it
/// neither overflows nor loses the tail; `σ' = 1 / (1 + e^(−x))`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Softplus;

impl<T: Scalar> Activation<T> for Softplus {
    #[inline]
    fn value(&self, x: T) -> T {
        x.max(T::zero()) + math::ln_1p_unit(math::exp(-x.abs()))
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        (self.value(x), x.sigmoid())
    }
}
elementwise!(wide Softplus);

/// `σ(x) = x` for `x > 0`, `α (eˣ − 1)` otherwise (default `α = 1`).
///
/// Like every activation it works in the network's scalar type: `α` is kept
/// as an `f64` and rounded to that type in the arithmetic (and in its
/// description). It must be finite; [`try_new`](Elu::try_new) checks it, and
/// a trainer checks every layer's settings before it starts.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::{Elu, Network};
/// static ELU: Elu = Elu::new(2.0);
/// assert_eq!(ELU.predict(&SVector::from([3.0f32]))[0], 3.0);
/// let y = Elu::default().predict(&SVector::from([-1.0f64]))[0];
/// assert!((y - (f64::exp(-1.0) - 1.0)).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Elu {
    /// The scale `α` of the negative part (finite).
    pub alpha: f64,
}

impl Elu {
    /// An ELU with the given `α`.
    pub const fn new(alpha: f64) -> Self {
        Elu { alpha }
    }

    /// An ELU with the given `α`, or an error naming it if it is NaN or
    /// infinite.
    ///
    /// ```
    /// use staticnet::Elu;
    /// assert_eq!(Elu::try_new(0.5), Ok(Elu::new(0.5)));
    /// assert_eq!(Elu::try_new(f64::NAN).unwrap_err().to_string(), "the Elu α is NaN; it must be finite");
    /// ```
    pub const fn try_new(alpha: f64) -> Result<Self, InvalidSetting> {
        match InvalidSetting::check_finite("Elu α", alpha) {
            Ok(()) => Ok(Elu { alpha }),
            Err(e) => Err(e),
        }
    }
}

impl Default for Elu {
    /// `α = 1`, PyTorch's default.
    fn default() -> Self {
        Elu { alpha: 1.0 }
    }
}

impl<T: Scalar> Activation<T> for Elu {
    #[inline]
    fn value(&self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            T::of_f64(self.alpha) * math::exp_m1(x)
        }
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        let alpha = T::of_f64(self.alpha);
        if x > T::zero() {
            (x, T::one())
        } else {
            let e = math::exp_m1(x);
            (alpha * e, alpha * (e + T::one()))
        }
    }
}
elementwise!(wide Elu, alpha in T);

/// GELU in its tanh form (Hendrycks & Gimpel; PyTorch's `approximate="tanh"`):
/// `σ(x) = ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gelu;

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const GELU_CUBIC: f64 = 0.044_715;

impl<T: Scalar> Activation<T> for Gelu {
    #[inline]
    fn value(&self, x: T) -> T {
        let u = c::<T>(SQRT_2_OVER_PI) * (x + c::<T>(GELU_CUBIC) * x * x * x);
        c::<T>(0.5) * x * (T::one() + math::tanh(u))
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        let k = c::<T>(SQRT_2_OVER_PI);
        let a = c::<T>(GELU_CUBIC);
        let half = c::<T>(0.5);
        let t = math::tanh(k * (x + a * x * x * x));
        let du = k * (T::one() + c::<T>(3.0) * a * x * x);
        let y = half * x * (T::one() + t);
        (
            y,
            half * (T::one() + t) + half * x * (T::one() - t * t) * du,
        )
    }
}
elementwise!(wide Gelu);

/// `σ(x) = x`. Its tape is empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Identity;

impl<X: Tensor> Module<X> for Identity {
    type Output = X;
    #[inline]
    fn forward(&self, x: &X) -> X {
        *x
    }
}

impl<X: Tensor> Train<X> for Identity {
    type Tape = ();
    /// No parameters: nothing to write.
    const SETS_GRAD: bool = true;
    #[inline]
    fn forward_tape(&self, x: &X, _: &mut Mode<'_>) -> (X, ()) {
        (*x, ())
    }
    #[inline]
    fn backward(&self, _: &(), dy: &X, _: &mut Self) -> X {
        *dy
    }
}

impl<X: Tensor> Stream<X> for Identity {
    type State = ();
    type Output = X;
    #[inline]
    fn start(&self) {}
    #[inline]
    fn step(&self, _: &mut (), x: &X) -> X {
        *x
    }
}

no_params!(Identity);
