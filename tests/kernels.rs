//! The tuned paths, through the public API, against plain references written
//! here: `Dense` forward and backward against a naive triple loop on sizes
//! that leave every kind of vector tail (f32 and f64, one sample and
//! batches), batches against their samples bit for bit, and the fast
//! activations against the exact functions over the whole `f32` range.
//!
//! (The kernels' own unit tests also run the plain-loop path on a machine
//! whose CPU would take the SIMD one, and the SIMD path directly.)

mod common;

use common::{rng, uniform};
use nalgebra::{SMatrix, SVector};
use staticnet::Scalar;
use staticnet::prelude::*;

/// `|got − exact| ≤ (n + 2) u Σ|terms|`: the rounding of a sum of `n`
/// products in the scalar type, whatever the order.
fn close<T: Scalar>(what: &str, got: T, exact: f64, magnitude: f64, n: usize) {
    let u = if T::NAME == "f32" {
        f64::from(f32::EPSILON)
    } else {
        f64::EPSILON
    };
    let bound = (n as f64 + 2.0) * u * magnitude;
    assert!(
        (got.as_f64() - exact).abs() <= bound,
        "{what}: {got} vs exact {exact} (bound {bound:e})"
    );
}

fn bits<T: Scalar>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.as_f64().to_bits()).collect()
}

fn flat<T: Scalar, N: Params<T>>(n: &N) -> Vec<T> {
    let mut v = Vec::new();
    n.visit(&mut |p| v.extend_from_slice(p));
    v
}

/// `Dense<I, O, T>` on a batch of `B` against the triple loops, and each
/// column on its own bit for bit.
fn dense<T: Scalar, const I: usize, const O: usize, const B: usize>(seed: u64) {
    let what = format!("Dense<{I}, {O}, {}> on {B}", T::NAME);
    let mut r = rng(seed);
    let mut draw = || T::of_f64(uniform(&mut r, -2.0, 2.0));
    let layer = Dense::<I, O, T>::new(
        SMatrix::from_fn(|_, _| draw()),
        SVector::from_fn(|_, _| draw()),
    );
    let x = SMatrix::<T, I, B>::from_fn(|_, _| draw());
    let dy = SMatrix::<T, O, B>::from_fn(|_, _| draw());
    let (w, b) = (&layer.weight, &layer.bias);

    let (y, tape) = Train::<SMatrix<T, I, B>>::forward_train(&layer, &x);
    let mut grad = Dense::<I, O, T>::zeros();
    let dx: SMatrix<T, I, B> = layer.backward(&tape, &dy, &mut grad);
    for j in 0..B {
        for o in 0..O {
            let (mut e, mut m) = (b[o].as_f64(), b[o].as_f64().abs());
            for i in 0..I {
                let t = w[(o, i)].as_f64() * x[(i, j)].as_f64();
                e += t;
                m += t.abs();
            }
            close(&format!("{what}: y[{o}, {j}]"), y[(o, j)], e, m, I);
        }
        for i in 0..I {
            let (mut e, mut m) = (0.0, 0.0);
            for o in 0..O {
                let t = w[(o, i)].as_f64() * dy[(o, j)].as_f64();
                e += t;
                m += t.abs();
            }
            close(&format!("{what}: dx[{i}, {j}]"), dx[(i, j)], e, m, O);
        }
    }
    for o in 0..O {
        let (mut e, mut m) = (0.0, 0.0);
        for j in 0..B {
            e += dy[(o, j)].as_f64();
            m += dy[(o, j)].as_f64().abs();
        }
        close(&format!("{what}: db[{o}]"), grad.bias[o], e, m, B);
        for i in 0..I {
            let (mut e, mut m) = (0.0, 0.0);
            for j in 0..B {
                let t = dy[(o, j)].as_f64() * x[(i, j)].as_f64();
                e += t;
                m += t.abs();
            }
            close(
                &format!("{what}: dW[{o}, {i}]"),
                grad.weight[(o, i)],
                e,
                m,
                B,
            );
        }
    }

    // Written instead of added (`backward_set`, `backward_params_set`),
    // into a gradient full of other values (NaN among them, which an
    // addition would keep): the bits of the sum into zeros.
    let stale = || {
        let mut g = Dense::<I, O, T>::zeros();
        g.weight = SMatrix::from_fn(|o, i| T::of_f64(1e30 * (o as f64 - i as f64)));
        g.weight[(0, 0)] = T::of_f64(f64::NAN);
        g.bias = SVector::from_fn(|o, _| T::of_f64(f64::NAN + o as f64));
        g
    };
    const { assert!(<Dense<I, O, T> as Train<SMatrix<T, I, B>>>::SETS_GRAD) };
    let mut set = stale();
    let dx_set: SMatrix<T, I, B> = layer.backward_set(&tape, &dy, &mut set);
    assert_eq!(
        bits(dx_set.as_slice()),
        bits(dx.as_slice()),
        "{what}: backward_set dx"
    );
    assert_eq!(
        bits(&flat(&set)),
        bits(&flat(&grad)),
        "{what}: backward_set gradient"
    );
    let mut set = stale();
    Train::<SMatrix<T, I, B>>::backward_params_set(&layer, &tape, &dy, &mut set);
    assert_eq!(
        bits(&flat(&set)),
        bits(&flat(&grad)),
        "{what}: backward_params_set gradient"
    );

    // Column by column: the same bits.
    let mut single = Dense::<I, O, T>::zeros();
    for j in 0..B {
        let xj: SVector<T, I> = x.column(j).into_owned();
        let dyj: SVector<T, O> = dy.column(j).into_owned();
        let (yj, tj) = layer.forward_train(&xj);
        assert_eq!(
            bits(yj.as_slice()),
            bits(y.column(j).as_slice()),
            "{what}: y column {j}"
        );
        let dxj: SVector<T, I> = layer.backward(&tj, &dyj, &mut single);
        assert_eq!(
            bits(dxj.as_slice()),
            bits(dx.column(j).as_slice()),
            "{what}: dx column {j}"
        );
    }
    assert_eq!(
        bits(&flat(&single)),
        bits(&flat(&grad)),
        "{what}: gradient sample by sample"
    );
}

macro_rules! dense_shapes {
    ($t:ty: $(($i:literal, $o:literal)),* $(,)?) => {{
        let mut seed = 100;
        $(
            seed += 1;
            dense::<$t, $i, $o, 1>(seed);
            dense::<$t, $i, $o, 3>(seed);
            dense::<$t, $i, $o, 33>(seed);
        )*
    }};
}

#[test]
fn dense_layers_match_triple_loops_on_odd_sizes_in_f32() {
    // Every odd size as a height (outputs) and as a width (inputs).
    dense_shapes!(f32:
        (1, 1), (3, 1), (130, 1), (1, 3), (7, 3), (65, 7), (3, 7),
        (1, 17), (17, 17), (33, 17), (130, 33), (7, 33), (3, 65), (65, 65),
        (17, 130), (130, 130), (32, 10), (40, 24), (64, 300), (40, 256), (7, 13), (3, 9), (5, 16),
        (65, 32), (20, 48), (301, 16), (20, 96), (30, 80),
        // Heights of 8 k + 2 in 4 chains (their last two rows in a pass of
        // their own in a batch), with every number of inputs past the
        // last 4.
        (1, 10), (3, 10), (4, 10), (5, 10), (6, 10), (7, 10), (2, 18), (33, 18), (256, 10),
        (257, 10), (36, 10),
    );
    // Batches of 4 and 5 on a wide 10-output layer: on a CPU with
    // AVX-512 too few columns for its 16-lane tiles, enough work for its
    // 8-lane tiles of 2 vectors (which then cover both windows).
    dense::<f32, 256, 10, 4>(200);
    dense::<f32, 256, 10, 5>(201);
}

#[test]
fn dense_layers_match_triple_loops_on_odd_sizes_in_f64() {
    dense_shapes!(f64:
        (1, 1), (130, 1), (7, 3), (3, 7), (33, 17), (17, 33), (65, 65), (3, 130),
    );
}

/// The largest absolute and relative (to `|exact|`, where it is above
/// `1e-30`) errors of `f` against `exact` at `x`, folded into `worst`.
fn fold_error(worst: &mut (f64, f64, f32, f32), x: f32, got: f32, exact: f64) {
    let abs = (f64::from(got) - exact).abs();
    if abs > worst.0 {
        worst.0 = abs;
        worst.2 = x;
    }
    if exact.abs() > 1e-30 && abs / exact.abs() > worst.1 {
        worst.1 = abs / exact.abs();
        worst.3 = x;
    }
}

/// Every `f32` from 0 to `f32::MAX` whose bits are a multiple of `stride`
/// (every `f32` with `STATICNET_EXHAUSTIVE=1`), and both signs.
fn every_f32(mut f: impl FnMut(f32)) {
    let stride = if std::env::var_os("STATICNET_EXHAUSTIVE").is_some() {
        1
    } else {
        61
    };
    let top = f32::MAX.to_bits();
    let mut b = 0u32;
    while b <= top {
        let x = f32::from_bits(b);
        f(x);
        f(-x);
        b = match b.checked_add(stride) {
            Some(n) => n,
            None => break,
        };
    }
    for x in [
        f32::MAX,
        f32::INFINITY,
        9.0,
        8.999_999,
        9.000_001,
        1e-30,
        0.5,
    ] {
        f(x);
        f(-x);
    }
}

/// Values per call of [`through_layer`].
const CHUNK: usize = 4096;

/// [`every_f32`], `CHUNK` values at a time (the last chunk padded with its
/// first value).
fn every_f32_in_chunks(mut f: impl FnMut(&[f32; CHUNK])) {
    let mut buf = Vec::with_capacity(CHUNK);
    every_f32(|x| {
        buf.push(x);
        if buf.len() == CHUNK {
            f(buf.as_slice().try_into().unwrap());
            buf.clear();
        }
    });
    if !buf.is_empty() {
        let first = buf[0];
        buf.resize(CHUNK, first);
        f(buf.as_slice().try_into().unwrap());
    }
}

/// An activation layer's outputs (its `forward`, the path a network runs)
/// for `CHUNK` inputs, as one 64 × 64 batch.
fn through_layer<A: Module<SMatrix<f32, 64, 64>, Output = SMatrix<f32, 64, 64>>>(
    a: &A,
    xs: &[f32; CHUNK],
) -> Vec<f32> {
    let x = Box::new(SMatrix::<f32, 64, 64>::from_column_slice(xs));
    a.forward(&x).as_slice().to_vec()
}

#[test]
fn fast_tanh_is_within_its_documented_error_over_the_whole_f32_range() {
    let mut worst = (0.0, 0.0, 0.0, 0.0);
    let mut worst_layer = (0.0, 0.0, 0.0, 0.0);
    every_f32_in_chunks(|xs| {
        let ys = through_layer(&FastTanh, xs);
        let minus = through_layer(&FastTanh, &xs.map(|x| -x));
        for ((&x, &y), &ym) in xs.iter().zip(&ys).zip(&minus) {
            let got = FastTanh.value(x);
            let exact = f64::from(x).tanh();
            fold_error(&mut worst, x, got, exact);
            assert_eq!(got, -FastTanh.value(-x), "odd at {x}");
            assert!(got.abs() <= 1.0, "|FastTanh({x})| = {got} > 1");
            // The layer's path (vector code with FMA on CPUs that have it).
            fold_error(&mut worst_layer, x, y, exact);
            assert_eq!(y, -ym, "layer odd at {x}");
            assert!(y.abs() <= 1.0, "|FastTanh layer({x})| = {y} > 1");
        }
    });
    for (path, worst) in [("scalar", worst), ("layer", worst_layer)] {
        println!(
            "FastTanh f32 {path}: max abs {:e} at {}, max rel {:e} at {}",
            worst.0, worst.2, worst.1, worst.3
        );
        assert!(
            worst.0 <= 4.5e-7,
            "{path}: absolute error {:e} at {}",
            worst.0,
            worst.2
        );
        assert!(
            worst.1 <= 4.5e-7,
            "{path}: relative error {:e} at {}",
            worst.1,
            worst.3
        );
    }
    assert!(FastTanh.value(f32::NAN).is_nan());
    assert!(through_layer(&FastTanh, &[f32::NAN; CHUNK])[0].is_nan());

    // In f64 the same approximation: the fit's error.
    let mut worst64 = 0.0f64;
    for k in 0..=200_000 {
        let x = -12.0 + 24.0 * f64::from(k) / 200_000.0;
        let t = x.tanh();
        if t != 0.0 {
            worst64 = worst64.max((FastTanh.value(x) - t).abs() / t.abs());
        }
    }
    assert!(worst64 <= 7e-8, "f64 relative error {worst64:e}");
}

#[test]
fn fast_sigmoid_is_within_its_documented_error_over_the_whole_f32_range() {
    let mut worst = (0.0, 0.0, 0.0, 0.0);
    let mut worst_layer = (0.0, 0.0, 0.0, 0.0);
    every_f32_in_chunks(|xs| {
        let ys = through_layer(&FastSigmoid, xs);
        for (&x, &y) in xs.iter().zip(&ys) {
            let exact = 1.0 / (1.0 + (-f64::from(x)).exp());
            let got = FastSigmoid.value(x);
            fold_error(&mut worst, x, got, exact);
            assert!((0.0..=1.0).contains(&got), "FastSigmoid({x}) = {got}");
            fold_error(&mut worst_layer, x, y, exact);
            assert!((0.0..=1.0).contains(&y), "FastSigmoid layer({x}) = {y}");
        }
    });
    for (path, worst) in [("scalar", worst), ("layer", worst_layer)] {
        println!(
            "FastSigmoid f32 {path}: max abs {:e} at {}",
            worst.0, worst.2
        );
        assert!(
            worst.0 <= 2.3e-7,
            "{path}: absolute error {:e} at {}",
            worst.0,
            worst.2
        );
    }
    assert!(FastSigmoid.value(f32::NAN).is_nan());
    assert!(through_layer(&FastSigmoid, &[f32::NAN; CHUNK])[0].is_nan());
}

#[test]
fn fast_activation_layers_agree_with_the_scalar_functions() {
    // The layers run the fast kernels (vector code with FMA where the CPU
    // has AVX2 and FMA, its own rounding): forward must equal
    // forward_train's value bit for bit, a sample must give what it gives
    // inside a batch, and values and derivatives must agree with the scalar
    // functions to a few roundings.
    let x = SMatrix::<f32, 37, 3>::from_fn(|i, j| (i as f32 - 18.0) * 0.55 + j as f32 * 0.01);
    let (yt, d) = FastTanh.forward_train(&x);
    assert_eq!(yt, FastTanh.forward(&x));
    let (ys, ds) = FastSigmoid.forward_train(&x);
    assert_eq!(ys, FastSigmoid.forward(&x));
    for j in 0..3 {
        let col: SVector<f32, 37> = x.column(j).into();
        assert_eq!(FastTanh.forward(&col), yt.column(j));
        assert_eq!(FastSigmoid.forward_train(&col).1, ds.column(j));
    }
    for (k, &v) in x.iter().enumerate() {
        let (t, dt) = FastTanh.value_and_derivative(v);
        let (s, dsv) = FastSigmoid.value_and_derivative(v);
        assert!((yt[k] - t).abs() <= 3e-7, "FastTanh({v}): {} vs {t}", yt[k]);
        assert!(
            (d[k] - dt).abs() <= 1e-6 * (1.0 + dt.abs()),
            "FastTanh'({v}): {} vs {dt}",
            d[k]
        );
        assert!(
            (ys[k] - s).abs() <= 2e-7,
            "FastSigmoid({v}): {} vs {s}",
            ys[k]
        );
        assert!(
            (ds[k] - dsv).abs() <= 1e-6 * (1.0 + dsv.abs()),
            "FastSigmoid'({v}): {} vs {dsv}",
            ds[k]
        );
    }
    // Short tensors (fewer than 8 lanes) and beyond the clamp.
    let short = SVector::<f32, 3>::from([-20.0, 0.25, 9.5]);
    let (y, d) = FastTanh.forward_train(&short);
    assert_eq!(y, FastTanh.forward(&short));
    assert_eq!(
        (y[0], y[2], d[0], d[2]),
        (-FastTanh.value(9.0f32), FastTanh.value(9.0f32), 0.0, 0.0)
    );
    assert!((y[1] - 0.25f32.tanh()).abs() <= 4.5e-7);
}

#[test]
fn fast_activations_describe_themselves() {
    let mut nodes = Vec::new();
    Params::<f32>::describe(&(FastTanh, FastSigmoid), &mut |n| nodes.push(n));
    use staticnet::Node::{Begin, End};
    assert_eq!(
        nodes,
        [
            Begin("Sequential"),
            Begin("FastTanh"),
            End,
            Begin("FastSigmoid"),
            End,
            End
        ]
    );
}

/// A network of every kind of layer the dispatched passes treat apart:
/// products of 8, 9 and 1 outputs, fast and plain activations.
type Mixed = (
    Dense<5, 17>,
    FastTanh,
    Dense<17, 9>,
    Relu,
    Dense<9, 1>,
    FastSigmoid,
);

/// Seven samples for [`Mixed`].
fn mixed_input() -> SMatrix<f32, 5, 7> {
    SMatrix::from_fn(|i, j| (i as f32 - 2.0) * 0.4 + j as f32 * 0.1)
}

#[test]
fn a_dispatched_network_gives_the_bits_of_its_layers_called_one_by_one() {
    // A tuple runs its whole forward and backward pass in one dispatched
    // call (compiled for AVX2 + FMA where the CPU has them); its layers
    // called on their own each take the kernels' own check. Same
    // arithmetic, so the same bits.
    let net = Mixed::random(Init::Xavier, &mut rng(11));
    let x = mixed_input();
    let h1 = net.1.forward(&net.0.forward(&x));
    let h2 = net.3.forward(&net.2.forward(&h1));
    let y = net.5.forward(&net.4.forward(&h2));
    assert_eq!(net.predict(&x), y);

    let (y, tape) = net.forward_train(&x);
    let dy = SMatrix::<f32, 1, 7>::from_fn(|_, j| 0.3 - j as f32 * 0.1);
    let mut grad = Mixed::zeros();
    let dx = net.backward(&tape, &dy, &mut grad);
    let mut one = Mixed::zeros();
    let (d5, d4) = (&tape.5, &tape.4);
    let g = net.5.backward(d5, &dy, &mut one.5);
    let g = net.4.backward(d4, &g, &mut one.4);
    let g = net.3.backward(&tape.3, &g, &mut one.3);
    let g = net.2.backward(&tape.2, &g, &mut one.2);
    let g = net.1.backward(&tape.1, &g, &mut one.1);
    let g = net.0.backward(&tape.0, &g, &mut one.0);
    assert_eq!(dx, g);
    assert_eq!(bits(&flat(&grad)), bits(&flat(&one)));
    assert_eq!(y, net.predict(&x));
}

#[test]
fn forward_on_runs_the_kernels_it_is_given() {
    use staticnet::module::{Checked, Plain};
    let net = Mixed::random(Init::Xavier, &mut rng(12));
    let x = mixed_input();
    // Each layer asking the CPU for itself gives what the network's pass,
    // which asked once and handed the answer on, gives.
    assert_eq!(net.forward_on(&x, Checked), net.predict(&x));
    assert_eq!(net.0.forward_on(&x, Checked), net.0.forward(&x));

    // The plain loops: `b + w₀ x₀ + w₁ x₁ + …`, each product and each sum
    // rounded to `f32`, in the order of the inputs.
    let plain = |d: &Dense<5, 17>, x: &SMatrix<f32, 5, 7>| {
        SMatrix::<f32, 17, 7>::from_fn(|o, j| {
            let mut s = d.bias[o];
            for i in 0..5 {
                s += d.weight[(o, i)] * x[(i, j)];
            }
            s
        })
    };
    let y = net.0.forward_on(&x, Plain);
    assert_eq!(bits(y.as_slice()), bits(plain(&net.0, &x).as_slice()));
    // The SIMD path fuses its multiply-adds: the same values to rounding.
    for (a, b) in y.iter().zip(net.0.forward(&x).iter()) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} against {b}");
    }
    // A network hands the kind on to every layer.
    let h = net.0.forward_on(&x, Plain);
    let h = net.2.forward_on(&net.1.forward(&h), Plain);
    let h = net.4.forward_on(&net.3.forward(&h), Plain);
    assert_eq!(net.forward_on(&x, Plain), net.5.forward(&h));

    // `f64` runs the plain loops whatever it is given.
    let net64 = <(Dense<5, 17, f64>, Relu, Dense<17, 1, f64>)>::random(Init::Xavier, &mut rng(13));
    let x64 = x.map(f64::from);
    assert_eq!(net64.forward_on(&x64, Plain), net64.predict(&x64));
}

/// Element-wise activations whose loops the compiler vectorises from the
/// scalar code, over heights of one and two 16-lane vectors and a ragged
/// one: what a network's pass compiles 16 lanes wide where the CPU has
/// AVX-512F and AVX-512VL.
type Exact = (
    Dense<3, 33>,
    Tanh,
    Dense<33, 16>,
    Sigmoid,
    Dense<16, 32>,
    Gelu,
    Dense<32, 12>,
    Elu,
    Dense<12, 2>,
    Softplus,
);

#[test]
fn a_network_of_exact_activations_gives_the_bits_of_its_layers_one_by_one() {
    // The network's passes ask the CPU once and run compiled for what it
    // has (on a CPU with AVX-512VL, with 16-lane vectors and 32 registers);
    // each layer called on its own asks for itself (8 lanes). The same
    // scalar operations lane by lane, so the same bits, one sample or a
    // batch, forward or backward.
    let net = Exact::random(Init::Xavier, &mut rng(14));
    let x = SMatrix::<f32, 3, 9>::from_fn(|i, j| (i as f32 - 1.0) * 1.3 + j as f32 * 0.45 - 2.0);
    let one_by_one = |x: &SMatrix<f32, 3, 9>| {
        let h = net.1.forward(&net.0.forward(x));
        let h = net.3.forward(&net.2.forward(&h));
        let h = net.5.forward(&net.4.forward(&h));
        let h = net.7.forward(&net.6.forward(&h));
        net.9.forward(&net.8.forward(&h))
    };
    let y = one_by_one(&x);
    assert_eq!(bits(net.predict(&x).as_slice()), bits(y.as_slice()));
    let x1: SVector<f32, 3> = x.column(4).into();
    assert_eq!(
        bits(net.predict(&x1).as_slice()),
        bits(&y.as_slice()[8..10])
    );

    let (yt, tape) = net.forward_train(&x);
    assert_eq!(bits(yt.as_slice()), bits(y.as_slice()));
    let dy = SMatrix::<f32, 2, 9>::from_fn(|i, j| 0.2 - i as f32 * 0.3 + j as f32 * 0.05);
    let mut grad = Exact::zeros();
    let dx = net.backward(&tape, &dy, &mut grad);
    let mut one = Exact::zeros();
    let g = net.9.backward(&tape.9, &dy, &mut one.9);
    let g = net.8.backward(&tape.8, &g, &mut one.8);
    let g = net.7.backward(&tape.7, &g, &mut one.7);
    let g = net.6.backward(&tape.6, &g, &mut one.6);
    let g = net.5.backward(&tape.5, &g, &mut one.5);
    let g = net.4.backward(&tape.4, &g, &mut one.4);
    let g = net.3.backward(&tape.3, &g, &mut one.3);
    let g = net.2.backward(&tape.2, &g, &mut one.2);
    let g = net.1.backward(&tape.1, &g, &mut one.1);
    let g = net.0.backward(&tape.0, &g, &mut one.0);
    assert_eq!(bits(dx.as_slice()), bits(g.as_slice()));
    assert_eq!(bits(&flat(&grad)), bits(&flat(&one)));
}

#[test]
fn networks_with_exact_activations_say_their_passes_gain_from_avx512() {
    use staticnet::stream::Stream;
    type X = SVector<f32, 4>;
    fn wide<N: Module<X>>() -> bool {
        N::WIDE
    }
    // The exact activations (loops the compiler vectorises from scalar
    // code) and the fast ones (which then skip their check); not the
    // products, nor `Relu`.
    assert!(wide::<Tanh>() && wide::<Sigmoid>() && wide::<Gelu>() && wide::<FastTanh>());
    assert!(!wide::<Relu>() && !wide::<Dense<4, 4>>() && !wide::<(Dense<4, 4>, Relu)>());
    // A network: any of its layers, at any depth.
    assert!(wide::<(Dense<4, 4>, Relu, Dense<4, 4>, Tanh)>());
    assert!(wide::<(Dense<4, 4>, (Dense<4, 4>, Softplus))>());
    assert!(wide::<Residual<(Dense<4, 4>, Elu)>>());
    assert!(!wide::<Residual<(Dense<4, 4>, Relu)>>());
    // Streaming likewise: a convolution stack with `tanh`, not a GRU.
    fn step<N: Stream<SVector<f32, 1>>>() -> bool {
        N::WIDE
    }
    assert!(step::<(Conv1d<1, 4, 3, Causal>, Tanh)>());
    assert!(!step::<(Gru<1, 4>, Dense<4, 1>)>());
}
