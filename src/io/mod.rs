//! Parameters to and from bytes, in a checked format; with `std`, to and
//! from files and as Rust source.
//!
//! # The format (version 1)
//!
//! All integers and parameters little-endian.
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `b"staticnt"` |
//! | 2 | format version, `1` |
//! | 1 | scalar type: `1` = `f32`, `2` = `f64` |
//! | 1 | reserved, `0` |
//! | 4 | number of layers `L` |
//! | 17 · L | each layer: kind (1), two sizes (4 + 4), a setting (`f64`, 8) — see [`Layer`] |
//! | 8 | number of parameters |
//! | 4 | CRC-32 (IEEE) of every byte before it and of the parameters |
//! | 4 or 8 each | the parameters, in [`Params::zip`] order |
//!
//! [`load`] checks everything (length, magic, version, scalar type, every
//! layer against the network's, the parameter count, the checksum, that
//! every value is finite) before it changes a single parameter, and each
//! failure is its own [`Error`] variant saying what was expected and what
//! was found.
//!
//! ```
//! use staticnet::io::{self, Error};
//! use staticnet::{Dense, Init, Params, Relu};
//! use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
//!
//! let net = <(Dense<4, 8>, Relu, Dense<8, 2>)>::random(Init::He, &mut Xoshiro256PlusPlus::seed_from_u64(0));
//! let mut buf = [0u8; 512];
//! let n = io::save(&net, &mut buf).unwrap();
//! assert_eq!(n, io::saved_len(&net));
//!
//! let mut copy = <(Dense<4, 8>, Relu, Dense<8, 2>)>::zeros();
//! io::load(&mut copy, &buf[..n]).unwrap();
//! assert_eq!(copy, net);
//!
//! // The same bytes do not fit another shape, and nothing is changed.
//! let mut other = <(Dense<4, 8>, Relu, Dense<8, 3>)>::zeros();
//! let err = io::load(&mut other, &buf[..n]).unwrap_err();
//! assert_eq!(err.to_string(), "layer 2 is Dense<8, 2> in the file but Dense<8, 3> in the network");
//! assert_eq!(other, Params::zeros());
//! ```

mod crc;
#[cfg(feature = "std")]
mod file;
#[cfg(feature = "std")]
pub mod rust;
#[cfg(feature = "safetensors")]
pub mod safetensors;

#[cfg(feature = "std")]
pub use file::{FileError, load_file, save_file};

use core::fmt;

use crate::{Layer, Params, Scalar};
use crc::Crc32;

/// The magic number that opens every weights file.
pub const MAGIC: [u8; 8] = *b"staticnt";
/// The format version this crate writes and reads.
pub const VERSION: u16 = 1;

const LAYER_BYTES: usize = 17;
const FIXED_BYTES: usize = 8 + 2 + 1 + 1 + 4 + 8 + 4;

/// Why parameters could not be saved or loaded. `load` returns it before
/// changing anything.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// `save`: the buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        found: usize,
    },
    /// The bytes end before the header or the parameters do.
    Truncated {
        /// Bytes the file needs (as far as its header could be read).
        expected: usize,
        /// Bytes given.
        found: usize,
    },
    /// There are bytes after the parameters.
    TrailingBytes {
        /// Bytes the file needs.
        expected: usize,
        /// Bytes given.
        found: usize,
    },
    /// The bytes do not start with [`MAGIC`]: not a weights file.
    BadMagic {
        /// The first eight bytes.
        found: [u8; 8],
    },
    /// A format version this crate cannot read.
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
    },
    /// The file holds another scalar type.
    ScalarType {
        /// The network's type.
        expected: &'static str,
        /// The file's type (`"f32"`, `"f64"`, or `"unknown"`).
        found: &'static str,
    },
    /// The file describes a network with another number of layers.
    LayerCount {
        /// The network's layers.
        expected: usize,
        /// The file's layers.
        found: usize,
    },
    /// A layer differs in kind, size or setting.
    LayerMismatch {
        /// The layer's position (0-based; nested tuples flattened).
        index: usize,
        /// The network's layer.
        expected: Layer,
        /// The file's layer.
        found: FileLayer,
    },
    /// The parameter count differs from the network's.
    ParamCount {
        /// The network's count.
        expected: u64,
        /// The file's count.
        found: u64,
    },
    /// The checksum does not match: the bytes were corrupted.
    Checksum {
        /// The checksum recorded in the file.
        expected: u32,
        /// The checksum of the bytes as they are.
        found: u32,
    },
    /// A parameter is NaN or infinite.
    NonFinite {
        /// Its position in [`Params::zip`] order.
        index: usize,
    },
}

/// A layer as a file records it: a [`Layer`], or a kind this crate does not
/// know.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FileLayer {
    /// A known layer.
    Known(Layer),
    /// A custom layer, known only by its parameter count and a hash of its
    /// type name.
    Custom {
        /// Its parameter count.
        params: usize,
        /// FNV-1a hash of its type name.
        name_hash: u32,
    },
    /// An unknown kind code.
    Unknown {
        /// The code.
        code: u8,
    },
}

impl fmt::Display for FileLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileLayer::Known(l) => write!(f, "{l}"),
            FileLayer::Custom { params, name_hash } => {
                write!(
                    f,
                    "a custom layer with {params} parameters (type hash {name_hash:#010x})"
                )
            }
            FileLayer::Unknown { code } => write!(f, "an unknown layer kind ({code})"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BufferTooSmall { needed, found } => {
                write!(
                    f,
                    "the buffer holds {found} bytes, but the parameters need {needed}"
                )
            }
            Error::Truncated { expected, found } => {
                write!(
                    f,
                    "the file is truncated: {found} bytes, expected {expected}"
                )
            }
            Error::TrailingBytes { expected, found } => write!(
                f,
                "the file has {} bytes after its parameters ({found} bytes, expected {expected})",
                found - expected
            ),
            Error::BadMagic { found } => write!(
                f,
                "not a staticnet weights file: it starts with {found:02x?}, expected {:02x?} (\"staticnt\")",
                MAGIC
            ),
            Error::UnsupportedVersion { found } => {
                write!(
                    f,
                    "format version {found} in the file, but this crate reads version {VERSION}"
                )
            }
            Error::ScalarType { expected, found } => {
                write!(
                    f,
                    "the file holds {found} parameters, but the network is {expected}"
                )
            }
            Error::LayerCount { expected, found } => {
                write!(
                    f,
                    "the file describes {found} layers, but the network has {expected}"
                )
            }
            Error::LayerMismatch {
                index,
                expected,
                found,
            } => {
                write!(
                    f,
                    "layer {index} is {found} in the file but {expected} in the network"
                )
            }
            Error::ParamCount { expected, found } => {
                write!(
                    f,
                    "the file holds {found} parameters, but the network has {expected}"
                )
            }
            Error::Checksum { expected, found } => write!(
                f,
                "checksum mismatch: the file records {expected:#010x}, its bytes give {found:#010x} (corrupted)"
            ),
            Error::NonFinite { index } => {
                write!(f, "parameter {index} in the file is NaN or infinite")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

// ---- encoding ----

fn scalar_code<T: Scalar>() -> u8 {
    match size_of::<T>() {
        4 => 1,
        _ => 2,
    }
}

fn scalar_name(code: u8) -> &'static str {
    match code {
        1 => "f32",
        2 => "f64",
        _ => "unknown",
    }
}

/// FNV-1a, 32 bits: a stable hash of a custom layer's type name.
fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

fn encode_layer(l: &Layer) -> [u8; LAYER_BYTES] {
    let (code, a, b, setting): (u8, u32, u32, f64) = match *l {
        Layer::Dense { inputs, outputs } => (1, inputs as u32, outputs as u32, 0.0),
        Layer::Identity => (2, 0, 0, 0.0),
        Layer::Relu => (3, 0, 0, 0.0),
        Layer::LeakyRelu { slope } => (4, 0, 0, slope),
        Layer::Sigmoid => (5, 0, 0, 0.0),
        Layer::Tanh => (6, 0, 0, 0.0),
        Layer::Softplus => (7, 0, 0, 0.0),
        Layer::Elu { alpha } => (8, 0, 0, alpha),
        Layer::Gelu => (9, 0, 0, 0.0),
        Layer::Softmax => (10, 0, 0, 0.0),
        Layer::FastTanh => (11, 0, 0, 0.0),
        Layer::FastSigmoid => (12, 0, 0, 0.0),
        Layer::Custom { name, params } => (255, params as u32, fnv1a(name), 0.0),
    };
    let mut out = [0u8; LAYER_BYTES];
    out[0] = code;
    out[1..5].copy_from_slice(&a.to_le_bytes());
    out[5..9].copy_from_slice(&b.to_le_bytes());
    out[9..17].copy_from_slice(&setting.to_le_bytes());
    out
}

fn decode_layer(bytes: &[u8]) -> FileLayer {
    let a = u32::from_le_bytes(bytes[1..5].try_into().unwrap()) as usize;
    let b = u32::from_le_bytes(bytes[5..9].try_into().unwrap());
    let setting = f64::from_le_bytes(bytes[9..17].try_into().unwrap());
    FileLayer::Known(match bytes[0] {
        1 => Layer::Dense {
            inputs: a,
            outputs: b as usize,
        },
        2 => Layer::Identity,
        3 => Layer::Relu,
        4 => Layer::LeakyRelu { slope: setting },
        5 => Layer::Sigmoid,
        6 => Layer::Tanh,
        7 => Layer::Softplus,
        8 => Layer::Elu { alpha: setting },
        9 => Layer::Gelu,
        10 => Layer::Softmax,
        11 => Layer::FastTanh,
        12 => Layer::FastSigmoid,
        255 => {
            return FileLayer::Custom {
                params: a,
                name_hash: b,
            };
        }
        code => return FileLayer::Unknown { code },
    })
}

/// Whether a file's layer is the network's: same kind, sizes and settings
/// (settings compared bit for bit); custom layers by parameter count and
/// type-name hash.
fn same_layer(file: &FileLayer, net: &Layer) -> bool {
    match (file, net) {
        (FileLayer::Custom { params, name_hash }, Layer::Custom { name, params: p }) => {
            params == p && *name_hash == fnv1a(name)
        }
        (FileLayer::Known(a), b) => encode_layer(a) == encode_layer(b),
        _ => false,
    }
}

fn count_layers<T: Scalar, N: Params<T>>(net: &N) -> usize {
    let mut n = 0;
    net.layers(&mut |_| n += 1);
    n
}

/// The number of bytes [`save`] writes for this network.
pub fn saved_len<T: Scalar, N: Params<T>>(net: &N) -> usize {
    FIXED_BYTES + LAYER_BYTES * count_layers(net) + N::NUM_PARAMS * size_of::<T>()
}

/// Writes the network's parameters, with the header, into `buf`; returns
/// the number of bytes written ([`saved_len`]).
pub fn save<T: Scalar, N: Params<T>>(net: &N, buf: &mut [u8]) -> Result<usize, Error> {
    let needed = saved_len(net);
    if buf.len() < needed {
        return Err(Error::BufferTooSmall {
            needed,
            found: buf.len(),
        });
    }
    let (header, params) = buf[..needed].split_at_mut(needed - N::NUM_PARAMS * size_of::<T>());
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        header[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&MAGIC);
    put(&VERSION.to_le_bytes());
    put(&[scalar_code::<T>(), 0]);
    put(&(count_layers(net) as u32).to_le_bytes());
    net.layers(&mut |l| put(&encode_layer(&l)));
    put(&(N::NUM_PARAMS as u64).to_le_bytes());

    let mut i = 0;
    net.visit(&mut |p| {
        for &v in p {
            params[i..i + size_of::<T>()].copy_from_slice(&to_le::<T>(v)[..size_of::<T>()]);
            i += size_of::<T>();
        }
    });
    let mut crc = Crc32::new();
    crc.update(&header[..at]);
    crc.update(params);
    header[at..at + 4].copy_from_slice(&crc.finish().to_le_bytes());
    Ok(needed)
}

fn to_le<T: Scalar>(v: T) -> [u8; 8] {
    let mut out = [0u8; 8];
    match size_of::<T>() {
        4 => out[..4].copy_from_slice(&(v.as_f64() as f32).to_le_bytes()),
        _ => out.copy_from_slice(&v.as_f64().to_le_bytes()),
    }
    out
}

fn from_le<T: Scalar>(b: &[u8]) -> T {
    match size_of::<T>() {
        4 => T::of_f64(f32::from_le_bytes(b.try_into().unwrap()) as f64),
        _ => T::of_f64(f64::from_le_bytes(b.try_into().unwrap())),
    }
}

fn read<const K: usize>(bytes: &[u8], at: usize, needed: usize) -> Result<[u8; K], Error> {
    match bytes.get(at..at + K) {
        Some(b) => Ok(b.try_into().unwrap()),
        None => Err(Error::Truncated {
            expected: needed.max(at + K),
            found: bytes.len(),
        }),
    }
}

/// Checks `bytes` against the network's shape and, only if every check
/// passes, overwrites the network's parameters with them.
pub fn load<T: Scalar, N: Params<T>>(net: &mut N, bytes: &[u8]) -> Result<(), Error> {
    let (at, expected_len) = check(&*net, bytes)?;
    let mut i = at;
    net.visit_mut(&mut |p| {
        for v in p {
            *v = from_le::<T>(&bytes[i..i + size_of::<T>()]);
            i += size_of::<T>();
        }
    });
    debug_assert_eq!(i, expected_len);
    Ok(())
}

/// Every check of [`load`], without writing; returns where the parameters
/// start and the file's length.
fn check<T: Scalar, N: Params<T>>(net: &N, bytes: &[u8]) -> Result<(usize, usize), Error> {
    let needed = saved_len(net);
    let magic = read::<8>(bytes, 0, needed)?;
    if magic != MAGIC {
        return Err(Error::BadMagic { found: magic });
    }
    let version = u16::from_le_bytes(read::<2>(bytes, 8, needed)?);
    if version != VERSION {
        return Err(Error::UnsupportedVersion { found: version });
    }
    let [scalar, _reserved] = read::<2>(bytes, 10, needed)?;
    if scalar != scalar_code::<T>() {
        return Err(Error::ScalarType {
            expected: T::NAME,
            found: scalar_name(scalar),
        });
    }
    let layers = u32::from_le_bytes(read::<4>(bytes, 12, needed)?) as usize;
    let expected_layers = count_layers(net);
    if layers != expected_layers {
        return Err(Error::LayerCount {
            expected: expected_layers,
            found: layers,
        });
    }
    let mut at = 16;
    let mut index = 0;
    let mut mismatch = Ok(());
    let mut truncated = false;
    net.layers(&mut |l| {
        if mismatch.is_err() || truncated {
            return;
        }
        match bytes.get(at..at + LAYER_BYTES) {
            None => truncated = true,
            Some(b) => {
                let found = decode_layer(b);
                if !same_layer(&found, &l) {
                    mismatch = Err(Error::LayerMismatch {
                        index,
                        expected: l,
                        found,
                    });
                }
            }
        }
        at += LAYER_BYTES;
        index += 1;
    });
    if truncated {
        return Err(Error::Truncated {
            expected: needed,
            found: bytes.len(),
        });
    }
    mismatch?;
    let count = u64::from_le_bytes(read::<8>(bytes, at, needed)?);
    if count != N::NUM_PARAMS as u64 {
        return Err(Error::ParamCount {
            expected: N::NUM_PARAMS as u64,
            found: count,
        });
    }
    let recorded = u32::from_le_bytes(read::<4>(bytes, at + 8, needed)?);
    let start = at + 12;
    if bytes.len() < needed {
        return Err(Error::Truncated {
            expected: needed,
            found: bytes.len(),
        });
    }
    if bytes.len() > needed {
        return Err(Error::TrailingBytes {
            expected: needed,
            found: bytes.len(),
        });
    }
    let mut crc = Crc32::new();
    crc.update(&bytes[..at + 8]);
    crc.update(&bytes[start..]);
    let actual = crc.finish();
    if actual != recorded {
        return Err(Error::Checksum {
            expected: recorded,
            found: actual,
        });
    }
    for (index, chunk) in bytes[start..].chunks_exact(size_of::<T>()).enumerate() {
        if !from_le::<T>(chunk).is_finite() {
            return Err(Error::NonFinite { index });
        }
    }
    Ok((start, needed))
}
