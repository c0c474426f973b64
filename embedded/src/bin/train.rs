//! Training and inference, silent: XOR trained on the device, then the
//! digits classifier on the first 50 test digits; exits with success only if
//! XOR is learnt and every digit's class is the host's. Its only output is
//! the exit status, for the footprint table.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use staticnet_firmware::{first_digits_agree, train_xor, xor_correct, xor_data};

#[entry]
fn main() -> ! {
    let data = xor_data();
    let xor = train_xor(0, &data).is_ok_and(|net| xor_correct(&net, &data));
    staticnet_firmware::finish(xor && first_digits_agree())
}
