//! staticnet on a microcontroller: what the firmware binaries in `src/bin/`
//! share.
//!
//! The target is QEMU's `mps2-an386` board, a Cortex-M4F with 4 MiB of
//! flash at `0x0` and 4 MiB of RAM at `0x2000_0000` (`memory-m4f.x`). There
//! is no allocator: every network, tape, gradient and optimizer state below
//! lives in a `static` (flash) or on the stack. Everything also builds for,
//! and runs on, a Cortex-M0 (`--target thumbv6m-none-eabi`: QEMU's
//! `microbit`, 256 KiB of flash and 16 KiB of RAM, `memory-m0.x`), where
//! `f32` arithmetic goes through compiler-builtins' soft-float routines.
//!
//! * [`generated`]: the digits classifier, the sine model, the BasicMotions
//!   classifier and the sunspots GRU, trained on the host and written as
//!   Rust `static`s by `cargo run --release --example export_embedded` (in
//!   the repository root), with their test data and the host's outputs.
//!   Nothing is parsed at run time: the weights are constants in flash.
//! * [`motion_logits`] and [`sunspot_step`]: the sequence models, a
//!   convolutional classifier over a whole window and a GRU streamed one
//!   step at a time. They build for the Cortex-M0 but run on the Cortex-M4F
//!   only: a BasicMotions inference takes some 41 KB of stack (every
//!   layer's 100-step output stays on it until the end of the forward pass),
//!   more than the microbit's 16 KiB of RAM.
//! * [`train_xor`]: XOR trained on the device with the library's `Trainer`.
//! * [`stack_high_water`]: how much stack the program has used.
//! * [`exit`]: the semihosting exit status QEMU turns into its own; a panic,
//!   a hard fault or any other exception exits with failure.
//! * [`count_begin`] and [`count_end`]: the markers between which
//!   `count.sh` counts the instructions executed under QEMU.

#![no_std]

use cortex_m_semihosting::debug;
use nalgebra::SVector;
use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::optim::Sgd;
use staticnet::prelude::*;
use staticnet::stream::Stream;
use staticnet::train::{Control, TrainError, Trainer};

/// Models and data written by the host (`examples/export_embedded.rs`).
pub mod generated {
    /// The BasicMotions classifier (6 channels × 100 steps → 3 convolutions
    /// → global average pooling → 4 activities), its 40 test windows and the
    /// host's outputs.
    pub mod basicmotions;
    /// The digits classifier 64 → 32 (ReLU) → 10, its test digits and the
    /// host's outputs.
    pub mod digits;
    /// The digits classifier quantised to int8, its test digits in int8 and
    /// the host's int8 outputs.
    pub mod digits_int8;
    /// A small int8 network of odd sizes (13 → 7 → 3), its inputs and the
    /// host's outputs: the remainder paths of the int8 kernels.
    pub mod odd_int8;
    /// The sine model 1 → 16 → 16 → 1 (ReLU) and the host's outputs.
    pub mod sine;
    /// The sunspots GRU in two parts (what streams, and the head that reads
    /// its state), the yearly series and the host's predictions.
    pub mod sunspots;
}

use generated::{basicmotions, digits, digits_int8, sine, sunspots};

/// The largest difference allowed between a device output and the host's
/// (f32 arithmetic may differ between x86 and Cortex-M in its last bits).
pub const TOLERANCE: f32 = 1e-4;

/// Test digits: pixel counts 0..=16 (the network's input is count / 16),
/// labels, the host's predicted classes and its number of correct ones.
pub struct TestDigits<const N: usize> {
    /// The 8×8 images, row by row.
    pub pixels: [[u8; 64]; N],
    /// The true digits.
    pub labels: [u8; N],
    /// The classes the host predicts with the same weights.
    pub host_classes: [u8; N],
    /// How many of `host_classes` equal `labels`.
    pub host_correct: usize,
}

/// The network's input for an image: each pixel count divided by 16 (exact
/// in `f32`, so the device sees the host's input bit for bit).
pub fn digit_input(pixels: &[u8; 64]) -> SVector<f32, 64> {
    SVector::from_fn(|i, _| f32::from(pixels[i]) / 16.0)
}

/// The digits classifier's ten logits for an image. Not inlined, so that its
/// size in the firmware is the library's inference code for this network.
#[inline(never)]
pub fn digit_logits(pixels: &[u8; 64]) -> SVector<f32, 10> {
    digits::NET.predict(&digit_input(pixels))
}

/// The index of the largest value, the first of equal ones (the library's
/// rule in `Network::predict_class`).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Whether the first test digits (`generated::digits::FIRST`) get the
/// host's class each, hence the host's number of correct ones.
pub fn first_digits_agree() -> bool {
    let set = &digits::FIRST;
    let mut correct = 0;
    for ((pixels, &label), &host) in set.pixels.iter().zip(&set.labels).zip(&set.host_classes) {
        let class = argmax(digit_logits(pixels).as_slice());
        if class != usize::from(host) {
            return false;
        }
        correct += usize::from(class == usize::from(label));
    }
    correct == set.host_correct
}

/// Test digits in int8 (the host quantised count / 16 with the network's
/// input parameters), their labels, a hash of the host's int8 outputs and
/// its number of correct classes. The outputs themselves are in a static of
/// their own (`FIRST_OUTPUTS`, `REST_OUTPUTS`), which the silent build does
/// not link.
pub struct Int8Digits<const N: usize> {
    /// The int8 inputs.
    pub inputs: [[i8; 64]; N],
    /// The true digits.
    pub labels: [u8; N],
    /// [`fnv1a`] of the host's outputs, digit after digit: the device must
    /// give them bit for bit (integer arithmetic has no rounding freedom).
    pub host_hash: u32,
    /// How many of the host's classes equal `labels`.
    pub host_correct: usize,
}

/// FNV-1a (32 bits), continued from `h` over `bytes` (start from
/// `0x811c_9dc5`).
pub fn fnv1a(h: u32, bytes: &[i8]) -> u32 {
    bytes
        .iter()
        .fold(h, |h, &b| (h ^ b as u8 as u32).wrapping_mul(0x0100_0193))
}

/// The int8 classifier's outputs for an int8 image, into `out`: integer
/// arithmetic only. Not inlined, so that its size in the firmware is the
/// library's int8 inference code for this network.
#[inline(never)]
pub fn digit_int8(input: &[i8; 64], out: &mut [i8; 10]) {
    digits_int8::NET.forward_into(input, out);
}

/// Over a set of int8 test digits and the host's outputs for them: how many
/// outputs equal the host's bit for bit, and how many classes are right.
pub fn int8_digits_agree<const N: usize>(
    set: &Int8Digits<N>,
    host: &[[i8; 10]; N],
) -> (usize, usize) {
    let (mut equal, mut correct) = (0, 0);
    for ((x, host), &label) in set.inputs.iter().zip(host).zip(&set.labels) {
        let mut y = [0; 10];
        digit_int8(x, &mut y);
        equal += usize::from(y == *host);
        correct += usize::from(staticnet::quant::argmax_i8(&y) == usize::from(label));
    }
    (equal, correct)
}

/// Whether the first int8 test digits (`generated::digits_int8::FIRST`) get
/// the host's outputs bit for bit (their hash, digit after digit, is the
/// host's), and its number of correct classes.
pub fn first_int8_digits_agree() -> bool {
    let set = &digits_int8::FIRST;
    let (mut hash, mut correct) = (0x811c_9dc5, 0);
    for (x, &label) in set.inputs.iter().zip(&set.labels) {
        let mut y = [0; 10];
        digit_int8(x, &mut y);
        hash = fnv1a(hash, &y);
        correct += usize::from(staticnet::quant::argmax_i8(&y) == usize::from(label));
    }
    hash == set.host_hash && correct == set.host_correct
}

/// How many of the odd-sized int8 network's outputs equal the host's, bit
/// for bit, and how many there are.
pub fn odd_int8_agree() -> (usize, usize) {
    let equal = generated::odd_int8::INPUTS
        .iter()
        .zip(&generated::odd_int8::HOST_OUTPUTS)
        .filter(|(x, host)| generated::odd_int8::NET.forward(x) == **host)
        .count();
    (equal, generated::odd_int8::INPUTS.len())
}

/// The sine model's output at `x`. Not inlined, for the same reason as
/// [`digit_logits`].
#[inline(never)]
pub fn sine(x: f32) -> f32 {
    sine::NET.predict(&SVector::from([x]))[0]
}

/// Whether the sine model gives the host's outputs at every test point,
/// within [`TOLERANCE`].
pub fn sine_agrees() -> bool {
    sine::XS
        .iter()
        .zip(&sine::HOST_YS)
        .all(|(&x, &y)| (sine(x) - y).abs() <= TOLERANCE)
}

/// BasicMotions: a window's channels (3-D accelerometer, 3-D gyroscope).
pub const MOTION_CHANNELS: usize = 6;
/// BasicMotions: a window's steps (10 s at 10 Hz).
pub const MOTION_STEPS: usize = 100;
/// One BasicMotions window, raw sensor units, step by step.
pub type MotionWindow = Seq<f32, MOTION_CHANNELS, MOTION_STEPS>;

/// BasicMotions test windows, their labels and the host's outputs for them.
pub struct TestWindows<const N: usize> {
    /// Their rows in the test set (`data/basicmotions_test.csv`), 0..40.
    pub rows: [u8; N],
    /// The windows.
    pub windows: [MotionWindow; N],
    /// The true activities (0 standing, 1 running, 2 walking, 3 badminton).
    pub labels: [u8; N],
    /// The classes the host predicts with the same weights.
    pub host_classes: [u8; N],
    /// The host's four logits for each window.
    pub host_logits: [[f32; 4]; N],
}

/// The BasicMotions classifier's four logits for a window, read in place
/// from flash. Not inlined, so that its size in the firmware is the
/// library's inference code for this network.
#[inline(never)]
pub fn motion_logits(window: &MotionWindow) -> SVector<f32, 4> {
    basicmotions::NET.predict(window)
}

/// Over a set of test windows: how many get the host's class with every
/// logit within [`TOLERANCE`] of the host's, the largest logit difference,
/// and how many classes are right.
pub fn motions_agree<const N: usize>(set: &TestWindows<N>) -> (usize, f32, usize) {
    let (mut equal, mut worst, mut correct) = (0, 0.0f32, 0);
    for i in 0..N {
        let logits = motion_logits(&set.windows[i]);
        let class = argmax(logits.as_slice());
        let diff = largest_difference(logits.as_slice(), &set.host_logits[i]);
        worst = if diff > worst || diff.is_nan() {
            diff
        } else {
            worst
        };
        equal += usize::from(class == usize::from(set.host_classes[i]) && diff <= TOLERANCE);
        correct += usize::from(class == usize::from(set.labels[i]));
    }
    (equal, worst, correct)
}

/// Whether the first test windows (`generated::basicmotions::FIRST`, one of
/// each activity) get the host's class and logits.
pub fn first_motions_agree() -> bool {
    motions_agree(&basicmotions::FIRST).0 == basicmotions::FIRST.windows.len()
}

/// The largest absolute difference between two equally long slices (NaN if
/// any difference is NaN).
pub fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0f32, |worst, (x, y)| {
        let d = (x - y).abs();
        if d > worst || d.is_nan() { d } else { worst }
    })
}

/// What the sunspots stream remembers between years: the GRU's hidden
/// state (the input scaling remembers nothing).
pub type SunspotState = <SunspotStream as Stream<SVector<f32, 1>>>::State;
/// The part of the sunspots model that streams: the input scaling and the
/// GRU of 8 units.
pub type SunspotStream = (Rescale<1>, Gru<1, 8>);

/// One year into the sunspots stream: the GRU's new hidden state, from the
/// year's sunspot number and the state, which it updates. Reads the weights
/// in place from flash; not inlined, so that its size is the library's
/// streaming code.
#[inline(never)]
pub fn sunspot_step(state: &mut SunspotState, sunspots: f32) -> SVector<f32, 8> {
    sunspots::STREAM.step(state, &SVector::from([sunspots]))
}

/// The prediction (a sunspot number) from the GRU's hidden state: the
/// linear layer and the output scaling.
#[inline(never)]
pub fn sunspot_head(h: &SVector<f32, 8>) -> f32 {
    sunspots::HEAD.predict(h)[0]
}

/// The prediction for year `sunspots::FIRST_YEAR + k`: a fresh stream fed
/// the `WINDOW` years before it, one at a time (the whole window's forward
/// pass, as the model was trained).
pub fn sunspot_prediction(k: usize) -> f32 {
    let mut state = sunspots::STREAM.start();
    let mut h = SVector::zeros();
    for &year in &sunspots::SERIES[k..k + sunspots::WINDOW] {
        h = sunspot_step(&mut state, year);
    }
    sunspot_head(&h)
}

/// Whether every streamed sunspot prediction is within [`TOLERANCE`] of the
/// host's.
pub fn sunspots_agree() -> bool {
    (0..sunspots::HOST_PREDICTIONS.len())
        .all(|k| (sunspot_prediction(k) - sunspots::HOST_PREDICTIONS[k]).abs() <= TOLERANCE)
}

/// The XOR network: 2 inputs, 8 tanh units, one output logit.
pub type XorNet = (Dense<2, 8>, Tanh, Dense<8, 1>);

/// The XOR truth table as a data set.
pub fn xor_data() -> [(SVector<f32, 2>, SVector<f32, 1>); 4] {
    [
        ([0.0, 0.0], 0.0),
        ([0.0, 1.0], 1.0),
        ([1.0, 0.0], 1.0),
        ([1.0, 1.0], 0.0),
    ]
    .map(|(x, t)| (SVector::from(x), SVector::from([t])))
}

/// XOR trained on the device from a random start drawn from `seed`, by the
/// recipe of the library's `examples/xor.rs`: Xavier initialisation, SGD
/// with learning rate 0.5 and momentum 0.9, 300 epochs of the full batch,
/// binary cross-entropy on the logit. Everything lives on this function's
/// stack. Not inlined, so that its size is the library's training code.
#[inline(never)]
pub fn train_xor(
    seed: u64,
    data: &[(SVector<f32, 2>, SVector<f32, 1>); 4],
) -> Result<XorNet, TrainError> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut net = XorNet::random(Init::Xavier, &mut rng);
    Trainer::new(Sgd::new(0.5).momentum(0.9))
        .epochs(300)
        .batch_size::<4>()
        .fit(&mut net, &BinaryCrossEntropy, data, &mut rng, |_, _| {
            Control::Continue
        })?;
    Ok(net)
}

/// Whether `net` gets XOR right: every logit on the target's side of 0,
/// that is every probability rounding to its target.
pub fn xor_correct(net: &XorNet, data: &[(SVector<f32, 2>, SVector<f32, 1>); 4]) -> bool {
    data.iter()
        .all(|(x, t)| (net.predict(x)[0] > 0.0) == (t[0] > 0.5))
}

/// The most stack the program has used so far, in bytes, from the top of
/// RAM down to the lowest word that no longer holds the paint.
///
/// cortex-m-rt's `paint-stack` feature fills everything between the end of
/// the statics (`_stack_end`) and the top of the stack (`_stack_start`)
/// with `0xCCCC_CCCC` in the reset handler, before any Rust code runs. This
/// scans upwards from `_stack_end` to the current stack pointer for the
/// first word that differs. (A word the program happened to write with the
/// paint value itself would hide; the result can then be low by the words
/// below it that also still hold the paint, which is unlikely to be many.)
pub fn stack_high_water() -> usize {
    unsafe extern "C" {
        // From cortex-m-rt's link.x: the stack region's bottom and top.
        static _stack_end: u32;
        static _stack_start: u32;
    }
    let bottom = &raw const _stack_end as usize;
    let top = &raw const _stack_start as usize;
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = bottom;
    while p < sp {
        // SAFETY: `p` is 4-byte aligned (link.x asserts it of `_stack_end`)
        // and lies in [_stack_end, sp): mapped RAM, below the stack pointer
        // and above every static, so no live Rust object or reference covers
        // it. A volatile read of it has no other effect.
        if unsafe { core::ptr::read_volatile(p as *const u32) } != cortex_m_rt::STACK_PAINT_VALUE {
            break;
        }
        p += 4;
    }
    top - p
}

/// Marks the start of a region whose instructions `count.sh` counts: it
/// counts those executed after this returns and before the call to
/// [`count_end`] (so an empty region counts 0). Never inlined, and a compiler
/// barrier for memory: no memory access, nor call that may make one, is moved
/// across it (arithmetic on registers may be, so pass the region's inputs
/// through `core::hint::black_box` or memory). Its body is empty (the `asm!`
/// only tells the two markers apart, so that they keep distinct addresses).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn count_begin() {
    // SAFETY: an assembler comment: no instruction.
    unsafe { core::arch::asm!("@ count_begin", options(nostack, preserves_flags)) }
}

/// Marks the end of a region begun by [`count_begin`].
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn count_end() {
    // SAFETY: an assembler comment: no instruction.
    unsafe { core::arch::asm!("@ count_end", options(nostack, preserves_flags)) }
}

/// Ends the program: QEMU (run with `-semihosting-config
/// enable=on,target=native`) exits with status 0 on success, 1 on failure.
pub fn exit(success: bool) -> ! {
    debug::exit(if success {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Only reached if a debugger resumes the program.
    loop {
        core::hint::spin_loop();
    }
}

/// The end of a silent build: with the `report-stack` feature, prints the
/// stack high-water mark (measured before printing); then exits. Out of
/// line, so that the code before it is the same with and without the
/// feature (`footprint.sh` checks this).
#[inline(never)]
pub fn finish(success: bool) -> ! {
    #[cfg(feature = "report-stack")]
    report_stack();
    exit(success)
}

/// Prints the stack high-water mark.
#[cfg(feature = "report-stack")]
#[inline(never)]
fn report_stack() {
    cortex_m_semihosting::hprintln!("stack high-water mark: {} bytes", stack_high_water());
}

// A fault or an unexpected exception ends the run with failure rather than
// spinning forever in cortex-m-rt's default handlers (which would leave QEMU,
// and CI, waiting). cortex-m-rt requires these handlers to be `unsafe fn`
// because they can preempt critical sections; they are sound here because
// they touch no shared data: they only make the semihosting exit call.

/// A hard fault (bad memory access, undefined instruction, …) exits with failure.
#[cortex_m_rt::exception(trampoline = false)]
unsafe fn HardFault() -> ! {
    exit(false)
}

/// Any other exception or interrupt (none is enabled) exits with failure.
#[cortex_m_rt::exception]
unsafe fn DefaultHandler(_irqn: i16) {
    exit(false)
}

/// A panic exits with failure, silently (formatting its message would cost
/// flash in every build; the demo prints what it is doing as it goes).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(false)
}
