//! Import from safetensors: a PyTorch `state_dict` saved with
//! `safetensors.torch.save_file` (feature `safetensors`).
//!
//! Every layer with tensors takes them by the names it gives them
//! ([`TensorInfo::name`]) under a prefix: a [`Dense<I, O>`](crate::Dense)
//! takes `<prefix>.weight` of shape `(O, I)` (PyTorch's `Linear.weight` is
//! `(out, in)`; it is transposed into nalgebra's layout) and `<prefix>.bias`
//! of shape `(O)`; a [`BatchNorm1d`](crate::BatchNorm1d) also takes its
//! `running_mean` and `running_var`; a [`Conv1d`](crate::Conv1d) takes
//! `weight` `(out, in, kernel)` and `bias`, a
//! [`DepthwiseConv1d`](crate::DepthwiseConv1d) `weight` `(C, 1, kernel)`
//! (PyTorch's `groups = C`); a [`Gru`](crate::Gru) or [`Lstm`](crate::Lstm)
//! takes `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0` and `bias_hh_l0` in
//! PyTorch's gate order. The shapes are PyTorch's, as each layer
//! describes them. A bias may be absent (`Linear(…, bias=False)`): it is
//! then 0. A layer without a bias (`Conv1d<…, false>`) refuses a file that
//! has one. Parameter-free modules (activations, pools, padding, `Flatten`)
//! have no tensors: a `nn.Sequential`'s indices skip them, and the
//! natural order below still maps its layers. Sequences are laid out as
//! PyTorch's `(batch, length, channels)`: give a convolution's PyTorch
//! inputs `(batch, channels, length)` transposed. PyTorch's bookkeeping counter `num_batches_tracked` is skipped.
//! Prefixes are matched to the network's layers with tensors either
//! [in order](Mapping::InOrder) or [by name](Mapping::ByName). In order, the
//! prefixes are sorted naturally, numbers by value (`"2"` before `"10"`, as
//! `nn.Sequential` names them; `fc2` before `fc10`), never by their place in
//! the file (`safetensors.torch.save_file` does not keep the module order).
//! Where the names carry no index that orders two prefixes (`encoder` and
//! `decoder`, `features.0` and `classifier.0`) and their tensors would fit
//! each other's layer, the import could swap them: it is refused with
//! [`ImportError::AmbiguousOrder`], which asks for [`Mapping::ByName`].
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

use super::{Name, le};
use crate::params::{Fill, Node, TensorInfo};
use crate::{Params, Scalar};

/// PyTorch's counter of batches seen, kept beside a batch normalisation's
/// running statistics; no layer here needs it.
const SKIPPED: &str = "num_batches_tracked";

/// The longest message of the safetensors parser an [`ImportError::Parse`]
/// keeps (it can quote a name from the file).
const PARSE_MESSAGE_BYTES: usize = 200;

/// How tensors are matched to the network's layers with tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping<'a> {
    /// Every tensor is `<prefix>.<name>`; the prefixes, sorted naturally
    /// (numbers by value: `2` before `10`, `fc2` before `fc10`), go to the
    /// layers with tensors in order. Two prefixes that no index orders
    /// (`encoder`, `decoder`) and whose tensors fit each other's layer are
    /// refused ([`ImportError::AmbiguousOrder`]).
    InOrder,
    /// One prefix per layer with tensors, in order; other tensors are
    /// ignored.
    ByName(&'a [&'a str]),
}

/// Why a safetensors file could not be imported (nothing was changed).
///
/// Names from the file are kept as [`Name`]s: at most [`Name::CAPACITY`]
/// bytes, a longer one shown cut with its full length.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ImportError {
    /// The bytes are not a valid safetensors file (the parser's message, cut
    /// to 200 bytes).
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
        name: Name,
        /// The layer that needs it, e.g. `Dense`.
        layer: &'static str,
    },
    /// A tensor under a layer's prefix that the layer does not have (with
    /// [`Mapping::InOrder`]).
    Unexpected {
        /// Its name.
        name: Name,
        /// The tensors the layer has.
        layer: String,
    },
    /// A tensor has the wrong shape.
    Shape {
        /// Its name.
        name: Name,
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
        name: Name,
        /// The file's dtype.
        found: String,
        /// The network's scalar type.
        expected: &'static str,
    },
    /// A quantised network's tensor has another dtype in the file.
    Int8Dtype {
        /// Its name.
        name: Name,
        /// The file's dtype.
        found: String,
        /// The dtype the network keeps it in (`I8`, `I32`, `F32`).
        expected: &'static str,
    },
    /// A value is NaN or infinite.
    NonFinite {
        /// The tensor's name.
        name: Name,
        /// The value's position in the tensor (row-major).
        index: usize,
    },
    /// With [`Mapping::InOrder`]: two prefixes whose order no index in their
    /// names gives (`decoder` and `encoder`), and whose tensors fit each
    /// other's layer, so an import in order could swap them silently.
    AmbiguousOrder {
        /// The two prefixes, in their natural order (the order an import
        /// in order would take).
        prefixes: [Name; 2],
        /// Their tensors' names, the first prefix's first.
        tensors: Vec<Name>,
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
            ImportError::LayerCount { expected, found } => {
                write!(
                    f,
                    "the file has {found} layers, but the network has {expected} layers with tensors"
                )?;
                if found > expected {
                    f.write_str(
                        ": to take some of the file's layers, map them by name \
                         (Mapping::ByName with each layer's prefix)",
                    )?;
                }
                Ok(())
            }
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
            } => {
                write!(
                    f,
                    "tensor {name:?} has shape {found:?} in the file, but the {layer} layer needs \
                     {expected:?} (PyTorch's order of axes: "
                )?;
                // The usual example for the tensor's rank: a convolution's
                // weight, or a linear layer's.
                f.write_str(if expected.len() == 3 {
                    "Conv1d.weight is (out, in / groups, kernel))"
                } else {
                    "Linear.weight is (out, in))"
                })
            }
            ImportError::Dtype {
                name,
                found,
                expected,
            } => {
                write!(
                    f,
                    "tensor {name:?} is {found} in the file, which a {expected} network cannot \
                     take: save it as float32 in PyTorch (`tensor.float()`)"
                )?;
                if found == "F64" {
                    f.write_str(" or load it into an f64 network")?;
                }
                Ok(())
            }
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
            ImportError::AmbiguousOrder { prefixes, tensors } => {
                f.write_str("the tensors ")?;
                for (i, t) in tensors.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{t}`")?;
                }
                write!(
                    f,
                    " fit two layers in either order, and no index in the prefixes `{}` and `{}` \
                     says which comes first: import by name, \
                     Mapping::ByName(&[…]) with each layer's prefix in the network's order",
                    prefixes[0], prefixes[1]
                )
            }
            ImportError::Inconsistent { layer } => write!(
                f,
                "the {layer} layer describes other tensors than it has: its `Params` impl \
                 disagrees with itself"
            ),
        }
    }
}

impl std::error::Error for ImportError {}

/// The safetensors parser's message, control characters escaped (it can
/// quote the file), cut to [`PARSE_MESSAGE_BYTES`] (at a character
/// boundary) with `…` and its full length.
fn parse_error(e: impl core::fmt::Display) -> ImportError {
    let mut s = String::new();
    for c in e.to_string().chars() {
        if c.is_control() {
            s.extend(c.escape_debug());
        } else {
            s.push(c);
        }
    }
    if s.len() > PARSE_MESSAGE_BYTES {
        let full = s.len();
        let mut cut = PARSE_MESSAGE_BYTES;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(&format!("… ({full} bytes)"));
    }
    ImportError::Parse(s)
}

/// Compares names with runs of digits by value: "2.weight" < "10.weight".
fn natural_cmp(a: &str, b: &str) -> core::cmp::Ordering {
    let (mut a, mut b) = (tokens(a), tokens(b));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return core::cmp::Ordering::Equal,
            (None, _) => return core::cmp::Ordering::Less,
            (_, None) => return core::cmp::Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = x.cmp(&y);
                if ord != core::cmp::Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// Whether an index orders `a` and `b`: at the first token where they
/// differ, both have a number, of different values (`fc2`, `fc10`;
/// `0.weight`, `2.weight`), rather than text (`encoder`, `decoder`) or an
/// end (`fc`, `fc1`).
fn index_ordered(a: &str, b: &str) -> bool {
    let (mut a, mut b) = (tokens(a), tokens(b));
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => {}
            (Some(Token::Number(x)), Some(Token::Number(y))) => return x.value() != y.value(),
            _ => return false,
        }
    }
}

/// A run of a name: ASCII digits (compared by value, then by their count of
/// leading zeros) or a single other byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Token<'a> {
    Number(Digits<'a>),
    Byte(u8),
}

/// A run of ASCII digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digits<'a>(&'a [u8]);

impl<'a> Digits<'a> {
    /// The digits without leading zeros (`"0"` for zero).
    fn value(&self) -> &'a [u8] {
        let k = self.0.iter().take_while(|&&c| c == b'0').count();
        &self.0[k.min(self.0.len().saturating_sub(1))..]
    }
}

impl Ord for Digits<'_> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        let (a, b) = (self.value(), other.value());
        a.len()
            .cmp(&b.len())
            .then(a.cmp(b))
            .then(self.0.len().cmp(&other.0.len()))
    }
}

impl PartialOrd for Digits<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The tokens of a name, in order. A number sorts before any other byte
/// (`fc1` before `fc_a`).
fn tokens(s: &str) -> impl Iterator<Item = Token<'_>> {
    let mut rest = s.as_bytes();
    core::iter::from_fn(move || {
        let first = *rest.first()?;
        if first.is_ascii_digit() {
            let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            let (digits, tail) = rest.split_at(n);
            rest = tail;
            Some(Token::Number(Digits(digits)))
        } else {
            rest = &rest[1..];
            Some(Token::Byte(first))
        }
    })
}

/// The values of a tensor of `len` values, as `f64`, row-major.
fn values<T: Scalar>(
    name: &str,
    view: &TensorView<'_>,
    len: usize,
) -> Result<Vec<f64>, ImportError> {
    let data = view.data();
    let out: Vec<f64> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(le(c)) as f64)
            .collect(),
        Dtype::F64 if size_of::<T>() == 8 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(le(c)))
            .collect(),
        _ => return Err(dtype_error::<T>(name, view)),
    };
    // The parser checks that a tensor's bytes are its shape's; a file that
    // slipped past it is refused, not read short or long.
    if out.len() != len {
        return Err(parse_error(format!(
            "tensor {:?} holds {} values, but its shape has {len}",
            Name::from(name),
            out.len()
        )));
    }
    if let Some(index) = out.iter().position(|v| !v.is_finite()) {
        return Err(ImportError::NonFinite {
            name: Name::from(name),
            index,
        });
    }
    Ok(out)
}

fn dtype_error<T: Scalar>(name: &str, view: &TensorView<'_>) -> ImportError {
    ImportError::Dtype {
        name: Name::from(name),
        found: format!("{:?}", view.dtype()),
        expected: T::NAME,
    }
}

/// Whether a network of scalar `T` takes a tensor of this dtype.
fn takes<T: Scalar>(dtype: Dtype) -> bool {
    dtype == Dtype::F32 || (dtype == Dtype::F64 && size_of::<T>() == 8)
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

/// A prefix of the file and, with [`Mapping::InOrder`], the names of the
/// tensors under it (natural order).
struct Prefix<'f> {
    prefix: String,
    names: Vec<&'f str>,
}

impl Prefix<'_> {
    /// The full name of the layer's tensor `name` under this prefix.
    fn full(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }
}

/// `<prefix>.<name>` split at the last dot.
fn split(name: &str) -> Option<(&str, &str)> {
    name.rsplit_once('.')
}

/// Checks, without reading values, that the file's tensors under `prefix`
/// are the layer's: with `in_order`, none that the layer lacks; every
/// tensor present (a bias may be absent), of the layer's shape and of a
/// dtype `T` takes.
fn fits<T: Scalar>(
    file: &SafeTensors<'_>,
    prefix: &Prefix<'_>,
    layer: &LayerTensors,
    in_order: bool,
) -> Result<(), ImportError> {
    if in_order {
        for &name in &prefix.names {
            let tail = split(name).map_or(name, |(_, t)| t);
            if tail != SKIPPED && !layer.tensors.iter().any(|t| t.name == tail) {
                let names: Vec<&str> = layer.tensors.iter().map(|t| t.name).collect();
                return Err(ImportError::Unexpected {
                    name: Name::from(name),
                    layer: format!("{} has {}", layer.kind, names.join(", ")),
                });
            }
        }
    }
    for info in &layer.tensors {
        let name = prefix.full(info.name);
        let view = match file.tensor(&name) {
            Ok(view) => view,
            Err(_) if matches!(info.fill, Fill::Bias { .. }) => continue,
            Err(_) => {
                return Err(ImportError::Missing {
                    name: Name::from(name.as_str()),
                    layer: layer.kind,
                });
            }
        };
        if view.shape() != info.shape.dims() {
            return Err(ImportError::Shape {
                name: Name::from(name.as_str()),
                expected: info.shape.dims().to_vec(),
                found: view.shape().to_vec(),
                layer: layer.kind,
            });
        }
        if !takes::<T>(view.dtype()) {
            return Err(dtype_error::<T>(&name, &view));
        }
    }
    Ok(())
}

/// The layer's tensors from the file, each in the layer's storage order (a
/// missing bias as zeros). `fits` has passed.
fn read<T: Scalar>(
    file: &SafeTensors<'_>,
    prefix: &Prefix<'_>,
    layer: &LayerTensors,
) -> Result<Vec<Vec<f64>>, ImportError> {
    let mut out = Vec::new();
    for info in &layer.tensors {
        let name = prefix.full(info.name);
        let len = info.shape.len();
        let Ok(view) = file.tensor(&name) else {
            out.push(std::vec![0.0; len]);
            continue;
        };
        let row_major = values::<T>(&name, &view, len)?;
        let mut stored = std::vec![0.0; len];
        for (k, &v) in row_major.iter().enumerate() {
            // `storage_index` maps `0..len` onto `0..len`.
            if let Some(d) = stored.get_mut(info.shape.storage_index(info.layout, k)) {
                *d = v;
            }
        }
        out.push(stored);
    }
    Ok(out)
}

/// The file's prefixes in natural order, each with its tensors' names; a
/// name without a `<prefix>.` part is refused.
fn prefixes_in_order<'f>(names: &[&'f str]) -> Result<Vec<Prefix<'f>>, ImportError> {
    let mut groups: std::collections::BTreeMap<&str, Vec<&'f str>> = Default::default();
    for &name in names {
        let Some((prefix, _)) = split(name) else {
            return Err(ImportError::Unexpected {
                name: Name::from(name),
                layer: "no layer: the name has no `<prefix>.` part".to_string(),
            });
        };
        groups.entry(prefix).or_default().push(name);
    }
    let mut out: Vec<Prefix<'f>> = groups
        .into_iter()
        .map(|(prefix, names)| Prefix {
            prefix: prefix.to_string(),
            names,
        })
        .collect();
    out.sort_by(|a, b| natural_cmp(&a.prefix, &b.prefix));
    Ok(out)
}

/// With [`Mapping::InOrder`], after every layer took its prefix: refuses
/// two prefixes that no index orders if either's tensors fit the other's
/// layer (the import could have swapped them).
fn check_order<T: Scalar>(
    file: &SafeTensors<'_>,
    prefixes: &[Prefix<'_>],
    layers: &[LayerTensors],
) -> Result<(), ImportError> {
    for i in 0..prefixes.len() {
        for j in i + 1..prefixes.len() {
            let (p, q) = (&prefixes[i], &prefixes[j]);
            if index_ordered(&p.prefix, &q.prefix) {
                continue;
            }
            let swappable = fits::<T>(file, p, &layers[j], true).is_ok()
                || fits::<T>(file, q, &layers[i], true).is_ok();
            if swappable {
                return Err(ImportError::AmbiguousOrder {
                    prefixes: [Name::from(p.prefix.as_str()), Name::from(q.prefix.as_str())],
                    tensors: p
                        .names
                        .iter()
                        .chain(&q.names)
                        .map(|&n| Name::from(n))
                        .collect(),
                });
            }
        }
    }
    Ok(())
}

/// Reads `bytes` (a safetensors file) into the network's layers as
/// `mapping` says; checks everything first and changes nothing on error.
///
/// ```
/// use safetensors::{Dtype, serialize, tensor::TensorView};
/// use staticnet::io::safetensors::{ImportError, Mapping, load_safetensors};
/// use staticnet::{Dense, Params, Relu};
///
/// // `self.encoder = nn.Linear(2, 2)`, `self.decoder = nn.Linear(2, 2)`:
/// // nothing in the names says which comes first.
/// let w: Vec<u8> = [1.0f32, 0.0, 0.0, 1.0].iter().flat_map(|x| x.to_le_bytes()).collect();
/// let views = ["encoder.weight", "decoder.weight"]
///     .map(|n| (n, TensorView::new(Dtype::F32, vec![2, 2], &w).unwrap()));
/// let bytes = serialize(views, None).unwrap();
///
/// let mut net = <(Dense<2, 2>, Relu, Dense<2, 2>)>::zeros();
/// let err = load_safetensors(&mut net, &bytes, Mapping::InOrder).unwrap_err();
/// assert!(matches!(err, ImportError::AmbiguousOrder { .. }));
/// assert_eq!(net, Params::zeros());
/// load_safetensors(&mut net, &bytes, Mapping::ByName(&["encoder", "decoder"])).unwrap();
/// ```
pub fn load_safetensors<T: Scalar, N: Params<T>>(
    net: &mut N,
    bytes: &[u8],
    mapping: Mapping<'_>,
) -> Result<(), ImportError> {
    let file = SafeTensors::deserialize(bytes).map_err(parse_error)?;
    let layers = layers_with_tensors(&*net);
    // Every name in natural order, so that errors do not depend on the
    // parser's hash order.
    let mut names: Vec<&str> = file.names();
    names.sort_by(|a, b| natural_cmp(a, b));

    let in_order = mapping == Mapping::InOrder;
    let prefixes: Vec<Prefix<'_>> = match mapping {
        Mapping::ByName(given) => given
            .iter()
            .map(|p| Prefix {
                prefix: p.to_string(),
                names: Vec::new(),
            })
            .collect(),
        Mapping::InOrder => prefixes_in_order(&names)?,
    };
    if prefixes.len() != layers.len() {
        return Err(ImportError::LayerCount {
            expected: layers.len(),
            found: prefixes.len(),
        });
    }
    for (prefix, layer) in prefixes.iter().zip(&layers) {
        fits::<T>(&file, prefix, layer, in_order)?;
    }
    if in_order {
        check_order::<T>(&file, &prefixes, &layers)?;
    }

    // Every value, checked and in storage order, tensor by tensor.
    let mut imports: Vec<Vec<f64>> = Vec::new();
    for (prefix, layer) in prefixes.iter().zip(&layers) {
        imports.extend(read::<T>(&file, prefix, layer)?);
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
        let view = TensorView::new(*dtype, shape.clone(), bytes).map_err(parse_error)?;
        views.push((name.clone(), view));
    }
    ::safetensors::serialize(views, None).map_err(parse_error)
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
    let file = SafeTensors::deserialize(bytes).map_err(parse_error)?;
    let names = int8_names(&*net);
    let known: std::collections::HashSet<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
    // The file's names in natural order: the first stranger reported does
    // not depend on the parser's hash order.
    let mut in_file: Vec<&str> = file.names();
    in_file.sort_by(|a, b| natural_cmp(a, b));
    if let Some(&name) = in_file.iter().find(|n| !known.contains(*n)) {
        return Err(ImportError::Unexpected {
            name: Name::from(name),
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
                    name: Name::from(name.as_str()),
                    layer: N::KIND,
                });
                return;
            }
        };
        let (dtype, type_name, size) = match data {
            QData::I8(_) => (Dtype::I8, "I8", 1),
            QData::I32(_) => (Dtype::I32, "I32", 4),
            QData::F32(_) => (Dtype::F32, "F32", 4),
        };
        if view.dtype() != dtype {
            result = Err(ImportError::Int8Dtype {
                name: Name::from(name.as_str()),
                found: format!("{:?}", view.dtype()),
                expected: type_name,
            });
        } else if view.shape() != shape.dims() {
            result = Err(ImportError::Shape {
                name: Name::from(name.as_str()),
                expected: shape.dims().to_vec(),
                found: view.shape().to_vec(),
                layer: N::KIND,
            });
        } else if view.data().len() != size * data.len() {
            // The parser checks this; a file that slipped past it is
            // refused, not read short.
            result = Err(parse_error(format!(
                "tensor {:?} holds {} bytes, but its shape needs {}",
                Name::from(name.as_str()),
                view.data().len(),
                size * data.len()
            )));
        } else if dtype == Dtype::F32
            && let Some(index) = view
                .data()
                .chunks_exact(4)
                .position(|b| !f32::from_le_bytes(le(b)).is_finite())
        {
            result = Err(ImportError::NonFinite {
                name: Name::from(name.as_str()),
                index,
            });
        }
    });
    if k != names.len() {
        result = result.and(Err(ImportError::Inconsistent { layer: N::KIND }));
    }
    result?;
    // Everything checked: write. (A tensor is found again by its name.)
    let mut k = 0;
    net.tensors_mut(&mut |_, _, data| {
        let view = names.get(k).and_then(|(name, _)| file.tensor(name).ok());
        k += 1;
        let bytes = view.as_ref().map_or(&[][..], |v| v.data());
        match data {
            QDataMut::I8(v) => v.iter_mut().zip(bytes).for_each(|(x, &b)| *x = b as i8),
            QDataMut::I32(v) => v
                .iter_mut()
                .zip(bytes.chunks_exact(4))
                .for_each(|(x, b)| *x = i32::from_le_bytes(le(b))),
            QDataMut::F32(v) => v
                .iter_mut()
                .zip(bytes.chunks_exact(4))
                .for_each(|(x, b)| *x = f32::from_le_bytes(le(b))),
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{index_ordered, natural_cmp};
    use core::cmp::Ordering::*;

    #[test]
    fn natural_order_compares_numbers_by_value() {
        assert_eq!(natural_cmp("2", "10"), Less);
        assert_eq!(natural_cmp("layer10", "layer9"), Greater);
        assert_eq!(natural_cmp("fc1", "fc1"), Equal);
        assert_eq!(natural_cmp("fc2", "fc10"), Less);
        assert_eq!(natural_cmp("a.2.b", "a.10.a"), Less);
        assert_eq!(natural_cmp("007", "7"), Greater);
        assert_eq!(natural_cmp("encoder", "head"), Less);
        assert_eq!(natural_cmp("", "0"), Less);
        // Digits longer than any integer type compare by value too.
        assert_eq!(
            natural_cmp("x99999999999999999999999", "x100000000000000000000000"),
            Less
        );
    }

    #[test]
    fn only_an_index_at_the_first_difference_orders_two_names() {
        assert!(index_ordered("2", "10"));
        assert!(index_ordered("fc1", "fc10"));
        assert!(index_ordered("layer1.0", "layer2.0"));
        assert!(index_ordered("bn.0", "bn.3"));
        assert!(index_ordered("2.fn.0", "10"));
        assert!(!index_ordered("encoder", "decoder"));
        assert!(!index_ordered("classifier.0", "features.0"));
        assert!(!index_ordered("fc", "fc1"));
        assert!(!index_ordered("0", "0.1"));
        assert!(!index_ordered("7", "007"));
        assert!(!index_ordered("head", "layers.0"));
    }
}
