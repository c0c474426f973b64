//! The fully connected layer `y = W x + b`.

use core::fmt;

use nalgebra::{ArrayStorage, SMatrix, SVector};

use crate::module::{Isa, Mode};
use crate::params::{Fill, Layer, Layout, RustSource, Shape, TensorInfo, tensor};
use crate::sequence::Seq;
use crate::shape::Takes;
use crate::stream::Stream;
use crate::{Module, Params, Scalar, Tensor, Train, kernels};

/// A fully connected layer with `I` inputs and `O` outputs: `y = W x + b`,
/// with `W:` [`SMatrix<T, O, I>`] and `b:` [`SVector<T, O>`].
///
/// It takes one sample (`SVector<T, I>`) or a batch (`SMatrix<T, I, B>`, one
/// sample per column). Its tape is its input (`I·B` scalars), since
/// `∂L/∂W = dy xᵀ`, `∂L/∂b = Σ dy` and `∂L/∂x = Wᵀ dy`.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::{Dense, Network};
///
/// let layer = Dense::<3, 2>::from_rows([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]], [0.5, -1.0]);
/// let y = layer.predict(&SVector::from([1.0, 1.0, 1.0]));
/// assert_eq!(y, SVector::from([6.5, 0.0]));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dense<const I: usize, const O: usize, T = f32> {
    /// The weights `W`, `O` rows by `I` columns.
    pub weight: SMatrix<T, O, I>,
    /// The bias `b`.
    pub bias: SVector<T, O>,
}

impl<const I: usize, const O: usize, T> Dense<I, O, T> {
    /// A layer from its weight matrix and bias.
    pub const fn new(weight: SMatrix<T, O, I>, bias: SVector<T, O>) -> Self {
        Dense { weight, bias }
    }

    /// A layer from `W` stored column by column (`columns[i]` is `W[:, i]`,
    /// nalgebra's own layout) and `b`. A `const fn`, so a trained network can
    /// be a `static` in flash:
    ///
    /// ```
    /// use staticnet::Dense;
    /// static LAYER: Dense<2, 1> = Dense::from_columns([[0.5], [-0.25]], [1.0]);
    /// assert_eq!(LAYER.weight[(0, 1)], -0.25);
    /// ```
    pub const fn from_columns(columns: [[T; O]; I], bias: [T; O]) -> Self {
        Dense {
            weight: SMatrix::from_array_storage(ArrayStorage(columns)),
            bias: SVector::from_array_storage(ArrayStorage([bias])),
        }
    }
}

impl<const I: usize, const O: usize, T: Scalar> Dense<I, O, T> {
    /// A layer from `W` written row by row, as in mathematics (`rows[o]` is
    /// `W[o, :]`), and `b`.
    pub fn from_rows(rows: [[T; I]; O], bias: [T; O]) -> Self {
        Dense {
            weight: SMatrix::from_fn(|o, i| rows[o][i]),
            bias: SVector::from(bias),
        }
    }

    /// `W X + b` for a batch `X` whose size is already `I` (the typed core of
    /// [`Module::forward`]).
    #[inline(always)]
    pub fn forward_batch<const B: usize>(&self, x: &SMatrix<T, I, B>) -> SMatrix<T, O, B> {
        kernels::affine(&self.weight, &self.bias, x)
    }

    /// [`forward_batch`](Dense::forward_batch) with the kernels `isa` names.
    #[inline(always)]
    fn forward_batch_on<const B: usize, K: Isa>(
        &self,
        x: &SMatrix<T, I, B>,
        isa: K,
    ) -> SMatrix<T, O, B> {
        kernels::affine_on(isa, &self.weight, &self.bias, x)
    }
}

impl<const I: usize, const O: usize, T: Scalar> Default for Dense<I, O, T> {
    /// All weights and biases zero.
    fn default() -> Self {
        Dense {
            weight: SMatrix::zeros(),
            bias: SVector::zeros(),
        }
    }
}

/// An input a `Dense<I, O, T>` accepts: `SMatrix<T, N, B>` with `N == I`
/// (checked by [`Takes`], whose error names both sizes).
///
/// The layer's [`Module`] and [`Train`] impls are generic over this trait
/// rather than over a concrete matrix, so that the compiler learns the input
/// size from the input and reports a mismatch at the layer that has it.
pub trait DenseInput<T: Scalar, const I: usize, const O: usize>: Tensor<Scalar = T> {
    /// `SMatrix<T, O, B>`.
    type Output: Tensor<Scalar = T>;
    /// `W x + b`.
    fn forward(layer: &Dense<I, O, T>, x: &Self) -> Self::Output;
    /// `W x + b` with the kernels `isa` names (see
    /// [`Module::forward_on`]); by default [`forward`](DenseInput::forward).
    #[inline(always)]
    fn forward_on<K: Isa>(layer: &Dense<I, O, T>, x: &Self, isa: K) -> Self::Output {
        let _ = isa;
        Self::forward(layer, x)
    }
    /// Adds `dy xᵀ` into `grad.weight` and `Σ dy` into `grad.bias`; returns `Wᵀ dy`.
    fn backward(
        layer: &Dense<I, O, T>,
        x: &Self,
        dy: &Self::Output,
        grad: &mut Dense<I, O, T>,
    ) -> Self;
    /// As [`backward`](DenseInput::backward), without `Wᵀ dy`.
    fn backward_params(x: &Self, dy: &Self::Output, grad: &mut Dense<I, O, T>);
    /// As [`backward`](DenseInput::backward), but writes `dy xᵀ` into
    /// `grad.weight` and `Σ dy` into `grad.bias`, whatever they held: the
    /// bits of zeroing them and calling `backward`. By default exactly
    /// that.
    #[inline(always)]
    fn backward_set(
        layer: &Dense<I, O, T>,
        x: &Self,
        dy: &Self::Output,
        grad: &mut Dense<I, O, T>,
    ) -> Self {
        grad.weight.fill(T::ZERO);
        grad.bias.fill(T::ZERO);
        Self::backward(layer, x, dy, grad)
    }
    /// As [`backward_set`](DenseInput::backward_set), without `Wᵀ dy`. By
    /// default the gradient zeroed, then
    /// [`backward_params`](DenseInput::backward_params).
    #[inline(always)]
    fn backward_params_set(x: &Self, dy: &Self::Output, grad: &mut Dense<I, O, T>) {
        grad.weight.fill(T::ZERO);
        grad.bias.fill(T::ZERO);
        Self::backward_params(x, dy, grad)
    }
}

impl<T: Scalar, const I: usize, const O: usize, const N: usize, const B: usize> DenseInput<T, I, O>
    for SMatrix<T, N, B>
where
    Dense<I, O, T>: Takes<N, I>,
{
    type Output = SMatrix<T, O, B>;

    #[inline(always)]
    fn forward(layer: &Dense<I, O, T>, x: &Self) -> SMatrix<T, O, B> {
        layer.forward_batch(<Dense<I, O, T>>::input(x))
    }

    #[inline(always)]
    fn forward_on<K: Isa>(layer: &Dense<I, O, T>, x: &Self, isa: K) -> SMatrix<T, O, B> {
        layer.forward_batch_on(<Dense<I, O, T>>::input(x), isa)
    }

    #[inline(always)]
    fn backward(
        layer: &Dense<I, O, T>,
        x: &Self,
        dy: &SMatrix<T, O, B>,
        grad: &mut Dense<I, O, T>,
    ) -> Self {
        Self::backward_params(x, dy, grad);
        <Dense<I, O, T>>::input_grad(kernels::transpose_times(&layer.weight, dy))
    }

    #[inline(always)]
    fn backward_params(x: &Self, dy: &SMatrix<T, O, B>, grad: &mut Dense<I, O, T>) {
        let x = <Dense<I, O, T>>::input(x);
        kernels::accumulate_outer(&mut grad.weight, &mut grad.bias, dy, x);
    }

    #[inline(always)]
    fn backward_set(
        layer: &Dense<I, O, T>,
        x: &Self,
        dy: &SMatrix<T, O, B>,
        grad: &mut Dense<I, O, T>,
    ) -> Self {
        Self::backward_params_set(x, dy, grad);
        <Dense<I, O, T>>::input_grad(kernels::transpose_times(&layer.weight, dy))
    }

    #[inline(always)]
    fn backward_params_set(x: &Self, dy: &SMatrix<T, O, B>, grad: &mut Dense<I, O, T>) {
        let x = <Dense<I, O, T>>::input(x);
        kernels::set_outer(&mut grad.weight, &mut grad.bias, dy, x);
    }
}

/// A sequence: the same `W x_t + b` at every step `t` of every sample (a
/// position-wise layer, PyTorch's `Linear` on a `(batch, length, channels)`
/// tensor).
impl<T: Scalar, const I: usize, const O: usize, const N: usize, const L: usize, const B: usize>
    DenseInput<T, I, O> for Seq<T, N, L, B>
where
    Dense<I, O, T>: Takes<N, I>,
{
    type Output = Seq<T, O, L, B>;

    #[inline(always)]
    fn forward(layer: &Dense<I, O, T>, x: &Self) -> Seq<T, O, L, B> {
        let mut y = Seq::zeros();
        for (yb, xb) in y.data.iter_mut().zip(&x.data) {
            let xb = SMatrix::<T, N, L>::from_array_storage(ArrayStorage(*xb));
            *yb = layer.forward_batch(<Dense<I, O, T>>::input(&xb)).data.0;
        }
        y
    }

    #[inline(always)]
    fn backward(
        layer: &Dense<I, O, T>,
        x: &Self,
        dy: &Seq<T, O, L, B>,
        grad: &mut Dense<I, O, T>,
    ) -> Self {
        Self::backward_params(x, dy, grad);
        let mut dx = Seq::zeros();
        for (dxb, dyb) in dx.data.iter_mut().zip(&dy.data) {
            let dyb = SMatrix::<T, O, L>::from_array_storage(ArrayStorage(*dyb));
            let d = <Dense<I, O, T>>::input_grad(kernels::transpose_times(&layer.weight, &dyb));
            *dxb = d.data.0;
        }
        dx
    }

    #[inline(always)]
    fn backward_params(x: &Self, dy: &Seq<T, O, L, B>, grad: &mut Dense<I, O, T>) {
        for (xb, dyb) in x.data.iter().zip(&dy.data) {
            let xb = SMatrix::<T, N, L>::from_array_storage(ArrayStorage(*xb));
            let dyb = SMatrix::<T, O, L>::from_array_storage(ArrayStorage(*dyb));
            let xb = <Dense<I, O, T>>::input(&xb);
            kernels::accumulate_outer(&mut grad.weight, &mut grad.bias, &dyb, xb);
        }
    }
}

/// One step of a stream: `W x_t + b`, with nothing to remember.
impl<T: Scalar, const I: usize, const O: usize, const N: usize> Stream<SVector<T, N>>
    for Dense<I, O, T>
where
    Dense<I, O, T>: Takes<N, I>,
{
    type State = ();
    type Output = SVector<T, O>;
    #[inline(always)]
    fn start(&self) {}
    #[inline(always)]
    fn step(&self, _: &mut (), x: &SVector<T, N>) -> SVector<T, O> {
        self.forward_batch(<Dense<I, O, T>>::input(x))
    }
}

impl<T: Scalar, const I: usize, const O: usize, X: DenseInput<T, I, O>> Module<X>
    for Dense<I, O, T>
{
    type Output = X::Output;
    #[inline(always)]
    fn forward(&self, x: &X) -> X::Output {
        X::forward(self, x)
    }
    #[inline(always)]
    fn forward_on<K: Isa>(&self, x: &X, isa: K) -> X::Output {
        X::forward_on(self, x, isa)
    }
}

impl<T: Scalar, const I: usize, const O: usize, X: DenseInput<T, I, O>> Train<X>
    for Dense<I, O, T>
{
    type Tape = X;
    #[inline(always)]
    fn forward_tape(&self, x: &X, _: &mut Mode<'_>) -> (X::Output, X) {
        (X::forward(self, x), *x)
    }
    #[inline(always)]
    fn forward_tape_into(&self, x: &X, _: &mut Mode<'_>, tape: &mut X) -> X::Output {
        // The product reads the tape's copy of `x`, not `x`: in a network's
        // pass `x` (the layer before's output, moved into a slot of its
        // own) is then dead once copied, and the compiler copies the
        // output straight into the tape, where reading `x` kept the move
        // (one 4 KiB `memcpy` fewer for digits' hidden layer on 32 samples;
        // its SGD step 3% faster on an Intel Xeon, model 207). The same
        // values, so the same bits.
        *tape = *x;
        X::forward(self, tape)
    }
    #[inline(always)]
    fn backward(&self, x: &X, dy: &X::Output, grad: &mut Self) -> X {
        X::backward(self, x, dy, grad)
    }
    #[inline(always)]
    fn backward_params(&self, x: &X, dy: &X::Output, grad: &mut Self) {
        X::backward_params(x, dy, grad)
    }
    /// `backward_set` writes the weight's and the bias's gradients.
    const SETS_GRAD: bool = true;
    #[inline(always)]
    fn backward_set(&self, x: &X, dy: &X::Output, grad: &mut Self) -> X {
        X::backward_set(self, x, dy, grad)
    }
    #[inline(always)]
    fn backward_params_set(&self, x: &X, dy: &X::Output, grad: &mut Self) {
        X::backward_params_set(x, dy, grad)
    }
}

impl<const I: usize, const O: usize, T> Layer for Dense<I, O, T> {
    const KIND: &'static str = "Dense";
}

/// Tensors `weight` of shape `(O, I)` (PyTorch's `Linear.weight`, stored
/// column by column) and `bias` of shape `(O)`, both trainable.
impl<T: Scalar, const I: usize, const O: usize> Params<T> for Dense<I, O, T> {
    const NUM_PARAMS: usize = I * O + O;

    fn zeros() -> Self {
        Self::default()
    }

    #[inline(always)]
    fn tensors<const R: usize, const W: usize>(
        read: [&Self; R],
        mut write: [&mut Self; W],
        f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
    ) {
        // Built at compile time: every optimizer step and gradient reset
        // walks these.
        let weight = const {
            TensorInfo::trainable(
                "weight",
                Shape::new(&[O, I]),
                Fill::Weight {
                    fan_in: I,
                    fan_out: O,
                },
            )
            .with_layout(Layout::ColumnMajor)
        };
        tensor!(f, read, write, weight, weight);
        let bias =
            const { TensorInfo::trainable("bias", Shape::new(&[O]), Fill::Bias { fan_in: I }) };
        tensor!(f, read, write, bias, bias);
    }

    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!("staticnet::Dense<{I}, {O}, {}>", T::NAME))
    }

    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!(
            "staticnet::Dense::<{I}, {O}, {}>::from_columns(",
            T::NAME
        ))?;
        src.array(self.weight.as_slice(), &[I, O])?;
        src.text(", ")?;
        src.array(self.bias.as_slice(), &[O])?;
        src.text(")")
    }
}
