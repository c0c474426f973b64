//! Compile-time size checks that read like sentences.
//!
//! Each trait here holds exactly when two sizes agree, and carries a
//! `#[diagnostic::on_unimplemented]` message naming both sizes, so that a
//! shape mistake fails to compile with, for example:
//!
//! ```text
//! error[E0277]: `Dense<4, 1>` takes 4 inputs, but it is given 8
//! ```
//!
//! You never implement these traits; they appear in the bounds of the
//! library's impls. The messages show best through the methods of
//! [`Network`](crate::Network) and [`Loss`](crate::Loss), whose bounds sit on
//! the method itself; calling a layer's [`Module::forward`](crate::Module::forward)
//! directly reports the same sizes in the error's label instead.

use nalgebra::{SMatrix, SVector};

use crate::Dense;
use crate::sequence::Seq;

/// `Dense<I, O>: Takes<N, I>` holds exactly when the layer is given `N == I`
/// values per sample.
#[diagnostic::on_unimplemented(
    message = "`{Self}` takes {I} inputs, but it is given {N}",
    label = "this gives `{Self}` {N} values per sample, it takes {I}",
    note = "the layer takes {I} values per sample: the layer before it, or the network's input, must give exactly {I}"
)]
pub trait Takes<const N: usize, const I: usize> {
    /// The input, seen with the layer's own size (the identity).
    fn input<T, const B: usize>(x: &SMatrix<T, N, B>) -> &SMatrix<T, I, B>;
    /// The input gradient, seen with the caller's size (the identity).
    fn input_grad<T, const B: usize>(dx: SMatrix<T, I, B>) -> SMatrix<T, N, B>;
}

impl<T, const I: usize, const O: usize> Takes<I, I> for Dense<I, O, T> {
    #[inline(always)]
    fn input<U, const B: usize>(x: &SMatrix<U, I, B>) -> &SMatrix<U, I, B> {
        x
    }
    #[inline(always)]
    fn input_grad<U, const B: usize>(dx: SMatrix<U, I, B>) -> SMatrix<U, I, B> {
        dx
    }
}

/// `L: TargetSize<N, P>` holds exactly when the loss `L` is asked to compare a
/// prediction of size `P` with a target of the same size `N == P`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot compare a prediction of size {P} with a target of size {N}",
    label = "this target has {N} values per sample, but the prediction has {P}",
    note = "the network's output size and the target's size must be equal"
)]
pub trait TargetSize<const N: usize, const P: usize> {}

impl<L, const P: usize> TargetSize<P, P> for L {}

/// The marker on which [`OneSample`] and [`SameBatch`] are implemented.
#[derive(Debug, Clone, Copy)]
pub struct Columns;

/// `Columns: OneSample<B>` holds exactly when `B == 1`: a value with `B`
/// columns is one sample.
#[diagnostic::on_unimplemented(
    message = "expected one sample, but this is a batch of {B} samples",
    label = "a matrix with {B} columns: {B} samples, one per column",
    note = "this API works on one sample, a column vector `SVector<T, N>`; take a column of the batch, or use the batch form of the API"
)]
pub trait OneSample<const B: usize> {
    /// The value, seen as one sample (the identity).
    fn sample<T, const N: usize>(x: &SMatrix<T, N, B>) -> &SVector<T, N>;
    /// One sample, seen as the caller's type (the identity).
    fn unsample<T, const N: usize>(x: SVector<T, N>) -> SMatrix<T, N, B>;
}

impl OneSample<1> for Columns {
    #[inline(always)]
    fn sample<T, const N: usize>(x: &SVector<T, N>) -> &SVector<T, N> {
        x
    }
    #[inline(always)]
    fn unsample<T, const N: usize>(x: SVector<T, N>) -> SVector<T, N> {
        x
    }
}

/// `Columns: SameBatch<C, B>` holds exactly when a batch with `C` columns is
/// given `B == C` targets.
#[diagnostic::on_unimplemented(
    message = "a batch of {C} samples needs {C} targets, but {B} are given",
    label = "{B} targets for a batch of {C}",
    note = "pass one target per column of the batch, as an array `[target; B]`"
)]
pub trait SameBatch<const C: usize, const B: usize> {}

impl<const B: usize> SameBatch<B, B> for Columns {}

/// `Layer: TakesChannels<N, C>` holds exactly when a sequence layer built for
/// `C` channels per step ([`Conv1d`](crate::Conv1d),
/// [`DepthwiseConv1d`](crate::DepthwiseConv1d), [`Gru`](crate::Gru),
/// [`Lstm`](crate::Lstm)) is given `N == C`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` takes {C} channels, but it is given {N}",
    label = "this gives `{Self}` {N} channels per step, it takes {C}",
    note = "the layer takes {C} channels per step: the layer before it, or the network's input, must give exactly {C}"
)]
pub trait TakesChannels<const N: usize, const C: usize> {
    /// The input, seen with the layer's channel count (the identity).
    fn channels<T, const L: usize, const B: usize>(x: &Seq<T, N, L, B>) -> &Seq<T, C, L, B>;
    /// The input gradient, seen with the caller's channel count.
    fn channels_back<T, const L: usize, const B: usize>(dx: Seq<T, C, L, B>) -> Seq<T, N, L, B>;
}
