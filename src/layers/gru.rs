//! The gated recurrent unit, PyTorch's `nn.GRU` (one layer, one direction,
//! `batch_first`), and the products of a cell that the recurrent layers
//! share.
//!
//! A recurrent layer stores each of its stacked PyTorch tensors
//! (`weight_ih_l0` of shape `(G·H, I)` for `G` gates) in one array
//! `[[[T; H]; G]; I]`: column `i` of the stacked matrix, gate by gate. That
//! is the matrix column by column, as nalgebra stores a [`Dense`](crate::Dense)
//! weight, so each tensor is one contiguous slice in the layout the weights
//! file, the Rust export and the safetensors import know
//! ([`Layout::ColumnMajor`]), without `G·H` (a sum of const parameters,
//! which stable Rust cannot write) appearing in a type. A step's
//! pre-activations for all gates are one pass over these columns.

use core::fmt;

use nalgebra::SVector;

use super::conv1d::TakesChannels;
use crate::module::Mode;
use crate::params::{Fill, Layer, Layout, RustSource, Shape, TensorInfo};
use crate::sequence::Seq;
use crate::stream::Stream;
use crate::{Module, Params, Scalar, Train, kernels};

/// A sequence has the layer's channel count: `Gru<I, H>` takes `I`
/// channels per step (a sequence with other channels names both sizes in
/// its compile error).
impl<T, const I: usize, const H: usize> TakesChannels<I, I> for Gru<I, H, T> {
    #[inline(always)]
    fn channels<U, const L: usize, const B: usize>(x: &Seq<U, I, L, B>) -> &Seq<U, I, L, B> {
        x
    }
    #[inline(always)]
    fn channels_back<U, const L: usize, const B: usize>(dx: Seq<U, I, L, B>) -> Seq<U, I, L, B> {
        dx
    }
}

/// One step of a stream as the layer sees it: `x` with the layer's channel
/// count (a copy of `C == I` values).
#[inline(always)]
pub(crate) fn step_input<L, T: Copy, const C: usize, const I: usize>(x: &SVector<T, C>) -> [T; I]
where
    L: TakesChannels<C, I>,
{
    L::channels(&Seq {
        data: [[x.data.0[0]]],
    })
    .data[0][0]
}

/// `dW += d xᵀ` for `W` stored as in [`kernels::gates`] (`w[i][g]` is gate
/// `g`'s part of column `i`).
#[inline(always)]
pub(crate) fn accumulate_outer<T: Scalar, const N: usize, const G: usize, const H: usize>(
    dw: &mut [[[T; H]; G]; N],
    d: &[[T; H]; G],
    x: &[T; N],
) {
    for (column, &xi) in dw.iter_mut().zip(x) {
        for (a, &dv) in column.as_flattened_mut().iter_mut().zip(d.as_flattened()) {
            *a += dv * xi;
        }
    }
}

/// `db += d`.
#[inline(always)]
pub(crate) fn accumulate<T: Scalar, const G: usize, const H: usize>(
    db: &mut [[T; H]; G],
    d: &[[T; H]; G],
) {
    for (a, &dv) in db.as_flattened_mut().iter_mut().zip(d.as_flattened()) {
        *a += dv;
    }
}

/// `Wᵀ d` for `W` stored as in [`kernels::gates`]: one dot product per column,
/// summed in eight interleaved partial sums (a fixed order, which
/// vectorises).
#[inline(always)]
pub(crate) fn transpose_times<T: Scalar, const N: usize, const G: usize, const H: usize>(
    w: &[[[T; H]; G]; N],
    d: &[[T; H]; G],
) -> [T; N] {
    let d = d.as_flattened();
    core::array::from_fn(|i| {
        let column = w[i].as_flattened();
        let mut lanes = [T::ZERO; 8];
        let (wc, dc) = (column.chunks_exact(8), d.chunks_exact(8));
        let (wr, dr) = (wc.remainder(), dc.remainder());
        for (wk, dk) in wc.zip(dc) {
            for l in 0..8 {
                lanes[l] += wk[l] * dk[l];
            }
        }
        for (l, (&wv, &dv)) in wr.iter().zip(dr).enumerate() {
            lanes[l] += wv * dv;
        }
        ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
            + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
    })
}

/// `tanh` of every element as the cells compute it
/// ([`kernels::Cell::Tanh`]).
#[inline(always)]
pub(crate) fn tanh<T: Scalar>(x: &[T], y: &mut [T]) {
    kernels::cell(kernels::Cell::Tanh, x, y);
}

/// A gated recurrent unit with `I` input channels and `H` hidden units,
/// PyTorch's `nn.GRU(I, H, batch_first=True)`: for every step `t`, with
/// `h₋₁ = 0`,
///
/// ```text
/// r = σ(W_ir x_t + b_ir + W_hr h + b_hr)
/// z = σ(W_iz x_t + b_iz + W_hz h + b_hz)
/// n = tanh(W_in x_t + b_in + r ⊙ (W_hn h + b_hn))
/// h' = (1 − z) ⊙ n + z ⊙ h
/// ```
///
/// with `h = h_{t−1}`, `h' = h_t`. In `f64`, `σ` and `tanh` are exactly
/// those of [`Sigmoid`](crate::Sigmoid) and [`Tanh`](crate::Tanh). In
/// `f32` the cell's `tanh` is the crate's own branch-free one, within 1.05
/// ulp of the exact value for every input (measured over all of them;
/// `libm::tanhf`, which [`Tanh`](crate::Tanh) uses, is within 2.19 ulp), so
/// that the cell's loops vectorise; `σ` is [`Sigmoid`](crate::Sigmoid)'s
/// formula. On x86-64 CPUs with AVX2 and FMA, the `f32` cell computes both
/// in vector code with fused multiply-adds (`σ` within 2.5 ulp, `tanh`, by
/// one formula instead of two, within 2.5 too, measured;
/// [`Sigmoid`](crate::Sigmoid) itself reaches 2.4), and each element of the
/// products `W x` as a chain of fused multiply-adds: so its results differ
/// from the plain loops' in the last bits, as every kernel of the crate's
/// does (see `crate::kernels`); a step of up to 48 units (24 with AVX2's 16
/// registers alone), in whole vectors of 8, is one vector kernel that keeps
/// every sum in registers from the biases to the new state. The
/// gradients are those of the function computed (`tanh' = 1 − y²` from the
/// computed `y`). `r` and `z` are one sum each, `b_i + b_h + W_i x + W_h
/// h`, as PyTorch's equations write them.
///
/// It maps a batch of sequences [`Seq<T, I, L, B>`](Seq) to the sequence of
/// its hidden states, `Seq<T, H, L, B>` (PyTorch's `output`; the last step
/// is `h_n`). A sequence with another number of channels does not compile
/// ([`TakesChannels`]). It streams ([`Stream`]): one step `SVector<T, I>`
/// at a time with the hidden state `SVector<T, H>` as the state, giving
/// the whole-sequence forward's outputs bit for bit (both run one private
/// cell function).
///
/// **Weights.** Gates in PyTorch's order `r, z, n`; each stacked tensor is
/// one field, stored column by column (see the [module docs](self)):
/// `weight_ih[i][g][k]` is `W_i·[k, i]` for gate `g`, i.e. PyTorch's
/// `weight_ih_l0[g·H + k, i]`. [`from_gates`](Gru::from_gates) takes them
/// gate by gate and row by row instead. Tensors (PyTorch's names and
/// shapes, so a `state_dict` loads unchanged): `weight_ih_l0` `(3H, I)`,
/// `weight_hh_l0` `(3H, H)`, `bias_ih_l0` `(3H)`, `bias_hh_l0` `(3H)`.
/// Under [`Init::PyTorch`](crate::Init::PyTorch) all four are drawn from
/// `U(−1/√H, 1/√H)`, as PyTorch does; the weights' fans are `(H, I)` and
/// `(H, H)` (so Xavier sees each gate's block).
///
/// **Memory.** The layer holds `3H(I + H + 2)` scalars. Its training tape
/// over a batch `Seq<T, I, L, B>` is a [`GruTape`]: the input and, at every
/// step, `h_t`, `r`, `z` and `n`, that is `(I + 4H)·L·B` scalars,
/// `(I + 4H)·L·B·size_of::<T>()` bytes: a GRU of 32 units over 100 steps
/// with one input channel, batch 32, keeps `(1 + 128)·3200·4` = 1,651,200
/// bytes (1.65 MB) in `f32` — more than a default 2 MiB thread stack can
/// spare beside the rest, so keep such a tape in a `static` or a `Box`
/// ([`GruTape::zeros`] is a `const fn`) and fill it with
/// [`Train::forward_tape_into`] (tests/recurrent.rs checks the formula).
/// The backward pass recomputes
/// `W_hn h + b_hn` (bit for bit what the forward pass had) instead of
/// keeping it. Streaming needs `H` scalars of state.
///
/// ```
/// use staticnet::nalgebra::SVector;
/// use staticnet::sequence::Seq;
/// use staticnet::stream::Stream;
/// use staticnet::{Gru, Network};
///
/// // One input, one unit: r = σ(x), z = σ(0) = ½, n = tanh(x + r·h), h' = (n + h)/2.
/// let gru = Gru::<1, 1>::from_gates([[[1.0]], [[0.0]], [[1.0]]], [[[0.0]], [[0.0]], [[1.0]]], [[0.0]; 3], [[0.0]; 3]);
/// let x = Seq::<f32, 1, 2>::from_steps([[0.5], [-1.0]]);
/// let y = gru.predict(&x);
/// assert!((y.data[0][0][0] - 0.5f32.tanh() / 2.0).abs() < 1e-7);
/// // Streaming gives the same bits, step by step.
/// let mut h = gru.start();
/// assert_eq!(gru.step(&mut h, &SVector::from([0.5]))[0], y.data[0][0][0]);
/// assert_eq!(gru.step(&mut h, &SVector::from([-1.0]))[0], y.data[0][1][0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Gru<const I: usize, const H: usize, T = f32> {
    /// `W_ir, W_iz, W_in` stacked (PyTorch's `weight_ih_l0`, `(3H, I)`),
    /// column by column: `weight_ih[i][g][k]` is row `k` of gate `g`,
    /// column `i`.
    pub weight_ih: [[[T; H]; 3]; I],
    /// `W_hr, W_hz, W_hn` stacked (`weight_hh_l0`, `(3H, H)`), column by
    /// column: `weight_hh[j][g][k]` is row `k` of gate `g`, column `j`.
    pub weight_hh: [[[T; H]; 3]; H],
    /// `b_ir, b_iz, b_in` (`bias_ih_l0`, `(3H)`): `bias_ih[g][k]`.
    pub bias_ih: [[T; H]; 3],
    /// `b_hr, b_hz, b_hn` (`bias_hh_l0`, `(3H)`): `bias_hh[g][k]`.
    pub bias_hh: [[T; H]; 3],
}

impl<const I: usize, const H: usize, T> Gru<I, H, T> {
    /// A layer from its four tensors as stored (see the fields: the
    /// stacked weight matrices column by column). A `const fn`, so a
    /// trained network can be a `static`:
    ///
    /// ```
    /// use staticnet::Gru;
    /// // weight_ih[i][g][k], weight_hh[j][g][k], bias_ih[g][k], bias_hh[g][k]
    /// static GRU: Gru<1, 1> = Gru::from_columns(
    ///     [[[0.5], [-0.5], [1.0]]],
    ///     [[[0.25], [0.0], [2.0]]],
    ///     [[0.0], [0.1], [0.2]],
    ///     [[0.3], [0.0], [0.0]],
    /// );
    /// assert_eq!(GRU.weight_ih[0][2][0], 1.0); // W_in
    /// ```
    pub const fn from_columns(
        weight_ih: [[[T; H]; 3]; I],
        weight_hh: [[[T; H]; 3]; H],
        bias_ih: [[T; H]; 3],
        bias_hh: [[T; H]; 3],
    ) -> Self {
        Gru {
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
        }
    }
}

impl<const I: usize, const H: usize, T: Scalar> Gru<I, H, T> {
    /// A layer from its weights gate by gate (`r, z, n`) and row by row, as
    /// in the equations: `weight_ih[g][k][i]` is `W_i·[k, i]` of gate `g`,
    /// PyTorch's `weight_ih_l0.reshape(3, H, I)`; the same for `weight_hh`
    /// (`(3, H, H)`) and the biases (`(3, H)`).
    pub fn from_gates(
        weight_ih: [[[T; I]; H]; 3],
        weight_hh: [[[T; H]; H]; 3],
        bias_ih: [[T; H]; 3],
        bias_hh: [[T; H]; 3],
    ) -> Self {
        Gru {
            weight_ih: core::array::from_fn(|i| {
                core::array::from_fn(|g| core::array::from_fn(|k| weight_ih[g][k][i]))
            }),
            weight_hh: core::array::from_fn(|j| {
                core::array::from_fn(|g| core::array::from_fn(|k| weight_hh[g][k][j]))
            }),
            bias_ih,
            bias_hh,
        }
    }

    /// `W_hn h + b_hn`, the hidden state's part of the candidate gate `n`,
    /// for the backward pass: bit for bit what the forward pass had (each
    /// element's terms in the same order, whatever the range).
    #[inline(always)]
    fn hidden_n(&self, h: &[T; H]) -> [T; H] {
        let mut gh = [[T::ZERO; H]; 3];
        gh[2] = self.bias_hh[2];
        kernels::gates(&self.weight_hh, h, &mut gh, 2..3);
        gh[2]
    }

    /// One step: `h` from `h_{t−1}` to `h_t` for the input `x_t`, writing
    /// `r, z, n` into `gates` if given. The whole-sequence forward pass, the
    /// training pass and the stream all run this, so they agree bit for
    /// bit.
    #[inline(always)]
    fn cell(&self, x: &[T; I], h: &mut [T; H], gates: Option<&mut [[T; H]; 3]>) {
        kernels::gru(
            (&self.weight_ih, &self.weight_hh),
            (&self.bias_ih, &self.bias_hh),
            x,
            h,
            gates,
        );
    }

    /// The backward pass through time over a tape; `dx`, if asked for,
    /// receives `∂L/∂x`.
    fn bptt<const L: usize, const B: usize>(
        &self,
        tape: &GruTape<I, H, L, B, T>,
        dy: &[[[T; H]; L]; B],
        grad: &mut Self,
        mut dx: Option<&mut [[[T; I]; L]; B]>,
    ) {
        for b in 0..B {
            let mut dh_next = [T::ZERO; H];
            for t in (0..L).rev() {
                let h_prev = if t > 0 {
                    tape.h[b][t - 1]
                } else {
                    [T::ZERO; H]
                };
                let [r, z, n] = &tape.gates[b][t];
                // W_hn h + b_hn, as the forward pass had it.
                let ghn = self.hidden_n(&h_prev);
                let (mut di, mut dh) = ([[T::ZERO; H]; 3], [[T::ZERO; H]; 3]);
                let mut dh_prev = [T::ZERO; H];
                for k in 0..H {
                    let d = dy[b][t][k] + dh_next[k];
                    let dn = d * (T::ONE - z[k]);
                    let dz = d * (h_prev[k] - n[k]);
                    dh_prev[k] = d * z[k];
                    let da_n = dn * (T::ONE - n[k] * n[k]);
                    let da_r = da_n * ghn[k] * (r[k] * (T::ONE - r[k]));
                    let da_z = dz * (z[k] * (T::ONE - z[k]));
                    di[0][k] = da_r;
                    di[1][k] = da_z;
                    di[2][k] = da_n;
                    dh[0][k] = da_r;
                    dh[1][k] = da_z;
                    dh[2][k] = da_n * r[k];
                }
                accumulate(&mut grad.bias_ih, &di);
                accumulate(&mut grad.bias_hh, &dh);
                accumulate_outer(&mut grad.weight_ih, &di, &tape.x[b][t]);
                if let Some(dx) = dx.as_deref_mut() {
                    dx[b][t] = transpose_times(&self.weight_ih, &di);
                }
                if t > 0 {
                    accumulate_outer(&mut grad.weight_hh, &dh, &h_prev);
                    let back = transpose_times(&self.weight_hh, &dh);
                    for k in 0..H {
                        dh_next[k] = dh_prev[k] + back[k];
                    }
                }
            }
        }
    }
}

impl<const I: usize, const H: usize, T: Scalar> Default for Gru<I, H, T> {
    /// Every weight and bias zero.
    fn default() -> Self {
        Self::from_columns(
            [[[T::ZERO; H]; 3]; I],
            [[[T::ZERO; H]; 3]; H],
            [[T::ZERO; H]; 3],
            [[T::ZERO; H]; 3],
        )
    }
}

/// What a [`Gru<I, H>`](Gru) keeps from a forward pass over `Seq<T, I, L,
/// B>` for backpropagation through time: the input, and at every step of
/// every sample the hidden state `h_t` and the gates `r, z, n`:
/// `(I + 4H)·L·B` scalars, nothing else (`size_of` is exactly
/// `(I + 4H)·L·B·size_of::<T>()`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GruTape<const I: usize, const H: usize, const L: usize, const B: usize, T> {
    x: [[[T; I]; L]; B],
    h: [[[T; H]; L]; B],
    gates: [[[[T; H]; 3]; L]; B],
}

impl<const I: usize, const H: usize, const L: usize, const B: usize, T: Scalar>
    GruTape<I, H, L, B, T>
{
    /// A tape of zeros (what [`Train::forward_tape_into`] overwrites). A
    /// `const fn`, so that a tape too large for a thread's stack can live
    /// in a `static` (or be built in place in a `Box`) and be filled there:
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use staticnet::sequence::Seq;
    /// use staticnet::{Gru, GruTape, Mode, Params, Train};
    ///
    /// // 32 units, 100 steps, batch 16: a tape of 825,600 bytes, outside the stack.
    /// static TAPE: Mutex<GruTape<1, 32, 100, 16, f32>> = Mutex::new(GruTape::zeros());
    ///
    /// let gru = Gru::<1, 32>::zeros();
    /// let x = Seq::<f32, 1, 100, 16>::zeros();
    /// let mut tape = TAPE.lock().unwrap();
    /// let y = gru.forward_tape_into(&x, &mut Mode::Inference, &mut tape);
    /// let mut grad = Gru::<1, 32>::zeros();
    /// gru.backward_params(&tape, &y, &mut grad);
    /// ```
    pub const fn zeros() -> Self {
        GruTape {
            x: [[[T::ZERO; I]; L]; B],
            h: [[[T::ZERO; H]; L]; B],
            gates: [[[[T::ZERO; H]; 3]; L]; B],
        }
    }

    /// The hidden state `h_t` of sample `b` after step `t`.
    pub fn hidden(&self, b: usize, t: usize) -> &[T; H] {
        &self.h[b][t]
    }

    /// The gates `[r, z, n]` of sample `b` at step `t`.
    pub fn gates(&self, b: usize, t: usize) -> &[[T; H]; 3] {
        &self.gates[b][t]
    }
}

impl<T: Scalar, const I: usize, const H: usize, const C: usize, const L: usize, const B: usize>
    Module<Seq<T, C, L, B>> for Gru<I, H, T>
where
    Gru<I, H, T>: TakesChannels<C, I>,
{
    type Output = Seq<T, H, L, B>;

    #[inline]
    fn forward(&self, x: &Seq<T, C, L, B>) -> Seq<T, H, L, B> {
        kernels::dispatch(
            #[inline(always)]
            || {
                let x = &<Self as TakesChannels<C, I>>::channels(x).data;
                let mut y = Seq::<T, H, L, B>::zeros();
                for (yb, xb) in y.data.iter_mut().zip(x) {
                    let mut h = [T::ZERO; H];
                    for (yt, xt) in yb.iter_mut().zip(xb) {
                        self.cell(xt, &mut h, None);
                        *yt = h;
                    }
                }
                y
            },
        )
    }
}

impl<T: Scalar, const I: usize, const H: usize, const C: usize, const L: usize, const B: usize>
    Train<Seq<T, C, L, B>> for Gru<I, H, T>
where
    Gru<I, H, T>: TakesChannels<C, I>,
{
    type Tape = GruTape<I, H, L, B, T>;

    #[inline]
    fn forward_tape(&self, x: &Seq<T, C, L, B>, mode: &mut Mode<'_>) -> (Self::Output, Self::Tape) {
        let mut tape = GruTape::zeros();
        let y = self.forward_tape_into(x, mode, &mut tape);
        (y, tape)
    }

    #[inline]
    fn forward_tape_into(
        &self,
        x: &Seq<T, C, L, B>,
        _: &mut Mode<'_>,
        tape: &mut Self::Tape,
    ) -> Self::Output {
        kernels::dispatch(
            #[inline(always)]
            || {
                tape.x = <Self as TakesChannels<C, I>>::channels(x).data;
                let mut y = Seq::<T, H, L, B>::zeros();
                for b in 0..B {
                    let mut h = [T::ZERO; H];
                    for t in 0..L {
                        self.cell(&tape.x[b][t], &mut h, Some(&mut tape.gates[b][t]));
                        tape.h[b][t] = h;
                        y.data[b][t] = h;
                    }
                }
                y
            },
        )
    }

    #[inline]
    fn backward(
        &self,
        tape: &Self::Tape,
        dy: &Seq<T, H, L, B>,
        grad: &mut Self,
    ) -> Seq<T, C, L, B> {
        kernels::dispatch(
            #[inline(always)]
            || {
                let mut dx = [[[T::ZERO; I]; L]; B];
                self.bptt(tape, &dy.data, grad, Some(&mut dx));
                <Self as TakesChannels<C, I>>::channels_back(Seq { data: dx })
            },
        )
    }

    #[inline]
    fn backward_params(&self, tape: &Self::Tape, dy: &Seq<T, H, L, B>, grad: &mut Self) {
        kernels::dispatch(
            #[inline(always)]
            || self.bptt(tape, &dy.data, grad, None),
        )
    }
}

/// One step of a stream: `h_t` from `x_t`, the state holding `h_{t−1}`
/// (zeros at the start).
impl<T: Scalar, const I: usize, const H: usize, const C: usize> Stream<SVector<T, C>>
    for Gru<I, H, T>
where
    Gru<I, H, T>: TakesChannels<C, I>,
{
    type State = SVector<T, H>;
    type Output = SVector<T, H>;

    fn start(&self) -> SVector<T, H> {
        SVector::zeros()
    }

    #[inline]
    fn step(&self, state: &mut SVector<T, H>, x: &SVector<T, C>) -> SVector<T, H> {
        kernels::dispatch(
            #[inline(always)]
            || {
                self.cell(&step_input::<Self, T, C, I>(x), &mut state.data.0[0], None);
                *state
            },
        )
    }
}

impl<const I: usize, const H: usize, T> Layer for Gru<I, H, T> {
    const KIND: &'static str = "GRU";
}

/// Tensors `weight_ih_l0` `(3H, I)`, `weight_hh_l0` `(3H, H)`, `bias_ih_l0`
/// `(3H)` and `bias_hh_l0` `(3H)`, all trainable, gates `r, z, n`: PyTorch's
/// names, shapes and order (the weights stored column by column).
impl<T: Scalar, const I: usize, const H: usize> Params<T> for Gru<I, H, T> {
    const NUM_PARAMS: usize = 3 * H * (I + H + 2);

    fn zeros() -> Self {
        Self::default()
    }

    #[inline]
    fn tensors<const R: usize, const W: usize>(
        read: [&Self; R],
        mut write: [&mut Self; W],
        f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
    ) {
        let weight = |name, columns| {
            let fill = Fill::Weight {
                fan_in: H,
                fan_out: columns,
            };
            TensorInfo::trainable(name, Shape::new(&[3 * H, columns]), fill)
                .with_layout(Layout::ColumnMajor)
        };
        let bias =
            |name| TensorInfo::trainable(name, Shape::new(&[3 * H]), Fill::Bias { fan_in: H });
        f(
            weight("weight_ih_l0", I),
            read.map(|l| l.weight_ih.as_flattened().as_flattened()),
            write
                .each_mut()
                .map(|l| l.weight_ih.as_flattened_mut().as_flattened_mut()),
        );
        f(
            weight("weight_hh_l0", H),
            read.map(|l| l.weight_hh.as_flattened().as_flattened()),
            write
                .each_mut()
                .map(|l| l.weight_hh.as_flattened_mut().as_flattened_mut()),
        );
        f(
            bias("bias_ih_l0"),
            read.map(|l| l.bias_ih.as_flattened()),
            write.each_mut().map(|l| l.bias_ih.as_flattened_mut()),
        );
        f(
            bias("bias_hh_l0"),
            read.map(|l| l.bias_hh.as_flattened()),
            write.each_mut().map(|l| l.bias_hh.as_flattened_mut()),
        );
    }

    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!("staticnet::Gru<{I}, {H}, {}>", T::NAME))
    }

    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!(
            "staticnet::Gru::<{I}, {H}, {}>::from_columns(",
            T::NAME
        ))?;
        src.array(self.weight_ih.as_flattened().as_flattened(), &[I, 3, H])?;
        src.text(", ")?;
        src.array(self.weight_hh.as_flattened().as_flattened(), &[H, 3, H])?;
        src.text(", ")?;
        src.array(self.bias_ih.as_flattened(), &[3, H])?;
        src.text(", ")?;
        src.array(self.bias_hh.as_flattened(), &[3, H])?;
        src.text(")")
    }
}
