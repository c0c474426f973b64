//! `io::safetensors::load_safetensors` on arbitrary bytes: never panics; on
//! error the network is unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use staticnet::io::safetensors::{Mapping, load_safetensors};
use staticnet::{Dense, Params, Tanh};

fuzz_target!(|data: &[u8]| {
    type Net = (Dense<2, 3>, Tanh, Dense<3, 1>);
    for mapping in [Mapping::InOrder, Mapping::ByName(&["0", "2"])] {
        let mut net = Net::zeros();
        net.0.weight.fill(0.5);
        let before = net.clone();
        if load_safetensors(&mut net, data, mapping).is_err() {
            assert_eq!(net, before, "a failed import changed the network");
        }
    }
});
