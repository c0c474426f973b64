//! The three traits every layer and every network implements.
//!
//! * [`Module`]: inference, `x ↦ y`.
//! * [`Train`]: the forward pass that keeps a tape of what the backward pass
//!   needs, and the backward pass `∂L/∂y ↦ ∂L/∂x` that adds `∂L/∂θ` into a
//!   gradient of the same static type as the layer.
//! * [`Params`]: the parameters as flat slices, for optimizers, initialisation
//!   and serialisation.
//!
//! The input type is a trait parameter, so one layer serves a single sample
//! (`SVector<T, N>`) and a batch (`SMatrix<T, N, B>`, one sample per column)
//! alike, and a parameter-free layer like [`Relu`](crate::Relu) needs no size
//! of its own. A tuple of layers is a layer (see [`crate::network`]).
//!
//! # Writing a layer
//!
//! A layer implements [`Module`] and [`Train`] for the inputs it takes,
//! [`Params`] for its parameters, and [`Network`] (empty) for the user-facing
//! methods. Here, a learnable element-wise scale `y = a ⊙ x`:
//!
//! ```
//! use nalgebra::{SMatrix, SVector};
//! use rand::Rng;
//! use staticnet::{Dense, Init, Module, Network, Params, Scalar, Tanh, Train};
//!
//! #[derive(Debug, Clone, PartialEq)]
//! struct Scale<const N: usize, T = f32> {
//!     a: SVector<T, N>,
//! }
//!
//! impl<T: Scalar, const N: usize, const B: usize> Module<SMatrix<T, N, B>> for Scale<N, T> {
//!     type Output = SMatrix<T, N, B>;
//!     fn forward(&self, x: &SMatrix<T, N, B>) -> Self::Output {
//!         SMatrix::from_fn(|i, j| self.a[i] * x[(i, j)])
//!     }
//! }
//!
//! impl<T: Scalar, const N: usize, const B: usize> Train<SMatrix<T, N, B>> for Scale<N, T> {
//!     type Tape = SMatrix<T, N, B>; // the input: ∂y/∂a needs it
//!     fn forward_train(&self, x: &SMatrix<T, N, B>) -> (Self::Output, Self::Tape) {
//!         (self.forward(x), *x)
//!     }
//!     fn backward(&self, x: &Self::Tape, dy: &Self::Output, grad: &mut Self) -> SMatrix<T, N, B> {
//!         for j in 0..B {
//!             for i in 0..N {
//!                 grad.a[i] += dy[(i, j)] * x[(i, j)]; // ∂L/∂a, accumulated
//!             }
//!         }
//!         SMatrix::from_fn(|i, j| self.a[i] * dy[(i, j)]) // ∂L/∂x
//!     }
//! }
//!
//! impl<T: Scalar, const N: usize> Params<T> for Scale<N, T> {
//!     const NUM_PARAMS: usize = N;
//!     fn zeros() -> Self {
//!         Scale { a: SVector::zeros() }
//!     }
//!     fn zip<const R: usize, const W: usize>(
//!         read: [&Self; R],
//!         mut write: [&mut Self; W],
//!         f: &mut impl FnMut([&[T]; R], [&mut [T]; W]),
//!     ) {
//!         f(read.map(|s| s.a.as_slice()), write.each_mut().map(|s| s.a.as_mut_slice()));
//!     }
//!     fn init<G: Rng + ?Sized>(&mut self, _: Init, _: &mut G) {
//!         self.a.fill(T::ONE);
//!     }
//! }
//!
//! impl<const N: usize, T> Network for Scale<N, T> {}
//!
//! // It composes like any layer, and its gradient is exact:
//! type Net = (Dense<2, 3, f64>, Scale<3, f64>, Tanh);
//! let mut net = Net::zeros();
//! net.0 = Dense::from_rows([[1.0, 0.5], [-1.0, 0.0], [0.25, 2.0]], [0.0, 0.1, 0.0]);
//! net.1.a = SVector::from([2.0, -1.0, 0.5]);
//! let x = SVector::from([0.3, -0.7]);
//! let j = net.jacobian(&x);
//! let h = 1e-6;
//! for i in 0..2 {
//!     let mut e = SVector::<f64, 2>::zeros();
//!     e[i] = h;
//!     let numeric = (net.predict(&(x + e)) - net.predict(&(x - e))) / (2.0 * h);
//!     assert!((j.column(i) - numeric).norm() < 1e-8);
//! }
//! ```

use rand::Rng;

use crate::{Init, Network, Scalar};

/// Inference: a layer (or network) that maps an input `X` to an output.
///
/// Every `Module` is a [`Network`] (an empty `impl Network for MyLayer {}`
/// for a layer of your own), which gives it the methods users call.
///
/// ```
/// use nalgebra::{SMatrix, SVector};
/// use staticnet::{Dense, Module, Relu};
///
/// let layer = Dense::<2, 3>::from_rows([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, -5.0]);
/// let y = layer.forward(&SVector::from([1.0, 2.0]));
/// assert_eq!(y, SVector::from([1.0, 2.0, -2.0]));
/// // The same layer on a batch of two samples, one per column:
/// let ys = layer.forward(&SMatrix::<f32, 2, 2>::new(1.0, 3.0, 2.0, 4.0));
/// assert_eq!(ys.column(0), y.column(0));
/// assert_eq!(Relu.forward(&y), SVector::from([1.0, 2.0, 0.0]));
/// ```
pub trait Module<X>: Network {
    /// What the layer produces for an input `X`.
    type Output;
    /// Computes the output. Prefer [`Network::predict`]
    /// in user code: it computes the same thing, and its compile errors name
    /// the sizes that disagree.
    fn forward(&self, x: &X) -> Self::Output;
}

/// Training: a forward pass that records a tape, and the backward pass that
/// applies the chain rule with it.
///
/// For a layer `y = f(x, θ)` and a scalar loss `L`, `backward` receives
/// `dy = ∂L/∂y`, adds `∂L/∂θ = (∂y/∂θ)ᵀ dy` into `grad` (it accumulates, so a
/// gradient can sum over calls), and returns `∂L/∂x = (∂y/∂x)ᵀ dy`. The tape
/// lives on the caller's stack; its size is `size_of::<Self::Tape>()`, the sum
/// of what each layer keeps (see the crate docs for a worked figure).
///
/// `backward` only reads the tape: running it twice on the same tape gives
/// bit-identical results.
pub trait Train<X>: Module<X> + Sized {
    /// What the forward pass keeps for the backward pass: for a `Dense` layer
    /// its input, for an element-wise activation its derivative (the diagonal
    /// of its Jacobian), for softmax its output.
    type Tape;
    /// The forward pass, keeping the tape.
    fn forward_train(&self, x: &X) -> (Self::Output, Self::Tape);
    /// The backward pass: adds `∂L/∂θ` into `grad` and returns `∂L/∂x`.
    fn backward(&self, tape: &Self::Tape, dy: &Self::Output, grad: &mut Self) -> X;
    /// Like [`backward`](Train::backward), but without computing `∂L/∂x`,
    /// which the first layer of a network never needs.
    #[inline]
    fn backward_params(&self, tape: &Self::Tape, dy: &Self::Output, grad: &mut Self) {
        let _ = self.backward(tape, dy, grad);
    }
}

/// One layer's kind, sizes and settings: an entry of a network's shape
/// signature (see [`Params::layers`]). It displays as the type would be
/// written, e.g. `Dense<32, 10>` or `LeakyRelu(0.01)`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Layer {
    /// [`Dense<I, O>`](crate::Dense).
    Dense {
        /// `I`.
        inputs: usize,
        /// `O`.
        outputs: usize,
    },
    /// [`Identity`](crate::Identity).
    Identity,
    /// [`Relu`](crate::Relu).
    Relu,
    /// [`LeakyRelu`](crate::LeakyRelu) with its slope.
    LeakyRelu {
        /// The negative slope.
        slope: f64,
    },
    /// [`Sigmoid`](crate::Sigmoid).
    Sigmoid,
    /// [`Tanh`](crate::Tanh).
    Tanh,
    /// [`Softplus`](crate::Softplus).
    Softplus,
    /// [`Elu`](crate::Elu) with its `α`.
    Elu {
        /// `α`.
        alpha: f64,
    },
    /// [`Gelu`](crate::Gelu).
    Gelu,
    /// [`FastTanh`](crate::FastTanh).
    FastTanh,
    /// [`FastSigmoid`](crate::FastSigmoid).
    FastSigmoid,
    /// [`Softmax`](crate::Softmax).
    Softmax,
    /// A layer defined outside this crate.
    Custom {
        /// Its type name.
        name: &'static str,
        /// Its number of parameters.
        params: usize,
    },
}

impl core::fmt::Display for Layer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Layer::Dense { inputs, outputs } => write!(f, "Dense<{inputs}, {outputs}>"),
            Layer::Identity => f.write_str("Identity"),
            Layer::Relu => f.write_str("Relu"),
            Layer::LeakyRelu { slope } => write!(f, "LeakyRelu({slope})"),
            Layer::Sigmoid => f.write_str("Sigmoid"),
            Layer::Tanh => f.write_str("Tanh"),
            Layer::Softplus => f.write_str("Softplus"),
            Layer::Elu { alpha } => write!(f, "Elu({alpha})"),
            Layer::Gelu => f.write_str("Gelu"),
            Layer::FastTanh => f.write_str("FastTanh"),
            Layer::FastSigmoid => f.write_str("FastSigmoid"),
            Layer::Softmax => f.write_str("Softmax"),
            Layer::Custom { name, params } => write!(f, "{name} ({params} parameters)"),
        }
    }
}

/// An event of [`Params::structure`]: a layer, or the start or end of a tuple.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Node {
    /// A layer.
    Layer(Layer),
    /// A tuple begins.
    Open,
    /// A tuple ends.
    Close,
}

/// The parameters of a layer or network, in scalar type `T`.
///
/// A gradient, and each slot of an optimizer's state, is a value of the same
/// type as the network (`Self`), so its shape is checked by the compiler.
/// [`zip`](Params::zip) walks several such values in lock step, one
/// contiguous slice per parameter tensor, in a fixed order (layer by layer;
/// within a `Dense` layer the weights column by column, then the bias).
pub trait Params<T: Scalar>: Sized {
    /// The number of scalar parameters.
    const NUM_PARAMS: usize;

    /// A value of this type with every parameter zero (and every setting, such
    /// as a leaky ReLU's slope, at its default): a fresh gradient.
    fn zeros() -> Self;

    /// Calls `f` once per parameter tensor with the matching slices of the
    /// `read` values and of the `write` values.
    fn zip<const R: usize, const W: usize>(
        read: [&Self; R],
        write: [&mut Self; W],
        f: &mut impl FnMut([&[T]; R], [&mut [T]; W]),
    );

    /// (Re-)initialises the parameters with the given scheme.
    fn init<G: Rng + ?Sized>(&mut self, init: Init, rng: &mut G);

    /// Calls `f` with the network's structure: its layers in order, each
    /// tuple (block) between an [`Node::Open`] and a [`Node::Close`]. The
    /// default is `layers` alone (one leaf); tuples add the brackets.
    fn structure(&self, f: &mut impl FnMut(Node)) {
        self.layers(&mut |l| f(Node::Layer(l)))
    }

    /// Calls `f` with each layer's kind, sizes and settings, in order, nested
    /// tuples flattened: the network's shape signature, which a weights file
    /// records and checks. The default describes `Self` as one
    /// [`Layer::Custom`] layer; the layers of this crate describe themselves.
    fn layers(&self, f: &mut impl FnMut(Layer)) {
        f(Layer::Custom {
            name: core::any::type_name::<Self>(),
            params: Self::NUM_PARAMS,
        })
    }

    /// A new value initialised with the given scheme: the usual way to create
    /// a network.
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
    /// use staticnet::{Dense, Init, Params, Relu};
    ///
    /// type Net = (Dense<4, 8>, Relu, Dense<8, 2>);
    /// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    /// let net = Net::random(Init::He, &mut rng);
    /// assert_eq!(<Net as Params<f32>>::NUM_PARAMS, 4 * 8 + 8 + 8 * 2 + 2);
    /// ```
    fn random<G: Rng + ?Sized>(init: Init, rng: &mut G) -> Self {
        let mut net = Self::zeros();
        net.init(init, rng);
        net
    }

    /// Calls `f` with each parameter tensor as a slice.
    fn visit(&self, f: &mut impl FnMut(&[T])) {
        Self::zip([self], [], &mut |[p], []| f(p));
    }

    /// Calls `f` with each parameter tensor as a mutable slice.
    fn visit_mut(&mut self, f: &mut impl FnMut(&mut [T])) {
        Self::zip([], [self], &mut |[], [p]| f(p));
    }

    /// Sets every parameter to zero, keeping settings: resets a gradient.
    fn set_zero(&mut self) {
        self.visit_mut(&mut |p| p.fill(T::zero()));
    }

    /// Whether every parameter is finite (neither NaN nor infinite).
    ///
    /// `0 · v` is 0 for a finite `v` and NaN otherwise, and a sum with a NaN
    /// is NaN: eight running sums of it, one pass without branches, which
    /// the compiler vectorises (a trainer checks every gradient with this).
    fn is_finite(&self) -> bool {
        let mut acc = [T::ZERO; 8];
        self.visit(&mut |p| {
            let chunks = p.chunks_exact(8);
            for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
                *a += v * T::ZERO;
            }
            for c in chunks {
                for (a, &v) in acc.iter_mut().zip(c) {
                    *a += v * T::ZERO;
                }
            }
        });
        acc.iter().all(|&a| a == T::ZERO)
    }
}
