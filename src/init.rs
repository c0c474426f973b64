//! Weight initialisation from any [`rand::Rng`].
//!
//! The same generator state gives the same weights, bit for bit, on every
//! platform: the samplers below use only the generator's `next_u64` and
//! correctly rounded arithmetic, then round once to the scalar type.

use nalgebra::ComplexField;
use rand::Rng;

use crate::Scalar;
use crate::params::Fill;

/// How to draw the initial parameters of a layer with `fan_in` inputs and
/// `fan_out` outputs. Parameter-free layers ignore it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Glorot & Bengio (2010), uniform: `W ~ U(−a, a)`, `a = √(6 / (fan_in + fan_out))`;
    /// bias 0. Suits tanh and sigmoid layers.
    Xavier,
    /// Glorot & Bengio (2010), normal: `W ~ N(0, 2 / (fan_in + fan_out))`; bias 0.
    XavierNormal,
    /// He et al. (2015), uniform: `W ~ U(−a, a)`, `a = √(6 / fan_in)`; bias 0.
    /// Suits ReLU layers.
    He,
    /// He et al. (2015), normal: `W ~ N(0, 2 / fan_in)`; bias 0.
    HeNormal,
    /// PyTorch's default for `nn.Linear`: `W` and `b` both `~ U(−a, a)` with
    /// `a = 1 / √fan_in`.
    PyTorch,
    /// Every parameter 0.
    Zeros,
}

/// A uniform draw from `[0, 1)` with 53 random bits.
#[inline]
pub(crate) fn unit_f64<G: Rng + ?Sized>(rng: &mut G) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box–Muller; one of the pair is discarded so that
/// no state is kept between calls).
fn normal_f64<G: Rng + ?Sized>(rng: &mut G) -> f64 {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    let u = 1.0 - unit_f64(rng);
    let v = unit_f64(rng);
    ComplexField::sqrt(-2.0 * libm::log(u)) * libm::cos(2.0 * core::f64::consts::PI * v)
}

impl Init {
    /// Fills one tensor as its [`Fill`] says under this scheme: what
    /// [`Params::init`](crate::Params::init) does for every tensor of a
    /// network, in order.
    pub fn fill_tensor<T: Scalar, G: Rng + ?Sized>(
        self,
        fill: Fill,
        values: &mut [T],
        rng: &mut G,
    ) {
        match fill {
            Fill::Weight { fan_in, fan_out } => self.fill(values, &mut [], fan_in, fan_out, rng),
            Fill::Bias { fan_in } => {
                if self == Init::PyTorch {
                    let a = 1.0 / ComplexField::sqrt(fan_in.max(1) as f64);
                    values
                        .iter_mut()
                        .for_each(|b| *b = T::of_f64(a * (2.0 * unit_f64(rng) - 1.0)));
                } else {
                    values.fill(T::zero());
                }
            }
            Fill::Zeros => values.fill(T::zero()),
            Fill::Ones => values.fill(T::one()),
        }
    }

    /// Fills a layer's weights and bias according to the scheme.
    pub fn fill<T: Scalar, G: Rng + ?Sized>(
        self,
        weights: &mut [T],
        bias: &mut [T],
        fan_in: usize,
        fan_out: usize,
        rng: &mut G,
    ) {
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        let uniform = |a: f64, rng: &mut G| T::of_f64(a * (2.0 * unit_f64(rng) - 1.0));
        let normal = |s: f64, rng: &mut G| T::of_f64(s * normal_f64(rng));
        match self {
            Init::Xavier => weights
                .iter_mut()
                .for_each(|w| *w = uniform(ComplexField::sqrt(6.0 / (fi + fo)), rng)),
            Init::XavierNormal => weights
                .iter_mut()
                .for_each(|w| *w = normal(ComplexField::sqrt(2.0 / (fi + fo)), rng)),
            Init::He => weights
                .iter_mut()
                .for_each(|w| *w = uniform(ComplexField::sqrt(6.0 / fi), rng)),
            Init::HeNormal => weights
                .iter_mut()
                .for_each(|w| *w = normal(ComplexField::sqrt(2.0 / fi), rng)),
            Init::PyTorch => {
                let a = 1.0 / ComplexField::sqrt(fi);
                weights.iter_mut().for_each(|w| *w = uniform(a, rng));
                bias.iter_mut().for_each(|b| *b = uniform(a, rng));
                return;
            }
            Init::Zeros => weights.fill(T::zero()),
        }
        bias.fill(T::zero());
    }
}
