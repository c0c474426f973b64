//! Import from safetensors: a PyTorch `state_dict` saved with
//! `safetensors.torch.save_file` (feature `safetensors`).
//!
//! Each [`Dense<I, O>`](crate::Dense) takes a tensor `<prefix>.weight` of
//! shape `(O, I)` (PyTorch's `Linear.weight` is `(out, in)`; it is
//! transposed into nalgebra's layout) and, if present, `<prefix>.bias` of
//! shape `(O)` (absent for `Linear(…, bias=False)`: the bias is then 0).
//! Prefixes are matched to the network's `Dense` layers either
//! [in order](Mapping::InOrder) (sorted naturally, so `"2"` comes before
//! `"10"`, as `nn.Sequential` names them) or [by name](Mapping::ByName).
//!
//! Every tensor's name, shape, dtype and values are checked before a single
//! parameter changes. `F32` tensors load into `f32` and `f64` networks;
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

use crate::{Layer, Params, Scalar};

/// How tensors are matched to the network's `Dense` layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping<'a> {
    /// Every tensor is `<prefix>.weight` or `<prefix>.bias`; the prefixes,
    /// sorted naturally (numbers by value), go to the `Dense` layers in order.
    InOrder,
    /// One prefix per `Dense` layer, in order; other tensors are ignored.
    ByName(&'a [&'a str]),
}

/// Why a safetensors file could not be imported (nothing was changed).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ImportError {
    /// The bytes are not a valid safetensors file.
    Parse(String),
    /// The network has a layer with parameters that is not `Dense`.
    Unsupported {
        /// Its description.
        layer: String,
    },
    /// The file has another number of layers than the network has `Dense` layers.
    LayerCount {
        /// The network's `Dense` layers.
        expected: usize,
        /// The file's layers (weight prefixes, or the names given).
        found: usize,
    },
    /// A tensor the mapping needs is not in the file.
    Missing {
        /// Its name.
        name: String,
    },
    /// A tensor that is neither a weight nor a bias (with [`Mapping::InOrder`]).
    Unexpected {
        /// Its name.
        name: String,
    },
    /// A tensor has the wrong shape.
    Shape {
        /// Its name.
        name: String,
        /// The shape the layer needs.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
        /// The layer, e.g. `Dense<8, 3>`.
        layer: Layer,
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
    /// A value is NaN or infinite.
    NonFinite {
        /// The tensor's name.
        name: String,
        /// The value's position in the tensor (row-major).
        index: usize,
    },
}

impl core::fmt::Display for ImportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ImportError::Parse(e) => write!(f, "not a valid safetensors file: {e}"),
            ImportError::Unsupported { layer } => {
                write!(
                    f,
                    "the network's layer {layer} has parameters but is not Dense; it cannot be imported"
                )
            }
            ImportError::LayerCount { expected, found } => {
                write!(
                    f,
                    "the file has {found} layers, but the network has {expected} Dense layers"
                )
            }
            ImportError::Missing { name } => write!(f, "tensor {name:?} is not in the file"),
            ImportError::Unexpected { name } => write!(
                f,
                "tensor {name:?} is neither a weight nor a bias; map the layers by name to ignore it"
            ),
            ImportError::Shape {
                name,
                expected,
                found,
                layer,
            } => write!(
                f,
                "tensor {name:?} has shape {found:?} in the file, but {layer} needs {expected:?} \
                 (PyTorch's Linear.weight is (out, in))"
            ),
            ImportError::Dtype {
                name,
                found,
                expected,
            } => {
                write!(
                    f,
                    "tensor {name:?} is {found} in the file, which a {expected} network cannot take"
                )
            }
            ImportError::NonFinite { name, index } => {
                write!(
                    f,
                    "tensor {name:?} holds NaN or an infinity at position {index}"
                )
            }
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

/// One `Dense` layer's tensors, checked and converted.
struct Import {
    weight: Vec<f64>, // column-major, as nalgebra stores it
    bias: Vec<f64>,
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

/// Reads `bytes` (a safetensors file) into the network's `Dense` layers as
/// `mapping` says; checks everything first and changes nothing on error.
pub fn load_safetensors<T: Scalar, N: Params<T>>(
    net: &mut N,
    bytes: &[u8],
    mapping: Mapping<'_>,
) -> Result<(), ImportError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| ImportError::Parse(e.to_string()))?;

    let mut dense = Vec::new();
    let mut unsupported = None;
    net.layers(&mut |l| match l {
        Layer::Dense { inputs, outputs } => dense.push((inputs, outputs)),
        Layer::Custom { params, .. } if params > 0 => {
            unsupported.get_or_insert(l.to_string());
        }
        _ => {}
    });
    if let Some(layer) = unsupported {
        return Err(ImportError::Unsupported { layer });
    }

    let prefixes: Vec<String> = match mapping {
        Mapping::ByName(names) => names.iter().map(|s| s.to_string()).collect(),
        Mapping::InOrder => {
            let mut p: Vec<String> = Vec::new();
            for name in file.names() {
                let prefix = name
                    .strip_suffix(".weight")
                    .or_else(|| name.strip_suffix(".bias"))
                    .ok_or_else(|| ImportError::Unexpected {
                        name: name.to_string(),
                    })?;
                if !p.iter().any(|q| q == prefix) {
                    p.push(prefix.to_string());
                }
            }
            p.sort_by(|a, b| natural_cmp(a, b));
            p
        }
    };
    if prefixes.len() != dense.len() {
        return Err(ImportError::LayerCount {
            expected: dense.len(),
            found: prefixes.len(),
        });
    }

    let mut imports = Vec::with_capacity(dense.len());
    for (prefix, &(inputs, outputs)) in prefixes.iter().zip(&dense) {
        let layer = Layer::Dense { inputs, outputs };
        let wname = format!("{prefix}.weight");
        let w = file.tensor(&wname).map_err(|_| ImportError::Missing {
            name: wname.clone(),
        })?;
        if w.shape() != [outputs, inputs] {
            return Err(ImportError::Shape {
                name: wname,
                expected: [outputs, inputs].to_vec(),
                found: w.shape().to_vec(),
                layer,
            });
        }
        let row_major = values::<T>(&wname, &w)?;
        // (out, in) row-major → column-major: W[o, i] lives at i * O + o.
        let mut weight = std::vec![0.0; inputs * outputs];
        for o in 0..outputs {
            for i in 0..inputs {
                weight[i * outputs + o] = row_major[o * inputs + i];
            }
        }
        let bname = format!("{prefix}.bias");
        let bias = match file.tensor(&bname) {
            Err(_) => std::vec![0.0; outputs],
            Ok(b) => {
                if b.shape() != [outputs] {
                    return Err(ImportError::Shape {
                        name: bname,
                        expected: [outputs].to_vec(),
                        found: b.shape().to_vec(),
                        layer,
                    });
                }
                values::<T>(&bname, &b)?
            }
        };
        imports.push(Import { weight, bias });
    }

    // Everything checked: write. Dense layers give their weight slice, then
    // their bias slice; other layers here have no parameters.
    let mut slices = imports.iter().flat_map(|l| [&l.weight, &l.bias]);
    net.visit_mut(&mut |p| {
        let src = slices.next().expect("one slice per Dense weight and bias");
        for (d, &s) in p.iter_mut().zip(src) {
            *d = T::of_f64(s);
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
