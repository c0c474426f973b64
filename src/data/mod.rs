//! Data sets: indexed pairs of an input sample and its target.

use nalgebra::SVector;

use crate::Scalar;

/// A data set of `len()` samples, each an input `SVector<T, I>` and a target.
///
/// Implemented for slices of pairs, `[(SVector<T, I>, Target)]`, and for a
/// pair of equally long slices, `(&[SVector<T, I>], &[Target])`. Implement it
/// for your own storage (a `static` table in flash, a memory-mapped file) to
/// train from it without copying.
pub trait Dataset<T: Scalar, const I: usize> {
    /// The target type: a class index `usize`, a vector, ….
    type Target: Clone;
    /// The number of samples.
    fn len(&self) -> usize;
    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The input of sample `i`. Panics if `i >= len()`.
    fn input(&self, i: usize) -> SVector<T, I>;
    /// The target of sample `i`. Panics if `i >= len()`.
    fn target(&self, i: usize) -> Self::Target;
}

impl<T: Scalar, const I: usize, Tg: Clone> Dataset<T, I> for [(SVector<T, I>, Tg)] {
    type Target = Tg;
    fn len(&self) -> usize {
        <[_]>::len(self)
    }
    fn input(&self, i: usize) -> SVector<T, I> {
        self[i].0
    }
    fn target(&self, i: usize) -> Tg {
        self[i].1.clone()
    }
}

impl<T: Scalar, const I: usize, Tg: Clone, const N: usize> Dataset<T, I>
    for [(SVector<T, I>, Tg); N]
{
    type Target = Tg;
    fn len(&self) -> usize {
        N
    }
    fn input(&self, i: usize) -> SVector<T, I> {
        self[i].0
    }
    fn target(&self, i: usize) -> Tg {
        self[i].1.clone()
    }
}

/// Inputs and targets in two slices of the same length (the shorter length
/// counts if they differ).
impl<T: Scalar, const I: usize, Tg: Clone> Dataset<T, I> for (&[SVector<T, I>], &[Tg]) {
    type Target = Tg;
    fn len(&self) -> usize {
        self.0.len().min(self.1.len())
    }
    fn input(&self, i: usize) -> SVector<T, I> {
        self.0[i]
    }
    fn target(&self, i: usize) -> Tg {
        self.1[i].clone()
    }
}

#[cfg(feature = "std")]
mod csv_loader;
#[cfg(feature = "std")]
pub use csv_loader::{CsvError, load_csv, read_csv};
