//! Seeded train/test splits (feature `std`).

use std::collections::BTreeMap;
use std::vec::Vec;

use rand::Rng;

use super::{DataError, Dataset, Split};
use crate::Scalar;
use crate::metrics::Class;
use crate::sampling::Permutation;

/// `round(n · fraction)`, after checking the fraction.
fn test_count(n: usize, fraction: f64) -> Result<usize, DataError> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(DataError::TestFraction { value: fraction });
    }
    Ok(libm::round(n as f64 * fraction) as usize)
}

/// The rows whose `is_test` is `false` and `true`, in the data set's order.
fn gather<T: Scalar, const I: usize, D: Dataset<T, I> + ?Sized>(
    data: &D,
    is_test: &[bool],
) -> Result<Split<T, I, D::Target>, DataError> {
    let test = is_test.iter().filter(|&&t| t).count();
    if test == 0 || test == is_test.len() {
        return Err(DataError::TooFew {
            samples: is_test.len(),
            test,
        });
    }
    let (mut train_rows, mut test_rows) = (
        Vec::with_capacity(is_test.len() - test),
        Vec::with_capacity(test),
    );
    for (i, &t) in is_test.iter().enumerate() {
        let row = (data.input(i), data.target(i));
        if t {
            test_rows.push(row);
        } else {
            train_rows.push(row);
        }
    }
    Ok((train_rows, test_rows))
}

/// Splits a data set at random into a training and a test set, returned in
/// that order. The test set has `round(n · test_fraction)` samples, chosen
/// uniformly from `rng` (seed it for a reproducible split); both sets keep
/// the data set's order.
///
/// ```
/// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use staticnet::data::train_test_split;
/// use staticnet::prelude::*;
///
/// let rows: Vec<_> = (0..10).map(|i| (SVector::from([i as f32]), i % 2)).collect();
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
/// let (train, test) = train_test_split(&rows, 0.2, &mut rng).unwrap();
/// assert_eq!((train.len(), test.len()), (8, 2));
/// // A fraction outside (0, 1) is an error that names it.
/// let err = train_test_split(&rows, 1.5, &mut rng).unwrap_err();
/// assert_eq!(err.to_string(), "the test fraction is 1.5; it must be strictly between 0 and 1 (e.g. 0.2)");
/// ```
///
/// # Errors
///
/// [`DataError::TestFraction`] unless `0 < test_fraction < 1`;
/// [`DataError::TooFew`] when either set would be empty.
pub fn train_test_split<T, D, G, const I: usize>(
    data: &D,
    test_fraction: f64,
    rng: &mut G,
) -> Result<Split<T, I, D::Target>, DataError>
where
    T: Scalar,
    D: Dataset<T, I> + ?Sized,
    G: Rng + ?Sized,
{
    let n = data.len();
    let test = test_count(n, test_fraction)?;
    let mut is_test = std::vec![false; n];
    if n > 0 {
        let order = Permutation::new(n, rng);
        for k in 0..test.min(n) {
            is_test[order.get(k)] = true;
        }
    }
    gather(data, &is_test)
}

/// As [`train_test_split`], stratified by class: each class gives
/// `round(n_c · test_fraction)` of its `n_c` samples to the test set, so
/// both sets keep the classes' proportions (up to rounding; a class of one
/// sample stays in training).
///
/// ```
/// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use staticnet::data::stratified_split;
/// use staticnet::prelude::*;
///
/// // 8 samples of class 0, 2 of class 1.
/// let rows: Vec<_> = (0..10).map(|i| (SVector::from([i as f32]), usize::from(i >= 8))).collect();
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
/// let (train, test) = stratified_split(&rows, 0.5, &mut rng).unwrap();
/// assert_eq!(test.iter().filter(|r| r.1 == 1).count(), 1);
/// assert_eq!(train.iter().filter(|r| r.1 == 1).count(), 1);
/// ```
///
/// # Errors
///
/// As [`train_test_split`].
pub fn stratified_split<T, D, G, const I: usize>(
    data: &D,
    test_fraction: f64,
    rng: &mut G,
) -> Result<Split<T, I, D::Target>, DataError>
where
    T: Scalar,
    D: Dataset<T, I> + ?Sized,
    D::Target: Class,
    G: Rng + ?Sized,
{
    let n = data.len();
    test_count(n, test_fraction)?;
    // The members of each class, in the data set's order.
    // (A map, not a vector indexed by class: a class index is the user's.)
    let mut classes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        classes.entry(data.target(i).class()).or_default().push(i);
    }
    let mut is_test = std::vec![false; n];
    for members in classes.values() {
        let test = test_count(members.len(), test_fraction)?;
        let order = Permutation::new(members.len(), rng);
        for k in 0..test.min(members.len()) {
            is_test[members[order.get(k)]] = true;
        }
    }
    gather(data, &is_test)
}
