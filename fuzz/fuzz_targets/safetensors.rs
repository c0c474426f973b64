//! `io::safetensors::load_safetensors` on arbitrary bytes: never panics; on
//! error the network is unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use staticnet::io::safetensors::{Mapping, load_safetensors};
use staticnet::{BatchNorm1d, Dense, Params, Residual, Tanh};

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
    // Buffers and a block: BatchNorm's running statistics, a Residual.
    type Graph = (Dense<2, 3>, BatchNorm1d<3>, Residual<(Dense<3, 3>, Tanh)>);
    for mapping in [Mapping::InOrder, Mapping::ByName(&["0", "1", "2.fn.0"])] {
        let mut net = Graph::zeros();
        net.1.running_var.fill(2.0);
        let before = net.clone();
        if load_safetensors(&mut net, data, mapping).is_err() {
            assert_eq!(net, before, "a failed import changed the network");
        }
    }
});
