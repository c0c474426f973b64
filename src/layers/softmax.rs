//! [`Softmax`]: the activation whose Jacobian is full.

use core::fmt;

use super::activation::no_params;
use crate::module::Mode;
use crate::params::{Layer, RustSource, Setting, TensorInfo};
use crate::{Module, Params, Scalar, Tensor, Train, kernels, math};

/// Softmax over each sample (each column): `sₖ = e^(xₖ) / Σⱼ e^(xⱼ)`,
/// computed after subtracting the column's maximum so that it never
/// overflows.
///
/// Its Jacobian is full, `diag(s) − s sᵀ`; the backward pass applies it
/// without forming it, as `dx = s ⊙ (dy − ⟨s, dy⟩)`. Its tape is `s`.
///
/// To train a classifier, prefer ending the network in logits and using
/// [`CrossEntropy`](crate::CrossEntropy), which fuses softmax into the loss
/// and stays finite where a separate softmax would underflow to 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Softmax;

/// Softmax of one column `x` into `s`: `e^(x − max x)` (one vectorised
/// loop), then the normalisation.
pub(crate) fn softmax_into<T: Scalar>(x: &[T], s: &mut [T]) {
    let m = x.iter().fold(T::min_value().unwrap(), |m, &v| m.max(v));
    kernels::map(x, s, |v| math::exp(v - m));
    let sum = s.iter().fold(T::zero(), |a, &v| a + v);
    let inv = T::one() / sum;
    for v in s.iter_mut() {
        *v *= inv;
    }
}

impl<X: Tensor> Module<X> for Softmax {
    type Output = X;
    const PROBABILITY: bool = true;
    #[inline]
    fn forward(&self, x: &X) -> X {
        let mut s = *x;
        if X::ROWS > 0 {
            for (xc, sc) in x
                .as_slice()
                .chunks_exact(X::ROWS)
                .zip(s.as_mut_slice().chunks_exact_mut(X::ROWS))
            {
                softmax_into(xc, sc);
            }
        }
        s
    }
}

impl<X: Tensor> Train<X> for Softmax {
    /// The output `s`.
    type Tape = X;
    /// No parameters: nothing to write.
    const SETS_GRAD: bool = true;
    #[inline]
    fn forward_tape(&self, x: &X, _: &mut Mode<'_>) -> (X, X) {
        let s = self.forward(x);
        (s, s)
    }
    #[inline]
    fn backward(&self, s: &X, dy: &X, _: &mut Self) -> X {
        let mut dx = *dy;
        if X::ROWS > 0 {
            for (g, sc) in dx
                .as_mut_slice()
                .chunks_exact_mut(X::ROWS)
                .zip(s.as_slice().chunks_exact(X::ROWS))
            {
                let dot = g
                    .iter()
                    .zip(sc)
                    .fold(<X::Scalar as Scalar>::ZERO, |a, (&d, &sv)| a + d * sv);
                for (d, &sv) in g.iter_mut().zip(sc) {
                    *d = sv * (*d - dot);
                }
            }
        }
        dx
    }
}

no_params!(Softmax);
