//! Input and output scaling as layers: [`Standardize`], `x ↦ (x − μ) / σ`,
//! and its inverse [`Rescale`], `y ↦ y ⊙ s + c`.
//!
//! Both keep their statistics as buffers (saved and loaded, never trained),
//! so a network whose first layer is a `Standardize` carries its input
//! scaling in its weights file, its Rust source and its safetensors export:
//! the loaded model takes raw inputs. A `Rescale` after the last layer maps
//! predictions made on standardised targets back to the original units.
//!
//! Both map a vector, a batch (one sample per column) and a sequence
//! [`Seq`] (every step of every sample, the channels being the features:
//! per-channel scaling, fitted by
//! [`fit_sequences`](Standardize::fit_sequences)), and stream step by step.

use core::fmt;

use nalgebra::{ArrayStorage, SMatrix, SVector};

use crate::data::{Data, DataError, Dataset};
use crate::module::Mode;
use crate::params::{Fill, Layer, RustSource, Shape, TensorInfo, tensor};
use crate::sequence::Seq;
use crate::shape::Takes;
use crate::stream::Stream;
use crate::{Module, Params, Scalar, Train};

/// Per-feature standardisation `y = (x − μ) / σ`, with `μ` and `σ` fitted on
/// a training set ([`fit`](Standardize::fit), or
/// [`fit_sequences`](Standardize::fit_sequences) for per-channel scaling of
/// sequences, `y_t = (x_t − μ) / σ` at every step `t`) and kept as buffers.
///
/// Put it first in a network so that the model takes raw inputs, and the
/// weights file, [`io::rust`](crate::io::rust) and the safetensors export
/// carry the scaling with the weights. It is not trained: its gradient is
/// `∂L/∂x = ∂L/∂y / σ` and it has no parameters.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::prelude::*;
///
/// let train = [(SVector::from([1.0f32, 5.0]), 0usize), (SVector::from([3.0, 5.0]), 1)];
/// let s = Standardize::fit(&train).unwrap();
/// assert_eq!(s.mean, SVector::from([2.0, 5.0]));
/// assert_eq!(s.std, SVector::from([1.0, 1.0])); // σ = 0 is taken as 1
/// assert_eq!(s.apply(&SVector::from([3.0, 6.0])), SVector::from([1.0, 1.0]));
///
/// // As a layer: the network takes raw inputs.
/// let mut net = <(Standardize<2>, Dense<2, 1>)>::zeros();
/// net.0 = s;
/// net.1 = Dense::from_rows([[1.0, 1.0]], [0.0]);
/// assert_eq!(net.predict(&SVector::from([3.0, 6.0]))[0], 2.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standardize<const N: usize, T = f32> {
    /// The per-feature mean `μ`.
    pub mean: SVector<T, N>,
    /// The per-feature standard deviation `σ` (1 where the data's was 0).
    pub std: SVector<T, N>,
}

/// The inverse of a [`Standardize`]: `y = x ⊙ s + c`, per feature, with the
/// scale `s` and shift `c` kept as buffers.
///
/// For regression on standardised targets: train on `(x, (t − μ) / σ)`,
/// then evaluate or deploy `(net, scaling.inverse())`, whose predictions are
/// in the targets' original units (see [`Standardize::fit_targets`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rescale<const N: usize, T = f32> {
    /// The per-feature scale `s`.
    pub scale: SVector<T, N>,
    /// The per-feature shift `c`.
    pub shift: SVector<T, N>,
}

impl<const N: usize, T> Standardize<N, T> {
    /// A scaling from its mean and standard deviation. A `const fn`, so a
    /// network with its scaling can be a `static` in flash. Every `σ` must
    /// be non-zero (as [`fit`](Standardize::fit) gives).
    pub const fn from_arrays(mean: [T; N], std: [T; N]) -> Self {
        Standardize {
            mean: SVector::from_array_storage(ArrayStorage([mean])),
            std: SVector::from_array_storage(ArrayStorage([std])),
        }
    }
}

impl<const N: usize, T> Rescale<N, T> {
    /// A rescaling from its scale and shift (a `const fn`).
    pub const fn from_arrays(scale: [T; N], shift: [T; N]) -> Self {
        Rescale {
            scale: SVector::from_array_storage(ArrayStorage([scale])),
            shift: SVector::from_array_storage(ArrayStorage([shift])),
        }
    }
}

/// Mean and population standard deviation of the `n` vectors `vectors()`
/// yields (each with its sample and step), accumulated in `f64` in two
/// passes; a non-finite value is the error `non_finite(sample, step,
/// feature, value)`.
fn statistics<T: Scalar, const N: usize, V>(
    n: usize,
    vectors: impl Fn() -> V,
    non_finite: impl Fn(usize, usize, usize, f64) -> DataError,
) -> Result<Standardize<N, T>, DataError>
where
    V: Iterator<Item = (usize, usize, [T; N])>,
{
    if n == 0 {
        return Err(DataError::Empty);
    }
    let mut mean = [0.0f64; N];
    for (sample, step, x) in vectors() {
        for (feature, (m, v)) in mean.iter_mut().zip(x).enumerate() {
            let v = v.as_f64();
            if !v.is_finite() {
                return Err(non_finite(sample, step, feature, v));
            }
            *m += v / n as f64;
        }
    }
    let mut var = [0.0f64; N];
    for (_, _, x) in vectors() {
        for ((s, m), v) in var.iter_mut().zip(&mean).zip(x) {
            *s += (v.as_f64() - m) * (v.as_f64() - m) / n as f64;
        }
    }
    let mut out = Standardize {
        mean: SVector::zeros(),
        std: SVector::zeros(),
    };
    for feature in 0..N {
        let s = libm::sqrt(var[feature]);
        let (m, s) = (T::of_f64(mean[feature]), T::of_f64(s));
        if !m.is_finite() || !s.is_finite() {
            return Err(DataError::Spread {
                feature,
                mean: mean[feature],
                std: libm::sqrt(var[feature]),
            });
        }
        out.mean[feature] = m;
        // σ = 0 (a constant feature), or so small that dividing by it
        // would overflow: only centre it.
        out.std[feature] = if s > T::ZERO { s } else { T::ONE };
    }
    Ok(out)
}

/// The statistics of `n` vectors `get(i)`, a non-finite value named by its
/// sample and feature.
fn vector_statistics<T: Scalar, const N: usize>(
    n: usize,
    get: impl Fn(usize) -> SVector<T, N>,
) -> Result<Standardize<N, T>, DataError> {
    statistics(
        n,
        || (0..n).map(|i| (i, 0, get(i).data.0[0])),
        |sample, _, feature, value| DataError::NonFinite {
            sample,
            feature,
            value,
        },
    )
}

impl<T: Scalar, const N: usize> Standardize<N, T> {
    /// The identity: `μ = 0`, `σ = 1`.
    pub fn identity() -> Self {
        Standardize {
            mean: SVector::zeros(),
            std: SVector::repeat(T::ONE),
        }
    }

    /// The statistics of a data set's inputs (accumulated in `f64`; `σ` is
    /// the population standard deviation, taken as 1 where it is 0).
    ///
    /// # Errors
    ///
    /// [`DataError::Empty`] for a data set without samples;
    /// [`DataError::NonFinite`] naming the first sample and feature that
    /// hold NaN or an infinity; [`DataError::Spread`] when a statistic does
    /// not fit in `T`.
    pub fn fit<D: Dataset<T, N> + ?Sized>(data: &D) -> Result<Self, DataError> {
        vector_statistics(data.len(), |i| data.input(i))
    }

    /// The per-channel statistics of a data set of sequences `Seq<T, N, L>`:
    /// channel `c`'s mean and population standard deviation over every step
    /// of every sample (the "per-channel standardisation with training
    /// statistics" of time-series classification),
    /// `μ_c = (1/nL) Σ_i Σ_t x_itc`, `σ_c² = (1/nL) Σ_i Σ_t (x_itc − μ_c)²`
    /// (accumulated in `f64`; `σ_c` taken as 1 where it is 0).
    ///
    /// As a layer it maps each step of a sequence as it maps a vector, so a
    /// network whose first layer is this scaling takes raw sequences.
    ///
    /// ```
    /// use staticnet::prelude::*;
    ///
    /// // Two samples of two steps of two channels.
    /// let train = [
    ///     (Seq::<f32, 2, 2>::from_channels([[1.0, 3.0], [10.0, 10.0]]), 0usize),
    ///     (Seq::from_channels([[1.0, 3.0], [20.0, 20.0]]), 1),
    /// ];
    /// let s = Standardize::fit_sequences(&train).unwrap();
    /// assert_eq!(s.mean.as_slice(), &[2.0, 15.0]);
    /// assert_eq!(s.std.as_slice(), &[1.0, 5.0]);
    /// let y = s.predict(&train[1].0);
    /// assert_eq!(y.channel(0, 0), [-1.0, 1.0]);
    /// assert_eq!(y.channel(0, 1), [1.0, 1.0]);
    /// ```
    ///
    /// # Errors
    ///
    /// [`DataError::Empty`] for a data set without samples (or of sequences
    /// without steps); [`DataError::NonFiniteStep`] naming the first
    /// sample, step and channel that hold NaN or an infinity;
    /// [`DataError::Spread`] (its `feature` is the channel) when a
    /// statistic does not fit in `T`.
    pub fn fit_sequences<D, const L: usize>(data: &D) -> Result<Self, DataError>
    where
        D: Data<Input = Seq<T, N, L>> + ?Sized,
    {
        statistics(
            data.len() * L,
            || {
                (0..data.len()).flat_map(move |i| {
                    let x = data.input(i);
                    (0..L).map(move |t| (i, t, x.data[0][t]))
                })
            },
            |sample, step, channel, value| DataError::NonFiniteStep {
                sample,
                step,
                channel,
                value,
            },
        )
    }

    /// The statistics of a data set's vector targets, for regression: train
    /// on targets scaled by [`apply_targets`](Standardize::apply_targets),
    /// and read predictions in the original units through
    /// [`inverse`](Standardize::inverse) (or [`invert`](Standardize::invert)).
    ///
    /// ```
    /// use nalgebra::SVector;
    /// use staticnet::prelude::*;
    ///
    /// let mut rows = vec![
    ///     (SVector::from([0.0f32]), SVector::from([10.0f32])),
    ///     (SVector::from([1.0]), SVector::from([30.0])),
    /// ];
    /// let scaling = Standardize::fit_targets(&rows).unwrap();
    /// scaling.apply_targets(&mut rows);
    /// assert_eq!(rows[1].1[0], 1.0);
    /// assert_eq!(scaling.invert(&rows[1].1)[0], 30.0);
    /// let back = scaling.inverse(); // a layer: y ⊙ σ + μ
    /// assert_eq!(back.predict(&SVector::from([-1.0]))[0], 10.0);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`fit`](Standardize::fit), for the targets.
    pub fn fit_targets<D, const I: usize>(data: &D) -> Result<Self, DataError>
    where
        D: Dataset<T, I, Target = SVector<T, N>> + ?Sized,
    {
        vector_statistics(data.len(), |i| data.target(i))
    }

    /// `(x − μ) / σ`.
    #[inline]
    pub fn apply(&self, x: &SVector<T, N>) -> SVector<T, N> {
        (x - self.mean).component_div(&self.std)
    }

    /// `y ⊙ σ + μ`: a standardised value back in the original units.
    #[inline]
    pub fn invert(&self, y: &SVector<T, N>) -> SVector<T, N> {
        y.component_mul(&self.std) + self.mean
    }

    /// The inverse as a layer, `y ⊙ σ + μ`, to put after a network trained
    /// on standardised targets.
    pub fn inverse(&self) -> Rescale<N, T> {
        Rescale {
            scale: self.std,
            shift: self.mean,
        }
    }

    /// Standardises every input of a slice of pairs in place.
    pub fn apply_all<Tg>(&self, rows: &mut [(SVector<T, N>, Tg)]) {
        for (x, _) in rows {
            *x = self.apply(x);
        }
    }

    /// Standardises every step of every sequence of a slice of pairs in
    /// place (the same as the layer's forward pass, done once on the data).
    pub fn apply_sequences<const L: usize, Tg>(&self, rows: &mut [(Seq<T, N, L>, Tg)]) {
        for (x, _) in rows {
            for step in &mut x.data[0] {
                *step = self.apply(&SVector::from(*step)).data.0[0];
            }
        }
    }

    /// Standardises every target of a slice of pairs in place.
    pub fn apply_targets<X>(&self, rows: &mut [(X, SVector<T, N>)]) {
        for (_, t) in rows {
            *t = self.apply(t);
        }
    }
}

impl<T: Scalar, const N: usize> Default for Standardize<N, T> {
    /// The identity.
    fn default() -> Self {
        Self::identity()
    }
}

impl<T: Scalar, const N: usize> Rescale<N, T> {
    /// The identity: `s = 1`, `c = 0`.
    pub fn identity() -> Self {
        Rescale {
            scale: SVector::repeat(T::ONE),
            shift: SVector::zeros(),
        }
    }

    /// `x ⊙ s + c`.
    #[inline]
    pub fn apply(&self, x: &SVector<T, N>) -> SVector<T, N> {
        x.component_mul(&self.scale) + self.shift
    }
}

impl<T: Scalar, const N: usize> Default for Rescale<N, T> {
    /// The identity.
    fn default() -> Self {
        Self::identity()
    }
}

impl<T, const N: usize> Takes<N, N> for Standardize<N, T> {
    #[inline(always)]
    fn input<U, const B: usize>(x: &SMatrix<U, N, B>) -> &SMatrix<U, N, B> {
        x
    }
    #[inline(always)]
    fn input_grad<U, const B: usize>(dx: SMatrix<U, N, B>) -> SMatrix<U, N, B> {
        dx
    }
}

impl<T, const N: usize> Takes<N, N> for Rescale<N, T> {
    #[inline(always)]
    fn input<U, const B: usize>(x: &SMatrix<U, N, B>) -> &SMatrix<U, N, B> {
        x
    }
    #[inline(always)]
    fn input_grad<U, const B: usize>(dx: SMatrix<U, N, B>) -> SMatrix<U, N, B> {
        dx
    }
}

/// The module, train, layer and params impls of a per-feature map
/// `y = f(x)` whose derivative is `∂L/∂x = g(∂L/∂y)`, both per row `i`.
macro_rules! per_feature {
    ($layer:ident, $kind:literal, $a:ident, $b:ident, $fill_a:expr, $fill_b:expr,
     |$s:ident, $i:ident, $x:ident| $forward:expr, |$s2:ident, $i2:ident, $dy:ident| $backward:expr) => {
        impl<T: Scalar, const N: usize, const M: usize, const B: usize> Module<SMatrix<T, M, B>>
            for $layer<N, T>
        where
            $layer<N, T>: Takes<M, N>,
        {
            type Output = SMatrix<T, M, B>;
            #[inline]
            fn forward(&self, x: &SMatrix<T, M, B>) -> SMatrix<T, M, B> {
                let x = <$layer<N, T>>::input(x);
                let $s = self;
                <$layer<N, T>>::input_grad(SMatrix::from_fn(|$i, j| {
                    let $x = x[($i, j)];
                    $forward
                }))
            }
        }

        impl<T: Scalar, const N: usize, const M: usize, const B: usize> Train<SMatrix<T, M, B>>
            for $layer<N, T>
        where
            $layer<N, T>: Takes<M, N>,
        {
            type Tape = ();
            #[inline]
            fn forward_tape(&self, x: &SMatrix<T, M, B>, _: &mut Mode<'_>) -> (Self::Output, ()) {
                (self.forward(x), ())
            }
            #[inline]
            fn backward(&self, _: &(), dy: &SMatrix<T, M, B>, _: &mut Self) -> SMatrix<T, M, B> {
                let dy = <$layer<N, T>>::input(dy);
                let $s2 = self;
                <$layer<N, T>>::input_grad(SMatrix::from_fn(|$i2, j| {
                    let $dy = dy[($i2, j)];
                    $backward
                }))
            }
            #[inline]
            fn backward_params(&self, _: &(), _: &SMatrix<T, M, B>, _: &mut Self) {}
        }

        /// A sequence: the same map at every step of every sample, the
        /// channels being the features.
        impl<T: Scalar, const N: usize, const M: usize, const L: usize, const B: usize>
            Module<Seq<T, M, L, B>> for $layer<N, T>
        where
            $layer<N, T>: Takes<M, N>,
        {
            type Output = Seq<T, M, L, B>;
            #[inline]
            fn forward(&self, x: &Seq<T, M, L, B>) -> Seq<T, M, L, B> {
                let mut y = Seq::zeros();
                for (yb, xb) in y.data.iter_mut().zip(&x.data) {
                    let xb = SMatrix::<T, M, L>::from_array_storage(ArrayStorage(*xb));
                    *yb = Module::<SMatrix<T, M, L>>::forward(self, &xb).data.0;
                }
                y
            }
        }

        impl<T: Scalar, const N: usize, const M: usize, const L: usize, const B: usize>
            Train<Seq<T, M, L, B>> for $layer<N, T>
        where
            $layer<N, T>: Takes<M, N>,
        {
            type Tape = ();
            #[inline]
            fn forward_tape(&self, x: &Seq<T, M, L, B>, _: &mut Mode<'_>) -> (Self::Output, ()) {
                (self.forward(x), ())
            }
            #[inline]
            fn backward(&self, _: &(), dy: &Seq<T, M, L, B>, grad: &mut Self) -> Seq<T, M, L, B> {
                let mut dx = Seq::zeros();
                for (dxb, dyb) in dx.data.iter_mut().zip(&dy.data) {
                    let dyb = SMatrix::<T, M, L>::from_array_storage(ArrayStorage(*dyb));
                    *dxb = Train::<SMatrix<T, M, L>>::backward(self, &(), &dyb, grad).data.0;
                }
                dx
            }
            #[inline]
            fn backward_params(&self, _: &(), _: &Seq<T, M, L, B>, _: &mut Self) {}
        }

        /// One step of a stream: the map, with nothing to remember.
        impl<T: Scalar, const N: usize, const M: usize> Stream<SVector<T, M>> for $layer<N, T>
        where
            $layer<N, T>: Takes<M, N>,
        {
            type State = ();
            type Output = SVector<T, M>;
            #[inline]
            fn start(&self) {}
            #[inline]
            fn step(&self, _: &mut (), x: &SVector<T, M>) -> SVector<T, M> {
                self.forward(x)
            }
        }

        impl<const N: usize, T> Layer for $layer<N, T> {
            const KIND: &'static str = $kind;
        }

        impl<T: Scalar, const N: usize> Params<T> for $layer<N, T> {
            const NUM_PARAMS: usize = 0;
            const NUM_BUFFERS: usize = 2 * N;

            /// Every buffer zero.
            fn zeros() -> Self {
                $layer {
                    $a: SVector::zeros(),
                    $b: SVector::zeros(),
                }
            }

            #[inline]
            fn tensors<const R: usize, const W: usize>(
                read: [&Self; R],
                mut write: [&mut Self; W],
                f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
            ) {
                let shape = Shape::new(&[N]);
                let a = TensorInfo::buffer(stringify!($a), shape, $fill_a);
                tensor!(f, read, write, a, $a);
                let b = TensorInfo::buffer(stringify!($b), shape, $fill_b);
                tensor!(f, read, write, b, $b);
            }

            fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
                src.fmt(format_args!(
                    "staticnet::{}<{N}, {}>",
                    stringify!($layer),
                    T::NAME
                ))
            }

            fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
                src.fmt(format_args!(
                    "staticnet::{}::<{N}, {}>::from_arrays(",
                    stringify!($layer),
                    T::NAME
                ))?;
                src.array(self.$a.as_slice(), &[N])?;
                src.text(", ")?;
                src.array(self.$b.as_slice(), &[N])?;
                src.text(")")
            }
        }
    };
}

per_feature!(
    Standardize,
    "Standardize",
    mean,
    std,
    Fill::Zeros,
    Fill::Ones,
    |s, i, x| (x - s.mean[i]) / s.std[i],
    |s, i, dy| dy / s.std[i]
);

per_feature!(
    Rescale,
    "Rescale",
    scale,
    shift,
    Fill::Ones,
    Fill::Zeros,
    |s, i, x| x * s.scale[i] + s.shift[i],
    |s, i, dy| dy * s.scale[i]
);
