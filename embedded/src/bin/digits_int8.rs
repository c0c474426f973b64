//! Inference only, silent, integer only: the digits classifier quantised to
//! int8 (weights in flash) on the first 50 test digits; exits with success
//! only if every output is the host's, bit for bit (the hash of all 500
//! output bytes is the host's), and so is the number of correct classes. Its only output is the
//! exit status, for the footprint table. Builds for the Cortex-M4F and the
//! Cortex-M0 (`--target thumbv6m-none-eabi`).

#![no_std]
#![no_main]

use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    staticnet_firmware::finish(staticnet_firmware::first_int8_digits_agree())
}
