//! Data sets: indexed pairs of an input sample and its target.

use nalgebra::SVector;

use crate::Scalar;
pub use crate::sequence::Input;

/// A data set of `len()` samples, each an input (a vector or a sequence,
/// see [`Input`]) and a target.
///
/// Implemented for slices, arrays and `Vec`s of pairs `[(input, target)]`,
/// for a pair of equally long slices `(&[input], &[target])`, and for inputs
/// alone, `[input]` (whose target is `()`). Implement it for your own
/// storage (a `static` table in flash, a memory-mapped file) to train from
/// it without copying. [`Dataset<T, I>`] is the same for vector inputs of
/// size `I`, the bound to write in generic code over vector data.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a data set",
    label = "this is not a data set of (input, target) samples",
    note = "a data set is a slice, array or `Vec` of `(input, target)` pairs (or of inputs alone), or `(&[input], &[target])`, where an input is an `SVector<T, N>` or a `staticnet::sequence::Seq<T, C, L>`"
)]
pub trait Data {
    /// One sample's input: `SVector<T, N>` or `Seq<T, C, L>`.
    type Input: Input;
    /// The target type: a class index `usize`, a vector, ….
    type Target: Clone;
    /// The number of samples.
    fn len(&self) -> usize;
    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The input of sample `i`. Panics if `i >= len()`.
    fn input(&self, i: usize) -> Self::Input;
    /// The target of sample `i`. Panics if `i >= len()`.
    fn target(&self, i: usize) -> Self::Target;
}

/// A [`Data`] set whose inputs are vectors `SVector<T, I>`: the bound for
/// generic code over vector data. Implemented for every such data set.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a data set of samples with {I} inputs of `{T}`",
    label = "the network takes {I} inputs of `{T}` per sample; this data does not hold such samples",
    note = "a data set is a slice, array or `Vec` of `(SVector<{T}, {I}>, target)` pairs (or of inputs alone), or `(&[SVector<{T}, {I}>], &[target])`: check that the data's input size equals the network's first layer's, and that the scalar types agree"
)]
pub trait Dataset<T: Scalar, const I: usize>: Data<Input = SVector<T, I>> {}

impl<T: Scalar, const I: usize, D: Data<Input = SVector<T, I>> + ?Sized> Dataset<T, I> for D {}

impl<X: Input, Tg: Clone> Data for [(X, Tg)] {
    type Input = X;
    type Target = Tg;
    fn len(&self) -> usize {
        <[_]>::len(self)
    }
    fn input(&self, i: usize) -> X {
        self[i].0
    }
    fn target(&self, i: usize) -> Tg {
        self[i].1.clone()
    }
}

impl<X: Input, Tg: Clone, const N: usize> Data for [(X, Tg); N] {
    type Input = X;
    type Target = Tg;
    fn len(&self) -> usize {
        N
    }
    fn input(&self, i: usize) -> X {
        self[i].0
    }
    fn target(&self, i: usize) -> Tg {
        self[i].1.clone()
    }
}

/// Inputs alone, without targets (their target is `()`): what
/// [`metrics::predict`](crate::metrics::predict) and friends take when there
/// is nothing to score against.
impl<X: Input> Data for [X] {
    type Input = X;
    type Target = ();
    fn len(&self) -> usize {
        <[_]>::len(self)
    }
    fn input(&self, i: usize) -> X {
        self[i]
    }
    fn target(&self, _: usize) {}
}

/// Inputs alone in a `Vec` (feature `std`).
#[cfg(feature = "std")]
impl<X: Input> Data for std::vec::Vec<X> {
    type Input = X;
    type Target = ();
    fn len(&self) -> usize {
        <[_]>::len(self)
    }
    fn input(&self, i: usize) -> X {
        self[i]
    }
    fn target(&self, _: usize) {}
}

/// A `Vec` of pairs, as `data::load_csv` returns (feature `std`): `&rows`
/// is a data set without writing `&rows[..]`.
#[cfg(feature = "std")]
impl<X: Input, Tg: Clone> Data for std::vec::Vec<(X, Tg)> {
    type Input = X;
    type Target = Tg;
    fn len(&self) -> usize {
        Data::len(self.as_slice())
    }
    fn input(&self, i: usize) -> X {
        self.as_slice().input(i)
    }
    fn target(&self, i: usize) -> Tg {
        self.as_slice().target(i)
    }
}

/// Inputs and targets in two slices of the same length (the shorter length
/// counts if they differ).
impl<X: Input, Tg: Clone> Data for (&[X], &[Tg]) {
    type Input = X;
    type Target = Tg;
    fn len(&self) -> usize {
        self.0.len().min(self.1.len())
    }
    fn input(&self, i: usize) -> X {
        self.0[i]
    }
    fn target(&self, i: usize) -> Tg {
        self.1[i].clone()
    }
}

pub use crate::layers::{Rescale, Standardize};

/// Rows of a data set in memory: each sample's input and target, as the CSV
/// loaders and the splits return them (feature `std`).
#[cfg(feature = "std")]
pub type Rows<T, const I: usize, Tg> = std::vec::Vec<(SVector<T, I>, Tg)>;

/// Rows of a sequence data set in memory: each sample's sequence of `L`
/// steps of `C` channels and its target, as
/// [`load_sequences`] returns them (feature `std`).
#[cfg(feature = "std")]
pub type SeqRows<T, const C: usize, const L: usize, Tg> =
    std::vec::Vec<(crate::sequence::Seq<T, C, L>, Tg)>;

/// A training set and a test set, in that order (feature `std`).
#[cfg(feature = "std")]
pub type Split<T, const I: usize, Tg> = (Rows<T, I, Tg>, Rows<T, I, Tg>);

#[cfg(feature = "std")]
mod split;
#[cfg(feature = "std")]
pub use split::{stratified_split, train_test_split};

/// Why a data set's statistics or split could not be made. Samples and
/// features are counted from 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DataError {
    /// The data set has no samples.
    Empty,
    /// A value is NaN or infinite.
    NonFinite {
        /// The sample's index.
        sample: usize,
        /// The feature's (or target component's) index.
        feature: usize,
        /// The value.
        value: f64,
    },
    /// A value of a sequence is NaN or infinite
    /// ([`Standardize::fit_sequences`]).
    NonFiniteStep {
        /// The sample's index.
        sample: usize,
        /// The step's index.
        step: usize,
        /// The channel's index.
        channel: usize,
        /// The value.
        value: f64,
    },
    /// A feature's mean or standard deviation does not fit in the scalar
    /// type (values near its largest finite number).
    Spread {
        /// The feature's index (for sequences, the channel's).
        feature: usize,
        /// Its mean, computed in `f64`.
        mean: f64,
        /// Its standard deviation, computed in `f64`.
        std: f64,
    },
    /// A split's test fraction is not strictly between 0 and 1.
    TestFraction {
        /// The fraction given.
        value: f64,
    },
    /// A split would leave the training or the test set empty.
    TooFew {
        /// The data set's size.
        samples: usize,
        /// The test set's size the fraction gives.
        test: usize,
    },
}

impl core::fmt::Display for DataError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            DataError::Empty => f.write_str("the data set has no samples"),
            DataError::NonFinite {
                sample,
                feature,
                value,
            } => write!(
                f,
                "sample {sample}, feature {feature} (counted from 0) is {value}: \
                 remove or impute the sample before computing statistics"
            ),
            DataError::NonFiniteStep {
                sample,
                step,
                channel,
                value,
            } => write!(
                f,
                "sample {sample}, step {step}, channel {channel} (counted from 0) is {value}: \
                 remove or impute the sample before computing statistics"
            ),
            DataError::Spread { feature, mean, std } => write!(
                f,
                "feature {feature}'s mean {mean:e} or standard deviation {std:e} does not fit \
                 in the scalar type: rescale the feature (or use f64)"
            ),
            DataError::TestFraction { value } => write!(
                f,
                "the test fraction is {value}; it must be strictly between 0 and 1 (e.g. 0.2)"
            ),
            DataError::TooFew { samples, test } => write!(
                f,
                "a split of {samples} samples with {test} for testing leaves a side empty: \
                 choose a test fraction that gives each side at least one sample"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DataError {}

#[cfg(feature = "std")]
mod csv_loader;
#[cfg(feature = "std")]
pub use csv_loader::{
    CsvError, CsvErrorKind, Expected, load_csv, load_csv_targets, read_csv, read_csv_targets,
};
#[cfg(feature = "std")]
mod sequence_csv;
#[cfg(feature = "std")]
pub use sequence_csv::{load_sequences, read_sequences};
