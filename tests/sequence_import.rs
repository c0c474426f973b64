//! Sequence models imported from PyTorch (feature `safetensors`): real
//! `torch.nn` state_dicts of convolutional and recurrent networks, made by
//! tests/fixtures/sequence/make_fixture.py, load into the matching staticnet
//! types and reproduce PyTorch's outputs on the recorded inputs: within 1e-5
//! of PyTorch's float32 outputs in `f32`, and of its float64 outputs (the
//! same float32 weights) to rounding in `f64`.
#![cfg(feature = "safetensors")]

use safetensors::{Dtype, SafeTensors};
use staticnet::Scalar;
use staticnet::io::safetensors::{ImportError, Mapping, load_safetensors};
use staticnet::prelude::*;
use staticnet::stream::Stream;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sequence/");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}{name}")).unwrap()
}

/// A tensor of `<model>_io.safetensors` as `f64`s (row-major) and its shape.
fn tensor(file: &SafeTensors<'_>, name: &str) -> (Vec<f64>, Vec<usize>) {
    let view = file.tensor(name).unwrap();
    let values = match view.dtype() {
        Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect(),
        Dtype::F64 => view
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        d => panic!("{name}: unexpected dtype {d:?}"),
    };
    (values, view.shape().to_vec())
}

/// The recorded inputs, each a `Seq` (the file's `x` is `(N, L, C)`, the
/// `Seq` layout), and PyTorch's float32 (`y`) and float64 (`y64`) outputs.
struct Recorded<T, const C: usize, const L: usize, const O: usize> {
    inputs: Vec<Seq<T, C, L>>,
    y32: Vec<[f64; O]>,
    y64: Vec<[f64; O]>,
}

fn recorded<T: Scalar, const C: usize, const L: usize, const O: usize>(
    model: &str,
) -> Recorded<T, C, L, O> {
    let bytes = fixture(&format!("{model}_io.safetensors"));
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (x, shape) = tensor(&file, "x");
    let n = shape[0];
    assert_eq!(shape, [n, L, C], "{model}: x is (N, L, C)");
    let inputs = (0..n)
        .map(|s| Seq::from_fn(|_, t, c| T::of_f64(x[(s * L + t) * C + c])))
        .collect();
    let outputs = |name| {
        let (y, shape) = tensor(&file, name);
        assert_eq!(shape, [n, O], "{model}: {name} is (N, O)");
        y.chunks_exact(O)
            .map(|r| r.try_into().unwrap())
            .collect::<Vec<[f64; O]>>()
    };
    Recorded {
        inputs,
        y32: outputs("y"),
        y64: outputs("y64"),
    }
}

/// Imports `<model>.safetensors` in order into `net`, runs the recorded
/// inputs and returns the largest difference from PyTorch's outputs (its
/// float32 outputs for an `f32` network, its float64 ones for `f64`).
fn max_error<N, T, const C: usize, const L: usize, const O: usize>(model: &str, net: &mut N) -> f64
where
    T: Scalar,
    N: Network + Params<T> + Module<Seq<T, C, L>, Output = SVector<T, O>>,
{
    load_safetensors(
        net,
        &fixture(&format!("{model}.safetensors")),
        Mapping::InOrder,
    )
    .unwrap_or_else(|e| panic!("{model}: {e}"));
    let rec = recorded::<T, C, L, O>(model);
    let want = if size_of::<T>() == 4 {
        &rec.y32
    } else {
        &rec.y64
    };
    assert!(rec.inputs.len() >= 4, "{model}: a few inputs");
    let mut worst = 0.0f64;
    for (x, want) in rec.inputs.iter().zip(want) {
        let y = net.predict(x);
        for (k, &w) in want.iter().enumerate() {
            worst = worst.max((y[k].as_f64() - w).abs());
        }
    }
    eprintln!(
        "{model} ({}): max |staticnet − PyTorch| = {worst:e}",
        T::NAME
    );
    worst
}

/// `nn.Sequential(Conv1d(3, 8, 5, padding='same'), ReLU, Conv1d(8, 8, 3,
/// padding='same', dilation=2), ReLU, <mean over steps>, Linear(8, 4))`.
type ConvNet<T> = (
    Conv1d<3, 8, 5, Same, T>,
    Relu,
    Conv1d<8, 8, 3, Same<2>, T>,
    Relu,
    GlobalAvgPool,
    Dense<8, 4, T>,
);

/// `nn.Sequential(Conv1d(3, 6, 4, stride=2), Tanh, Conv1d(6, 5, 3,
/// padding='same', bias=False), ReLU, MaxPool1d(2), Flatten, Linear(15, 3))`
/// over 17 steps.
type StridedNet<T> = (
    Conv1d<3, 6, 4, Valid<7, 1, 2>, T>,
    Tanh,
    Conv1d<6, 5, 3, Same, T, false>,
    Relu,
    MaxPool1d<2, 3>,
    Flatten<15>,
    Dense<15, 3, T>,
);

/// Depthwise (`groups=4`) same and causal convolutions, a causal and a
/// dilated strided valid convolution, `AvgPool1d(2)`, the maximum over
/// steps and a `Linear(3, 2)` over 20 steps (causal padding is a
/// `ConstantPad1d` before a padding-0 convolution in PyTorch).
type DepthwiseNet<T> = (
    DepthwiseConv1d<4, 3, Same, T>,
    Tanh,
    DepthwiseConv1d<4, 3, Causal<2>, T, false>,
    Relu,
    Conv1d<4, 3, 3, Causal, T>,
    Tanh,
    Conv1d<3, 3, 3, Valid<8, 2, 2>, T>,
    AvgPool1d<2, 4>,
    GlobalMaxPool,
    Dense<3, 2, T>,
);

#[test]
fn a_conv_classifier_from_pytorch_gives_its_outputs() {
    assert!(max_error::<_, f32, 3, 16, 4>("conv", &mut ConvNet::<f32>::zeros()) <= 1e-5);
    assert!(max_error::<_, f64, 3, 16, 4>("conv", &mut ConvNet::<f64>::zeros()) <= 1e-12);
}

#[test]
fn a_strided_valid_conv_a_bias_free_conv_max_pooling_and_flatten_from_pytorch_give_its_outputs() {
    let mut net = StridedNet::<f32>::zeros();
    assert!(max_error::<_, f32, 3, 17, 3>("strided", &mut net) <= 1e-5);
    let mut net = StridedNet::<f64>::zeros();
    assert!(max_error::<_, f64, 3, 17, 3>("strided", &mut net) <= 1e-12);
}

#[test]
fn depthwise_causal_and_dilated_strided_convs_from_pytorch_give_its_outputs() {
    let mut net = DepthwiseNet::<f32>::zeros();
    assert!(max_error::<_, f32, 4, 20, 2>("depthwise", &mut net) <= 1e-5);
    let mut net = DepthwiseNet::<f64>::zeros();
    assert!(max_error::<_, f64, 4, 20, 2>("depthwise", &mut net) <= 1e-12);
}

#[test]
fn a_conv_weight_is_pytorchs_out_in_k_tensor_tap_by_tap() {
    let bytes = fixture("conv.safetensors");
    let mut net = ConvNet::<f32>::zeros();
    load_safetensors(&mut net, &bytes, Mapping::InOrder).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (w, shape) = tensor(&file, "0.weight");
    assert_eq!(shape, [8, 3, 5]);
    for o in 0..8 {
        for i in 0..3 {
            for k in 0..5 {
                assert_eq!(net.0.weight[k][i][o] as f64, w[(o * 3 + i) * 5 + k]);
            }
        }
    }
}

/// Imports `bytes` into `net` (made recognisable first); checks it failed
/// and changed nothing.
fn refused<N: Params<f32> + PartialEq + Clone + core::fmt::Debug>(
    mut net: N,
    bytes: &[u8],
) -> ImportError {
    net.visit_mut(&mut |p| p.fill(0.25));
    let before = net.clone();
    let err = load_safetensors(&mut net, bytes, Mapping::InOrder).expect_err("must not import");
    assert_eq!(net, before, "{err}: the network changed");
    err
}

#[test]
fn a_file_for_other_sizes_or_settings_is_refused_with_the_shape_not_a_panic() {
    let conv = fixture("conv.safetensors");
    // Another kernel size: PyTorch's (out, in, k) shapes differ in k.
    let err = refused(
        <(
            Conv1d<3, 8, 3>,
            Relu,
            Conv1d<8, 8, 3, Same<2>>,
            Relu,
            GlobalAvgPool,
            Dense<8, 4>,
        )>::zeros(),
        &conv,
    );
    assert_eq!(
        err,
        ImportError::Shape {
            name: "0.weight".into(),
            expected: vec![8, 3, 3],
            found: vec![8, 3, 5],
            layer: "Conv1d",
        }
    );
    assert_eq!(
        err.to_string(),
        "tensor \"0.weight\" has shape [8, 3, 5] in the file, but the Conv1d layer needs \
         [8, 3, 3] (PyTorch's order of axes: Conv1d.weight is (out, in / groups, kernel))"
    );
    // Another channel count in the second convolution.
    let err = refused(
        <(
            Conv1d<3, 8, 5>,
            Relu,
            Conv1d<8, 6, 3, Same<2>>,
            Relu,
            GlobalAvgPool,
            Dense<6, 4>,
        )>::zeros(),
        &conv,
    );
    assert_eq!(
        err,
        ImportError::Shape {
            name: "2.weight".into(),
            expected: vec![6, 8, 3],
            found: vec![8, 8, 3],
            layer: "Conv1d",
        }
    );
    // A depthwise convolution given a full one's weight.
    let err = refused(
        <(
            DepthwiseConv1d<3, 5>,
            Relu,
            Conv1d<3, 8, 3, Same<2>>,
            Relu,
            GlobalAvgPool,
            Dense<8, 4>,
        )>::zeros(),
        &conv,
    );
    assert!(matches!(err, ImportError::Shape { .. }), "{err}");
    // A bias-free convolution given a file with a bias: the bias is not
    // one of its tensors.
    let err = refused(
        <(
            Conv1d<3, 8, 5, Same, f32, false>,
            Relu,
            Conv1d<8, 8, 3, Same<2>>,
            Relu,
            GlobalAvgPool,
            Dense<8, 4>,
        )>::zeros(),
        &conv,
    );
    assert!(
        matches!(&err, ImportError::Unexpected { name, .. } if name.is("0.bias")),
        "{err}"
    );
    // One layer with tensors too few.
    let err = refused(
        <(Conv1d<3, 8, 5>, Relu, GlobalAvgPool, Dense<8, 4>)>::zeros(),
        &conv,
    );
    assert_eq!(
        err,
        ImportError::LayerCount {
            expected: 2,
            found: 3
        }
    );
}

/// `nn.Sequential(GRU(3, 5, batch_first=True) → its output sequence,
/// <last step>, Linear(5, 2))` over 12 steps.
type GruNet<T> = (Gru<3, 5, T>, LastStep, Dense<5, 2, T>);

/// `nn.Sequential(LSTM(3, 6, batch_first=True) → its output sequence,
/// <last step>, Linear(6, 2))` over 12 steps.
type LstmNet<T> = (Lstm<3, 6, T>, LastStep, Dense<6, 2, T>);

#[test]
fn a_gru_from_pytorch_gives_its_outputs() {
    assert!(max_error::<_, f32, 3, 12, 2>("gru", &mut GruNet::<f32>::zeros()) <= 1e-5);
    assert!(max_error::<_, f64, 3, 12, 2>("gru", &mut GruNet::<f64>::zeros()) <= 1e-12);
}

#[test]
fn an_lstm_from_pytorch_gives_its_outputs() {
    assert!(max_error::<_, f32, 3, 12, 2>("lstm", &mut LstmNet::<f32>::zeros()) <= 1e-5);
    assert!(max_error::<_, f64, 3, 12, 2>("lstm", &mut LstmNet::<f64>::zeros()) <= 1e-12);
}

#[test]
fn recurrent_weights_keep_pytorchs_gate_order() {
    // GRU: rows r, z, n of `weight_ih_l0` (3H, I); LSTM: i, f, g, o (4H, I).
    let bytes = fixture("gru.safetensors");
    let mut gru = GruNet::<f32>::zeros();
    load_safetensors(&mut gru, &bytes, Mapping::InOrder).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (w, shape) = tensor(&file, "0.weight_ih_l0");
    assert_eq!(shape, [15, 3]);
    let (b, _) = tensor(&file, "0.bias_hh_l0");
    for g in 0..3 {
        for k in 0..5 {
            for i in 0..3 {
                assert_eq!(gru.0.weight_ih[i][g][k] as f64, w[(g * 5 + k) * 3 + i]);
            }
            assert_eq!(gru.0.bias_hh[g][k] as f64, b[g * 5 + k]);
        }
    }
    let bytes = fixture("lstm.safetensors");
    let mut lstm = LstmNet::<f32>::zeros();
    load_safetensors(&mut lstm, &bytes, Mapping::InOrder).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (w, shape) = tensor(&file, "0.weight_hh_l0");
    assert_eq!(shape, [24, 6]);
    for g in 0..4 {
        for k in 0..6 {
            for j in 0..6 {
                assert_eq!(lstm.0.weight_hh[j][g][k] as f64, w[(g * 6 + k) * 6 + j]);
            }
        }
    }
}

#[test]
fn a_recurrent_file_for_other_sizes_is_refused_with_the_shape_not_a_panic() {
    let gru = fixture("gru.safetensors");
    let err = refused(<(Gru<3, 4>, LastStep, Dense<4, 2>)>::zeros(), &gru);
    assert_eq!(
        err,
        ImportError::Shape {
            name: "0.weight_ih_l0".into(),
            expected: vec![12, 3],
            found: vec![15, 3],
            layer: "GRU",
        }
    );
    let err = refused(<(Gru<2, 5>, LastStep, Dense<5, 2>)>::zeros(), &gru);
    assert!(
        matches!(&err, ImportError::Shape { name, expected, .. } if name.is("0.weight_ih_l0") && expected == &[15, 2]),
        "{err}"
    );
    // An LSTM's four gates are not a GRU's three.
    let err = refused(
        <(Gru<3, 6>, LastStep, Dense<6, 2>)>::zeros(),
        &fixture("lstm.safetensors"),
    );
    assert_eq!(
        err,
        ImportError::Shape {
            name: "0.weight_ih_l0".into(),
            expected: vec![18, 3],
            found: vec![24, 3],
            layer: "GRU",
        }
    );
    // A GRU file into a convolutional network: the names differ.
    let err = refused(
        <(Conv1d<3, 15, 1>, GlobalAvgPool, Dense<5, 2>)>::zeros(),
        &gru,
    );
    assert!(matches!(err, ImportError::Unexpected { .. }), "{err}");
}

#[test]
fn a_recurrent_layer_saved_without_biases_imports_them_as_zero() {
    // `nn.GRU(…, bias=False)` has no `bias_ih_l0` or `bias_hh_l0`.
    let bytes = fixture("gru.safetensors");
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView<'_>)> = file
        .tensors()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("0.bias"))
        .collect();
    let without = safetensors::serialize(kept, None).unwrap();
    let mut net = GruNet::<f32>::zeros();
    net.0.bias_ih = [[1.0; 5]; 3];
    net.0.bias_hh = [[1.0; 5]; 3];
    load_safetensors(&mut net, &without, Mapping::InOrder).unwrap();
    assert_eq!(
        (net.0.bias_ih, net.0.bias_hh),
        ([[0.0; 5]; 3], [[0.0; 5]; 3])
    );
    let mut full = GruNet::<f32>::zeros();
    load_safetensors(&mut full, &bytes, Mapping::InOrder).unwrap();
    assert_eq!(
        (net.0.weight_ih, net.0.weight_hh, &net.2),
        (full.0.weight_ih, full.0.weight_hh, &full.2)
    );
}

/// Streams `net.0` (a recurrent layer) over each recorded input one step at
/// a time, then `net.2` (the `Dense`) on the last state; returns the largest
/// difference from PyTorch's float32 outputs.
fn streamed_error<R, const H: usize>(model: &str, net: &(R, LastStep, Dense<H, 2>)) -> f64
where
    R: Stream<SVector<f32, 3>, Output = SVector<f32, H>>,
{
    let rec = recorded::<f32, 3, 12, 2>(model);
    let mut worst = 0.0f64;
    for (x, want) in rec.inputs.iter().zip(&rec.y32) {
        let mut state = net.0.start();
        let mut h = SVector::zeros();
        for step in &x.data[0] {
            h = net.0.step(&mut state, &SVector::from(*step));
        }
        let y = net.2.predict(&h);
        for (k, &w) in want.iter().enumerate() {
            worst = worst.max((y[k] as f64 - w).abs());
        }
    }
    eprintln!("{model} streamed (f32): max |staticnet − PyTorch| = {worst:e}");
    worst
}

#[test]
fn imported_recurrent_layers_streamed_step_by_step_give_pytorchs_outputs() {
    let mut gru = GruNet::<f32>::zeros();
    load_safetensors(&mut gru, &fixture("gru.safetensors"), Mapping::InOrder).unwrap();
    assert!(streamed_error("gru", &gru) <= 1e-5);
    let mut lstm = LstmNet::<f32>::zeros();
    load_safetensors(&mut lstm, &fixture("lstm.safetensors"), Mapping::InOrder).unwrap();
    assert!(streamed_error("lstm", &lstm) <= 1e-5);
}
