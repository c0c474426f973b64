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
