//! Evaluation over a whole data set: predictions, accuracy, confusion
//! matrix, mean loss, and the regression scores MSE, MAE and R².
//!
//! A data set's size is known only at run time, so these functions run the
//! network over it in batches of [`EVAL_BATCH`] vectors (a compile-time
//! size, on the stack; the last, shorter batch is padded and its padding
//! ignored), or one sequence at a time ([`Input::EVAL`]: a sequence model's
//! intermediate values are large), and need no heap. The predictions are
//! bit for bit those of [`Network::predict`](crate::Network::predict) one
//! sample at a time.
//!
//! The bounds they need are bundled in [`Predicts`] (any input), and in
//! [`Classifier`] and [`Regressor`] for vectors, so that a function generic
//! over the network names one trait:
//!
//! ```
//! use staticnet::metrics::{Classifier, accuracy};
//! use staticnet::prelude::*;
//!
//! fn report<N: Classifier<f32, 4, 3>>(net: &N, test: &[(SVector<f32, 4>, usize)]) -> String {
//!     format!("{:.1}%", 100.0 * accuracy(net, test))
//! }
//! let net = <(Dense<4, 8>, Relu, Dense<8, 3>)>::zeros();
//! assert_eq!(report(&net, &[(SVector::zeros(), 0)]), "100.0%");
//! ```

use nalgebra::{SMatrix, SVector};

use crate::data::{Data, Input};
use crate::loss::{Prediction, TargetError};
use crate::network::class_of;
use crate::tensor::Tensor;
use crate::{Loss, Module, Scalar};

/// How many vectors the evaluation functions run through the network at
/// once (sequences: one, see [`Input::EVAL`]).
pub const EVAL_BATCH: usize = 16;

/// A target that names a class: a class index, or a one-hot (or probability)
/// vector whose largest entry is the class. A one-component vector is a
/// binary label: class 1 when it is above 0.5.
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
        class_of(self.as_slice(), true)
    }
}

/// A network that maps inputs `X` (a vector or a sequence, see
/// [`Input`]) to `O` outputs, one sample at a time and in evaluation
/// batches ([`Input::EVAL`] samples: [`EVAL_BATCH`] vectors, one sequence):
/// the bound of this module's functions, for any kind of input.
/// Implemented for every such network. [`Regressor`] and [`Classifier`] are
/// the same for vector inputs, with the sizes spelled out.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a network from `{X}` to {O} outputs",
    label = "this network does not map `{X}` to {O} outputs",
    note = "check the network's first layer against the data's input, and its last layer against the number of outputs (classes) the call expects"
)]
pub trait Predicts<X: Input, const O: usize>:
    Module<X, Output = SVector<X::Scalar, O>> + Module<X::Eval, Output = X::EvalOutput<O>>
{
}

impl<N, X: Input, const O: usize> Predicts<X, O> for N where
    N: Module<X, Output = SVector<X::Scalar, O>> + Module<X::Eval, Output = X::EvalOutput<O>>
{
}

/// A network that maps samples of `I` inputs to `O` outputs, one at a time
/// and in batches of [`EVAL_BATCH`]: everything the functions of this
/// module need from a network. Implemented for every such network; name it
/// as the bound of your own generic function (see the module docs).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a network from {I} inputs of `{T}` to {O} outputs",
    label = "this network does not map `SVector<{T}, {I}>` to `SVector<{T}, {O}>`",
    note = "check the network's first layer against the data's input size, and its last layer against the number of outputs (classes) the call expects"
)]
pub trait Regressor<T: Scalar, const I: usize, const O: usize>:
    Predicts<SVector<T, I>, O>
    + Module<SVector<T, I>, Output = SVector<T, O>>
    + Module<SMatrix<T, I, EVAL_BATCH>, Output = SMatrix<T, O, EVAL_BATCH>>
{
}

impl<N, T: Scalar, const I: usize, const O: usize> Regressor<T, I, O> for N where
    N: Module<SVector<T, I>, Output = SVector<T, O>>
        + Module<SMatrix<T, I, EVAL_BATCH>, Output = SMatrix<T, O, EVAL_BATCH>>
{
}

/// A classifier of samples of `I` inputs into `C` classes: a network with
/// `C` outputs (logits or probabilities; one output for a binary
/// classifier, see [`Network::predict_class`](crate::Network::predict_class)).
/// The same bounds as [`Regressor`], under the name of what it is for.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a classifier of {I} inputs of `{T}` into {C} classes",
    label = "this network does not map `SVector<{T}, {I}>` to {C} outputs",
    note = "check the network's first layer against the data's input size, and its last layer against the number of classes"
)]
pub trait Classifier<T: Scalar, const I: usize, const C: usize>: Regressor<T, I, C> {}

impl<N: Regressor<T, I, C>, T: Scalar, const I: usize, const C: usize> Classifier<T, I, C> for N {}

/// Why an evaluation could not be done. Samples are counted from 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricError {
    /// The output slice's length differs from the data set's.
    Length {
        /// The data set's length.
        samples: usize,
        /// The output slice's length.
        outputs: usize,
    },
    /// A target's class is not one of the matrix's classes.
    Class {
        /// The sample.
        sample: usize,
        /// Its class.
        class: usize,
        /// How many classes the matrix has.
        classes: usize,
    },
    /// A target is not valid for the loss (as `Trainer::fit` would report).
    InvalidTarget {
        /// The sample.
        sample: usize,
        /// Why.
        reason: TargetError,
    },
}

impl core::fmt::Display for MetricError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            MetricError::Length { samples, outputs } => write!(
                f,
                "{samples} samples but room for {outputs} outputs: pass an output slice of the data set's length"
            ),
            MetricError::Class {
                sample,
                class,
                classes,
            } => write!(
                f,
                "sample {sample}'s class is {class}, but the network has {classes} classes (0 to {})",
                classes.saturating_sub(1)
            ),
            MetricError::InvalidTarget { sample, reason } => {
                write!(
                    f,
                    "sample {sample}'s target is not valid for this loss: {reason}"
                )
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MetricError {}

/// Runs `net` over every input of `data` in evaluation batches
/// ([`Input::EVAL`] samples) and hands each sample's index and output to
/// `f`, in order.
fn for_each_output<N, D, T, const O: usize>(
    net: &N,
    data: &D,
    mut f: impl FnMut(usize, SVector<T, O>),
) where
    T: Scalar,
    D: Data + ?Sized,
    D::Input: Input<Scalar = T>,
    N: Predicts<D::Input, O>,
{
    let n = data.len();
    let mut start = 0;
    while start < n {
        let count = (n - start).min(<D::Input as Input>::EVAL);
        // The tail's padding is zeros (whatever it is, no column of an
        // inference pass reads another).
        let mut x = <D::Input as Input>::eval_batch();
        for j in 0..count {
            data.input(start + j).put_eval(&mut x, j);
        }
        let y = <N as Module<<D::Input as Input>::Eval>>::forward(net, &x);
        // One sample after another, `O` values each.
        for (j, column) in y.as_slice().chunks_exact(O).take(count).enumerate() {
            f(start + j, SVector::from_column_slice(column));
        }
        start += count;
    }
}

/// The network's output for every input of `data`, written to `outputs`
/// (which must have the data set's length). A data set of plain inputs,
/// `[SVector<T, I>]`, works as well as one of pairs.
///
/// ```
/// use staticnet::metrics::predict_into;
/// use staticnet::prelude::*;
///
/// let net = Dense::<2, 1>::from_rows([[1.0, 2.0]], [0.5]);
/// let inputs: Vec<SVector<f32, 2>> = (0..20).map(|i| SVector::from([i as f32, 1.0])).collect();
/// let mut outputs = vec![SVector::zeros(); inputs.len()];
/// predict_into(&net, &inputs, &mut outputs).unwrap();
/// assert_eq!(outputs[19][0], 21.5);
/// ```
///
/// # Errors
///
/// [`MetricError::Length`] if `outputs.len() != data.len()`; nothing is
/// written then.
pub fn predict_into<N, D, T, const O: usize>(
    net: &N,
    data: &D,
    outputs: &mut [SVector<T, O>],
) -> Result<(), MetricError>
where
    T: Scalar,
    D: Data + ?Sized,
    D::Input: Input<Scalar = T>,
    N: Predicts<D::Input, O>,
{
    if outputs.len() != data.len() {
        return Err(MetricError::Length {
            samples: data.len(),
            outputs: outputs.len(),
        });
    }
    for_each_output(net, data, |i, y| outputs[i] = y);
    Ok(())
}

/// The predicted class of every input of `data`, written to `classes`
/// (which must have the data set's length), as
/// [`Network::predict_class`](crate::Network::predict_class) names it.
///
/// # Errors
///
/// [`MetricError::Length`] if `classes.len() != data.len()`; nothing is
/// written then.
pub fn predict_classes_into<N, D, T, const C: usize>(
    net: &N,
    data: &D,
    classes: &mut [usize],
) -> Result<(), MetricError>
where
    T: Scalar,
    D: Data + ?Sized,
    D::Input: Input<Scalar = T>,
    N: Predicts<D::Input, C>,
{
    if classes.len() != data.len() {
        return Err(MetricError::Length {
            samples: data.len(),
            outputs: classes.len(),
        });
    }
    let probability = <N as Module<D::Input>>::PROBABILITY;
    for_each_output(net, data, |i, y| {
        classes[i] = class_of(y.as_slice(), probability)
    });
    Ok(())
}

/// The network's output for every input of `data` (feature `std`).
#[cfg(feature = "std")]
pub fn predict<N, D, T, const O: usize>(net: &N, data: &D) -> std::vec::Vec<SVector<T, O>>
where
    T: Scalar,
    D: Data + ?Sized,
    D::Input: Input<Scalar = T>,
    N: Predicts<D::Input, O>,
{
    let mut out = std::vec::Vec::with_capacity(data.len());
    for_each_output(net, data, |_, y| out.push(y));
    out
}

/// The predicted class of every input of `data` (feature `std`).
///
/// ```
/// use staticnet::metrics::predict_classes;
/// use staticnet::prelude::*;
///
/// let net = Dense::<1, 1>::from_rows([[1.0]], [0.0]); // one logit
/// let inputs = [SVector::from([-2.0f32]), SVector::from([3.0])];
/// assert_eq!(predict_classes(&net, &inputs[..]), [0, 1]);
/// ```
#[cfg(feature = "std")]
pub fn predict_classes<N, D, T, const C: usize>(net: &N, data: &D) -> std::vec::Vec<usize>
where
    T: Scalar,
    D: Data + ?Sized,
    D::Input: Input<Scalar = T>,
    N: Predicts<D::Input, C>,
{
    let mut out = std::vec![0; data.len()];
    // The lengths agree by construction.
    let _ = predict_classes_into(net, data, &mut out);
    out
}

/// The mean loss over a data set (accumulated in `f64`; NaN for an empty
/// one).
///
/// # Errors
///
/// [`MetricError::InvalidTarget`] for the first target that is not valid
/// for the loss (a class index beyond the outputs, …), found before any
/// loss is computed.
pub fn mean_loss<N, L, D, T, const O: usize>(
    net: &N,
    loss: &L,
    data: &D,
) -> Result<f64, MetricError>
where
    T: Scalar,
    D: Data + ?Sized,
    D::Input: Input<Scalar = T>,
    N: Predicts<D::Input, O>,
    SVector<T, O>: Prediction<L, D::Target>,
    L: Loss,
{
    for sample in 0..data.len() {
        <SVector<T, O> as Prediction<L, D::Target>>::check_target(&data.target(sample))
            .map_err(|reason| MetricError::InvalidTarget { sample, reason })?;
    }
    let mut total = 0.0;
    for_each_output(net, data, |i, y| {
        total += loss.loss(&y, &data.target(i)).as_f64();
    });
    Ok(total / data.len() as f64)
}

/// The fraction of samples whose predicted class
/// ([`Network::predict_class`](crate::Network::predict_class)) is the
/// target's class; NaN for an empty data set. A target class the network
/// cannot predict counts as a miss.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::{Dense, metrics::accuracy};
/// let net = Dense::<2, 2>::from_rows([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0]);
/// let data = [(SVector::from([1.0, 0.0]), 0usize), (SVector::from([0.0, 1.0]), 0)];
/// assert_eq!(accuracy(&net, &data), 0.5);
/// ```
pub fn accuracy<N, D, T, const C: usize>(net: &N, data: &D) -> f64
where
    T: Scalar,
    D: Data + ?Sized,
    D::Input: Input<Scalar = T>,
    D::Target: Class,
    N: Predicts<D::Input, C>,
{
    let probability = <N as Module<D::Input>>::PROBABILITY;
    let mut correct = 0usize;
    for_each_output(net, data, |i, y| {
        correct += usize::from(class_of(y.as_slice(), probability) == data.target(i).class());
    });
    correct as f64 / data.len() as f64
}

/// The confusion matrix of a classifier with `C` outputs: entry `(t, p)`
/// counts the samples of class `t` predicted as `p`. For a one-output
/// binary classifier it is 2 × 2: write `confusion_matrix::<_, _, _, 1, 2>`.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::{Dense, metrics::confusion_matrix};
/// let net = Dense::<2, 2>::from_rows([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0]);
/// let data = [(SVector::from([1.0, 0.0]), 0usize), (SVector::from([0.0, 1.0]), 0)];
/// let m = confusion_matrix::<_, _, _, 2, 2>(&net, &data).unwrap();
/// assert_eq!((m[(0, 0)], m[(0, 1)]), (1, 1));
/// let bad = [(SVector::from([1.0, 0.0]), 7usize)];
/// let err = confusion_matrix::<_, _, _, 2, 2>(&net, &bad).unwrap_err();
/// assert_eq!(err.to_string(), "sample 0's class is 7, but the network has 2 classes (0 to 1)");
/// ```
///
/// # Errors
///
/// [`MetricError::Class`] for the first sample whose class is `K` or more.
pub fn confusion_matrix<N, D, T, const C: usize, const K: usize>(
    net: &N,
    data: &D,
) -> Result<SMatrix<usize, K, K>, MetricError>
where
    T: Scalar,
    D: Data + ?Sized,
    D::Input: Input<Scalar = T>,
    D::Target: Class,
    N: Predicts<D::Input, C>,
{
    const {
        assert!(
            K == C || (C == 1 && K == 2),
            "the confusion matrix has one row per class: K must be the network's output count C (2 for a one-output binary classifier)"
        )
    };
    for sample in 0..data.len() {
        let class = data.target(sample).class();
        if class >= K {
            return Err(MetricError::Class {
                sample,
                class,
                classes: K,
            });
        }
    }
    let probability = <N as Module<D::Input>>::PROBABILITY;
    let mut m = SMatrix::<usize, K, K>::zeros();
    for_each_output(net, data, |i, y| {
        // A prediction is below C ≤ K by construction.
        m[(data.target(i).class(), class_of(y.as_slice(), probability))] += 1;
    });
    Ok(m)
}

/// The regression scores of a network over a data set of vector targets,
/// in the targets' units (evaluate `(net, scaling.inverse())` to undo a
/// target standardisation first). Accumulated in `f64`; every score is NaN
/// for an empty data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Regression {
    /// The mean squared error over every output of every sample.
    pub mse: f64,
    /// The mean absolute error over every output of every sample.
    pub mae: f64,
    /// The coefficient of determination `1 − SS_res / SS_tot`, averaged
    /// over the outputs (scikit-learn's `uniform_average`); an output whose
    /// targets are constant counts as 1 if predicted exactly, else 0.
    pub r2: f64,
}

/// [`Regression`] scores of `net` over `data`.
///
/// ```
/// use staticnet::metrics::regression;
/// use staticnet::prelude::*;
///
/// let net = Dense::<1, 1>::from_rows([[2.0]], [0.0]); // y = 2x
/// let data = [
///     (SVector::from([1.0f32]), SVector::from([2.0f32])),
///     (SVector::from([2.0]), SVector::from([5.0])),
/// ];
/// let s = regression(&net, &data);
/// assert_eq!((s.mse, s.mae), (0.5, 0.5));
/// assert_eq!(s.r2, 1.0 - 1.0 / 4.5);
/// ```
pub fn regression<N, D, T, const O: usize>(net: &N, data: &D) -> Regression
where
    T: Scalar,
    D: Data<Target = SVector<T, O>> + ?Sized,
    D::Input: Input<Scalar = T>,
    N: Predicts<D::Input, O>,
{
    let n = data.len() as f64;
    let mut mean = [0.0f64; O];
    for i in 0..data.len() {
        for (m, t) in mean.iter_mut().zip(data.target(i).iter()) {
            *m += t.as_f64() / n;
        }
    }
    let (mut ss_res, mut ss_tot, mut abs) = ([0.0f64; O], [0.0f64; O], 0.0f64);
    for_each_output(net, data, |i, y| {
        let t = data.target(i);
        for k in 0..O {
            let (t, y) = (t[k].as_f64(), y[k].as_f64());
            ss_res[k] += (t - y) * (t - y);
            ss_tot[k] += (t - mean[k]) * (t - mean[k]);
            abs += libm::fabs(t - y);
        }
    });
    let count = n * O as f64;
    let r2 = (0..O)
        .map(|k| match (ss_res[k], ss_tot[k]) {
            (res, tot) if tot > 0.0 => 1.0 - res / tot,
            (0.0, _) => 1.0,
            _ => 0.0,
        })
        .sum::<f64>()
        / O as f64;
    Regression {
        mse: ss_res.iter().sum::<f64>() / count,
        mae: abs / count,
        r2: if data.is_empty() { f64::NAN } else { r2 },
    }
}

/// The mean squared error of `net` over `data` ([`regression`]'s `mse`).
pub fn mse<N, D, T, const O: usize>(net: &N, data: &D) -> f64
where
    T: Scalar,
    D: Data<Target = SVector<T, O>> + ?Sized,
    D::Input: Input<Scalar = T>,
    N: Predicts<D::Input, O>,
{
    regression(net, data).mse
}

/// The mean absolute error of `net` over `data` ([`regression`]'s `mae`).
pub fn mae<N, D, T, const O: usize>(net: &N, data: &D) -> f64
where
    T: Scalar,
    D: Data<Target = SVector<T, O>> + ?Sized,
    D::Input: Input<Scalar = T>,
    N: Predicts<D::Input, O>,
{
    regression(net, data).mae
}

/// The coefficient of determination R² of `net` over `data`
/// ([`regression`]'s `r2`).
pub fn r2<N, D, T, const O: usize>(net: &N, data: &D) -> f64
where
    T: Scalar,
    D: Data<Target = SVector<T, O>> + ?Sized,
    D::Input: Input<Scalar = T>,
    N: Predicts<D::Input, O>,
{
    regression(net, data).r2
}
