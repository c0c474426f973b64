//! Int8: the quantised arithmetic against straightforward integer references
//! of the same formulas (bit for bit, every layer kind, odd sizes), the
//! requantisation rounding on its edge cases, the quantiser's choices
//! (ReLU fusion, fixed tanh/sigmoid scales, percentiles) and its answers to
//! bad input.

// The references index as the formulas are written.
#![allow(clippy::needless_range_loop)]

use nalgebra::SVector;
use rand::{Rng, RngExt, SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::module::{Checked, Plain};
use staticnet::prelude::*;
use staticnet::quant::{
    self, Calibration, Multiplier, QDense, QLookup, QModule, QParams, QRelu, QuantError, Quantize,
    Quantized, rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
};

// ---- references, written for clarity (i128, no tricks) ----

/// `a·b / 2³¹` rounded to nearest, ties toward +∞; `MIN·MIN` saturates.
fn srdhm_ref(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let p = a as i128 * b as i128;
    (p + (1 << 30)).div_euclid(1 << 31) as i32
}

/// `x / 2^e` rounded to nearest, ties away from zero.
fn rdbp_ref(x: i32, e: u32) -> i32 {
    let d = 1i128 << e;
    let mag = ((x as i128).abs() * 2 + d) / (2 * d);
    (if x < 0 { -mag } else { mag }) as i32
}

fn apply_ref(acc: i32, m: Multiplier) -> i32 {
    let left = m.shift.max(0) as u32;
    let right = (-(m.shift as i32)).max(0) as u32;
    let x = (acc as i128 * (1i128 << left)).clamp(i32::MIN as i128, i32::MAX as i128) as i32;
    rdbp_ref(srdhm_ref(x, m.m), right)
}

/// `QDense`'s formula, unfolded: `zp_out + M·(b + Σ W·(x − zp_in))`, clamped.
fn dense_ref<const I: usize, const O: usize>(l: &QDense<I, O>, x: &[i8; I]) -> [i8; O] {
    core::array::from_fn(|o| {
        let mut acc = l.bias()[o] as i64;
        for i in 0..I {
            acc += l.weight()[o][i] as i64 * (x[i] as i64 - l.input().zero_point as i64);
        }
        let acc = i32::try_from(acc).expect("the test's sizes keep the sum in i32");
        let y = apply_ref(acc, l.multiplier_of(o)) as i64 + l.output().zero_point as i64;
        y.clamp(-128, 127) as i8
    })
}

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

fn random_i8<const N: usize>(r: &mut impl Rng) -> [i8; N] {
    core::array::from_fn(|_| r.random::<i8>())
}

/// Edge values of an i32 and random ones.
fn i32_cases(r: &mut impl Rng) -> Vec<i32> {
    let mut v = vec![
        0,
        1,
        -1,
        2,
        -2,
        3,
        -3,
        i32::MAX,
        i32::MIN,
        i32::MIN + 1,
        1 << 30,
        -(1 << 30),
    ];
    v.extend((0..31).flat_map(|k| [1 << k, -(1 << k), (1 << k) + 1, -(1 << k) - 1]));
    v.extend((0..300).map(|_| r.random::<i32>()));
    v.extend((0..300).map(|_| r.random_range(-70_000..70_000)));
    v
}

// ---- requantisation ----

#[test]
fn the_high_multiply_matches_the_reference_on_edges_and_random_values() {
    let mut r = rng(1);
    let cases = i32_cases(&mut r);
    for &a in &cases {
        for &b in cases.iter().step_by(7) {
            assert_eq!(
                saturating_rounding_doubling_high_mul(a, b),
                srdhm_ref(a, b),
                "{a} · {b}"
            );
        }
    }
    // Ties: exactly ±k.5 after the doubling high multiply.
    assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1); // 0.5 → 1
    assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0); // −0.5 → 0
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
        i32::MAX
    );
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
        -i32::MAX
    );
}

#[test]
fn the_rounding_shift_rounds_half_away_from_zero() {
    let mut r = rng(2);
    for &x in &i32_cases(&mut r) {
        for e in 0..=31 {
            assert_eq!(rounding_divide_by_pot(x, e), rdbp_ref(x, e), "{x} / 2^{e}");
        }
    }
    for (x, e, want) in [
        (1, 1, 1),
        (-1, 1, -1),
        (3, 1, 2),
        (-3, 1, -2),
        (5, 2, 1),
        (-6, 2, -2),
    ] {
        assert_eq!(rounding_divide_by_pot(x, e), want, "{x} / 2^{e}");
    }
    assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
    assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
}

#[test]
fn multipliers_apply_as_the_reference_and_saturate() {
    let mut r = rng(3);
    let mut reals = vec![
        0.0,
        1e-12,
        2f64.powi(-32),
        2f64.powi(-31),
        0.25,
        0.5,
        0.75,
        1.0,
        1.5,
        3.0,
        1e9,
    ];
    reals.extend((0..60).map(|_| 10f64.powf(r.random_range(-8.0..2.0))));
    for &real in &reals {
        let m = Multiplier::from_real(real).unwrap();
        assert!(
            m.m == 0 || (1 << 30..=i32::MAX).contains(&m.m),
            "{real}: {m:?}"
        );
        if real > 2f64.powi(-31) && real < 2f64.powi(30) {
            let rel = (m.to_real() - real).abs() / real;
            assert!(rel <= 2f64.powi(-30), "{real} → {m:?} ({rel:e})");
        }
        for &acc in i32_cases(&mut r).iter().step_by(3) {
            assert_eq!(m.apply(acc), apply_ref(acc, m), "{acc} · {real}");
        }
    }
    // A significand that rounds up to 2³¹ moves to the next power of two.
    let m = Multiplier::from_real(1.0 - 2f64.powi(-40)).unwrap();
    assert_eq!((m.m, m.shift), (1 << 30, 1));
    // Left shifts saturate instead of wrapping: 4 = ½ · 2³, so the shift
    // saturates at i32::MAX and the significand ½ halves that.
    let m = Multiplier::from_real(4.0).unwrap();
    assert_eq!((m.m, m.shift), (1 << 30, 3));
    assert_eq!(m.apply(i32::MAX / 2), 1 << 30);
    assert_eq!(m.apply(i32::MIN / 2), -(1 << 30));
    // A shift outside -31..=30 is taken as the nearer end of the range.
    for acc in [-70_000, -3, 0, 5, 123_456, i32::MAX / 3] {
        for (far, near) in [(40, 30), (127, 30), (-40, -31), (-128, -31)] {
            let m = |shift| Multiplier {
                m: 1_518_500_250,
                shift,
            };
            assert_eq!(
                m(far).apply(acc),
                m(near).apply(acc),
                "{acc} with shift {far}"
            );
        }
    }
    // Negative, NaN and infinite multipliers are refused.
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(Multiplier::from_real(bad), None);
    }
}

#[test]
fn input_quantisation_rounds_half_away_and_saturates() {
    let p = QParams::new(0.5, 3);
    assert_eq!(p.quantize(0.25), 4); // 0.5 step → 1
    assert_eq!(p.quantize(-0.25), 2); // −0.5 step → −1
    assert_eq!(p.quantize(1e30), 127);
    assert_eq!(p.quantize(-1e30), -128);
    assert_eq!(p.quantize(f32::INFINITY), 127);
    assert_eq!(p.quantize(f32::NAN), 3);
    // A range always contains 0, exactly.
    let p = QParams::from_range(2.0, 5.0);
    assert_eq!(p.zero_point, -128);
    assert_eq!(p.dequantize(p.quantize(0.0)), 0.0);
    let p = QParams::from_range(-5.0, -2.0);
    assert_eq!(p.zero_point, 127);
    // A tensor that was always 0.
    assert_eq!(QParams::from_range(0.0, 0.0), QParams::new(1.0, -128));
}

// ---- layers against their references ----

fn random_dense<const I: usize, const O: usize>(r: &mut impl Rng) -> QDense<I, O> {
    let weight = core::array::from_fn(|_| core::array::from_fn(|_| r.random_range(-127..=127)));
    let bias = core::array::from_fn(|_| r.random_range(-100_000..100_000));
    let ms: [Multiplier; O] = core::array::from_fn(|_| {
        Multiplier::from_real(10f64.powf(r.random_range(-6.0..0.5))).unwrap()
    });
    QDense::new(
        weight,
        bias,
        ms.map(|m| m.m),
        ms.map(|m| m.shift),
        QParams::new(0.02, r.random()),
        QParams::new(0.1, r.random()),
        [0.01; O],
    )
}

fn dense_agrees<const I: usize, const O: usize>(seed: u64) {
    let mut r = rng(seed);
    for _ in 0..20 {
        let l = random_dense::<I, O>(&mut r);
        for _ in 0..20 {
            let x = random_i8::<I>(&mut r);
            let want = dense_ref(&l, &x);
            assert_eq!(l.forward(&x), want, "QDense<{I}, {O}>");
            // Every kernel a pass may hand it (the plain loops, or asking
            // for itself), and into an output in place.
            assert_eq!(l.forward_on(&x, Plain), want, "QDense<{I}, {O}>, plain");
            assert_eq!(l.forward_on(&x, Checked), want, "QDense<{I}, {O}>, checked");
            let mut y = [0; O];
            l.forward_into(&x, &mut y);
            assert_eq!(y, want, "QDense<{I}, {O}>, in place");
            let mut y = [0; O];
            l.forward_into_on(&x, &mut y, Plain);
            assert_eq!(y, want, "QDense<{I}, {O}>, plain, in place");
        }
        // Extreme inputs: every product at its largest.
        for v in [-128, 127] {
            assert_eq!(l.forward(&[v; I]), dense_ref(&l, &[v; I]));
        }
    }
}

#[test]
fn qdense_is_its_formula_bit_for_bit_on_odd_sizes() {
    dense_agrees::<1, 1>(10);
    dense_agrees::<3, 7>(11);
    dense_agrees::<5, 2>(12);
    dense_agrees::<17, 9>(13);
    dense_agrees::<33, 3>(14);
    dense_agrees::<64, 32>(15);
    dense_agrees::<130, 11>(16);
}

#[test]
fn relu_and_lookup_are_their_formulas() {
    let mut r = rng(20);
    for zp in [-128i8, -3, 0, 77, 127] {
        let relu = QRelu::new(QParams::new(0.1, zp));
        let x = random_i8::<31>(&mut r);
        let y = relu.forward(&x);
        for i in 0..31 {
            assert_eq!(y[i], x[i].max(zp));
        }
    }
    let (input, output) = (QParams::new(0.03, -7), QParams::new(1.0 / 128.0, 0));
    let lut = QLookup::of("Tanh", f32::tanh, input, output);
    let all: [i8; 256] = core::array::from_fn(|k| (k as i32 - 128) as i8);
    let y = lut.forward(&all);
    for (&x, &y) in all.iter().zip(&y) {
        let want = output.quantize((input.dequantize(x)).tanh());
        assert_eq!(y, want, "tanh at {x}");
    }
}

// ---- the quantiser ----

type Mlp = (Dense<6, 9>, Relu, Dense<9, 5>, Tanh, Dense<5, 3>, Sigmoid);

fn calibration_set(n: usize, seed: u64) -> Vec<(SVector<f32, 6>, usize)> {
    let mut r = rng(seed);
    (0..n)
        .map(|_| (SVector::from_fn(|_, _| r.random_range(-2.0..2.0)), 0))
        .collect()
}

/// The whole network against the layer references, composed by hand.
#[test]
fn a_quantised_network_is_its_layers_composed() {
    let net = Mlp::random(Init::Xavier, &mut rng(30));
    let data = calibration_set(200, 31);
    let q = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
    let (d0, relu, d1, tanh, d2, sig) = &q.layers;
    for (x, _) in &data {
        let xq = q.quantize_input(x);
        let h = relu.forward(&dense_ref(d0, &xq));
        let h = tanh.forward(&dense_ref(d1, &h));
        let y = sig.forward(&dense_ref(d2, &h));
        assert_eq!(q.forward(&xq), y);
        // In place, and the layers with the plain loops handed down (what
        // `forward` runs on a CPU without AVX2).
        let mut out = [0; 3];
        q.forward_into(&xq, &mut out);
        assert_eq!(out, y);
        assert_eq!(q.layers.forward_on(&xq, Plain), y);
        let mut out = [0; 3];
        q.layers.forward_into_on(&xq, &mut out, Plain);
        assert_eq!(out, y);
    }
    // Parameters chain: each layer's input is the previous one's output.
    assert_eq!(d0.input(), q.input);
    assert_eq!(d1.input(), d0.output());
    assert_eq!(tanh.input, d1.output());
    assert_eq!(d2.input(), tanh.output);
    assert_eq!(q.output, sig.output);
    // TensorFlow Lite's fixed output scales.
    assert_eq!(tanh.output, QParams::new(1.0 / 128.0, 0));
    assert_eq!(sig.output, QParams::new(1.0 / 256.0, -128));
}

#[test]
fn relu_is_fused_into_the_dense_before_it() {
    let net = Mlp::random(Init::Xavier, &mut rng(32));
    let data = calibration_set(200, 33);
    let q = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
    let (d0, relu, ..) = &q.layers;
    // The Dense output covers [0, max]: zero point −128, so its saturation
    // is the ReLU, and the ReLU changes nothing.
    assert_eq!(d0.output().zero_point, -128);
    let mut r = rng(34);
    for _ in 0..100 {
        let x = random_i8::<6>(&mut r);
        let h = d0.forward(&x);
        assert_eq!(relu.forward(&h), h);
    }
    // Its scale is the ReLU output's range over 255 steps.
    let hi = data
        .iter()
        .flat_map(|(x, _)| {
            Relu.forward(&net.0.forward(x))
                .iter()
                .copied()
                .collect::<Vec<_>>()
        })
        .fold(0f32, f32::max);
    assert!((d0.output().scale - hi / 255.0).abs() <= 1e-6 * hi);
}

#[test]
fn int8_outputs_are_close_to_f32_ones() {
    let net = Mlp::random(Init::Xavier, &mut rng(35));
    let data = calibration_set(300, 36);
    for calibration in [Calibration::MinMax, Calibration::Percentile(99.9)] {
        let q = quant::quantize(&net, &data[..], calibration).unwrap();
        let mut worst = 0f32;
        for (x, _) in &data {
            worst = worst.max((q.predict(x) - net.predict(x)).abs().max());
        }
        // Sigmoid outputs in steps of 1/256; a few steps of error through
        // three layers.
        assert!(worst < 0.03, "{calibration:?}: worst {worst}");
    }
}

#[test]
fn percentile_calibration_clips_outliers() {
    type One = (Dense<1, 1>,);
    let net: One = (Dense::from_rows([[1.0]], [0.0]),);
    // 999 values in [0, 1] and one outlier at 1000.
    let mut data: Vec<(SVector<f32, 1>, usize)> = (0..999)
        .map(|k| (SVector::from([k as f32 / 998.0]), 0))
        .collect();
    data.push((SVector::from([1000.0]), 0));
    let minmax = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
    let p = quant::quantize(&net, &data[..], Calibration::Percentile(99.5)).unwrap();
    assert!((minmax.input.scale - 1000.0 / 255.0).abs() < 1e-3);
    assert!(p.input.scale < 2.0 / 255.0, "{:?}", p.input);
    // The outlier saturates, never wraps.
    assert_eq!(p.quantize_input(&SVector::from([1000.0])), [127]);
}

// ---- bad input ----

#[test]
fn bad_calibration_data_is_an_error() {
    let net = Mlp::random(Init::Xavier, &mut rng(40));
    let empty: [(SVector<f32, 6>, usize); 0] = [];
    assert_eq!(
        quant::quantize(&net, &empty[..], Calibration::MinMax).unwrap_err(),
        QuantError::Empty
    );
    let mut data = calibration_set(10, 41);
    data[7].0[4] = f32::NAN;
    let err = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap_err();
    assert!(
        matches!(err, QuantError::NonFiniteInput { sample: 7, feature: 4, value } if value.is_nan())
    );
    assert!(
        err.to_string()
            .contains("calibration sample 7 has NaN at feature 4"),
        "{err}"
    );
    data[7].0[4] = f32::INFINITY;
    assert!(matches!(
        quant::quantize(&net, &data[..], Calibration::MinMax),
        Err(QuantError::NonFiniteInput { sample: 7, .. })
    ));
    // An input that makes an activation overflow.
    let data = [(SVector::from([1e30f32; 6]), 0usize)];
    let mut big = net.clone();
    big.0.weight.fill(1e10);
    assert_eq!(
        quant::quantize(&big, &data[..], Calibration::MinMax).unwrap_err(),
        QuantError::NonFiniteActivation { sample: 0 }
    );
    for p in [50.0, 49.0, 100.5, f64::NAN, -1.0] {
        let data = calibration_set(10, 42);
        let err = quant::quantize(&net, &data[..], Calibration::Percentile(p)).unwrap_err();
        assert!(matches!(err, QuantError::Percentile(_)), "{p}: {err}");
    }
}

#[test]
fn bad_weights_are_an_error() {
    let data = calibration_set(10, 43);
    let mut net = Mlp::random(Init::Xavier, &mut rng(44));
    net.2.weight[(3, 1)] = f32::NAN;
    // The NaN weight already makes the calibration's activations NaN.
    assert!(quant::quantize(&net, &data[..], Calibration::MinMax).is_err());
    // A NaN bias in a channel that nothing reads still is reported by name.
    let net: (Dense<2, 2>,) = (Dense::from_rows([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0]),);
    let mut bad = net.clone();
    bad.0.bias[1] = f32::INFINITY;
    let data = [(SVector::from([0.5f32, 0.5]), 0usize)];
    let err = quant::quantize(&bad, &data[..], Calibration::MinMax).unwrap_err();
    assert!(
        matches!(err, QuantError::NonFiniteActivation { sample: 0 }),
        "{err}"
    );
    // Quantising a layer directly (without a calibration that would have
    // met the infinity first) names the channel.
    let err = <(Dense<2, 2>,) as Quantize<SVector<f32, 2>>>::quantize(
        &bad,
        &<(Dense<2, 2>,) as Quantize<SVector<f32, 2>>>::stats(),
        Calibration::MinMax,
        QParams::new(0.01, 0),
        None,
    )
    .unwrap_err();
    assert_eq!(
        err,
        QuantError::NonFiniteWeight {
            layer: "Dense",
            channel: 1
        }
    );
    // A bias far beyond what its channel's weights can reach at int32.
    let mut huge: (Dense<2, 1>,) = (Dense::from_rows([[1e-6, 0.0]], [1e6]),);
    let data = [
        (SVector::from([0.5f32, 0.5]), 0usize),
        (SVector::from([-0.5f32, 1.0]), 0),
    ];
    let err = quant::quantize(&huge, &data[..], Calibration::MinMax).unwrap_err();
    assert!(
        matches!(err, QuantError::BiasOverflow { channel: 0, .. }),
        "{err}"
    );
    huge.0.bias[0] = 0.0;
    assert!(quant::quantize(&huge, &data[..], Calibration::MinMax).is_ok());
    // Weights so small that max/127 is 0 in f32: a zero channel (scale 1),
    // not an overflow.
    let tiny: (Dense<2, 2>,) = (Dense::from_rows([[1e-44, 0.0], [0.5, -0.5]], [0.0, 0.1]),);
    let q = quant::quantize(&tiny, &data[..], Calibration::MinMax).unwrap();
    assert_eq!(q.layers.0.weight()[0], [0, 0]);
    assert_eq!(q.layers.0.weight_scale()[0], 1.0);
}

#[test]
fn a_layer_of_zero_weights_gives_its_bias() {
    let net: (Dense<3, 2>,) = (Dense::from_rows([[0.0; 3], [0.0; 3]], [0.5, -0.25]),);
    let data = calibration_set(5, 45)
        .into_iter()
        .map(|(x, t)| (x.fixed_rows::<3>(0).into(), t));
    let data: Vec<(SVector<f32, 3>, usize)> = data.collect();
    let q = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
    assert_eq!(q.layers.0.weight_scale(), &[1.0, 1.0]); // a zero scale is never used
    assert_eq!(q.layers.0.weight(), &[[0; 3]; 2]);
    for (x, _) in &data {
        let y = q.predict(x);
        assert!((y[0] - 0.5).abs() <= q.output.scale && (y[1] + 0.25).abs() <= q.output.scale);
    }
}

#[test]
fn inputs_beyond_the_calibrated_range_saturate() {
    let net = Mlp::random(Init::Xavier, &mut rng(46));
    let data = calibration_set(100, 47);
    let q = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
    let x = SVector::from([1e6f32, -1e6, 0.0, 3.0, -3.0, 1e-30]);
    let xq = q.quantize_input(&x);
    assert_eq!((xq[0], xq[1]), (127, -128));
    // Still the reference, with every intermediate saturated, not wrapped.
    let (d0, relu, d1, tanh, d2, sig) = &q.layers;
    let h = relu.forward(&dense_ref(d0, &xq));
    let h = tanh.forward(&dense_ref(d1, &h));
    assert_eq!(q.forward(&xq), sig.forward(&dense_ref(d2, &h)));
}

// ---- flash ----

#[test]
fn rust_source_spells_the_network() {
    let net = (
        Dense::<2, 3>::from_rows([[1.0, -1.0], [0.5, 0.25], [0.0, 2.0]], [0.1, 0.0, -0.2]),
        Relu,
        Dense::<3, 1>::from_rows([[1.0, 1.0, -1.0]], [0.0]),
    );
    let data: Vec<(SVector<f32, 2>, usize)> = (0..25)
        .map(|k| {
            (
                SVector::from([(k % 5) as f32 - 2.0, (k / 5) as f32 - 2.0]),
                0,
            )
        })
        .collect();
    let q: Quantized<_, 2, 1> = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
    let src = q.to_rust("NET").unwrap();
    assert!(
        src.contains(
            "pub static NET: staticnet::quant::Quantized<(staticnet::quant::QDense<2, 3>, \
         staticnet::quant::QRelu, staticnet::quant::QDense<3, 1>), 2, 1> ="
        ),
        "{src}"
    );
    assert!(src.contains(&format!("{:?}", q.layers.0.weight())));
    assert!(q.to_rust("not an ident").is_err());
    // The report names every layer.
    let report = q.to_string();
    assert_eq!(report.matches("layer ").count(), 3, "{report}");
}

/// The trait is implemented for tuples containing a `Dropout` too.
#[test]
fn dropout_is_the_identity() {
    let net = (
        Dense::<6, 4>::random(Init::Xavier, &mut rng(50)),
        Dropout::new(0.5),
        Relu,
    );
    let data = calibration_set(50, 51);
    let q = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
    let (d, _, relu) = &q.layers;
    for (x, _) in &data {
        let xq = q.quantize_input(x);
        assert_eq!(q.forward(&xq), relu.forward(&dense_ref(d, &xq)));
    }
    let _: fn(&_, &_, Calibration) -> _ =
        quant::quantize::<(Dense<6, 4>,), [(SVector<f32, 6>, usize)], 6, 4>;
    let _ = <(Dense<6, 4>,) as Quantize<SVector<f32, 6>>>::stats;
}

// ---- the weights file ----

#[test]
fn int8_files_round_trip_and_refuse_what_does_not_fit() {
    use staticnet::io::{Error, int8};
    let net = Mlp::random(Init::Xavier, &mut rng(60));
    let data = calibration_set(50, 61);
    let q = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
    let n = int8::saved_len(&q);
    let mut buf = vec![0u8; n];
    assert_eq!(int8::save(&q, &mut buf).unwrap(), n);
    assert!(matches!(
        int8::save(&q, &mut buf[..n - 1]),
        Err(Error::BufferTooSmall { .. })
    ));

    // Into a network of the same shape with other values: the same network.
    let other = Mlp::random(Init::Xavier, &mut rng(62));
    let mut copy = quant::quantize(&other, &data[..], Calibration::MinMax).unwrap();
    assert_ne!(copy, q);
    int8::load(&mut copy, &buf).unwrap();
    assert_eq!(copy, q);
    let x = random_i8::<6>(&mut rng(63));
    assert_eq!(copy.forward(&x), q.forward(&x)); // the folded offsets followed

    // Another shape: an error naming the tensor, and nothing changed.
    type Wider = (Dense<6, 10>, Relu, Dense<10, 5>, Tanh, Dense<5, 3>, Sigmoid);
    let wider = Wider::random(Init::Xavier, &mut rng(64));
    let mut target = quant::quantize(&wider, &data[..], Calibration::MinMax).unwrap();
    let before = target.clone();
    let err = int8::load(&mut target, &buf).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer 0.0 (QDense): the network has tensor `weight (i8)` (buffer) of shape [10, 6] \
         where the file has tensor `weight (i8)` (buffer) of shape [9, 6]"
    );
    assert_eq!(target, before);

    // Every truncation and every flipped byte is an error, never a panic or
    // a silent change.
    let mut target = copy.clone();
    for len in 0..n {
        assert!(
            int8::load(&mut target, &buf[..len]).is_err(),
            "length {len}"
        );
    }
    for at in 0..n {
        let mut bad = buf.clone();
        bad[at] ^= 0x5a;
        assert!(int8::load(&mut target, &bad).is_err(), "byte {at}");
    }
    assert_eq!(target, copy);
    let mut longer = buf.clone();
    longer.push(0);
    assert!(matches!(
        int8::load(&mut target, &longer),
        Err(Error::TrailingBytes { .. })
    ));

    // A non-finite scale (with a valid checksum) is refused by name.
    let mut nan = q.clone();
    let d = &q.layers.0;
    let mut scales = *d.weight_scale();
    scales[2] = f32::NAN;
    nan.layers.0 = QDense::new(
        *d.weight(),
        *d.bias(),
        *d.multiplier(),
        *d.shift(),
        d.input(),
        d.output(),
        scales,
    );
    let mut bytes = vec![0u8; n];
    int8::save(&nan, &mut bytes).unwrap();
    let err = int8::load(&mut target, &bytes).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinite {
                tensor: "weight_scale (f32)",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(target, copy);

    // An f32 network's file is not an int8 one.
    let mut f32_file = vec![0u8; staticnet::io::saved_len(&net)];
    staticnet::io::save(&net, &mut f32_file).unwrap();
    let err = int8::load(&mut target, &f32_file).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the file holds f32 values, but the network is int8: it is a float network's file, \
         load it with io::load into that network and quantise it with quant::quantize"
    );
}

#[cfg(feature = "safetensors")]
#[test]
fn int8_safetensors_round_trip_and_refuse_what_does_not_fit() {
    use staticnet::io::safetensors::{ImportError, load_int8_safetensors, save_int8_safetensors};
    let net = Mlp::random(Init::Xavier, &mut rng(70));
    let data = calibration_set(50, 71);
    let q = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
    let bytes = save_int8_safetensors(&q).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<&str> = file.names().into_iter().collect();
    names.sort();
    assert!(
        names.contains(&"0.weight")
            && names.contains(&"1.zero_point")
            && names.contains(&"3.table")
    );
    assert!(names.contains(&"input_scale") && names.contains(&"output_zero_point"));
    let w = file.tensor("0.weight").unwrap();
    assert_eq!(
        (w.dtype(), w.shape()),
        (safetensors::Dtype::I8, &[9usize, 6][..])
    );
    assert_eq!(
        file.tensor("2.bias").unwrap().dtype(),
        safetensors::Dtype::I32
    );

    let other = Mlp::random(Init::Xavier, &mut rng(72));
    let mut copy = quant::quantize(&other, &data[..], Calibration::MinMax).unwrap();
    load_int8_safetensors(&mut copy, &bytes).unwrap();
    assert_eq!(copy, q);

    // Another shape: an error, nothing changed.
    type Wider = (Dense<6, 10>, Relu, Dense<10, 5>, Tanh, Dense<5, 3>, Sigmoid);
    let mut target = quant::quantize(
        &Wider::random(Init::Xavier, &mut rng(73)),
        &data[..],
        Calibration::MinMax,
    )
    .unwrap();
    let before = target.clone();
    let err = load_int8_safetensors(&mut target, &bytes).unwrap_err();
    assert!(
        matches!(err, ImportError::Shape { ref name, .. } if name == "0.weight"),
        "{err}"
    );
    assert_eq!(target, before);
    assert!(matches!(
        load_int8_safetensors(&mut target, &bytes[..bytes.len() - 1]),
        Err(ImportError::Parse(_))
    ));
    assert_eq!(target, before);
}
