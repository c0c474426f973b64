//! Int8: post-training quantisation and integer-only inference.
//!
//! A trained `f32` network becomes a typed int8 network whose shapes are
//! still the types: `(Dense<64, 32>, Relu, Dense<32, 10>)` becomes
//! `(QDense<64, 32>, QRelu, QDense<32, 10>)` inside a [`Quantized`] that
//! also keeps the input's and the output's [`QParams`]. The scheme is
//! TensorFlow Lite's for int8, so its numbers are familiar:
//!
//! * weights: int8, symmetric (zero point 0, values in `[-127, 127]`), one
//!   scale per output channel: `s_w[o] = max|W[o, :]| / 127`;
//! * biases: int32 at scale `s_in · s_w[o]`;
//! * activations: int8 with one scale and zero point per tensor
//!   ([`QParams::from_range`]), the ranges calibrated on representative data
//!   ([`Calibration::MinMax`] or [`Calibration::Percentile`]);
//! * the numbers computed as TensorFlow Lite computes them: scales, zero
//!   points and rounded weights and biases in `f32` as its converter does,
//!   each multiplier from `f64` as its kernels do;
//! * requantisation: `y = clamp(zp_out + M·acc)` with `M = s_in · s_w / s_out`
//!   in fixed point ([`Multiplier`]), rounded as TensorFlow Lite rounds (half
//!   away from zero) and saturated, never wrapped;
//! * a `Relu` after a `Dense` is fused into it: the `Dense` output takes the
//!   ReLU's range `[0, max]`, whose zero point is −128, so saturating to
//!   `[-128, 127]` is the ReLU and the [`QRelu`] left behind changes nothing;
//! * every other element-wise activation (`Tanh`, `Sigmoid`, `LeakyRelu`,
//!   `Gelu`, …) is a 256-entry lookup table ([`QLookup`]); `Tanh` and
//!   `Sigmoid` use TensorFlow Lite's fixed output scales (1/128 and 1/256).
//!
//! Inference ([`Quantized::forward`]) is integer arithmetic only: no float,
//! no heap, `no_std`, so it runs on cores without an FPU (Cortex-M0+, most
//! RISC-V microcontrollers). On a Cortex-M4/M7 (a `thumbv7em` target) the
//! inner products use the DSP extension's dual 16-bit multiply-accumulate;
//! on x86-64 with AVX2 a `QDense` runs a vector kernel; every path gives
//! the portable code's results bit for bit. Quantising ([`quantize`]) is a
//! host-side step that uses `f32`/`f64`.
//!
//! ```
//! use nalgebra::SVector;
//! use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
//! use staticnet::prelude::*;
//! use staticnet::quant::{self, Calibration};
//!
//! type Net = (Dense<4, 8>, Relu, Dense<8, 3>);
//! let net = Net::random(Init::He, &mut Xoshiro256PlusPlus::seed_from_u64(1));
//! // A representative slice of the inputs (here: a grid).
//! let data: Vec<(SVector<f32, 4>, usize)> = (0..81)
//!     .map(|k| (SVector::from_fn(|i, _| ((k / 3usize.pow(i as u32)) % 3) as f32 - 1.0), 0))
//!     .collect();
//! let q = quant::quantize(&net, &data[..], Calibration::MinMax).unwrap();
//!
//! let x = data[17].0;
//! let xq = q.quantize_input(&x); // [i8; 4]
//! let yq = q.forward(&xq); // [i8; 3]: integer arithmetic only
//! let y = q.dequantize_output(&yq);
//! assert!((y - net.predict(&x)).abs().max() < 0.1);
//! ```

mod affine;
mod fixed;
mod layers;
mod network;
mod stats;

pub use affine::QAffine;
pub use fixed::{Multiplier, rounding_divide_by_pot, saturating_rounding_doubling_high_mul};
pub use layers::{QDense, QIdentity, QLookup, QRelu, dot_i8};
pub use network::{Quantized, argmax_i8, quantize};
pub use stats::{Calibration, Pass, QParams, RangeStats};

use core::fmt;

use crate::Module;
use crate::module::Isa;
use crate::params::{Fill, Node, RustSource, Shape, TensorInfo};

/// A layer (or network) that has an int8 form: how it is calibrated and
/// quantised. Implemented for `Dense`, the element-wise activations,
/// `Dropout` (the identity at inference), the scaling layers `Standardize`
/// and `Rescale` (a per-feature [`QAffine`]) and tuples of these.
///
/// Calibration runs the `f32` layer on each calibration sample and records
/// its output ([`observe`](Quantize::observe)); quantisation then turns the
/// layer into [`Quantize::Quantized`] given its input's parameters.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no int8 form",
    label = "this layer cannot be quantised",
    note = "int8 quantisation covers `Dense`, the element-wise activations, `Dropout`, `Standardize` and `Rescale`, in tuples: \
            end a classifier with its logits (argmax is the same without `Softmax`), and fold a \
            `BatchNorm1d` into the `Dense` before it (`BatchNorm1d::fold_into`)"
)]
pub trait Quantize<X>: Module<X> {
    /// The int8 layer.
    type Quantized;
    /// What calibration records: the range of the layer's output (a tuple's
    /// is the tuple of its layers').
    type Stats;

    /// Empty statistics.
    fn stats() -> Self::Stats;

    /// The layer's output for `x`, recorded in `stats` for this pass; the
    /// flag is `false` if an output was NaN or infinite.
    fn observe(&self, x: &X, stats: &mut Self::Stats, pass: Pass) -> (Self::Output, bool);

    /// For a layer that the one before it absorbs (a ReLU): the range the
    /// layer before should quantise its output to. `None` by default.
    fn absorbed_range(stats: &Self::Stats, calibration: Calibration) -> Option<(f32, f32)> {
        let _ = (stats, calibration);
        None
    }

    /// The int8 layer and its output's parameters, given the input's and,
    /// when the next layer is absorbed, the range to quantise the output to.
    fn quantize(
        &self,
        stats: &Self::Stats,
        calibration: Calibration,
        input: QParams,
        absorbed: Option<(f32, f32)>,
    ) -> Result<(Self::Quantized, QParams), QuantError>;
}

/// Integer inference: an int8 layer (or network) mapping `X` (an `[i8; N]`)
/// to its output.
pub trait QModule<X> {
    /// The output, an `[i8; M]`.
    type Output;
    /// The output for `x`, in integer arithmetic only.
    fn forward(&self, x: &X) -> Self::Output;
    /// The output for `x`, written into `y` (a layer that can write it in
    /// place; by default `*y = self.forward(x)`).
    #[inline]
    fn forward_into(&self, x: &X, y: &mut Self::Output) {
        *y = self.forward(x);
    }
    /// [`forward`](QModule::forward) with the kernels `isa` names (see
    /// [`Isa`]): what [`Quantized::forward`] calls on
    /// its layers once it has asked the CPU which kernels it may run, as
    /// [`Module::forward_on`] does for `f32`.
    /// The same output, bit for bit. By default `forward`, which asks for
    /// itself: a layer need not implement it. [`QDense`] and the networks
    /// (tuples of layers) take the kernels given.
    #[inline(always)]
    fn forward_on<K: Isa>(&self, x: &X, isa: K) -> Self::Output {
        let _ = isa;
        self.forward(x)
    }
    /// [`forward_into`](QModule::forward_into) with the kernels `isa`
    /// names, as [`forward_on`](QModule::forward_on). By default
    /// `forward_into`.
    #[inline(always)]
    fn forward_into_on<K: Isa>(&self, x: &X, y: &mut Self::Output, isa: K) {
        let _ = isa;
        self.forward_into(x, y);
    }
}

/// An int8 layer's tensor, read-only: its values in their own type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QData<'a> {
    /// int8 values (weights, zero points, tables).
    I8(&'a [i8]),
    /// int32 values (biases, multipliers).
    I32(&'a [i32]),
    /// `f32` values (scales).
    F32(&'a [f32]),
}

impl QData<'_> {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            QData::I8(v) => v.len(),
            QData::I32(v) => v.len(),
            QData::F32(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An int8 layer's tensor, writable.
#[derive(Debug, PartialEq)]
pub enum QDataMut<'a> {
    /// int8 values.
    I8(&'a mut [i8]),
    /// int32 values.
    I32(&'a mut [i32]),
    /// `f32` values.
    F32(&'a mut [f32]),
}

/// What an int8 layer says of itself: its kind, its tensors (for the
/// weights file, [`io::int8`](crate::io::int8)), its parameters for a
/// report, and its Rust form (so a quantised network can be a `static` in
/// flash).
pub trait QLayer {
    /// The layer's kind (`"QDense"`); a tuple is `"Sequential"`.
    const KIND: &'static str;
    /// Calls `f` with each tensor: its name (with its type, as in
    /// `"weight (i8)"`), shape and values, in a fixed order.
    fn tensors(&self, f: &mut dyn FnMut(&'static str, Shape, QData<'_>));
    /// Calls `f` with each tensor, writable, in the order of
    /// [`tensors`](QLayer::tensors); the layer brings whatever it derives
    /// from them up to date afterwards.
    fn tensors_mut(&mut self, f: &mut dyn FnMut(&'static str, Shape, QDataMut<'_>));
    /// Calls `f` with the layer's description: `Begin(KIND)`, a tensor
    /// record per tensor, `End` (a tuple puts its elements' in between).
    fn describe(&self, f: &mut dyn FnMut(Node)) {
        f(Node::Begin(Self::KIND));
        self.tensors(&mut |name, shape, _| f(tensor_node(name, shape)));
        f(Node::End);
    }
    /// Calls `f` with a summary of each layer, in order (a tuple walks its
    /// elements).
    fn summary(&self, f: &mut dyn FnMut(&Summary));
    /// Writes the layer's type (paths from the crate root).
    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result;
    /// Writes a constant expression of the layer's type holding exactly its
    /// values.
    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result;
}

/// The description record of an int8 layer's tensor (a buffer: nothing
/// trains it).
pub(crate) fn tensor_node(name: &'static str, shape: Shape) -> Node {
    Node::Tensor(TensorInfo::buffer(name, shape, Fill::Zeros))
}

/// `(y, stats.record(y, pass))`: what an element-wise or dense layer's
/// [`Quantize::observe`] returns for its output `y`.
pub(crate) fn observed<const N: usize>(
    y: nalgebra::SVector<f32, N>,
    stats: &mut RangeStats,
    pass: Pass,
) -> (nalgebra::SVector<f32, N>, bool) {
    let ok = stats.record(y.as_slice(), pass);
    (y, ok)
}

/// One int8 layer, as [`QLayer::summary`] reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Its kind.
    pub kind: &'static str,
    /// What it computes when that is not in the kind (`"Tanh"` for a lookup
    /// table), else the empty string.
    pub function: &'static str,
    /// Its input's parameters.
    pub input: QParams,
    /// Its output's parameters.
    pub output: QParams,
    /// The smallest and largest per-channel weight scale, for a layer with
    /// weights.
    pub weight_scales: Option<(f32, f32)>,
    /// The bytes of its constants (`size_of_val`).
    pub bytes: usize,
}

/// Why a network could not be quantised. Nothing is returned but the error.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum QuantError {
    /// The calibration set has no samples.
    Empty,
    /// A calibration input is NaN or infinite.
    NonFiniteInput {
        /// The sample's index in the calibration set.
        sample: usize,
        /// The feature's index.
        feature: usize,
        /// Its value.
        value: f32,
    },
    /// The network's output (or an intermediate one) is NaN or infinite on
    /// a calibration sample.
    NonFiniteActivation {
        /// The sample's index.
        sample: usize,
    },
    /// A weight or bias is NaN or infinite.
    NonFiniteWeight {
        /// The layer's kind.
        layer: &'static str,
        /// The output channel.
        channel: usize,
    },
    /// A percentile outside `(50, 100]` (or NaN).
    Percentile(f64),
    /// A requantisation multiplier `s_in · s_w / s_out` that is not a
    /// finite positive number (scales out of `f32`'s range).
    Multiplier {
        /// The layer's kind.
        layer: &'static str,
        /// The output channel.
        channel: usize,
        /// The multiplier.
        value: f64,
    },
    /// A bias too large for the int32 accumulator at its scale
    /// `s_in · s_w` (a bias huge against the weights of its channel).
    BiasOverflow {
        /// The layer's kind.
        layer: &'static str,
        /// The output channel.
        channel: usize,
        /// The bias in steps of its scale.
        steps: f64,
    },
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantError::Empty => f.write_str(
                "the calibration set is empty: pass a representative slice of the training inputs \
                 (a few hundred samples)",
            ),
            QuantError::NonFiniteInput {
                sample,
                feature,
                value,
            } => write!(
                f,
                "calibration sample {sample} has {value} at feature {feature}: remove or repair \
                 non-finite inputs before calibrating"
            ),
            QuantError::NonFiniteActivation { sample } => write!(
                f,
                "the network gives NaN or infinity on calibration sample {sample}: check the \
                 network's weights (a diverged training?) and the sample's scale"
            ),
            QuantError::NonFiniteWeight { layer, channel } => write!(
                f,
                "a {layer} layer has a NaN or infinite weight or bias in output channel {channel}: \
                 only a finite network can be quantised"
            ),
            QuantError::Percentile(p) => write!(
                f,
                "calibration percentile {p} is outside (50, 100]: use e.g. \
                 Calibration::Percentile(99.99), or Calibration::MinMax"
            ),
            QuantError::Multiplier {
                layer,
                channel,
                value,
            } => write!(
                f,
                "a {layer} layer's requantisation multiplier in output channel {channel} is \
                 {value}, not a finite positive number: its scales are out of f32's range (or, \
                 for a per-feature scaling, its factor is 0)"
            ),
            QuantError::BiasOverflow {
                layer,
                channel,
                steps,
            } => write!(
                f,
                "a {layer} layer's bias in output channel {channel} is {steps:e} steps of its \
                 scale, beyond the int32 accumulator: the bias is huge against that channel's \
                 weights"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for QuantError {}
