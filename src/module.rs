//! The traits every layer and every network implements.
//!
//! * [`Module`]: inference, `x ↦ y`.
//! * [`Train`]: the forward pass that keeps a tape of what the backward pass
//!   needs, and the backward pass `∂L/∂y ↦ ∂L/∂x` that adds `∂L/∂θ` into a
//!   gradient of the same static type as the layer.
//! * [`Params`]: the tensors as flat slices with their names and roles
//!   (trainable or buffer), and the layer's description of itself (see
//!   [`crate::params`]).
//!
//! The input type is a trait parameter, so one layer serves a single sample
//! (`SVector<T, N>`) and a batch (`SMatrix<T, N, B>`, one sample per column)
//! alike, and a parameter-free layer like [`Relu`](crate::Relu) needs no size
//! of its own. A tuple of layers is a layer (see [`crate::network`]).
//!
//! # Writing a layer
//!
//! A layer is one file: it implements [`Module`] and [`Train`] for the
//! inputs it takes and [`Params`] for its tensors and its description (a
//! stable kind name, tensor names, roles and shapes). Every tool that walks a
//! network — weights files, Rust source, the safetensors import — asks the
//! layer, and [`Network`]'s methods come with it. Here, a learnable
//! element-wise scale `y = a ⊙ x`:
//!
//! ```
//! use nalgebra::{SMatrix, SVector};
//! use staticnet::params::{Fill, Shape, TensorInfo};
//! use staticnet::{Dense, Layer, Mode, Module, Network, Params, Scalar, Tanh, Train};
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
//!     fn forward_tape(&self, x: &SMatrix<T, N, B>, _: &mut Mode) -> (Self::Output, Self::Tape) {
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
//! impl<const N: usize, T> Layer for Scale<N, T> {
//!     const KIND: &'static str = "Scale"; // stable: weights files record it
//! }
//!
//! impl<T: Scalar, const N: usize> Params<T> for Scale<N, T> {
//!     const NUM_PARAMS: usize = N;
//!     fn zeros() -> Self {
//!         Scale { a: SVector::zeros() }
//!     }
//!     fn tensors<const R: usize, const W: usize>(
//!         read: [&Self; R],
//!         mut write: [&mut Self; W],
//!         f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
//!     ) {
//!         // Named `a`, shape (N), trained, starting at 1.
//!         let info = TensorInfo::trainable("a", Shape::new(&[N]), Fill::Ones);
//!         f(info, read.map(|s| s.a.as_slice()), write.each_mut().map(|s| s.a.as_mut_slice()));
//!     }
//! }
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

use crate::Network;

/// Inference: a layer (or network) that maps an input `X` to an output.
///
/// Every `Module` is a [`Network`], which gives it the methods users call.
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
    /// Whether the output is a probability (a final `Sigmoid` or `Softmax`)
    /// rather than a logit or a value. It decides how a one-output network
    /// names a class ([`Network::predict_class`]): class 1 when the output
    /// is above 0.5 for a probability, above 0 for a logit. `false` unless
    /// the layer says otherwise; a tuple takes its last layer's.
    const PROBABILITY: bool = false;
    /// Whether a network's passes through this layer are worth compiling
    /// for AVX-512F and AVX-512VL where the CPU has them (x86-64): the
    /// loops the compiler vectorises from the layer's scalar code (the
    /// exact activations' `tanh`, `exp`, …) then run 16 lanes wide with 32
    /// vector registers. A network's pass is so compiled where any of its
    /// layers says so (a tuple takes the `or` of its layers'), and hands
    /// its layers [`Avx512`]; the arithmetic is the same, so are the bits.
    /// `true` for the element-wise activations but `Relu`, `LeakyRelu` and
    /// `Identity` (the fast ones, `FastTanh` and `FastSigmoid`, whose
    /// kernels are written for 8 lanes, then run without their check, which
    /// 16 registers could not afford); `false` by default, which keeps a
    /// pass compiled for AVX2
    /// alone (a whole pass compiled for AVX-512 also moves and clears its
    /// values in 512-bit registers, which an Intel core measured slower for
    /// the recurrent layers' streaming step).
    const WIDE: bool = false;
    /// Computes the output (inference mode). Prefer [`Network::predict`]
    /// in user code: it computes the same thing, and its compile errors name
    /// the sizes that disagree.
    fn forward(&self, x: &X) -> Self::Output;
    /// [`forward`](Module::forward) with the kernels `isa` names (see
    /// [`Isa`]): what a network's forward pass calls on its layers once it
    /// has asked the CPU which kernels it may run, so that the answer
    /// reaches each kernel at compile time instead of being asked again
    /// beside it. With [`Checked`], or with what the network's pass chose,
    /// the output of `forward`, bit for bit. By default `forward`, which
    /// asks for itself: a layer need not implement it. `Dense`, the fast
    /// activations and the networks (tuples of layers) take the kernels
    /// given.
    #[inline(always)]
    fn forward_on<K: Isa>(&self, x: &X, isa: K) -> Self::Output {
        let _ = isa;
        self.forward(x)
    }
}

/// How a forward pass that keeps a tape behaves.
///
/// * [`Mode::Inference`]: as [`Module::forward`]: deterministic, running
///   statistics, dropout off. Gradient checks, [`Network::loss_and_grad`] and
///   [`Network::jacobian`] use it.
/// * [`Mode::Training`]: what a training step does: batch statistics over the
///   first `samples` columns (the rest of a short last batch is padding that
///   no layer may count), dropout drawing from `rng`.
pub enum Mode<'a> {
    /// Inference: the function [`Module::forward`] computes.
    Inference,
    /// A training step.
    Training {
        /// The caller's generator (dropout draws from it, in layer order, so
        /// the same seed gives the same bits).
        rng: &'a mut dyn Rng,
        /// How many of the batch's columns are real samples, from the first:
        /// the batch size, except for a short last batch.
        samples: usize,
    },
}

impl core::fmt::Debug for Mode<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Mode::Inference => f.write_str("Inference"),
            Mode::Training { samples, .. } => f
                .debug_struct("Training")
                .field("samples", samples)
                .finish_non_exhaustive(),
        }
    }
}

impl<'a> Mode<'a> {
    /// Training mode over a whole batch of `samples` columns.
    pub fn training(rng: &'a mut dyn Rng, samples: usize) -> Self {
        Mode::Training { rng, samples }
    }

    /// Whether this is a training step.
    pub fn is_training(&self) -> bool {
        matches!(self, Mode::Training { .. })
    }

    /// The number of real samples in a batch of `columns`: all of them in
    /// inference, `samples` (at most `columns`) in training.
    pub fn samples(&self, columns: usize) -> usize {
        match self {
            Mode::Inference => columns,
            Mode::Training { samples, .. } => (*samples).min(columns),
        }
    }
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
/// bit-identical results. A layer with buffers (running statistics) keeps
/// what it needs on the tape and updates them in
/// [`update_buffers`](Train::update_buffers), which a trainer calls only
/// after the step succeeded.
pub trait Train<X>: Module<X> + Sized {
    /// What the forward pass keeps for the backward pass: for a `Dense` layer
    /// its input, for an element-wise activation its derivative (the diagonal
    /// of its Jacobian), for softmax its output.
    type Tape;
    /// The forward pass in the given mode, keeping the tape.
    fn forward_tape(&self, x: &X, mode: &mut Mode<'_>) -> (Self::Output, Self::Tape);
    /// The forward pass in the given mode, writing the tape into `tape`
    /// (whatever it held before is overwritten): the same output and the
    /// same tape as [`forward_tape`](Train::forward_tape), bit for bit, but
    /// a caller that keeps one tape across training steps (as
    /// [`Trainer::fit`](crate::train::Trainer::fit) does) saves the copies
    /// of returning it and of assembling a network's tape from its layers'.
    ///
    /// Provided as `forward_tape` followed by a move; a layer whose tape is
    /// large overrides it to write its tape in place (`Dense`, the
    /// element-wise activations and the tuples do).
    #[inline(always)]
    fn forward_tape_into(&self, x: &X, mode: &mut Mode<'_>, tape: &mut Self::Tape) -> Self::Output {
        let (y, t) = self.forward_tape(x, mode);
        *tape = t;
        y
    }
    /// The forward pass in [`Mode::Inference`], keeping the tape: the
    /// derivative of exactly what [`Module::forward`] computes.
    #[inline]
    fn forward_train(&self, x: &X) -> (Self::Output, Self::Tape) {
        self.forward_tape(x, &mut Mode::Inference)
    }
    /// The backward pass: adds `∂L/∂θ` into `grad` and returns `∂L/∂x`.
    fn backward(&self, tape: &Self::Tape, dy: &Self::Output, grad: &mut Self) -> X;
    /// Like [`backward`](Train::backward), but without computing `∂L/∂x`,
    /// which the first layer of a network never needs.
    #[inline]
    fn backward_params(&self, tape: &Self::Tape, dy: &Self::Output, grad: &mut Self) {
        let _ = self.backward(tape, dy, grad);
    }
    /// Whether [`backward_set`](Train::backward_set) and
    /// [`backward_params_set`](Train::backward_params_set) write every
    /// gradient this layer has into `grad`, whatever it held before:
    /// `true` for a layer without parameters and for `Dense`, and for a
    /// tuple whose layers all say so; `false` by default. A caller that
    /// starts a gradient from zero (as
    /// [`Trainer::fit`](crate::train::Trainer::fit) does at each step)
    /// skips zeroing it where this is `true` and calls those two instead
    /// of `backward` and `backward_params`.
    const SETS_GRAD: bool = false;
    /// [`backward`](Train::backward) into a gradient that starts from
    /// zero: where [`SETS_GRAD`](Train::SETS_GRAD) is `true`, writes
    /// `∂L/∂θ` into `grad` (whatever it held: the bits that zeroing `grad`
    /// and calling `backward` give) and returns `∂L/∂x`; where it is
    /// `false`, it *is* `backward` (it adds), so `grad` must hold zeros.
    ///
    /// Provided as `backward`. `Dense` overrides it to write its gradient
    /// instead of loading and adding to it. With the zeroing skipped as
    /// well, the reference networks' SGD steps on an Intel Xeon (family 6,
    /// model 207), paired loop rounds against adding into zeros: digits
    /// 0.95× the time, the mid-size network 0.93× (the kernels of a CPU
    /// without AVX-512: 0.98× and 0.96×).
    ///
    /// [`Trainer::fit`]: crate::train::Trainer::fit
    #[inline]
    fn backward_set(&self, tape: &Self::Tape, dy: &Self::Output, grad: &mut Self) -> X {
        self.backward(tape, dy, grad)
    }
    /// [`backward_params`](Train::backward_params) into a gradient that
    /// starts from zero, as [`backward_set`](Train::backward_set) is
    /// `backward`. Provided as `backward_params`.
    #[inline]
    fn backward_params_set(&self, tape: &Self::Tape, dy: &Self::Output, grad: &mut Self) {
        self.backward_params(tape, dy, grad)
    }
    /// After a successful training step, updates the buffers from what a
    /// [`Mode::Training`] forward pass kept on the tape (a batch
    /// normalisation's running mean and variance). Nothing by default.
    #[inline]
    fn update_buffers(&mut self, tape: &Self::Tape) {
        let _ = tape;
    }
}

pub use crate::kernels::{Avx2Fma, Avx512, Checked, Isa, Plain};
pub use crate::params::{Layer, Node, Params};
