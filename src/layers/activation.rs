//! Activations: element-wise functions, whose Jacobian is diagonal, and
//! [`Softmax`], whose Jacobian is full.
//!
//! An element-wise activation `y = σ(x)` keeps `σ'(x)` on its tape (the
//! diagonal of its Jacobian) and its backward pass is the element-wise product
//! `dx = σ'(x) ⊙ dy`. None has parameters or a size of its own: each works on
//! any [`Tensor`], one sample or a batch.
//!
//! All but two use the exact functions of the scalar type, from the `libm`
//! crate on every platform (so the bits do not depend on the C library),
//! except `f32`'s `eˣ`, the crate's own, within 1 ulp: [`Tanh`] and
//! [`Sigmoid`] are exact in that sense. [`FastTanh`] and
//! [`FastSigmoid`] are rational approximations that vectorise, for small
//! networks where `tanh` and `exp` would cost more than the matrix products;
//! their documented error bounds are tested against the exact functions, and
//! their derivatives are those of the approximations they compute, so
//! gradients stay exact for the function the network really is.
//!
//! Every element-wise activation runs as one loop over the tensor, which
//! for `f32` is also compiled for AVX2 and runs so where the CPU has it
//! (same arithmetic, same bits).

use core::fmt;

use crate::module::Mode;
use crate::params::{Layer, RustSource, Setting, TensorInfo};
use crate::scalar::{c, math};
use crate::{Module, Params, Scalar, Tensor, Train, kernels};

/// A scalar function applied element by element, with its derivative.
///
/// ```
/// use staticnet::{Activation, Tanh};
/// let (y, dy) = Tanh.value_and_derivative(0.5f64);
/// assert!((y - 0.5f64.tanh()).abs() < 1e-15);
/// assert!((dy - (1.0 - y * y)).abs() < 1e-15);
/// ```
pub trait Activation<T: Scalar> {
    /// `σ(x)`.
    fn value(&self, x: T) -> T;
    /// `(σ(x), σ'(x))`.
    fn value_and_derivative(&self, x: T) -> (T, T);
}

/// Implements `Module`, `Train` and `Params` for an element-wise activation.
macro_rules! elementwise {
    ($name:ident $(<$t:ident>)? $(, $field:ident)*) => {
        impl<$($t: Scalar,)? X: Tensor $(<Scalar = $t>)?> Module<X> for $name $(<$t>)?
        where
            $name $(<$t>)?: Activation<X::Scalar>,
        {
            type Output = X;
            #[inline]
            fn forward(&self, x: &X) -> X {
                let mut y = X::zeros();
                kernels::map(x.as_slice(), y.as_mut_slice(), |v| self.value(v));
                y
            }
        }

        impl<$($t: Scalar,)? X: Tensor $(<Scalar = $t>)?> Train<X> for $name $(<$t>)?
        where
            $name $(<$t>)?: Activation<X::Scalar>,
        {
            /// `σ'(x)`: the diagonal of the Jacobian.
            type Tape = X;
            #[inline]
            fn forward_tape(&self, x: &X, _: &mut Mode<'_>) -> (X, X) {
                let (mut y, mut d) = (X::zeros(), X::zeros());
                kernels::map2(x.as_slice(), y.as_mut_slice(), d.as_mut_slice(), |v| {
                    self.value_and_derivative(v)
                });
                (y, d)
            }
            #[inline]
            fn backward(&self, d: &X, dy: &X, _grad: &mut Self) -> X {
                let mut dx = *dy;
                for (g, &dv) in dx.as_mut_slice().iter_mut().zip(d.as_slice()) {
                    *g *= dv;
                }
                dx
            }
        }

        no_params!($name $(<$t>)? $(, $field)*);
    };
}

/// Implements `Params` for a layer without parameters: its kind is its type's
/// name, its settings the named fields (reals), its Rust form the unit
/// struct or `new(fields…)`.
macro_rules! no_params {
    ($name:ident $(<$t:ident>)? $(, $field:ident)*) => {
        impl$(<$t>)? Layer for $name $(<$t>)? {
            const KIND: &'static str = stringify!($name);
        }

        impl<T: Scalar> Params<T> for $name $(<$t>)? {
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
                $(_f(stringify!($field), Setting::Real(self.$field.as_f64()));)*
            }
            fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
                src.text(concat!("staticnet::", stringify!($name)))?;
                $(src.fmt(format_args!("<{}>", <$t>::NAME))?;)?
                Ok(())
            }
            fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
                src.text(concat!("staticnet::", stringify!($name)))?;
                rust_new!(self, src $(, $t)? ; $($field),*)
            }
        }
    };
}

/// The `::<T>::new(fields…)` of a parameter-free layer with settings.
macro_rules! rust_new {
    ($self:ident, $src:ident ; ) => {
        Ok(())
    };
    ($self:ident, $src:ident, $t:ident ; $($field:ident),+) => {{
        $src.fmt(format_args!("::<{}>::new(", <$t>::NAME))?;
        $($src.scalar($self.$field)?;)+
        $src.text(")")
    }};
}

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
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakyRelu<T = f32> {
    /// The slope for negative inputs.
    pub slope: T,
}

impl<T> LeakyRelu<T> {
    /// A leaky ReLU with the given negative slope.
    pub const fn new(slope: T) -> Self {
        LeakyRelu { slope }
    }
}

impl<T: Scalar> Default for LeakyRelu<T> {
    fn default() -> Self {
        LeakyRelu { slope: c(0.01) }
    }
}

impl<T: Scalar> Activation<T> for LeakyRelu<T> {
    #[inline]
    fn value(&self, x: T) -> T {
        if x > T::zero() { x } else { self.slope * x }
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        if x > T::zero() {
            (x, T::one())
        } else {
            (self.slope * x, self.slope)
        }
    }
}
elementwise!(LeakyRelu<T>, slope);

/// `σ(x) = 1 / (1 + e^(−x))`, computed without overflow; `σ' = σ (1 − σ)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sigmoid;

impl<T: Scalar> Activation<T> for Sigmoid {
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
elementwise!(Sigmoid);

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
elementwise!(Tanh);

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

/// `P` of [`FastTanh`], from the constant term up.
const TANH_P: [f64; 5] = [
    0.999_999_986_379_755_4,
    0.133_725_254_298_640_04,
    0.003_485_376_032_938_165_7,
    2.043_850_578_749_365e-5,
    1.311_822_668_901_120_7e-8,
];
/// `Q` of [`FastTanh`] without its constant term 1, from `x²` up.
const TANH_Q: [f64; 4] = [
    0.467_058_454_630_043_9,
    0.025_838_417_525_883_905,
    3.268_793_115_684_337_3e-4,
    7.679_571_277_976_459e-7,
];
/// Where [`FastTanh`] stops following `tanh` and stays constant.
const TANH_CLAMP: f64 = 9.0;

/// `x` limited to `[−9, 9]` (NaN stays NaN), and `x²`.
#[inline(always)]
fn tanh_argument<T: Scalar>(x: T) -> (T, T) {
    let m = c::<T>(TANH_CLAMP);
    let x = if x > m {
        m
    } else if x < -m {
        -m
    } else {
        x
    };
    (x, x * x)
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

/// `R(x)`.
#[inline(always)]
fn fast_tanh<T: Scalar>(x: T) -> T {
    let (xc, u) = tanh_argument(x);
    let (p, q) = tanh_pq(u);
    unit(xc * (p * (T::one() / q)))
}

/// `(R(x), R'(x))`, the value bit for bit that of [`fast_tanh`].
#[inline(always)]
fn fast_tanh_and_derivative<T: Scalar>(x: T) -> (T, T) {
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

impl<T: Scalar> Activation<T> for FastTanh {
    #[inline]
    fn value(&self, x: T) -> T {
        fast_tanh(x)
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        fast_tanh_and_derivative(x)
    }
}
elementwise!(FastTanh);

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
/// form.
///
/// ```
/// use staticnet::{Activation, FastSigmoid, Sigmoid};
/// let x = -1.5f32;
/// assert!((FastSigmoid.value(x) - Sigmoid.value(x)).abs() < 2.3e-7);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FastSigmoid;

impl<T: Scalar> Activation<T> for FastSigmoid {
    #[inline]
    fn value(&self, x: T) -> T {
        let half = c::<T>(0.5);
        half + half * fast_tanh(half * x)
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        let half = c::<T>(0.5);
        let (r, d) = fast_tanh_and_derivative(half * x);
        (half + half * r, c::<T>(0.25) * d)
    }
}
elementwise!(FastSigmoid);

/// `σ(x) = ln(1 + eˣ)`, computed as `max(x, 0) + ln(1 + e^(−|x|))` so that it
/// neither overflows nor loses the tail; `σ' = 1 / (1 + e^(−x))`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Softplus;

impl<T: Scalar> Activation<T> for Softplus {
    #[inline]
    fn value(&self, x: T) -> T {
        x.max(T::zero()) + math::ln_1p(math::exp(-x.abs()))
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        (self.value(x), x.sigmoid())
    }
}
elementwise!(Softplus);

/// `σ(x) = x` for `x > 0`, `α (eˣ − 1)` otherwise (default `α = 1`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Elu<T = f32> {
    /// The scale `α` of the negative part.
    pub alpha: T,
}

impl<T> Elu<T> {
    /// An ELU with the given `α`.
    pub const fn new(alpha: T) -> Self {
        Elu { alpha }
    }
}

impl<T: Scalar> Default for Elu<T> {
    fn default() -> Self {
        Elu { alpha: T::one() }
    }
}

impl<T: Scalar> Activation<T> for Elu<T> {
    #[inline]
    fn value(&self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            self.alpha * math::exp_m1(x)
        }
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        if x > T::zero() {
            (x, T::one())
        } else {
            let e = math::exp_m1(x);
            (self.alpha * e, self.alpha * (e + T::one()))
        }
    }
}
elementwise!(Elu<T>, alpha);

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
elementwise!(Gelu);

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
    #[inline]
    fn forward_tape(&self, x: &X, _: &mut Mode<'_>) -> (X, ()) {
        (*x, ())
    }
    #[inline]
    fn backward(&self, _: &(), dy: &X, _: &mut Self) -> X {
        *dy
    }
}

/// Softmax over each sample (each column): `sₖ = e^(xₖ) / Σⱼ e^(xⱼ)`,
/// computed after subtracting the column's maximum so that it never
/// overflows.
///
/// Its Jacobian is full, `diag(s) − s sᵀ`; the backward pass applies it
/// without forming it, as `dx = s ⊙ (dy − ⟨s, dy⟩)`. Its tape is `s`.
///
/// To train a classifier, prefer ending the network in logits and using
/// [`CrossEntropy`](crate::CrossEntropy), which fuses softmax into the loss
/// and stays finite where a separate softmax would underflow to 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Softmax;

/// Softmax of one column `x` into `s`: `e^(x − max x)` (one vectorised
/// loop), then the normalisation.
pub(crate) fn softmax_into<T: Scalar>(x: &[T], s: &mut [T]) {
    let m = x.iter().fold(T::min_value().unwrap(), |m, &v| m.max(v));
    kernels::map(x, s, |v| math::exp(v - m));
    let sum = s.iter().fold(T::zero(), |a, &v| a + v);
    let inv = T::one() / sum;
    for v in s.iter_mut() {
        *v *= inv;
    }
}

impl<X: Tensor> Module<X> for Softmax {
    type Output = X;
    #[inline]
    fn forward(&self, x: &X) -> X {
        let mut s = *x;
        if X::ROWS > 0 {
            for (xc, sc) in x
                .as_slice()
                .chunks_exact(X::ROWS)
                .zip(s.as_mut_slice().chunks_exact_mut(X::ROWS))
            {
                softmax_into(xc, sc);
            }
        }
        s
    }
}

impl<X: Tensor> Train<X> for Softmax {
    /// The output `s`.
    type Tape = X;
    #[inline]
    fn forward_tape(&self, x: &X, _: &mut Mode<'_>) -> (X, X) {
        let s = self.forward(x);
        (s, s)
    }
    #[inline]
    fn backward(&self, s: &X, dy: &X, _: &mut Self) -> X {
        let mut dx = *dy;
        if X::ROWS > 0 {
            for (g, sc) in dx
                .as_mut_slice()
                .chunks_exact_mut(X::ROWS)
                .zip(s.as_slice().chunks_exact(X::ROWS))
            {
                let dot = g
                    .iter()
                    .zip(sc)
                    .fold(<X::Scalar as Scalar>::ZERO, |a, (&d, &sv)| a + d * sv);
                for (d, &sv) in g.iter_mut().zip(sc) {
                    *d = sv * (*d - dot);
                }
            }
        }
        dx
    }
}

no_params!(Identity);
no_params!(Softmax);
