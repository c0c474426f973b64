//! Finite-difference helpers shared by the gradient-check tests.
#![allow(dead_code)]

use nalgebra::{SMatrix, SVector};
use rand::{Rng, SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::{Params, Train};

/// Central-difference step, as in PyTorch's `gradcheck`.
pub const EPS: f64 = 1e-6;
/// `gradcheck`'s tolerances: |analytic − numeric| ≤ ATOL + RTOL · |numeric|.
pub const ATOL: f64 = 1e-5;
pub const RTOL: f64 = 1e-3;

pub fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// A uniform draw from [lo, hi).
pub fn uniform(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
}

/// A random vector with entries in [-2, 2] whose magnitudes exceed `gap`, so
/// that finite differences do not straddle the kink of a ReLU-like function.
pub fn vector<const N: usize>(rng: &mut impl Rng, gap: f64) -> SVector<f64, N> {
    SVector::from_fn(|_, _| {
        loop {
            let v = uniform(rng, -2.0, 2.0);
            if v.abs() > gap {
                break v;
            }
        }
    })
}

/// Asserts gradcheck's element-wise criterion, naming the first failure.
pub fn assert_gradcheck(what: &str, analytic: &[f64], numeric: &[f64]) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: length");
    for (k, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        assert!(
            (a - n).abs() <= ATOL + RTOL * n.abs(),
            "{what}: element {k}: analytic {a:e} vs numeric {n:e} (difference {:e})",
            (a - n).abs()
        );
    }
}

pub fn flat<N: Params<f64>>(net: &N) -> Vec<f64> {
    let mut v = Vec::with_capacity(N::NUM_PARAMS);
    net.visit(&mut |p| v.extend_from_slice(p));
    assert_eq!(v.len(), N::NUM_PARAMS, "NUM_PARAMS agrees with the slices");
    v
}

pub fn set_flat<N: Params<f64>>(net: &mut N, values: &[f64]) {
    let mut k = 0;
    net.visit_mut(&mut |p| {
        p.copy_from_slice(&values[k..k + p.len()]);
        k += p.len();
    });
    assert_eq!(k, values.len());
}

/// Numeric ∂y/∂x by central differences.
pub fn numeric_input_jacobian<const I: usize, const O: usize>(
    f: impl Fn(&SVector<f64, I>) -> SVector<f64, O>,
    x: &SVector<f64, I>,
) -> SMatrix<f64, O, I> {
    let mut j = SMatrix::<f64, O, I>::zeros();
    for i in 0..I {
        let (mut xp, mut xm) = (*x, *x);
        xp[i] += EPS;
        xm[i] -= EPS;
        j.set_column(i, &((f(&xp) - f(&xm)) / (2.0 * EPS)));
    }
    j
}

/// Analytic ∂y/∂θ, one row per output: the parameter gradient of the
/// backward pass of each unit vector.
pub fn param_jacobian<N, const I: usize, const O: usize>(
    net: &N,
    x: &SVector<f64, I>,
) -> Vec<Vec<f64>>
where
    N: Train<SVector<f64, I>, Output = SVector<f64, O>> + Params<f64>,
{
    let (_, tape) = net.forward_train(x);
    (0..O)
        .map(|k| {
            let mut g = N::zeros();
            let mut e = SVector::<f64, O>::zeros();
            e[k] = 1.0;
            net.backward(&tape, &e, &mut g);
            flat(&g)
        })
        .collect()
}

/// Numeric ∂y/∂θ by central differences, one row per output.
pub fn numeric_param_jacobian<N, const I: usize, const O: usize>(
    net: &N,
    x: &SVector<f64, I>,
) -> Vec<Vec<f64>>
where
    N: Train<SVector<f64, I>, Output = SVector<f64, O>> + Params<f64> + Clone,
{
    let theta = flat(net);
    let mut rows = vec![vec![0.0; theta.len()]; O];
    let mut probe = net.clone();
    for p in 0..theta.len() {
        let mut t = theta.clone();
        t[p] = theta[p] + EPS;
        set_flat(&mut probe, &t);
        let yp = probe.predict(x);
        t[p] = theta[p] - EPS;
        set_flat(&mut probe, &t);
        let ym = probe.predict(x);
        for (k, row) in rows.iter_mut().enumerate() {
            row[p] = (yp[k] - ym[k]) / (2.0 * EPS);
        }
    }
    rows
}

/// The full gradcheck of a network at `x`: input Jacobian (through the
/// public `Network::jacobian`), parameter Jacobian, and that the backward
/// pass is a pure function of its tape.
pub fn gradcheck<N, const I: usize, const O: usize>(what: &str, net: &N, x: &SVector<f64, I>)
where
    N: Train<SVector<f64, I>, Output = SVector<f64, O>> + Params<f64> + Clone,
{
    let analytic = net.jacobian(x);
    let numeric = numeric_input_jacobian(|x| net.predict(x), x);
    assert_gradcheck(
        &format!("{what}: ∂y/∂x"),
        analytic.as_slice(),
        numeric.as_slice(),
    );

    let analytic = param_jacobian(net, x);
    let numeric = numeric_param_jacobian(net, x);
    for (k, (a, n)) in analytic.iter().zip(&numeric).enumerate() {
        assert_gradcheck(&format!("{what}: ∂y{k}/∂θ"), a, n);
    }

    // Backward twice on one tape: bit-identical gradients and input gradients.
    let (y, tape) = net.forward_train(x);
    let dy = y.map(|v| v.sin() + 0.5);
    let (mut g1, mut g2) = (N::zeros(), N::zeros());
    let dx1 = net.backward(&tape, &dy, &mut g1);
    let dx2 = net.backward(&tape, &dy, &mut g2);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(dx1.as_slice()),
        bits(dx2.as_slice()),
        "{what}: dx differs between runs"
    );
    assert_eq!(
        bits(&flat(&g1)),
        bits(&flat(&g2)),
        "{what}: dθ differs between runs"
    );
}

/// The gradcheck of a layer or network on any tensor input (a sequence, a
/// batch): for the scalar `L = Σ_k w_k y_k` with fixed random weights `w`,
/// the backward pass's `∂L/∂x` and `∂L/∂θ` against central differences, in
/// inference mode; and backward twice on one tape gives the same bits.
pub fn gradcheck_tensor<N, X, Y>(what: &str, net: &N, x: &X)
where
    N: Train<X, Output = Y> + Params<f64> + Clone,
    X: staticnet::Tensor<Scalar = f64>,
    Y: staticnet::Tensor<Scalar = f64>,
{
    let mut r = rng(99);
    let mut w = Y::zeros();
    w.as_mut_slice()
        .iter_mut()
        .for_each(|v| *v = uniform(&mut r, -1.0, 1.0));
    let loss = |net: &N, x: &X| -> f64 {
        let y = net.forward(x);
        y.as_slice()
            .iter()
            .zip(w.as_slice())
            .map(|(a, b)| a * b)
            .sum()
    };
    let (_, tape) = net.forward_train(x);
    let mut grad = N::zeros();
    let dx = net.backward(&tape, &w, &mut grad);

    let mut numeric = Vec::new();
    for k in 0..x.as_slice().len() {
        let (mut plus, mut minus) = (*x, *x);
        plus.as_mut_slice()[k] += EPS;
        minus.as_mut_slice()[k] -= EPS;
        numeric.push((loss(net, &plus) - loss(net, &minus)) / (2.0 * EPS));
    }
    assert_gradcheck(&format!("{what}: ∂L/∂x"), dx.as_slice(), &numeric);

    let theta = flat(net);
    let mut numeric = Vec::new();
    for k in 0..theta.len() {
        let (mut plus, mut minus) = (net.clone(), net.clone());
        let mut t = theta.clone();
        t[k] += EPS;
        set_flat(&mut plus, &t);
        t[k] -= 2.0 * EPS;
        set_flat(&mut minus, &t);
        numeric.push((loss(&plus, x) - loss(&minus, x)) / (2.0 * EPS));
    }
    assert_gradcheck(&format!("{what}: ∂L/∂θ"), &flat(&grad), &numeric);

    let mut again = N::zeros();
    let dx2 = net.backward(&tape, &w, &mut again);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(dx.as_slice()),
        bits(dx2.as_slice()),
        "{what}: dx differs between runs"
    );
    assert_eq!(
        bits(&flat(&grad)),
        bits(&flat(&again)),
        "{what}: dθ differs between runs"
    );
}
