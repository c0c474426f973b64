//! One-dimensional convolutions over sequences: [`Conv1d`] (every output
//! channel sees every input channel) and [`DepthwiseConv1d`] (each channel
//! its own filter, PyTorch's `groups = channels`), with the padding modes
//! [`Same`], [`Causal`], [`Valid`] and [`Padded`].
//!
//! A convolution is a [`Dense`](crate::Dense) applied to every window of
//! `K` steps (taken `D` steps apart, the dilation), with the same weights:
//!
//! `y[t] = b + Σ_k W_k · x[S·t + D·k − P]`
//!
//! where `S` is the stride, `P` the zeros padded before the first step, and
//! `W_k` the `(C_OUT, C_IN)` matrix of tap `k`. Its backward pass sums each
//! window's contribution: `∂L/∂W_k = Σ_t dy[t] x[S·t + D·k − P]ᵀ`,
//! `∂L/∂b = Σ_t dy[t]`, `∂L/∂x[p] = Σ_{t,k: S·t + D·k − P = p} W_kᵀ dy[t]`.
//!
//! # Lengths as types
//!
//! [`Same`] and [`Causal`] keep the sequence's length `L`, so nothing needs
//! computing: `Conv1d<6, 16, 7>` maps `Seq<T, 6, L>` to `Seq<T, 16, L>` for
//! every `L`. [`Valid`] (no padding, and any stride) shortens it to
//! `(L − D·(K − 1) − 1) / S + 1`, which stable Rust cannot compute in a
//! type; you write it, `Valid<LO>`, and the compiler checks it when it
//! builds the network (`cargo build`, not `cargo check`: a constant
//! evaluated for the sizes in use), with an error that says what the length
//! must be:
//!
//! ```text
//! error[E0080]: evaluation panicked: Valid<LO>: LO must be (L − D·(K − 1) − 1) / S + 1 …
//! note: the above error was encountered while instantiating `…Conv1d<1, 4, 3, Valid<9>> as Module<Seq<f32, 1, 10>>…`
//! ```
//!
//! These fail to build, each with its sentence (the doctests check it):
//!
//! ```compile_fail,E0080
//! use staticnet::sequence::Seq;
//! use staticnet::{Conv1d, Module, Valid};
//! // 10 steps, 3 taps, no padding: 8 outputs, not 9.
//! // error[E0080]: evaluation panicked: Valid<LO>: LO must be (L − D·(K − 1) − 1) / S + 1 …
//! let conv = Conv1d::<1, 4, 3, Valid<9>>::default();
//! let _ = conv.forward(&Seq::<f32, 1, 10>::zeros());
//! ```
//!
//! ```compile_fail,E0080
//! use staticnet::sequence::Seq;
//! use staticnet::{Conv1d, Module, Valid};
//! // A kernel spanning 2·(5 − 1) + 1 = 9 steps over a sequence of 6.
//! // error[E0080]: evaluation panicked: Valid: the sequence is shorter than the kernel's span D·(K − 1) + 1 …
//! let conv = Conv1d::<1, 4, 5, Valid<1, 2>>::default();
//! let _ = conv.forward(&Seq::<f32, 1, 6>::zeros());
//! ```
//!
//! A channel mismatch is an ordinary type error, reported by `cargo check`
//! too, that names both counts (tests/ui/conv_channels_differ.rs):
//!
//! ```text
//! error[E0308]: mismatched types
//!   |     let _ = net.predict(&window);
//!   |                         ^^^^^^^ expected `6`, found `3`
//!   = note: expected reference `&Seq<f32, 6, _, _>`
//!              found reference `&Seq<f32, 3, 100, 1>`
//! ```
//!
//! # Streaming
//!
//! A [`Causal`] convolution only looks back, so it streams
//! ([`Stream`]): its state keeps the last inputs in a ring buffer, and step
//! `t` of a stream is bit for bit step `t` of the whole-sequence forward.

use core::fmt;

use nalgebra::SVector;

use crate::module::Mode;
use crate::params::{Fill, Layer, Layout, RustSource, Setting, Shape, TensorInfo};
use crate::sequence::Seq;
use crate::stream::Stream;
use crate::{Module, Params, Scalar, Tensor, Train};

/// How a convolution pads its input and how far apart its taps are: one of
/// [`Same`], [`Causal`] or [`Valid`]. Sealed: the output length of each
/// mode is part of its type.
pub trait Padding: sealed::Sealed {
    /// The dilation `D`: the steps between two taps.
    const DILATION: usize;
    /// The stride `S`: the steps between two outputs.
    const STRIDE: usize;
    /// The output length written in the type ([`Valid`], [`Padded`]), or
    /// `None` where the output is as long as the input.
    const LENGTH: Option<usize>;
    /// The zeros on each side of a mode whose length is written
    /// ([`Padded`]'s `P`; 0 for the others).
    const PAD: usize = 0;
    /// The mode's name in errors, files and Rust source.
    const NAME: &'static str;
    /// The zeros padded before the first step for a kernel of `k` taps.
    fn left(k: usize) -> usize;
    /// `Seq<T, C, L', B>`, where `L'` is the output length for input length `L`.
    type Output<T: Scalar, const C: usize, const L: usize, const B: usize>: Tensor<Scalar = T>;
}

mod sealed {
    pub trait Sealed {}
    impl<const D: usize> Sealed for super::Same<D> {}
    impl<const D: usize> Sealed for super::Causal<D> {}
    impl<const LO: usize, const D: usize, const S: usize> Sealed for super::Valid<LO, D, S> {}
    impl<const P: usize, const LO: usize, const D: usize, const S: usize> Sealed
        for super::Padded<P, LO, D, S>
    {
    }
}

/// Padding that keeps the length: `D·(K − 1)` zeros in all, half before the
/// first step (rounded down) and the rest after the last (PyTorch's
/// `padding="same"`). Stride 1; dilation `D` (default 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Same<const D: usize = 1>;

/// Padding that keeps the length and looks only back: `D·(K − 1)` zeros
/// before the first step, so `y[t]` depends on `x[..=t]` alone (WaveNet's
/// causal convolution; what streams). Stride 1; dilation `D` (default 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Causal<const D: usize = 1>;

/// No padding: an output for every window that fits, `LO` of them, which
/// must be `(L − D·(K − 1) − 1) / S + 1` for an input of `L` steps
/// (checked when the network is built). Dilation `D` and stride `S`
/// (default 1). PyTorch's `padding=0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Valid<const LO: usize, const D: usize = 1, const S: usize = 1>;

/// `P` zeros on each side, PyTorch's `padding=P` (an integer): `LO`
/// outputs, which must be `(L + 2P − D·(K − 1) − 1) / S + 1` for an input
/// of `L` steps (checked when the network is built). Dilation `D` and
/// stride `S` (default 1). `Padded<1, L>` of a 3-tap kernel is [`Same`];
/// `Padded<0, LO, D, S>` is [`Valid`]`<LO, D, S>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Padded<const P: usize, const LO: usize, const D: usize = 1, const S: usize = 1>;

impl<const D: usize> Padding for Same<D> {
    const DILATION: usize = D;
    const STRIDE: usize = 1;
    const LENGTH: Option<usize> = None;
    const NAME: &'static str = "same";
    fn left(k: usize) -> usize {
        D * (k - 1) / 2
    }
    type Output<T: Scalar, const C: usize, const L: usize, const B: usize> = Seq<T, C, L, B>;
}

impl<const D: usize> Padding for Causal<D> {
    const DILATION: usize = D;
    const STRIDE: usize = 1;
    const LENGTH: Option<usize> = None;
    const NAME: &'static str = "causal";
    fn left(k: usize) -> usize {
        D * (k - 1)
    }
    type Output<T: Scalar, const C: usize, const L: usize, const B: usize> = Seq<T, C, L, B>;
}

impl<const P: usize, const LO: usize, const D: usize, const S: usize> Padding
    for Padded<P, LO, D, S>
{
    const DILATION: usize = D;
    const STRIDE: usize = S;
    const LENGTH: Option<usize> = Some(LO);
    const PAD: usize = P;
    const NAME: &'static str = "padded";
    fn left(_: usize) -> usize {
        P
    }
    type Output<T: Scalar, const C: usize, const L: usize, const B: usize> = Seq<T, C, LO, B>;
}

impl<const LO: usize, const D: usize, const S: usize> Padding for Valid<LO, D, S> {
    const DILATION: usize = D;
    const STRIDE: usize = S;
    const LENGTH: Option<usize> = Some(LO);
    const NAME: &'static str = "valid";
    fn left(_: usize) -> usize {
        0
    }
    type Output<T: Scalar, const C: usize, const L: usize, const B: usize> = Seq<T, C, LO, B>;
}

/// The output length of a convolution (or pooling) with `k` taps on `l`
/// steps, checked: the `const` evaluation behind the compile-time errors.
pub(crate) const fn output_length<P: Padding>(l: usize, k: usize) -> usize {
    assert!(
        P::DILATION >= 1,
        "a dilation of 0 is not a convolution: write D ≥ 1"
    );
    assert!(
        P::STRIDE >= 1,
        "a stride of 0 is not a convolution: write S ≥ 1"
    );
    assert!(k >= 1, "a kernel of 0 taps: write K ≥ 1");
    match P::LENGTH {
        None => l,
        Some(lo) if P::PAD == 0 => {
            let span = P::DILATION * (k - 1) + 1;
            assert!(
                l >= span,
                "Valid: the sequence is shorter than the kernel's span D·(K − 1) + 1: use a shorter or less dilated kernel, or Same/Causal padding"
            );
            assert!(
                lo == (l - span) / P::STRIDE + 1,
                "Valid<LO>: LO must be (L − D·(K − 1) − 1) / S + 1 for an input of L steps, a kernel of K taps, dilation D and stride S"
            );
            lo
        }
        Some(lo) => {
            let span = P::DILATION * (k - 1) + 1;
            let padded = l + 2 * P::PAD;
            assert!(
                padded >= span,
                "Padded: the padded sequence is shorter than the kernel's span D·(K − 1) + 1: pad more or use a shorter kernel"
            );
            assert!(
                lo == (padded - span) / P::STRIDE + 1,
                "Padded<P, LO>: LO must be (L + 2P − D·(K − 1) − 1) / S + 1 for an input of L steps, a kernel of K taps, dilation D and stride S"
            );
            lo
        }
    }
}

pub use crate::shape::TakesChannels;

macro_rules! takes_channels {
    ($C:ident; $($ty:tt)+) => {
        impl<$($ty)+ {
            #[inline(always)]
            fn channels<U, const L: usize, const B: usize>(x: &Seq<U, $C, L, B>) -> &Seq<U, $C, L, B> {
                x
            }
            #[inline(always)]
            fn channels_back<U, const L: usize, const B: usize>(dx: Seq<U, $C, L, B>) -> Seq<U, $C, L, B> {
                dx
            }
        }
    };
}

takes_channels!(CI; const CI: usize, const CO: usize, const K: usize, P, T, const BIAS: bool>
    TakesChannels<CI, CI> for Conv1d<CI, CO, K, P, T, BIAS>);
takes_channels!(C; const C: usize, const K: usize, P, T, const BIAS: bool>
    TakesChannels<C, C> for DepthwiseConv1d<C, K, P, T, BIAS>);

/// A 1-D convolution from `CI` to `CO` channels with `K` taps, PyTorch's
/// `nn.Conv1d(CI, CO, K)`, over a [`Seq`]: `y[t] = b + Σ_k W_k x[S·t + D·k − P]`
/// (see the [module docs](self) for the maths, the lengths and streaming).
///
/// * `P`: [`Same`] (default), [`Causal`], [`Valid`]`<LO>` or
///   [`Padded`]`<P, LO>`; each carries the dilation (and `Valid` and
///   `Padded` the stride).
/// * `BIAS`: `false` for a layer without bias (PyTorch's `bias=False`; the
///   `bias` field stays zero and is neither trained nor saved).
///
/// Tensors: `weight` of shape `(CO, CI, K)` (PyTorch's; stored tap by tap,
/// `weight[k][i][o]`, so the safetensors import transposes) and `bias` of
/// shape `(CO)`. Weight initialisation uses fans `CI·K` and `CO·K`, as
/// PyTorch's.
///
/// **Memory.** Its tape is its input: `CI·L·B` scalars. The streaming state
/// of a causal convolution is `K·D` steps of `CI` channels and two counters.
///
/// ```
/// use staticnet::nalgebra::SVector;
/// use staticnet::sequence::Seq;
/// use staticnet::{Causal, Conv1d, GlobalAvgPool, Network};
///
/// // A moving sum of two steps, looking back only.
/// let conv = Conv1d::<1, 1, 2, Causal>::from_taps([[[1.0]], [[1.0]]], [0.0], Causal);
/// let x = Seq::<f32, 1, 4>::from_channels([[1.0, 2.0, 3.0, 4.0]]);
/// assert_eq!(conv.predict(&x), Seq::from_channels([[1.0, 3.0, 5.0, 7.0]]));
/// // With a global average pool, a sequence classifier's front end:
/// assert_eq!((conv, GlobalAvgPool).predict(&x), SVector::from([4.0]));
/// ```
#[derive(Clone, PartialEq)]
pub struct Conv1d<
    const CI: usize,
    const CO: usize,
    const K: usize,
    P = Same,
    T = f32,
    const BIAS: bool = true,
> {
    /// The taps: `weight[k][i][o]` is PyTorch's `weight[o, i, k]`.
    pub weight: [[[T; CO]; CI]; K],
    /// The bias (zero and unused when `BIAS` is `false`).
    pub bias: [T; CO],
    padding: P,
}

impl<const CI: usize, const CO: usize, const K: usize, P, T: fmt::Debug, const BIAS: bool>
    fmt::Debug for Conv1d<CI, CO, K, P, T, BIAS>
where
    P: Padding,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conv1d")
            .field("padding", &P::NAME)
            .field("dilation", &P::DILATION)
            .field("stride", &P::STRIDE)
            .field("weight", &self.weight)
            .field("bias", &self.bias)
            .finish()
    }
}

impl<const CI: usize, const CO: usize, const K: usize, P: Padding + Copy, T, const BIAS: bool>
    Conv1d<CI, CO, K, P, T, BIAS>
{
    /// A layer from its taps (`taps[k][i][o]` is PyTorch's `weight[o, i, k]`)
    /// and bias. A `const fn`, so a trained network can be a `static`.
    pub const fn from_taps(taps: [[[T; CO]; CI]; K], bias: [T; CO], padding: P) -> Self {
        Conv1d {
            weight: taps,
            bias,
            padding,
        }
    }
}

impl<
    const CI: usize,
    const CO: usize,
    const K: usize,
    P: Padding + Default,
    T: Scalar,
    const BIAS: bool,
> Conv1d<CI, CO, K, P, T, BIAS>
{
    /// A layer from PyTorch's weight written as nested rows,
    /// `weight[o][i][k]`, and its bias.
    pub fn from_torch(weight: [[[T; K]; CI]; CO], bias: [T; CO]) -> Self {
        Conv1d {
            weight: core::array::from_fn(|k| {
                core::array::from_fn(|i| core::array::from_fn(|o| weight[o][i][k]))
            }),
            bias: if BIAS { bias } else { [T::zero(); CO] },
            padding: P::default(),
        }
    }
}

impl<const CI: usize, const CO: usize, const K: usize, P: Default, T: Scalar, const BIAS: bool>
    Default for Conv1d<CI, CO, K, P, T, BIAS>
{
    /// All weights and biases zero.
    fn default() -> Self {
        Conv1d {
            weight: [[[T::zero(); CO]; CI]; K],
            bias: [T::zero(); CO],
            padding: P::default(),
        }
    }
}

/// `y[o] += Σ_i w[i][o] x[i]` for one tap: an axpy per input channel, the
/// inner loop over the contiguous output channels.
#[inline(always)]
fn tap<T: Scalar, const CI: usize, const CO: usize>(
    acc: &mut [T; CO],
    w: &[[T; CO]; CI],
    x: &[T; CI],
) {
    for (wi, &xi) in w.iter().zip(x) {
        for (a, &wv) in acc.iter_mut().zip(wi) {
            *a += wv * xi;
        }
    }
}

/// The input step that tap `k` of output `t` reads, if inside the sequence.
#[inline(always)]
fn source(t: usize, k: usize, left: usize, d: usize, s: usize, l: usize) -> Option<usize> {
    (s * t + d * k).checked_sub(left).filter(|&p| p < l)
}

impl<const CI: usize, const CO: usize, const K: usize, P: Padding, T: Scalar, const BIAS: bool>
    Conv1d<CI, CO, K, P, T, BIAS>
{
    /// The whole-sequence forward pass into `y` (`LO·B·CO` values).
    #[inline(always)]
    fn forward_into<const L: usize, const B: usize>(&self, x: &Seq<T, CI, L, B>, y: &mut [T]) {
        let lo = const { output_length::<P>(L, K) };
        let (left, d, s) = (P::left(K), P::DILATION, P::STRIDE);
        for (xb, yb) in x.data.iter().zip(y.chunks_exact_mut(lo * CO)) {
            for (t, yt) in yb.chunks_exact_mut(CO).enumerate() {
                let mut acc = if BIAS { self.bias } else { [T::zero(); CO] };
                for (k, w) in self.weight.iter().enumerate() {
                    if let Some(p) = source(t, k, left, d, s, L) {
                        tap(&mut acc, w, &xb[p]);
                    }
                }
                yt.copy_from_slice(&acc);
            }
        }
    }

    /// Adds the parameter gradients into `grad` and, if asked, writes `∂L/∂x`.
    #[inline(always)]
    fn backward_into<const L: usize, const B: usize>(
        &self,
        x: &Seq<T, CI, L, B>,
        dy: &[T],
        grad: &mut Self,
        mut dx: Option<&mut Seq<T, CI, L, B>>,
    ) {
        let lo = const { output_length::<P>(L, K) };
        let (left, d, s) = (P::left(K), P::DILATION, P::STRIDE);
        // Each tap transposed, `wt[k][o][i]`, so that `∂L/∂x[p] += W_kᵀ dy[t]`
        // is an axpy over the contiguous input channels (as a dot product
        // over the output channels its sum would have a fixed order, which
        // does not vectorise).
        let wt: Option<[[[T; CI]; CO]; K]> = dx.is_some().then(|| {
            core::array::from_fn(|k| {
                core::array::from_fn(|o| core::array::from_fn(|i| self.weight[k][i][o]))
            })
        });
        for (b, (xb, dyb)) in x.data.iter().zip(dy.chunks_exact(lo * CO)).enumerate() {
            for (t, dyt) in dyb.chunks_exact(CO).enumerate() {
                if BIAS {
                    for (g, &v) in grad.bias.iter_mut().zip(dyt) {
                        *g += v;
                    }
                }
                for (k, gk) in grad.weight.iter_mut().enumerate() {
                    let Some(p) = source(t, k, left, d, s, L) else {
                        continue;
                    };
                    // ∂L/∂W_k += dy[t] x[p]ᵀ, an axpy per input channel.
                    for (gi, &xi) in gk.iter_mut().zip(&xb[p]) {
                        for (g, &v) in gi.iter_mut().zip(dyt) {
                            *g += v * xi;
                        }
                    }
                    if let (Some(dx), Some(wt)) = (dx.as_deref_mut(), &wt) {
                        let dxp = &mut dx.data[b][p];
                        for (wo, &v) in wt[k].iter().zip(dyt) {
                            for (a, &w) in dxp.iter_mut().zip(wo) {
                                *a += w * v;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The [`Module`] and [`Train`] impls of a convolution over sequences, the
/// same for both kinds: the forward pass writes its output through
/// `forward_into`, the tape is the input (with the layer's channel count),
/// and the backward pass is `backward_into`, with or without `∂L/∂x`.
macro_rules! conv_impls {
    ($ty:ty, in $c:ident, out $co:ident, [$($g:tt)*]) => {
        impl<const N: usize, $($g)*, P, T, const L: usize, const B: usize, const BIAS: bool>
            Module<Seq<T, N, L, B>> for $ty
        where
            T: Scalar,
            P: Padding,
            Self: TakesChannels<N, $c>,
        {
            type Output = P::Output<T, $co, L, B>;
            #[inline(always)]
            fn forward(&self, x: &Seq<T, N, L, B>) -> Self::Output {
                let mut y = <Self::Output as Tensor>::zeros();
                self.forward_into(Self::channels(x), y.as_mut_slice());
                y
            }
        }

        impl<const N: usize, $($g)*, P, T, const L: usize, const B: usize, const BIAS: bool>
            Train<Seq<T, N, L, B>> for $ty
        where
            T: Scalar,
            P: Padding,
            Self: TakesChannels<N, $c>,
        {
            /// The input.
            type Tape = Seq<T, $c, L, B>;
            #[inline(always)]
            fn forward_tape(
                &self,
                x: &Seq<T, N, L, B>,
                _: &mut Mode<'_>,
            ) -> (Self::Output, Self::Tape) {
                (self.forward(x), *Self::channels(x))
            }
            #[inline(always)]
            fn forward_tape_into(
                &self,
                x: &Seq<T, N, L, B>,
                _: &mut Mode<'_>,
                tape: &mut Self::Tape,
            ) -> Self::Output {
                *tape = *Self::channels(x);
                self.forward(x)
            }
            #[inline(always)]
            fn backward(
                &self,
                x: &Self::Tape,
                dy: &Self::Output,
                grad: &mut Self,
            ) -> Seq<T, N, L, B> {
                let mut dx = Seq::zeros();
                self.backward_into(x, dy.as_slice(), grad, Some(&mut dx));
                Self::channels_back(dx)
            }
            #[inline(always)]
            fn backward_params(&self, x: &Self::Tape, dy: &Self::Output, grad: &mut Self) {
                self.backward_into(x, dy.as_slice(), grad, None);
            }
        }
    };
}

conv_impls!(Conv1d<CI, CO, K, P, T, BIAS>, in CI, out CO, [const CI: usize, const CO: usize, const K: usize]);

/// The state of a streaming causal convolution: the last `K·D` inputs in a
/// ring buffer (`(K − 1)·D + 1` are read; a type cannot say that length on
/// stable Rust), where the next one goes, and how many steps have been seen.
#[derive(Clone, Copy, PartialEq)]
pub struct ConvState<T, const C: usize, const K: usize, const D: usize> {
    ring: [[[T; C]; D]; K],
    next: usize,
    seen: usize,
}

impl<T: fmt::Debug, const C: usize, const K: usize, const D: usize> fmt::Debug
    for ConvState<T, C, K, D>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConvState")
            .field("steps_seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl<T: Scalar, const C: usize, const K: usize, const D: usize> ConvState<T, C, K, D> {
    /// Before the first step: nothing seen (zero padding).
    pub fn new() -> Self {
        ConvState {
            ring: [[[T::zero(); C]; D]; K],
            next: 0,
            seen: 0,
        }
    }

    /// Stores step `x` as the newest.
    #[inline(always)]
    fn push(&mut self, x: &[T; C]) {
        let slots = K * D;
        let slot = self.next;
        self.ring.as_flattened_mut()[slot] = *x;
        self.next = if slot + 1 == slots { 0 } else { slot + 1 };
        self.seen = self.seen.saturating_add(1);
    }

    /// The input `back` steps before the newest (0: the newest), or `None`
    /// before the sequence's start.
    #[inline(always)]
    fn back(&self, back: usize) -> Option<&[T; C]> {
        if back >= self.seen {
            return None;
        }
        let slots = K * D;
        let last = if self.next == 0 {
            slots - 1
        } else {
            self.next - 1
        };
        let slot = (last + slots - back) % slots;
        Some(&self.ring.as_flattened()[slot])
    }
}

impl<T: Scalar, const C: usize, const K: usize, const D: usize> Default for ConvState<T, C, K, D> {
    fn default() -> Self {
        Self::new()
    }
}

/// A causal convolution streams: one input step in, one output step out.
impl<
    const N: usize,
    const CI: usize,
    const CO: usize,
    const K: usize,
    const D: usize,
    T,
    const BIAS: bool,
> Stream<SVector<T, N>> for Conv1d<CI, CO, K, Causal<D>, T, BIAS>
where
    T: Scalar,
    Self: TakesChannels<N, CI>,
{
    type State = ConvState<T, CI, K, D>;
    type Output = SVector<T, CO>;
    fn start(&self) -> Self::State {
        const { assert!(D >= 1, "a dilation of 0 is not a convolution: write D ≥ 1") };
        ConvState::new()
    }
    #[inline(always)]
    fn step(&self, state: &mut Self::State, x: &SVector<T, N>) -> SVector<T, CO> {
        let x: [T; N] = x.data.0[0];
        let x = Self::channels(&Seq::<T, N, 1>::from_steps([x])).data[0][0];
        state.push(&x);
        // Tap k of output t reads x[t + D·k − D·(K − 1)], D·(K − 1 − k) back.
        let mut acc = if BIAS { self.bias } else { [T::zero(); CO] };
        for (k, w) in self.weight.iter().enumerate() {
            if let Some(xp) = state.back(D * (K - 1 - k)) {
                tap(&mut acc, w, xp);
            }
        }
        SVector::from(acc)
    }
}

impl<const CI: usize, const CO: usize, const K: usize, P, T, const BIAS: bool> Layer
    for Conv1d<CI, CO, K, P, T, BIAS>
{
    const KIND: &'static str = "Conv1d";
}

fn describe_padding<P: Padding>(k: usize, f: &mut impl FnMut(&'static str, Setting)) {
    f("kernel_size", Setting::Size(k));
    f("dilation", Setting::Size(P::DILATION));
    f("stride", Setting::Size(P::STRIDE));
    f("padding_left", Setting::Size(P::left(k)));
    f("causal", Setting::Flag(P::NAME == "causal"));
}

/// The padding's Rust type (`value`: as an expression, with `::<…>`).
fn padding_type<P: Padding>(src: &mut RustSource<'_>, value: bool) -> fmt::Result {
    let colons = if value { "::" } else { "" };
    match P::LENGTH {
        None => src.fmt(format_args!(
            "staticnet::{}{colons}<{}>",
            if P::NAME == "causal" {
                "Causal"
            } else {
                "Same"
            },
            P::DILATION
        )),
        Some(lo) if P::NAME == "padded" => src.fmt(format_args!(
            "staticnet::Padded{colons}<{}, {lo}, {}, {}>",
            P::PAD,
            P::DILATION,
            P::STRIDE
        )),
        Some(lo) => src.fmt(format_args!(
            "staticnet::Valid{colons}<{lo}, {}, {}>",
            P::DILATION,
            P::STRIDE
        )),
    }
}

/// Tensors `weight` `(CO, CI, K)` and `bias` `(CO)` (absent without bias);
/// settings `kernel_size`, `dilation`, `stride`, `padding_left`, `causal`
/// (so a file saved from another configuration is refused).
impl<const CI: usize, const CO: usize, const K: usize, P, T, const BIAS: bool> Params<T>
    for Conv1d<CI, CO, K, P, T, BIAS>
where
    T: Scalar,
    P: Padding + Default + Copy,
{
    const NUM_PARAMS: usize = CO * CI * K + if BIAS { CO } else { 0 };

    fn zeros() -> Self {
        Self::default()
    }

    fn tensors<const R: usize, const W: usize>(
        read: [&Self; R],
        mut write: [&mut Self; W],
        f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
    ) {
        let weight = TensorInfo::trainable(
            "weight",
            Shape::new(&[CO, CI, K]),
            Fill::Weight {
                fan_in: CI * K,
                fan_out: CO * K,
            },
        )
        .with_layout(Layout::ColumnMajor);
        f(
            weight,
            read.map(|l| l.weight.as_flattened().as_flattened()),
            write
                .each_mut()
                .map(|l| l.weight.as_flattened_mut().as_flattened_mut()),
        );
        if BIAS {
            let bias =
                TensorInfo::trainable("bias", Shape::new(&[CO]), Fill::Bias { fan_in: CI * K });
            f(
                bias,
                read.map(|l| &l.bias[..]),
                write.each_mut().map(|l| &mut l.bias[..]),
            );
        }
    }

    fn settings(&self, f: &mut impl FnMut(&'static str, Setting)) {
        describe_padding::<P>(K, f);
        f("groups", Setting::Size(1));
    }

    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!("staticnet::Conv1d<{CI}, {CO}, {K}, "))?;
        padding_type::<P>(src, false)?;
        src.fmt(format_args!(", {}, {BIAS}>", T::NAME))
    }

    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::Conv1d::from_taps(")?;
        src.array(self.weight.as_flattened().as_flattened(), &[K, CI, CO])?;
        src.text(", ")?;
        src.array(&self.bias[..], &[CO])?;
        src.text(", ")?;
        padding_type::<P>(src, true)?;
        src.text(")")
    }
}

/// A depthwise 1-D convolution: each of the `C` channels convolved with its
/// own filter of `K` taps, `y_c[t] = b_c + Σ_k w_c[k] x_c[S·t + D·k − P]`
/// (PyTorch's `nn.Conv1d(C, C, K, groups=C)`). The padding modes, lengths,
/// streaming and bias switch are [`Conv1d`]'s.
///
/// Tensors: `weight` of shape `(C, 1, K)` (stored tap by tap,
/// `weight[k][c]`) and `bias` `(C)`. Its tape is its input (`C·L·B`
/// scalars).
///
/// ```
/// use staticnet::sequence::Seq;
/// use staticnet::{DepthwiseConv1d, Network, Same};
///
/// // Channel 0 doubled, channel 1 its three-step sum.
/// let conv = DepthwiseConv1d::<2, 3, Same>::from_taps(
///     [[0.0, 1.0], [2.0, 1.0], [0.0, 1.0]],
///     [0.0, 0.0],
///     Same,
/// );
/// let x = Seq::<f32, 2, 3>::from_channels([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]);
/// assert_eq!(conv.predict(&x), Seq::from_channels([[2.0, 4.0, 6.0], [2.0, 3.0, 2.0]]));
/// ```
#[derive(Clone, PartialEq)]
pub struct DepthwiseConv1d<
    const C: usize,
    const K: usize,
    P = Same,
    T = f32,
    const BIAS: bool = true,
> {
    /// The taps: `weight[k][c]` is PyTorch's `weight[c, 0, k]`.
    pub weight: [[T; C]; K],
    /// The bias (zero and unused when `BIAS` is `false`).
    pub bias: [T; C],
    padding: P,
}

impl<const C: usize, const K: usize, P: Padding, T: fmt::Debug, const BIAS: bool> fmt::Debug
    for DepthwiseConv1d<C, K, P, T, BIAS>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DepthwiseConv1d")
            .field("padding", &P::NAME)
            .field("dilation", &P::DILATION)
            .field("stride", &P::STRIDE)
            .field("weight", &self.weight)
            .field("bias", &self.bias)
            .finish()
    }
}

impl<const C: usize, const K: usize, P: Padding + Copy, T, const BIAS: bool>
    DepthwiseConv1d<C, K, P, T, BIAS>
{
    /// A layer from its taps (`taps[k][c]` is PyTorch's `weight[c, 0, k]`)
    /// and bias. A `const fn`, so a trained network can be a `static`.
    pub const fn from_taps(taps: [[T; C]; K], bias: [T; C], padding: P) -> Self {
        DepthwiseConv1d {
            weight: taps,
            bias,
            padding,
        }
    }
}

impl<const C: usize, const K: usize, P: Default, T: Scalar, const BIAS: bool> Default
    for DepthwiseConv1d<C, K, P, T, BIAS>
{
    /// All weights and biases zero.
    fn default() -> Self {
        DepthwiseConv1d {
            weight: [[T::zero(); C]; K],
            bias: [T::zero(); C],
            padding: P::default(),
        }
    }
}

impl<const C: usize, const K: usize, P: Padding, T: Scalar, const BIAS: bool>
    DepthwiseConv1d<C, K, P, T, BIAS>
{
    #[inline(always)]
    fn forward_into<const L: usize, const B: usize>(&self, x: &Seq<T, C, L, B>, y: &mut [T]) {
        let lo = const { output_length::<P>(L, K) };
        let (left, d, s) = (P::left(K), P::DILATION, P::STRIDE);
        for (xb, yb) in x.data.iter().zip(y.chunks_exact_mut(lo * C)) {
            for (t, yt) in yb.chunks_exact_mut(C).enumerate() {
                let mut acc = if BIAS { self.bias } else { [T::zero(); C] };
                for (k, w) in self.weight.iter().enumerate() {
                    if let Some(p) = source(t, k, left, d, s, L) {
                        for ((a, &wv), &xv) in acc.iter_mut().zip(w).zip(&xb[p]) {
                            *a += wv * xv;
                        }
                    }
                }
                yt.copy_from_slice(&acc);
            }
        }
    }

    #[inline(always)]
    fn backward_into<const L: usize, const B: usize>(
        &self,
        x: &Seq<T, C, L, B>,
        dy: &[T],
        grad: &mut Self,
        mut dx: Option<&mut Seq<T, C, L, B>>,
    ) {
        let lo = const { output_length::<P>(L, K) };
        let (left, d, s) = (P::left(K), P::DILATION, P::STRIDE);
        for (b, (xb, dyb)) in x.data.iter().zip(dy.chunks_exact(lo * C)).enumerate() {
            for (t, dyt) in dyb.chunks_exact(C).enumerate() {
                if BIAS {
                    for (g, &v) in grad.bias.iter_mut().zip(dyt) {
                        *g += v;
                    }
                }
                for k in 0..K {
                    let Some(p) = source(t, k, left, d, s, L) else {
                        continue;
                    };
                    for ((g, &v), &xv) in grad.weight[k].iter_mut().zip(dyt).zip(&xb[p]) {
                        *g += v * xv;
                    }
                    if let Some(dx) = dx.as_deref_mut() {
                        for ((a, &w), &v) in dx.data[b][p].iter_mut().zip(&self.weight[k]).zip(dyt)
                        {
                            *a += w * v;
                        }
                    }
                }
            }
        }
    }
}

conv_impls!(DepthwiseConv1d<C, K, P, T, BIAS>, in C, out C, [const C: usize, const K: usize]);

/// A causal depthwise convolution streams, as [`Conv1d`] does.
impl<const N: usize, const C: usize, const K: usize, const D: usize, T, const BIAS: bool>
    Stream<SVector<T, N>> for DepthwiseConv1d<C, K, Causal<D>, T, BIAS>
where
    T: Scalar,
    Self: TakesChannels<N, C>,
{
    type State = ConvState<T, C, K, D>;
    type Output = SVector<T, C>;
    fn start(&self) -> Self::State {
        const { assert!(D >= 1, "a dilation of 0 is not a convolution: write D ≥ 1") };
        ConvState::new()
    }
    #[inline(always)]
    fn step(&self, state: &mut Self::State, x: &SVector<T, N>) -> SVector<T, C> {
        let x: [T; N] = x.data.0[0];
        let x = Self::channels(&Seq::<T, N, 1>::from_steps([x])).data[0][0];
        state.push(&x);
        let mut acc = if BIAS { self.bias } else { [T::zero(); C] };
        for (k, w) in self.weight.iter().enumerate() {
            if let Some(xp) = state.back(D * (K - 1 - k)) {
                for ((a, &wv), &xv) in acc.iter_mut().zip(w).zip(xp) {
                    *a += wv * xv;
                }
            }
        }
        SVector::from(acc)
    }
}

impl<const C: usize, const K: usize, P, T, const BIAS: bool> Layer
    for DepthwiseConv1d<C, K, P, T, BIAS>
{
    const KIND: &'static str = "DepthwiseConv1d";
}

/// Tensors `weight` `(C, 1, K)` and `bias` `(C)` (absent without bias);
/// the settings of [`Conv1d`], with `groups = C`.
impl<const C: usize, const K: usize, P, T, const BIAS: bool> Params<T>
    for DepthwiseConv1d<C, K, P, T, BIAS>
where
    T: Scalar,
    P: Padding + Default + Copy,
{
    const NUM_PARAMS: usize = C * K + if BIAS { C } else { 0 };

    fn zeros() -> Self {
        Self::default()
    }

    fn tensors<const R: usize, const W: usize>(
        read: [&Self; R],
        mut write: [&mut Self; W],
        f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
    ) {
        let weight = TensorInfo::trainable(
            "weight",
            Shape::new(&[C, 1, K]),
            Fill::Weight {
                fan_in: K,
                fan_out: K,
            },
        )
        .with_layout(Layout::ColumnMajor);
        f(
            weight,
            read.map(|l| l.weight.as_flattened()),
            write.each_mut().map(|l| l.weight.as_flattened_mut()),
        );
        if BIAS {
            let bias = TensorInfo::trainable("bias", Shape::new(&[C]), Fill::Bias { fan_in: K });
            f(
                bias,
                read.map(|l| &l.bias[..]),
                write.each_mut().map(|l| &mut l.bias[..]),
            );
        }
    }

    fn settings(&self, f: &mut impl FnMut(&'static str, Setting)) {
        describe_padding::<P>(K, f);
        f("groups", Setting::Size(C));
    }

    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!("staticnet::DepthwiseConv1d<{C}, {K}, "))?;
        padding_type::<P>(src, false)?;
        src.fmt(format_args!(", {}, {BIAS}>", T::NAME))
    }

    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.text("staticnet::DepthwiseConv1d::from_taps(")?;
        src.array(self.weight.as_flattened(), &[K, C])?;
        src.text(", ")?;
        src.array(&self.bias[..], &[C])?;
        src.text(", ")?;
        padding_type::<P>(src, true)?;
        src.text(")")
    }
}
