//! Inference only, silent: the BasicMotions classifier (weights in flash)
//! on four test windows of 6 channels × 100 steps, one of each activity,
//! read in place from flash; exits with success only if every class is the
//! host's and every logit within 1e-4 of the host's. Its only output is the
//! exit status, for the footprint table. Cortex-M4F only.

#![no_std]
#![no_main]

use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    staticnet_firmware::finish(staticnet_firmware::first_motions_agree())
}
