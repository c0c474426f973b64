//! [`Portable`]: the kernels as plain loops, for any [`Scalar`]: what `f64`
//! always runs, and what `f32` runs on CPUs without the SIMD kernels (and on
//! `no_std` targets that do not enable them).
//!
//! Each output element is computed in a fixed order that depends only on the
//! shapes: the batch columns never interact, so a batch gives bit for bit
//! what its samples give one by one.

use core::ops::Range;

use super::{Cell, CellBiases, CellWeights, Fast, Kernels, gru_by_parts, lstm_by_parts};
use crate::Scalar;
use crate::math::{self, fast};

/// The plain loops.
pub struct Portable;

/// How many elements of a recurrent cell's sums [`Portable::gates`] keeps
/// in a local array over all the columns: 96 `f32` are 12 AVX2 registers,
/// which leaves room for `x_i` and the products among the 16.
const GATE_BLOCK: usize = 96;

impl<T: Scalar> Kernels<T> for Portable {
    /// `W x + b` for every column of `x`: `out[j] = b + Σ_i W[:, i] x[i, j]`,
    /// the terms added in order of `i` (an axpy per input over a contiguous
    /// column of `W`).
    #[inline]
    fn affine<const O: usize, const I: usize, const B: usize>(
        w: &[[T; O]; I],
        b: &[T; O],
        x: &[[T; I]; B],
    ) -> [[T; O]; B] {
        affine(w, b, x)
    }

    /// `Wᵀ dy`: `out[i, j] = ⟨W[:, i], dy[:, j]⟩`, the terms added in order of
    /// the output index.
    #[inline]
    fn transpose_times<const O: usize, const I: usize, const B: usize>(
        w: &[[T; O]; I],
        dy: &[[T; O]; B],
    ) -> [[T; I]; B] {
        transpose_times(w, dy)
    }

    /// `dW += dy xᵀ` and `db += Σ_j dy[:, j]`, the samples added in order of `j`
    /// (so that a batch adds exactly what its samples add one call at a time).
    #[inline]
    fn accumulate_outer<const O: usize, const I: usize, const B: usize>(
        dw: &mut [[T; O]; I],
        db: &mut [T; O],
        dy: &[[T; O]; B],
        x: &[[T; I]; B],
    ) {
        accumulate_outer(dw, db, dy, x)
    }

    /// `acc += W x + V y` over the gates in `gates`: the elements are
    /// taken [`GATE_BLOCK`] at a time, each block through all the columns
    /// of `W`, then of `V`, in a local array (which stays in registers: an
    /// unrolled multiply and add per element and column) instead of being
    /// loaded and stored once per column; each element's terms in the order
    /// of the columns.
    #[inline]
    fn gates<const N: usize, const M: usize, const G: usize, const H: usize>(
        w: &[[[T; H]; G]; N],
        x: &[T; N],
        v: &[[[T; H]; G]; M],
        y: &[T; M],
        acc: &mut [[T; H]; G],
        gates: Range<usize>,
    ) {
        let (lo, hi) = (gates.start * H, gates.end * H);
        let acc = &mut acc.as_flattened_mut()[lo..hi];
        for (k, block) in acc.chunks_mut(GATE_BLOCK).enumerate() {
            let from = lo + k * GATE_BLOCK;
            let mut r = [T::ZERO; GATE_BLOCK];
            let r = &mut r[..block.len()];
            r.copy_from_slice(block);
            let columns = w.iter().zip(x).chain(v.iter().zip(y));
            for (column, &xi) in columns {
                let wk = &column.as_flattened()[from..from + r.len()];
                for (a, &wv) in r.iter_mut().zip(wk) {
                    *a += wv * xi;
                }
            }
            block.copy_from_slice(r);
        }
    }

    /// One LSTM step: [`lstm_by_parts`] over these loops.
    #[inline]
    fn lstm<const N: usize, const H: usize>(
        w: CellWeights<'_, T, N, 4, H>,
        b: CellBiases<'_, T, 4, H>,
        x: &[T; N],
        state: (&mut [T; H], &mut [T; H]),
        gates: Option<&mut [[T; H]; 4]>,
    ) {
        lstm_by_parts::<T, Self, N, H>(w, b, x, state, gates)
    }

    /// One GRU step: [`gru_by_parts`] over these loops.
    #[inline]
    fn gru<const N: usize, const H: usize>(
        w: CellWeights<'_, T, N, 3, H>,
        b: CellBiases<'_, T, 3, H>,
        x: &[T; N],
        h: &mut [T; H],
        gates: Option<&mut [[T; H]; 3]>,
    ) {
        gru_by_parts::<T, Self, N, H>(w, b, x, h, gates)
    }

    /// `y[k] = f(x[k])`. Out of place, so that every element is stored: in
    /// place, a function that often returns its argument (ReLU) compiles to
    /// masked stores, which are slow on some CPUs.
    #[inline]
    fn map(x: &[T], y: &mut [T], f: impl Fn(T) -> T) {
        assert_eq!(x.len(), y.len(), "map: input and output lengths differ");
        for (v, &u) in y.iter_mut().zip(x) {
            *v = f(u);
        }
    }

    /// `y[k] = f(y[k])`.
    #[inline]
    fn map_in_place(y: &mut [T], f: impl Fn(T) -> T) {
        for v in y.iter_mut() {
            *v = f(*v);
        }
    }

    /// Whether `p[k] − lr · g[k]` is finite for every `k`: a branch-free
    /// pass over the whole slice (no early exit).
    #[inline]
    fn sgd_finite(p: &[T], g: &[T], lr: T) -> bool {
        assert_eq!(p.len(), g.len(), "sgd_finite: lengths differ");
        let mut bad = false;
        for (&p, &g) in p.iter().zip(g) {
            bad |= !(p - lr * g).is_finite();
        }
        !bad
    }

    /// `p[k] −= lr · g[k]`.
    #[inline]
    fn sgd_update(p: &mut [T], g: &[T], lr: T) {
        assert_eq!(p.len(), g.len(), "sgd_update: lengths differ");
        for (p, &g) in p.iter_mut().zip(g) {
            *p -= lr * g;
        }
    }

    /// `(y[k], d[k]) = f(x[k])`.
    #[inline]
    fn map2(x: &[T], y: &mut [T], d: &mut [T], f: impl Fn(T) -> (T, T)) {
        assert!(
            x.len() == y.len() && x.len() == d.len(),
            "map2: input and output lengths differ"
        );
        for ((v, dv), &u) in y.iter_mut().zip(d).zip(x) {
            (*v, *dv) = f(u);
        }
    }

    /// The exact logistic function, bit for bit the crate's
    /// [`Sigmoid`](crate::Sigmoid) (`Scalar::sigmoid`), whose two branches
    /// (`1/(1 + e^(−x))` for `x ≥ 0`, `e^x/(1 + e^x)` below) are both
    /// `n/(1 + e^(−|x|))` with `n = 1` or `e^(−|x|)`: one select instead of
    /// a branch, so the loop vectorises (`f32`'s `eˣ` is branch-free); and
    /// `math::tanh_cell`.
    #[inline]
    fn cell(f: Cell, x: &[T], y: &mut [T]) {
        match f {
            Cell::Sigmoid => Self::map(x, y, |v| {
                let e = math::exp(-v.abs());
                let n = if v >= T::ZERO { T::ONE } else { e };
                n / (T::ONE + e)
            }),
            Cell::Tanh => Self::map(x, y, math::tanh_cell),
        }
    }

    /// The scalar functions of `crate::math::fast`, element by element.
    #[inline]
    fn fast(f: Fast, x: &[T], y: &mut [T]) {
        match f {
            Fast::Tanh => Self::map(x, y, fast::tanh),
            Fast::Sigmoid => Self::map(x, y, fast::sigmoid),
        }
    }

    /// The scalar functions of `crate::math::fast` and their derivatives.
    #[inline]
    fn fast2(f: Fast, x: &[T], y: &mut [T], d: &mut [T]) {
        match f {
            Fast::Tanh => Self::map2(x, y, d, fast::tanh_and_derivative),
            Fast::Sigmoid => Self::map2(x, y, d, fast::sigmoid_and_derivative),
        }
    }
}

// The three dense products' loops, always inlined: the SIMD kernels run
// them for heights below a vector, and inlined there they are compiled
// with the kernels' AVX2 (a call would run them compiled for the target's
// baseline, outside the dispatched pass: the tiny model's last layer).

/// [`Portable::affine`]'s loops.
#[inline(always)]
pub(super) fn affine<T: Scalar, const O: usize, const I: usize, const B: usize>(
    w: &[[T; O]; I],
    b: &[T; O],
    x: &[[T; I]; B],
) -> [[T; O]; B] {
    let mut out = [*b; B];
    for (col, xj) in out.iter_mut().zip(x) {
        for (wi, &xi) in w.iter().zip(xj) {
            for (c, &wv) in col.iter_mut().zip(wi) {
                *c += wv * xi;
            }
        }
    }
    out
}

/// [`Portable::transpose_times`]'s loops.
#[inline(always)]
pub(super) fn transpose_times<T: Scalar, const O: usize, const I: usize, const B: usize>(
    w: &[[T; O]; I],
    dy: &[[T; O]; B],
) -> [[T; I]; B] {
    let mut out = [[T::ZERO; I]; B];
    for (col, dyj) in out.iter_mut().zip(dy) {
        for (c, wi) in col.iter_mut().zip(w) {
            let mut s = T::ZERO;
            for (&wv, &d) in wi.iter().zip(dyj) {
                s += wv * d;
            }
            *c = s;
        }
    }
    out
}

/// [`Portable::accumulate_outer`]'s loops.
#[inline(always)]
pub(super) fn accumulate_outer<T: Scalar, const O: usize, const I: usize, const B: usize>(
    dw: &mut [[T; O]; I],
    db: &mut [T; O],
    dy: &[[T; O]; B],
    x: &[[T; I]; B],
) {
    for (dyj, xj) in dy.iter().zip(x) {
        for (d, &v) in db.iter_mut().zip(dyj) {
            *d += v;
        }
        for (dwi, &xi) in dw.iter_mut().zip(xj) {
            for (d, &v) in dwi.iter_mut().zip(dyj) {
                *d += v * xi;
            }
        }
    }
}
