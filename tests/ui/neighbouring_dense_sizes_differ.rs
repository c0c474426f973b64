use nalgebra::SVector;
use staticnet::prelude::*;

fn main() {
    // The second Dense takes 4 inputs, but the first gives 8.
    let net = (Dense::<2, 8>::default(), Relu, Dense::<4, 1>::default());
    let _ = net.predict(&SVector::from([0.5, -0.5]));
}
