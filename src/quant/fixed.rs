//! Fixed-point arithmetic for requantisation: TensorFlow Lite's rules,
//! integer only.
//!
//! A real multiplier `M > 0` is stored as a 32-bit `m` in `[2³⁰, 2³¹)` and a
//! shift `s`, with `M ≈ m · 2^(s − 31)` ([`Multiplier::from_real`], TFLite's
//! `QuantizeMultiplier`). Applying it to an accumulator ([`Multiplier::apply`],
//! TFLite's `MultiplyByQuantizedMultiplier`) shifts left by `max(s, 0)`,
//! takes the rounded high half of the doubled 64-bit product
//! ([`saturating_rounding_doubling_high_mul`], ties up) and divides by
//! `2^max(−s, 0)` rounding half away from zero ([`rounding_divide_by_pot`]);
//! every step saturates instead of wrapping. These are TensorFlow Lite's
//! reference kernels' two roundings: given the same multipliers, shifts and
//! zero points, int8 results match its, bit for bit.

/// The high 32 bits of `2·a·b` (that is, `a·b / 2³¹`), rounded to nearest
/// with ties up, toward +∞ (gemmlowp's nudge of `2³⁰`, or `1 − 2³⁰` for a
/// negative product, then division toward zero); saturates the one product
/// that overflows (`a = b = i32::MIN`) to `i32::MAX`. gemmlowp's and
/// TensorFlow Lite's `SaturatingRoundingDoublingHighMul`, exactly.
///
/// ```
/// use staticnet::quant::saturating_rounding_doubling_high_mul as srdhm;
/// assert_eq!(srdhm(1 << 30, 1 << 30), 1 << 29); // ½ · ½ = ¼
/// assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX); // (−1)·(−1) saturates
/// assert_eq!(srdhm(3, 1 << 30), 2); // 1.5 rounds to 2
/// assert_eq!(srdhm(-3, 1 << 30), -1); // −1.5 rounds to −1 (ties up)
/// assert_eq!(srdhm(-5, 1 << 29), -1); // −1.25 rounds to −1
/// ```
#[inline(always)]
pub const fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncates toward zero, as C's does: with the nudge, that is
    // rounding to nearest, ties up.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent`, rounded half away from zero (`exponent` in `0..=31`;
/// larger values are taken as 31). TensorFlow Lite's `RoundingDivideByPOT`.
///
/// ```
/// use staticnet::quant::rounding_divide_by_pot as rdbp;
/// assert_eq!(rdbp(5, 1), 3); // 2.5 → 3
/// assert_eq!(rdbp(-5, 1), -3); // −2.5 → −3
/// assert_eq!(rdbp(-6, 2), -2); // −1.5 → −2
/// assert_eq!(rdbp(-5, 2), -1); // −1.25 → −1
/// ```
#[inline(always)]
pub const fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let e = if exponent > 31 { 31 } else { exponent };
    let mask = ((1i64 << e) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> e) + (remainder > threshold) as i32
}

/// A positive real multiplier in fixed point: `M ≈ m · 2^(shift − 31)` with
/// `m` in `[2³⁰, 2³¹)` (or `m = 0` for `M = 0`).
///
/// A layer's requantisation multiplier is `s_in · s_w / s_out`, usually
/// below 1 (a negative `shift`).
///
/// ```
/// use staticnet::quant::Multiplier;
/// let m = Multiplier::from_real(0.75).unwrap();
/// assert_eq!((m.m, m.shift), (3 << 29, 0));
/// assert_eq!(m.apply(100), 75);
/// assert_eq!(m.apply(-2), -1); // −1.5: the high multiply's tie goes up
/// let m = Multiplier::from_real(0.001).unwrap();
/// assert_eq!(m.apply(1_500), 2); // 1.5 → 2
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Multiplier {
    /// The significand, in `[2³⁰, 2³¹)`, or 0.
    pub m: i32,
    /// The power of two: `M = m · 2^(shift − 31)`, `shift` in `-31..=30`.
    pub shift: i8,
}

impl Multiplier {
    /// The fixed-point form of `real`, as TensorFlow Lite's
    /// `QuantizeMultiplier` computes it (the significand rounded half away
    /// from zero; multipliers below `2⁻³²` become 0, those at or above `2³⁰`
    /// saturate). `None` if `real` is negative, NaN or infinite.
    pub fn from_real(real: f64) -> Option<Multiplier> {
        if real.is_nan() || real < 0.0 || real.is_infinite() {
            return None;
        }
        if real == 0.0 {
            return Some(Multiplier { m: 0, shift: 0 });
        }
        let (q, mut shift) = frexp(real);
        let mut q_fixed = libm::round(q * (1u64 << 31) as f64) as i64;
        if q_fixed == 1 << 31 {
            q_fixed /= 2;
            shift += 1;
        }
        if shift < -31 {
            return Some(Multiplier { m: 0, shift: 0 });
        }
        if shift > 30 {
            return Some(Multiplier {
                m: i32::MAX,
                shift: 30,
            });
        }
        Some(Multiplier {
            m: q_fixed as i32,
            shift: shift as i8,
        })
    }

    /// `acc · M`, rounded as TensorFlow Lite rounds
    /// (`MultiplyByQuantizedMultiplier`): a saturating left shift by
    /// `max(shift, 0)`, [`saturating_rounding_doubling_high_mul`] by `m`, then
    /// [`rounding_divide_by_pot`] by `max(−shift, 0)`. A shift outside
    /// `-31..=30` (which [`from_real`](Multiplier::from_real) never makes)
    /// is taken as the nearer end of that range.
    #[inline(always)]
    pub const fn apply(self, acc: i32) -> i32 {
        let shift = if self.shift > 30 {
            30
        } else if self.shift < -31 {
            -31
        } else {
            self.shift
        };
        Multiplier { m: self.m, shift }.apply_in_range(acc)
    }

    /// [`apply`](Multiplier::apply) for a shift known to be in `-31..=30`
    /// (a `QDense` clamps its shifts when it is made).
    #[inline(always)]
    pub(crate) const fn apply_in_range(self, acc: i32) -> i32 {
        debug_assert!(self.shift >= -31 && self.shift <= 30);
        let (left, right) = if self.shift > 0 {
            (self.shift as u32, 0)
        } else {
            (0, (-(self.shift as i32)) as u32)
        };
        let x = acc.saturating_mul(1 << left);
        rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, self.m), right)
    }

    /// The real multiplier this stands for, `m · 2^(shift − 31)`.
    pub fn to_real(self) -> f64 {
        self.m as f64 * libm::exp2(self.shift as f64 - 31.0)
    }
}

/// `x = q · 2^e` with `q` in `[0.5, 1)`, for a finite `x > 0`.
fn frexp(x: f64) -> (f64, i32) {
    let (x, bias) = if x < f64::MIN_POSITIVE {
        (x * libm::exp2(64.0), 64) // a subnormal: make it normal first
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i32 - 1022;
    let q = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (q, e - bias)
}

/// `x` rounded half away from zero, saturated to `[lo, hi]` (NaN gives 0
/// clamped; callers reject NaN before).
#[inline]
pub(crate) fn round_clamp(x: f64, lo: i64, hi: i64) -> i64 {
    let r = libm::round(x);
    if r < lo as f64 {
        lo
    } else if r > hi as f64 {
        hi
    } else {
        r as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_splits() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.75), (0.75, 0));
        assert_eq!(frexp(3.0), (0.75, 2));
        let (q, e) = frexp(f64::from_bits(1)); // the smallest subnormal
        assert_eq!((q, e), (0.5, -1073));
    }
}
