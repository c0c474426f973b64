//! The four products a dense layer spends its time in, over nalgebra's
//! column-major storage. Everything else in the crate calls these, so a tuned
//! kernel replaces one function here and no public signature changes.
//!
//! Shapes: `W: O×I`, `x: I×B` (one sample per column), `dy: O×B`.

use nalgebra::{SMatrix, SVector};

use crate::Scalar;

/// `W x + b`, for every column of `x`.
#[inline]
pub(crate) fn affine<T: Scalar, const O: usize, const I: usize, const B: usize>(
    w: &SMatrix<T, O, I>,
    b: &SVector<T, O>,
    x: &SMatrix<T, I, B>,
) -> SMatrix<T, O, B> {
    let (w, b, x) = (&w.data.0, &b.data.0[0], &x.data.0);
    let mut out = SMatrix::<T, O, B>::zeros();
    for (col, xj) in out.data.0.iter_mut().zip(x) {
        *col = *b;
        // col += Σ_i W[:, i] x[i]: an axpy per input over a contiguous column of W.
        for (wi, &xi) in w.iter().zip(xj) {
            for (c, &wv) in col.iter_mut().zip(wi) {
                *c += wv * xi;
            }
        }
    }
    out
}

/// `Wᵀ dy`: the input gradient.
#[inline]
pub(crate) fn transpose_times<T: Scalar, const O: usize, const I: usize, const B: usize>(
    w: &SMatrix<T, O, I>,
    dy: &SMatrix<T, O, B>,
) -> SMatrix<T, I, B> {
    let (w, dy) = (&w.data.0, &dy.data.0);
    let mut out = SMatrix::<T, I, B>::zeros();
    for (col, dyj) in out.data.0.iter_mut().zip(dy) {
        // dx[i] = ⟨W[:, i], dy⟩: a dot product over a contiguous column of W.
        for (c, wi) in col.iter_mut().zip(w) {
            let mut s = T::zero();
            for (&wv, &d) in wi.iter().zip(dyj) {
                s += wv * d;
            }
            *c = s;
        }
    }
    out
}

/// `dW += dy xᵀ` and `db += Σ_j dy[:, j]`: the parameter gradients.
#[inline]
pub(crate) fn accumulate_outer<T: Scalar, const O: usize, const I: usize, const B: usize>(
    dw: &mut SMatrix<T, O, I>,
    db: &mut SVector<T, O>,
    dy: &SMatrix<T, O, B>,
    x: &SMatrix<T, I, B>,
) {
    let (dw, db, dy, x) = (&mut dw.data.0, &mut db.data.0[0], &dy.data.0, &x.data.0);
    for (dyj, xj) in dy.iter().zip(x) {
        for (d, &v) in db.iter_mut().zip(dyj) {
            *d += v;
        }
        // dW[:, i] += dy[:, j] x[i, j]: an axpy per input.
        for (dwi, &xi) in dw.iter_mut().zip(xj) {
            for (d, &v) in dwi.iter_mut().zip(dyj) {
                *d += v * xi;
            }
        }
    }
}
