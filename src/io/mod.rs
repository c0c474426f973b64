//! Parameters and buffers to and from bytes, in a checked, self-describing
//! format; with `std`, to and from files and as Rust source.
//!
//! # The format (version 2)
//!
//! All integers and values little-endian.
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `b"staticnt"` |
//! | 2 | format version, `2` |
//! | 1 | scalar type: `1` = `f32`, `2` = `f64`, `3` = int8 (a quantised network, [`int8`]) |
//! | 1 | reserved, `0` |
//! | 4 | length `D` of the description |
//! | `D` | the description: the network's [`Node`]s as records (below) |
//! | 8 | number of values (parameters and buffers) |
//! | 4 | CRC-32 (IEEE) of every byte before it and of the values |
//! | 4 or 8 each | the values, in [`Params::tensors`] order |
//!
//! Each description record starts with a tag byte; strings are a `u16`
//! length and UTF-8 bytes:
//!
//! | tag | record |
//! |---|---|
//! | 1 | a layer begins: its kind ([`Layer::KIND`](crate::Layer::KIND)) |
//! | 2 | a setting: name, type (1 size as `u64`, 2 real as `f64`, 3 flag as `u64`), 8 bytes of value |
//! | 3 | a tensor: name, role (1 trainable, 2 buffer), layout (1 row-major, 2 column-major), rank (1 byte), each axis as `u64` |
//! | 4 | the layer ends |
//!
//! A layer of any kind, the crate's or yours, is recorded by what it says of
//! itself, so the format needs no table of kinds: a custom layer is
//! identified by the stable [`Layer::KIND`](crate::Layer::KIND) it declares.
//!
//! [`load`] checks everything (length, magic, version, scalar type, the
//! description record by record against the network's, the value count,
//! the checksum, that every value is finite) before it changes a single
//! value, and each failure is its own [`Error`] variant saying what was
//! expected and what was found.
//!
//! Files of version 1 (written before layers described themselves) are not
//! read: loading one gives [`Error::UnsupportedVersion`], whose message says
//! to load it with the staticnet version that wrote it and save it again.
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
//! assert_eq!(
//!     err.to_string(),
//!     "layer 2 (Dense): the network has tensor `weight` (trainable) of shape [3, 8] \
//!      where the file has tensor `weight` (trainable) of shape [2, 8]"
//! );
//! assert_eq!(other, Params::zeros());
//! ```

// `Error` is a few hundred bytes: it carries what the network and the file
// hold where they differ (names inline, no heap: the core has none), so a
// `Result<_, Error>` is large. Errors are rare and returned once; boxing is
// not available without an allocator.
#![allow(clippy::result_large_err)]

mod crc;
#[cfg(feature = "std")]
mod file;
pub mod int8;
#[cfg(feature = "std")]
pub mod rust;
#[cfg(feature = "safetensors")]
pub mod safetensors;

#[cfg(feature = "std")]
pub use file::{FileError, load_file, save_file};

use core::fmt;

use crate::params::{Layout, Node, Role, Setting, Shape, TensorInfo};
use crate::{Params, Scalar};
use crc::Crc32;

/// The magic number that opens every weights file.
pub const MAGIC: [u8; 8] = *b"staticnt";
/// The format version this crate writes and reads.
pub const VERSION: u16 = 2;

/// Magic, version, scalar type, reserved byte, description length.
const HEADER_BYTES: usize = 8 + 2 + 1 + 1 + 4;
/// Value count and checksum.
const TRAILER_BYTES: usize = 8 + 4;

const TAG_BEGIN: u8 = 1;
const TAG_SETTING: u8 = 2;
const TAG_TENSOR: u8 = 3;
const TAG_END: u8 = 4;

/// A name from a file or a caller (a kind, setting or tensor name, a
/// static's name), kept inline for an error message: up to
/// [`Name::CAPACITY`] bytes. A longer name is shown cut, with `…` and its
/// full length (`conv_block… (70000 bytes)`), so an error never repeats a
/// huge field; control characters are shown escaped (`\n`).
///
/// ```
/// use staticnet::io::Name;
/// let short = Name::from("0.weight");
/// assert_eq!(short.to_string(), "0.weight");
/// assert!(short == "0.weight");
/// let long = Name::from("x".repeat(1_000_000).as_str());
/// assert_eq!(long.full_len(), 1_000_000);
/// assert_eq!(long.to_string(), format!("{}… (1000000 bytes)", "x".repeat(Name::CAPACITY)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Name {
    bytes: [u8; Name::CAPACITY],
    len: u8,
    full: usize,
}

impl Name {
    /// The most bytes kept.
    pub const CAPACITY: usize = 64;

    /// The first bytes of `s` (cut at a character boundary when `s` is
    /// UTF-8), and its length.
    pub fn new(s: &[u8]) -> Name {
        let mut bytes = [0u8; Name::CAPACITY];
        let mut n = s.len().min(Name::CAPACITY);
        // Do not cut a UTF-8 character in two: back off over continuation
        // bytes (at most three).
        if n < s.len() {
            let mut k = 0;
            while k < 3 && n > 0 && s.get(n).is_some_and(|&b| b & 0xC0 == 0x80) {
                n -= 1;
                k += 1;
            }
        }
        bytes[..n].copy_from_slice(&s[..n]);
        Name {
            bytes,
            len: n as u8,
            full: s.len(),
        }
    }

    /// Whether this is exactly `s`.
    pub fn is(&self, s: &str) -> bool {
        !self.is_cut() && self.kept() == s.as_bytes()
    }

    /// The length of the whole name in bytes (more than
    /// [`CAPACITY`](Name::CAPACITY) when it was cut).
    pub fn full_len(&self) -> usize {
        self.full
    }

    /// Whether the name was longer than [`CAPACITY`](Name::CAPACITY) and is
    /// kept cut.
    pub fn is_cut(&self) -> bool {
        self.full > self.len as usize
    }

    /// The bytes kept: the whole name, or its first bytes if it was cut.
    pub fn kept(&self) -> &[u8] {
        &self.bytes[..(self.len as usize).min(Name::CAPACITY)]
    }

    /// Writes the kept text, control characters escaped (and quotes and
    /// backslashes too when `debug`), invalid UTF-8 as U+FFFD, then `…` if
    /// it was cut.
    fn write(&self, f: &mut fmt::Formatter<'_>, debug: bool) -> fmt::Result {
        use fmt::Write;
        for chunk in self.kept().utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() || (debug && (c == '"' || c == '\\')) {
                    write!(f, "{}", c.escape_debug())?;
                } else {
                    f.write_char(c)?;
                }
            }
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        if self.is_cut() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::new(s.as_bytes())
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.is(other)
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.is(other)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, false)?;
        if self.is_cut() {
            write!(f, " ({} bytes)", self.full)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        self.write(f, true)?;
        f.write_str("\"")?;
        if self.is_cut() {
            write!(f, " ({} bytes)", self.full)?;
        }
        Ok(())
    }
}

/// A record of a file's description, as read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FileNode {
    /// A layer of this kind begins.
    Begin(Name),
    /// A setting.
    Setting(Name, Setting),
    /// A tensor.
    Tensor {
        /// Its name.
        name: Name,
        /// Its role.
        role: Role,
        /// Its shape.
        shape: Shape,
        /// Its layout.
        layout: Layout,
    },
    /// The layer ends.
    End,
    /// The description has no more records.
    Nothing,
}

impl fmt::Display for FileNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileNode::Begin(k) => write!(f, "a `{k}` layer"),
            FileNode::Setting(n, v) => write!(f, "setting `{n}` = {v}"),
            FileNode::Tensor {
                name, role, shape, ..
            } => write!(f, "tensor `{name}` ({role}) of shape {shape}"),
            FileNode::End => f.write_str("the end of the layer"),
            FileNode::Nothing => f.write_str("nothing more"),
        }
    }
}

/// Where a layer sits in a network: the index of each enclosing child, from
/// the outside in (`2.1` is the second element of the third element).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LayerPath {
    index: [u32; LayerPath::MAX_DEPTH],
    depth: u8,
}

impl LayerPath {
    /// The deepest nesting a path records; deeper layers are shown by their
    /// first levels.
    pub const MAX_DEPTH: usize = 8;

    /// The indices, outermost first (empty for the network itself).
    pub fn indices(&self) -> &[u32] {
        &self.index[..self.depth as usize]
    }
}

impl fmt::Display for LayerPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.depth == 0 {
            return f.write_str("the network");
        }
        f.write_str("layer ")?;
        for (i, x) in self.indices().iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for LayerPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Where a walk over a network's description is: the path of the layer
/// being described and the kinds of the layers around it. The weights
/// file's checks and the trainer's setting checks share it, so both name a
/// layer the same way.
pub(crate) struct LayerWalker {
    path: LayerPath,
    kinds: [&'static str; LayerPath::MAX_DEPTH + 1],
    children: [u32; LayerPath::MAX_DEPTH + 1],
    depth: usize,
}

impl LayerWalker {
    /// At the start of a description.
    pub(crate) const fn new() -> Self {
        LayerWalker {
            path: LayerPath {
                index: [0; LayerPath::MAX_DEPTH],
                depth: 0,
            },
            kinds: [""; LayerPath::MAX_DEPTH + 1],
            children: [0; LayerPath::MAX_DEPTH + 1],
            depth: 0,
        }
    }

    /// Into a layer of `kind` (a [`Node::Begin`]).
    pub(crate) fn begin(&mut self, kind: &'static str) {
        let (depth, max) = (self.depth, LayerPath::MAX_DEPTH);
        if depth > 0 && depth <= max {
            self.path.index[depth - 1] = self.children[depth - 1];
            self.path.depth = depth as u8;
        }
        if depth <= max {
            self.kinds[depth] = kind;
            self.children[depth] = 0;
        }
        self.depth = depth.saturating_add(1);
    }

    /// Out of the current layer (a [`Node::End`]). A description that ends
    /// more layers than it began (a custom layer's bug) stays at the top
    /// instead of underflowing.
    pub(crate) fn end(&mut self) {
        let max = LayerPath::MAX_DEPTH;
        self.depth = self.depth.saturating_sub(1);
        if self.depth > 0 && self.depth <= max {
            self.children[self.depth - 1] = self.children[self.depth - 1].saturating_add(1);
        }
        self.path.depth = self.depth.saturating_sub(1).min(max) as u8;
    }

    /// The current layer's path.
    pub(crate) fn path(&self) -> LayerPath {
        self.path
    }

    /// The current layer's kind.
    pub(crate) fn kind(&self) -> &'static str {
        self.kinds[self.depth.saturating_sub(1).min(LayerPath::MAX_DEPTH)]
    }
}

/// What the network's description has at a point: a [`Node`], or nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expected(pub Option<Node>);

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(Node::Begin(k)) => write!(f, "a `{k}` layer"),
            Some(Node::Setting(n, v)) => write!(f, "setting `{n}` = {v}"),
            Some(Node::Tensor(t)) => {
                write!(f, "tensor `{}` ({}) of shape {}", t.name, t.role, t.shape)
            }
            Some(Node::End) => f.write_str("the end of the layer"),
            None => f.write_str("nothing more"),
        }
    }
}

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
    /// `save`: a kind, setting or tensor name is longer than the format's
    /// 65,535 bytes.
    NameTooLong {
        /// Its first bytes.
        name: Name,
    },
    /// The bytes end before the header, the description or the values do.
    Truncated {
        /// Bytes the file needs (as far as its header could be read).
        expected: usize,
        /// Bytes given.
        found: usize,
    },
    /// There are bytes after the values.
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
    /// The file holds another scalar type (`f32`, `f64` or int8) than the
    /// network.
    ScalarType {
        /// The network's type (`"f32"`, `"f64"` or `"int8"`).
        expected: &'static str,
        /// The file's type (`"f32"`, `"f64"` or `"int8"`).
        found: &'static str,
    },
    /// The file's scalar-type byte is none of the codes this crate writes
    /// (1 `f32`, 2 `f64`, 3 int8).
    UnknownScalarType {
        /// The code in the file (byte 10).
        code: u8,
    },
    /// The description cannot be read: an unknown tag, a bad length, a
    /// rank above [`Shape::MAX_RANK`], … (a damaged or foreign file).
    Malformed {
        /// The byte offset in the file.
        offset: usize,
        /// What is wrong there.
        reason: &'static str,
    },
    /// The file describes another network: a layer of another kind, a
    /// setting or a tensor that differs.
    Mismatch {
        /// Where in the network.
        path: LayerPath,
        /// The kind of the network's layer there.
        layer: &'static str,
        /// What the network has.
        expected: Expected,
        /// What the file has.
        found: FileNode,
    },
    /// The value count differs from the network's.
    ParamCount {
        /// The network's count (parameters and buffers).
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
    /// A value is NaN or infinite.
    NonFinite {
        /// Its position among all values, in [`Params::tensors`] order.
        index: usize,
        /// The tensor it belongs to.
        tensor: &'static str,
    },
    /// The network's layers disagree with themselves: the lengths of the
    /// slices [`Params::tensors`] gives are not `NUM_PARAMS + NUM_BUFFERS`
    /// (a bug in a layer's `Params` impl, not in the file).
    Inconsistent {
        /// `NUM_PARAMS + NUM_BUFFERS`.
        declared: usize,
        /// The total length of the tensors.
        found: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BufferTooSmall { needed, found } => write!(
                f,
                "the buffer holds {found} bytes, but the network needs {needed}: give a buffer of \
                 io::saved_len(&net) bytes"
            ),
            Error::NameTooLong { name } => write!(
                f,
                "the name `{name}` is longer than the 65,535 bytes a weights file records: give \
                 the layer a shorter kind or tensor name"
            ),
            Error::Truncated { expected, found } => write!(
                f,
                "the file is truncated: {found} bytes, where this network's file has {expected}: \
                 it was cut short (an interrupted copy or write?) or is another network's file"
            ),
            Error::TrailingBytes { expected, found } => write!(
                f,
                "the file has {} bytes after its values ({found} bytes, where this network's file \
                 has {expected}): it is damaged, or two files were joined",
                found.saturating_sub(*expected)
            ),
            Error::BadMagic { found } => write!(
                f,
                "not a staticnet weights file: it starts with {found:02x?}, expected {:02x?} \
                 (\"staticnt\"); a PyTorch file is read with io::safetensors",
                MAGIC
            ),
            Error::UnsupportedVersion { found: 1 } => write!(
                f,
                "format version 1 in the file, but this crate reads version {VERSION}: load the file \
                 with the staticnet release that wrote it and save it again"
            ),
            Error::UnsupportedVersion { found } => write!(
                f,
                "format version {found} in the file, but this crate reads version {VERSION}: it was \
                 written by another staticnet release, or is damaged"
            ),
            Error::ScalarType { expected, found } => {
                write!(
                    f,
                    "the file holds {found} values, but the network is {expected}"
                )?;
                match (*expected, *found) {
                    (_, "int8") => f.write_str(
                        ": it is a quantised network's file, read it with io::int8::load into a \
                         quant::Quantized network of the same shape",
                    ),
                    ("int8", _) => f.write_str(
                        ": it is a float network's file, load it with io::load into that network \
                         and quantise it with quant::quantize",
                    ),
                    _ => write!(
                        f,
                        ": load it into the same network with {found} as the scalar type \
                         (e.g. Dense<I, O, {found}>)"
                    ),
                }
            }
            Error::UnknownScalarType { code } => write!(
                f,
                "the file's scalar type code is {code}, which is none of 1 (f32), 2 (f64) and \
                 3 (int8): the file is damaged or was written by another staticnet release"
            ),
            Error::Malformed { offset, reason } => write!(
                f,
                "the file's description is damaged at byte {offset}: {reason} (the file is damaged \
                 or not a staticnet weights file)"
            ),
            Error::Mismatch {
                path,
                layer,
                expected,
                found,
            } => write!(
                f,
                "{path} ({layer}): the network has {expected} where the file has {found}"
            ),
            Error::ParamCount { expected, found } => write!(
                f,
                "the file holds {found} values, but the network has {expected}: the file is damaged"
            ),
            Error::Checksum { expected, found } => write!(
                f,
                "checksum mismatch: the file records {expected:#010x}, its bytes give {found:#010x}: \
                 the file is damaged or was truncated"
            ),
            Error::NonFinite { index, tensor } => write!(
                f,
                "value {index} in the file (in a tensor `{tensor}`) is NaN or infinite: the network \
                 was saved with it (had its training diverged?)"
            ),
            Error::Inconsistent { declared, found } => write!(
                f,
                "the network declares {declared} values (NUM_PARAMS + NUM_BUFFERS) but its tensors \
                 hold {found}: a layer's `Params` impl disagrees with itself"
            ),
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

/// The scalar type a code stands for, if it is one this crate writes.
fn scalar_name(code: u8) -> Option<&'static str> {
    match code {
        1 => Some("f32"),
        2 => Some("f64"),
        3 => Some("int8"),
        _ => None,
    }
}

/// The first `K` bytes of `b` as an array (zeros past its end): a
/// fixed-size read that cannot panic. Callers pass exactly `K` bytes.
pub(crate) fn le<const K: usize>(b: &[u8]) -> [u8; K] {
    let mut out = [0u8; K];
    let n = b.len().min(K);
    out[..n].copy_from_slice(&b[..n]);
    out
}

/// Calls `put` with the bytes of one description record.
fn encode(node: &Node, put: &mut impl FnMut(&[u8])) -> Result<(), Error> {
    let string = |s: &str, put: &mut dyn FnMut(&[u8])| -> Result<(), Error> {
        let len = u16::try_from(s.len()).map_err(|_| Error::NameTooLong {
            name: Name::new(s.as_bytes()),
        })?;
        put(&len.to_le_bytes());
        put(s.as_bytes());
        Ok(())
    };
    match *node {
        Node::Begin(kind) => {
            put(&[TAG_BEGIN]);
            string(kind, put)?;
        }
        Node::Setting(name, value) => {
            put(&[TAG_SETTING]);
            string(name, put)?;
            let (tag, bits) = match value {
                Setting::Size(n) => (1u8, n as u64),
                Setting::Real(x) => (2, x.to_bits()),
                Setting::Flag(b) => (3, b as u64),
            };
            put(&[tag]);
            put(&bits.to_le_bytes());
        }
        Node::Tensor(TensorInfo {
            name,
            role,
            shape,
            layout,
            ..
        }) => {
            put(&[TAG_TENSOR]);
            string(name, put)?;
            let role = match role {
                Role::Trainable => 1u8,
                Role::Buffer => 2,
            };
            let layout = match layout {
                Layout::RowMajor => 1u8,
                Layout::ColumnMajor => 2,
            };
            // A `Shape` has at most `Shape::MAX_RANK` (4) axes.
            put(&[role, layout, shape.dims().len() as u8]);
            for &d in shape.dims() {
                put(&(d as u64).to_le_bytes());
            }
        }
        Node::End => put(&[TAG_END]),
    }
    Ok(())
}

/// The length of the network's description in bytes.
fn description_len<T: Scalar, N: Params<T>>(net: &N) -> Result<usize, Error> {
    description_len_of(&mut |f| net.describe(&mut |n| f(n)))
}

/// The length in bytes of the description `describe` gives.
fn description_len_of(describe: Describe<'_>) -> Result<usize, Error> {
    let mut len = 0usize;
    let mut result = Ok(());
    describe(&mut |node| {
        if result.is_ok() {
            result = encode(&node, &mut |b| len = len.saturating_add(b.len()));
        }
    });
    result.map(|()| len)
}

/// A network's description, as a callback that feeds each record to `f`.
pub(crate) type Describe<'a> = &'a mut dyn FnMut(&mut dyn FnMut(Node));

/// Checks that the tensors' lengths add up to `NUM_PARAMS + NUM_BUFFERS`,
/// which every offset below relies on.
fn consistent<T: Scalar, N: Params<T>>(net: &N) -> Result<(), Error> {
    let mut found = 0usize;
    N::tensors([net], [], &mut |_, [p], []| {
        found = found.saturating_add(p.len())
    });
    let declared = N::NUM_PARAMS.saturating_add(N::NUM_BUFFERS);
    if found == declared {
        Ok(())
    } else {
        Err(Error::Inconsistent { declared, found })
    }
}

/// The number of bytes [`save`] writes for this network.
pub fn saved_len<T: Scalar, N: Params<T>>(net: &N) -> usize {
    let d = description_len(net).unwrap_or(0);
    let values = N::NUM_PARAMS
        .saturating_add(N::NUM_BUFFERS)
        .saturating_mul(size_of::<T>());
    HEADER_BYTES
        .saturating_add(d)
        .saturating_add(TRAILER_BYTES)
        .saturating_add(values)
}

/// Writes the network's parameters and buffers, with the header and its
/// description, into `buf`; returns the number of bytes written
/// ([`saved_len`]). On an error the buffer's content is unspecified.
pub fn save<T: Scalar, N: Params<T>>(net: &N, buf: &mut [u8]) -> Result<usize, Error> {
    consistent(net)?;
    // `consistent` checked that the count is the tensors' total length:
    // values that exist in memory, so their byte size fits a `usize`.
    let count = N::NUM_PARAMS + N::NUM_BUFFERS;
    save_with(
        scalar_code::<T>(),
        &mut |f| net.describe(&mut |n| f(n)),
        count as u64,
        count * size_of::<T>(),
        &mut |params| {
            let mut out = params.chunks_exact_mut(size_of::<T>());
            N::tensors([net], [], &mut |_, [p], []| {
                for (&v, dst) in p.iter().zip(out.by_ref()) {
                    dst.copy_from_slice(&to_le::<T>(v)[..size_of::<T>()]);
                }
            });
        },
        buf,
    )
}

/// Writes a file: the header with scalar code `code`, the description, the
/// value count and checksum, and `values` bytes filled by `write_values`.
/// The description is walked once, written as it is measured, so the
/// length recorded is the length written.
pub(crate) fn save_with(
    code: u8,
    describe: Describe<'_>,
    count: u64,
    values: usize,
    write_values: &mut dyn FnMut(&mut [u8]),
    buf: &mut [u8],
) -> Result<usize, Error> {
    let mut d = 0usize;
    let mut result = Ok(());
    {
        let room = buf.get_mut(HEADER_BYTES..).unwrap_or_default();
        describe(&mut |node| {
            if result.is_ok() {
                result = encode(&node, &mut |b| {
                    let end = d.saturating_add(b.len());
                    if let Some(dst) = room.get_mut(d..end) {
                        dst.copy_from_slice(b);
                    }
                    d = end;
                });
            }
        });
    }
    result?;
    let needed = HEADER_BYTES
        .saturating_add(d)
        .saturating_add(TRAILER_BYTES)
        .saturating_add(values);
    let Some(buf) = buf.get_mut(..needed) else {
        return Err(Error::BufferTooSmall {
            needed,
            found: buf.len(),
        });
    };
    // A description needs at least 8 bytes per layer, and 4 GiB of it would
    // take half a billion layers: a network whose type no compiler builds.
    let mut header = [0u8; HEADER_BYTES];
    header[..8].copy_from_slice(&MAGIC);
    header[8..10].copy_from_slice(&VERSION.to_le_bytes());
    header[10] = code;
    header[12..16].copy_from_slice(&(d as u32).to_le_bytes());
    // `buf` is exactly `needed` = header + d + trailer + values bytes long.
    let (head, rest) = buf.split_at_mut(HEADER_BYTES);
    let (desc, rest) = rest.split_at_mut(d);
    let (trailer, params) = rest.split_at_mut(TRAILER_BYTES);
    head.copy_from_slice(&header);
    let mut counted = [0u8; TRAILER_BYTES];
    counted[..8].copy_from_slice(&count.to_le_bytes());
    write_values(params);
    let mut crc = Crc32::new();
    crc.update(head);
    crc.update(desc);
    crc.update(&counted[..8]);
    crc.update(params);
    counted[8..].copy_from_slice(&crc.finish().to_le_bytes());
    trailer.copy_from_slice(&counted);
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

/// A value from its little-endian bytes (4 for `f32`, 8 for `f64`).
fn from_le<T: Scalar>(b: &[u8]) -> T {
    match size_of::<T>() {
        4 => T::of_f64(f32::from_le_bytes(le(b)) as f64),
        _ => T::of_f64(f64::from_le_bytes(le(b))),
    }
}

/// `K` bytes at `at`, or `Truncated` (the file needs `needed` bytes).
fn read<const K: usize>(bytes: &[u8], at: usize, needed: usize) -> Result<[u8; K], Error> {
    match at.checked_add(K).and_then(|end| bytes.get(at..end)) {
        Some(b) => Ok(le(b)),
        None => Err(Error::Truncated {
            expected: needed.max(at.saturating_add(K)),
            found: bytes.len(),
        }),
    }
}

/// Reads the description records in `desc` (which starts at byte `base` of
/// the file), one at a time.
struct Reader<'a> {
    desc: &'a [u8],
    base: usize,
    at: usize,
}

impl Reader<'_> {
    fn malformed(&self, reason: &'static str) -> Error {
        Error::Malformed {
            offset: self.base.saturating_add(self.at),
            reason,
        }
    }

    fn bytes(&mut self, n: usize, reason: &'static str) -> Result<&[u8], Error> {
        let end = self.at.checked_add(n);
        match end.and_then(|end| self.desc.get(self.at..end)) {
            Some(b) => {
                self.at += n;
                Ok(b)
            }
            None => Err(self.malformed(reason)),
        }
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(le::<1>(self.bytes(1, "a record runs past the description's end")?)[0])
    }

    fn u64(&mut self) -> Result<u64, Error> {
        let b = self.bytes(8, "a record runs past the description's end")?;
        Ok(u64::from_le_bytes(le(b)))
    }

    fn name(&mut self) -> Result<Name, Error> {
        let b = self.bytes(2, "a record runs past the description's end")?;
        let len = u16::from_le_bytes(le(b)) as usize;
        Ok(Name::new(
            self.bytes(len, "a name runs past the description's end")?,
        ))
    }

    fn next(&mut self) -> Result<FileNode, Error> {
        if self.at >= self.desc.len() {
            return Ok(FileNode::Nothing);
        }
        let start = self.at;
        let node = match self.u8()? {
            TAG_BEGIN => FileNode::Begin(self.name()?),
            TAG_SETTING => {
                let name = self.name()?;
                let tag = self.u8()?;
                let bits = self.u64()?;
                let value = match tag {
                    1 => Setting::Size(
                        usize::try_from(bits).map_err(|_| self.malformed("a size too large"))?,
                    ),
                    2 => Setting::Real(f64::from_bits(bits)),
                    3 if bits <= 1 => Setting::Flag(bits == 1),
                    _ => return Err(self.malformed("an unknown setting type")),
                };
                FileNode::Setting(name, value)
            }
            TAG_TENSOR => {
                let name = self.name()?;
                let role = match self.u8()? {
                    1 => Role::Trainable,
                    2 => Role::Buffer,
                    _ => return Err(self.malformed("an unknown tensor role")),
                };
                let layout = match self.u8()? {
                    1 => Layout::RowMajor,
                    2 => Layout::ColumnMajor,
                    _ => return Err(self.malformed("an unknown tensor layout")),
                };
                let rank = self.u8()? as usize;
                if rank > Shape::MAX_RANK {
                    return Err(self.malformed("a tensor with more than 4 axes"));
                }
                let mut dims = [0usize; Shape::MAX_RANK];
                for d in dims.iter_mut().take(rank) {
                    *d = usize::try_from(self.u64()?)
                        .map_err(|_| self.malformed("an axis too large"))?;
                }
                FileNode::Tensor {
                    name,
                    role,
                    // `rank` ≤ `Shape::MAX_RANK`, checked above.
                    shape: Shape::new(&dims[..rank]),
                    layout,
                }
            }
            TAG_END => FileNode::End,
            _ => {
                self.at = start;
                return Err(self.malformed("an unknown record tag"));
            }
        };
        Ok(node)
    }
}

/// Whether a file record is the network's node.
fn same(file: &FileNode, net: &Node) -> bool {
    match (file, net) {
        (FileNode::Begin(a), Node::Begin(b)) => a.is(b),
        (FileNode::Setting(n, a), Node::Setting(m, b)) => n.is(m) && a.same(b),
        (
            FileNode::Tensor {
                name,
                role,
                shape,
                layout,
            },
            Node::Tensor(t),
        ) => name.is(t.name) && *role == t.role && *shape == t.shape && *layout == t.layout,
        (FileNode::End, Node::End) => true,
        _ => false,
    }
}

/// Compares the file's description with the network's, record by record.
fn check_description(
    describe: Describe<'_>,
    kind: &'static str,
    mut reader: Reader<'_>,
) -> Result<(), Error> {
    let mut result = Ok(());
    // The path to the current layer, and the kinds of the enclosing layers.
    let mut walk = LayerWalker::new();
    describe(&mut |node| {
        if result.is_err() {
            return;
        }
        if let Node::Begin(kind) = node {
            walk.begin(kind);
        }
        let found = match reader.next() {
            Ok(found) => found,
            Err(e) => {
                result = Err(e);
                return;
            }
        };
        if !same(&found, &node) {
            result = Err(Error::Mismatch {
                path: walk.path(),
                layer: walk.kind(),
                expected: Expected(Some(node)),
                found,
            });
            return;
        }
        if node == Node::End {
            walk.end();
        }
    });
    result?;
    match reader.next()? {
        FileNode::Nothing => Ok(()),
        found => Err(Error::Mismatch {
            path: walk.path(),
            layer: kind,
            expected: Expected(None),
            found,
        }),
    }
}

/// Checks `bytes` against the network's description and, only if every
/// check passes, overwrites the network's parameters and buffers with them.
///
/// On an error the network is unchanged, bit for bit.
pub fn load<T: Scalar, N: Params<T>>(net: &mut N, bytes: &[u8]) -> Result<(), Error> {
    let start = check(&*net, bytes)?;
    // `check` made sure the values after `start` are exactly the network's.
    let mut values = bytes
        .get(start..)
        .unwrap_or_default()
        .chunks_exact(size_of::<T>());
    N::tensors([], [net], &mut |_, [], [p]| {
        for (v, b) in p.iter_mut().zip(values.by_ref()) {
            *v = from_le::<T>(b);
        }
    });
    Ok(())
}

/// Every check of [`load`], without writing; returns where the values
/// start.
fn check<T: Scalar, N: Params<T>>(net: &N, bytes: &[u8]) -> Result<usize, Error> {
    consistent(net)?;
    // Values in memory: their byte size fits a `usize` (see `save`).
    let count = N::NUM_PARAMS + N::NUM_BUFFERS;
    let start = check_with(
        scalar_code::<T>(),
        T::NAME,
        N::KIND,
        &mut |f| net.describe(&mut |n| f(n)),
        count as u64,
        count * size_of::<T>(),
        bytes,
    )?;
    let mut values = bytes
        .get(start..)
        .unwrap_or_default()
        .chunks_exact(size_of::<T>());
    let mut index = 0usize;
    let mut bad = None;
    N::tensors([net], [], &mut |info, [p], []| {
        for b in values.by_ref().take(p.len()) {
            if bad.is_none() && !from_le::<T>(b).is_finite() {
                bad = Some(Error::NonFinite {
                    index,
                    tensor: info.name,
                });
            }
            index += 1;
        }
    });
    match bad {
        Some(e) => Err(e),
        None => Ok(start),
    }
}

/// The checks of a load that do not depend on the values' type: length,
/// magic, version, scalar code, description, value count, checksum.
/// Returns where the values start; on success the file is exactly
/// `value_bytes` bytes longer than that.
pub(crate) fn check_with(
    code: u8,
    name: &'static str,
    kind: &'static str,
    describe: Describe<'_>,
    count: u64,
    value_bytes: usize,
    bytes: &[u8],
) -> Result<usize, Error> {
    let d = description_len_of(describe)?;
    // The length of this network's file, for the messages of a file cut
    // short before its own description can be read.
    let needed = HEADER_BYTES
        .saturating_add(d)
        .saturating_add(TRAILER_BYTES)
        .saturating_add(value_bytes);
    let magic = read::<8>(bytes, 0, needed)?;
    if magic != MAGIC {
        return Err(Error::BadMagic { found: magic });
    }
    let version = u16::from_le_bytes(read::<2>(bytes, 8, needed)?);
    if version != VERSION {
        return Err(Error::UnsupportedVersion { found: version });
    }
    let [scalar, _reserved] = read::<2>(bytes, 10, needed)?;
    if scalar != code {
        return Err(match scalar_name(scalar) {
            Some(found) => Error::ScalarType {
                expected: name,
                found,
            },
            None => Error::UnknownScalarType { code: scalar },
        });
    }
    let d = u32::from_le_bytes(read::<4>(bytes, 12, needed)?);
    let desc_end = HEADER_BYTES.saturating_add(usize::try_from(d).unwrap_or(usize::MAX));
    let Some(desc) = bytes.get(HEADER_BYTES..desc_end) else {
        return Err(Error::Truncated {
            expected: needed.max(desc_end.saturating_add(TRAILER_BYTES)),
            found: bytes.len(),
        });
    };
    check_description(
        describe,
        kind,
        Reader {
            desc,
            base: HEADER_BYTES,
            at: 0,
        },
    )?;
    // The description matched the network's: the file's length is the
    // network's, counted from the file's own description length.
    let at = desc_end;
    let needed = at.saturating_add(TRAILER_BYTES).saturating_add(value_bytes);
    let found_count = u64::from_le_bytes(read::<8>(bytes, at, needed)?);
    if found_count != count {
        return Err(Error::ParamCount {
            expected: count,
            found: found_count,
        });
    }
    let recorded = u32::from_le_bytes(read::<4>(bytes, at.saturating_add(8), needed)?);
    let start = at.saturating_add(TRAILER_BYTES);
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
    crc.update(bytes.get(..at.saturating_add(8)).unwrap_or_default());
    crc.update(bytes.get(start..).unwrap_or_default());
    let actual = crc.finish();
    if actual != recorded {
        return Err(Error::Checksum {
            expected: recorded,
            found: actual,
        });
    }
    Ok(start)
}
