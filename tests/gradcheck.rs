//! Gradients against central finite differences in f64, to the standard of
//! PyTorch's `gradcheck` (eps 1e-6, |a − n| ≤ 1e-5 + 1e-3·|n| element-wise),
//! for every layer, every loss and composed networks.

mod common;

use common::*;
use nalgebra::{SMatrix, SVector};
use staticnet::Scalar;
use staticnet::prelude::*;

type V<const N: usize> = SVector<f64, N>;

/// A single layer wrapped as a one-element network with random parameters.
fn layer_check<L, const I: usize, const O: usize>(what: &str, layer: L, seed: u64)
where
    (L,): Train<V<I>, Output = V<O>> + Params<f64> + Clone,
{
    let mut r = rng(seed);
    let mut net = (layer,);
    net.init(Init::XavierNormal, &mut r);
    // Random biases too, so that no bias is left at exactly zero.
    let n = <(L,) as Params<f64>>::NUM_PARAMS;
    let theta: Vec<f64> = (0..n).map(|_| uniform(&mut r, -1.0, 1.0)).collect();
    set_flat(&mut net, &theta);
    for trial in 0..3 {
        let x = vector::<I>(&mut r, 1e-3);
        gradcheck(&format!("{what} (trial {trial})"), &net, &x);
    }
}

#[test]
fn dense_matches_finite_differences() {
    layer_check::<_, 5, 3>("Dense<5, 3>", Dense::<5, 3, f64>::default(), 1);
    layer_check::<_, 1, 1>("Dense<1, 1>", Dense::<1, 1, f64>::default(), 2);
    layer_check::<_, 7, 13>("Dense<7, 13>", Dense::<7, 13, f64>::default(), 3);
}

#[test]
fn elementwise_activations_match_finite_differences() {
    layer_check::<_, 6, 6>("Identity", Identity, 10);
    layer_check::<_, 6, 6>("Relu", Relu, 11);
    layer_check::<_, 6, 6>("LeakyRelu", LeakyRelu::default(), 12);
    layer_check::<_, 6, 6>("LeakyRelu(0.3)", LeakyRelu::new(0.3f64), 13);
    layer_check::<_, 6, 6>("Sigmoid", Sigmoid, 14);
    layer_check::<_, 6, 6>("Tanh", Tanh, 15);
    layer_check::<_, 6, 6>("Softplus", Softplus, 16);
    layer_check::<_, 6, 6>("Elu", Elu::default(), 17);
    layer_check::<_, 6, 6>("Elu(0.5)", Elu::new(0.5f64), 18);
    layer_check::<_, 6, 6>("Gelu", Gelu, 19);
    layer_check::<_, 6, 6>("FastTanh", FastTanh, 21);
    layer_check::<_, 6, 6>("FastSigmoid", FastSigmoid, 22);
}

#[test]
fn softmax_full_jacobian_matches_column_by_column() {
    layer_check::<_, 7, 7>("Softmax", Softmax, 20);
    // And against the closed form diag(s) − s sᵀ, column by column.
    let x = V::<5>::from([0.3, -1.2, 2.0, 0.0, 0.7]);
    let s = Softmax.predict(&x);
    let j = (Softmax,).jacobian(&x);
    for col in 0..5 {
        for row in 0..5 {
            let expected = if row == col {
                s[row] * (1.0 - s[row])
            } else {
                -s[row] * s[col]
            };
            approx::assert_relative_eq!(
                j[(row, col)],
                expected,
                max_relative = 1e-12,
                epsilon = 1e-15
            );
        }
    }
    // Off-diagonal entries are nonzero: the Jacobian really is full.
    assert!(j[(0, 1)].abs() > 1e-3);
}

#[test]
fn activations_agree_with_reference_formulas() {
    // Values at a few points against formulas written independently here.
    for &x in &[-3.0f64, -0.5, 0.25, 2.0] {
        approx::assert_relative_eq!(
            Softplus.value(x),
            (1.0 + x.exp()).ln(),
            max_relative = 1e-14
        );
        approx::assert_relative_eq!(
            Sigmoid.value(x),
            1.0 / (1.0 + (-x).exp()),
            max_relative = 1e-14
        );
        let gelu = 0.5
            * x
            * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh());
        approx::assert_relative_eq!(Gelu.value(x), gelu, max_relative = 1e-14);
        let elu = if x > 0.0 { x } else { x.exp() - 1.0 };
        approx::assert_relative_eq!(Elu::default().value(x), elu, max_relative = 1e-14);
    }
    // Far tails stay finite and exact.
    assert_eq!(Softplus.value(-800.0f64), 0.0);
    assert_eq!(Softplus.value(800.0f64), 800.0);
    assert_eq!(Sigmoid.value(-800.0f64), 0.0);
    assert_eq!(Sigmoid.value(800.0f64), 1.0);
    let s = Softmax.predict(&V::<3>::from([1e4, -1e4, 0.0]));
    assert_eq!(s, V::<3>::from([1.0, 0.0, 0.0]));
}

/// Checks a loss's gradient with respect to the prediction.
fn loss_check<L, Tg, const N: usize>(what: &str, loss: &L, y: &V<N>, t: &Tg)
where
    L: Loss,
    V<N>: staticnet::loss::Prediction<L, Tg>,
{
    let (l, g) = loss.loss_and_grad(y, t);
    assert_eq!(l, loss.loss(y, t), "{what}: loss and loss_and_grad agree");
    let g: &[f64] = g.as_slice();
    let mut numeric = [0.0; N];
    for (k, n) in numeric.iter_mut().enumerate() {
        let (mut yp, mut ym) = (*y, *y);
        yp[k] += EPS;
        ym[k] -= EPS;
        *n = (loss.loss(&yp, t).as_f64() - loss.loss(&ym, t).as_f64()) / (2.0 * EPS);
    }
    assert_gradcheck(what, g, &numeric);
}

#[test]
fn losses_match_finite_differences() {
    let mut r = rng(30);
    for trial in 0..5 {
        let y = vector::<4>(&mut r, 1e-3);
        let t = vector::<4>(&mut r, 0.0);
        loss_check(&format!("MeanSquared {trial}"), &MeanSquared, &y, &t);
        loss_check(&format!("Huber {trial}"), &Huber::default(), &y, &t);
        loss_check(&format!("Huber(0.3) {trial}"), &Huber::new(0.3f64), &y, &t);
        let p = t.map(|v| (v + 2.0) / 4.0);
        loss_check(
            &format!("BinaryCrossEntropy {trial}"),
            &BinaryCrossEntropy,
            &y,
            &p,
        );
        for class in 0..4 {
            loss_check(
                &format!("CrossEntropy class {class}, {trial}"),
                &CrossEntropy,
                &y,
                &class,
            );
        }
        let probs = p / p.sum();
        loss_check(
            &format!("CrossEntropy probabilities {trial}"),
            &CrossEntropy,
            &y,
            &probs,
        );
    }
}

#[test]
fn losses_agree_with_reference_formulas() {
    let y = V::<3>::from([0.5, -1.0, 2.0]);
    let t = V::<3>::from([1.0, 0.0, 1.0]);
    approx::assert_relative_eq!(
        MeanSquared.loss(&y, &t),
        (0.25 + 1.0 + 1.0) / 3.0,
        max_relative = 1e-15
    );
    let bce: f64 = (0..3)
        .map(|k| {
            let s = 1.0 / (1.0 + (-y[k]).exp());
            -(t[k] * s.ln() + (1.0 - t[k]) * (1.0 - s).ln())
        })
        .sum::<f64>()
        / 3.0;
    approx::assert_relative_eq!(BinaryCrossEntropy.loss(&y, &t), bce, max_relative = 1e-14);
    // Huber with δ = 1: d = (−0.5, −1, 1): all quadratic: ½(0.25 + 1 + 1) / 3.
    approx::assert_relative_eq!(
        Huber::default().loss(&y, &t),
        0.5 * 2.25 / 3.0,
        max_relative = 1e-15
    );
    // Huber with δ = 0.5: linear parts 0.5(|d| − 0.25).
    let h = (0.5 * 0.25 + 0.5 * 0.75 + 0.5 * 0.75) / 3.0;
    approx::assert_relative_eq!(Huber::new(0.5f64).loss(&y, &t), h, max_relative = 1e-15);
    let lse = (0.5f64.exp() + (-1.0f64).exp() + 2.0f64.exp()).ln();
    approx::assert_relative_eq!(CrossEntropy.loss(&y, &2), lse - 2.0, max_relative = 1e-15);
    // A one-hot probability target equals the class-index form.
    let onehot = V::<3>::from([0.0, 0.0, 1.0]);
    approx::assert_relative_eq!(
        CrossEntropy.loss(&y, &onehot),
        lse - 2.0,
        max_relative = 1e-15
    );
    let (_, g1) = CrossEntropy.loss_and_grad(&y, &2);
    let (_, g2) = CrossEntropy.loss_and_grad(&y, &onehot);
    approx::assert_relative_eq!(g1, g2, max_relative = 1e-15);
}

#[test]
fn cross_entropy_is_finite_for_huge_logits() {
    for y in [
        V::<3>::from([1e4, -1e4, 0.0]),
        V::<3>::from([-1e4, -1e4, -1e4]),
    ] {
        for class in 0..3 {
            let (l, g) = CrossEntropy.loss_and_grad(&y, &class);
            assert!(l.is_finite() && l >= 0.0, "{l}");
            assert!(g.iter().all(|v| v.is_finite()));
        }
    }
    let y32 = SVector::<f32, 3>::from([1e4, -1e4, 0.0]);
    assert_eq!(CrossEntropy.loss(&y32, &0), 0.0);
    assert_eq!(CrossEntropy.loss(&y32, &1), 2e4);
    let (l, _) = BinaryCrossEntropy.loss_and_grad(&y32, &SVector::from([0.0, 1.0, 0.5]));
    assert!(l.is_finite());
}

#[test]
fn batch_losses_are_means_of_sample_losses_with_matching_gradients() {
    let mut r = rng(31);
    let y = SMatrix::<f64, 3, 4>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0));
    let classes = [0usize, 2, 1, 2];
    let (l, g) = CrossEntropy.batch_loss_and_grad(&y, &classes);
    let mean: f64 = (0..4)
        .map(|j| CrossEntropy.loss(&y.column(j).into_owned(), &classes[j]))
        .sum::<f64>()
        / 4.0;
    approx::assert_relative_eq!(l, mean, max_relative = 1e-15);
    assert_eq!(CrossEntropy.batch_loss(&y, &classes), l);
    let mut numeric = [0.0; 12];
    for (k, n) in numeric.iter_mut().enumerate() {
        let (mut yp, mut ym) = (y, y);
        yp.as_mut_slice()[k] += EPS;
        ym.as_mut_slice()[k] -= EPS;
        *n = (CrossEntropy.batch_loss(&yp, &classes) - CrossEntropy.batch_loss(&ym, &classes))
            / (2.0 * EPS);
    }
    assert_gradcheck("batch cross-entropy", g.as_slice(), &numeric);

    // A partial batch: the mean over its first columns, zero gradient elsewhere.
    let (lp, gp) = CrossEntropy.partial_batch_loss_and_grad(&y, &classes, 3);
    let mean3: f64 = (0..3)
        .map(|j| CrossEntropy.loss(&y.column(j).into_owned(), &classes[j]))
        .sum::<f64>()
        / 3.0;
    approx::assert_relative_eq!(lp, mean3, max_relative = 1e-15);
    assert!(gp.column(3).iter().all(|&v| v == 0.0));
}

// ---- composed networks ----

fn network_check<N, const I: usize, const O: usize>(what: &str, seed: u64)
where
    N: Train<V<I>, Output = V<O>> + Params<f64> + Clone,
{
    let mut r = rng(seed);
    let mut net = N::random(Init::XavierNormal, &mut r);
    let n = N::NUM_PARAMS;
    let theta: Vec<f64> = flat(&net)
        .iter()
        .map(|w| w + uniform(&mut r, -0.1, 0.1))
        .collect();
    assert_eq!(theta.len(), n);
    set_flat(&mut net, &theta);
    for trial in 0..2 {
        let x = vector::<I>(&mut r, 1e-3);
        gradcheck(&format!("{what} (trial {trial})"), &net, &x);
    }
}

type Mlp = (
    Dense<3, 8, f64>,
    Tanh,
    Dense<8, 4, f64>,
    Sigmoid,
    Dense<4, 2, f64>,
);
type WithSoftmax = (Dense<4, 6, f64>, Gelu, Dense<6, 5, f64>, Softmax);
type Deep = (
    Dense<3, 6, f64>,
    Tanh,
    Dense<6, 6, f64>,
    Softplus,
    Dense<6, 5, f64>,
    Elu,
    Dense<5, 5, f64>,
    Sigmoid,
    Dense<5, 4, f64>,
    Gelu,
    Dense<4, 3, f64>,
    Softmax,
);
type Nested = (
    (Dense<2, 5, f64>, LeakyRelu),
    ((Dense<5, 5, f64>, Tanh), (Dense<5, 5, f64>, Identity)),
    Dense<5, 3, f64>,
    Relu,
);

#[test]
fn composed_network_gradients_match_finite_differences() {
    network_check::<Mlp, 3, 2>("Mlp", 40);
    network_check::<WithSoftmax, 4, 5>("with Softmax", 41);
    network_check::<Deep, 3, 3>("12-layer", 42);
    network_check::<Nested, 2, 3>("nested blocks", 43);
}

#[test]
fn network_loss_gradient_matches_finite_differences() {
    let mut r = rng(50);
    let net = <(Dense<4, 8, f64>, Relu, Dense<8, 3, f64>)>::random(Init::He, &mut r);
    let x = vector::<4>(&mut r, 0.1);
    let mut grad = Params::<f64>::zeros();
    let l = net.loss_and_grad(&CrossEntropy, &x, &2, &mut grad);
    assert_eq!(l, net.loss(&CrossEntropy, &x, &2));
    let theta = flat(&net);
    let mut probe = net.clone();
    let numeric: Vec<f64> = (0..theta.len())
        .map(|p| {
            let mut t = theta.clone();
            t[p] += EPS;
            set_flat(&mut probe, &t);
            let lp = probe.loss(&CrossEntropy, &x, &2);
            t[p] -= 2.0 * EPS;
            set_flat(&mut probe, &t);
            (lp - probe.loss(&CrossEntropy, &x, &2)) / (2.0 * EPS)
        })
        .collect();
    assert_gradcheck("∂L/∂θ", &flat(&grad), &numeric);

    // The batch form's gradient is the mean of the per-sample gradients.
    let xb = SMatrix::<f64, 4, 3>::from_fn(|_, _| uniform(&mut r, -1.0, 1.0));
    let targets = [0usize, 2, 1];
    let mut gb = Params::<f64>::zeros();
    net.batch_loss_and_grad(&CrossEntropy, &xb, &targets, &mut gb);
    let mut gs = Params::<f64>::zeros();
    for (j, t) in targets.iter().enumerate() {
        net.loss_and_grad(&CrossEntropy, &xb.column(j).into_owned(), t, &mut gs);
    }
    for (a, b) in flat(&gb).iter().zip(flat(&gs)) {
        approx::assert_relative_eq!(*a, b / 3.0, max_relative = 1e-12, epsilon = 1e-15);
    }
}
