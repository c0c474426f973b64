//! Activations: element-wise functions, whose Jacobian is diagonal, and
//! [`Softmax`], whose Jacobian is full.
//!
//! An element-wise activation `y = σ(x)` keeps `σ'(x)` on its tape (the
//! diagonal of its Jacobian) and its backward pass is the element-wise product
//! `dx = σ'(x) ⊙ dy`. None has parameters or a size of its own: each works on
//! any [`Tensor`], one sample or a batch.
//!
//! All use the exact functions of the scalar type (`libm` on `no_std`).

use rand::Rng;

use crate::module::Layer;
use crate::scalar::c;
use crate::{Init, Module, Network, Params, Scalar, Tensor, Train};

/// A scalar function applied element by element, with its derivative.
///
/// ```
/// use staticnet::{Activation, Tanh};
/// let (y, dy) = Tanh.value_and_derivative(0.5f64);
/// assert_eq!(y, 0.5f64.tanh());
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
    ($name:ident $(<$t:ident>)?, |$s:ident| $layer:expr) => {
        impl<$($t: Scalar,)? X: Tensor $(<Scalar = $t>)?> Module<X> for $name $(<$t>)?
        where
            $name $(<$t>)?: Activation<X::Scalar>,
        {
            type Output = X;
            #[inline]
            fn forward(&self, x: &X) -> X {
                let mut y = *x;
                for v in y.as_mut_slice() {
                    *v = self.value(*v);
                }
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
            fn forward_train(&self, x: &X) -> (X, X) {
                let (mut y, mut d) = (*x, *x);
                for (v, dv) in y.as_mut_slice().iter_mut().zip(d.as_mut_slice()) {
                    (*v, *dv) = self.value_and_derivative(*v);
                }
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

        no_params!($name $(<$t>)?, |$s| $layer);
    };
}

/// Implements `Params` for a layer without parameters.
macro_rules! no_params {
    ($name:ident $(<$t:ident>)?, |$s:ident| $layer:expr) => {
        impl$(<$t>)? Network for $name $(<$t>)? {}

        impl<T: Scalar> Params<T> for $name $(<$t>)? {
            const NUM_PARAMS: usize = 0;
            fn zeros() -> Self {
                Self::default()
            }
            fn zip<const R: usize, const W: usize>(
                _: [&Self; R],
                _: [&mut Self; W],
                _: &mut impl FnMut([&[T]; R], [&mut [T]; W]),
            ) {
            }
            fn init<G: Rng + ?Sized>(&mut self, _: Init, _: &mut G) {}
            fn layers(&self, f: &mut impl FnMut(Layer)) {
                let $s = self;
                f($layer)
            }
        }
    };
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
elementwise!(Relu, |_l| Layer::Relu);

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
elementwise!(LeakyRelu<T>, |l| Layer::LeakyRelu {
    slope: l.slope.as_f64()
});

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
elementwise!(Sigmoid, |_l| Layer::Sigmoid);

/// `σ(x) = tanh x`; `σ' = 1 − tanh² x`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tanh;

impl<T: Scalar> Activation<T> for Tanh {
    #[inline]
    fn value(&self, x: T) -> T {
        x.tanh()
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        let t = x.tanh();
        (t, T::one() - t * t)
    }
}
elementwise!(Tanh, |_l| Layer::Tanh);

/// `σ(x) = ln(1 + eˣ)`, computed as `max(x, 0) + ln(1 + e^(−|x|))` so that it
/// neither overflows nor loses the tail; `σ' = 1 / (1 + e^(−x))`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Softplus;

impl<T: Scalar> Activation<T> for Softplus {
    #[inline]
    fn value(&self, x: T) -> T {
        x.max(T::zero()) + (-x.abs()).exp().ln_1p()
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        (self.value(x), x.sigmoid())
    }
}
elementwise!(Softplus, |_l| Layer::Softplus);

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
            self.alpha * x.exp_m1()
        }
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        if x > T::zero() {
            (x, T::one())
        } else {
            let e = x.exp_m1();
            (self.alpha * e, self.alpha * (e + T::one()))
        }
    }
}
elementwise!(Elu<T>, |l| Layer::Elu {
    alpha: l.alpha.as_f64()
});

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
        c::<T>(0.5) * x * (T::one() + u.tanh())
    }
    #[inline]
    fn value_and_derivative(&self, x: T) -> (T, T) {
        let k = c::<T>(SQRT_2_OVER_PI);
        let a = c::<T>(GELU_CUBIC);
        let half = c::<T>(0.5);
        let t = (k * (x + a * x * x * x)).tanh();
        let du = k * (T::one() + c::<T>(3.0) * a * x * x);
        let y = half * x * (T::one() + t);
        (
            y,
            half * (T::one() + t) + half * x * (T::one() - t * t) * du,
        )
    }
}
elementwise!(Gelu, |_l| Layer::Gelu);

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
    fn forward_train(&self, x: &X) -> (X, ()) {
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

/// Softmax of one column, in place.
pub(crate) fn softmax_in_place<T: Scalar>(col: &mut [T]) {
    let m = col.iter().fold(T::min_value().unwrap(), |m, &v| m.max(v));
    let mut sum = T::zero();
    for v in col.iter_mut() {
        *v = (*v - m).exp();
        sum += *v;
    }
    let inv = T::one() / sum;
    for v in col.iter_mut() {
        *v *= inv;
    }
}

impl<X: Tensor> Module<X> for Softmax {
    type Output = X;
    #[inline]
    fn forward(&self, x: &X) -> X {
        let mut s = *x;
        if X::ROWS > 0 {
            s.as_mut_slice()
                .chunks_exact_mut(X::ROWS)
                .for_each(softmax_in_place);
        }
        s
    }
}

impl<X: Tensor> Train<X> for Softmax {
    /// The output `s`.
    type Tape = X;
    #[inline]
    fn forward_train(&self, x: &X) -> (X, X) {
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

no_params!(Identity, |_l| Layer::Identity);
no_params!(Softmax, |_l| Layer::Softmax);
