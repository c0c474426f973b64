//! The int8 form of the scaling layers: [`Standardize`] and [`Rescale`]
//! become a [`QAffine`], a per-feature `y = a·x + c` in integer arithmetic.

use core::fmt;

use nalgebra::SVector;

use super::fixed::Multiplier;
use super::layers::{INPUT, OUTPUT, qparams, qparams_tensors, qparams_tensors_mut, requantize};
use super::{
    Calibration, Pass, QData, QDataMut, QLayer, QModule, QParams, QuantError, Quantize, RangeStats,
    Summary, observed,
};
use crate::params::{RustSource, Shape};
use crate::{Module, Rescale, Standardize};

/// A per-feature affine map of an int8 tensor, `y = a ⊙ x + c` in real
/// terms: the int8 form of [`Standardize`] (`a = 1/σ`, `c = −μ/σ`) and of
/// [`Rescale`] (`a = s`, `c = shift`).
///
/// Feature `k` computes `y = clamp(zp_out + M_k·(±(x − zp_in) + bias_k))`,
/// with `M_k = |a_k|·s_in / s_out` as a fixed-point [`Multiplier`], the sign
/// of `a_k`, and `bias_k = round(c_k / (|a_k|·s_in))` in the accumulator's
/// units (an error of at most half an input step).
#[derive(Debug, Clone, PartialEq)]
pub struct QAffine<const N: usize> {
    bias: [i32; N],
    multiplier: [i32; N],
    shift: [i8; N],
    sign: [i8; N],
    input: QParams,
    output: QParams,
}

impl<const N: usize> QAffine<N> {
    /// The layer from its constants (a `const fn`, for a `static` in flash).
    /// A shift outside −31..=30 is clamped there; a sign other than −1 or 1
    /// is read as its sign (0 as 1).
    pub const fn new(
        bias: [i32; N],
        multiplier: [i32; N],
        mut shift: [i8; N],
        mut sign: [i8; N],
        input: QParams,
        output: QParams,
    ) -> Self {
        let mut k = 0;
        while k < N {
            shift[k] = if shift[k] > 30 {
                30
            } else if shift[k] < -31 {
                -31
            } else {
                shift[k]
            };
            sign[k] = if sign[k] < 0 { -1 } else { 1 };
            k += 1;
        }
        QAffine {
            bias,
            multiplier,
            shift,
            sign,
            input,
            output,
        }
    }

    /// The input's parameters.
    pub const fn input(&self) -> QParams {
        self.input
    }

    /// The output's parameters.
    pub const fn output(&self) -> QParams {
        self.output
    }

    /// Each feature's bias, in the accumulator's units.
    pub const fn bias(&self) -> &[i32; N] {
        &self.bias
    }
}

impl<const N: usize> QModule<[i8; N]> for QAffine<N> {
    type Output = [i8; N];
    #[inline]
    fn forward(&self, x: &[i8; N]) -> [i8; N] {
        core::array::from_fn(|k| {
            let centred = (x[k] as i32 - self.input.zero_point as i32) * self.sign[k] as i32;
            let m = Multiplier {
                m: self.multiplier[k],
                shift: self.shift[k],
            };
            requantize(self.bias[k], m, self.output.zero_point, centred)
        })
    }
}

/// Quantises `y = a ⊙ x + c` for the output range the calibration saw.
fn quantize_affine<const N: usize>(
    layer: &'static str,
    a: impl Fn(usize) -> f32,
    c: impl Fn(usize) -> f32,
    stats: &RangeStats,
    calibration: Calibration,
    input: QParams,
) -> Result<(QAffine<N>, QParams), QuantError> {
    let (lo, hi) = stats.range(calibration);
    let output = QParams::from_range(lo, hi);
    let (mut bias, mut multiplier, mut shift, mut sign) = ([0; N], [0; N], [0; N], [1; N]);
    for k in 0..N {
        let (a, c) = (a(k) as f64, c(k) as f64);
        if !a.is_finite() || !c.is_finite() {
            return Err(QuantError::NonFiniteWeight { layer, channel: k });
        }
        // A zero factor (a constant feature) has no multiplier: the bias
        // would be c / 0.
        let real = a.abs() * input.scale as f64 / output.scale as f64;
        let m =
            Multiplier::from_real(real)
                .filter(|_| real > 0.0)
                .ok_or(QuantError::Multiplier {
                    layer,
                    channel: k,
                    value: real,
                })?;
        let steps = libm::round(c / (a.abs() * input.scale as f64));
        // The accumulator adds at most ±255 to the bias.
        if steps.is_nan() || steps.abs() + 255.0 >= i32::MAX as f64 {
            return Err(QuantError::BiasOverflow {
                layer,
                channel: k,
                steps,
            });
        }
        bias[k] = steps as i32;
        (multiplier[k], shift[k]) = (m.m, m.shift);
        sign[k] = if a < 0.0 { -1 } else { 1 };
    }
    Ok((
        QAffine::new(bias, multiplier, shift, sign, input, output),
        output,
    ))
}

/// `Quantize` for a per-feature scaling layer whose feature `k` is
/// `a·x + c` with `(a, c)` = the given expression.
macro_rules! quantize_affine {
    ($layer:ident, |$s:ident, $k:ident| $ac:expr) => {
        impl<const N: usize> Quantize<SVector<f32, N>> for $layer<N, f32> {
            type Quantized = QAffine<N>;
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
            fn quantize(
                &self,
                stats: &RangeStats,
                calibration: Calibration,
                input: QParams,
                _: Option<(f32, f32)>,
            ) -> Result<(QAffine<N>, QParams), QuantError> {
                let $s = self;
                let ac = |$k: usize| -> (f32, f32) { $ac };
                quantize_affine(
                    stringify!($layer),
                    |k| ac(k).0,
                    |k| ac(k).1,
                    stats,
                    calibration,
                    input,
                )
            }
        }
    };
}

// (x − μ)/σ = (1/σ)·x − μ/σ.
quantize_affine!(Standardize, |s, k| (1.0 / s.std[k], -s.mean[k] / s.std[k]));
quantize_affine!(Rescale, |s, k| (s.scale[k], s.shift[k]));

impl<const N: usize> QLayer for QAffine<N> {
    const KIND: &'static str = "QAffine";
    fn tensors(&self, f: &mut dyn FnMut(&'static str, Shape, QData<'_>)) {
        let n = Shape::new(&[N]);
        f("bias (i32)", n, QData::I32(&self.bias));
        f("multiplier (i32)", n, QData::I32(&self.multiplier));
        f("shift (i8)", n, QData::I8(&self.shift));
        f("sign (i8)", n, QData::I8(&self.sign));
        qparams_tensors(INPUT, &self.input, f);
        qparams_tensors(OUTPUT, &self.output, f);
    }
    fn tensors_mut(&mut self, f: &mut dyn FnMut(&'static str, Shape, QDataMut<'_>)) {
        let n = Shape::new(&[N]);
        f("bias (i32)", n, QDataMut::I32(&mut self.bias));
        f("multiplier (i32)", n, QDataMut::I32(&mut self.multiplier));
        f("shift (i8)", n, QDataMut::I8(&mut self.shift));
        f("sign (i8)", n, QDataMut::I8(&mut self.sign));
        qparams_tensors_mut(INPUT, &mut self.input, f);
        qparams_tensors_mut(OUTPUT, &mut self.output, f);
        // Shifts and signs back in their ranges.
        *self = QAffine::new(
            self.bias,
            self.multiplier,
            self.shift,
            self.sign,
            self.input,
            self.output,
        );
    }
    fn summary(&self, f: &mut dyn FnMut(&Summary)) {
        f(&Summary {
            kind: Self::KIND,
            function: "",
            input: self.input,
            output: self.output,
            weight_scales: None,
            bytes: size_of_val(self),
        })
    }
    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!("staticnet::quant::QAffine<{N}>"))
    }
    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!("staticnet::quant::QAffine::<{N}>::new("))?;
        src.fmt(format_args!(
            "{:?}, {:?}, {:?}, {:?}, ",
            self.bias, self.multiplier, self.shift, self.sign
        ))?;
        qparams(src, self.input)?;
        src.text(", ")?;
        qparams(src, self.output)?;
        src.text(")")
    }
}
