//! Import of PyTorch-style state_dicts from safetensors (feature
//! `safetensors`). The fixtures and the outputs they must give were made by
//! tests/fixtures/safetensors/make_fixture.py and, for real PyTorch models
//! with BatchNorm1d and LayerNorm, make_norm_fixture.py.
#![cfg(feature = "safetensors")]

use nalgebra::SVector;
use safetensors::{Dtype, serialize, tensor::TensorView};
use staticnet::Scalar;
use staticnet::io::safetensors::{ImportError, Mapping, load_safetensors};
use staticnet::prelude::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/safetensors/");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}{name}")).unwrap()
}

/// (input, first model's output, second model's output) rows of a CSV file
/// written by a fixture script.
fn rows(file: &str) -> Vec<([f64; 4], [f64; 3], [f64; 3])> {
    let text = std::fs::read_to_string(format!("{DIR}{file}")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|s| s.parse().unwrap()).collect();
            (
                v[0..4].try_into().unwrap(),
                v[4..7].try_into().unwrap(),
                v[7..10].try_into().unwrap(),
            )
        })
        .collect()
}

/// (input, expected mlp output, expected named output) rows.
fn expected() -> Vec<([f64; 4], [f64; 3], [f64; 3])> {
    rows("expected.csv")
}

type Mlp<T> = (Dense<4, 8, T>, Tanh, Dense<8, 3, T>);

/// Every output of `net` on the rows' inputs is within `bound(expected)` of
/// the expected output of model `which` (0 or 1) of the rows.
fn outputs_match<N, T: Scalar>(
    net: &N,
    rows: Vec<([f64; 4], [f64; 3], [f64; 3])>,
    which: usize,
    bound: impl Fn(f64) -> f64,
) where
    N: Network + Module<SVector<T, 4>, Output = SVector<T, 3>>,
{
    assert_eq!(rows.len(), 6);
    for (x, first, second) in rows {
        let want = if which == 0 { first } else { second };
        let y = net.predict(&SVector::<T, 4>::from_fn(|i, _| T::of_f64(x[i])));
        for k in 0..3 {
            let d = (y[k].as_f64() - want[k]).abs();
            assert!(
                d <= bound(want[k]),
                "output {k}: {} vs {} (difference {d:e})",
                y[k],
                want[k]
            );
        }
    }
}

/// The recorded outputs of the mlp (`which` 0) or named (1) model, within
/// `tol`.
fn check_outputs<T: Scalar>(net: &Mlp<T>, which: usize, tol: f64) {
    outputs_match(net, expected(), which, |_| tol);
}

#[test]
fn a_sequential_state_dict_imports_in_order_and_reproduces_the_recorded_outputs() {
    let bytes = fixture("mlp.safetensors");
    let mut net = Mlp::<f32>::zeros();
    load_safetensors(&mut net, &bytes, Mapping::InOrder).unwrap();
    check_outputs(&net, 0, 1e-6);
    // PyTorch's (out, in) weight is transposed: "0.weight"[1][0] is W[(1, 0)].
    let w0 = safetensors::SafeTensors::deserialize(&bytes)
        .unwrap()
        .tensor("0.weight")
        .unwrap()
        .data()
        .to_vec();
    let row1col0 = f32::from_le_bytes(w0[16..20].try_into().unwrap());
    assert_eq!(net.0.weight[(1, 0)], row1col0);
    // In f64 the f32 weights are exact, so the outputs agree to rounding.
    let mut net64 = Mlp::<f64>::zeros();
    load_safetensors(&mut net64, &bytes, Mapping::InOrder).unwrap();
    check_outputs(&net64, 0, 1e-12);
}

#[test]
fn named_layers_import_by_name_ignoring_other_tensors_with_a_missing_bias_as_zero() {
    let mut rng = <rand::rngs::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(1);
    let mut net = Mlp::<f32>::random(Init::He, &mut rng);
    load_safetensors(
        &mut net,
        &fixture("named.safetensors"),
        Mapping::ByName(&["encoder", "head"]),
    )
    .unwrap();
    assert_eq!(net.2.bias, SVector::<f32, 3>::zeros());
    check_outputs(&net, 1, 1e-6);
}

/// Imports into a network with recognisable weights; checks it failed and
/// changed nothing.
fn refused(bytes: &[u8], mapping: Mapping<'_>) -> ImportError {
    let mut net = Mlp::<f32>::zeros();
    net.0.weight.fill(7.0);
    let before = net.clone();
    let err = load_safetensors(&mut net, bytes, mapping).expect_err("must not import");
    assert_eq!(net, before, "{err}: the network changed");
    err
}

fn file(tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    serialize(views, None).unwrap()
}

fn f32s(n: usize, v: f32) -> Vec<u8> {
    (0..n).flat_map(|_| v.to_le_bytes()).collect()
}

#[test]
fn every_mismatch_is_refused_with_what_was_expected_and_found() {
    // Another output size.
    let mut net = <(Dense<4, 8>, Tanh, Dense<8, 4>)>::zeros();
    let err =
        load_safetensors(&mut net, &fixture("mlp.safetensors"), Mapping::InOrder).unwrap_err();
    assert_eq!(
        err,
        ImportError::Shape {
            name: "2.weight".into(),
            expected: vec![4, 8],
            found: vec![3, 8],
            layer: "Dense",
        }
    );
    assert_eq!(
        err.to_string(),
        "tensor \"2.weight\" has shape [3, 8] in the file, but the Dense layer needs [4, 8] \
         (PyTorch's order of axes: Linear.weight is (out, in))"
    );
    assert_eq!(net, Params::zeros());

    // The weight transposed by mistake: (in, out).
    let t = file(&[
        ("0.weight", Dtype::F32, vec![4, 8], f32s(32, 0.1)),
        ("0.bias", Dtype::F32, vec![8], f32s(8, 0.1)),
        ("2.weight", Dtype::F32, vec![3, 8], f32s(24, 0.1)),
        ("2.bias", Dtype::F32, vec![3], f32s(3, 0.1)),
    ]);
    assert!(
        matches!(refused(&t, Mapping::InOrder), ImportError::Shape { ref name, .. } if name == "0.weight")
    );

    // A bias of the wrong length.
    let b = file(&[
        ("0.weight", Dtype::F32, vec![8, 4], f32s(32, 0.1)),
        ("0.bias", Dtype::F32, vec![7], f32s(7, 0.1)),
        ("2.weight", Dtype::F32, vec![3, 8], f32s(24, 0.1)),
    ]);
    assert!(
        matches!(refused(&b, Mapping::InOrder), ImportError::Shape { ref name, .. } if name == "0.bias")
    );

    // Too many or too few layers.
    assert_eq!(
        refused(&fixture("mlp.safetensors"), Mapping::ByName(&["0"])),
        ImportError::LayerCount {
            expected: 2,
            found: 1
        }
    );
    // A missing tensor, an unexpected one.
    assert_eq!(
        refused(
            &fixture("named.safetensors"),
            Mapping::ByName(&["encoder", "decoder"])
        ),
        ImportError::Missing {
            name: "decoder.weight".into(),
            layer: "Dense"
        }
    );
    assert_eq!(
        refused(&fixture("named.safetensors"), Mapping::InOrder),
        ImportError::Unexpected {
            name: "step_count".into(),
            layer: "no layer: the name has no `<prefix>.` part".into()
        }
    );

    // A dtype the network cannot take: F64 into f32 would lose precision.
    let f64s: Vec<u8> = (0..32).flat_map(|_| 0.5f64.to_le_bytes()).collect();
    let d = file(&[
        ("0.weight", Dtype::F64, vec![8, 4], f64s),
        ("2.weight", Dtype::F32, vec![3, 8], f32s(24, 0.1)),
    ]);
    let err = refused(&d, Mapping::InOrder);
    assert!(
        matches!(err, ImportError::Dtype { ref name, expected: "f32", .. } if name == "0.weight"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "tensor \"0.weight\" is F64 in the file, which a f32 network cannot take: save it as \
         float32 in PyTorch (`tensor.float()`) or load it into an f64 network"
    );

    // NaN.
    let mut w = f32s(32, 0.1);
    w[20..24].copy_from_slice(&f32::NAN.to_le_bytes());
    let n = file(&[
        ("0.weight", Dtype::F32, vec![8, 4], w),
        ("2.weight", Dtype::F32, vec![3, 8], f32s(24, 0.1)),
    ]);
    assert_eq!(
        refused(&n, Mapping::InOrder),
        ImportError::NonFinite {
            name: "0.weight".into(),
            index: 5
        }
    );

    // Not a safetensors file at all.
    assert!(matches!(
        refused(b"\x08\0\0\0\0\0\0\0{\"a\":1}", Mapping::InOrder),
        ImportError::Parse(_)
    ));
    assert!(matches!(
        refused(b"", Mapping::InOrder),
        ImportError::Parse(_)
    ));
}

#[test]
fn natural_order_puts_layer_10_after_layer_2() {
    // nn.Sequential with eleven modules names its Linear layers 0, 2, …, 10.
    let t = file(&[
        ("10.weight", Dtype::F32, vec![3, 8], f32s(24, 0.5)),
        ("2.weight", Dtype::F32, vec![8, 4], f32s(32, 0.25)),
    ]);
    let mut net = Mlp::<f32>::zeros();
    load_safetensors(&mut net, &t, Mapping::InOrder).unwrap();
    assert_eq!((net.0.weight[(0, 0)], net.2.weight[(0, 0)]), (0.25, 0.5));
}

/// (input, BatchNorm model output, LayerNorm model output) rows, from
/// make_norm_fixture.py (PyTorch, eval mode, float64).
fn norm_expected() -> Vec<([f64; 4], [f64; 3], [f64; 3])> {
    rows("norm_expected.csv")
}

type BnNet<T> = (Dense<4, 6, T>, BatchNorm1d<6, T>, Relu, Dense<6, 3, T>);
type LnNet<T> = (Dense<4, 6, T>, LayerNorm<6, T>, Tanh, Dense<6, 3, T>);

/// The recorded outputs of the BatchNorm (`which` 0) or LayerNorm (1)
/// model, within `tol`, relative above 1.
fn assert_outputs<N: Network + Module<SVector<T, 4>, Output = SVector<T, 3>>, T: Scalar>(
    net: &N,
    which: usize,
    tol: f64,
) {
    outputs_match(net, norm_expected(), which, |want| {
        tol * want.abs().max(1.0)
    });
}

#[test]
fn pytorch_batch_and_layer_norm_state_dicts_import_with_their_running_statistics() {
    let bytes = fixture("norm.safetensors");
    // By name: the file holds two models; each takes its own prefixes.
    let mut bn = BnNet::<f32>::zeros();
    load_safetensors(&mut bn, &bytes, Mapping::ByName(&["bn.0", "bn.1", "bn.3"])).unwrap();
    // The trained running statistics came along (they are not 0 and 1).
    assert!(
        bn.1.running_mean.iter().all(|&m| m != 0.0),
        "{:?}",
        bn.1.running_mean
    );
    assert!(
        bn.1.running_var.iter().all(|&v| v != 1.0),
        "{:?}",
        bn.1.running_var
    );
    assert_outputs(&bn, 0, 1e-5);
    let mut bn64 = BnNet::<f64>::zeros();
    load_safetensors(
        &mut bn64,
        &bytes,
        Mapping::ByName(&["bn.0", "bn.1", "bn.3"]),
    )
    .unwrap();
    assert_outputs(&bn64, 0, 1e-12);

    let mut ln = LnNet::<f32>::zeros();
    load_safetensors(&mut ln, &bytes, Mapping::ByName(&["ln.0", "ln.1", "ln.3"])).unwrap();
    assert_outputs(&ln, 1, 1e-5);
    let mut ln64 = LnNet::<f64>::zeros();
    load_safetensors(
        &mut ln64,
        &bytes,
        Mapping::ByName(&["ln.0", "ln.1", "ln.3"]),
    )
    .unwrap();
    assert_outputs(&ln64, 1, 1e-12);

    // In order, from the BatchNorm model's own state_dict ("0.weight", …,
    // "1.num_batches_tracked", …): the int64 counter is skipped.
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let views: Vec<(String, TensorView<'_>)> = file
        .tensors()
        .into_iter()
        .filter_map(|(name, view)| name.strip_prefix("bn.").map(|n| (n.to_string(), view)))
        .collect();
    assert!(
        views
            .iter()
            .any(|(n, v)| n == "1.num_batches_tracked" && v.dtype() == Dtype::I64)
    );
    let own = serialize(views, None).unwrap();
    let mut in_order = BnNet::<f64>::zeros();
    load_safetensors(&mut in_order, &own, Mapping::InOrder).unwrap();
    assert_eq!(in_order, bn64);
}
