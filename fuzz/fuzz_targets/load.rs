//! `io::load` on arbitrary bytes: never panics; on error the network is
//! unchanged; on success, saving gives back exactly the bytes loaded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use staticnet::{
    BatchNorm1d, Concat, Dense, Dropout, Elu, LayerNorm, LeakyRelu, Params, Relu, Residual, Scalar,
    Softmax, io,
};

fn check<T: Scalar, N: Params<T> + Clone + PartialEq + core::fmt::Debug>(data: &[u8]) {
    let mut net = N::zeros();
    // A recognisable starting value in every tensor, buffers included, so a
    // partial write would show.
    N::tensors([], [&mut net], &mut |_, [], [p]| {
        p.iter_mut().enumerate().for_each(|(i, v)| *v = T::of_f64(i as f64 + 0.5))
    });
    let before = net.clone();
    match io::load(&mut net, data) {
        Err(_) => assert_eq!(net, before, "a failed load changed the network"),
        Ok(()) => {
            let mut again = vec![0u8; io::saved_len(&net)];
            io::save(&net, &mut again).unwrap();
            assert_eq!(again, data, "load then save is not the identity");
        }
    }
}

/// A graph with buffers (BatchNorm1d), blocks and settings: the networks of
/// `tests/io.rs`'s seed check, which keeps `seeds/load/` valid files of them.
type Graph = (
    Dense<3, 4>,
    BatchNorm1d<4>,
    Residual<(Dense<4, 4>, LayerNorm<4>)>,
    Concat<Dense<4, 2>, (Dropout, Dense<4, 1>), 3>,
);

fuzz_target!(|data: &[u8]| {
    check::<f32, (Dense<3, 4>, Relu, Dense<4, 2>)>(data);
    check::<f64, (Dense<2, 2, f64>, (LeakyRelu, Elu), Dense<2, 3, f64>, Softmax)>(data);
    check::<f32, Graph>(data);
});
