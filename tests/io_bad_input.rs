//! Bad input to `io`, case by case: weights files (wrong length, cut short,
//! flipped bits, another network's file, another scalar type, an int8 file
//! read as `f32` and the reverse), safetensors files (a missing tensor, a
//! wrong dtype or shape, extra tensors, names whose string order is not the
//! module order) and names for `to_rust`. Every case asserts the exact
//! error and that the network loaded into is, bit for bit, what it was.

mod common;

use common::rng;
use nalgebra::SVector;
use staticnet::io::rust::{CodegenError, NameProblem, to_rust};
use staticnet::io::{self, Error, Expected, FileError, FileNode, Name, int8};
use staticnet::params::{Layout, Role, Shape, TensorInfo};
use staticnet::prelude::*;
use staticnet::quant::{self, Calibration};
use staticnet::{Node, Params, Scalar};

/// A network with both norms: buffers (BatchNorm1d's running statistics)
/// and settings (`eps`, `momentum`) as well as weights.
type Norms<T = f32> = (
    Dense<4, 6, T>,
    BatchNorm1d<6, T>,
    Relu,
    Dense<6, 5, T>,
    LayerNorm<5, T>,
    Tanh,
    Dense<5, 3, T>,
);

/// A network with an int8 form.
type Small = (Dense<4, 6>, Relu, Dense<6, 5>, Tanh, Dense<5, 3>);

/// Every value, buffers included, as bits.
fn all_bits<T: Scalar, N: Params<T>>(net: &N) -> Vec<u64> {
    let mut v = Vec::new();
    N::tensors([net], [], &mut |_, [p], []| {
        v.extend(p.iter().map(|x| x.as_f64().to_bits()))
    });
    v
}

fn saved<T: Scalar, N: Params<T>>(net: &N) -> Vec<u8> {
    let mut buf = vec![0u8; io::saved_len(net)];
    assert_eq!(io::save(net, &mut buf), Ok(buf.len()));
    buf
}

/// A `Norms` with recognisable values everywhere, running statistics too.
fn norms<T: Scalar>(seed: u64) -> Norms<T> {
    let mut net = Norms::<T>::random(Init::XavierNormal, &mut rng(seed));
    let mut k = 0.0;
    net.1.running_mean = SVector::from_fn(|_, _| {
        k += 0.25;
        T::of_f64(k)
    });
    net.1.running_var = SVector::from_fn(|i, _| T::of_f64(1.5 + i as f64));
    net
}

/// Loads `bytes` into a `Norms`; asserts that it failed and changed no bit.
fn refused(bytes: &[u8]) -> Error {
    let mut net = norms::<f32>(99);
    let before = all_bits(&net);
    let err = io::load(&mut net, bytes).expect_err("bad bytes must not load");
    assert_eq!(all_bits(&net), before, "{err}: the network changed");
    err
}

/// `Small` quantised.
type QSmall = quant::Quantized<<Small as quant::Quantize<SVector<f32, 4>>>::Quantized, 4, 3>;

/// An int8 network, from a `Small` with the given seed.
fn quantized(seed: u64) -> QSmall {
    let data: Vec<(SVector<f32, 4>, usize)> = (0..40)
        .map(|k| {
            (
                SVector::from_fn(|i, _| ((i * 7 + k * 3) % 11) as f32 / 5.0 - 1.0),
                k % 3,
            )
        })
        .collect();
    quant::quantize(
        &Small::random(Init::Xavier, &mut rng(seed)),
        &data[..],
        Calibration::MinMax,
    )
    .unwrap()
}

fn saved_int8<N: quant::QLayer>(net: &N) -> Vec<u8> {
    let mut buf = vec![0u8; int8::saved_len(net)];
    assert_eq!(int8::save(net, &mut buf), Ok(buf.len()));
    buf
}

/// Loads `bytes` into an int8 network; asserts that it failed and changed
/// no bit (its saved bytes, every scale's bits included, are the same).
fn refused_int8(bytes: &[u8]) -> Error {
    let mut net = quantized(98);
    let (before, before_bytes) = (net.clone(), saved_int8(&net));
    let err = int8::load(&mut net, bytes).expect_err("bad bytes must not load");
    assert_eq!(net, before, "{err}: the network changed");
    assert_eq!(saved_int8(&net), before_bytes);
    err
}

/// Recomputes the CRC-32 of a file whose values start at `start`.
fn fix_checksum(buf: &mut [u8], start: usize) {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in buf[..start - 4].iter().chain(&buf[start..]) {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    buf[start - 4..start].copy_from_slice(&(!crc).to_le_bytes());
}

// ---- weights files ----

#[test]
fn a_file_of_the_wrong_length_is_refused_with_both_lengths() {
    let good = saved(&norms::<f32>(1));
    let len = good.len();
    for extra in [1, 7, 1 << 20] {
        let mut long = good.clone();
        long.resize(len + extra, 0xAB);
        let err = refused(&long);
        assert_eq!(
            err,
            Error::TrailingBytes {
                expected: len,
                found: len + extra
            }
        );
        assert!(
            err.to_string()
                .starts_with(&format!("the file has {extra} bytes after its values")),
            "{err}"
        );
    }
    // Cut at every length: `Truncated` with the length the file needs.
    for cut in 0..len {
        assert_eq!(
            refused(&good[..cut]),
            Error::Truncated {
                expected: len,
                found: cut
            },
            "cut at {cut}"
        );
    }
    assert_eq!(
        refused(&good[..100]).to_string(),
        format!(
            "the file is truncated: 100 bytes, where this network's file has {len}: it was cut \
             short (an interrupted copy or write?) or is another network's file"
        )
    );
}

#[test]
fn every_flipped_bit_is_refused_with_the_error_of_the_field_it_hits() {
    let good = saved(&norms::<f32>(2));
    let len = good.len();
    let d = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let count_at = 16 + d;
    let start = count_at + 12;
    for byte in 0..len {
        for bit in 0..8 {
            let mut b = good.clone();
            b[byte] ^= 1 << bit;
            let err = refused(&b);
            let ok = match byte {
                0..8 => matches!(err, Error::BadMagic { .. }),
                8..10 => matches!(err, Error::UnsupportedVersion { .. }),
                10 => match b[10] {
                    3 => {
                        err == Error::ScalarType {
                            expected: "f32",
                            found: "int8",
                        }
                    }
                    code => err == Error::UnknownScalarType { code },
                },
                // The reserved byte is read by nothing but the checksum.
                11 => matches!(err, Error::Checksum { .. }),
                // The description's length: the file looks cut short, or
                // its description ends early or runs into the values.
                12..16 => matches!(
                    err,
                    Error::Truncated { .. } | Error::Malformed { .. } | Error::Mismatch { .. }
                ),
                // The description: damaged, or another network's.
                b if b < count_at => {
                    matches!(err, Error::Malformed { .. } | Error::Mismatch { .. })
                }
                b if b < count_at + 8 => matches!(err, Error::ParamCount { .. }),
                _ => matches!(err, Error::Checksum { .. }),
            };
            assert!(ok, "byte {byte} bit {bit}: {err:?}");
            if byte >= start {
                assert!(
                    err.to_string()
                        .ends_with("the file is damaged or was truncated"),
                    "{err}"
                );
            }
        }
    }
}

#[test]
fn another_networks_file_names_the_layer_and_both_shapes() {
    // Another width of the LayerNorm's Dense.
    type Wider = (
        Dense<4, 6>,
        BatchNorm1d<6>,
        Relu,
        Dense<6, 7>,
        LayerNorm<7>,
        Tanh,
        Dense<7, 3>,
    );
    let err = refused(&saved(&Wider::zeros()));
    assert_eq!(
        err,
        Error::Mismatch {
            path: err_path(&err),
            layer: "Dense",
            expected: Expected(Some(Node::Tensor(
                TensorInfo::trainable(
                    "weight",
                    Shape::new(&[5, 6]),
                    staticnet::params::Fill::Weight {
                        fan_in: 6,
                        fan_out: 5
                    }
                )
                .with_layout(Layout::ColumnMajor)
            ))),
            found: FileNode::Tensor {
                name: Name::from("weight"),
                role: Role::Trainable,
                shape: Shape::new(&[7, 6]),
                layout: Layout::ColumnMajor,
            },
        }
    );
    assert_eq!(
        err.to_string(),
        "layer 3 (Dense): the network has tensor `weight` (trainable) of shape [5, 6] where the \
         file has tensor `weight` (trainable) of shape [7, 6]"
    );

    // Another BatchNorm setting.
    let mut other = norms::<f32>(3);
    other.1.eps = 1e-3;
    let err = refused(&saved(&other));
    assert!(
        matches!(err, Error::Mismatch { layer: "BatchNorm1d", found: FileNode::Setting(n, _), .. } if n == "eps"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("layer 1 (BatchNorm1d): the network has setting `eps` = "),
        "{err}"
    );

    // Another network altogether, and a file with one layer fewer.
    let err = refused(&saved(&(Dense::<4, 6>::zeros(),)));
    assert!(
        matches!(
            err,
            Error::Mismatch {
                found: FileNode::End,
                ..
            }
        ),
        "{err:?}"
    );
    let err = refused(&saved(&Small::zeros()));
    assert!(
        matches!(err, Error::Mismatch { layer: "BatchNorm1d", found: FileNode::Begin(k), .. } if k == "Relu"),
        "{err:?}"
    );
}

/// The path of a `Mismatch`, to compare the rest of it exactly.
fn err_path(err: &Error) -> io::LayerPath {
    match err {
        Error::Mismatch { path, .. } => {
            assert_eq!(path.indices(), [3]);
            *path
        }
        e => panic!("not a mismatch: {e:?}"),
    }
}

#[test]
fn another_scalar_type_is_refused_with_what_to_do() {
    // f64 into f32, f32 into f64.
    let err = refused(&saved(&norms::<f64>(4)));
    assert_eq!(
        err,
        Error::ScalarType {
            expected: "f32",
            found: "f64"
        }
    );
    let mut net64 = norms::<f64>(5);
    let before = all_bits(&net64);
    let err = io::load(&mut net64, &saved(&norms::<f32>(6))).unwrap_err();
    assert_eq!(
        err,
        Error::ScalarType {
            expected: "f64",
            found: "f32"
        }
    );
    assert_eq!(all_bits(&net64), before);
    assert!(
        err.to_string().ends_with("(e.g. Dense<I, O, f32>)"),
        "{err}"
    );

    // A code this crate never writes, whatever else the file holds.
    let mut b = saved(&norms::<f32>(7));
    b[10] = 7;
    let err = refused(&b);
    assert_eq!(err, Error::UnknownScalarType { code: 7 });
    assert_eq!(
        err.to_string(),
        "the file's scalar type code is 7, which is none of 1 (f32), 2 (f64) and 3 (int8): the \
         file is damaged or was written by another staticnet release"
    );
}

#[test]
fn an_int8_file_read_as_f32_and_an_f32_file_read_as_int8_say_which_loader_to_use() {
    let q = quantized(8);
    let err = refused(&saved_int8(&q));
    assert_eq!(
        err,
        Error::ScalarType {
            expected: "f32",
            found: "int8"
        }
    );
    assert!(err.to_string().contains("io::int8::load"), "{err}");
    // Into the f32 network it came from, too.
    let mut small = Small::random(Init::Xavier, &mut rng(8));
    let before = all_bits(&small);
    assert!(matches!(
        io::load(&mut small, &saved_int8(&q)),
        Err(Error::ScalarType { found: "int8", .. })
    ));
    assert_eq!(all_bits(&small), before);

    let err = refused_int8(&saved(&Small::random(Init::Xavier, &mut rng(9))));
    assert_eq!(
        err,
        Error::ScalarType {
            expected: "int8",
            found: "f32"
        }
    );
    assert!(err.to_string().contains("quant::quantize"), "{err}");
}

#[test]
fn bad_int8_files_are_refused_and_change_nothing() {
    let good = saved_int8(&quantized(10));
    let len = good.len();
    // Cut short, too long.
    for cut in [0, 5, 16, 40, len / 2, len - 1] {
        assert_eq!(
            refused_int8(&good[..cut]),
            Error::Truncated {
                expected: len,
                found: cut
            }
        );
    }
    let mut long = good.clone();
    long.push(0);
    assert_eq!(
        refused_int8(&long),
        Error::TrailingBytes {
            expected: len,
            found: len + 1
        }
    );
    // A flipped bit in the values.
    for byte in [len - 1, len - 10, len - 100] {
        let mut b = good.clone();
        b[byte] ^= 0x10;
        assert!(matches!(refused_int8(&b), Error::Checksum { .. }));
    }
    // Another int8 network's file.
    let data: Vec<(SVector<f32, 4>, usize)> = (0..10)
        .map(|k| (SVector::from_fn(|i, _| (i + k) as f32 / 10.0), 0))
        .collect();
    type Other = (Dense<4, 6>, Relu, Dense<6, 2>);
    let other = quant::quantize(
        &Other::random(Init::Xavier, &mut rng(11)),
        &data[..],
        Calibration::MinMax,
    )
    .unwrap();
    assert!(matches!(
        refused_int8(&saved_int8(&other)),
        Error::Mismatch { .. }
    ));
    // A NaN scale with a valid checksum: the input scale is the first value.
    let d = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let start = 16 + d + 12;
    let mut b = good.clone();
    b[start..start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    fix_checksum(&mut b, start);
    assert_eq!(
        refused_int8(&b),
        Error::NonFinite {
            index: 0,
            tensor: "input_scale (f32)"
        }
    );
}

#[test]
fn not_a_weights_file_and_a_huge_name_in_one_are_refused_in_a_short_message() {
    assert_eq!(
        refused(&[]),
        Error::Truncated {
            expected: saved(&norms::<f32>(0)).len(),
            found: 0
        }
    );
    let st = safetensors_file(&[("0.weight", safetensors::Dtype::F32, vec![1], f32s(1, 0.5))]);
    let err = refused(&st);
    assert!(matches!(err, Error::BadMagic { .. }));
    assert!(err.to_string().contains("io::safetensors"), "{err}");

    // The root layer's kind made 60,000 bytes long (the description's
    // length fixed): the message shows its first bytes and its length.
    let good = saved(&norms::<f32>(12));
    let kind_len = u16::from_le_bytes([good[17], good[18]]) as usize;
    assert_eq!(&good[19..19 + kind_len], b"Sequential");
    let mut b = good[..17].to_vec();
    b.extend_from_slice(&60_000u16.to_le_bytes());
    b.extend(std::iter::repeat_n(b'x', 60_000));
    b.extend_from_slice(&good[19 + kind_len..]);
    let d = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize + 60_000 - kind_len;
    b[12..16].copy_from_slice(&(d as u32).to_le_bytes());
    let err = refused(&b);
    match err {
        Error::Mismatch {
            found: FileNode::Begin(name),
            ..
        } => {
            assert!(name.is_cut());
            assert_eq!(name.full_len(), 60_000);
        }
        ref e => panic!("{e:?}"),
    }
    let text = err.to_string();
    assert!(text.len() < 300, "{} bytes: {text}", text.len());
    assert!(text.contains("… (60000 bytes)"), "{text}");
}

#[test]
fn file_errors_name_the_path() {
    let dir = std::env::temp_dir().join(format!("staticnet-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut net = norms::<f32>(13);
    let before = all_bits(&net);

    // A file that is not there.
    let missing = dir.join("missing.bin");
    let err = io::load_file(&mut net, &missing).unwrap_err();
    assert!(matches!(err, FileError::Read { .. }), "{err:?}");
    assert_eq!(err.path(), missing);
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {}: ", missing.display())),
        "{err}"
    );

    // A damaged file: the path, then what is wrong.
    let damaged = dir.join("damaged.bin");
    let mut b = saved(&norms::<f32>(14));
    let last = b.len() - 1;
    b[last] ^= 1;
    std::fs::write(&damaged, &b).unwrap();
    let err = io::load_file(&mut net, &damaged).unwrap_err();
    assert!(
        matches!(
            err,
            FileError::Format {
                error: Error::Checksum { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("{}: checksum mismatch", damaged.display())),
        "{err}"
    );
    assert_eq!(all_bits(&net), before);

    // A file that cannot be written: its folder does not exist.
    let nowhere = dir.join("no-such-folder").join("model.bin");
    let err = io::save_file(&net, &nowhere).unwrap_err();
    assert!(matches!(err, FileError::Write { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot write {}: ", nowhere.display())),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- safetensors ----

use safetensors::{Dtype, serialize, tensor::TensorView};
use staticnet::io::safetensors::{
    ImportError, Mapping, load_int8_safetensors, load_safetensors, save_int8_safetensors,
};

fn safetensors_file(tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    serialize(views, None).unwrap()
}

fn f32s(n: usize, v: f32) -> Vec<u8> {
    (0..n).flat_map(|_| v.to_le_bytes()).collect()
}

/// Three same-shaped layers: any two could be swapped without a shape
/// error.
type Square = (Dense<3, 3>, Relu, Dense<3, 3>, Relu, Dense<3, 3>);

/// Imports into `net`; asserts that it failed and changed no bit.
fn import_refused<T: Scalar, N: Params<T>>(
    net: &mut N,
    bytes: &[u8],
    mapping: Mapping<'_>,
) -> ImportError {
    let before = all_bits(net);
    let err = load_safetensors(net, bytes, mapping).expect_err("must not import");
    assert_eq!(all_bits(net), before, "{err}: the network changed");
    err
}

/// A `Dense<3, 3>`'s weight and bias under `prefix`, every value `v`.
fn square_layer(prefix: &str, v: f32) -> [(String, Dtype, Vec<usize>, Vec<u8>); 2] {
    [
        (
            format!("{prefix}.weight"),
            Dtype::F32,
            vec![3, 3],
            f32s(9, v),
        ),
        (format!("{prefix}.bias"), Dtype::F32, vec![3], f32s(3, v)),
    ]
}

fn square_file(layers: &[(&str, f32)]) -> Vec<u8> {
    let tensors: Vec<_> = layers
        .iter()
        .flat_map(|&(p, v)| square_layer(p, v))
        .collect();
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    serialize(views, None).unwrap()
}

/// The first weight of each of the three layers.
fn firsts(net: &Square) -> [f32; 3] {
    [net.0.weight[0], net.2.weight[0], net.4.weight[0]]
}

#[test]
fn names_whose_string_order_is_not_the_module_order_import_by_their_indices() {
    // `nn.Sequential` of eleven modules: "10" sorts before "2" as strings.
    // The file lists them in string order; the module order is 0, 2, 10.
    let bytes = square_file(&[("10", 3.0), ("2", 2.0), ("0", 1.0)]);
    let names = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut in_file: Vec<&str> = names.names();
    in_file.sort();
    assert_eq!(in_file[..3], ["0.bias", "0.weight", "10.bias"]);
    let mut net = Square::zeros();
    load_safetensors(&mut net, &bytes, Mapping::InOrder).unwrap();
    assert_eq!(firsts(&net), [1.0, 2.0, 3.0]);

    // `self.fc1`, `self.fc2`, `self.fc10`: strings sort fc1, fc10, fc2.
    let bytes = square_file(&[("fc1", 1.0), ("fc10", 3.0), ("fc2", 2.0)]);
    let mut net = Square::zeros();
    load_safetensors(&mut net, &bytes, Mapping::InOrder).unwrap();
    assert_eq!(firsts(&net), [1.0, 2.0, 3.0]);

    // Nested indices: `blocks.1.0` after `blocks.0.1`, `blocks.10.0` last.
    let bytes = square_file(&[
        ("blocks.10.0", 3.0),
        ("blocks.1.0", 2.0),
        ("blocks.0.1", 1.0),
    ]);
    let mut net = Square::zeros();
    load_safetensors(&mut net, &bytes, Mapping::InOrder).unwrap();
    assert_eq!(firsts(&net), [1.0, 2.0, 3.0]);
}

#[test]
fn names_that_give_no_order_to_same_shaped_layers_are_refused_not_swapped() {
    // `self.encoder`, `self.hidden`, `self.decoder`: the module order is
    // encoder, hidden, decoder; the names sort decoder, encoder, hidden.
    let bytes = square_file(&[("encoder", 1.0), ("hidden", 2.0), ("decoder", 3.0)]);
    let mut net = Square::random(Init::Xavier, &mut rng(20));
    let err = import_refused(&mut net, &bytes, Mapping::InOrder);
    assert_eq!(
        err,
        ImportError::AmbiguousOrder {
            prefixes: ["decoder".into(), "encoder".into()],
            tensors: [
                "decoder.bias",
                "decoder.weight",
                "encoder.bias",
                "encoder.weight"
            ]
            .map(Name::from)
            .to_vec(),
        }
    );
    assert_eq!(
        err.to_string(),
        "the tensors `decoder.bias`, `decoder.weight`, `encoder.bias`, `encoder.weight` fit two \
         layers in either order, and no index in the prefixes `decoder` and `encoder` says which \
         comes first: import by name, Mapping::ByName(&[…]) with each layer's prefix in the \
         network's order"
    );
    // By name, as the message says: each layer gets its own.
    load_safetensors(
        &mut net,
        &bytes,
        Mapping::ByName(&["encoder", "hidden", "decoder"]),
    )
    .unwrap();
    assert_eq!(firsts(&net), [1.0, 2.0, 3.0]);

    // Indexed layers and one named beside them: "head" sorts before
    // "layers.0".
    let bytes = square_file(&[("layers.0", 1.0), ("layers.1", 2.0), ("head", 3.0)]);
    let mut net = Square::random(Init::Xavier, &mut rng(21));
    assert!(matches!(
        import_refused(&mut net, &bytes, Mapping::InOrder),
        ImportError::AmbiguousOrder { prefixes, .. } if prefixes == [Name::from("head"), Name::from("layers.0")]
    ));
    // A prefix and one that extends it ("fc" and "fc1") give no order.
    let bytes = square_file(&[("fc", 1.0), ("fc1", 2.0), ("fc2", 3.0)]);
    assert!(matches!(
        import_refused(&mut Square::zeros(), &bytes, Mapping::InOrder),
        ImportError::AmbiguousOrder { .. }
    ));

    // Names without an order but shapes that allow only one: imported.
    let t = [
        ("hidden.weight", Dtype::F32, vec![8, 4], f32s(32, 0.5)),
        ("out.weight", Dtype::F32, vec![3, 8], f32s(24, 0.25)),
    ];
    let mut mlp = <(Dense<4, 8>, Tanh, Dense<8, 3>)>::zeros();
    load_safetensors(&mut mlp, &safetensors_file(&t), Mapping::InOrder).unwrap();
    assert_eq!((mlp.0.weight[0], mlp.2.weight[0]), (0.5, 0.25));
    // The same shapes named the other way round ("trunk" after "head"):
    // not swapped but refused, by the shape that does not fit.
    let t = [
        ("trunk.weight", Dtype::F32, vec![8, 4], f32s(32, 0.5)),
        ("head.weight", Dtype::F32, vec![3, 8], f32s(24, 0.25)),
    ];
    let mut mlp = <(Dense<4, 8>, Tanh, Dense<8, 3>)>::zeros();
    assert!(matches!(
        import_refused(&mut mlp, &safetensors_file(&t), Mapping::InOrder),
        ImportError::Shape { name, .. } if name == "head.weight"
    ));
}

/// The norms network's state_dict, as PyTorch names it
/// (`nn.Sequential(Linear, BatchNorm1d, ReLU, Linear, LayerNorm, Tanh, Linear)`).
fn norms_state_dict() -> Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)> {
    vec![
        ("0.weight", Dtype::F32, vec![6, 4], f32s(24, 0.5)),
        ("0.bias", Dtype::F32, vec![6], f32s(6, 0.5)),
        ("1.weight", Dtype::F32, vec![6], f32s(6, 1.5)),
        ("1.bias", Dtype::F32, vec![6], f32s(6, 0.5)),
        ("1.running_mean", Dtype::F32, vec![6], f32s(6, 0.1)),
        ("1.running_var", Dtype::F32, vec![6], f32s(6, 2.0)),
        (
            "1.num_batches_tracked",
            Dtype::I64,
            vec![],
            7i64.to_le_bytes().to_vec(),
        ),
        ("3.weight", Dtype::F32, vec![5, 6], f32s(30, 0.5)),
        ("3.bias", Dtype::F32, vec![5], f32s(5, 0.5)),
        ("4.weight", Dtype::F32, vec![5], f32s(5, 1.0)),
        ("4.bias", Dtype::F32, vec![5], f32s(5, 0.0)),
        ("6.weight", Dtype::F32, vec![3, 5], f32s(15, 0.5)),
        ("6.bias", Dtype::F32, vec![3], f32s(3, 0.5)),
    ]
}

/// The state_dict with `change` applied.
fn changed(change: impl FnOnce(&mut Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)>)) -> Vec<u8> {
    let mut t = norms_state_dict();
    change(&mut t);
    safetensors_file(&t)
}

#[test]
fn bad_state_dicts_are_refused_with_the_tensor_and_change_nothing() {
    // The state_dict as it is imports (the int64 counter skipped).
    let mut net = norms::<f32>(30);
    load_safetensors(&mut net, &changed(|_| {}), Mapping::InOrder).unwrap();
    assert_eq!(net.1.running_var[0], 2.0);

    let mut net = norms::<f32>(31);
    // A missing tensor: the running mean.
    let bytes = changed(|t| t.retain(|x| x.0 != "1.running_mean"));
    assert_eq!(
        import_refused(&mut net, &bytes, Mapping::InOrder),
        ImportError::Missing {
            name: "1.running_mean".into(),
            layer: "BatchNorm1d"
        }
    );
    // A wrong dtype: half precision, and f64 into an f32 network.
    let bytes = changed(|t| t[7] = ("3.weight", Dtype::F16, vec![5, 6], vec![0; 60]));
    let err = import_refused(&mut net, &bytes, Mapping::InOrder);
    assert_eq!(
        err,
        ImportError::Dtype {
            name: "3.weight".into(),
            found: "F16".into(),
            expected: "f32"
        }
    );
    assert!(err.to_string().contains("tensor.float()"), "{err}");
    let f64s: Vec<u8> = (0..30).flat_map(|_| 0.5f64.to_le_bytes()).collect();
    let bytes = changed(|t| t[7] = ("3.weight", Dtype::F64, vec![5, 6], f64s));
    assert!(matches!(
        import_refused(&mut net, &bytes, Mapping::InOrder),
        ImportError::Dtype { found, .. } if found == "F64"
    ));
    // A wrong shape: the LayerNorm's weight, and a weight transposed.
    let bytes = changed(|t| t[9] = ("4.weight", Dtype::F32, vec![6], f32s(6, 1.0)));
    assert_eq!(
        import_refused(&mut net, &bytes, Mapping::InOrder),
        ImportError::Shape {
            name: "4.weight".into(),
            expected: vec![5],
            found: vec![6],
            layer: "LayerNorm"
        }
    );
    let bytes = changed(|t| t[0] = ("0.weight", Dtype::F32, vec![4, 6], f32s(24, 0.5)));
    assert!(matches!(
        import_refused(&mut net, &bytes, Mapping::InOrder),
        ImportError::Shape { name, .. } if name == "0.weight"
    ));
    // Extra tensors: one under a layer's prefix, one more layer.
    let bytes = changed(|t| t.push(("3.scale", Dtype::F32, vec![5], f32s(5, 1.0))));
    assert_eq!(
        import_refused(&mut net, &bytes, Mapping::InOrder),
        ImportError::Unexpected {
            name: "3.scale".into(),
            layer: "Dense has weight, bias".into()
        }
    );
    let bytes = changed(|t| t.push(("8.weight", Dtype::F32, vec![3, 3], f32s(9, 1.0))));
    let err = import_refused(&mut net, &bytes, Mapping::InOrder);
    assert_eq!(
        err,
        ImportError::LayerCount {
            expected: 5,
            found: 6
        }
    );
    assert_eq!(
        err.to_string(),
        "the file has 6 layers, but the network has 5 layers with tensors: to take some of the \
         file's layers, map them by name (Mapping::ByName with each layer's prefix)"
    );
    // A NaN in a running statistic.
    let mut nan = f32s(6, 2.0);
    nan[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    let bytes = changed(|t| t[5].3 = nan);
    assert_eq!(
        import_refused(&mut net, &bytes, Mapping::InOrder),
        ImportError::NonFinite {
            name: "1.running_var".into(),
            index: 2
        }
    );
    // Not a safetensors file.
    assert!(matches!(
        import_refused(&mut net, b"\x02\0\0\0\0\0\0\0{]", Mapping::InOrder),
        ImportError::Parse(_)
    ));
    assert!(matches!(
        import_refused(&mut net, &saved(&norms::<f32>(0)), Mapping::InOrder),
        ImportError::Parse(_)
    ));
}

#[test]
fn a_megabyte_tensor_name_is_shown_cut_with_its_length() {
    let long = format!("0.{}", "w".repeat(1 << 20));
    let bytes = safetensors_file(&[
        (long.as_str(), Dtype::F32, vec![1], f32s(1, 0.5)),
        ("0.weight", Dtype::F32, vec![3, 3], f32s(9, 0.5)),
    ]);
    let mut net = (Dense::<3, 3>::zeros(),);
    let err = import_refused(&mut net, &bytes, Mapping::InOrder);
    match &err {
        ImportError::Unexpected { name, .. } => {
            assert!(name.is_cut());
            assert_eq!(name.full_len(), long.len());
        }
        e => panic!("{e:?}"),
    }
    let text = err.to_string();
    assert!(text.len() < 300, "{} bytes", text.len());
    assert!(
        text.contains(&format!("…\" ({} bytes)", long.len())),
        "{text}"
    );
}

#[test]
fn a_parse_error_that_quotes_a_megabyte_name_is_cut() {
    // A tensor whose data does not start where it should: the parser's
    // message names it.
    let header = format!(
        "{{\"{}\":{{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}}}",
        "n\\n".repeat(1 << 19)
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 8]);
    let mut net = (Dense::<2, 1>::zeros(),);
    let err = import_refused(&mut net, &bytes, Mapping::InOrder);
    let ImportError::Parse(message) = &err else {
        panic!("{err:?}")
    };
    assert!(message.len() < 300, "{} bytes", message.len());
    assert!(message.contains(" bytes)"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn bad_int8_state_dicts_are_refused_and_change_nothing() {
    let bytes = save_int8_safetensors(&quantized(40)).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut views: Vec<(String, TensorView<'_>)> = file
        .tensors()
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    views.sort_by(|a, b| a.0.cmp(&b.0));
    let refused = |bytes: &[u8]| {
        let mut net = quantized(41);
        let before = saved_int8(&net);
        let err = load_int8_safetensors(&mut net, bytes).expect_err("must not import");
        assert_eq!(saved_int8(&net), before, "{err}: the network changed");
        err
    };
    // The int8 weight as F32.
    let w32 = f32s(24, 0.5);
    let with_f32: Vec<(String, TensorView<'_>)> = views
        .iter()
        .map(|(n, v)| match n.as_str() {
            "0.weight" => (
                n.clone(),
                TensorView::new(Dtype::F32, vec![6, 4], &w32).unwrap(),
            ),
            _ => (n.clone(), v.clone()),
        })
        .collect();
    assert_eq!(
        refused(&serialize(with_f32, None).unwrap()),
        ImportError::Int8Dtype {
            name: "0.weight".into(),
            found: "F32".into(),
            expected: "I8"
        }
    );
    // A tensor missing, one too many.
    let without: Vec<_> = views
        .iter()
        .filter(|(n, _)| n != "2.bias")
        .cloned()
        .collect();
    assert_eq!(
        refused(&serialize(without, None).unwrap()),
        ImportError::Missing {
            name: "2.bias".into(),
            layer: "Quantized"
        }
    );
    let extra_bytes = [1u8];
    let mut extra = views.clone();
    extra.push((
        "9.weight".into(),
        TensorView::new(Dtype::I8, vec![1], &extra_bytes).unwrap(),
    ));
    assert!(matches!(
        refused(&serialize(extra, None).unwrap()),
        ImportError::Unexpected { name, .. } if name == "9.weight"
    ));
}

// ---- names for `to_rust` ----

#[test]
fn a_name_that_cannot_name_a_static_is_refused_with_why_and_a_fix() {
    let net = norms::<f32>(50);
    let before = all_bits(&net);
    let q = quantized(51);
    let cases: &[(&str, NameProblem, &str)] = &[
        ("", NameProblem::Empty, "MODEL"),
        ("2x", NameProblem::StartsWithDigit, "MODEL_2X"),
        (
            "my-net",
            NameProblem::Character { found: '-', at: 2 },
            "MY_NET",
        ),
        (
            "NET 2",
            NameProblem::Character { found: ' ', at: 3 },
            "NET_2",
        ),
        (
            "RÉSEAU",
            NameProblem::Character { found: 'É', at: 1 },
            "R_SEAU",
        ),
        (
            "NET\n",
            NameProblem::Character { found: '\n', at: 3 },
            "NET",
        ),
        (
            "r#NET",
            NameProblem::Character { found: '#', at: 1 },
            "R_NET",
        ),
        ("static", NameProblem::Keyword, "STATIC"),
        ("const", NameProblem::Keyword, "CONST"),
        ("Self", NameProblem::Keyword, "SELF"),
        ("gen", NameProblem::Keyword, "GEN"),
        ("_", NameProblem::Keyword, "MODEL"),
    ];
    for &(name, problem, fix) in cases {
        let want = CodegenError::BadName {
            name: name.into(),
            problem,
        };
        let err = to_rust(&net, name).unwrap_err();
        assert_eq!(err, want, "{name:?}");
        assert!(
            err.to_string().ends_with(&format!(", e.g. {fix}")),
            "{name:?}: {err}"
        );
        // The int8 network's generator shares the check.
        assert_eq!(q.to_rust(name).unwrap_err(), want, "{name:?}");
    }
    assert_eq!(all_bits(&net), before);
    assert_eq!(
        to_rust(&net, "my-net").unwrap_err().to_string(),
        "\"my-net\" cannot name a static: it holds '-' at byte 2; write it in UPPER_SNAKE_CASE, \
         with ASCII letters, digits and `_`, not starting with a digit, e.g. MY_NET"
    );
    assert_eq!(
        to_rust(&net, "NET\n").unwrap_err().to_string(),
        "\"NET\\n\" cannot name a static: it holds '\\n' at byte 3; write it in \
         UPPER_SNAKE_CASE, with ASCII letters, digits and `_`, not starting with a digit, e.g. NET"
    );
    // Names that can: upper, lower, a leading underscore, a weak keyword.
    for name in ["NET", "net_2", "_NET", "union", "safe"] {
        assert!(to_rust(&net, name).is_ok(), "{name}");
    }

    // A megabyte of name: the message keeps its first bytes and its length.
    let huge = format!("{}-", "N".repeat(1 << 20));
    let err = to_rust(&net, &huge).unwrap_err();
    assert!(matches!(
        err,
        CodegenError::BadName {
            problem: NameProblem::Character { found: '-', at },
            ..
        } if at == 1 << 20
    ));
    let text = err.to_string();
    assert!(text.len() < 400, "{} bytes", text.len());
    assert!(
        text.contains(&format!("…\" ({} bytes)", huge.len())),
        "{text}"
    );
}
