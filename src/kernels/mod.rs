//! The four products a dense layer spends its time in, over nalgebra's
//! column-major storage (`m.data.0` is `[[T; R]; C]`, columns contiguous),
//! the element-wise maps of the activations, the fast rational activations
//! ([`Fast`]), a recurrent cell's gate products and activations
//! ([`Kernels::gates`], [`Cell`]), and whole LSTM and GRU steps built from
//! those ([`Kernels::lstm`], [`Kernels::gru`]): one interface, [`Kernels`], and its
//! implementations, entered once per call of a network through
//! [`dispatch`]. Everything else in the crate calls
//! the functions below, so a tuned kernel is one more implementation here
//! and no public signature changes.
//!
//! Shapes: `W: O×I`, `x: I×B` (one sample per column), `dy: O×B`.
//!
//! * [`Portable`] ([`portable`]): plain loops for any [`Scalar`]; what `f64`
//!   always runs.
//! * [`Avx2`] ([`x86`], x86-64 only): AVX2 + FMA kernels for `f32`, chosen
//!   at run time where the CPU has them, the plain loops elsewhere (see
//!   [`x86`] for how that is decided).
//!
//! Which one a scalar type runs is named by the sealed side of [`Scalar`]
//! (its associated type `Kernels`): `f32` runs [`F32Kernels`], `f64` runs
//! [`Portable`].
//!
//! Turning the SIMD kernels off: a build with `STATICNET_NO_SIMD=1` in its
//! environment (`build.rs` then sets `cfg(staticnet_no_simd)`; changing the
//! variable rebuilds the crate) runs the plain loops on every CPU: the `f32`
//! kernels, [`dispatch`] (which then just calls its closure) and the int8
//! AVX2 dense layer all take the portable path, because the one question
//! they all ask, [`x86::available`], is then `false`. CI runs the unit and
//! integration tests once more so (in the same target directory: only this
//! crate is rebuilt, not its dependencies), so that the plain loops are
//! tested on a host that has AVX2 and FMA; a test below checks which path a
//! build really takes.
//!
//! Two properties hold on every path and are tested (tests/kernels.rs and
//! the unit tests below):
//!
//! * every kernel agrees with a naive triple loop to rounding, on any size,
//!   including sizes that leave vector tails;
//! * each output element is computed in an order that depends only on the
//!   shapes `O` and `I`, never on the batch size or the column: a batch gives
//!   bit for bit what its samples give one by one, and `dW` accumulated over
//!   a batch is bit for bit the sum accumulated one sample at a time.
//!
//! The SIMD and the plain paths round differently (the SIMD path fuses
//! multiply and add, and sums in another order; the fast activations'
//! vector code uses fused multiply-adds too), so the same program gives
//! the same bits on the same kind of CPU, not across CPUs with and without
//! AVX2 + FMA.

use core::ops::Range;

use nalgebra::{ArrayStorage, SMatrix, SVector};

use crate::Scalar;

pub(crate) mod portable;
// One of the two modules allowed `unsafe` (the other is the int8 DSP dot
// product, `quant::layers::dsp`): the SIMD loads and stores and the call
// into `#[target_feature]` code after the CPU was checked.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(crate) mod x86;

pub(crate) use portable::Portable;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86::Avx2;

/// The kernels `f32` runs: [`Avx2`] on x86-64 (which falls back to the
/// plain loops on CPUs without AVX2 and FMA), [`Portable`] elsewhere.
#[cfg(target_arch = "x86_64")]
pub(crate) type F32Kernels = Avx2;
/// The kernels `f32` runs: [`Avx2`] on x86-64 (which falls back to the
/// plain loops on CPUs without AVX2 and FMA), [`Portable`] elsewhere.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) type F32Kernels = Portable;

/// One implementation of the kernels for scalar type `T`, over the arrays
/// nalgebra stores (`[[T; R]; C]`, one array per column). The free
/// functions below call the implementation `T` names.
pub trait Kernels<T> {
    /// `W x + b` for every column of `x`.
    fn affine<const O: usize, const I: usize, const B: usize>(
        w: &[[T; O]; I],
        b: &[T; O],
        x: &[[T; I]; B],
    ) -> [[T; O]; B];
    /// `Wᵀ dy`.
    fn transpose_times<const O: usize, const I: usize, const B: usize>(
        w: &[[T; O]; I],
        dy: &[[T; O]; B],
    ) -> [[T; I]; B];
    /// `dW += dy xᵀ`, `db += Σ_j dy[:, j]`.
    fn accumulate_outer<const O: usize, const I: usize, const B: usize>(
        dw: &mut [[T; O]; I],
        db: &mut [T; O],
        dy: &[[T; O]; B],
        x: &[[T; I]; B],
    );
    /// `dW = dy xᵀ`, `db = Σ_j dy[:, j]`, whatever they held: the bits of
    /// [`accumulate_outer`](Kernels::accumulate_outer) into zeros, which
    /// is what it does by default.
    #[inline(always)]
    fn set_outer<const O: usize, const I: usize, const B: usize>(
        dw: &mut [[T; O]; I],
        db: &mut [T; O],
        dy: &[[T; O]; B],
        x: &[[T; I]; B],
    ) where
        T: Scalar,
    {
        for column in dw.iter_mut() {
            column.fill(T::ZERO);
        }
        db.fill(T::ZERO);
        Self::accumulate_outer(dw, db, dy, x)
    }
    /// `acc += W x + V y` over the gates `gates` of a recurrent cell's
    /// stacked matrices, stored column by column (`w[i][g]` is gate `g`'s
    /// part of column `i`, `acc[g]` its sums): for every element of those
    /// gates, `acc + w[0]·x[0] + w[1]·x[1] + … + v[0]·y[0] + …`, the terms
    /// added in that order, so that any range of gates gives the bits the
    /// whole call gives, and one call the bits of two (`W x`, then `V y`).
    /// `M = 0` (an empty `V`) is `acc += W x`. Panics if the range goes
    /// past `G`.
    fn gates<const N: usize, const M: usize, const G: usize, const H: usize>(
        w: &[[[T; H]; G]; N],
        x: &[T; N],
        v: &[[[T; H]; G]; M],
        y: &[T; M],
        acc: &mut [[T; H]; G],
        gates: Range<usize>,
    );
    /// One step of a long short-term memory (`layers::lstm`), `w = (W_i,
    /// W_h)` and `b = (b_i, b_h)` stored by gate (`i, f, g, o`) as
    /// [`gates`](Kernels::gates) takes them: each gate's sum `(b_i + b_h) +
    /// W_i x + W_h h` in the order [`gates`](Kernels::gates) adds the
    /// terms, its activation (`σ, σ, tanh, σ`, as [`cell`](Kernels::cell)
    /// computes them) written to `gates` if given, and `state = (h, c)`
    /// replaced by `(o tanh(c'), c')`, `c' = f c + i g` (two products, then
    /// their sum): the bits of [`lstm_by_parts`], which is what the plain
    /// loops run.
    fn lstm<const N: usize, const H: usize>(
        w: CellWeights<'_, T, N, 4, H>,
        b: CellBiases<'_, T, 4, H>,
        x: &[T; N],
        state: (&mut [T; H], &mut [T; H]),
        gates: Option<&mut [[T; H]; 4]>,
    );
    /// One step of a gated recurrent unit (`layers::gru`), `w = (W_i, W_h)`
    /// and `b = (b_i, b_h)` stored by gate (`r, z, n`) as
    /// [`gates`](Kernels::gates) takes them. `r` and `z` are each one sum,
    /// `(b_i + b_h) + W_i x + W_h h`; `n` has two, `b_in + W_in x` and
    /// `b_hn + W_hn h`; all in the order [`gates`](Kernels::gates) adds the
    /// terms. Then `r = σ(·)`, `z = σ(·)` and `n = tanh(b_in + W_in x +
    /// r (b_hn + W_hn h))` (a product, then the sum; `σ` and `tanh` as
    /// [`cell`](Kernels::cell) computes them) are written to `gates` if
    /// given, and `h` is replaced by `(1 − z) n + z h` (a difference, two
    /// products, their sum): the bits of [`gru_by_parts`], which is what
    /// the plain loops run.
    fn gru<const N: usize, const H: usize>(
        w: CellWeights<'_, T, N, 3, H>,
        b: CellBiases<'_, T, 3, H>,
        x: &[T; N],
        h: &mut [T; H],
        gates: Option<&mut [[T; H]; 3]>,
    );
    /// `y[k] = f(x[k])` for every `k`: an element-wise activation. Panics
    /// if the lengths differ.
    fn map(x: &[T], y: &mut [T], f: impl Fn(T) -> T);
    /// `y[k] = f(y[k])` for every `k`, in place (for a function that
    /// changes every element, such as `eˣ`: see [`map`](Kernels::map) for
    /// why an activation goes out of place).
    fn map_in_place(y: &mut [T], f: impl Fn(T) -> T);
    /// Whether `p[k] − lr · g[k]` (the product rounded, then the
    /// difference) is finite for every `k`: the check before a plain SGD
    /// update. Panics if the lengths differ.
    fn sgd_finite(p: &[T], g: &[T], lr: T) -> bool;
    /// `p[k] −= lr · g[k]` (the product rounded, then the difference) for
    /// every `k`: a plain SGD update. Panics if the lengths differ.
    fn sgd_update(p: &mut [T], g: &[T], lr: T);
    /// `(y[k], d[k]) = f(x[k])` for every `k`: an element-wise activation
    /// and its derivative. Panics if the lengths differ.
    fn map2(x: &[T], y: &mut [T], d: &mut [T], f: impl Fn(T) -> (T, T));
    /// `y[k] = f(x[k])` for one of a recurrent cell's activations (see
    /// [`Cell`]). Panics if the lengths differ.
    fn cell(f: Cell, x: &[T], y: &mut [T]);
    /// `y[k] = f(x[k])` for one of the fast rational activations
    /// (`crate::math::fast`), within their documented error bounds. Panics
    /// if the lengths differ.
    fn fast(f: Fast, x: &[T], y: &mut [T]);
    /// `(y[k], d[k]) = (f(x[k]), f'(x[k]))` for one of the fast rational
    /// activations, `y` bit for bit what [`fast`](Kernels::fast) gives.
    /// Panics if the lengths differ.
    fn fast2(f: Fast, x: &[T], y: &mut [T], d: &mut [T]);
    /// [`affine`](Kernels::affine) where the CPU is known to have AVX2 and
    /// FMA (`cpu` is the proof): the SIMD kernel without its check, in
    /// the copy for the kind of pass `pass` names (each kind of pass its
    /// own copy of the kernel, so that each copy has one caller and is
    /// inlined into it; a [`WIDE`](Isa::WIDE) pass is also the proof of
    /// AVX-512F and AVX-512VL). By default `affine`.
    #[inline(always)]
    fn affine_known<P: Isa, const O: usize, const I: usize, const B: usize>(
        cpu: Avx2Fma,
        pass: P,
        w: &[[T; O]; I],
        b: &[T; O],
        x: &[[T; I]; B],
    ) -> [[T; O]; B] {
        let _ = (cpu, pass);
        Self::affine(w, b, x)
    }
    /// [`fast`](Kernels::fast) where the CPU is known to have AVX2 and FMA
    /// (`cpu` is the proof): the vector code without its check. By default
    /// `fast`.
    #[inline(always)]
    fn fast_known(cpu: Avx2Fma, f: Fast, x: &[T], y: &mut [T]) {
        let _ = cpu;
        Self::fast(f, x, y)
    }
}

/// Which kernels a layer runs, as a type: the answer a network's forward
/// pass got when it asked the CPU once, handed to its layers so that it
/// reaches their kernels at compile time (see
/// [`Module::forward_on`](crate::Module::forward_on)). Sealed: the four
/// kinds below are all there is.
///
/// * [`Checked`]: each kernel asks the CPU itself (a layer called on its
///   own, [`Module::forward`](crate::Module::forward));
/// * [`Avx2Fma`]: this CPU has AVX2 and FMA (only the crate makes one, after
///   asking): the SIMD kernels run without asking again;
/// * [`Avx512`]: this CPU also has AVX-512F and AVX-512VL, and the pass is
///   compiled for them (only the crate makes one, after asking): the same
///   kernels and the same bits as [`Avx2Fma`], with the batch kernels'
///   16-lane tiles without asking, and what the compiler vectorises itself
///   (the exact activations' loops) 16 lanes wide with 32 registers;
/// * [`Plain`]: the plain loops, which a network's pass runs on an x86-64
///   CPU without those features or with the SIMD kernels turned off
///   (`STATICNET_NO_SIMD=1`). On other targets, where there is nothing to
///   ask, a network's pass calls its layers' `forward`s.
///
/// Layers that do not take the kinds (all but `Dense`, the fast activations,
/// the int8 `QDense` through [`QModule::forward_on`](crate::quant::QModule::forward_on) and the networks built
/// of layers) ask for themselves whatever they are given. On the same
/// CPU, [`Checked`] and the network's own choice give the same bits;
/// [`Plain`] on a CPU with AVX2 and FMA gives the plain loops' rounding.
///
/// ```
/// use nalgebra::SVector;
/// use staticnet::module::{Checked, Plain};
/// use staticnet::{Dense, Module};
///
/// let layer = Dense::<2, 1>::from_rows([[0.5, -1.0]], [0.25]);
/// let x = SVector::from([3.0, 2.0]);
/// assert_eq!(layer.forward_on(&x, Checked), layer.forward(&x));
/// // The plain loops: b + w₀ x₀ + w₁ x₁, each product and sum rounded.
/// assert_eq!(layer.forward_on(&x, Plain), SVector::from([0.25 + 1.5 - 2.0]));
/// ```
pub trait Isa: Copy + isa::Sealed {
    /// Whether this is [`Plain`]: the plain loops, without asking.
    const PLAIN: bool;
    /// Whether this is [`Avx512`]: the pass is compiled for AVX-512F and
    /// AVX-512VL as well, which the CPU has.
    const WIDE: bool;
    /// The proof that this CPU has AVX2 and FMA, if this is [`Avx2Fma`] or
    /// [`Avx512`].
    fn avx2_fma(self) -> Option<Avx2Fma>;
}

mod isa {
    pub trait Sealed {}
    impl Sealed for super::Checked {}
    impl Sealed for super::Plain {}
    impl Sealed for super::Avx2Fma {}
    impl Sealed for super::Avx512 {}
}

/// [`Isa`]: each kernel asks the CPU itself which code it may run (what a
/// layer called on its own does).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked;

/// [`Isa`]: the plain loops, without asking: what a network's pass runs on
/// an x86-64 CPU without the SIMD kernels' features and in a build that
/// turned them off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plain;

/// [`Isa`]: this CPU has AVX2 and FMA, so the SIMD kernels run without
/// asking again. Only the crate makes one, where it has asked the CPU (a
/// network's forward pass): a value of this type is the proof the kernels
/// rely on, and a layer handed one may keep or pass it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avx2Fma(());

/// [`Isa`]: this CPU has AVX2, FMA, AVX-512F and AVX-512VL, and the pass
/// that hands one to its layers runs compiled for all four. The kernels
/// are [`Avx2Fma`]'s, with the same bits; only the crate makes one, where
/// it has asked the CPU (a network's forward pass on such a CPU), so a
/// value of this type is the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avx512(());

impl Isa for Checked {
    const PLAIN: bool = false;
    const WIDE: bool = false;
    #[inline(always)]
    fn avx2_fma(self) -> Option<Avx2Fma> {
        None
    }
}

impl Isa for Plain {
    const PLAIN: bool = true;
    const WIDE: bool = false;
    #[inline(always)]
    fn avx2_fma(self) -> Option<Avx2Fma> {
        None
    }
}

impl Isa for Avx2Fma {
    const PLAIN: bool = false;
    const WIDE: bool = false;
    #[inline(always)]
    fn avx2_fma(self) -> Option<Avx2Fma> {
        Some(self)
    }
}

impl Isa for Avx512 {
    const PLAIN: bool = false;
    const WIDE: bool = true;
    #[inline(always)]
    fn avx2_fma(self) -> Option<Avx2Fma> {
        Some(Avx2Fma(()))
    }
}

/// Which activation of a recurrent cell (GRU, LSTM) a [`Kernels::cell`]
/// call computes. The plain loops compute the crate's exact `σ` (bit for
/// bit [`Sigmoid`](crate::Sigmoid)) and its branch-free `tanh`
/// (`math::tanh_cell`); the AVX2 path the same formulas in vector code with
/// fused multiply-adds, so its own rounding, within the bounds its test
/// checks (x86.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// The logistic function `1/(1 + e^(−x))`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
}

/// Which fast rational activation a [`Kernels::fast`] call computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fast {
    /// `R(x)`, [`FastTanh`](crate::FastTanh).
    Tanh,
    /// `½ + ½ R(x/2)`, [`FastSigmoid`](crate::FastSigmoid).
    Sigmoid,
}

/// A recurrent cell's weights `(W_i, W_h)` for `N` inputs, `G` gates and
/// `H` units, stored column by column as [`Kernels::gates`] takes them:
/// `w.0[i][g]` is gate `g`'s part of column `i` of `W_i`.
pub type CellWeights<'a, T, const N: usize, const G: usize, const H: usize> =
    (&'a [[[T; H]; G]; N], &'a [[[T; H]; G]; H]);

/// A recurrent cell's biases `(b_i, b_h)`, gate by gate.
pub type CellBiases<'a, T, const G: usize, const H: usize> = (&'a [[T; H]; G], &'a [[T; H]; G]);

/// `y[k] = f(x[k])` for a fast rational activation: on x86-64 CPUs with
/// AVX2 and FMA, vector code with fused multiply-adds (its own rounding,
/// within the same documented bounds); elsewhere the scalar functions of
/// `crate::math::fast`.
#[inline(always)]
pub(crate) fn fast<T: Scalar>(f: Fast, x: &[T], y: &mut [T]) {
    <T::Kernels as Kernels<T>>::fast(f, x, y)
}

/// [`fast`] with the kernels `isa` names: without the check in a
/// [`WIDE`](Isa::WIDE) pass, the plain loops for [`Plain`], `fast` (which
/// asks) otherwise. In a pass compiled for AVX2 alone the check stays: with
/// it gone, the activations' constants and the products shared one
/// function's 16 vector registers and spilled (the tiny model's one sample
/// 35 → 42 ns on an AMD Zen 4 core), where a wide pass has 32.
#[inline(always)]
pub(crate) fn fast_on<T: Scalar, K: Isa>(isa: K, f: Fast, x: &[T], y: &mut [T]) {
    match isa.avx2_fma() {
        Some(cpu) if K::WIDE => <T::Kernels as Kernels<T>>::fast_known(cpu, f, x, y),
        None if K::PLAIN => <Portable as Kernels<T>>::fast(f, x, y),
        _ => <T::Kernels as Kernels<T>>::fast(f, x, y),
    }
}

/// `y[k] = f(x[k])` for one of a recurrent cell's activations: on x86-64
/// CPUs with AVX2 and FMA vector code with fused multiply-adds, elsewhere
/// the scalar functions (see [`Cell`]).
#[inline(always)]
pub(crate) fn cell<T: Scalar>(f: Cell, x: &[T], y: &mut [T]) {
    <T::Kernels as Kernels<T>>::cell(f, x, y)
}

/// `(y[k], d[k]) = (f(x[k]), f'(x[k]))` for a fast rational activation, as
/// [`fast`] (whose bits `y` has).
#[inline(always)]
pub(crate) fn fast2<T: Scalar>(f: Fast, x: &[T], y: &mut [T], d: &mut [T]) {
    <T::Kernels as Kernels<T>>::fast2(f, x, y, d)
}

/// Runs `f`, compiled for the best instruction set this CPU has: the
/// dispatch once per call of a whole network (its forward pass, tape,
/// backward pass), a loss over a batch, or an optimizer step.
///
/// On x86-64, where the CPU has AVX2 and FMA (asked once, see [`x86`]),
/// `f` runs inside a function compiled with those features, so the generic
/// code it inlines (layers, activations, the loss, the update) is compiled
/// for them too and the kernels inline into it instead of being called one
/// by one across a feature boundary. The arithmetic is the same on both
/// paths (the compiler fuses a multiply and an add only where a kernel asks
/// for it), so the bits are too. Elsewhere, and where the target already
/// enables the features, it is `f()`. Nested calls (a network in a network)
/// cost one predictable branch.
#[inline(always)]
pub(crate) fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        x86::dispatch(f)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        f()
    }
}

/// The dispatch of a pass through the network `N`: [`dispatch_wide`] where
/// it gains from AVX-512 ([`Module::WIDE`](crate::Module::WIDE)),
/// [`dispatch`] otherwise (the other is not compiled).
#[inline(always)]
pub(crate) fn dispatch_for<N: crate::Module<X>, X, R>(f: impl FnOnce() -> R) -> R {
    if N::WIDE {
        dispatch_wide(f)
    } else {
        dispatch(f)
    }
}

/// The dispatch of a streaming step through `N`, as [`dispatch_for`]
/// ([`Stream::WIDE`](crate::stream::Stream::WIDE)).
#[inline(always)]
pub(crate) fn dispatch_step<N: crate::stream::Stream<X>, X, R>(f: impl FnOnce() -> R) -> R {
    if N::WIDE {
        dispatch_wide(f)
    } else {
        dispatch(f)
    }
}

/// [`dispatch`], compiled for AVX-512F and AVX-512VL as well where this
/// CPU has them (asked once, see [`x86`]): the generic code `f` inlines
/// then has 32 vector registers and is vectorised up to 16 lanes wide. For
/// the passes of networks that gain from it
/// ([`Module::WIDE`](crate::Module::WIDE)), not for those the compiler
/// vectorises worse so (a loss over a batch, whose
/// logits it then gathers across samples). The same arithmetic as
/// `dispatch`'s, so the same bits.
#[inline(always)]
pub(crate) fn dispatch_wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        x86::dispatch_wide(f)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        f()
    }
}

/// `y[k] = f(x[k])` for every element: an element-wise activation. For
/// `f32` the loop is compiled for AVX2 too and runs so where the CPU has it;
/// the arithmetic is the same on both paths (the compiler never fuses a
/// multiply and an add on its own), so the bits are too.
#[inline(always)]
pub(crate) fn map<T: Scalar>(x: &[T], y: &mut [T], f: impl Fn(T) -> T) {
    <T::Kernels as Kernels<T>>::map(x, y, f)
}

/// `y[k] = f(y[k])` for every element, in place, as [`map`] computes it.
#[inline(always)]
pub(crate) fn map_in_place<T: Scalar>(y: &mut [T], f: impl Fn(T) -> T) {
    <T::Kernels as Kernels<T>>::map_in_place(y, f)
}

/// Whether `p[k] − lr · g[k]` is finite for every `k` (see
/// [`Kernels::sgd_finite`]).
#[inline(always)]
pub(crate) fn sgd_finite<T: Scalar>(p: &[T], g: &[T], lr: T) -> bool {
    <T::Kernels as Kernels<T>>::sgd_finite(p, g, lr)
}

/// `p[k] −= lr · g[k]` for every `k` (see [`Kernels::sgd_update`]).
#[inline(always)]
pub(crate) fn sgd_update<T: Scalar>(p: &mut [T], g: &[T], lr: T) {
    <T::Kernels as Kernels<T>>::sgd_update(p, g, lr)
}

/// `(y[k], d[k]) = f(x[k])`: an activation and its derivative, as [`map`].
#[inline(always)]
pub(crate) fn map2<T: Scalar>(x: &[T], y: &mut [T], d: &mut [T], f: impl Fn(T) -> (T, T)) {
    <T::Kernels as Kernels<T>>::map2(x, y, d, f)
}

/// `acc += W x` over the gates `gates` of a recurrent cell's stacked
/// matrix (see [`Kernels::gates`]): on x86-64 CPUs with AVX2 and FMA each
/// term is a fused multiply-add, elsewhere a multiply and an add; the
/// terms of an element are added in the order of the columns either way.
#[inline(always)]
pub(crate) fn gates<T: Scalar, const N: usize, const G: usize, const H: usize>(
    w: &[[[T; H]; G]; N],
    x: &[T; N],
    acc: &mut [[T; H]; G],
    gates: Range<usize>,
) {
    <T::Kernels as Kernels<T>>::gates::<N, 0, G, H>(w, x, &[], &[], acc, gates)
}

/// One step of a long short-term memory (see [`Kernels::lstm`]).
#[inline(always)]
pub(crate) fn lstm<T: Scalar, const N: usize, const H: usize>(
    w: CellWeights<'_, T, N, 4, H>,
    b: CellBiases<'_, T, 4, H>,
    x: &[T; N],
    state: (&mut [T; H], &mut [T; H]),
    gates: Option<&mut [[T; H]; 4]>,
) {
    <T::Kernels as Kernels<T>>::lstm(w, b, x, state, gates)
}

/// [`Kernels::lstm`] from the kernels `K`'s parts: the biases' sums, one
/// [`gates`](Kernels::gates) call for all four gates, a
/// [`cell`](Kernels::cell) call per activation and the new state element
/// by element.
#[inline(always)]
pub(crate) fn lstm_by_parts<T: Scalar, K: Kernels<T>, const N: usize, const H: usize>(
    w: CellWeights<'_, T, N, 4, H>,
    b: CellBiases<'_, T, 4, H>,
    x: &[T; N],
    (h, c): (&mut [T; H], &mut [T; H]),
    gates: Option<&mut [[T; H]; 4]>,
) {
    // The biases added in a loop (a copy of `b_i` followed by an add is a
    // call to `memcpy`).
    let mut a = [[T::ZERO; H]; 4];
    for ((a, &u), &v) in a
        .as_flattened_mut()
        .iter_mut()
        .zip(b.0.as_flattened())
        .zip(b.1.as_flattened())
    {
        *a = u + v;
    }
    K::gates(w.0, x, w.1, h, &mut a, 0..4);
    let mut own = [[T::ZERO; H]; 4];
    let act = match gates {
        Some(gates) => gates,
        None => &mut own,
    };
    K::cell(
        Cell::Sigmoid,
        a[..2].as_flattened(),
        act[..2].as_flattened_mut(),
    );
    K::cell(Cell::Tanh, &a[2], &mut act[2]);
    K::cell(Cell::Sigmoid, &a[3], &mut act[3]);
    let [i, f, g, o] = act;
    // Loops, not `array::from_fn`, which the compiler may leave as a call
    // (compiled without a dispatched call's AVX2).
    for k in 0..H {
        c[k] = f[k] * c[k] + i[k] * g[k];
    }
    K::cell(Cell::Tanh, c, h);
    for k in 0..H {
        h[k] *= o[k];
    }
}

/// One step of a gated recurrent unit (see [`Kernels::gru`]).
#[inline(always)]
pub(crate) fn gru<T: Scalar, const N: usize, const H: usize>(
    w: CellWeights<'_, T, N, 3, H>,
    b: CellBiases<'_, T, 3, H>,
    x: &[T; N],
    h: &mut [T; H],
    gates: Option<&mut [[T; H]; 3]>,
) {
    <T::Kernels as Kernels<T>>::gru(w, b, x, h, gates)
}

/// [`Kernels::gru`] from the kernels `K`'s parts: the biases' sums, three
/// [`gates`](Kernels::gates) calls (`W_i x` for `r, z` and for `n` apart,
/// then `W_h h` for all three gates, so that its sums are in flight
/// together), a [`cell`](Kernels::cell) call per activation and the new
/// state element by element.
#[inline(always)]
pub(crate) fn gru_by_parts<T: Scalar, K: Kernels<T>, const N: usize, const H: usize>(
    w: CellWeights<'_, T, N, 3, H>,
    b: CellBiases<'_, T, 3, H>,
    x: &[T; N],
    h: &mut [T; H],
    gates: Option<&mut [[T; H]; 3]>,
) {
    let mut a = *b.1;
    for (a, &u) in a[..2]
        .as_flattened_mut()
        .iter_mut()
        .zip(b.0[..2].as_flattened())
    {
        *a = u + *a;
    }
    let mut gin = [[T::ZERO; H]; 3];
    gin[2] = b.0[2];
    K::gates(w.0, x, &[], &[], &mut a, 0..2);
    K::gates(w.0, x, &[], &[], &mut gin, 2..3);
    K::gates(w.1, h, &[], &[], &mut a, 0..3);
    let mut own = [[T::ZERO; H]; 3];
    let act = match gates {
        Some(gates) => gates,
        None => &mut own,
    };
    K::cell(
        Cell::Sigmoid,
        a[..2].as_flattened(),
        act[..2].as_flattened_mut(),
    );
    let [r, z, n] = act;
    let mut an = [T::ZERO; H];
    for k in 0..H {
        an[k] = gin[2][k] + r[k] * a[2][k];
    }
    K::cell(Cell::Tanh, &an, n);
    // A loop, not `array::from_fn`, which the compiler may leave as a call
    // (compiled without a dispatched call's AVX2).
    for k in 0..H {
        h[k] = (T::ONE - z[k]) * n[k] + z[k] * h[k];
    }
}

/// `W x + b`, for every column of `x`.
#[inline(always)]
pub(crate) fn affine<T: Scalar, const O: usize, const I: usize, const B: usize>(
    w: &SMatrix<T, O, I>,
    b: &SVector<T, O>,
    x: &SMatrix<T, I, B>,
) -> SMatrix<T, O, B> {
    SMatrix::from_array_storage(ArrayStorage(<T::Kernels as Kernels<T>>::affine(
        &w.data.0,
        &b.data.0[0],
        &x.data.0,
    )))
}

/// [`affine`] with the kernels `isa` names: [`Kernels::affine_known`] for
/// [`Avx2Fma`], the plain loops for [`Plain`], `affine` for [`Checked`].
#[inline(always)]
pub(crate) fn affine_on<T: Scalar, K: Isa, const O: usize, const I: usize, const B: usize>(
    isa: K,
    w: &SMatrix<T, O, I>,
    b: &SVector<T, O>,
    x: &SMatrix<T, I, B>,
) -> SMatrix<T, O, B> {
    let (w, b, x) = (&w.data.0, &b.data.0[0], &x.data.0);
    SMatrix::from_array_storage(ArrayStorage(match isa.avx2_fma() {
        Some(cpu) => <T::Kernels as Kernels<T>>::affine_known(cpu, isa, w, b, x),
        None if K::PLAIN => <Portable as Kernels<T>>::affine(w, b, x),
        None => <T::Kernels as Kernels<T>>::affine(w, b, x),
    }))
}

/// Runs `fast` with the proof that this CPU has AVX2 and FMA, compiled for
/// them, where it has them, and `plain` otherwise: [`dispatch`] with the
/// answer passed on as a type ([`Isa`]), so that the layers' kernels need
/// not ask again (a network's forward pass; see [`x86`] for why that pays).
/// (x86-64 only: elsewhere a network's pass is its layers' `forward`s.)
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn dispatch_on<R>(fast: impl FnOnce(Avx2Fma) -> R, plain: impl FnOnce(Plain) -> R) -> R {
    x86::dispatch_on(fast, plain)
}

/// [`dispatch_on`] for a pass that gains from AVX-512
/// ([`Module::WIDE`](crate::Module::WIDE)): where this CPU also has
/// AVX-512F and AVX-512VL, `wide` gets the proof
/// ([`Avx512`]) and runs in a function compiled for all four, whose code
/// the compiler vectorises 16 lanes wide with 32 registers. (x86-64 only.)
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn dispatch_on_wide<R>(
    wide: impl FnOnce(Avx512) -> R,
    fast: impl FnOnce(Avx2Fma) -> R,
    plain: impl FnOnce(Plain) -> R,
) -> R {
    x86::dispatch_on_wide(wide, fast, plain)
}

/// `Wᵀ dy`: the input gradient.
#[inline(always)]
pub(crate) fn transpose_times<T: Scalar, const O: usize, const I: usize, const B: usize>(
    w: &SMatrix<T, O, I>,
    dy: &SMatrix<T, O, B>,
) -> SMatrix<T, I, B> {
    SMatrix::from_array_storage(ArrayStorage(<T::Kernels as Kernels<T>>::transpose_times(
        &w.data.0, &dy.data.0,
    )))
}

/// `dW += dy xᵀ` and `db += Σ_j dy[:, j]`: the parameter gradients.
#[inline(always)]
pub(crate) fn accumulate_outer<T: Scalar, const O: usize, const I: usize, const B: usize>(
    dw: &mut SMatrix<T, O, I>,
    db: &mut SVector<T, O>,
    dy: &SMatrix<T, O, B>,
    x: &SMatrix<T, I, B>,
) {
    <T::Kernels as Kernels<T>>::accumulate_outer(
        &mut dw.data.0,
        &mut db.data.0[0],
        &dy.data.0,
        &x.data.0,
    );
}

/// `dW = dy xᵀ` and `db = Σ_j dy[:, j]`, whatever they held: the bits of
/// [`accumulate_outer`] into zeros.
#[inline(always)]
pub(crate) fn set_outer<T: Scalar, const O: usize, const I: usize, const B: usize>(
    dw: &mut SMatrix<T, O, I>,
    db: &mut SVector<T, O>,
    dy: &SMatrix<T, O, B>,
    x: &SMatrix<T, I, B>,
) {
    <T::Kernels as Kernels<T>>::set_outer(&mut dw.data.0, &mut db.data.0[0], &dy.data.0, &x.data.0);
}

/// Checks shared by the tests of each path: every kernel against a naive
/// `f64` triple loop on sizes that leave every kind of vector tail, and
/// batches against their columns one at a time, bit for bit.
#[cfg(test)]
pub(crate) mod testing {
    extern crate std;
    use std::format;

    use super::Kernels;

    /// Deterministic values in [-2, 2) of varied magnitude, none zero.
    struct Values(u64);

    impl Values {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            let u = (self.0 >> 40) as f32 / (1u64 << 24) as f32; // [0, 1)
            let v = (u * 4.0 - 2.0) * if self.0 & 1 == 0 { 1.0 } else { 0.01 };
            if v == 0.0 { 0.5 } else { v }
        }
        fn fill<const N: usize, const M: usize>(&mut self) -> [[f32; N]; M] {
            let mut a = [[0.0; N]; M];
            a.iter_mut().flatten().for_each(|v| *v = self.next());
            a
        }
    }

    /// `got` equals the exact sum of `terms` (given with their sum) to the
    /// rounding of `n` operations in f32: |got − sum| ≤ (n + 1) u Σ|terms|.
    /// `what` names the element, formatted only for a failure (formatting
    /// every element is most of the test's time in an unoptimised build and
    /// under Miri).
    fn close(
        what: impl Fn() -> std::string::String,
        got: f32,
        exact: f64,
        magnitude: f64,
        n: usize,
    ) {
        let bound = (n as f64 + 1.0) * f64::from(f32::EPSILON) * magnitude;
        assert!(
            (f64::from(got) - exact).abs() <= bound,
            "{}: {got} vs exact {exact} (bound {bound:e})",
            what()
        );
    }

    /// The exact sum `b + Σ uᵢvᵢ` in `f64` and the sum of its terms'
    /// magnitudes, for [`close`].
    fn exact_sum(b: f32, terms: impl Iterator<Item = (f32, f32)>) -> (f64, f64) {
        let (mut exact, mut mag) = (f64::from(b), f64::from(b.abs()));
        for (u, v) in terms {
            let t = f64::from(u) * f64::from(v);
            exact += t;
            mag += t.abs();
        }
        (exact, mag)
    }

    fn bits<const N: usize, const M: usize>(a: &[[f32; N]; M]) -> std::vec::Vec<u32> {
        a.iter().flatten().map(|v| v.to_bits()).collect()
    }

    /// All three kernels at one shape.
    pub(crate) fn check<K: Kernels<f32>, const O: usize, const I: usize, const B: usize>(
        seed: u64,
    ) {
        let shape = format!("O {O}, I {I}, B {B}");
        let mut r = Values(0x9e37_79b9_7f4a_7c15 ^ seed);
        let w: [[f32; O]; I] = r.fill();
        let [b]: [[f32; O]; 1] = r.fill();
        let x: [[f32; I]; B] = r.fill();
        let dy: [[f32; O]; B] = r.fill();

        // W x + b.
        let y = K::affine(&w, &b, &x);
        for j in 0..B {
            for o in 0..O {
                let (exact, mag) = exact_sum(b[o], (0..I).map(|i| (w[i][o], x[j][i])));
                close(
                    || format!("affine {shape} [{o}, {j}]"),
                    y[j][o],
                    exact,
                    mag,
                    I,
                );
            }
            let one = K::affine(&w, &b, &[x[j]]);
            assert_eq!(
                bits(&one),
                bits(&[y[j]]),
                "affine {shape}: column {j} alone"
            );
        }

        // Wᵀ dy.
        let dx = K::transpose_times(&w, &dy);
        for j in 0..B {
            for i in 0..I {
                let (exact, mag) = exact_sum(0.0, (0..O).map(|o| (w[i][o], dy[j][o])));
                close(
                    || format!("transpose_times {shape} [{i}, {j}]"),
                    dx[j][i],
                    exact,
                    mag,
                    O,
                );
            }
            let one = K::transpose_times(&w, &[dy[j]]);
            assert_eq!(
                bits(&one),
                bits(&[dx[j]]),
                "transpose_times {shape}: column {j} alone"
            );
        }

        // dW += dy xᵀ, db += Σ dy, onto nonzero gradients.
        let (dw0, [db0]): ([[f32; O]; I], [[f32; O]; 1]) = (r.fill(), r.fill());
        let (mut dw, mut db) = (dw0, db0);
        K::accumulate_outer(&mut dw, &mut db, &dy, &x);
        for o in 0..O {
            let (exact, mag) = exact_sum(db0[o], dy.iter().map(|dyj| (dyj[o], 1.0)));
            close(
                || format!("accumulate_outer db {shape} [{o}]"),
                db[o],
                exact,
                mag,
                B,
            );
            for i in 0..I {
                let (exact, mag) = exact_sum(dw0[i][o], (0..B).map(|j| (dy[j][o], x[j][i])));
                close(
                    || format!("accumulate_outer dW {shape} [{o}, {i}]"),
                    dw[i][o],
                    exact,
                    mag,
                    B,
                );
            }
        }
        let (mut dw1, mut db1) = (dw0, db0);
        for j in 0..B {
            K::accumulate_outer(&mut dw1, &mut db1, &[dy[j]], &[x[j]]);
        }
        assert_eq!(
            bits(&dw1),
            bits(&dw),
            "accumulate_outer {shape}: dW sample by sample"
        );
        assert_eq!(
            bits(&[db1]),
            bits(&[db]),
            "accumulate_outer {shape}: db sample by sample"
        );

        // dW = dy xᵀ, db = Σ dy over the nonzero gradients: the bits of
        // the sum into zeros.
        let (mut dw2, mut db2) = ([[0.0; O]; I], [0.0; O]);
        K::accumulate_outer(&mut dw2, &mut db2, &dy, &x);
        let (mut dw3, mut db3) = (dw0, db0);
        K::set_outer(&mut dw3, &mut db3, &dy, &x);
        assert_eq!(bits(&dw3), bits(&dw2), "set_outer {shape}: dW");
        assert_eq!(bits(&[db3]), bits(&[db2]), "set_outer {shape}: db");
    }

    /// [`Kernels::gates`] at one shape: every element of every gate range
    /// against the exact sum, and each range's bits against the whole
    /// call's (the order of an element's terms does not depend on the
    /// range or its blocking).
    pub(crate) fn check_gates<K: Kernels<f32>, const N: usize, const G: usize, const H: usize>(
        seed: u64,
    ) {
        let shape = format!("N {N}, G {G}, H {H}");
        let mut r = Values(0x2545_f491_4f6c_dd1d ^ seed);
        let w: [[[f32; H]; G]; N] = core::array::from_fn(|_| r.fill());
        let [x]: [[f32; N]; 1] = r.fill();
        let b: [[f32; H]; G] = r.fill();
        let mut all = b;
        K::gates::<N, 0, G, H>(&w, &x, &[], &[], &mut all, 0..G);
        for g in 0..G {
            for h in 0..H {
                let (exact, mag) = exact_sum(b[g][h], (0..N).map(|i| (w[i][g][h], x[i])));
                close(
                    || format!("gates {shape} [{g}, {h}]"),
                    all[g][h],
                    exact,
                    mag,
                    N,
                );
            }
        }
        // W x + V y in one call is W x, then V y.
        let v: [[[f32; H]; G]; 3] = core::array::from_fn(|_| r.fill());
        let [y]: [[f32; 3]; 1] = r.fill();
        let mut one = b;
        K::gates(&w, &x, &v, &y, &mut one, 0..G);
        let mut two = all;
        K::gates::<3, 0, G, H>(&v, &y, &[], &[], &mut two, 0..G);
        assert_eq!(
            bits(&one),
            bits(&two),
            "gates {shape}: W x + V y in one call"
        );
        for lo in 0..G {
            for hi in lo..=G {
                let mut part = b;
                K::gates::<N, 0, G, H>(&w, &x, &[], &[], &mut part, lo..hi);
                for g in 0..G {
                    let want = if (lo..hi).contains(&g) { all[g] } else { b[g] };
                    assert_eq!(
                        bits(&[part[g]]),
                        bits(&[want]),
                        "gates {shape}: gate {g} of the range {lo}..{hi}"
                    );
                }
            }
        }
    }

    /// [`check_gates`] on the shapes of GRU and LSTM cells: every tail of
    /// a vector of 8 (H = 1, 3, 5, 7, 9, 17), one block and several (up to
    /// 4 × 64 sums), one column and many. (Under Miri the first six, which
    /// take every branch.)
    pub(crate) fn check_all_gates<K: Kernels<f32>>() {
        check_gates::<K, 1, 3, 1>(1);
        check_gates::<K, 3, 4, 5>(2);
        check_gates::<K, 1, 3, 8>(3);
        check_gates::<K, 8, 4, 7>(4);
        check_gates::<K, 2, 3, 32>(5);
        check_gates::<K, 5, 3, 9>(6);
        if cfg!(miri) {
            return;
        }
        check_gates::<K, 32, 4, 32>(7);
        check_gates::<K, 17, 4, 17>(8);
        check_gates::<K, 64, 4, 64>(9);
        check_gates::<K, 3, 3, 100>(10);
    }

    /// Every shape the tests cover: the odd sizes 1, 3, 7, 17, 33, 65, 130
    /// as heights and as widths (every tail of a vector of 8, tiles that do
    /// not divide, fewer inputs than chains), a few exact multiples, and
    /// batches of 1, 2, 5 and 32 (below, across and on the tile widths).
    pub(crate) fn check_all<K: Kernels<f32>>() {
        if cfg!(miri) {
            return check_for_miri::<K>();
        }
        macro_rules! shapes {
            ($(($o:literal, $i:literal)),* $(,)?) => {{
                let mut seed = 0;
                $(
                    seed += 1;
                    check::<K, $o, $i, 1>(seed);
                    check::<K, $o, $i, 2>(seed);
                    check::<K, $o, $i, 5>(seed);
                    check::<K, $o, $i, 7>(seed);
                    check::<K, $o, $i, 32>(seed);
                )*
            }};
        }
        shapes!(
            (1, 1),
            (1, 3),
            (1, 7),
            (1, 17),
            (1, 130),
            (3, 1),
            (3, 7),
            (3, 65),
            (7, 3),
            (7, 33),
            (17, 1),
            (17, 3),
            (17, 17),
            (17, 130),
            (33, 2),
            (33, 7),
            (33, 65),
            (65, 1),
            (65, 33),
            (65, 130),
            (130, 3),
            (130, 17),
            (130, 65),
            (8, 8),
            (16, 16),
            (10, 32),
            (32, 64),
            (256, 24),
        );
        // A short W too large to transpose on the stack (17 · 1000 > 16 Ki
        // elements): Wᵀ dy keeps the dot products.
        check::<K, 17, 1000, 1>(1000);
        check::<K, 17, 1000, 5>(1000);
        // Batches that leave every remainder after the widest tiles of
        // columns (6 for one chain per output, 3 for two, 12 for dW with
        // two vectors of outputs), taken by a narrower last tile.
        check::<K, 64, 24, 7>(2000);
        check::<K, 64, 24, 9>(2001);
        check::<K, 64, 24, 10>(2002);
        check::<K, 64, 24, 11>(2003);
        check::<K, 32, 64, 31>(2004);
        check::<K, 16, 23, 34>(2005);
        check::<K, 16, 35, 33>(2006);
        // Heights 16 divides, below the 8-lane wide tiles' 10 000
        // multiply-adds and from the 16-lane tiles' 2 048: 16-lane tiles
        // (16 × 16 × 8; 48 × 8 × 6 in tiles of 3 vectors of 16 rows), and a
        // batch narrower than a 16-lane tile (16 × 40 × 4), which runs the
        // AVX2 tiles from the AVX-512VL kernel.
        check::<K, 16, 16, 8>(2007);
        check::<K, 48, 8, 6>(2008);
        check::<K, 16, 40, 4>(2009);
        check::<K, 32, 16, 16>(2010);
        // Heights of 9 to 15 rows, one masked 16-lane vector: two and four
        // chains, a narrower last tile of columns (10 × 32 × 32 is above),
        // and a `dW` with a narrower last tile.
        check::<K, 9, 40, 8>(2011);
        check::<K, 15, 3, 50>(2012);
        check::<K, 12, 1, 200>(2013);
        check::<K, 13, 20, 16>(2014);
        check::<K, 11, 64, 33>(2015);
    }

    /// What [`check_all`] runs under Miri, which interprets every step (the
    /// whole set would take hours there): one shape for each branch of the
    /// SIMD kernels, in batches of 1, 2 and 5. `affine`: the dot product of
    /// a row (`O = 1`), the plain loops (`O < 8`), 8, 4, 2 and 1 chains,
    /// fewer inputs than chains, tiles that do not divide and single tiles;
    /// `transpose_times`: the transposed copy of `W` (`O ≤ 24`) and the dot
    /// products (8 × 1, 4 × 3, 4 × 2 and single tiles); `accumulate_outer`:
    /// 2 × 6, 3 × 4, 1 × 4 and single tiles, and the masked last window of
    /// every height. (Not the `W` too large to transpose, which takes the
    /// same dot products as a tall one.)
    fn check_for_miri<K: Kernels<f32>>() {
        macro_rules! shapes {
            ($(($o:literal, $i:literal)),* $(,)?) => {{
                let mut seed = 0;
                $(
                    seed += 1;
                    check::<K, $o, $i, 1>(seed);
                    check::<K, $o, $i, 2>(seed);
                    check::<K, $o, $i, 5>(seed);
                )*
            }};
        }
        shapes!(
            (1, 17),
            (3, 7),
            (8, 8),
            (10, 7),
            (10, 32),
            (16, 3),
            (16, 16),
            (17, 3),
            (17, 17),
            (33, 7),
            (33, 17),
            (65, 3),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{check_all, check_all_gates};
    use super::{Kernels, Portable};

    #[test]
    fn portable_kernels_are_exact_to_rounding_on_odd_sizes() {
        check_all::<Portable>();
    }

    #[test]
    fn portable_gates_are_exact_to_rounding_and_the_same_bits_in_any_range() {
        check_all_gates::<Portable>();
    }

    /// The plain loops' cell activations are the crate's exact `σ`
    /// ([`Sigmoid`](crate::Sigmoid), `Scalar::sigmoid`) and `tanh_cell`,
    /// bit for bit, in both scalar types.
    #[test]
    fn portable_cell_activations_are_the_scalar_functions() {
        use super::Cell;
        use crate::{Scalar, math};
        fn check<T: Scalar>() {
            let x: [T; 23] = core::array::from_fn(|k| T::of_f64((k as f64 - 11.0) * 1.9));
            let (mut s, mut t) = ([T::ZERO; 23], [T::ZERO; 23]);
            Portable::cell(Cell::Sigmoid, &x, &mut s);
            Portable::cell(Cell::Tanh, &x, &mut t);
            for k in 0..23 {
                let bits = |a: T| a.as_f64().to_bits();
                assert_eq!(bits(s[k]), bits(x[k].sigmoid()), "σ({})", x[k]);
                assert_eq!(bits(t[k]), bits(math::tanh_cell(x[k])), "tanh({})", x[k]);
            }
        }
        check::<f32>();
        check::<f64>();
    }

    /// `map`, `map_in_place` and `map2` (the dispatched `f32` ones and the
    /// plain `f64` ones) give every element `f` of itself, bit for bit, on
    /// every length up to past a few vectors: the vector loop and its
    /// scalar remainder compute the same thing.
    #[test]
    fn maps_apply_the_function_to_every_element_on_every_length() {
        extern crate std;
        use std::vec::Vec;
        let f32s = |n: usize| -> Vec<f32> { (0..n).map(|k| k as f32 * 0.37 - 5.0).collect() };
        for n in (0..=34).chain([65, 130]) {
            let x = f32s(n);
            let f = |v: f32| crate::math::exp(v) * 0.5 - v;
            let g = |v: f32| (crate::math::exp(v), v * v + 1.0);
            let (mut y, mut d) = (std::vec![f32::NAN; n], std::vec![f32::NAN; n]);
            super::map(&x, &mut y, f);
            for (k, (&a, &v)) in y.iter().zip(&x).enumerate() {
                assert_eq!(a.to_bits(), f(v).to_bits(), "map, length {n}, element {k}");
            }
            let mut z = x.clone();
            super::map_in_place(&mut z, f);
            for (k, (&a, &v)) in z.iter().zip(&x).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    f(v).to_bits(),
                    "map_in_place, length {n}, element {k}"
                );
            }
            let mut y = std::vec![f32::NAN; n];
            super::map2(&x, &mut y, &mut d, g);
            for (k, ((&a, &b), &v)) in y.iter().zip(&d).zip(&x).enumerate() {
                assert_eq!(
                    (a.to_bits(), b.to_bits()),
                    (g(v).0.to_bits(), g(v).1.to_bits()),
                    "map2, length {n}, element {k}"
                );
            }
            let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
            let mut y = std::vec![f64::NAN; n];
            super::map(&x, &mut y, |v| v * v - 1.0);
            for (k, (&a, &v)) in y.iter().zip(&x).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    (v * v - 1.0).to_bits(),
                    "f64 map, length {n}, element {k}"
                );
            }
            let mut z = x.clone();
            super::map_in_place(&mut z, |v| v * v - 1.0);
            assert_eq!(z, y, "f64 map_in_place, length {n}");
        }
    }

    /// Whether this build and CPU should take the SIMD kernels: x86-64, not
    /// turned off by `STATICNET_NO_SIMD=1`, and a CPU (or, under Miri, a
    /// target) with AVX2 and FMA. Asked here independently of
    /// [`x86::available`](super::x86::available), which the test checks.
    fn simd_expected() -> bool {
        #[cfg(all(target_arch = "x86_64", not(staticnet_no_simd)))]
        {
            extern crate std;
            std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
        }
        #[cfg(not(all(target_arch = "x86_64", not(staticnet_no_simd))))]
        {
            false
        }
    }

    /// The path `f32` takes is the one the build and the CPU ask for: told
    /// apart by a product whose fused and unfused roundings differ.
    /// `b + w·x` with `w = x = 1 + 2⁻¹²` and `b = −1` is exactly
    /// `2⁻¹¹ + 2⁻²⁴`; the plain loops round `w·x` first (a tie, to even:
    /// `1 + 2⁻¹¹`) and give `2⁻¹¹`, the SIMD kernels' fused multiply-add
    /// gives the exact value. With `STATICNET_NO_SIMD=1` every entry point
    /// (the kernels, a dispatched call of a network, the int8 dense layer)
    /// must take the plain path even where the CPU has AVX2 and FMA.
    #[test]
    fn f32_takes_the_path_the_build_and_the_cpu_ask_for() {
        use crate::{Dense, Network};
        use nalgebra::{SMatrix, SVector};

        // Powers of two by division, exact everywhere (Miri lets `powi` be
        // off by an ulp, as the language allows).
        let v = 1.0 + 1.0 / 4096.0f32;
        let plain = 1.0 / 2048.0f32;
        let fused = plain + 1.0 / 16_777_216.0;
        let simd = simd_expected();
        let want = if simd { fused } else { plain };
        let (w, b, x) = ([[v; 8]; 1], [-1.0f32; 8], [[v; 1]; 1]);
        assert_eq!(Portable::affine(&w, &b, &x), [[plain; 8]]);
        assert_eq!(
            <super::F32Kernels as Kernels<f32>>::affine(&w, &b, &x),
            [[want; 8]],
            "f32 kernels, SIMD expected: {simd}"
        );
        // The same product through a network: one dispatched call.
        let net: (Dense<1, 8>, crate::Identity) = (
            Dense::new(SMatrix::repeat(v), SVector::repeat(-1.0)),
            crate::Identity,
        );
        let y: SVector<f32, 8> = net.predict(&SVector::from([v]));
        assert_eq!(
            y,
            SVector::<f32, 8>::repeat(want),
            "a network, SIMD expected: {simd}"
        );
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(super::x86::available(), simd, "x86::available");
            let mut ran = false;
            super::dispatch(|| ran = true);
            assert!(ran, "dispatch runs its closure");
            // The int8 AVX2 layer runs (and says so) exactly where the f32
            // kernels do.
            use crate::quant::{QDense, QParams};
            let p = QParams {
                scale: 1.0,
                zero_point: 0,
            };
            let layer =
                QDense::<16, 8>::new([[1; 16]; 8], [0; 8], [1 << 30; 8], [0; 8], p, p, [1.0; 8]);
            let mut y = [0i8; 8];
            let took = super::x86::int8_dense(&layer, &[2; 16], &mut y);
            assert_eq!(took, simd, "int8 AVX2 dense layer");
            // 16 · 2 = 32 halved by the multiplier 2⁻¹: 16, where it ran.
            assert_eq!(y, if simd { [16; 8] } else { [0; 8] });
        }
    }

    #[test]
    #[should_panic(expected = "lengths differ")]
    fn a_map_onto_a_shorter_output_panics() {
        Portable::map(&[1.0f32; 9], &mut [0.0; 8], |v| v);
    }
}
