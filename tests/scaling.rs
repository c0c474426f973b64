//! Input and output scaling as layers: `Standardize` and `Rescale` have exact
//! gradients, are saved with the weights (a loaded model takes raw inputs),
//! and are written as Rust source.

mod common;

use common::*;
use nalgebra::{SMatrix, SVector};
use staticnet::data::DataError;
use staticnet::io;
use staticnet::prelude::*;

type V<const N: usize> = SVector<f64, N>;

fn scaled_net(
    seed: u64,
) -> (
    Standardize<3, f64>,
    Dense<3, 4, f64>,
    Tanh,
    Dense<4, 2, f64>,
    Rescale<2, f64>,
) {
    let mut r = rng(seed);
    let mut net = <(
        Standardize<3, f64>,
        Dense<3, 4, f64>,
        Tanh,
        Dense<4, 2, f64>,
        Rescale<2, f64>,
    )>::random(Init::XavierNormal, &mut r);
    net.0 = Standardize {
        mean: vector::<3>(&mut r, 0.0) * 5.0,
        std: SVector::from([0.5, 2.0, 7.0]),
    };
    net.4 = Rescale {
        scale: SVector::from([3.0, -0.25]),
        shift: SVector::from([10.0, -1.0]),
    };
    net
}

#[test]
fn scaling_layers_match_finite_differences() {
    for seed in 0..3 {
        let net = scaled_net(seed);
        let x = vector::<3>(&mut rng(100 + seed), 1e-3) * 4.0;
        gradcheck(&format!("scaled network (seed {seed})"), &net, &x);
        // The buffers are not parameters: nothing to train.
        assert_eq!(<Standardize<3, f64> as Params<f64>>::NUM_PARAMS, 0);
        assert_eq!(<Standardize<3, f64> as Params<f64>>::NUM_BUFFERS, 6);
    }
    // Alone, each is exactly its formula and its inverse.
    let net = scaled_net(7);
    let x: V<3> = SVector::from([1.0, -2.0, 0.5]);
    assert_eq!(
        net.0.predict(&x),
        (x - net.0.mean).component_div(&net.0.std)
    );
    let y: V<2> = SVector::from([0.25, 4.0]);
    assert_eq!(
        net.4.predict(&y),
        y.component_mul(&net.4.scale) + net.4.shift
    );
    let s = Standardize::<2, f64> {
        mean: SVector::from([1.0, 2.0]),
        std: SVector::from([4.0, 0.5]),
    };
    assert_eq!(s.inverse().predict(&s.predict(&y)), y);
}

#[test]
fn a_batch_is_its_columns() {
    let net = scaled_net(3);
    let xs = SMatrix::<f64, 3, 5>::from_fn(|i, j| (i as f64 - j as f64) * 0.7);
    let ys = net.predict(&xs);
    for j in 0..5 {
        assert_eq!(ys.column(j), net.predict(&xs.column(j).into_owned()));
    }
}

#[test]
fn the_scaling_is_saved_with_the_weights_and_written_as_source() {
    let net = scaled_net(11);
    let mut bytes = vec![0u8; io::saved_len(&net)];
    io::save(&net, &mut bytes).unwrap();
    let mut loaded = <(
        Standardize<3, f64>,
        Dense<3, 4, f64>,
        Tanh,
        Dense<4, 2, f64>,
        Rescale<2, f64>,
    )>::zeros();
    io::load(&mut loaded, &bytes).unwrap();
    assert_eq!(loaded, net);
    let x = SVector::from([12.0, -3.0, 40.0]);
    assert_eq!(loaded.predict(&x), net.predict(&x));

    let source = io::rust::to_rust(&net, "MODEL").unwrap();
    assert!(
        source.contains("staticnet::Standardize::<3, f64>::from_arrays("),
        "{source}"
    );
    assert!(
        source.contains("staticnet::Rescale::<2, f64>::from_arrays("),
        "{source}"
    );
}

#[test]
fn statistics_of_bad_data_are_errors_that_name_the_value() {
    let rows = [
        (SVector::from([1.0f32, 2.0]), 0usize),
        (SVector::from([3.0, f32::NAN]), 1),
    ];
    let err = Standardize::fit(&rows).unwrap_err();
    assert!(
        matches!(err, DataError::NonFinite { sample: 1, feature: 1, value } if value.is_nan()),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "sample 1, feature 1 (counted from 0) is NaN: remove or impute the sample before computing statistics"
    );
    let empty: [(SVector<f32, 2>, usize); 0] = [];
    assert_eq!(Standardize::fit(&empty), Err(DataError::Empty));
    // Values whose variance overflows even f64's accumulation.
    let huge = [
        (SVector::from([1.7e308f64]), 0usize),
        (SVector::from([-1.7e308]), 0),
    ];
    assert!(matches!(
        Standardize::fit(&huge),
        Err(DataError::Spread { feature: 0, .. })
    ));
    // A constant feature is only centred.
    let flat = [(SVector::from([4.0f32]), 0usize), (SVector::from([4.0]), 0)];
    let s = Standardize::fit(&flat).unwrap();
    assert_eq!((s.mean[0], s.std[0]), (4.0, 1.0));
}
