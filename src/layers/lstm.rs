//! The long short-term memory, PyTorch's `nn.LSTM` (one layer, one
//! direction, `batch_first`, no projection).

use core::fmt;

use nalgebra::SVector;

use super::conv1d::TakesChannels;
use super::gru::{
    accumulate, accumulate_outer, step_input, tanh, transpose_times,
};
use crate::module::Mode;
use crate::params::{Fill, Layer, Layout, RustSource, Shape, TensorInfo};
use crate::sequence::Seq;
use crate::stream::Stream;
use crate::{Module, Params, Scalar, Train, kernels};

/// A long short-term memory with `I` input channels and `H` hidden units,
/// PyTorch's `nn.LSTM(I, H, batch_first=True)`: for every step `t`, with
/// `h₋₁ = c₋₁ = 0`,
///
/// ```text
/// i = σ(W_ii x_t + b_ii + W_hi h + b_hi)
/// f = σ(W_if x_t + b_if + W_hf h + b_hf)
/// g = tanh(W_ig x_t + b_ig + W_hg h + b_hg)
/// o = σ(W_io x_t + b_io + W_ho h + b_ho)
/// c' = f ⊙ c + i ⊙ g
/// h' = o ⊙ tanh(c')
/// ```
///
/// with `(h, c) = (h_{t−1}, c_{t−1})`, `(h', c') = (h_t, c_t)`, `σ` and
/// `tanh` as in [`Gru`](crate::Gru) (in `f64` exactly those of
/// [`Sigmoid`](crate::Sigmoid) and [`Tanh`](crate::Tanh); in `f32` the
/// crate's vectorising ones; where the CPU has AVX2 and FMA, in vector code
/// with fused multiply-adds, both within 2.5 ulp), each gate one sum `b_i +
/// b_h + W_i x + W_h h`. There a step of up to 48 units (24 with AVX2's 16
/// registers alone), in whole vectors of 8, is one vector kernel that
/// keeps the gates' sums in registers from the biases to the new state.
///
/// It maps a batch of sequences [`Seq<T, I, L, B>`](Seq) to the sequence of
/// its hidden states `h_t`, `Seq<T, H, L, B>` (PyTorch's `output`). A
/// sequence with another number of channels does not compile
/// ([`TakesChannels`]). It streams ([`Stream`]): one step `SVector<T, I>`
/// at a time, the state `(h, c)`, giving the whole-sequence forward's
/// outputs bit for bit (both run one private cell function).
///
/// **Weights.** Gates in PyTorch's order `i, f, g, o`; each stacked tensor
/// is one field, stored column by column (see [`crate::layers::gru`]):
/// `weight_ih[i][g][k]` is PyTorch's `weight_ih_l0[g·H + k, i]`.
/// [`from_gates`](Lstm::from_gates) takes them gate by gate and row by row
/// instead. Tensors (PyTorch's names and shapes, so a `state_dict` loads
/// unchanged): `weight_ih_l0` `(4H, I)`, `weight_hh_l0` `(4H, H)`,
/// `bias_ih_l0` `(4H)`, `bias_hh_l0` `(4H)`. Under
/// [`Init::PyTorch`](crate::Init::PyTorch) all four are drawn from
/// `U(−1/√H, 1/√H)`, as PyTorch does; the weights' fans are `(H, I)` and
/// `(H, H)` (so Xavier sees each gate's block).
///
/// **Memory.** The layer holds `4H(I + H + 2)` scalars. Its training tape
/// over a batch `Seq<T, I, L, B>` is an [`LstmTape`]: the input and, at
/// every step, `c_t` and the gates `i, f, g, o`, that is `(I + 5H)·L·B`
/// scalars, `(I + 5H)·L·B·size_of::<T>()` bytes (an LSTM of 32 units over
/// 100 steps with one input channel, batch 32, keeps
/// `(1 + 160)·3200·4` = 2,060,800 bytes in `f32`; keep such a tape in a
/// `static` or a `Box`, [`LstmTape::zeros`] being a `const fn`, and fill it
/// with [`Train::forward_tape_into`]). The backward pass recomputes `h_{t−1} = o ⊙
/// tanh(c_{t−1})` (bit for bit what the forward pass had) instead of
/// keeping it. Streaming needs `2H` scalars of state.
///
/// ```
/// use staticnet::nalgebra::SVector;
/// use staticnet::sequence::Seq;
/// use staticnet::stream::Stream;
/// use staticnet::{Lstm, Network};
///
/// let mut lstm = Lstm::<1, 2>::default();
/// lstm.weight_ih[0][2] = [1.0, -1.0]; // W_ig: the candidate follows x
/// lstm.bias_ih = [[10.0; 2]; 4]; // every gate σ(10) ≈ 1
/// let x = Seq::<f32, 1, 3>::from_steps([[0.5], [0.25], [-1.0]]);
/// let y = lstm.predict(&x);
/// // Streaming gives the same bits, step by step.
/// let mut state = lstm.start();
/// for t in 0..3 {
///     let h = lstm.step(&mut state, &SVector::from(x.data[0][t]));
///     assert_eq!(h.as_slice(), &y.data[0][t]);
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Lstm<const I: usize, const H: usize, T = f32> {
    /// `W_ii, W_if, W_ig, W_io` stacked (PyTorch's `weight_ih_l0`,
    /// `(4H, I)`), column by column: `weight_ih[i][g][k]` is row `k` of
    /// gate `g`, column `i`.
    pub weight_ih: [[[T; H]; 4]; I],
    /// `W_hi, W_hf, W_hg, W_ho` stacked (`weight_hh_l0`, `(4H, H)`), column
    /// by column: `weight_hh[j][g][k]` is row `k` of gate `g`, column `j`.
    pub weight_hh: [[[T; H]; 4]; H],
    /// `b_ii, b_if, b_ig, b_io` (`bias_ih_l0`, `(4H)`): `bias_ih[g][k]`.
    pub bias_ih: [[T; H]; 4],
    /// `b_hi, b_hf, b_hg, b_ho` (`bias_hh_l0`, `(4H)`): `bias_hh[g][k]`.
    pub bias_hh: [[T; H]; 4],
}

impl<const I: usize, const H: usize, T> Lstm<I, H, T> {
    /// A layer from its four tensors as stored (see the fields: the
    /// stacked weight matrices column by column). A `const fn`, so a
    /// trained network can be a `static`:
    ///
    /// ```
    /// use staticnet::Lstm;
    /// static LSTM: Lstm<1, 1> = Lstm::from_columns(
    ///     [[[0.5], [-0.5], [1.0], [0.25]]],
    ///     [[[0.25], [0.0], [2.0], [0.0]]],
    ///     [[0.0], [1.0], [0.2], [0.0]],
    ///     [[0.3], [0.0], [0.0], [0.0]],
    /// );
    /// assert_eq!(LSTM.weight_ih[0][2][0], 1.0); // W_ig
    /// ```
    pub const fn from_columns(
        weight_ih: [[[T; H]; 4]; I],
        weight_hh: [[[T; H]; 4]; H],
        bias_ih: [[T; H]; 4],
        bias_hh: [[T; H]; 4],
    ) -> Self {
        Lstm {
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
        }
    }
}

impl<const I: usize, const H: usize, T: Scalar> Lstm<I, H, T> {
    /// A layer from its weights gate by gate (`i, f, g, o`) and row by row,
    /// as in the equations: `weight_ih[g][k][i]`, PyTorch's
    /// `weight_ih_l0.reshape(4, H, I)`; the same for `weight_hh`
    /// (`(4, H, H)`) and the biases (`(4, H)`).
    pub fn from_gates(
        weight_ih: [[[T; I]; H]; 4],
        weight_hh: [[[T; H]; H]; 4],
        bias_ih: [[T; H]; 4],
        bias_hh: [[T; H]; 4],
    ) -> Self {
        Lstm {
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

    /// One step: `(h, c)` from `(h_{t−1}, c_{t−1})` to `(h_t, c_t)` for
    /// the input `x_t`, writing `i, f, g, o` into `gates` if given. The
    /// whole-sequence forward pass, the training pass and the stream all
    /// run this, so they agree bit for bit.
    #[inline(always)]
    fn cell(
        &self,
        x: &[T; I],
        state: (&mut [T; H], &mut [T; H]),
        gates: Option<&mut [[T; H]; 4]>,
    ) {
        kernels::lstm(
            (&self.weight_ih, &self.weight_hh),
            (&self.bias_ih, &self.bias_hh),
            x,
            state,
            gates,
        );
    }

    /// The backward pass through time over a tape; `dx`, if asked for,
    /// receives `∂L/∂x`.
    fn bptt<const L: usize, const B: usize>(
        &self,
        tape: &LstmTape<I, H, L, B, T>,
        dy: &[[[T; H]; L]; B],
        grad: &mut Self,
        mut dx: Option<&mut [[[T; I]; L]; B]>,
    ) {
        if L == 0 {
            return;
        }
        for b in 0..B {
            let (mut dh_next, mut dc_next) = ([T::ZERO; H], [T::ZERO; H]);
            // tanh(c_t), carried down from the step after.
            let mut tc = [T::ZERO; H];
            tanh(&tape.c[b][L - 1], &mut tc);
            for t in (0..L).rev() {
                // c_{t−1}, tanh(c_{t−1}) and h_{t−1} = o_{t−1} ⊙ tanh(c_{t−1}),
                // as the forward pass had them.
                let (mut c_prev, mut tc_prev, mut h_prev) =
                    ([T::ZERO; H], [T::ZERO; H], [T::ZERO; H]);
                if t > 0 {
                    c_prev = tape.c[b][t - 1];
                    tanh(&c_prev, &mut tc_prev);
                    let o_prev = &tape.gates[b][t - 1][3];
                    h_prev = core::array::from_fn(|k| o_prev[k] * tc_prev[k]);
                }
                let [i, f, g, o] = &tape.gates[b][t];
                let mut da = [[T::ZERO; H]; 4];
                for k in 0..H {
                    let dh = dy[b][t][k] + dh_next[k];
                    let d_o = dh * tc[k];
                    let dc = dc_next[k] + dh * o[k] * (T::ONE - tc[k] * tc[k]);
                    dc_next[k] = dc * f[k];
                    da[0][k] = dc * g[k] * (i[k] * (T::ONE - i[k]));
                    da[1][k] = dc * c_prev[k] * (f[k] * (T::ONE - f[k]));
                    da[2][k] = dc * i[k] * (T::ONE - g[k] * g[k]);
                    da[3][k] = d_o * (o[k] * (T::ONE - o[k]));
                }
                accumulate(&mut grad.bias_ih, &da);
                accumulate(&mut grad.bias_hh, &da);
                accumulate_outer(&mut grad.weight_ih, &da, &tape.x[b][t]);
                if let Some(dx) = dx.as_deref_mut() {
                    dx[b][t] = transpose_times(&self.weight_ih, &da);
                }
                if t > 0 {
                    accumulate_outer(&mut grad.weight_hh, &da, &h_prev);
                    dh_next = transpose_times(&self.weight_hh, &da);
                }
                tc = tc_prev;
            }
        }
    }
}

impl<const I: usize, const H: usize, T: Scalar> Default for Lstm<I, H, T> {
    /// Every weight and bias zero.
    fn default() -> Self {
        Self::from_columns(
            [[[T::ZERO; H]; 4]; I],
            [[[T::ZERO; H]; 4]; H],
            [[T::ZERO; H]; 4],
            [[T::ZERO; H]; 4],
        )
    }
}

/// What an [`Lstm<I, H>`](Lstm) keeps from a forward pass over `Seq<T, I,
/// L, B>` for backpropagation through time: the input, and at every step
/// of every sample the cell state `c_t` and the gates `i, f, g, o`:
/// `(I + 5H)·L·B` scalars, nothing else (`size_of` is exactly
/// `(I + 5H)·L·B·size_of::<T>()`). The hidden states are recomputed from
/// them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LstmTape<const I: usize, const H: usize, const L: usize, const B: usize, T> {
    x: [[[T; I]; L]; B],
    c: [[[T; H]; L]; B],
    gates: [[[[T; H]; 4]; L]; B],
}

impl<const I: usize, const H: usize, const L: usize, const B: usize, T: Scalar>
    LstmTape<I, H, L, B, T>
{
    /// A tape of zeros (what [`Train::forward_tape_into`] overwrites). A
    /// `const fn`, so that a tape too large for a thread's stack can live
    /// in a `static` (or be built in place in a `Box`) and be filled there:
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use staticnet::sequence::Seq;
    /// use staticnet::{Lstm, LstmTape, Mode, Params, Train};
    ///
    /// // 32 units, 100 steps, batch 16: a tape of 1,030,400 bytes, outside the stack.
    /// static TAPE: Mutex<LstmTape<1, 32, 100, 16, f32>> = Mutex::new(LstmTape::zeros());
    ///
    /// let lstm = Lstm::<1, 32>::zeros();
    /// let x = Seq::<f32, 1, 100, 16>::zeros();
    /// let mut tape = TAPE.lock().unwrap();
    /// let y = lstm.forward_tape_into(&x, &mut Mode::Inference, &mut tape);
    /// let mut grad = Lstm::<1, 32>::zeros();
    /// lstm.backward_params(&tape, &y, &mut grad);
    /// ```
    pub const fn zeros() -> Self {
        LstmTape {
            x: [[[T::ZERO; I]; L]; B],
            c: [[[T::ZERO; H]; L]; B],
            gates: [[[[T::ZERO; H]; 4]; L]; B],
        }
    }

    /// The cell state `c_t` of sample `b` after step `t`.
    pub fn cell_state(&self, b: usize, t: usize) -> &[T; H] {
        &self.c[b][t]
    }

    /// The gates `[i, f, g, o]` of sample `b` at step `t`.
    pub fn gates(&self, b: usize, t: usize) -> &[[T; H]; 4] {
        &self.gates[b][t]
    }
}

/// A sequence has the layer's channel count: `Lstm<I, H>` takes `I`
/// channels per step (a sequence with other channels names both sizes in
/// its compile error).
impl<T, const I: usize, const H: usize> TakesChannels<I, I> for Lstm<I, H, T> {
    #[inline(always)]
    fn channels<U, const L: usize, const B: usize>(x: &Seq<U, I, L, B>) -> &Seq<U, I, L, B> {
        x
    }
    #[inline(always)]
    fn channels_back<U, const L: usize, const B: usize>(dx: Seq<U, I, L, B>) -> Seq<U, I, L, B> {
        dx
    }
}

impl<T: Scalar, const I: usize, const H: usize, const C: usize, const L: usize, const B: usize>
    Module<Seq<T, C, L, B>> for Lstm<I, H, T>
where
    Lstm<I, H, T>: TakesChannels<C, I>,
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
                    let (mut h, mut c) = ([T::ZERO; H], [T::ZERO; H]);
                    for (yt, xt) in yb.iter_mut().zip(xb) {
                        self.cell(xt, (&mut h, &mut c), None);
                        *yt = h;
                    }
                }
                y
            },
        )
    }
}

impl<T: Scalar, const I: usize, const H: usize, const C: usize, const L: usize, const B: usize>
    Train<Seq<T, C, L, B>> for Lstm<I, H, T>
where
    Lstm<I, H, T>: TakesChannels<C, I>,
{
    type Tape = LstmTape<I, H, L, B, T>;

    #[inline]
    fn forward_tape(&self, x: &Seq<T, C, L, B>, mode: &mut Mode<'_>) -> (Self::Output, Self::Tape) {
        let mut tape = LstmTape::zeros();
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
                    let (mut h, mut c) = ([T::ZERO; H], [T::ZERO; H]);
                    for t in 0..L {
                        self.cell(&tape.x[b][t], (&mut h, &mut c), Some(&mut tape.gates[b][t]));
                        tape.c[b][t] = c;
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

/// One step of a stream: `h_t` from `x_t`, the state holding
/// `(h_{t−1}, c_{t−1})` (zeros at the start).
impl<T: Scalar, const I: usize, const H: usize, const C: usize> Stream<SVector<T, C>>
    for Lstm<I, H, T>
where
    Lstm<I, H, T>: TakesChannels<C, I>,
{
    type State = (SVector<T, H>, SVector<T, H>);
    type Output = SVector<T, H>;

    fn start(&self) -> Self::State {
        (SVector::zeros(), SVector::zeros())
    }

    #[inline]
    fn step(&self, state: &mut Self::State, x: &SVector<T, C>) -> SVector<T, H> {
        kernels::dispatch(
            #[inline(always)]
            || {
                let x = &step_input::<Self, T, C, I>(x);
                let [h, c] = [&mut state.0, &mut state.1].map(|v| &mut v.data.0[0]);
                self.cell(x, (h, c), None);
                state.0
            },
        )
    }
}

impl<const I: usize, const H: usize, T> Layer for Lstm<I, H, T> {
    const KIND: &'static str = "LSTM";
}

/// Tensors `weight_ih_l0` `(4H, I)`, `weight_hh_l0` `(4H, H)`, `bias_ih_l0`
/// `(4H)` and `bias_hh_l0` `(4H)`, all trainable, gates `i, f, g, o`:
/// PyTorch's names, shapes and order (the weights stored column by column).
impl<T: Scalar, const I: usize, const H: usize> Params<T> for Lstm<I, H, T> {
    const NUM_PARAMS: usize = 4 * H * (I + H + 2);

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
            TensorInfo::trainable(name, Shape::new(&[4 * H, columns]), fill)
                .with_layout(Layout::ColumnMajor)
        };
        let bias =
            |name| TensorInfo::trainable(name, Shape::new(&[4 * H]), Fill::Bias { fan_in: H });
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
        src.fmt(format_args!("staticnet::Lstm<{I}, {H}, {}>", T::NAME))
    }

    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!(
            "staticnet::Lstm::<{I}, {H}, {}>::from_columns(",
            T::NAME
        ))?;
        src.array(self.weight_ih.as_flattened().as_flattened(), &[I, 4, H])?;
        src.text(", ")?;
        src.array(self.weight_hh.as_flattened().as_flattened(), &[H, 4, H])?;
        src.text(", ")?;
        src.array(self.bias_ih.as_flattened(), &[4, H])?;
        src.text(", ")?;
        src.array(self.bias_hh.as_flattened(), &[4, H])?;
        src.text(")")
    }
}
