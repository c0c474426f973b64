//! The full demo, printing through semihosting (`cd embedded && cargo run
//! --release`):
//!
//! 1. trains XOR on the device from a seeded random start (no heap) and
//!    prints the four predictions;
//! 2. runs the digits classifier, whose weights are constants in flash, on
//!    all 359 test digits and prints each one's class and logits, then how
//!    many it gets right;
//! 3. runs the sine model at its 16 test points;
//! 4. reports the stack high-water mark (the stack was painted before
//!    `main`);
//! 5. exits with success only if every check passed: XOR learnt, every digit
//!    class and sine output the host's (logits within 1e-4), the host's
//!    number of correct digits.
//!
//! The host compares the printed outputs with its own:
//! `cargo run --release --example export_embedded -- --check --device-log LOG`.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use staticnet::{Activation, Sigmoid};
use staticnet_firmware::generated::{digits, sine};
use staticnet_firmware::{
    TOLERANCE, argmax, digit_logits, exit, stack_high_water, train_xor, xor_data,
};

#[entry]
fn main() -> ! {
    hprintln!("staticnet on a Cortex-M4F (QEMU mps2-an386), no allocator");
    let mut ok = true;
    let mut check = |passed: bool, what: &str| {
        if !passed {
            hprintln!("FAILED: {}", what);
            ok = false;
        }
    };

    // 1. XOR, trained here.
    hprintln!(
        "XOR 2 -> 8 (tanh) -> 1, trained on the device: SGD, momentum 0.9, 300 epochs, seed 0"
    );
    let data = xor_data();
    match train_xor(0, &data) {
        Ok(net) => {
            for (x, t) in &data {
                let z = staticnet::Network::predict(&net, x)[0];
                let p = Sigmoid.value(z);
                hprintln!(
                    "xor {} {} logit {:e} p {:.4} target {}",
                    x[0],
                    x[1],
                    z,
                    p,
                    t[0]
                );
                // p rounds to 1 from 0.5 up (as f32::round does on [0, 1]).
                let rounded = if p >= 0.5 { 1.0 } else { 0.0 };
                check(
                    rounded == t[0],
                    "an XOR prediction does not round to its target",
                );
            }
        }
        Err(e) => {
            hprintln!("XOR training failed: {}", e);
            check(false, "XOR training");
        }
    }

    // 2. Digits, weights in flash.
    let sets = [
        (
            &digits::FIRST.pixels[..],
            &digits::FIRST.labels[..],
            &digits::FIRST.host_classes[..],
        ),
        (
            &digits::REST.pixels[..],
            &digits::REST.labels[..],
            &digits::REST.host_classes[..],
        ),
    ];
    let n = digits::HOST_LOGITS.len();
    hprintln!(
        "digits 64 -> 32 (ReLU) -> 10, weights in flash: {} test digits",
        n
    );
    let (mut correct, mut worst, mut i) = (0, 0.0f32, 0);
    for (pixels, labels, host_classes) in sets {
        for ((p, &label), &host_class) in pixels.iter().zip(labels).zip(host_classes) {
            let logits = digit_logits(p);
            let class = argmax(logits.as_slice());
            let l = logits.as_slice();
            hprintln!(
                "digit {} class {} logits {:e} {:e} {:e} {:e} {:e} {:e} {:e} {:e} {:e} {:e}",
                i,
                class,
                l[0],
                l[1],
                l[2],
                l[3],
                l[4],
                l[5],
                l[6],
                l[7],
                l[8],
                l[9]
            );
            check(
                class == usize::from(host_class),
                "a digit's class is not the host's",
            );
            for (d, h) in l.iter().zip(&digits::HOST_LOGITS[i]) {
                let diff = (d - h).abs();
                worst = if diff > worst || diff.is_nan() {
                    diff
                } else {
                    worst
                };
            }
            correct += usize::from(class == usize::from(label));
            i += 1;
        }
    }
    let host_correct = digits::FIRST.host_correct + digits::REST.host_correct;
    hprintln!(
        "digits: {}/{} correct on the device, {}/{} on the host; largest logit difference {:e}",
        correct,
        n,
        host_correct,
        n,
        worst
    );
    check(
        i == n,
        "the test digits and the host's logits differ in number",
    );
    check(
        correct == host_correct,
        "the number of correct digits is not the host's",
    );
    check(
        worst <= TOLERANCE,
        "a digit logit differs from the host's by more than 1e-4",
    );

    // 3. Sine, weights in flash.
    hprintln!("sine 1 -> 16 -> 16 -> 1 (ReLU), weights in flash");
    for (k, (&x, &host)) in sine::XS.iter().zip(&sine::HOST_YS).enumerate() {
        let y = staticnet_firmware::sine(x);
        hprintln!("sine {} x {:e} y {:e}", k, x, y);
        check(
            (y - host).abs() <= TOLERANCE,
            "a sine output differs from the host's by more than 1e-4",
        );
    }

    // 4. The stack.
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
