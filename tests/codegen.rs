//! A network written as Rust source compiles back into the same network.
//!
//! `tests/fixtures/generated.rs` is `to_rust`'s output for the two networks
//! below, and `tests/fixtures/sequence_generated.rs` for sequence networks
//! (convolutions in every padding mode, depthwise and bias-free ones, the
//! pools, `Flatten`) and `tests/fixtures/recurrent_generated.rs` for GRU and
//! LSTM networks; these tests check that the source is still what
//! `to_rust` writes and that the compiled statics equal the networks bit for
//! bit and predict the same bits. After a deliberate change to the
//! generator, refresh them with `UPDATE_FIXTURES=1 cargo test --test codegen`
//! and read the diff.

mod common;

mod generated {
    include!("fixtures/generated.rs");
}

mod sequence_generated {
    include!("fixtures/sequence_generated.rs");
}

mod recurrent_generated {
    include!("fixtures/recurrent_generated.rs");
}

use common::{rng, uniform};
use nalgebra::SVector;
use staticnet::Params;
use staticnet::io::rust::{CodegenError, NameProblem, to_rust};
use staticnet::prelude::*;

type Net32 = (
    Dense<3, 6>,
    LeakyRelu,
    ((Dense<6, 5>, Elu), Gelu),
    (Dense<5, 2>,),
    Softmax,
);
type Net64 = (Dense<2, 4, f64>, Tanh, Dense<4, 1, f64>, Identity);

fn nets() -> (Net32, Net64) {
    let mut r = rng(21);
    let mut a = Net32::random(Init::XavierNormal, &mut r);
    a.1 = LeakyRelu::new(0.2);
    a.2.0.1 = Elu::new(0.7);
    // Values whose literals are easy to get wrong.
    a.0.weight[(0, 0)] = -0.0;
    a.0.weight[(1, 0)] = 1e-42; // subnormal
    a.0.bias[0] = f32::MAX;
    let mut b = Net64::random(Init::XavierNormal, &mut r);
    b.0.bias[1] = 0.1;
    b.2.weight[(0, 3)] = -1.0 / 3.0;
    (a, b)
}

fn bits<T: staticnet::Scalar, N: Params<T>>(net: &N) -> Vec<u64> {
    let mut v = Vec::new();
    net.visit(&mut |p| v.extend(p.iter().map(|x| x.as_f64().to_bits())));
    v
}

#[test]
fn generated_source_compiles_back_into_the_same_network() {
    let (a, b) = nets();
    let source = format!(
        "{}\n{}",
        to_rust(&a, "NET32").unwrap(),
        to_rust(&b, "NET64").unwrap()
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/generated.rs");
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &source).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        source,
        "the fixture is what to_rust writes"
    );

    let (ga, gb): (&Net32, &Net64) = (&generated::NET32, &generated::NET64);
    assert_eq!(bits(ga), bits(&a));
    assert_eq!(bits(gb), bits(&b));
    assert_eq!(ga.1, a.1);
    assert_eq!(ga.2.0.1, a.2.0.1);
    let mut r = rng(22);
    for _ in 0..20 {
        let x = SVector::<f32, 3>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0) as f32);
        let (y, gy) = (a.predict(&x), ga.predict(&x));
        assert_eq!(y.map(f32::to_bits), gy.map(f32::to_bits));
        let x = SVector::<f64, 2>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0));
        assert_eq!(
            b.predict(&x).map(f64::to_bits),
            gb.predict(&x).map(f64::to_bits)
        );
    }
}

/// Convolutions in each padding mode (dilated, strided, bias-free),
/// depthwise ones, windowed pools and `Flatten` over 12 steps of 2 channels.
type Seq32 = (
    Conv1d<2, 4, 3, Same, f32>,
    Relu,
    DepthwiseConv1d<4, 3, Causal<2>, f32, false>,
    Tanh,
    Conv1d<4, 3, 2, Valid<5, 2, 2>, f32, false>,
    AvgPool1d<2, 4, 1>,
    MaxPool1d<2, 2>,
    Flatten<6>,
    Dense<6, 2, f32>,
);
/// A causal dilated convolution, a same depthwise one, global average
/// pooling, in `f64`, over 9 steps of 1 channel.
type Seq64 = (
    Conv1d<1, 3, 3, Causal<2>, f64>,
    Tanh,
    DepthwiseConv1d<3, 4, Same<1>, f64>,
    GlobalAvgPool,
    Dense<3, 1, f64>,
);
/// A strided valid depthwise convolution (with bias), a causal full one of
/// even kernel, the maximum over steps, over 9 steps of 2 channels.
type SeqMax = (
    DepthwiseConv1d<2, 3, Valid<4, 1, 2>, f32>,
    Conv1d<2, 3, 2, Causal, f32>,
    GlobalMaxPool,
);

fn seq_nets() -> (Seq32, Seq64, SeqMax) {
    let mut r = rng(23);
    let mut a = Seq32::random(Init::XavierNormal, &mut r);
    a.0.weight[0][0][0] = -0.0;
    a.0.bias[1] = 1e-42;
    let b = Seq64::random(Init::XavierNormal, &mut r);
    let mut c = SeqMax::random(Init::XavierNormal, &mut r);
    c.0.bias = [0.25, -0.5];
    (a, b, c)
}

fn seq<T: staticnet::Scalar, const C: usize, const L: usize>(
    r: &mut impl rand::Rng,
) -> Seq<T, C, L> {
    Seq::from_fn(|_, _, _| T::of_f64(uniform(r, -2.0, 2.0)))
}

#[test]
fn generated_sequence_networks_compile_back_into_the_same_networks() {
    let (a, b, c) = seq_nets();
    let source = format!(
        "{}\n{}\n{}",
        to_rust(&a, "SEQ32").unwrap(),
        to_rust(&b, "SEQ64").unwrap(),
        to_rust(&c, "SEQ_MAX").unwrap()
    );
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sequence_generated.rs"
    );
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &source).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        source,
        "the fixture is what to_rust writes"
    );

    let (ga, gb, gc): (&Seq32, &Seq64, &SeqMax) = (
        &sequence_generated::SEQ32,
        &sequence_generated::SEQ64,
        &sequence_generated::SEQ_MAX,
    );
    assert_eq!(
        (bits(ga), bits(gb), bits(gc)),
        (bits(&a), bits(&b), bits(&c))
    );
    assert_eq!((ga, gb, gc), (&a, &b, &c));
    let mut r = rng(24);
    for _ in 0..10 {
        let x = seq::<f32, 2, 12>(&mut r);
        assert_eq!(
            a.predict(&x).map(f32::to_bits),
            ga.predict(&x).map(f32::to_bits)
        );
        let x = seq::<f64, 1, 9>(&mut r);
        assert_eq!(
            b.predict(&x).map(f64::to_bits),
            gb.predict(&x).map(f64::to_bits)
        );
        let x = seq::<f32, 2, 9>(&mut r);
        assert_eq!(
            c.predict(&x).map(f32::to_bits),
            gc.predict(&x).map(f32::to_bits)
        );
    }
}

/// A GRU into an LSTM, the last step, a linear layer, over 7 steps.
type Rnn32 = (Gru<2, 3>, Tanh, Lstm<3, 2>, LastStep, Dense<2, 1>);
/// An LSTM into a GRU in `f64`, the last step.
type Rnn64 = (Lstm<1, 2, f64>, Gru<2, 2, f64>, LastStep);

#[test]
fn generated_recurrent_networks_compile_back_into_the_same_networks() {
    let mut r = rng(25);
    let mut a = Rnn32::random(Init::PyTorch, &mut r);
    a.0.bias_hh[2][0] = -0.0;
    let b = Rnn64::random(Init::PyTorch, &mut r);
    let source = format!(
        "{}\n{}",
        to_rust(&a, "RNN32").unwrap(),
        to_rust(&b, "RNN64").unwrap()
    );
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/recurrent_generated.rs"
    );
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &source).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        source,
        "the fixture is what to_rust writes"
    );

    let (ga, gb): (&Rnn32, &Rnn64) = (&recurrent_generated::RNN32, &recurrent_generated::RNN64);
    assert_eq!((bits(ga), bits(gb)), (bits(&a), bits(&b)));
    assert_eq!((ga, gb), (&a, &b));
    let mut r = rng(26);
    for _ in 0..10 {
        let x = seq::<f32, 2, 7>(&mut r);
        assert_eq!(
            a.predict(&x).map(f32::to_bits),
            ga.predict(&x).map(f32::to_bits)
        );
        let x = seq::<f64, 1, 7>(&mut r);
        assert_eq!(
            b.predict(&x).map(f64::to_bits),
            gb.predict(&x).map(f64::to_bits)
        );
    }
}

/// A layer from outside the crate that does not write itself as Rust
/// source, to show what the generator refuses.
#[derive(Clone, Default)]
struct Mine;

impl staticnet::Layer for Mine {
    const KIND: &'static str = "Mine";
}

impl Params<f32> for Mine {
    const NUM_PARAMS: usize = 0;
    fn zeros() -> Self {
        Mine
    }
    fn tensors<const R: usize, const W: usize>(
        _: [&Self; R],
        _: [&mut Self; W],
        _: &mut impl FnMut(staticnet::params::TensorInfo, [&[f32]; R], [&mut [f32]; W]),
    ) {
    }
}

#[test]
fn custom_layers_without_a_rust_form_and_bad_names_are_refused() {
    let err = to_rust(&(Dense::<2, 2>::default(), Mine), "NET").unwrap_err();
    assert_eq!(err, CodegenError::Unsupported { kind: "Mine" });
    assert_eq!(
        err.to_string(),
        "the layer \"Mine\" has no Rust form: implement `Params::rust_type` and \
         `Params::rust_value` for it"
    );
    let err = to_rust::<f32, _>(&Relu, "2x").unwrap_err();
    assert_eq!(
        err,
        CodegenError::BadName {
            name: "2x".into(),
            problem: NameProblem::StartsWithDigit
        }
    );
    assert_eq!(
        err.to_string(),
        "\"2x\" cannot name a static: it starts with a digit; write it in UPPER_SNAKE_CASE, \
         with ASCII letters, digits and `_`, not starting with a digit, e.g. MODEL_2X"
    );
}
