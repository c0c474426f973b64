//! Trains the two models the firmware in `embedded/` runs and writes them,
//! with their test data and the host's outputs, as Rust source under
//! `embedded/src/generated/` (weights as `static`s: in flash, no parsing).
//!
//!     cargo run --release --example export_embedded                 # write the files
//!     cargo run --release --example export_embedded -- --check      # fail if they are stale
//!     cargo run --release --example export_embedded -- --check --device-log LOG
//!
//! * `digits.rs`: the digits classifier 64 → 32 (ReLU) → 10, trained by the
//!   recipe and seed of `examples/digits.rs`, with the test digits (rows
//!   `i % 5 == 4` of `data/digits.csv`, as pixel counts 0..=16) and the
//!   host's class and logits for each.
//! * `digits_int8.rs`: that classifier quantised to int8
//!   (`staticnet::quant`, calibrated on its training inputs, min/max), the
//!   test digits in int8 and the host's int8 outputs for each: integer
//!   arithmetic, so the device must give them bit for bit.
//! * `odd_int8.rs`: a small int8 network of odd sizes, 13 → 7 (tanh) → 3,
//!   from a seeded random start, with inputs and the host's outputs: it
//!   takes the remainder paths of the int8 kernels (lengths not a multiple
//!   of 4, an odd number of outputs) that the digits sizes do not.
//! * `sine.rs`: TensorFlow Lite Micro's hello-world model, 1 → 16 → 16 → 1
//!   (ReLU), fitted to `sin x` on `[0, 2π]`, with test points and the host's
//!   outputs there.
//! * `basicmotions.rs`: the BasicMotions classifier (per-channel
//!   standardisation, three convolutions of 16 filters, global average
//!   pooling, a linear layer), trained by the recipe and seed of
//!   `examples/basicmotions.rs`, with all 40 test windows (6 channels × 100
//!   steps, raw sensor units), their labels and the host's class and logits
//!   for each.
//! * `sunspots.rs`: the sunspots GRU of `examples/sunspots.rs` (seed 0), cut
//!   into the part that streams (`Rescale`, `Gru`) and the head that reads
//!   its state (`Dense`, `Rescale`), with the yearly series 1909–1979 and the
//!   host's whole-window prediction for each year 1921–1979.
//!
//! `--check` trains again and fails if the committed files differ from what
//! it would write (the weights are written exactly, so equal text means
//! bit-identical weights). `--device-log LOG` (which may be given more than
//! once) then reads what a firmware printed under QEMU and fails unless every
//! device class equals the host's and every device output is within 1e-4 of
//! the host's, for the same weights: a log with any `digit`, `sine` or `xor`
//! line is the demo's (`embedded/src/bin/demo.rs`), one with any `motion` or
//! `sunspot` line the sequence firmware's (`embedded/src/bin/sequences.rs`),
//! and then every output of that firmware must be in it (a log may be both).

#[path = "common/mod.rs"]
mod common;

use std::f32::consts::TAU;
use std::fmt::Write as _;
use std::process::exit;

use nalgebra::SVector;
use rand::{Rng, SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::data::{SeqRows, Standardize, load_csv_targets};
use staticnet::io::rust::to_rust;
use staticnet::optim::{Adam, Sgd};
use staticnet::prelude::*;
use staticnet::quant::{self, Calibration, Quantized};
use staticnet::sampling::Sampling;
use staticnet::schedule::Cosine;
use staticnet::stream::Stream;
use staticnet::train::{Control, Trainer};
use staticnet::{Conv1d, GlobalAvgPool, Gru, LastStep};

type DigitsNet = (Dense<64, 32>, Relu, Dense<32, 10>);
type SineNet = (Dense<1, 16>, Relu, Dense<16, 16>, Relu, Dense<16, 1>);
type XorNet = (Dense<2, 8>, Tanh, Dense<8, 1>);

/// BasicMotions: channels and steps of a window.
const MOTION_CHANNELS: usize = 6;
const MOTION_STEPS: usize = 100;
/// The network of `examples/basicmotions.rs`.
type MotionNet = (
    Standardize<MOTION_CHANNELS>,
    Conv1d<MOTION_CHANNELS, 16, 7>,
    Relu,
    Conv1d<16, 16, 5>,
    Relu,
    Conv1d<16, 16, 3>,
    Relu,
    GlobalAvgPool,
    Dense<16, 4>,
);
/// The test windows the silent firmware build runs: one of each activity
/// (the test set holds ten of each, in order).
const MOTION_FIRST: [usize; 4] = [0, 10, 20, 30];

/// Sunspots: the years of history the GRU reads, and its epochs, as in
/// `examples/sunspots.rs`.
const SUN_WINDOW: usize = 12;
const SUN_EPOCHS: usize = 200;
/// The years the firmware predicts (both test periods of the classic split).
const SUN_FROM: i32 = 1921;
const SUN_TO: i32 = 1979;
/// The sunspots model as trained: numbers in, scaled prediction out.
type SunBody = (Rescale<1>, Gru<1, 8>, LastStep, Dense<8, 1>);
/// What streams one year at a time: the input scaling and the GRU.
type SunStream = (Rescale<1>, Gru<1, 8>);
/// What makes the prediction from the GRU's state: the linear layer and the
/// output scaling back into sunspot numbers.
type SunHead = (Dense<8, 1>, Rescale<1>);

/// How many test digits the silent firmware builds run (the first ones).
const FIRST: usize = 50;
/// How many points the sine model is checked at.
const SINE_POINTS: usize = 16;
/// The largest difference allowed between a device output and the host's.
const TOLERANCE: f32 = 1e-4;

const HEADER: &str = "// Generated by `cargo run --release --example export_embedded` in the\n\
                      // repository root; do not edit. `.ci/run` fails if this file is stale.\n";

type DigitsInt8 = Quantized<<DigitsNet as quant::Quantize<SVector<f32, 64>>>::Quantized, 64, 10>;

struct Digits {
    net: DigitsNet,
    /// The network in int8, and the int8 test inputs and outputs.
    int8: DigitsInt8,
    int8_inputs: Vec<[i8; 64]>,
    int8_outputs: Vec<[i8; 10]>,
    /// The test rows: pixel counts 0..=16 and the label.
    test: Vec<([u8; 64], usize)>,
    logits: Vec<SVector<f32, 10>>,
}

struct Motions {
    net: MotionNet,
    test: SeqRows<f32, MOTION_CHANNELS, MOTION_STEPS, usize>,
    logits: Vec<SVector<f32, 4>>,
}

struct Sunspots {
    stream: SunStream,
    head: SunHead,
    /// The series from `SUN_FROM - SUN_WINDOW` to `SUN_TO`.
    series: Vec<f32>,
    /// The host's whole-window prediction for each year `SUN_FROM..=SUN_TO`.
    predictions: Vec<f32>,
    /// The normalised MSE on 1921–1955 (the example's last line).
    nmse: f64,
}

struct Sine {
    net: SineNet,
    xs: [f32; SINE_POINTS],
    ys: [f32; SINE_POINTS],
}

fn main() {
    let mut check = false;
    let mut device_logs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--check" => check = true,
            "--device-log" => device_logs.push(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }

    let digits = digits();
    let sine = sine();
    let motions = motions();
    let sunspots = sunspots();
    let files = [
        ("digits.rs", digits_source(&digits)),
        ("digits_int8.rs", digits_int8_source(&digits)),
        ("odd_int8.rs", odd_int8_source()),
        ("sine.rs", sine_source(&sine)),
        ("basicmotions.rs", motions_source(&motions)),
        ("sunspots.rs", sunspots_source(&sunspots)),
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/embedded/src/generated");
    if check || !device_logs.is_empty() {
        let mut stale = false;
        for (name, source) in &files {
            let path = format!("{dir}/{name}");
            if std::fs::read_to_string(&path).ok().as_deref() != Some(source.as_str()) {
                eprintln!("{path} is stale: it is not what this recipe writes");
                stale = true;
            }
        }
        if stale {
            eprintln!(
                "refresh with `cargo run --release --example export_embedded` and read the diff"
            );
            exit(1);
        }
        println!("embedded/src/generated/ is up to date");
    } else {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(&format!("{dir}: {e}")));
        for (name, source) in &files {
            let path = format!("{dir}/{name}");
            std::fs::write(&path, source).unwrap_or_else(|e| fail(&format!("{path}: {e}")));
            println!("wrote {path}");
        }
    }
    for path in &device_logs {
        let log = std::fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("{path}: {e}")));
        let demo = log
            .lines()
            .any(|l| ["digit ", "sine ", "xor "].iter().any(|w| l.starts_with(w)));
        let sequences = log
            .lines()
            .any(|l| l.starts_with("motion ") || l.starts_with("sunspot "));
        if !demo && !sequences {
            fail(&format!("{path}: no model outputs in this device log"));
        }
        if demo {
            compare(&log, &digits, &sine);
        }
        if sequences {
            compare_sequences(&log, &motions, &sunspots);
        }
    }
}

fn usage() -> ! {
    fail("usage: export_embedded [--check] [--device-log LOG]...")
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    exit(2)
}

/// The digits model, trained exactly as `examples/digits.rs` does with seed 0.
fn digits() -> Digits {
    let (mut train, test) = common::load_split::<64>("digits");
    for (x, _) in train.iter_mut() {
        *x /= 16.0;
    }
    let test: Vec<([u8; 64], usize)> = test
        .iter()
        .map(|(x, label)| {
            (
                std::array::from_fn(|i| {
                    let v = x[i];
                    assert!(
                        v == v.round() && (0.0..=16.0).contains(&v),
                        "a pixel count is 0..=16"
                    );
                    v as u8
                }),
                *label,
            )
        })
        .collect();

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let mut net = DigitsNet::random(Init::PyTorch, &mut rng);
    Trainer::new(Sgd::new(0.1))
        .epochs(30)
        .batch_size::<32>()
        .sampling(Sampling::Shuffled)
        .fit(&mut net, &CrossEntropy, &train[..], &mut rng, |_, _| {
            Control::Continue
        })
        .unwrap_or_else(|e| fail(&format!("digits training failed: {e}")));

    // The firmware's input: count / 16, exact in f32.
    let logits = test
        .iter()
        .map(|(p, _)| net.predict(&SVector::from(p.map(|v| f32::from(v) / 16.0))))
        .collect();
    let int8 = quant::quantize(&net, &train[..], Calibration::MinMax)
        .unwrap_or_else(|e| fail(&format!("quantising the digits model failed: {e}")));
    let int8_inputs: Vec<[i8; 64]> = test
        .iter()
        .map(|(p, _)| int8.quantize_input(&SVector::from(p.map(|v| f32::from(v) / 16.0))))
        .collect();
    let int8_outputs = int8_inputs.iter().map(|x| int8.forward(x)).collect();
    Digits {
        net,
        int8,
        int8_inputs,
        int8_outputs,
        test,
        logits,
    }
}

/// TensorFlow Lite Micro's hello-world model fitted to `sin x` on `[0, 2π]`
/// from 1,000 points drawn uniformly (seed 0): He initialisation, Adam with
/// learning rate 0.01 annealed by a cosine to 0, batch 16, 1,000 epochs,
/// mean squared error.
fn sine() -> Sine {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let data: Vec<(SVector<f32, 1>, SVector<f32, 1>)> = (0..1000)
        .map(|_| {
            let x = TAU * (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
            (SVector::from([x]), SVector::from([x.sin()]))
        })
        .collect();
    let mut net = SineNet::random(Init::He, &mut rng);
    Trainer::new(Adam::new(0.01))
        .epochs(1000)
        .schedule(Cosine { min: 0.0 })
        .batch_size::<16>()
        .fit(&mut net, &MeanSquared, &data[..], &mut rng, |_, _| {
            Control::Continue
        })
        .unwrap_or_else(|e| fail(&format!("sine training failed: {e}")));

    // How well it fits, on a fine grid.
    let worst = (0..=1000)
        .map(|i| {
            let x = TAU * i as f32 / 1000.0;
            (net.predict(&SVector::from([x]))[0] - x.sin()).abs()
        })
        .fold(0.0f32, f32::max);
    println!("sine model: largest error on [0, 2π] {worst:.4}");
    assert!(worst < 0.05, "the sine model fits sin x within 0.05");

    let xs: [f32; SINE_POINTS] =
        std::array::from_fn(|i| TAU * (i as f32 + 0.5) / SINE_POINTS as f32);
    let ys = xs.map(|x| net.predict(&SVector::from([x]))[0]);
    Sine { net, xs, ys }
}

fn digits_source(d: &Digits) -> String {
    let classes: Vec<usize> = d.logits.iter().map(|l| argmax(l.as_slice())).collect();
    let correct =
        |range: std::ops::Range<usize>| range.filter(|&i| classes[i] == d.test[i].1).count();
    let (n, rest) = (d.test.len(), d.test.len() - FIRST);
    println!(
        "digits model: host test accuracy {}/{n} ({:.2}%), first {FIRST}: {}/{FIRST}",
        correct(0..n),
        100.0 * correct(0..n) as f64 / n as f64,
        correct(0..FIRST)
    );

    let mut s = String::from(HEADER);
    s += "//\n// The digits classifier 64 → 32 (ReLU) → 10, trained on the host by the\n\
          // recipe of examples/digits.rs (seed 0), its test digits and the host's outputs.\n\n";
    s += &to_rust(&d.net, "NET").unwrap();
    let set = |s: &mut String, name: &str, doc: &str, range: std::ops::Range<usize>| {
        let len = range.len();
        let _ = writeln!(s, "\n/// {doc}");
        s.push_str("#[rustfmt::skip]\n");
        let _ = writeln!(
            s,
            "pub static {name}: crate::TestDigits<{len}> = crate::TestDigits {{"
        );
        s.push_str("    pixels: [\n");
        for i in range.clone() {
            let _ = writeln!(s, "        {:?},", d.test[i].0);
        }
        s.push_str("    ],\n");
        let labels: Vec<usize> = range.clone().map(|i| d.test[i].1).collect();
        let host: Vec<usize> = range.clone().map(|i| classes[i]).collect();
        let _ = writeln!(s, "    labels: {labels:?},");
        let _ = writeln!(s, "    host_classes: {host:?},");
        let _ = writeln!(s, "    host_correct: {},", correct(range));
        s.push_str("};\n");
    };
    set(
        &mut s,
        "FIRST",
        &format!("The first {FIRST} test digits (rows i % 5 == 4 of data/digits.csv)."),
        0..FIRST,
    );
    set(
        &mut s,
        "REST",
        &format!("The other {rest} test digits."),
        FIRST..n,
    );
    let _ = writeln!(
        s,
        "\n/// The host's logits for every test digit, `FIRST` then `REST`.\n\
         #[rustfmt::skip]\n\
         #[allow(clippy::excessive_precision)]\n\
         pub static HOST_LOGITS: [[f32; 10]; {n}] = ["
    );
    for l in &d.logits {
        let _ = writeln!(s, "    {:?},", l.as_slice());
    }
    s.push_str("];\n");
    s
}

fn digits_int8_source(d: &Digits) -> String {
    let classes: Vec<usize> = d.int8_outputs.iter().map(|y| quant::argmax_i8(y)).collect();
    let correct =
        |range: std::ops::Range<usize>| range.filter(|&i| classes[i] == d.test[i].1).count();
    let n = d.test.len();
    println!(
        "digits model in int8: host test accuracy {}/{n} ({:.2}%), first {FIRST}: {}/{FIRST}",
        correct(0..n),
        100.0 * correct(0..n) as f64 / n as f64,
        correct(0..FIRST)
    );
    let mut s = String::from(HEADER);
    s += "//\n// The digits classifier of digits.rs quantised to int8 on the host\n\
          // (staticnet::quant, calibrated on its training inputs, min/max), the test\n\
          // digits as int8 inputs and the host's int8 outputs for each.\n\n";
    s += &d.int8.to_rust("NET").unwrap();
    let set = |s: &mut String, name: &str, doc: &str, range: std::ops::Range<usize>| {
        let len = range.len();
        let _ = writeln!(s, "\n/// {doc}");
        s.push_str("#[rustfmt::skip]\n");
        let _ = writeln!(
            s,
            "pub static {name}: crate::Int8Digits<{len}> = crate::Int8Digits {{"
        );
        s.push_str("    inputs: [\n");
        for i in range.clone() {
            let _ = writeln!(s, "        {:?},", d.int8_inputs[i]);
        }
        s.push_str("    ],\n");
        let labels: Vec<usize> = range.clone().map(|i| d.test[i].1).collect();
        let _ = writeln!(s, "    labels: {labels:?},");
        let bytes: Vec<i8> = range.clone().flat_map(|i| d.int8_outputs[i]).collect();
        let _ = writeln!(s, "    host_hash: {:#010x},", fnv1a(&bytes));
        let _ = writeln!(s, "    host_correct: {},", correct(range.clone()));
        s.push_str("};\n");
        let _ = writeln!(
            s,
            "\n/// The host's int8 outputs for `{name}`, one by one.\n#[rustfmt::skip]\n\
             pub static {name}_OUTPUTS: [[i8; 10]; {len}] = ["
        );
        for i in range {
            let _ = writeln!(s, "    {:?},", d.int8_outputs[i]);
        }
        s.push_str("];\n");
    };
    set(
        &mut s,
        "FIRST",
        &format!("The first {FIRST} test digits, in int8."),
        0..FIRST,
    );
    set(
        &mut s,
        "REST",
        &format!("The other {} test digits, in int8.", n - FIRST),
        FIRST..n,
    );
    s
}

/// How many inputs the odd-sized int8 network is checked at.
const ODD_POINTS: usize = 16;

fn odd_int8_source() -> String {
    type Odd = (Dense<13, 7>, Tanh, Dense<7, 3>);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let net = Odd::random(Init::Xavier, &mut rng);
    let draw = |rng: &mut Xoshiro256PlusPlus| {
        SVector::<f32, 13>::from_fn(|_, _| {
            4.0 * ((rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32) - 2.0
        })
    };
    let calibration: Vec<(SVector<f32, 13>, usize)> =
        (0..200).map(|_| (draw(&mut rng), 0)).collect();
    let q = quant::quantize(&net, &calibration[..], Calibration::MinMax)
        .unwrap_or_else(|e| fail(&format!("quantising the odd network failed: {e}")));
    let inputs: Vec<[i8; 13]> = (0..ODD_POINTS)
        .map(|_| q.quantize_input(&draw(&mut rng)))
        .collect();
    let outputs: Vec<[i8; 3]> = inputs.iter().map(|x| q.forward(x)).collect();
    let mut s = String::from(HEADER);
    s += "//\n// A small int8 network of odd sizes, 13 → 7 (tanh) → 3, quantised on the host\n\
          // from a seeded random start, with inputs and the host's int8 outputs.\n\n";
    s += &q.to_rust("NET").unwrap();
    let _ = writeln!(
        s,
        "\n/// The inputs.\n#[rustfmt::skip]\npub static INPUTS: [[i8; 13]; {ODD_POINTS}] = {inputs:?};\n\
         \n/// The host's outputs for them.\n#[rustfmt::skip]\npub static HOST_OUTPUTS: [[i8; 3]; {ODD_POINTS}] = {outputs:?};"
    );
    s
}

/// FNV-1a (32 bits) of bytes: how the silent int8 firmware checks all its
/// outputs against the host's without storing them (the firmware computes
/// the same).
fn fnv1a(bytes: &[i8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ b as u8 as u32).wrapping_mul(0x0100_0193)
    })
}

fn sine_source(m: &Sine) -> String {
    let mut s = String::from(HEADER);
    s += "//\n// TensorFlow Lite Micro's hello-world model, 1 → 16 → 16 → 1 (ReLU), fitted to\n\
          // sin x on [0, 2π] on the host, and the host's outputs at SINE_POINTS points.\n\n";
    s += &to_rust(&m.net, "NET").unwrap();
    let _ = writeln!(
        s,
        "\n/// Where the model is checked: the midpoints of {SINE_POINTS} equal steps of [0, 2π].\n\
         #[rustfmt::skip]\n\
         #[allow(clippy::excessive_precision)]\n\
         pub static XS: [f32; {SINE_POINTS}] = {:?};\n\
         \n/// The host's outputs at `XS`.\n\
         #[rustfmt::skip]\n\
         #[allow(clippy::excessive_precision)]\n\
         pub static HOST_YS: [f32; {SINE_POINTS}] = {:?};",
        m.xs, m.ys
    );
    s
}

/// The BasicMotions classifier, trained exactly as `examples/basicmotions.rs`
/// does with seed 0 (the same initialisation, standardisation and training
/// through `common::signals::train`), and the host's logits for every test
/// window.
fn motions() -> Motions {
    let (train, test) = common::signals::load::<MOTION_CHANNELS, MOTION_STEPS>("basicmotions");
    let seed = 0;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut net = MotionNet::random(Init::PyTorch, &mut rng);
    net.0 = Standardize::fit_sequences(&train).unwrap_or_else(|e| fail(&e.to_string()));
    let (net, _) = common::signals::train(net, &train, &test, seed, 300, false);
    let logits: Vec<SVector<f32, 4>> = test.iter().map(|(x, _)| net.predict(x)).collect();
    Motions { net, test, logits }
}

/// The sunspots GRU, trained exactly as `examples/sunspots.rs` does with
/// seed 0, split into the part that streams and the head; the host's
/// predictions are its whole-window forward passes, which the host's own
/// stream must give bit for bit (checked here, as the example does).
fn sunspots() -> Sunspots {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sunspots.csv");
    let rows = load_csv_targets::<f32, 1, 1>(path).unwrap_or_else(|e| fail(&format!("{e}")));
    let years: Vec<i32> = rows.iter().map(|(y, _)| y[0] as i32).collect();
    let values: Vec<f32> = rows.iter().map(|(_, v)| v[0]).collect();
    type Rows = Vec<(Seq<f32, 1, SUN_WINDOW>, SVector<f32, 1>)>;
    let window = |from: i32, to: i32| -> Rows {
        (SUN_WINDOW..values.len())
            .filter(|&k| (from..=to).contains(&years[k]))
            .map(|k| {
                let history =
                    Seq::from_steps(core::array::from_fn(|i| [values[k - SUN_WINDOW + i]]));
                (history, SVector::from([values[k]]))
            })
            .collect()
    };
    let train = window(1700, 1920);
    let max = values[..years.iter().position(|&y| y > 1920).unwrap_or(values.len())]
        .iter()
        .fold(0.0f32, |m, &v| m.max(v));
    let mut scaled = train.clone();
    scaled.iter_mut().for_each(|(_, t)| *t /= max);

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let mut body = SunBody::random(Init::PyTorch, &mut rng);
    body.0 = Rescale::from_arrays([1.0 / max], [0.0]);
    Trainer::new(Adam::new(0.01))
        .epochs(SUN_EPOCHS)
        .batch_size::<16>()
        .schedule(Cosine::default())
        .run(&mut body, &MeanSquared, &scaled, &mut rng)
        .unwrap_or_else(|e| fail(&format!("sunspots training failed: {e}")));
    let model = (body, Rescale::<1>::from_arrays([max], [0.0]));
    let stream: SunStream = (model.0.0, model.0.1.clone());
    let head: SunHead = (model.0.3.clone(), model.1);

    let test = window(SUN_FROM, SUN_TO);
    let first = years
        .iter()
        .position(|&y| y == SUN_FROM)
        .expect("the series has the first predicted year");
    let series = values[first - SUN_WINDOW..first + test.len()].to_vec();
    let predictions: Vec<f32> = test
        .iter()
        .map(|(x, _)| {
            let whole = model.predict(x)[0];
            let mut state = stream.start();
            let mut h = SVector::zeros();
            for step in &x.data[0] {
                h = stream.step(&mut state, &SVector::from(*step));
            }
            assert_eq!(
                head.predict(&h)[0],
                whole,
                "streaming gives the whole-window forward's output"
            );
            whole
        })
        .collect();

    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64;
    let variance = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / values.len() as f64;
    // 1921–1955: the first test period, whose score the example prints.
    let (sum, n) = test
        .iter()
        .zip(&predictions)
        .take((1955 - SUN_FROM + 1) as usize)
        .fold((0.0f64, 0usize), |(s, n), ((_, t), &p)| {
            (s + (f64::from(p) - f64::from(t[0])).powi(2), n + 1)
        });
    let nmse = sum / n as f64 / variance;
    println!("sunspots GRU: host test nmse 1921–1955 {nmse:.4}");
    Sunspots {
        stream,
        head,
        series,
        predictions,
        nmse,
    }
}

fn motions_source(m: &Motions) -> String {
    let classes: Vec<usize> = m.logits.iter().map(|l| argmax(l.as_slice())).collect();
    let n = m.test.len();
    let correct = (0..n).filter(|&i| classes[i] == m.test[i].1).count();
    println!(
        "BasicMotions model: host test accuracy {correct}/{n} ({:.2}%)",
        100.0 * correct as f64 / n as f64
    );
    let mut s = String::from(HEADER);
    s += "//\n// The BasicMotions classifier (per-channel standardisation, three convolutions\n\
          // of 16 filters with ReLU, global average pooling, a linear layer into 4\n\
          // activities), trained on the host by the recipe of examples/basicmotions.rs\n\
          // (seed 0), its 40 test windows in raw sensor units and the host's outputs.\n\n";
    s += &to_rust(&m.net, "NET").unwrap();
    let set = |s: &mut String, name: &str, doc: &str, rows: &[usize]| {
        let len = rows.len();
        let _ = writeln!(s, "\n/// {doc}");
        s.push_str("#[rustfmt::skip]\n#[allow(clippy::excessive_precision)]\n");
        let _ = writeln!(
            s,
            "pub static {name}: crate::TestWindows<{len}> = crate::TestWindows {{"
        );
        let _ = writeln!(s, "    rows: {rows:?},");
        s.push_str("    windows: [\n");
        for &i in rows {
            s.push_str("        staticnet::sequence::Seq::from_steps([\n");
            for step in &m.test[i].0.data[0] {
                let _ = writeln!(s, "            {step:?},");
            }
            s.push_str("        ]),\n");
        }
        s.push_str("    ],\n");
        let labels: Vec<usize> = rows.iter().map(|&i| m.test[i].1).collect();
        let host: Vec<usize> = rows.iter().map(|&i| classes[i]).collect();
        let _ = writeln!(s, "    labels: {labels:?},");
        let _ = writeln!(s, "    host_classes: {host:?},");
        s.push_str("    host_logits: [\n");
        for &i in rows {
            let _ = writeln!(s, "        {:?},", m.logits[i].as_slice());
        }
        s.push_str("    ],\n};\n");
    };
    let rest: Vec<usize> = (0..n).filter(|i| !MOTION_FIRST.contains(i)).collect();
    set(
        &mut s,
        "FIRST",
        &format!(
            "Test windows {MOTION_FIRST:?} (rows of data/basicmotions_test.csv): one of \
             each activity, for the silent build."
        ),
        &MOTION_FIRST,
    );
    set(
        &mut s,
        "REST",
        &format!("The other {} test windows.", rest.len()),
        &rest,
    );
    s
}

fn sunspots_source(m: &Sunspots) -> String {
    let mut s = String::from(HEADER);
    s += "//\n// The sunspots GRU of examples/sunspots.rs (seed 0), trained on the host and\n\
          // cut in two: STREAM (the input scaling and the GRU) runs one year at a time,\n\
          // HEAD (the linear layer and the output scaling) reads the GRU's state. Then\n\
          // the yearly series and the host's prediction for each year it predicts.\n\n";
    s += &to_rust(&m.stream, "STREAM").unwrap();
    s.push('\n');
    s += &to_rust(&m.head, "HEAD").unwrap();
    let n = m.predictions.len();
    let _ = writeln!(
        s,
        "\n/// The years of history each prediction reads.\n\
         pub const WINDOW: usize = {SUN_WINDOW};\n\
         \n/// The first year predicted; `HOST_PREDICTIONS[k]` is year `FIRST_YEAR + k`.\n\
         pub const FIRST_YEAR: u16 = {SUN_FROM};\n\
         \n/// The yearly sunspot numbers from `FIRST_YEAR - WINDOW` to {SUN_TO}.\n\
         #[rustfmt::skip]\n\
         #[allow(clippy::excessive_precision)]\n\
         pub static SERIES: [f32; {}] = {:?};\n\
         \n/// The host's prediction for each year from `FIRST_YEAR` to {SUN_TO}: the whole\n\
         /// window's forward pass (which the host's stream gives bit for bit).\n\
         /// Normalised MSE over 1921–1955: {:.4}.\n\
         #[rustfmt::skip]\n\
         #[allow(clippy::excessive_precision)]\n\
         pub static HOST_PREDICTIONS: [f32; {n}] = {:?};",
        m.series.len(),
        m.series,
        m.nmse,
        m.predictions
    );
    s
}

/// Compares the sequence firmware's printed outputs
/// (`embedded/src/bin/sequences.rs`) with the host's.
fn compare_sequences(log: &str, m: &Motions, sun: &Sunspots) {
    let mut motion_seen = vec![false; m.test.len()];
    let mut sun_seen = vec![false; sun.predictions.len()];
    let (mut worst_logit, mut worst_sun, mut errors) = (0.0f32, 0.0f32, Vec::new());
    for line in log.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |w: &str| -> f32 {
            w.parse()
                .unwrap_or_else(|_| fail(&format!("not a number {w:?} in {line:?}")))
        };
        match words.as_slice() {
            ["motion", i, "class", c, "logits", logits @ ..] => classified(
                ("motion", line),
                (i, c, logits),
                &m.logits,
                &mut motion_seen,
                (&mut worst_logit, &mut errors),
            ),
            ["sunspot", year, "prediction", y, ..] => {
                let k = year
                    .parse::<i32>()
                    .ok()
                    .and_then(|y| usize::try_from(y - SUN_FROM).ok())
                    .filter(|&k| k < sun_seen.len())
                    .unwrap_or_else(|| fail(&format!("malformed line {line:?}")));
                sun_seen[k] = true;
                agree(
                    (num(y), y),
                    sun.predictions[k],
                    (&mut worst_sun, &mut errors),
                    || format!("sunspot {year}"),
                );
            }
            _ => {}
        }
    }
    let missing =
        motion_seen.iter().filter(|s| !**s).count() + sun_seen.iter().filter(|s| !**s).count();
    if missing > 0 {
        errors.push(format!(
            "{missing} sequence-model outputs missing from the device log"
        ));
    }
    exit_on(&errors);
    println!(
        "device = host: {} BasicMotions classes equal and their logits within {TOLERANCE:e} \
         (largest difference {worst_logit:e}); {} streamed sunspot predictions within \
         {TOLERANCE:e} (largest difference {worst_sun:e})",
        motion_seen.len(),
        sun_seen.len()
    );
}

/// One printed value against the host's: the largest difference so far in
/// `worst`, an error named by `what` beyond [`TOLERANCE`] (or for NaN).
fn agree(
    (device, text): (f32, &str),
    host: f32,
    (worst, errors): (&mut f32, &mut Vec<String>),
    what: impl FnOnce() -> String,
) {
    let diff = (device - host).abs();
    *worst = worst.max(diff);
    if diff.is_nan() || diff > TOLERANCE {
        errors.push(format!("{}: device {text}, host {host:e}", what()));
    }
}

/// A classifier's printed line, `KIND i class c logits l…`, against the
/// host's logits: the class must be the host's argmax, every logit agree.
fn classified<const K: usize>(
    (kind, line): (&str, &str),
    (i, c, logits): (&str, &str, &[&str]),
    host: &[SVector<f32, K>],
    seen: &mut [bool],
    (worst, errors): (&mut f32, &mut Vec<String>),
) {
    let i: usize = i.parse().unwrap_or(usize::MAX);
    if i >= seen.len() || logits.len() != K {
        fail(&format!("malformed line {line:?}"));
    }
    seen[i] = true;
    let host = &host[i];
    let class = argmax(host.as_slice());
    if c.parse() != Ok(class) {
        errors.push(format!("{kind} {i}: device class {c}, host {class}"));
    }
    for (k, w) in logits.iter().enumerate() {
        let device = w
            .parse()
            .unwrap_or_else(|_| fail(&format!("not a number {w:?} in {line:?}")));
        agree((device, w), host[k], (&mut *worst, &mut *errors), || {
            format!("{kind} {i} logit {k}")
        });
    }
}

/// Prints the first 20 disagreements and exits with failure, if any.
fn exit_on(errors: &[String]) {
    if !errors.is_empty() {
        for e in errors.iter().take(20) {
            eprintln!("{e}");
        }
        eprintln!("device and host disagree ({} differences)", errors.len());
        exit(1);
    }
}

fn argmax(v: &[f32]) -> usize {
    // The library's own rule: the first of equal maxima.
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Compares the firmware's printed outputs with the host's.
fn compare(log: &str, d: &Digits, sine: &Sine) {
    let mut seen = vec![false; d.test.len()];
    let (mut worst, mut errors) = (0.0f32, Vec::new());
    let mut sine_seen = [false; SINE_POINTS];
    let mut xor = Vec::new();
    for line in log.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |w: &str| -> f32 {
            w.parse()
                .unwrap_or_else(|_| fail(&format!("not a number {w:?} in {line:?}")))
        };
        match words.as_slice() {
            ["digit", i, "class", c, "logits", logits @ ..] => classified(
                ("digit", line),
                (i, c, logits),
                &d.logits,
                &mut seen,
                (&mut worst, &mut errors),
            ),
            ["sine", i, "x", _, "y", y] => {
                let i: usize = i.parse().unwrap_or(usize::MAX);
                if i >= SINE_POINTS {
                    fail(&format!("malformed line {line:?}"));
                }
                sine_seen[i] = true;
                agree((num(y), y), sine.ys[i], (&mut worst, &mut errors), || {
                    format!("sine {i}")
                });
            }
            ["xor", a, b, "logit", z, ..] => xor.push((num(a), num(b), num(z))),
            _ => {}
        }
    }
    let missing = seen.iter().filter(|s| !**s).count() + sine_seen.iter().filter(|s| !**s).count();
    if missing > 0 {
        errors.push(format!("{missing} outputs missing from the device log"));
    }

    // On-device training needs only round correctly (the firmware checks
    // that); how close it comes to the host's run of the same recipe is
    // reported, not required.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let mut net = XorNet::random(Init::Xavier, &mut rng);
    let data = [
        ([0.0, 0.0], 0.0),
        ([0.0, 1.0], 1.0),
        ([1.0, 0.0], 1.0),
        ([1.0, 1.0], 0.0),
    ]
    .map(|(x, t)| (SVector::<f32, 2>::from(x), SVector::from([t])));
    Trainer::new(Sgd::new(0.5).momentum(0.9))
        .epochs(300)
        .batch_size::<4>()
        .fit(&mut net, &BinaryCrossEntropy, &data, &mut rng, |_, _| {
            Control::Continue
        })
        .unwrap_or_else(|e| fail(&format!("xor training failed: {e}")));
    let xor_diff = xor
        .iter()
        .map(|&(a, b, z)| (net.predict(&SVector::from([a, b]))[0] - z).abs())
        .fold(0.0f32, f32::max);
    if xor.len() != 4 {
        errors.push(format!(
            "{} XOR lines in the device log, expected 4",
            xor.len()
        ));
    }

    exit_on(&errors);
    println!(
        "device = host: {} digit classes equal, {} logits and {SINE_POINTS} sine outputs \
         within {TOLERANCE:e} (largest difference {worst:e})",
        seen.len(),
        10 * seen.len()
    );
    println!(
        "XOR trained on the device vs the same recipe on the host: largest logit difference {xor_diff:e}"
    );
}
