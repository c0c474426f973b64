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

/// The int8 form of the scalings: each feature is the real affine map to
/// within the rounding of its output and half an input step, and a network
/// that takes raw inputs quantises with its scaling.
#[test]
fn the_scalings_have_an_int8_form() {
    use staticnet::quant::{self, Calibration, QLayer, QModule};

    let mut r = rng(40);
    let rows: Vec<(SVector<f32, 3>, usize)> = (0..300)
        .map(|_| {
            let x = SVector::from([
                uniform(&mut r, 100.0, 300.0) as f32,
                uniform(&mut r, -0.01, 0.02) as f32,
                uniform(&mut r, -5.0, 5.0) as f32,
            ]);
            (x, 0)
        })
        .collect();
    let s = Standardize::fit(&rows).unwrap();
    let net = (
        s,
        Rescale::<3> {
            scale: SVector::from([2.0, -0.5, 1.0]),
            shift: SVector::from([1.0, 0.0, -3.0]),
        },
    );
    let q = quant::quantize(&net, &rows, Calibration::MinMax).unwrap();
    let (qs, qr) = &q.layers;
    for (x, _) in &rows {
        let xq = q.quantize_input(x);
        // Standardize: against the real map of the dequantised input.
        let h = qs.forward(&xq);
        let real = net
            .0
            .predict(&SVector::from_fn(|k, _| q.input.dequantize(xq[k])));
        for k in 0..3 {
            let got = qs.output().dequantize(h[k]);
            let tol = qs.output().scale + 0.5 * q.input.scale / net.0.std[k];
            assert!(
                (got - real[k]).abs() <= tol * 1.01,
                "feature {k}: {got} vs {real}"
            );
        }
        // Rescale, a negative scale included.
        let y = qr.forward(&h);
        let real = net
            .1
            .predict(&SVector::from_fn(|k, _| qs.output().dequantize(h[k])));
        for k in 0..3 {
            let got = qr.output().dequantize(y[k]);
            let tol = qr.output().scale + 0.5 * qs.output().scale * net.1.scale[k].abs();
            assert!(
                (got - real[k]).abs() <= tol * 1.01,
                "feature {k}: {got} vs {real}"
            );
        }
    }
    assert_eq!(<staticnet::quant::QAffine<3> as QLayer>::KIND, "QAffine");
    // The int8 weights file carries the scaling too.
    let mut bytes = vec![0u8; io::int8::saved_len(&q)];
    io::int8::save(&q, &mut bytes).unwrap();
    let mut loaded = q.clone();
    loaded.layers.0 =
        staticnet::quant::QAffine::new([0; 3], [0; 3], [0; 3], [1; 3], q.input, q.input);
    io::int8::load(&mut loaded, &bytes).unwrap();
    assert_eq!(loaded, q);
    let source = q.to_rust("SCALED").unwrap();
    assert!(
        source.contains("staticnet::quant::QAffine::<3>::new("),
        "{source}"
    );
    // A zero scale has no int8 form: an error, not a division by zero.
    let flat = (Rescale::<3> {
        scale: SVector::from([0.0, 1.0, 1.0]),
        shift: SVector::zeros(),
    },);
    assert!(matches!(
        quant::quantize(&flat, &rows, Calibration::MinMax),
        Err(quant::QuantError::Multiplier {
            layer: "Rescale",
            channel: 0,
            ..
        })
    ));
}
