//! Inverted dropout: `y = m ⊙ x / (1 − p)` in training, `y = x` in inference.

use core::fmt;

use crate::module::Mode;
use crate::params::{Layer, RustSource, Setting, TensorInfo};
use crate::{Module, Params, Scalar, Tensor, Train};

/// Inverted dropout with drop probability `p ∈ [0, 1)`:
/// `y = m ⊙ x / (1 − p)` with `mᵢ ~ Bernoulli(1 − p)` in a training step
/// ([`Mode::Training`]), `y = x` in inference.
///
/// Each element is kept with probability `1 − p` and then scaled by
/// `1/(1 − p)`, so that `E[y] = x` and inference needs no rescaling. The
/// tape is the mask times the scale, `m / (1 − p)` (all ones in inference),
/// and the backward pass is `∂L/∂x = m ⊙ dy / (1 − p)`.
///
/// The draws come from the [`Mode::Training`] generator, one `u64` per
/// element of the real samples (the first `samples` columns), in the
/// tensor's storage order (sample by sample, element by element), so the
/// same seed gives the same mask on every platform; an element is kept when
/// `u ≥ p` for `u = (draw >> 11) · 2⁻⁵³`, uniform on `[0, 1)`. Padding
/// columns of a short last batch pass through unchanged. With `p = 0` the
/// layer draws nothing and is the identity in training too.
///
/// It has no parameters and no size of its own: like an activation, it takes
/// any tensor, one sample or a batch, in any scalar type. It describes
/// itself as a `Dropout` layer with the setting `p` (a real).
///
/// ```
/// use nalgebra::SVector;
/// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use staticnet::{Dropout, Mode, Network, Train};
///
/// let dropout = Dropout::new(0.5);
/// let x = SVector::<f32, 4>::from([1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(dropout.predict(&x), x); // inference: the identity
///
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
/// let (y, mask) = dropout.forward_tape(&x, &mut Mode::training(&mut rng, 1));
/// for i in 0..4 {
///     // Each element is dropped (0) or kept and doubled (1 / (1 − 0.5) = 2).
///     assert!(mask[i] == 0.0 || mask[i] == 2.0);
///     assert_eq!(y[i], mask[i] * x[i]);
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropout {
    p: f64,
}

/// A dropout probability outside `[0, 1)` (or NaN), as given to
/// [`Dropout::try_new`].
///
/// ```
/// use staticnet::{Dropout, InvalidDropout};
/// let err = Dropout::try_new(1.0).unwrap_err();
/// assert_eq!(err, InvalidDropout { p: 1.0 });
/// assert_eq!(err.to_string(), "a dropout probability must be in [0, 1), but it is 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InvalidDropout {
    /// The value given.
    pub p: f64,
}

impl fmt::Display for InvalidDropout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a dropout probability must be in [0, 1), but it is {}",
            self.p
        )
    }
}

impl core::error::Error for InvalidDropout {}

impl Dropout {
    /// Dropout with drop probability `p`: each element kept with
    /// probability `1 − p`, then scaled by `1/(1 − p)`.
    ///
    /// # Panics
    ///
    /// If `p` is not in `[0, 1)` (NaN included). It is a `const fn`, so in a
    /// `const` or `static` the panic is a compile error; for a value read at
    /// run time, use [`Dropout::try_new`].
    ///
    /// ```
    /// use staticnet::Dropout;
    /// static DROP: Dropout = Dropout::new(0.25);
    /// assert_eq!(DROP.p(), 0.25);
    /// ```
    pub const fn new(p: f64) -> Self {
        match Dropout::try_new(p) {
            Ok(d) => d,
            Err(_) => panic!("a dropout probability must be in [0, 1)"),
        }
    }

    /// Dropout with drop probability `p`, or an error naming `p` if it is
    /// not in `[0, 1)` (NaN included): `0 ≤ p < 1`.
    ///
    /// ```
    /// use staticnet::Dropout;
    /// assert_eq!(Dropout::try_new(0.1).unwrap().p(), 0.1);
    /// assert!(Dropout::try_new(-0.1).is_err());
    /// assert!(Dropout::try_new(f64::NAN).is_err());
    /// ```
    pub const fn try_new(p: f64) -> Result<Self, InvalidDropout> {
        if p >= 0.0 && p < 1.0 {
            Ok(Dropout { p })
        } else {
            Err(InvalidDropout { p })
        }
    }

    /// The drop probability `p`.
    ///
    /// ```
    /// assert_eq!(staticnet::Dropout::new(0.3).p(), 0.3);
    /// ```
    pub const fn p(&self) -> f64 {
        self.p
    }
}

impl Default for Dropout {
    /// `p = 0.5`, PyTorch's default.
    fn default() -> Self {
        Dropout { p: 0.5 }
    }
}

impl<X: Tensor> Module<X> for Dropout {
    type Output = X;
    /// The identity (inference).
    #[inline]
    fn forward(&self, x: &X) -> X {
        *x
    }
}

impl<X: Tensor> Train<X> for Dropout {
    /// The mask times the scale, `m / (1 − p)`: the diagonal of the Jacobian.
    type Tape = X;
    /// No parameters: nothing to write.
    const SETS_GRAD: bool = true;
    fn forward_tape(&self, x: &X, mode: &mut Mode<'_>) -> (X, X) {
        let one = <X::Scalar as Scalar>::ONE;
        let mut mask = X::zeros();
        let real = match mode {
            Mode::Training { rng, samples } if self.p > 0.0 => {
                let scale = <X::Scalar as Scalar>::of_f64(1.0 / (1.0 - self.p));
                let real = X::ROWS * (*samples).min(X::COLS);
                for m in &mut mask.as_mut_slice()[..real] {
                    let u = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                    *m = if u >= self.p {
                        scale
                    } else {
                        <X::Scalar as Scalar>::ZERO
                    };
                }
                real
            }
            _ => 0,
        };
        mask.as_mut_slice()[real..].fill(one);
        let mut y = *x;
        for (v, &m) in y.as_mut_slice().iter_mut().zip(mask.as_slice()) {
            *v *= m;
        }
        (y, mask)
    }
    #[inline]
    fn backward(&self, mask: &X, dy: &X, _grad: &mut Self) -> X {
        let mut dx = *dy;
        for (g, &m) in dx.as_mut_slice().iter_mut().zip(mask.as_slice()) {
            *g *= m;
        }
        dx
    }
}

// Kind `Dropout`, no tensors, the setting `p`, Rust form
// `staticnet::Dropout::new(p)`.
super::activation::no_params!(Dropout, p);
