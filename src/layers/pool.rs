//! Pooling over a sequence's steps, and the layers that turn a sequence
//! into a vector: [`GlobalAvgPool`], [`GlobalMaxPool`], [`LastStep`],
//! [`Flatten`], and the windowed [`MaxPool1d`] and [`AvgPool1d`].
//!
//! The global layers and [`LastStep`] map `Seq<T, C, L, B>` to
//! `SMatrix<T, C, B>` (one vector of `C` channels per sample: for one
//! sample, `SVector<T, C>`) whatever `L` is. The windowed pools and
//! [`Flatten`] change a length, which stable Rust cannot compute in a type:
//! you write the result (`MaxPool1d<2, 50>` on 100 steps, `Flatten<600>` of
//! 6 channels × 100 steps) and the compiler checks it when it builds the
//! network (`cargo build`), as [`Valid`](crate::Valid) convolutions do:
//!
//! ```compile_fail,E0080
//! use staticnet::sequence::Seq;
//! use staticnet::{MaxPool1d, Module};
//! // Windows of 4 over 100 steps give 25 outputs, not 50.
//! // error[E0080]: evaluation panicked: the pooled length LO must be (L − K) / S + 1 …
//! let _ = MaxPool1d::<4, 50>.forward(&Seq::<f32, 2, 100>::zeros());
//! ```
//!
//! ```compile_fail,E0080
//! use staticnet::sequence::Seq;
//! use staticnet::{Flatten, Module};
//! // 6 channels × 100 steps are 600 values, not 60.
//! // error[E0080]: evaluation panicked: Flatten<N>: N must be the channels times the steps …
//! let _ = Flatten::<60>.forward(&Seq::<f32, 6, 100>::zeros());
//! ```

use core::fmt;

use nalgebra::SMatrix;

use super::activation::no_params;
use crate::module::Mode;
use crate::params::{Layer, RustSource, Setting, TensorInfo};
use crate::sequence::Seq;
use crate::{Module, Params, Scalar, Train};

/// The mean over the steps, per channel: `y_c = (1/L) Σ_t x_c[t]`
/// (PyTorch's `AdaptiveAvgPool1d(1)` followed by a flatten). Its tape is
/// empty.
///
/// ```
/// use staticnet::nalgebra::SVector;
/// use staticnet::sequence::Seq;
/// use staticnet::{GlobalAvgPool, Network};
///
/// let x = Seq::<f32, 2, 4>::from_channels([[1.0, 2.0, 3.0, 6.0], [0.0, 0.0, 0.0, -4.0]]);
/// assert_eq!(GlobalAvgPool.predict(&x), SVector::from([3.0, -1.0]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GlobalAvgPool;

impl<T: Scalar, const C: usize, const L: usize, const B: usize> Module<Seq<T, C, L, B>>
    for GlobalAvgPool
{
    type Output = SMatrix<T, C, B>;
    #[inline]
    fn forward(&self, x: &Seq<T, C, L, B>) -> SMatrix<T, C, B> {
        const { assert!(L > 0, "a mean over 0 steps: the sequence must have L ≥ 1 steps") };
        let scale = T::one() / T::of_f64(L as f64);
        let mut y = SMatrix::<T, C, B>::zeros();
        for (yb, xb) in y.data.0.iter_mut().zip(&x.data) {
            for xt in xb {
                for (a, &v) in yb.iter_mut().zip(xt) {
                    *a += v;
                }
            }
            yb.iter_mut().for_each(|a| *a *= scale);
        }
        y
    }
}

impl<T: Scalar, const C: usize, const L: usize, const B: usize> Train<Seq<T, C, L, B>>
    for GlobalAvgPool
{
    type Tape = ();
    #[inline]
    fn forward_tape(&self, x: &Seq<T, C, L, B>, _: &mut Mode<'_>) -> (SMatrix<T, C, B>, ()) {
        (self.forward(x), ())
    }
    #[inline]
    fn backward(&self, _: &(), dy: &SMatrix<T, C, B>, _: &mut Self) -> Seq<T, C, L, B> {
        let scale = T::one() / T::of_f64(L as f64);
        let mut dx = Seq::zeros();
        for (dxb, dyb) in dx.data.iter_mut().zip(&dy.data.0) {
            let d: [T; C] = core::array::from_fn(|c| dyb[c] * scale);
            dxb.iter_mut().for_each(|s| *s = d);
        }
        dx
    }
}

/// The maximum over the steps, per channel: `y_c = max_t x_c[t]`. Its
/// gradient goes to the first step that holds the maximum. Its tape is its
/// input (`C·L·B` scalars).
///
/// ```
/// use staticnet::nalgebra::SVector;
/// use staticnet::sequence::Seq;
/// use staticnet::{GlobalMaxPool, Network};
///
/// let x = Seq::<f32, 2, 3>::from_channels([[1.0, 5.0, 3.0], [-2.0, -1.0, -3.0]]);
/// assert_eq!(GlobalMaxPool.predict(&x), SVector::from([5.0, -1.0]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GlobalMaxPool;

/// The step of the first maximum of channel `c` in `steps`.
#[inline(always)]
fn argmax<T: Scalar, const C: usize>(steps: &[[T; C]], c: usize) -> usize {
    let mut best = 0;
    for (t, s) in steps.iter().enumerate().skip(1) {
        // NaN never wins, so a NaN input keeps the first finite maximum's
        // position (and its value in the output is what max() gives).
        if s[c] > steps[best][c] {
            best = t;
        }
    }
    best
}

impl<T: Scalar, const C: usize, const L: usize, const B: usize> Module<Seq<T, C, L, B>>
    for GlobalMaxPool
{
    type Output = SMatrix<T, C, B>;
    #[inline]
    fn forward(&self, x: &Seq<T, C, L, B>) -> SMatrix<T, C, B> {
        const { assert!(L > 0, "a maximum over 0 steps: the sequence must have L ≥ 1 steps") };
        SMatrix::from_fn(|c, b| x.data[b][argmax(&x.data[b], c)][c])
    }
}

impl<T: Scalar, const C: usize, const L: usize, const B: usize> Train<Seq<T, C, L, B>>
    for GlobalMaxPool
{
    type Tape = Seq<T, C, L, B>;
    #[inline]
    fn forward_tape(
        &self,
        x: &Seq<T, C, L, B>,
        _: &mut Mode<'_>,
    ) -> (SMatrix<T, C, B>, Seq<T, C, L, B>) {
        (self.forward(x), *x)
    }
    #[inline]
    fn backward(&self, x: &Seq<T, C, L, B>, dy: &SMatrix<T, C, B>, _: &mut Self) -> Seq<T, C, L, B> {
        let mut dx = Seq::zeros();
        for b in 0..B {
            for c in 0..C {
                dx.data[b][argmax(&x.data[b], c)][c] = dy[(c, b)];
            }
        }
        dx
    }
}

/// The last step: `y = x[L − 1]`, what a recurrent layer's whole output
/// sequence gives as its final state (PyTorch's `output[:, -1]`). Its tape
/// is empty.
///
/// ```
/// use staticnet::nalgebra::SVector;
/// use staticnet::sequence::Seq;
/// use staticnet::{LastStep, Network};
///
/// let x = Seq::<f32, 2, 3>::from_channels([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
/// assert_eq!(LastStep.predict(&x), SVector::from([3.0, 6.0]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastStep;

impl<T: Scalar, const C: usize, const L: usize, const B: usize> Module<Seq<T, C, L, B>>
    for LastStep
{
    type Output = SMatrix<T, C, B>;
    #[inline]
    fn forward(&self, x: &Seq<T, C, L, B>) -> SMatrix<T, C, B> {
        const { assert!(L > 0, "the last step of 0 steps: the sequence must have L ≥ 1 steps") };
        SMatrix::from_fn(|c, b| x.data[b][L - 1][c])
    }
}

impl<T: Scalar, const C: usize, const L: usize, const B: usize> Train<Seq<T, C, L, B>>
    for LastStep
{
    type Tape = ();
    #[inline]
    fn forward_tape(&self, x: &Seq<T, C, L, B>, _: &mut Mode<'_>) -> (SMatrix<T, C, B>, ()) {
        (self.forward(x), ())
    }
    #[inline]
    fn backward(&self, _: &(), dy: &SMatrix<T, C, B>, _: &mut Self) -> Seq<T, C, L, B> {
        let mut dx = Seq::zeros();
        for b in 0..B {
            dx.data[b][L - 1] = dy.data.0[b];
        }
        dx
    }
}

/// Every value of a sequence in one vector of `N = C·L`, channel by channel
/// (`y[c·L + t] = x_c[t]`, PyTorch's `flatten` of a `(C, L)` sample, so a
/// `Dense` after it takes an imported `Linear`'s weights unchanged). `N` is
/// written in the type and checked (`cargo build`). Its tape is empty.
///
/// ```
/// use staticnet::nalgebra::SVector;
/// use staticnet::sequence::Seq;
/// use staticnet::{Flatten, Network};
///
/// let x = Seq::<f32, 2, 3>::from_channels([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
/// assert_eq!(Flatten::<6>.predict(&x), SVector::from([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flatten<const N: usize>;

impl<T: Scalar, const N: usize, const C: usize, const L: usize, const B: usize>
    Module<Seq<T, C, L, B>> for Flatten<N>
{
    type Output = SMatrix<T, N, B>;
    #[inline]
    fn forward(&self, x: &Seq<T, C, L, B>) -> SMatrix<T, N, B> {
        const {
            assert!(
                N == C * L,
                "Flatten<N>: N must be the channels times the steps, C·L, of the sequence it is given"
            )
        };
        SMatrix::from_fn(|k, b| x.data[b][k % L][k / L])
    }
}

impl<T: Scalar, const N: usize, const C: usize, const L: usize, const B: usize>
    Train<Seq<T, C, L, B>> for Flatten<N>
{
    type Tape = ();
    #[inline]
    fn forward_tape(&self, x: &Seq<T, C, L, B>, _: &mut Mode<'_>) -> (SMatrix<T, N, B>, ()) {
        (self.forward(x), ())
    }
    #[inline]
    fn backward(&self, _: &(), dy: &SMatrix<T, N, B>, _: &mut Self) -> Seq<T, C, L, B> {
        Seq::from_fn(|b, t, c| dy[(c * L + t, b)])
    }
}

/// The output length of a window of `k` steps moved `s` at a time over `l`
/// steps, checked against the `lo` written in the type.
const fn pooled_length(l: usize, k: usize, s: usize, lo: usize) -> usize {
    assert!(k >= 1 && s >= 1, "a pooling window and stride must be ≥ 1");
    assert!(l >= k, "the sequence is shorter than the pooling window K");
    assert!(
        lo == (l - k) / s + 1,
        "the pooled length LO must be (L − K) / S + 1 for an input of L steps, a window of K and a stride of S"
    );
    lo
}

/// The maximum over windows of `K` steps, moved `S` steps at a time (default
/// `S = K`: PyTorch's `MaxPool1d(K)`), `LO = (L − K)/S + 1` outputs, written
/// in the type and checked. The gradient goes to each window's first
/// maximum. Its tape is its input (`C·L·B` scalars).
///
/// ```
/// use staticnet::sequence::Seq;
/// use staticnet::{MaxPool1d, Network};
///
/// let x = Seq::<f32, 1, 5>::from_channels([[1.0, 4.0, 2.0, 0.0, 9.0]]);
/// assert_eq!(MaxPool1d::<2, 2>.predict(&x), Seq::from_channels([[4.0, 2.0]]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaxPool1d<const K: usize, const LO: usize, const S: usize = K>;

impl<T: Scalar, const K: usize, const LO: usize, const S: usize, const C: usize, const L: usize, const B: usize>
    Module<Seq<T, C, L, B>> for MaxPool1d<K, LO, S>
{
    type Output = Seq<T, C, LO, B>;
    #[inline]
    fn forward(&self, x: &Seq<T, C, L, B>) -> Seq<T, C, LO, B> {
        const { pooled_length(L, K, S, LO) };
        Seq::from_fn(|b, t, c| {
            let w = &x.data[b][S * t..S * t + K];
            w[argmax(w, c)][c]
        })
    }
}

impl<T: Scalar, const K: usize, const LO: usize, const S: usize, const C: usize, const L: usize, const B: usize>
    Train<Seq<T, C, L, B>> for MaxPool1d<K, LO, S>
{
    type Tape = Seq<T, C, L, B>;
    #[inline]
    fn forward_tape(&self, x: &Seq<T, C, L, B>, _: &mut Mode<'_>) -> (Seq<T, C, LO, B>, Self::Tape) {
        (self.forward(x), *x)
    }
    #[inline]
    fn backward(&self, x: &Self::Tape, dy: &Seq<T, C, LO, B>, _: &mut Self) -> Seq<T, C, L, B> {
        let mut dx = Seq::zeros();
        for b in 0..B {
            for t in 0..LO {
                for c in 0..C {
                    let p = S * t + argmax(&x.data[b][S * t..S * t + K], c);
                    dx.data[b][p][c] += dy.data[b][t][c];
                }
            }
        }
        dx
    }
}

/// The mean over windows of `K` steps, moved `S` steps at a time (default
/// `S = K`: PyTorch's `AvgPool1d(K)`), `LO = (L − K)/S + 1` outputs, written
/// in the type and checked. Its tape is empty.
///
/// ```
/// use staticnet::sequence::Seq;
/// use staticnet::{AvgPool1d, Network};
///
/// let x = Seq::<f32, 1, 4>::from_channels([[1.0, 3.0, 2.0, 0.0]]);
/// assert_eq!(AvgPool1d::<2, 2>.predict(&x), Seq::from_channels([[2.0, 1.0]]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AvgPool1d<const K: usize, const LO: usize, const S: usize = K>;

impl<T: Scalar, const K: usize, const LO: usize, const S: usize, const C: usize, const L: usize, const B: usize>
    Module<Seq<T, C, L, B>> for AvgPool1d<K, LO, S>
{
    type Output = Seq<T, C, LO, B>;
    #[inline]
    fn forward(&self, x: &Seq<T, C, L, B>) -> Seq<T, C, LO, B> {
        const { pooled_length(L, K, S, LO) };
        let scale = T::one() / T::of_f64(K as f64);
        Seq::from_fn(|b, t, c| {
            let mut sum = T::zero();
            for s in &x.data[b][S * t..S * t + K] {
                sum += s[c];
            }
            sum * scale
        })
    }
}

impl<T: Scalar, const K: usize, const LO: usize, const S: usize, const C: usize, const L: usize, const B: usize>
    Train<Seq<T, C, L, B>> for AvgPool1d<K, LO, S>
{
    type Tape = ();
    #[inline]
    fn forward_tape(&self, x: &Seq<T, C, L, B>, _: &mut Mode<'_>) -> (Seq<T, C, LO, B>, ()) {
        (self.forward(x), ())
    }
    #[inline]
    fn backward(&self, _: &(), dy: &Seq<T, C, LO, B>, _: &mut Self) -> Seq<T, C, L, B> {
        let scale = T::one() / T::of_f64(K as f64);
        let mut dx = Seq::zeros();
        for b in 0..B {
            for t in 0..LO {
                for p in S * t..S * t + K {
                    for c in 0..C {
                        dx.data[b][p][c] += dy.data[b][t][c] * scale;
                    }
                }
            }
        }
        dx
    }
}

no_params!(GlobalAvgPool);
no_params!(GlobalMaxPool);
no_params!(LastStep);

/// Parameter-free layers with sizes in their type: settings name the sizes
/// (so a file saved for other sizes is refused), and the Rust form is the
/// unit struct with its sizes.
macro_rules! sized_no_params {
    ($name:ident [$($n:ident),+] $kind:literal) => {
        impl<$(const $n: usize),+> Layer for $name<$($n),+> {
            const KIND: &'static str = $kind;
        }

        impl<T: Scalar, $(const $n: usize),+> Params<T> for $name<$($n),+> {
            const NUM_PARAMS: usize = 0;
            fn zeros() -> Self {
                $name
            }
            #[inline]
            fn tensors<const R: usize, const W: usize>(
                _: [&Self; R],
                _: [&mut Self; W],
                _: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
            ) {
            }
            fn settings(&self, f: &mut impl FnMut(&'static str, Setting)) {
                $(f(stringify!($n), Setting::Size($n));)+
            }
            fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
                src.text(concat!("staticnet::", stringify!($name), "<"))?;
                let sizes = [$($n),+];
                for (i, n) in sizes.iter().enumerate() {
                    if i > 0 {
                        src.text(", ")?;
                    }
                    src.fmt(format_args!("{n}"))?;
                }
                src.text(">")
            }
            fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
                src.text(concat!("staticnet::", stringify!($name), "::<"))?;
                let sizes = [$($n),+];
                for (i, n) in sizes.iter().enumerate() {
                    if i > 0 {
                        src.text(", ")?;
                    }
                    src.fmt(format_args!("{n}"))?;
                }
                src.text(">")
            }
        }
    };
}

sized_no_params!(Flatten[N] "Flatten");
sized_no_params!(MaxPool1d[K, LO, S] "MaxPool1d");
sized_no_params!(AvgPool1d[K, LO, S] "AvgPool1d");
