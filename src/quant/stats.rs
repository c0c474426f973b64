//! Calibration: the range of each tensor over representative data, and the
//! int8 parameters chosen from it.

use core::fmt;

use super::fixed::round_clamp;

/// An int8 tensor's quantisation: `real = scale · (q − zero_point)`.
///
/// ```
/// use staticnet::quant::QParams;
/// let p = QParams::from_range(-1.0, 3.0); // 4 / 255 per step, 0 at q = −64
/// assert_eq!(p.zero_point, -64);
/// assert_eq!(p.quantize(0.0), -64);
/// assert_eq!(p.quantize(100.0), 127); // saturates, never wraps
/// assert!((p.dequantize(p.quantize(1.0)) - 1.0).abs() <= p.scale / 2.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QParams {
    /// The real value of one step.
    pub scale: f32,
    /// The int8 value that stands for a real 0.
    pub zero_point: i8,
}

impl QParams {
    /// Parameters from their values.
    pub const fn new(scale: f32, zero_point: i8) -> QParams {
        QParams { scale, zero_point }
    }

    /// TensorFlow Lite's asymmetric int8 choice for real values in
    /// `[min, max]` (its converter's `GetAsymmetricQuantizationParams`, in
    /// `f32` as there): the range is widened to contain 0 (so that 0 is
    /// exact, as zero padding and ReLU need), split into 255 steps, and the
    /// zero point `−128 − min / scale` rounded to the nearest int8. A range
    /// of a single point (a tensor that was always 0) gets scale 1 where
    /// TensorFlow Lite would keep 0; NaN bounds are taken as 0.
    pub fn from_range(min: f32, max: f32) -> QParams {
        let lo = min.min(0.0);
        let hi = max.max(0.0);
        let scale = (hi - lo) / 255.0;
        if scale.is_nan() || scale <= 0.0 || !scale.is_finite() {
            return QParams::new(1.0, -128);
        }
        let from_min = -128.0 - lo / scale;
        let zero_point = round_clamp(libm::roundf(from_min) as f64, -128, 127) as i8;
        QParams { scale, zero_point }
    }

    /// `round(x / scale) + zero_point`, rounded half away from zero and
    /// saturated to `[-128, 127]` (TensorFlow Lite's `Quantize`); NaN gives
    /// the zero point.
    pub fn quantize(&self, x: f32) -> i8 {
        if x.is_nan() {
            return self.zero_point;
        }
        let zp = self.zero_point as i64;
        (round_clamp((x / self.scale) as f64, -128 - zp, 127 - zp) + zp) as i8
    }

    /// `scale · (q − zero_point)`.
    pub fn dequantize(&self, q: i8) -> f32 {
        self.scale * (q as i32 - self.zero_point as i32) as f32
    }
}

impl fmt::Display for QParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "scale {:.6e}, zero point {}",
            self.scale, self.zero_point
        )
    }
}

/// How the range of each tensor is chosen from the calibration data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Calibration {
    /// The smallest and largest value seen (TensorFlow Lite's default): no
    /// calibration value lies outside the range (beyond half a step, from
    /// rounding the zero point to an integer).
    MinMax,
    /// The `p`-th and `(100 − p)`-th percentiles of each tensor's values
    /// (`p` in `(50, 100]`, e.g. `99.99`): a few outliers saturate so that
    /// the rest get finer steps. Taken from a histogram of
    /// [`RangeStats::BINS`] bins over the observed range, rounded outward to
    /// a bin's edge.
    Percentile(f64),
}

/// The values one tensor took during calibration: its extremes and, for
/// [`Calibration::Percentile`], a histogram over them.
#[derive(Clone, PartialEq)]
pub struct RangeStats {
    min: f32,
    max: f32,
    count: u64,
    hist: [u32; RangeStats::BINS],
}

impl fmt::Debug for RangeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeStats")
            .field("min", &self.min)
            .field("max", &self.max)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// Which of the two calibration passes is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The first: extremes.
    Range,
    /// The second (for percentiles): the histogram over the first pass's
    /// range.
    Histogram,
}

impl Default for RangeStats {
    fn default() -> Self {
        RangeStats::new()
    }
}

impl RangeStats {
    /// The histogram's number of bins.
    pub const BINS: usize = 1024;

    /// Nothing seen yet.
    pub const fn new() -> RangeStats {
        RangeStats {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            count: 0,
            hist: [0; RangeStats::BINS],
        }
    }

    /// Records `values` in the given pass; `false` if one is NaN or infinite
    /// (nothing of this call is recorded then).
    pub fn record(&mut self, values: &[f32], pass: Pass) -> bool {
        if values.iter().any(|v| !v.is_finite()) {
            return false;
        }
        match pass {
            Pass::Range => {
                for &v in values {
                    self.min = self.min.min(v);
                    self.max = self.max.max(v);
                }
                self.count += values.len() as u64;
            }
            Pass::Histogram => {
                let width = self.max as f64 - self.min as f64;
                for &v in values {
                    let k = if width > 0.0 {
                        ((v as f64 - self.min as f64) / width * Self::BINS as f64) as usize
                    } else {
                        0
                    };
                    // (Saturating: beyond 2³² values in one bin the
                    // percentile moves by at most that bin.)
                    let bin = &mut self.hist[k.min(Self::BINS - 1)];
                    *bin = bin.saturating_add(1);
                }
            }
        }
        true
    }

    /// The smallest and largest value seen (`(0, 0)` if none).
    pub fn extremes(&self) -> (f32, f32) {
        if self.count == 0 {
            (0.0, 0.0)
        } else {
            (self.min, self.max)
        }
    }

    /// The range to quantise: the extremes, or the percentiles.
    pub fn range(&self, calibration: Calibration) -> (f32, f32) {
        let (lo, hi) = self.extremes();
        let p = match calibration {
            Calibration::MinMax => return (lo, hi),
            Calibration::Percentile(p) => p,
        };
        let total: u64 = self.hist.iter().map(|&c| c as u64).sum();
        if total == 0 || hi <= lo {
            return (lo, hi);
        }
        let tail = ((100.0 - p) / 100.0 * total as f64) as u64; // truncates: floor, non-negative
        let edge =
            |k: usize| (lo as f64 + (hi as f64 - lo as f64) * k as f64 / Self::BINS as f64) as f32;
        // The lowest bin whose cumulative count passes the lower tail, and
        // the highest from above.
        let (mut below, mut first) = (0u64, 0);
        for (k, &c) in self.hist.iter().enumerate() {
            below += c as u64;
            if below > tail {
                first = k;
                break;
            }
        }
        let (mut above, mut last) = (0u64, Self::BINS - 1);
        for (k, &c) in self.hist.iter().enumerate().rev() {
            above += c as u64;
            if above > tail {
                last = k;
                break;
            }
        }
        (edge(first).max(lo), edge(last + 1).min(hi))
    }
}
