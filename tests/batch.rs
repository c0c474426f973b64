//! A batch (one sample per column) gives what the samples give one by one:
//! outputs, input gradients, and parameter gradients (summed), in f32.

mod common;

use common::{rng, uniform};
use nalgebra::{SMatrix, SVector};
use staticnet::prelude::*;

const B: usize = 5;

fn close(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (k, (&x, &y)) in a.iter().zip(b).enumerate() {
        let scale = x.abs().max(y.abs()).max(f32::MIN_POSITIVE);
        assert!(
            (x - y).abs() <= 1e-6 * scale,
            "{what}: element {k}: batch {x} vs single {y}"
        );
    }
}

fn flat<N: Params<f32>>(n: &N) -> Vec<f32> {
    let mut v = Vec::new();
    n.visit(&mut |p| v.extend_from_slice(p));
    v
}

fn check<L, const I: usize, const O: usize>(what: &str, seed: u64)
where
    L: Train<SVector<f32, I>, Output = SVector<f32, O>>
        + Train<SMatrix<f32, I, B>, Output = SMatrix<f32, O, B>>
        + Params<f32>,
{
    let mut r = rng(seed);
    let layer = L::random(Init::XavierNormal, &mut r);
    let x = SMatrix::<f32, I, B>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0) as f32);
    let dy = SMatrix::<f32, O, B>::from_fn(|_, _| uniform(&mut r, -1.0, 1.0) as f32);

    let (yb, tape) = Train::<SMatrix<f32, I, B>>::forward_train(&layer, &x);
    assert_eq!(
        yb,
        layer.predict(&x),
        "{what}: forward_train and forward agree"
    );
    let mut gb = L::zeros();
    let dxb: SMatrix<f32, I, B> = layer.backward(&tape, &dy, &mut gb);

    let mut gs = L::zeros();
    for j in 0..B {
        let xj: SVector<f32, I> = x.column(j).into_owned();
        let dyj: SVector<f32, O> = dy.column(j).into_owned();
        let (yj, tj) = layer.forward_train(&xj);
        close(
            &format!("{what}: output column {j}"),
            yb.column(j).as_slice(),
            yj.as_slice(),
        );
        let dxj: SVector<f32, I> = layer.backward(&tj, &dyj, &mut gs);
        close(
            &format!("{what}: input gradient column {j}"),
            dxb.column(j).as_slice(),
            dxj.as_slice(),
        );
    }
    close(
        &format!("{what}: parameter gradient"),
        &flat(&gb),
        &flat(&gs),
    );
}

#[test]
fn every_layer_gives_the_same_results_on_a_batch_as_sample_by_sample() {
    check::<Dense<6, 4>, 6, 4>("Dense", 1);
    check::<Identity, 6, 6>("Identity", 2);
    check::<Relu, 6, 6>("Relu", 3);
    check::<LeakyRelu, 6, 6>("LeakyRelu", 4);
    check::<Sigmoid, 6, 6>("Sigmoid", 5);
    check::<Tanh, 6, 6>("Tanh", 6);
    check::<Softplus, 6, 6>("Softplus", 7);
    check::<Elu, 6, 6>("Elu", 8);
    check::<Gelu, 6, 6>("Gelu", 9);
    check::<FastTanh, 6, 6>("FastTanh", 12);
    check::<FastSigmoid, 6, 6>("FastSigmoid", 13);
    check::<Softmax, 6, 6>("Softmax", 10);
    check::<(Dense<6, 9>, Gelu, Dense<9, 3>, Softmax), 6, 3>("network", 11);
}

#[test]
fn batch_loss_gradient_is_the_mean_of_sample_gradients() {
    type Net = (Dense<4, 7>, Tanh, Dense<7, 3>);
    let mut r = rng(20);
    let net = Net::random(Init::Xavier, &mut r);
    let x = SMatrix::<f32, 4, B>::from_fn(|_, _| uniform(&mut r, -1.0, 1.0) as f32);
    let classes = [2usize, 0, 1, 1, 2];
    let mut gb = Net::zeros();
    let lb = net.batch_loss_and_grad(&CrossEntropy, &x, &classes, &mut gb);
    // The same sum in another order: compare against the scale of its terms.
    let (mut gs, mut scale, mut ls) = (
        vec![0.0f32; <Net as Params<f32>>::NUM_PARAMS],
        gs_zero(),
        0.0,
    );
    for (j, c) in classes.iter().enumerate() {
        let mut g = Net::zeros();
        ls += net.loss_and_grad(&CrossEntropy, &x.column(j).into_owned(), c, &mut g);
        for ((s, a), v) in gs.iter_mut().zip(scale.iter_mut()).zip(flat(&g)) {
            *s += v / B as f32;
            *a += v.abs() / B as f32;
        }
    }
    close("mean loss", &[lb], &[ls / B as f32]);
    for (k, ((&a, &b), &m)) in flat(&gb).iter().zip(&gs).zip(&scale).enumerate() {
        assert!(
            (a - b).abs() <= 1e-6 * m + 1e-12,
            "element {k}: {a} vs {b} (terms of size {m})"
        );
    }
}

fn gs_zero() -> Vec<f32> {
    vec![0.0; <(Dense<4, 7>, Tanh, Dense<7, 3>) as Params<f32>>::NUM_PARAMS]
}

/// A value's bits, every `NaN` as one: which `NaN` an addition of two
/// passes on depends on the order of its operands, which the compiler may
/// swap.
fn bits(v: f32) -> u32 {
    if v.is_nan() { u32::MAX } else { v.to_bits() }
}

/// `partial_batch_loss_and_grad` against the per-sample `loss_and_grad`,
/// bit for bit: the sum of the first `n` losses times `1/n`, and each of
/// their gradients times `1/n` (zero in the other columns).
fn loss_bits<L, Tg, const P: usize, const N: usize>(
    what: &str,
    loss: L,
    y: &SMatrix<f32, P, N>,
    targets: &[Tg; N],
    n: usize,
) where
    L: Loss,
    Tg: staticnet::loss::Target<L, f32, P>,
{
    let (lb, gb) = loss.partial_batch_loss_and_grad(y, targets, n);
    let scale = 1.0 / n.max(1) as f32;
    let mut sum = 0.0f32;
    for (j, target) in targets.iter().enumerate() {
        let col = gb.column(j);
        if j >= n {
            assert!(
                col.iter().all(|&v| v == 0.0),
                "{what}: column {j} beyond {n}"
            );
            continue;
        }
        let (l, g) = loss.loss_and_grad(&y.column(j).into_owned(), target);
        sum += l;
        for (k, (&a, &b)) in col.iter().zip(g.iter()).enumerate() {
            assert_eq!(
                bits(a),
                bits(b * scale),
                "{what}: column {j}, row {k}: {a} vs {}",
                b * scale
            );
        }
    }
    assert_eq!(
        bits(lb),
        bits(sum * scale),
        "{what}: loss {lb} vs {}",
        sum * scale
    );
}

#[test]
fn batch_losses_give_the_bits_of_their_samples() {
    // 150 samples of 10 logits: the batched cross-entropy works in groups
    // of 64 samples, so full groups, a short last group and partial
    // batches that end inside a group or with one are all covered; logits
    // up to ±1e4, a NaN, an infinity, signed zeros and ties as well.
    let mut r = rng(40);
    let mut y = SMatrix::<f32, 10, 150>::from_fn(|_, _| uniform(&mut r, -8.0, 8.0) as f32);
    y[(3, 7)] = 1e4;
    y[(5, 30)] = -1e4;
    y[(2, 70)] = f32::NAN;
    y[(0, 71)] = f32::INFINITY;
    y.column_mut(72).fill(0.0);
    y[(4, 72)] = -0.0;
    y.column_mut(73).fill(-0.0);
    y[(9, 74)] = y[(1, 74)];
    let classes: [usize; 150] = core::array::from_fn(|j| (j * 7 + 3) % 10);
    for n in [150, 130, 128, 64, 37, 1, 0] {
        loss_bits("cross-entropy, classes", CrossEntropy, &y, &classes, n);
    }
    let y = y.fixed_columns::<64>(0).into_owned();
    let probs: [SVector<f32, 10>; 64] = core::array::from_fn(|_| {
        let p = SVector::<f32, 10>::from_fn(|_, _| uniform(&mut r, 0.0, 1.0) as f32);
        p / p.sum()
    });
    loss_bits("cross-entropy, probabilities", CrossEntropy, &y, &probs, 41);
    let t: [SVector<f32, 10>; 64] =
        core::array::from_fn(|_| SVector::from_fn(|_, _| uniform(&mut r, 0.0, 1.0) as f32));
    loss_bits("mean squared", MeanSquared, &y, &t, 64);
    loss_bits("binary cross-entropy", BinaryCrossEntropy, &y, &t, 63);
    loss_bits("huber", Huber::new(0.5), &y, &t, 64);

    // Many classes.
    let wide = SMatrix::<f32, 300, 3>::from_fn(|_, _| uniform(&mut r, -3.0, 3.0) as f32);
    loss_bits(
        "cross-entropy, 300 classes",
        CrossEntropy,
        &wide,
        &[299, 0, 150],
        3,
    );
    // The element-wise losses go in blocks of 256 values: one output over
    // more samples than a block holds (a full block and a short one, and a
    // partial batch ending inside the first), and samples longer than a
    // block (sample by sample).
    let one = SMatrix::<f32, 1, 300>::from_fn(|_, _| uniform(&mut r, -30.0, 30.0) as f32);
    let t1: [SVector<f32, 1>; 300] =
        core::array::from_fn(|_| SVector::from([uniform(&mut r, 0.0, 1.0) as f32]));
    for n in [300, 255] {
        loss_bits(
            "binary cross-entropy, one output",
            BinaryCrossEntropy,
            &one,
            &t1,
            n,
        );
        loss_bits("mean squared, one output", MeanSquared, &one, &t1, n);
        loss_bits("huber, one output", Huber::new(2.0), &one, &t1, n);
    }
    let tw: [SVector<f32, 300>; 3] =
        core::array::from_fn(|_| SVector::from_fn(|_, _| uniform(&mut r, 0.0, 1.0) as f32));
    loss_bits(
        "binary cross-entropy, 300 outputs",
        BinaryCrossEntropy,
        &wide,
        &tw,
        3,
    );
    loss_bits("mean squared, 300 outputs", MeanSquared, &wide, &tw, 2);
}

#[test]
#[should_panic(expected = "class index 10 out of range for 10 classes")]
fn a_batch_with_a_class_out_of_range_panics() {
    let y = SMatrix::<f32, 10, 30>::zeros();
    let mut classes = [0usize; 30];
    classes[27] = 10;
    let _ = CrossEntropy.batch_loss_and_grad(&y, &classes);
}
