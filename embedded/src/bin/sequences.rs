//! The sequence models, printing through semihosting
//! (`cd embedded && cargo run --release --bin sequences`; Cortex-M4F):
//!
//! 1. the BasicMotions classifier, weights in flash, on all 40 test windows
//!    (6 channels × 100 steps each, raw sensor units, read in place from
//!    flash): each window's class and logits, then how many are right;
//! 2. the sunspots GRU in streaming mode: for each year 1921–1979 a fresh
//!    stream is fed the 12 years before it one year at a time (`Stream::start`
//!    and `step`, the state is the GRU's 8 hidden values), and the head
//!    (linear layer, output scaling) reads the last state: each prediction;
//! 3. the stream state's size and the stack high-water mark;
//! 4. exits with success only if every check passed: every class the host's,
//!    every logit and prediction within 1e-4 of the host's, the host's
//!    number of correct windows.
//!
//! One classification, one streaming step and one head lie between the
//! markers `count_begin` and `count_end`, so that
//! `bash count.sh thumbv7em-none-eabihf sequences count_begin count_end`
//! counts their instructions (three lines, in that order).
//!
//! The host compares the printed outputs with its own:
//! `cargo run --release --example export_embedded -- --check --device-log LOG`.

#![no_std]
#![no_main]

use core::hint::black_box;
use core::mem::size_of_val;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use staticnet::stream::Stream;
use staticnet_firmware::generated::{basicmotions, sunspots};
use staticnet_firmware::{
    SunspotState, TOLERANCE, argmax, count_begin, count_end, exit, largest_difference,
    motion_logits, stack_high_water, sunspot_head, sunspot_prediction, sunspot_step,
};

#[entry]
fn main() -> ! {
    hprintln!("staticnet sequence models on a Cortex-M4F (QEMU mps2-an386), no allocator");
    let mut ok = true;
    let mut check = |passed: bool, what: &str| {
        if !passed {
            hprintln!("FAILED: {}", what);
            ok = false;
        }
    };

    // One of each piece of work, counted (count.sh): a classification, a
    // streaming step, the head.
    count_begin();
    let logits = motion_logits(black_box(&basicmotions::FIRST.windows[0]));
    count_end();
    let mut state = sunspots::STREAM.start();
    let x = black_box(sunspots::SERIES[0]);
    count_begin();
    let h = sunspot_step(&mut state, x);
    count_end();
    count_begin();
    let y = sunspot_head(black_box(&h));
    count_end();
    black_box((logits, y));

    // 1. BasicMotions, weights and windows in flash.
    let n = basicmotions::FIRST.rows.len() + basicmotions::REST.rows.len();
    hprintln!(
        "BasicMotions 6 x 100 -> Conv1d 16 (k 7, 5, 3, ReLU) -> average -> 4, weights in flash: {} test windows",
        n
    );
    let (mut correct, mut host_correct, mut worst, mut seen) = (0, 0, 0.0f32, 0);
    let sets = [
        (
            &basicmotions::FIRST.rows[..],
            &basicmotions::FIRST.windows[..],
            &basicmotions::FIRST.labels[..],
            &basicmotions::FIRST.host_classes[..],
            &basicmotions::FIRST.host_logits[..],
        ),
        (
            &basicmotions::REST.rows[..],
            &basicmotions::REST.windows[..],
            &basicmotions::REST.labels[..],
            &basicmotions::REST.host_classes[..],
            &basicmotions::REST.host_logits[..],
        ),
    ];
    for (rows, windows, labels, host_classes, host_logits) in sets {
        for i in 0..rows.len() {
            let logits = motion_logits(&windows[i]);
            let l = logits.as_slice();
            let class = argmax(l);
            hprintln!(
                "motion {} class {} logits {:e} {:e} {:e} {:e}",
                rows[i],
                class,
                l[0],
                l[1],
                l[2],
                l[3]
            );
            check(
                class == usize::from(host_classes[i]),
                "a window's class is not the host's",
            );
            let diff = largest_difference(l, &host_logits[i]);
            worst = if diff > worst || diff.is_nan() {
                diff
            } else {
                worst
            };
            correct += usize::from(class == usize::from(labels[i]));
            host_correct += usize::from(host_classes[i] == labels[i]);
            seen += 1;
        }
    }
    hprintln!(
        "BasicMotions: {}/{} correct on the device, {}/{} on the host; largest logit difference {:e}",
        correct,
        n,
        host_correct,
        n,
        worst
    );
    check(seen == n, "a test window was not run");
    check(
        correct == host_correct,
        "the number of correct windows is not the host's",
    );
    check(
        worst <= TOLERANCE,
        "a BasicMotions logit differs from the host's by more than 1e-4",
    );

    // 2. Sunspots, streamed one year at a time.
    let years = sunspots::HOST_PREDICTIONS.len();
    hprintln!(
        "sunspots: Rescale -> GRU 1 -> 8 streamed one year at a time, its last state -> Dense 8 -> 1 -> Rescale; {} years from {}, each from the {} before it",
        years,
        sunspots::FIRST_YEAR,
        sunspots::WINDOW
    );
    let mut worst = 0.0f32;
    let (mut squares, mut count) = (0.0f32, 0);
    for (k, &host) in sunspots::HOST_PREDICTIONS.iter().enumerate() {
        let y = sunspot_prediction(k);
        let observed = sunspots::SERIES[k + sunspots::WINDOW];
        hprintln!(
            "sunspot {} prediction {:e} observed {}",
            usize::from(sunspots::FIRST_YEAR) + k,
            y,
            observed
        );
        let diff = (y - host).abs();
        worst = if diff > worst || diff.is_nan() {
            diff
        } else {
            worst
        };
        squares += (y - observed) * (y - observed);
        count += 1;
    }
    hprintln!(
        "sunspots: {} predictions, mean squared error {:.2} on the device; largest difference from the host's {:e}",
        count,
        squares / count as f32,
        worst
    );
    check(
        worst <= TOLERANCE,
        "a sunspot prediction differs from the host's by more than 1e-4",
    );

    // 3. Memory.
    let state: SunspotState = sunspots::STREAM.start();
    hprintln!(
        "stream state: {} bytes (the GRU's hidden state); weights in flash: STREAM {} bytes, HEAD {} bytes, BasicMotions {} bytes",
        size_of_val(&state),
        size_of_val(&sunspots::STREAM),
        size_of_val(&sunspots::HEAD),
        size_of_val(&basicmotions::NET)
    );
    hprintln!("stack high-water mark: {} bytes", stack_high_water());

    hprintln!(
        "{}",
        if ok {
            "all checks passed"
        } else {
            "SOME CHECKS FAILED"
        }
    );
    exit(ok)
}
