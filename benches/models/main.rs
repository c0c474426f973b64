//! Speed of the reference models, each against two hand-written
//! baselines and the machine's peak, all measured in the same run.
//!
//! * `tiny`: 2 → 16 `FastTanh` → 16 `FastTanh` → 1 `FastSigmoid`;
//! * `tanh`: the tiny model with the exact `Tanh` and `Sigmoid`, which the
//!   plain baseline also uses (no tuned baseline: its rows show `—`);
//! * `digits`: 64 → 32 relu → 10;
//! * `mid`: 128 → 256 relu → 256 relu → 10.
//!
//! For each: one-sample inference (ns per sample), a batch-32 forward pass,
//! and one SGD step on a batch of 32 (µs per step: `forward_train`, the batch
//! loss gradient, `backward_params_set` (which writes the gradient of
//! these networks, `Train::SETS_GRAD`, so no `set_zero` first) and
//! `Sgd::step`, plain SGD with learning rate 0.1). Two baselines, for
//! inference and the training step:
//!
//! * `baseline` (baseline.rs), the plain one, what a user would write by
//!   hand without thinking about speed: `[[f32; I]; O]` arrays, naive loops,
//!   `std`'s `tanh`/`exp` (exact, where the tiny model uses the fast
//!   approximations);
//! * `tuned` (tuned.rs), what a performance-minded Rust programmer would
//!   write: input-major arrays padded to whole vectors, register-tiled
//!   loops of `mul_add`, the update fused into the gradient, the model's own
//!   activations (the `FastTanh`/`FastSigmoid` formula copied), compiled
//!   for AVX2 + FMA behind a runtime check in every build. Before timing,
//!   its outputs and the change one step makes to the weights are checked
//!   against staticnet's (the run panics if they disagree).
//!
//! `peak` is a register-only FMA loop: the machine's f32 peak on one core.
//! `bandwidth` reads a buffer the size of the mid model's weights (in L2)
//! and one of 16 KiB (in L1): the time to read the mid weights once is the
//! bandwidth limit of mid inference. Criterion's throughput counts
//! floating-point operations as elements, so its `Gelem/s` reads GFLOP/s
//! (bytes for `bandwidth`). A summary table with the medians, GFLOP/s, % of
//! the measured peak, the ratios to both baselines and the mid inference's
//! distance from its L2 limit closes the run.
//!
//! ```sh
//! cargo bench --bench models
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench models
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, Throughput, measurement::WallTime};
use nalgebra::{SMatrix, SVector};
use staticnet::optim::Sgd;
use staticnet::prelude::*;

mod bandwidth;
mod baseline;
mod common;
mod peak;
mod summary;
mod tuned;

use common::*;

/// The `train-staticnet` row: `sgd_step` on `net`, its gradient,
/// optimiser and tape at the start of cache lines as the network is.
fn bench_step<N, L, X, Tg, const B: usize>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    flops: u64,
    net: &mut N,
    loss: &L,
    x: &X,
    targets: &[Tg; B],
) where
    N: Train<X> + Params<f32>,
    N::Output: staticnet::tensor::Batch<B> + staticnet::Tensor<Scalar = f32>,
    <N::Output as staticnet::tensor::Batch<B>>::Column: staticnet::loss::Prediction<L, Tg>,
    L: Loss,
{
    let mut state = Stepper::new(net, x);
    bench(g, "train-staticnet", flops, || {
        state.step(net, loss, black_box(x), targets)
    });
}

/// One staticnet step on `net` as `sgd_step` takes it, with a fresh
/// gradient and optimiser: the reference the tuned baseline's step is
/// checked against.
fn one_step<N, L, X, Tg, const B: usize>(net: &mut N, loss: &L, x: &X, targets: &[Tg; B]) -> f32
where
    N: Train<X> + Params<f32>,
    N::Output: staticnet::tensor::Batch<B> + staticnet::Tensor<Scalar = f32>,
    <N::Output as staticnet::tensor::Batch<B>>::Column: staticnet::loss::Prediction<L, Tg>,
    L: Loss,
{
    let mut grad = Box::new(N::zeros());
    let mut tape = Box::new(net.forward_train(x).1);
    let mut sgd = Box::new(Sgd::new(LR as f64));
    sgd_step(
        net,
        loss,
        x,
        targets,
        &mut grad,
        &mut tape,
        &mut sgd,
        &mut rng(7),
    )
}

fn bench<F: FnMut() -> R, R>(g: &mut BenchmarkGroup<'_, WallTime>, id: &str, flops: u64, mut f: F) {
    g.throughput(Throughput::Elements(flops));
    g.bench_function(id, |b| b.iter(|| black_box(f())));
}

fn tiny(c: &mut Criterion) {
    let layers = [(2, 16), (16, 16), (16, 1)];
    let mut g = c.benchmark_group("tiny");
    let net = aligned(Tiny::random(Init::Xavier, &mut rng(1)));
    let net = &net.0;
    let x: SVector<f32, 2> = input(2);
    let xb: SMatrix<f32, 2, B> = input(3);
    let naive = aligned(baseline::Tiny::new(&net.0, &net.2, &net.4));
    let naive = &naive.0;
    let fast = aligned(tuned::Tiny::new(&net.0, &net.2, &net.4));
    let fast = &fast.0;
    tuned::assert_close(
        "tiny output",
        &fast.forward(&x.data.0[0]),
        net.predict(&x).as_slice(),
        1e-4,
    );
    let f1 = forward_flops(&layers);
    bench(&mut g, "infer-staticnet", f1, || net.predict(black_box(&x)));
    bench(&mut g, "infer-baseline", f1, || {
        naive.forward(black_box(&x.data.0[0]))
    });
    bench(&mut g, "infer-tuned", f1, || {
        fast.forward(black_box(&x.data.0[0]))
    });
    let (q, xq) = int8(net, &x);
    bench(&mut g, "infer-int8", f1, || q.forward(black_box(&xq)));
    bench(&mut g, "forward32-staticnet", f1 * B as u64, || {
        net.predict(black_box(&xb))
    });

    let targets: [SVector<f32, 1>; B] =
        core::array::from_fn(|j| SVector::from([(xb[(0, j)] * xb[(1, j)] > 0.0) as u8 as f32]));
    let mut train = aligned(TinyLogits::random(Init::Xavier, &mut rng(1)));
    let train = &mut train.0;
    let mut naive = aligned(baseline::Tiny::new(&train.0, &train.2, &train.4));
    let naive = &mut naive.0;
    let mut fast = aligned(tuned::Tiny::new(&train.0, &train.2, &train.4));
    let fast = &mut fast.0;
    let xs = xb.data.0;
    let ts = targets.map(|t| t[0]);
    {
        let mut after = aligned(train.clone());
        let l = one_step(&mut after.0, &BinaryCrossEntropy, &xb, &targets);
        let mut check = aligned(fast.clone());
        let lt = check.0.train_step(&xs, &ts, LR);
        let a = &after.0;
        check
            .0
            .check_step((&train.0, &train.2, &train.4), (&a.0, &a.2, &a.4));
        tuned::assert_close("tiny loss", &[lt], &[l], 1e-4);
    }
    let ft = train_flops(&layers, B);
    bench_step(&mut g, ft, train, &BinaryCrossEntropy, &xb, &targets);
    bench(&mut g, "train-baseline", ft, || {
        naive.train_step(black_box(&xs), &ts, LR)
    });
    bench(&mut g, "train-tuned", ft, || {
        fast.train_step(black_box(&xs), &ts, LR)
    });
    g.finish();
}

/// The tiny shape with the exact activations: staticnet and the plain
/// baseline (which uses the same exact functions; there is no tuned one).
fn exact(c: &mut Criterion) {
    let layers = [(2, 16), (16, 16), (16, 1)];
    let mut g = c.benchmark_group("tanh");
    let net = aligned(Exact::random(Init::Xavier, &mut rng(1)));
    let net = &net.0;
    let x: SVector<f32, 2> = input(2);
    let xb: SMatrix<f32, 2, B> = input(3);
    let naive = aligned(baseline::Tiny::new(&net.0, &net.2, &net.4));
    let naive = &naive.0;
    tuned::assert_close(
        "tanh output",
        &naive.forward(&x.data.0[0]),
        net.predict(&x).as_slice(),
        1e-5,
    );
    let f1 = forward_flops(&layers);
    bench(&mut g, "infer-staticnet", f1, || net.predict(black_box(&x)));
    bench(&mut g, "infer-baseline", f1, || {
        naive.forward(black_box(&x.data.0[0]))
    });
    bench(&mut g, "forward32-staticnet", f1 * B as u64, || {
        net.predict(black_box(&xb))
    });

    let targets: [SVector<f32, 1>; B] =
        core::array::from_fn(|j| SVector::from([(xb[(0, j)] * xb[(1, j)] > 0.0) as u8 as f32]));
    let mut train = aligned(ExactLogits::random(Init::Xavier, &mut rng(1)));
    let train = &mut train.0;
    let mut naive = aligned(baseline::Tiny::new(&train.0, &train.2, &train.4));
    let naive = &mut naive.0;
    let xs = xb.data.0;
    let ts = targets.map(|t| t[0]);
    {
        let mut after = aligned(train.clone());
        let l = one_step(&mut after.0, &BinaryCrossEntropy, &xb, &targets);
        let mut check = aligned(baseline::Tiny::new(&train.0, &train.2, &train.4));
        let lb = check.0.train_step(&xs, &ts, LR);
        tuned::assert_close("tanh loss", &[lb], &[l], 1e-4);
    }
    let ft = train_flops(&layers, B);
    bench_step(&mut g, ft, train, &BinaryCrossEntropy, &xb, &targets);
    bench(&mut g, "train-baseline", ft, || {
        naive.train_step(black_box(&xs), &ts, LR)
    });
    g.finish();
}

fn digits(c: &mut Criterion) {
    let layers = [(64, 32), (32, 10)];
    let mut g = c.benchmark_group("digits");
    let net = aligned(Digits::random(Init::He, &mut rng(4)));
    let net = &net.0;
    let x: SVector<f32, 64> = input(5);
    let xb: SMatrix<f32, 64, B> = input(6);
    let naive = aligned(baseline::Digits::new(&net.0, &net.2));
    let naive = &naive.0;
    let fast = aligned(tuned::Digits::new(&net.0, &net.2));
    let fast = &fast.0;
    tuned::assert_close(
        "digits output",
        &fast.forward(&x.data.0[0]),
        net.predict(&x).as_slice(),
        1e-4,
    );
    let f1 = forward_flops(&layers);
    bench(&mut g, "infer-staticnet", f1, || net.predict(black_box(&x)));
    bench(&mut g, "infer-baseline", f1, || {
        naive.forward(black_box(&x.data.0[0]))
    });
    bench(&mut g, "infer-tuned", f1, || {
        fast.forward(black_box(&x.data.0[0]))
    });
    let (q, xq) = int8(net, &x);
    bench(&mut g, "infer-int8", f1, || q.forward(black_box(&xq)));
    bench(&mut g, "forward32-staticnet", f1 * B as u64, || {
        net.predict(black_box(&xb))
    });

    let targets: [usize; B] = core::array::from_fn(|j| j % 10);
    let mut train = aligned(net.clone());
    let train = &mut train.0;
    let mut naive = aligned(naive.clone());
    let naive = &mut naive.0;
    let mut fast = aligned(fast.clone());
    let fast = &mut fast.0;
    let xs = xb.data.0;
    {
        let mut after = aligned(train.clone());
        let l = one_step(&mut after.0, &CrossEntropy, &xb, &targets);
        let mut check = aligned(fast.clone());
        let lt = check.0.train_step(&xs, &targets, LR);
        let a = &after.0;
        check.0.check_step((&train.0, &train.2), (&a.0, &a.2));
        tuned::assert_close("digits loss", &[lt], &[l], 1e-4);
    }
    let ft = train_flops(&layers, B);
    bench_step(&mut g, ft, train, &CrossEntropy, &xb, &targets);
    bench(&mut g, "train-baseline", ft, || {
        naive.train_step(black_box(&xs), &targets, LR)
    });
    bench(&mut g, "train-tuned", ft, || {
        fast.train_step(black_box(&xs), &targets, LR)
    });
    g.finish();
}

fn mid(c: &mut Criterion) {
    let layers = [(128, 256), (256, 256), (256, 10)];
    let mut g = c.benchmark_group("mid");
    // About 800 KB of state between the networks, gradients and velocities:
    // boxed, so that nothing large sits on the benchmark's stack frame.
    let net = aligned(Mid::random(Init::He, &mut rng(7)));
    let net = &net.0;
    let x: SVector<f32, 128> = input(8);
    let xb: Box<SMatrix<f32, 128, B>> = Box::new(input(9));
    let naive = baseline::Mid::new(&net.0, &net.2, &net.4);
    let naive = &naive.0;
    let fast = tuned::Mid::new(&net.0, &net.2, &net.4);
    let fast = &fast.0;
    tuned::assert_close(
        "mid output",
        &fast.forward(&x.data.0[0]),
        net.predict(&x).as_slice(),
        1e-4,
    );
    let f1 = forward_flops(&layers);
    bench(&mut g, "infer-staticnet", f1, || net.predict(black_box(&x)));
    bench(&mut g, "infer-baseline", f1, || {
        naive.forward(black_box(&x.data.0[0]))
    });
    bench(&mut g, "infer-tuned", f1, || {
        fast.forward(black_box(&x.data.0[0]))
    });
    let (q, xq) = int8(net, &x);
    bench(&mut g, "infer-int8", f1, || q.forward(black_box(&xq)));
    bench(&mut g, "forward32-staticnet", f1 * B as u64, || {
        net.predict(black_box(&*xb))
    });

    let targets: [usize; B] = core::array::from_fn(|j| (j * 7) % 10);
    let mut train = aligned(net.clone());
    let train = &mut train.0;
    let mut naive = baseline::Mid::new(&net.0, &net.2, &net.4);
    let naive = &mut naive.0;
    let mut fast = tuned::Mid::new(&net.0, &net.2, &net.4);
    let fast = &mut fast.0;
    let xs = Box::new(xb.data.0);
    {
        let mut after = aligned(train.clone());
        let l = one_step(&mut after.0, &CrossEntropy, &*xb, &targets);
        let mut check = tuned::Mid::new(&net.0, &net.2, &net.4);
        let lt = check.0.train_step(&xs, &targets, LR);
        let a = &after.0;
        check
            .0
            .check_step((&net.0, &net.2, &net.4), (&a.0, &a.2, &a.4));
        tuned::assert_close("mid loss", &[lt], &[l], 1e-4);
    }
    let ft = train_flops(&layers, B);
    bench_step(&mut g, ft, train, &CrossEntropy, &*xb, &targets);
    bench(&mut g, "train-baseline", ft, || {
        naive.train_step(black_box(&xs), &targets, LR)
    });
    bench(&mut g, "train-tuned", ft, || {
        fast.train_step(black_box(&xs), &targets, LR)
    });
    g.finish();
}

/// Read bandwidth of a buffer the size of the mid model's weights (in L2)
/// and of 16 KiB (in L1), as bytes (criterion's `B/s`).
fn bandwidth(c: &mut Criterion) {
    let mut g = c.benchmark_group("bandwidth");
    let (mid, read_mid) = bandwidth::reader::<{ bandwidth::MID_FLOATS }>();
    g.throughput(Throughput::Bytes(bandwidth::MID_BYTES));
    g.bench_function("read-mid-weights", |b| {
        b.iter(|| read_mid(black_box(&mid.0)))
    });
    let (l1, read_l1) = bandwidth::reader::<{ bandwidth::L1_FLOATS }>();
    g.throughput(Throughput::Bytes(bandwidth::L1_BYTES));
    g.bench_function("read-16KiB", |b| b.iter(|| read_l1(black_box(&l1.0))));
    g.finish();
}

fn main() {
    summary::mark_start();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    peak::group(&mut c);
    bandwidth(&mut c);
    tiny(&mut c);
    exact(&mut c);
    digits(&mut c);
    mid(&mut c);
    c.final_summary();
    let tiny = [(2, 16), (16, 16), (16, 1)];
    let digits = [(64, 32), (32, 10)];
    let mid = [(128, 256), (256, 256), (256, 10)];
    summary::print(&[
        ("tiny", forward_flops(&tiny), train_flops(&tiny, B)),
        ("tanh", forward_flops(&tiny), train_flops(&tiny, B)),
        ("digits", forward_flops(&digits), train_flops(&digits, B)),
        ("mid", forward_flops(&mid), train_flops(&mid, B)),
    ]);
}
