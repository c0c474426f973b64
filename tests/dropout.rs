//! Inverted dropout: the statistics of its mask, its expected value, its
//! determinism under a seed, and its gradient.
//!
//! The statistical tests use fixed seeds, so they are deterministic; their
//! tolerances are chosen so that a correct implementation would pass them
//! for almost every seed (3 or 4 standard errors, stated at each test).

mod common;

use common::{EPS, assert_gradcheck, flat, rng, set_flat, uniform, vector};
use nalgebra::{SMatrix, SVector};
use rand::Rng;
use staticnet::io::rust::to_rust;
use staticnet::params::{Node, Setting};
use staticnet::prelude::*;
use staticnet::{Dropout, InvalidDropout, Mode, Params, Train};

/// A training-mode pass over `x` with a generator seeded with `seed`.
fn train<X: staticnet::Tensor>(d: &Dropout, x: &X, seed: u64) -> (X, X) {
    let mut g = rng(seed);
    d.forward_tape(x, &mut Mode::training(&mut g, X::COLS))
}

#[test]
fn inference_is_the_identity() {
    let d = Dropout::new(0.5);
    let mut r = rng(1);
    let x = SMatrix::<f64, 5, 3>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0));
    assert_eq!(d.predict(&x), x);
    let (y, mask) = d.forward_tape(&x, &mut Mode::Inference);
    assert_eq!(y, x);
    assert_eq!(mask, SMatrix::<f64, 5, 3>::repeat(1.0));
    let dy = SMatrix::<f64, 5, 3>::from_fn(|_, _| uniform(&mut r, -1.0, 1.0));
    assert_eq!(d.backward(&mask, &dy, &mut Dropout::default()), dy);
    // In a network: inference and the Jacobian see the identity.
    let net = (Dense::<3, 3, f64>::random(Init::XavierNormal, &mut r), d);
    let v = vector::<3>(&mut r, 0.0);
    assert_eq!(net.predict(&v), net.0.predict(&v));
    assert_eq!(net.jacobian(&v), net.0.weight);
}

#[test]
fn kept_fraction_is_one_minus_p_within_three_standard_errors() {
    // n Bernoulli(1 − p) draws: the kept fraction has standard error
    // √(p (1 − p) / n); it must be within 3 of them of 1 − p.
    let x = SMatrix::<f32, 50, 20>::repeat(1.0);
    for (k, p) in [0.05, 0.1, 0.3, 0.5, 0.8, 0.95].into_iter().enumerate() {
        let d = Dropout::new(p);
        let scale = (1.0 / (1.0 - p)) as f32;
        let (mut kept, mut n) = (0usize, 0usize);
        for draw in 0..100 {
            let (y, mask) = train(&d, &x, 1000 * k as u64 + draw);
            for (&v, &m) in y.iter().zip(mask.iter()) {
                assert!(m == 0.0 || m == scale, "p = {p}: mask value {m}");
                assert_eq!(v, m);
                kept += (m != 0.0) as usize;
                n += 1;
            }
        }
        let fraction = kept as f64 / n as f64;
        let se = (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (fraction - (1.0 - p)).abs() <= 3.0 * se,
            "p = {p}: kept {fraction} of {n}, expected {} ± {}",
            1.0 - p,
            3.0 * se
        );
    }
}

#[test]
fn the_expected_output_is_the_input() {
    // y = m x / (1 − p) with m ~ Bernoulli(1 − p): E[y] = x and
    // Var[y] = x² p / (1 − p). The mean of K draws has standard error
    // |x| √(p / ((1 − p) K)); each element's mean must be within 4 of them
    // (8 elements: a correct layer fails this for about 1 seed in 2,000).
    let mut r = rng(2);
    let x = SVector::<f64, 8>::from_fn(|_, _| uniform(&mut r, -3.0, 3.0));
    const K: usize = 20_000;
    for p in [0.2, 0.5, 0.7] {
        let d = Dropout::new(p);
        let mut g = rng(3);
        let mut sum = SVector::<f64, 8>::zeros();
        for _ in 0..K {
            sum += d.forward_tape(&x, &mut Mode::training(&mut g, 1)).0;
        }
        let mean = sum / K as f64;
        for i in 0..8 {
            let se = x[i].abs() * (p / ((1.0 - p) * K as f64)).sqrt();
            assert!(
                (mean[i] - x[i]).abs() <= 4.0 * se,
                "p = {p}, element {i}: mean {} vs input {} (4 SE = {})",
                mean[i],
                x[i],
                4.0 * se
            );
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_bits() {
    let d = Dropout::new(0.4);
    let mut r = rng(4);
    let x = SMatrix::<f32, 16, 8>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0) as f32);
    let (y1, m1) = train(&d, &x, 99);
    let (y2, m2) = train(&d, &x, 99);
    assert_eq!(y1.map(f32::to_bits), y2.map(f32::to_bits));
    assert_eq!(m1.map(f32::to_bits), m2.map(f32::to_bits));
    let (_, m3) = train(&d, &x, 100);
    assert_ne!(m1, m3, "another seed, another mask");

    // One draw per element, in storage order: the mask is a function of the
    // generator's stream alone (kept when (draw >> 11) · 2⁻⁵³ ≥ p).
    let mut g = rng(99);
    for (k, &m) in m1.iter().enumerate() {
        let u = (g.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        assert_eq!(m != 0.0, u >= 0.4, "element {k}");
    }
}

#[test]
fn padding_columns_pass_through_and_draw_nothing() {
    let d = Dropout::new(0.5);
    let mut r = rng(5);
    let x = SMatrix::<f64, 6, 4>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0));
    let mut g = rng(6);
    let (y, mask) = d.forward_tape(&x, &mut Mode::training(&mut g, 2));
    let (_, full) = train(&d, &x, 6);
    // The two real columns use the same draws as in a full batch…
    assert_eq!(mask.columns(0, 2), full.columns(0, 2));
    // …and the padding is left as it is, without drawing.
    assert_eq!(y.columns(2, 2), x.columns(2, 2));
    assert_eq!(mask.columns(2, 2), SMatrix::<f64, 6, 2>::repeat(1.0));
    let mut after = rng(6);
    for _ in 0..12 {
        after.next_u64();
    }
    assert_eq!(
        g.next_u64(),
        after.next_u64(),
        "12 draws, one per real element"
    );
}

#[test]
fn the_gradient_is_the_mask_times_the_scale() {
    let d = Dropout::new(0.3);
    let mut r = rng(7);
    for seed in 0..10 {
        let x = vector::<6>(&mut r, 0.0);
        let (y, mask) = train(&d, &x, seed);
        assert_eq!(y, x.component_mul(&mask));
        let dy = vector::<6>(&mut r, 0.0);
        let dx = d.backward(&mask, &dy, &mut Dropout::default());
        assert_eq!(dx, dy.component_mul(&mask));
        // Against central differences with the generator reseeded: the
        // Jacobian is diag(mask · scale).
        for k in 0..6 {
            let mut e = SVector::<f64, 6>::zeros();
            e[k] = 1.0;
            let analytic = d.backward(&mask, &e, &mut Dropout::default());
            let numeric: Vec<f64> = (0..6)
                .map(|i| {
                    let (mut xp, mut xm) = (x, x);
                    xp[i] += EPS;
                    xm[i] -= EPS;
                    (train(&d, &xp, seed).0[k] - train(&d, &xm, seed).0[k]) / (2.0 * EPS)
                })
                .collect();
            assert_gradcheck(
                &format!("seed {seed}: ∂y{k}/∂x"),
                analytic.as_slice(),
                &numeric,
            );
        }
    }
}

#[test]
fn parameter_gradients_through_dropout_match_finite_differences() {
    type Net = (Dense<4, 6, f64>, Tanh, Dropout, Dense<6, 2, f64>);
    let mut r = rng(8);
    let mut net = Net::random(Init::XavierNormal, &mut r);
    net.2 = Dropout::new(0.5);
    let forward = |net: &Net, x: &SVector<f64, 4>, seed: u64| {
        let mut g = rng(seed);
        net.forward_tape(x, &mut Mode::training(&mut g, 1))
    };
    for seed in 0..5 {
        let x = vector::<4>(&mut r, 0.0);
        let (_, tape) = forward(&net, &x, seed);
        let theta = flat(&net);
        let mut probe = net.clone();
        for k in 0..2 {
            let mut e = SVector::<f64, 2>::zeros();
            e[k] = 1.0;
            let mut grad = Net::zeros();
            net.backward(&tape, &e, &mut grad);
            let numeric: Vec<f64> = (0..theta.len())
                .map(|p| {
                    let mut t = theta.clone();
                    t[p] += EPS;
                    set_flat(&mut probe, &t);
                    let yp = forward(&probe, &x, seed).0[k];
                    t[p] = theta[p] - EPS;
                    set_flat(&mut probe, &t);
                    let ym = forward(&probe, &x, seed).0[k];
                    (yp - ym) / (2.0 * EPS)
                })
                .collect();
            assert_gradcheck(&format!("seed {seed}: ∂y{k}/∂θ"), &flat(&grad), &numeric);
        }
    }
}

#[test]
fn p_zero_is_the_identity_in_training() {
    let d = Dropout::new(0.0);
    let mut r = rng(9);
    let x = SMatrix::<f32, 7, 3>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0) as f32);
    let mut g = rng(10);
    let (y, mask) = d.forward_tape(&x, &mut Mode::training(&mut g, 3));
    assert_eq!(y.map(f32::to_bits), x.map(f32::to_bits));
    assert_eq!(mask, SMatrix::<f32, 7, 3>::repeat(1.0));
    assert_eq!(g.next_u64(), rng(10).next_u64(), "nothing drawn");
}

#[test]
fn constructors_accept_exactly_zero_to_one() {
    for p in [0.0, 0.5, 0.999_999] {
        assert_eq!(Dropout::try_new(p).map(|d| d.p()), Ok(p));
    }
    for p in [1.0, 1.5, -0.1, f64::INFINITY] {
        assert_eq!(Dropout::try_new(p), Err(InvalidDropout { p }));
    }
    assert!(Dropout::try_new(f64::NAN).unwrap_err().p.is_nan());
    assert_eq!(
        Dropout::try_new(2.5).unwrap_err().to_string(),
        "a dropout probability must be in [0, 1), but it is 2.5"
    );
    const D: Dropout = Dropout::new(0.125);
    assert_eq!(D.p(), 0.125);
}

#[test]
#[should_panic(expected = "a dropout probability must be in [0, 1)")]
fn new_panics_outside_zero_to_one() {
    let p = std::hint::black_box(1.0);
    let _ = Dropout::new(p);
}

#[test]
fn describes_itself_and_exports_its_probability() {
    let net = (Dense::<2, 2>::default(), Dropout::new(0.25));
    let mut nodes = Vec::new();
    Params::<f32>::describe(&net.1, &mut |n| nodes.push(n));
    assert_eq!(
        nodes,
        [
            Node::Begin("Dropout"),
            Node::Setting("p", Setting::Real(0.25)),
            Node::End
        ]
    );
    assert_eq!(<Dropout as Params<f32>>::NUM_PARAMS, 0);
    let src = to_rust(&net, "NET").unwrap();
    assert!(src.contains("staticnet::Dropout)"), "{src}");
    assert!(src.contains("staticnet::Dropout::new(0.25)"), "{src}");
    // The probability is part of the file: another one does not load.
    let mut buf = vec![0u8; staticnet::io::saved_len(&net)];
    staticnet::io::save(&net, &mut buf).unwrap();
    let mut same = (Dense::<2, 2>::default(), Dropout::new(0.25));
    assert!(staticnet::io::load(&mut same, &buf).is_ok());
    let mut other = (Dense::<2, 2>::default(), Dropout::new(0.5));
    assert!(staticnet::io::load(&mut other, &buf).is_err());
}
