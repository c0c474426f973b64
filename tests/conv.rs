//! Convolutions and pooling over sequences: the forward pass against the
//! definition, gradients against central differences in f64 in every
//! padding, stride and dilation mode, streaming against the whole-sequence
//! forward, and a batch against its samples.

mod common;

use common::{gradcheck_tensor, rng, uniform};
use staticnet::nalgebra::SVector;
use staticnet::prelude::*;
use staticnet::sequence::Seq;
use staticnet::stream::Stream;
use staticnet::{
    AvgPool1d, Causal, Conv1d, DepthwiseConv1d, Flatten, GlobalAvgPool, GlobalMaxPool, LastStep,
    MaxPool1d, Padded, Same, Valid,
};

/// A sequence with entries in [-2, 2), apart from each other by more than
/// the finite-difference step (max pooling has kinks at ties).
fn seq<const C: usize, const L: usize, const B: usize>(seed: u64) -> Seq<f64, C, L, B> {
    let mut r = rng(seed);
    Seq::from_fn(|_, _, _| uniform(&mut r, -2.0, 2.0))
}

fn random<N: Params<f64>>(seed: u64) -> N {
    let mut n = N::zeros();
    let mut r = rng(seed);
    n.visit_mut(&mut |p| p.iter_mut().for_each(|v| *v = uniform(&mut r, -1.0, 1.0)));
    n
}

/// `y[b][t][o] = bias[o] + Σ_k Σ_i W[o, i, k] x[b][S·t + D·k − left][i]`,
/// zero outside the sequence: the definition, written out.
#[allow(clippy::too_many_arguments)]
fn reference<const CI: usize, const CO: usize, const K: usize, const L: usize, const LO: usize>(
    weight: &[[[f64; CO]; CI]; K],
    bias: &[f64; CO],
    x: &[[f64; CI]; L],
    left: usize,
    d: usize,
    s: usize,
) -> [[f64; CO]; LO] {
    core::array::from_fn(|t| {
        core::array::from_fn(|o| {
            let mut sum = bias[o];
            for (k, w) in weight.iter().enumerate() {
                let p = (s * t + d * k) as isize - left as isize;
                if p >= 0 && (p as usize) < L {
                    for (wi, xi) in w.iter().zip(&x[p as usize]) {
                        sum += wi[o] * xi;
                    }
                }
            }
            sum
        })
    })
}

macro_rules! conv_case {
    ($name:ident, $layer:ty, CI = $ci:literal, CO = $co:literal, K = $k:literal, L = $l:literal, LO = $lo:literal, left = $left:expr, d = $d:literal, s = $s:literal, bias = $bias:literal) => {
        #[test]
        fn $name() {
            let conv: $layer = random(1);
            let x = seq::<$ci, $l, 2>(2);
            let y = conv.forward(&x);
            let zero = [0.0; $co];
            for b in 0..2 {
                let want = reference::<$ci, $co, $k, $l, $lo>(
                    &conv.weight,
                    if $bias { &conv.bias } else { &zero },
                    &x.data[b],
                    $left,
                    $d,
                    $s,
                );
                for t in 0..$lo {
                    for o in 0..$co {
                        let got = y.data[b][t][o];
                        assert!(
                            (got - want[t][o]).abs() < 1e-12,
                            "sample {b}, step {t}, channel {o}: {got} vs {}",
                            want[t][o]
                        );
                    }
                }
            }
            gradcheck_tensor(stringify!($name), &conv, &x);
        }
    };
}

conv_case!(same_odd_kernel, Conv1d<2, 3, 3, Same, f64>, CI = 2, CO = 3, K = 3, L = 7, LO = 7, left = 1, d = 1, s = 1, bias = true);
conv_case!(same_even_kernel_pads_more_after, Conv1d<2, 3, 4, Same, f64>, CI = 2, CO = 3, K = 4, L = 6, LO = 6, left = 1, d = 1, s = 1, bias = true);
conv_case!(same_dilated, Conv1d<3, 2, 3, Same<2>, f64>, CI = 3, CO = 2, K = 3, L = 8, LO = 8, left = 2, d = 2, s = 1, bias = true);
conv_case!(causal, Conv1d<2, 2, 3, Causal, f64>, CI = 2, CO = 2, K = 3, L = 6, LO = 6, left = 2, d = 1, s = 1, bias = true);
conv_case!(causal_dilated, Conv1d<1, 3, 3, Causal<3>, f64>, CI = 1, CO = 3, K = 3, L = 9, LO = 9, left = 6, d = 3, s = 1, bias = true);
conv_case!(valid, Conv1d<2, 3, 3, Valid<5>, f64>, CI = 2, CO = 3, K = 3, L = 7, LO = 5, left = 0, d = 1, s = 1, bias = true);
conv_case!(valid_strided_dilated, Conv1d<2, 2, 3, Valid<3, 2, 2>, f64>, CI = 2, CO = 2, K = 3, L = 9, LO = 3, left = 0, d = 2, s = 2, bias = true);
conv_case!(valid_stride_leaves_a_tail, Conv1d<1, 2, 2, Valid<3, 1, 3>, f64>, CI = 1, CO = 2, K = 2, L = 9, LO = 3, left = 0, d = 1, s = 3, bias = true);
conv_case!(padded_like_pytorch_padding_2, Conv1d<2, 3, 3, Padded<2, 9>, f64>, CI = 2, CO = 3, K = 3, L = 7, LO = 9, left = 2, d = 1, s = 1, bias = true);
conv_case!(padded_strided_dilated, Conv1d<2, 2, 3, Padded<1, 3, 2, 2>, f64>, CI = 2, CO = 2, K = 3, L = 8, LO = 3, left = 1, d = 2, s = 2, bias = true);
conv_case!(without_bias, Conv1d<2, 3, 3, Same, f64, false>, CI = 2, CO = 3, K = 3, L = 5, LO = 5, left = 1, d = 1, s = 1, bias = false);

#[test]
fn a_layer_without_bias_has_no_bias_tensor() {
    assert_eq!(
        <Conv1d<2, 3, 3, Same, f64, false> as Params<f64>>::NUM_PARAMS,
        18
    );
    assert_eq!(<Conv1d<2, 3, 3, Same, f64> as Params<f64>>::NUM_PARAMS, 21);
    let mut names = Vec::new();
    Conv1d::<2, 3, 3, Same, f64, false>::default().describe(&mut |n| {
        if let staticnet::Node::Tensor(info) = n {
            names.push(info.name);
        }
    });
    assert_eq!(names, ["weight"]);
}

#[test]
fn depthwise_matches_a_full_convolution_with_a_diagonal_weight() {
    let dw: DepthwiseConv1d<3, 3, Causal<2>, f64> = random(3);
    let mut full = Conv1d::<3, 3, 3, Causal<2>, f64>::default();
    for k in 0..3 {
        for c in 0..3 {
            full.weight[k][c][c] = dw.weight[k][c];
        }
    }
    full.bias = dw.bias;
    let x = seq::<3, 8, 2>(4);
    let (a, b) = (dw.forward(&x), full.forward(&x));
    for (u, v) in a.as_slice().iter().zip(b.as_slice()) {
        assert!((u - v).abs() < 1e-12, "{u} vs {v}");
    }
    gradcheck_tensor("depthwise causal", &dw, &x);
    let dw: DepthwiseConv1d<2, 2, Valid<3, 1, 2>, f64, false> = random(5);
    gradcheck_tensor("depthwise valid strided", &dw, &seq::<2, 7, 2>(6));
}

#[test]
fn pools_have_exact_gradients() {
    let x = seq::<3, 8, 2>(7);
    gradcheck_tensor("global average", &GlobalAvgPool, &x);
    gradcheck_tensor("global max", &GlobalMaxPool, &x);
    gradcheck_tensor("last step", &LastStep, &x);
    gradcheck_tensor("flatten", &Flatten::<24>, &x);
    gradcheck_tensor("max pool", &MaxPool1d::<2, 4>, &x);
    gradcheck_tensor("max pool, overlapping", &MaxPool1d::<3, 3, 2>, &x);
    gradcheck_tensor("average pool", &AvgPool1d::<3, 2, 3>, &x);
}

#[test]
fn a_network_mixing_every_kind_has_exact_gradients() {
    type Net = (
        Conv1d<2, 3, 3, Causal<2>, f64>,
        Tanh,
        DepthwiseConv1d<3, 2, Same, f64>,
        MaxPool1d<2, 5>,
        Dense<3, 4, f64>,
        Sigmoid,
        Conv1d<4, 2, 2, Valid<3, 2, 1>, f64>,
        GlobalAvgPool,
    );
    let net: (Net, Dense<2, 2, f64>) = random(8);
    gradcheck_tensor("mixed network", &net, &seq::<2, 10, 2>(9));
    // One sample in, a vector out: the per-sample API works too.
    let one = seq::<2, 10, 1>(10);
    let y: SVector<f64, 2> = net.predict(&one);
    assert!(y.iter().all(|v| v.is_finite()));
}

#[test]
fn a_batch_is_its_samples_bit_for_bit() {
    let net: (
        Conv1d<2, 4, 3, Same, f32>,
        Relu,
        Conv1d<4, 3, 2, Valid<4, 2, 1>, f32>,
        GlobalMaxPool,
    ) = {
        let mut r = rng(11);
        <_>::random(Init::He, &mut r)
    };
    let mut r = rng(12);
    let x = Seq::<f32, 2, 6, 3>::from_fn(|_, _, _| uniform(&mut r, -1.0, 1.0) as f32);
    let y = net.forward(&x);
    for b in 0..3 {
        let yb = net.predict(&x.sample(b));
        assert_eq!(yb.as_slice(), y.column(b).as_slice(), "sample {b}");
    }
}

#[test]
fn streaming_a_causal_stack_equals_the_whole_sequence_bit_for_bit() {
    type Net = (
        Conv1d<1, 16, 3, Causal, f32>,
        Tanh,
        Conv1d<16, 16, 3, Causal<2>, f32>,
        Tanh,
        DepthwiseConv1d<16, 2, Causal<3>, f32, false>,
        Dense<16, 1, f32>,
    );
    let mut r = rng(13);
    let net = Net::random(Init::Xavier, &mut r);
    const L: usize = 30;
    let x = Seq::<f32, 1, L>::from_fn(|_, t, _| (t as f32 * 0.37).sin());
    let whole = net.forward(&x);
    let mut state = net.start();
    for t in 0..L {
        let y = net.step(&mut state, &SVector::from(x.data[0][t]));
        assert_eq!(y[0].to_bits(), whole.data[0][t][0].to_bits(), "step {t}");
    }
    // The state is small and fixed: K·D steps of the input channels per
    // convolution, and two counters.
    assert!(
        core::mem::size_of_val(&state) < 1024,
        "{}",
        core::mem::size_of_val(&state)
    );
}

#[test]
fn a_tape_is_the_input() {
    type Net = (Conv1d<6, 16, 7>, Relu, GlobalAvgPool, Dense<16, 4>);
    type X = Seq<f32, 6, 100, 16>;
    let tape = core::mem::size_of::<<Net as Train<X>>::Tape>();
    // Conv: its input (6·100·16); ReLU: its derivative (16·100·16);
    // the pool: nothing; Dense: its input (16·16).
    assert_eq!(tape, 4 * (6 * 100 * 16 + 16 * 100 * 16 + 16 * 16));
}

#[test]
fn a_padded_convolution_saves_loads_and_writes_its_type() {
    type Net = (Conv1d<2, 3, 3, Padded<2, 9, 1, 1>>, GlobalAvgPool);
    let net: Net = {
        let mut r = rng(30);
        <Net as Params<f32>>::random(Init::PyTorch, &mut r)
    };
    let mut bytes = vec![0u8; staticnet::io::saved_len(&net)];
    staticnet::io::save(&net, &mut bytes).unwrap();
    let mut back = <Net as Params<f32>>::zeros();
    staticnet::io::load(&mut back, &bytes).unwrap();
    assert_eq!(back, net);
    // A file for `Same` padding of the same sizes is refused (padding_left 1 ≠ 2).
    let mut same = <(Conv1d<2, 3, 3, Same>, GlobalAvgPool) as Params<f32>>::zeros();
    assert!(staticnet::io::load(&mut same, &bytes).is_err());
    let source = staticnet::io::rust::to_rust(&net, "NET").unwrap();
    assert!(source.contains("staticnet::Padded<2, 9, 1, 1>"), "{source}");
    assert!(
        source.contains("staticnet::Padded::<2, 9, 1, 1>"),
        "{source}"
    );
}
