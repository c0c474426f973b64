//! `tanh x` in `f32` for the recurrent cells: branch-free, so a loop of it
//! vectorises, and within 1.05 ulp, with its error test.

use super::exp::{expm1_reduced, pow2, reduce};

/// Below this `|x|`, the odd polynomial; from it on, `1 − 2/(e^{2|x|} + 1)`.
const SMALL: f32 = 0.875;

/// `a + a³ P(a²)` for `a ∈ [0, 0.875]`: `P` of degree 6 fitted by Remez to
/// the relative error of `tanh` there (at most 7.4·10⁻¹⁰ in exact
/// arithmetic, 0.02 ulp), from the constant term up.
const P: [f32; 7] = [
    -3.333_332_5e-1,
    1.333_306_6e-1,
    -5.393_717e-2,
    2.169_604_2e-2,
    -8.331_941e-3,
    2.651_010_2e-3,
    -4.824_180_2e-4,
];

/// Beyond this `|x|`, `tanh x` rounds to ±1 in `f32` (it does from
/// 9.010_914 on), and `e^{2|x|}` stays far from overflow.
pub(crate) const CLAMP: f32 = 10.0;

/// `tanh x` in `f32`: within 1.05 ulp of the exact value for every `f32`
/// (measured over all 2³² of them against `libm::tanh` in `f64`: at most
/// 1.049 ulp, at `x = 0.856_880_2`, and 143 inputs beyond 1 ulp; absolute
/// error at most 6.3·10⁻⁸; `libm::tanhf` is within 2.19 ulp), exactly odd
/// (`tanh(−x) = −tanh(x)` bit for bit, so `tanh(±0) = ±0`), `tanh(x) = x`
/// for tiny `x`, monotone (non-decreasing over all `f32`, checked with the
/// error), exactly ±1 from `|x| ≥ 9.010_914` on, as the exact value
/// rounds (infinities included), never beyond ±1, `NaN` for `NaN`.
///
/// On `a = |x|`: below 0.875 the odd polynomial `a + a³ P(a²)` (a minimax
/// fit, no cancellation since `a` dominates); from 0.875 on
/// `1 − 2/(e^{2a} + 1)`, with `e^{2a} + 1 = 2ⁿ (eʳ − 1) + (2ⁿ + 1)` from the
/// reduction and polynomial of [`exp_f32`](super::exp::exp_f32) (the
/// product is exact and `2ⁿ + 1` is, so the sum is rounded once), `a`
/// limited to 10. Both are computed and one is selected, then the sign of
/// `x` is put back: only `f32` arithmetic and bit operations, no branches
/// and no calls, so a loop of it vectorises (about 30 vector operations
/// per 8 elements with AVX2), and it gives the same bits on every
/// platform. `libm::tanhf` branches and calls `expm1f`, and does not
/// vectorise (about 6 ns an element).
#[inline(always)]
pub(crate) fn tanh_f32(x: f32) -> f32 {
    let sign = x.to_bits() & 0x8000_0000;
    let a = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    // Small: Horner's rule in u = a².
    let u = a * a;
    let mut p = P[6];
    for &k in P[..6].iter().rev() {
        p = p * u + k;
    }
    let small = a + (a * u) * p;
    // Large: NaN stays NaN through the limit (a comparison, not `min`).
    let al = if a > CLAMP { CLAMP } else { a };
    let (n, r) = reduce(al + al);
    let s = pow2(n);
    let large = 1.0 - 2.0 / (expm1_reduced(r) * s + (s + 1.0));
    let t = if a < SMALL { small } else { large };
    f32::from_bits(t.to_bits() | sign)
}

#[cfg(test)]
mod tests {
    use super::{CLAMP, SMALL, tanh_f32};
    use crate::math::ulps;

    /// Checks `tanh_f32(x)` and `tanh_f32(−x)` against `libm::tanh` in
    /// `f64`: within 1.05 ulp and 6.3·10⁻⁸, odd bit for bit, within ±1.
    /// Returns the error in ulp.
    fn check(x: f32) -> f64 {
        let (got, exact) = (tanh_f32(x), libm::tanh(f64::from(x)));
        let e = ulps(got, exact);
        assert!(
            e <= 1.05 && (f64::from(got) - exact).abs() <= 6.3e-8,
            "tanh({x:e}) = {got:e}, exact {exact:e} ({e} ulp)"
        );
        assert_eq!(tanh_f32(-x).to_bits(), (-got).to_bits(), "odd at {x:e}");
        assert!(got.abs() <= 1.0);
        e
    }

    #[test]
    fn tanh_f32_is_within_its_documented_error() {
        // Every 211th f32 from 0 to past the saturation (about 5 million;
        // all 2³² were checked once, outside the test suite: at most 1.049
        // ulp, at 0.856_880_2, below the switch of formulas), all the f32
        // within 2¹⁶ of the switch, all within 2¹² of the worst cases of
        // each formula, and past the limit.
        let top = 11.0f32.to_bits();
        let mut worst = 0.0f64;
        for b in (0..=top).step_by(211) {
            worst = worst.max(check(f32::from_bits(b)));
        }
        let near = |x: f32, w: u32| (x.to_bits() - w)..=(x.to_bits() + w);
        for b in near(SMALL, 1 << 16).chain(near(0.856_880_2, 1 << 12)) {
            worst = worst.max(check(f32::from_bits(b)));
        }
        for b in near(0.875_782_6, 1 << 12).chain(near(1.018_632_3, 1 << 12)) {
            worst = worst.max(check(f32::from_bits(b)));
        }
        assert!(worst > 0.9, "the sweep reached hard cases ({worst})");
        for x in [CLAMP, 9.010_914, 20.0, 1e30, f32::MAX, f32::INFINITY] {
            assert_eq!(tanh_f32(x), 1.0, "tanh({x:e})");
            assert_eq!(tanh_f32(-x), -1.0, "tanh({:e})", -x);
        }
        assert_eq!(tanh_f32(9.010_913), 0.999_999_94);
    }

    #[test]
    fn tanh_f32_is_exact_at_zero_and_for_tiny_arguments_and_keeps_nan() {
        assert_eq!(tanh_f32(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        for x in [f32::from_bits(1), 1e-40, f32::MIN_POSITIVE, 1e-20, 1e-5] {
            assert_eq!(tanh_f32(x), x);
            assert_eq!(tanh_f32(-x), -x);
        }
        assert!(tanh_f32(f32::NAN).is_nan());
        assert!(tanh_f32(-f32::NAN).is_nan());
    }
}
