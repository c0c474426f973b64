//! Evaluation: mean loss, accuracy, confusion matrix.

use nalgebra::{SMatrix, SVector};

use crate::data::Dataset;
use crate::loss::Prediction;
use crate::network::argmax;
use crate::tensor::Sample;
use crate::{Loss, Module, Scalar};

/// A target that names a class: a class index, or a one-hot (or probability)
/// vector whose largest entry is the class.
pub trait Class {
    /// The class index.
    fn class(&self) -> usize;
}

impl Class for usize {
    fn class(&self) -> usize {
        *self
    }
}

impl<T: Scalar, const K: usize> Class for SVector<T, K> {
    fn class(&self) -> usize {
        argmax(self.as_slice())
    }
}

/// The mean loss over a data set (accumulated in `f64`).
pub fn mean_loss<N, L, D, T, const I: usize>(net: &N, loss: &L, data: &D) -> f64
where
    T: Scalar,
    D: Dataset<T, I> + ?Sized,
    N: Module<SVector<T, I>>,
    N::Output: Prediction<L, D::Target>,
    L: Loss,
{
    let mut total = 0.0;
    for i in 0..data.len() {
        total += loss
            .loss(&net.predict(&data.input(i)), &data.target(i))
            .as_f64();
    }
    total / data.len().max(1) as f64
}

/// The fraction of samples whose largest output is the target's class.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::{Dense, metrics::accuracy};
/// let net = Dense::<2, 2>::from_rows([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0]);
/// let data = [(SVector::from([1.0, 0.0]), 0usize), (SVector::from([0.0, 1.0]), 0)];
/// assert_eq!(accuracy(&net, &data[..]), 0.5);
/// ```
pub fn accuracy<N, D, T, const I: usize>(net: &N, data: &D) -> f64
where
    T: Scalar,
    D: Dataset<T, I> + ?Sized,
    D::Target: Class,
    N: Module<SVector<T, I>>,
    N::Output: Sample,
{
    let mut correct = 0usize;
    for i in 0..data.len() {
        correct += usize::from(net.predict_class(&data.input(i)) == data.target(i).class());
    }
    correct as f64 / data.len().max(1) as f64
}

/// The confusion matrix over `K` classes: entry `(t, p)` counts the samples
/// of class `t` predicted as `p`. Panics if a class is `K` or more.
pub fn confusion_matrix<N, D, T, const I: usize, const K: usize>(
    net: &N,
    data: &D,
) -> SMatrix<usize, K, K>
where
    T: Scalar,
    D: Dataset<T, I> + ?Sized,
    D::Target: Class,
    N: Module<SVector<T, I>>,
    N::Output: Sample,
{
    let mut m = SMatrix::<usize, K, K>::zeros();
    for i in 0..data.len() {
        let (t, p) = (data.target(i).class(), net.predict_class(&data.input(i)));
        assert!(
            t < K && p < K,
            "class {t} or prediction {p} out of range for {K} classes"
        );
        m[(t, p)] += 1;
    }
    m
}
