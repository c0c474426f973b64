//! What flows between layers: statically sized matrices, one column per sample.
//!
//! A single sample is an [`SVector<T, N>`](nalgebra::SVector); a batch of `B`
//! samples is an [`SMatrix<T, N, B>`](nalgebra::SMatrix) with one sample per
//! column. Layers are written against the traits here rather than against
//! concrete matrix types, which keeps the compiler's shape errors pointed at
//! the layer whose sizes disagree (see [`crate::shape`]).

use nalgebra::{SMatrix, SVector};

use crate::Scalar;
use crate::shape::{Columns, OneSample, SameBatch};

/// A statically sized block of scalars stored contiguously in column-major
/// order: the values that flow between layers.
///
/// Implemented for every [`SMatrix<T, R, C>`] with `T:` [`Scalar`].
pub trait Tensor: Copy {
    /// The element type.
    type Scalar: Scalar;
    /// Number of rows: the size of one sample.
    const ROWS: usize;
    /// Number of columns: how many samples.
    const COLS: usize;
    /// A tensor of zeros.
    fn zeros() -> Self;
    /// All elements, column by column.
    fn as_slice(&self) -> &[Self::Scalar];
    /// All elements, column by column, mutably.
    fn as_mut_slice(&mut self) -> &mut [Self::Scalar];
}

impl<T: Scalar, const R: usize, const C: usize> Tensor for SMatrix<T, R, C> {
    type Scalar = T;
    const ROWS: usize = R;
    const COLS: usize = C;
    #[inline]
    fn zeros() -> Self {
        SMatrix::zeros()
    }
    #[inline]
    fn as_slice(&self) -> &[T] {
        SMatrix::as_slice(self)
    }
    #[inline]
    fn as_mut_slice(&mut self) -> &mut [T] {
        SMatrix::as_mut_slice(self)
    }
}

/// Exactly one sample: a column vector [`SVector<T, N>`].
///
/// APIs that are defined per sample (a loss term, the input–output Jacobian)
/// take a `Sample`; handing them a batch is a compile error that says how
/// many columns it has.
pub trait Sample: Tensor {
    /// A matrix with this sample's rows and `C` columns: for the output `y` of
    /// a network with input size `C` it is the type of `∂y/∂x`.
    type WithCols<const C: usize>: Tensor<Scalar = Self::Scalar>;
    /// The Jacobian `∂y/∂x` of an output sample `y: Y` with respect to this
    /// input sample `x`: `SMatrix<T, O, I>` for `x: SVector<T, I>`,
    /// `y: SVector<T, O>`.
    type Jacobian<Y: Sample<Scalar = Self::Scalar>>: Tensor<Scalar = Self::Scalar>;
}

impl<T: Scalar, const N: usize, const B: usize> Sample for SMatrix<T, N, B>
where
    Columns: OneSample<B>,
{
    type WithCols<const C: usize> = SMatrix<T, N, C>;
    type Jacobian<Y: Sample<Scalar = T>> = Y::WithCols<N>;
}

/// A batch of `B` samples: [`SMatrix<T, N, B>`], one sample per column.
///
/// Column-major: [`Tensor::as_slice`] holds the samples one after another,
/// `N` values each, which is how the losses' batch forms read it.
pub trait Batch<const B: usize>: Tensor {
    /// One column of the batch: an [`SVector<T, N>`].
    type Column: Tensor<Scalar = Self::Scalar>;
    /// Copies column `j` out. Panics if `j >= B`.
    fn column(&self, j: usize) -> Self::Column;
    /// Overwrites column `j`. Panics if `j >= B`.
    fn set_column(&mut self, j: usize, value: &Self::Column);
}

impl<T: Scalar, const N: usize, const C: usize, const B: usize> Batch<B> for SMatrix<T, N, C>
where
    Columns: SameBatch<C, B>,
{
    type Column = SVector<T, N>;
    #[inline]
    fn column(&self, j: usize) -> SVector<T, N> {
        SVector::from_array_storage(nalgebra::ArrayStorage([self.data.0[j]]))
    }
    #[inline]
    fn set_column(&mut self, j: usize, value: &SVector<T, N>) {
        self.data.0[j] = value.data.0[0];
    }
}
