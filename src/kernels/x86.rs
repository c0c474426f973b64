//! [`Avx2`]: `f32` kernels for x86-64 CPUs with AVX2 and FMA, and the
//! choice between them and the plain loops.
//!
//! # Which code runs
//!
//! * A build whose target already enables `avx2` and `fma` (for example
//!   `-C target-cpu=native` on such a CPU) calls the SIMD kernels directly.
//! * Otherwise, with the `std` feature, the CPU is asked once
//!   (`is_x86_feature_detected!`) and the answer kept in an atomic; every
//!   later check is one relaxed load and a branch that always goes the same
//!   way. The check is made once per call of a network, a loss or an
//!   optimizer ([`dispatch`]): the whole call then runs in a function
//!   compiled for AVX2 and FMA, into which the layers, the activations and
//!   the kernels below inline. Each kernel keeps its own check too, for a
//!   layer called on its own; inside a dispatched call it is the same
//!   predictable branch, and the call into the kernel can be inlined.
//!   A network's forward pass ([`dispatch_on`]) also hands the answer to
//!   its layers as a type, [`Avx2Fma`], whose value only this module makes
//!   after the check: a `Dense` layer given it runs
//!   [`affine_known`](Kernels::affine_known), the product without a check
//!   and without the plain loops beside it. Those plain loops, even never
//!   run, cost the product its registers (they take the addresses of its
//!   input and output, which then live in memory) and its inlining (the
//!   SIMD product had a second caller, the closure run on CPUs without
//!   AVX2, and the compiler's cost model kept it out of line). Measured on
//!   an AMD Zen 4 core, default build, a timing loop: digits one sample
//!   70.7 → 61.1 ns (native build 57.2), tiny's forward pass of 32 samples
//!   644 → 615 ns (native 554), tiny one sample 37.4 → 34.9 ns (native
//!   31.3). The activations keep their own check: given the type as well,
//!   tiny's one sample was slower there (42 ns: the fast activations'
//!   constants and the products then share one function's 16 registers).
//! * A network some of whose layers gain from AVX-512 (`Module::WIDE`: the
//!   element-wise activations but `Relu`, `LeakyRelu` and `Identity`,
//!   whose loops the compiler vectorises from their scalar code) runs its
//!   passes ([`dispatch_on_wide`], [`dispatch_wide`]; a streaming step
//!   likewise) in a function compiled for AVX-512F and AVX-512VL as well
//!   where the CPU has them ([`available_vl`]): the exact `tanh` of 16
//!   channels is then one 16-lane vector and 32 registers hold its
//!   constants, as in a native build for such a CPU. The forward pass
//!   hands its layers [`Avx512`], and each kind of pass has its own copy
//!   of the product kernels (the type parameter `P` of [`affine_into`] and
//!   its callees), so that each copy has one caller and inlines; the fast
//!   activations given it skip their check (32 registers: no spills). The
//!   same operations, so the same bits (tests/kernels.rs). Measured on an
//!   AMD Zen 4 core, default build, a timing loop, the commit before →
//!   this (native build): the tiny shape with `Tanh` and `Sigmoid` one
//!   sample 73 → 58 ns (62), its forward pass of 32 1,573 → 979 ns (965),
//!   its SGD step 2.57 → 2.02 µs (2.00); the streaming conv stack 87.5 →
//!   68.4 ns (62.8); tiny (`FastTanh`) forward pass of 32 600 → 563 ns
//!   (552), its step 1.97 → 1.89 µs (1.83). Other networks (`Dense` and
//!   `Relu`, the recurrent layers) keep the AVX2 pass: compiling a whole
//!   pass for AVX-512 also moves and clears its values in 512-bit
//!   registers, which an Intel core measured slower for the recurrent
//!   streaming step (see below). A loss over a batch keeps it too: its
//!   logits, vectorised 16 wide, are gathered across samples (the digits
//!   step 5% slower so).
//! * Otherwise (`no_std` without those target features) the plain loops run.
//! * A build made with `STATICNET_NO_SIMD=1` in its environment (`build.rs`
//!   sets `cfg(staticnet_no_simd)`) never runs them: [`available`] is then
//!   `false` whatever the target and the CPU, and it is the one question
//!   every entry point asks (each [`Avx2`] kernel, [`dispatch`] and
//!   [`int8_dense`]), so the plain loops run everywhere. CI runs the test
//!   suite so too, to test them on a host with AVX2 and FMA.
//!
//! # Safety
//!
//! With the int8 DSP dot product (`quant`), one of the crate's two modules
//! allowed `unsafe`; here for four things: the
//! 8-lane loads and stores ([`load`], [`store`], [`store_slots`],
//! [`store4_slots`], [`store_last`]) and the 16-lane ones ([`load16`],
//! [`store16`], [`store16_last`]), each reading or writing only within the
//! `&[f32; 8]` (or `&[MaybeUninit<f32>; 8]`, `; 4]`, `; 16]`) it is given, and
//! for int8 [`load16_i8`] and [`load8_i32`], each reading exactly the
//! `&[i8; 16]` or `&[i32; 8]` given; outputs built in uninitialised slots
//! ([`slots`]) and assumed initialised after a kernel that writes every
//! element; and the
//! calls into `#[target_feature(enable = "avx2,fma")]` functions (the
//! kernels, and `with_avx2`, the root of a dispatched call), made only
//! after [`available`] said the CPU has both features (directly, or through
//! an [`Avx2Fma`], which only this module makes: in [`dispatch_on`],
//! [`dispatch_on_wide`], `Avx2::affine` and [`int8_dense`], after the
//! check, or where the target enables both features; its field is private
//! and [`Isa`] sealed, so no code outside the crate makes one), and into the
//! recurrent and dense kernels' variants that also enable `avx512f` and
//! `avx512vl`, and `with_avx512` (the root of a wide pass), made only after
//! [`available_vl`] said it has all four (directly, or through an
//! [`Avx512`], made only in [`dispatch_on_wide`] after that check or where
//! the target enables all four).
//! Everything else is safe code: the arithmetic intrinsics are safe to call
//! inside functions that enable their feature, and every index is
//! bounds-checked.
//!
//! # The kernels
//!
//! Vectors run down the columns of `W` (the output index `o`, contiguous in
//! nalgebra's column-major storage). A column whose height `O` is not a
//! multiple of 8 ends with a window that overlaps the one before it
//! (`O - 8 .. O`) rather than with scalar code; where that would count a row
//! twice, the overlapping lanes are masked (in dot products) or left as they
//! were (in accumulations), and an output's last window stores only its new
//! rows ([`store_last`]: a read of overlapping stores right after them
//! stalls). Register tiles of several vectors by several columns keep the
//! accumulators in registers; nothing is stored inside an inner loop. Where
//! a tile does not divide the vectors of a height, the last tile overlaps
//! the one before it and recomputes identical values (or, when
//! accumulating, does not store the rows already done); the columns of a
//! batch (of `dW` in the backward pass) end with one narrower tile.
//! Products that return a new output write it into uninitialised slots
//! ([`slots`]), every element exactly once or with identical values.
//!
//! * [`affine`](affine_into): `out[:, j] = b + Σ_i W[:, i] x[i, j]`. The
//!   terms of one output are split over `S` interleaved chains (input `i`
//!   goes to chain `i mod S`, chain 0 starts from the bias) that are summed
//!   as a balanced tree, `S` chosen from `O` and `I` only so that one sample
//!   has enough independent sums in flight to hide the FMA latency. A
//!   tile of one column steps over its inputs 8 at a time (written as
//!   broadcasts from a register; the compiler makes them broadcast loads,
//!   and the input and `W` are read through `black_box`, so that an input
//!   still in registers, the layer before's output in the same pass, is
//!   broadcast from memory by the load ports rather than by shuffles:
//!   see [`affine_tile`]).
//!   `O = 1` is a dot product over the contiguous row; other
//!   `O < 8` run the plain loops. One sample of a tall layer (one chain per
//!   output) where the CPU has AVX-512F and AVX-512VL streams `W` instead
//!   ([`simd_affine_stream`]): see below.
//! * [`transpose_times`](transpose_times_into): `out[i, j] = ⟨W[:, i],
//!   dy[:, j]⟩`, one vector sum per output over windows of 8 rows, then the
//!   lanes summed as `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`.
//!   One sample: 8 outputs at a time; a batch: 2 outputs by 6 columns
//!   (4 by 3 for batches of 3 to 5).
//!   Up to `O = 24` (three windows) it transposes `W` into a stack copy (at
//!   most 64 KiB; larger matrices keep the dot products) and runs
//!   [`affine`](affine_into) on `Wᵀ` instead; below 8, the plain loops.
//! * [`accumulate_outer`](simd_accumulate_outer): `dW[:, i] += Σ_j dy[:, j]
//!   x[i, j]`, the samples fused in order of `j` onto the loaded `dW`, so
//!   that a batch gives bit for bit what the samples give one call at a
//!   time; 12 sums in registers (2 vectors by 6 columns, or 3 by 4).
//! * [`gates`](simd_gates): a recurrent cell's `acc += W x + V y` over a
//!   range of gates, each element a chain of fused multiply-adds in column
//!   order, up to 12 vectors of sums in registers through all the columns.
//! * [`cell`](simd_cell): the cells' `σ` and `tanh` with fused
//!   multiply-adds and Estrin polynomials: `σ` by the scalar formula,
//!   `tanh` by one formula where the scalar function has two.
//! * [`lstm`](simd_lstm) and [`gru`](simd_gru): a whole recurrent step
//!   where all its sums fit in registers (`H` a multiple of 8, up to 24
//!   units), the bits of the two kernels above and the plain loops for the
//!   state, without their calls, stores and loads in between (measured on
//!   an Intel core with AVX-512VL, streaming: GRU 1→32 140 → 127 ns, LSTM
//!   1→32 164 → 159 ns).
//!
//! Where the CPU also has AVX-512F and AVX-512VL ([`available_vl`]), these
//! four run as variants compiled with those features: the same 8-lane
//! arithmetic, so the same bits (tested), with 32 registers instead of 16,
//! so that the gate kernel holds up to 24 vectors of sums (an LSTM of 32
//! units in one block), the step kernels take up to 48 units, and the
//! activations keep their constants in registers. Measured on an Intel
//! core with AVX-512: LSTM 1→32 streaming 207 → 188 ns. (Compiling whole
//! dispatched calls so was slower: the compiler then moves and clears
//! memory with 512-bit registers.) The three dense products of a batch
//! large enough ([`wide_pays`]: at least 10 000 multiply-adds, so that the
//! call, which cannot be inlined into a pass compiled for AVX2 only, is
//! lost in it) run so too, with tiles of 24 sums instead of 12
//! ([`simd_affine_vl`], [`simd_transpose_times_vl`],
//! [`simd_accumulate_outer_vl`]): the same sums in the same order, so the
//! same bits (the exactness tests compare batches with their columns one
//! at a time, which take the AVX2 code). Measured on an Intel core with
//! AVX-512, batches of 32 in a loop: digits step 4.79 → 4.54 µs, mid step
//! 255 → 216 µs (its forward pass 88 → 65 µs). `Wᵀ dy` of a short matrix
//! (8 to 24 outputs, run as `W x` on a transposed copy) takes
//! [`simd_affine_vl`]'s tiles so too (AMD Zen 5, alternating runs: digits
//! step 5.0-5.4 → 4.9-5.05 µs; the last layers have 10 outputs).
//!
//! A batch product whose height 16 divides ([`zmm_affine_tile`],
//! [`zmm_outer_tile`]: `W x + b` and `dW += dy xᵀ` of at least 2 048
//! multiply-adds, [`vl_pays`]; `Wᵀ dy` of a layer of 8 to 24 outputs whose
//! inputs 16 divides, as `W x` on the transposed copy, likewise; a height
//! of 9 to 15 as one 16-lane vector with its top lanes masked off,
//! [`zmm_masked`]) runs on 16-lane vectors there ([`affine_tiles16`],
//! [`ao_tiles16`]): tiles of 24 sums of 16 lanes, each lane doing what a
//! lane of the 8-lane tiles does (the same chains, terms and tree), so the
//! same bits (tested: the exactness tests compare batches with their
//! columns, which take the one-sample code). On a core with two
//! full-width 512-bit FMA units (AMD Zen 5, alternating runs of the two
//! commits): digits forward pass of 32 samples 1.6–1.8 → 1.0–1.2 µs,
//! digits step 4.5–5.2 → 3.1–3.8 µs, mid forward pass 60–71 → 34–37 µs,
//! mid step 190–200 → 130–143 µs. `Wᵀ dy` as dot products
//! ([`zmm_transpose`]: a batch through a layer of more than 24 outputs, at
//! least 8 inputs) runs in 16 lanes too
//! ([`tt_blocks16`]), two outputs' 8-lane sums side by side in each
//! register, so that each half does what an 8-lane vector did and the
//! lanes are summed as before: the same bits (summing in 16 lanes would
//! round differently from the one-sample kernel). Mid step, alternating:
//! 130–143 → 118–138 µs.
//!
//! One sample's `W x + b` through a tall layer ([`streams`]: one chain per
//! output, at least 8192 multiply-adds) is the one-sample kernel with
//! 16-lane vectors ([`simd_affine_stream`]): sixteen of AVX-512's 32 registers
//! hold 256 outputs' sums while `W`'s columns go by, front to back, a
//! kilobyte of each column at a time, which is what the prefetcher streams
//! best and what 16 registers of 8 lanes cannot hold. Each lane does what
//! the 8-lane kernel's lane does (one chain from the bias, one fused
//! multiply-add per input, in order), so the bits are the same (tested:
//! the exactness tests compare it with batches, which take the 8-lane
//! code). Measured on AMD Zen 5, the mid model's one-sample inference
//! (394 KiB of weights, read from L2): 3.75-3.95 → 2.8-3.0 µs, 1.15-1.3× the
//! time to read the weights once at the L2 bandwidth measured beside it.
//!
//! Stack: besides their outputs (as the plain loops), the kernels keep
//! registers only, except that one copy of `W` (at most 64 KiB).

// Register tiles read best as index loops over their constant sizes.
#![allow(clippy::needless_range_loop)]

use core::arch::x86_64::*;
use core::mem::MaybeUninit;
use core::ops::Range;

use super::{
    Avx2Fma, Avx512, Cell, CellBiases, CellWeights, Checked, Fast, Isa, Kernels, Plain, Portable,
    gru_by_parts, lstm_by_parts, portable,
};
use crate::math::exp::{EXPM1_P, LN2_HI, LN2_LO, LOG2E, ROUND};
use crate::math::fast::{TANH_CLAMP, TANH_P, TANH_Q};
use crate::math::tanh as cell_tanh;
use crate::quant::QDense;

// ---------------------------------------------------------------------------
// Dispatch.

/// Whether the SIMD kernels may run: not in a build that turned them off
/// (`STATICNET_NO_SIMD=1`, see `build.rs`).
#[cfg(staticnet_no_simd)]
#[inline(always)]
pub(crate) fn available() -> bool {
    false
}

/// Whether the SIMD kernels may run: the target enables AVX2 and FMA.
#[cfg(all(
    not(staticnet_no_simd),
    all(target_feature = "avx2", target_feature = "fma")
))]
#[inline(always)]
pub(crate) fn available() -> bool {
    true
}

/// Whether the SIMD kernels may run: this CPU has AVX2 and FMA. Asked once,
/// then read from a cache.
#[cfg(all(
    not(staticnet_no_simd),
    not(all(target_feature = "avx2", target_feature = "fma")),
    feature = "std"
))]
#[inline(always)]
pub(crate) fn available() -> bool {
    static CPU: Asked = Asked::new();
    CPU.get(|| std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"))
}

/// An answer about the CPU, asked once and kept: 0 not asked yet, 1 no, 2
/// yes. Reading it is one relaxed load and a branch that always goes the
/// same way. (Where the target already answers both questions, unused.)
#[cfg(all(
    feature = "std",
    any(
        all(
            not(staticnet_no_simd),
            not(all(target_feature = "avx2", target_feature = "fma"))
        ),
        all(
            not(staticnet_no_avx512),
            not(all(target_feature = "avx512f", target_feature = "avx512vl"))
        )
    )
))]
struct Asked(core::sync::atomic::AtomicU8);

#[cfg(all(
    feature = "std",
    any(
        all(
            not(staticnet_no_simd),
            not(all(target_feature = "avx2", target_feature = "fma"))
        ),
        all(
            not(staticnet_no_avx512),
            not(all(target_feature = "avx512f", target_feature = "avx512vl"))
        )
    )
))]
impl Asked {
    /// Not asked yet.
    const fn new() -> Self {
        Self(core::sync::atomic::AtomicU8::new(0))
    }

    /// The answer, from `ask` the first time.
    #[inline(always)]
    fn get(&self, ask: fn() -> bool) -> bool {
        use core::sync::atomic::Ordering;
        #[cold]
        #[inline(never)]
        fn first(cell: &Asked, ask: fn() -> bool) -> bool {
            let yes = ask();
            cell.0.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
        match self.0.load(Ordering::Relaxed) {
            2 => true,
            1 => false,
            _ => first(self, ask),
        }
    }
}

/// Whether the SIMD kernels may run: not without the target features or
/// `std` to ask the CPU.
#[cfg(all(
    not(staticnet_no_simd),
    not(all(target_feature = "avx2", target_feature = "fma")),
    not(feature = "std")
))]
#[inline(always)]
pub(crate) fn available() -> bool {
    false
}

/// Whether the recurrent cells' kernels (gates and activations) may use
/// AVX-512VL's 32 registers (still with 8-lane arithmetic): the SIMD
/// kernels may run ([`available`]) and the
/// target enables AVX-512F and AVX-512VL, or (with `std`) this CPU has them,
/// asked once. Never in a build with `STATICNET_NO_AVX512=1` (see
/// `build.rs`), which runs the AVX2 kernels alone.
#[inline(always)]
pub(crate) fn available_vl() -> bool {
    #[cfg(staticnet_no_avx512)]
    {
        false
    }
    #[cfg(all(
        not(staticnet_no_avx512),
        all(target_feature = "avx512f", target_feature = "avx512vl")
    ))]
    {
        available()
    }
    #[cfg(all(
        not(staticnet_no_avx512),
        not(all(target_feature = "avx512f", target_feature = "avx512vl")),
        feature = "std"
    ))]
    {
        static CPU: Asked = Asked::new();
        CPU.get(|| {
            available()
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512vl")
        })
    }
    #[cfg(all(
        not(staticnet_no_avx512),
        not(all(target_feature = "avx512f", target_feature = "avx512vl")),
        not(feature = "std")
    ))]
    {
        false
    }
}

/// Runs `f` compiled for AVX2 + FMA where this CPU has them: the dispatch
/// once per call of a network, a loss or an optimizer (see
/// [`dispatch`](super::dispatch)). A build whose target already enables both
/// runs `f` as it is, and so does a build that turned the SIMD kernels off
/// (`STATICNET_NO_SIMD=1`).
#[cfg(any(
    staticnet_no_simd,
    all(target_feature = "avx2", target_feature = "fma")
))]
#[inline(always)]
pub(crate) fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Runs `f` compiled for AVX2 + FMA where this CPU has them: the dispatch
/// once per call of a network, a loss or an optimizer (see
/// [`dispatch`](super::dispatch)).
#[cfg(not(any(
    staticnet_no_simd,
    all(target_feature = "avx2", target_feature = "fma")
)))]
#[inline(always)]
pub(crate) fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    if available() {
        // SAFETY: `available` checked that this CPU has AVX2 and FMA, the
        // features `with_avx2` enables.
        return unsafe { with_avx2(f) };
    }
    f()
}

/// [`dispatch`] with the answer passed on as a type: `fast` gets the proof
/// that this CPU has AVX2 and FMA ([`Avx2Fma`]) and runs compiled for them
/// where it has them, `plain` runs otherwise. A build that turned the SIMD
/// kernels off runs `plain`.
#[cfg(staticnet_no_simd)]
#[inline(always)]
pub(crate) fn dispatch_on<R>(fast: impl FnOnce(Avx2Fma) -> R, plain: impl FnOnce(Plain) -> R) -> R {
    let _ = fast;
    plain(Plain)
}

/// [`dispatch`] with the answer passed on as a type: a build whose target
/// enables AVX2 and FMA runs `fast`.
#[cfg(all(
    not(staticnet_no_simd),
    all(target_feature = "avx2", target_feature = "fma")
))]
#[inline(always)]
pub(crate) fn dispatch_on<R>(fast: impl FnOnce(Avx2Fma) -> R, plain: impl FnOnce(Plain) -> R) -> R {
    let _ = plain;
    // The target enables both features: every CPU it runs on has them.
    fast(Avx2Fma(()))
}

/// [`dispatch`] with the answer passed on as a type: `fast` gets the proof
/// that this CPU has AVX2 and FMA ([`Avx2Fma`]) and runs in a function
/// compiled for them where it has them, `plain` runs otherwise.
#[cfg(not(any(
    staticnet_no_simd,
    all(target_feature = "avx2", target_feature = "fma")
)))]
#[inline(always)]
pub(crate) fn dispatch_on<R>(fast: impl FnOnce(Avx2Fma) -> R, plain: impl FnOnce(Plain) -> R) -> R {
    if available() {
        // SAFETY: `available` checked that this CPU has AVX2 and FMA, the
        // features `with_avx2` enables; it is also what `Avx2Fma` stands for.
        return unsafe { with_avx2(|| fast(Avx2Fma(()))) };
    }
    plain(Plain)
}

/// [`dispatch_on`] for a pass compiled for AVX-512F and AVX-512VL where the
/// CPU has them (see [`dispatch_on_wide`](super::dispatch_on_wide)): a
/// build that turned the SIMD kernels off runs `plain`.
#[cfg(staticnet_no_simd)]
#[inline(always)]
pub(crate) fn dispatch_on_wide<R>(
    wide: impl FnOnce(Avx512) -> R,
    fast: impl FnOnce(Avx2Fma) -> R,
    plain: impl FnOnce(Plain) -> R,
) -> R {
    let _ = (wide, fast);
    plain(Plain)
}

/// [`dispatch_on`] for a pass compiled for AVX-512F and AVX-512VL where the
/// CPU has them, in a build whose target enables AVX2 and FMA: `wide` where
/// the target also enables AVX-512F and AVX-512VL, or in a function
/// compiled for them where this CPU has them (unless the build turned them
/// off, `STATICNET_NO_AVX512=1`), `fast` otherwise.
#[cfg(all(
    not(staticnet_no_simd),
    all(target_feature = "avx2", target_feature = "fma")
))]
#[inline(always)]
pub(crate) fn dispatch_on_wide<R>(
    wide: impl FnOnce(Avx512) -> R,
    fast: impl FnOnce(Avx2Fma) -> R,
    plain: impl FnOnce(Plain) -> R,
) -> R {
    let _ = plain;
    // The target enables AVX2 and FMA: every CPU it runs on has them, and
    // all four where it enables AVX-512F and AVX-512VL too.
    #[cfg(all(
        not(staticnet_no_avx512),
        all(target_feature = "avx512f", target_feature = "avx512vl")
    ))]
    {
        let _ = fast;
        wide(Avx512(()))
    }
    #[cfg(staticnet_no_avx512)]
    {
        let _ = wide;
        fast(Avx2Fma(()))
    }
    #[cfg(all(
        not(staticnet_no_avx512),
        not(all(target_feature = "avx512f", target_feature = "avx512vl"))
    ))]
    {
        if available_vl() {
            // SAFETY: `available_vl` checked that this CPU has AVX2, FMA,
            // AVX-512F and AVX-512VL, the features `with_avx512` enables and
            // what `Avx512` stands for.
            return unsafe { with_avx512(|| wide(Avx512(()))) };
        }
        fast(Avx2Fma(()))
    }
}

/// [`dispatch_on`] for a pass compiled for AVX-512F and AVX-512VL where the
/// CPU has them: where this CPU has AVX2, FMA, AVX-512F and AVX-512VL (and
/// the build did not turn the last two off, `STATICNET_NO_AVX512=1`),
/// `wide` gets the proof ([`Avx512`]) and runs in a function compiled for
/// all four; where it has AVX2 and FMA, `fast` gets that proof
/// ([`Avx2Fma`]) and runs in a function compiled for them; `plain` runs
/// otherwise.
#[cfg(not(any(
    staticnet_no_simd,
    all(target_feature = "avx2", target_feature = "fma")
)))]
#[inline(always)]
pub(crate) fn dispatch_on_wide<R>(
    wide: impl FnOnce(Avx512) -> R,
    fast: impl FnOnce(Avx2Fma) -> R,
    plain: impl FnOnce(Plain) -> R,
) -> R {
    #[cfg(staticnet_no_avx512)]
    let _ = wide;
    if available() {
        #[cfg(not(staticnet_no_avx512))]
        if available_vl() {
            // SAFETY: `available_vl` checked that this CPU has AVX2, FMA,
            // AVX-512F and AVX-512VL, the features `with_avx512` enables and
            // what `Avx512` stands for.
            return unsafe { with_avx512(|| wide(Avx512(()))) };
        }
        // SAFETY: `available` checked that this CPU has AVX2 and FMA, the
        // features `with_avx2` enables; it is also what `Avx2Fma` stands for.
        return unsafe { with_avx2(|| fast(Avx2Fma(()))) };
    }
    plain(Plain)
}

/// [`dispatch`], compiled for AVX-512F and AVX-512VL as well where this
/// CPU has them ([`available_vl`]; see
/// [`dispatch_wide`](super::dispatch_wide)). A build whose target enables
/// them, or that turned them off (`STATICNET_NO_AVX512=1`) or the SIMD
/// kernels altogether, runs [`dispatch`].
#[inline(always)]
pub(crate) fn dispatch_wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(not(any(
        staticnet_no_simd,
        staticnet_no_avx512,
        all(target_feature = "avx512f", target_feature = "avx512vl")
    )))]
    if available_vl() {
        // SAFETY: `available_vl` checked that this CPU has AVX2, FMA,
        // AVX-512F and AVX-512VL, the features `with_avx512` enables.
        return unsafe { with_avx512(f) };
    }
    dispatch(f)
}

/// `f()`, in a function compiled with AVX2 and FMA enabled: what the
/// compiler inlines into it (the closure, and the generic code the closure
/// calls, down to the kernels) is compiled for them too, and calls into the
/// kernels' `#[target_feature]` functions from here can be inlined, which
/// calls from code without the features cannot. Called from code that
/// already runs in such a function (a network inside a network), it is
/// inlined itself, so dispatching again costs one predictable branch.
#[cfg(not(any(
    staticnet_no_simd,
    all(target_feature = "avx2", target_feature = "fma")
)))]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `f()`, in a function compiled with AVX2, FMA, AVX-512F and AVX-512VL
/// enabled: [`with_avx2`] for the passes that [`dispatch_on_wide`] and
/// [`dispatch_wide`] run there, whose inlined code gets 32 vector
/// registers and may be vectorised 16 lanes wide.
#[cfg(not(any(
    staticnet_no_simd,
    staticnet_no_avx512,
    all(target_feature = "avx512f", target_feature = "avx512vl")
)))]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// The AVX2 + FMA kernels for `f32`, behind the check of [`available`]:
/// each method runs the SIMD kernel where the CPU has the features and the
/// plain loops of [`Portable`] where it does not.
pub struct Avx2;

/// [`Avx2::accumulate_outer`] (`SET = false`: `dW += dy xᵀ`, `db += Σ_j
/// dy[:, j]`) and [`Avx2::set_outer`] (`SET`: `=`), in the widest kernels
/// this CPU has.
#[inline(always)]
fn outer<const O: usize, const I: usize, const B: usize, const SET: bool>(
    dw: &mut [[f32; O]; I],
    db: &mut [f32; O],
    dy: &[[f32; O]; B],
    x: &[[f32; I]; B],
) {
    if const { wide_outer_tile(O, I, B).is_some() } && available_vl() {
        // SAFETY: `available_vl` checked that this CPU has AVX2, FMA,
        // AVX-512F and AVX-512VL.
        return unsafe { simd_accumulate_outer_vl::<O, I, B, SET>(dw, db, dy, x) };
    }
    if available() {
        // SAFETY: `available` checked that this CPU has AVX2 and FMA.
        return unsafe { simd_accumulate_outer::<O, I, B, SET>(dw, db, dy, x) };
    }
    if SET {
        Portable::set_outer(dw, db, dy, x)
    } else {
        Portable::accumulate_outer(dw, db, dy, x)
    }
}

impl Kernels<f32> for Avx2 {
    /// `W x + b` for every column of `x`: [`affine_known`](Kernels::affine_known)
    /// where the CPU has AVX2 and FMA, the plain loops where it does not.
    #[inline(always)]
    fn affine<const O: usize, const I: usize, const B: usize>(
        w: &[[f32; O]; I],
        b: &[f32; O],
        x: &[[f32; I]; B],
    ) -> [[f32; O]; B] {
        if available() {
            // `available` said that this CPU has AVX2 and FMA: what an
            // `Avx2Fma` stands for.
            return Self::affine_known(Avx2Fma(()), Checked, w, b, x);
        }
        plain_affine(w, b, x)
    }

    /// `Wᵀ dy`.
    #[inline(always)]
    fn transpose_times<const O: usize, const I: usize, const B: usize>(
        w: &[[f32; O]; I],
        dy: &[[f32; O]; B],
    ) -> [[f32; I]; B] {
        if const { wide_transpose(O, I, B) || wide_transposed(O, I, B) } && available_vl() {
            // SAFETY: `available_vl` checked that this CPU has AVX2, FMA,
            // AVX-512F and AVX-512VL; `simd_transpose_times_vl` writes
            // every element of its output.
            return unsafe { built(|out| simd_transpose_times_vl(w, dy, out)) };
        }
        if available() {
            // SAFETY: `available` checked that this CPU has AVX2 and FMA;
            // `transpose_times_into` writes every element of its output.
            return unsafe { built(|out| transpose_times_into(w, dy, out)) };
        }
        Portable::transpose_times(w, dy)
    }

    /// `dW += dy xᵀ`, `db += Σ_j dy[:, j]`.
    #[inline(always)]
    fn accumulate_outer<const O: usize, const I: usize, const B: usize>(
        dw: &mut [[f32; O]; I],
        db: &mut [f32; O],
        dy: &[[f32; O]; B],
        x: &[[f32; I]; B],
    ) {
        outer::<O, I, B, false>(dw, db, dy, x)
    }

    /// `dW = dy xᵀ`, `db = Σ_j dy[:, j]`: the kernels of
    /// [`accumulate_outer`](Kernels::accumulate_outer) with their sums
    /// started from zero instead of loaded (`SET`), so the bits of adding
    /// into zeros, without the zeros' stores and loads.
    #[inline(always)]
    fn set_outer<const O: usize, const I: usize, const B: usize>(
        dw: &mut [[f32; O]; I],
        db: &mut [f32; O],
        dy: &[[f32; O]; B],
        x: &[[f32; I]; B],
    ) {
        outer::<O, I, B, true>(dw, db, dy, x)
    }

    /// `acc += W x + V y` over a recurrent cell's gates, one fused
    /// multiply-add per term (see [`simd_gates`]).
    #[inline(always)]
    fn gates<const N: usize, const M: usize, const G: usize, const H: usize>(
        w: &[[[f32; H]; G]; N],
        x: &[f32; N],
        v: &[[[f32; H]; G]; M],
        y: &[f32; M],
        acc: &mut [[f32; H]; G],
        gates: Range<usize>,
    ) {
        if available_vl() {
            // SAFETY: `available_vl` checked that this CPU has AVX2, FMA,
            // AVX-512F and AVX-512VL.
            return unsafe { simd_gates_vl(w, x, v, y, acc, gates) };
        }
        if available() {
            // SAFETY: `available` checked that this CPU has AVX2 and FMA.
            return unsafe { simd_gates(w, x, v, y, acc, gates) };
        }
        Portable::gates(w, x, v, y, acc, gates)
    }

    /// One LSTM step: where all four gates' sums fit in registers (`H` a
    /// multiple of 8, at most 48 with AVX-512VL's 32 registers, 24 with
    /// AVX2's 16), one vector kernel that keeps them there from the biases
    /// to the new state ([`simd_lstm`]); otherwise the kernels' parts.
    #[inline(always)]
    fn lstm<const N: usize, const H: usize>(
        w: CellWeights<'_, f32, N, 4, H>,
        b: CellBiases<'_, f32, 4, H>,
        x: &[f32; N],
        state: (&mut [f32; H], &mut [f32; H]),
        gates: Option<&mut [[f32; H]; 4]>,
    ) {
        match step_path(H) {
            // SAFETY: `step_path` chose this kernel only after
            // `available_vl` said this CPU has AVX2, FMA, AVX-512F and
            // AVX-512VL.
            StepPath::Vl => unsafe { simd_lstm_vl(w, b, x, state, gates) },
            // SAFETY: `step_path` chose this kernel only after `available`
            // said this CPU has AVX2 and FMA.
            StepPath::Avx2 => unsafe { simd_lstm(w, b, x, state, gates) },
            StepPath::Parts => lstm_by_parts::<f32, Self, N, H>(w, b, x, state, gates),
        }
    }

    /// One GRU step: where its four sets of sums (`r`, `z` and the two
    /// parts of `n`) fit in registers (as for [`lstm`](Self::lstm)), one
    /// vector kernel ([`simd_gru`]); otherwise the kernels' parts.
    #[inline(always)]
    fn gru<const N: usize, const H: usize>(
        w: CellWeights<'_, f32, N, 3, H>,
        b: CellBiases<'_, f32, 3, H>,
        x: &[f32; N],
        h: &mut [f32; H],
        gates: Option<&mut [[f32; H]; 3]>,
    ) {
        match step_path(H) {
            // SAFETY: `step_path` chose this kernel only after
            // `available_vl` said this CPU has AVX2, FMA, AVX-512F and
            // AVX-512VL.
            StepPath::Vl => unsafe { simd_gru_vl(w, b, x, h, gates) },
            // SAFETY: `step_path` chose this kernel only after `available`
            // said this CPU has AVX2 and FMA.
            StepPath::Avx2 => unsafe { simd_gru(w, b, x, h, gates) },
            StepPath::Parts => gru_by_parts::<f32, Self, N, H>(w, b, x, h, gates),
        }
    }

    /// `y[k] = f(x[k])`, the loop compiled for AVX2 where the CPU has it.
    #[inline(always)]
    fn map(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
        if available() {
            // SAFETY: `available` checked that this CPU has AVX2 and FMA.
            return unsafe { simd_map(x, y, f) };
        }
        Portable::map(x, y, f)
    }

    /// `y[k] = f(y[k])`, the loop compiled for AVX2 where the CPU has it.
    #[inline(always)]
    fn map_in_place(y: &mut [f32], f: impl Fn(f32) -> f32) {
        if available() {
            // SAFETY: `available` checked that this CPU has AVX2 and FMA.
            return unsafe { simd_map_in_place(y, f) };
        }
        Portable::map_in_place(y, f)
    }

    /// Whether `p[k] − lr · g[k]` is finite for every `k`: four vectors at
    /// a time where the CPU has AVX2 (see [`simd_sgd_finite`]).
    #[inline(always)]
    fn sgd_finite(p: &[f32], g: &[f32], lr: f32) -> bool {
        if available() {
            // SAFETY: `available` checked that this CPU has AVX2 and FMA.
            return unsafe { simd_sgd_finite(p, g, lr) };
        }
        Portable::sgd_finite(p, g, lr)
    }

    /// `p[k] −= lr · g[k]`, the loop compiled for AVX2 where the CPU has it.
    #[inline(always)]
    fn sgd_update(p: &mut [f32], g: &[f32], lr: f32) {
        if available() {
            // SAFETY: `available` checked that this CPU has AVX2 and FMA.
            return unsafe { simd_sgd_update(p, g, lr) };
        }
        Portable::sgd_update(p, g, lr)
    }

    /// `(y[k], d[k]) = f(x[k])`, the loop compiled for AVX2 where the CPU has
    /// it.
    #[inline(always)]
    fn map2(x: &[f32], y: &mut [f32], d: &mut [f32], f: impl Fn(f32) -> (f32, f32)) {
        if available() {
            // SAFETY: `available` checked that this CPU has AVX2 and FMA.
            return unsafe { simd_map2(x, y, d, f) };
        }
        Portable::map2(x, y, d, f)
    }

    /// A recurrent cell's activations in vector code with fused
    /// multiply-adds, where the CPU has AVX2 and FMA (see [`simd_cell`]).
    #[inline(always)]
    fn cell(f: Cell, x: &[f32], y: &mut [f32]) {
        if available_vl() {
            // SAFETY: `available_vl` checked that this CPU has AVX2, FMA,
            // AVX-512F and AVX-512VL.
            return unsafe { simd_cell_vl(f, x, y) };
        }
        if available() {
            // SAFETY: `available` checked that this CPU has AVX2 and FMA.
            return unsafe { simd_cell(f, x, y) };
        }
        Portable::cell(f, x, y)
    }

    /// The fast activations in vector code with fused multiply-adds, where
    /// the CPU has AVX2 and FMA (see [`simd_fast`]).
    #[inline(always)]
    fn fast(f: Fast, x: &[f32], y: &mut [f32]) {
        if available() {
            // SAFETY: `available` checked that this CPU has AVX2 and FMA.
            return unsafe { simd_fast(f, x, y) };
        }
        Portable::fast(f, x, y)
    }

    /// The fast activations and their derivatives in vector code (see
    /// [`simd_fast`]).
    #[inline(always)]
    fn fast2(f: Fast, x: &[f32], y: &mut [f32], d: &mut [f32]) {
        if available() {
            // SAFETY: `available` checked that this CPU has AVX2 and FMA.
            return unsafe { simd_fast2(f, x, y, d) };
        }
        Portable::fast2(f, x, y, d)
    }

    /// The fast activations in vector code, without asking whether the CPU
    /// has AVX2 and FMA.
    #[inline(always)]
    fn fast_known(cpu: Avx2Fma, f: Fast, x: &[f32], y: &mut [f32]) {
        let _ = cpu;
        // SAFETY: an `Avx2Fma` is made only where `available` said that this
        // CPU has AVX2 and FMA.
        unsafe { simd_fast(f, x, y) }
    }

    /// [`affine`](Kernels::affine) without asking whether the CPU has AVX2
    /// and FMA: no plain loops beside the SIMD kernel.
    #[inline(always)]
    fn affine_known<P: Isa, const O: usize, const I: usize, const B: usize>(
        cpu: Avx2Fma,
        pass: P,
        w: &[[f32; O]; I],
        b: &[f32; O],
        x: &[[f32; I]; B],
    ) -> [[f32; O]; B] {
        let _ = cpu;
        // A pass compiled for AVX-512VL is the proof that the CPU has it.
        let vl = || P::WIDE || available_vl();
        if const { streams(O, I, B) } && vl() {
            // SAFETY: `vl` (an `Avx512` pass, made only after that check,
            // or `available_vl`) says that this CPU has AVX2, FMA, AVX-512F
            // and AVX-512VL; `streams` holds only for `B = 1`, and
            // `simd_affine_stream` writes every element of that column.
            return unsafe { built(|out| simd_affine_stream(pass, w, b, &x[0], &mut out[0])) };
        }
        if const { wide_affine_tile(O, I, B).is_some() } && vl() {
            // SAFETY: `vl` says that this CPU has AVX2, FMA, AVX-512F and
            // AVX-512VL (above); `simd_affine_vl` writes every element of
            // its output.
            return unsafe { built(|out| simd_affine_vl(pass, w, b, x, out)) };
        }
        // SAFETY: an `Avx2Fma` is made only where `available` said that this
        // CPU has AVX2 and FMA (`affine` above, `dispatch_on`);
        // `affine_into` writes every element of its output.
        unsafe { built(|out| affine_into(pass, w, b, x, out)) }
    }
}

/// [`Portable::affine`], kept out of line: the plain loops run only on
/// CPUs without AVX2 and FMA, and inlined beside the SIMD call they made
/// every dispatched network pass larger (digits one sample in a loop here:
/// 56-57 ns with them inlined, 54-55 ns without; native build 52-53 ns).
#[cold]
#[inline(never)]
fn plain_affine<const O: usize, const I: usize, const B: usize>(
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[[f32; I]; B],
) -> [[f32; O]; B] {
    Portable::affine(w, b, x)
}

/// [`Portable::map`] compiled with AVX2 and FMA enabled: `f` is inlined
/// into it and vectorised 8 wide. (The compiler does not contract `a * b + c`
/// into an FMA, so the results are those of the plain loop.)
#[target_feature(enable = "avx2,fma")]
#[inline]
fn simd_map(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
    Portable::map(x, y, f)
}

/// [`Portable::map_in_place`] compiled with AVX2 and FMA enabled, as
/// [`simd_map`].
#[target_feature(enable = "avx2,fma")]
#[inline]
fn simd_map_in_place(y: &mut [f32], f: impl Fn(f32) -> f32) {
    Portable::map_in_place(y, f)
}

/// [`Kernels::sgd_finite`]: whether every `p − lr · g` is finite, as
/// `flag = fma(lr · g − p, 0, flag)` in 4 separate flags: a finite
/// difference times zero is zero, an infinite or `NaN` one `NaN`, which
/// then stays in its flag, so the flags end all zero exactly when every
/// difference is finite. One operation per vector for the test where a
/// magnitude, a comparison and an `or` took three: digits' update (2,410
/// parameters) 0.45 → 0.39 µs on an Intel Xeon (family 6, model 207).
/// `lr · g − p` is `−(p − lr · g)` to the bit (the rounding is symmetric),
/// so it is finite exactly where the plain loop's difference is; the last
/// `n mod 8` elements as the plain loop does.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn simd_sgd_finite(p: &[f32], g: &[f32], lr: f32) -> bool {
    assert_eq!(p.len(), g.len(), "sgd_finite: lengths differ");
    let n = p.len();
    let rate = _mm256_set1_ps(lr);
    let zero = _mm256_setzero_ps();
    let flag = |k: usize, flag: __m256| {
        let v = _mm256_sub_ps(_mm256_mul_ps(rate, load(at(g, k))), load(at(p, k)));
        _mm256_fmadd_ps(v, zero, flag)
    };
    let mut flags = [zero; 4];
    let mut k = 0;
    while k + 32 <= n {
        for (u, f) in flags.iter_mut().enumerate() {
            *f = flag(k + 8 * u, *f);
        }
        k += 32;
    }
    while k + 8 <= n {
        flags[0] = flag(k, flags[0]);
        k += 8;
    }
    let any = _mm256_add_ps(
        _mm256_add_ps(flags[0], flags[1]),
        _mm256_add_ps(flags[2], flags[3]),
    );
    _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_UNORD_Q>(any, any)) == 0
        && Portable::sgd_finite(&p[k..], &g[k..], lr)
}

/// [`Portable::sgd_update`] compiled with AVX2 and FMA enabled: the loop
/// vectorised 8 wide, a product and a difference per element (the compiler
/// does not fuse them), so the bits of the plain loop.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn simd_sgd_update(p: &mut [f32], g: &[f32], lr: f32) {
    Portable::sgd_update(p, g, lr)
}

/// [`Portable::map2`] compiled with AVX2 and FMA enabled.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn simd_map2(x: &[f32], y: &mut [f32], d: &mut [f32], f: impl Fn(f32) -> (f32, f32)) {
    Portable::map2(x, y, d, f)
}

// ---------------------------------------------------------------------------
// Memory access: the only `unsafe` of the kernels.

/// Reads 8 lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn load(a: &[f32; 8]) -> __m256 {
    // SAFETY: `a` is a reference to 8 initialised `f32`, exactly the 32
    // bytes read; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_ps(a.as_ptr()) }
}

/// Reads 4 lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn load4(a: &[f32; 4]) -> __m128 {
    // SAFETY: `a` is a reference to 4 initialised `f32`, exactly the 16
    // bytes read; `loadu` has no alignment requirement.
    unsafe { _mm_loadu_ps(a.as_ptr()) }
}

/// Writes 8 lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn store(a: &mut [f32; 8], v: __m256) {
    // SAFETY: `a` is a unique reference to 8 `f32`, exactly the 32 bytes
    // written; `storeu` has no alignment requirement.
    unsafe { _mm256_storeu_ps(a.as_mut_ptr(), v) }
}

/// Writes the last `new` lanes of `v` (all 8 when `new ≥ 8`) to the same
/// places of `a`, in as few stores as whole pieces allow (8 lanes; else 4,
/// 2, 1 from the top): a column's last, overlapping window (see
/// [`offset`]) stores only the rows the windows before it did not. Stored
/// whole, it would overlap the window before it, and a read of both right
/// after (a result copied out of the kernel) would find no single store
/// holding its bytes and wait for both to reach the cache: about 15 cycles
/// on the one-sample digits pass.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn store_last(a: &mut [MaybeUninit<f32>; 8], v: __m256, new: usize) {
    if new >= 8 {
        store_slots(a, v);
        return;
    }
    let lo = _mm256_castps256_ps128(v);
    let hi = _mm256_extractf128_ps::<1>(v);
    let p = a.as_mut_ptr().cast::<f32>();
    // The lanes left to write all sit in `q`, at its top `k` lanes; `q`'s
    // lane 0 goes to `a[base]`.
    let (q, k, base) = if new >= 4 {
        (lo, new - 4, 0)
    } else {
        (hi, new, 4)
    };
    // SAFETY: `a` is a unique reference to 8 slots of `f32` (32 bytes), and
    // every store below stays inside them: 16 bytes at lane 4, 8 at lane
    // `base + 2 ≤ 6`; none needs alignment (`storeu`, `storel_epi64`).
    unsafe {
        if new >= 4 {
            _mm_storeu_ps(p.add(4), hi);
        }
        if k >= 2 {
            _mm_storel_epi64(
                p.add(base + 2).cast(),
                _mm_castps_si128(_mm_movehl_ps(q, q)),
            );
        }
    }
    match k {
        1 => _ = a[base + 3].write(_mm_cvtss_f32(_mm_permute_ps::<0xFF>(q))),
        3 => _ = a[base + 1].write(_mm_cvtss_f32(_mm_permute_ps::<0x55>(q))),
        _ => {}
    }
}

/// Reads 16 lanes.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn load16(a: &[f32; 16]) -> __m512 {
    // SAFETY: `a` is a reference to 16 initialised `f32`, exactly the 64
    // bytes read; `loadu` has no alignment requirement.
    unsafe { _mm512_loadu_ps(a.as_ptr()) }
}

/// Writes 16 lanes.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn store16(a: &mut [f32; 16], v: __m512) {
    // SAFETY: `a` is a unique reference to 16 `f32`, exactly the 64 bytes
    // written; `storeu` has no alignment requirement.
    unsafe { _mm512_storeu_ps(a.as_mut_ptr(), v) }
}

/// Writes the last `new` lanes of `v` (all 16 when `new ≥ 16`) into the
/// same slots of `a`, which may not be initialised yet: a column's last,
/// overlapping window stores only the rows the windows before it did not.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn store16_last(a: &mut [MaybeUninit<f32>; 16], v: __m512, new: usize) {
    let mask = if new >= 16 {
        0xFFFF
    } else {
        0xFFFF_u16 << (16 - new)
    };
    // SAFETY: `a` is a unique reference to 16 slots of `f32`
    // (`MaybeUninit<f32>` has `f32`'s size and alignment), the most the
    // masked store writes (only the lanes in `mask`); `storeu` has no
    // alignment requirement.
    unsafe { _mm512_mask_storeu_ps(a.as_mut_ptr().cast(), mask, v) }
}

/// Writes 8 lanes into slots that may not be initialised yet.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn store_slots(a: &mut [MaybeUninit<f32>; 8], v: __m256) {
    // SAFETY: `a` is a unique reference to 8 slots of `f32` (`MaybeUninit<f32>`
    // has `f32`'s size and alignment), exactly the 32 bytes written; `storeu`
    // has no alignment requirement.
    unsafe { _mm256_storeu_ps(a.as_mut_ptr().cast(), v) }
}

/// Writes 4 lanes into slots that may not be initialised yet.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn store4_slots(a: &mut [MaybeUninit<f32>; 4], v: __m128) {
    // SAFETY: as for `store_slots`, for 4 slots, the 16 bytes written.
    unsafe { _mm_storeu_ps(a.as_mut_ptr().cast(), v) }
}

/// The elements of `m` as slots to be written one by one: an output built
/// in place without zeroing it first (zeroing the 4 KiB outputs of a
/// digits training step's batch products cost about 110 of its 4,550 ns).
#[inline(always)]
fn slots<const R: usize, const C: usize>(
    m: &mut MaybeUninit<[[f32; R]; C]>,
) -> &mut [[MaybeUninit<f32>; R]; C] {
    // SAFETY: `MaybeUninit<f32>` has the size, alignment and layout of
    // `f32`, so `[[MaybeUninit<f32>; R]; C]` those of `[[f32; R]; C]`, and
    // any content, initialised or not, is a valid value of it; the
    // reference is unique for as long as `m` is borrowed.
    unsafe { &mut *m.as_mut_ptr().cast() }
}

/// The output that `write` builds in place, in the caller's frame: a kernel
/// that returned its output by value built it in its own frame when not
/// inlined and copied it out (digits' 4 KiB hidden layer, 32 samples: a
/// `memcpy` in every call of a training step).
///
/// # Safety
///
/// `write` writes every element of the slots it is given.
#[inline(always)]
unsafe fn built<const R: usize, const C: usize>(
    write: impl FnOnce(&mut [[MaybeUninit<f32>; R]; C]),
) -> [[f32; R]; C] {
    let mut out = MaybeUninit::uninit();
    write(slots(&mut out));
    // SAFETY: `write` wrote every element (the caller's promise).
    unsafe { out.assume_init() }
}

/// Writes `value` into every slot of `out`.
#[inline(always)]
fn fill_slots<const R: usize, const C: usize>(
    out: &mut [[MaybeUninit<f32>; R]; C],
    value: [[f32; R]; C],
) {
    for (o, v) in out.iter_mut().zip(value) {
        for (o, v) in o.iter_mut().zip(v) {
            o.write(v);
        }
    }
}

/// The 8 values of `s` from `k`.
#[inline(always)]
fn at(s: &[f32], k: usize) -> &[f32; 8] {
    s[k..k + 8].try_into().expect("8 lanes")
}

/// The 4 values of `s` from `k`.
#[inline(always)]
fn at4(s: &[f32], k: usize) -> &[f32; 4] {
    s[k..k + 4].try_into().expect("4 lanes")
}

/// The 16 values of `s` from `k`.
#[inline(always)]
fn at16(s: &[f32], k: usize) -> &[f32; 16] {
    s[k..k + 16].try_into().expect("16 lanes")
}

/// The 16 slots of `s` from `k`, mutably.
#[inline(always)]
fn at16_mut<T>(s: &mut [T], k: usize) -> &mut [T; 16] {
    (&mut s[k..k + 16]).try_into().expect("16 lanes")
}

/// The 8 values (or slots) of `s` from `k`, mutably.
#[inline(always)]
fn at_mut<T>(s: &mut [T], k: usize) -> &mut [T; 8] {
    (&mut s[k..k + 8]).try_into().expect("8 lanes")
}

// ---------------------------------------------------------------------------
// Shapes.

/// Where vector `v` of a column of height `n ≥ 8` starts: every 8 rows, the
/// last window ending at `n`.
#[inline(always)]
fn offset(n: usize, v: usize) -> usize {
    if 8 * v + 8 <= n { 8 * v } else { n - 8 }
}

/// The starts of tiles of `t` over `n ≥ t` items: every `t`, the last tile
/// ending at `n` (and so overlapping the one before when `t` does not divide
/// `n`).
#[inline(always)]
fn tiles(n: usize, t: usize) -> impl Iterator<Item = usize> {
    let full = n / t;
    (0..full)
        .map(move |k| k * t)
        .chain((!n.is_multiple_of(t)).then_some(n - t))
}

/// Lanes `8 - r ..` set: in a last window of a height with `r = n mod 8`,
/// the rows the windows before it did not cover.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn new_lanes(r: usize) -> __m256 {
    let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_castsi256_ps(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(7 - r as i32)))
}

/// The chains each output of `affine` is split into, from the shapes only:
/// enough that the vectors of one column give 8 or more independent sums
/// (the FMA latency times the FMA units), never more chains than inputs.
const fn chains(o: usize, i: usize) -> usize {
    let v = o.div_ceil(8);
    let mut s = if v >= 8 {
        1
    } else if v >= 4 {
        2
    } else if v >= 2 {
        4
    } else {
        8
    };
    while s > 1 && s > i {
        s /= 2;
    }
    s
}

/// `a[0] + a[1] + …` as a balanced tree: `(a0 + a1) + (a2 + a3)`, …
#[target_feature(enable = "avx2,fma")]
#[inline]
fn tree<const S: usize>(mut a: [__m256; S]) -> __m256 {
    let mut n = S;
    while n > 1 {
        for k in 0..n / 2 {
            a[k] = _mm256_add_ps(a[2 * k], a[2 * k + 1]);
        }
        n /= 2;
    }
    a[0]
}

/// The sum of the 8 lanes, `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`:
/// the order of two `hadd`s, in one-cycle shuffles and adds instead (a
/// one-sample `O = 1` layer ends on this sum; the tiny model with the exact
/// `Tanh` and `Sigmoid`, one sample: 59.3 → 57.4 ns on an AMD Zen 4 core).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn lane_sum(v: __m256) -> f32 {
    // Lanes 0, 2, 4, 6: the pairs; lanes 0 and 4: the quads.
    let t = _mm256_add_ps(v, _mm256_movehdup_ps(v));
    let u = _mm256_add_ps(
        t,
        _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t), _mm256_castps_pd(t))),
    );
    let s = _mm_add_ss(_mm256_castps256_ps128(u), _mm256_extractf128_ps::<1>(u));
    _mm_cvtss_f32(s)
}

/// The lane sums of 4 vectors, each summed as in [`lane_sum`].
#[target_feature(enable = "avx2,fma")]
#[inline]
fn lane_sums4(v: [__m256; 4]) -> __m128 {
    let t0 = _mm256_hadd_ps(v[0], v[1]);
    let t1 = _mm256_hadd_ps(v[2], v[3]);
    let u = _mm256_hadd_ps(t0, t1);
    _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps::<1>(u))
}

/// The lane sums of 8 vectors, each summed as in [`lane_sum`].
#[target_feature(enable = "avx2,fma")]
#[inline]
fn lane_sums8(v: [__m256; 8]) -> __m256 {
    let t0 = _mm256_hadd_ps(v[0], v[1]);
    let t1 = _mm256_hadd_ps(v[2], v[3]);
    let t2 = _mm256_hadd_ps(v[4], v[5]);
    let t3 = _mm256_hadd_ps(v[6], v[7]);
    let u0 = _mm256_hadd_ps(t0, t1);
    let u1 = _mm256_hadd_ps(t2, t3);
    let lo = _mm256_permute2f128_ps::<0x20>(u0, u1);
    let hi = _mm256_permute2f128_ps::<0x31>(u0, u1);
    _mm256_add_ps(lo, hi)
}

// ---------------------------------------------------------------------------
// affine: W x + b.

/// The last, narrower tile of a dimension that whole tiles do not fill:
/// `$call` with the const `$k` set to the width `$w` left over, one of the
/// widths `$n…` (those below the whole tiles' width).
macro_rules! narrower_tile {
    ($w:expr, [$($n:literal)*], |$k:ident| $call:expr) => {
        match $w {
            $($n => {
                const $k: usize = $n;
                $call
            })*
            _ => unreachable!("no narrower tile is this wide"),
        }
    };
}

/// A tile of `R` by `C` as the number `R * 100 + C` (0 for none), for a
/// `match` on a constant of it: rustc then compiles only the arm taken. A
/// match on an `Option` or a tuple, or on a value the code computes at run
/// time, has every arm compiled for every shape, which multiplied the
/// kernels' instances in the tests' sweep of shapes (the unit tests took
/// 159 s of CPU to build at opt-level 0, 38 s with the tiles chosen so).
const fn tile_code(tile: Option<(usize, usize)>) -> usize {
    match tile {
        Some((r, c)) => r * 100 + c,
        None => 0,
    }
}

/// The terms of an `affine` tile from input `$i` on, in vectors of the
/// width the functions name (`$load` of `$at`, `$set1`, `$fmadd`): input
/// `k` to chain `k mod S` (`$i` a multiple of `S`), `S` inputs a step (each
/// column of `W` loaded once for the `C` columns of the tile), then the
/// last `I mod S` to chains 0, 1, … (`S`, `I`, `R`, `C` are the calling
/// kernel's constants).
macro_rules! chain_terms {
    ($acc:ident, $w:ident, $x:ident, $rows:ident, $j0:ident, $i:ident, $zero:ident,
     $load:ident, $at:ident, $set1:ident, $fmadd:ident) => {
        while $i + S <= I {
            for s in 0..S {
                let wi = &$w[$i + s];
                let mut wv = [$zero; R];
                for r in 0..R {
                    wv[r] = $load($at(wi, $rows[r]));
                }
                for c in 0..C {
                    let xv = $set1($x[$j0 + c][$i + s]);
                    for r in 0..R {
                        $acc[s][c][r] = $fmadd(wv[r], xv, $acc[s][c][r]);
                    }
                }
            }
            $i += S;
        }
        for s in 0..I - $i {
            let wi = &$w[$i + s];
            for c in 0..C {
                let xv = $set1($x[$j0 + c][$i + s]);
                for r in 0..R {
                    $acc[s][c][r] = $fmadd($load($at(wi, $rows[r])), xv, $acc[s][c][r]);
                }
            }
        }
    };
}

/// `W x + b` for every column of `x` (see the module docs), into `out`:
/// writes every element. `P` names the kind of pass the call is in
/// ([`Checked`] for a kernel asked on its own) and nothing else: each kind
/// gets its own copy of this kernel and of the kernels it calls, the same
/// code, so that each copy has one caller and the compiler inlines it there
/// (a copy called from two passes stayed out of line: digits one sample 61
/// → 71 ns on an AMD Zen 4 core).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn affine_into<P: Isa, const O: usize, const I: usize, const B: usize>(
    pass: P,
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[[f32; I]; B],
    out: &mut [[MaybeUninit<f32>; O]; B],
) {
    if O == 1 {
        fill_slots(out, affine_row(pass, w, b, x));
    } else if O < 8 || I == 0 {
        fill_slots(out, portable::affine(w, b, x));
    } else {
        match const { chains(O, I) } {
            1 => affine_chains::<_, O, I, B, 1>(pass, w, b, x, out),
            2 => affine_chains::<_, O, I, B, 2>(pass, w, b, x, out),
            4 => affine_chains::<_, O, I, B, 4>(pass, w, b, x, out),
            _ => affine_chains::<_, O, I, B, 8>(pass, w, b, x, out),
        }
    }
}

/// [`affine`](affine_into) with `S` chains per output, over register tiles.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn affine_chains<P: Isa, const O: usize, const I: usize, const B: usize, const S: usize>(
    pass: P,
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[[f32; I]; B],
    out: &mut [[MaybeUninit<f32>; O]; B],
) {
    match const { tile_code(chain_tile(O, B, S)) } {
        0 => {
            for v0 in 0..O.div_ceil(8) {
                for j0 in 0..B {
                    affine_tile::<_, O, I, B, 1, 1, S>(pass, w, b, x, out, v0, j0);
                }
            }
        }
        801 => affine_tiles::<_, O, I, B, 8, 1, S>(pass, w, b, x, out),
        401 => affine_tiles::<_, O, I, B, 4, 1, S>(pass, w, b, x, out),
        201 => affine_tiles::<_, O, I, B, 2, 1, S>(pass, w, b, x, out),
        304 => affine_tiles::<_, O, I, B, 3, 4, S>(pass, w, b, x, out),
        204 => affine_tiles::<_, O, I, B, 2, 4, S>(pass, w, b, x, out),
        206 => affine_tiles::<_, O, I, B, 2, 6, S>(pass, w, b, x, out),
        203 => affine_tiles::<_, O, I, B, 2, 3, S>(pass, w, b, x, out),
        103 => affine_tiles::<_, O, I, B, 1, 3, S>(pass, w, b, x, out),
        _ => affine_tiles::<_, O, I, B, 1, 1, S>(pass, w, b, x, out),
    }
}

/// The tile (vectors, columns) of [`affine_chains`] with `s` chains per
/// output, or `None` where the shapes are smaller than it (then one vector
/// by one column at a time).
///
/// One sample: 8 / s vectors of one column (8 sums in flight), held in
/// registers over all the inputs, so that each weight is loaded once and
/// nothing else touches memory (a tall layer reads W block by block, 32
/// bytes of each column per block, at close to L2's bandwidth: see the
/// README's speed section). A batch: 8 to 12 sums, as many columns as
/// the chains leave registers for. (One chain on an even number of
/// vectors: 2 vectors by 6 columns, 12 sums, 15 of the 16 registers with
/// the weights and the broadcast input; the tile was 2 by 4 before, and
/// for batches of 4 and 5 still is. Measured on an Intel Xeon (family 6,
/// model 207) with the AVX2-only kernels, paired loop rounds: the mid
/// model's forward pass of 32 88.1 → 81.7 µs, its SGD step 257 → 250 µs.)
const fn chain_tile(o: usize, b: usize, s: usize) -> Option<(usize, usize)> {
    let v = o.div_ceil(8);
    let (rows, cols) = if b == 1 {
        (8 / s, 1)
    } else {
        match s {
            1 if v.is_multiple_of(2) && b >= 6 => (2, 6),
            1 if v.is_multiple_of(2) => (2, 4),
            1 => (3, 4),
            2 => (2, 3),
            4 => (1, 3),
            _ => (1, 1),
        }
    };
    if v < rows || b < cols {
        None
    } else {
        Some((rows, cols))
    }
}

/// Whether a batch product of these shapes may go to the 8-lane tiles of
/// the kernels compiled with AVX-512VL's 32 registers ([`simd_affine_vl`],
/// [`simd_transpose_times_vl`], [`simd_accumulate_outer_vl`]) where the
/// CPU has them: those cannot be inlined into a dispatched pass (which is
/// compiled for AVX2 only), so a product must be large enough that the
/// call is lost in it.
const fn wide_pays(o: usize, i: usize, b: usize) -> bool {
    b > 1 && o >= 8 && o * i * b >= WIDE_WORK
}

/// Whether a batch product of these shapes may call [`simd_affine_vl`] or
/// [`simd_accumulate_outer_vl`]: [`wide_pays`], or, where the height takes
/// the 16-lane tiles ([`sixteen`]: [`zmm_affine_tile`] and
/// [`zmm_outer_tile`] then run, which do each lane's work in half the
/// instructions), at least [`ZMM_WORK`] multiply-adds. Those kernels run their 8-lane tiles only
/// where [`wide_pays`] holds; a smaller product without a 16-lane tile
/// runs the AVX2 kernel from there.
const fn vl_pays(o: usize, i: usize, b: usize) -> bool {
    wide_pays(o, i, b) || (b > 1 && sixteen(o) && o * i * b >= ZMM_WORK)
}

/// Whether a height takes the 16-lane batch tiles: a multiple of 16
/// ([`zmm_rows`]), or 9 to 15 rows in one masked 16-lane vector
/// ([`zmm_masked`]).
const fn sixteen(o: usize) -> bool {
    zmm_rows(o).is_some() || zmm_masked(o)
}

/// Whether a height is one 16-lane vector with its top lanes masked off
/// (9 to 15 rows, such as a classifier's 10 outputs): the 8-lane kernels
/// cover it with two windows, 16 lanes of work for at most 15 rows (10 of
/// 16 for 10 outputs), where one masked 16-lane vector does it in half the
/// instructions (in [`affine_tiles16`] and [`ao_tiles16`], whose loads and
/// stores mask such a height: [`lanes16`], [`put16`], [`put16_init`]).
const fn zmm_masked(o: usize) -> bool {
    o > 8 && o < 16
}

/// The multiply-adds from which [`wide_pays`].
const WIDE_WORK: usize = 10_000;

/// The multiply-adds from which a batch product whose height takes the
/// 16-lane tiles ([`sixteen`]) goes to them ([`vl_pays`]): the smallest
/// such product measured. On an Intel Xeon (family 6, model 207), batches
/// in a loop, `Dense` + `FastTanh`, with the threshold at 10 000 and at
/// 2 000: 16 → 16 on 8 samples (2 048 multiply-adds) 188 → 141 ns, on 16
/// samples 382 → 243 ns; 16 → 32 on 16 samples 665 → 472 ns; the tiny
/// model's forward pass of 32 samples (its 16 → 16 layer, 8 192) 933 → 818
/// ns and its step 2.46 → 2.23 µs.
/// The 8-lane tiles stay at [`WIDE_WORK`]: a 24 → 24 layer on 16 samples
/// (9 216) took 511 ns in the AVX2 code and 562 ns in them.
const ZMM_WORK: usize = 2_048;

/// The tile (vectors, columns) of [`simd_affine_vl`] for these shapes, with
/// [`chains`]`(o, i)` sums per output, or `None` where it has none (then
/// [`affine_into`] runs): 24 sums where `affine_into`'s tiles hold 8 to 12
/// (12 in both for two chains on a height of 2 or 3 vectors, which only a
/// layer of fewer than 4 inputs has).
const fn wide_affine_tile(o: usize, i: usize, b: usize) -> Option<(usize, usize)> {
    let v = o.div_ceil(8);
    if !vl_pays(o, i, b) || i == 0 {
        return None;
    }
    match chains(o, i) {
        1 if v >= 4 && b >= 6 => Some((4, 6)),
        2 if v >= 4 && b >= 3 => Some((4, 3)),
        2 | 4 if v >= 2 && b >= 3 => Some((2, 3)),
        8 if b >= 3 => Some((1, 3)),
        _ => None,
    }
}

/// [`affine`](affine_into) of a batch compiled with AVX-512F and
/// AVX-512VL too, where [`wide_affine_tile`] gives a tile: the same 8-lane
/// arithmetic (so the same bits), with 32 registers, so that the tiles
/// hold twice the sums. Writes every element of `out`.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn simd_affine_vl<P: Isa, const O: usize, const I: usize, const B: usize>(
    pass: P,
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[[f32; I]; B],
    out: &mut [[MaybeUninit<f32>; O]; B],
) {
    match const { tile_code(zmm_affine_tile(O, I, B)) * 10 + chains(O, I) } {
        4061 => return affine_tiles16::<_, O, I, B, 4, 6, 1>(pass, w, b, x, out),
        3081 => return affine_tiles16::<_, O, I, B, 3, 8, 1>(pass, w, b, x, out),
        2121 => return affine_tiles16::<_, O, I, B, 2, 12, 1>(pass, w, b, x, out),
        1121 => return affine_tiles16::<_, O, I, B, 1, 12, 1>(pass, w, b, x, out),
        3042 => return affine_tiles16::<_, O, I, B, 3, 4, 2>(pass, w, b, x, out),
        2062 => return affine_tiles16::<_, O, I, B, 2, 6, 2>(pass, w, b, x, out),
        1122 => return affine_tiles16::<_, O, I, B, 1, 12, 2>(pass, w, b, x, out),
        1064 => return affine_tiles16::<_, O, I, B, 1, 6, 4>(pass, w, b, x, out),
        _ => {}
    }
    // The 8-lane tiles only where they pay on their own (a product that
    // came for the 16-lane ones but has no such tile runs the AVX2 kernel).
    let tile = const {
        let tile = if wide_pays(O, I, B) {
            wide_affine_tile(O, I, B)
        } else {
            None
        };
        tile_code(tile) * 10 + chains(O, I)
    };
    match tile {
        4061 => affine_tiles::<_, O, I, B, 4, 6, 1>(pass, w, b, x, out),
        4032 => affine_tiles::<_, O, I, B, 4, 3, 2>(pass, w, b, x, out),
        2032 => affine_tiles::<_, O, I, B, 2, 3, 2>(pass, w, b, x, out),
        2034 => affine_tiles::<_, O, I, B, 2, 3, 4>(pass, w, b, x, out),
        1038 => affine_tiles::<_, O, I, B, 1, 3, 8>(pass, w, b, x, out),
        _ => affine_into(pass, w, b, x, out),
    }
}

/// Vectors of 16 rows per tile of a 16-lane batch kernel
/// ([`affine_tiles16`], [`ao_tiles16`]) for a height `o`, or `None` where
/// 16 does not divide it: 4, 3, 2 or 1, whichever first divides the
/// height's vectors, so that the tiles cover the height exactly.
const fn zmm_rows(o: usize) -> Option<usize> {
    if o == 0 || !o.is_multiple_of(16) {
        return None;
    }
    let v = o / 16;
    Some(if v.is_multiple_of(4) {
        4
    } else if v.is_multiple_of(3) {
        3
    } else if v.is_multiple_of(2) {
        2
    } else {
        1
    })
}

/// The tile (vectors of 16 rows, columns) of [`affine_tiles16`] for these
/// shapes, or `None` where 16 does not divide the height (unless it is one
/// masked vector of 9 to 15 rows, [`zmm_masked`]),
/// [`simd_affine_vl`] does not take the shapes ([`wide_affine_tile`]), the
/// batch is narrower than a tile or the outputs have 8 chains: 24 sums of
/// 16 lanes (12 for a height of an odd number of 16-row vectors in one
/// chain), twice what the 8-lane tiles of [`simd_affine_vl`] hold.
const fn zmm_affine_tile(o: usize, i: usize, b: usize) -> Option<(usize, usize)> {
    let r = match zmm_rows(o) {
        Some(r) => r,
        None if zmm_masked(o) => 1,
        None => return None,
    };
    let s = chains(o, i);
    // Only shapes `simd_affine_vl` takes (`Avx2::affine` asks
    // `wide_affine_tile`, which asks `wide_pays`).
    if wide_affine_tile(o, i, b).is_none() || s > 4 {
        return None;
    }
    let c = 24 / (r * s);
    let c = if c > 12 { 12 } else { c };
    if b < c { None } else { Some((r, c)) }
}

/// [`affine`](affine_into) of a batch in 16-lane vectors where
/// [`zmm_affine_tile`] gives a tile (`O` a multiple of 16, or 9 to 15
/// rows in one masked vector, [`zmm_masked`]): every tile of
/// `R` vectors by `C` columns, each output in `S` chains, and a narrower
/// tile for the last `B mod C` columns. Each lane does what a lane of [`affine_tile`] does (the same
/// chains from the bias, the same terms in the same order, the same tree):
/// the same bits.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn affine_tiles16<
    P: Isa,
    const O: usize,
    const I: usize,
    const B: usize,
    const R: usize,
    const C: usize,
    const S: usize,
>(
    pass: P,
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[[f32; I]; B],
    out: &mut [[MaybeUninit<f32>; O]; B],
) {
    let (full, rest) = (B / C, B % C);
    let mut v0 = 0;
    // `O / 16` vectors, or one masked vector for 9 to 15 rows.
    while v0 < O.div_ceil(16) {
        for t in 0..full {
            affine_tile16::<_, O, I, B, R, C, S>(pass, w, b, x, out, v0, t * C);
        }
        if rest > 0 {
            let j0 = full * C;
            narrower_tile!(const { B % C }, [1 2 3 4 5 6 7 8 9 10 11], |K| {
                affine_tile16::<_, O, I, B, R, K, S>(pass, w, b, x, out, v0, j0)
            });
        }
        v0 += R;
    }
}

/// `R` vectors of 16 rows (from vector `v0`) by `C` columns (from `j0`) of
/// `out`, each output summed in `S` chains as in [`affine_tile`].
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn affine_tile16<
    P: Isa,
    const O: usize,
    const I: usize,
    const B: usize,
    const R: usize,
    const C: usize,
    const S: usize,
>(
    _: P,
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[[f32; I]; B],
    out: &mut [[MaybeUninit<f32>; O]; B],
    v0: usize,
    j0: usize,
) {
    let zero = _mm512_setzero_ps();
    let mut rows = [0; R];
    for (r, row) in rows.iter_mut().enumerate() {
        *row = 16 * (v0 + r);
    }
    let mut acc = [[[zero; R]; C]; S];
    for r in 0..R {
        let bias = lanes16(at_row(b, rows[r]));
        for c in 0..C {
            acc[0][c][r] = bias;
        }
    }
    let mut i = 0;
    chain_terms!(
        acc,
        w,
        x,
        rows,
        j0,
        i,
        zero,
        lanes16,
        at_row,
        _mm512_set1_ps,
        _mm512_fmadd_ps
    );
    for c in 0..C {
        for r in 0..R {
            let mut chain = [zero; S];
            for s in 0..S {
                chain[s] = acc[s][c][r];
            }
            put16(&mut out[j0 + c], rows[r], tree16(chain));
        }
    }
}

/// The low `min(o, 16)` lanes: a height under 16 rows ([`zmm_masked`]).
const fn mask16(o: usize) -> u16 {
    if o >= 16 {
        0xFFFF
    } else {
        ((1u32 << o) - 1) as u16
    }
}

/// Reads the first `min(O, 16)` values of `a` into the low lanes, the
/// others 0 (called for `O < 16`: all of `a`).
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn load16m<const O: usize>(a: &[f32; O]) -> __m512 {
    // SAFETY: the mask selects the lanes `0..min(O, 16)`, which `a` holds
    // (`O` initialised `f32`); the masked-off lanes are not read, and
    // cannot fault; `loadu` has no alignment requirement.
    unsafe { _mm512_maskz_loadu_ps(const { mask16(O) }, a.as_ptr()) }
}

/// Writes the low `min(O, 16)` lanes of `v` into `a`'s first slots, which
/// may not be initialised yet.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn store16m<const O: usize>(a: &mut [MaybeUninit<f32>; O], v: __m512) {
    // SAFETY: the mask selects the lanes `0..min(O, 16)`, within `a`'s `O`
    // slots (`MaybeUninit<f32>` has `f32`'s size and alignment), a unique
    // reference; the masked-off lanes are not written.
    unsafe { _mm512_mask_storeu_ps(a.as_mut_ptr().cast(), const { mask16(O) }, v) }
}

/// Writes the low `min(O, 16)` lanes of `v` into `a`.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn store16m_init<const O: usize>(a: &mut [f32; O], v: __m512) {
    // SAFETY: the mask selects the lanes `0..min(O, 16)`, within `a`'s `O`
    // values, a unique reference; the masked-off lanes are not written.
    unsafe { _mm512_mask_storeu_ps(a.as_mut_ptr(), const { mask16(O) }, v) }
}

/// A column (or the bias, or a row of `dy`) of a 16-lane batch kernel and
/// the row its vector starts at: what [`lanes16`] reads.
#[inline(always)]
fn at_row<const O: usize>(a: &[f32; O], row: usize) -> (&[f32; O], usize) {
    (a, row)
}

/// The 16 rows of a column from `row`; for a height of 9 to 15
/// ([`zmm_masked`]), its rows masked ([`load16m`]).
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn lanes16<const O: usize>((a, row): (&[f32; O], usize)) -> __m512 {
    if const { O < 16 } {
        load16m(a)
    } else {
        load16(at16(a, row))
    }
}

/// Writes 16 rows of a column of `out` from `row`; for a height of 9 to
/// 15, its rows ([`store16m`]).
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn put16<const O: usize>(a: &mut [MaybeUninit<f32>; O], row: usize, v: __m512) {
    if const { O < 16 } {
        store16m(a, v)
    } else {
        store16_last(at16_mut(a, row), v, 16)
    }
}

/// Writes 16 rows of a column of `dW` from `row`; for a height of 9 to
/// 15, its rows ([`store16m_init`]).
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn put16_init<const O: usize>(a: &mut [f32; O], row: usize, v: __m512) {
    if const { O < 16 } {
        store16m_init(a, v)
    } else {
        store16(at16_mut(a, row), v)
    }
}

/// `a[0] + a[1] + …` as [`tree`] adds them, in 16 lanes.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn tree16<const S: usize>(mut a: [__m512; S]) -> __m512 {
    let mut n = S;
    while n > 1 {
        for k in 0..n / 2 {
            a[k] = _mm512_add_ps(a[2 * k], a[2 * k + 1]);
        }
        n /= 2;
    }
    a[0]
}

/// Whether one sample's `W x + b` of these shapes goes to
/// [`simd_affine_stream`] where the CPU has AVX-512F and AVX-512VL: one
/// chain per output ([`chains`], so at least 57 outputs), at least
/// [`STREAM_WORK`] multiply-adds (the call cannot be inlined into a pass
/// compiled for AVX2 only, and must be lost in the product).
const fn streams(o: usize, i: usize, b: usize) -> bool {
    b == 1 && i > 0 && o >= 16 && chains(o, i) == 1 && o * i >= STREAM_WORK
}

/// The multiply-adds from which one sample's product [`streams`].
const STREAM_WORK: usize = 8 * 1024;

/// Rows per block of [`simd_affine_stream`]: 16 vectors of 16 lanes.
const STREAM_ROWS: usize = 256;

/// One sample's `W x + b` where [`streams`]: blocks of up to 256 rows,
/// each held in sixteen 16-lane registers while `W`'s columns go by, so
/// that `W` is read front to back in whole kilobytes of each column (what
/// the hardware prefetcher streams best), one cache line per vector load
/// where the columns start on one (a 256-row column does). Each output is
/// one chain from its bias over the inputs in order, one fused multiply-add each, as in [`affine_chains`] with one
/// chain: the same bits. A height that 16 does not divide ends with a
/// window that overlaps the one before it (as [`offset`]) and stores only
/// its new rows. Writes every element of `out`.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn simd_affine_stream<P: Isa, const O: usize, const I: usize>(
    pass: P,
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[f32; I],
    out: &mut [MaybeUninit<f32>; O],
) {
    let mut r0 = 0;
    while r0 + STREAM_ROWS <= O {
        stream_block::<_, O, I, 16>(pass, w, b, x, out, r0);
        r0 += STREAM_ROWS;
    }
    if r0 < O {
        // The last rows, in as many vectors as they need (their last
        // window ending at `O`).
        narrower_tile!(const { (O % STREAM_ROWS).div_ceil(16) }, [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15], |V| {
            stream_block::<_, O, I, V>(pass, w, b, x, out, r0)
        });
    }
}

/// Rows `r0 ..` of one sample's `W x + b` in `V` vectors of 16 lanes, the
/// last ending at `O` where 16 does not divide what is left (then storing
/// only its new rows).
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn stream_block<P: Isa, const O: usize, const I: usize, const V: usize>(
    _: P,
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[f32; I],
    out: &mut [MaybeUninit<f32>; O],
    r0: usize,
) {
    let mut rows = [0; V];
    for (t, row) in rows.iter_mut().enumerate() {
        *row = (r0 + 16 * t).min(O - 16);
    }
    let mut acc = [_mm512_setzero_ps(); V];
    for t in 0..V {
        acc[t] = load16(at16(b, rows[t]));
    }
    for (wi, &xi) in w.iter().zip(x) {
        let xv = _mm512_set1_ps(xi);
        for t in 0..V {
            acc[t] = _mm512_fmadd_ps(load16(at16(wi, rows[t])), xv, acc[t]);
        }
    }
    for t in 0..V {
        // The rows the window before this one did not store.
        let done = if t == 0 { r0 } else { rows[t - 1] + 16 };
        let new = rows[t] + 16 - done;
        store16_last(at16_mut(out, rows[t]), acc[t], new);
    }
}

/// Every tile of `R` vectors by `C` columns (`R ≤` the vectors, `C ≤ B`),
/// and a narrower tile for the last `B mod C` columns. Compiled with
/// AVX-512VL's 32 registers where [`simd_affine_vl`] inlines it, with
/// AVX2's 16 where [`affine_chains`] does.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn affine_tiles<
    P: Isa,
    const O: usize,
    const I: usize,
    const B: usize,
    const R: usize,
    const C: usize,
    const S: usize,
>(
    pass: P,
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[[f32; I]; B],
    out: &mut [[MaybeUninit<f32>; O]; B],
) {
    // Whole tiles of `C` columns, then the last `B mod C` columns as one
    // narrower tile: a last tile overlapping the one before would compute
    // whole columns twice (a batch of 32 in tiles of 6: 36 columns' work).
    let (full, rest) = (B / C, B % C);
    // A last pair of rows goes in a pass of its own (see `pair_last`),
    // where the tiles fit in the whole vectors above it (the 8-lane tiles
    // of 2 vectors that the AVX-512 kernels take for a batch too narrow
    // for their 16-lane ones do not, at a height of 10).
    let pair = const { pair_last(O, I, B) && R <= O / 8 };
    let vectors = if pair { O / 8 } else { O.div_ceil(8) };
    if pair {
        affine_last_pair(w, b, x, out);
    }
    for v0 in tiles(vectors, R) {
        for t in 0..full {
            affine_tile::<_, O, I, B, R, C, S>(pass, w, b, x, out, v0, t * C);
        }
        if rest > 0 {
            let j0 = full * C;
            narrower_tile!(const { B % C }, [1 2 3 4 5], |K| {
                affine_tile::<_, O, I, B, R, K, S>(pass, w, b, x, out, v0, j0)
            });
        }
    }
}

/// Whether a batch product of these shapes computes its last two rows in
/// [`affine_last_pair`]: a height of 2 more than a multiple of 8 (a
/// classifier's 10 outputs), in 4 chains (so at most 3 vectors), with at
/// most [`PAIR_INPUTS`] inputs. The 8-lane windows cover such a height
/// with a last window overlapping the one before in 6 rows (10 outputs: 16
/// lanes of multiply-adds, and a broadcast of the input for each), and
/// with 4 chains the tiles hold only 3 columns: 16 loads to 12
/// multiply-adds. One sample keeps its two windows (the latency of a pass
/// counts there, not its work).
const fn pair_last(o: usize, i: usize, b: usize) -> bool {
    b > 1 && o > 8 && o % 8 == 2 && chains(o, i) == 4 && i <= PAIR_INPUTS
}

/// The most inputs of a layer [`affine_last_pair`] takes: its copy of the
/// two rows of `W` lives on the stack, 8 bytes an input.
const PAIR_INPUTS: usize = 256;

/// The last two rows, `r = O − 2` and `r + 1`, of `W x + b` for every
/// column ([`pair_last`]), in one vector a column: lanes `[chain 0, 1, 2,
/// 3 of row r | the same of row r + 1]`. Input `i` goes to chain `i mod 4`
/// as in [`affine_tile`], so 4 inputs make one multiply-add: `W`'s two
/// rows for them, copied once into that order, times the 4 inputs loaded
/// into both halves (a load, no shuffle). The last `I mod 4` inputs go to
/// the first chains, the others' lanes kept by a blend; then the chains
/// are summed as [`tree`] sums them (`hadd` adds lane `2k` to lane `2k +
/// 1`, in that order). Each lane does what the lane of its row and chain
/// does in the windows: the same bits, in 5 multiply-adds for 4 inputs
/// where the windows take 8. With the AVX2-only kernels on an Intel Xeon
/// (family 6, model 207), paired loop rounds: digits' forward pass of 32
/// samples 0.92× the time (2114 → 1952 ns).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn affine_last_pair<const O: usize, const I: usize, const B: usize>(
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[[f32; I]; B],
    out: &mut [[MaybeUninit<f32>; O]; B],
) {
    let r = O - 2;
    let mut pairs = [[0.0f32; 8]; PAIR_INPUTS / 4];
    for (p, w) in pairs.iter_mut().zip(w.chunks_exact(4)) {
        for (k, w) in w.iter().enumerate() {
            p[k] = w[r];
            p[4 + k] = w[r + 1];
        }
    }
    let pairs = &pairs[..I / 4];
    let (full, rest) = (B / 8, B % 8);
    for t in 0..full {
        pair_tile::<O, I, B, 8>(pairs, w, b, x, out, 8 * t);
    }
    if rest > 0 {
        narrower_tile!(const { B % 8 }, [1 2 3 4 5 6 7], |K| {
            pair_tile::<O, I, B, K>(pairs, w, b, x, out, 8 * full)
        });
    }
}

/// [`affine_last_pair`] for the `C` columns from `j0`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn pair_tile<const O: usize, const I: usize, const B: usize, const C: usize>(
    pairs: &[[f32; 8]],
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[[f32; I]; B],
    out: &mut [[MaybeUninit<f32>; O]; B],
    j0: usize,
) {
    let r = O - 2;
    // Chain 0 of each row starts from the bias, the others from zero.
    let mut acc = [_mm256_setr_ps(b[r], 0.0, 0.0, 0.0, b[r + 1], 0.0, 0.0, 0.0); C];
    for (k, p) in pairs.iter().enumerate() {
        let wv = load(p);
        for (c, acc) in acc.iter_mut().enumerate() {
            let xs = load4(at4(&x[j0 + c], 4 * k));
            *acc = _mm256_fmadd_ps(wv, _mm256_set_m128(xs, xs), *acc);
        }
    }
    let i = 4 * pairs.len();
    if i < I {
        // The last `I − i` inputs, to chains 0, 1, …: the other lanes'
        // products (of zeros) are computed and dropped.
        let wv = two_rows(r, |k, row| if i + k < I { w[i + k][row] } else { 0.0 });
        let keep = new_lanes_each_half(I - i);
        for (c, acc) in acc.iter_mut().enumerate() {
            let xj = &x[j0 + c];
            let v = |k: usize| if i + k < I { xj[i + k] } else { 0.0 };
            let xs = _mm_setr_ps(v(0), v(1), v(2), v(3));
            let sum = _mm256_fmadd_ps(wv, _mm256_set_m128(xs, xs), *acc);
            *acc = _mm256_blendv_ps(*acc, sum, keep);
        }
    }
    for (c, &acc) in acc.iter().enumerate() {
        let half = _mm256_hadd_ps(acc, acc);
        let total = _mm256_hadd_ps(half, half);
        let col = &mut out[j0 + c];
        col[r].write(_mm256_cvtss_f32(total));
        col[r + 1].write(_mm_cvtss_f32(_mm256_extractf128_ps::<1>(total)));
    }
}

/// `[f(0, r), …, f(3, r) | f(0, r + 1), …, f(3, r + 1)]`: a vector of two
/// rows by 4 chains or columns ([`pair_tile`], [`ao_pair_tile`]).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn two_rows(r: usize, f: impl Fn(usize, usize) -> f32) -> __m256 {
    _mm256_setr_ps(
        f(0, r),
        f(1, r),
        f(2, r),
        f(3, r),
        f(0, r + 1),
        f(1, r + 1),
        f(2, r + 1),
        f(3, r + 1),
    )
}

/// Lanes `0..n` of each 128-bit half set (`n ≤ 4`): the chains the last
/// inputs of [`pair_tile`] go to, in both rows.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn new_lanes_each_half(n: usize) -> __m256 {
    let lane = _mm256_setr_epi32(0, 1, 2, 3, 0, 1, 2, 3);
    _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lane))
}

/// `R` vectors (from vector `v0`) by `C` columns (from `j0`) of `out`, each
/// output summed in `S` chains.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn affine_tile<
    P: Isa,
    const O: usize,
    const I: usize,
    const B: usize,
    const R: usize,
    const C: usize,
    const S: usize,
>(
    _: P,
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[[f32; I]; B],
    out: &mut [[MaybeUninit<f32>; O]; B],
    v0: usize,
    j0: usize,
) {
    let zero = _mm256_setzero_ps();
    let mut rows = [0; R];
    for (r, row) in rows.iter_mut().enumerate() {
        *row = offset(O, v0 + r);
    }
    let mut acc = [[[zero; R]; C]; S];
    for r in 0..R {
        let bias = load(at(b, rows[r]));
        for c in 0..C {
            acc[0][c][r] = bias;
        }
    }
    let mut i = 0;
    if C == 1 {
        // One column: its inputs 8 at a time, written as one load and
        // broadcasts from that register. The compiler turns them back into
        // one broadcast load per input (and keeping the shuffles, behind an
        // optimisation barrier, measured slower: they share ports with the
        // multiply-adds), but this loop, 8 inputs a step, still measured
        // 5-8 ns faster on the digits pass than the general one below. The
        // same terms reach the same chains in the same order as below
        // (input k to chain k mod S; S divides 8).
        //
        // The input is read through `black_box`: where it is the output of
        // the layer before, inlined into the same pass, it is still in
        // registers, and the compiler broadcast each input from there with
        // one or two shuffles: 64 shuffles beside the 64 multiply-adds of
        // digits' 32 → 10 layer, and an Intel core runs every shuffle on
        // one port (64 cycles) where two ports do the multiply-adds (32).
        // Behind the hint the input is stored once and every input
        // broadcast by the load ports. `W` goes through it too: otherwise
        // the compiler, free to read `W` before the hint (it cannot change
        // behind a shared reference), loaded a small layer's whole `W` up
        // front and spilled most of it to the stack. Measured on an Intel
        // Xeon (family 6, model 207), paired loop rounds, against the
        // kernel without the hint: default build, digits one sample 70.6 →
        // 66.6 ns, tiny 39.0 → 34.3 ns, the `tanh` model 74.4 → 69.8 ns;
        // the AVX2-only kernels (`STATICNET_NO_AVX512=1`), digits 71.0 →
        // 66.5 ns, tiny 37.3 → 35.3 ns; the forward passes of 32 and the
        // steps level. The hint changes no value, only where it is read
        // from.
        let (xj, w): (&[f32; I], _) = core::hint::black_box((&x[j0], w));
        while i + 8 <= I {
            let xs = load(at(xj, i));
            let halves = [
                _mm256_permute2f128_ps::<0x00>(xs, xs),
                _mm256_permute2f128_ps::<0x11>(xs, xs),
            ];
            for (h, &half) in halves.iter().enumerate() {
                let lanes = [
                    _mm256_permute_ps::<0x00>(half),
                    _mm256_permute_ps::<0x55>(half),
                    _mm256_permute_ps::<0xAA>(half),
                    _mm256_permute_ps::<0xFF>(half),
                ];
                for (e, &xv) in lanes.iter().enumerate() {
                    let k = 4 * h + e;
                    let wi = &w[i + k];
                    for r in 0..R {
                        acc[k % S][0][r] =
                            _mm256_fmadd_ps(load(at(wi, rows[r])), xv, acc[k % S][0][r]);
                    }
                }
            }
            i += 8;
        }
    }
    chain_terms!(
        acc,
        w,
        x,
        rows,
        j0,
        i,
        zero,
        load,
        at,
        _mm256_set1_ps,
        _mm256_fmadd_ps
    );
    for c in 0..C {
        for r in 0..R {
            let mut chain = [zero; S];
            for s in 0..S {
                chain[s] = acc[s][c][r];
            }
            // Vector `v0 + r`'s rows not yet written (all but in a last,
            // overlapping window).
            let new = O - 8 * (v0 + r);
            store_last(at_mut(&mut out[j0 + c], rows[r]), tree(chain), new);
        }
    }
}

// ---------------------------------------------------------------------------
// gates: a recurrent cell's acc += W x + V y.

/// Writes the gate kernel ([`simd_gates`] and its blocks) for one set of
/// target features, with at most `$max` vectors of sums in registers (`$r`:
/// the block sizes below it).
macro_rules! gates_kernel {
    ($gates:ident, $block:ident, $features:literal, [$($r:literal)*], $max:literal) => {
        /// `acc += W x + V y` over the gates `gates`, `acc = fma(w[i], x[i], acc)`
        /// for each column `i` of `W` in turn, then the same for `V`: the gates'
        /// sums are contiguous, so their whole vectors go in blocks of at most
        /// `$max` (split evenly, so that no block is left with too few
        /// sums to hide the FMA latency), each block held in registers through all
        /// the columns of both matrices; the last `len mod 8` sums one by one with
        /// the same fused operation. Each element's terms are added in the order
        /// of the columns whatever the blocking, so any range of gates gives the
        /// bits the whole call gives, and one call the bits of two (`W x`, then
        /// `V y`).
        #[target_feature(enable = $features)]
        #[inline]
        fn $gates<const N: usize, const M: usize, const G: usize, const H: usize>(
            w: &[[[f32; H]; G]; N],
            x: &[f32; N],
            v: &[[[f32; H]; G]; M],
            y: &[f32; M],
            acc: &mut [[f32; H]; G],
            gates: Range<usize>,
        ) {
            assert!(
                gates.start <= gates.end && gates.end <= G,
                "gates: {gates:?} is not a range of the {G} gates"
            );
            let run = gates.start * H..gates.end * H;
            let flat = acc.as_flattened_mut();
            let vectors = run.len() / 8;
            let blocks = vectors.div_ceil($max);
            let mut done = 0;
            for b in 0..blocks {
                let r = (vectors - done).div_ceil(blocks - b);
                let from = run.start + 8 * done;
                let acc = &mut flat[from..];
                match r {
                    $($r => $block::<N, M, G, H, $r>(w, x, v, y, acc, from),)*
                    _ => $block::<N, M, G, H, $max>(w, x, v, y, acc, from),
                }
                done += r;
            }
            for e in run.start + 8 * vectors..run.end {
                let mut a = _mm_set_ss(flat[e]);
                for (column, &xi) in w.iter().zip(x) {
                    a = _mm_fmadd_ss(_mm_set_ss(column.as_flattened()[e]), _mm_set_ss(xi), a);
                }
                for (column, &yj) in v.iter().zip(y) {
                    a = _mm_fmadd_ss(_mm_set_ss(column.as_flattened()[e]), _mm_set_ss(yj), a);
                }
                flat[e] = _mm_cvtss_f32(a);
            }
        }

        /// `R` consecutive vectors of [`simd_gates`], element `from` of the
        /// flattened sums on (`acc` starts there), in registers through all the
        /// columns of `W`, then of `V`.
        #[target_feature(enable = $features)]
        #[inline]
        fn $block<const N: usize, const M: usize, const G: usize, const H: usize, const R: usize>(
            w: &[[[f32; H]; G]; N],
            x: &[f32; N],
            v: &[[[f32; H]; G]; M],
            y: &[f32; M],
            acc: &mut [f32],
            from: usize,
        ) {
            let acc = &mut acc[..8 * R];
            let mut a = [_mm256_setzero_ps(); R];
            for (r, a) in a.iter_mut().enumerate() {
                *a = load(at(acc, 8 * r));
            }
            for (column, &xi) in w.iter().zip(x) {
                let column = &column.as_flattened()[from..from + 8 * R];
                let xv = _mm256_set1_ps(xi);
                for (r, a) in a.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(load(at(column, 8 * r)), xv, *a);
                }
            }
            for (column, &yj) in v.iter().zip(y) {
                let column = &column.as_flattened()[from..from + 8 * R];
                let yv = _mm256_set1_ps(yj);
                for (r, a) in a.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(load(at(column, 8 * r)), yv, *a);
                }
            }
            for (r, &a) in a.iter().enumerate() {
                store(at_mut(acc, 8 * r), a);
            }
        }
    };
}

// 12 sums, the broadcast `x_i` and room for the loads among AVX2's 16
// registers.
gates_kernel!(simd_gates, gates_block, "avx2,fma", [1 2 3 4 5 6 7 8 9 10 11], 12);
// The same 8-lane arithmetic with AVX-512VL's 32 registers: 24 sums, so
// that an LSTM of 32 units (16 vectors) runs in one block, whose 16
// independent sums keep both FMA units busy (two blocks of 8 reach 1.5
// multiply-adds per cycle on a core with a latency of 4).
gates_kernel!(
    simd_gates_vl,
    gates_block_vl,
    "avx2,fma,avx512f,avx512vl",
    [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23],
    24
);

/// `O = 1`: `out[0, j] = b + ⟨W, x[:, j]⟩` over the contiguous row `W`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn affine_row<P: Isa, const O: usize, const I: usize, const B: usize>(
    _: P,
    w: &[[f32; O]; I],
    b: &[f32; O],
    x: &[[f32; I]; B],
) -> [[f32; O]; B] {
    let mut out = [[0.0; O]; B];
    // `O = 1`: the storage is the row, `I` long.
    let row: &[f32; I] = w.as_flattened().try_into().expect("one row of I weights");
    for (y, xj) in out.iter_mut().zip(x) {
        y[0] = b[0] + dot(row, xj);
    }
    out
}

/// `⟨a, b⟩` for arrays of length `n`: windows of 8 (the last one
/// overlapping and masked) spread over up to 4 chains, the chains summed as
/// a tree, then the lanes as in [`lane_sum`]; below 8, in order. (The
/// length is a constant, so that the loops unroll and the call inlines.)
#[target_feature(enable = "avx2,fma")]
#[inline]
fn dot<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32 {
    let n = N;
    if n < 8 {
        let mut s = 0.0;
        for (&u, &v) in a.iter().zip(b) {
            s += u * v;
        }
        return s;
    }
    let windows = n.div_ceil(8);
    let chains = if windows >= 4 {
        4
    } else if windows >= 2 {
        2
    } else {
        1
    };
    let zero = _mm256_setzero_ps();
    let mut acc = [zero; 4];
    let full = n / 8;
    for k in 0..full {
        let c = k % chains;
        acc[c] = _mm256_fmadd_ps(load(at(a, 8 * k)), load(at(b, 8 * k)), acc[c]);
    }
    if !n.is_multiple_of(8) {
        let m = new_lanes(n % 8);
        let c = full % chains;
        let u = _mm256_and_ps(load(at(a, n - 8)), m);
        let v = _mm256_and_ps(load(at(b, n - 8)), m);
        acc[c] = _mm256_fmadd_ps(u, v, acc[c]);
    }
    let sum = match chains {
        4 => tree([acc[0], acc[1], acc[2], acc[3]]),
        2 => tree([acc[0], acc[1]]),
        _ => acc[0],
    };
    lane_sum(sum)
}

// ---------------------------------------------------------------------------
// transpose_times: Wᵀ dy.

/// `Wᵀ dy` (see the module docs) into `out` (every element written).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose_times_into<const O: usize, const I: usize, const B: usize>(
    w: &[[f32; O]; I],
    dy: &[[f32; O]; B],
    out: &mut [[MaybeUninit<f32>; I]; B],
) {
    if O < 8 {
        fill_slots(out, portable::transpose_times(w, dy));
        return;
    }
    if const { transposed(O, I) } {
        // Up to 3 windows per dot product: summing the lanes would cost more
        // than the products. Transpose W instead (O·I moves, into a copy on
        // the stack of at most 64 KiB) and run W x + b on it, with vectors
        // down the columns of Wᵀ and no lane sums.
        affine_into(Checked, &transpose(w), &[0.0; I], dy, out);
        return;
    }
    // One sample: 8 outputs of one column, their lanes summed together. A
    // batch of at least 6: 2 outputs by 6 columns (12 sums in flight: the
    // FMA latency times two units, with room to spare; 8 loads per 12
    // FMAs, in 15 registers). 4 outputs by 3 columns, the tile before,
    // needed 17 registers with the compiler's choice of loads, so one sum
    // went through the stack every window: on Zen 3, mid's 256 × 256
    // `Wᵀ dy` of 32 samples took 79 µs, 55 µs in these tiles. Batches of
    // 3 to 5 keep it.
    let tile = const {
        let (rows, cols) = if B == 1 {
            (8, 1)
        } else if B >= 6 {
            (2, 6)
        } else if B >= 3 {
            (4, 3)
        } else {
            (4, B)
        };
        if I < rows || B < cols {
            0
        } else {
            tile_code(Some((rows, cols)))
        }
    };
    match tile {
        0 => {
            for i0 in 0..I {
                for j0 in 0..B {
                    tt_tile::<O, I, B, 1, 1>(w, dy, out, i0, j0);
                }
            }
        }
        801 => tt_blocks::<O, I, B, 8, 1>(w, dy, out),
        206 => tt_blocks::<O, I, B, 2, 6>(w, dy, out),
        403 => tt_blocks::<O, I, B, 4, 3>(w, dy, out),
        402 => tt_blocks::<O, I, B, 4, 2>(w, dy, out),
        _ => tt_blocks::<O, I, B, 1, 1>(w, dy, out),
    }
}

/// The loop of [`tt_blocks`] and [`tt_blocks16`] over the tiles of `R`
/// outputs by `C` columns (`$tile`), in blocks of `$block` tiles (`O`,
/// `I`, `B`, `R`, `C` the calling kernel's constants).
macro_rules! tt_block_loop {
    ($w:ident, $dy:ident, $out:ident, $tile:ident, $block:literal) => {
        let full = I / R;
        let count = full + usize::from(!I.is_multiple_of(R));
        // The columns in whole tiles of `C`, then the last `B mod C` as one
        // narrower tile (a last tile overlapping the one before would
        // compute whole columns twice).
        let rest = B % C;
        let mut t0 = 0;
        while t0 < count {
            let t1 = (t0 + $block).min(count);
            for j in 0..B.div_ceil(C) {
                let j0 = j * C;
                for t in t0..t1 {
                    // The tiles of `tiles(I, R)`, by index.
                    let i0 = if t < full { t * R } else { I - R };
                    if j0 + C <= B {
                        $tile::<O, I, B, R, C>($w, $dy, $out, i0, j0);
                        continue;
                    }
                    narrower_tile!(rest, [1 2 3 4 5], |K| {
                        $tile::<O, I, B, R, K>($w, $dy, $out, i0, j0)
                    });
                }
            }
            t0 = t1;
        }
    };
}

/// Every tile of `R` outputs by `C` columns of `Wᵀ dy` (`R ≤ I`, `C ≤ B`)
/// in blocks of 8 tiles: their `8R` columns of W (16 KiB for tiles of 2
/// outputs and a height of 256) stay in L1 while the columns of dy go by,
/// each tile's columns of dy in L1 for the 8 tiles of the block.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn tt_blocks<const O: usize, const I: usize, const B: usize, const R: usize, const C: usize>(
    w: &[[f32; O]; I],
    dy: &[[f32; O]; B],
    out: &mut [[MaybeUninit<f32>; I]; B],
) {
    tt_block_loop!(w, dy, out, tt_tile, 8);
}

/// Whether [`simd_transpose_times_vl`] takes these shapes in 16-lane
/// tiles ([`tt_blocks16`]): [`wide_transpose`] with at least 8 outputs.
const fn zmm_transpose(o: usize, i: usize, b: usize) -> bool {
    wide_transpose(o, i, b) && i >= 8
}

/// [`tt_blocks`] in 16-lane tiles of 8 outputs (`R = 8`) by `C` columns,
/// in blocks of 2 tiles (their 16 columns of `W`, 16 KiB at a height of
/// 256, stay in L1 while the columns of `dy` go by).
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn tt_blocks16<const O: usize, const I: usize, const B: usize, const R: usize, const C: usize>(
    w: &[[f32; O]; I],
    dy: &[[f32; O]; B],
    out: &mut [[MaybeUninit<f32>; I]; B],
) {
    const { assert!(R == 8, "tiles of 8 outputs") };
    tt_block_loop!(w, dy, out, tt_tile16, 2);
}

/// [`tt_tile`] for 8 outputs (`R = 8`, from `i0`) by `C` columns (from
/// `j0`) in 16-lane vectors: each holds two outputs' 8-lane sums side by
/// side (columns `i` and `i + 1` of `W`, each column of `dy` in both
/// halves), so that each half does what [`tt_tile`]'s vector does, window
/// by window in order (the same masked last window); the halves are then
/// summed lane by lane as [`lane_sums8`] sums them: the same bits.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn tt_tile16<const O: usize, const I: usize, const B: usize, const R: usize, const C: usize>(
    w: &[[f32; O]; I],
    dy: &[[f32; O]; B],
    out: &mut [[MaybeUninit<f32>; I]; B],
    i0: usize,
    j0: usize,
) {
    let mut acc = [[_mm512_setzero_ps(); 4]; C];
    for k in 0..O / 8 {
        tt_window16::<O, I, B, C>(w, dy, i0, j0, 8 * k, None, &mut acc);
    }
    if !O.is_multiple_of(8) {
        // The last window ends at `O`, its rows before the earlier windows'
        // end masked off.
        let m = Some(new_lanes(O % 8));
        tt_window16::<O, I, B, C>(w, dy, i0, j0, O - 8, m, &mut acc);
    }
    for c in 0..C {
        let mut v = [_mm256_setzero_ps(); 8];
        for p in 0..4 {
            v[2 * p] = _mm512_castps512_ps256(acc[c][p]);
            v[2 * p + 1] =
                _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(acc[c][p])));
        }
        store_slots(at_mut(&mut out[j0 + c], i0), lane_sums8(v));
    }
}

/// Whether [`simd_transpose_times_vl`] takes these shapes as dot
/// products: a batch of at least 6 columns ([`wide_pays`]) that
/// [`transpose_times_into`] would take as dot products in tiles of 4
/// outputs.
const fn wide_transpose(o: usize, i: usize, b: usize) -> bool {
    wide_pays(o, i, b) && b >= 6 && i >= 4 && !transposed(o, i)
}

/// Whether [`simd_transpose_times_vl`] takes these shapes as `Wᵀ dy` on
/// a transposed copy of `W`: a batch that [`transpose_times_into`] would
/// transpose, whose product on the copy has an AVX-512VL tile
/// ([`wide_affine_tile`] of `Wᵀ`'s shape, which asks [`wide_pays`] of the
/// same product).
const fn wide_transposed(o: usize, i: usize, b: usize) -> bool {
    transposed(o, i) && wide_affine_tile(i, o, b).is_some()
}

/// [`transpose_times`](transpose_times_into) of a batch compiled with
/// AVX-512F and AVX-512VL too, with 24 sums in registers where the AVX2
/// kernel holds 12: where [`wide_transpose`], tiles of 4 outputs by 6
/// columns (10 loads per 24 FMAs) instead of 4 by 3; where
/// [`wide_transposed`], the product on the transposed copy in
/// [`simd_affine_vl`]'s tiles (for the digits model's 32 × 10 layer,
/// tiles of 4 vectors by 3 columns instead of 2 by 3). The same sums in
/// the same order, so the same bits. Writes every element of `out`.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn simd_transpose_times_vl<const O: usize, const I: usize, const B: usize>(
    w: &[[f32; O]; I],
    dy: &[[f32; O]; B],
    out: &mut [[MaybeUninit<f32>; I]; B],
) {
    if const { zmm_transpose(O, I, B) } {
        tt_blocks16::<O, I, B, 8, 4>(w, dy, out);
    } else if const { wide_transpose(O, I, B) } {
        tt_blocks::<O, I, B, 4, 6>(w, dy, out);
    } else if const { wide_transposed(O, I, B) } {
        simd_affine_vl(Checked, &transpose(w), &[0.0; I], dy, out);
    } else {
        transpose_times_into(w, dy, out);
    }
}

/// The most elements of `W` that [`transpose_times`](transpose_times_into) copies to the stack to
/// transpose (64 KiB of `f32`); larger short matrices take the dot products.
const TRANSPOSED_MAX: usize = 16 * 1024;

/// Whether [`transpose_times`](transpose_times_into) runs on a transposed
/// copy of `W` ([`transpose`]): 8 to 24 outputs (one to three windows per
/// dot product) and at most [`TRANSPOSED_MAX`] elements.
const fn transposed(o: usize, i: usize) -> bool {
    o >= 8 && o <= 24 && o * i <= TRANSPOSED_MAX
}

/// `Wᵀ`, as `W`'s storage of `I × O` (onto the stack): in blocks of 8
/// columns by 8 rows transposed in registers ([`block_to_lanes`]; the
/// last block of each direction overlapping the one before where 8 does
/// not divide it), or with fewer than 8 columns in `O · I` moves. The same
/// values either way. (Digits' 10 × 32 took 320 loads and 320 stores, now
/// 8 blocks of 16 loads, 16 shuffles and 8 stores: its backward pass of
/// 32 samples 0.98× the time with the AVX2-only kernels, paired loop
/// rounds on an Intel Xeon, family 6 model 207.)
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose<const O: usize, const I: usize>(w: &[[f32; O]; I]) -> [[f32; I]; O] {
    let mut wt = [[0.0; I]; O];
    if I < 8 || O < 8 {
        for (i, col) in w.iter().enumerate() {
            for (row, &v) in wt.iter_mut().zip(col) {
                row[i] = v;
            }
        }
        return wt;
    }
    for i in tiles(I, 8) {
        for k in tiles(O, 8) {
            for (r, v) in block_to_lanes(&w[i..i + 8], k).into_iter().enumerate() {
                store(at_mut(&mut wt[k + r], i), v);
            }
        }
    }
    wt
}

/// Elements `k .. k + 8` of the 8 arrays `rows`, transposed: vector `r`
/// holds element `k + r` of every array, array `s` in lane `s`. Each
/// vector of 128-bit halves is loaded as arrays `s` and `s + 4` (a load
/// and an insert from memory), then transposed as two 4 × 4 blocks within
/// the 128-bit lanes ([`transpose_in_lanes`]): 16 shuffles.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn block_to_lanes<const N: usize>(rows: &[[f32; N]], k: usize) -> [__m256; 8] {
    let pair = |s: usize, h: usize| {
        let lo = load4(at4(&rows[s], k + 4 * h));
        let hi = load4(at4(&rows[s + 4], k + 4 * h));
        _mm256_set_m128(hi, lo)
    };
    let a = transpose_in_lanes([pair(0, 0), pair(1, 0), pair(2, 0), pair(3, 0)]);
    let b = transpose_in_lanes([pair(0, 1), pair(1, 1), pair(2, 1), pair(3, 1)]);
    [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
}

/// Each 128-bit lane of the 4 vectors transposed as a 4 × 4 block: lane
/// `s` of vector `r` of the result is lane `r` of vector `s` (within each
/// half). Four unpacks and four shuffles.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose_in_lanes(t: [__m256; 4]) -> [__m256; 4] {
    let u0 = _mm256_unpacklo_ps(t[0], t[1]);
    let u1 = _mm256_unpackhi_ps(t[0], t[1]);
    let u2 = _mm256_unpacklo_ps(t[2], t[3]);
    let u3 = _mm256_unpackhi_ps(t[2], t[3]);
    [
        _mm256_shuffle_ps::<0x44>(u0, u2),
        _mm256_shuffle_ps::<0xEE>(u0, u2),
        _mm256_shuffle_ps::<0x44>(u1, u3),
        _mm256_shuffle_ps::<0xEE>(u1, u3),
    ]
}

/// Outputs `i0 .. i0 + R` of columns `j0 .. j0 + C` of `Wᵀ dy`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn tt_tile<const O: usize, const I: usize, const B: usize, const R: usize, const C: usize>(
    w: &[[f32; O]; I],
    dy: &[[f32; O]; B],
    out: &mut [[MaybeUninit<f32>; I]; B],
    i0: usize,
    j0: usize,
) {
    let zero = _mm256_setzero_ps();
    let mut acc = [[zero; R]; C];
    let full = O / 8;
    for k in 0..full {
        let mut wv = [zero; R];
        for r in 0..R {
            wv[r] = load(at(&w[i0 + r], 8 * k));
        }
        for c in 0..C {
            let d = load(at(&dy[j0 + c], 8 * k));
            for r in 0..R {
                acc[c][r] = _mm256_fmadd_ps(wv[r], d, acc[c][r]);
            }
        }
    }
    if !O.is_multiple_of(8) {
        let m = new_lanes(O % 8);
        let mut wv = [zero; R];
        for r in 0..R {
            wv[r] = _mm256_and_ps(load(at(&w[i0 + r], O - 8)), m);
        }
        for c in 0..C {
            let d = _mm256_and_ps(load(at(&dy[j0 + c], O - 8)), m);
            for r in 0..R {
                acc[c][r] = _mm256_fmadd_ps(wv[r], d, acc[c][r]);
            }
        }
    }
    for c in 0..C {
        let col = &mut out[j0 + c];
        if R == 8 {
            let mut v = [zero; 8];
            v.copy_from_slice(&acc[c][..8]);
            store_slots(at_mut(col, i0), lane_sums8(v));
        } else if R == 4 {
            let mut v = [zero; 4];
            v.copy_from_slice(&acc[c][..4]);
            let dst: &mut [MaybeUninit<f32>; 4] =
                (&mut col[i0..i0 + 4]).try_into().expect("4 lanes");
            store4_slots(dst, lane_sums4(v));
        } else if R == 2 && c % 2 == 1 {
            // Columns in pairs: their 4 sums in one `lane_sums4`.
            let s = lane_sums4([acc[c - 1][0], acc[c - 1][1], acc[c][0], acc[c][1]]);
            out[j0 + c - 1][i0].write(_mm_cvtss_f32(s));
            out[j0 + c - 1][i0 + 1].write(_mm_cvtss_f32(_mm_permute_ps::<0x55>(s)));
            out[j0 + c][i0].write(_mm_cvtss_f32(_mm_permute_ps::<0xAA>(s)));
            out[j0 + c][i0 + 1].write(_mm_cvtss_f32(_mm_permute_ps::<0xFF>(s)));
        } else if R != 2 || c + 1 == C {
            for r in 0..R {
                out[j0 + c][i0 + r].write(lane_sum(acc[c][r]));
            }
        }
    }
}

/// One window of 8 rows (from `row`, `mask` keeping only some of its
/// rows) of [`tt_tile16`]'s sums: `acc[c][p]` holds outputs `i0 + 2p` and
/// `i0 + 2p + 1` by column `j0 + c`, one 8-lane half each.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn tt_window16<const O: usize, const I: usize, const B: usize, const C: usize>(
    w: &[[f32; O]; I],
    dy: &[[f32; O]; B],
    i0: usize,
    j0: usize,
    row: usize,
    mask: Option<__m256>,
    acc: &mut [[__m512; 4]; C],
) {
    let masked = |v: __m256| mask.map_or(v, |m| _mm256_and_ps(v, m));
    let mut wv = [_mm512_setzero_ps(); 4];
    for p in 0..4 {
        // Columns `i0 + 2p` and `i0 + 2p + 1` of `W` side by side.
        let lo = masked(load(at(&w[i0 + 2 * p], row)));
        let hi = masked(load(at(&w[i0 + 2 * p + 1], row)));
        wv[p] = _mm512_castpd_ps(_mm512_insertf64x4::<1>(
            _mm512_castps_pd(_mm512_castps256_ps512(lo)),
            _mm256_castps_pd(hi),
        ));
    }
    for c in 0..C {
        // Column `j0 + c` of `dy` in both halves.
        let d = masked(load(at(&dy[j0 + c], row)));
        let d = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(d)));
        for p in 0..4 {
            acc[c][p] = _mm512_fmadd_ps(wv[p], d, acc[c][p]);
        }
    }
}

// ---------------------------------------------------------------------------
// accumulate_outer: dW += dy xᵀ, db += Σ dy.

/// `acc[c][r] += Σ_j dy[rows r, j] x[i0 + c, j]`, one fused multiply-add
/// per sample in order, in vectors of the width the functions name (as
/// [`chain_terms`]; `R` and `C` are the calling kernel's constants).
macro_rules! outer_terms {
    ($acc:ident, $dy:ident, $x:ident, $rows:ident, $i0:ident, $zero:ident,
     $load:ident, $at:ident, $set1:ident, $fmadd:ident) => {
        for (dyj, xj) in $dy.iter().zip($x) {
            let mut d = [$zero; R];
            for r in 0..R {
                d[r] = $load($at(dyj, $rows[r]));
            }
            for c in 0..C {
                let xv = $set1(xj[$i0 + c]);
                for r in 0..R {
                    $acc[c][r] = $fmadd(d[r], xv, $acc[c][r]);
                }
            }
        }
    };
}

#[target_feature(enable = "avx2,fma")]
#[inline]
fn simd_accumulate_outer<const O: usize, const I: usize, const B: usize, const SET: bool>(
    dw: &mut [[f32; O]; I],
    db: &mut [f32; O],
    dy: &[[f32; O]; B],
    x: &[[f32; I]; B],
) {
    if O < 8 {
        if SET {
            for column in dw.iter_mut() {
                column.fill(0.0);
            }
            db.fill(0.0);
        }
        return portable::accumulate_outer(dw, db, dy, x);
    }
    // A last pair of rows in a pass of its own ([`ao_last_pair`]), the
    // rows above it in tiles of 1 vector by 8 columns (2 by 6 for two
    // vectors).
    match const {
        tile_code(if pair_outer(O) {
            Some(if O / 8 == 1 { (1, 8) } else { (2, 6) })
        } else {
            None
        })
    } {
        108 => {
            ao_tiles::<O, I, B, 1, 8, SET, true>(dw, db, dy, x);
            return ao_last_pair::<O, I, B, SET>(dw, dy, x);
        }
        206 => {
            ao_tiles::<O, I, B, 2, 6, SET, true>(dw, db, dy, x);
            return ao_last_pair::<O, I, B, SET>(dw, dy, x);
        }
        _ => {}
    }
    // 12 sums in registers (the FMA latency times two units, with room to
    // spare): 2 vectors by 6 columns, or 3 by 4 when the height is an odd
    // number of vectors (1 by 4 for a single vector), in `ao_tiles` (the
    // last `I mod C` columns as one narrower tile).
    // The tile as `R * 100 + C`, a constant, so that only the tile taken
    // is compiled (a match on a value computed at run time, or on a tuple,
    // compiles every arm: the kernels' tests, which sweep many shapes,
    // took minutes to build so).
    let tile = const {
        let v = O.div_ceil(8);
        if v.is_multiple_of(2) && I >= 6 {
            206
        } else if v == 1 && I >= 4 {
            104
        } else if v.is_multiple_of(2) && I >= 4 {
            204
        } else if I >= 4 {
            304
        } else {
            0
        }
    };
    match tile {
        206 => return ao_tiles::<O, I, B, 2, 6, SET, false>(dw, db, dy, x),
        104 => return ao_tiles::<O, I, B, 1, 4, SET, false>(dw, db, dy, x),
        204 => return ao_tiles::<O, I, B, 2, 4, SET, false>(dw, db, dy, x),
        304 => return ao_tiles::<O, I, B, 3, 4, SET, false>(dw, db, dy, x),
        _ => {}
    }
    let v = O.div_ceil(8);
    // Fewer than 4 columns: one vector by one column at a time.
    let fresh = accumulate_bias::<O, B, SET>(db, dy);
    for v0 in 0..v {
        for i0 in 0..I {
            ao_tile::<O, I, B, 1, 1, SET, false>(dw, dy, x, v0, i0, 0, 0, fresh);
        }
    }
}

/// Whether [`simd_accumulate_outer`] computes the last two rows of `dW`
/// in [`ao_last_pair`]: a height of 10 or 18 (2 more than a multiple of
/// 8, as a classifier's 10 outputs). The 8-lane windows cover such a
/// height with a last window overlapping the one before in 6 rows (10
/// outputs: 16 lanes of multiply-adds for 10 rows).
const fn pair_outer(o: usize) -> bool {
    o > 8 && o % 8 == 2 && o / 8 <= 2
}

/// The vectors of the windows of [`ao_tiles`] and [`ao_tile`]: every 8
/// rows, and a last window overlapping the one before, or with `PAIR`
/// (see [`pair_outer`]) the whole vectors only.
const fn outer_vectors<const O: usize, const PAIR: bool>() -> usize {
    if PAIR { O / 8 } else { O.div_ceil(8) }
}

/// `dW[r, i] += Σ_j dy[r, j] x[i, j]` for the last two rows `r = O − 2,
/// O − 1` ([`pair_outer`]), 4 columns of `dW` a vector: lanes `[columns i
/// … i + 3 of row r | the same of row r + 1]`, each sample's term one
/// multiply-add of `[dy[r, j] × 4 | dy[r + 1, j] × 4]` by the 4 inputs
/// loaded into both halves (a load, no shuffle). Each lane adds its
/// column's terms in the order of `j`, from its value (from zero with
/// `SET`), as the windows do: the same bits, in 5 multiply-adds for 4
/// columns where two windows take 8. The last `I mod 4` columns go the
/// same way in one vector whose other lanes are not stored. With the
/// AVX2-only kernels on an Intel Xeon (family 6, model 207), paired loop
/// rounds: digits' backward pass of 32 samples 0.96× the time.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn ao_last_pair<const O: usize, const I: usize, const B: usize, const SET: bool>(
    dw: &mut [[f32; O]; I],
    dy: &[[f32; O]; B],
    x: &[[f32; I]; B],
) {
    let groups = I / 4;
    let (full, rest) = (groups / 8, groups % 8);
    for t in 0..full {
        ao_pair_tile::<O, I, B, 8, SET>(dw, dy, x, 32 * t);
    }
    if rest > 0 {
        narrower_tile!(const { (I / 4) % 8 }, [1 2 3 4 5 6 7], |K| {
            ao_pair_tile::<O, I, B, K, SET>(dw, dy, x, 32 * full)
        });
    }
    if !I.is_multiple_of(4) {
        ao_pair_tile::<O, I, B, 1, SET>(dw, dy, x, 4 * groups);
    }
}

/// [`ao_last_pair`] for the `G` groups of 4 columns from `i0` (fewer
/// than 4 in the last group where `I` ends there).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn ao_pair_tile<const O: usize, const I: usize, const B: usize, const G: usize, const SET: bool>(
    dw: &mut [[f32; O]; I],
    dy: &[[f32; O]; B],
    x: &[[f32; I]; B],
    i0: usize,
) {
    let r = O - 2;
    let n = (I - i0).min(4 * G);
    let mut acc = [_mm256_setzero_ps(); G];
    if !SET {
        for (g, acc) in acc.iter_mut().enumerate() {
            *acc = two_rows(r, |k, row| {
                let i = i0 + 4 * g + k;
                if i < I { dw[i][row] } else { 0.0 }
            });
        }
    }
    for (dyj, xj) in dy.iter().zip(x) {
        let d = _mm256_set_m128(_mm_set1_ps(dyj[r + 1]), _mm_set1_ps(dyj[r]));
        for (g, acc) in acc.iter_mut().enumerate() {
            let i = i0 + 4 * g;
            let xs = if i + 4 <= I {
                load4(at4(xj, i))
            } else {
                let v = |k: usize| if i + k < I { xj[i + k] } else { 0.0 };
                _mm_setr_ps(v(0), v(1), v(2), v(3))
            };
            *acc = _mm256_fmadd_ps(d, _mm256_set_m128(xs, xs), *acc);
        }
    }
    for (g, &acc) in acc.iter().enumerate() {
        let mut lanes = [0.0f32; 8];
        store(&mut lanes, acc);
        for k in 0..4 {
            let i = i0 + 4 * g + k;
            if 4 * g + k < n {
                dw[i][r] = lanes[k];
                dw[i][r + 1] = lanes[4 + k];
            }
        }
    }
}

/// `db += Σ_j dy[:, j]`, vector by vector, each a chain of adds in the
/// order of `j` (`O ≥ 8`); the last window keeps the lanes already done.
/// Returns the lanes of that last window that earlier windows did not
/// cover.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn accumulate_bias<const O: usize, const B: usize, const SET: bool>(
    db: &mut [f32; O],
    dy: &[[f32; O]; B],
) -> __m256 {
    let v = O.div_ceil(8);
    let fresh = new_lanes(if O.is_multiple_of(8) { 8 } else { O % 8 });
    for k in 0..v {
        let o = offset(O, k);
        let old = load(at(db, o));
        // Writing (`SET`): from zero, as the sum into a zeroed `db` starts.
        // The last window's lanes that the window before covered keep
        // `old`, what that window has just stored, in both modes.
        let mut acc = if SET { _mm256_setzero_ps() } else { old };
        for dyj in dy {
            acc = _mm256_add_ps(acc, load(at(dyj, o)));
        }
        if k + 1 == v {
            acc = _mm256_blendv_ps(old, acc, fresh);
        }
        store(at_mut(db, o), acc);
    }
    fresh
}

/// The tile (vectors, columns) of [`simd_accumulate_outer_vl`] for these
/// shapes, or `None` where it has none (then [`simd_accumulate_outer`]
/// runs): 24 sums where that kernel's tiles hold 12.
const fn wide_outer_tile(o: usize, i: usize, b: usize) -> Option<(usize, usize)> {
    let v = o.div_ceil(8);
    if !vl_pays(o, i, b) {
        None
    } else if v.is_multiple_of(4) && i >= 6 {
        Some((4, 6))
    } else if v.is_multiple_of(2) && i >= 12 {
        Some((2, 12))
    } else if v >= 3 && !v.is_multiple_of(2) && i >= 8 {
        Some((3, 8))
    } else {
        None
    }
}

/// [`accumulate_outer`](simd_accumulate_outer) of a batch compiled with
/// AVX-512F and AVX-512VL too, where [`wide_outer_tile`] gives a tile: the
/// same 8-lane arithmetic in the same order (so the same bits), with 32
/// registers, so that a tile holds 24 sums instead of 12.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn simd_accumulate_outer_vl<const O: usize, const I: usize, const B: usize, const SET: bool>(
    dw: &mut [[f32; O]; I],
    db: &mut [f32; O],
    dy: &[[f32; O]; B],
    x: &[[f32; I]; B],
) {
    match const { tile_code(zmm_outer_tile(O, I, B)) } {
        406 => return ao_tiles16::<O, I, B, 4, 6, SET>(dw, db, dy, x),
        308 => return ao_tiles16::<O, I, B, 3, 8, SET>(dw, db, dy, x),
        212 => return ao_tiles16::<O, I, B, 2, 12, SET>(dw, db, dy, x),
        112 => return ao_tiles16::<O, I, B, 1, 12, SET>(dw, db, dy, x),
        _ => {}
    }
    // The 8-lane tiles only where they pay on their own, as in
    // `simd_affine_vl`.
    let tile = const {
        tile_code(if wide_pays(O, I, B) {
            wide_outer_tile(O, I, B)
        } else {
            None
        })
    };
    match tile {
        406 => ao_tiles::<O, I, B, 4, 6, SET, false>(dw, db, dy, x),
        212 => ao_tiles::<O, I, B, 2, 12, SET, false>(dw, db, dy, x),
        308 => ao_tiles::<O, I, B, 3, 8, SET, false>(dw, db, dy, x),
        _ => simd_accumulate_outer::<O, I, B, SET>(dw, db, dy, x),
    }
}

/// The tile (vectors of 16 rows, columns) of [`ao_tiles16`] for these
/// shapes, or `None` where 16 does not divide the height (unless it is one
/// masked vector of 9 to 15 rows, [`zmm_masked`]),
/// [`simd_accumulate_outer_vl`] does not take the shapes
/// ([`wide_outer_tile`]) or `W` has fewer columns than a tile: 24
/// sums of 16 lanes (12 for a height of an odd number of 16-row vectors).
const fn zmm_outer_tile(o: usize, i: usize, b: usize) -> Option<(usize, usize)> {
    let r = match zmm_rows(o) {
        Some(r) => r,
        None if zmm_masked(o) => 1,
        None => return None,
    };
    let c = 24 / r;
    let c = if c > 12 { 12 } else { c };
    // Only shapes `simd_accumulate_outer_vl` takes (`Avx2` asks
    // `wide_outer_tile`, which asks `wide_pays`).
    if wide_outer_tile(o, i, b).is_none() || i < c {
        None
    } else {
        Some((r, c))
    }
}

/// [`accumulate_outer`](simd_accumulate_outer) of a batch in 16-lane
/// vectors where [`zmm_outer_tile`] gives a tile (`O` a multiple of 16, or
/// 9 to 15 rows in one masked vector, [`zmm_masked`]):
/// `db` as [`accumulate_bias`] adds it, then `dW` in tiles of `R` vectors
/// of 16 rows by `C` columns (a narrower tile for the last `I mod C`
/// columns), in blocks of columns as [`ao_tiles`] goes. Each lane does what
/// a lane of [`ao_tile`] does (`dW`'s value, then one fused multiply-add
/// per sample in order): the same bits.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn ao_tiles16<
    const O: usize,
    const I: usize,
    const B: usize,
    const R: usize,
    const C: usize,
    const SET: bool,
>(
    dw: &mut [[f32; O]; I],
    db: &mut [f32; O],
    dy: &[[f32; O]; B],
    x: &[[f32; I]; B],
) {
    accumulate_bias::<O, B, SET>(db, dy);
    let cols = I.div_ceil(C);
    // Blocks of columns covering at most 8 KiB of `x`, as in `ao_tiles`.
    let block = (2048 / (C * B)).max(1);
    let mut c0 = 0;
    while c0 < cols {
        let c1 = (c0 + block).min(cols);
        let mut v0 = 0;
        // `O / 16` vectors, or one masked vector for 9 to 15 rows.
        while v0 < O.div_ceil(16) {
            for c in c0..c1 {
                let i0 = c * C;
                if i0 + C <= I {
                    ao_tile16::<O, I, B, R, C, SET>(dw, dy, x, v0, i0);
                    continue;
                }
                narrower_tile!(const { I % C }, [1 2 3 4 5 6 7 8 9 10 11], |K| {
                    ao_tile16::<O, I, B, R, K, SET>(dw, dy, x, v0, i0)
                });
            }
            v0 += R;
        }
        c0 = c1;
    }
}

/// `dW[rows, cols] += Σ_j dy[rows, j] x[cols, j]` for the `R` vectors of
/// 16 rows from `v0` and the `C` columns from `i0`.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn ao_tile16<
    const O: usize,
    const I: usize,
    const B: usize,
    const R: usize,
    const C: usize,
    const SET: bool,
>(
    dw: &mut [[f32; O]; I],
    dy: &[[f32; O]; B],
    x: &[[f32; I]; B],
    v0: usize,
    i0: usize,
) {
    let zero = _mm512_setzero_ps();
    let mut rows = [0; R];
    for (r, row) in rows.iter_mut().enumerate() {
        *row = 16 * (v0 + r);
    }
    let mut acc = [[zero; R]; C];
    for c in 0..C {
        for r in 0..R {
            acc[c][r] = if SET {
                zero
            } else {
                lanes16(at_row(&dw[i0 + c], rows[r]))
            };
        }
    }
    outer_terms!(
        acc,
        dy,
        x,
        rows,
        i0,
        zero,
        lanes16,
        at_row,
        _mm512_set1_ps,
        _mm512_fmadd_ps
    );
    for c in 0..C {
        let col = &mut dw[i0 + c];
        for r in 0..R {
            put16_init(col, rows[r], acc[c][r]);
        }
    }
}

/// `db += Σ_j dy[:, j]` as [`simd_accumulate_outer`] adds it, then `dW`
/// in tiles of `R` vectors by `C` columns (`R ≤` the vectors, `C ≤ I`), and
/// a narrower tile for the last `I mod C` columns. Compiled with
/// AVX-512VL's 32 registers where [`simd_accumulate_outer_vl`] inlines it,
/// with AVX2's 16 where [`simd_accumulate_outer`] does.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn ao_tiles<
    const O: usize,
    const I: usize,
    const B: usize,
    const R: usize,
    const C: usize,
    const SET: bool,
    const PAIR: bool,
>(
    dw: &mut [[f32; O]; I],
    db: &mut [f32; O],
    dy: &[[f32; O]; B],
    x: &[[f32; I]; B],
) {
    let fresh = accumulate_bias::<O, B, SET>(db, dy);
    // The rows of tiles of `tiles(v, R)` by index, and where the one before
    // ends (what that tile already stored, when the last overlaps it).
    let v = outer_vectors::<O, PAIR>();
    let start = |k: usize| if k < v / R { k * R } else { v - R };
    let done = |k: usize| if k == 0 { 0 } else { start(k - 1) + R };
    // The columns: whole tiles of `C`, then the last `I mod C` columns as
    // one narrower tile (a last tile overlapping the one before would
    // compute whole columns twice: 32 columns in tiles of 12 are 36's work).
    let (rows, cols) = (v.div_ceil(R), I.div_ceil(C));
    // The tiles in blocks of columns covering at most 8 KiB of `x`, each
    // block done for all the rows of tiles before the next: the block stays
    // in L1 while the rows of `dy` go by, where a sweep over all of a wide
    // `x` for each row of tiles fell out of it. (Mid's 256 × 256 layer, in
    // a loop: backward pass 109 -> 106 µs. The size was measured: 4 and
    // 16 KiB gained nothing, 6 and 10 KiB under 1 µs.)
    let block = (2048 / (C * B)).max(1);
    let mut c0 = 0;
    while c0 < cols {
        let c1 = (c0 + block).min(cols);
        for r in 0..rows {
            let (v0, rows_done) = (start(r), done(r));
            for c in c0..c1 {
                let i0 = c * C;
                if i0 + C <= I {
                    ao_tile::<O, I, B, R, C, SET, PAIR>(dw, dy, x, v0, i0, rows_done, 0, fresh);
                    continue;
                }
                narrower_tile!(const { I % C }, [1 2 3 4 5 6 7 8 9 10 11], |K| {
                    ao_tile::<O, I, B, R, K, SET, PAIR>(dw, dy, x, v0, i0, rows_done, 0, fresh)
                });
            }
        }
        c0 = c1;
    }
}

/// `dW[rows, cols] += Σ_j dy[rows, j] x[cols, j]` for the `R` vectors from
/// `v0` and the `C` columns from `i0`, storing only vectors from `rows_done`
/// and columns from `cols_done`; the last window of a column keeps the
/// lanes outside `fresh` as they are in memory.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn ao_tile<
    const O: usize,
    const I: usize,
    const B: usize,
    const R: usize,
    const C: usize,
    const SET: bool,
    const PAIR: bool,
>(
    dw: &mut [[f32; O]; I],
    dy: &[[f32; O]; B],
    x: &[[f32; I]; B],
    v0: usize,
    i0: usize,
    rows_done: usize,
    cols_done: usize,
    fresh: __m256,
) {
    let zero = _mm256_setzero_ps();
    let v = outer_vectors::<O, PAIR>();
    let mut rows = [0; R];
    for (r, row) in rows.iter_mut().enumerate() {
        *row = offset(O, v0 + r);
    }
    let mut acc = [[zero; R]; C];
    for c in 0..C {
        for r in 0..R {
            acc[c][r] = if SET {
                zero
            } else {
                load(at(&dw[i0 + c], rows[r]))
            };
        }
    }
    outer_terms!(
        acc,
        dy,
        x,
        rows,
        i0,
        zero,
        load,
        at,
        _mm256_set1_ps,
        _mm256_fmadd_ps
    );
    for c in (0..C).rev() {
        if i0 + c < cols_done {
            continue;
        }
        let col = &mut dw[i0 + c];
        // The last window first: where it overlaps the window before, it
        // keeps the memory's values, which that window then overwrites.
        for r in (0..R).rev() {
            if v0 + r < rows_done {
                continue;
            }
            let mut value = acc[c][r];
            if !PAIR && v0 + r + 1 == v {
                value = _mm256_blendv_ps(load(at(col, rows[r])), value, fresh);
            }
            store(at_mut(col, rows[r]), value);
        }
    }
}

// ---------------------------------------------------------------------------
// A recurrent cell's activations: the formulas of `crate::math::exp` and
// `crate::math::tanh` with fused multiply-adds.

/// Writes [`Kernels::cell`]'s vector code for one set of target features.
macro_rules! cell_kernel {
    ($name:ident, $features:literal) => {
        /// [`Kernels::cell`] in vector code: the scalar functions' formulas
        /// (the same reduction, polynomials, selects and clamps) with each
        /// multiply and add that can be fused so, which rounds once where
        /// the scalar code rounds twice: a few more correct bits, not the
        /// same ones.
        #[target_feature(enable = $features)]
        #[inline]
        fn $name(f: Cell, x: &[f32], y: &mut [f32]) {
            match f {
                Cell::Sigmoid => lanes(x, y, |v| sigmoid_v(v)),
                Cell::Tanh => lanes(x, y, |v| tanh_v(v)),
            }
        }
    };
}

cell_kernel!(simd_cell, "avx2,fma");
// The same 8-lane arithmetic (so the same bits) with AVX-512VL's 32
// registers: the formulas' constants stay in registers.
cell_kernel!(simd_cell_vl, "avx2,fma,avx512f,avx512vl");

/// The most units a one-kernel recurrent step takes with AVX-512VL's 32
/// registers (24 vectors of sums), and with AVX2's 16 (12 vectors).
const STEP_UNITS_VL: usize = 48;
/// See [`STEP_UNITS_VL`].
const STEP_UNITS_AVX2: usize = 24;

/// Which code runs a recurrent step of `H` units ([`Kernels::lstm`],
/// [`Kernels::gru`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StepPath {
    /// The one-kernel step compiled with AVX-512VL.
    Vl,
    /// The one-kernel step compiled with AVX2 and FMA.
    Avx2,
    /// The gate and cell kernels one after another.
    Parts,
}

/// The step kernel for `h` units on this CPU: one kernel where `h` is whole
/// vectors of 8 whose sums fit in the registers there are, else the parts.
#[inline(always)]
fn step_path(h: usize) -> StepPath {
    if h.is_multiple_of(8) && h <= STEP_UNITS_VL && available_vl() {
        StepPath::Vl
    } else if h.is_multiple_of(8) && h <= STEP_UNITS_AVX2 && available() {
        StepPath::Avx2
    } else {
        StepPath::Parts
    }
}

/// Writes a recurrent step kernel ([`simd_lstm`], [`simd_gru`]) for one
/// set of target features: `$G` gates, the state `$State`, and a register
/// block per number of vectors per gate (`$r`), each running `$inner`.
macro_rules! step_kernel {
    ($name:ident, $block:ident, $inner:ident, $G:literal, $State:ty, $features:literal, [$($r:literal)*]) => {
        /// [`Kernels::lstm`] or [`Kernels::gru`] for `H` a multiple of 8
        /// whose sums all fit in registers: `H / 8` vectors per gate, see
        /// [`lstm_block`] and [`gru_block`].
        #[target_feature(enable = $features)]
        #[inline]
        fn $name<const N: usize, const H: usize>(
            w: CellWeights<'_, f32, N, $G, H>,
            b: CellBiases<'_, f32, $G, H>,
            x: &[f32; N],
            state: $State,
            gates: Option<&mut [[f32; H]; $G]>,
        ) {
            match H / 8 {
                $($r => $block::<N, H, $r>(w, b, x, state, gates),)*
                _ => unreachable!("{H} units are not whole vectors that fit in registers"),
            }
        }

        /// The step's register block compiled for these target features.
        #[target_feature(enable = $features)]
        #[inline]
        fn $block<const N: usize, const H: usize, const R: usize>(
            w: CellWeights<'_, f32, N, $G, H>,
            b: CellBiases<'_, f32, $G, H>,
            x: &[f32; N],
            state: $State,
            gates: Option<&mut [[f32; H]; $G]>,
        ) {
            $inner::<N, H, R>(w, b, x, state, gates)
        }
    };
}

// AVX-512VL's 32 registers hold the sums of up to 48 units (24 vectors),
// AVX2's 16 those of 24, with the same 8-lane arithmetic, so the same bits.
step_kernel!(
    simd_lstm,
    lstm_block_avx2,
    lstm_block,
    4,
    (&mut [f32; H], &mut [f32; H]),
    "avx2,fma",
    [1 2 3]
);
step_kernel!(
    simd_lstm_vl,
    lstm_block_vl,
    lstm_block,
    4,
    (&mut [f32; H], &mut [f32; H]),
    "avx2,fma,avx512f,avx512vl",
    [1 2 3 4 5 6]
);
step_kernel!(
    simd_gru,
    gru_block_avx2,
    gru_block,
    3,
    &mut [f32; H],
    "avx2,fma",
    [1 2 3]
);
step_kernel!(
    simd_gru_vl,
    gru_block_vl,
    gru_block,
    3,
    &mut [f32; H],
    "avx2,fma,avx512f,avx512vl",
    [1 2 3 4 5 6]
);

/// One LSTM step with `R = H / 8` vectors per gate, the `4R` sums in
/// registers from the biases to the activations: each sum starts as `b_i +
/// b_h`, takes one fused multiply-add per column of `W_i`, then of `W_h`, in
/// order (the bits of [`simd_gates`]); then, 8 units at a time, `σ, σ,
/// tanh, σ` ([`sigmoid_v`], [`tanh_v`], the bits of [`simd_cell`]), `c' = f c
/// + i g` as two products and a sum, and `h' = o tanh(c')`, written over
/// the state once every column of `h` has been read.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn lstm_block<const N: usize, const H: usize, const R: usize>(
    w: CellWeights<'_, f32, N, 4, H>,
    b: CellBiases<'_, f32, 4, H>,
    x: &[f32; N],
    (h, c): (&mut [f32; H], &mut [f32; H]),
    mut gates: Option<&mut [[f32; H]; 4]>,
) {
    let mut acc = [[_mm256_setzero_ps(); R]; 4];
    for (g, acc) in acc.iter_mut().enumerate() {
        for (r, a) in acc.iter_mut().enumerate() {
            *a = _mm256_add_ps(load(at(&b.0[g], 8 * r)), load(at(&b.1[g], 8 * r)));
        }
    }
    // Two loops, not one over a chain of both: the chain's state between
    // the two is kept in memory, and the sums with it.
    for (column, &xi) in w.0.iter().zip(x) {
        let xv = _mm256_set1_ps(xi);
        for (acc, row) in acc.iter_mut().zip(column) {
            fma_gate(acc, row, xv);
        }
    }
    for (column, &hj) in w.1.iter().zip(h.iter()) {
        let hv = _mm256_set1_ps(hj);
        for (acc, row) in acc.iter_mut().zip(column) {
            fma_gate(acc, row, hv);
        }
    }
    for r in 0..R {
        let k = 8 * r;
        let i = sigmoid_v(acc[0][r]);
        let f = sigmoid_v(acc[1][r]);
        let g = tanh_v(acc[2][r]);
        let o = sigmoid_v(acc[3][r]);
        if let Some(gates) = gates.as_deref_mut() {
            store(at_mut(&mut gates[0], k), i);
            store(at_mut(&mut gates[1], k), f);
            store(at_mut(&mut gates[2], k), g);
            store(at_mut(&mut gates[3], k), o);
        }
        let c_new = _mm256_add_ps(_mm256_mul_ps(f, load(at(c, k))), _mm256_mul_ps(i, g));
        store(at_mut(c, k), c_new);
        store(at_mut(h, k), _mm256_mul_ps(o, tanh_v(c_new)));
    }
}

/// One GRU step with `R = H / 8` vectors per gate, its `4R` sums in
/// registers from the biases to the activations: `r` and `z` from `b_i +
/// b_h`, `n`'s parts from `b_in` and from `b_hn`, each taking one fused
/// multiply-add per column of `W_i` (`x`'s part of `n` apart), then of
/// `W_h`, in order (the bits of [`simd_gates`]); then, 8 units at a time,
/// `r = σ(·)`, `z = σ(·)`, `n = tanh(b_in + W_in x + r (b_hn + W_hn h))` and
/// `h' = (1 − z) n + z h` as the plain loop computes them, written over `h`
/// once every column of `h` has been read.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn gru_block<const N: usize, const H: usize, const R: usize>(
    w: CellWeights<'_, f32, N, 3, H>,
    b: CellBiases<'_, f32, 3, H>,
    x: &[f32; N],
    h: &mut [f32; H],
    mut gates: Option<&mut [[f32; H]; 3]>,
) {
    // r, z, W_hn h + b_hn, W_in x + b_in.
    let mut acc = [[_mm256_setzero_ps(); R]; 4];
    for r in 0..R {
        let k = 8 * r;
        acc[0][r] = _mm256_add_ps(load(at(&b.0[0], k)), load(at(&b.1[0], k)));
        acc[1][r] = _mm256_add_ps(load(at(&b.0[1], k)), load(at(&b.1[1], k)));
        acc[2][r] = load(at(&b.1[2], k));
        acc[3][r] = load(at(&b.0[2], k));
    }
    let [ar, az, ahn, ain] = &mut acc;
    for (column, &xi) in w.0.iter().zip(x) {
        let xv = _mm256_set1_ps(xi);
        fma_gate(ar, &column[0], xv);
        fma_gate(az, &column[1], xv);
        fma_gate(ain, &column[2], xv);
    }
    for (column, &hj) in w.1.iter().zip(h.iter()) {
        let hv = _mm256_set1_ps(hj);
        fma_gate(ar, &column[0], hv);
        fma_gate(az, &column[1], hv);
        fma_gate(ahn, &column[2], hv);
    }
    let one = _mm256_set1_ps(1.0);
    for r in 0..R {
        let k = 8 * r;
        let rg = sigmoid_v(acc[0][r]);
        let z = sigmoid_v(acc[1][r]);
        let n = tanh_v(_mm256_add_ps(acc[3][r], _mm256_mul_ps(rg, acc[2][r])));
        if let Some(gates) = gates.as_deref_mut() {
            store(at_mut(&mut gates[0], k), rg);
            store(at_mut(&mut gates[1], k), z);
            store(at_mut(&mut gates[2], k), n);
        }
        let kept = _mm256_mul_ps(z, load(at(h, k)));
        store(
            at_mut(h, k),
            _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(one, z), n), kept),
        );
    }
}

/// `acc[r] += row[8r..8r + 8] · x`: one column's part of one gate's sums.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn fma_gate<const H: usize, const R: usize>(acc: &mut [__m256; R], row: &[f32; H], x: __m256) {
    for (r, a) in acc.iter_mut().enumerate() {
        *a = _mm256_fmadd_ps(load(at(row, 8 * r)), x, *a);
    }
}

/// `(n, r)` with `x = n ln 2 + r`, `n` an integer (in the lanes of an
/// integer vector), `|r| ≤ ln 2 / 2`: `crate::math::exp`'s reduction.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn reduce_v(x: __m256) -> (__m256i, __m256) {
    let round = _mm256_set1_ps(ROUND);
    let shifted = _mm256_fmadd_ps(x, _mm256_set1_ps(LOG2E), round);
    let nf = _mm256_sub_ps(shifted, round);
    let r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(LN2_HI), x);
    let r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(LN2_LO), r);
    let n = _mm256_sub_epi32(
        _mm256_castps_si256(shifted),
        _mm256_set1_epi32(ROUND.to_bits() as i32),
    );
    (n, r)
}

/// `eʳ − 1 = r + r² P(r)` on the reduced range, `crate::math::exp`'s
/// polynomial by Estrin's scheme, `P = (½ + c₄r) + r²(c₃ + c₂r) + r⁴(c₁ +
/// c₀r)`: four fused steps on the path to the result where Horner's rule
/// takes seven (the cells wait on this latency every step).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn expm1_v(r: __m256) -> __m256 {
    let c = |i: usize| _mm256_set1_ps(EXPM1_P[i]);
    let r2 = _mm256_mul_ps(r, r);
    let r4 = _mm256_mul_ps(r2, r2);
    let low = _mm256_fmadd_ps(c(4), r, _mm256_set1_ps(0.5));
    let mid = _mm256_fmadd_ps(c(2), r, c(3));
    let high = _mm256_fmadd_ps(c(0), r, c(1));
    let p = _mm256_fmadd_ps(r4, high, _mm256_fmadd_ps(r2, mid, low));
    _mm256_fmadd_ps(p, r2, r)
}

/// `2ⁿ` for integer lanes `n ∈ [−126, 127]`, from its bits.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn pow2_v(n: __m256i) -> __m256 {
    _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        n,
        _mm256_set1_epi32(127),
    )))
}

/// `σ(x) = n/(1 + e^(−|x|))`, `n` = 1 where the sign bit of `x` is clear
/// and `e^(−|x|)` where it is set (one blend on that bit, no comparison:
/// at `−0` both are 1, and a `NaN` gives `NaN` either way), `e^(−|x|)` as
/// `crate::math::exp::exp_f32` computes it (the argument limited to −104,
/// the power of two applied in two steps so that subnormal results are
/// exact).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn sigmoid_v(x: __m256) -> __m256 {
    let sign = _mm256_set1_ps(-0.0);
    let one = _mm256_set1_ps(1.0);
    // −|x|, limited to −104 (`max` takes NaN from its second operand).
    let m = _mm256_max_ps(_mm256_set1_ps(-104.0), _mm256_or_ps(x, sign));
    let (n, r) = reduce_v(m);
    let y = _mm256_add_ps(expm1_v(r), one);
    let n1 = _mm256_srai_epi32::<1>(n);
    let n2 = _mm256_sub_epi32(n, n1);
    let e = _mm256_mul_ps(_mm256_mul_ps(y, pow2_v(n1)), pow2_v(n2));
    let num = _mm256_blendv_ps(one, e, x);
    _mm256_div_ps(num, _mm256_add_ps(one, e))
}

/// `tanh x` on `a = |x|` by one formula, `E/(E + 2)` with `E = e^{2a} − 1
/// = 2ⁿ (eʳ − 1) + (2ⁿ − 1)` (`2a = n ln 2 + r`, the reduction and
/// polynomial of `crate::math::exp`, one fused step), `a` limited to 10
/// (`min` takes NaN from its second operand), then `x`'s sign set. `E` is
/// `e^{2a} − 1` to its own rounding at every `a` (no cancellation: `2ⁿ − 1`
/// is exact up to `n = 24`, and the small `a` have `n = 0`), so one
/// formula serves the whole range: 2.46 ulp at most (a sweep of every
/// 13th `f32`), where `crate::math::tanh`'s two formulas (a polynomial
/// below 0.875, `1 − 2/(e^{2a} + 1)` above) reach 1.05 ulp but cost both
/// branches in vector code, about 12 more operations on the cells' latency
/// path every step.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn tanh_v(x: __m256) -> __m256 {
    let sign_bit = _mm256_set1_ps(-0.0);
    let sign = _mm256_and_ps(x, sign_bit);
    let a = _mm256_andnot_ps(sign_bit, x);
    let al = _mm256_min_ps(_mm256_set1_ps(cell_tanh::CLAMP), a);
    let (n, r) = reduce_v(_mm256_add_ps(al, al));
    let s = pow2_v(n);
    let e = _mm256_fmadd_ps(expm1_v(r), s, _mm256_sub_ps(s, _mm256_set1_ps(1.0)));
    let t = _mm256_div_ps(e, _mm256_add_ps(e, _mm256_set1_ps(2.0)));
    _mm256_or_ps(t, sign)
}

// ---------------------------------------------------------------------------
// The fast activations: R(x) = x P(x²) / Q(x²) (see `crate::math::fast`).

/// `f` on every element of `x` into `y`, 8 lanes at a time; the last window
/// overlaps the one before (recomputing the same values), and a slice
/// shorter than 8 goes through a padded copy. Panics if the lengths differ.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn lanes(x: &[f32], y: &mut [f32], f: impl Fn(__m256) -> __m256) {
    assert_eq!(x.len(), y.len(), "map: input and output lengths differ");
    let n = x.len();
    if n < 8 {
        let mut buf = [0.0; 8];
        buf[..n].copy_from_slice(x);
        let mut out = [0.0; 8];
        store(&mut out, f(load(&buf)));
        y.copy_from_slice(&out[..n]);
        return;
    }
    for v in 0..n.div_ceil(8) {
        let o = offset(n, v);
        store(at_mut(y, o), f(load(at(x, o))));
    }
}

/// As [`lanes`], for a function with two results (a value and a
/// derivative).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn lanes2(x: &[f32], y: &mut [f32], d: &mut [f32], f: impl Fn(__m256) -> (__m256, __m256)) {
    assert!(
        x.len() == y.len() && x.len() == d.len(),
        "map2: input and output lengths differ"
    );
    let n = x.len();
    if n < 8 {
        let mut buf = [0.0; 8];
        buf[..n].copy_from_slice(x);
        let (mut a, mut b) = ([0.0; 8], [0.0; 8]);
        let (u, v) = f(load(&buf));
        store(&mut a, u);
        store(&mut b, v);
        y.copy_from_slice(&a[..n]);
        d.copy_from_slice(&b[..n]);
        return;
    }
    for v in 0..n.div_ceil(8) {
        let o = offset(n, v);
        let (u, w) = f(load(at(x, o)));
        store(at_mut(y, o), u);
        store(at_mut(d, o), w);
    }
}

/// [`Kernels::fast`] in vector code.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn simd_fast(f: Fast, x: &[f32], y: &mut [f32]) {
    match f {
        Fast::Tanh => lanes(x, y, |v| tanh_parts(v).0),
        Fast::Sigmoid => lanes(x, y, |v| {
            let half = _mm256_set1_ps(0.5);
            _mm256_fmadd_ps(half, tanh_parts(_mm256_mul_ps(half, v)).0, half)
        }),
    }
}

/// [`Kernels::fast2`] in vector code.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn simd_fast2(f: Fast, x: &[f32], y: &mut [f32], d: &mut [f32]) {
    match f {
        Fast::Tanh => lanes2(x, y, d, |v| tanh_and_derivative(v)),
        Fast::Sigmoid => lanes2(x, y, d, |v| {
            let half = _mm256_set1_ps(0.5);
            let (r, dr) = tanh_and_derivative(_mm256_mul_ps(half, v));
            (
                _mm256_fmadd_ps(half, r, half),
                _mm256_mul_ps(_mm256_set1_ps(0.25), dr),
            )
        }),
    }
}

/// `R(x)` and what its derivative needs: `(R(x), u, P(u), Q(u))` with `u`
/// the square of the clamped `x`. The same formula as the scalar function,
/// evaluated with fused multiply-adds (Estrin's scheme) and the numerator's
/// product formed while `Q` is still being computed: `R = (x P) / Q`, one
/// rounding less on the path the next layer waits on. `min`/`max` take
/// their NaN from the second operand, so NaN stays NaN.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn tanh_parts(x: __m256) -> (__m256, __m256, __m256, __m256) {
    let m = TANH_CLAMP as f32;
    let xc = _mm256_min_ps(_mm256_set1_ps(m), _mm256_max_ps(_mm256_set1_ps(-m), x));
    let u = _mm256_min_ps(_mm256_set1_ps(m * m), _mm256_mul_ps(x, x));
    let k = |i: usize| TANH_P[i] as f32;
    let l = |i: usize| TANH_Q[i] as f32;
    let u2 = _mm256_mul_ps(u, u);
    let u4 = _mm256_mul_ps(u2, u2);
    let p = _mm256_fmadd_ps(
        _mm256_set1_ps(k(4)),
        u4,
        cubic([k(0), k(1), k(2), k(3)], u, u2),
    );
    let q = _mm256_fmadd_ps(
        _mm256_set1_ps(l(3)),
        u4,
        cubic([1.0, l(0), l(1), l(2)], u, u2),
    );
    let r = _mm256_div_ps(_mm256_mul_ps(xc, p), q);
    let one = _mm256_set1_ps(1.0);
    let r = _mm256_min_ps(one, _mm256_max_ps(_mm256_set1_ps(-1.0), r));
    (r, u, p, q)
}

/// `c₀ + c₁u + c₂u² + c₃u³` by Estrin's scheme, `(c₀ + c₁u) + (c₂ + c₃u) u²`,
/// given `u²`: two independent fused multiply-adds, then one.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn cubic(c: [f32; 4], u: __m256, u2: __m256) -> __m256 {
    let v = |i: usize| _mm256_set1_ps(c[i]);
    _mm256_fmadd_ps(
        _mm256_fmadd_ps(v(3), u, v(2)),
        u2,
        _mm256_fmadd_ps(v(1), u, v(0)),
    )
}

/// `(R(x), R'(x))`: the value of [`tanh_parts`], and
/// `R' = (N − 2u (P/Q) Q') / Q` with `N = Σ (2k + 1) p_k u^k` and
/// `Q' = Σ k q_k u^(k−1)` (as the scalar function), 0 beyond `±9`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn tanh_and_derivative(x: __m256) -> (__m256, __m256) {
    let (y, u, p, q) = tanh_parts(x);
    let np = |i: usize| ((2 * i + 1) as f64 * TANH_P[i]) as f32;
    let dq = |i: usize| ((i + 1) as f64 * TANH_Q[i]) as f32;
    let u2 = _mm256_mul_ps(u, u);
    let u4 = _mm256_mul_ps(u2, u2);
    let n = _mm256_fmadd_ps(
        _mm256_set1_ps(np(4)),
        u4,
        cubic([np(0), np(1), np(2), np(3)], u, u2),
    );
    let dqv = cubic([dq(0), dq(1), dq(2), dq(3)], u, u2);
    let inv = _mm256_div_ps(_mm256_set1_ps(1.0), q);
    let r = _mm256_mul_ps(p, inv);
    let t = _mm256_mul_ps(_mm256_add_ps(u, u), r);
    let d = _mm256_mul_ps(_mm256_fnmadd_ps(t, dqv, n), inv);
    // |x| ≥ 9 (ordered: NaN keeps its NaN derivative, as the scalar form).
    let abs = _mm256_andnot_ps(_mm256_set1_ps(-0.0), x);
    let outside = _mm256_cmp_ps::<_CMP_GE_OQ>(abs, _mm256_set1_ps(TANH_CLAMP as f32));
    (y, _mm256_andnot_ps(outside, d))
}

// ---------------------------------------------------------------------------
// Int8: a quantised dense layer (`quant::QDense`).

/// One int8 dense layer on AVX2, where the CPU has it: `y[o] =
/// clamp(zp + M[o]·(offset[o] + Σᵢ w[o][i]·x[i]))`, bit for bit what the
/// portable code computes (integer arithmetic, the same roundings). `false`
/// (and nothing written) where the CPU lacks AVX2 and FMA.
#[inline(always)]
pub(crate) fn int8_dense<const I: usize, const O: usize>(
    layer: &QDense<I, O>,
    x: &[i8; I],
    y: &mut [i8; O],
) -> bool {
    if !available() {
        return false;
    }
    int8_dense_known(Avx2Fma(()), layer, x, y);
    true
}

/// [`int8_dense`] where the pass has asked the CPU already: `cpu` is the
/// proof (a `Quantized` network's pass, [`QModule::forward_on`]), so the
/// kernel runs without a check or the plain loops beside it, and inlines
/// into the pass.
///
/// [`QModule::forward_on`]: crate::quant::QModule::forward_on
#[inline(always)]
pub(crate) fn int8_dense_known<const I: usize, const O: usize>(
    cpu: Avx2Fma,
    layer: &QDense<I, O>,
    x: &[i8; I],
    y: &mut [i8; O],
) {
    let _ = cpu;
    // SAFETY: an `Avx2Fma` is made only by this module, after `available`
    // said that this CPU has AVX2 and FMA or where the target enables both
    // (see the module docs: `int8_dense` above, `dispatch_on`, …).
    unsafe { simd_int8_dense(layer, x, y) };
}

/// 16 int8 values widened to 16 `i16` lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn load16_i8(a: &[i8; 16]) -> __m256i {
    // SAFETY: `a` is a reference to 16 initialised bytes, exactly the 16
    // read; `loadu` has no alignment requirement.
    _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(a.as_ptr().cast()) })
}

/// The fewer than 16 int8 values of a chunk's remainder, followed by
/// zeros, widened to 16 `i16` lanes as [`load16_i8`] widens a whole chunk.
/// Assembled in general-purpose registers (the compiler merges the bytes'
/// loads): a zero-padded copy on the stack, read back at once as one
/// vector, cannot be forwarded from the bytes' stores and stalled.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn load_tail16_i8(a: &[i8]) -> __m256i {
    let (mut lo, mut hi) = (0u64, 0u64);
    for (k, &v) in a.iter().take(16).enumerate() {
        let byte = u64::from(v as u8);
        if k < 8 {
            lo |= byte << (8 * k);
        } else {
            hi |= byte << (8 * (k - 8));
        }
    }
    _mm256_cvtepi8_epi16(_mm_set_epi64x(hi as i64, lo as i64))
}

/// Eight `i32` lanes from memory.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn load8_i32(a: &[i32; 8]) -> __m256i {
    // SAFETY: `a` is a reference to 8 `i32`, exactly the 32 bytes read.
    unsafe { _mm256_loadu_si256(a.as_ptr().cast()) }
}

/// The sums of the lanes of each of eight vectors, as the eight lanes of one.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn sum8(a: &[__m256i; 8]) -> __m256i {
    let s01 = _mm256_hadd_epi32(a[0], a[1]);
    let s23 = _mm256_hadd_epi32(a[2], a[3]);
    let s45 = _mm256_hadd_epi32(a[4], a[5]);
    let s67 = _mm256_hadd_epi32(a[6], a[7]);
    let t0 = _mm256_hadd_epi32(s01, s23); // [0 1 2 3 | 0 1 2 3], halves of the sums
    let t1 = _mm256_hadd_epi32(s45, s67); // [4 5 6 7 | 4 5 6 7]
    let lo = _mm256_permute2x128_si256::<0x20>(t0, t1);
    let hi = _mm256_permute2x128_si256::<0x31>(t0, t1);
    _mm256_add_epi32(lo, hi)
}

/// `quant::Multiplier::apply` on eight lanes, then `+ zp` and the clamp to
/// `[-128, 127]`: the same steps as the scalar code (a saturating left
/// shift, the doubling high multiply with gemmlowp's nudge, the rounding
/// right shift), lane by lane.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn requantize8(acc: __m256i, m: __m256i, shift: __m256i, zp: i32) -> __m256i {
    let zero = _mm256_setzero_si256();
    let one = _mm256_set1_epi32(1);
    let (min, max) = (_mm256_set1_epi32(i32::MIN), _mm256_set1_epi32(i32::MAX));
    // Shifts are taken in -31..=30, as the scalar code takes them.
    let shift = _mm256_max_epi32(
        _mm256_min_epi32(shift, _mm256_set1_epi32(30)),
        _mm256_set1_epi32(-31),
    );
    let left = _mm256_max_epi32(shift, zero);
    let right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
    // acc · 2^left, saturated.
    let shifted = _mm256_sllv_epi32(acc, left);
    let kept = _mm256_cmpeq_epi32(_mm256_srav_epi32(shifted, left), acc);
    let limit = _mm256_blendv_epi8(max, min, _mm256_cmpgt_epi32(zero, acc));
    let x = _mm256_blendv_epi8(limit, shifted, kept);
    // The doubling high multiply: (x·m + nudge) / 2³¹, truncated, in i64
    // lanes (even lanes, then odd ones).
    let high = |p: __m256i| {
        let zero = _mm256_setzero_si256();
        let neg = _mm256_cmpgt_epi64(zero, p);
        let nudge = _mm256_blendv_epi8(
            _mm256_set1_epi64x(1 << 30),
            _mm256_set1_epi64x(1 - (1 << 30)),
            neg,
        );
        let t = _mm256_add_epi64(p, nudge);
        // Division toward zero by 2³¹: add 2³¹ − 1 to a negative dividend,
        // then shift; the quotient's low 32 bits are all that is kept, and
        // a logical shift gives them as an arithmetic one would.
        let t = _mm256_add_epi64(
            t,
            _mm256_and_si256(
                _mm256_cmpgt_epi64(zero, t),
                _mm256_set1_epi64x((1 << 31) - 1),
            ),
        );
        _mm256_srli_epi64::<31>(t)
    };
    let even = high(_mm256_mul_epi32(x, m));
    let odd = high(_mm256_mul_epi32(
        _mm256_srli_epi64::<32>(x),
        _mm256_srli_epi64::<32>(m),
    ));
    let r = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
    let both_min = _mm256_and_si256(_mm256_cmpeq_epi32(x, min), _mm256_cmpeq_epi32(m, min));
    let r = _mm256_blendv_epi8(r, max, both_min);
    // The rounding right shift: ties away from zero.
    let mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
    let remainder = _mm256_and_si256(r, mask);
    let threshold = _mm256_add_epi32(
        _mm256_srli_epi32::<1>(mask),
        _mm256_and_si256(_mm256_cmpgt_epi32(zero, r), one),
    );
    let up = _mm256_and_si256(_mm256_cmpgt_epi32(remainder, threshold), one);
    let r = _mm256_add_epi32(_mm256_srav_epi32(r, right), up);
    // + zero point, clamped: clamping first keeps the sum in range.
    let r = _mm256_min_epi32(r, _mm256_set1_epi32(127 - zp));
    let r = _mm256_max_epi32(r, _mm256_set1_epi32(-128 - zp));
    _mm256_add_epi32(r, _mm256_set1_epi32(zp))
}

/// Eight lanes of `i32` in `[-128, 127]` as eight bytes (saturating packs,
/// which change nothing in that range).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn narrow8(v: __m256i) -> [i8; 8] {
    let words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let bytes = _mm_packs_epi16(words, words);
    (_mm_cvtsi128_si64(bytes) as u64)
        .to_le_bytes()
        .map(|b| b as i8)
}

/// [`int8_dense`] on AVX2: eight outputs at a time; for each, the input in
/// chunks of 16 widened to `i16` once and multiplied and added in pairs
/// (`vpmaddwd`) with each of the eight rows, the eight sums reduced
/// together and requantised on eight lanes. The inputs beyond the last
/// whole chunk are added as one more chunk, padded with zeros. A last
/// group of fewer than eight outputs computes eight all the same,
/// repeating the last row, and writes only its own.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn simd_int8_dense<const I: usize, const O: usize>(
    layer: &QDense<I, O>,
    x: &[i8; I],
    y: &mut [i8; O],
) {
    let (w, offset, multiplier, shift) = (
        layer.weight(),
        layer.offset(),
        layer.multiplier(),
        layer.shift(),
    );
    let zero_point = layer.output().zero_point;
    let (xc, xr) = x.as_chunks::<16>();
    // The inputs past the last whole chunk as one more chunk, zero-padded
    // (a zero adds nothing, so the integer sums are those of a scalar
    // loop over them). A scalar loop here, which the compiler vectorised
    // with byte inserts (SSE4a's `insertq` in a build for an AMD Zen 3
    // core, `-C target-cpu=native`), made the tiny model's int8 pass (its
    // first layer has 2 inputs) take 656 ns there against 121 ns in the
    // default build; now 108 and 124 ns.
    let x_tail = load_tail16_i8(xr);
    let mut o0 = 0;
    while o0 < O {
        // The eight rows of this group (the last one repeated past `O`).
        let row: [usize; 8] = core::array::from_fn(|k| (o0 + k).min(O - 1));
        let mut acc = [_mm256_setzero_si256(); 8];
        for (c, xv) in xc.iter().enumerate() {
            let xv = load16_i8(xv);
            for k in 0..8 {
                let (wc, _) = w[row[k]].as_chunks::<16>();
                let p = _mm256_madd_epi16(load16_i8(&wc[c]), xv);
                acc[k] = _mm256_add_epi32(acc[k], p);
            }
        }
        if !xr.is_empty() {
            for k in 0..8 {
                let (_, wr) = w[row[k]].as_chunks::<16>();
                let p = _mm256_madd_epi16(load_tail16_i8(wr), x_tail);
                acc[k] = _mm256_add_epi32(acc[k], p);
            }
        }
        // The group's offsets, multipliers and shifts: straight from the
        // arrays for a whole group, gathered (repeating the last) for a
        // short one.
        let (off, mul, sh) = match (
            offset[o0..].first_chunk::<8>(),
            multiplier[o0..].first_chunk::<8>(),
            shift[o0..].first_chunk::<8>(),
        ) {
            (Some(off), Some(mul), Some(sh)) => (
                load8_i32(off),
                load8_i32(mul),
                _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(i64::from_le_bytes(sh.map(|v| v as u8)))),
            ),
            _ => (
                load8_i32(&row.map(|o| offset[o])),
                load8_i32(&row.map(|o| multiplier[o])),
                load8_i32(&row.map(|o| shift[o] as i32)),
            ),
        };
        let dots = sum8(&acc);
        // offset + dot, saturating as the scalar code does.
        let sum = _mm256_add_epi32(dots, off);
        let zero = _mm256_setzero_si256();
        let dots_neg = _mm256_cmpgt_epi32(zero, dots);
        let overflow = _mm256_and_si256(
            _mm256_cmpeq_epi32(dots_neg, _mm256_cmpgt_epi32(zero, off)),
            _mm256_xor_si256(_mm256_cmpgt_epi32(zero, sum), dots_neg),
        );
        let limit = _mm256_blendv_epi8(
            _mm256_set1_epi32(i32::MAX),
            _mm256_set1_epi32(i32::MIN),
            dots_neg,
        );
        let sum = _mm256_blendv_epi8(sum, limit, overflow);
        let r = requantize8(sum, mul, sh, zero_point as i32);
        let bytes = narrow8(r);
        // A whole group as one 8-byte store; a last, shorter one byte by
        // byte (a copy of a length the compiler did not fold, as a slice
        // copy, was a call to `memmove`).
        match y[o0..].first_chunk_mut::<8>() {
            Some(group) => *group = bytes,
            None => {
                for k in 0..8 {
                    if o0 + k < O {
                        y[o0 + k] = bytes[k];
                    }
                }
            }
        }
        o0 += 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_depend_on_the_height_and_never_exceed_the_inputs() {
        assert_eq!(chains(256, 128), 1);
        assert_eq!(chains(32, 64), 2);
        assert_eq!(chains(16, 16), 4);
        assert_eq!(chains(10, 32), 4);
        assert_eq!(chains(8, 100), 8);
        assert_eq!(chains(8, 3), 2);
        assert_eq!(chains(16, 1), 1);
    }

    #[test]
    fn tiles_cover_every_index_and_stay_inside() {
        for n in 1..40 {
            for t in 1..=n.min(8) {
                let mut seen = [false; 40];
                for s in tiles(n, t) {
                    assert!(s + t <= n);
                    seen[s..s + t].iter_mut().for_each(|v| *v = true);
                }
                assert!(seen[..n].iter().all(|&v| v), "n {n}, t {t}");
            }
        }
    }

    /// The AVX-512VL tiles fit their shapes (what `tiles` needs: a tile no
    /// larger than the dimension it covers), come only with the chains
    /// they are written for, and only for products large enough
    /// (`wide_pays`), over every height and width up to past their sizes
    /// and batches at and around the thresholds.
    #[test]
    fn wide_tiles_fit_their_shapes() {
        let batches = [1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 400, 1300];
        for o in 1..=70usize {
            let v = o.div_ceil(8);
            for i in 0..=70 {
                for &b in &batches {
                    let wide = wide_pays(o, i, b);
                    let vl = vl_pays(o, i, b);
                    // `vl_pays`: `wide_pays`, or a height the 16-lane tiles
                    // take (16 divides it, or 9 to 15 rows) and at least
                    // `ZMM_WORK` multiply-adds.
                    let heights16 = o > 8 && (o < 16 || o % 16 == 0);
                    assert_eq!(sixteen(o), heights16, "sixteen {o}");
                    let small16 = b > 1 && heights16 && o * i * b >= ZMM_WORK;
                    assert_eq!(vl, wide || small16, "vl_pays {o}, {i}, {b}");
                    if let Some((r, c)) = wide_affine_tile(o, i, b) {
                        assert!(vl && r <= v && c <= b && i > 0, "affine {o}, {i}, {b}");
                        let ok = matches!(
                            (r, c, chains(o, i)),
                            (4, 6, 1) | (4, 3, 2) | (2, 3, 2) | (2, 3, 4) | (1, 3, 8)
                        );
                        assert!(ok, "affine {o}, {i}, {b}: ({r}, {c})");
                    }
                    if let Some((r, c)) = wide_outer_tile(o, i, b) {
                        assert!(vl && r <= v && c <= i, "outer {o}, {i}, {b}");
                        assert!(matches!((r, c), (4, 6) | (2, 12) | (3, 8)));
                    }
                    if wide_transpose(o, i, b) {
                        let fits = wide && i >= 4 && b >= 6 && o >= 8;
                        assert!(fits, "transpose {o}, {i}, {b}");
                        assert!(!wide_transposed(o, i, b), "transpose {o}, {i}, {b}");
                    }
                    if wide_transposed(o, i, b) {
                        // The product on `Wᵀ`, whose height is `i`.
                        let fits = vl_pays(i, o, b) && (8..=24).contains(&o) && i >= 8;
                        assert!(fits, "transposed {o}, {i}, {b}");
                    }
                    // The 16-lane tiles: shapes the 8-lane wide kernels take
                    // (so that `Avx2`'s check sends them there), tiles that
                    // cover the height exactly, and one of the arms of the
                    // kernels' matches.
                    if let Some((r, c)) = zmm_affine_tile(o, i, b) {
                        let fits = wide_affine_tile(o, i, b).is_some() && c <= b;
                        // Whole vectors of 16 rows, or one masked vector.
                        let rows = o.is_multiple_of(16 * r) || (zmm_masked(o) && r == 1);
                        assert!(fits && rows, "affine16 {o}, {i}, {b}");
                        if zmm_masked(o) {
                            let arm = matches!((c, chains(o, i)), (12, 1) | (12, 2) | (6, 4));
                            assert!(arm, "affine16m {o}, {i}, {b}: ({r}, {c})");
                        }
                        let arm = matches!(
                            (r, c, chains(o, i)),
                            (4, 6, 1)
                                | (3, 8, 1)
                                | (2, 12, 1)
                                | (1, 12, 1)
                                | (3, 4, 2)
                                | (2, 6, 2)
                                | (1, 12, 2)
                                | (1, 6, 4)
                        );
                        assert!(arm, "affine16 {o}, {i}, {b}: ({r}, {c})");
                    }
                    if let Some((r, c)) = zmm_outer_tile(o, i, b) {
                        let fits = wide_outer_tile(o, i, b).is_some() && c <= i;
                        let rows = o.is_multiple_of(16 * r) || (zmm_masked(o) && r == 1);
                        assert!(fits && rows, "outer16 {o}, {i}, {b}");
                        assert!(!zmm_masked(o) || c == 12, "outer16m {o}, {i}, {b}");
                        let arm = matches!((r, c), (4, 6) | (3, 8) | (2, 12) | (1, 12));
                        assert!(arm, "outer16 {o}, {i}, {b}: ({r}, {c})");
                    }
                    if zmm_transpose(o, i, b) {
                        // Tiles of 8 outputs by 4 columns, dot products (not
                        // the transposed copy).
                        let fits = wide && i >= 8 && b >= 4 && o >= 8;
                        assert!(fits && !transposed(o, i), "transpose16 {o}, {i}, {b}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod simd_tests {
    use super::*;
    use crate::kernels::testing::{check_all, check_all_gates};
    use crate::math::ulps;

    #[test]
    fn simd_kernels_are_exact_to_rounding_on_odd_sizes() {
        if !available() {
            // Nothing to test on a CPU without AVX2 and FMA: the plain loops
            // run there, and have their own test.
            return;
        }
        // Here `Avx2` always takes the SIMD kernels.
        check_all::<Avx2>();
    }

    /// The three lane sums add in the documented order,
    /// `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`, bit for bit:
    /// the kernels that mix them (a transposed product's full and last
    /// tiles) rely on it. Values on several scales, whose sums round
    /// differently in sequence (checked below).
    #[test]
    fn lane_sums_add_in_the_documented_order() {
        if !available() {
            return;
        }
        let order = |l: [f32; 8]| ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
        let vectors: [[f32; 8]; 8] = core::array::from_fn(|v| {
            core::array::from_fn(|k| {
                let t = (v * 8 + k) as f32;
                (t * 0.731).sin() * 10f32.powi((v * 8 + k) as i32 % 7 - 3)
            })
        });
        // SAFETY (each block below): `available` checked that this CPU has
        // AVX2 and FMA; the loads and stores are of whole 8-lane arrays.
        let regs: [__m256; 8] = vectors.map(|l| unsafe { _mm256_loadu_ps(l.as_ptr()) });
        let want: [u32; 8] = vectors.map(|l| order(l).to_bits());
        for (v, r) in regs.iter().enumerate() {
            let got = unsafe { lane_sum(*r) };
            assert_eq!(got.to_bits(), want[v], "lane_sum of vector {v}");
        }
        let mut four = [0f32; 4];
        unsafe {
            _mm_storeu_ps(
                four.as_mut_ptr(),
                lane_sums4([regs[0], regs[1], regs[2], regs[3]]),
            )
        };
        assert_eq!(four.map(f32::to_bits), [want[0], want[1], want[2], want[3]]);
        let mut eight = [0f32; 8];
        unsafe { _mm256_storeu_ps(eight.as_mut_ptr(), lane_sums8(regs)) };
        assert_eq!(eight.map(f32::to_bits), want);
        // The order matters for these values: summing in sequence differs
        // somewhere (else the test would not tell the orders apart).
        let sequential = vectors.map(|l| l.iter().fold(0.0f32, |a, &b| a + b).to_bits());
        assert_ne!(sequential, want);
    }

    /// The SGD finiteness check agrees with the plain loop on every length
    /// and with one bad element at every position: a NaN or infinite
    /// parameter or gradient, and a finite pair whose update overflows.
    #[test]
    fn sgd_finite_agrees_with_the_plain_loop() {
        if !available() {
            return;
        }
        let lr = 0.5;
        let p: [f32; 70] = core::array::from_fn(|k| k as f32 * 0.25 - 3.0);
        let g: [f32; 70] = core::array::from_fn(|k| 1.0 - k as f32 * 0.125);
        // Under Miri (which interprets every step), lengths around the
        // loops' boundaries only.
        let all: [usize; 70] = core::array::from_fn(|n| n);
        let lengths: &[usize] = if cfg!(miri) {
            &[0, 1, 7, 8, 9, 31, 32, 33, 41]
        } else {
            &all
        };
        for &n in lengths {
            let (p, g) = (&p[..n], &g[..n]);
            // SAFETY (each call below): `available` checked that this CPU
            // has AVX2 and FMA.
            assert!(unsafe { simd_sgd_finite(p, g, lr) }, "length {n}");
            for at in 0..n {
                let bad = [
                    (f32::NAN, 1.0),
                    (1.0, f32::NAN),
                    (f32::INFINITY, 0.0),
                    (0.0, f32::NEG_INFINITY),
                    (f32::MAX, -f32::MAX),
                ];
                // Differences at the edge of the finite range, and tiny
                // values: finite, so no flag.
                let good = [
                    (f32::MAX, 0.0),
                    (-f32::MAX, -0.0),
                    (0.0, f32::MAX),
                    (f32::MAX, f32::MAX),
                    (-f32::MAX, -f32::MAX),
                    (f32::MIN_POSITIVE / 4.0, -f32::MIN_POSITIVE / 8.0),
                ];
                let cases = bad.iter().map(|&c| (c, false));
                for ((cp, cg), finite) in cases.chain(good.iter().map(|&c| (c, true))) {
                    let (mut p2, mut g2) = ([0.0f32; 70], [0.0f32; 70]);
                    p2[..n].copy_from_slice(p);
                    g2[..n].copy_from_slice(g);
                    (p2[at], g2[at]) = (cp, cg);
                    let (p2, g2) = (&p2[..n], &g2[..n]);
                    assert_eq!(Portable::sgd_finite(p2, g2, lr), finite);
                    let simd = unsafe { simd_sgd_finite(p2, g2, lr) };
                    assert_eq!(simd, finite, "length {n}, ({cp}, {cg}) at {at}");
                }
            }
        }
    }

    /// The SGD update gives the plain loop's bits on every length (the
    /// vector body and its scalar tail), with values whose products round.
    #[test]
    fn sgd_update_is_the_plain_loop_bit_for_bit() {
        if !available() {
            return;
        }
        let lr = 0.3;
        let p: [f32; 70] = core::array::from_fn(|k| (k as f32 * 0.37).sin() * 3.0);
        let g: [f32; 70] = core::array::from_fn(|k| (k as f32 * 1.3).cos() / 7.0);
        let lengths: &[usize] = if cfg!(miri) {
            &[0, 1, 7, 8, 9, 33]
        } else {
            &[0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70]
        };
        for &n in lengths {
            let (mut plain, mut simd) = (p, p);
            Portable::sgd_update(&mut plain[..n], &g[..n], lr);
            // SAFETY: `available` checked that this CPU has AVX2 and FMA.
            unsafe { simd_sgd_update(&mut simd[..n], &g[..n], lr) };
            assert_eq!(
                plain.map(f32::to_bits),
                simd.map(f32::to_bits),
                "length {n}"
            );
            assert!(
                plain[..n].iter().zip(&p).all(|(a, b)| a != b),
                "length {n}: every element moved"
            );
        }
    }

    /// A last window's store writes its `new` top lanes and nothing below
    /// them, for every count (and all 8 from 8 up).
    #[test]
    fn store_last_writes_only_the_new_lanes() {
        if !available() {
            return;
        }
        let lanes = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        for new in 1..=9 {
            let mut a = [MaybeUninit::new(-1.0f32); 8];
            // SAFETY: `available` checked that this CPU has AVX2 and FMA.
            unsafe { store_last(&mut a, load(&lanes), new) };
            for (k, got) in a.iter().enumerate() {
                // SAFETY: every slot was initialised above.
                let got = unsafe { got.assume_init() };
                let want = if k + new >= 8 { lanes[k] } else { -1.0 };
                assert_eq!(got, want, "new {new}, lane {k}");
            }
        }
    }

    #[test]
    fn simd_gates_are_exact_to_rounding_and_the_same_bits_in_any_range() {
        if !available() {
            return;
        }
        check_all_gates::<Avx2>();
    }

    /// The AVX-512VL variants (32 registers, larger blocks) compute what
    /// the AVX2 ones compute, bit for bit: the gate kernel on shapes whose
    /// blocks differ between them (16, 24 and 32 vectors of sums, and
    /// tails), and the cell activations. (On a CPU without AVX-512VL the
    /// AVX2 variants are the ones the other tests check.)
    #[test]
    fn avx512vl_variants_give_the_avx2_bits() {
        if !available_vl() {
            return;
        }
        fn gates<const N: usize, const G: usize, const H: usize>(seed: u32) {
            let mut s = seed;
            let mut next = || {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1 << 23) as f32 - 1.0
            };
            let w: [[[f32; H]; G]; N] = core::array::from_fn(|_| {
                core::array::from_fn(|_| core::array::from_fn(|_| next()))
            });
            let v: [[[f32; H]; G]; 3] = core::array::from_fn(|_| {
                core::array::from_fn(|_| core::array::from_fn(|_| next()))
            });
            let x: [f32; N] = core::array::from_fn(|_| next());
            let y: [f32; 3] = core::array::from_fn(|_| next());
            let b: [[f32; H]; G] = core::array::from_fn(|_| core::array::from_fn(|_| next()));
            for lo in 0..G {
                let (mut one, mut two) = (b, b);
                // SAFETY: `available_vl` said this CPU has every feature
                // either kernel enables.
                unsafe {
                    simd_gates(&w, &x, &v, &y, &mut one, lo..G);
                    simd_gates_vl(&w, &x, &v, &y, &mut two, lo..G);
                }
                let bits = |a: &[[f32; H]; G]| {
                    a.as_flattened()
                        .iter()
                        .map(|v| v.to_bits())
                        .collect::<std::vec::Vec<_>>()
                };
                assert_eq!(
                    bits(&one),
                    bits(&two),
                    "N {N}, G {G}, H {H}, gates {lo}..{G}"
                );
            }
        }
        gates::<1, 4, 32>(1);
        gates::<32, 4, 32>(2);
        gates::<8, 4, 64>(3);
        gates::<5, 3, 64>(4);
        gates::<3, 4, 21>(5);
        gates::<2, 3, 48>(6);
        let x: std::vec::Vec<f32> = (0..203).map(|k| (k as f32 - 100.0) * 0.173).collect();
        for f in [Cell::Sigmoid, Cell::Tanh] {
            let (mut one, mut two) = (std::vec![0.0; 203], std::vec![0.0; 203]);
            // SAFETY: as above.
            unsafe {
                simd_cell(f, &x, &mut one);
                simd_cell_vl(f, &x, &mut two);
            }
            assert_eq!(one, two, "{f:?}");
        }
    }

    /// The one-kernel LSTM and GRU steps give bit for bit what the
    /// kernels' parts give (the gate kernel, the cell activations, the
    /// plain loops for the state), in their AVX2 and AVX-512VL variants, on
    /// every number of vectors per gate they take, with and without the
    /// gates written out; and a shape they do not take goes to the parts.
    #[test]
    fn recurrent_step_kernels_give_the_bits_of_their_parts() {
        if !available() {
            return;
        }
        fn random<const K: usize>(s: &mut u32) -> [f32; K] {
            core::array::from_fn(|_| {
                *s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                // Sums from about −6 to 6: both branches of σ, n ≠ 0 in tanh.
                ((*s >> 8) as f32 / (1 << 23) as f32 - 1.0) * 1.5
            })
        }
        fn check<const N: usize, const H: usize>(seed: u32) {
            let mut s = seed;
            let w_ih: [[[f32; H]; 4]; N] =
                core::array::from_fn(|_| core::array::from_fn(|_| random(&mut s)));
            let w_hh: [[[f32; H]; 4]; H] =
                core::array::from_fn(|_| core::array::from_fn(|_| random(&mut s)));
            let b: [[[f32; H]; 4]; 2] =
                core::array::from_fn(|_| core::array::from_fn(|_| random(&mut s)));
            let x: [f32; N] = random(&mut s);
            let (h0, c0): ([f32; H], [f32; H]) = (random(&mut s), random(&mut s));
            let bits = |a: &[f32]| a.iter().map(|v| v.to_bits()).collect::<std::vec::Vec<_>>();
            let what = |k: &str| std::format!("{k}, N {N}, H {H}");

            // LSTM.
            let (mut h, mut c, mut gates) = (h0, c0, [[0.0; H]; 4]);
            let state = (&mut h, &mut c);
            lstm_by_parts::<f32, Avx2, N, H>(
                (&w_ih, &w_hh),
                (&b[0], &b[1]),
                &x,
                state,
                Some(&mut gates),
            );
            let want = [bits(&h), bits(&c), bits(gates.as_flattened())];
            let mut variants = std::vec!["Avx2::lstm"];
            if H.is_multiple_of(8) && H <= STEP_UNITS_AVX2 {
                variants.push("simd_lstm");
            }
            if H.is_multiple_of(8) && H <= STEP_UNITS_VL && available_vl() {
                variants.push("simd_lstm_vl");
            }
            for name in variants {
                for out in [true, false] {
                    let (mut h, mut c, mut gates) = (h0, c0, [[0.0; H]; 4]);
                    let g = out.then_some(&mut gates);
                    let (w, bias, state) = ((&w_ih, &w_hh), (&b[0], &b[1]), (&mut h, &mut c));
                    match name {
                        "Avx2::lstm" => Avx2::lstm(w, bias, &x, state, g),
                        // SAFETY: `available` (and `available_vl` for the
                        // second) said this CPU has the kernels' features.
                        "simd_lstm" => unsafe { simd_lstm(w, bias, &x, state, g) },
                        _ => unsafe { simd_lstm_vl(w, bias, &x, state, g) },
                    }
                    assert_eq!(bits(&h), want[0], "{}", what(name));
                    assert_eq!(bits(&c), want[1], "{}", what(name));
                    if out {
                        assert_eq!(bits(gates.as_flattened()), want[2], "{}", what(name));
                    }
                }
            }

            // GRU, on the first three gates' weights.
            let w_ih: [[[f32; H]; 3]; N] =
                core::array::from_fn(|i| core::array::from_fn(|g| w_ih[i][g]));
            let w_hh: [[[f32; H]; 3]; H] =
                core::array::from_fn(|j| core::array::from_fn(|g| w_hh[j][g]));
            let b: [[[f32; H]; 3]; 2] = core::array::from_fn(|k| core::array::from_fn(|g| b[k][g]));
            let (mut h, mut gates) = (h0, [[0.0; H]; 3]);
            gru_by_parts::<f32, Avx2, N, H>(
                (&w_ih, &w_hh),
                (&b[0], &b[1]),
                &x,
                &mut h,
                Some(&mut gates),
            );
            let want = [bits(&h), bits(gates.as_flattened())];
            let mut variants = std::vec!["Avx2::gru"];
            if H.is_multiple_of(8) && H <= STEP_UNITS_AVX2 {
                variants.push("simd_gru");
            }
            if H.is_multiple_of(8) && H <= STEP_UNITS_VL && available_vl() {
                variants.push("simd_gru_vl");
            }
            for name in variants {
                for out in [true, false] {
                    let (mut h, mut gates) = (h0, [[0.0; H]; 3]);
                    let g = out.then_some(&mut gates);
                    let (w, bias) = ((&w_ih, &w_hh), (&b[0], &b[1]));
                    match name {
                        "Avx2::gru" => Avx2::gru(w, bias, &x, &mut h, g),
                        // SAFETY: as above.
                        "simd_gru" => unsafe { simd_gru(w, bias, &x, &mut h, g) },
                        _ => unsafe { simd_gru_vl(w, bias, &x, &mut h, g) },
                    }
                    assert_eq!(bits(&h), want[0], "{}", what(name));
                    if out {
                        assert_eq!(bits(gates.as_flattened()), want[1], "{}", what(name));
                    }
                }
            }
        }
        check::<1, 8>(1);
        check::<3, 16>(2);
        if cfg!(miri) {
            return;
        }
        check::<1, 24>(3);
        check::<1, 32>(4);
        check::<8, 40>(5);
        check::<2, 48>(6);
        check::<8, 64>(7);
        check::<3, 13>(8);
        check::<1, 4>(9);
    }

    /// The vector cell activations against `f64` references over a sweep
    /// of every `k`-th `f32` bit pattern (both signs, far into the tails,
    /// with the points where `tanh`'s reduction first leaves `n = 0` and
    /// where it saturates, and where `σ` changes numerator), plus the
    /// special values: `σ` and `tanh` within 2.5 ulp (a sweep of every 13th
    /// pattern measured 2.40 and 2.46; the scalar functions 2.40 and
    /// 1.049), both exactly what the scalar functions give at 0, ±∞ and NaN,
    /// `tanh` odd bit for bit, and each element the same bits alone as in a
    /// slice.
    #[test]
    fn simd_cell_activations_are_within_their_bounds() {
        if !available() {
            return;
        }
        let step = if cfg!(miri) { 9_999_991 } else { 4_099 };
        let mut xs: std::vec::Vec<f32> = (0..=0x7f80_0000u32)
            .step_by(step)
            .map(f32::from_bits)
            .flat_map(|v| [v, -v])
            .collect();
        let near = |v: f32| (v.to_bits() - 64..v.to_bits() + 64).map(f32::from_bits);
        xs.extend(near(0.173_286_8).chain(near(9.010_914)));
        xs.extend([
            0.0, -0.0, 1e-30, -1e-30, 9.1, -9.1, 88.0, -88.0, -103.9, -110.0,
        ]);
        let n = xs.len();
        let (mut s, mut t) = (std::vec![0.0; n], std::vec![0.0; n]);
        // SAFETY: `available` said this CPU has AVX2 and FMA.
        unsafe {
            simd_cell(Cell::Sigmoid, &xs, &mut s);
            simd_cell(Cell::Tanh, &xs, &mut t);
        }
        let (mut worst_s, mut worst_t) = (0.0f64, 0.0f64);
        for k in 0..n {
            let v = f64::from(xs[k]);
            let es = ulps(s[k], 1.0 / (1.0 + (-v).exp()));
            let et = ulps(t[k], v.tanh());
            assert!(es <= 2.5, "σ({:e}) = {:e} ({es} ulp)", xs[k], s[k]);
            assert!(et <= 2.5, "tanh({:e}) = {:e} ({et} ulp)", xs[k], t[k]);
            worst_s = worst_s.max(es);
            worst_t = worst_t.max(et);
        }
        assert!(
            worst_s > 0.5 && worst_t > 0.5,
            "the sweep reached hard cases"
        );
        let whole = t;
        let specials = [
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            20.0,
            -20.0,
        ];
        let (mut s, mut t, mut neg) = ([0.0; 7], [0.0; 7], [0.0; 7]);
        let minus = specials.map(|v| -v);
        // SAFETY: as above.
        unsafe {
            simd_cell(Cell::Sigmoid, &specials, &mut s);
            simd_cell(Cell::Tanh, &specials, &mut t);
            simd_cell(Cell::Tanh, &minus, &mut neg);
        }
        let (mut ps, mut pt) = ([0.0; 7], [0.0; 7]);
        Portable::cell(Cell::Sigmoid, &specials, &mut ps);
        Portable::cell(Cell::Tanh, &specials, &mut pt);
        // Bits, with any NaN as one (the sign of a NaN is not specified).
        let bits = |a: [f32; 7]| a.map(|v| if v.is_nan() { u32::MAX } else { v.to_bits() });
        assert_eq!(bits(s), bits(ps), "σ at the specials");
        assert_eq!(bits(t), bits(pt), "tanh at the specials");
        assert_eq!(bits(neg), bits(t.map(|v| -v)), "tanh is odd");
        for k in (0..n).step_by(n / 37) {
            let mut one = [0.0];
            // SAFETY: as above.
            unsafe { simd_cell(Cell::Tanh, &xs[k..=k], &mut one) };
            assert_eq!(
                one[0].to_bits(),
                whole[k].to_bits(),
                "tanh({}) alone",
                xs[k]
            );
        }
    }

    #[test]
    fn simd_fast_activations_agree_with_the_scalar_functions_on_every_length() {
        if !available() {
            return;
        }
        for n in 1..=41 {
            let x: std::vec::Vec<f32> = (0..n).map(|k| (k as f32 - 20.0) * 0.47).collect();
            for f in [Fast::Tanh, Fast::Sigmoid] {
                let (mut y, mut y2, mut d) =
                    (std::vec![0.0; n], std::vec![0.0; n], std::vec![0.0; n]);
                let (mut py, mut pd) = (std::vec![0.0; n], std::vec![0.0; n]);
                // SAFETY: `available` said this CPU has AVX2 and FMA.
                unsafe {
                    simd_fast(f, &x, &mut y);
                    simd_fast2(f, &x, &mut y2, &mut d);
                }
                Portable::fast2(f, &x, &mut py, &mut pd);
                assert_eq!(y, y2, "{f:?}, n = {n}: value differs with the derivative");
                for k in 0..n {
                    assert!(
                        (y[k] - py[k]).abs() <= 3e-7,
                        "{f:?}({}) = {} vs {}",
                        x[k],
                        y[k],
                        py[k]
                    );
                    let tol = 1e-6 * (1.0 + pd[k].abs());
                    assert!(
                        (d[k] - pd[k]).abs() <= tol,
                        "{f:?}'({}) = {} vs {}",
                        x[k],
                        d[k],
                        pd[k]
                    );
                    // Each element alone gives the same bits as in the slice.
                    let mut one = [0.0];
                    // SAFETY: as above.
                    unsafe { simd_fast(f, &x[k..=k], &mut one) };
                    assert_eq!(one[0], y[k], "{f:?}({}) alone", x[k]);
                }
            }
        }
    }

    /// `QDense`'s arithmetic, output by output, as the portable code does
    /// it: `clamp(zp + M[o]·(offset[o] + Σᵢ w[o][i]·x[i]))`.
    fn int8_formula<const I: usize, const O: usize>(l: &QDense<I, O>, x: &[i8; I]) -> [i8; O] {
        core::array::from_fn(|o| {
            let dot: i32 = l.weight()[o]
                .iter()
                .zip(x)
                .map(|(&w, &v)| w as i32 * v as i32)
                .sum();
            let y = l
                .multiplier_of(o)
                .apply_in_range(l.offset()[o].saturating_add(dot));
            y.saturating_add(l.output().zero_point as i32)
                .clamp(-128, 127) as i8
        })
    }

    /// `layers` random layers of `I` inputs and `O` outputs, with the
    /// extremes among their constants (sums that saturate, multipliers of
    /// `i32::MIN`, shifts beyond `-31..=30`), through [`int8_dense`].
    fn int8_extremes<const I: usize, const O: usize>(seed: u64, layers: usize) {
        use crate::quant::QParams;
        /// A tiny generator (no dependency in unit tests).
        fn next(s: &mut u64) -> u32 {
            *s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (*s >> 33) as u32
        }
        /// One of the extremes or `random`, evenly.
        fn extreme_or(s: &mut u64, random: i32) -> i32 {
            const INTS: [i32; 9] = [
                i32::MIN,
                i32::MIN + 1,
                -(1 << 30),
                -1,
                0,
                1,
                1 << 30,
                i32::MAX - 1,
                i32::MAX,
            ];
            if next(s).is_multiple_of(2) {
                INTS[next(s) as usize % INTS.len()]
            } else {
                random
            }
        }
        let s = &mut { seed };
        for _ in 0..layers {
            let weight = core::array::from_fn(|_| core::array::from_fn(|_| next(s) as i8));
            let bias: [i32; O] = core::array::from_fn(|_| {
                let r = next(s) as i32;
                extreme_or(s, r)
            });
            let multiplier: [i32; O] = core::array::from_fn(|_| {
                let r = next(s) as i32 | (1 << 30);
                extreme_or(s, r)
            });
            let shift = core::array::from_fn(|_| (next(s) % 90) as i8 - 45);
            let (zp_in, zp_out) = (next(s) as i8, next(s) as i8);
            let l = QDense::<I, O>::new(
                weight,
                bias,
                multiplier,
                shift,
                QParams::new(0.1, zp_in),
                QParams::new(0.1, zp_out),
                [1.0; O],
            );
            for x in [core::array::from_fn(|_| next(s) as i8), [-128; I], [127; I]] {
                let mut y = [0; O];
                assert!(int8_dense(&l, &x, &mut y), "the AVX2 kernel ran");
                assert_eq!(y, int8_formula(&l, &x), "QDense<{I}, {O}>, x = {x:?}");
            }
        }
    }

    /// The int8 AVX2 dense layer gives the portable bits on every shape of
    /// remainder: no whole chunk of 16 inputs, chunks and a tail, chunks
    /// only; a short group of outputs, one group, groups and a short one.
    /// (`quant`'s own test checks more layers through `QDense::forward`;
    /// this one runs under Miri too, with fewer layers.)
    #[test]
    fn int8_dense_is_the_portable_formula_at_the_extremes() {
        if !available() {
            return;
        }
        let n = if cfg!(miri) { 2 } else { 50 };
        int8_extremes::<1, 1>(1, n);
        int8_extremes::<3, 9>(2, n);
        int8_extremes::<16, 8>(3, n);
        int8_extremes::<17, 7>(4, n);
        int8_extremes::<33, 17>(5, n);
        int8_extremes::<64, 32>(6, n);
    }

    #[test]
    fn the_cpu_is_asked_once_and_the_answer_kept() {
        let first = available();
        for _ in 0..3 {
            assert_eq!(available(), first);
        }
    }
}
