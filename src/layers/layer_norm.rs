//! Layer normalisation over each sample's features, PyTorch's
//! `nn.LayerNorm(N)`.

use core::fmt;

use nalgebra::{ArrayStorage, SMatrix, SVector};

use crate::module::Mode;
use crate::params::{Fill, Layer, RustSource, Setting, Shape, TensorInfo, tensor};
use crate::scalar::c;
use crate::shape::Takes;
use crate::{Module, Params, Scalar, Tensor, Train};

/// Layer normalisation of `N` features: `y = γ ⊙ (x − μ) / √(σ² + ε) + β`,
/// where `μ` and `σ²` are the mean and biased variance of each sample's
/// (column's) `N` values.
///
/// PyTorch's `nn.LayerNorm(N)` (elementwise affine, `eps = 1e-5`). Each
/// sample is normalised on its own, so training and inference compute the
/// same function, and a batch's padding columns affect no other column (the
/// loss gives them a zero gradient, and the backward pass, linear in `dy`
/// per column, keeps it zero). The backward pass is exact:
/// `dx = (γ ⊙ dy − mean(γ ⊙ dy) − x̂ · mean(γ ⊙ dy ⊙ x̂)) / √(σ² + ε)`,
/// `∂L/∂γ = Σ dy ⊙ x̂`, `∂L/∂β = Σ dy` over the columns.
///
/// Tensors `weight` (`γ`, trainable, starts at 1) and `bias` (`β`,
/// trainable, 0), each of shape `(N)`; setting `eps` (an `f64`, rounded to
/// `T` where used). With `N = 1` the variance is 0 and the output is `β`.
///
/// **Memory.** The layer is `2N·size_of::<T>() + 8` bytes (40 for
/// `LayerNorm<4, f32>`). Its tape for a batch of `B` is a
/// [`LayerNormTape`]: `x̂` and one `1/√(σ² + ε)` per column,
/// `(N + 1)·B` scalars: 100 bytes for `N = 4`, `B = 5` in `f32`
/// (tests/norm.rs checks these figures).
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::{LayerNorm, Network};
///
/// let ln = LayerNorm::<3, f64>::new();
/// let y = ln.predict(&SVector::from([1.0, 2.0, 6.0]));
/// // Mean 3, biased variance 14/3.
/// let s = 1.0 / (14.0f64 / 3.0 + 1e-5).sqrt();
/// assert!((y - SVector::from([-2.0 * s, -s, 3.0 * s])).norm() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm<const N: usize, T = f32> {
    /// The scale `γ` (PyTorch's `weight`).
    pub weight: SVector<T, N>,
    /// The shift `β` (PyTorch's `bias`).
    pub bias: SVector<T, N>,
    /// `ε`, added to the variance before its square root.
    pub eps: f64,
}

/// PyTorch's default `eps`.
const DEFAULT_EPS: f64 = 1e-5;

impl<const N: usize, T> LayerNorm<N, T> {
    /// A layer from its parts. A `const fn`, so a trained layer can be a
    /// `static`:
    ///
    /// ```
    /// use staticnet::LayerNorm;
    /// static LN: LayerNorm<2> = LayerNorm::from_parts([1.0, 2.0], [0.0, 0.5], 1e-5);
    /// assert_eq!(LN.bias[1], 0.5);
    /// ```
    pub const fn from_parts(weight: [T; N], bias: [T; N], eps: f64) -> Self {
        LayerNorm {
            weight: SVector::from_array_storage(ArrayStorage([weight])),
            bias: SVector::from_array_storage(ArrayStorage([bias])),
            eps,
        }
    }
}

impl<const N: usize, T: Scalar> LayerNorm<N, T> {
    /// A fresh layer, as PyTorch makes one: `γ = 1`, `β = 0`, `eps = 1e-5`.
    pub const fn new() -> Self {
        Self::from_parts([T::ONE; N], [T::ZERO; N], DEFAULT_EPS)
    }

    /// The forward pass on a batch of the layer's own size.
    fn forward_batch<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
    ) -> (SMatrix<T, N, B>, LayerNormTape<N, B, T>) {
        let eps = c::<T>(self.eps);
        let count = c::<T>(N as f64);
        let mut x_hat = SMatrix::<T, N, B>::zeros();
        let mut inv_std = SMatrix::<T, 1, B>::zeros();
        let mut y = SMatrix::<T, N, B>::zeros();
        for j in 0..B {
            let mut mean = T::zero();
            for i in 0..N {
                mean += x[(i, j)];
            }
            mean /= count;
            let mut squares = T::zero();
            for i in 0..N {
                let d = x[(i, j)] - mean;
                squares += d * d;
            }
            let s = T::one() / (squares / count + eps).sqrt();
            inv_std[j] = s;
            for i in 0..N {
                let h = (x[(i, j)] - mean) * s;
                x_hat[(i, j)] = h;
                y[(i, j)] = self.weight[i] * h + self.bias[i];
            }
        }
        (y, LayerNormTape { x_hat, inv_std })
    }

    /// Adds `∂L/∂γ` and `∂L/∂β` into `grad`.
    fn backward_params_batch<const B: usize>(
        tape: &LayerNormTape<N, B, T>,
        dy: &SMatrix<T, N, B>,
        grad: &mut Self,
    ) {
        for j in 0..B {
            for i in 0..N {
                grad.weight[i] += dy[(i, j)] * tape.x_hat[(i, j)];
                grad.bias[i] += dy[(i, j)];
            }
        }
    }

    /// The backward pass on a batch of the layer's own size.
    fn backward_batch<const B: usize>(
        &self,
        tape: &LayerNormTape<N, B, T>,
        dy: &SMatrix<T, N, B>,
        grad: &mut Self,
    ) -> SMatrix<T, N, B> {
        Self::backward_params_batch(tape, dy, grad);
        let count = c::<T>(N as f64);
        let mut dx = SMatrix::<T, N, B>::zeros();
        for j in 0..B {
            let (mut sum, mut sum_x_hat) = (T::zero(), T::zero());
            for i in 0..N {
                let g = self.weight[i] * dy[(i, j)];
                sum += g;
                sum_x_hat += g * tape.x_hat[(i, j)];
            }
            let (mean, mean_x_hat) = (sum / count, sum_x_hat / count);
            let s = tape.inv_std[j];
            for i in 0..N {
                let g = self.weight[i] * dy[(i, j)];
                dx[(i, j)] = s * (g - mean - tape.x_hat[(i, j)] * mean_x_hat);
            }
        }
        dx
    }
}

impl<const N: usize, T: Scalar> Default for LayerNorm<N, T> {
    /// [`LayerNorm::new`].
    fn default() -> Self {
        Self::new()
    }
}

/// What a [`LayerNorm`] keeps from a forward pass over a batch of `B`
/// columns: `x̂` and each column's `1/√(σ² + ε)`, `(N + 1)·B` scalars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerNormTape<const N: usize, const B: usize, T> {
    x_hat: SMatrix<T, N, B>,
    inv_std: SMatrix<T, 1, B>,
}

impl<const N: usize, const B: usize, T: Scalar> LayerNormTape<N, B, T> {
    /// The normalised input `x̂ = (x − μ) / √(σ² + ε)`.
    pub fn normalized(&self) -> &SMatrix<T, N, B> {
        &self.x_hat
    }

    /// `1 / √(σ² + ε)`, one per column.
    pub fn inv_std(&self) -> &SMatrix<T, 1, B> {
        &self.inv_std
    }
}

/// A batch has the layer's size: `LayerNorm<N>` takes `N` values per sample.
impl<T, const N: usize> Takes<N, N> for LayerNorm<N, T> {
    #[inline(always)]
    fn input<U, const B: usize>(x: &SMatrix<U, N, B>) -> &SMatrix<U, N, B> {
        x
    }
    #[inline(always)]
    fn input_grad<U, const B: usize>(dx: SMatrix<U, N, B>) -> SMatrix<U, N, B> {
        dx
    }
}

/// An input a `LayerNorm<N, T>` accepts: `SMatrix<T, M, B>` with `M == N`
/// (checked by [`Takes`], whose error names both sizes), one sample per
/// column.
///
/// The layer's [`Module`] and [`Train`] impls are generic over this trait
/// rather than over a concrete matrix, so that the compiler learns the input
/// size from the input and reports a mismatch at the layer that has it
/// (as [`DenseInput`](crate::DenseInput) does for [`Dense`](crate::Dense)).
pub trait LayerNormInput<T: Scalar, const N: usize>: Tensor<Scalar = T> {
    /// The tape: a [`LayerNormTape`] for the batch's number of columns.
    type Tape;
    /// `γ ⊙ x̂ + β` and the tape.
    fn forward_tape(layer: &LayerNorm<N, T>, x: &Self) -> (Self, Self::Tape);
    /// Adds `∂L/∂γ`, `∂L/∂β` into `grad`; returns `∂L/∂x`.
    fn backward(
        layer: &LayerNorm<N, T>,
        tape: &Self::Tape,
        dy: &Self,
        grad: &mut LayerNorm<N, T>,
    ) -> Self;
    /// As [`backward`](LayerNormInput::backward), without `∂L/∂x`.
    fn backward_params(tape: &Self::Tape, dy: &Self, grad: &mut LayerNorm<N, T>);
}

impl<T: Scalar, const N: usize, const M: usize, const B: usize> LayerNormInput<T, N>
    for SMatrix<T, M, B>
where
    LayerNorm<N, T>: Takes<M, N>,
{
    type Tape = LayerNormTape<N, B, T>;

    #[inline]
    fn forward_tape(layer: &LayerNorm<N, T>, x: &Self) -> (Self, Self::Tape) {
        let (y, tape) = layer.forward_batch(<LayerNorm<N, T>>::input(x));
        (<LayerNorm<N, T>>::input_grad(y), tape)
    }

    #[inline]
    fn backward(
        layer: &LayerNorm<N, T>,
        tape: &Self::Tape,
        dy: &Self,
        grad: &mut LayerNorm<N, T>,
    ) -> Self {
        let dy = <LayerNorm<N, T>>::input(dy);
        <LayerNorm<N, T>>::input_grad(layer.backward_batch(tape, dy, grad))
    }

    #[inline]
    fn backward_params(tape: &Self::Tape, dy: &Self, grad: &mut LayerNorm<N, T>) {
        LayerNorm::backward_params_batch(tape, <LayerNorm<N, T>>::input(dy), grad);
    }
}

impl<T: Scalar, const N: usize, X: LayerNormInput<T, N>> Module<X> for LayerNorm<N, T> {
    type Output = X;
    #[inline]
    fn forward(&self, x: &X) -> X {
        X::forward_tape(self, x).0
    }
}

impl<T: Scalar, const N: usize, X: LayerNormInput<T, N>> Train<X> for LayerNorm<N, T> {
    type Tape = X::Tape;

    /// The same in every mode.
    #[inline]
    fn forward_tape(&self, x: &X, _: &mut Mode<'_>) -> (X, X::Tape) {
        X::forward_tape(self, x)
    }

    #[inline]
    fn backward(&self, tape: &X::Tape, dy: &X, grad: &mut Self) -> X {
        X::backward(self, tape, dy, grad)
    }

    #[inline]
    fn backward_params(&self, tape: &X::Tape, dy: &X, grad: &mut Self) {
        X::backward_params(tape, dy, grad)
    }
}

impl<const N: usize, T> Layer for LayerNorm<N, T> {
    const KIND: &'static str = "LayerNorm";
}

/// Tensors `weight` and `bias`, both trainable, of shape `(N)`; setting
/// `eps`.
impl<T: Scalar, const N: usize> Params<T> for LayerNorm<N, T> {
    const NUM_PARAMS: usize = 2 * N;

    /// Both tensors zero, `eps` at its default.
    fn zeros() -> Self {
        Self::from_parts([T::ZERO; N], [T::ZERO; N], DEFAULT_EPS)
    }

    #[inline]
    fn tensors<const R: usize, const W: usize>(
        read: [&Self; R],
        mut write: [&mut Self; W],
        f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
    ) {
        let shape = Shape::new(&[N]);
        let weight = TensorInfo::trainable("weight", shape, Fill::Ones);
        tensor!(f, read, write, weight, weight);
        let bias = TensorInfo::trainable("bias", shape, Fill::Zeros);
        tensor!(f, read, write, bias, bias);
    }

    fn settings(&self, f: &mut impl FnMut(&'static str, Setting)) {
        f("eps", Setting::Real(self.eps));
    }

    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!("staticnet::LayerNorm<{N}, {}>", T::NAME))
    }

    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!(
            "staticnet::LayerNorm::<{N}, {}>::from_parts(",
            T::NAME
        ))?;
        src.array(self.weight.as_slice(), &[N])?;
        src.text(", ")?;
        src.array(self.bias.as_slice(), &[N])?;
        src.text(", ")?;
        src.scalar(self.eps)?;
        src.text(")")
    }
}
