//! The int8 layers, and how the crate's `f32` layers become them.

use core::fmt;

use nalgebra::SVector;

use super::fixed::round_clamp;
use super::{
    Calibration, Multiplier, Pass, QData, QDataMut, QLayer, QModule, QParams, QuantError, Quantize,
    RangeStats, Summary, observed,
};
use crate::layers::activation::{
    Elu, FastSigmoid, FastTanh, Gelu, Identity, LeakyRelu, Relu, Sigmoid, Softplus, Tanh,
};
use crate::module::{Checked, Isa};
use crate::params::{RustSource, Shape};
use crate::{Dense, Dropout, Module};

/// `Σ a[i]·b[i]` over int8 vectors, in int32.
///
/// On a Cortex-M4/M7 (built with the `staticnet_dsp` configuration the build
/// script sets for `thumbv7em` targets) four products at a time go through
/// the DSP extension: two `SXTB16` per operand widen the bytes to 16-bit
/// halves, and two `SMLAD` multiply and add both halves, as CMSIS-NN does.
/// Elsewhere it is a plain loop. Both give the same sum exactly (integer
/// arithmetic; no overflow for `N` up to 131,000).
///
/// ```
/// use staticnet::quant::dot_i8;
/// assert_eq!(dot_i8(&[1, -2, 3], &[-128, 127, 5]), -128 - 254 + 15);
/// ```
#[inline(always)]
pub fn dot_i8<const N: usize>(a: &[i8; N], b: &[i8; N]) -> i32 {
    #[cfg(staticnet_dsp)]
    {
        dsp::dot(a, b)
    }
    #[cfg(not(staticnet_dsp))]
    {
        let mut acc = 0i32;
        for i in 0..N {
            acc += a[i] as i32 * b[i] as i32;
        }
        acc
    }
}

/// Two rows against one input: `(Σ w0[i]·x[i], Σ w1[i]·x[i])`, the input
/// loaded and widened once for both rows.
#[cfg(staticnet_dsp)]
#[inline(always)]
fn dot2_i8<const N: usize>(w0: &[i8; N], w1: &[i8; N], x: &[i8; N]) -> (i32, i32) {
    dsp::dot2(w0, w1, x)
}

// The only `unsafe` outside `kernels`: inline assembly for the DSP
// instructions, which stable Rust has no intrinsics for.
#[cfg(staticnet_dsp)]
#[allow(unsafe_code)]
mod dsp {
    use core::arch::asm;

    /// Two signed 16-bit products added into `acc` (`SMLAD`), after widening
    /// bytes 0 and 2, then 1 and 3, of each word (`SXTB16`).
    #[inline(always)]
    fn mac4(acc: i32, a: u32, b: u32) -> i32 {
        let acc2: i32;
        // SAFETY: register-only DSP instructions (no memory, no flags read;
        // SMLAD may set the sticky Q flag, which nothing here reads). The
        // crate is built with `staticnet_dsp` only for ARMv7E-M targets,
        // which have them.
        unsafe {
            asm!(
                "sxtb16 {ae}, {a}",
                "sxtb16 {be}, {b}",
                "sxtb16 {a}, {a}, ror #8",
                "sxtb16 {b}, {b}, ror #8",
                "smlad {acc}, {ae}, {be}, {acc}",
                "smlad {acc}, {a}, {b}, {acc}",
                a = inout(reg) a => _,
                b = inout(reg) b => _,
                ae = out(reg) _,
                be = out(reg) _,
                acc = inout(reg) acc => acc2,
                options(pure, nomem, nostack),
            );
        }
        acc2
    }

    /// [`mac4`] for two rows `w0`, `w1` against one `x`: `x` is widened
    /// once for both.
    #[inline(always)]
    fn mac4x2(acc: (i32, i32), x: u32, w0: u32, w1: u32) -> (i32, i32) {
        let (a0, a1): (i32, i32);
        // SAFETY: as in `mac4`: register-only DSP instructions.
        unsafe {
            asm!(
                "sxtb16 {xe}, {x}",
                "sxtb16 {x}, {x}, ror #8",
                "sxtb16 {we}, {w0}",
                "sxtb16 {w0}, {w0}, ror #8",
                "smlad {a0}, {xe}, {we}, {a0}",
                "smlad {a0}, {x}, {w0}, {a0}",
                "sxtb16 {we}, {w1}",
                "sxtb16 {w1}, {w1}, ror #8",
                "smlad {a1}, {xe}, {we}, {a1}",
                "smlad {a1}, {x}, {w1}, {a1}",
                x = inout(reg) x => _,
                w0 = inout(reg) w0 => _,
                w1 = inout(reg) w1 => _,
                xe = out(reg) _,
                we = out(reg) _,
                a0 = inout(reg) acc.0 => a0,
                a1 = inout(reg) acc.1 => a1,
                options(pure, nomem, nostack),
            );
        }
        (a0, a1)
    }

    #[inline(always)]
    fn word(v: &[i8], i: usize) -> u32 {
        u32::from_le_bytes([v[i] as u8, v[i + 1] as u8, v[i + 2] as u8, v[i + 3] as u8])
    }

    #[inline(always)]
    pub(super) fn dot2<const N: usize>(w0: &[i8; N], w1: &[i8; N], x: &[i8; N]) -> (i32, i32) {
        let mut acc = (0i32, 0i32);
        let mut i = 0;
        while i + 4 <= N {
            acc = mac4x2(acc, word(x, i), word(w0, i), word(w1, i));
            i += 4;
        }
        while i < N {
            acc.0 += w0[i] as i32 * x[i] as i32;
            acc.1 += w1[i] as i32 * x[i] as i32;
            i += 1;
        }
        acc
    }

    #[inline(always)]
    pub(super) fn dot<const N: usize>(a: &[i8; N], b: &[i8; N]) -> i32 {
        let mut acc = 0i32;
        let mut i = 0;
        while i + 4 <= N {
            acc = mac4(acc, word(a, i), word(b, i));
            i += 4;
        }
        while i < N {
            acc += a[i] as i32 * b[i] as i32;
            i += 1;
        }
        acc
    }
}

/// An int8 fully connected layer with `I` inputs and `O` outputs, quantised
/// as TensorFlow Lite quantises one (see [the module](super)):
///
/// `y[o] = clamp(zp_out + M[o]·(b[o] + Σᵢ W[o, i]·(x[i] − zp_in)), −128, 127)`
///
/// with int8 `W` (symmetric, scale `weight_scale[o]` per output channel),
/// int32 `b` (scale `s_in · weight_scale[o]`) and `M[o]` the fixed-point
/// `s_in · weight_scale[o] / s_out` ([`Multiplier`]).
///
/// [`QDense::new`] folds `b[o] − zp_in · Σᵢ W[o, i]` into one constant per
/// channel, so the inner loop is a plain int8 dot product ([`dot_i8`]); the
/// fields are private (read them with the methods below) so that the folded
/// constants always follow the weights. The sums are exact while
/// `|b[o]| + 127 · 255 · I < 2³¹`, which [`quantize`](super::quantize)
/// guarantees (else it reports [`QuantError::BiasOverflow`]); a layer made
/// by hand or loaded beyond that saturates its sums instead of wrapping.
#[derive(Debug, Clone, PartialEq)]
pub struct QDense<const I: usize, const O: usize> {
    weight: [[i8; I]; O],
    bias: [i32; O],
    multiplier: [i32; O],
    shift: [i8; O],
    input: QParams,
    output: QParams,
    weight_scale: [f32; O],
    /// `b[o] − zp_in · Σᵢ W[o, i]`, computed by [`QDense::new`].
    offset: [i32; O],
}

impl<const I: usize, const O: usize> QDense<I, O> {
    /// A layer from its parts (a `const fn`: a quantised network can be a
    /// `static` in flash): `W` row by row, `b` in steps of
    /// `s_in · weight_scale[o]`, the significands and shifts of `M[o]`
    /// (shifts outside `-31..=30`, which [`Multiplier::from_real`] never
    /// makes, are taken as the nearer end), the input's and the output's
    /// parameters, and the real value of one step of each row of `W` (kept
    /// for reports; inference does not use it).
    pub const fn new(
        weight: [[i8; I]; O],
        bias: [i32; O],
        multiplier: [i32; O],
        shift: [i8; O],
        input: QParams,
        output: QParams,
        weight_scale: [f32; O],
    ) -> Self {
        let mut offset = [0i32; O];
        let mut shift = shift;
        let mut o = 0;
        while o < O {
            let mut sum = 0i32;
            let mut i = 0;
            while i < I {
                sum = sum.saturating_add(weight[o][i] as i32);
                i += 1;
            }
            offset[o] = bias[o].saturating_sub(sum.saturating_mul(input.zero_point as i32));
            shift[o] = if shift[o] > 30 {
                30
            } else if shift[o] < -31 {
                -31
            } else {
                shift[o]
            };
            o += 1;
        }
        QDense {
            weight,
            bias,
            multiplier,
            shift,
            input,
            output,
            weight_scale,
            offset,
        }
    }

    /// `W`, row by row: `weight()[o][i]`.
    pub const fn weight(&self) -> &[[i8; I]; O] {
        &self.weight
    }

    /// `b`, in steps of `s_in · weight_scale()[o]`.
    pub const fn bias(&self) -> &[i32; O] {
        &self.bias
    }

    /// The significands of `M[o]`.
    pub const fn multiplier(&self) -> &[i32; O] {
        &self.multiplier
    }

    /// The shifts of `M[o]`, in `-31..=30`.
    pub const fn shift(&self) -> &[i8; O] {
        &self.shift
    }

    /// The input's parameters.
    pub const fn input(&self) -> QParams {
        self.input
    }

    /// The output's parameters.
    pub const fn output(&self) -> QParams {
        self.output
    }

    /// The real value of one step of each row of `W`.
    pub const fn weight_scale(&self) -> &[f32; O] {
        &self.weight_scale
    }

    /// The folded constants `b[o] − zp_in · Σᵢ W[o, i]` (for the x86 kernel).
    #[cfg(target_arch = "x86_64")]
    pub(crate) const fn offset(&self) -> &[i32; O] {
        &self.offset
    }

    /// Output `o` from its dot product with the input.
    #[inline(always)]
    fn requantize(&self, o: usize, dot: i32) -> i8 {
        requantize(
            self.offset[o],
            self.multiplier_of(o),
            self.output.zero_point,
            dot,
        )
    }

    /// The AVX2 kernel (then `true`): eight outputs at a time, requantised
    /// on eight lanes, bit for bit the portable result. Without a check
    /// where `isa` is the proof that the CPU has AVX2 and FMA, not at all
    /// for [`Plain`](crate::module::Plain), and where the CPU has them
    /// otherwise ([`Checked`]).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn x86<K: Isa>(&self, x: &[i8; I], y: &mut [i8; O], isa: K) -> bool {
        match isa.avx2_fma() {
            Some(cpu) => {
                crate::kernels::x86::int8_dense_known(cpu, self, x, y);
                true
            }
            None if K::PLAIN => false,
            None => crate::kernels::x86::int8_dense(self, x, y),
        }
    }

    /// Channel `o`'s multiplier.
    pub const fn multiplier_of(&self, o: usize) -> Multiplier {
        Multiplier {
            m: self.multiplier[o],
            shift: self.shift[o],
        }
    }
}

impl<const I: usize, const O: usize> QModule<[i8; I]> for QDense<I, O> {
    type Output = [i8; O];
    #[inline]
    fn forward(&self, x: &[i8; I]) -> [i8; O] {
        self.forward_on(x, Checked)
    }
    #[inline]
    fn forward_into(&self, x: &[i8; I], y: &mut [i8; O]) {
        self.forward_into_on(x, y, Checked);
    }
    #[inline(always)]
    fn forward_on<K: Isa>(&self, x: &[i8; I], isa: K) -> [i8; O] {
        #[cfg(target_arch = "x86_64")]
        {
            let mut y = [0; O];
            if self.x86(x, &mut y, isa) {
                return y;
            }
        }
        // Elsewhere there is nothing to ask: the plain loops.
        #[cfg(not(target_arch = "x86_64"))]
        let _ = isa;
        self.portable(x)
    }
    #[inline(always)]
    fn forward_into_on<K: Isa>(&self, x: &[i8; I], y: &mut [i8; O], isa: K) {
        #[cfg(target_arch = "x86_64")]
        if self.x86(x, y, isa) {
            return;
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = isa;
        self.portable_into(x, y);
    }
}

impl<const I: usize, const O: usize> QDense<I, O> {
    /// The portable code (the DSP extension's pairs on a `thumbv7em`
    /// target): what every other path reproduces bit for bit.
    #[inline]
    fn portable(&self, x: &[i8; I]) -> [i8; O] {
        #[cfg(staticnet_dsp)]
        {
            // `from_fn` calls in index order: an even index computes its
            // pair and keeps the odd one's sum for the next call.
            let mut odd = 0;
            core::array::from_fn(|o| {
                if o % 2 == 1 {
                    self.requantize(o, odd)
                } else if o + 1 < O {
                    let (a0, a1) = dot2_i8(&self.weight[o], &self.weight[o + 1], x);
                    odd = a1;
                    self.requantize(o, a0)
                } else {
                    self.requantize(o, dot_i8(&self.weight[o], x))
                }
            })
        }
        #[cfg(not(staticnet_dsp))]
        {
            core::array::from_fn(|o| self.requantize(o, dot_i8(&self.weight[o], x)))
        }
    }

    /// [`portable`](QDense::portable) into `y`: with the DSP extension two
    /// outputs at a time (one pass over `x` for both), then the last one of
    /// an odd `O`.
    #[inline]
    fn portable_into(&self, x: &[i8; I], y: &mut [i8; O]) {
        #[cfg(staticnet_dsp)]
        {
            let mut o = 0;
            while o + 2 <= O {
                let (a0, a1) = dot2_i8(&self.weight[o], &self.weight[o + 1], x);
                y[o] = self.requantize(o, a0);
                y[o + 1] = self.requantize(o + 1, a1);
                o += 2;
            }
            if o < O {
                y[o] = self.requantize(o, dot_i8(&self.weight[o], x));
            }
        }
        #[cfg(not(staticnet_dsp))]
        for (o, y) in y.iter_mut().enumerate() {
            *y = self.requantize(o, dot_i8(&self.weight[o], x));
        }
    }
}

/// `clamp(zp + M·(offset + dot), −128, 127)`: one output of a `QDense`. Not
/// generic, and out of line on a microcontroller, where flash counts: one
/// copy serves every layer and both outputs of a pair, for a call of a few
/// instructions per output.
#[cfg_attr(target_arch = "arm", inline(never))]
#[cfg_attr(not(target_arch = "arm"), inline(always))]
pub(crate) fn requantize(offset: i32, m: Multiplier, zero_point: i8, dot: i32) -> i8 {
    let y = m.apply_in_range(offset.saturating_add(dot));
    y.saturating_add(zero_point as i32).clamp(-128, 127) as i8
}

/// The bound on `|Σᵢ W[o, i]·(x[i] − zp_in)|`: |W| ≤ 127, |x − zp| ≤ 255.
const fn max_products(inputs: usize) -> f64 {
    127.0 * 255.0 * inputs as f64
}

impl<const I: usize, const O: usize> Quantize<SVector<f32, I>> for Dense<I, O, f32> {
    type Quantized = QDense<I, O>;
    type Stats = RangeStats;

    fn stats() -> RangeStats {
        RangeStats::new()
    }

    fn observe(
        &self,
        x: &SVector<f32, I>,
        stats: &mut RangeStats,
        pass: Pass,
    ) -> (SVector<f32, O>, bool) {
        observed(self.forward(x), stats, pass)
    }

    fn quantize(
        &self,
        stats: &RangeStats,
        calibration: Calibration,
        input: QParams,
        absorbed: Option<(f32, f32)>,
    ) -> Result<(QDense<I, O>, QParams), QuantError> {
        let (lo, hi) = absorbed.unwrap_or_else(|| stats.range(calibration));
        let output = QParams::from_range(lo, hi);
        let mut weight = [[0i8; I]; O];
        let mut bias = [0i32; O];
        let mut multiplier = [0i32; O];
        let mut shift = [0i8; O];
        let mut weight_scale = [0f32; O];
        for o in 0..O {
            let row = self.weight.row(o);
            if !row.iter().all(|w| w.is_finite()) || !self.bias[o].is_finite() {
                return Err(QuantError::NonFiniteWeight {
                    layer: "Dense",
                    channel: o,
                });
            }
            let max = row.iter().fold(0f32, |m, w| m.max(w.abs()));
            // TensorFlow Lite's converter: scale max/127, values rounded
            // from w · (1/scale) in f32. A channel of zeros (or of weights
            // so small that max/127 is 0 in f32) gets scale 1: its weights
            // are 0 either way.
            let s_w = if max / 127.0 > 0.0 { max / 127.0 } else { 1.0 };
            let inv = (1.0 / s_w as f64) as f32;
            weight_scale[o] = s_w;
            for i in 0..I {
                weight[o][i] = round_clamp(libm::roundf(row[i] * inv) as f64, -127, 127) as i8;
            }
            // The bias at scale s_in · s_w, rounded from b · (1/scale) in
            // f32 as the converter does (a scale of 0 gives 0).
            let bias_scale = input.scale * s_w;
            let inv = if bias_scale == 0.0 {
                0.0
            } else {
                (1.0 / bias_scale as f64) as f32
            };
            let steps = libm::roundf(self.bias[o] * inv) as f64;
            if steps.is_nan() || steps.abs() + max_products(I) >= i32::MAX as f64 {
                return Err(QuantError::BiasOverflow {
                    layer: "Dense",
                    channel: o,
                    steps,
                });
            }
            bias[o] = steps as i32;
            // The requantisation multiplier in f64, as TensorFlow Lite's
            // kernels compute it.
            let real = input.scale as f64 * s_w as f64 / output.scale as f64;
            let m = Multiplier::from_real(real).ok_or(QuantError::Multiplier {
                layer: "Dense",
                channel: o,
                value: real,
            })?;
            multiplier[o] = m.m;
            shift[o] = m.shift;
        }
        let q = QDense::new(weight, bias, multiplier, shift, input, output, weight_scale);
        Ok((q, output))
    }
}

impl<const I: usize, const O: usize> QLayer for QDense<I, O> {
    const KIND: &'static str = "QDense";
    fn tensors(&self, f: &mut dyn FnMut(&'static str, Shape, QData<'_>)) {
        let o = Shape::new(&[O]);
        f(
            "weight (i8)",
            Shape::new(&[O, I]),
            QData::I8(self.weight.as_flattened()),
        );
        f("bias (i32)", o, QData::I32(&self.bias));
        f("multiplier (i32)", o, QData::I32(&self.multiplier));
        f("shift (i8)", o, QData::I8(&self.shift));
        f("weight_scale (f32)", o, QData::F32(&self.weight_scale));
        qparams_tensors(INPUT, &self.input, f);
        qparams_tensors(OUTPUT, &self.output, f);
    }
    fn tensors_mut(&mut self, f: &mut dyn FnMut(&'static str, Shape, QDataMut<'_>)) {
        let o = Shape::new(&[O]);
        f(
            "weight (i8)",
            Shape::new(&[O, I]),
            QDataMut::I8(self.weight.as_flattened_mut()),
        );
        f("bias (i32)", o, QDataMut::I32(&mut self.bias));
        f("multiplier (i32)", o, QDataMut::I32(&mut self.multiplier));
        f("shift (i8)", o, QDataMut::I8(&mut self.shift));
        f(
            "weight_scale (f32)",
            o,
            QDataMut::F32(&mut self.weight_scale),
        );
        qparams_tensors_mut(INPUT, &mut self.input, f);
        qparams_tensors_mut(OUTPUT, &mut self.output, f);
        // The folded offsets follow the new values.
        *self = QDense::new(
            self.weight,
            self.bias,
            self.multiplier,
            self.shift,
            self.input,
            self.output,
            self.weight_scale,
        );
    }
    fn summary(&self, f: &mut dyn FnMut(&Summary)) {
        let (lo, hi) = self
            .weight_scale
            .iter()
            .fold((f32::INFINITY, 0f32), |(lo, hi), &s| (lo.min(s), hi.max(s)));
        f(&Summary {
            kind: Self::KIND,
            function: "",
            input: self.input,
            output: self.output,
            weight_scales: Some((lo, hi)),
            bytes: size_of_val(self),
        })
    }
    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!("staticnet::quant::QDense<{I}, {O}>"))
    }
    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!("staticnet::quant::QDense::<{I}, {O}>::new("))?;
        src.fmt(format_args!(
            "{:?}, {:?}, {:?}, {:?}, ",
            self.weight, self.bias, self.multiplier, self.shift
        ))?;
        qparams(src, self.input)?;
        src.text(", ")?;
        qparams(src, self.output)?;
        src.text(", ")?;
        src.array(&self.weight_scale, &[O])?;
        src.text(")")
    }
}

/// The two tensors of a tensor's parameters: `<p>_scale (f32)` and
/// `<p>_zero_point (i8)`, each of one value.
pub(crate) fn qparams_tensors(
    names: [&'static str; 2],
    p: &QParams,
    f: &mut dyn FnMut(&'static str, Shape, QData<'_>),
) {
    let one = Shape::new(&[1]);
    f(names[0], one, QData::F32(core::slice::from_ref(&p.scale)));
    f(
        names[1],
        one,
        QData::I8(core::slice::from_ref(&p.zero_point)),
    );
}

/// [`qparams_tensors`], writable.
pub(crate) fn qparams_tensors_mut(
    names: [&'static str; 2],
    p: &mut QParams,
    f: &mut dyn FnMut(&'static str, Shape, QDataMut<'_>),
) {
    let one = Shape::new(&[1]);
    f(
        names[0],
        one,
        QDataMut::F32(core::slice::from_mut(&mut p.scale)),
    );
    f(
        names[1],
        one,
        QDataMut::I8(core::slice::from_mut(&mut p.zero_point)),
    );
}

pub(crate) const INPUT: [&str; 2] = ["input_scale (f32)", "input_zero_point (i8)"];
pub(crate) const OUTPUT: [&str; 2] = ["output_scale (f32)", "output_zero_point (i8)"];

/// Writes `staticnet::quant::QParams::new(scale, zero_point)`.
pub(crate) fn qparams(src: &mut RustSource<'_>, p: QParams) -> fmt::Result {
    src.text("staticnet::quant::QParams::new(")?;
    src.scalar(p.scale)?;
    src.fmt(format_args!(", {})", p.zero_point))
}

/// An int8 ReLU: `max(x, zero_point)` (a real 0 is the zero point). After a
/// `QDense` it changes nothing (the `Dense` absorbed it; see [the
/// module](super)), elsewhere it is the ReLU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QRelu {
    /// The input's (and output's) zero point.
    pub zero_point: i8,
    /// The input's (and output's) scale, for reports.
    pub scale: f32,
}

impl QRelu {
    /// A ReLU for a tensor with these parameters.
    pub const fn new(p: QParams) -> QRelu {
        QRelu {
            zero_point: p.zero_point,
            scale: p.scale,
        }
    }
}

impl<const N: usize> QModule<[i8; N]> for QRelu {
    type Output = [i8; N];
    #[inline]
    fn forward(&self, x: &[i8; N]) -> [i8; N] {
        x.map(|v| v.max(self.zero_point))
    }
}

impl QLayer for QRelu {
    const KIND: &'static str = "QRelu";
    fn tensors(&self, f: &mut dyn FnMut(&'static str, Shape, QData<'_>)) {
        let p = QParams::new(self.scale, self.zero_point);
        qparams_tensors(["scale (f32)", "zero_point (i8)"], &p, f);
    }
    fn tensors_mut(&mut self, f: &mut dyn FnMut(&'static str, Shape, QDataMut<'_>)) {
        let mut p = QParams::new(self.scale, self.zero_point);
        qparams_tensors_mut(["scale (f32)", "zero_point (i8)"], &mut p, f);
        *self = QRelu::new(p);
    }
    fn summary(&self, f: &mut dyn FnMut(&Summary)) {
        let p = QParams::new(self.scale, self.zero_point);
        f(&Summary {
            kind: Self::KIND,
            function: "",
            input: p,
            output: p,
            weight_scales: None,
            bytes: size_of_val(self),
        })
    }
    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::quant::QRelu")
    }
    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::quant::QRelu::new(")?;
        qparams(src, QParams::new(self.scale, self.zero_point))?;
        src.text(")")
    }
}

/// An element-wise function of an int8 tensor as a 256-entry table:
/// `y = table[x + 128]`, each entry `quantize_out(f(dequantize_in(x)))`
/// computed when quantising. Exact for any function of one value (no
/// rounding besides the output's), and 256 bytes of flash.
#[derive(Debug, Clone, PartialEq)]
pub struct QLookup {
    /// `table[x + 128]` is the output for input `x`.
    pub table: [i8; 256],
    /// The function's name, for reports (`"Tanh"`).
    pub function: &'static str,
    /// The input's parameters.
    pub input: QParams,
    /// The output's parameters.
    pub output: QParams,
}

impl QLookup {
    /// A table from its parts.
    pub const fn new(
        function: &'static str,
        table: [i8; 256],
        input: QParams,
        output: QParams,
    ) -> Self {
        QLookup {
            table,
            function,
            input,
            output,
        }
    }

    /// The table of `f` between these parameters.
    pub fn of(
        function: &'static str,
        f: impl Fn(f32) -> f32,
        input: QParams,
        output: QParams,
    ) -> Self {
        let table =
            core::array::from_fn(|k| output.quantize(f(input.dequantize((k as i32 - 128) as i8))));
        QLookup::new(function, table, input, output)
    }
}

impl<const N: usize> QModule<[i8; N]> for QLookup {
    type Output = [i8; N];
    #[inline]
    fn forward(&self, x: &[i8; N]) -> [i8; N] {
        x.map(|v| self.table[(v as i32 + 128) as usize])
    }
}

/// The function's name is not among the tensors (a weights file does not
/// record it; a loaded table keeps its own name).
impl QLayer for QLookup {
    const KIND: &'static str = "QLookup";
    fn tensors(&self, f: &mut dyn FnMut(&'static str, Shape, QData<'_>)) {
        f("table (i8)", Shape::new(&[256]), QData::I8(&self.table));
        qparams_tensors(INPUT, &self.input, f);
        qparams_tensors(OUTPUT, &self.output, f);
    }
    fn tensors_mut(&mut self, f: &mut dyn FnMut(&'static str, Shape, QDataMut<'_>)) {
        f(
            "table (i8)",
            Shape::new(&[256]),
            QDataMut::I8(&mut self.table),
        );
        qparams_tensors_mut(INPUT, &mut self.input, f);
        qparams_tensors_mut(OUTPUT, &mut self.output, f);
    }
    fn summary(&self, f: &mut dyn FnMut(&Summary)) {
        f(&Summary {
            kind: Self::KIND,
            function: self.function,
            input: self.input,
            output: self.output,
            weight_scales: None,
            bytes: size_of_val(self),
        })
    }
    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::quant::QLookup")
    }
    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!(
            "staticnet::quant::QLookup::new({:?}, {:?}, ",
            self.function, self.table
        ))?;
        qparams(src, self.input)?;
        src.text(", ")?;
        qparams(src, self.output)?;
        src.text(")")
    }
}

/// The identity (what `Dropout` is at inference).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QIdentity;

impl<const N: usize> QModule<[i8; N]> for QIdentity {
    type Output = [i8; N];
    #[inline]
    fn forward(&self, x: &[i8; N]) -> [i8; N] {
        *x
    }
}

impl QLayer for QIdentity {
    const KIND: &'static str = "QIdentity";
    fn tensors(&self, _: &mut dyn FnMut(&'static str, Shape, QData<'_>)) {}
    fn tensors_mut(&mut self, _: &mut dyn FnMut(&'static str, Shape, QDataMut<'_>)) {}
    fn summary(&self, _: &mut dyn FnMut(&Summary)) {}
    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::quant::QIdentity")
    }
    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::quant::QIdentity")
    }
}

impl<const N: usize> Quantize<SVector<f32, N>> for Relu {
    type Quantized = QRelu;
    type Stats = RangeStats;
    fn stats() -> RangeStats {
        RangeStats::new()
    }
    fn observe(
        &self,
        x: &SVector<f32, N>,
        stats: &mut RangeStats,
        pass: Pass,
    ) -> (SVector<f32, N>, bool) {
        observed(self.forward(x), stats, pass)
    }
    fn absorbed_range(stats: &RangeStats, calibration: Calibration) -> Option<(f32, f32)> {
        let (_, hi) = stats.range(calibration);
        Some((0.0, hi))
    }
    fn quantize(
        &self,
        _: &RangeStats,
        _: Calibration,
        input: QParams,
        _: Option<(f32, f32)>,
    ) -> Result<(QRelu, QParams), QuantError> {
        Ok((QRelu::new(input), input))
    }
}

impl<const N: usize> Quantize<SVector<f32, N>> for Dropout {
    type Quantized = QIdentity;
    type Stats = ();
    fn stats() {}
    fn observe(&self, x: &SVector<f32, N>, _: &mut (), _: Pass) -> (SVector<f32, N>, bool) {
        (*x, true)
    }
    fn quantize(
        &self,
        _: &(),
        _: Calibration,
        input: QParams,
        _: Option<(f32, f32)>,
    ) -> Result<(QIdentity, QParams), QuantError> {
        Ok((QIdentity, input))
    }
}

/// `Quantize` for element-wise activations as lookup tables: with a fixed
/// output range (TensorFlow Lite's for tanh and the sigmoid), or the
/// calibrated one.
macro_rules! lookup {
    ($($name:ident $(<$t:ty>)? => $output:expr),* $(,)?) => {$(
        impl<const N: usize> Quantize<SVector<f32, N>> for $name $(<$t>)? {
            type Quantized = QLookup;
            type Stats = RangeStats;
            fn stats() -> RangeStats {
                RangeStats::new()
            }
            fn observe(&self, x: &SVector<f32, N>, stats: &mut RangeStats, pass: Pass) -> (SVector<f32, N>, bool) {
                observed(self.forward(x), stats, pass)
            }
            fn quantize(
                &self,
                stats: &RangeStats,
                calibration: Calibration,
                input: QParams,
                _: Option<(f32, f32)>,
            ) -> Result<(QLookup, QParams), QuantError> {
                let fixed: Option<QParams> = $output;
                let output = fixed.unwrap_or_else(|| {
                    let (lo, hi) = stats.range(calibration);
                    QParams::from_range(lo, hi)
                });
                // The layer's own forward pass on each of the 256 inputs:
                // the table holds what the f32 network computes.
                let f = |v: f32| self.forward(&SVector::<f32, 1>::from([v]))[0];
                let table = QLookup::of(stringify!($name), f, input, output);
                Ok((table, output))
            }
        }
    )*};
}

lookup!(
    Tanh => Some(QParams::new(1.0 / 128.0, 0)),
    FastTanh => Some(QParams::new(1.0 / 128.0, 0)),
    Sigmoid => Some(QParams::new(1.0 / 256.0, -128)),
    FastSigmoid => Some(QParams::new(1.0 / 256.0, -128)),
    Identity => None,
    LeakyRelu => None,
    Elu => None,
    Gelu => None,
    Softplus => None,
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The portable computation of every output (what runs where the SIMD
    /// kernel does not).
    fn portable<const I: usize, const O: usize>(l: &QDense<I, O>, x: &[i8; I]) -> [i8; O] {
        core::array::from_fn(|o| {
            let dot = l.weight[o]
                .iter()
                .zip(x)
                .map(|(&w, &v)| w as i32 * v as i32)
                .sum();
            requantize(l.offset[o], l.multiplier_of(o), l.output.zero_point, dot)
        })
    }

    /// A tiny generator (no dependency in unit tests).
    fn next(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    fn extreme<const I: usize, const O: usize>(seed: u64) {
        let mut s = seed;
        let pick = |s: &mut u64, v: &[i64]| v[next(s) as usize % v.len()];
        let ints = [
            i32::MIN as i64,
            i32::MIN as i64 + 1,
            -(1 << 30),
            -5,
            -1,
            0,
            1,
            7,
            1 << 30,
            i32::MAX as i64 - 1,
            i32::MAX as i64,
        ];
        for _ in 0..200 {
            let weight = core::array::from_fn(|_| core::array::from_fn(|_| next(&mut s) as i8));
            let bias = core::array::from_fn(|_| {
                if next(&mut s).is_multiple_of(2) {
                    pick(&mut s, &ints) as i32
                } else {
                    next(&mut s) as i32
                }
            });
            let multiplier = core::array::from_fn(|_| {
                if next(&mut s).is_multiple_of(2) {
                    pick(&mut s, &ints) as i32
                } else {
                    next(&mut s) as i32 | (1 << 30)
                }
            });
            let shift = core::array::from_fn(|_| (next(&mut s) % 90) as i8 - 45);
            let zp = |s: &mut u64| next(s) as i8;
            let l = QDense::<I, O>::new(
                weight,
                bias,
                multiplier,
                shift,
                QParams::new(0.1, zp(&mut s)),
                QParams::new(0.1, zp(&mut s)),
                [1.0; O],
            );
            let x = core::array::from_fn(|_| next(&mut s) as i8);
            let want = portable(&l, &x);
            assert_eq!(l.forward(&x), want, "QDense<{I}, {O}> forward");
            let mut y = [0; O];
            l.forward_into(&x, &mut y);
            assert_eq!(y, want, "QDense<{I}, {O}> forward_into");
        }
    }

    /// Every path (AVX2 on a host that has it, the DSP one on a Cortex-M4)
    /// gives the portable result, also at the extremes: saturating sums,
    /// multipliers of `i32::MIN`, shifts beyond `-31..=30`.
    #[test]
    fn every_path_is_the_portable_one_at_the_extremes() {
        extreme::<1, 1>(1);
        extreme::<3, 9>(2);
        extreme::<16, 8>(3);
        extreme::<17, 7>(4);
        extreme::<33, 17>(5);
        extreme::<64, 32>(6);
    }
}
