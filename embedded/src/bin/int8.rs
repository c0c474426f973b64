//! The int8 digits classifier on every test digit, printing: how many
//! outputs equal the host's bit for bit and how many classes are right, on
//! the device and on the host; then a small network of odd sizes (the
//! kernels' remainder paths). Exits with success only if every output is
//! the host's.
//!
//! One `f32` inference and one int8 inference of the same digit each lie
//! between the markers `count_begin` and `count_end`, so that
//! `bash count.sh TARGET int8 count_begin count_end` counts their
//! instructions (the README's table).
//!
//! `cargo run --release --bin int8` (the Cortex-M4F) or
//! `cargo run --release --target thumbv6m-none-eabi --bin int8` (QEMU's
//! microbit, a Cortex-M0: no FPU, so the `f32` inference runs on
//! soft-float).

#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use staticnet_firmware::generated::{digits, digits_int8};
use staticnet_firmware::{
    count_begin, count_end, digit_int8, digit_logits, exit, int8_digits_agree, odd_int8_agree,
};

#[entry]
fn main() -> ! {
    // One inference each, counted.
    count_begin();
    let logits = digit_logits(black_box(&digits::FIRST.pixels[0]));
    count_end();
    count_begin();
    let mut out = [0; 10];
    digit_int8(black_box(&digits_int8::FIRST.inputs[0]), &mut out);
    count_end();
    black_box((logits, out));

    let (e1, c1) = int8_digits_agree(&digits_int8::FIRST, &digits_int8::FIRST_OUTPUTS);
    let (e2, c2) = int8_digits_agree(&digits_int8::REST, &digits_int8::REST_OUTPUTS);
    let whole = staticnet_firmware::first_int8_digits_agree();
    let n = digits_int8::FIRST.inputs.len() + digits_int8::REST.inputs.len();
    let host = digits_int8::FIRST.host_correct + digits_int8::REST.host_correct;
    hprintln!(
        "digits int8: {}/{} correct on the device, {}/{} on the host; {}/{} outputs equal to the host's bit for bit",
        c1 + c2,
        n,
        host,
        n,
        e1 + e2,
        n
    );
    let (odd, odd_n) = odd_int8_agree();
    hprintln!(
        "odd sizes (13 -> 7 tanh -> 3): {}/{} outputs equal to the host's bit for bit",
        odd,
        odd_n
    );
    exit(e1 + e2 == n && c1 + c2 == host && odd == odd_n && whole)
}
