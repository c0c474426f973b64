//! Streaming latency of four sequence models: ns per sample of one
//! [`Stream::step`] (`net.step(&mut state, &x)`, as an audio callback calls
//! it), `f32`, one thread, each against a plain hand-written baseline and
//! the machine's FMA peak, all measured in the same run:
//!
//! * `gru`: `(Gru<1, 32>, Dense<32, 1>)`;
//! * `lstm`: `(Lstm<1, 32>, Dense<32, 1>)`;
//! * `lstm8x64`: `(Lstm<8, 64>, Dense<64, 8>)`;
//! * `conv`: `(Conv1d<1, 16, 3, Causal>, Tanh, Conv1d<16, 16, 3, Causal<2>>,
//!   Tanh, Dense<16, 1>)`, the convolutions streaming through their ring
//!   buffers.
//!
//! Every measured iteration is one step on the next sample of a long input
//! signal (a few sines and noise, cycled through), the state carried from
//! step to step: the latency of one sample with the recurrence's
//! dependency from one step to the next, not the throughput of
//! independent samples.
//!
//! `baseline` (baseline.rs) is what a user would write by hand: `[[f32; I];
//! O]` arrays, straightforward loops, `std`'s `tanh` and `exp`, the same
//! equations. Before timing, both are streamed over the same
//! [`CHECK`] samples from a zero state and every output must agree within
//! 1e-5 (the run panics otherwise). `peak` is the register-only FMA loop of
//! benches/models (`peak.rs`, shared): the machine's AVX2 + FMA f32 peak on
//! one core, and the AVX-512 one beside it where the CPU has it.
//!
//! **Flops.** Counted as the multiply-adds of the matrix products, two
//! flops each, and nothing else — the convention under which the issue's
//! RTNeural shares of peak (27%, 31%, 27%, 12%) come out exactly:
//!
//! * a GRU step, `2·3H·(I + H)` (three gates' `W_i· x` and `W_h· h`);
//! * an LSTM step, `2·4H·(I + H)`;
//! * a causal convolution, `2·K·CI·CO`;
//! * a dense layer, `2·I·O`.
//!
//! So GRU 1→32 + Dense(32→1): 6,336 + 64 = 6,400 flops; LSTM 1→32 +
//! Dense: 8,448 + 64 = 8,512; LSTM 8→64 + Dense(64→8): 36,864 + 1,024 =
//! 37,888; the conv stack 96 + 1,536 + 32 = 1,664. The element-wise work
//! left out is small beside the products but not free: per step a GRU
//! also computes `2H` logistic functions, `H` `tanh`s and about `8H` adds
//! and multiplies; an LSTM `3H` logistic functions, `2H` `tanh`s and about
//! `7H` adds and multiplies; the conv stack 32 `tanh`s. Criterion's
//! throughput counts these flops as elements, so its `Gelem/s` reads
//! GFLOP/s.
//!
//! The summary table that closes the run gives, per model, the median ns
//! per step and its interquartile range, the baseline's median and the
//! ratio (`× base`: baseline ÷ staticnet, above 1 when staticnet is
//! faster), GFLOP/s and % of the measured AVX2 FMA peak, and RTNeural's
//! figure from the issue (Zen 3, 100 GFLOP/s peak) brought to this
//! machine's peak (`t · 100 / peak`, the same share of peak), with the
//! target, 0.8× that. A second table gives the same from the fastest
//! sample of each benchmark, the peak's included: on a shared machine
//! (other processes on the core) the medians of all of them, the peak
//! too, stretch with the load, and the fastest samples are the closest to
//! a quiet core.
//!
//! ```sh
//! cargo bench --bench sequence
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench sequence
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, Throughput, measurement::WallTime};
use rand::{Rng, SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::prelude::*;
use staticnet::stream::Stream;

mod baseline;
mod models;
#[path = "../models/peak.rs"]
mod peak;
mod summary;

use baseline::Step;
use models::{ConvNet, GruNet, Lstm8Net, LstmNet};

/// Samples in the input signal, cycled through while timing (a power of
/// two).
const SIGNAL: usize = 2048;
/// Steps over which staticnet's and the baseline's outputs are compared.
const CHECK: usize = 2048;
/// The largest difference allowed between them.
const TOLERANCE: f32 = 1e-5;

/// Flops of one step (see the module docs): the multiply-adds of a GRU's,
/// an LSTM's, a convolution's or a dense layer's products, two each.
fn gru_flops(i: u64, h: u64) -> u64 {
    2 * 3 * h * (i + h)
}
fn lstm_flops(i: u64, h: u64) -> u64 {
    2 * 4 * h * (i + h)
}
fn conv_flops(ci: u64, co: u64, k: u64) -> u64 {
    2 * k * ci * co
}
fn dense_flops(i: u64, o: u64) -> u64 {
    2 * i * o
}

/// The models: (criterion group, description, flops per step, RTNeural's
/// ns per step from the issue on a Zen 3 core with a 100 GFLOP/s FMA peak).
fn models() -> [(&'static str, &'static str, u64, f64); 4] {
    [
        (
            "gru",
            "GRU 1→32 + Dense 32→1",
            gru_flops(1, 32) + dense_flops(32, 1),
            238.0,
        ),
        (
            "lstm",
            "LSTM 1→32 + Dense 32→1",
            lstm_flops(1, 32) + dense_flops(32, 1),
            276.0,
        ),
        (
            "lstm8x64",
            "LSTM 8→64 + Dense 64→8",
            lstm_flops(8, 64) + dense_flops(64, 8),
            1404.0,
        ),
        (
            "conv",
            "causal conv stack",
            conv_flops(1, 16, 3) + conv_flops(16, 16, 3) + dense_flops(16, 1),
            137.0,
        ),
    ]
}

/// A value at the start of a cache line, as in benches/models: the
/// figures should not depend on where the allocator put the weights.
#[repr(C, align(64))]
struct Aligned<T>(T);

fn aligned<T>(value: T) -> Box<Aligned<T>> {
    Box::new(Aligned(value))
}

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// The input signal: channel `c` is a sum of two sines of its own
/// frequencies and some noise, within ±1 (an audio-like signal, so the
/// gates see values all over their range).
fn signal<const I: usize>(seed: u64) -> Vec<[f32; I]> {
    let mut r = rng(seed);
    (0..SIGNAL)
        .map(|t| {
            core::array::from_fn(|c| {
                let t = t as f32;
                let f = 0.011 * (c + 1) as f32;
                let noise = (r.next_u32() >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                0.5 * (f * t).sin() + 0.3 * (3.7 * f * t + c as f32).sin() + 0.2 * noise
            })
        })
        .collect()
}

/// Streams `net` and `base` over the signal from their zero states and
/// panics unless every output agrees within [`TOLERANCE`].
fn check<N, B, const I: usize, const O: usize>(name: &str, net: &N, base: &mut B, xs: &[[f32; I]])
where
    N: Stream<SVector<f32, I>, Output = SVector<f32, O>>,
    B: Step<I, O>,
{
    let mut state = net.start();
    base.reset();
    let mut worst = 0.0f32;
    for (t, x) in xs.iter().cycle().take(CHECK).enumerate() {
        let y = net.step(&mut state, &SVector::from(*x));
        let yb = base.step(x);
        for (o, (&a, &b)) in y.iter().zip(&yb).enumerate() {
            let d = (a - b).abs();
            assert!(
                d <= TOLERANCE,
                "{name}: step {t}, output {o}: staticnet {a}, baseline {b} (difference {d:e} > {TOLERANCE:e})"
            );
            worst = worst.max(d);
        }
    }
    base.reset();
    println!(
        "{name}: staticnet and baseline agree over {CHECK} steps (largest difference {worst:e})"
    );
}

fn bench<F: FnMut() -> R, R>(g: &mut BenchmarkGroup<'_, WallTime>, id: &str, flops: u64, mut f: F) {
    g.throughput(Throughput::Elements(flops));
    g.bench_function(id, |b| b.iter(|| black_box(f())));
}

/// Checks `net` against `base`, then times one step of each.
fn stream<N, B, const I: usize, const O: usize>(
    c: &mut Criterion,
    group: &str,
    flops: u64,
    net: &N,
    base: &mut B,
    seed: u64,
) where
    N: Stream<SVector<f32, I>, Output = SVector<f32, O>>,
    B: Step<I, O>,
{
    let arrays = signal::<I>(seed);
    check(group, net, base, &arrays);
    let xs: Vec<SVector<f32, I>> = arrays.iter().map(|x| SVector::from(*x)).collect();
    let mut g = c.benchmark_group(group);
    let mut state = aligned(net.start());
    let mut t = 0;
    bench(&mut g, "step-staticnet", flops, || {
        let x = &xs[t];
        t = (t + 1) % SIGNAL;
        net.step(&mut state.0, black_box(x))
    });
    let mut t = 0;
    bench(&mut g, "step-baseline", flops, || {
        let x = &arrays[t];
        t = (t + 1) % SIGNAL;
        base.step(black_box(x))
    });
    g.finish();
}

fn main() {
    summary::mark_start();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let [gru, lstm, lstm8, conv] = models();
    peak::group(&mut c);
    {
        let net = aligned(GruNet::random(Init::PyTorch, &mut rng(1)));
        let mut base = aligned(baseline::Gru::from(&net.0));
        stream(&mut c, gru.0, gru.2, &net.0, &mut base.0, 11);
    }
    {
        let net = aligned(LstmNet::random(Init::PyTorch, &mut rng(2)));
        let mut base = aligned(baseline::Lstm::from(&net.0));
        stream(&mut c, lstm.0, lstm.2, &net.0, &mut base.0, 12);
    }
    {
        let net = aligned(Lstm8Net::random(Init::PyTorch, &mut rng(3)));
        let mut base = aligned(baseline::Lstm::from(&net.0));
        stream(&mut c, lstm8.0, lstm8.2, &net.0, &mut base.0, 13);
    }
    {
        let net = aligned(ConvNet::random(Init::PyTorch, &mut rng(4)));
        let mut base = aligned(baseline::ConvStack::from(&net.0));
        stream(&mut c, conv.0, conv.2, &net.0, &mut base.0, 14);
    }
    c.final_summary();
    summary::print(&models());
}
