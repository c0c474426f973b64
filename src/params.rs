//! Parameters with names and roles: how a layer describes itself.
//!
//! Every layer implements [`Params`]: it lists its tensors (each with a
//! [`TensorInfo`]: name, [`Role`], shape, layout and how it starts), declares
//! a stable kind name ([`Layer::KIND`]) and its settings, and — optionally —
//! writes itself as Rust source. Everything that walks a network (the
//! weights file, [`io::rust`](crate::io), the safetensors import, error
//! messages, initialisation, optimizers) asks the layers through this trait,
//! so a new layer is one file: nothing else in the crate knows its kind.
//!
//! Tensors have one of two roles:
//!
//! * [`Role::Trainable`]: parameters. Gradients, optimizers and weight decay
//!   see these (through [`Params::zip`]).
//! * [`Role::Buffer`]: state that is saved and loaded but not trained, such as
//!   a batch normalisation's running mean (through [`Params::zip_buffers`]).
//!
//! [`Params::tensors`] walks both, in the layer's order, which is the order
//! of the values in a weights file.

use core::fmt;

use rand::Rng;

use crate::{Init, Scalar};

/// Whether a tensor is trained or only kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A parameter: it has a gradient and the optimizer updates it.
    Trainable,
    /// State the layer keeps (running statistics): saved, loaded and exported,
    /// but never seen by gradients or optimizers. A gradient value (of the
    /// network's type) holds zeros in its buffers.
    Buffer,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Trainable => "trainable",
            Role::Buffer => "buffer",
        })
    }
}

/// How [`Params::init`] fills a tensor under an [`Init`] scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// A weight with these fans: drawn as the scheme says (Xavier, He, …).
    Weight {
        /// Inputs that each output sums over.
        fan_in: usize,
        /// Outputs each input feeds.
        fan_out: usize,
    },
    /// A bias: 0, except under [`Init::PyTorch`], which draws it from
    /// `U(−1/√fan_in, 1/√fan_in)`. A bias may be absent from an imported
    /// file (PyTorch's `bias=False`), and is then 0.
    Bias {
        /// The fan-in of the weight it belongs to.
        fan_in: usize,
    },
    /// 0 under every scheme (a shift, a running mean).
    Zeros,
    /// 1 under every scheme (a scale, a running variance); [`Init::Zeros`]
    /// too, since a scale of 0 would disconnect the layer.
    Ones,
}

/// How a tensor's values are laid out in its storage, relative to its
/// [`Shape`] (which is PyTorch's order of axes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The last axis varies fastest (C order, PyTorch's).
    RowMajor,
    /// The first axis varies fastest (nalgebra's): a `Dense` weight of shape
    /// `(O, I)` stored column by column.
    ColumnMajor,
}

/// A tensor's shape: up to four axes, in PyTorch's order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    dims: [usize; Shape::MAX_RANK],
    rank: usize,
}

impl Shape {
    /// The most axes a shape has.
    pub const MAX_RANK: usize = 4;

    /// A shape from its axes. Panics (at compile time in a `const`) if there
    /// are more than [`Shape::MAX_RANK`].
    pub const fn new(axes: &[usize]) -> Shape {
        assert!(axes.len() <= Shape::MAX_RANK, "a shape has at most 4 axes");
        let mut dims = [0; Shape::MAX_RANK];
        let mut i = 0;
        while i < axes.len() {
            dims[i] = axes[i];
            i += 1;
        }
        Shape {
            dims,
            rank: axes.len(),
        }
    }

    /// The axes.
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank]
    }

    /// The number of values: the product of the axes (1 for a scalar).
    pub fn len(&self) -> usize {
        self.dims().iter().product()
    }

    /// Whether the shape holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where the value at row-major position `k` lives in a storage of the
    /// given layout.
    pub fn storage_index(&self, layout: Layout, k: usize) -> usize {
        match layout {
            Layout::RowMajor => k,
            Layout::ColumnMajor => {
                // Split k into indices with the last axis fastest, then
                // recombine with the first axis fastest.
                let dims = self.dims();
                let (mut rest, mut index, mut stride) = (k, 0, 1);
                let mut idx = [0usize; Shape::MAX_RANK];
                for (a, &d) in dims.iter().enumerate().rev() {
                    idx[a] = rest % d.max(1);
                    rest /= d.max(1);
                }
                for (a, &d) in dims.iter().enumerate() {
                    index += idx[a] * stride;
                    stride *= d;
                }
                index
            }
        }
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// What a layer says about one of its tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorInfo {
    /// Its name within the layer, as PyTorch names it (`weight`, `bias`,
    /// `running_mean`): the safetensors import looks for `<prefix>.<name>`.
    pub name: &'static str,
    /// Trained or kept.
    pub role: Role,
    /// Its shape, in PyTorch's order of axes.
    pub shape: Shape,
    /// How its values lie in the layer's storage.
    pub layout: Layout,
    /// How [`Params::init`] fills it.
    pub fill: Fill,
}

impl TensorInfo {
    /// A trainable tensor, row-major.
    pub const fn trainable(name: &'static str, shape: Shape, fill: Fill) -> Self {
        TensorInfo {
            name,
            role: Role::Trainable,
            shape,
            layout: Layout::RowMajor,
            fill,
        }
    }

    /// A buffer, row-major.
    pub const fn buffer(name: &'static str, shape: Shape, fill: Fill) -> Self {
        TensorInfo {
            name,
            role: Role::Buffer,
            shape,
            layout: Layout::RowMajor,
            fill,
        }
    }

    /// The same tensor with another layout.
    pub const fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }
}

/// A layer's setting: a size, a real number or a flag. Settings are part of
/// a network's description: a weights file records them and a load compares
/// them (reals bit for bit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Setting {
    /// A size or count.
    Size(usize),
    /// A real number, such as a slope or an `eps`.
    Real(f64),
    /// A switch.
    Flag(bool),
}

impl Setting {
    /// Whether two settings are the same (reals compared bit for bit).
    pub fn same(&self, other: &Setting) -> bool {
        match (self, other) {
            (Setting::Real(a), Setting::Real(b)) => a.to_bits() == b.to_bits(),
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Setting::Size(n) => write!(f, "{n}"),
            Setting::Real(x) => write!(f, "{x}"),
            Setting::Flag(b) => write!(f, "{b}"),
        }
    }
}

/// One event of a network's description ([`Params::describe`]): a layer
/// begins, one of its settings or tensors, a layer ends. A composite layer
/// (a tuple, a residual block) describes its children between its own
/// `Begin` and `End`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Node {
    /// A layer of this kind begins.
    Begin(&'static str),
    /// A setting of the current layer.
    Setting(&'static str, Setting),
    /// A tensor of the current layer.
    Tensor(TensorInfo),
    /// The current layer ends.
    End,
}

/// Where [`Params::rust_type`] and [`Params::rust_value`] write: a
/// [`fmt::Write`] with helpers for literals that compile back to the same
/// bits.
pub struct RustSource<'a> {
    out: &'a mut dyn fmt::Write,
    unsupported: Option<&'static str>,
    depth: usize,
}

impl fmt::Debug for RustSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RustSource")
            .field("unsupported", &self.unsupported)
            .finish_non_exhaustive()
    }
}

impl<'a> RustSource<'a> {
    /// Writes into `out`.
    pub fn new(out: &'a mut dyn fmt::Write) -> Self {
        RustSource {
            out,
            unsupported: None,
            depth: 0,
        }
    }

    /// Indents the lines that follow one level more (a block's children).
    pub fn indent(&mut self) {
        self.depth += 1;
    }

    /// Undoes one [`indent`](RustSource::indent).
    pub fn dedent(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Starts a new line at the current indentation.
    pub fn newline(&mut self) -> fmt::Result {
        self.out.write_str("\n")?;
        for _ in 0..self.depth {
            self.out.write_str("    ")?;
        }
        Ok(())
    }

    /// The kind of the first layer that said it has no Rust form, if any.
    pub fn unsupported_kind(&self) -> Option<&'static str> {
        self.unsupported
    }

    /// Records that a layer of this kind cannot be written as Rust source
    /// (the default of [`Params::rust_type`] and [`Params::rust_value`]).
    pub fn unsupported(&mut self, kind: &'static str) -> fmt::Result {
        self.unsupported.get_or_insert(kind);
        Ok(())
    }

    /// Writes text.
    pub fn text(&mut self, s: &str) -> fmt::Result {
        self.out.write_str(s)
    }

    /// Writes formatted text: `src.fmt(format_args!(…))`.
    pub fn fmt(&mut self, args: fmt::Arguments<'_>) -> fmt::Result {
        self.out.write_fmt(args)
    }

    /// Writes a literal of type `T` that parses back to exactly `v` (the
    /// shortest decimal that round-trips; `f32::NAN` and infinities by name).
    pub fn scalar<T: Scalar>(&mut self, v: T) -> fmt::Result {
        let x = v.as_f64();
        if x.is_nan() {
            return write!(self.out, "{}::NAN", T::NAME);
        }
        if x.is_infinite() {
            let sign = if x > 0.0 { "" } else { "NEG_" };
            return write!(self.out, "{}::{sign}INFINITY", T::NAME);
        }
        if size_of::<T>() == 4 {
            write!(self.out, "{:?}", x as f32)
        } else {
            write!(self.out, "{x:?}")
        }
    }

    /// Writes `values` as nested array literals with the given axes, the
    /// first axis outermost: `[[a, b], [c, d]]` for axes `[2, 2]`. Panics if
    /// the axes' product is not `values.len()`.
    pub fn array<T: Scalar>(&mut self, values: &[T], axes: &[usize]) -> fmt::Result {
        assert_eq!(
            axes.iter().product::<usize>(),
            values.len(),
            "array axes and values disagree"
        );
        self.nested(values, axes)
    }

    fn nested<T: Scalar>(&mut self, values: &[T], axes: &[usize]) -> fmt::Result {
        self.text("[")?;
        match axes {
            [] | [_] => {
                for (i, &v) in values.iter().enumerate() {
                    if i > 0 {
                        self.text(", ")?;
                    }
                    self.scalar(v)?;
                }
            }
            [n, rest @ ..] => {
                let inner = rest.iter().product::<usize>();
                for i in 0..*n {
                    if i > 0 {
                        self.text(", ")?;
                    }
                    self.nested(&values[i * inner..(i + 1) * inner], rest)?;
                }
            }
        }
        self.text("]")
    }
}

/// A layer or network: anything with a stable kind name. Implementing it
/// (one line) gives a type [`Network`](crate::Network)'s methods.
///
/// ```
/// use staticnet::params::Layer;
/// struct Scale;
/// impl Layer for Scale {
///     const KIND: &'static str = "Scale";
/// }
/// assert_eq!(<(Scale, Scale)>::KIND, "Sequential");
/// ```
pub trait Layer {
    /// The layer's kind: a stable name recorded in weights files and shown
    /// in errors (`"Dense"`, `"BatchNorm1d"`). A layer of your own declares a
    /// name of its own; renaming it makes saved files of it stop loading.
    const KIND: &'static str;
}

/// `f(info, read.map(|l| l.FIELD.as_slice()), write.each_mut().map(|l|
/// l.FIELD.as_mut_slice()))`: one tensor of a layer's
/// [`Params::tensors`], for a field that is an nalgebra matrix.
macro_rules! tensor {
    ($f:ident, $read:ident, $write:ident, $info:expr, $($field:tt)+) => {
        $f(
            $info,
            $read.map(|l| l.$($field)+.as_slice()),
            $write.each_mut().map(|l| l.$($field)+.as_mut_slice()),
        )
    };
}
pub(crate) use tensor;

/// The parameters and buffers of a layer or network in scalar type `T`, and
/// the layer's description of itself.
///
/// A gradient, and each slot of an optimizer's state, is a value of the same
/// type as the network (`Self`), so its shape is checked by the compiler.
/// [`tensors`](Params::tensors) walks several such values in lock step, one
/// contiguous slice per tensor, in a fixed order (layer by layer; within a
/// layer, the order it lists its tensors in).
///
/// A layer implements [`Layer`] (its kind name), and here
/// [`NUM_PARAMS`](Params::NUM_PARAMS), [`zeros`](Params::zeros) and
/// [`tensors`](Params::tensors); a layer with buffers also
/// [`NUM_BUFFERS`](Params::NUM_BUFFERS), one with settings
/// [`settings`](Params::settings), and one that can live in a `static`
/// [`rust_type`](Params::rust_type) and [`rust_value`](Params::rust_value).
/// The rest is provided. See [`crate::module`] for a whole layer.
pub trait Params<T: Scalar>: Layer + Sized {
    /// The number of trainable scalars.
    const NUM_PARAMS: usize;

    /// The number of buffer scalars (running statistics): 0 for most layers.
    const NUM_BUFFERS: usize = 0;

    /// A value of this type with every parameter and buffer zero (and every
    /// setting, such as a leaky ReLU's slope, at its default): a fresh
    /// gradient.
    fn zeros() -> Self;

    /// Calls `f` once per tensor, trainable or buffer, with its description
    /// and the matching slices of the `read` values and of the `write` values.
    fn tensors<const R: usize, const W: usize>(
        read: [&Self; R],
        write: [&mut Self; W],
        f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
    );

    /// Calls `f` with each setting's name and value (none by default).
    fn settings(&self, f: &mut impl FnMut(&'static str, Setting)) {
        let _ = f;
    }

    /// Calls `f` with the layer's description: `Begin(KIND)`, its settings,
    /// its tensors, `End`. Composite layers (tuples, blocks) put their
    /// children's descriptions between their own `Begin` and `End`.
    fn describe(&self, f: &mut impl FnMut(Node)) {
        f(Node::Begin(Self::KIND));
        self.settings(&mut |name, s| f(Node::Setting(name, s)));
        Self::tensors([self], [], &mut |info, _, []| f(Node::Tensor(info)));
        f(Node::End);
    }

    /// Writes the layer's Rust type, e.g. `staticnet::Dense<2, 3, f32>`
    /// (paths from the crate root). The default records the layer as having
    /// no Rust form, and [`to_rust`](crate::io) reports it.
    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.unsupported(Self::KIND)
    }

    /// Writes a constant expression of the layer's type that holds exactly
    /// its values, e.g. `staticnet::Relu` or a `const fn` constructor call.
    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.unsupported(Self::KIND)
    }

    /// Calls `f` once per trainable tensor with the matching slices of the
    /// `read` and `write` values: what optimizers and gradients walk.
    #[inline]
    fn zip<const R: usize, const W: usize>(
        read: [&Self; R],
        write: [&mut Self; W],
        f: &mut impl FnMut([&[T]; R], [&mut [T]; W]),
    ) {
        Self::tensors(read, write, &mut |info, r, w| {
            if info.role == Role::Trainable {
                f(r, w)
            }
        })
    }

    /// Calls `f` once per buffer, as [`zip`](Params::zip) does per
    /// trainable tensor.
    #[inline]
    fn zip_buffers<const R: usize, const W: usize>(
        read: [&Self; R],
        write: [&mut Self; W],
        f: &mut impl FnMut([&[T]; R], [&mut [T]; W]),
    ) {
        Self::tensors(read, write, &mut |info, r, w| {
            if info.role == Role::Buffer {
                f(r, w)
            }
        })
    }

    /// (Re-)initialises every tensor as its [`Fill`] says under the given
    /// scheme, drawing from `rng` tensor by tensor in order.
    fn init<G: Rng + ?Sized>(&mut self, init: Init, rng: &mut G) {
        Self::tensors([], [self], &mut |info, [], [p]| {
            init.fill_tensor(info.fill, p, rng)
        });
    }

    /// A new value initialised with the given scheme: the usual way to create
    /// a network.
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
    /// use staticnet::{Dense, Init, Params, Relu};
    ///
    /// type Net = (Dense<4, 8>, Relu, Dense<8, 2>);
    /// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    /// let net = Net::random(Init::He, &mut rng);
    /// assert_eq!(<Net as Params<f32>>::NUM_PARAMS, 4 * 8 + 8 + 8 * 2 + 2);
    /// ```
    fn random<G: Rng + ?Sized>(init: Init, rng: &mut G) -> Self {
        let mut net = Self::zeros();
        net.init(init, rng);
        net
    }

    /// Calls `f` with each trainable tensor as a slice.
    fn visit(&self, f: &mut impl FnMut(&[T])) {
        Self::zip([self], [], &mut |[p], []| f(p));
    }

    /// Calls `f` with each trainable tensor as a mutable slice.
    fn visit_mut(&mut self, f: &mut impl FnMut(&mut [T])) {
        Self::zip([], [self], &mut |[], [p]| f(p));
    }

    /// Sets every parameter to zero, keeping settings and buffers: resets a
    /// gradient.
    fn set_zero(&mut self) {
        self.visit_mut(&mut |p| p.fill(T::zero()));
    }

    /// Whether every trainable parameter is finite (neither NaN nor
    /// infinite).
    ///
    /// `0 · v` is 0 for a finite `v` and NaN otherwise, and a sum with a NaN
    /// is NaN: eight running sums of it, one pass without branches, which
    /// the compiler vectorises (a trainer checks every gradient with this).
    fn is_finite(&self) -> bool {
        let mut acc = [T::ZERO; 8];
        self.visit(&mut |p| {
            let chunks = p.chunks_exact(8);
            for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
                *a += v * T::ZERO;
            }
            for c in chunks {
                for (a, &v) in acc.iter_mut().zip(c) {
                    *a += v * T::ZERO;
                }
            }
        });
        acc.iter().all(|&a| a == T::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_major_index_of_a_matrix() {
        // (O, I) = (2, 3): element (o, i) at row-major o*3 + i, column-major i*2 + o.
        let s = Shape::new(&[2, 3]);
        for o in 0..2 {
            for i in 0..3 {
                assert_eq!(s.storage_index(Layout::ColumnMajor, o * 3 + i), i * 2 + o);
            }
        }
        let s = Shape::new(&[2, 3, 4]);
        assert_eq!(s.storage_index(Layout::ColumnMajor, 23), 23);
        assert_eq!(s.storage_index(Layout::ColumnMajor, 1), 6); // (0, 0, 1)
        assert_eq!(s.storage_index(Layout::RowMajor, 7), 7);
    }
}
