use staticnet::metrics::accuracy;
use staticnet::prelude::*;

fn main() {
    let net = (Dense::<4, 8>::default(), Relu, Dense::<8, 3>::default());
    // A test set of 5 inputs for a network that takes 4.
    let test = vec![(SVector::<f32, 5>::zeros(), 0usize)];
    let _ = accuracy(&net, &test);
}
