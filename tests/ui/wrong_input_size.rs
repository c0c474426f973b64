use nalgebra::SVector;
use staticnet::prelude::*;

fn main() {
    let net = (Dense::<2, 8>::default(), Relu, Dense::<8, 1>::default());
    // Three values for a network that takes two.
    let _ = net.predict(&SVector::from([0.5, -0.5, 1.0]));
}
