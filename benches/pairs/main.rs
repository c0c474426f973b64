//! Paired rounds: the reference models timed in a plain loop, and two
//! builds compared round by round on a noisy host.
//!
//! Criterion (`benches/models`) measures each case for seconds, one case
//! after another. Several hosts we measure on switch between a fast and a
//! slow mode every few seconds to minutes (another tenant on the core: the
//! same case reads up to 1.6× slower, the register-only FMA loop only
//! 10–20%), so two criterion runs, or two cases of one run, may have met
//! different modes. This bench times each case as the fastest of 200
//! batches of calls, which takes a fraction of a second, and compares two
//! builds in **paired rounds**: the builds run alternately, each round's
//! ratio comes from two runs seconds apart (most likely in one mode), and
//! the median of those ratios is the comparison.
//!
//! ```sh
//! cargo bench --bench pairs                        # this build, each case once
//! cargo bench --bench pairs -- digits mid          # some models only
//! RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native \
//!     cargo bench --bench pairs --no-run           # prints the other binary's path
//! cargo bench --bench pairs -- --against target/native/release/deps/pairs-… \
//!     --rounds 21                                  # this build ÷ that one, paired
//! ```
//!
//! Each line is a case, its time in ns and, for the staticnet cases, the
//! share of the peak (the same 12-chain AVX2 FMA loop as `benches/models`,
//! timed just before and just after the case, so in the same mode). The
//! `-tuned` cases are `benches/models/tuned.rs`, the tuned hand-written
//! baseline, built into this bench. The cases are those of
//! `benches/models`: one sample (in `f32`, and, for `tiny`, `digits` and
//! `mid`, in int8), a forward pass of 32 and an SGD step on 32 for the
//! `tiny`, `tanh` (forward only), `digits` and `mid` models, and
//! `digits-phases`, the digits step split into its phases (asked for by
//! name only); `sequence`, one streaming step of each model of
//! `benches/sequence`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use nalgebra::{SMatrix, SVector};
use staticnet::optim::{Optimizer, Sgd};
use staticnet::prelude::*;
use staticnet::stream::Stream;

#[allow(dead_code)]
#[path = "../models/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../models/peak.rs"]
mod peak;
#[path = "../sequence/models.rs"]
mod sequence_models;
#[allow(dead_code)]
#[path = "../models/tuned.rs"]
mod tuned;

use common::*;
use sequence_models::{ConvNet, GruNet, Lstm8Net, LstmNet};

/// GFLOP/s of the AVX2 FMA loop: the fastest of 100 batches of 5 calls
/// (`None` on a CPU without it).
fn peak() -> Option<f64> {
    let mut kernel = peak::fma_kernel()?;
    let mut best = f64::MAX;
    for _ in 0..100 {
        let t = Instant::now();
        for _ in 0..5 {
            black_box(kernel());
        }
        best = best.min(t.elapsed().as_secs_f64() / 5.0);
    }
    Some(peak::FLOPS as f64 / best / 1e9)
}

/// The cases timed, in order: name, ns, and the share of the peak where
/// the case's flops are known.
struct Report(Vec<(String, f64, Option<f64>)>);

impl Report {
    /// Times `f` as the fastest of 200 batches of `reps` calls, with the
    /// peak timed before and after it when `flops` is given.
    fn time<R>(&mut self, name: &str, flops: Option<u64>, reps: usize, mut f: impl FnMut() -> R) {
        let before = flops.and_then(|_| peak());
        let mut best = f64::MAX;
        for _ in 0..200 {
            let t = Instant::now();
            for _ in 0..reps {
                black_box(f());
            }
            best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        }
        let after = flops.and_then(|_| peak());
        let share = match (flops, before, after) {
            (Some(n), Some(p0), Some(p1)) => Some(n as f64 / best / 1e9 / ((p0 + p1) / 2.0)),
            _ => None,
        };
        self.0.push((name.to_owned(), best * 1e9, share));
    }
}

fn tiny(report: &mut Report) {
    let layers = [(2, 16), (16, 16), (16, 1)];
    let f1 = forward_flops(&layers);
    let net = aligned(Tiny::random(Init::Xavier, &mut rng(1)));
    let x: SVector<f32, 2> = input(2);
    let xb: SMatrix<f32, 2, B> = input(3);
    report.time("tiny-one", Some(f1), 2000, || net.0.predict(black_box(&x)));
    let fast = aligned(tuned::Tiny::new(&net.0.0, &net.0.2, &net.0.4));
    report.time("tiny-one-tuned", None, 2000, || {
        fast.0.forward(black_box(&x.data.0[0]))
    });
    let (q, xq) = int8(&net.0, &x);
    report.time("tiny-int8", None, 2000, || q.forward(black_box(&xq)));
    report.time("tiny-forward32", Some(f1 * B as u64), 200, || {
        net.0.predict(black_box(&xb))
    });
    let targets: [SVector<f32, 1>; B] =
        core::array::from_fn(|j| SVector::from([(xb[(0, j)] * xb[(1, j)] > 0.0) as u8 as f32]));
    let mut train = aligned(TinyLogits::random(Init::Xavier, &mut rng(1)));
    let mut fast = aligned(tuned::Tiny::new(&train.0.0, &train.0.2, &train.0.4));
    let ft = train_flops(&layers, B);
    let mut state = Stepper::new(&train.0, &xb);
    report.time("tiny-step", Some(ft), 50, || {
        state.step(&mut train.0, &BinaryCrossEntropy, black_box(&xb), &targets)
    });
    let (xs, ts) = (xb.data.0, targets.map(|t| t[0]));
    report.time("tiny-step-tuned", None, 50, || {
        fast.0.train_step(black_box(&xs), &ts, LR)
    });
}

fn exact(report: &mut Report) {
    let f1 = forward_flops(&[(2, 16), (16, 16), (16, 1)]);
    let net = aligned(Exact::random(Init::Xavier, &mut rng(1)));
    let x: SVector<f32, 2> = input(2);
    let xb: SMatrix<f32, 2, B> = input(3);
    report.time("tanh-one", Some(f1), 2000, || net.0.predict(black_box(&x)));
    report.time("tanh-forward32", Some(f1 * B as u64), 200, || {
        net.0.predict(black_box(&xb))
    });
}

fn digits(report: &mut Report) {
    let layers = [(64, 32), (32, 10)];
    let f1 = forward_flops(&layers);
    let net = aligned(Digits::random(Init::He, &mut rng(4)));
    let x: SVector<f32, 64> = input(5);
    let xb: SMatrix<f32, 64, B> = input(6);
    report.time("digits-one", Some(f1), 2000, || {
        net.0.predict(black_box(&x))
    });
    let fast = aligned(tuned::Digits::new(&net.0.0, &net.0.2));
    report.time("digits-one-tuned", None, 2000, || {
        fast.0.forward(black_box(&x.data.0[0]))
    });
    let (q, xq) = int8(&net.0, &x);
    report.time("digits-int8", None, 2000, || q.forward(black_box(&xq)));
    report.time("digits-forward32", Some(f1 * B as u64), 100, || {
        net.0.predict(black_box(&xb))
    });
    let targets: [usize; B] = core::array::from_fn(|j| j % 10);
    let mut train = aligned(net.0.clone());
    let ft = train_flops(&layers, B);
    let mut state = Stepper::new(&train.0, &xb);
    report.time("digits-step", Some(ft), 30, || {
        state.step(&mut train.0, &CrossEntropy, black_box(&xb), &targets)
    });
    let mut fast = aligned(tuned::Digits::new(&net.0.0, &net.0.2));
    let xs = xb.data.0;
    report.time("digits-step-tuned", None, 30, || {
        fast.0.train_step(black_box(&xs), &targets, LR)
    });
}

/// The digits step's phases, each timed on its own: the forward pass with
/// its tape, the batch loss, the backward pass (which writes the gradient:
/// no zeroing) and the SGD step (whose weights drift over the
/// repetitions, harmlessly).
fn digits_phases(report: &mut Report) {
    let xb: SMatrix<f32, 64, B> = input(6);
    let targets: [usize; B] = core::array::from_fn(|j| j % 10);
    let mut net = aligned(Digits::random(Init::He, &mut rng(4)));
    let mut grad = aligned(Digits::zeros());
    let mut sgd = aligned(Sgd::new(LR as f64));
    let mut tape = aligned(net.0.forward_train(&xb).1);
    let mut r = rng(7);
    let y = net.0.forward_train(&xb).0;
    let (_, dy) = CrossEntropy.batch_loss_and_grad(&y, &targets);
    report.time("phase-forward-tape", None, 50, || {
        let mut mode = Mode::Training {
            rng: &mut r,
            samples: B,
        };
        net.0
            .forward_tape_into(black_box(&xb), &mut mode, &mut tape.0)
    });
    report.time("phase-loss", None, 50, || {
        CrossEntropy.batch_loss_and_grad(black_box(&y), &targets)
    });
    report.time("phase-backward", None, 50, || {
        net.0
            .backward_params_set(&tape.0, black_box(&dy), &mut grad.0)
    });
    report.time("phase-sgd", None, 50, || {
        sgd.0.step(&mut net.0, black_box(&grad.0)).expect("finite")
    });
}

fn mid(report: &mut Report) {
    let layers = [(128, 256), (256, 256), (256, 10)];
    let f1 = forward_flops(&layers);
    let net = aligned(Mid::random(Init::He, &mut rng(7)));
    let x: SVector<f32, 128> = input(8);
    let xb: Box<SMatrix<f32, 128, B>> = Box::new(input(9));
    report.time("mid-one", Some(f1), 50, || net.0.predict(black_box(&x)));
    let fast = tuned::Mid::new(&net.0.0, &net.0.2, &net.0.4);
    report.time("mid-one-tuned", None, 50, || {
        fast.0.forward(black_box(&x.data.0[0]))
    });
    let (q, xq) = int8(&net.0, &x);
    report.time("mid-int8", None, 50, || q.forward(black_box(&xq)));
    report.time("mid-forward32", Some(f1 * B as u64), 5, || {
        net.0.predict(black_box(&*xb))
    });
    let targets: [usize; B] = core::array::from_fn(|j| (j * 7) % 10);
    let mut train = aligned(net.0.clone());
    let ft = train_flops(&layers, B);
    let mut state = Stepper::new(&train.0, &*xb);
    report.time("mid-step", Some(ft), 2, || {
        state.step(&mut train.0, &CrossEntropy, black_box(&*xb), &targets)
    });
    let mut fast = tuned::Mid::new(&net.0.0, &net.0.2, &net.0.4);
    let xs = Box::new(xb.data.0);
    report.time("mid-step-tuned", None, 2, || {
        fast.0.train_step(black_box(&xs), &targets, LR)
    });
}

/// One streaming step (`Stream::step`, the state carried over) of the
/// sequence models of `benches/sequence`, through a signal of sines
/// cycled over.
fn sequence(report: &mut Report) {
    fn steps<N: Stream<SVector<f32, I>>, const I: usize>(report: &mut Report, name: &str, net: &N) {
        let xs: Vec<SVector<f32, I>> = (0..2048)
            .map(|t| SVector::from_fn(|c, _| (0.011 * (c + 1) as f32 * t as f32).sin()))
            .collect();
        let mut state = aligned(net.start());
        let mut t = 0;
        report.time(name, None, 200, || {
            let x = &xs[t];
            t = (t + 1) % xs.len();
            net.step(&mut state.0, black_box(x))
        });
    }
    let gru = aligned(GruNet::random(Init::PyTorch, &mut rng(1)));
    steps(report, "gru-step", &gru.0);
    let lstm = aligned(LstmNet::random(Init::PyTorch, &mut rng(2)));
    steps(report, "lstm-step", &lstm.0);
    let lstm8 = aligned(Lstm8Net::random(Init::PyTorch, &mut rng(3)));
    steps(report, "lstm8x64-step", &lstm8.0);
    let conv = aligned(ConvNet::random(Init::PyTorch, &mut rng(4)));
    steps(report, "conv-step", &conv.0);
}

/// Runs the cases asked for (the four models and the sequence models when
/// none is named).
fn run(models: &[String]) -> Report {
    let mut report = Report(Vec::new());
    let all = models.is_empty();
    let want = |m: &str| all || models.iter().any(|w| w == m);
    if want("tiny") {
        tiny(&mut report);
    }
    if want("tanh") {
        exact(&mut report);
    }
    if want("digits") {
        digits(&mut report);
    }
    if models.iter().any(|w| w == "digits-phases") {
        digits_phases(&mut report);
    }
    if want("mid") {
        mid(&mut report);
    }
    if want("sequence") {
        sequence(&mut report);
    }
    report
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// One run of `binary` with `--once` and the models: its `case ns` lines.
fn run_binary(binary: &str, models: &[String]) -> Vec<(String, f64)> {
    let out = Command::new(binary)
        .arg("--once")
        .args(models)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {binary}: {e}"));
    assert!(out.status.success(), "{binary} failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let case = parts.next()?.to_owned();
            let ns = parts.next()?.parse().ok()?;
            Some((case, ns))
        })
        .collect()
}

/// `rounds` alternating runs of this binary (A) and `other` (B): each
/// case's medians, and the median and quartiles of the rounds' A ÷ B.
fn against(other: &str, rounds: usize, models: &[String]) {
    let me = std::env::current_exe().expect("this bench's path");
    let me = me.to_str().expect("a UTF-8 path");
    let mut cases: BTreeMap<String, (usize, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for _ in 0..rounds {
        for (bin, side) in [(me, 0), (other, 1)] {
            for (n, (case, ns)) in run_binary(bin, models).into_iter().enumerate() {
                let entry = cases.entry(case).or_insert((n, Vec::new(), Vec::new()));
                if side == 0 {
                    entry.1.push(ns);
                } else {
                    entry.2.push(ns);
                }
            }
        }
    }
    let mut rows: Vec<_> = cases.into_iter().collect();
    rows.sort_by_key(|(_, (n, _, _))| *n);
    println!("A: {me}\nB: {other}\n{rounds} rounds, A then B in each; ns, medians");
    println!(
        "{:<20} {:>11} {:>11} {:>8} {:>16}",
        "case", "A", "B", "A ÷ B", "quartiles"
    );
    for (case, (_, mut a, mut b)) in rows {
        let mut ratios: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x / y).collect();
        let r = median(&mut ratios);
        if ratios.is_empty() {
            continue;
        }
        let (q1, q3) = (ratios[ratios.len() / 4], ratios[(3 * ratios.len()) / 4]);
        println!(
            "{case:<20} {:>11.1} {:>11.1} {r:>8.3} {:>7.3}–{:<7.3}",
            median(&mut a),
            median(&mut b),
            q1,
            q3
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; the rest are this bench's.
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let (mut other, mut rounds, mut models) = (None, 21, Vec::new());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--against" => other = Some(args.next().expect("--against PATH")),
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--rounds N");
            }
            "--once" => {}
            _ => models.push(arg),
        }
    }
    if let Some(other) = other {
        return against(&other, rounds, &models);
    }
    for (case, ns, share) in run(&models).0 {
        match share {
            Some(s) => println!("{case} {ns:.1} {:.0}%", 100.0 * s),
            None => println!("{case} {ns:.1}"),
        }
    }
}
