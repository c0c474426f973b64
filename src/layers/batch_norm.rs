//! Batch normalisation over the features of a batch, PyTorch's
//! `nn.BatchNorm1d` on 2-D input.

use core::fmt;

use nalgebra::{ArrayStorage, SMatrix, SVector};

use crate::module::Mode;
use crate::params::{Fill, Layer, RustSource, Setting, Shape, TensorInfo, tensor};
use crate::scalar::c;
use crate::shape::Takes;
use crate::{Dense, Module, Params, Scalar, Tensor, Train};

/// Batch normalisation of `N` features:
/// `y = γ ⊙ (x − μ) / √(σ² + ε) + β`, per feature (row), where `μ` and `σ²`
/// are the batch's mean and biased variance in training and the running
/// estimates in inference.
///
/// PyTorch's `nn.BatchNorm1d(N)` on 2-D input, with the batch's samples as
/// columns (`SMatrix<T, N, B>`) rather than rows:
///
/// * **Training** ([`Mode::Training`]): `μ` and `σ²` (biased, divided by
///   `m`) are taken over the first `m = samples` columns, which they
///   normalise. The other columns are padding: they are normalised with the
///   same statistics (so their output is finite), but they count in no
///   statistic and no parameter gradient, and their input gradient is 0.
///   The backward pass is the exact gradient of this function, through the
///   mean and the variance:
///   `dx = γ/√(σ² + ε) · (dy − mean(dy) − x̂ ⊙ mean(dy ⊙ x̂))`.
/// * **Inference** ([`Module::forward`], [`Mode::Inference`]): the running
///   statistics stand for `μ` and `σ²`, so the layer is an affine map per
///   feature, and its backward pass is that map's exact gradient.
/// * **Running statistics**: after a training step, [`Train::update_buffers`]
///   sets `running ← (1 − momentum) · running + momentum · batch`, with the
///   *unbiased* batch variance (divided by `m − 1`), as PyTorch does (which
///   updates them during its forward pass instead).
///
/// `eps` (`ε`, default `1e-5`) and `momentum` (default `0.1`) are settings,
/// kept as `f64` whatever `T` is, so that a weights file records them
/// exactly; they are rounded to `T` where they are used. `momentum = None`
/// (PyTorch's cumulative average) is not supported.
///
/// **One sample.** PyTorch refuses a training batch of one sample. Here a
/// training step with `m = 1` real sample has variance 0, so `x̂ = 0`, the
/// output is `β`, and the input gradient is 0 (exactly: the mean follows the
/// input); its running mean is updated, its running variance is left as it
/// is (the unbiased variance of one value is `0/0`). With `m = 0` (no real
/// sample) the output is finite, every gradient is 0 and the running
/// statistics do not change. With `ε > 0`, finite inputs never give NaN or
/// an infinity in training, nor in inference while the running variance is
/// not negative.
///
/// Tensors: `weight` (`γ`, trainable, starts at 1), `bias` (`β`, trainable,
/// 0), `running_mean` (buffer, 0) and `running_var` (buffer, 1), each of
/// shape `(N)`; PyTorch's `num_batches_tracked` is not kept.
///
/// **Memory.** The layer holds `4N` scalars and two `f64`:
/// `4N·size_of::<T>() + 16` bytes (80 for `BatchNorm1d<4, f32>`). Its tape
/// for a batch of `B` is a [`BatchNormTape`]: `x̂` and three per-feature
/// vectors (`N·B + 3N` scalars), a count and a flag, rounded up to a
/// multiple of 8 bytes: 144 bytes for `N = 4`, `B = 5` in `f32`, 272 in
/// `f64` (tests/norm.rs checks these figures).
///
/// For deployment, [`fold_into`](BatchNorm1d::fold_into) merges the layer
/// into the [`Dense`] before it.
///
/// ```
/// use nalgebra::SMatrix;
/// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use staticnet::{BatchNorm1d, Mode, Network, Train};
///
/// let mut bn = BatchNorm1d::<2, f64>::new();
/// // Three samples (columns) of two features (rows).
/// let x = SMatrix::<f64, 2, 3>::new(1.0, 2.0, 3.0, 10.0, 10.0, 40.0);
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
/// let (y, tape) = bn.forward_tape(&x, &mut Mode::training(&mut rng, 3));
/// // Each feature now has mean 0 and (biased) variance 1, up to ε.
/// for i in 0..2 {
///     let row = y.row(i);
///     assert!(row.sum().abs() < 1e-12);
///     assert!((row.map(|v| v * v).sum() / 3.0 - 1.0).abs() < 1e-3);
/// }
/// // After the step, the running statistics move 10% of the way.
/// bn.update_buffers(&tape);
/// assert!((bn.running_mean[0] - 0.2).abs() < 1e-12); // 0.9 · 0 + 0.1 · 2
/// assert!((bn.running_var[0] - 1.0).abs() < 1e-12); // 0.9 · 1 + 0.1 · 1 (unbiased)
/// // Inference uses the running statistics.
/// let y = bn.predict(&x);
/// assert!((y[(0, 0)] - (1.0 - 0.2) / (1.0f64 + 1e-5).sqrt()).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm1d<const N: usize, T = f32> {
    /// The scale `γ` (PyTorch's `weight`).
    pub weight: SVector<T, N>,
    /// The shift `β` (PyTorch's `bias`).
    pub bias: SVector<T, N>,
    /// The running estimate of each feature's mean (a buffer).
    pub running_mean: SVector<T, N>,
    /// The running estimate of each feature's variance (a buffer).
    pub running_var: SVector<T, N>,
    /// `ε`, added to the variance before its square root.
    pub eps: f64,
    /// The weight of a new batch statistic in the running estimates.
    pub momentum: f64,
}

/// PyTorch's default `eps` for batch and layer normalisation.
const DEFAULT_EPS: f64 = 1e-5;
/// PyTorch's default batch-normalisation `momentum`.
const DEFAULT_MOMENTUM: f64 = 0.1;

impl<const N: usize, T> BatchNorm1d<N, T> {
    /// A layer from its parts. A `const fn`, so a trained layer can be a
    /// `static`:
    ///
    /// ```
    /// use staticnet::BatchNorm1d;
    /// static BN: BatchNorm1d<2> =
    ///     BatchNorm1d::from_parts([1.0, 2.0], [0.0, 0.5], [0.1, -0.1], [1.0, 4.0], 1e-5, 0.1);
    /// assert_eq!(BN.running_var[1], 4.0);
    /// ```
    pub const fn from_parts(
        weight: [T; N],
        bias: [T; N],
        running_mean: [T; N],
        running_var: [T; N],
        eps: f64,
        momentum: f64,
    ) -> Self {
        BatchNorm1d {
            weight: SVector::from_array_storage(ArrayStorage([weight])),
            bias: SVector::from_array_storage(ArrayStorage([bias])),
            running_mean: SVector::from_array_storage(ArrayStorage([running_mean])),
            running_var: SVector::from_array_storage(ArrayStorage([running_var])),
            eps,
            momentum,
        }
    }
}

impl<const N: usize, T: Scalar> BatchNorm1d<N, T> {
    /// A fresh layer, as PyTorch makes one: `γ = 1`, `β = 0`, running mean
    /// 0, running variance 1, `eps = 1e-5`, `momentum = 0.1`.
    pub const fn new() -> Self {
        Self::from_parts(
            [T::ONE; N],
            [T::ZERO; N],
            [T::ZERO; N],
            [T::ONE; N],
            DEFAULT_EPS,
            DEFAULT_MOMENTUM,
        )
    }

    /// The [`Dense`] layer that computes what `dense` followed by this layer
    /// in inference computes: with `k = γ / √(running_var + ε)`, its weights
    /// are `W` with row `i` scaled by `kᵢ` and its bias
    /// `k ⊙ (b − running_mean) + β`. Folding removes the layer from a
    /// deployed network (same function up to rounding, one pass fewer).
    ///
    /// ```
    /// use nalgebra::SVector;
    /// use staticnet::{BatchNorm1d, Dense, Network};
    ///
    /// let dense = Dense::<2, 2, f64>::from_rows([[1.0, 2.0], [3.0, -1.0]], [0.5, 0.0]);
    /// let bn = BatchNorm1d::<2, f64>::from_parts([2.0, 1.0], [0.1, 0.0], [1.0, -1.0], [4.0, 0.25], 0.0, 0.1);
    /// let folded = bn.fold_into(&dense);
    /// let x = SVector::from([0.3, -0.7]);
    /// assert!((folded.predict(&x) - (dense.clone(), bn).predict(&x)).norm() < 1e-12);
    /// ```
    pub fn fold_into<const I: usize>(&self, dense: &Dense<I, N, T>) -> Dense<I, N, T> {
        let scale = self.inv_std_of_running();
        let mut weight = dense.weight;
        let mut bias = dense.bias;
        for i in 0..N {
            let k = self.weight[i] * scale[i];
            for j in 0..I {
                weight[(i, j)] *= k;
            }
            bias[i] = k * (bias[i] - self.running_mean[i]) + self.bias[i];
        }
        Dense::new(weight, bias)
    }

    /// `1 / √(running_var + ε)` per feature.
    fn inv_std_of_running(&self) -> SVector<T, N> {
        let eps = c::<T>(self.eps);
        self.running_var.map(|v| T::one() / (v + eps).sqrt())
    }

    /// `γ ⊙ x̂ + β` column by column.
    fn affine<const B: usize>(&self, x_hat: &SMatrix<T, N, B>) -> SMatrix<T, N, B> {
        SMatrix::from_fn(|i, j| self.weight[i] * x_hat[(i, j)] + self.bias[i])
    }

    /// `(x − μ) · s` per feature, for every column.
    fn normalise<const B: usize>(
        x: &SMatrix<T, N, B>,
        mean: &SVector<T, N>,
        inv_std: &SVector<T, N>,
    ) -> SMatrix<T, N, B> {
        SMatrix::from_fn(|i, j| (x[(i, j)] - mean[i]) * inv_std[i])
    }

    /// The forward pass on a batch of the layer's own size.
    fn forward_batch<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
        mode: &Mode<'_>,
    ) -> (SMatrix<T, N, B>, BatchNormTape<N, B, T>) {
        if !mode.is_training() {
            let zero = SVector::zeros();
            let inv_std = self.inv_std_of_running();
            let x_hat = Self::normalise(x, &self.running_mean, &inv_std);
            let tape = BatchNormTape {
                x_hat,
                inv_std,
                mean: zero,
                var: zero,
                samples: B,
                training: false,
            };
            return (self.affine(&x_hat), tape);
        }
        let m = mode.samples(B);
        let eps = c::<T>(self.eps);
        let mut mean = SVector::<T, N>::zeros();
        let mut var = SVector::<T, N>::zeros();
        let mut inv_std = SVector::<T, N>::zeros();
        if m > 0 {
            let count = c::<T>(m as f64);
            for j in 0..m {
                for i in 0..N {
                    mean[i] += x[(i, j)];
                }
            }
            mean /= count;
            let mut squares = SVector::<T, N>::zeros();
            for j in 0..m {
                for i in 0..N {
                    let d = x[(i, j)] - mean[i];
                    squares[i] += d * d;
                }
            }
            inv_std = (squares / count).map(|v| T::one() / (v + eps).sqrt());
            if m > 1 {
                var = squares / c::<T>((m - 1) as f64);
            }
        } else {
            // No real sample: any finite normalisation of the padding will do.
            inv_std.fill(T::one());
        }
        let x_hat = Self::normalise(x, &mean, &inv_std);
        let tape = BatchNormTape {
            x_hat,
            inv_std,
            mean,
            var,
            samples: m,
            training: true,
        };
        (self.affine(&x_hat), tape)
    }

    /// Adds `∂L/∂γ`, `∂L/∂β` into `grad`; returns `(Σ dy, Σ dy ⊙ x̂)` over the
    /// columns that count.
    fn backward_params_batch<const B: usize>(
        tape: &BatchNormTape<N, B, T>,
        dy: &SMatrix<T, N, B>,
        grad: &mut Self,
    ) -> (SVector<T, N>, SVector<T, N>) {
        let mut sum_dy = SVector::<T, N>::zeros();
        let mut sum_dy_x_hat = SVector::<T, N>::zeros();
        for j in 0..tape.samples.min(B) {
            for i in 0..N {
                sum_dy[i] += dy[(i, j)];
                sum_dy_x_hat[i] += dy[(i, j)] * tape.x_hat[(i, j)];
            }
        }
        grad.weight += sum_dy_x_hat;
        grad.bias += sum_dy;
        (sum_dy, sum_dy_x_hat)
    }

    /// After a training step, `running ← (1 − momentum) · running + momentum
    /// · batch` for the mean and the unbiased variance the tape kept; nothing
    /// for a tape from an inference pass. The same as
    /// [`Train::update_buffers`], which it serves, but callable as
    /// `bn.update_buffers(&tape)` without naming the input type (which the
    /// tape alone does not determine). See the type's docs for one sample or
    /// none.
    pub fn update_buffers<const B: usize>(&mut self, tape: &BatchNormTape<N, B, T>) {
        if !tape.training || tape.samples == 0 {
            return;
        }
        let (a, keep) = (c::<T>(self.momentum), c::<T>(1.0 - self.momentum));
        for i in 0..N {
            self.running_mean[i] = a * tape.mean[i] + keep * self.running_mean[i];
        }
        if tape.samples > 1 {
            for i in 0..N {
                self.running_var[i] = a * tape.var[i] + keep * self.running_var[i];
            }
        }
    }

    /// The backward pass on a batch of the layer's own size.
    fn backward_batch<const B: usize>(
        &self,
        tape: &BatchNormTape<N, B, T>,
        dy: &SMatrix<T, N, B>,
        grad: &mut Self,
    ) -> SMatrix<T, N, B> {
        let (sum_dy, sum_dy_x_hat) = Self::backward_params_batch(tape, dy, grad);
        let k = self.weight.component_mul(&tape.inv_std);
        if !tape.training {
            return SMatrix::from_fn(|i, j| k[i] * dy[(i, j)]);
        }
        let m = tape.samples.min(B);
        let mut dx = SMatrix::<T, N, B>::zeros();
        if m == 0 {
            return dx;
        }
        let count = c::<T>(m as f64);
        let mean_dy = sum_dy / count;
        let mean_dy_x_hat = sum_dy_x_hat / count;
        for j in 0..m {
            for i in 0..N {
                dx[(i, j)] =
                    k[i] * (dy[(i, j)] - mean_dy[i] - tape.x_hat[(i, j)] * mean_dy_x_hat[i]);
            }
        }
        dx
    }
}

impl<const N: usize, T: Scalar> Default for BatchNorm1d<N, T> {
    /// [`BatchNorm1d::new`].
    fn default() -> Self {
        Self::new()
    }
}

/// What a [`BatchNorm1d`] keeps from a forward pass over a batch of `B`
/// columns for its backward pass and its running-statistics update:
/// `(N·B + 3N)` scalars, a count and a flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormTape<const N: usize, const B: usize, T> {
    x_hat: SMatrix<T, N, B>,
    inv_std: SVector<T, N>,
    mean: SVector<T, N>,
    var: SVector<T, N>,
    samples: usize,
    training: bool,
}

impl<const N: usize, const B: usize, T: Scalar> BatchNormTape<N, B, T> {
    /// The normalised input `x̂ = (x − μ) / √(σ² + ε)` (padding columns
    /// included, normalised with the same statistics).
    pub fn normalized(&self) -> &SMatrix<T, N, B> {
        &self.x_hat
    }

    /// `1 / √(σ² + ε)` per feature: from the batch in training, from the
    /// running variance in inference.
    pub fn inv_std(&self) -> &SVector<T, N> {
        &self.inv_std
    }

    /// The batch mean per feature (training only; zero in inference).
    pub fn batch_mean(&self) -> &SVector<T, N> {
        &self.mean
    }

    /// The unbiased batch variance per feature, the one the running
    /// variance follows (training with at least two samples; zero
    /// otherwise).
    pub fn batch_var(&self) -> &SVector<T, N> {
        &self.var
    }

    /// How many columns were real samples (all `B` in inference).
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Whether the tape is from a training forward pass (batch statistics).
    pub fn is_training(&self) -> bool {
        self.training
    }
}

/// A batch has the layer's size: `BatchNorm1d<N>` takes `N` values per
/// sample.
impl<T, const N: usize> Takes<N, N> for BatchNorm1d<N, T> {
    #[inline(always)]
    fn input<U, const B: usize>(x: &SMatrix<U, N, B>) -> &SMatrix<U, N, B> {
        x
    }
    #[inline(always)]
    fn input_grad<U, const B: usize>(dx: SMatrix<U, N, B>) -> SMatrix<U, N, B> {
        dx
    }
}

/// An input a `BatchNorm1d<N, T>` accepts: `SMatrix<T, M, B>` with `M == N`
/// (checked by [`Takes`], whose error names both sizes), one sample per
/// column.
///
/// The layer's [`Module`] and [`Train`] impls are generic over this trait
/// rather than over a concrete matrix, so that the compiler learns the input
/// size from the input and reports a mismatch at the layer that has it
/// (as [`DenseInput`](crate::DenseInput) does for [`Dense`]).
pub trait BatchNormInput<T: Scalar, const N: usize>: Tensor<Scalar = T> {
    /// The tape: a [`BatchNormTape`] for the batch's number of columns.
    type Tape;
    /// Inference: `γ ⊙ (x − running_mean) / √(running_var + ε) + β`.
    fn forward(layer: &BatchNorm1d<N, T>, x: &Self) -> Self;
    /// The forward pass in the given mode, keeping the tape.
    fn forward_tape(layer: &BatchNorm1d<N, T>, x: &Self, mode: &Mode<'_>) -> (Self, Self::Tape);
    /// Adds `∂L/∂γ`, `∂L/∂β` into `grad`; returns `∂L/∂x`.
    fn backward(
        layer: &BatchNorm1d<N, T>,
        tape: &Self::Tape,
        dy: &Self,
        grad: &mut BatchNorm1d<N, T>,
    ) -> Self;
    /// As [`backward`](BatchNormInput::backward), without `∂L/∂x`.
    fn backward_params(tape: &Self::Tape, dy: &Self, grad: &mut BatchNorm1d<N, T>);
    /// The running-statistics update after a training step.
    fn update_buffers(layer: &mut BatchNorm1d<N, T>, tape: &Self::Tape);
}

impl<T: Scalar, const N: usize, const M: usize, const B: usize> BatchNormInput<T, N>
    for SMatrix<T, M, B>
where
    BatchNorm1d<N, T>: Takes<M, N>,
{
    type Tape = BatchNormTape<N, B, T>;

    #[inline]
    fn forward(layer: &BatchNorm1d<N, T>, x: &Self) -> Self {
        let x = <BatchNorm1d<N, T>>::input(x);
        let inv_std = layer.inv_std_of_running();
        let x_hat = BatchNorm1d::normalise(x, &layer.running_mean, &inv_std);
        <BatchNorm1d<N, T>>::input_grad(layer.affine(&x_hat))
    }

    #[inline]
    fn forward_tape(layer: &BatchNorm1d<N, T>, x: &Self, mode: &Mode<'_>) -> (Self, Self::Tape) {
        let (y, tape) = layer.forward_batch(<BatchNorm1d<N, T>>::input(x), mode);
        (<BatchNorm1d<N, T>>::input_grad(y), tape)
    }

    #[inline]
    fn backward(
        layer: &BatchNorm1d<N, T>,
        tape: &Self::Tape,
        dy: &Self,
        grad: &mut BatchNorm1d<N, T>,
    ) -> Self {
        let dy = <BatchNorm1d<N, T>>::input(dy);
        <BatchNorm1d<N, T>>::input_grad(layer.backward_batch(tape, dy, grad))
    }

    #[inline]
    fn backward_params(tape: &Self::Tape, dy: &Self, grad: &mut BatchNorm1d<N, T>) {
        BatchNorm1d::backward_params_batch(tape, <BatchNorm1d<N, T>>::input(dy), grad);
    }

    #[inline]
    fn update_buffers(layer: &mut BatchNorm1d<N, T>, tape: &Self::Tape) {
        layer.update_buffers(tape)
    }
}

impl<T: Scalar, const N: usize, X: BatchNormInput<T, N>> Module<X> for BatchNorm1d<N, T> {
    type Output = X;
    /// Inference: the running statistics.
    #[inline]
    fn forward(&self, x: &X) -> X {
        X::forward(self, x)
    }
}

impl<T: Scalar, const N: usize, X: BatchNormInput<T, N>> Train<X> for BatchNorm1d<N, T> {
    type Tape = X::Tape;

    #[inline]
    fn forward_tape(&self, x: &X, mode: &mut Mode<'_>) -> (X, X::Tape) {
        X::forward_tape(self, x, mode)
    }

    #[inline]
    fn backward(&self, tape: &X::Tape, dy: &X, grad: &mut Self) -> X {
        X::backward(self, tape, dy, grad)
    }

    #[inline]
    fn backward_params(&self, tape: &X::Tape, dy: &X, grad: &mut Self) {
        X::backward_params(tape, dy, grad)
    }

    /// `running ← (1 − momentum) · running + momentum · batch` (the unbiased
    /// variance), after a training forward pass; nothing after an inference
    /// one. See the type's docs for one sample or none.
    #[inline]
    fn update_buffers(&mut self, tape: &X::Tape) {
        X::update_buffers(self, tape)
    }
}

impl<const N: usize, T> Layer for BatchNorm1d<N, T> {
    const KIND: &'static str = "BatchNorm1d";
}

/// Tensors `weight`, `bias` (trainable), `running_mean`, `running_var`
/// (buffers), each of shape `(N)`, in PyTorch's order; settings `eps` and
/// `momentum`.
impl<T: Scalar, const N: usize> Params<T> for BatchNorm1d<N, T> {
    const NUM_PARAMS: usize = 2 * N;
    const NUM_BUFFERS: usize = 2 * N;

    /// Every tensor zero (running variance too), `eps` and `momentum` at
    /// their defaults.
    fn zeros() -> Self {
        Self::from_parts(
            [T::ZERO; N],
            [T::ZERO; N],
            [T::ZERO; N],
            [T::ZERO; N],
            DEFAULT_EPS,
            DEFAULT_MOMENTUM,
        )
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
        let mean = TensorInfo::buffer("running_mean", shape, Fill::Zeros);
        tensor!(f, read, write, mean, running_mean);
        let var = TensorInfo::buffer("running_var", shape, Fill::Ones);
        tensor!(f, read, write, var, running_var);
    }

    fn settings(&self, f: &mut impl FnMut(&'static str, Setting)) {
        f("eps", Setting::Real(self.eps));
        f("momentum", Setting::Real(self.momentum));
    }

    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!("staticnet::BatchNorm1d<{N}, {}>", T::NAME))
    }

    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!(
            "staticnet::BatchNorm1d::<{N}, {}>::from_parts(",
            T::NAME
        ))?;
        for v in [
            &self.weight,
            &self.bias,
            &self.running_mean,
            &self.running_var,
        ] {
            src.array(v.as_slice(), &[N])?;
            src.text(", ")?;
        }
        src.scalar(self.eps)?;
        src.text(", ")?;
        src.scalar(self.momentum)?;
        src.text(")")
    }
}
