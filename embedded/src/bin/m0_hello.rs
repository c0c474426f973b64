//! Integer work on any core, the Cortex-M0 included: dot products of two
//! constant `i8` vectors (as in int8 inference: `i8` × `i8` summed in
//! `i32`), over their first 32, 64 and 128 elements, checked bit for bit
//! against values computed on the host. Prints them and exits with success
//! only if all three agree.
//!
//! Each dot product, and an empty region, lies between the markers
//! `count_begin` and `count_end`, so that `count.sh` counts its instructions:
//! `bash count.sh thumbv6m-none-eabi m0_hello count_begin count_end` prints
//! four counts, 0 then three that grow linearly with the length.
//!
//! `cargo run --release --target thumbv6m-none-eabi --bin m0_hello` (QEMU's
//! microbit, a Cortex-M0) or `cargo run --release --bin m0_hello` (the
//! Cortex-M4F).

#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use staticnet_firmware::{count_begin, count_end, exit};

/// The vectors' length.
const LEN: usize = 128;

/// `(i * mul + add) mod 256` as an `i8` (two's complement), for `i` in `0..LEN`.
const fn pattern(mul: usize, add: usize) -> [i8; LEN] {
    let mut v = [0; LEN];
    let mut i = 0;
    while i < LEN {
        v[i] = ((i * mul + add) % 256) as u8 as i8;
        i += 1;
    }
    v
}

static A: [i8; LEN] = pattern(37, 11);
static B: [i8; LEN] = pattern(101, 200);

/// The lengths, and the dot products of the first `n` elements computed on
/// the host (`sum(a * b for a, b in zip(A[:n], B[:n]))` in Python).
const EXPECTED: [(usize, i32); 3] = [(32, -36_288), (64, -45_696), (128, 26_624)];

/// `Σ a[i] · b[i]` in `i32`: exact, as no sum of fewer than 2^17 products of
/// `i8`s overflows.
#[inline(never)]
fn dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

#[entry]
fn main() -> ! {
    // An empty region: what the markers themselves cost (count.sh: 0).
    count_begin();
    count_end();

    let mut got = [0; EXPECTED.len()];
    for (g, &(n, _)) in got.iter_mut().zip(&EXPECTED) {
        // black_box: the vectors are constants, which the compiler would
        // otherwise fold the whole product into.
        let (a, b) = (black_box(&A[..n]), black_box(&B[..n]));
        count_begin();
        *g = dot(a, b);
        count_end();
    }
    let ok = got.iter().zip(&EXPECTED).all(|(&g, &(_, e))| g == e);
    hprintln!(
        "m0_hello: i8 dot products over 32, 64, 128 elements: {} {} {} ({})",
        got[0],
        got[1],
        got[2],
        if ok { "bit-exact" } else { "WRONG" }
    );
    exit(ok)
}
