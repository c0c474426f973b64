//! Batch and layer normalisation: exact gradients (central finite
//! differences in `f64`), PyTorch's numbers (a fixture written by
//! tests/fixtures/norm/make_fixture.py), running statistics, folding into a
//! dense layer, weights files, Rust source, optimizers and memory.
//!
//! Tolerances against PyTorch: `|ours − torch| ≤ tol · max(1, |torch|)`
//! element by element (absolute below 1, relative above), with `tol = 1e-5`
//! in `f32` and `1e-10` in `f64`.

mod common;

mod generated {
    include!("fixtures/norm/generated.rs");
}

use std::collections::HashMap;
use std::mem::size_of;

use common::{EPS, assert_gradcheck, flat, gradcheck, rng, set_flat, uniform};
use nalgebra::{SMatrix, SVector};
use rand::Rng;
use staticnet::io::{self, rust::to_rust};
use staticnet::optim::{Adam, Optimizer, Sgd};
use staticnet::prelude::*;
use staticnet::train::{Control, Trainer};
use staticnet::{BatchNormTape, LayerNormTape, Node, Scalar};

// ---------------------------------------------------------------- helpers

fn random_matrix<const R: usize, const C: usize>(
    r: &mut impl Rng,
    lo: f64,
    hi: f64,
) -> SMatrix<f64, R, C> {
    SMatrix::from_fn(|_, _| uniform(r, lo, hi))
}

/// A batch norm with random γ, β and running statistics.
fn random_bn<const N: usize>(r: &mut impl Rng) -> BatchNorm1d<N, f64> {
    let mut bn = BatchNorm1d::<N, f64>::new();
    bn.weight = random_matrix(r, 0.5, 1.5);
    bn.bias = random_matrix(r, -0.5, 0.5);
    bn.running_mean = random_matrix(r, -1.0, 1.0);
    bn.running_var = random_matrix(r, 0.3, 2.0);
    bn
}

fn random_ln<const N: usize>(r: &mut impl Rng) -> LayerNorm<N, f64> {
    let mut ln = LayerNorm::<N, f64>::new();
    ln.weight = random_matrix(r, 0.5, 1.5);
    ln.bias = random_matrix(r, -0.5, 0.5);
    ln
}

/// `L = Σ c ⊙ y` over the first `samples` columns, the forward pass in
/// training mode with that many samples (`None`: inference).
fn loss<Net, const I: usize, const O: usize, const B: usize>(
    net: &Net,
    x: &SMatrix<f64, I, B>,
    c: &SMatrix<f64, O, B>,
    samples: Option<usize>,
) -> f64
where
    Net: Train<SMatrix<f64, I, B>, Output = SMatrix<f64, O, B>>,
{
    let mut r = rng(0);
    let (y, m) = match samples {
        Some(m) => (net.forward_tape(x, &mut Mode::training(&mut r, m)).0, m),
        None => (net.forward_tape(x, &mut Mode::Inference).0, B),
    };
    (0..m).map(|j| y.column(j).dot(&c.column(j))).sum()
}

/// Central difference of `f` along each coordinate of `at`.
fn numeric_gradient(at: &[f64], mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let mut p = at.to_vec();
    (0..at.len())
        .map(|k| {
            p[k] = at[k] + EPS;
            let plus = f(&p);
            p[k] = at[k] - EPS;
            let minus = f(&p);
            p[k] = at[k];
            (plus - minus) / (2.0 * EPS)
        })
        .collect()
}

/// gradcheck's criterion (tests/common), and a tighter one:
/// `|analytic − numeric| ≤ 1e-8 · max(1, |numeric|)`, which central
/// differences with a step of 1e-6 meet in `f64` for these smooth functions.
fn assert_close(what: &str, analytic: &[f64], numeric: &[f64]) {
    assert_gradcheck(what, analytic, numeric);
    let mut worst = 0.0f64;
    for (k, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        let d = (a - n).abs() / n.abs().max(1.0);
        worst = worst.max(d);
        assert!(
            d <= 1e-8,
            "{what}: element {k}: analytic {a:e} vs numeric {n:e} ({d:e})"
        );
    }
    println!("{what}: worst deviation from central differences {worst:.1e}");
}

/// Checks `∂L/∂x` and `∂L/∂θ` of `L = Σ c ⊙ y` (over the real columns)
/// against central differences, in training mode with `samples` real
/// columns or in inference (`None`). The backward pass is given `dy`, which
/// equals `c` on the real columns and may hold anything on the padding.
/// The padding's input gradient must be exactly 0, the buffers of the
/// gradient must stay 0, and a second backward pass must give the same bits.
fn check_gradients<Net, const I: usize, const O: usize, const B: usize>(
    what: &str,
    net: &Net,
    x: &SMatrix<f64, I, B>,
    c: &SMatrix<f64, O, B>,
    dy: &SMatrix<f64, O, B>,
    samples: Option<usize>,
) where
    Net: Train<SMatrix<f64, I, B>, Output = SMatrix<f64, O, B>> + Params<f64> + Clone,
{
    let m = samples.unwrap_or(B);
    let mut r = rng(0);
    let mut mode = match samples {
        Some(m) => Mode::training(&mut r, m),
        None => Mode::Inference,
    };
    let (_, tape) = net.forward_tape(x, &mut mode);
    let mut grad = Net::zeros();
    let dx = net.backward(&tape, dy, &mut grad);

    // ∂L/∂x on the real columns; the padding's is 0.
    let numeric = numeric_gradient(x.as_slice(), |v| {
        loss(net, &SMatrix::from_column_slice(v), c, samples)
    });
    assert_close(
        &format!("{what}: ∂L/∂x"),
        &dx.as_slice()[..I * m],
        &numeric[..I * m],
    );
    assert!(
        dx.as_slice()[I * m..].iter().all(|&v| v == 0.0),
        "{what}: the padding's input gradient is 0: {dx}"
    );
    assert!(
        numeric[I * m..].iter().all(|&v| v.abs() < 1e-9),
        "{what}: the padding does not change the loss"
    );

    // ∂L/∂θ.
    let theta = flat(net);
    let mut probe = net.clone();
    let numeric = numeric_gradient(&theta, |t| {
        set_flat(&mut probe, t);
        loss(&probe, x, c, samples)
    });
    assert_close(&format!("{what}: ∂L/∂θ"), &flat(&grad), &numeric);

    // A gradient's buffers stay zero.
    Net::zip_buffers([&grad], [], &mut |[b], []| {
        assert!(
            b.iter().all(|&v| v == 0.0),
            "{what}: gradient buffers are 0"
        )
    });

    // backward_params gives the same parameter gradient; backward is pure.
    let mut g2 = Net::zeros();
    net.backward_params(&tape, dy, &mut g2);
    let mut g3 = Net::zeros();
    let dx3 = net.backward(&tape, dy, &mut g3);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&flat(&grad)),
        bits(&flat(&g2)),
        "{what}: backward_params"
    );
    assert_eq!(bits(&flat(&grad)), bits(&flat(&g3)), "{what}: dθ twice");
    assert_eq!(
        bits(dx.as_slice()),
        bits(dx3.as_slice()),
        "{what}: dx twice"
    );
}

// ---------------------------------------------------------------- gradients

#[test]
fn batch_norm_training_gradient_is_exact() {
    let mut r = rng(1);
    let bn = random_bn::<4>(&mut r);
    let x = random_matrix::<4, 5>(&mut r, -2.0, 2.0);
    let c = random_matrix::<4, 5>(&mut r, -1.0, 1.0);
    check_gradients("BatchNorm1d, training, 5 of 5", &bn, &x, &c, &c, Some(5));
    // Two samples, the smallest batch with a variance.
    let x2 = random_matrix::<4, 2>(&mut r, -2.0, 2.0);
    let c2 = random_matrix::<4, 2>(&mut r, -1.0, 1.0);
    check_gradients("BatchNorm1d, training, 2 of 2", &bn, &x2, &c2, &c2, Some(2));
}

#[test]
fn batch_norm_padding_counts_nowhere() {
    let mut r = rng(2);
    let mut bn = random_bn::<4>(&mut r);
    let x = random_matrix::<4, 5>(&mut r, -2.0, 2.0);
    let c = random_matrix::<4, 5>(&mut r, -1.0, 1.0);
    // The backward pass gets a non-zero dy on the padding: it must ignore it.
    check_gradients("BatchNorm1d, training, 3 of 5", &bn, &x, &c, &c, Some(3));

    // Other padding, same everything on the real columns, bit for bit; and
    // the same as a batch of exactly the 3 real samples.
    let mut x2 = x;
    x2.fixed_columns_mut::<2>(3)
        .copy_from(&random_matrix::<4, 2>(&mut r, -9.0, 9.0));
    let x3: SMatrix<f64, 4, 3> = x.fixed_columns::<3>(0).into();
    let mut g = rng(0);
    let (y, t) = bn.forward_tape(&x, &mut Mode::training(&mut g, 3));
    let (y2, t2) = bn.forward_tape(&x2, &mut Mode::training(&mut g, 3));
    let (y3, t3) = bn.forward_tape(&x3, &mut Mode::training(&mut g, 3));
    assert!(y.iter().chain(y2.iter()).all(|v| v.is_finite()));
    assert_eq!(y.fixed_columns::<3>(0), y2.fixed_columns::<3>(0));
    assert_eq!(y.fixed_columns::<3>(0), y3);
    assert_eq!(
        (t.batch_mean(), t.batch_var()),
        (t2.batch_mean(), t2.batch_var())
    );
    assert_eq!(
        (t.batch_mean(), t.batch_var()),
        (t3.batch_mean(), t3.batch_var())
    );
    assert_eq!(t.inv_std(), t3.inv_std());
    assert_eq!(t.samples(), 3);
    let (mut ga, mut gb) = (BatchNorm1d::zeros(), BatchNorm1d::zeros());
    let dx = bn.backward(&t2, &c, &mut ga);
    let dx3 = bn.backward(&t3, &c.fixed_columns::<3>(0).into(), &mut gb);
    assert_eq!(ga, gb);
    assert_eq!(dx.fixed_columns::<3>(0), dx3);
    // Running statistics: the same as from the 3 real samples.
    let mut bn3 = bn.clone();
    bn.update_buffers(&t2);
    bn3.update_buffers(&t3);
    assert_eq!(bn, bn3);
}

#[test]
fn batch_norm_inference_gradient_is_exact() {
    let mut r = rng(3);
    let bn = random_bn::<4>(&mut r);
    let x = random_matrix::<4, 5>(&mut r, -2.0, 2.0);
    let c = random_matrix::<4, 5>(&mut r, -1.0, 1.0);
    check_gradients("BatchNorm1d, inference", &bn, &x, &c, &c, None);
    // One sample, through Network::jacobian.
    gradcheck(
        "BatchNorm1d, one sample",
        &bn,
        &SVector::<f64, 4>::from_fn(|i, _| x[i]),
    );
    // Inference is an affine map per feature: forward and the tape agree.
    let (y, t) = bn.forward_tape(&x, &mut Mode::Inference);
    assert_eq!(y, bn.predict(&x));
    assert!(!t.is_training());
}

#[test]
fn layer_norm_gradient_is_exact() {
    let mut r = rng(4);
    let ln = random_ln::<4>(&mut r);
    let x = random_matrix::<4, 5>(&mut r, -2.0, 2.0);
    let c = random_matrix::<4, 5>(&mut r, -1.0, 1.0);
    check_gradients("LayerNorm, inference", &ln, &x, &c, &c, None);
    check_gradients("LayerNorm, training", &ln, &x, &c, &c, Some(5));
    gradcheck(
        "LayerNorm, one sample",
        &ln,
        &SVector::<f64, 4>::from_fn(|i, _| x[i]),
    );
    // Padding with a zero dy (what the loss gives it) gets a zero gradient.
    let mut c0 = c;
    c0.fixed_columns_mut::<2>(3).fill(0.0);
    check_gradients("LayerNorm, training, 3 of 5", &ln, &x, &c, &c0, Some(3));
    // Training and inference compute the same.
    let mut g = rng(0);
    let a = ln.forward_tape(&x, &mut Mode::training(&mut g, 3));
    let b = ln.forward_tape(&x, &mut Mode::Inference);
    assert_eq!(a, b);
    assert_eq!(a.0, ln.predict(&x));
}

type BnNet = (
    Dense<3, 4, f64>,
    BatchNorm1d<4, f64>,
    Tanh,
    Dense<4, 2, f64>,
);
type LnNet = (Dense<3, 4, f64>, LayerNorm<4, f64>, Tanh, Dense<4, 2, f64>);

#[test]
fn networks_with_normalisation_have_exact_gradients() {
    let mut r = rng(5);
    let mut bn_net = BnNet::random(Init::Xavier, &mut r);
    bn_net.1 = random_bn(&mut r);
    let mut ln_net = LnNet::random(Init::Xavier, &mut r);
    ln_net.1 = random_ln(&mut r);
    let x = random_matrix::<3, 5>(&mut r, -2.0, 2.0);
    let c = random_matrix::<2, 5>(&mut r, -1.0, 1.0);
    // The loss gives the padding a zero gradient.
    let mut c0 = c;
    c0.fixed_columns_mut::<2>(3).fill(0.0);

    check_gradients(
        "Dense+BN+Tanh+Dense, training",
        &bn_net,
        &x,
        &c,
        &c,
        Some(5),
    );
    check_gradients(
        "Dense+BN+Tanh+Dense, training, 3 of 5",
        &bn_net,
        &x,
        &c,
        &c0,
        Some(3),
    );
    check_gradients("Dense+BN+Tanh+Dense, inference", &bn_net, &x, &c, &c, None);
    gradcheck(
        "Dense+BN+Tanh+Dense, one sample",
        &bn_net,
        &SVector::from([0.3, -1.1, 0.8]),
    );

    check_gradients(
        "Dense+LN+Tanh+Dense, training",
        &ln_net,
        &x,
        &c,
        &c,
        Some(5),
    );
    check_gradients(
        "Dense+LN+Tanh+Dense, training, 3 of 5",
        &ln_net,
        &x,
        &c,
        &c0,
        Some(3),
    );
    gradcheck(
        "Dense+LN+Tanh+Dense, one sample",
        &ln_net,
        &SVector::from([0.3, -1.1, 0.8]),
    );

    // Both in one network.
    type Both = (
        Dense<3, 4, f64>,
        BatchNorm1d<4, f64>,
        Relu,
        Dense<4, 4, f64>,
        LayerNorm<4, f64>,
        Tanh,
        Dense<4, 2, f64>,
    );
    let mut both = Both::random(Init::He, &mut r);
    both.1 = random_bn(&mut r);
    both.4 = random_ln(&mut r);
    let x = random_matrix::<3, 5>(&mut r, 0.1, 2.0);
    check_gradients("BN and LN, training, 3 of 5", &both, &x, &c, &c0, Some(3));
}

#[test]
fn one_sample_in_training_is_finite_and_documented() {
    let mut r = rng(6);
    let mut bn = random_bn::<3>(&mut r);
    let x = SVector::<f64, 3>::from([0.5, -2.0, 7.0]);
    let dy = SVector::<f64, 3>::from([1.0, -0.5, 0.25]);
    let mut g = rng(0);
    let (y, tape) = bn.forward_tape(&x, &mut Mode::training(&mut g, 1));
    // Variance 0: x̂ = 0, the output is β and the input gradient 0.
    assert_eq!(y, bn.bias);
    let mut grad = BatchNorm1d::zeros();
    let dx = bn.backward(&tape, &dy, &mut grad);
    assert_eq!(dx, SVector::<f64, 3>::zeros());
    assert_eq!(grad.weight, SVector::<f64, 3>::zeros());
    assert_eq!(grad.bias, dy);
    // The running mean follows, the running variance stays.
    let before = bn.clone();
    bn.update_buffers(&tape);
    for i in 0..3 {
        assert_eq!(
            bn.running_mean[i],
            0.1 * x[i] + 0.9 * before.running_mean[i]
        );
    }
    assert_eq!(bn.running_var, before.running_var);

    // No real sample at all: finite output, zero gradients, no update.
    let xs = SMatrix::<f64, 3, 2>::from_fn(|i, j| (i * 2 + j) as f64);
    let (y, tape) = bn.forward_tape(&xs, &mut Mode::training(&mut g, 0));
    assert!(y.iter().all(|v| v.is_finite()));
    let mut grad = BatchNorm1d::zeros();
    let dx = bn.backward(&tape, &SMatrix::<f64, 3, 2>::repeat(1.0), &mut grad);
    assert_eq!(dx, SMatrix::<f64, 3, 2>::zeros());
    assert_eq!(grad, BatchNorm1d::zeros());
    let before = bn.clone();
    bn.update_buffers(&tape);
    assert_eq!(bn, before);

    // Equal values in a batch: variance 0, nothing infinite.
    let same = SMatrix::<f64, 3, 4>::repeat(0.1);
    let (y, tape) = bn.forward_tape(&same, &mut Mode::training(&mut g, 4));
    assert!(y.iter().chain(tape.inv_std().iter()).all(|v| v.is_finite()));
    // samples beyond the batch are the whole batch.
    let (_, tape) = bn.forward_tape(&same, &mut Mode::training(&mut g, 99));
    assert_eq!(tape.samples(), 4);

    // And in f32.
    let bn32 = BatchNorm1d::<3, f32>::new();
    let (y, _) = bn32.forward_tape(
        &SVector::from([1.0f32, 2.0, 3.0]),
        &mut Mode::training(&mut g, 1),
    );
    assert_eq!(y, SVector::<f32, 3>::zeros());
}

// ---------------------------------------------------------------- PyTorch

struct Fixture(HashMap<String, (Vec<usize>, Vec<f64>)>);

impl Fixture {
    fn load() -> Fixture {
        let text = include_str!("fixtures/norm/expected.txt");
        let mut map = HashMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let mut words = line.split_ascii_whitespace();
            let name = words.next().unwrap().to_string();
            let rank: usize = words.next().unwrap().parse().unwrap();
            let dims: Vec<usize> = (0..rank)
                .map(|_| words.next().unwrap().parse().unwrap())
                .collect();
            let values: Vec<f64> = words.map(|w| w.parse().unwrap()).collect();
            assert_eq!(values.len(), dims.iter().product::<usize>(), "{name}");
            map.insert(name, (dims, values));
        }
        Fixture(map)
    }

    fn values<T: Scalar>(&self, name: &str, shape: &[usize]) -> Vec<T> {
        let (dims, values) = self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("fixture has no {name}"));
        assert_eq!(dims, shape, "{name}: shape");
        values.iter().map(|&v| T::of_f64(v)).collect()
    }

    fn scalar(&self, name: &str) -> f64 {
        self.values::<f64>(name, &[])[0]
    }

    fn vector<T: Scalar, const N: usize>(&self, name: &str) -> SVector<T, N> {
        SVector::from_column_slice(&self.values(name, &[N]))
    }

    /// A `(B, N)` tensor as an `N × B` batch: PyTorch's row-major `(B, N)`
    /// is nalgebra's column-major `N × B`, value for value.
    fn batch<T: Scalar, const N: usize, const B: usize>(&self, name: &str) -> SMatrix<T, N, B> {
        SMatrix::from_column_slice(&self.values(name, &[B, N]))
    }
}

/// The largest `|ours − torch| / max(1, |torch|)`, asserting it is at most `tol`.
fn deviation<T: Scalar>(what: &str, ours: &[T], torch: &[T], tol: f64) -> f64 {
    assert_eq!(ours.len(), torch.len());
    let mut worst = 0.0f64;
    for (k, (&a, &b)) in ours.iter().zip(torch).enumerate() {
        let (a, b) = (a.as_f64(), b.as_f64());
        let d = (a - b).abs() / b.abs().max(1.0);
        assert!(
            d <= tol,
            "{what}[{k}]: ours {a:e}, PyTorch {b:e} ({d:e} > {tol:e})"
        );
        worst = worst.max(d);
    }
    worst
}

/// One batch-norm case: a training step (output, gradients, running
/// statistics after it), then inference with the updated statistics. The
/// batch is given with `P` extra padding columns holding garbage (and a
/// garbage `dy` there): they must change nothing. Returns the worst
/// deviation.
fn batch_norm_case<T: Scalar, const N: usize, const B: usize, const P: usize>(
    fx: &Fixture,
    case: &str,
    tol: f64,
) -> f64
where
    BatchNorm1d<N, T>: Train<SMatrix<T, N, P>, Output = SMatrix<T, N, P>, Tape = BatchNormTape<N, P, T>>
        + Train<SMatrix<T, N, B>, Output = SMatrix<T, N, B>, Tape = BatchNormTape<N, B, T>>,
{
    assert!(P >= B);
    let p = |name: &str| format!("{}.{case}.{name}", T::NAME);
    let mut bn = BatchNorm1d::<N, T>::new();
    bn.weight = fx.vector(&p("weight"));
    bn.bias = fx.vector(&p("bias"));
    bn.running_mean = fx.vector(&p("running_mean"));
    bn.running_var = fx.vector(&p("running_var"));
    bn.eps = fx.scalar(&p("eps"));
    bn.momentum = fx.scalar(&p("momentum"));
    let x: SMatrix<T, N, B> = fx.batch(&p("x"));
    let c: SMatrix<T, N, B> = fx.batch(&p("c"));
    let mut xp = SMatrix::<T, N, P>::from_fn(|i, j| T::of_f64((i * 7 + j * 3) as f64 - 5.5));
    let mut cp = SMatrix::<T, N, P>::from_fn(|i, j| T::of_f64(i as f64 - j as f64));
    xp.fixed_columns_mut::<B>(0).copy_from(&x);
    cp.fixed_columns_mut::<B>(0).copy_from(&c);
    let real = |m: &SMatrix<T, N, P>| m.fixed_columns::<B>(0).iter().copied().collect::<Vec<T>>();

    let mut worst = 0.0f64;
    let mut check = |what: &str, ours: &[T], torch: &[T]| {
        worst = worst.max(deviation(
            &format!("{} {case} {what}", T::NAME),
            ours,
            torch,
            tol,
        ));
    };
    let as_vec = |m: &[T]| m.to_vec();

    let mut g = rng(0);
    // Training step, padded and not.
    for padded in [true, false] {
        let mut layer = bn.clone();
        let mut grad = BatchNorm1d::<N, T>::zeros();
        let (y, dx) = if padded {
            let (y, tape) = layer.forward_tape(&xp, &mut Mode::training(&mut g, B));
            let dx: SMatrix<T, N, P> = layer.backward(&tape, &cp, &mut grad);
            assert!((B..P).all(|j| dx.column(j).iter().all(|&v| v == T::zero())));
            Train::<SMatrix<T, N, P>>::update_buffers(&mut layer, &tape);
            (real(&y), real(&dx))
        } else {
            let (y, tape) = layer.forward_tape(&x, &mut Mode::training(&mut g, B));
            let dx: SMatrix<T, N, B> = layer.backward(&tape, &c, &mut grad);
            Train::<SMatrix<T, N, B>>::update_buffers(&mut layer, &tape);
            (as_vec(y.as_slice()), as_vec(dx.as_slice()))
        };
        check("train y", &y, &fx.values(&p("train.y"), &[B, N]));
        check("train dx", &dx, &fx.values(&p("train.dx"), &[B, N]));
        check(
            "train dweight",
            grad.weight.as_slice(),
            &fx.values(&p("train.dweight"), &[N]),
        );
        check(
            "train dbias",
            grad.bias.as_slice(),
            &fx.values(&p("train.dbias"), &[N]),
        );
        check(
            "running_mean",
            layer.running_mean.as_slice(),
            &fx.values(&p("train.running_mean"), &[N]),
        );
        check(
            "running_var",
            layer.running_var.as_slice(),
            &fx.values(&p("train.running_var"), &[N]),
        );

        // Inference with the updated statistics.
        let mut grad = BatchNorm1d::<N, T>::zeros();
        let (y, tape) = layer.forward_tape(&x, &mut Mode::Inference);
        assert_eq!(y, layer.predict(&x));
        let dx: SMatrix<T, N, B> = layer.backward(&tape, &c, &mut grad);
        check("eval y", y.as_slice(), &fx.values(&p("eval.y"), &[B, N]));
        check("eval dx", dx.as_slice(), &fx.values(&p("eval.dx"), &[B, N]));
        check(
            "eval dweight",
            grad.weight.as_slice(),
            &fx.values(&p("eval.dweight"), &[N]),
        );
        check(
            "eval dbias",
            grad.bias.as_slice(),
            &fx.values(&p("eval.dbias"), &[N]),
        );
    }
    worst
}

fn layer_norm_case<T: Scalar, const N: usize, const B: usize>(
    fx: &Fixture,
    case: &str,
    tol: f64,
) -> f64
where
    LayerNorm<N, T>: Train<SMatrix<T, N, B>, Output = SMatrix<T, N, B>>,
{
    let p = |name: &str| format!("{}.{case}.{name}", T::NAME);
    let mut ln = LayerNorm::<N, T>::new();
    ln.weight = fx.vector(&p("weight"));
    ln.bias = fx.vector(&p("bias"));
    ln.eps = fx.scalar(&p("eps"));
    let x: SMatrix<T, N, B> = fx.batch(&p("x"));
    let c: SMatrix<T, N, B> = fx.batch(&p("c"));
    let mut worst = 0.0f64;
    let mut g = rng(0);
    for mode in ["train", "eval"] {
        let mut m = if mode == "train" {
            Mode::training(&mut g, B)
        } else {
            Mode::Inference
        };
        let (y, tape) = ln.forward_tape(&x, &mut m);
        let mut grad = LayerNorm::<N, T>::zeros();
        let dx = ln.backward(&tape, &c, &mut grad);
        for (what, ours, torch) in [
            (
                "y",
                y.as_slice(),
                fx.values::<T>(&p(&format!("{mode}.y")), &[B, N]),
            ),
            (
                "dx",
                dx.as_slice(),
                fx.values(&p(&format!("{mode}.dx")), &[B, N]),
            ),
            (
                "dweight",
                grad.weight.as_slice(),
                fx.values(&p(&format!("{mode}.dweight")), &[N]),
            ),
            (
                "dbias",
                grad.bias.as_slice(),
                fx.values(&p(&format!("{mode}.dbias")), &[N]),
            ),
        ] {
            worst = worst.max(deviation(
                &format!("{} {case} {mode} {what}", T::NAME),
                ours,
                &torch,
                tol,
            ));
        }
    }
    worst
}

#[test]
fn batch_norm_matches_pytorch() {
    let fx = Fixture::load();
    let f32_worst =
        batch_norm_case::<f32, 4, 6, 8>(&fx, "bn", 1e-5).max(batch_norm_case::<f32, 3, 4, 5>(
            &fx,
            "bn_custom",
            1e-5,
        ));
    let f64_worst =
        batch_norm_case::<f64, 4, 6, 8>(&fx, "bn", 1e-10).max(batch_norm_case::<f64, 3, 4, 5>(
            &fx,
            "bn_custom",
            1e-10,
        ));
    println!("BatchNorm1d vs PyTorch: worst deviation {f32_worst:e} in f32, {f64_worst:e} in f64");
}

#[test]
fn layer_norm_matches_pytorch() {
    let fx = Fixture::load();
    let f32_worst = layer_norm_case::<f32, 5, 3>(&fx, "ln", 1e-5)
        .max(layer_norm_case::<f32, 4, 2>(&fx, "ln_custom", 1e-5));
    let f64_worst = layer_norm_case::<f64, 5, 3>(&fx, "ln", 1e-10)
        .max(layer_norm_case::<f64, 4, 2>(&fx, "ln_custom", 1e-10));
    println!("LayerNorm vs PyTorch: worst deviation {f32_worst:e} in f32, {f64_worst:e} in f64");
}

#[test]
fn running_statistics_follow_pytorch_conventions() {
    // momentum weighs the new batch, the variance is unbiased, eps is added
    // to the variance inside the square root: checked here by hand, and
    // against PyTorch in batch_norm_matches_pytorch (momentum 0.1 and 0.25,
    // eps 1e-5 and 1e-3).
    let mut bn = BatchNorm1d::<1, f64>::from_parts([2.0], [0.5], [1.0], [3.0], 0.25, 0.2);
    let x = SMatrix::<f64, 1, 4>::new(1.0, 2.0, 4.0, 9.0);
    let mut g = rng(0);
    let (y, tape) = bn.forward_tape(&x, &mut Mode::training(&mut g, 4));
    // Mean 4, biased variance 9.5, unbiased 38/3.
    assert_eq!(tape.batch_mean()[0], 4.0);
    assert!((tape.batch_var()[0] - 38.0 / 3.0).abs() < 1e-14);
    assert!((y[0] - (2.0 * (1.0 - 4.0) / (9.5f64 + 0.25).sqrt() + 0.5)).abs() < 1e-14);
    bn.update_buffers(&tape);
    assert!((bn.running_mean[0] - (0.8 * 1.0 + 0.2 * 4.0)).abs() < 1e-15);
    assert!((bn.running_var[0] - (0.8 * 3.0 + 0.2 * 38.0 / 3.0)).abs() < 1e-14);
    // An inference pass leaves them alone.
    let before = bn.clone();
    let (_, tape) = bn.forward_tape(&x, &mut Mode::Inference);
    bn.update_buffers(&tape);
    assert_eq!(bn, before);
    let y = bn.predict(&x);
    let k = 2.0 / (bn.running_var[0] + 0.25).sqrt();
    assert!((y[0] - (k * (1.0 - bn.running_mean[0]) + 0.5)).abs() < 1e-14);
}

// ---------------------------------------------------------------- deployment

#[test]
fn folding_into_dense_is_the_same_function() {
    let mut r = rng(7);
    let dense = Dense::<3, 4, f64>::random(Init::Xavier, &mut r);
    let mut bn = random_bn::<4>(&mut r);
    bn.eps = 1e-3;
    let folded = bn.fold_into(&dense);
    let pair = (dense.clone(), bn.clone());
    let x = random_matrix::<3, 7>(&mut r, -3.0, 3.0);
    let diff = (folded.predict(&x) - pair.predict(&x)).abs().max();
    assert!(diff < 1e-12, "folded deviates by {diff:e}");
    // In a network: (Dense, BN, Tanh) ≡ (folded, Tanh).
    let net = (dense, bn, Tanh);
    let diff = ((folded, Tanh).predict(&x) - net.predict(&x)).abs().max();
    assert!(diff < 1e-12, "folded network deviates by {diff:e}");
}

type SaveNet<T> = (
    Dense<3, 4, T>,
    BatchNorm1d<4, T>,
    Relu,
    LayerNorm<4, T>,
    Dense<4, 2, T>,
);

fn all_bits<T: Scalar, N: Params<T>>(net: &N) -> Vec<(&'static str, Vec<u64>)> {
    let mut v = Vec::new();
    N::tensors([net], [], &mut |info, [t], []| {
        v.push((info.name, t.iter().map(|x| x.as_f64().to_bits()).collect()))
    });
    v
}

fn save_load_round_trip<T: Scalar>() {
    let mut r = rng(8);
    let mut net = SaveNet::<T>::random(Init::He, &mut r);
    for v in net
        .1
        .running_mean
        .iter_mut()
        .chain(net.1.running_var.iter_mut())
    {
        *v = T::of_f64(uniform(&mut r, 0.1, 3.0));
    }
    // Values that are easy to lose.
    net.1.running_mean[0] = T::of_f64(-0.0);
    net.1.running_var[1] = T::of_f64(f64::MIN_POSITIVE * 3.0); // subnormal in f32 → 0, normal in f64
    net.1.running_var[2] = T::of_f64(1.0 / 3.0);
    net.1.eps = 1e-3;
    net.1.momentum = 0.01;
    net.3.eps = 2e-5;
    let mut buf = vec![0u8; io::saved_len(&net)];
    let n = io::save(&net, &mut buf).unwrap();
    assert_eq!(n, buf.len());
    let mut copy = SaveNet::<T>::zeros();
    copy.1.eps = 1e-3;
    copy.1.momentum = 0.01;
    copy.3.eps = 2e-5;
    io::load(&mut copy, &buf).unwrap();
    assert_eq!(
        all_bits(&copy),
        all_bits(&net),
        "every tensor, buffers too, bit for bit"
    );
    assert_eq!(copy, net);

    // Settings are part of the description: another eps does not load.
    let mut other = SaveNet::<T>::zeros();
    other.1.momentum = 0.01;
    other.3.eps = 2e-5;
    let err = io::load(&mut other, &buf).unwrap_err();
    assert!(err.to_string().contains("eps"), "{err}");
    assert_eq!(
        other.1.running_var,
        SVector::<T, 4>::zeros(),
        "nothing was changed"
    );
}

#[test]
fn weights_files_keep_buffers_bit_for_bit() {
    save_load_round_trip::<f32>();
    save_load_round_trip::<f64>();
    // The description names the buffers as buffers.
    let mut nodes = Vec::new();
    BatchNorm1d::<2, f32>::new().describe(&mut |n| nodes.push(n));
    let tensors: Vec<_> = nodes
        .iter()
        .filter_map(|n| match n {
            Node::Tensor(t) => Some((t.name, t.role, t.shape.dims().to_vec())),
            _ => None,
        })
        .collect();
    use staticnet::params::{Role, Setting};
    assert_eq!(
        tensors,
        [
            ("weight", Role::Trainable, vec![2]),
            ("bias", Role::Trainable, vec![2]),
            ("running_mean", Role::Buffer, vec![2]),
            ("running_var", Role::Buffer, vec![2]),
        ]
    );
    assert_eq!(nodes[0], Node::Begin("BatchNorm1d"));
    assert_eq!(nodes[1], Node::Setting("eps", Setting::Real(1e-5)));
    assert_eq!(nodes[2], Node::Setting("momentum", Setting::Real(0.1)));
    let mut nodes = Vec::new();
    LayerNorm::<2, f32>::new().describe(&mut |n| nodes.push(n));
    assert_eq!(nodes[0], Node::Begin("LayerNorm"));
    assert_eq!(nodes[1], Node::Setting("eps", Setting::Real(1e-5)));
    assert_eq!(nodes.len(), 5);
}

type Gen32 = (BatchNorm1d<3, f32>, LayerNorm<3, f32>);
type Gen64 = (Dense<2, 3, f64>, BatchNorm1d<3, f64>, LayerNorm<3, f64>);

fn generated_nets() -> (Gen32, Gen64) {
    let mut r = rng(9);
    let mut a = Gen32::random(Init::He, &mut r);
    a.0.weight = SVector::from([1.5, -0.0, 1e-42]);
    a.0.bias = SVector::from([0.1, -0.2, 0.3]);
    a.0.running_mean = SVector::from([0.25, -1.0 / 3.0, 7.0]);
    a.0.running_var = SVector::from([1.0, 0.5, f32::MAX]);
    a.0.momentum = 0.05;
    a.1.weight = SVector::from([0.7, 0.8, 0.9]);
    a.1.eps = 1e-6;
    let mut b = Gen64::random(Init::He, &mut r);
    b.1 = random_bn(&mut r);
    b.1.eps = 1e-3;
    b.2 = random_ln(&mut r);
    (a, b)
}

#[test]
fn rust_source_compiles_back_into_the_same_layers() {
    let (a, b) = generated_nets();
    let source = format!(
        "{}\n{}",
        to_rust(&a, "NORM32").unwrap(),
        to_rust(&b, "NORM64").unwrap()
    );
    assert!(
        source.contains("staticnet::BatchNorm1d<3, f32>"),
        "{source}"
    );
    assert!(source.contains(
        "staticnet::BatchNorm1d::<3, f32>::from_parts([1.5, -0.0, 1e-42], [0.1, -0.2, 0.3], [0.25, -0.33333334, 7.0], [1.0, 0.5, 3.4028235e38], 1e-5, 0.05)"
    ), "{source}");
    assert!(
        source.contains(
            "staticnet::LayerNorm::<3, f32>::from_parts([0.7, 0.8, 0.9], [0.0, 0.0, 0.0], 1e-6)"
        ),
        "{source}"
    );
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/norm/generated.rs"
    );
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &source).unwrap();
    }
    // Compared word by word: the layout is the generator's (tests/codegen.rs).
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        words(&std::fs::read_to_string(path).unwrap()),
        words(&source),
        "the fixture is what to_rust writes (refresh: UPDATE_FIXTURES=1 cargo test --test norm)"
    );
    let (ga, gb): (&Gen32, &Gen64) = (&generated::NORM32, &generated::NORM64);
    assert_eq!(all_bits(ga), all_bits(&a));
    assert_eq!(all_bits(gb), all_bits(&b));
    assert_eq!(*ga, a);
    assert_eq!(*gb, b);
}

// ---------------------------------------------------------------- training

fn count_visited<N: Params<f64>>(net: &N) -> usize {
    let mut n = 0;
    N::zip([net], [], &mut |[p], []| n += p.len());
    n
}

#[test]
fn optimizers_never_touch_buffers() {
    type Net = (
        Dense<3, 4, f64>,
        BatchNorm1d<4, f64>,
        Tanh,
        Dense<4, 2, f64>,
    );
    assert_eq!(<BatchNorm1d<4, f64> as Params<f64>>::NUM_PARAMS, 8);
    assert_eq!(<BatchNorm1d<4, f64> as Params<f64>>::NUM_BUFFERS, 8);
    assert_eq!(<LayerNorm<4, f64> as Params<f64>>::NUM_BUFFERS, 0);
    assert_eq!(<Net as Params<f64>>::NUM_BUFFERS, 8);
    let mut r = rng(10);
    let mut net = Net::random(Init::Xavier, &mut r);
    net.1 = random_bn(&mut r);
    assert_eq!(count_visited(&net), <Net as Params<f64>>::NUM_PARAMS);
    assert_eq!(count_visited(&net.1), 8, "zip visits γ and β only");
    let mut buffers = 0;
    Net::zip_buffers([&net], [], &mut |[b], []| buffers += b.len());
    assert_eq!(buffers, 8);

    // A gradient whose buffers hold garbage still moves no buffer.
    let mut grad = Net::zeros();
    grad.visit_mut(&mut |p| p.fill(0.5));
    grad.1.running_mean.fill(1e3);
    grad.1.running_var.fill(-1e3);
    let before = net.clone();
    Sgd::new(0.1)
        .momentum(0.9)
        .weight_decay(0.01)
        .step(&mut net, &grad)
        .unwrap();
    Adam::new(0.1)
        .weight_decay(0.01)
        .step(&mut net, &grad)
        .unwrap();
    assert_ne!(net.1.weight, before.1.weight, "parameters move");
    assert_eq!(net.1.running_mean, before.1.running_mean);
    assert_eq!(net.1.running_var, before.1.running_var);
    // set_zero keeps buffers (and settings).
    grad.set_zero();
    assert_eq!(grad.1.running_mean, SVector::<f64, 4>::repeat(1e3));
    assert_eq!(grad.1.weight, SVector::<f64, 4>::zeros());
}

#[test]
fn init_gives_pytorchs_fresh_layer() {
    let mut r = rng(11);
    for init in [
        Init::Xavier,
        Init::XavierNormal,
        Init::He,
        Init::HeNormal,
        Init::PyTorch,
        Init::Zeros,
    ] {
        let mut net = (BatchNorm1d::<3, f32>::zeros(), LayerNorm::<3, f32>::zeros());
        net.0.running_mean.fill(5.0);
        net.init(init, &mut r);
        assert_eq!(net.0, BatchNorm1d::new(), "{init:?}");
        assert_eq!(net.0.weight, SVector::<f32, 3>::repeat(1.0));
        assert_eq!(net.0.bias, SVector::<f32, 3>::zeros());
        assert_eq!(net.0.running_mean, SVector::<f32, 3>::zeros());
        assert_eq!(net.0.running_var, SVector::<f32, 3>::repeat(1.0));
        assert_eq!(net.1, LayerNorm::new(), "{init:?}");
    }
    assert_eq!(BatchNorm1d::<3, f64>::default(), BatchNorm1d::new());
    assert_eq!(BatchNorm1d::<3, f64>::new().eps, 1e-5);
    assert_eq!(BatchNorm1d::<3, f64>::new().momentum, 0.1);
    assert_eq!(LayerNorm::<3, f64>::default().eps, 1e-5);
}

#[test]
fn trainer_updates_running_statistics() {
    // 10 samples in batches of 4: the last batch has 2 real samples.
    let data: [(SVector<f32, 2>, SVector<f32, 1>); 10] = core::array::from_fn(|i| {
        let x = SVector::from([i as f32 * 0.3 - 1.0, 5.0 + (i % 3) as f32]);
        (x, SVector::from([x[0] * 2.0 - x[1] * 0.5]))
    });
    type Net = (Dense<2, 8>, BatchNorm1d<8>, Relu, Dense<8, 1>);
    let mut r = rng(12);
    let mut net = Net::random(Init::He, &mut r);
    let before = net.clone();
    let mut losses = Vec::new();
    Trainer::new(Sgd::new(0.05))
        .epochs(60)
        .batch_size::<4>()
        .fit(&mut net, &MeanSquared, &data, &mut r, |report, _| {
            losses.push(report.train_loss);
            Control::Continue
        })
        .unwrap();
    assert!(losses.last().unwrap() < &(losses[0] * 0.5), "{losses:?}");
    assert_ne!(net.1.running_mean, before.1.running_mean);
    assert_ne!(net.1.running_var, before.1.running_var);
    assert!(net.1.running_var.iter().all(|&v| v.is_finite() && v >= 0.0));
    // The running statistics approach the statistics of the data.
    let mut sum = SVector::<f32, 8>::zeros();
    for (x, _) in &data {
        sum += net.0.predict(x);
    }
    let mean = sum / 10.0;
    assert!(
        (mean - net.1.running_mean).norm() < 0.5 * (1.0 + mean.norm()),
        "{mean} vs {}",
        net.1.running_mean
    );
}

// ---------------------------------------------------------------- memory

#[test]
fn tape_and_layer_sizes_are_as_documented() {
    // BatchNorm1d: 4N scalars and two f64.
    assert_eq!(size_of::<BatchNorm1d<4, f32>>(), 4 * 4 * 4 + 16);
    assert_eq!(size_of::<BatchNorm1d<4, f32>>(), 80);
    assert_eq!(size_of::<BatchNorm1d<4, f64>>(), 4 * 4 * 8 + 16);
    // Its tape: x̂ (N·B), 1/σ, mean, variance (3N), a count and a flag.
    type Bn = BatchNorm1d<4, f32>;
    assert_eq!(size_of::<<Bn as Train<SMatrix<f32, 4, 5>>>::Tape>(), 144);
    assert_eq!(
        size_of::<BatchNormTape<4, 5, f32>>(),
        4 * (4 * 5 + 3 * 4) + 16
    );
    assert_eq!(size_of::<BatchNormTape<4, 5, f64>>(), 272);
    assert_eq!(
        size_of::<<Bn as Train<SVector<f32, 4>>>::Tape>(),
        4 * (4 + 12) + 16
    );
    // LayerNorm: 2N scalars and one f64; its tape x̂ and one 1/σ per column.
    assert_eq!(size_of::<LayerNorm<4, f32>>(), 40);
    assert_eq!(size_of::<LayerNorm<4, f64>>(), 72);
    assert_eq!(
        size_of::<<LayerNorm<4> as Train<SMatrix<f32, 4, 5>>>::Tape>(),
        100
    );
    assert_eq!(size_of::<LayerNormTape<4, 5, f32>>(), (4 + 1) * 5 * 4);
    assert_eq!(size_of::<LayerNormTape<4, 5, f64>>(), 200);
    // In a network the tape is the sum of the layers' (Dense keeps its input,
    // Tanh its derivative), rounded up to the tape's alignment (8, for the
    // batch norm's count): 60 + 144 + 80 + 80 = 364 → 368 bytes.
    type Net = (Dense<3, 4>, BatchNorm1d<4>, Tanh, Dense<4, 2>);
    assert_eq!(size_of::<<Net as Train<SMatrix<f32, 3, 5>>>::Tape>(), 368);
    assert_eq!(
        (3 * 5 * 4 + 144 + 2 * 4 * 5 * 4usize).next_multiple_of(8),
        368
    );
}
