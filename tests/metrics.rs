//! Evaluation over run-time-sized data sets: batched predictions equal the
//! one-sample ones bit for bit (tail included), one-output classifiers are
//! read as binary, regression scores match their formulas, splits are
//! seeded and stratified, and bad input is an error.

mod common;

use common::rng;
use nalgebra::SVector;
use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::data::{DataError, stratified_split, train_test_split};
use staticnet::loss::TargetError;
use staticnet::metrics::{
    self, Classifier, MetricError, accuracy, confusion_matrix, mean_loss, predict, predict_classes,
    predict_classes_into, predict_into, regression,
};
use staticnet::prelude::*;

type Net = (Dense<5, 7>, Tanh, Dense<7, 3>);

fn inputs(n: usize) -> Vec<SVector<f32, 5>> {
    (0..n)
        .map(|i| SVector::from_fn(|k, _| ((i * 7 + k * 3) % 11) as f32 / 5.0 - 1.0))
        .collect()
}

#[test]
fn batched_predictions_are_the_one_sample_ones_for_every_length() {
    let net = Net::random(Init::Xavier, &mut rng(1));
    for n in [0, 1, 15, 16, 17, 33, 100] {
        let xs = inputs(n);
        let ys = predict(&net, &xs);
        assert_eq!(ys.len(), n);
        for (x, y) in xs.iter().zip(&ys) {
            assert_eq!(y, &net.predict(x), "n = {n}");
        }
        let classes = predict_classes(&net, &xs);
        for (x, c) in xs.iter().zip(&classes) {
            assert_eq!(*c, net.predict_class(x));
        }
        // The no_std forms write into the caller's slices.
        let mut out = vec![SVector::repeat(9.0); n];
        predict_into(&net, &xs, &mut out).unwrap();
        assert_eq!(out, ys);
    }
}

#[test]
fn a_wrong_output_length_is_an_error_that_writes_nothing() {
    let net = Net::zeros();
    let xs = inputs(5);
    let mut out = vec![SVector::<f32, 3>::repeat(9.0); 4];
    assert_eq!(
        predict_into(&net, &xs, &mut out),
        Err(MetricError::Length {
            samples: 5,
            outputs: 4
        })
    );
    assert!(out.iter().all(|y| y.iter().all(|&v| v == 9.0)));
    let mut classes = vec![7usize; 6];
    assert_eq!(
        predict_classes_into(&net, &xs, &mut classes),
        Err(MetricError::Length {
            samples: 5,
            outputs: 6
        })
    );
    assert!(classes.iter().all(|&c| c == 7));
}

#[test]
fn a_one_output_classifier_is_binary() {
    // A logit: class 1 above 0. The old argmax of one value was always 0,
    // which made accuracy the base rate.
    let logit = Dense::<1, 1>::from_rows([[1.0]], [0.0]);
    let data: Vec<_> = [-2.0f32, -0.5, 0.5, 3.0]
        .iter()
        .map(|&x| (SVector::from([x]), usize::from(x > 0.0)))
        .collect();
    assert_eq!(accuracy(&logit, &data), 1.0);
    assert_eq!(logit.predict_class(&SVector::from([0.25])), 1);
    // A probability (the network ends in a sigmoid): class 1 above 0.5.
    let probability = (Dense::<1, 1>::from_rows([[1.0]], [0.0]), Sigmoid);
    assert_eq!(accuracy(&probability, &data), 1.0);
    assert_eq!(probability.predict_class(&SVector::from([-0.25])), 0);
    // Binary vector targets name class 1 above 0.5.
    let vector_targets: Vec<_> = data
        .iter()
        .map(|(x, c)| (*x, SVector::from([*c as f32])))
        .collect();
    assert_eq!(accuracy(&logit, &vector_targets), 1.0);
    // A 2 × 2 confusion matrix for the one-output classifier.
    let m = confusion_matrix::<_, _, _, 1, 2>(&logit, &data).unwrap();
    assert_eq!((m[(0, 0)], m[(0, 1)], m[(1, 0)], m[(1, 1)]), (2, 0, 0, 2));
}

#[test]
fn metrics_on_bad_targets_are_errors_not_panics() {
    let net = Net::zeros();
    let data: Vec<_> = inputs(3).into_iter().zip([0usize, 5, 1]).collect();
    assert_eq!(
        confusion_matrix::<_, _, _, 3, 3>(&net, &data),
        Err(MetricError::Class {
            sample: 1,
            class: 5,
            classes: 3
        })
    );
    assert_eq!(
        mean_loss(&net, &CrossEntropy, &data),
        Err(MetricError::InvalidTarget {
            sample: 1,
            reason: TargetError::ClassOutOfRange {
                class: 5,
                classes: 3
            }
        })
    );
    // A class the network cannot predict counts as a miss.
    assert!(accuracy(&net, &data) < 1.0);
    // An empty set has no accuracy.
    assert!(accuracy(&net, &data[..0]).is_nan());
}

#[test]
fn regression_scores_match_their_formulas() {
    let net = (Dense::<2, 2, f64>::from_rows(
        [[1.0, 0.0], [0.5, 0.5]],
        [0.0, 1.0],
    ),);
    let data: Vec<(SVector<f64, 2>, SVector<f64, 2>)> = (0..37)
        .map(|i| {
            let x = SVector::from([i as f64 / 10.0, (i % 5) as f64]);
            let t = SVector::from([
                x[0] + (i % 3) as f64 - 1.0,
                0.5 * (x[0] + x[1]) + 1.0 + 0.1 * i as f64,
            ]);
            (x, t)
        })
        .collect();
    let s = regression(&net, &data);
    let (mut se, mut ae) = (0.0, 0.0);
    let mut r2 = 0.0;
    for k in 0..2 {
        let mean = data.iter().map(|(_, t)| t[k]).sum::<f64>() / 37.0;
        let (mut res, mut tot) = (0.0, 0.0);
        for (x, t) in &data {
            let y = net.predict(x)[k];
            res += (t[k] - y).powi(2);
            tot += (t[k] - mean).powi(2);
            ae += (t[k] - y).abs();
        }
        se += res;
        r2 += (1.0 - res / tot) / 2.0;
    }
    assert!((s.mse - se / 74.0).abs() < 1e-12, "{} {}", s.mse, se / 74.0);
    assert!((s.mae - ae / 74.0).abs() < 1e-12);
    assert!((s.r2 - r2).abs() < 1e-12, "{} {r2}", s.r2);
    assert_eq!(metrics::mse(&net, &data), s.mse);
    assert_eq!(metrics::mae(&net, &data), s.mae);
    assert_eq!(metrics::r2(&net, &data), s.r2);
    // A perfect model scores R² = 1 and zero errors.
    let exact: Vec<_> = data.iter().map(|(x, _)| (*x, net.predict(x))).collect();
    let s = regression(&net, &exact);
    assert_eq!((s.mse, s.mae, s.r2), (0.0, 0.0, 1.0));
}

/// A function generic over the network needs one bound.
fn report<N: Classifier<f32, 5, 3>>(
    net: &N,
    data: &[(SVector<f32, 5>, usize)],
) -> (f64, Vec<usize>) {
    (accuracy(net, data), predict_classes(net, data))
}

#[test]
fn a_generic_function_names_one_trait() {
    let net = Net::random(Init::Xavier, &mut rng(2));
    let data: Vec<_> = inputs(20).into_iter().map(|x| (x, 1usize)).collect();
    let (acc, classes) = report(&net, &data);
    assert_eq!(
        acc,
        classes.iter().filter(|&&c| c == 1).count() as f64 / 20.0
    );
}

#[test]
fn splits_are_seeded_and_stratified() {
    // 30 of class 0, 10 of class 1, 5 of class 2.
    let rows: Vec<_> = (0..45)
        .map(|i| {
            (
                SVector::from([i as f32]),
                if i < 30 {
                    0usize
                } else if i < 40 {
                    1
                } else {
                    2
                },
            )
        })
        .collect();
    let split = |seed| {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
        stratified_split(&rows, 0.2, &mut g).unwrap()
    };
    let (train, test) = split(3);
    assert_eq!((train.len(), test.len()), (36, 9));
    let count = |rows: &[(SVector<f32, 1>, usize)], c| rows.iter().filter(|r| r.1 == c).count();
    assert_eq!(
        (count(&test, 0), count(&test, 1), count(&test, 2)),
        (6, 2, 1)
    );
    // Every sample lands on exactly one side, in the data set's order.
    let mut all: Vec<f32> = train.iter().chain(&test).map(|r| r.0[0]).collect();
    assert!(train.windows(2).all(|w| w[0].0[0] < w[1].0[0]));
    all.sort_by(f32::total_cmp);
    assert_eq!(all, (0..45).map(|i| i as f32).collect::<Vec<_>>());
    // Same seed, same split; another seed, another one.
    assert_eq!(split(3), (train.clone(), test.clone()));
    assert_ne!(split(4).1, test);

    let mut g = Xoshiro256PlusPlus::seed_from_u64(0);
    let (train, test) = train_test_split(&rows, 0.25, &mut g).unwrap();
    assert_eq!((train.len(), test.len()), (34, 11));
    for bad in [0.0, 1.0, -0.1, f64::NAN] {
        let err = train_test_split(&rows, bad, &mut g).unwrap_err();
        assert!(
            matches!(err, DataError::TestFraction { .. }),
            "{bad}: {err:?}"
        );
    }
    // Too few samples for a split that leaves something on both sides.
    assert_eq!(
        train_test_split(&rows[..1], 0.5, &mut g),
        Err(DataError::TooFew {
            samples: 1,
            test: 1
        })
    );
    assert_eq!(
        train_test_split(&rows[..3], 0.1, &mut g),
        Err(DataError::TooFew {
            samples: 3,
            test: 0
        })
    );
}

/// The int8 form of a one-output classifier names classes as the f32 one.
#[test]
fn a_one_output_int8_classifier_is_binary() {
    use staticnet::quant::{self, Calibration};
    let data: Vec<_> = (0..40)
        .map(|i| {
            let x = i as f32 / 10.0 - 2.0;
            (SVector::from([x]), usize::from(x > 0.05))
        })
        .collect();
    let logit = (Dense::<1, 1>::from_rows([[3.0]], [-0.15]),);
    let q = quant::quantize(&logit, &data, Calibration::MinMax).unwrap();
    assert_eq!(accuracy(&logit, &data), 1.0);
    assert_eq!(q.accuracy(&data), 1.0);
    let probability = (Dense::<1, 1>::from_rows([[3.0]], [-0.15]), Sigmoid);
    let q = quant::quantize(&probability, &data, Calibration::MinMax).unwrap();
    assert_eq!(accuracy(&probability, &data), 1.0);
    assert_eq!(q.accuracy(&data), 1.0);
}
