//! The runtime alone: reset handler, vector table and the semihosting exit,
//! with no network. The footprint table subtracts it from the other builds.

#![no_std]
#![no_main]

use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    staticnet_firmware::finish(true)
}
