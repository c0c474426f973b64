//! Bad input a user controls, case by case: each gives the exact error
//! variant, and nothing is changed by the failed call. (Weights files,
//! safetensors and names: tests/io_bad_input.rs; training settings:
//! tests/settings.rs.)

use nalgebra::SVector;
use staticnet::data::{
    CsvErrorKind, DataError, Expected, read_csv, read_csv_targets, stratified_split,
    train_test_split,
};
use staticnet::loss::TargetError;
use staticnet::metrics::{MetricError, confusion_matrix, mean_loss, predict_into};
use staticnet::prelude::*;
use staticnet::rand::{SeedableRng, rngs::Xoshiro256PlusPlus};

/// What a CSV case must give.
#[derive(Debug)]
enum Want {
    Count {
        line: u64,
        found: usize,
    },
    Value {
        line: u64,
        column: usize,
        expected: Expected,
    },
    Malformed {
        line: u64,
    },
    MissingHeader,
}

fn check_csv(text: &[u8], want: Want) {
    let err = read_csv::<f32, 2>(text).unwrap_err();
    let ok = match (&err.kind, &want) {
        (CsvErrorKind::ColumnCount { line, found, .. }, Want::Count { line: l, found: f }) => {
            line == l && found == f
        }
        (
            CsvErrorKind::Value {
                line,
                column,
                expected,
                ..
            },
            Want::Value {
                line: l,
                column: c,
                expected: e,
            },
        ) => line == l && column == c && expected == e,
        (CsvErrorKind::Malformed { line, .. }, Want::Malformed { line: l }) => line == l,
        (CsvErrorKind::MissingHeader, Want::MissingHeader) => true,
        _ => false,
    };
    assert!(
        ok,
        "{:?}: got {err:?}, want {want:?}",
        String::from_utf8_lossy(text)
    );
    // Every message is a sentence of bounded length, not a dump.
    let message = err.to_string();
    assert!(
        !message.contains("Utf8Error") && !message.contains("ErrorKind"),
        "{message}"
    );
    assert!(message.len() < 300, "{message}");
}

#[test]
fn csv_cases() {
    use Expected::*;
    let h = "f0,f1,target\n";
    let cases: Vec<(Vec<u8>, Want)> = vec![
        (
            format!("{h}1,2\n").into(),
            Want::Count { line: 2, found: 2 },
        ),
        (
            format!("{h}1,2,0,4\n").into(),
            Want::Count { line: 2, found: 4 },
        ),
        ("f0,target\n1,0\n".into(), Want::Count { line: 1, found: 2 }),
        (
            format!("{h}1,,0\n").into(),
            Want::Value {
                line: 2,
                column: 2,
                expected: Number,
            },
        ),
        (
            format!("{h}1,2,0\n1,0x10,1\n").into(),
            Want::Value {
                line: 3,
                column: 2,
                expected: Number,
            },
        ),
        (
            format!("{h}nan,2,0\n").into(),
            Want::Value {
                line: 2,
                column: 1,
                expected: Number,
            },
        ),
        (
            format!("{h}1,-inf,0\n").into(),
            Want::Value {
                line: 2,
                column: 2,
                expected: Number,
            },
        ),
        (
            format!("{h}1e400,2,0\n").into(),
            Want::Value {
                line: 2,
                column: 1,
                expected: Number,
            },
        ),
        (
            format!("{h}1e39,2,0\n").into(),
            Want::Value {
                line: 2,
                column: 1,
                expected: InRange("f32"),
            },
        ),
        (
            format!("{h}1,2,-3\n").into(),
            Want::Value {
                line: 2,
                column: 3,
                expected: Class,
            },
        ),
        (
            format!("{h}1,2,2.0\n").into(),
            Want::Value {
                line: 2,
                column: 3,
                expected: Class,
            },
        ),
        (
            format!("{h}1,2,99999999999999999999999\n").into(),
            Want::Value {
                line: 2,
                column: 3,
                expected: Class,
            },
        ),
        (
            b"f0,f1,target\n1,2,\xc3\x28\n".to_vec(),
            Want::Malformed { line: 2 },
        ),
        (
            b"f0,\xff,target\n1,2,0\n".to_vec(),
            Want::Malformed { line: 1 },
        ),
        ("1,2,0\n3,4,1\n".into(), Want::MissingHeader),
        ("0.5,2e3,7\n".into(), Want::MissingHeader),
    ];
    for (text, want) in cases {
        check_csv(&text, want);
    }
    // What is fine: spaces around numbers, an empty file with a header,
    // Windows line endings, a quoted header.
    assert_eq!(
        read_csv::<f32, 2>(&b"f0,f1,target\n 1 , 2 , 0 \n"[..]).unwrap()[0].1,
        0
    );
    assert!(
        read_csv::<f32, 2>(&b"f0,f1,target\n"[..])
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        read_csv::<f32, 2>(&b"f0,f1,target\r\n1,2,1\r\n"[..]).unwrap()[0].1,
        1
    );
    assert_eq!(
        read_csv_targets::<f32, 1, 1>(&b"\"x\",\"y\"\n1,2\n"[..]).unwrap()[0].1[0],
        2.0
    );
}

#[test]
fn data_values() {
    // NaN and infinity in the statistics: an error naming the sample and
    // feature, and the network's scaling is left as it was.
    let mut net = <(Standardize<2>, Dense<2, 1>)>::zeros();
    net.0 = Standardize::from_arrays([1.0, 2.0], [3.0, 4.0]);
    let before = net.clone();
    for (bad, want) in [(f32::NAN, 1), (f32::INFINITY, 1), (f32::NEG_INFINITY, 1)] {
        let rows = [
            (SVector::from([0.0, 1.0]), 0usize),
            (SVector::from([2.0, bad]), 1),
        ];
        match Standardize::fit(&rows) {
            Err(DataError::NonFinite {
                sample: 1, feature, ..
            }) => assert_eq!(feature, want),
            other => panic!("{other:?}"),
        }
        if let Ok(s) = Standardize::fit(&rows) {
            net.0 = s;
        }
        assert_eq!(net, before);
    }
    // Targets too.
    let rows = [(SVector::from([0.0f32]), SVector::from([f32::NAN]))];
    assert!(matches!(
        Standardize::fit_targets(&rows),
        Err(DataError::NonFinite {
            sample: 0,
            feature: 0,
            ..
        })
    ));
    // Splits: fractions outside (0, 1), too few samples.
    let rows: Vec<_> = (0..4).map(|i| (SVector::from([i as f32]), i % 2)).collect();
    let mut g = Xoshiro256PlusPlus::seed_from_u64(0);
    for f in [0.0, 1.0, 2.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            train_test_split(&rows, f, &mut g)
                .map(|_| ())
                .unwrap_err()
                .to_string(),
            DataError::TestFraction { value: f }.to_string()
        );
        assert!(matches!(
            stratified_split(&rows, f, &mut g),
            Err(DataError::TestFraction { .. })
        ));
    }
    assert!(matches!(
        train_test_split(&rows[..0], 0.5, &mut g),
        Err(DataError::TooFew { samples: 0, .. })
    ));
    // A class index as large as usize::MAX is a class like any other.
    let odd = [
        (SVector::from([0.0f32]), usize::MAX),
        (SVector::from([1.0]), usize::MAX),
        (SVector::from([2.0]), 0),
        (SVector::from([3.0]), 0),
    ];
    let (train, test) = stratified_split(&odd, 0.5, &mut g).unwrap();
    assert_eq!((train.len(), test.len()), (2, 2));
}

#[test]
fn metric_inputs() {
    let net = Dense::<2, 3>::from_rows([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0; 3]);
    let rows = [
        (SVector::from([1.0f32, 0.0]), 2usize),
        (SVector::from([0.0, 1.0]), 3),
    ];
    assert_eq!(
        confusion_matrix::<_, _, _, 3, 3>(&net, &rows),
        Err(MetricError::Class {
            sample: 1,
            class: 3,
            classes: 3
        })
    );
    assert_eq!(
        mean_loss(&net, &CrossEntropy, &rows),
        Err(MetricError::InvalidTarget {
            sample: 1,
            reason: TargetError::ClassOutOfRange {
                class: 3,
                classes: 3
            }
        })
    );
    let inputs = [SVector::from([1.0f32, 0.0]); 3];
    let mut out = [SVector::from([5.0f32; 3]); 2];
    assert_eq!(
        predict_into(&net, &inputs[..], &mut out),
        Err(MetricError::Length {
            samples: 3,
            outputs: 2
        })
    );
    assert_eq!(out, [SVector::from([5.0f32; 3]); 2]);
}

/// A NaN or an infinity in the training data: `fit` names the sample, the
/// feature and the value, before any step, and the network is unchanged.
#[test]
fn training_data_values() {
    use staticnet::optim::Sgd;
    use staticnet::train::{TrainError, Trainer};
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let mut net = <(Dense<3, 4>, Tanh, Dense<4, 2>)>::random(Init::Xavier, &mut rng);
    let before = net.clone();
    for bad in [f32::NAN, f32::INFINITY, -f32::INFINITY] {
        let mut rows: Vec<_> = (0..20)
            .map(|i| (SVector::from([i as f32, 1.0, 2.0]), i % 2))
            .collect();
        rows[13].0[2] = bad;
        let err = Trainer::new(Sgd::new(0.1))
            .run(&mut net, &CrossEntropy, &rows, &mut rng)
            .unwrap_err();
        match err {
            TrainError::InvalidInput {
                index: 13,
                feature: 2,
                value,
            } => {
                assert!(value.is_nan() == bad.is_nan() && (value.is_nan() || value == bad as f64))
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("13"), "{err}");
        assert_eq!(net, before);
    }
    // A class index beyond the outputs: the sample, the class and the count.
    let rows = [
        (SVector::from([0.0f32, 1.0, 2.0]), 1usize),
        (SVector::from([1.0, 1.0, 2.0]), 2),
    ];
    let err = Trainer::new(Sgd::new(0.1))
        .run(&mut net, &CrossEntropy, &rows, &mut rng)
        .unwrap_err();
    assert!(
        matches!(err, TrainError::InvalidTarget { index: 1, .. }),
        "{err:?}"
    );
    assert_eq!(net, before);
}
