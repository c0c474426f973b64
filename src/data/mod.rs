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

/// A `Vec` of pairs, as `data::load_csv` returns (feature `std`): `&rows`
/// is a data set without writing `&rows[..]`.
#[cfg(feature = "std")]
impl<T: Scalar, const I: usize, Tg: Clone> Dataset<T, I> for std::vec::Vec<(SVector<T, I>, Tg)> {
    type Target = Tg;
    fn len(&self) -> usize {
        Dataset::<T, I>::len(self.as_slice())
    }
    fn input(&self, i: usize) -> SVector<T, I> {
        self.as_slice().input(i)
    }
    fn target(&self, i: usize) -> Tg {
        self.as_slice().target(i)
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

/// Per-feature standardisation, `x ↦ (x − μ) / σ`, with the mean `μ` and
/// the (population) standard deviation `σ` of a training set, so that test
/// data is scaled with the training set's statistics only. A feature with
/// `σ = 0` is only centred (`σ` is taken as 1).
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::data::Standardize;
///
/// let train = [(SVector::from([1.0f32, 5.0]), 0usize), (SVector::from([3.0, 5.0]), 1)];
/// let s = Standardize::fit(&train);
/// assert_eq!(s.mean, SVector::from([2.0, 5.0]));
/// assert_eq!(s.apply(&SVector::from([3.0, 6.0])), SVector::from([1.0, 1.0]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standardize<T, const I: usize> {
    /// The per-feature mean `μ`.
    pub mean: SVector<T, I>,
    /// The per-feature standard deviation `σ` (1 where it was 0).
    pub std: SVector<T, I>,
}

impl<T: Scalar, const I: usize> Standardize<T, I> {
    /// The statistics of a data set's inputs (accumulated in `f64`). An empty
    /// data set gives `μ = 0`, `σ = 1`.
    pub fn fit<D: Dataset<T, I> + ?Sized>(data: &D) -> Self {
        let n = data.len().max(1) as f64;
        let mut mean = [0.0f64; I];
        for i in 0..data.len() {
            for (m, v) in mean.iter_mut().zip(data.input(i).iter()) {
                *m += v.as_f64() / n;
            }
        }
        let mut var = [0.0f64; I];
        for i in 0..data.len() {
            for ((s, m), v) in var.iter_mut().zip(&mean).zip(data.input(i).iter()) {
                *s += (v.as_f64() - m) * (v.as_f64() - m) / n;
            }
        }
        Standardize {
            mean: SVector::from_fn(|k, _| T::of_f64(mean[k])),
            std: SVector::from_fn(|k, _| {
                let s = nalgebra::ComplexField::sqrt(var[k]);
                T::of_f64(if s > 0.0 { s } else { 1.0 })
            }),
        }
    }

    /// `(x − μ) / σ`.
    pub fn apply(&self, x: &SVector<T, I>) -> SVector<T, I> {
        (x - self.mean).component_div(&self.std)
    }

    /// Standardises every input of a slice of pairs in place.
    pub fn apply_all<Tg>(&self, rows: &mut [(SVector<T, I>, Tg)]) {
        for (x, _) in rows {
            *x = self.apply(x);
        }
    }
}

#[cfg(feature = "std")]
mod csv_loader;
#[cfg(feature = "std")]
pub use csv_loader::{CsvError, load_csv, read_csv};
