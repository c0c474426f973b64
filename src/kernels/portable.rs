//! The products as plain loops, for any [`Scalar`]: what `f64` always runs,
//! and what `f32` runs on CPUs without the SIMD kernels (and on `no_std`
//! targets that do not enable them).
//!
//! Each output element is computed in a fixed order that depends only on the
//! shapes: the batch columns never interact, so a batch gives bit for bit
//! what its samples give one by one.

use crate::Scalar;

/// `W x + b` for every column of `x`: `out[j] = b + Σ_i W[:, i] x[i, j]`,
/// the terms added in order of `i` (an axpy per input over a contiguous
/// column of `W`).
#[inline]
pub(crate) fn affine<T: Scalar, const O: usize, const I: usize, const B: usize>(
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

/// `Wᵀ dy`: `out[i, j] = ⟨W[:, i], dy[:, j]⟩`, the terms added in order of
/// the output index.
#[inline]
pub(crate) fn transpose_times<T: Scalar, const O: usize, const I: usize, const B: usize>(
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

/// `dW += dy xᵀ` and `db += Σ_j dy[:, j]`, the samples added in order of `j`
/// (so that a batch adds exactly what its samples add one call at a time).
#[inline]
pub(crate) fn accumulate_outer<T: Scalar, const O: usize, const I: usize, const B: usize>(
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

/// `y[k] = f(x[k])`. Out of place, so that every element is stored: in
/// place, a function that often returns its argument (ReLU) compiles to
/// masked stores, which are slow on some CPUs.
///
/// The elements go through `f` eight at a time, the last few padded with a
/// copy of their first element, so that a short slice (the ten logits of a
/// sample, say) runs the same vector code as a long one instead of a scalar
/// remainder loop. `f` is pure, so the padding lanes are computed and
/// dropped; every element gets the same arithmetic wherever it sits.
#[inline]
pub(crate) fn map<T: Copy>(x: &[T], y: &mut [T], f: impl Fn(T) -> T) {
    assert_eq!(x.len(), y.len(), "map: input and output lengths differ");
    let mut xs = x.chunks_exact(LANES);
    let mut ys = y.chunks_exact_mut(LANES);
    for (u, v) in (&mut xs).zip(&mut ys) {
        let u: &[T; LANES] = u.try_into().expect("chunk of LANES");
        let v: &mut [T; LANES] = v.try_into().expect("chunk of LANES");
        for (v, &u) in v.iter_mut().zip(u) {
            *v = f(u);
        }
    }
    let (u, v) = (xs.remainder(), ys.into_remainder());
    if let Some(&first) = u.first() {
        let padded: [T; LANES] = core::array::from_fn(|k| *u.get(k).unwrap_or(&first));
        let mut out = padded;
        for (o, &p) in out.iter_mut().zip(&padded) {
            *o = f(p);
        }
        for (v, &o) in v.iter_mut().zip(&out) {
            *v = o;
        }
    }
}

/// `(y[k], d[k]) = f(x[k])`, eight at a time as [`map`].
#[inline]
pub(crate) fn map2<T: Copy>(x: &[T], y: &mut [T], d: &mut [T], f: impl Fn(T) -> (T, T)) {
    assert!(
        x.len() == y.len() && x.len() == d.len(),
        "map2: input and output lengths differ"
    );
    let mut xs = x.chunks_exact(LANES);
    let mut ys = y.chunks_exact_mut(LANES);
    let mut ds = d.chunks_exact_mut(LANES);
    for ((u, v), dv) in (&mut xs).zip(&mut ys).zip(&mut ds) {
        let u: &[T; LANES] = u.try_into().expect("chunk of LANES");
        for ((v, dv), &u) in v.iter_mut().zip(dv).zip(u) {
            (*v, *dv) = f(u);
        }
    }
    let (u, v, dv) = (xs.remainder(), ys.into_remainder(), ds.into_remainder());
    if let Some(&first) = u.first() {
        let padded: [T; LANES] = core::array::from_fn(|k| *u.get(k).unwrap_or(&first));
        let (mut out, mut dout) = (padded, padded);
        for ((o, d), &p) in out.iter_mut().zip(&mut dout).zip(&padded) {
            (*o, *d) = f(p);
        }
        for ((v, dv), (&o, &d)) in v.iter_mut().zip(dv).zip(out.iter().zip(&dout)) {
            (*v, *dv) = (o, d);
        }
    }
}

/// How many elements [`map`] and [`map2`] pass through `f` at a time: one
/// AVX2 vector of `f32`.
const LANES: usize = 8;
