//! Import from safetensors: a PyTorch `state_dict` saved with
//! `safetensors.torch.save_file` (feature `safetensors`).
//!
//! Every layer with tensors takes them by the names it gives them
//! ([`TensorInfo::name`]) under a prefix: a [`Dense<I, O>`](crate::Dense)
//! takes `<prefix>.weight` of shape `(O, I)` (PyTorch's `Linear.weight` is
//! `(out, in)`; it is transposed into nalgebra's layout) and `<prefix>.bias`
//! of shape `(O)`; a [`BatchNorm1d`](crate::BatchNorm1d) also takes its
//! `running_mean` and `running_var`. The shapes are PyTorch's, as each layer
//! describes them. A bias may be absent (`Linear(…, bias=False)`): it is
//! then 0. PyTorch's bookkeeping counter `num_batches_tracked` is skipped.
//! Prefixes are matched to the network's layers with tensors either
//! [in order](Mapping::InOrder) (sorted naturally, so `"2"` comes before
//! `"10"`, as `nn.Sequential` names them) or [by name](Mapping::ByName).
//!
//! Every tensor's name, shape, dtype and values are checked before a single
//! value changes. A quantised network ([`crate::quant`]) is written and read
//! with [`save_int8_safetensors`] and [`load_int8_safetensors`]. `F32` tensors load into `f32` and `f64` networks;
//! `F64` tensors into `f64` networks only (narrowing would lose precision).
//!
//! ```no_run
//! use staticnet::io::safetensors::{Mapping, load_safetensors};
//! use staticnet::{Dense, Params, Tanh};
//!
//! // model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
//! let mut net = <(Dense<4, 8>, Tanh, Dense<8, 3>)>::zeros();
//! let bytes = std::fs::read("model.safetensors").unwrap();
//! load_safetensors(&mut net, &bytes, Mapping::InOrder).unwrap();
//! ```

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use ::safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::params::{Fill, Node, Shape, TensorInfo};
use crate::{Params, Scalar};

/// PyTorch's counter of batches seen, kept beside a batch normalisation's
/// running statistics; no layer here needs it.
const SKIPPED: &str = "num_batches_tracked";

/// How tensors are matched to the network's layers with tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping<'a> {
    /// Every tensor is `<prefix>.<name>`; the prefixes, sorted naturally
    /// (numbers by value), go to the layers with tensors in order.
    InOrder,
    /// One prefix per layer with tensors, in order; other tensors are
    /// ignored.
    ByName(&'a [&'a str]),
}

/// Why a safetensors file could not be imported (nothing was changed).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ImportError {
    /// The bytes are not a valid safetensors file.
    Parse(String),
    /// The file has another number of layers than the network has layers
    /// with tensors.
    LayerCount {
        /// The network's layers with tensors.
        expected: usize,
        /// The file's layers (prefixes, or the names given).
        found: usize,
    },
    /// A tensor the mapping needs is not in the file.
    Missing {
        /// Its name.
        name: String,
        /// The layer that needs it, e.g. `Dense`.
        layer: &'static str,
    },
    /// A tensor under a layer's prefix that the layer does not have (with
    /// [`Mapping::InOrder`]).
    Unexpected {
        /// Its name.
        name: String,
        /// The tensors the layer has.
        layer: String,
    },
    /// A tensor has the wrong shape.
    Shape {
        /// Its name.
        name: String,
        /// The shape the layer needs (PyTorch's order of axes).
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
        /// The layer's kind, e.g. `Dense`.
        layer: &'static str,
    },
    /// A tensor has a dtype the network cannot take.
    Dtype {
        /// Its name.
        name: String,
        /// The file's dtype.
        found: String,
        /// The network's scalar type.
        expected: &'static str,
    },
    /// A quantised network's tensor has another dtype in the file.
    Int8Dtype {
        /// Its name.
        name: String,
        /// The file's dtype.
        found: String,
        /// The dtype the network keeps it in (`I8`, `I32`, `F32`).
        expected: &'static str,
    },
    /// A value is NaN or infinite.
    NonFinite {
        /// The tensor's name.
        name: String,
        /// The value's position in the tensor (row-major).
        index: usize,
    },
    /// The network's layers disagree with themselves: the tensors a layer
    /// describes ([`Params::describe`]) are not the ones it gives
    /// ([`Params::tensors`]) — a bug in a layer's `Params` impl, not in the
    /// file.
    Inconsistent {
        /// The layer whose tensors disagree (the first, as far as known).
        layer: &'static str,
    },
}

impl core::fmt::Display for ImportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ImportError::Parse(e) => write!(f, "not a valid safetensors file: {e}"),
            ImportError::LayerCount { expected, found } => write!(
                f,
                "the file has {found} layers, but the network has {expected} layers with tensors"
            ),
            ImportError::Missing { name, layer } => {
                write!(
                    f,
                    "tensor {name:?}, which a {layer} layer needs, is not in the file"
                )
            }
            ImportError::Unexpected { name, layer } => write!(
                f,
                "tensor {name:?} is not one of its layer's tensors ({layer}); map the layers by \
                 name to ignore it"
            ),
            ImportError::Shape {
                name,
                expected,
                found,
                layer,
            } => write!(
                f,
                "tensor {name:?} has shape {found:?} in the file, but the {layer} layer needs \
                 {expected:?} (PyTorch's order of axes: Linear.weight is (out, in))"
            ),
            ImportError::Dtype {
                name,
                found,
                expected,
            } => write!(
                f,
                "tensor {name:?} is {found} in the file, which a {expected} network cannot take"
            ),
            ImportError::Int8Dtype {
                name,
                found,
                expected,
            } => write!(
                f,
                "tensor {name:?} is {found} in the file, but the quantised network keeps it as {expected}"
            ),
            ImportError::NonFinite { name, index } => write!(
                f,
                "tensor {name:?} holds NaN or an infinity at position {index}"
            ),
            ImportError::Inconsistent { layer } => write!(
                f,
                "the {layer} layer describes other tensors than it has: its `Params` impl \
                 disagrees with itself"
            ),
        }
    }
}

impl std::error::Error for ImportError {}

/// Compares names with runs of digits by value: "2.weight" < "10.weight".
fn natural_cmp(a: &str, b: &str) -> core::cmp::Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return core::cmp::Ordering::Equal,
            (None, _) => return core::cmp::Ordering::Less,
            (_, None) => return core::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let nb = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (da, db) = (&a[..na], &b[..nb]);
                let (ta, tb) = (trim_zeros(da), trim_zeros(db));
                let ord = ta.len().cmp(&tb.len()).then(ta.cmp(tb)).then(na.cmp(&nb));
                if ord != core::cmp::Ordering::Equal {
                    return ord;
                }
                (a, b) = (&a[na..], &b[nb..]);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let k = d.iter().take_while(|&&c| c == b'0').count();
    &d[k.min(d.len().saturating_sub(1))..]
}

fn values<T: Scalar>(name: &str, view: &TensorView<'_>) -> Result<Vec<f64>, ImportError> {
    let dtype_error = || ImportError::Dtype {
        name: name.to_string(),
        found: format!("{:?}", view.dtype()),
        expected: T::NAME,
    };
    let data = view.data();
    let out: Vec<f64> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        Dtype::F64 if size_of::<T>() == 8 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        _ => return Err(dtype_error()),
    };
    if let Some(index) = out.iter().position(|v| !v.is_finite()) {
        return Err(ImportError::NonFinite {
            name: name.to_string(),
            index,
        });
    }
    Ok(out)
}

/// A layer that has tensors of its own, as its description lists them.
struct LayerTensors {
    kind: &'static str,
    tensors: Vec<TensorInfo>,
}

/// The network's layers with tensors of their own, in order.
fn layers_with_tensors<T: Scalar, N: Params<T>>(net: &N) -> Vec<LayerTensors> {
    let mut open: Vec<LayerTensors> = Vec::new();
    let mut done = Vec::new();
    net.describe(&mut |node| match node {
        Node::Begin(kind) => open.push(LayerTensors {
            kind,
            tensors: Vec::new(),
        }),
        // A description whose events do not nest (a custom layer's bug)
        // loses the stray events instead of panicking.
        Node::Tensor(t) => {
            if let Some(layer) = open.last_mut() {
                layer.tensors.push(t);
            }
        }
        Node::End => {
            if let Some(layer) = open.pop().filter(|l| !l.tensors.is_empty()) {
                done.push(layer);
            }
        }
        Node::Setting(..) => {}
    });
    done
}

/// Reads `bytes` (a safetensors file) into the network's layers as
/// `mapping` says; checks everything first and changes nothing on error.
pub fn load_safetensors<T: Scalar, N: Params<T>>(
    net: &mut N,
    bytes: &[u8],
    mapping: Mapping<'_>,
) -> Result<(), ImportError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| ImportError::Parse(e.to_string()))?;
    let layers = layers_with_tensors(&*net);

    let prefixes: Vec<String> = match mapping {
        Mapping::ByName(names) => names.iter().map(|s| s.to_string()).collect(),
        Mapping::InOrder => {
            let mut p: Vec<String> = Vec::new();
            for name in file.names() {
                let Some((prefix, _)) = name.rsplit_once('.') else {
                    return Err(ImportError::Unexpected {
                        name: name.to_string(),
                        layer: "no layer: the name has no `<prefix>.` part".to_string(),
                    });
                };
                if !p.iter().any(|q| q == prefix) {
                    p.push(prefix.to_string());
                }
            }
            p.sort_by(|a, b| natural_cmp(a, b));
            p
        }
    };
    if prefixes.len() != layers.len() {
        return Err(ImportError::LayerCount {
            expected: layers.len(),
            found: prefixes.len(),
        });
    }

    // Every value, checked and in storage order, tensor by tensor.
    let mut imports: Vec<Vec<f64>> = Vec::new();
    for (prefix, layer) in prefixes.iter().zip(&layers) {
        let full = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        if mapping == Mapping::InOrder {
            for name in file.names() {
                let own = name.rsplit_once('.').map_or("", |(p, _)| p) == prefix;
                let tail = name.rsplit_once('.').map_or(name, |(_, t)| t);
                if own && tail != SKIPPED && !layer.tensors.iter().any(|t| t.name == tail) {
                    let names: Vec<&str> = layer.tensors.iter().map(|t| t.name).collect();
                    return Err(ImportError::Unexpected {
                        name: name.to_string(),
                        layer: format!("{} has {}", layer.kind, names.join(", ")),
                    });
                }
            }
        }
        for info in &layer.tensors {
            let name = full(info.name);
            let shape: Shape = info.shape;
            let view = match file.tensor(&name) {
                Ok(view) => view,
                Err(_) if matches!(info.fill, Fill::Bias { .. }) => {
                    imports.push(std::vec![0.0; shape.len()]);
                    continue;
                }
                Err(_) => {
                    return Err(ImportError::Missing {
                        name,
                        layer: layer.kind,
                    });
                }
            };
            if view.shape() != shape.dims() {
                return Err(ImportError::Shape {
                    name,
                    expected: shape.dims().to_vec(),
                    found: view.shape().to_vec(),
                    layer: layer.kind,
                });
            }
            let row_major = values::<T>(&name, &view)?;
            let mut stored = std::vec![0.0; row_major.len()];
            for (k, &v) in row_major.iter().enumerate() {
                stored[shape.storage_index(info.layout, k)] = v;
            }
            imports.push(stored);
        }
    }

    // The tensors as the layers give them must be the ones they described,
    // in the same order and of the same lengths.
    let mut lengths = Vec::new();
    N::tensors([&*net], [], &mut |_, [p], []| lengths.push(p.len()));
    let described: Vec<usize> = imports.iter().map(Vec::len).collect();
    if lengths != described {
        let layer = layers.first().map_or(N::KIND, |l| l.kind);
        return Err(ImportError::Inconsistent { layer });
    }

    // Everything checked: write, tensor by tensor in the same order.
    let mut next = imports.iter();
    N::tensors([], [net], &mut |_, [], [p]| {
        if let Some(src) = next.next() {
            for (d, &s) in p.iter_mut().zip(src) {
                *d = T::of_f64(s);
            }
        }
    });
    Ok(())
}

/// The safetensors names of a quantised network's tensors, in
/// [`QLayer::tensors`](crate::quant::QLayer::tensors) order: each int8
/// layer's as `<k>.<name>` with `k` its position among the layers (as
/// `nn.Sequential` numbers them), the network's own input and output
/// parameters without a prefix; the type suffix of the name (` (i8)`) is
/// the tensor's dtype instead.
fn int8_names<N: crate::quant::QLayer>(net: &N) -> Vec<(String, &'static str)> {
    let mut names = Vec::new();
    let (mut depth, mut leaf, mut leaves) = (0usize, None, 0usize);
    net.describe(&mut |node| match node {
        Node::Begin(kind) => {
            depth += 1;
            if kind != "Sequential" && kind != "Quantized" {
                leaf = Some(leaves);
                leaves += 1;
            }
        }
        Node::Tensor(t) => {
            let base = t.name.split(" (").next().unwrap_or(t.name);
            let name = match leaf {
                Some(k) if depth > 0 => format!("{k}.{base}"),
                _ => base.to_string(),
            };
            names.push((name, t.name));
        }
        Node::End => {
            depth = depth.saturating_sub(1);
            leaf = None;
        }
        Node::Setting(..) => {}
    });
    names
}

/// A quantised network as a safetensors file: `I8`, `I32` and `F32` tensors
/// named as [`load_int8_safetensors`] reads them (`input_scale`, `0.weight`,
/// `0.bias`, `0.multiplier`, `0.shift`, `0.weight_scale`, …), for numpy or
/// another tool to read.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::io::safetensors::{load_int8_safetensors, save_int8_safetensors};
/// use staticnet::quant::{self, Calibration};
/// use staticnet::{Dense, Relu};
///
/// let net = (Dense::<2, 2>::from_rows([[1.0, -1.0], [0.5, 0.5]], [0.0, 0.1]), Relu);
/// let data = [(SVector::from([1.0, 0.0]), 0), (SVector::from([-1.0, 0.5]), 0)];
/// let q = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
/// let bytes = save_int8_safetensors(&q).unwrap();
/// let other = (Dense::<2, 2>::from_rows([[0.5; 2]; 2], [0.0; 2]), Relu);
/// let mut copy = quant::quantize(&other, &data[..], Calibration::MinMax).unwrap();
/// assert_ne!(copy, q);
/// load_int8_safetensors(&mut copy, &bytes).unwrap();
/// assert_eq!(copy, q);
/// ```
pub fn save_int8_safetensors<N: crate::quant::QLayer>(net: &N) -> Result<Vec<u8>, ImportError> {
    use crate::quant::QData;
    let names = int8_names(net);
    let mut tensors: Vec<(Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    net.tensors(&mut |_, shape, data| {
        let (dtype, bytes) = match data {
            QData::I8(v) => (Dtype::I8, v.iter().map(|&x| x as u8).collect()),
            QData::I32(v) => (Dtype::I32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            QData::F32(v) => (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        };
        tensors.push((dtype, shape.dims().to_vec(), bytes));
    });
    if names.len() != tensors.len() {
        return Err(ImportError::Inconsistent { layer: N::KIND });
    }
    let mut views = Vec::new();
    for ((name, _), (dtype, shape, bytes)) in names.iter().zip(&tensors) {
        let view = TensorView::new(*dtype, shape.clone(), bytes)
            .map_err(|e| ImportError::Parse(e.to_string()))?;
        views.push((name.clone(), view));
    }
    ::safetensors::serialize(views, None).map_err(|e| ImportError::Parse(e.to_string()))
}

/// Reads a quantised network's tensors from a safetensors file written by
/// [`save_int8_safetensors`] (or by any tool that uses its names, dtypes and
/// shapes). Checks every tensor's presence, dtype and shape, that the file
/// has no other tensors and that every scale is finite, before a single
/// value changes.
pub fn load_int8_safetensors<N: crate::quant::QLayer>(
    net: &mut N,
    bytes: &[u8],
) -> Result<(), ImportError> {
    use crate::quant::{QData, QDataMut};
    let file = SafeTensors::deserialize(bytes).map_err(|e| ImportError::Parse(e.to_string()))?;
    let names = int8_names(&*net);
    for name in file.names() {
        if !names.iter().any(|(n, _)| n == name) {
            return Err(ImportError::Unexpected {
                name: name.to_string(),
                layer: format!(
                    "a {} with tensors {}",
                    N::KIND,
                    names
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    // Check every tensor first.
    let mut result = Ok(());
    let mut k = 0;
    net.tensors(&mut |_, shape, data| {
        let Some((name, _)) = names.get(k) else {
            result = Err(ImportError::Inconsistent { layer: N::KIND });
            return;
        };
        k += 1;
        if result.is_err() {
            return;
        }
        let view = match file.tensor(name) {
            Ok(v) => v,
            Err(_) => {
                result = Err(ImportError::Missing {
                    name: name.clone(),
                    layer: N::KIND,
                });
                return;
            }
        };
        let (dtype, type_name) = match data {
            QData::I8(_) => (Dtype::I8, "I8"),
            QData::I32(_) => (Dtype::I32, "I32"),
            QData::F32(_) => (Dtype::F32, "F32"),
        };
        if view.dtype() != dtype {
            result = Err(ImportError::Int8Dtype {
                name: name.clone(),
                found: format!("{:?}", view.dtype()),
                expected: type_name,
            });
        } else if view.shape() != shape.dims() {
            result = Err(ImportError::Shape {
                name: name.clone(),
                expected: shape.dims().to_vec(),
                found: view.shape().to_vec(),
                layer: N::KIND,
            });
        } else if dtype == Dtype::F32
            && let Some(index) = view
                .data()
                .chunks_exact(4)
                .position(|b| !f32::from_le_bytes(b.try_into().unwrap()).is_finite())
        {
            result = Err(ImportError::NonFinite {
                name: name.clone(),
                index,
            });
        }
    });
    result?;
    let mut k = 0;
    net.tensors_mut(&mut |_, _, data| {
        let view = file.tensor(&names[k].0).expect("checked above");
        k += 1;
        let bytes = view.data();
        match data {
            QDataMut::I8(v) => v.iter_mut().zip(bytes).for_each(|(x, &b)| *x = b as i8),
            QDataMut::I32(v) => v
                .iter_mut()
                .zip(bytes.chunks_exact(4))
                .for_each(|(x, b)| *x = i32::from_le_bytes(b.try_into().unwrap())),
            QDataMut::F32(v) => v
                .iter_mut()
                .zip(bytes.chunks_exact(4))
                .for_each(|(x, b)| *x = f32::from_le_bytes(b.try_into().unwrap())),
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;
    use core::cmp::Ordering::*;

    #[test]
    fn natural_order_compares_numbers_by_value() {
        assert_eq!(natural_cmp("2", "10"), Less);
        assert_eq!(natural_cmp("layer10", "layer9"), Greater);
        assert_eq!(natural_cmp("fc1", "fc1"), Equal);
        assert_eq!(natural_cmp("a.2.b", "a.10.a"), Less);
        assert_eq!(natural_cmp("007", "7"), Greater);
        assert_eq!(natural_cmp("encoder", "head"), Less);
    }
}
